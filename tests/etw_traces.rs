//! ETW spans: our TraceLogging bytes against Microsoft's `tracelogging_dynamic` building the
//! same event, and span ids as ETW activity ids (the parent's as the related activity id),
//! shared by the log records written inside the span.

mod etw_common;

use std::time::{Duration, UNIX_EPOCH};

use etw_common::*;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags,
    TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use otel_os_events::etw_activity_id;
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::sink::{CaptureSink, Sink};
use otel_os_events::{logs, traces};
use tracelogging_dynamic as tld;

fn context(trace: u128, span: u64) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    )
}

fn tracer_provider(capture: &CaptureSink) -> SdkTracerProvider {
    tracer_provider_with(capture, Mode::Sync)
}

fn tracer_provider_with(capture: &CaptureSink, mode: Mode) -> SdkTracerProvider {
    let processor = traces::Processor::builder("MyCompany.Spans")
        .with_mode(mode)
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    SdkTracerProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_service_name("checkout")
                .build(),
        )
        .with_span_processor(processor)
        .build()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_span_with_everything_matches_tracelogging_dynamic() {
    let capture = CaptureSink::etw();
    let provider = tracer_provider(&capture);
    let tracer = provider.tracer("test");
    let parent = opentelemetry::Context::new().with_remote_span_context(context(0xabc, 0x11));
    let mut span = tracer
        .span_builder("GET /orders")
        .with_kind(SpanKind::Server)
        .with_start_time(UNIX_EPOCH + Duration::from_secs(1_000))
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("user", "alice"),
            KeyValue::new("retries", Value::Array(vec![1i64, 2].into())),
            KeyValue::new("cached", false),
        ])
        .with_links(vec![Link::new(
            context(0xdef, 0x22),
            vec![KeyValue::new("kind", "follows")],
            0,
        )])
        .start_with_context(&tracer, &parent);
    span.add_event_with_timestamp(
        "retry",
        UNIX_EPOCH + Duration::from_secs(1_001),
        vec![KeyValue::new("attempt", 2)],
    );
    span.set_status(Status::error("upstream timed out"));
    let span_id = span.span_context().span_id().to_bytes();
    span.end_with_timestamp(UNIX_EPOCH + Duration::from_secs(1_002));
    let ours = only_event(&capture);

    let trace_id = TraceId::from(0xabc).to_bytes();
    let mut b = tld::EventBuilder::new();
    b.reset("Span", tld::Level::Informational, 1, 0);
    b.add_u16("__csver__", 0x400, tld::OutType::Unsigned, 0);
    b.add_struct("PartA", 3, 0);
    b.add_struct("ext_dt", 2, 0);
    str8(&mut b, "traceId", &hex(&trace_id));
    str8(&mut b, "spanId", &hex(&span_id));
    b.add_struct("ext_cloud", 1, 0);
    str8(&mut b, "role", "checkout");
    str8(&mut b, "time", "1970-01-01T00:16:42Z");
    b.add_struct("PartB", 11, 0);
    str8(&mut b, "_typeName", "Span");
    str8(&mut b, "name", "GET /orders");
    str8(&mut b, "startTime", "1970-01-01T00:16:40Z");
    b.add_bool32("success", 0, tld::OutType::Default, 0);
    b.add_u32("kind", 1, tld::OutType::Unsigned, 0);
    str8(&mut b, "parentId", "0000000000000011");
    let links = format!(
        r#"[{{"toTraceId":"{}","toSpanId":"0000000000000022"}}]"#,
        hex(&TraceId::from(0xdef).to_bytes())
    );
    str8(&mut b, "links", &links);
    str8(&mut b, "httpMethod", "GET");
    str8(&mut b, "statusMessage", "upstream timed out");
    b.add_struct("events", 1, 0);
    b.add_struct("0", 3, 0);
    str8(&mut b, "name", "retry");
    str8(&mut b, "time", "1970-01-01T00:16:41Z");
    b.add_i64("attempt", 2, tld::OutType::Default, 0);
    b.add_struct("linkAttributes", 1, 0);
    b.add_struct("0", 1, 0);
    str8(&mut b, "kind", "follows");
    b.add_struct("PartC", 3, 0);
    str8(&mut b, "user", "alice");
    b.add_i64_sequence("retries", &[1, 2], tld::OutType::Default, 0);
    b.add_bool32("cached", 0, tld::OutType::Default, 0);
    assert_same(&ours, &reference(&mut b));

    assert_eq!(ours.activity_id, Some(etw_activity_id(trace_id, span_id)));
    let parent_id = SpanId::from(0x11).to_bytes();
    assert_eq!(ours.related_id, Some(etw_activity_id(trace_id, parent_id)));
}

#[test]
fn a_root_span_has_no_related_activity_and_its_logs_share_its_activity() {
    let capture = CaptureSink::etw();
    let provider = tracer_provider(&capture);
    let logs_processor = logs::Processor::builder("MyCompany.Spans")
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    let logger_provider = SdkLoggerProvider::builder()
        .with_log_processor(logs_processor)
        .build();
    let tracer = provider.tracer("test");
    let span = tracer.start("root");
    let (trace_id, span_id) = (
        span.span_context().trace_id(),
        span.span_context().span_id(),
    );
    let logger = logger_provider.logger("test");
    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Info);
    record.set_trace_context(trace_id, span_id, None);
    logger.emit(record);
    drop(span);

    let events = capture.take();
    assert_eq!(events.len(), 2);
    let (log, span) = (
        events[0].etw.as_ref().unwrap(),
        events[1].etw.as_ref().unwrap(),
    );
    let activity = etw_activity_id(trace_id.to_bytes(), span_id.to_bytes());
    assert_eq!(span.activity_id, Some(activity));
    assert_eq!(span.related_id, None, "a root span has no parent");
    assert_eq!(log.activity_id, Some(activity), "the log sits in the span");
    assert_eq!(log.related_id, None);
}

#[test]
fn queued_spans_keep_their_activity_ids() {
    let capture = CaptureSink::etw();
    let provider = tracer_provider_with(&capture, Mode::Queued(QueueOptions::default()));
    let tracer = provider.tracer("test");
    let parent = opentelemetry::Context::new().with_remote_span_context(context(0x77, 0x33));
    let span = tracer.start_with_context("child", &parent);
    let (trace_id, span_id) = (
        span.span_context().trace_id().to_bytes(),
        span.span_context().span_id().to_bytes(),
    );
    drop(span);
    provider.force_flush().unwrap();
    let ours = only_event(&capture);
    assert_eq!(ours.activity_id, Some(etw_activity_id(trace_id, span_id)));
    let parent_id = SpanId::from(0x33).to_bytes();
    assert_eq!(ours.related_id, Some(etw_activity_id(trace_id, parent_id)));
    assert!(String::from_utf8_lossy(&ours.meta).contains("_thread_id"));
}
