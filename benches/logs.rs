//! Logs benchmarks: this crate side by side with `opentelemetry-user-events-logs` 0.18 (the
//! peer), same SDK, same records, in one run. See BENCHMARKS.md for results and how to run.
//!
//! Groups (ids are `group/path/who/case`):
//!
//! - `disabled/*`: no listener. Through `tracing` (the appender bridge, as the peer's own
//!   bench does) and through the bare processor (`emit`, `event_enabled`). Runs everywhere.
//! - `encode/*`: ours only, on any machine: a capture sink whose writes fail at once, so the
//!   cost is the enabled check plus encoding into the thread's buffer (no syscall).
//! - `enabled_sync/*`: a session attached (ftrace `enable` = 1) to both providers'
//!   tracepoints, plus `writev_floor`: one bare `writev` of the same bytes to a third
//!   tracepoint. Needs a user_events kernel (the VM); skipped with a note elsewhere.
//! - `queued_caller/*`: ours in queued mode with a session attached: the caller's time only
//!   (emits timed in batches smaller than the queue; the flush between batches is not timed).
//!
//! - `paired` (`cargo bench --bench logs -- paired`, in the VM): enabled sync, the peer, the
//!   bare `writev`, the floor sequence and the queued caller timed in alternation, round by
//!   round, and their ratios taken within each round (`common/paired.rs`): TCG's drift,
//!   which moves criterion's rows by up to 2× against each other, cancels out.
//!
//! Before the criterion groups, each path's heap allocations per event are counted with a
//! counting global allocator (all threads) and printed. For queued mode the counted window
//! ends with a `force_flush` (so the flush thread's work is counted): its marker costs one
//! allocation per call, 0.005 per event over 200 events.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use opentelemetry::logs::Severity;
use opentelemetry::InstrumentationScope;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::Resource;
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::sink::{eventheader_name_args, CaptureSink, Sink};
use tracepoint::{EventDataDescriptor, TracepointState};
use tracing_subscriber::prelude::*;
use tracing_subscriber::Registry;

// ---- counting allocator ----------------------------------------------------------------

#[path = "../tests/common/alloc.rs"]
mod alloc;
#[path = "common/floor_sequence.rs"]
mod floor_sequence;
#[path = "common/paired.rs"]
mod paired;
#[path = "common/record.rs"]
mod record;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// Heap allocations per call of `f`, on every thread, after a warm-up. `settle` runs inside
/// the counted window after the calls (e.g. a queued processor's flush).
fn allocs_per_event(mut f: impl FnMut(), settle: impl Fn()) -> f64 {
    const N: u64 = 200;
    for _ in 0..N {
        f();
    }
    settle();
    alloc::start();
    for _ in 0..N {
        f();
    }
    settle();
    alloc::stop() as f64 / N as f64
}

// ---- setup -----------------------------------------------------------------------------

const OURS: &str = "bench_ours";
const PEER: &str = "bench_peer";
const QUEUED: &str = "bench_queued";
const FLOOR: &str = "bench_floor";
/// Error → level 2, keyword 1, for both crates.
const TP_SUFFIX: &str = "_L2K1";

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("benchmark")
        .build()
}

fn provider_with(processor: impl LogProcessor + 'static) -> SdkLoggerProvider {
    SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_log_processor(processor)
        .build()
}

fn ours(provider: &str) -> Processor {
    Processor::builder(provider).build().expect("our processor")
}

fn peer() -> opentelemetry_user_events_logs::Processor {
    opentelemetry_user_events_logs::Processor::builder(PEER)
        .build()
        .expect("peer processor")
}

/// A processor that has seen the resource, as inside a provider.
fn with_resource<P: LogProcessor>(mut p: P) -> P {
    p.set_resource(&resource());
    p
}

/// The records of the bare-processor benches: 4 or 6 string attributes, a body, severity
/// Error, and optionally a trace context (the shape of the `tracing` benches' events).
#[derive(Clone, Copy, Debug)]
struct Case {
    attrs: usize,
    trace: bool,
}

impl Case {
    const ALL: [Case; 4] = [
        Case {
            attrs: 4,
            trace: false,
        },
        Case {
            attrs: 4,
            trace: true,
        },
        Case {
            attrs: 6,
            trace: false,
        },
        Case {
            attrs: 6,
            trace: true,
        },
    ];

