//! Queued mode: a pool of event buffers, the channel, and the flush thread.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::encode::EventBuf;
use crate::sink::Tracepoint;
use crate::stats::Counters;
use crate::stats::DropReason;
use crate::sync::{Arc, BoundedQueue};

use super::channel::{Channel, FlushError, Refused};
use super::{QueueOptions, WhenFull};

/// Where a queued event goes (kept alive while it is queued).
pub(crate) enum Target {
    /// Level `level` (index 0..5) of a keyword's tracepoints (logs, spans).
    Level {
        set: Arc<crate::state::TracepointSet>,
        level: usize,
    },
    /// A tracepoint of its own (metrics' `otlp_metrics`).
    Single(Arc<Tracepoint>),
}

impl Target {
    /// The tracepoint the event is written to.
    pub(crate) fn tracepoint(&self) -> &Tracepoint {
        match self {
            Target::Level { set, level } => &set.levels[*level],
            Target::Single(tracepoint) => tracepoint,
        }
    }
}

/// An encoded event waiting for the flush thread.
pub(crate) struct QueuedEvent {
    pub target: Target,
    /// The finished event, with its descriptor (level, opcode, id, activity ids): the flush
    /// thread writes `buf.finished()` exactly as the emitting thread would have.
    pub buf: EventBuf,
    /// Whether it was cut to fit.
    pub truncated: bool,
    /// What it counts as: 1 event, or the number of metric data points it carries.
    pub weight: u64,
}

/// What the flush thread does with each event: `late` is true once the shutdown deadline
/// passed (the event must then be counted, not written).
pub(crate) type WriteFn = Box<dyn FnMut(&QueuedEvent, bool) + Send>;

/// The queued writer a processor owns.
pub(crate) struct Queued {
    channel: Arc<Channel<QueuedEvent>>,
    pool: Arc<BoundedQueue<EventBuf>>,
    when_full: WhenFull,
    shutdown_deadline: Duration,
    /// Set when shutdown begins: past it, the flush thread counts instead of writing.
    deadline: Arc<Mutex<Option<Instant>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Queued {
    /// Starts the flush thread. `write` is called on it for every event.
    pub(crate) fn start(options: &QueueOptions, mut write: WriteFn) -> std::io::Result<Self> {
        let channel = Arc::new(Channel::new(options.capacity));
        // Room for every queued event plus a few being encoded: steady state allocates nothing.
        let pool = Arc::new(BoundedQueue::new(options.capacity + 64));
        let deadline: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        let thread = {
            let (channel, pool, deadline) = (channel.clone(), pool.clone(), deadline.clone());
            std::thread::Builder::new()
                .name(options.thread_name.clone())
                .spawn(move || {
                    channel.run(
                        |event: QueuedEvent| {
                            let late = channel.is_closed()
                                && deadline.lock().is_some_and(|d| Instant::now() > d);
                            write(&event, late);
                            let _ = pool.push(event.buf);
                        },
                        Duration::from_millis(50),
                    )
                })?
        };
        Ok(Queued {
            channel,
            pool,
            when_full: options.when_full,
            shutdown_deadline: options.shutdown_deadline,
            deadline,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A buffer to encode into, from the pool (allocated only while the pool warms up).
    pub(crate) fn take_buf(&self) -> EventBuf {
        self.pool.pop().unwrap_or_default()
    }

    /// Returns a buffer that was not queued.
    pub(crate) fn recycle(&self, buf: EventBuf) {
        let _ = self.pool.push(buf);
    }

    /// Queues `event`, applying the full-queue policy. On refusal the buffer goes back to the
    /// pool and the reason to count (for the event's weight) is returned.
    pub(crate) fn send(&self, event: QueuedEvent, counters: &Counters) -> Result<(), DropReason> {
        let mut event = event;
        let mut waited_since: Option<Instant> = None;
        loop {
            match self.channel.send(event) {
                Ok(()) => {
                    // The queue held at least this event, even if the flush thread took it already.
                    counters.queue_len(self.channel.len().max(1));
                    return Ok(());
                }
                Err(Refused::Closed(back)) => {
                    self.recycle(back.buf);
                    return Err(DropReason::AfterShutdown);
                }
                Err(Refused::Full(back)) => {
                    let WhenFull::Block { timeout } = self.when_full else {
                        self.recycle(back.buf);
                        return Err(DropReason::QueueFull);
                    };
                    let since = *waited_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= timeout {
                        self.recycle(back.buf);
                        return Err(DropReason::QueueFull);
                    }
                    std::thread::sleep(Duration::from_micros(50));
                    event = back;
                }
            }
        }
    }

    /// Waits until every event queued before the call was written (or counted).
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        self.channel.flush(timeout)
    }

    /// Refuses new events, writes what is queued until the shutdown deadline (counting the
    /// rest), and stops the flush thread. Idempotent.
    pub(crate) fn shutdown(&self) {
        *self.deadline.lock() = Some(Instant::now() + self.shutdown_deadline);
        self.channel.close();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Queued {
    /// Dropping a processor without shutdown still drains its queue (within the deadline).
    fn drop(&mut self) {
        self.shutdown();
    }
}
