//! The metrics exporter on any machine, through the capture sink: every event is parsed
//! (protocol, version, `__rel_loc` → buffer), prost-decoded, and compared point for point
//! with what the SDK handed the exporter.

mod common;

use std::time::Duration;

use common::metrics::*;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
use otel_os_events::metrics::{
    Exporter, DEFAULT_MAX_EVENT_SIZE, MAX_MAX_EVENT_SIZE, MIN_MAX_EVENT_SIZE, TRACEPOINT_NAME,
};
use otel_os_events::sink::{CaptureSink, Sink, TracepointStatus};
use otel_os_events::{DropReason, Error, UserEventsMeterProviderBuilderExt};

/// Every captured event, parsed, checking the fixed fields and the size limit.
fn events(capture: &CaptureSink, max: usize) -> Vec<MetricsEvent> {
    capture
        .take()
        .iter()
        .map(|e| {
            assert_eq!(e.tracepoint, TRACEPOINT_NAME);
            assert!(e.payload.len() <= max, "{} > {max}", e.payload.len());
            let parsed = parse_event(&e.payload);
            assert_eq!(parsed.protocol, 0);
            assert_eq!(&parsed.version, b"v0.19.00");
            assert_eq!(parsed.size, e.payload.len(), "bytes after the buffer");
            parsed
        })
        .collect()
}

#[test]
fn every_instrument_kind_point_for_point() {
    for temporality in [Temporality::Delta, Temporality::Cumulative] {
        let capture = CaptureSink::new();
        let p = metrics_pipeline(
            Exporter::builder().with_temporality(temporality),
            Some(&capture),
            |b| views(b).with_resource(resource()),
        );
        record_everything(&p.provider);
        p.provider.force_flush().unwrap();
        let events = events(&capture, DEFAULT_MAX_EVENT_SIZE);
        let seen = p.seen.lock();
        assert_eq!(seen.exports.len(), 1);
        let sdk = &seen.exports[0];
        let ours = flatten_proto(events.iter().map(|e| &e.request));
        assert_eq!(ours, *sdk, "{temporality:?}");
        // Every kind is there, and the temporality asked for.
        for kind in ["gauge", "sum", "histogram", "exponential"] {
            assert!(sdk.iter().any(|f| f.kind.starts_with(kind)), "no {kind}");
        }
        let word = if temporality == Temporality::Delta {
            "delta"
        } else {
            "cumulative"
        };
        assert!(sdk.iter().any(|f| f.kind.contains(word)));
        // The SDK itself drops NaN and infinite measurements; what it keeps we write.
        let gauge: Vec<_> = ours
            .iter()
            .filter(|f| f.metric == "g.f")
            .map(|f| &f.value)
            .collect();
        assert_eq!(gauge, ["d:-0.0"], "the SDK's handling of NaN/inf changed");
        assert!(ours
            .iter()
            .any(|f| f.attributes.iter().any(|(k, _)| k.is_empty())));
        // The resource and scopes, as given.
        for e in &events {
            assert_eq!(resource_of(&e.request), seen.resources[0]);
            for sm in &e.request.resource_metrics[0].scope_metrics {
                let scope = sm.scope.as_ref().unwrap();
                if scope.name == "scope.a" {
                    assert_eq!(scope.version, "1.2.3");
                    assert_eq!(scope.attributes.len(), 1);
                }
            }
        }
        assert!(resource_of(&events[0].request).contains(&("pid".into(), "i:42".into())));
        // Small enough to go in one event; counted in points.
        assert_eq!(events.len(), 1);
        let stats = p.handle.stats();
        assert_eq!(stats.accepted, sdk.len() as u64);
        assert_eq!(stats.written, sdk.len() as u64);
        assert_eq!(stats.dropped_total(), 0);
        assert_eq!(p.handle.events_written(), 1);
        assert_eq!(
            p.handle.status()[0].status,
            TracepointStatus::Registered,
            "capture registers"
        );
    }
}

