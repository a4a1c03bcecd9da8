//! The tool itself (Linux: its listener is a perf ring-buffer reader, and the sentinels pin
//! threads to CPUs).

mod books;
mod check;
mod decode;
mod options;
mod reader;
mod run;

use check::problems;
use run::{run, Config, Outcome};

/// Runs the configurations the arguments ask for; exits 1 if any book does not balance.
pub(crate) fn main() {
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
