//! An application that logs through `tracing`, exported to user_events by otel-os-events.
//!
//! Run it on a kernel with user_events while something listens, for example:
//!
//! ```text
//! otel-os-events listen myprovider            # or: perf record -e 'user_events:myprovider_L*'
//! cargo run --example tracing_logs
//! ```
//!
//! It prints the tracepoints' status and the counters at the end, so on a kernel without
//! user_events it says why nothing was written.

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::Resource;
use otel_os_events::logs::Processor;
use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider_name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "myprovider".to_owned());
    let processor = Processor::builder(&provider_name).build()?;
    // A view of the counters and status that outlives handing the processor to the SDK.
    let handle = processor.handle();
    let provider = SdkLoggerProvider::builder()
        .with_resource(
            Resource::builder()
                .with_service_name("example-shop")
                .build(),
        )
        .with_log_processor(processor)
        .build();
    tracing_subscriber::registry()
        .with(OpenTelemetryTracingBridge::new(&provider))
        .init();

    tracing::error!(name: "checkout.failed", order_id = 1001_i64, amount = 42.5, retry = false, "payment declined");
    tracing::warn!(queue = "orders", depth = 977_u64, "queue almost full");
    tracing::info!(user = "alice", items = 3_i64, "order placed");
    tracing::info!(event_id = 7_i64, "with an event id");
    tracing::debug!(cache_hit = true, "cache lookup");
    tracing::trace!("entering handler");

    for s in handle.status() {
        eprintln!("tracepoint {}: {}", s.tracepoint, s.status);
    }
    let stats = handle.stats();
    eprintln!(
        "written {}, truncated {}, dropped {:?}",
        stats.written, stats.truncated, stats.dropped
    );
    provider.shutdown()?;
    Ok(())
}
