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
//!
//! Linux only, as its listener is: elsewhere it says so and exits with status 2.

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("stress: Linux only (its listener reads perf ring buffers)");
    std::process::exit(2);
}
