//! Counters of what happened to each event: written, truncated, or dropped with a reason.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why an event was not written. Every event a processor accepts is either written or
/// counted under one of these.
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
    /// Emitted after `shutdown`.
    AfterShutdown,
    /// The record's keyword (from the builder's keyword function) would have been the
    /// provider's 65th: tracepoints are registered for at most 64 keywords.
    KeywordLimit,
    /// Queued mode: the queue was full (after waiting, with [`WhenFull::Block`](crate::mode::WhenFull::Block)).
    QueueFull,
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
            DropReason::Shutdown => f.write_str("queued at shutdown deadline"),
            DropReason::NoListener => f.write_str("no listener by write time"),
        }
    }
}

/// A snapshot of a processor's counters, from `stats()`.
///
/// Events emitted while no session listens are neither written nor dropped: nobody could
/// have received them, and counting them would cost the disabled path a shared write.
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
    /// Queued mode: the most events the queue has held at once.
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
pub(crate) struct Counters {
    accepted: AtomicU64,
    written: AtomicU64,
    /// Events written: `written` counts data points for metrics, of which one event carries
    /// many.
    events_written: AtomicU64,
    truncated: AtomicU64,
    oversize: AtomicU64,
    no_severity: AtomicU64,
    after_shutdown: AtomicU64,
    keyword_limit: AtomicU64,
    queue_full: AtomicU64,
    shutdown: AtomicU64,
    no_listener: AtomicU64,
    write_errors: [AtomicU64; ERRNO_SLOTS],
    queue_high_water: AtomicU64,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Counters {
            accepted: AtomicU64::new(0),
            written: AtomicU64::new(0),
            events_written: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            oversize: AtomicU64::new(0),
            no_severity: AtomicU64::new(0),
            after_shutdown: AtomicU64::new(0),
            keyword_limit: AtomicU64::new(0),
            queue_full: AtomicU64::new(0),
            shutdown: AtomicU64::new(0),
            no_listener: AtomicU64::new(0),
            write_errors: std::array::from_fn(|_| AtomicU64::new(0)),
            queue_high_water: AtomicU64::new(0),
        }
    }

    /// An event the processor takes on: it will be written or dropped.
    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }

    /// An event refused outright: accepted and dropped at once.
    pub(crate) fn refused(&self, reason: DropReason) {
        self.accepted();
        self.dropped(reason);
    }

    /// Records the queue length after a push, for the high-water mark.
    pub(crate) fn queue_len(&self, len: usize) {
        let len = len as u64;
        if len > self.queue_high_water.load(Relaxed) {
            self.queue_high_water.fetch_max(len, Relaxed);
        }
    }

    /// `n` events (or, for metrics, data points) taken on at once.
    pub(crate) fn accepted_n(&self, n: u64) {
        self.accepted.fetch_add(n, Relaxed);
    }

    /// One event written, which counts as `weight` (1, or its metric data points).
    pub(crate) fn written_event(&self, weight: u64, truncated: bool) {
        self.written.fetch_add(weight, Relaxed);
        self.events_written.fetch_add(1, Relaxed);
        if truncated {
            self.truncated.fetch_add(weight, Relaxed);
        }
    }

    /// Events written so far (see [`written_event`](Self::written_event)).
    pub(crate) fn events_written(&self) -> u64 {
        self.events_written.load(Relaxed)
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
        match reason {
            DropReason::Oversize => &self.oversize,
            DropReason::NoSeverity => &self.no_severity,
            DropReason::AfterShutdown => &self.after_shutdown,
            DropReason::KeywordLimit => &self.keyword_limit,
            DropReason::QueueFull => &self.queue_full,
            DropReason::Shutdown => &self.shutdown,
            DropReason::NoListener => &self.no_listener,
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
        push(DropReason::Oversize, &self.oversize);
        push(DropReason::NoSeverity, &self.no_severity);
        push(DropReason::AfterShutdown, &self.after_shutdown);
        push(DropReason::KeywordLimit, &self.keyword_limit);
        push(DropReason::QueueFull, &self.queue_full);
        push(DropReason::Shutdown, &self.shutdown);
        push(DropReason::NoListener, &self.no_listener);
        for (errno, counter) in self.write_errors.iter().enumerate() {
            push(
                DropReason::WriteError {
                    errno: errno as i32,
                },
                counter,
            );
        }
        Stats {
            accepted: self.accepted.load(Relaxed),
            written: self.written.load(Relaxed),
            truncated: self.truncated.load(Relaxed),
            dropped,
            queue_high_water: self.queue_high_water.load(Relaxed),
        }
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}