    fn name(self) -> String {
        format!(
            "{}attr{}",
            self.attrs,
            if self.trace { "_trace" } else { "" }
        )
    }

    fn record(self) -> SdkLogRecord {
        record::bench_record(self.attrs, self.trace)
    }
}

fn tracing_4() {
    tracing::error!(
        name: "CheckoutFailed",
        field1 = "field1",
        field2 = "field2",
        field3 = "field3",
        field4 = "field4",
        message = "Unable to process checkout."
    );
}

fn tracing_6() {
    tracing::error!(
        name: "CheckoutFailed",
        field1 = "field1",
        field2 = "field2",
        field3 = "field3",
        field4 = "field4",
        field5 = "field5",
        field6 = "field6",
        message = "Unable to process checkout."
    );
}

const TRACING: [(&str, fn()); 2] = [("4attr", tracing_4), ("6attr", tracing_6)];

/// Prints one allocation count.
fn report(label: &str, n: f64) {
    println!("  allocs/event {label:<48} {n:.3}");
}

/// Reports allocations per event of `group`, through `tracing` (into the providers) and
/// through fresh bare processors, ours and the peer's; returns those processors.
fn allocs_both_ways(
    group: &str,
    ours_p: &SdkLoggerProvider,
    peer_p: &SdkLoggerProvider,
    scope: &InstrumentationScope,
) -> (Processor, opentelemetry_user_events_logs::Processor) {
    for (name, f) in TRACING {
        for (who, provider) in [("ours", ours_p), ("peer", peer_p)] {
            let sub = subscriber(provider);
            let n = tracing::subscriber::with_default(sub, || allocs_per_event(f, || {}));
            report(&format!("{group}/tracing/{who}/{name}"), n);
        }
    }
    let ours_proc = with_resource(ours(OURS));
    let peer_proc = with_resource(peer());
    for case in Case::ALL {
        let mut r = case.record();
        let n = allocs_per_event(|| ours_proc.emit(&mut r, scope), || {});
        report(&format!("{group}/processor/ours/{}", case.name()), n);
        let n = allocs_per_event(|| peer_proc.emit(&mut r, scope), || {});
        report(&format!("{group}/processor/peer/{}", case.name()), n);
    }
    (ours_proc, peer_proc)
}

/// A `tracing` subscriber that sends events to `provider`.
fn subscriber(provider: &SdkLoggerProvider) -> impl tracing::Subscriber + Send + Sync {
    Registry::default().with(OpenTelemetryTracingBridge::new(provider))
}

/// Whether this system registers user_events tracepoints (a Linux kernel with
/// CONFIG_USER_EVENTS, and the permission), asked of the crate itself; the reason if not.
fn user_events() -> Result<(), String> {
    let probe = Processor::builder("bench_probe")
        .with_sink(Sink::UserEvents)
        .build()
        .map_err(|e| e.to_string())?;
    let status = probe.status()[0].status;
    if status.is_registered() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

fn on_kernel() -> bool {
    match user_events() {
        Ok(()) => true,
        Err(e) => {
            println!(
                "NOTE: no user_events here ({e}): skipping enabled_sync/* and queued_caller/*; \
                 run in the VM (see BENCHMARKS.md)"
            );
            false
        }
    }
}

fn set_enable(provider: &str, on: bool) {
    let path = format!("/sys/kernel/tracing/events/user_events/{provider}{TP_SUFFIX}/enable");
    std::fs::write(&path, if on { "1" } else { "0" })
        .unwrap_or_else(|e| panic!("write {path}: {e}"));
}

/// Our encoding of `record`: the payload the floor writes.
fn encoded(record: &mut SdkLogRecord) -> Vec<u8> {
    let capture = CaptureSink::new();
    let p = with_resource(
        Processor::builder(OURS)
            .with_sink(Sink::Capture(capture.clone()))
            .build()
            .unwrap(),
    );
    p.emit(record, &InstrumentationScope::default());
    capture.take().pop().expect("one captured event").payload
}

/// A tracepoint registered with the EventHeader fields, written with one bare `writev`.
struct Floor {
    state: std::pin::Pin<Box<TracepointState>>,
}

impl Floor {
    fn register() -> Floor {
        let state = Box::pin(TracepointState::new(0));
        let name_args = eventheader_name_args(&format!("{FLOOR}{TP_SUFFIX}")).unwrap();
        // SAFETY: `state` is pinned on the heap and lives in the returned value; its Drop
        // unregisters before the memory is freed. It is fresh, so not registered already.
        let errno = unsafe { state.as_ref().register(name_args.as_c_str()) };
        assert_eq!(errno, 0, "register the floor tracepoint");
        Floor { state }
    }

    fn write(&self, payload: &[u8]) -> i32 {
        let mut iov = [
            EventDataDescriptor::zero(),
            EventDataDescriptor::from_bytes(payload),
        ];
        self.state.write(&mut iov)
    }
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// A group with short runs, so the whole bench takes minutes even under emulation.
fn short<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300));
    g
}

