//! The forwarder's counters, shared by the reader and the export thread, and the summary
//! line printed from them.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::decode::DecodeReason;

/// Why an event that decoded was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The bounded queue to the export thread was full (the collector is slow or down).
    QueueFull,
    /// The collector answered with an error status, after the retries.
    Rejected,
    /// The collector could not be reached (connection refused, timeout), after the retries.
    Unreachable,
    /// The export failed for another reason (e.g. the request could not be built).
    ExportFailed,
    /// Still queued when the shutdown timeout passed.
    Shutdown,
}

impl DropReason {
    /// Every reason, in the order of the summary.
    pub const ALL: [DropReason; 5] = [
        DropReason::QueueFull,
        DropReason::Rejected,
        DropReason::Unreachable,
        DropReason::ExportFailed,
        DropReason::Shutdown,
    ];

    /// The counter's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Rejected => "rejected",
            DropReason::Unreachable => "unreachable",
            DropReason::ExportFailed => "export_failed",
            DropReason::Shutdown => "shutdown",
        }
    }
}

/// The signals forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Log records.
    Logs,
    /// Spans.
    Spans,
    /// Metrics payloads (one `otlp_metrics` event each).
    Metrics,
}

/// The counters (all monotonic).
#[derive(Debug, Default)]
pub struct Stats {
    read: AtomicU64,
    lost: AtomicU64,
    forwarded: [AtomicU64; 3],
    decode_errors: [AtomicU64; DecodeReason::ALL.len()],
    dropped: [AtomicU64; DropReason::ALL.len()],
}

/// A copy of [`Stats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Samples read from the perf rings.
    pub read: u64,
    /// Samples the kernel dropped because a ring was full.
    pub lost: u64,
    /// Delivered to the collector: logs, spans, metrics events.
    pub forwarded: [u64; 3],
    /// Not forwarded because they did not decode, by [`DecodeReason::ALL`].
    pub decode_errors: [u64; DecodeReason::ALL.len()],
    /// Decoded but not delivered, by [`DropReason::ALL`].
    pub dropped: [u64; DropReason::ALL.len()],
}

impl Stats {
    pub(crate) fn read(&self, n: u64) {
        self.read.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn set_lost(&self, n: u64) {
        self.lost.store(n, Ordering::Relaxed);
    }

    pub(crate) fn forwarded(&self, signal: Signal, n: u64) {
        self.forwarded[signal as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn decode_error(&self, reason: DecodeReason) {
        self.decode_errors[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, reason: DropReason, n: u64) {
        self.dropped[reason as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            read: load(&self.read),
            lost: load(&self.lost),
            forwarded: self.forwarded.each_ref().map(load),
            decode_errors: self.decode_errors.each_ref().map(load),
            dropped: self.dropped.each_ref().map(load),
        }
    }
}

impl Snapshot {
    /// Events forwarded, all signals.
    pub fn forwarded_total(&self) -> u64 {
        self.forwarded.iter().sum()
    }

    /// Decoded but not delivered, all reasons.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// One line: `read N (R/s), lost L, forwarded logs A spans B metrics C, decode errors
    /// malformed=.. .., dropped queue_full=.. ..`. `rate` is the events read per second
    /// over the last interval.
    pub fn line(&self, rate: f64) -> String {
        let mut s = format!(
            "read {} ({rate:.0}/s), lost {}, forwarded logs {} spans {} metrics {}, decode errors",
            self.read, self.lost, self.forwarded[0], self.forwarded[1], self.forwarded[2]
        );
        for (reason, n) in DecodeReason::ALL.iter().zip(self.decode_errors) {
            let _ = write!(s, " {}={n}", reason.as_str());
        }
        s.push_str(", dropped");
        for (reason, n) in DropReason::ALL.iter().zip(self.dropped) {
            let _ = write!(s, " {}={n}", reason.as_str());
        }
        s
    }
}

/// CPU time a process has used, user + system, in seconds (`/proc/<pid>/stat`'s utime and
/// stime): this one's for `None`.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_string(),
        |p| format!("/proc/{p}/stat"),
    );
    let stat = std::fs::read_to_string(path).ok()?;
    cpu_of_stat(&stat, rustix::param::clock_ticks_per_second())
}

fn cpu_of_stat(stat: &str, ticks_per_second: u64) -> Option<f64> {
    // After the command name (in parentheses, which may hold spaces): state is field 3,
    // utime field 14, stime field 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / ticks_per_second.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_every_counter() {
        let stats = Stats::default();
        stats.read(7);
        stats.set_lost(2);
        stats.forwarded(Signal::Spans, 3);
        stats.decode_error(DecodeReason::BadField);
        stats.dropped(DropReason::Unreachable, 4);
        let snap = stats.snapshot();
        assert_eq!((snap.forwarded_total(), snap.dropped_total()), (3, 4));
        assert_eq!(
            snap.line(3.5),
            "read 7 (4/s), lost 2, forwarded logs 0 spans 3 metrics 0, decode errors \
             malformed=0 not_common_schema=0 bad_field=1 bad_metrics=0 too_many_names=0, \
             dropped queue_full=0 rejected=0 unreachable=4 export_failed=0 shutdown=0"
        );
    }
}

#[cfg(test)]
mod cpu_tests {
    use super::*;

    #[test]
    fn utime_and_stime_from_proc_stat() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(cpu_of_stat(stat, 100), Some(3.0));
        assert_eq!(cpu_of_stat("42 (x) S 1", 100), None);
        assert!(cpu_seconds(None).is_some());
        assert!(cpu_seconds(Some(std::process::id())).is_some());
    }
}
