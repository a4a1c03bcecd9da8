//! Instruction counts per record, for callgrind: deterministic where wall-clock benches on
//! these machines are not. Run it through `benches/instructions.sh`, which runs each case
//! twice under `valgrind --tool=callgrind` (with few and with many records) and prints the
//! difference per record, so that setup costs cancel out.
//!
//! `instructions <case> <records>`: builds what `<case>` measures and sends `<records>`
//! records through it. Our sink is a capture that refuses every write (EIO), so the count
//! is the encoder and the write path, without a syscall.
//!
//! | case | what one record costs |
//! |---|---|
//! | `sync/4attr`, `sync/4attr_trace`, `sync/6attr`, `sync/6attr_trace` | a log record (the one of `benches/logs.rs`: event name, severity, body, 4 or 6 string attributes, optionally a trace context), sync mode |
//! | `queued/4attr`, `queued/6attr_trace` | the same in queued mode, the emitting thread only (the script counts the main thread) |
//! | `span/5attr` | a span with 5 attributes (an http server span), including cloning its `SpanData` (the SDK hands it over by value) |
//! | `span/clone` | cloning that `SpanData` only: subtract it from `span/5attr` |
//! | `floor/4attr`, `floor/6attr_trace` | the least work that writes our bytes for the record (see `common/floor_sequence.rs`): what our encoder costs above it is its generality and its write path |
//! | `peer/4attr`, `peer/6attr_trace` | the peer's (user-events-logs 0.18) field sequence for the same record on its own `eventheader_dynamic::EventBuilder`, build only |
//! | `metrics/point` | one data point of a 100-series export (see `common/metrics_points.rs`) |

use std::hint::black_box;

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::logs::LogProcessor;
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions, MAX_QUEUE_CAPACITY};
use otel_os_events::sink::{CaptureSink, Sink};

#[path = "common/record.rs"]
mod record;

#[path = "common/peer_sequence.rs"]
mod peer_sequence;

#[path = "common/floor_sequence.rs"]
mod floor_sequence;

#[path = "common/metrics_points.rs"]
mod metrics_points;

#[path = "../tests/common/metrics_driver.rs"]
mod metrics_driver;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`: nothing to do then (this is not a timed bench).
    let [case, records] = args.as_slice() else {
        eprintln!("usage: instructions <case> <records> (see benches/instructions.sh)");
        return;
    };
    let records: u64 = records.parse().expect("a record count");
    let (kind, shape) = case.split_once('/').expect("a case is <kind>/<shape>");
    let (attrs, trace) = match shape {
        "4attr" => (4, false),
        "4attr_trace" => (4, true),
        "6attr" => (6, false),
        "6attr_trace" => (6, true),
        _ => (0, false),
    };
    match kind {
        "sync" => logs(records, attrs, trace, Mode::Sync),
        "queued" => logs(records, attrs, trace, queued()),
        "peer" => peer(records, attrs, trace),
        "floor" => floor(records, attrs, trace),
        "span" => spans(records, shape == "clone"),
        "metrics" => metrics_points::run(records),
        other => panic!("unknown case kind {other}"),
    }
}

/// Large enough that the queue never fills during a run: the count is the caller's path.
fn queued() -> Mode {
    Mode::Queued(QueueOptions {
        capacity: MAX_QUEUE_CAPACITY,
        ..QueueOptions::default()
    })
}

fn capture() -> CaptureSink {
    let capture = CaptureSink::new();
    capture.fail_writes(Some(libc::EIO));
    capture
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("benchmark")
        .build()
}

fn logs(records: u64, attrs: usize, trace: bool, mode: Mode) {
    let mut processor = Processor::builder("bench_icount")
        .with_sink(Sink::Capture(capture()))
        .with_mode(mode)
        .build()
        .expect("processor");
    processor.set_resource(&resource());
    let scope = InstrumentationScope::default();
    let mut r = record::bench_record(attrs, trace);
    for i in 0..records {
        processor.emit(black_box(&mut r), &scope);
        // Queued: let the flush thread catch up now and then (under callgrind the threads
        // take turns), so that the caller works in steady state, on recycled buffers.
        if i % 128 == 127 {
            processor.force_flush().expect("flush");
        }
    }
    processor.force_flush().expect("flush");
    let stats = processor.stats();
    assert_eq!(stats.accepted, records, "every record was encoded");
}

fn peer(records: u64, attrs: usize, trace: bool) {
    let mut eb = eventheader_dynamic::EventBuilder::new();
    let r = record::bench_record(attrs, trace);
    for _ in 0..records {
        peer_sequence::build(&mut eb, black_box(&r));
        black_box(&eb);
    }
}

fn floor(records: u64, attrs: usize, trace: bool) {
    // Our bytes for the record, from a capture that keeps them.
    let capture = CaptureSink::new();
    let mut processor = Processor::builder("bench_icount")
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .expect("processor");
    processor.set_resource(&resource());
    let mut r = record::bench_record(attrs, trace);
    processor.emit(&mut r, &InstrumentationScope::default());
    let ours = capture.take().pop().expect("one event").payload;
    let mut floor = floor_sequence::Floor::new(&ours);
    floor.build(&r, "benchmark");
    assert_eq!(floor.out, ours, "the floor writes our bytes");
    for _ in 0..records {
        floor.build(black_box(&r), "benchmark");
        black_box(&floor.out);
    }
}

fn spans(records: u64, clone_only: bool) {
    let mut processor = otel_os_events::traces::Processor::builder("bench_icount")
        .with_sink(Sink::Capture(capture()))
        .build()
        .expect("processor");
    processor.set_resource(&resource());
    let span = http_span();
    for _ in 0..records {
        let span = black_box(&span).clone();
        if clone_only {
            black_box(span);
        } else {
            processor.on_end(span);
        }
    }
    if !clone_only {
        assert_eq!(
            processor.stats().accepted,
            records,
            "every span was encoded"
        );
    }
}

/// An http server span with 5 attributes, a parent and status Ok.
fn http_span() -> SpanData {
    let context = SpanContext::new(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
        SpanId::from(0xb7ad6b7169203331_u64),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let start = std::time::SystemTime::now();
    SpanData {
        span_context: context,
        parent_span_id: SpanId::from(0x00f067aa0ba902b7_u64),
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: "GET /checkout".into(),
        start_time: start,
        end_time: start + std::time::Duration::from_micros(1500),
        attributes: vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", "https://shop.example/checkout"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("server.address", "shop.example"),
            KeyValue::new("user_agent.original", "bench/1.0"),
        ],
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Ok,
        instrumentation_scope: InstrumentationScope::default(),
    }
}
