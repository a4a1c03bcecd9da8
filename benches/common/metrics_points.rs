//! The `metrics/point` instruction-count case (included by path from the instruction
//! bench): exports of a prepared `ResourceMetrics` of [`SERIES`] counter series through
//! `metrics::Exporter` into a capture sink that refuses every write (EIO), so the cost is
//! packing, encoding and framing, no syscall.
//!
//! [`run`]`(units)` makes `units / SERIES` exports after the same setup (a meter provider,
//! the series recorded, one untimed warm-up export that grows the exporter's buffers) and
//! the same teardown, whatever `units`: the difference between two runs, divided by the
//! difference of their `units`, is the cost of exporting one data point in steady state.
//! The series are those of `benches/metrics.rs`: three attributes each (`http.route` =
//! `/api/v1/items/<i>`, `http.request.method` = `GET`, `http.response.status_code` = 200),
//! cumulative temporality so every collection holds all of them.

use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use otel_os_events::metrics::Exporter;
use otel_os_events::sink::{CaptureSink, Sink};

use super::metrics_driver::{block_on, Driver};

/// Data points per export: `units` are counted in these.
pub const SERIES: u64 = 100;

/// Exports [`SERIES`] data points `units / SERIES` times (after one warm-up export).
pub fn run(units: u64) {
    let capture = CaptureSink::new();
    capture.fail_writes(Some(libc::EIO));
    let exporter = Exporter::builder()
        .with_sink(Sink::Capture(capture))
        .build()
        .expect("the exporter builds");
    let driver = Driver::default();
    let provider = driver.meter_provider();
    let counter = provider
        .meter("bench")
        .u64_counter("bench.requests.0")
        .build();
    for i in 0..SERIES {
        counter.add(
            i + 1,
            &[
                KeyValue::new("http.route", format!("/api/v1/items/{i}")),
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.response.status_code", 200),
            ],
        );
    }
    let exports = units / SERIES;
    let (done, finished) = std::sync::mpsc::channel();
    *driver.job.lock().expect("the driver's lock") = Some(Box::new(move |metrics| {
        let _ = block_on(exporter.export(metrics));
        for _ in 0..exports {
            let _ = block_on(exporter.export(std::hint::black_box(metrics)));
        }
        let _ = done.send(exporter.stats().accepted);
    }));
    let _ = provider.force_flush();
    let accepted = finished
        .recv_timeout(Duration::from_secs(600))
        .expect("the collection ran the exports");
    assert_eq!(
        accepted,
        (exports + 1) * SERIES,
        "every export saw every series"
    );
    let _ = provider.shutdown();
}
