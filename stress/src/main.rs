//! Stress: N threads (1, 2, 4, … up to `--threads`) emit log records as fast as they can for
//! a fixed time (`--seconds`) or count per thread (`--count`), in sync or queued mode, with
//! or without a listener, and print one table row per configuration.
//!
//! ```text
//! stress [--threads 4] [--only-max-threads] [--seconds 1 | --count N]
//!        [--mode sync|queued|sync,queued] [--listen | --listener off|on|both]
//!        [--storm MICROSECONDS] [--sizes small|mixed|large] [--max-bytes N]
//!        [--sink user-events|capture] [--capacity 65536] [--ring-pages 2048]
//! ```
//!
//! Every record carries two integer attributes: `stress_thread` (the thread's index) and
//! `stress_seq` (0, 1, 2, … per thread). With a listener (`--listen`; user_events needs a
//! kernel that has them, e.g. inside `vm/run.sh`) a perf ring-buffer reader
//! ([`otel_os_events::listen::PerfSession`], `--ring-pages` data pages per CPU) reads every
//! event back, decodes it with `tracepoint_decode` and keeps the books per thread. With
//! `--sink capture` (any machine) the in-memory capture is read back the same way.
//!
//! `--sizes mixed` gives every other event a 100-byte body and the others a 7,900-byte one
//! (an 8 KB event); `--sizes large` all of them. `--max-bytes` sets queued mode's byte
//! budget (`QueueOptions::max_bytes`). `--storm US` makes the listener attach and detach
//! every `US` microseconds while the threads emit: on user_events through ftrace's
//! `enable` file (a perf session would hold the enable bit set), its books taken from
//! ftrace's ring statistics; on the capture, through its listening flag, with every event
//! read back.
//!
//! The run exits with status 1 if the books do not balance in any configuration:
//!
//! - processor: `accepted = written + dropped`, and with a listener `accepted = emitted`;
//! - sync mode: nothing dropped, `received + lost = emitted`;
//! - queued mode: `received + dropped + lost = emitted` (a full queue, or a spent byte
//!   budget, drops and counts);
//! - per thread: no duplicate sequence number; within each CPU ring a thread's numbers
//!   increase; the numbers that never arrived add up to exactly `dropped + lost`, where
//!   `lost` is the perf reader's own count of samples the kernel lost;
//! - a storm: `unlistened = emitted - accepted` are the events emitted while nobody
//!   listened, which the processor never took on (they are neither dropped nor lost); the
//!   gaps are exactly `dropped + lost + unlistened`; the only drops are those a detach
//!   explains (a write refused with EBADF; queued: no listener by the flush thread's write;
//!   a full queue or spent budget). On user_events, ftrace recorded no more than was
//!   written; the difference is printed: writes the kernel accepted while it was detaching
//!   ftrace, and recorded nowhere (see BENCHMARKS.md);
//! - queued mode on user_events: the heap (`RssAnon`) once everything was written is within
//!   twice the heap at rest, plus the byte budget, plus the queue's fixed arrays (about 56
//!   bytes per unit of `--capacity`).
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
//! The churn and memory configurations, one command each:
//!
//! ```text
//! # an enable/disable storm: ftrace attaches and detaches every millisecond
//! vm/run.sh target/release/stress --threads 2 --seconds 2 --mode sync,queued --listen --storm 1000
//! # the same on any machine, every event read back from the capture
//! target/release/stress --sink capture --threads 2 --seconds 1 --mode sync,queued --listen --storm 1000
//! # 16 threads on the VM's 2 vCPUs
//! vm/run.sh target/release/stress --threads 16 --only-max-threads --seconds 2 --mode sync,queued --listen
//! # a byte budget (4 MiB) with mixed 100 B / 8 KB events
//! vm/run.sh target/release/stress --threads 2 --only-max-threads --seconds 2 --sizes mixed --max-bytes 4194304 --mode queued --listen
//! # one burst of 4,096 events of 8 KB, at the crate's default capacity and budget
//! vm/run.sh target/release/stress --threads 1 --count 4096 --sizes large --capacity 4096 --mode queued --listen
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
