//! Spans: each ended span becomes one event named `Span` on `myprovider_L4K1`, in the layout
//! of `opentelemetry-user-events-trace`.
//!
//! ```text
//! otel-os-events listen --tracepoint myprovider_L4K1   # on a kernel with user_events
//! cargo run --example traces
//! ```

mod common;

use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otel_os_events::traces::Processor;

fn main() -> std::process::ExitCode {
    common::run(|| {
        common::install_subscriber();
        let processor = Processor::builder("myprovider").build()?;
        let handle = processor.handle();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("example");

        tracer.in_span("checkout", |cx| {
            let mut child = tracer.start_with_context("charge card", &cx);
            child.set_attribute(KeyValue::new("http.response.status_code", 402_i64));
            child.add_event("retrying", vec![KeyValue::new("attempt", 2_i64)]);
            child.set_status(Status::error("payment declined"));
            child.end();
        });

        common::report("spans", &handle);
        provider.shutdown()?;
        Ok(())
    })
}
