//! Host round trips: records through the crate's own processors into a capture sink, then
//! back through the decoder, compared field by field (the VM test does the same through the
//! kernel and a collector).

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor as _};
use opentelemetry_sdk::Resource;

use super::decode::{DecodeReason, Decoder, Item, ResourceKey};
use crate::listen::PerfEvent;
use crate::sink::{CaptureSink, Sink};

fn event(tracepoint: &str, raw: Vec<u8>) -> PerfEvent {
    PerfEvent {
        tracepoint: tracepoint.to_string(),
        raw,
        ..Default::default()
    }
}

fn captured(capture: &CaptureSink) -> Vec<PerfEvent> {
    capture
        .events()
        .into_iter()
        .map(|e| event(&e.tracepoint, e.payload))
        .collect()
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "checkout"),
            KeyValue::new("service.instance.id", "pod-7"),
        ])
        .build()
}

fn key() -> ResourceKey {
    ResourceKey {
        role: Some("checkout".to_string()),
        role_instance: Some("pod-7".to_string()),
    }
}

/// A logger provider with [`resource`] whose processor (provider `prov`) writes into
/// `capture`.
fn logs_into(capture: &CaptureSink) -> SdkLoggerProvider {
    let processor = crate::logs::Processor::builder("prov")
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_log_processor(processor)
        .build()
}

#[test]
fn a_log_record_comes_back_field_for_field() {
    let capture = CaptureSink::new();
    let provider = logs_into(&capture);
    let logger = provider.logger("app");
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
    let (trace_id, span_id) = (TraceId::from(0x0102_u128), SpanId::from(0x0a0b_u64));
    let map: HashMap<Key, AnyValue> = [
        (Key::from("a"), AnyValue::Int(1)),
        (Key::from("b"), AnyValue::String("x".into())),
    ]
    .into();
    let attributes = vec![
        ("s", AnyValue::String("alice".into())),
        ("i", AnyValue::Int(-7)),
        ("d", AnyValue::Double(0.25)),
        ("b", AnyValue::Boolean(true)),
        ("bytes", AnyValue::Bytes(Box::new(vec![0, 1, 255]))),
        (
            "list",
            AnyValue::ListAny(Box::new(vec![1.into(), 2.into()])),
        ),
        ("map", AnyValue::Map(Box::new(map))),
        (
            "mixed",
            AnyValue::ListAny(Box::new(vec![1.into(), "two".into()])),
        ),
        ("event_id", AnyValue::Int(42)),
    ];
    let mut r = logger.create_log_record();
    r.set_timestamp(t);
    r.set_severity_number(Severity::Error2);
    r.set_severity_text("ERROR");
    r.set_event_name("order.failed");
    r.set_body(AnyValue::String("no stock".into()));
    r.set_trace_context(trace_id, span_id, Some(TraceFlags::SAMPLED));
    for (k, v) in &attributes {
        r.add_attribute(*k, v.clone());
    }
    logger.emit(r);

    let events = captured(&capture);
    assert_eq!(events.len(), 1);
    let mut decoder = Decoder::new();
    let Item::Log(resource, scope, record) = decoder.decode(&events[0]).unwrap() else {
        panic!("not a log");
    };
    assert_eq!(resource, key());
    assert_eq!(scope.name(), "prov");
    assert_eq!(record.timestamp(), Some(t));
    assert!(record.observed_timestamp().is_some());
    assert_eq!(record.severity_number(), Some(Severity::Error2));
    assert_eq!(record.severity_text(), Some("ERROR"));
    assert_eq!(record.event_name(), Some("order.failed"));
    assert_eq!(record.body(), Some(&AnyValue::String("no stock".into())));
    let tc = record.trace_context().unwrap();
    assert_eq!((tc.trace_id, tc.span_id), (trace_id, span_id));
    assert_eq!(tc.trace_flags, None, "not in the layout");
    let got: HashMap<String, AnyValue> = record
        .attributes_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let want: HashMap<String, AnyValue> = attributes
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(got, want);
}

/// A span with a parent, attributes of three kinds, an error status, an event and a link.
fn sample_span() -> SpanData {
    let at = |s, n| UNIX_EPOCH + Duration::new(s, n);
    let context = |t: u128, s: u64| {
        SpanContext::new(
            TraceId::from(t),
            SpanId::from(s),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    };
    let mut span = SpanData {
        span_context: context(0x11, 0x22),
        parent_span_id: SpanId::from(0x33_u64),
        parent_span_is_remote: false,
        span_kind: SpanKind::Consumer,
        name: "process".into(),
        start_time: at(1_700_000_000, 5),
        end_time: at(1_700_000_001, 6),
        attributes: vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("n", 3),
            KeyValue::new(
                "tags",
                opentelemetry::Value::Array(
                    vec![opentelemetry::StringValue::from("a"), "b".into()].into(),
                ),
            ),
        ],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::error("boom"),
        instrumentation_scope: InstrumentationScope::builder("prov").build(),
    };
    span.events.events = vec![Event::new(
        "retry",
        at(1_700_000_000, 500),
        vec![KeyValue::new("attempt", 2)],
        0,
    )];
    span.links.links = vec![Link::new(
        SpanContext::new(
            TraceId::from(0x44_u128),
            SpanId::from(0x55_u64),
            TraceFlags::default(),
            false,
            TraceState::default(),
        ),
        vec![KeyValue::new("why", "batch")],
        0,
    )];
    span
}

