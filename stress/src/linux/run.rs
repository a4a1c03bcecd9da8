//! One configuration: a processor, N emitting threads, and optionally a listener that reads
//! every event back and keeps the books.

use std::sync::atomic::{AtomicBool, Ordering};
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
use super::options::{Length, ModeArg, Options, Sizes, LARGE_BODY};
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
    /// Whether a session attached and detached all along (`--storm`).
    pub storm: bool,
    /// user_events storm: the events ftrace's ring recorded (entries plus overwritten),
    /// summed over the CPUs.
    pub ftrace_recorded: Option<u64>,
    /// Queued mode: resident anonymous memory (heap), in bytes, before the first emit and
    /// once everything was written (before shutdown).
    pub rss: Option<(u64, u64)>,
    /// Queued mode: the byte budget in force.
    pub max_bytes: Option<usize>,
    /// Queued mode: the queue's two fixed arrays, about 56 bytes per unit of capacity (40
    /// per queue slot, 16 per pool slot), which the budget does not cover.
    pub fixed_bytes: u64,
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
    let storm = o.storm.filter(|_| listen);
    // A provider per configuration, so no configuration sees another's events.
    let provider_name = format!(
        "stress_{mode}_{}_{threads}",
        match (listen, storm) {
            (false, _) => "off",
            (true, None) => "on",
            (true, Some(_)) => "storm",
        }
    );
    let capture = CaptureSink::new();
    capture.set_listening_all(listen);
    let mut builder = Processor::builder(&provider_name);
    if o.capture {
        builder = builder.with_sink(Sink::Capture(capture.clone()));
    }
    let max_bytes =
        (mode == ModeArg::Queued).then(|| o.max_bytes.unwrap_or(QueueOptions::default().max_bytes));
    if let Some(max_bytes) = max_bytes {
        builder = builder.with_mode(Mode::Queued(QueueOptions {
            capacity: o.capacity,
            max_bytes,
            ..QueueOptions::default()
        }));
    }
    let processor = Arc::new(
        builder
            .build()
            .unwrap_or_else(|e| fail(&format!("build: {e}"))),
    );
    let tracepoint = format!("{provider_name}_L4K1");
    // A storm on user_events listens with ftrace, whose `enable` flips the enable bit (an
    // open perf session would hold it set), and counts from ftrace's ring statistics.
    let reader = (listen && !o.capture && storm.is_none())
        .then(|| Reader::start(&tracepoint, threads, o.ring_pages).unwrap_or_else(|e| fail(&e)));
    if storm.is_some() && !o.capture {
        ftrace::prepare().unwrap_or_else(|e| fail(&e));
    }
    // The sentinels' writer: a second, sync, registration of the same tracepoint.
    let sentinel = reader.as_ref().map(|_| {
        Arc::new(
            Processor::builder(&provider_name)
                .build()
                .unwrap_or_else(|e| fail(&format!("build the sentinel processor: {e}"))),
        )
    });
    let barrier = Arc::new(Barrier::new(threads + 1));
    let (length, sizes) = (o.length, o.sizes);
    // The capture keeps every event in memory: the heap says nothing about the queue then.
    let rss_rest = max_bytes.filter(|_| !o.capture).and_then(|_| rss_anon());
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let p = processor.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || emit(&p, t, length, sizes, &barrier))
        })
        .collect();
    let toggler = storm.map(|period| {
        let stop = Arc::new(AtomicBool::new(false));
        let (stopping, capture, tracepoint, ftrace) = (
            stop.clone(),
            capture.clone(),
            tracepoint.clone(),
            !o.capture,
        );
        let thread = std::thread::spawn(move || {
            let mut on = true;
            let mut toggles = 0u64;
            while !stopping.load(Ordering::Relaxed) {
                if ftrace {
                    ftrace::enable(&tracepoint, on).unwrap_or_else(|e| fail(&e));
                } else {
                    capture.set_listening_all(on);
                }
                toggles += 1;
                on = !on;
                std::thread::sleep(period);
            }
            toggles
        });
        (stop, thread)
    });
    barrier.wait();
    let start = Instant::now();
    let emitted: Vec<u64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let elapsed = start.elapsed();
    if let Some((stop, thread)) = toggler {
        stop.store(true, Ordering::Relaxed);
        let toggles = thread.join().unwrap();
        println!("stress: the session attached and detached {toggles} times in all");
        if !o.capture {
            // What is still queued is counted as no listener by the time of its write.
            ftrace::enable(&tracepoint, false).unwrap_or_else(|e| fail(&e));
        }
    }
    let rss = rss_rest.and_then(|rest| {
        let _ = processor.force_flush();
        rss_anon().map(|end| (rest, end))
    });
    // Queued mode: writes what is still queued (within the shutdown deadline).
    let _ = processor.shutdown();
    let stats = processor.stats();
    let ftrace_recorded =
        (storm.is_some() && !o.capture).then(|| ftrace::recorded().unwrap_or_else(|e| fail(&e)));

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
        storm: storm.is_some(),
        ftrace_recorded,
        rss,
        max_bytes,
        fixed_bytes: 56 * o.capacity as u64,
    }
}

