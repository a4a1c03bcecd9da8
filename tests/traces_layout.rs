//! Spans: the Common Schema layout, events and links as structured fields, hostile spans,
//! decoded with Microsoft's tracepoint_decode.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::*;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanProcessor as _};
use opentelemetry_sdk::Resource;
use otel_os_events::logs::DEFAULT_MAX_EVENT_SIZE;
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::sink::{CaptureSink, Sink};
use otel_os_events::traces::Processor;
use otel_os_events::{DropReason, Error};

fn pipeline(builder: otel_os_events::traces::ProcessorBuilder) -> (SdkTracerProvider, CaptureSink) {
    let capture = CaptureSink::new();
    let processor = builder
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_service_name("checkout")
                .build(),
        )
        .with_span_processor(processor)
        .build();
    (provider, capture)
}

fn context(trace: u128, span: u64) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    )
}

#[test]
fn a_span_with_everything() {
    let (provider, capture) = pipeline(Processor::builder("tp"));
    let tracer = provider.tracer("test");
    let parent_cx = opentelemetry::Context::new().with_remote_span_context(context(0xabc, 0x11));
    let mut span = tracer
        .span_builder("GET /orders")
        .with_kind(SpanKind::Server)
        .with_start_time(UNIX_EPOCH + Duration::from_secs(1_000))
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 503),
            KeyValue::new("url.full", "https://shop/orders"),
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("user", "alice"),
            KeyValue::new("retries", Value::Array(vec![1i64, 2].into())),
        ])
        .with_links(vec![Link::with_context(context(0xdef, 0x22)).tap_attrs()])
        .start_with_context(&tracer, &parent_cx);
    use opentelemetry::trace::Span as _;
    span.add_event_with_timestamp(
        "retry",
        UNIX_EPOCH + Duration::from_secs(1_001),
        vec![KeyValue::new("attempt", 2)],
    );
    span.set_status(Status::error("upstream timed out"));
    span.end_with_timestamp(UNIX_EPOCH + Duration::from_secs(1_002));
    let events = decoded(&capture);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.tracepoint.as_str(), e.name.as_str(), e.level, e.keyword),
        ("tp_L4K1", "Span", 4, 1)
    );
    assert_eq!(e.names(), ["__csver__", "PartA", "PartB", "PartC"]);
    assert_eq!(e.at("PartA.time").str(), "1970-01-01T00:16:42Z");
    assert_eq!(
        e.at("PartA.ext_dt_traceId").str(),
        format!("{:032x}", 0xabc)
    );
    assert_eq!(e.at("PartA.ext_cloud_role").str(), "checkout");
    assert_eq!(e.at("PartB._typeName").str(), "Span");
    assert_eq!(e.at("PartB.name").str(), "GET /orders");
    assert_eq!(e.at("PartB.parentId").str(), "0000000000000011");
    assert_eq!(e.at("PartB.startTime").str(), "1970-01-01T00:16:40Z");
    assert_eq!(e.at("PartB.success"), &Val::Bool(false));
    assert_eq!(e.at("PartB.kind"), &Val::U64(1));
    // The Common Schema rule user-events-trace 0.6 follows: an http status code, no message.
    assert!(e.get("PartB.statusMessage").is_none());
    assert_eq!(e.at("PartB.httpMethod").str(), "GET");
    assert_eq!(e.at("PartB.httpStatusCode"), &Val::I64(503));
    assert_eq!(e.at("PartB.httpUrl").str(), "https://shop/orders");
    assert_eq!(e.at("PartB.dbSystem").str(), "postgresql");
    assert_eq!(e.at("PartB.events.0.name").str(), "retry");
    assert_eq!(e.at("PartB.events.0.time").str(), "1970-01-01T00:16:41Z");
    assert_eq!(e.at("PartB.events.0.attempt"), &Val::I64(2));
    assert_eq!(
        e.at("PartB.links").str(),
        format!(
            r#"[{{"toTraceId":"{:032x}","toSpanId":"0000000000000022"}}]"#,
            0xdef
        )
    );
    assert_eq!(e.at("PartB.linkAttributes.0.kind").str(), "follows");
    let part_b: Vec<&str> = e
        .at("PartB")
        .fields()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        part_b,
        [
            "_typeName",
            "name",
            "startTime",
            "success",
            "kind",
            "parentId",
            "links",
            "httpMethod",
            "httpStatusCode",
            "httpUrl",
            "dbSystem",
            "events",
            "linkAttributes"
        ],
        "user-events-trace 0.6's order, then ours"
    );
    // PartC: only the attributes that were not lifted.
    let part_c: Vec<&str> = e
        .at("PartC")
        .fields()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(part_c, ["user", "retries"]);
    assert_eq!(
        e.at("PartC.retries"),
        &Val::Array(vec![Val::I64(1), Val::I64(2)])
    );
}

trait TapAttrs {
    fn tap_attrs(self) -> Self;
}
impl TapAttrs for Link {
    fn tap_attrs(mut self) -> Self {
        self.attributes.push(KeyValue::new("kind", "follows"));
        self
    }
}

