//! The Common Schema 4.0 layout of a log record, field for field as the existing
//! user_events exporters write it, so agents built for them decode ours unchanged:
//!
//! ```text
//! __csver__   u32 0x400
//! PartA {     time                    RFC 3339 UTC, nanoseconds, Z: the timestamp, else the
//!                                     observed timestamp, else now
//!             ext_dt_traceId          32 lowercase hex digits   } if the record has a
//!             ext_dt_spanId           16 lowercase hex digits   } valid trace context
//!             ext_cloud_role          resource service.name           (if set)
//!             ext_cloud_roleInstance  resource service.instance.id    (if set) }
//! PartC {     the attributes, then the resource attributes chosen in the builder,
//!             minus an Int `event_id`. At most 127 per struct: attributes 128..254 go on in
//!             a struct PartC_2, then PartC_3, and so on. No attributes: no PartC. }
//! PartB {     _typeName "Log"
//!             body                    (if set) any value kind, see `encode::value`
//!             severityNumber          i16
//!             severityText            (if set)
//!             eventId                 i64, from an Int attribute `event_id` (if present)
//!             name                    the record's event name (if set) }
//! _truncated  u32: the event's size before it was cut to fit (only on truncated events)
//! ```

use eventheader::{FieldFormat, Level, Opcode};
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::Key;
use opentelemetry_sdk::logs::SdkLogRecord;

use crate::encode::common_schema::{add_cloud_role, add_hex, add_time};
use crate::encode::value::add_value;
use crate::encode::{Chunks, EventBuf, Limits, Pass};

/// Common Schema version 4.0.
const CS_VERSION: u32 = 0x400;

/// What a log event needs besides the record, resolved once per event or per processor.
pub(crate) struct LogContext<'a> {
    /// The EventHeader event name.
    pub event_name: &'a str,
    /// `service.name` of the resource.
    pub role: Option<&'a str>,
    /// `service.instance.id` of the resource.
    pub role_instance: Option<&'a str>,
    /// Resource attributes to copy into PartC.
    pub resource_attributes: &'a [(Key, AnyValue)],
    /// The emitting thread, written in queued mode.
    pub thread_id: Option<u32>,
}

fn is_event_id(key: &Key, value: &AnyValue) -> bool {
    key.as_str() == "event_id" && matches!(value, AnyValue::Int(_))
}

/// Encodes `record` into `buf`. `truncated_from` is the size before truncation, for the
/// marker field.
pub(crate) fn encode_log(
    buf: &mut EventBuf,
    record: &SdkLogRecord,
    severity: Severity,
    level: Level,
    cx: &LogContext<'_>,
    limits: Limits,
    truncated_from: Option<u32>,
) -> Pass {
    buf.start(cx.event_name);
    buf.add_u32("__csver__", CS_VERSION, FieldFormat::Default);
    part_a(buf, record, cx);

    let attributes = || {
        record
            .attributes_iter()
            .map(|(k, v)| (k, v))
            .chain(cx.resource_attributes.iter().map(|(k, v)| (k, v)))
            .filter(|(k, v)| !is_event_id(k, v))
    };
    let total = attributes().count();
    let mut chunk = Chunks::new("PartC");
    for (key, value) in attributes().take(limits.max_attributes) {
        chunk.next_field(buf);
        add_value(buf, key.as_str(), value, 1, limits);
    }
    chunk.close(buf);

    part_b(buf, record, severity, limits);
    if let Some(tid) = cx.thread_id {
        buf.add_u32("_thread_id", tid, FieldFormat::Pid);
    }
    if let Some(original) = truncated_from {
        buf.add_u32("_truncated", original, FieldFormat::Default);
    }
    Pass {
        finished: buf.finish(level, Opcode::Info, None),
        attributes: total,
    }
}

fn part_a(buf: &mut EventBuf, record: &SdkLogRecord, cx: &LogContext<'_>) {
    let part_a = buf.begin_struct("PartA");
    let mut fields = 1;
    let time = record
        .timestamp()
        .or_else(|| record.observed_timestamp())
        .unwrap_or_else(std::time::SystemTime::now);
    add_time(buf, "time", time);
    if let Some(tc) = record.trace_context() {
        if tc.trace_id != TraceId::INVALID {
            add_hex(buf, "ext_dt_traceId", &tc.trace_id.to_bytes());
            fields += 1;
        }
        if tc.span_id != SpanId::INVALID {
            add_hex(buf, "ext_dt_spanId", &tc.span_id.to_bytes());
            fields += 1;
        }
    }
    fields += add_cloud_role(buf, cx.role, cx.role_instance);
    buf.end_struct(part_a, fields);
}

fn part_b(buf: &mut EventBuf, record: &SdkLogRecord, severity: Severity, limits: Limits) {
    let part_b = buf.begin_struct("PartB");
    let mut fields = 2;
    buf.add_str("_typeName", "Log", FieldFormat::Default, usize::MAX);
    if let Some(body) = record.body() {
        add_value(buf, "body", body, 1, limits);
        fields += 1;
    }
    buf.add_i16("severityNumber", severity as i16);
    if let Some(text) = record.severity_text() {
        buf.add_str("severityText", text, FieldFormat::Default, limits.max_str);
        fields += 1;
    }
    let event_id = record.attributes_iter().find_map(|(k, v)| match v {
        AnyValue::Int(id) if k.as_str() == "event_id" => Some(*id),
        _ => None,
    });
    if let Some(id) = event_id {
        buf.add_i64("eventId", id);
        fields += 1;
    }
    if let Some(name) = record.event_name() {
        buf.add_str("name", name, FieldFormat::Default, limits.max_str);
        fields += 1;
    }
    buf.end_struct(part_b, fields);
}
