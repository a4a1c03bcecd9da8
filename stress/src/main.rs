//! Stress: N threads emit log records as fast as they can for a fixed time, in sync or queued
//! mode, with or without a listener, and print events/s per thread count as a table.
//!
//! ```text
//! cargo run -p stress --release -- [--threads 8] [--seconds 2] [--mode sync|queued]
//!                                  [--sink user-events|capture] [--listen]
//! ```
//!
//! Thread counts double from 1 up to `--threads`. With `--listen` (user_events only, on a
//! kernel that has them, e.g. inside `vm/run.sh`) a perf session reads every event back.
//! Exits non-zero if the processor's books do not balance (accepted = written + dropped), or
//! if the reader received more events than were written, or a different number without
//! reporting lost samples.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::listen::{PerfSession, SessionOptions};
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::sink::{CaptureSink, Sink};

struct Options {
    threads: usize,
    seconds: f64,
    queued: bool,
    capture: bool,
    listen: bool,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        threads: 4,
        seconds: 1.0,
        queued: false,
        capture: false,
        listen: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--threads" => o.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--seconds" => o.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--mode" => o.queued = matches!(value()?.as_str(), "queued"),
            "--sink" => o.capture = matches!(value()?.as_str(), "capture"),
            "--listen" => o.listen = true,
            "--bench" => {} // `cargo bench`-style runners pass it
            "--help" | "-h" => return Err("usage: stress [--threads N] [--seconds S] [--mode sync|queued] [--sink user-events|capture] [--listen]".into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.threads == 0 || o.seconds <= 0.0 {
        return Err("--threads and --seconds must be positive".into());
    }
    Ok(o)
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("stress: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "mode={} sink={} listener={}",
        if o.queued { "queued" } else { "sync" },
        if o.capture { "capture" } else { "user_events" },
        o.listen
    );
    println!(
        "{:>8} {:>14} {:>12} {:>12} {:>10} {:>10}",
        "threads", "events/s", "written", "dropped", "received", "lost"
    );
    let mut ok = true;
    let mut threads = 1;
    while threads <= o.threads {
        ok &= run(&o, threads);
        threads *= 2;
    }
    if !ok {
        eprintln!("stress: the books do not balance");
        std::process::exit(1);
    }
}

fn run(o: &Options, threads: usize) -> bool {
    let provider_name = format!("stress{threads}");
    let capture = CaptureSink::new();
    let mut builder = Processor::builder(&provider_name);
    if o.capture {
        builder = builder.with_sink(Sink::Capture(capture.clone()));
    }
    if o.queued {
        builder = builder.with_mode(Mode::Queued(QueueOptions {
            capacity: 65_536,
            ..QueueOptions::default()
        }));
    }
    let processor = Arc::new(builder.build().expect("build"));
    let tracepoint = format!("{provider_name}_L4K1");
    let session = (o.listen && !o.capture).then(|| {
        let options = SessionOptions {
            ring_data_pages: 1024,
            ..SessionOptions::default()
        };
        PerfSession::open(&[&tracepoint], options)
            .expect("open perf session (is this a user_events kernel?)")
    });
    let stop = Arc::new(AtomicBool::new(false));
    let reader = session.map(|mut s| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut received = 0u64;
            loop {
                let n = s.read(Duration::from_millis(50), |_| {}).unwrap_or(0);
                received += n as u64;
                if n == 0 && stop.load(Ordering::Relaxed) {
                    return (received, s.lost());
                }
            }
        })
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(o.seconds);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let p = processor.clone();
            std::thread::spawn(move || {
                let provider = SdkLoggerProvider::builder().build();
                let logger = provider.logger("stress");
                let scope = InstrumentationScope::default();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    for _ in 0..64 {
                        let mut r = logger.create_log_record();
                        r.set_severity_number(Severity::Info);
                        r.set_body(AnyValue::String("stress".into()));
                        r.add_attribute("thread", t as i64);
                        r.add_attribute("seq", n as i64);
                        p.emit(&mut r, &scope);
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let emitted: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let elapsed = start.elapsed().as_secs_f64();
    let _ = processor.shutdown();
    stop.store(true, Ordering::Relaxed);
    let (received, lost) = reader
        .map(|r| r.join().unwrap())
        .unwrap_or((capture.take().len() as u64, 0));
    let stats = processor.stats();
    println!(
        "{threads:>8} {:>14.0} {:>12} {:>12} {:>10} {:>10}",
        emitted as f64 / elapsed,
        stats.written,
        stats.dropped_total(),
        received,
        lost
    );
    let listened = o.listen || o.capture;
    let balanced = stats.accepted == stats.written + stats.dropped_total();
    let delivered =
        !listened || received == stats.written || (received + lost >= stats.written && lost > 0);
    if !balanced || !delivered {
        eprintln!("stress: {stats:?} emitted={emitted} received={received} lost={lost}");
    }
    balanced && delivered
}