/// Grows a queued processor's buffer pool the way the timed benches do (batches of 512,
/// flushed): the pool makes a buffer only when more events are in flight than ever before,
/// so a count taken before that would show pool growth, not a per-event cost.
fn warm_queue(p: &Processor, case: Case) {
    let scope = InstrumentationScope::default();
    let mut r = case.record();
    for _ in 0..4 {
        for _ in 0..512 {
            p.emit(&mut r, &scope);
        }
        p.force_flush().unwrap();
    }
}

// ---- allocations -----------------------------------------------------------------------

fn print_allocations(kernel: bool) {
    println!("ALLOCATIONS per event (all threads, after warm-up; 200 events each):");
    let scope = InstrumentationScope::default();

    // Disabled, through tracing and through the bare processor.
    let ours_p = provider_with(ours(OURS));
    let peer_p = provider_with(peer());
    let (ours_proc, peer_proc) = allocs_both_ways("disabled", &ours_p, &peer_p, &scope);

    // Encoding on any machine (capture sink whose writes fail).
    let capture = CaptureSink::new();
    capture.fail_writes(Some(libc::EIO));
    let enc = with_resource(
        Processor::builder("bench_encode")
            .with_sink(Sink::Capture(capture))
            .build()
            .unwrap(),
    );
    for case in Case::ALL {
        let mut r = case.record();
        let n = allocs_per_event(|| enc.emit(&mut r, &scope), || {});
        report(&format!("encode/processor/ours/{}", case.name()), n);
    }
    let capture = CaptureSink::new();
    capture.fail_writes(Some(libc::EIO));
    let enc_queued = queued("bench_encode_queued", Sink::Capture(capture));
    for case in Case::ALL {
        let mut r = case.record();
        warm_queue(&enc_queued, case);
        let n = allocs_per_event(
            || enc_queued.emit(&mut r, &scope),
            || enc_queued.force_flush().unwrap(),
        );
        report(&format!("encode/queued_caller/ours/{}", case.name()), n);
    }
    drop((ours_proc, peer_proc, enc, enc_queued));

    if !kernel {
        return;
    }
    set_enable(OURS, true);
    set_enable(PEER, true);
    let (ours_proc, peer_proc) = allocs_both_ways("enabled_sync", &ours_p, &peer_p, &scope);
    let written = ours_proc.stats().written;
    drop((ours_proc, peer_proc));
    set_enable(OURS, false);
    set_enable(PEER, false);
    println!("  (ours wrote {written} events while enabled: the write path, not an error path)");

    let queued = queued(QUEUED, Sink::UserEvents);
    set_enable(QUEUED, true);
    for case in Case::ALL {
        let mut r = case.record();
        warm_queue(&queued, case);
        let n = allocs_per_event(
            || queued.emit(&mut r, &scope),
            || queued.force_flush().unwrap(),
        );
        report(&format!("queued_caller/processor/ours/{}", case.name()), n);
    }
    set_enable(QUEUED, false);
    drop(queued);
    drop((ours_p, peer_p));
}

// ---- criterion groups ------------------------------------------------------------------