#[test]
fn a_root_internal_ok_span_has_no_parent_or_status_message() {
    let (provider, capture) = pipeline(Processor::builder("tp2").with_level(2).with_keyword(0x40));
    let tracer = provider.tracer("t");
    tracer.in_span("work", |_| {});
    let e = &decoded(&capture)[0];
    assert_eq!(
        (e.tracepoint.as_str(), e.level, e.keyword),
        ("tp2_L2K40", 2, 0x40)
    );
    assert!(e.get("PartB.parentId").is_none() && e.get("PartB.statusMessage").is_none());
    assert!(
        e.get("PartB.events").is_none()
            && e.get("PartB.links").is_none()
            && e.get("PartC").is_none()
    );
    assert_eq!(
        (e.at("PartB.success"), e.at("PartB.kind")),
        (&Val::Bool(true), &Val::U64(0))
    );
}

#[test]
fn hostile_spans_fit_and_decode() {
    let (provider, capture) = pipeline(Processor::builder("tph"));
    let tracer = provider.tracer("t");
    use opentelemetry::trace::Span as _;
    let mut span = tracer.start("huge");
    for i in 0..10_000 {
        span.set_attribute(KeyValue::new(format!("a{i}"), "v".repeat(i % 50)));
    }
    for i in 0..10_000 {
        span.add_event(format!("e{i}"), vec![KeyValue::new("x", i as i64)]);
    }
    span.set_attribute(KeyValue::new("nan", f64::NAN));
    span.end();
    let captured = capture.events();
    assert_eq!(captured.len(), 1);
    assert!(captured[0].payload.len() <= DEFAULT_MAX_EVENT_SIZE);
    let e = decode(&captured[0].tracepoint, &captured[0].payload);
    assert!(e.get("_truncated").is_some());
    assert!(e.at("PartB.events").fields().len() <= 127);
}

#[test]
fn queued_spans_and_validation() {
    let (provider, capture) =
        pipeline(Processor::builder("tpq").with_mode(Mode::Queued(QueueOptions::default())));
    let tracer = provider.tracer("t");
    for i in 0..20 {
        tracer.in_span(format!("s{i}"), |_| {});
    }
    provider.force_flush().unwrap();
    let names: Vec<String> = decoded(&capture)
        .iter()
        .map(|e| e.at("PartB.name").str().to_owned())
        .collect();
    assert_eq!(names, (0..20).map(|i| format!("s{i}")).collect::<Vec<_>>());
    assert!(decoded(&capture)[0].get("_thread_id").is_some());
    for level in [0, 6] {
        assert_eq!(
            Processor::builder("p")
                .with_level(level)
                .build()
                .unwrap_err(),
            Error::InvalidLevel { level }
        );
    }
    // A space breaks user_events' name rule (ETW's, the default sink on Windows, allows it).
    assert!(matches!(
        Processor::builder("bad name")
            .with_sink(Sink::UserEvents)
            .build(),
        Err(Error::InvalidProviderName { .. })
    ));
    let p = Processor::builder("tps").build().unwrap();
    p.shutdown().unwrap();
    let span = opentelemetry_sdk::trace::SpanData {
        span_context: context(1, 1),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: "late".into(),
        start_time: UNIX_EPOCH,
        end_time: UNIX_EPOCH,
        attributes: vec![],
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Unset,
        instrumentation_scope: Default::default(),
    };
    p.on_end(span);
    assert_eq!(p.stats().dropped(DropReason::AfterShutdown), 1);
}

/// user-events-trace 0.6 maps only the current semantic-convention names (rpc included) into
/// PartB; older names stay in PartC under their own keys, so a span with both writes each
/// once: never `dbSystem` twice. Without an http status code the error message is written.
#[test]
fn old_names_stay_in_part_c_and_rpc_is_mapped() {
    let (provider, capture) = pipeline(Processor::builder("tp_names"));
    let tracer = provider.tracer("t");
    let mut span = tracer
        .span_builder("call")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("db.system", "mysql"),
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.statement", "SELECT 1"),
            KeyValue::new("messaging.destination", "q"),
            KeyValue::new("rpc.system.name", "grpc"),
            KeyValue::new("rpc.response.status_code", "OK"),
        ])
        .start(&tracer);
    use opentelemetry::trace::Span as _;
    span.set_status(Status::error("boom"));
    span.end();
    let e = &decoded(&capture)[0];
    let names = |part: &str| -> Vec<String> {
        e.at(part).fields().iter().map(|(n, _)| n.clone()).collect()
    };
    let part_b = names("PartB");
    assert_eq!(
        part_b[5..],
        [
            "dbSystem",
            "rpcSystem",
            "rpcGrpcStatusCode",
            "statusMessage"
        ]
    );
    assert_eq!(e.at("PartB.dbSystem").str(), "postgresql");
    assert_eq!(e.at("PartB.rpcSystem").str(), "grpc");
    assert_eq!(e.at("PartB.rpcGrpcStatusCode").str(), "OK");
    assert_eq!(e.at("PartB.statusMessage").str(), "boom");
    assert_eq!(
        names("PartC"),
        ["db.system", "db.statement", "messaging.destination"]
    );
    assert_eq!(e.at("PartC.db.system").str(), "mysql");
}
