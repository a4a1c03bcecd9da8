//! The shape cache (src/encode/shape.rs) must never change a byte: a record encoded with its
//! shape's cached metadata is written exactly as the same record encoded in full by a
//! processor that has never seen its shape. Random records whose shapes repeat (keys from a
//! small alphabet, including `event_id`, an empty key and a NUL), on both wires.

use std::time::{Duration, SystemTime};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, Key};
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
use otel_os_events::logs::{EventName, Processor};
use otel_os_events::sink::{CaptureSink, Sink};
use proptest::prelude::*;

/// One random record: its event name, severity text, body, attributes and trace context.
#[derive(Debug, Clone)]
struct Shape {
    event_name: Option<&'static str>,
    severity_text: Option<&'static str>,
    body: Option<AnyValue>,
    attributes: Vec<(&'static str, AnyValue)>,
    trace: Option<(u128, u64)>,
}

fn value() -> impl Strategy<Value = AnyValue> {
    prop_oneof![
        4 => any::<i64>().prop_map(AnyValue::Int),
        2 => any::<f64>().prop_map(AnyValue::Double),
        2 => any::<bool>().prop_map(AnyValue::Boolean),
        6 => ".{0,20}".prop_map(|s| AnyValue::String(s.into())),
        1 => prop::collection::vec(any::<u8>(), 0..10).prop_map(|b| AnyValue::Bytes(Box::new(b))),
        // Lists and maps are never cached: they must still come out right around cached ones.
        1 => prop::collection::vec(any::<i64>(), 0..4)
            .prop_map(|v| AnyValue::ListAny(Box::new(v.into_iter().map(AnyValue::Int).collect()))),
        1 => prop::collection::vec(("[ab]{1,2}", any::<bool>()), 1..3).prop_map(|m| AnyValue::Map(
            Box::new(m.into_iter().map(|(k, v)| (Key::from(k), AnyValue::Boolean(v))).collect())
        )),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let key = prop::sample::select(vec!["a", "b", "event_id", "", "k\0", "long_key_name"]);
    (
        prop::option::of(prop::sample::select(vec!["E1", "E2", ""])),
        prop::option::of(Just("WARN")),
        prop::option::of(value()),
        prop::collection::vec((key, value()), 0..5),
        prop::option::of((any::<u128>(), any::<u64>())),
    )
        .prop_map(
            |(event_name, severity_text, body, attributes, trace)| Shape {
                event_name,
                severity_text,
                body,
                attributes,
                trace,
            },
        )
}

fn record(provider: &SdkLoggerProvider, shape: &Shape) -> SdkLogRecord {
    let mut r = provider.logger("shape").create_log_record();
    r.set_severity_number(Severity::Warn);
    if let Some(text) = shape.severity_text {
        r.set_severity_text(text);
    }
    if let Some(name) = shape.event_name {
        r.set_event_name(name);
    }
    if let Some(body) = &shape.body {
        r.set_body(body.clone());
    }
    r.set_timestamp(SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789));
    for (k, v) in &shape.attributes {
        r.add_attribute(*k, v.clone());
    }
    if let Some((trace, span)) = shape.trace {
        // Zero ids are possible too: the layout then leaves them out.
        r.set_trace_context(
            TraceId::from(trace),
            SpanId::from(span),
            Some(TraceFlags::SAMPLED),
        );
    }
    r
}

fn processor(capture: &CaptureSink, queued: bool) -> Processor {
    let mut builder = Processor::builder("shape")
        .with_event_name(EventName::FromRecord)
        .with_sink(Sink::Capture(capture.clone()));
    if queued {
        builder = builder.with_mode(otel_os_events::mode::Mode::Queued(Default::default()));
    }
    builder.build().expect("processor")
}

/// Emits every record through one processor (shapes repeat: later ones hit the cache), and
/// each one again through a fresh processor (its first event: encoded in full); the bytes
/// must be the same.
fn check(records: &[Shape], etw: bool, queued: bool) -> Result<(), TestCaseError> {
    let provider = SdkLoggerProvider::builder().build();
    let scope = InstrumentationScope::default();
    let new_capture = || {
        if etw {
            CaptureSink::etw()
        } else {
            CaptureSink::new()
        }
    };
    let cached = new_capture();
    let warm = processor(&cached, queued);
    for shape in records {
        warm.emit(&mut record(&provider, shape), &scope);
    }
    warm.force_flush().expect("flush");
    let cached = cached.take();
    prop_assert_eq!(cached.len(), records.len());
    for (shape, got) in records.iter().zip(&cached) {
        let full = new_capture();
        let cold = processor(&full, queued);
        cold.emit(&mut record(&provider, shape), &scope);
        cold.force_flush().expect("flush");
        let want = full.take();
        prop_assert_eq!(&got.payload, &want[0].payload, "{:?}", shape);
        prop_assert_eq!(&got.etw, &want[0].etw);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn cached_shapes_write_the_bytes_of_a_full_encoding(
        shapes in prop::collection::vec(shape(), 1..6),
        order in prop::collection::vec(0usize..6, 1..24),
        etw in any::<bool>(),
        queued in any::<bool>(),
    ) {
        // Records drawn from a few shapes, so that most of them repeat one.
        let records: Vec<Shape> = order.iter().map(|i| shapes[i % shapes.len()].clone()).collect();
        check(&records, etw, queued)?;
    }
}

/// The same shape with other values: the data is the new record's, the metadata the shape's.
#[test]
fn a_repeated_shape_with_new_values_is_written_whole() {
    let shape = |v: &str, n: i64| Shape {
        event_name: Some("E1"),
        severity_text: Some("WARN"),
        body: Some(AnyValue::String(v.to_owned().into())),
        attributes: vec![
            ("a", AnyValue::String(v.to_owned().into())),
            ("b", AnyValue::Int(n)),
        ],
        trace: Some((7, 9)),
    };
    let records = [shape("one", 1), shape("a longer value", -2), shape("", 3)];
    for etw in [false, true] {
        check(&records, etw, false).unwrap();
    }
}

/// A record without a timestamp is written at the time it is encoded: read once per event,
/// so that the cached encoding and the debug builds' full one agree (they once read the
/// clock each, and the check failed in the stress run).
#[test]
fn a_record_without_a_timestamp_reads_the_clock_once() {
    let provider = SdkLoggerProvider::builder().build();
    let capture = CaptureSink::new();
    let warm = processor(&capture, false);
    for _ in 0..50 {
        let mut r = provider.logger("shape").create_log_record();
        r.set_severity_number(Severity::Info);
        r.add_attribute("k", 1);
        warm.emit(&mut r, &InstrumentationScope::default());
    }
    assert_eq!(capture.take().len(), 50);
}
