//! One configuration: a processor, N emitting threads, and optionally a listener that reads
//! every event back and keeps the books.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::sink::{CaptureSink, Sink};
use otel_os_events::Stats;
use tracepoint_decode::EventHeaderEnumeratorContext;

use super::books::Books;
use super::decode::{decode, SEQ_KEY, THREAD_KEY};
use super::options::{Length, ModeArg, Options};
use super::reader::{Read, Reader};

/// One row of the table: a thread count, a mode, a listener setting.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Emitting threads.
    pub threads: usize,
    /// Sync or queued.
    pub mode: ModeArg,
    /// Whether a listener is attached (a perf reader, or the capture).
    pub listen: bool,
}

/// What one configuration did.
pub struct Outcome {
    /// The configuration.
    pub config: Config,
    /// Events each thread emitted (called `emit` for), by thread index.
    pub emitted: Vec<u64>,
    /// From the first emit to the last thread's last emit returning.
    pub elapsed: Duration,
    /// The processor's counters after shutdown.
    pub stats: Stats,
    /// The listener's books (None without a listener).
    pub books: Option<Books>,
    /// Samples the perf reader reported lost (0 for the capture).
    pub lost: u64,
    /// Records the perf reader skipped (unknown or corrupt).
    pub skipped: u64,
    /// CPUs whose sentinel the perf reader never saw, so `lost` may be short.
    pub no_sentinel: Vec<u32>,
}

impl Outcome {
    /// Events emitted by all threads.
    pub fn total_emitted(&self) -> u64 {
        self.emitted.iter().sum()
    }
}

fn fail(message: &str) -> ! {
    eprintln!("stress: {message}");
    std::process::exit(2)
}

/// Runs one configuration to the end and returns what happened.
pub fn run(o: &Options, config: Config) -> Outcome {
    let Config {
        threads,
        mode,
        listen,
    } = config;
    // A provider per configuration, so no configuration sees another's events.
    let provider_name = format!(
        "stress_{mode}_{}_{threads}",
        if listen { "on" } else { "off" }
    );
    let capture = CaptureSink::new();
    capture.set_listening_all(listen);
    let mut builder = Processor::builder(&provider_name);
    if o.capture {
        builder = builder.with_sink(Sink::Capture(capture.clone()));
    }
    if mode == ModeArg::Queued {
        builder = builder.with_mode(Mode::Queued(QueueOptions {
            capacity: o.capacity,
            ..QueueOptions::default()
        }));
    }
    let processor = Arc::new(
        builder
            .build()
            .unwrap_or_else(|e| fail(&format!("build: {e}"))),
    );
    let tracepoint = format!("{provider_name}_L4K1");
    let reader = (listen && !o.capture)
        .then(|| Reader::start(&tracepoint, threads, o.ring_pages).unwrap_or_else(|e| fail(&e)));
    // The sentinels' writer: a second, sync, registration of the same tracepoint.
    let sentinel = reader.as_ref().map(|_| {
        Arc::new(
            Processor::builder(&provider_name)
                .build()
                .unwrap_or_else(|e| fail(&format!("build the sentinel processor: {e}"))),
        )
    });
    let barrier = Arc::new(Barrier::new(threads + 1));
    let length = o.length;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let p = processor.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || emit(&p, t, length, &barrier))
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let emitted: Vec<u64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let elapsed = start.elapsed();
    // Queued mode: writes what is still queued (within the shutdown deadline).
    let _ = processor.shutdown();
    let stats = processor.stats();

    let read = match (reader, sentinel) {
        (Some(reader), Some(sentinel)) => {
            Some(reader.finish(&sentinel).unwrap_or_else(|e| fail(&e)))
        }
        _ if o.capture && listen => {
            let mut books = Books::new(threads);
            let mut ctx = EventHeaderEnumeratorContext::new();
            for e in capture.take() {
                books.record(0, decode(&mut ctx, &e.tracepoint, &e.payload).origin());
            }
            Some(Read {
                books,
                lost: 0,
                skipped: 0,
                no_sentinel: Vec::new(),
            })
        }
        _ => None,
    };
    let (books, lost, skipped, no_sentinel) = match read {
        Some(r) => (Some(r.books), r.lost, r.skipped, r.no_sentinel),
        None => (None, 0, 0, Vec::new()),
    };
    Outcome {
        config,
        emitted,
        elapsed,
        stats,
        books,
        lost,
        skipped,
        no_sentinel,
    }
}

/// One emitting thread: records carry the thread's index and a sequence number from 0.
fn emit(p: &Processor, thread: usize, length: Length, barrier: &Barrier) -> u64 {
    let provider = SdkLoggerProvider::builder().build();
    let logger = provider.logger("stress");
    let scope = InstrumentationScope::default();
    barrier.wait();
    let (deadline, count) = match length {
        Length::Seconds(s) => (Some(Instant::now() + Duration::from_secs_f64(s)), u64::MAX),
        Length::Count(n) => (None, n),
    };
    let mut n = 0u64;
    while n < count {
        // Look at the clock every 64 events only.
        if n & 63 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let mut r = logger.create_log_record();
        r.set_severity_number(Severity::Info);
        r.set_body(AnyValue::String("stress".into()));
        r.add_attribute(THREAD_KEY, thread as i64);
        r.add_attribute(SEQ_KEY, n as i64);
        p.emit(&mut r, &scope);
        n += 1;
    }
    n
}
