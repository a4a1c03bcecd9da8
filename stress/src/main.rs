//! Stress: N threads (1, 2, 4, … up to `--threads`) emit log records as fast as they can for
//! a fixed time (`--seconds`) or count per thread (`--count`), in sync or queued mode, with
//! or without a listener, and print one table row per configuration.
//!
//! ```text
//! stress [--threads 4] [--seconds 1 | --count N] [--mode sync|queued|sync,queued]
//!        [--listen | --listener off|on|both] [--sink user-events|capture]
//!        [--capacity 65536] [--ring-pages 2048]
//! ```
//!
//! Every record carries two integer attributes: `stress_thread` (the thread's index) and
//! `stress_seq` (0, 1, 2, … per thread). With a listener (`--listen`; user_events needs a
//! kernel that has them, e.g. inside `vm/run.sh`) a perf ring-buffer reader
//! ([`otel_os_events::listen::PerfSession`], `--ring-pages` data pages per CPU) reads every
//! event back, decodes it with `tracepoint_decode` and keeps the books per thread. With
//! `--sink capture` (any machine) the in-memory capture is read back the same way.
//!
//! The run exits with status 1 if the books do not balance in any configuration:
//!
//! - processor: `accepted = written + dropped`, and with a listener `accepted = emitted`;
//! - sync mode: nothing dropped, `received + lost = emitted`;
//! - queued mode: `received + dropped + lost = emitted` (a full queue drops and counts);
//! - per thread: no duplicate sequence number; within each CPU ring a thread's numbers
//!   increase; the numbers that never arrived add up to exactly `dropped + lost`, where
//!   `lost` is the perf reader's own count of samples the kernel lost.
//!
//! The short run CI makes inside the VM (`vm/test.sh`), once per mode:
//!
//! ```text
//! vm/run.sh target/release/stress --threads 2 --seconds 1 --mode sync --listen
//! vm/run.sh target/release/stress --threads 2 --seconds 1 --mode queued --listen
//! ```
//!
//! The long run (see BENCHMARKS.md):
//!
//! ```text
//! vm/run.sh target/release/stress --threads 8 --seconds 10 --mode sync,queued --listener both
//! ```

mod books;
mod check;
mod decode;
mod options;
mod reader;
mod run;

use check::problems;
use run::{run, Config, Outcome};

fn main() {
    let o = match options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("stress: {e}");
            std::process::exit(2);
        }
    };
    let length = match o.length {
        options::Length::Seconds(s) => format!("{s} s per configuration"),
        options::Length::Count(n) => format!("{n} events per thread"),
    };
    println!(
        "stress: sink {}, {length}, queue capacity {}, perf ring {} pages per CPU, {} CPUs",
        if o.capture { "capture" } else { "user_events" },
        o.capacity,
        o.ring_pages,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    print_header();
    let mut failed = Vec::new();
    for &mode in &o.modes {
        for &listen in &o.listeners {
            for threads in o.thread_counts() {
                let outcome = run(
                    &o,
                    Config {
                        threads,
                        mode,
                        listen,
                    },
                );
                let problems = problems(&outcome);
                print_row(&outcome, problems.is_empty());
                if !problems.is_empty() {
                    failed.push((outcome.config, problems));
                }
            }
        }
    }
    if !failed.is_empty() {
        for (c, problems) in &failed {
            eprintln!(
                "stress: the books do not balance: {} threads, {}, listener {}:",
                c.threads,
                c.mode,
                if c.listen { "on" } else { "off" }
            );
            for p in problems {
                eprintln!("  - {p}");
            }
        }
        std::process::exit(1);
    }
}

/// The table's columns: see [`print_row`].
fn print_header() {
    println!(
        "| mode | listener | threads | events/s | emitted | written | dropped | received | lost | missing | books |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
}

/// One row: events/s is the emitting threads' rate (all threads' emits over the wall time);
/// `missing` is the number of sequence numbers that never arrived (dropped + lost when the
/// books balance); without a listener the reader's columns are `-`.
fn print_row(o: &Outcome, balanced: bool) {
    let emitted = o.total_emitted();
    let rate = emitted as f64 / o.elapsed.as_secs_f64();
    let (received, lost, missing) = match &o.books {
        Some(b) => {
            let missing: u64 = (o.emitted.iter().enumerate())
                .map(|(t, &n)| b.missing(t, n).0)
                .sum();
            (
                b.received.to_string(),
                o.lost.to_string(),
                missing.to_string(),
            )
        }
        None => ("-".into(), "-".into(), "-".into()),
    };
    println!(
        "| {} | {} | {} | {:.0} | {emitted} | {} | {} | {received} | {lost} | {missing} | {} |",
        o.config.mode,
        if o.config.listen { "on" } else { "off" },
        o.config.threads,
        rate,
        o.stats.written,
        o.stats.dropped_total(),
        if balanced { "ok" } else { "FAIL" },
    );
}