#[test]
fn a_span_comes_back_field_for_field() {
    let capture = CaptureSink::new();
    let mut processor = crate::traces::Processor::builder("prov")
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    processor.set_resource(&resource());
    let span = sample_span();
    processor.on_end(span.clone());

    let events = captured(&capture);
    assert_eq!(events.len(), 1);
    let Item::Span(resource, got) = Decoder::new().decode(&events[0]).unwrap() else {
        panic!("not a span");
    };
    assert_eq!(resource, key());
    assert_eq!(*got, span);
}

#[test]
fn what_does_not_decode_is_refused_with_a_reason() {
    let mut decoder = Decoder::new();
    let reason =
        |d: &mut Decoder, tp: &str, raw: Vec<u8>| d.decode(&event(tp, raw)).unwrap_err().reason;
    assert_eq!(
        reason(&mut decoder, "p_L4K1", vec![7, 0, 0, 0]),
        DecodeReason::Malformed
    );
    assert_eq!(
        reason(&mut decoder, "otlp_metrics", vec![0; 8]),
        DecodeReason::BadMetrics
    );
    // A valid otlp_metrics header locating bytes that are not a request.
    let mut raw = vec![0u8; 16];
    raw[12..16].copy_from_slice(&(3u32 << 16).to_ne_bytes());
    raw.extend_from_slice(&[0xff, 0xff, 0xff]);
    assert_eq!(
        reason(&mut decoder, "otlp_metrics", raw),
        DecodeReason::BadMetrics
    );
    // A well-formed EventHeader event that is not Common Schema.
    let capture = CaptureSink::new();
    let processor = crate::logs::Processor::builder("p")
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    let logger = provider.logger("app");
    let mut r = logger.create_log_record();
    r.set_severity_number(Severity::Info);
    logger.emit(r);
    let mut good = captured(&capture).remove(0);
    assert!(matches!(decoder.decode(&good), Ok(Item::Log(..))));
    // Cut it short: the metadata no longer walks.
    good.raw.truncate(good.raw.len() / 2);
    assert_eq!(
        decoder.decode(&good).unwrap_err().reason,
        DecodeReason::Malformed
    );
}

/// The agent reads whatever a process wrote to a tracepoint, so the decoder must refuse any
/// bytes with a reason, never panic. Real events (a log with every scalar kind, a map body
/// and a trace context; a span with an event and a link; a metrics payload) are cut at
/// every length and have bytes overwritten at random (a fixed seed, so a failure
/// reproduces); each mutant decodes or is refused. Both outcomes must occur, or the
/// mutations did not reach the decoder's checks.
#[test]
fn mutated_events_are_decoded_or_refused_never_a_panic() {
    let capture = CaptureSink::new();
    let provider = logs_into(&capture);
    let logger = provider.logger("app");
    let mut r = logger.create_log_record();
    r.set_severity_number(Severity::Warn);
    r.set_severity_text("WARN");
    r.set_event_name("checkout.failed");
    r.set_trace_context(TraceId::from(7_u128), SpanId::from(9_u64), None);
    let map: HashMap<Key, AnyValue> = [(Key::from("k"), AnyValue::Boolean(true))].into();
    r.set_body(AnyValue::Map(Box::new(map)));
    r.add_attribute("s", AnyValue::String("alice".into()));
    r.add_attribute("i", AnyValue::Int(-7));
    r.add_attribute("d", AnyValue::Double(0.5));
    r.add_attribute("b", AnyValue::Bytes(Box::new(vec![1, 2, 3])));
    logger.emit(r);
    let mut spans = crate::traces::Processor::builder("prov")
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    spans.set_resource(&resource());
    spans.on_end(sample_span());
    let originals = captured(&capture);
    assert_eq!(originals.len(), 2);

    let mut decoder = Decoder::new();
    let (mut decoded, mut refused) = (0, 0);
    let mut check = |e: &PerfEvent| match decoder.decode(e) {
        Ok(_) => decoded += 1,
        Err(_) => refused += 1,
    };
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for original in &originals {
        for len in 0..original.raw.len() {
            check(&event(&original.tracepoint, original.raw[..len].to_vec()));
        }
        for _ in 0..2_000 {
            let mut raw = original.raw.clone();
            for _ in 0..1 + next() % 3 {
                let at = next() as usize % raw.len();
                raw[at] = next() as u8;
            }
            check(&event(&original.tracepoint, raw));
        }
    }
    // Any bytes under the metrics tracepoint's name, too.
    for len in 0..64 {
        let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        check(&event("otlp_metrics", raw));
    }
    assert!(
        decoded > 0 && refused > 0,
        "{decoded} decoded, {refused} refused"
    );
}
