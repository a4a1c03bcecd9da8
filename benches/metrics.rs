//! Metrics benchmarks: one export of 10, 1,000 and 10,000 counter series, this crate's
//! `metrics::Exporter` side by side with `opentelemetry-user-events-metrics` 0.14 (the peer),
//! same SDK (0.33), same `ResourceMetrics`, in one run. See BENCHMARKS.md for results.
//!
//! The series: `ceil(N / 1000)` u64 counters (`bench.requests.<k>`, at most 1,000 series
//! each, under the SDK's default cardinality limit) of one meter, each series with three
//! attributes (`http.route` = `/api/v1/items/<i>`, `http.request.method` = `GET`,
//! `http.response.status_code` = 200), collected with cumulative temporality so every
//! collection holds all N points.
//!
//! Both exporters are called directly with the SDK's own `ResourceMetrics`: a driver
//! exporter on a `PeriodicReader` receives each collection and runs the timed exports
//! inside its `export` call, so the SDK's collection is never timed. Groups (ids are
//! `group/export/who/N`):
//!
//! - `metrics_disabled`: nobody listens (the enable word is read, nothing else). Runs
//!   everywhere.
//! - `metrics_encode`: ours only, on any machine: a capture sink whose writes fail at once
//!   (EIO), so the cost is packing and encoding, no syscall.
//! - `metrics_enabled`: ftrace collection enabled on `otlp_metrics` (`echo 1 > …/enable`),
//!   which both exporters register: every event is encoded and written with `writev`. Needs
//!   a user_events kernel (the VM); skipped with a note elsewhere.
//!
//! Before the timed groups, each exporter's **writes per export** are counted, untimed:
//! in the VM by a perf session on `otlp_metrics` (the samples one export produces, decoded
//! as OTLP to count their data points; the reader's lost count must be 0) and, for ours,
//! also by `ExporterHandle::events_written`; on the host, for ours only, by a capture sink.
//! Heap allocations per export (all threads) are counted alongside.

use std::hint::black_box;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_user_events_metrics::MetricsExporter as PeerExporter;
#[cfg(target_os = "linux")]
use otel_os_events::listen::{PerfSession, SessionOptions};
use otel_os_events::metrics::{Exporter, ExporterHandle, TRACEPOINT_NAME};
use otel_os_events::sink::{CaptureSink, Sink};

#[path = "../tests/common/alloc.rs"]
mod alloc;
#[path = "../tests/common/metrics_driver.rs"]
mod metrics_driver;

use metrics_driver::{block_on, Driver};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// Series counts measured.
const SIZES: [usize; 3] = [10, 1_000, 10_000];
/// Series per counter (the SDK's default cardinality limit is 2,000).
const PER_INSTRUMENT: usize = 1_000;

/// A meter provider holding N series, and the driver that lends out its collections.
struct Series {
    n: usize,
    provider: SdkMeterProvider,
    driver: Driver,
}

impl Series {
    fn new(n: usize) -> Series {
        let driver = Driver::default();
        // Collections happen on `force_flush` only.
        let provider = driver.meter_provider();
        let meter = provider.meter("bench");
        for k in 0..n.div_ceil(PER_INSTRUMENT) {
            let counter = meter.u64_counter(format!("bench.requests.{k}")).build();
            for i in k * PER_INSTRUMENT..n.min((k + 1) * PER_INSTRUMENT) {
                counter.add(
                    i as u64 + 1,
                    &[
                        KeyValue::new("http.route", format!("/api/v1/items/{i}")),
                        KeyValue::new("http.request.method", "GET"),
                        KeyValue::new("http.response.status_code", 200),
                    ],
                );
            }
        }
        Series {
            n,
            provider,
            driver,
        }
    }

    /// Runs `f` on one collection of the series (on the reader's thread) and returns its
    /// result.
    fn with<R: Send + 'static>(
        &self,
        mut f: impl FnMut(&ResourceMetrics) -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = mpsc::channel();
        *self.driver.job.lock().unwrap() = Some(Box::new(move |m| {
            let _ = tx.send(f(m));
        }));
        // The reader gives up waiting after 5 s, but the job runs to the end regardless.
        let _ = self.provider.force_flush();
        rx.recv_timeout(Duration::from_secs(600))
            .expect("the collection ran the job")
    }
}

// ---- the exporters -----------------------------------------------------------------------

