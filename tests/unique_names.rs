//! Never two fields of one name in a struct, for any signal: decoders disagree on which one
//! wins. Random attribute sets whose keys repeat, collide with the resource's, or differ
//! only by a NUL or by being empty (both written as `_`), decoded with tracepoint_decode.

mod common;

use std::collections::HashMap;

use common::*;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{Link, Span as _, Status, Tracer as _, TracerProvider as _};
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use otel_os_events::logs::Processor;
use otel_os_events::sink::{CaptureSink, Sink};
use proptest::prelude::*;

/// Keys that collide: repeats, a resource key, NUL and empty, and every name user-events-
/// trace 0.6 maps into PartB.
const KEYS: &[&str] = &[
    "a",
    "a\0",
    "a_",
    "",
    "_",
    "env",
    "event_id",
    "http.response.status_code",
    "db.system.name",
    "db.system",
    "url.full",
];

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(KEYS)
}

fn value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(AnyValue::Int),
        "[a-z]{0,4}".prop_map(|s| AnyValue::String(s.into())),
        any::<bool>().prop_map(AnyValue::Boolean),
    ];
    prop_oneof![
        3 => leaf.clone(),
        1 => prop::collection::vec((key(), leaf), 1..6).prop_map(|entries| {
            AnyValue::Map(Box::new(
                entries.into_iter().map(|(k, v)| (Key::from(k), v)).collect::<HashMap<_, _>>(),
            ))
        }),
    ]
}

fn attribute_value() -> impl Strategy<Value = opentelemetry::Value> {
    prop_oneof![
        any::<i64>().prop_map(opentelemetry::Value::I64),
        "[a-z]{0,4}".prop_map(|s| opentelemetry::Value::String(s.into())),
    ]
}

/// Panics if any struct of `fields` (at any depth) holds a name twice.
fn assert_unique(path: &str, fields: &[(String, Val)]) {
    for (i, (name, value)) in fields.iter().enumerate() {
        assert!(
            fields[i + 1..].iter().all(|(other, _)| other != name),
            "{path} holds {name:?} twice: {:?}",
            fields.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
        if let Val::Struct(inner) = value {
            assert_unique(&format!("{path}.{name}"), inner);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn log_records_never_repeat_a_field_name(
        attrs in prop::collection::vec((key(), value()), 0..10),
        body in prop::option::of(value()),
    ) {
        let capture = CaptureSink::new();
        let processor = Processor::builder("unique")
            .with_resource_attributes(["env", "a"])
            .with_sink(Sink::Capture(capture.clone()))
            .build()
            .unwrap();
        let provider = SdkLoggerProvider::builder()
            .with_resource(Resource::builder_empty().with_attributes([
                KeyValue::new("env", "r"),
                KeyValue::new("a", 1),
            ]).build())
            .with_log_processor(processor)
            .build();
        // Twice: the second is written from the shape cache when the shape is cached.
        for _ in 0..2 {
            emit(&provider, record(&provider, Some(Severity::Info), body.clone(), attrs.clone()));
        }
        let events = decoded(&capture);
        prop_assert_eq!(events.len(), 2);
        for e in &events {
            assert_unique("event", &e.fields);
        }
    }

    #[test]
    fn spans_never_repeat_a_field_name(
        attrs in prop::collection::vec((key(), attribute_value()), 0..10),
        event_attrs in prop::collection::vec((key(), attribute_value()), 0..5),
        link_attrs in prop::collection::vec((key(), attribute_value()), 0..5),
        error in any::<bool>(),
    ) {
        let capture = CaptureSink::new();
        let processor = otel_os_events::traces::Processor::builder("unique_spans")
            .with_sink(Sink::Capture(capture.clone()))
            .build()
            .unwrap();
        let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
        let tracer = provider.tracer("t");
        let kv = |list: &Vec<(&'static str, opentelemetry::Value)>| -> Vec<KeyValue> {
            list.iter().map(|(k, v)| KeyValue::new(*k, v.clone())).collect()
        };
        for _ in 0..2 {
            let link = Link::new(tracer.span_builder("l").start(&tracer).span_context().clone(), kv(&link_attrs), 0);
            let mut span = tracer
                .span_builder("s")
                .with_attributes(kv(&attrs))
                .with_links(vec![link])
                .start(&tracer);
            span.add_event("e", kv(&event_attrs));
            if error {
                span.set_status(Status::error("failed"));
            }
            span.end();
        }
        for e in decoded(&capture) {
            assert_unique("span", &e.fields);
        }
    }
}