fn disabled(c: &mut Criterion) {
    let ours_p = provider_with(ours(OURS));
    let peer_p = provider_with(peer());
    {
        let mut g = short(c, "disabled/tracing");
        for (name, f) in TRACING {
            tracing::subscriber::with_default(subscriber(&ours_p), || {
                g.bench_function(format!("ours/{name}"), |b| b.iter(f));
            });
            tracing::subscriber::with_default(subscriber(&peer_p), || {
                g.bench_function(format!("peer/{name}"), |b| b.iter(f));
            });
        }
        g.finish();
    }
    let scope = InstrumentationScope::default();
    let ours_proc = with_resource(ours(OURS));
    let peer_proc = with_resource(peer());
    let mut g = short(c, "disabled/processor");
    for case in Case::ALL {
        let mut r = case.record();
        g.bench_function(format!("ours/{}", case.name()), |b| {
            b.iter(|| ours_proc.emit(black_box(&mut r), &scope))
        });
        g.bench_function(format!("peer/{}", case.name()), |b| {
            b.iter(|| peer_proc.emit(black_box(&mut r), &scope))
        });
    }
    g.bench_function("ours/event_enabled", |b| {
        b.iter(|| ours_proc.event_enabled(black_box(Severity::Error), "bench", None))
    });
    g.bench_function("peer/event_enabled", |b| {
        b.iter(|| peer_proc.event_enabled(black_box(Severity::Error), "bench", None))
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let capture = CaptureSink::new();
    capture.fail_writes(Some(libc::EIO));
    let enc = with_resource(
        Processor::builder("bench_encode")
            .with_sink(Sink::Capture(capture))
            .build()
            .unwrap(),
    );
    let scope = InstrumentationScope::default();
    let mut g = short(c, "encode/processor");
    for case in Case::ALL {
        let mut r = case.record();
        g.bench_function(format!("ours/{}", case.name()), |b| {
            b.iter(|| enc.emit(black_box(&mut r), &scope))
        });
    }
    g.finish();
}

fn enabled_sync(c: &mut Criterion) {
    if !on_kernel() {
        return;
    }
    let ours_p = provider_with(ours(OURS));
    let peer_p = provider_with(peer());
    let ours_proc = with_resource(ours(OURS));
    let peer_proc = with_resource(peer());
    let floor = Floor::register();
    set_enable(OURS, true);
    set_enable(PEER, true);
    set_enable(FLOOR, true);
    {
        let mut g = short(c, "enabled_sync/tracing");
        for (name, f) in TRACING {
            tracing::subscriber::with_default(subscriber(&ours_p), || {
                g.bench_function(format!("ours/{name}"), |b| b.iter(f));
            });
            tracing::subscriber::with_default(subscriber(&peer_p), || {
                g.bench_function(format!("peer/{name}"), |b| b.iter(f));
            });
        }
        g.finish();
    }
    let scope = InstrumentationScope::default();
    let mut g = short(c, "enabled_sync/processor");
    for case in Case::ALL {
        let mut r = case.record();
        g.bench_function(format!("ours/{}", case.name()), |b| {
            b.iter(|| ours_proc.emit(black_box(&mut r), &scope))
        });
        g.bench_function(format!("peer/{}", case.name()), |b| {
            b.iter(|| peer_proc.emit(black_box(&mut r), &scope))
        });
        let payload = encoded(&mut r);
        assert_eq!(floor.write(&payload), 0, "floor write");
        g.bench_function(format!("writev_floor/{}", case.name()), |b| {
            b.iter(|| floor.write(black_box(&payload)))
        });
        // The least work that builds our bytes (benches/common/floor_sequence.rs), then the
        // same bare `writev`: what any encoder of this layout, through this SDK, costs at
        // best on this machine.
        let mut sequence = floor_sequence::Floor::new(&payload);
        sequence.build(&r, "benchmark");
        assert_eq!(sequence.out, payload, "the floor sequence builds our bytes");
        g.bench_function(format!("floor_sequence/{}", case.name()), |b| {
            b.iter(|| {
                sequence.build(black_box(&r), "benchmark");
                floor.write(&sequence.out)
            })
        });
    }
    g.finish();
    set_enable(OURS, false);
    set_enable(PEER, false);
    set_enable(FLOOR, false);
    let s = ours_proc.stats();
    println!(
        "NOTE: ours (bare processor) wrote {} events, dropped {} ({:?})",
        s.written,
        s.dropped_total(),
        s.dropped
    );
}

/// Times `processor.emit` only, in batches well under the queue's capacity (no event is
/// dropped for a full queue); the flush between batches (the flush thread's work) is not
/// timed.
fn bench_queued(g: &mut Group<'_>, id: &str, processor: &Processor, case: Case) {
    const BATCH: u64 = 512;
    let scope = InstrumentationScope::default();
    let mut r = case.record();
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(BATCH);
                let start = Instant::now();
                for _ in 0..n {
                    processor.emit(black_box(&mut r), &scope);
                }
                timed += start.elapsed();
                processor.force_flush().unwrap();
                left -= n;
            }
            timed
        })
    });
}

