//! Modes: where the write happens. Every signal's writes go through here.
//!
//! | mode | the caller's thread | who writes | if the process dies |
//! |---|---|---|---|
//! | [`Mode::Sync`] (default) | encodes and writes (one `writev`) | the caller | nothing is lost: nothing was buffered |
//! | [`Mode::Queued`] | encodes into a pooled buffer and enqueues it | one flush thread | queued events are lost |
//!
//! **Choose sync** unless the caller's thread must not pay for the write: a `writev` to a
//! listened-to tracepoint costs on the order of a microsecond. **Choose queued** for
//! latency-critical threads that emit while a session listens; the caller then pays for the
//! encoding and one push into a bounded lock-free queue, and when the queue is full the event
//! is dropped and counted (or the caller waits, up to a timeout, if you ask for
//! [`WhenFull::Block`]). Either way nothing is written while nobody listens.

use std::time::Duration;

use crate::encode::FinishedEvent;
use crate::sink::Tracepoint;
use crate::stats::Counters;
use crate::stats::DropReason;

#[cfg(otel_os_events_loom)]
pub mod channel;
#[cfg(not(otel_os_events_loom))]
pub(crate) mod channel;
mod queued;
mod writer;

pub(crate) use queued::{Queued, QueuedEvent, Target, WriteFn};
pub(crate) use writer::Writer;

/// How events reach the kernel, chosen in the builder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Mode {
    /// Encode and write on the caller's thread (the default).
    #[default]
    Sync,
    /// Encode on the caller's thread, write on one flush thread.
    Queued(QueueOptions),
}

/// Options of [`Mode::Queued`]. Start from `QueueOptions::default()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// Most events waiting to be written (1..=1,048,576; default 4,096). Each holds an encoded
    /// event buffer, reused: memory is about capacity × the typical event size.
    pub capacity: usize,
    /// What a full queue does to the caller (default [`WhenFull::Drop`]).
    pub when_full: WhenFull,
    /// The flush thread's name (default `otel-os-events`).
    pub thread_name: String,
    /// How long `shutdown` (and dropping the processor) keeps writing queued events; what is
    /// still queued then is counted as [`DropReason::Shutdown`] (default 5 s).
    pub shutdown_deadline: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            capacity: 4096,
            when_full: WhenFull::Drop,
            thread_name: "otel-os-events".to_owned(),
            shutdown_deadline: Duration::from_secs(5),
        }
    }
}

/// The largest queue capacity the builder accepts.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// What a full queue does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Drop the new event and count it as [`DropReason::QueueFull`] (the default): the caller
    /// never waits.
    #[default]
    Drop,
    /// Wait for room up to `timeout`, then drop and count the event.
    Block {
        /// The longest the caller waits.
        timeout: Duration,
    },
}

/// Writes a finished event now, on this thread, and counts the outcome for its `weight`
/// (1 event, or the metric data points it carries).
#[inline]
pub(crate) fn write_now(
    tracepoint: &Tracepoint,
    event: FinishedEvent<'_>,
    truncated: bool,
    weight: u64,
    counters: &Counters,
) {
    match tracepoint.write(event) {
        0 => counters.written_event(weight, truncated),
        errno => counters.dropped_n(DropReason::WriteError { errno }, weight),
    }
}
