//! "No heap allocation per event" on a real user_events kernel (inside the VM): a counting
//! global allocator watches every thread while warmed-up processors emit, in both modes.
//! (Only one test in this binary, so no other test thread allocates meanwhile.)
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::kernel::tracefs_write;
use common::record;
use common::skip::kernel_or_skip;
use opentelemetry::logs::{AnyValue, LogRecord as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions};

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

fn records(provider: &SdkLoggerProvider, n: usize) -> Vec<SdkLogRecord> {
    (0..n)
        .map(|i| {
            let mut r = record(
                provider,
                Some(Severity::Info),
                Some(AnyValue::String("request served".into())),
                vec![
                    ("http.method", AnyValue::String("GET".into())),
                    ("http.status", AnyValue::Int(200)),
                    ("latency_ms", AnyValue::Double(1.5)),
                    ("seq", AnyValue::Int(i as i64)),
                ],
            );
            r.set_trace_context(
                TraceId::from(7u128),
                SpanId::from(9u64),
                Some(TraceFlags::SAMPLED),
            );
            r
        })
        .collect()
}

/// Allocations on every thread while `processor` emits 200 warm records.
///
/// Queued mode recycles buffers through a pool: a new buffer is made only when more events
/// are in flight than ever before. So the counted phase waits for each event to be written
/// before emitting the next (in flight: 1, never above the warm-up's peak), spinning on the
/// counters, which allocates nothing.
fn allocations_per_200(processor: &Processor, provider: &SdkLoggerProvider) -> u64 {
    let scope = InstrumentationScope::default();
    for mut r in records(provider, 200) {
        processor.emit(&mut r, &scope); // warm-up: thread buffer, pool, lazily built state
    }
    processor.force_flush().unwrap();
    let mut batch = records(provider, 200);
    common::alloc::start();
    for r in &mut batch {
        processor.emit(r, &scope);
        let stats = processor.stats();
        let done = |s: &otel_os_events::Stats| s.written + s.dropped_total() == s.accepted;
        let mut stats = stats;
        while !done(&stats) {
            std::thread::yield_now();
            stats = processor.stats();
        }
    }
    // The flush thread's own work after its last write, still counted.
    std::thread::sleep(Duration::from_millis(100));
    let allocations = common::alloc::stop();
    processor.force_flush().unwrap();
    allocations
}

#[test]
fn no_heap_allocation_per_event_in_either_mode() {
    if !kernel_or_skip("no_heap_allocation_per_event_in_either_mode") {
        return;
    }
    let provider = SdkLoggerProvider::builder().build();
    let sync = Processor::builder("kt_alloc_sync").build().unwrap();
    let queued = Processor::builder("kt_alloc_queued")
        .with_mode(Mode::Queued(QueueOptions::default()))
        .build()
        .unwrap();
    tracefs_write("events/user_events/kt_alloc_sync_L4K1/enable", "1");
    tracefs_write("events/user_events/kt_alloc_queued_L4K1/enable", "1");
    let sync_allocs = allocations_per_200(&sync, &provider);
    let queued_allocs = allocations_per_200(&queued, &provider);
    tracefs_write("events/user_events/kt_alloc_sync_L4K1/enable", "0");
    tracefs_write("events/user_events/kt_alloc_queued_L4K1/enable", "0");
    assert_eq!(sync.stats().written, 400);
    assert_eq!(queued.stats().written, 400);
    assert_eq!(
        (sync_allocs, queued_allocs),
        (0, 0),
        "allocations while emitting 200 events (sync, queued)"
    );
}
