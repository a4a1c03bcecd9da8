//! A perf sample back to what the exporters were given: a Common Schema `Log` event to an
//! [`SdkLogRecord`], a `Span` event to a [`SpanData`] (in [`span`](super::span)), an
//! `otlp_metrics` payload to its bytes, checked to decode.
//!
//! Where the layout keeps less than OTLP carries, the record gets: an instrumentation scope
//! named after the EventHeader provider (the layout has no scope); the agent's clock as the
//! observed time; no trace flags on logs (the layout has none); the resource from PartA
//! alone (`ext_cloud_role` → `service.name`, `ext_cloud_roleInstance` →
//! `service.instance.id`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use super::fields::{to_any, walk, Field, Fields};
use crate::listen::{metrics_buffer, PerfEvent};
use crate::metrics::TRACEPOINT_NAME;

/// The resource an event names: `service.name` and `service.instance.id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ResourceKey {
    /// `ext_cloud_role`.
    pub role: Option<String>,
    /// `ext_cloud_roleInstance`.
    pub role_instance: Option<String>,
}

impl ResourceKey {
    /// The OTLP resource: just these two attributes (the layout keeps no others).
    pub(crate) fn resource(&self) -> Resource {
        let attributes = [
            ("service.name", &self.role),
            ("service.instance.id", &self.role_instance),
        ];
        Resource::builder_empty()
            .with_attributes(
                attributes.into_iter().filter_map(|(key, value)| {
                    value.as_ref().map(|v| KeyValue::new(key, v.clone()))
                }),
            )
            .build()
    }
}

/// One decoded event, ready to export.
#[derive(Debug)]
pub(crate) enum Item {
    /// A log record, its resource and scope.
    Log(ResourceKey, InstrumentationScope, Box<SdkLogRecord>),
    /// A span (its scope inside), and its resource.
    Span(ResourceKey, Box<SpanData>),
    /// An `otlp_metrics` buffer: a serialized `ExportMetricsServiceRequest`, as written.
    Metrics(Vec<u8>),
}

/// Why an event was not forwarded; `as_str` is the counter's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeReason {
    /// tracepoint_decode could not walk the EventHeader event.
    Malformed,
    /// It decoded, but is not a Common Schema 4.0 `Log` or `Span` event.
    NotCommonSchema,
    /// A Common Schema field is missing or not valid (a time, an id, a severity).
    BadField,
    /// An `otlp_metrics` payload that is not an OTLP protobuf request.
    BadMetrics,
    /// More distinct event names and severity texts than the agent keeps (see
    /// [`MAX_INTERNED`]).
    TooManyNames,
}

impl DecodeReason {
    /// Every reason, in the order of the summary.
    pub const ALL: [DecodeReason; 5] = [
        DecodeReason::Malformed,
        DecodeReason::NotCommonSchema,
        DecodeReason::BadField,
        DecodeReason::BadMetrics,
        DecodeReason::TooManyNames,
    ];

    /// The counter's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeReason::Malformed => "malformed",
            DecodeReason::NotCommonSchema => "not_common_schema",
            DecodeReason::BadField => "bad_field",
            DecodeReason::BadMetrics => "bad_metrics",
            DecodeReason::TooManyNames => "too_many_names",
        }
    }
}

/// A decode failure: the reason counted, and the detail (shown once per reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub reason: DecodeReason,
    pub detail: String,
}

pub(crate) fn bad(reason: DecodeReason, detail: impl Into<String>) -> DecodeError {
    DecodeError {
        reason,
        detail: detail.into(),
    }
}

/// The SDK takes event names and severity texts as `&'static str`: each distinct one is
/// leaked once, up to this many (an application has a handful).
pub const MAX_INTERNED: usize = 4096;

/// Turns samples into [`Item`]s; holds what that needs across events.
pub(crate) struct Decoder {
    /// Log records are made by a logger (the SDK has no other public constructor); this
    /// provider has no processor, so nothing is emitted through it.
    logger: SdkLogger,
    _provider: SdkLoggerProvider,
    interned: HashMap<Box<str>, &'static str>,
}

impl Decoder {
    pub(crate) fn new() -> Decoder {
        let provider = SdkLoggerProvider::builder().build();
        Decoder {
            logger: provider.logger("otel-os-events"),
            _provider: provider,
            interned: HashMap::new(),
        }
    }

