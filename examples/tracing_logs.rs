//! Logs through `tracing`: `tracing::info!` and friends become log records (through
//! `opentelemetry-appender-tracing`'s bridge), which otel-os-events writes to user_events
//! (ETW on Windows).
//!
//! ```text
//! otel-os-events listen myprovider     # on a kernel with user_events, in another terminal
//! cargo run --example tracing_logs [provider]
//! ```
//!
//! It logs six records, one per level and one with an event id (`vm/demo.sh` runs it under
//! `listen myprovider --count 6`), then prints each tracepoint's status and the counters,
//! so on a host without user_events (or with nobody listening) it says why nothing was
//! written.

mod common;

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use otel_os_events::logs::Processor;
use tracing_subscriber::prelude::*;
use tracing_subscriber::reload;

type Bridge = OpenTelemetryTracingBridge<SdkLoggerProvider, opentelemetry_sdk::logs::SdkLogger>;

fn main() -> std::process::ExitCode {
    common::run(|| {
        // The subscriber first, so that the crate's warnings while building show; the
        // bridge joins it once the provider exists.
        let (bridge, slot) = reload::Layer::new(None::<Bridge>);
        tracing_subscriber::registry()
            .with(common::warnings_layer())
            .with(bridge)
            .init();

        let provider_name = std::env::args().nth(1).unwrap_or("myprovider".to_owned());
        let processor = Processor::builder(&provider_name).build()?;
        // Counters and status, still readable once the SDK owns the processor.
        let handle = processor.handle();
        let provider = SdkLoggerProvider::builder()
            .with_resource(common::resource())
            .with_log_processor(processor)
            .build();
        slot.reload(Some(OpenTelemetryTracingBridge::new(&provider)))?;

        tracing::error!(name: "checkout.failed", order_id = 1001_i64, amount = 42.5, "payment declined");
        tracing::warn!(queue = "orders", depth = 977_u64, "queue almost full");
        tracing::info!(user = "alice", items = 3_i64, "order placed");
        tracing::info!(event_id = 7_i64, "with an event id");
        tracing::debug!(cache_hit = true, "cache lookup");
        tracing::trace!("entering handler");

        common::report("logs", &handle);
        provider.shutdown()?;
        Ok(())
    })
}