/// Ours, sync mode (the default), writing to user_events.
fn ours() -> (Arc<Exporter>, ExporterHandle) {
    let e = Exporter::builder().build().expect("our exporter");
    let h = e.handle();
    (Arc::new(e), h)
}

/// Ours into a capture sink; `fail`: every write fails at once (EIO).
fn ours_captured(fail: bool) -> (Arc<Exporter>, CaptureSink) {
    let capture = CaptureSink::new();
    if fail {
        capture.fail_writes(Some(libc::EIO));
    }
    let e = Exporter::builder()
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .expect("our exporter");
    (Arc::new(e), capture)
}

fn peer() -> Arc<PeerExporter> {
    Arc::new(PeerExporter::new())
}

fn on_kernel() -> bool {
    #[cfg(target_os = "linux")]
    let support = otel_os_events::listen::kernel_support().map_err(|e| e.to_string());
    #[cfg(not(target_os = "linux"))]
    let support: Result<(), String> = Err("user_events is Linux's".into());
    match support {
        Ok(()) => true,
        Err(e) => {
            println!(
                "NOTE: no user_events here ({e}): skipping metrics_enabled/* and the peer's \
                 write counts; run in the VM (see BENCHMARKS.md)"
            );
            false
        }
    }
}

fn set_ftrace(on: bool) {
    let path = format!("/sys/kernel/tracing/events/user_events/{TRACEPOINT_NAME}/enable");
    std::fs::write(&path, if on { "1" } else { "0" })
        .unwrap_or_else(|e| panic!("write {path}: {e}"));
}

// ---- writes per export (untimed) ---------------------------------------------------------

#[cfg(target_os = "linux")]
/// Data points in one `otlp_metrics` payload (perf raw data: u32 protocol, char[8] version,
/// `__rel_loc` u32, then the OTLP buffer; zero padding may follow).
fn points_in(raw: &[u8]) -> usize {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use prost::Message;

    let rel_loc = u32::from_ne_bytes(raw[12..16].try_into().unwrap());
    let (len, offset) = ((rel_loc >> 16) as usize, (rel_loc & 0xffff) as usize);
    let buffer = &raw[16 + offset..16 + offset + len];
    let request = ExportMetricsServiceRequest::decode(buffer).expect("an OTLP request");
    let mut points = 0;
    for rm in &request.resource_metrics {
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                points += match &m.data {
                    Some(Data::Sum(s)) => s.data_points.len(),
                    Some(Data::Gauge(g)) => g.data_points.len(),
                    Some(Data::Histogram(h)) => h.data_points.len(),
                    Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
                    Some(Data::Summary(s)) => s.data_points.len(),
                    None => 0,
                }
            }
        }
    }
    points
}

#[cfg(target_os = "linux")]
/// One export through `export` while a perf session reads `otlp_metrics`: (events, data
/// points in them, largest event's raw size). Panics if the session lost samples.
fn read_back(
    series: &Series,
    export: impl FnMut(&ResourceMetrics) + Send + 'static,
) -> (usize, usize, usize) {
    let options = SessionOptions {
        ring_data_pages: 2048,
        wakeup_events: 0,
        ..SessionOptions::default()
    };
    let mut session = PerfSession::open(&[TRACEPOINT_NAME], options).expect("perf session");
    series.with(export);
    let (mut events, mut points, mut largest) = (0, 0, 0);
    while session
        .read(Duration::from_millis(100), |e| {
            events += 1;
            points += points_in(&e.raw);
            largest = largest.max(e.raw.len());
        })
        .expect("read perf session")
        > 0
    {}
    assert_eq!(
        session.lost(),
        0,
        "the perf reader lost samples: counts would be short"
    );
    (events, points, largest)
}

/// Heap allocations (all threads) of one export, after one warm-up export.
fn allocs_of(series: &Series, mut export: impl FnMut(&ResourceMetrics) + Send + 'static) -> u64 {
    series.with(move |m| {
        export(m);
        alloc::start();
        export(m);
        alloc::stop()
    })
}

