//! Modes: where the write happens. All writes of every signal go through here.
//!
//! Today there is one mode, synchronous: the event is written on the caller's thread, so
//! nothing is buffered and nothing is lost if the process dies. The queued mode (the caller
//! encodes and enqueues, one flush thread writes) joins it here.

use crate::sink::Tracepoint;
use crate::stats::Counters;
use crate::DropReason;

/// Writes a finished event now, on this thread, and counts the outcome.
#[inline]
pub(crate) fn write_sync(
    tracepoint: &Tracepoint,
    parts: [&[u8]; 3],
    truncated: bool,
    counters: &Counters,
) {
    match tracepoint.write(parts) {
        0 => counters.written(truncated),
        errno => counters.dropped(DropReason::WriteError { errno }),
    }
}
