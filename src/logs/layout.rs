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
//! PartC {     the resource attributes chosen in the builder, then the record's
//!             attributes minus an Int `event_id` (as user-events-logs 0.18 orders them);
//!             of several with one name, the last only (see `encode::names`).
//!             At most 127 per struct: attributes 128..254 go on in a struct PartC_2,
//!             then PartC_3, and so on. No attributes: no PartC. }
//! PartB {     _typeName "Log"
//!             body                    (if set) any value kind, see `encode::value`
//!             severityNumber          i16
//!             severityText            (if set)
//!             eventId                 i64, from an Int attribute `event_id` (if present;
//!                                     the last one, if there are several)
//!             name                    the record's event name (if set and not blank) }
//! _truncated  u32: the event's size before it was cut to fit (only on truncated events)
//! ```
//!
//! On ETW (TraceLogging) the content is the same, as the existing ETW exporter writes it:
//! `__csver__` is a u16 (shown unsigned), `PartA` nests its fields
//! (`PartA { ext_dt { traceId, spanId }, ext_cloud { role, roleInstance }, time }`), booleans
//! are 4 bytes, and an event with a trace context carries its span's activity id (see
//! [`etw_activity_id`](crate::encode::etw_activity_id)).

use std::time::SystemTime;

use eventheader::{FieldFormat, Level};
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::Key;
use opentelemetry_sdk::logs::SdkLogRecord;

use crate::encode::common_schema::{
    add_part_a, add_tail, begin_event, finish_event, PartA, PartC, ROLE_MAX,
};
use crate::encode::names::Shadowed;
use crate::encode::shape::{encode_with_shape, Signature};
use crate::encode::text::{write_hex, write_rfc3339};
use crate::encode::value::{add_scalar_data, add_value, KIND_INT};
use crate::encode::{EventBuf, Limits, Pass, Wire};

/// What a log event needs besides the record, resolved once per event or per processor.
pub(crate) struct LogContext<'a> {
    /// The processor's layout: an id that changes whenever anything below that is fixed
    /// per processor changes (the wire, the resource fields, whether a thread id is
    /// written), for the shape cache.
    pub layout_id: u64,
    /// The format written.
    pub wire: Wire,
    /// The event name.
    pub event_name: &'a str,
    /// `service.name` of the resource.
    pub role: Option<&'a str>,
    /// `service.instance.id` of the resource.
    pub role_instance: Option<&'a str>,
    /// Resource attributes to copy into PartC.
    pub resource_attributes: &'a [(Key, AnyValue)],
    /// The emitting thread, written in queued mode.
    pub thread_id: Option<u32>,
    /// The event's time ([`event_time`]), read once per event, so that every encoding of
    /// it (a truncation pass, the debug builds' check of a cached one) writes the same.
    pub time: SystemTime,
}

/// A record's time: its timestamp, else its observed timestamp, else now.
pub(crate) fn event_time(record: &SdkLogRecord) -> SystemTime {
    record
        .timestamp()
        .or_else(|| record.observed_timestamp())
        .unwrap_or_else(SystemTime::now)
}

/// `PartB.name`: the record's event name, unless it is blank (as the peer leaves it out).
fn part_b_name(record: &SdkLogRecord) -> Option<&'static str> {
    record.event_name().filter(|name| !is_blank(name))
}

/// Empty or only whitespace (Unicode's, as `str::trim` sees it), looking no further than the
/// first byte for the usual name.
fn is_blank(name: &str) -> bool {
    match name.as_bytes().first() {
        None => true,
        Some(b) if b.is_ascii() && !b.is_ascii_whitespace() => false,
        Some(_) => name.trim().is_empty(),
    }
}

fn is_event_id(key: &Key, value: &AnyValue) -> bool {
    matches!(value, AnyValue::Int(_)) && key.as_str() == "event_id"
}

