//! The one write path every signal uses: encode into a reused buffer (fit to the size limit
//! for records), then write now (sync) or hand it to the flush thread (queued), counting the
//! outcome.
//!
//! Records (a log record, a span) count as one event each; a metrics payload counts as the
//! data points it carries (its weight), so that every signal's books balance in its own
//! unit.

use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::encode::{fit, with_thread_buf, EventBuf, Fit, Limits, Pass};
use crate::error::Error;
use crate::sink::Tracepoint;
use crate::state::{SizeLimits, TracepointSet};
use crate::stats::Counters;
use crate::stats::DropReason;
use crate::sync::Arc;

use super::{write_now, Buf, Mode, Queued, QueuedEvent, Target, WriteFn};

/// Sync or queued writing for one processor or exporter.
pub(crate) struct Writer {
    queue: Option<Queued>,
    /// How long `flush` waits in queued mode.
    flush_timeout: Duration,
}

impl Writer {
    /// Starts the flush thread in queued mode; it counts into `counters`.
    pub(crate) fn new(mode: &Mode, counters: &Arc<Counters>) -> Result<Self, Error> {
        Ok(match mode {
            Mode::Sync => Writer {
                queue: None,
                flush_timeout: Duration::ZERO,
            },
            Mode::Queued(options) => Writer {
                queue: Some(
                    Queued::start(options, counters.clone(), flush_writer(counters.clone()))
                        .map_err(|e| Error::ThreadSpawn {
                            reason: e.to_string(),
                        })?,
                ),
                flush_timeout: options.shutdown_deadline,
            },
        })
    }

    /// The queued writer, for tests.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> Option<&Queued> {
        self.queue.as_ref()
    }

    /// True in queued mode.
    pub(crate) fn is_queued(&self) -> bool {
        self.queue.is_some()
    }

    /// The emitting thread's id, which queued events carry (the OS stamps the writer's).
    pub(crate) fn thread_id(&self) -> Option<u32> {
        self.queue.as_ref().map(|_| crate::platform::thread_id())
    }

    /// Encodes one record with `encode` (see [`fit`]) within `limits` and writes it to
    /// `set.levels[level]`.
    pub(crate) fn write(
        &self,
        counters: &Counters,
        limits: SizeLimits,
        set: &Arc<TracepointSet>,
        level: usize,
        encode: impl FnMut(&mut EventBuf, Limits, Option<u32>) -> Pass,
    ) {
        counters.accepted();
        let SizeLimits {
            max_event_size,
            oversize,
        } = limits;
        let Some(queue) = &self.queue else {
            with_thread_buf(|buf| {
                match fit(buf, max_event_size, oversize, encode) {
                    Fit::Whole => write_now(&set.levels[level], buf.finished(), false, 1, counters),
                    Fit::Truncated { .. } => {
                        write_now(&set.levels[level], buf.finished(), true, 1, counters)
                    }
                    Fit::TooLarge { .. } => counters.dropped(DropReason::Oversize),
                }
                trim(buf, max_event_size);
            });
            return;
        };
        let (mut buf, before) = queue.take_buf();
        let truncated = match fit(&mut buf, max_event_size, oversize, encode) {
            Fit::Whole => false,
            Fit::Truncated { .. } => true,
            Fit::TooLarge { .. } => {
                counters.dropped(DropReason::Oversize);
                trim(&mut buf, max_event_size);
                queue.recycle(buf, before);
                return;
            }
        };
        let target = queue.target(set, level);
        Self::send(queue, counters, target, buf, before, truncated, 1);
    }

    /// Writes one already-sized payload that `fill` frames into the buffer (a metrics
    /// event), counted as `weight` data points. The caller counted them accepted.
    pub(crate) fn write_payload(
        &self,
        counters: &Counters,
        tracepoint: &Arc<Tracepoint>,
        weight: u64,
        fill: impl FnOnce(&mut EventBuf),
    ) {
        let Some(queue) = &self.queue else {
            return with_thread_buf(|buf| {
                fill(buf);
                write_now(tracepoint, buf.finished(), false, weight, counters);
            });
        };
        let (mut buf, before) = queue.take_buf();
        fill(&mut buf);
        let target = Target::Single(tracepoint.clone());
        Self::send(queue, counters, target, buf, before, false, weight);
    }

    /// Queues an event whose buffer was taken with capacity `before`; counts a refusal.
    #[inline]
    fn send(
        queue: &Queued,
        counters: &Counters,
        target: Target,
        buf: Box<Buf>,
        before: usize,
        truncated: bool,
        weight: u64,
    ) {
        let event = QueuedEvent {
            target,
            buf,
            truncated,
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        };
        if let Err(reason) = queue.send(event, before, counters) {
            counters.dropped_n(reason, weight);
        }
    }

    /// Sync: at once. Queued: once everything accepted before the call is written.
    pub(crate) fn flush(&self) -> OTelSdkResult {
        match &self.queue {
            None => Ok(()),
            Some(queue) => queue
                .flush(self.flush_timeout)
                .map_err(|_| OTelSdkError::Timeout(self.flush_timeout)),
        }
    }

    /// Queued mode: the bytes its event buffers hold now (queued, pooled, spare, being
    /// encoded), which [`QueueOptions::max_bytes`](super::QueueOptions::max_bytes) caps.
    #[allow(dead_code)] // read by tests and benches' diagnostics
    pub(crate) fn queued_bytes(&self) -> Option<usize> {
        self.queue.as_ref().map(Queued::held_bytes)
    }

    /// Queued: drains within the deadline and stops the flush thread.
    pub(crate) fn shutdown(&self) {
        if let Some(queue) = &self.queue {
            queue.shutdown();
        }
    }
}

/// Does not keep a hostile record's memory for the buffer's lifetime.
fn trim(buf: &mut EventBuf, max_event_size: usize) {
    if buf.capacity() > 4 * max_event_size + 65_536 {
        buf.shrink_to(max_event_size);
    }
}

/// What the flush thread does with each queued event: re-check the enable word (sessions
/// may have left since the emit), write, count its weight.
fn flush_writer(counters: Arc<Counters>) -> WriteFn {
    Box::new(move |tracepoint, event, late| {
        let weight = u64::from(event.weight);
        if late {
            counters.dropped_n(DropReason::Shutdown, weight);
        } else if !tracepoint.enabled() {
            counters.dropped_n(DropReason::NoListener, weight);
        } else {
            write_now(
                tracepoint,
                event.buf.finished(),
                event.truncated,
                event.weight.into(),
                &counters,
            );
        }
    })
}
