//! Heap allocations of a metrics export in steady state: a counting global allocator (all
//! threads) watches warmed-up exports of a prepared `ResourceMetrics` of 1,000 series (every
//! metric kind: sums, gauges, histograms, exponential histograms, with attributes) into a
//! capture sink. The goal is at most one allocation per data point; the exporter itself
//! allocates nothing (checked with a capture that refuses the writes), so what is counted
//! otherwise is the capture's copy of each event.
//! (Only one test in this binary, so no other test thread allocates meanwhile.)

#[path = "common/alloc.rs"]
mod alloc;
#[path = "common/metrics_driver.rs"]
mod metrics_driver;

use metrics_driver::{block_on, Driver};

use std::sync::mpsc;
use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, PeriodicReader, SdkMeterProvider, Stream,
};
use otel_os_events::metrics::Exporter;
use otel_os_events::sink::{CaptureSink, Sink};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// 1,000 series: 700 counter series, 100 gauge, 100 histogram and 100 exponential
/// histogram series, each with three attributes.
fn record(provider: &SdkMeterProvider) {
    let meter = provider.meter("alloc");
    let attrs = |i: usize| {
        [
            KeyValue::new("http.route", format!("/api/v1/items/{i}")),
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 200),
        ]
    };
    let counter = meter.u64_counter("requests").build();
    for i in 0..700 {
        counter.add(i as u64 + 1, &attrs(i));
    }
    let gauge = meter.f64_gauge("level").build();
    let histogram = meter.f64_histogram("latency").build();
    let exponential = meter.f64_histogram("exp.latency").build();
    for i in 0..100 {
        gauge.record(i as f64 / 3.0, &attrs(i));
        histogram.record(i as f64 * 7.5, &attrs(i));
        exponential.record(i as f64 + 0.5, &attrs(i));
        exponential.record(-(i as f64), &attrs(i));
    }
}

#[test]
fn a_steady_state_export_allocates_at_most_once_per_data_point() {
    const POINTS: u64 = 1_000;
    const ROUNDS: usize = 5;
    let capture = CaptureSink::new();
    let exporter = Exporter::builder()
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    let handle = exporter.handle();
    let driver = Driver::default();
    let reader = PeriodicReader::builder(driver.clone())
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_view(|i: &Instrument| {
            let s = Stream::builder();
            let s = if i.name().starts_with("exp") {
                s.with_aggregation(Aggregation::Base2ExponentialHistogram {
                    max_size: 160,
                    max_scale: 20,
                    record_min_max: true,
                })
            } else {
                s
            };
            s.build().ok()
        })
        .with_reader(reader)
        .build();
    record(&provider);

    let (tx, rx) = mpsc::channel();
    *driver.job.lock().unwrap() = Some(Box::new(move |metrics| {
        // Warm-up: the exporter's buffers grow to their size here.
        block_on(exporter.export(metrics)).unwrap();
        let warm_up_events = capture.take().len() as u64;
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            alloc::start();
            block_on(exporter.export(metrics)).unwrap();
            let allocations = alloc::stop();
            let events = capture.take().len() as u64;
            rounds.push((allocations, events));
        }
        // A capture that refuses every write keeps nothing: what is left is the exporter's.
        capture.fail_writes(Some(libc::EIO));
        alloc::start();
        block_on(exporter.export(metrics)).unwrap();
        let refused = alloc::stop();
        tx.send((warm_up_events, rounds, refused)).unwrap();
    }));
    provider.force_flush().unwrap();
    let (warm_up_events, rounds, refused) = rx.recv_timeout(Duration::from_secs(60)).unwrap();

    let stats = handle.stats();
    assert_eq!(
        stats.accepted,
        POINTS * (ROUNDS as u64 + 2),
        "1,000 points each"
    );
    assert_eq!(stats.written, POINTS * (ROUNDS as u64 + 1));
    assert_eq!(stats.dropped_total(), POINTS, "the refused export's");
    println!("refused writes: {refused} allocations for {POINTS} points");
    assert_eq!(refused, 0, "the exporter itself allocates nothing");
    assert!(
        warm_up_events > 1,
        "packed in several events: {warm_up_events}"
    );
    for (round, &(allocations, events)) in rounds.iter().enumerate() {
        println!(
            "round {round}: {allocations} allocations for {POINTS} points in {events} events \
             ({:.3} per point)",
            allocations as f64 / POINTS as f64
        );
        assert_eq!(events, warm_up_events, "the same events every time");
        assert!(
            allocations <= POINTS,
            "round {round}: {allocations} allocations for {POINTS} data points"
        );
        // What is left is the capture's: a copy of each event (and its bookkeeping).
        assert!(
            allocations <= 4 * events,
            "round {round}: {allocations} allocations for {events} captured events: the \
             exporter allocates"
        );
    }
    provider.shutdown().unwrap();
}
