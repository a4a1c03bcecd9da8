//! Counters of what happened to each event: written, truncated, or dropped with a reason.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

/// Why an event was not written. Every event a processor accepts is either written or
/// counted under one of these.
///
/// ```
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::{CaptureSink, Sink};
/// use otel_os_events::DropReason;
///
/// let capture = CaptureSink::new();
/// capture.fail_writes(Some(libc::EBADF)); // a kernel refusing every write
/// let processor = Processor::builder("myprovider")
///     .with_sink(Sink::Capture(capture))
///     .build()?;
/// # use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
/// # let handle = processor.handle();
/// # let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
/// #     .with_log_processor(processor)
/// #     .build();
/// # let logger = provider.logger("app");
/// # let mut record = logger.create_log_record();
/// # record.set_severity_number(Severity::Info);
/// # logger.emit(record);
/// // ... after an info record:
/// let stats = handle.stats();
/// assert_eq!(stats.dropped(DropReason::WriteError { errno: libc::EBADF }), 1);
/// assert_eq!(DropReason::WriteError { errno: 9 }.to_string(), "write error (errno 9)");
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropReason {
    /// Larger than the maximum event size, and the processor is set to drop rather than
    /// truncate (or even truncation could not make it fit). For metrics (counted in data
    /// points): a data point that does not fit in an event even alone, with its envelope.
    Oversize,
    /// A log record without a severity: it has no level, so no tracepoint to go to.
    NoSeverity,
    /// The kernel refused the write; `errno` says why (e.g. EBADF when the last session
    /// detached between the enabled check and the write).
    WriteError {
        /// The errno of the failed `writev`.
        errno: i32,
    },
    /// Emitted after `shutdown`; in queued mode also an event whose push raced shutdown and
    /// came after the flush thread's last look at the queue.
    AfterShutdown,
    /// The record's keyword (from the builder's keyword function) would have been the
    /// provider's 65th: tracepoints are registered for at most 64 keywords.
    KeywordLimit,
    /// Queued mode: the queue was full (after waiting, with [`WhenFull::Block`](crate::mode::WhenFull::Block)).
    QueueFull,
    /// Queued mode: the event's buffer would have taken what waiting events and pooled
    /// buffers hold past the byte budget,
    /// [`QueueOptions::max_bytes`](crate::mode::QueueOptions::max_bytes). Like
    /// [`QueueFull`](Self::QueueFull), a sign the flush thread cannot keep up; this one
    /// says the events are large, so raise `max_bytes` rather than `capacity`.
    QueueBytes,
    /// Queued mode: still queued when the shutdown deadline passed.
    Shutdown,
    /// Queued mode: every session detached between the emit and the flush thread's write
    /// (the flush thread checks the enable word again before writing).
    NoListener,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Oversize => f.write_str("oversize"),
            DropReason::NoSeverity => f.write_str("no severity"),
            DropReason::WriteError { errno } => write!(f, "write error (errno {errno})"),
            DropReason::AfterShutdown => f.write_str("after shutdown"),
            DropReason::KeywordLimit => f.write_str("too many keywords"),
            DropReason::QueueFull => f.write_str("queue full"),
            DropReason::QueueBytes => f.write_str("queue byte budget exceeded"),
            DropReason::Shutdown => f.write_str("queued at shutdown deadline"),
            DropReason::NoListener => f.write_str("no listener by write time"),
        }
    }
}

/// A snapshot of a processor's counters, from `stats()`.
///
/// Events emitted while no session listens are neither written nor dropped: nobody could
/// have received them, and counting them would cost the disabled path a shared write.
///
/// ```
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::{CaptureSink, Sink};
///
/// let capture = CaptureSink::new();
/// capture.set_listening_all(false); // nobody listens
/// let processor = Processor::builder("myprovider")
///     .with_sink(Sink::Capture(capture))
///     .build()?;
/// # use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
/// # let handle = processor.handle();
/// # let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
/// #     .with_log_processor(processor)
/// #     .build();
/// # let logger = provider.logger("app");
/// # let mut record = logger.create_log_record();
/// # record.set_severity_number(Severity::Info);
/// # logger.emit(record);
/// // ... after an info record, emitted while nobody listened:
/// let stats = handle.stats();
/// assert_eq!(stats.accepted, 0, "not written, and not counted");
/// assert_eq!(stats.accepted, stats.written + stats.dropped_total());
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events the processor took responsibility for: every event emitted while a session
    /// listened, plus those refused outright (no severity, after shutdown). At rest (after
    /// `force_flush` or `shutdown`), `accepted == written + dropped_total()`.
    pub accepted: u64,
    /// Events handed to the kernel successfully.
    pub written: u64,
    /// Of those written, how many were cut to fit the maximum event size.
    pub truncated: u64,
    /// Events not written, by reason; only reasons with a non-zero count appear.
    pub dropped: Vec<(DropReason, u64)>,
    /// Queued mode: the most events the queue has held at once, as the flush thread saw it
    /// when it looked (at the start of each drain, and every 64 events within one), or the
    /// capacity once a caller found the queue full. The emitting threads never read the
    /// queue's length: that would move the flush thread's cache lines on every event.
    pub queue_high_water: u64,
}

impl Stats {
    /// How many events were dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped
            .iter()
            .filter(|(r, _)| *r == reason)
            .map(|(_, n)| n)
            .sum()
    }

    /// How many events were dropped, for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|(_, n)| n).sum()
    }
}

