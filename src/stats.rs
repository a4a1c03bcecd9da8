//! Counters of what happened to each event: written, truncated, or dropped with a reason.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why an event was not written. Every event a processor accepts is either written or
/// counted under one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropReason {
    /// Larger than the maximum event size, and the processor is set to drop rather than
    /// truncate (or even truncation could not make it fit).
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
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Oversize => f.write_str("oversize"),
            DropReason::NoSeverity => f.write_str("no severity"),
            DropReason::WriteError { errno } => write!(f, "write error (errno {errno})"),
            DropReason::AfterShutdown => f.write_str("after shutdown"),
        }
    }
}

/// A snapshot of a processor's counters, from `stats()`.
///
/// Events emitted while no session listens are neither written nor dropped: nobody could
/// have received them, and counting them would cost the disabled path a shared write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handed to the kernel successfully.
    pub written: u64,
    /// Of those written, how many were cut to fit the maximum event size.
    pub truncated: u64,
    /// Events not written, by reason; only reasons with a non-zero count appear.
    pub dropped: Vec<(DropReason, u64)>,
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
    written: AtomicU64,
    truncated: AtomicU64,
    oversize: AtomicU64,
    no_severity: AtomicU64,
    after_shutdown: AtomicU64,
    write_errors: [AtomicU64; ERRNO_SLOTS],
}

impl Counters {
    pub(crate) fn new() -> Self {
        Counters {
            written: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            oversize: AtomicU64::new(0),
            no_severity: AtomicU64::new(0),
            after_shutdown: AtomicU64::new(0),
            write_errors: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub(crate) fn written(&self, truncated: bool) {
        self.written.fetch_add(1, Relaxed);
        if truncated {
            self.truncated.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn dropped(&self, reason: DropReason) {
        let counter = match reason {
            DropReason::Oversize => &self.oversize,
            DropReason::NoSeverity => &self.no_severity,
            DropReason::AfterShutdown => &self.after_shutdown,
            DropReason::WriteError { errno } => {
                let slot = usize::try_from(errno).unwrap_or(0).min(ERRNO_SLOTS - 1);
                &self.write_errors[slot]
            }
        };
        counter.fetch_add(1, Relaxed);
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
        for (errno, counter) in self.write_errors.iter().enumerate() {
            push(
                DropReason::WriteError {
                    errno: errno as i32,
                },
                counter,
            );
        }
        Stats {
            written: self.written.load(Relaxed),
            truncated: self.truncated.load(Relaxed),
            dropped,
        }
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}