/// The resident anonymous memory of this process (its heap, not the perf rings), in bytes.
fn rss_anon() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// ftrace as the storm's session: its `enable` file, and its ring's statistics.
mod ftrace {
    const ROOT: &str = "/sys/kernel/tracing";

    /// A ring large enough for the run (16 MiB per CPU), emptied (which also zeroes its
    /// statistics).
    pub fn prepare() -> Result<(), String> {
        write("buffer_size_kb", "16384")?;
        write("trace", "")
    }

    /// Attaches (`on`) or detaches ftrace from `tracepoint`.
    pub fn enable(tracepoint: &str, on: bool) -> Result<(), String> {
        write(
            &format!("events/user_events/{tracepoint}/enable"),
            if on { "1" } else { "0" },
        )
    }

    /// Events the ring recorded since [`prepare`]: every CPU's `entries` plus `overrun`
    /// (overwritten when the ring was full).
    pub fn recorded() -> Result<u64, String> {
        let mut total = 0;
        let cpus = std::fs::read_dir(format!("{ROOT}/per_cpu"))
            .map_err(|e| format!("read {ROOT}/per_cpu: {e}"))?;
        for cpu in cpus {
            let path = cpu.map_err(|e| e.to_string())?.path().join("stats");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("read {}: {e}", path.display()))?;
            for line in text.lines() {
                if let Some(n) = line
                    .strip_prefix("entries:")
                    .or_else(|| line.strip_prefix("overrun:"))
                {
                    total += n
                        .trim()
                        .parse::<u64>()
                        .map_err(|e| format!("{line}: {e}"))?;
                }
            }
        }
        Ok(total)
    }

    fn write(file: &str, value: &str) -> Result<(), String> {
        let path = format!("{ROOT}/{file}");
        std::fs::write(&path, value).map_err(|e| format!("write {path}: {e}"))
    }
}

/// One emitting thread: records carry the thread's index and a sequence number from 0, and
/// a body of the size `sizes` says.
fn emit(p: &Processor, thread: usize, length: Length, sizes: Sizes, barrier: &Barrier) -> u64 {
    let small = AnyValue::String("stress".into());
    // Shared, so that a clone per event copies no body.
    let large = |len: usize| AnyValue::String(Arc::<str>::from("x".repeat(len)).into());
    let (hundred, big) = (large(100), large(LARGE_BODY));
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
        r.set_body(match sizes.body_len(n) {
            None => small.clone(),
            Some(100) => hundred.clone(),
            Some(_) => big.clone(),
        });
        r.add_attribute(THREAD_KEY, thread as i64);
        r.add_attribute(SEQ_KEY, n as i64);
        p.emit(&mut r, &scope);
        n += 1;
    }
    n
}