/// Errnos are counted one by one up to this; larger ones share the last slot.
const ERRNO_SLOTS: usize = 134;

/// The live counters behind [`Stats`]: relaxed atomics, bumped once per event.
///
/// They sit in two groups, each on cache lines of its own: what the emitting threads count
/// (accepted, and the drops decided before the write) and what the writing side counts
/// (written, truncated, and the drops decided at the write). In queued mode the writing side
/// is the flush thread, so neither side's increments move the other's cache lines.
pub(crate) struct Counters {
    caller: CachePadded<CallerSide>,
    writer: CachePadded<WriterSide>,
    /// Write errors by errno (the writing side too).
    write_errors: CachePadded<[AtomicU64; ERRNO_SLOTS]>,
}

/// What the emitting threads count.
#[derive(Default)]
struct CallerSide {
    accepted: AtomicU64,
    oversize: AtomicU64,
    no_severity: AtomicU64,
    after_shutdown: AtomicU64,
    keyword_limit: AtomicU64,
    queue_full: AtomicU64,
    queue_bytes: AtomicU64,
}

/// What the writing side counts (the caller in sync mode, the flush thread in queued mode).
#[derive(Default)]
struct WriterSide {
    written: AtomicU64,
    /// Events written: `written` counts data points for metrics, of which one event carries
    /// many.
    events_written: AtomicU64,
    truncated: AtomicU64,
    shutdown: AtomicU64,
    no_listener: AtomicU64,
    /// Raised by the flush thread as it drains (and by a caller that finds the queue full).
    queue_high_water: AtomicU64,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Counters {
            caller: CachePadded::new(CallerSide::default()),
            writer: CachePadded::new(WriterSide::default()),
            write_errors: CachePadded::new(std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }

    /// An event the processor takes on: it will be written or dropped.
    pub(crate) fn accepted(&self) {
        self.caller.accepted.fetch_add(1, Relaxed);
    }

    /// An event refused outright: accepted and dropped at once.
    pub(crate) fn refused(&self, reason: DropReason) {
        self.accepted();
        self.dropped(reason);
    }

    /// Records a queue length seen, for the high-water mark.
    pub(crate) fn queue_len(&self, len: usize) {
        let len = len as u64;
        if len > self.writer.queue_high_water.load(Relaxed) {
            self.writer.queue_high_water.fetch_max(len, Relaxed);
        }
    }

    /// `n` events (or, for metrics, data points) taken on at once.
    pub(crate) fn accepted_n(&self, n: u64) {
        self.caller.accepted.fetch_add(n, Relaxed);
    }

    /// One event written, which counts as `weight` (1, or its metric data points).
    pub(crate) fn written_event(&self, weight: u64, truncated: bool) {
        let w = &self.writer;
        w.written.fetch_add(weight, Relaxed);
        w.events_written.fetch_add(1, Relaxed);
        if truncated {
            w.truncated.fetch_add(weight, Relaxed);
        }
    }

    /// Events written so far (see [`written_event`](Self::written_event)).
    pub(crate) fn events_written(&self) -> u64 {
        self.writer.events_written.load(Relaxed)
    }

    /// `n` dropped at once for `reason`.
    pub(crate) fn dropped_n(&self, reason: DropReason, n: u64) {
        if n > 0 {
            self.counter(reason).fetch_add(n, Relaxed);
        }
    }

    pub(crate) fn dropped(&self, reason: DropReason) {
        self.counter(reason).fetch_add(1, Relaxed);
    }

    fn counter(&self, reason: DropReason) -> &AtomicU64 {
        let (c, w) = (&self.caller, &self.writer);
        match reason {
            DropReason::Oversize => &c.oversize,
            DropReason::NoSeverity => &c.no_severity,
            DropReason::AfterShutdown => &c.after_shutdown,
            DropReason::KeywordLimit => &c.keyword_limit,
            DropReason::QueueFull => &c.queue_full,
            DropReason::QueueBytes => &c.queue_bytes,
            DropReason::Shutdown => &w.shutdown,
            DropReason::NoListener => &w.no_listener,
            DropReason::WriteError { errno } => {
                let slot = usize::try_from(errno).unwrap_or(0).min(ERRNO_SLOTS - 1);
                &self.write_errors[slot]
            }
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let mut dropped = Vec::new();
        let mut push = |reason, counter: &AtomicU64| {
            let n = counter.load(Relaxed);
            if n > 0 {
                dropped.push((reason, n));
            }
        };
        let (c, w) = (&self.caller, &self.writer);
        push(DropReason::Oversize, &c.oversize);
        push(DropReason::NoSeverity, &c.no_severity);
        push(DropReason::AfterShutdown, &c.after_shutdown);
        push(DropReason::KeywordLimit, &c.keyword_limit);
        push(DropReason::QueueFull, &c.queue_full);
        push(DropReason::QueueBytes, &c.queue_bytes);
        push(DropReason::Shutdown, &w.shutdown);
        push(DropReason::NoListener, &w.no_listener);
        for (errno, counter) in self.write_errors.iter().enumerate() {
            push(
                DropReason::WriteError {
                    errno: errno as i32,
                },
                counter,
            );
        }
        Stats {
            accepted: c.accepted.load(Relaxed),
            written: w.written.load(Relaxed),
            truncated: w.truncated.load(Relaxed),
            dropped,
            queue_high_water: w.queue_high_water.load(Relaxed),
        }
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}
