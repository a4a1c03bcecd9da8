//! Shared test helpers: decode EventHeader payloads with Microsoft's `tracepoint_decode`
//! (independent of our encoder) into typed values to assert on, and build log pipelines.
#![allow(dead_code)]

pub mod alloc;
// The perf reader exists only on Linux, with feature `cli` (the kernel_* tests).
#[cfg(all(target_os = "linux", feature = "cli"))]
pub mod collector;
#[cfg(all(target_os = "linux", feature = "cli"))]
pub mod kernel;
pub mod metrics;
pub mod platform;
#[cfg(all(target_os = "linux", feature = "cli"))]
pub mod skip;

use std::time::SystemTime;

use eventheader::{FieldEncoding as E, FieldFormat as F};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLoggerProvider};
use otel_os_events::logs::{Processor, ProcessorBuilder};
use otel_os_events::sink::{CaptureSink, Sink};
use tracepoint_decode::{
    EventHeaderEnumeratorContext, EventHeaderEnumeratorState as St, PerfItemValue,
};

/// A decoded value, typed as the decoder saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Str(String),
    Json(String),
    Bin(Vec<u8>),
    Array(Vec<Val>),
    Struct(Vec<(String, Val)>),
}

impl Val {
    pub fn str(&self) -> &str {
        match self {
            Val::Str(s) | Val::Json(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }
    pub fn fields(&self) -> &[(String, Val)] {
        match self {
            Val::Struct(f) => f,
            other => panic!("not a struct: {other:?}"),
        }
    }
}

/// One decoded event.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub tracepoint: String,
    pub name: String,
    pub level: u8,
    pub keyword: u64,
    pub opcode: u8,
    pub activity_id: Option<[u8; 16]>,
    pub related_id: Option<[u8; 16]>,
    pub fields: Vec<(String, Val)>,
}

impl Decoded {
    /// The value at a dotted path such as `PartB.body`, or None. Field names may hold dots
    /// themselves (`PartC.service.name`): a name matching the rest of the path wins.
    pub fn get(&self, path: &str) -> Option<&Val> {
        let mut fields = &self.fields;
        let mut rest = path;
        loop {
            if let Some((_, v)) = fields.iter().find(|(n, _)| n == rest) {
                return Some(v);
            }
            let (name, v) = fields.iter().find(|(n, _)| {
                rest.strip_prefix(n.as_str())
                    .is_some_and(|r| r.starts_with('.'))
            })?;
            let Val::Struct(inner) = v else { return None };
            rest = &rest[name.len() + 1..];
            fields = inner;
        }
    }

    /// The value at `path`; panics with the whole event if missing.
    pub fn at(&self, path: &str) -> &Val {
        self.get(path)
            .unwrap_or_else(|| panic!("no field {path} in {self:#?}"))
    }

    /// Top-level field names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|(n, _)| n.as_str()).collect()
    }
}

fn scalar(v: &PerfItemValue<'_>) -> Val {
    let m = v.metadata();
    let enc = m.encoding();
    let fmt = m.format();
    match enc {
        E::Value8 | E::Value16 | E::Value32 | E::Value64 => {
            let size = m.type_size();
            let u = match size {
                1 => u64::from(v.to_u8(0)),
                2 => u64::from(v.to_u16(0)),
                4 => u64::from(v.to_u32(0)),
                _ => v.to_u64(0),
            };
            match fmt {
                F::Boolean => Val::Bool(u != 0),
                F::SignedInt => Val::I64(match size {
                    1 => i64::from(v.to_i8(0)),
                    2 => i64::from(v.to_i16(0)),
                    4 => i64::from(v.to_i32(0)),
                    _ => v.to_i64(0),
                }),
                F::Float if size == 8 => Val::F64(v.to_f64(0)),
                F::Float => Val::F64(f64::from(v.to_f32(0))),
                _ => Val::U64(u),
            }
        }
        E::StringLength16Char8 | E::ZStringChar8 | E::BinaryLength16Char8 => {
            let bytes = v.bytes();
            let is_text = match enc {
                E::BinaryLength16Char8 => matches!(fmt, F::StringUtf | F::String8 | F::StringJson),
                _ => fmt != F::HexBytes,
            };
            if !is_text {
                return Val::Bin(bytes.to_vec());
            }
            let s = String::from_utf8(bytes.to_vec()).expect("string field is not UTF-8");
            if fmt == F::StringJson {
                Val::Json(s)
            } else {
                Val::Str(s)
            }
        }
        other => panic!("unexpected encoding {other:?}"),
    }
}