fn print_counts(kernel: bool) {
    let _ = kernel; // off Linux nothing reads the kernel back
    println!("WRITES per export (untimed; see the file's doc comment for the method):");
    for &n in &SIZES {
        let series = Series::new(n);
        // Ours into a capture: runs anywhere.
        let (e, capture) = ours_captured(false);
        let ex = e.clone();
        series.with(move |m| block_on(ex.export(m)).unwrap());
        let events = capture.take();
        let bytes = events.iter().map(|e| e.payload.len()).max().unwrap_or(0);
        println!(
            "  writes/export capture ours {n:>6} {:>6}  (largest event {bytes} bytes)",
            events.len()
        );
        let ex = e.clone();
        let allocs = allocs_of(&series, move |m| block_on(ex.export(m)).unwrap());
        println!("  allocs/export capture ours {n:>6} {allocs:>6}");
        #[cfg(target_os = "linux")]
        if kernel {
            kernel_counts(n, &series);
        }
    }
}

/// Writes per export read back through perf, ours and the peer's, and allocations with
/// ftrace collecting (the timed groups' setting).
#[cfg(target_os = "linux")]
fn kernel_counts(n: usize, series: &Series) {
    let (e, handle) = ours();
    let before = handle.events_written();
    let ex = e.clone();
    let (events, points, largest) = read_back(series, move |m| block_on(ex.export(m)).unwrap());
    let counted = handle.events_written() - before;
    println!(
        "  writes/export perf ours {n:>6} {events:>6}  (events_written {counted}, points {points}, largest sample {largest} bytes)"
    );
    assert_eq!(events as u64, counted, "perf and events_written disagree");
    assert_eq!(points, n, "ours: every series arrives once");
    let p = peer();
    let px = p.clone();
    let (events, points, largest) = read_back(series, move |m| block_on(px.export(m)).unwrap());
    println!(
        "  writes/export perf peer {n:>6} {events:>6}  (points {points}, largest sample {largest} bytes)"
    );
    assert_eq!(points, n, "peer: every series arrives once");
    // Allocations with ftrace collecting (the timed groups' setting).
    set_ftrace(true);
    let ex = e.clone();
    let ours_allocs = allocs_of(series, move |m| block_on(ex.export(m)).unwrap());
    let allocs = allocs_of(series, move |m| block_on(p.export(m)).unwrap());
    set_ftrace(false);
    println!("  allocs/export enabled ours {n:>6} {ours_allocs:>6}");
    println!("  allocs/export enabled peer {n:>6} {allocs:>6}");
}

// ---- timed groups ------------------------------------------------------------------------

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Few, short samples: one 10,000-series export of the peer takes a few hundred ms in the VM.
fn short<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    g
}

/// Times `iters` exports of one collection of `series`.
fn bench_export<E: PushMetricExporter>(g: &mut Group<'_>, id: &str, series: &Series, e: &Arc<E>) {
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let e = e.clone();
            series.with(move |m| {
                let start = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(block_on(e.export(black_box(m))));
                }
                start.elapsed()
            })
        })
    });
}

fn all(c: &mut Criterion) {
    // The peer's exporter unregisters its tracepoint from whichever thread drops it, and
    // the kernel only accepts that from a thread sharing the registering thread's
    // `user_event_mm` (see src/sink/registrar.rs); one dropped on a reader thread that is
    // older than its registration left the kernel writing into freed memory (the heap
    // corruption of issue 12). A registration on this thread before any other thread
    // starts gives every later thread the same `user_event_mm`.
    let _anchor = peer();
    let kernel = on_kernel();
    print_counts(kernel);
    let series: Vec<Series> = SIZES.iter().map(|&n| Series::new(n)).collect();

    let (o, _) = ours();
    let p = peer();
    let mut g = short(c, "metrics_disabled/export");
    for s in &series {
        bench_export(&mut g, &format!("ours/{}", s.n), s, &o);
        bench_export(&mut g, &format!("peer/{}", s.n), s, &p);
    }
    g.finish();

    let (enc, _) = ours_captured(true);
    let mut g = short(c, "metrics_encode/export");
    for s in &series {
        bench_export(&mut g, &format!("ours/{}", s.n), s, &enc);
    }
    g.finish();

    if !kernel {
        return;
    }
    set_ftrace(true);
    let mut g = short(c, "metrics_enabled/export");
    for s in &series {
        bench_export(&mut g, &format!("ours/{}", s.n), s, &o);
        bench_export(&mut g, &format!("peer/{}", s.n), s, &p);
    }
    g.finish();
    set_ftrace(false);
    let st = o.stats();
    println!(
        "NOTE: ours (enabled) wrote {} points, dropped {} ({:?})",
        st.written,
        st.dropped_total(),
        st.dropped
    );
}

criterion_group!(benches, all);
criterion_main!(benches);
