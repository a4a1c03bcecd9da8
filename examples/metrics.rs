//! Metrics: the SDK aggregates, and at each collection the exporter packs the data points
//! into as few `otlp_metrics` events (OTLP protobuf) as fit.
//!
//! ```text
//! otel-os-events listen --tracepoint otlp_metrics   # on a kernel with user_events
//! cargo run --example metrics
//! ```

mod common;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use otel_os_events::metrics::Exporter;

fn main() -> std::process::ExitCode {
    common::run(|| {
        common::install_subscriber();
        let exporter = Exporter::builder().build()?;
        let handle = exporter.handle();
        let provider = SdkMeterProvider::builder()
            .with_periodic_exporter(exporter)
            .build();
        let meter = provider.meter("example");

        let requests = meter.u64_counter("requests").build();
        let latency = meter.f64_histogram("latency").with_unit("ms").build();
        for (route, ms) in [("/a", 12.5), ("/b", 40.0), ("/a", 7.25)] {
            requests.add(1, &[KeyValue::new("route", route)]);
            latency.record(ms, &[KeyValue::new("route", route)]);
        }
        // Export now rather than at the reader's next interval (60 s by default).
        provider.force_flush()?;

        // Metrics counters are in data points; events_written counts events.
        common::report("metrics", &handle);
        println!("metrics: events written {}", handle.events_written());
        provider.shutdown()?;
        Ok(())
    })
}
