//! A keyword function through the `tracing` bridge, which asks `event_enabled` before it
//! builds a record: a keyword that only a listener registered must still be asked for and
//! written; declared keywords keep the cheap "nobody listens" answer.

use opentelemetry::logs::Severity;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{LogProcessor as _, SdkLoggerProvider};
use otel_os_events::logs::Processor;
use otel_os_events::sink::{CaptureSink, Sink};
use otel_os_events::Error;
use tracing_subscriber::prelude::*;

/// Audit records (event name "audit") go to keyword 2, the rest to keyword 1.
fn audit_keyword(record: &opentelemetry_sdk::logs::SdkLogRecord) -> u64 {
    if record.event_name() == Some("audit") {
        2
    } else {
        1
    }
}

/// A capture in which only `listened` has a session, as if `otel-os-events listen` had
/// registered it before the application started.
fn capture_listening_to(listened: &str) -> CaptureSink {
    let capture = CaptureSink::new();
    capture.set_listening_all(false);
    capture.set_listening(listened, true);
    capture
}

#[test]
fn a_keyword_only_a_listener_registered_is_written_through_the_tracing_bridge() {
    let capture = capture_listening_to("kb_L4K2");
    let processor = Processor::builder("kb")
        .with_sink(Sink::Capture(capture.clone()))
        .with_keyword_fn(audit_keyword)
        .build()
        .unwrap();
    let handle = processor.handle();
    assert_eq!(
        processor.status().len(),
        5,
        "only keyword 1 is registered yet"
    );
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    let subscriber =
        tracing_subscriber::registry().with(OpenTelemetryTracingBridge::new(&provider));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(name: "audit", user = "alice", "logged in");
        tracing::info!(name: "request", "GET /");
    });
    let written: Vec<String> = capture.events().into_iter().map(|e| e.tracepoint).collect();
    assert_eq!(
        written,
        ["kb_L4K2"],
        "the audit record reached its listener"
    );
    assert_eq!(handle.stats().written, 1);
    assert_eq!(
        handle.status().len(),
        10,
        "keyword 2 was registered on first use"
    );
}

#[test]
fn declared_keywords_are_registered_at_build_and_answer_event_enabled() {
    let capture = capture_listening_to("none_L1K1");
    let processor = Processor::builder("kd")
        .with_sink(Sink::Capture(capture.clone()))
        .with_keyword_fn(audit_keyword)
        .with_keywords([2])
        .build()
        .unwrap();
    let names: Vec<String> = processor
        .status()
        .into_iter()
        .map(|s| s.tracepoint)
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(names.contains(&"kd_L4K2".to_owned()), "{names:?}");
    assert!(
        !processor.event_enabled(Severity::Info, "t", None),
        "nobody listens"
    );
    capture.set_listening("kd_L4K2", true);
    assert!(
        processor.event_enabled(Severity::Info, "t", None),
        "keyword 2 listens"
    );
    assert!(
        !processor.event_enabled(Severity::Error, "t", None),
        "not at level 2"
    );
}

#[test]
fn an_undeclared_keyword_function_answers_event_enabled_with_true() {
    let capture = capture_listening_to("none_L1K1");
    let processor = Processor::builder("ku")
        .with_sink(Sink::Capture(capture))
        .with_keyword_fn(audit_keyword)
        .build()
        .unwrap();
    assert!(processor.event_enabled(Severity::Info, "t", None));
}

#[test]
fn more_declared_keywords_than_a_provider_registers_are_refused() {
    let max = otel_os_events::MAX_KEYWORDS;
    let build = |n: u64| {
        Processor::builder("kl")
            .with_sink(Sink::Capture(CaptureSink::new()))
            .with_keyword_fn(audit_keyword)
            // The builder's keyword (1) is among them, counted once.
            .with_keywords(1..=n)
            .build()
    };
    assert_eq!(build(max as u64).unwrap().status().len(), max * 5);
    assert_eq!(
        build(max as u64 + 1).unwrap_err(),
        Error::TooManyKeywords {
            count: max + 1,
            max
        }
    );
}
