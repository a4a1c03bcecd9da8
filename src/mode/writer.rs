//! The one write path every signal uses: encode into a reused buffer, fit it to the size
//! limit, then write now (sync) or hand it to the flush thread (queued), counting the outcome.

use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::encode::{fit, with_thread_buf, EventBuf, Fit, Limits, Pass};
use crate::handle::Observed;
use crate::state::{SizeLimits, TracepointSet};
use crate::sync::Arc;
use crate::{DropReason, Error};

use super::{write_now, Mode, Queued, QueuedEvent, Target, WriteFn};

/// Sync or queued writing for one processor.
pub(crate) struct Writer {
    queue: Option<Queued>,
    /// How long `flush` waits in queued mode.
    flush_timeout: Duration,
}

impl Writer {
    /// Starts the flush thread in queued mode.
    pub(crate) fn new(mode: &Mode, observed: &Arc<Observed>) -> Result<Self, Error> {
        Ok(match mode {
            Mode::Sync => Writer {
                queue: None,
                flush_timeout: Duration::ZERO,
            },
            Mode::Queued(options) => Writer {
                queue: Some(
                    Queued::start(options, flush_writer(observed.clone())).map_err(|e| {
                        Error::ThreadSpawn {
                            reason: e.to_string(),
                        }
                    })?,
                ),
                flush_timeout: options.shutdown_deadline,
            },
        })
    }

    /// True in queued mode.
    pub(crate) fn is_queued(&self) -> bool {
        self.queue.is_some()
    }

    /// The emitting thread's id, which queued events carry (the OS stamps the writer's).
    pub(crate) fn thread_id(&self) -> Option<u32> {
        self.queue.as_ref().map(|_| crate::platform::thread_id())
    }

    /// Encodes one event with `encode` (see [`fit`]) and writes it to `set.levels[level]`.
    pub(crate) fn write(
        &self,
        observed: &Observed,
        set: &Arc<TracepointSet>,
        level: usize,
        encode: impl FnMut(&mut EventBuf, Limits, Option<u32>) -> Pass,
    ) {
        let counters = &observed.counters;
        counters.accepted();
        let SizeLimits {
            max_event_size,
            oversize,
        } = observed.state.load().limits;
        let Some(queue) = &self.queue else {
            with_thread_buf(|buf| {
                match fit(buf, max_event_size, oversize, encode) {
                    Fit::Whole => write_now(&set.levels[level], buf.parts(), false, counters),
                    Fit::Truncated { .. } => {
                        write_now(&set.levels[level], buf.parts(), true, counters)
                    }
                    Fit::TooLarge { .. } => counters.dropped(DropReason::Oversize),
                }
                trim(buf, max_event_size);
            });
            return;
        };
        let mut buf = queue.take_buf();
        let truncated = match fit(&mut buf, max_event_size, oversize, encode) {
            Fit::Whole => false,
            Fit::Truncated { .. } => true,
            Fit::TooLarge { .. } => {
                counters.dropped(DropReason::Oversize);
                trim(&mut buf, max_event_size);
                queue.recycle(buf);
                return;
            }
        };
        let event = QueuedEvent {
            target: Target::Level {
                set: set.clone(),
                level,
            },
            buf,
            truncated,
            weight: 1,
        };
        if let Err(reason) = queue.send(event, counters) {
            counters.dropped(reason);
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
/// may have left since the emit), write, count.
fn flush_writer(observed: Arc<Observed>) -> WriteFn {
    Box::new(move |event, late| {
        let counters = &observed.counters;
        let Target::Level { set, level } = &event.target else {
            // Processors queue only Level targets.
            return counters.dropped(DropReason::NoListener);
        };
        let tracepoint = &set.levels[*level];
        if late {
            counters.dropped(DropReason::Shutdown);
        } else if !tracepoint.enabled() {
            counters.dropped(DropReason::NoListener);
        } else {
            write_now(tracepoint, event.buf.parts(), event.truncated, counters);
        }
    })
}