    /// Decodes one sample.
    pub(crate) fn decode(&mut self, event: &PerfEvent) -> Result<Item, DecodeError> {
        if event.tracepoint == TRACEPOINT_NAME {
            return metrics_buffer(&event.raw)
                .map(|buffer| Item::Metrics(buffer.to_vec()))
                .map_err(|e| bad(DecodeReason::BadMetrics, e.to_string()));
        }
        let walked =
            walk(&event.tracepoint, &event.raw).map_err(|e| bad(DecodeReason::Malformed, e))?;
        let mut parts = Parts::split(walked.fields)?;
        let scope = InstrumentationScope::builder(walked.provider).build();
        match parts.type_name.as_deref() {
            Some("Log") => {
                let (resource, record) = self.log(&mut parts)?;
                Ok(Item::Log(resource, scope, Box::new(record)))
            }
            Some("Span") => {
                let (resource, span) = super::span::span(parts, scope)?;
                Ok(Item::Span(resource, Box::new(span)))
            }
            other => Err(bad(
                DecodeReason::NotCommonSchema,
                format!("PartB._typeName {other:?} (event {:?})", walked.name),
            )),
        }
    }

    fn intern(&mut self, s: String) -> Result<&'static str, DecodeError> {
        if let Some(v) = self.interned.get(s.as_str()) {
            return Ok(v);
        }
        if self.interned.len() >= MAX_INTERNED {
            return Err(bad(DecodeReason::TooManyNames, format!("{s:?}")));
        }
        let leaked: &'static str = Box::leak(s.clone().into_boxed_str());
        self.interned.insert(s.into_boxed_str(), leaked);
        Ok(leaked)
    }

    fn log(&mut self, parts: &mut Parts) -> Result<(ResourceKey, SdkLogRecord), DecodeError> {
        let mut record = self.logger.create_log_record();
        let a = parts.part_a()?;
        record.set_timestamp(a.time);
        record.set_observed_timestamp(SystemTime::now());
        if let (Some(trace_id), Some(span_id)) = (a.trace_id, a.span_id) {
            record.set_trace_context(trace_id, span_id, None);
        }
        for (key, value) in parts.part_c.drain(..) {
            record.add_attribute(Key::from(key), value);
        }
        let mut event_id = None;
        for (name, field) in std::mem::take(&mut parts.part_b) {
            match (name.as_str(), field) {
                ("body", field) => record.set_body(to_any(field)),
                ("severityNumber", Field::Value(AnyValue::Int(n))) => {
                    let severity = severity(n).ok_or_else(|| {
                        bad(DecodeReason::BadField, format!("severityNumber {n}"))
                    })?;
                    record.set_severity_number(severity);
                }
                ("severityText", Field::Value(AnyValue::String(s))) => {
                    record.set_severity_text(self.intern(s.to_string())?);
                }
                ("eventId", Field::Value(AnyValue::Int(id))) => event_id = Some(id),
                ("name", Field::Value(AnyValue::String(s))) => {
                    record.set_event_name(self.intern(s.to_string())?);
                }
                _ => {}
            }
        }
        if let Some(id) = event_id {
            record.add_attribute("event_id", id);
        }
        Ok((a.resource, record))
    }
}

/// A Common Schema event's parts.
pub(crate) struct Parts {
    pub part_a: Fields,
    pub part_b: Fields,
    /// PartC, PartC_2, ... in order, as attributes.
    pub part_c: Vec<(String, AnyValue)>,
    pub type_name: Option<String>,
}

impl Parts {
    fn split(fields: Fields) -> Result<Parts, DecodeError> {
        let mut parts = Parts {
            part_a: Vec::new(),
            part_b: Vec::new(),
            part_c: Vec::new(),
            type_name: None,
        };
        let mut version = None;
        for (name, field) in fields {
            match (name.as_str(), field) {
                ("__csver__", Field::Value(AnyValue::Int(v))) => version = Some(v),
                ("PartA", Field::Struct(f)) => parts.part_a = f,
                ("PartB", Field::Struct(f)) => parts.part_b = f,
                (c, Field::Struct(f)) if c == "PartC" || c.starts_with("PartC_") => parts
                    .part_c
                    .extend(f.into_iter().map(|(k, v)| (k, to_any(v)))),
                _ => {} // _thread_id, _truncated: the agent's business, not the record's.
            }
        }
        if version != Some(0x400) {
            return Err(bad(
                DecodeReason::NotCommonSchema,
                format!("__csver__ {version:?}, not 0x400"),
            ));
        }
        parts.type_name = parts
            .part_b
            .iter()
            .find_map(|(n, f)| match (n.as_str(), f) {
                ("_typeName", Field::Value(AnyValue::String(s))) => Some(s.to_string()),
                _ => None,
            });
        Ok(parts)
    }

