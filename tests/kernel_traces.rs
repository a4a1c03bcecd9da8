//! Spans on a real user_events kernel (inside the VM): read back through perf, decoded with
//! tracepoint_decode, and rendered by `listen`'s JSON writer.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::kernel::*;
use common::skip::kernel_or_skip;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otel_os_events::traces::Processor;

#[test]
fn spans_reach_perf_and_listen_decodes_them() {
    if !kernel_or_skip("spans_reach_perf_and_listen_decodes_them") {
        return;
    }
    let processor = Processor::builder("kt_spans").build().unwrap();
    let handle = processor.handle();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let tracer = provider.tracer("kernel");
    let mut session = session(&["kt_spans_L4K1"]);
    let mut span = tracer.start("checkout");
    span.set_attribute(KeyValue::new("http.response.status_code", 200));
    span.set_attribute(KeyValue::new("cart.items", 3));
    span.add_event("paid", vec![KeyValue::new("amount", 9.5)]);
    span.end();
    let raw = read_raw(&mut session, 1, Duration::from_secs(5));
    assert_eq!(raw.len(), 1);
    let e = common::decode(&raw[0].tracepoint, &raw[0].raw);
    assert_eq!(e.name, "Span");
    assert_eq!(e.at("PartB.name").str(), "checkout");
    assert_eq!(e.at("PartB.httpStatusCode"), &common::Val::I64(200));
    assert_eq!(e.at("PartB.events.0.amount"), &common::Val::F64(9.5));
    assert_eq!(e.at("PartC.cart.items"), &common::Val::I64(3));
    let json: serde_json::Value = serde_json::from_str(&raw[0].to_json()).unwrap();
    assert_eq!(json["event"], "Span");
    assert_eq!(json["fields"]["PartB"]["name"], "checkout");
    assert_eq!(json["fields"]["PartB"]["events"]["0"]["name"], "paid");
    assert_eq!(handle.stats().written, 1);
}
