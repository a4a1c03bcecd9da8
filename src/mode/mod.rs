//! Modes: where the write happens. Every signal's writes go through here.
//!
//! | mode | the caller's thread | who writes | if the process dies |
//! |---|---|---|---|
//! | [`Mode::Sync`] (default) | encodes and writes (one `writev`) | the caller | nothing is lost: nothing was buffered |
//! | [`Mode::Queued`] | encodes into a reused buffer and enqueues it | one flush thread | queued events are lost |
//!
//! **Choose sync** unless the caller's thread must not pay for the write: a `writev` to a
//! listened-to tracepoint costs on the order of a microsecond. **Choose queued** for
//! latency-critical threads that emit while a session listens; the caller then pays for the
//! encoding and one push into a bounded lock-free queue, and when the queue is full (or its
//! byte budget, [`QueueOptions::max_bytes`], is spent) the event is dropped and counted (or,
//! for a full queue, the caller waits, up to a timeout, if you ask for [`WhenFull::Block`]).
//! Either way nothing is written while nobody listens.

use std::time::Duration;

use crate::encode::FinishedEvent;
use crate::sink::Tracepoint;
use crate::stats::Counters;
use crate::stats::DropReason;

mod buffers;
#[cfg(otel_os_events_loom)]
pub mod channel;
#[cfg(not(otel_os_events_loom))]
pub(crate) mod channel;
mod queued;
mod writer;

pub(crate) use buffers::Buf;
pub(crate) use queued::{Queued, QueuedEvent, Target, WriteFn};
pub(crate) use writer::Writer;

/// How events reach the kernel, chosen in the builder (every builder has `with_mode`).
///
/// ```
/// use otel_os_events::logs::Processor;
/// use otel_os_events::mode::{Mode, QueueOptions};
///
/// let sync = Processor::builder("myprovider").build()?; // Mode::Sync, the default
/// let queued = Processor::builder("myprovider")
///     .with_mode(Mode::Queued(QueueOptions::default()))
///     .build()?;
/// # drop((sync, queued));
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Mode {
    /// Encode and write on the caller's thread (the default).
    #[default]
    Sync,
    /// Encode on the caller's thread, write on one flush thread.
    Queued(QueueOptions),
}

/// Options of [`Mode::Queued`]. Start from `QueueOptions::default()`: 4,096 events,
/// 16 MiB of buffers, drop when full, a flush thread named `otel-os-events`, a 5 s shutdown
/// deadline. `build` refuses a capacity outside 1..=[`MAX_QUEUE_CAPACITY`], a budget below
/// [`MIN_QUEUE_BYTES`] and an empty thread name, with typed errors.
///
/// `force_flush` (the processor's, the SDK provider's, or [`ProcessorHandle::force_flush`](crate::ProcessorHandle::force_flush))
/// returns once every event accepted before it is written or counted; if that takes longer
/// than `shutdown_deadline` it returns `Err(OTelSdkError::Timeout(..))`, and the events
/// stay queued, to be written later.
///
/// ```
/// use std::time::Duration;
/// use otel_os_events::logs::Processor;
/// use otel_os_events::mode::{Mode, QueueOptions, WhenFull};
/// use otel_os_events::Error;
///
/// let options = QueueOptions {
///     capacity: 8192,
///     max_bytes: 32 << 20,
///     when_full: WhenFull::Block { timeout: Duration::from_millis(5) },
///     ..QueueOptions::default()
/// };
/// let processor = Processor::builder("myprovider").with_mode(Mode::Queued(options)).build()?;
/// # drop(processor);
/// let too_small = QueueOptions { max_bytes: 1024, ..QueueOptions::default() };
/// let refused = Processor::builder("myprovider").with_mode(Mode::Queued(too_small)).build();
/// assert!(matches!(refused, Err(Error::InvalidQueueBytes { bytes: 1024, .. })));
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// Most events waiting to be written (1..=1,048,576; default 4,096). Each holds an encoded
    /// event buffer, reused.
    pub capacity: usize,
    /// The byte budget of the processor's event buffers (default 16 MiB, at least
    /// [`MIN_QUEUE_BYTES`]: `build` refuses less): what waiting events and pooled buffers hold
    /// together (their capacity plus 128 bytes each), including each emitting thread's few
    /// spare buffers. An event whose buffer would take them past it is dropped and counted
    /// as [`DropReason::QueueBytes`].
    ///
    /// After writing, buffers are kept for reuse only while the pooled ones hold under an
    /// eighth of the budget; the rest are freed, so after a burst memory returns towards
    /// rest. Worst case, a queued processor holds this budget in event buffers, plus one
    /// buffer being encoded per emitting thread (up to about twice the maximum event size
    /// each), plus its two fixed arrays: about 56 bytes per unit of `capacity`.
    pub max_bytes: usize,
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
            max_bytes: DEFAULT_QUEUE_BYTES,
            when_full: WhenFull::Drop,
            thread_name: "otel-os-events".to_owned(),
            shutdown_deadline: Duration::from_secs(5),
        }
    }
}

/// The largest queue capacity the builder accepts.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// The default [`QueueOptions::max_bytes`]: 16 MiB.
pub const DEFAULT_QUEUE_BYTES: usize = 16 << 20;

/// The smallest [`QueueOptions::max_bytes`]: 256 KiB, room for a few of the largest events.
pub const MIN_QUEUE_BYTES: usize = 256 << 10;

/// What a full queue does.
///
/// ```
/// use std::time::Duration;
/// use otel_os_events::mode::{QueueOptions, WhenFull};
///
/// assert_eq!(QueueOptions::default().when_full, WhenFull::Drop);
/// let patient = WhenFull::Block { timeout: Duration::from_millis(10) };
/// # drop(patient);
/// ```
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
