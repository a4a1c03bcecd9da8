//! What one cache line costs to move between this machine's two cores: the price the queued
//! caller pays, per line, whenever the flush thread on the other core has touched a line
//! it writes next (a queue slot, a pooled buffer). Two threads take turns on one atomic
//! word: each waits for the other's value, then writes its own, so every turn moves the
//! line across once. The time per turn is one transfer and the work around it.
//!
//!     cargo bench --bench line_transfer
//!
//! It prints the time per transfer over several runs (run it on an idle machine: the two
//! threads must each have a core). BENCHMARKS.md uses it to read the queued caller's
//! host numbers.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// Turns per run; 2 × TURNS transfers.
const TURNS: u64 = 200_000;
const RUNS: usize = 5;

fn one_run(turns: u64) -> f64 {
    let word = Arc::new(AtomicU64::new(0));
    let other = {
        let word = Arc::clone(&word);
        thread::spawn(move || {
            for turn in 0..turns {
                while word.load(Ordering::Acquire) != 2 * turn + 1 {
                    spin_loop();
                }
                word.store(2 * turn + 2, Ordering::Release);
            }
        })
    };
    let start = Instant::now();
    for turn in 0..turns {
        word.store(2 * turn + 1, Ordering::Release);
        while word.load(Ordering::Acquire) != 2 * turn + 2 {
            spin_loop();
        }
    }
    let elapsed = start.elapsed();
    other.join().expect("the other thread");
    elapsed.as_nanos() as f64 / (2 * turns) as f64
}

fn main() {
    if thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        println!("line_transfer: one CPU here: no line moves between cores; skipped");
        return;
    }
    // `cargo test --benches` runs this without `--bench`: one short run is enough there.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let (runs, turns) = if bench_mode {
        (RUNS, TURNS)
    } else {
        (1, 1_000)
    };
    let mut times: Vec<f64> = (0..runs).map(|_| one_run(turns)).collect();
    times.sort_by(f64::total_cmp);
    println!(
        "line_transfer: one cache line between two threads: {:.1} ns per transfer (median of {runs}; all: {})",
        times[times.len() / 2],
        times
            .iter()
            .map(|t| format!("{t:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