    /// PartA's time, ids and resource.
    pub(crate) fn part_a(&self) -> Result<PartA, DecodeError> {
        let mut a = PartA {
            time: UNIX_EPOCH,
            trace_id: None,
            span_id: None,
            resource: ResourceKey::default(),
        };
        let mut time = None;
        for (name, field) in &self.part_a {
            let Field::Value(AnyValue::String(s)) = field else {
                continue;
            };
            match name.as_str() {
                "time" => time = Some(parse_time(s.as_str())?),
                "ext_dt_traceId" => a.trace_id = Some(TraceId::from_bytes(hex::<16>(s.as_str())?)),
                "ext_dt_spanId" => a.span_id = Some(SpanId::from_bytes(hex::<8>(s.as_str())?)),
                "ext_cloud_role" => a.resource.role = Some(s.to_string()),
                "ext_cloud_roleInstance" => a.resource.role_instance = Some(s.to_string()),
                _ => {}
            }
        }
        a.time = time.ok_or_else(|| bad(DecodeReason::BadField, "no PartA.time"))?;
        Ok(a)
    }
}

/// PartA, decoded.
pub(crate) struct PartA {
    pub time: SystemTime,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub resource: ResourceKey,
}

/// An RFC 3339 time as the layouts write it (UTC, `Z`, 0 to 9 fraction digits).
pub(crate) fn parse_time(s: &str) -> Result<SystemTime, DecodeError> {
    let invalid = || bad(DecodeReason::BadField, format!("time {s:?}"));
    let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|_| invalid())?;
    let nanos = Duration::from_nanos(u64::from(t.timestamp_subsec_nanos()));
    let secs = t.timestamp();
    let whole = Duration::from_secs(secs.unsigned_abs());
    let at = if secs >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    at.and_then(|t| t.checked_add(nanos)).ok_or_else(invalid)
}

/// `2 * N` hex digits as bytes.
pub(crate) fn hex<const N: usize>(s: &str) -> Result<[u8; N], DecodeError> {
    let invalid = || bad(DecodeReason::BadField, format!("id {s:?}"));
    if s.len() != 2 * N || !s.is_ascii() {
        return Err(invalid());
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
    }
    Ok(out)
}

/// OpenTelemetry's severity numbers 1..=24.
fn severity(n: i64) -> Option<Severity> {
    use Severity::*;
    const ALL: [Severity; 24] = [
        Trace, Trace2, Trace3, Trace4, Debug, Debug2, Debug3, Debug4, Info, Info2, Info3, Info4,
        Warn, Warn2, Warn3, Warn4, Error, Error2, Error3, Error4, Fatal, Fatal2, Fatal3, Fatal4,
    ];
    ALL.get(usize::try_from(n.checked_sub(1)?).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_ids_and_severities() {
        let t = parse_time("2024-05-06T07:08:09.123456789Z").unwrap();
        let d = t.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(
            (d.as_secs(), d.subsec_nanos()),
            (1_714_979_289, 123_456_789)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), UNIX_EPOCH);
        assert_eq!(
            parse_time("not a time").unwrap_err().reason,
            DecodeReason::BadField
        );
        assert_eq!(hex::<2>("0aFf").unwrap(), [0x0a, 0xff]);
        assert!(hex::<2>("0a").is_err() && hex::<2>("0g00").is_err() && hex::<2>("é00").is_err());
        assert_eq!(severity(1), Some(Severity::Trace));
        assert_eq!(severity(9), Some(Severity::Info));
        assert_eq!(severity(24), Some(Severity::Fatal4));
        assert_eq!(
            (severity(0), severity(25), severity(-3)),
            (None, None, None)
        );
    }
}
