//! The metrics exporter on a real user_events kernel (run inside the VM: `vm/run.sh`).
//! Events are read back as an agent reads them — a perf ring buffer, whose raw sample data
//! after the 8 common bytes starts at `protocol` — then parsed and prost-decoded, and
//! compared point for point with what the SDK produced. On a kernel without user_events each
//! test prints a loud SKIPPED line, or fails when OTEL_OS_EVENTS_IN_VM / _REQUIRE_KERNEL is 1.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};

use std::time::Duration;

use common::kernel::*;
use common::metrics::*;
use common::skip::kernel_or_skip;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use otel_os_events::listen::{PerfSession, SessionOptions};
use otel_os_events::metrics::{Exporter, DEFAULT_MAX_EVENT_SIZE, TRACEPOINT_NAME};
use otel_os_events::sink::TracepointStatus;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

/// Adds `n` series of one counter.
fn series(p: &MetricsPipeline, n: usize) {
    let c = p.provider.meter("series").u64_counter("requests").build();
    for i in 0..n {
        c.add(1, &[KeyValue::new("route", format!("/items/{i}"))]);
    }
}

/// Every metrics exporter writes the one tracepoint `otlp_metrics`: a session one test opens
/// would enable another test's exporter. The tests here take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn metrics_through_perf_point_for_point() {
    let _turn = take_turn();
    if !kernel_or_skip("metrics_through_perf_point_for_point") {
        return;
    }
    let p = metrics_pipeline(Exporter::builder(), None, |b| {
        views(b).with_resource(resource())
    });
    assert_eq!(p.handle.status()[0].status, TracepointStatus::Registered);
    let format = tracefs_read(&format!("events/user_events/{TRACEPOINT_NAME}/format"));
    println!("{format}");
    // Offsets count the 8 common bytes. (6.12 prints `char version[<garbage>]`: the kernel
    // leaves the field's array length unset for user_events; offset and size are right.)
    assert!(
        format.contains("field:u32 protocol;\toffset:8;\tsize:4;"),
        "{format}"
    );
    assert!(format.contains(" version["), "{format}");
    assert!(format.contains("\toffset:12;\tsize:8;"), "{format}");
    assert!(
        format.contains("field:__rel_loc u8 buffer[];\toffset:20;\tsize:4;"),
        "{format}"
    );

    // No session yet: the export costs one enable-word read, and nothing is counted.
    record_everything(&p.provider);
    p.provider.force_flush().unwrap();
    assert_eq!(p.handle.stats(), Default::default());

    let options = SessionOptions {
        ring_data_pages: 512,
        ..SessionOptions::default()
    };
    let mut session = PerfSession::open(&[TRACEPOINT_NAME], options).expect("perf session");
    record_everything(&p.provider);
    series(&p, 2_000);
    p.provider.force_flush().unwrap();
    let written = p.handle.events_written() as usize;
    let raw = read_raw(&mut session, written, WAIT);
    assert_eq!(raw.len(), written, "lost {}", session.lost());
    assert_eq!(session.lost(), 0);
    let events: Vec<MetricsEvent> = raw
        .iter()
        .map(|e| {
            assert_eq!(e.tracepoint, TRACEPOINT_NAME);
            let parsed = parse_event(&e.raw);
            assert_eq!((parsed.protocol, &parsed.version), (0, b"v0.19.00"));
            assert!(parsed.size <= DEFAULT_MAX_EVENT_SIZE);
            assert!(
                e.raw.len() - parsed.size < 8,
                "only alignment padding after the buffer"
            );
            parsed
        })
        .collect();
    let largest = events.iter().map(|e| e.size).max().unwrap();
    println!(
        "{} points in {} events through perf, largest {largest} bytes",
        p.handle.stats().written,
        events.len()
    );
    assert!(
        largest > DEFAULT_MAX_EVENT_SIZE - 300,
        "the limit was exercised"
    );
    let seen = p.seen.lock();
    let sdk = seen.exports.last().unwrap();
    assert_eq!(flatten_proto(events.iter().map(|e| &e.request)), *sdk);
    let stats = p.handle.stats();
    assert_eq!(
        (stats.accepted, stats.written),
        (sdk.len() as u64, sdk.len() as u64)
    );
    assert!(
        events.len() < sdk.len() / 50,
        "{} events for {} points",
        events.len(),
        sdk.len()
    );
}

#[test]
fn listen_prints_metrics_events() {
    let _turn = take_turn();
    if !kernel_or_skip("listen_prints_metrics_events") {
        return;
    }
    // The exporter registers otlp_metrics (listen registers only EventHeader tracepoints).
    let p = metrics_pipeline(Exporter::builder(), None, views);
    let (mut child, stderr_reader) = spawn_listen(&[
        "--tracepoint",
        TRACEPOINT_NAME,
        "--count",
        "1",
        "--timeout",
        "30",
    ]);
    // Our own reader too, to know what listen should have seen.
    let mut session = session(&[TRACEPOINT_NAME]);
    series(&p, 3);
    p.provider.force_flush().unwrap();
    assert_eq!(p.handle.events_written(), 1);
    let lines: Vec<Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("listen prints JSON lines"))
        .collect();
    let status = child.wait().unwrap();
    let stderr = stderr_reader.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    println!("{line}");
    let raw = read_raw(&mut session, 1, WAIT);
    assert_eq!(raw.len(), 1);
    let event = parse_event(&raw[0].raw);
    assert_eq!(line["tracepoint"], TRACEPOINT_NAME);
    let fields = &line["fields"];
    assert_eq!(fields["protocol"], 0);
    assert_eq!(fields["version"], "v0.19.00");
    assert_eq!(fields["buffer"]["length"], event.size - 16);
    assert_eq!(flatten_proto([&event.request]).len(), 3);
}

#[test]
fn queued_metrics_through_perf_point_for_point() {
    let _turn = take_turn();
    if !kernel_or_skip("queued_metrics_through_perf_point_for_point") {
        return;
    }
    let queued = otel_os_events::mode::Mode::Queued(otel_os_events::mode::QueueOptions::default());
    let p = metrics_pipeline(Exporter::builder().with_mode(queued), None, views);
    let options = SessionOptions {
        ring_data_pages: 512,
        ..SessionOptions::default()
    };
    let mut session = PerfSession::open(&[TRACEPOINT_NAME], options).expect("perf session");
    series(&p, 1_000);
    // The reader exports on flush; the handle then waits for the flush thread.
    p.provider.force_flush().unwrap();
    p.handle.force_flush().unwrap();
    let written = p.handle.events_written() as usize;
    assert!(written > 1);
    let raw = read_raw(&mut session, written, WAIT);
    assert_eq!((raw.len(), session.lost()), (written, 0));
    let events: Vec<MetricsEvent> = raw.iter().map(|e| parse_event(&e.raw)).collect();
    let seen = p.seen.lock();
    assert_eq!(
        flatten_proto(events.iter().map(|e| &e.request)),
        *seen.exports.last().unwrap()
    );
    let stats = p.handle.stats();
    assert_eq!(
        (stats.accepted, stats.written, stats.dropped_total()),
        (1_000, 1_000, 0)
    );
}
