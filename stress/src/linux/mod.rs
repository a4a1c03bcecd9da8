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
        "stress: sink {}, {length}, queue capacity {}, perf ring {} pages per CPU, {} CPUs, bodies {}{}{}",
        if o.capture { "capture" } else { "user_events" },
        o.capacity,
        o.ring_pages,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        o.sizes,
        o.max_bytes
            .map_or(String::new(), |b| format!(", queue byte budget {b}")),
        o.storm.map_or(String::new(), |d| format!(
            ", listener storm: attach/detach every {} µs",
            d.as_micros()
        )),
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
                match (c.listen, o.storm) {
                    (false, _) => "off",
                    (true, None) => "on",
                    (true, Some(_)) => "storm",
                }
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
        "| mode | listener | threads | events/s | emitted | unlistened | written | dropped | received | lost | missing | books |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
}

/// One row: events/s is the emitting threads' rate (all threads' emits over the wall time);
/// `unlistened` the events emitted while nobody listened (a storm; without a listener, all
/// of them), which the processor never took on; `missing` is the number of sequence numbers
/// that never arrived (dropped + lost + unlistened when the books balance); without a
/// reader its columns are `-` (a user_events storm: `received` is what ftrace recorded).
/// Then, for queued runs, the heap at rest and at the end, and the drops by reason.
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
        None => (
            o.ftrace_recorded
                .map_or("-".into(), |n| format!("{n} (ftrace)")),
            "-".into(),
            "-".into(),
        ),
    };
    println!(
        "| {} | {} | {} | {:.0} | {emitted} | {} | {} | {} | {received} | {lost} | {missing} | {} |",
        o.config.mode,
        match (o.config.listen, o.storm) {
            (false, _) => "off",
            (true, false) => "on",
            (true, true) => "storm",
        },
        o.config.threads,
        rate,
        emitted.saturating_sub(o.stats.accepted),
        o.stats.written,
        o.stats.dropped_total(),
        if balanced { "ok" } else { "FAIL" },
    );
    if let (Some((rest, end)), Some(budget)) = (o.rss, o.max_bytes) {
        println!(
            "|   | heap at rest {:.1} MiB, at the end {:.1} MiB (limit 2 × rest + budget {:.1} MiB + arrays {:.1} MiB = {:.1} MiB); queue high water {} |",
            mib(rest),
            mib(end),
            mib(budget as u64),
            mib(o.fixed_bytes),
            mib(2 * rest + budget as u64 + o.fixed_bytes),
            o.stats.queue_high_water,
        );
    }
    if !o.stats.dropped.is_empty() {
        let reasons: Vec<String> = (o.stats.dropped.iter())
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        println!("|   | dropped: {} |", reasons.join(", "));
    }
    if let (Some(recorded), true) = (o.ftrace_recorded, o.storm) {
        println!(
            "|   | written {} − ftrace recorded {recorded} = {} vanished in the kernel (writes that passed its enabled check as ftrace detached) |",
            o.stats.written,
            o.stats.written.saturating_sub(recorded)
        );
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}