/// Encodes `record` into `buf`. `truncated_from` is the size before truncation, for the
/// marker field. The first pass (`truncated_from` is `None`) reuses the metadata of the
/// record's shape (see [`signature_head`]).
pub(crate) fn encode_log(
    buf: &mut EventBuf,
    record: &SdkLogRecord,
    severity: Severity,
    level: Level,
    cx: &LogContext<'_>,
    limits: Limits,
    truncated_from: Option<u32>,
) -> Pass {
    let encode = |buf: &mut EventBuf, sig: Option<&mut Signature<'_>>| match sig {
        Some(sig) => write_data(buf, record, severity, level, cx, limits, sig),
        None => encode_fields(buf, record, severity, level, cx, limits, truncated_from),
    };
    if truncated_from.is_some() {
        return encode(buf, None);
    }
    encode_with_shape(buf, |sig| signature_head(sig, cx), encode)
}

/// A record's shape: what its metadata depends on besides the processor's layout. The
/// layout id and the event name here; then each attribute's kind and key, appended by
/// [`write_data`] as it writes them; then a 0 (no kind is 0, so the attributes end there
/// unambiguously), the trace context's presence, the severity text's, the record's event
/// name's, and the body's kind, which [`write_data`] knows by then. Only records whose body
/// and attributes are scalars (the metadata of a list or a map depends on its content) and
/// whose keys are shorter than 256 bytes are cached.
fn signature_head(sig: &mut Signature<'_>, cx: &LogContext<'_>) -> bool {
    sig.u64(cx.layout_id) && sig.str(cx.event_name)
}

/// The data [`encode_fields`] writes for a record whose body and attributes are scalars,
/// written straight, for a shape whose metadata is cached: the same bytes in the same order
/// (debug builds check every cached event against a full encoding, and
/// `tests/shape_cache.rs` random records), without a single metadata call. Appends each
/// record attribute's kind and key to `sig` (see [`signature_head`]), or gives up on a value
/// that is not a scalar: the event is then encoded in full.
fn write_data(
    buf: &mut EventBuf,
    record: &SdkLogRecord,
    severity: Severity,
    level: Level,
    cx: &LogContext<'_>,
    limits: Limits,
    sig: &mut Signature<'_>,
) -> Pass {
    begin_event(buf, cx.wire, cx.event_name);
    let tc = record.trace_context();
    let trace_id = tc.filter(|tc| tc.trace_id != TraceId::INVALID);
    let span_id = tc.filter(|tc| tc.span_id != SpanId::INVALID);
    let write_time = |buf: &mut EventBuf| buf.data_text(|out| write_rfc3339(out, cx.time));
    if cx.wire == Wire::EventHeader {
        write_time(buf);
    }
    if let Some(tc) = trace_id {
        buf.data_text(|out| write_hex(out, &tc.trace_id.to_bytes()));
    }
    if let Some(tc) = span_id {
        buf.data_text(|out| write_hex(out, &tc.span_id.to_bytes()));
    }
    for role in [cx.role, cx.role_instance].into_iter().flatten() {
        buf.data_str(role, ROLE_MAX);
    }
    if cx.wire == Wire::TraceLogging {
        write_time(buf);
    }

    let mut total = cx.resource_attributes.len();
    for (key, value) in cx.resource_attributes {
        add_value(buf, key.as_str(), value, 1, limits);
    }
    let mut event_id = None;
    for (key, value) in record.attributes_iter() {
        if let AnyValue::Int(id) = value {
            if key.as_str() == "event_id" {
                sig.kind_str(KIND_INT, "event_id");
                event_id = Some(*id);
                continue;
            }
        }
        match add_scalar_data(buf, value, limits) {
            Some(kind) => sig.kind_str(kind, key.as_str()),
            None => {
                sig.give_up();
                return Pass {
                    finished: false,
                    attributes: 0,
                };
            }
        };
        total += 1;
    }

    buf.data_str("Log", usize::MAX);
    let body_kind = match record.body() {
        None => 0,
        Some(body) => match add_scalar_data(buf, body, limits) {
            Some(kind) => kind,
            None => {
                sig.give_up();
                return Pass {
                    finished: false,
                    attributes: 0,
                };
            }
        },
    };
    buf.data_raw(&(severity as i16).to_ne_bytes());
    let severity_text = record.severity_text();
    if let Some(text) = severity_text {
        buf.data_str(text, limits.max_str);
    }
    if let Some(id) = event_id {
        buf.data_raw(&id.to_ne_bytes());
    }
    let name = part_b_name(record);
    if let Some(name) = name {
        buf.data_str(name, limits.max_str);
    }
    let flags = u8::from(trace_id.is_some())
        | u8::from(span_id.is_some()) << 1
        | u8::from(severity_text.is_some()) << 2
        | u8::from(name.is_some()) << 3;
    sig.end_items(flags, body_kind);
    add_tail(buf, cx.thread_id, None);
    let activity = trace_id
        .and(span_id)
        .map(|tc| (tc.trace_id.to_bytes(), tc.span_id.to_bytes()));
    Pass {
        finished: finish_event(buf, level, activity, None),
        attributes: total,
    }
}