/// A queued processor whose flush thread is named after `provider` (see [`flush_sleeps`]).
fn queued(provider: &str, sink: Sink) -> Processor {
    with_resource(
        Processor::builder(provider)
            .with_sink(sink)
            .with_mode(Mode::Queued(QueueOptions {
                thread_name: flush_thread_name(provider),
                ..QueueOptions::default()
            }))
            .build()
            .unwrap(),
    )
}

/// The flush thread's name for `provider`: Linux keeps 15 bytes of a thread's name.
fn flush_thread_name(provider: &str) -> String {
    let tail = &provider[provider.len().saturating_sub(13)..];
    format!("f-{tail}")
}

/// How many times the flush thread of `provider` has gone to sleep so far (its voluntary
/// context switches: each park is a futex wait, and each ends with one futex wake from a
/// producer, a flush or the idle timeout). `None` off Linux or if it is not found.
fn flush_sleeps(provider: &str) -> Option<u64> {
    let name = flush_thread_name(provider);
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if comm.trim() == name {
            let status = std::fs::read_to_string(dir.join("status")).ok()?;
            return status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok());
        }
    }
    None
}

/// Prints the queue's counters and the flush thread's sleeps (each ends with a futex wake)
/// per 10k events since `before` (the stats and sleeps before the timed group).
fn print_queue_stats(what: &str, provider: &str, p: &Processor, before: (u64, Option<u64>)) {
    let s = p.stats();
    println!(
        "NOTE: {what}: accepted {}, written {}, dropped {} ({:?}), queue high water {}",
        s.accepted,
        s.written,
        s.dropped_total(),
        s.dropped,
        s.queue_high_water
    );
    if let (Some(was), Some(now)) = (before.1, flush_sleeps(provider)) {
        let events = s.accepted - before.0;
        println!(
            "NOTE: {what}: the flush thread slept {} times over {events} events: {:.2} futex wakes per 10k events",
            now - was,
            (now - was) as f64 * 10_000.0 / events.max(1) as f64
        );
    }
}

/// Queued mode's caller side on any machine: a capture sink whose writes fail at once, so
/// the flush thread's work is tiny and the caller's cost is encode + push + wake-up.
fn encode_queued(c: &mut Criterion) {
    let capture = CaptureSink::new();
    capture.fail_writes(Some(libc::EIO));
    const PROVIDER: &str = "bench_encode_queued";
    let processor = queued(PROVIDER, Sink::Capture(capture));
    let before = (processor.stats().accepted, flush_sleeps(PROVIDER));
    let mut g = short(c, "encode/queued_caller");
    for case in Case::ALL {
        bench_queued(&mut g, &format!("ours/{}", case.name()), &processor, case);
    }
    g.finish();
    print_queue_stats(
        "encode/queued_caller (writes fail on purpose)",
        PROVIDER,
        &processor,
        before,
    );
}

fn queued_caller(c: &mut Criterion) {
    if !on_kernel() {
        return;
    }
    let processor = queued(QUEUED, Sink::UserEvents);
    set_enable(QUEUED, true);
    let before = (processor.stats().accepted, flush_sleeps(QUEUED));
    let mut g = short(c, "queued_caller/processor");
    for case in Case::ALL {
        bench_queued(&mut g, &format!("ours/{}", case.name()), &processor, case);
    }
    g.finish();
    set_enable(QUEUED, false);
    print_queue_stats("queued_caller", QUEUED, &processor, before);
}

/// `n` calls of `p.emit(record)`, timed.
fn time_emits(
    p: &dyn LogProcessor,
    record: &mut SdkLogRecord,
    scope: &InstrumentationScope,
    n: u64,
) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        p.emit(black_box(record), scope);
    }
    start.elapsed()
}