/// Records, besides [`record_everything`], what that leaves out: array attributes, empty
/// and negative histograms, u64 values above `i64::MAX`, schema URLs.
fn record_the_rest(provider: &SdkMeterProvider) {
    use opentelemetry::{Array, InstrumentationScope, StringValue, Value};
    let scope = InstrumentationScope::builder("scope.c")
        .with_schema_url("https://opentelemetry.io/schemas/1.2.0")
        .build();
    let m = provider.meter_with_scope(scope);
    let arrays = [
        KeyValue::new("a.b", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("a.i", Value::Array(Array::I64(vec![0, -1, i64::MAX]))),
        KeyValue::new("a.f", Value::Array(Array::F64(vec![0.0, -2.5]))),
        KeyValue::new(
            "a.s",
            Value::Array(Array::String(vec![StringValue::from(""), "x".into()])),
        ),
        KeyValue::new("a.empty", Value::Array(Array::I64(Vec::new()))),
        KeyValue::new("zero", 0),
        KeyValue::new("false", false),
        KeyValue::new("nothing", ""),
    ];
    m.u64_counter("arrays").build().add(1, &arrays);
    m.u64_gauge("huge").build().record(u64::MAX, &[]);
    m.i64_gauge("zero").build().record(0, &[]);
    m.f64_histogram("no.bounds")
        .with_boundaries(Vec::new())
        .build()
        .record(-3.0, &arrays[..2]);
    let e = m.f64_histogram("exp.negative").build();
    for v in [-1e-3, -5.0, -1e9, 0.0] {
        e.record(v, &[]);
    }
    m.u64_histogram("exp.zero").build().record(0, &[]);
}

/// The bytes of one event are, byte for byte, what prost writes for the request
/// `opentelemetry_proto` converts the same export into: every metric kind, every attribute
/// type, schema URLs.
#[test]
fn the_bytes_are_those_of_opentelemetry_proto() {
    for temporality in [Temporality::Delta, Temporality::Cumulative] {
        let capture = CaptureSink::new();
        let p = metrics_pipeline(
            Exporter::builder()
                .with_temporality(temporality)
                .with_max_event_size(MAX_MAX_EVENT_SIZE),
            Some(&capture),
            |b| {
                views(b).with_resource(
                    opentelemetry_sdk::Resource::builder_empty()
                        .with_schema_url(
                            [KeyValue::new("service.name", "svc")],
                            "https://opentelemetry.io/schemas/1.1.0",
                        )
                        .build(),
                )
            },
        );
        record_everything(&p.provider);
        record_the_rest(&p.provider);
        p.provider.force_flush().unwrap();
        let captured = capture.take();
        assert_eq!(captured.len(), 1, "one event");
        let event = parse_event(&captured[0].payload);
        let seen = p.seen.lock();
        let reference = &seen.references[0];
        assert_eq!(
            &captured[0].payload[16..],
            &reference[..],
            "{temporality:?}: decoded ours {:#?}",
            event.request
        );
        assert_eq!(
            flatten_proto([&event.request]).len(),
            seen.exports[0].len(),
            "every point"
        );
    }
}

/// Exports `n` series of one counter and returns (events, largest event).
fn pack_series(n: usize, max: usize) -> (usize, usize) {
    pack_series_in(n, max, otel_os_events::mode::Mode::Sync)
}

/// As [`pack_series`], in `mode`.
fn pack_series_in(n: usize, max: usize, mode: otel_os_events::mode::Mode) -> (usize, usize) {
    let capture = CaptureSink::new();
    let p = metrics_pipeline(
        Exporter::builder().with_max_event_size(max).with_mode(mode),
        Some(&capture),
        |b| views(b).with_resource(resource()),
    );
    let c = p
        .provider
        .meter("pack")
        .u64_counter("http.server.requests")
        .build();
    for i in 0..n {
        c.add(
            i as u64 + 1,
            &[
                KeyValue::new("http.route", format!("/api/v1/items/{i}")),
                KeyValue::new("http.response.status_code", 200),
            ],
        );
    }
    p.provider.force_flush().unwrap();
    // The SDK's reader does not flush the exporter itself: wait for a queued flush thread.
    p.handle.force_flush().unwrap();
    let events = events(&capture, max);
    let ours = flatten_proto(events.iter().map(|e| &e.request));
    assert_eq!(ours.len(), n);
    assert_eq!(ours, p.seen.lock().exports[0]);
    let stats = p.handle.stats();
    assert_eq!((stats.accepted, stats.written), (n as u64, n as u64));
    assert_eq!(p.handle.events_written(), events.len() as u64);
    let largest = events.iter().map(|e| e.size).max().unwrap_or(0);
    (events.len(), largest)
}

#[test]
fn packing_writes_far_fewer_events_than_series() {
    for (n, at_most) in [(10, 1), (1_000, 15), (10_000, 150)] {
        let (events, largest) = pack_series(n, DEFAULT_MAX_EVENT_SIZE);
        println!(
            "{n} series: {events} events, largest {largest} bytes (limit {DEFAULT_MAX_EVENT_SIZE})"
        );
        assert!(events <= at_most, "{n} series took {events} events");
        assert!(largest <= DEFAULT_MAX_EVENT_SIZE);
        if n >= 1_000 {
            // Packed tight: the largest event is within one point of the limit.
            assert!(largest > DEFAULT_MAX_EVENT_SIZE - 200, "largest {largest}");
        }
    }
    let (events, largest) = pack_series(1_000, MIN_MAX_EVENT_SIZE);
    println!("1000 series at {MIN_MAX_EVENT_SIZE}: {events} events, largest {largest}");
    assert!(largest <= MIN_MAX_EVENT_SIZE);
}

#[test]
fn no_listener_means_no_encoding_and_no_counts() {
    let capture = CaptureSink::new();
    capture.set_listening_all(false);
    let p = metrics_pipeline(Exporter::builder(), Some(&capture), views);
    record_everything(&p.provider);
    p.provider.force_flush().unwrap();
    assert!(capture.events().is_empty());
    assert_eq!(p.handle.stats(), Default::default());
    // A session attaches: the next export writes.
    capture.set_listening_all(true);
    record_everything(&p.provider);
    p.provider.force_flush().unwrap();
    assert_eq!(events(&capture, DEFAULT_MAX_EVENT_SIZE).len(), 1);
}

#[test]
fn hostile_input_is_written_or_counted_never_oversize() {
    let capture = CaptureSink::new();
    let p = metrics_pipeline(Exporter::builder(), Some(&capture), views);
    let m = p.provider.meter("hostile");
    let huge_key = "k".repeat(100_000);
    let c = m.u64_counter("c").build();
    c.add(1, &[KeyValue::new(huge_key.clone(), "v")]); // oversize alone
    c.add(1, &[KeyValue::new("big", "v".repeat(7_500))]); // fits alone
    c.add(1, &[KeyValue::new("", "")]);
    let bounds: Vec<f64> = (0..9_999).map(f64::from).collect();
    let h = m.f64_histogram("h.10k").with_boundaries(bounds).build();
    h.record(5.0, &[]);
    h.record(f64::NAN, &[KeyValue::new("nan", true)]);
    h.record(f64::INFINITY, &[KeyValue::new("inf", true)]);
    let g = m.f64_gauge("g").build();
    g.record(f64::NAN, &[]);
    let many = m.u64_counter("many").build();
    for i in 0..100_000u64 {
        many.add(i, &[KeyValue::new("i", i as i64)]);
    }
    p.provider.force_flush().unwrap();
    let events = events(&capture, DEFAULT_MAX_EVENT_SIZE);
    let sdk = p.seen.lock().exports[0].clone();
    let ours = flatten_proto(events.iter().map(|e| &e.request));
    let stats = p.handle.stats();
    println!(
        "{} points in, {} events, stats {stats:?}",
        sdk.len(),
        events.len()
    );
    // The dropped: the huge key's point and the 10,000-bucket points (the SDK keeps no
    // series for NaN or infinite measurements).
    // Both sorted: ours must be sdk minus the dropped.
    let mut dropped = Vec::new();
    let mut it = ours.iter().peekable();
    for f in &sdk {
        if it.peek() == Some(&f) {
            it.next();
        } else {
            dropped.push(f);
        }
    }
    assert!(
        it.next().is_none(),
        "written points the SDK did not produce"
    );
    let should_drop =
        |f: &Flat| f.metric == "h.10k" || f.attributes.first().is_some_and(|(k, _)| *k == huge_key);
    let expected = sdk.iter().filter(|f| should_drop(f)).count();
    assert_eq!(expected, 2);
    assert_eq!(dropped.len(), expected);
    assert!(dropped.iter().all(|f| should_drop(f)));
    assert_eq!(stats.dropped(DropReason::Oversize), expected as u64);
    assert!(ours.iter().any(|f| f
        .attributes
        .iter()
        .any(|(k, v)| k == "big" && v.len() > 7_500)));
    assert_eq!(stats.accepted, sdk.len() as u64);
    assert_eq!(stats.written, ours.len() as u64);
    assert_eq!(stats.accepted, stats.written + stats.dropped_total());
    assert!(sdk.len() > 100_000);
}

#[test]
fn write_errors_and_shutdown_are_counted_by_reason() {
    let capture = CaptureSink::new();
    let p = metrics_pipeline(Exporter::builder(), Some(&capture), views);
    let c = p.provider.meter("m").u64_counter("c").build();
    c.add(1, &[KeyValue::new("a", 1)]);
    c.add(1, &[KeyValue::new("a", 2)]);
    capture.fail_writes(Some(libc::EIO));
    p.provider.force_flush().unwrap();
    capture.fail_writes(None);
    let stats = p.handle.stats();
    assert_eq!(
        stats.dropped(DropReason::WriteError { errno: libc::EIO }),
        2
    );
    assert_eq!((stats.accepted, stats.written), (2, 0));
    p.provider.shutdown().unwrap();
    assert_eq!(p.handle.status()[0].status, TracepointStatus::Unregistered);
    assert!(capture.registered().is_empty());
}

#[test]
fn builder_checks_the_size_and_the_seed_api_never_fails() {
    for bad in [0, MIN_MAX_EVENT_SIZE - 1, MAX_MAX_EVENT_SIZE + 1] {
        assert!(matches!(
            Exporter::builder().with_max_event_size(bad).build(),
            Err(Error::InvalidMaxEventSize { .. })
        ));
    }
    let e = Exporter::builder()
        .with_max_event_size(MAX_MAX_EVENT_SIZE)
        .with_sink(Sink::Capture(CaptureSink::new()))
        .build()
        .unwrap();
    assert_eq!(e.max_event_size(), MAX_MAX_EVENT_SIZE);
    // On a kernel without user_events this still builds; the status says why.
    let provider = SdkMeterProvider::builder()
        .with_user_events_exporter()
        .build();
    provider.meter("m").u64_counter("c").build().add(1, &[]);
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();
    let real = Exporter::builder().build().unwrap();
    println!("status here: {:?}", real.status());
    assert_eq!(real.status()[0].tracepoint, "otlp_metrics");
    let _ = Duration::ZERO;
}

#[test]
fn queued_mode_writes_the_same_events_on_its_flush_thread() {
    use otel_os_events::mode::{Mode, QueueOptions};
    let queued = Mode::Queued(QueueOptions {
        thread_name: "metrics-flush".into(),
        ..QueueOptions::default()
    });
    // handle.force_flush waits for the flush thread, so the capture holds every event, point
    // for point (pack_series_in compares with the SDK's input), packed like sync mode (sizes may
    // differ by a byte or two: timestamps are varints).
    let (queued_events, queued_largest) = pack_series_in(1_000, 8184, queued);
    let (sync_events, _) = pack_series(1_000, 8184);
    assert_eq!(queued_events, sync_events);
    assert!(queued_largest <= 8184);
    let bad = Mode::Queued(QueueOptions {
        capacity: 0,
        ..QueueOptions::default()
    });
    assert!(matches!(
        Exporter::builder().with_mode(bad).build(),
        Err(otel_os_events::Error::InvalidQueueCapacity { capacity: 0, .. })
    ));
}