/// One pass of the layout in the module docs.
fn encode_fields(
    buf: &mut EventBuf,
    record: &SdkLogRecord,
    severity: Severity,
    level: Level,
    cx: &LogContext<'_>,
    limits: Limits,
    truncated_from: Option<u32>,
) -> Pass {
    begin_event(buf, cx.wire, cx.event_name);
    let trace = record
        .trace_context()
        .filter(|tc| tc.trace_id != TraceId::INVALID && tc.span_id != SpanId::INVALID)
        .map(|tc| (tc.trace_id.to_bytes(), tc.span_id.to_bytes()));
    part_a(buf, record, cx);

    // PartC, counting the attributes and finding `event_id` in the same pass. The resource
    // attributes are fixed per layout: only the record's go into the signature.
    let mut part_c = PartC::new();
    let mut event_id = None;
    let mut total = 0;
    let items = || {
        let resource = cx.resource_attributes.iter().map(|(k, v)| (k, v, false));
        resource.chain(record.attributes_iter().map(|(k, v)| (k, v, true)))
    };
    // Resource attributes are written as they are, as the peer does (an `event_id` among
    // them too); of fields with one name, the last.
    let shadowed = Shadowed::in_event(
        buf,
        items().map(|(key, value, from_record)| {
            (!(from_record && is_event_id(key, value))).then(|| key.as_str())
        }),
    );
    for (i, (key, value, from_record)) in items().enumerate() {
        if let (AnyValue::Int(id), true) = (value, from_record && is_event_id(key, value)) {
            event_id = Some(*id);
            continue;
        }
        if shadowed.skips(i) {
            continue;
        }
        if total < limits.max_attributes {
            part_c.next_field(buf);
            add_value(buf, key.as_str(), value, 1, limits);
        }
        total += 1;
    }
    part_c.close(buf);
    part_b(buf, record, severity, event_id, limits);
    add_tail(buf, cx.thread_id, truncated_from);
    Pass {
        finished: finish_event(buf, level, trace, None),
        attributes: total,
    }
}

fn part_a(buf: &mut EventBuf, record: &SdkLogRecord, cx: &LogContext<'_>) {
    let trace = record.trace_context();
    add_part_a(
        buf,
        &PartA {
            time: cx.time,
            trace_id: trace
                .filter(|tc| tc.trace_id != TraceId::INVALID)
                .map(|tc| tc.trace_id.to_bytes()),
            span_id: trace
                .filter(|tc| tc.span_id != SpanId::INVALID)
                .map(|tc| tc.span_id.to_bytes()),
            role: cx.role,
            role_instance: cx.role_instance,
        },
    );
}

fn part_b(
    buf: &mut EventBuf,
    record: &SdkLogRecord,
    severity: Severity,
    event_id: Option<i64>,
    limits: Limits,
) {
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
    if let Some(id) = event_id {
        buf.add_i64("eventId", id);
        fields += 1;
    }
    if let Some(name) = part_b_name(record) {
        buf.add_str("name", name, FieldFormat::Default, limits.max_str);
        fields += 1;
    }
    buf.end_struct(part_b, fields);
}