/// Enabled sync (ours, the peer), the bare `writev`, the floor sequence and the queued
/// caller, timed in paired rounds (see `common/paired.rs`), and their ratios per case as
/// a table: the ratio goals of BENCHMARKS.md, measured so that TCG's drift cancels out.
fn paired_ratios(rounds: usize, batch: u64) {
    assert!(
        batch <= 512,
        "a queued batch must fit the queue (no drop for a full queue)"
    );
    let ours_proc = with_resource(ours(OURS));
    let peer_proc = with_resource(peer());
    let queued_proc = queued(QUEUED, Sink::UserEvents);
    let floor = Floor::register();
    for provider in [OURS, PEER, FLOOR, QUEUED] {
        set_enable(provider, true);
    }
    println!(
        "paired rounds: {rounds} rounds of {batch} calls each; median (quartiles) of the per-round ratios"
    );
    println!(
        "| case | ours | ours ÷ peer | ours ÷ writev | sequence ÷ writev | sequence ÷ peer \
         | queued ÷ peer | queued ÷ ours |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let scope = InstrumentationScope::default();
    for case in Case::ALL {
        let r = std::cell::RefCell::new(case.record());
        let payload = encoded(&mut r.borrow_mut());
        let mut sequence = floor_sequence::Floor::new(&payload);
        let scope = &scope;
        let (r, payload, floor) = (&r, &payload, &floor);
        let (ours_proc, peer_proc, queued_proc) = (&ours_proc, &peer_proc, &queued_proc);
        let mut contenders: [paired::Contender<'_>; 5] = [
            // 0: ours, sync; 1: the peer.
            Box::new(|n| time_emits(ours_proc, &mut r.borrow_mut(), scope, n)),
            Box::new(|n| time_emits(peer_proc, &mut r.borrow_mut(), scope, n)),
            // 2: the bare `writev` of our bytes.
            Box::new(|n| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(floor.write(black_box(payload)));
                }
                start.elapsed()
            }),
            // 3: the floor sequence: build our bytes the cheapest way, then that `writev`.
            Box::new(|n| {
                let r = r.borrow();
                let start = Instant::now();
                for _ in 0..n {
                    sequence.build(black_box(&r), "benchmark");
                    black_box(floor.write(&sequence.out));
                }
                start.elapsed()
            }),
            // 4: ours, queued: a batch under the queue's capacity; its flush is not timed.
            Box::new(|n| {
                let t = time_emits(queued_proc, &mut r.borrow_mut(), scope, n);
                queued_proc.force_flush().unwrap();
                t
            }),
        ];
        let t = paired::rounds(&mut contenders, rounds, batch);
        let (ours_i, peer_i, writev_i, sequence_i, queued_i) = (0, 1, 2, 3, 4);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            case.name(),
            paired::median_time(&t, ours_i),
            paired::ratio(&t, ours_i, peer_i),
            paired::ratio(&t, ours_i, writev_i),
            paired::ratio(&t, sequence_i, writev_i),
            paired::ratio(&t, sequence_i, peer_i),
            paired::ratio(&t, queued_i, peer_i),
            paired::ratio(&t, queued_i, ours_i),
        );
    }
    for provider in [OURS, PEER, FLOOR, QUEUED] {
        set_enable(provider, false);
    }
    let (o, q) = (ours_proc.stats(), queued_proc.stats());
    println!(
        "NOTE: paired rounds: ours wrote {}, dropped {}; queued wrote {}, dropped {}",
        o.written,
        o.dropped_total(),
        q.written,
        q.dropped_total()
    );
}

fn all(c: &mut Criterion) {
    let kernel = user_events().is_ok();
    // `cargo bench --bench logs -- paired`: the paired rounds only (criterion's filter then
    // matches none of its own benches). In criterion's test mode (no `--bench`, as
    // `cargo test --benches` runs it) they run too, briefly.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench_mode = args.iter().any(|a| a == "--bench");
    if kernel && args.iter().any(|a| a == "paired") {
        paired_ratios(150, 400);
    } else if kernel && !bench_mode {
        paired_ratios(2, 2);
    }
    print_allocations(kernel);
    disabled(c);
    encode(c);
    encode_queued(c);
    enabled_sync(c);
    queued_caller(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