/// Decodes one EventHeader payload (what follows the write_index) written to `tracepoint`.
/// Panics if the decoder reports any error: "decodes cleanly" is the assertion.
pub fn decode(tracepoint: &str, payload: &[u8]) -> Decoded {
    let mut ctx = EventHeaderEnumeratorContext::new();
    let mut e = ctx
        .enumerate_with_name_and_data(tracepoint, payload, 1_000_000)
        .unwrap_or_else(|err| panic!("not an EventHeader event: {err:?}"));
    let info = e.event_info();
    let mut out = Decoded {
        tracepoint: tracepoint.to_owned(),
        name: String::from_utf8(info.name_bytes().to_vec()).expect("event name not UTF-8"),
        level: info.header().level.as_int(),
        keyword: info.keyword(),
        opcode: info.header().opcode.as_int(),
        activity_id: info.activity_id().copied(),
        related_id: info.related_activity_id().copied(),
        fields: Vec::new(),
    };
    // A stack of open containers: (name, is a struct (not an array), items so far).
    type Open = (String, bool, Vec<(String, Val)>);
    let mut stack: Vec<Open> = vec![(String::new(), true, Vec::new())];
    while e.move_next() {
        let item = e.item_info();
        let name = String::from_utf8(item.name_bytes().to_vec()).expect("field name not UTF-8");
        match e.state() {
            St::Value => {
                let v = scalar(item.value());
                stack.last_mut().unwrap().2.push((name, v));
            }
            St::ArrayBegin => stack.push((name, false, Vec::new())),
            St::StructBegin => stack.push((name, true, Vec::new())),
            St::ArrayEnd | St::StructEnd => {
                let (n, is_struct, items) = stack.pop().unwrap();
                let v = if is_struct {
                    Val::Struct(items)
                } else {
                    Val::Array(items.into_iter().map(|(_, v)| v).collect())
                };
                stack.last_mut().unwrap().2.push((n, v));
            }
            other => panic!("unexpected state {other:?}"),
        }
    }
    assert_eq!(
        e.state(),
        St::AfterLastItem,
        "decoder stopped with {:?}",
        e.last_error()
    );
    assert_eq!(stack.len(), 1, "unbalanced structs");
    out.fields = stack.pop().unwrap().2;
    out
}

/// A logger provider writing through a fresh processor (built from `builder`) into a capture.
pub fn capture_pipeline(builder: ProcessorBuilder) -> (SdkLoggerProvider, CaptureSink) {
    let capture = CaptureSink::new();
    let processor = builder
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .expect("build");
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    (provider, capture)
}

/// A processor writing into a capture, used directly (`emit`, `stats`, `status`).
pub fn capture_processor(builder: ProcessorBuilder) -> (Processor, CaptureSink) {
    let capture = CaptureSink::new();
    let processor = builder
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .expect("build");
    (processor, capture)
}

/// A log record from `provider`'s logger with severity, body and attributes.
pub fn record(
    provider: &SdkLoggerProvider,
    severity: Option<Severity>,
    body: Option<AnyValue>,
    attributes: Vec<(&'static str, AnyValue)>,
) -> SdkLogRecord {
    let mut r = provider.logger("test").create_log_record();
    if let Some(s) = severity {
        r.set_severity_number(s);
    }
    if let Some(b) = body {
        r.set_body(b);
    }
    r.set_timestamp(SystemTime::now());
    for (k, v) in attributes {
        r.add_attribute(k, v);
    }
    r
}

/// Emits `record` through `provider`'s logger.
pub fn emit(provider: &SdkLoggerProvider, record: SdkLogRecord) {
    provider.logger("test").emit(record);
}

/// Every captured event, decoded.
pub fn decoded(capture: &CaptureSink) -> Vec<Decoded> {
    capture
        .events()
        .iter()
        .map(|e| decode(&e.tracepoint, &e.payload))
        .collect()
}
