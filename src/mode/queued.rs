//! Queued mode: the channel and the flush thread (the buffers are in `buffers.rs`).
//!
//! What an emitting thread touches per event, and why none of it is a cache line the flush
//! thread writes per event:
//!
//! - a buffer from its own thread-local spares, no atomic at all (see `buffers.rs`, which
//!   also bounds their memory);
//! - the set's place in an append-only registry ([`Sets`]), read-only once filled, instead
//!   of an `Arc` clone (incremented here, decremented by the flush thread);
//! - the channel's push, one fence and two read-mostly flags (see `channel.rs`);
//! - its own side of the counters (`stats.rs`).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::sink::Tracepoint;
use crate::state::{TracepointSet, MAX_KEYWORDS};
use crate::stats::Counters;
use crate::stats::DropReason;
use crate::sync::Arc;

use super::buffers::{bytes, Buf, Pool, MAX_SPARES};
use super::channel::{Channel, FlushError, Refused};
use super::{QueueOptions, WhenFull};

/// Where a queued event goes.
pub(crate) enum Target {
    /// Level `level` (index 0..5) of the set at `index` of the queue's [`Sets`].
    Level { index: u32, level: u8 },
    /// A set the registry could not name (not expected: a writer serves one provider),
    /// kept alive by the event.
    Set { set: Arc<TracepointSet>, level: u8 },
    /// A tracepoint of its own (metrics' `otlp_metrics`: one event per many data points).
    Single(Arc<Tracepoint>),
}

/// An encoded event waiting for the flush thread: 32 bytes, so that a queue slot (with its
/// stamp) takes well under a cache line.
pub(crate) struct QueuedEvent {
    pub target: Target,
    /// The finished event, with its descriptor (level, opcode, id, activity ids): the flush
    /// thread writes `buf.finished()` exactly as the emitting thread would have. Boxed, so
    /// that a buffer moves as one pointer.
    pub buf: Box<Buf>,
    /// What it counts as: 1 event, or the number of metric data points it carries (at most
    /// an event's bytes, so far below `u32::MAX`).
    pub weight: u32,
    /// Whether it was cut to fit.
    pub truncated: bool,
}

/// What the flush thread does with each event, given its tracepoint: `late` is true once
/// the shutdown deadline passed (the event must then be counted, not written).
pub(crate) type WriteFn = Box<dyn FnMut(&Tracepoint, &QueuedEvent, bool) + Send>;

/// The tracepoint sets queued events name by index: slot `i` holds the provider's set
/// whose `index` is `i`, filled by the first event sent to it and never changed. The flush
/// thread finds it filled: the emitting thread filled it before pushing the event.
struct Sets(Box<[OnceLock<Arc<TracepointSet>>]>);

impl Sets {
    fn new() -> Self {
        Sets((0..MAX_KEYWORDS).map(|_| OnceLock::new()).collect())
    }

    /// How an event for `set` names it: by index once the slot holds this very set.
    #[inline]
    fn target(&self, set: &Arc<TracepointSet>, level: u8) -> Target {
        if let Some(slot) = self.0.get(set.index) {
            let held = slot.get_or_init(|| set.clone());
            if Arc::ptr_eq(held, set) {
                return Target::Level {
                    index: set.index as u32,
                    level,
                };
            }
        }
        Target::Set {
            set: set.clone(),
            level,
        }
    }

    fn tracepoint<'a>(&'a self, target: &'a Target) -> &'a Tracepoint {
        match target {
            Target::Level { index, level } => {
                // Filled before the event was pushed (see `target`).
                let set = self.0[*index as usize]
                    .get()
                    .expect("a queued event's set is registered");
                &set.levels[usize::from(*level)]
            }
            Target::Set { set, level } => &set.levels[usize::from(*level)],
            Target::Single(tracepoint) => tracepoint,
        }
    }
}

/// The queued writer a processor owns. Emitting threads read it on every event, so it is
/// aligned to, and padded out to, whole cache-line pairs: whatever holds it (the processor's
/// shared state) then shares no line with a neighbouring allocation that another thread
/// writes. (Measured with `perf annotate` on the host bench: without it, the first load
/// from this struct on each event was a cache miss while the flush thread was busy.)
#[repr(align(128))]
pub(crate) struct Queued {
    channel: Arc<Channel<QueuedEvent>>,
    pool: std::sync::Arc<Pool>,
    sets: std::sync::Arc<Sets>,
    /// Where a flush that rescues events (racing shutdown) counts them.
    counters: Arc<Counters>,
    capacity: usize,
    when_full: WhenFull,
    shutdown_deadline: Duration,
    /// Set when shutdown begins: past it, the flush thread counts instead of writing.
    deadline: Arc<Mutex<Option<Instant>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Queued {
    /// Starts the flush thread. `write` is called on it for every event; it raises the
    /// queue's high-water mark in `counters`.
    pub(crate) fn start(
        options: &QueueOptions,
        counters: Arc<Counters>,
        mut write: WriteFn,
    ) -> std::io::Result<Self> {
        let channel = Arc::new(Channel::new(options.capacity));
        // Room for every queued event plus every thread's spares (REFILL each, typically).
        let pool = std::sync::Arc::new(Pool::new(
            options.capacity + 4 * MAX_SPARES,
            options.max_bytes.max(super::MIN_QUEUE_BYTES),
        ));
        let sets = std::sync::Arc::new(Sets::new());
        let deadline: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        let thread = {
            let (channel, pool, sets, deadline, counters) = (
                channel.clone(),
                pool.clone(),
                sets.clone(),
                deadline.clone(),
                counters.clone(),
            );
            std::thread::Builder::new()
                .name(options.thread_name.clone())
                .spawn(move || {
                    channel.run_observed(
                        |event: QueuedEvent| {
                            let late = channel.is_closed()
                                && deadline.lock().is_some_and(|d| Instant::now() > d);
                            write(sets.tracepoint(&event.target), &event, late);
                            pool.put(event.buf);
                        },
                        |len| counters.queue_len(len),
                        Duration::from_millis(50),
                    )
                })?
        };
        Ok(Queued {
            channel,
            pool,
            sets,
            counters,
            capacity: options.capacity,
            when_full: options.when_full,
            shutdown_deadline: options.shutdown_deadline,
            deadline,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A buffer to encode into, and the bytes it was counted with (see
    /// [`Pool::take_buf`]), for [`send`](Self::send) or [`recycle`](Self::recycle).
    #[inline]
    pub(crate) fn take_buf(&self) -> (Box<Buf>, usize) {
        self.pool.take_buf()
    }

    /// Gives back a buffer that was not queued, counted with `before` bytes.
    pub(crate) fn recycle(&self, buf: Box<Buf>, before: usize) {
        self.pool.recycle(buf, before);
    }

    /// Keeps an accounted-for buffer in this thread's spares, or the pool.
    fn keep(&self, buf: Box<Buf>) {
        self.pool.keep(buf);
    }

    /// How an event for `set` at `level` names its tracepoint (no `Arc` clone once the
    /// set is known).
    #[inline]
    pub(crate) fn target(&self, set: &Arc<TracepointSet>, level: usize) -> Target {
        self.sets.target(set, level as u8)
    }

    /// Queues `event`, whose buffer was counted with `before` bytes, applying the byte
    /// budget and the full-queue policy. On refusal the buffer goes back (or is freed, over
    /// budget) and the reason to count (for the event's weight) is returned.
    pub(crate) fn send(
        &self,
        mut event: QueuedEvent,
        before: usize,
        counters: &Counters,
    ) -> Result<(), DropReason> {
        if !self.pool.resize(before, bytes(&event.buf)) {
            return Err(DropReason::QueueBytes);
        }
        let rescued = |late: QueuedEvent| {
            counters.dropped_n(DropReason::AfterShutdown, late.weight.into());
            self.keep(late.buf);
        };
        let mut waited_since: Option<Instant> = None;
        loop {
            match self.channel.send(event, &rescued) {
                Ok(()) => return Ok(()),
                Err(Refused::Closed(back)) => {
                    self.keep(back.buf);
                    return Err(DropReason::AfterShutdown);
                }
                Err(Refused::Full(back)) => {
                    counters.queue_len(self.capacity);
                    let WhenFull::Block { timeout } = self.when_full else {
                        self.keep(back.buf);
                        return Err(DropReason::QueueFull);
                    };
                    let since = *waited_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= timeout {
                        self.keep(back.buf);
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
        self.channel.flush(timeout, |late: QueuedEvent| {
            self.counters
                .dropped_n(DropReason::AfterShutdown, late.weight.into());
            self.keep(late.buf);
        })
    }

    /// Bytes held by this processor's buffers: queued, pooled, spare, being encoded.
    pub(crate) fn held_bytes(&self) -> usize {
        self.pool.held()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mode::buffers::REFILL;
    use crate::mode::{Mode, Writer, MIN_QUEUE_BYTES};
    use crate::sink::{CaptureSink, Definition, Sink};

    fn tracepoint(capture: &CaptureSink) -> Arc<Tracepoint> {
        let provider = Sink::Capture(capture.clone()).open("qbytes", None);
        Arc::new(Tracepoint::register(
            &provider,
            Definition {
                name: "qbytes_L4K1".into(),
                fields: None,
                level: 4,
                keyword: 1,
            },
        ))
    }

    /// Writes one raw payload of `len` bytes, counted accepted as the metrics exporter does.
    fn write(writer: &Writer, counters: &Counters, tp: &Arc<Tracepoint>, len: usize) {
        counters.accepted_n(1);
        writer.write_payload(counters, tp, 1, |buf| {
            buf.start_raw_payload().resize(len, 7)
        });
    }

    #[test]
    fn a_queued_event_fits_well_under_a_cache_line() {
        assert!(std::mem::size_of::<QueuedEvent>() <= 32);
        assert_eq!(std::mem::align_of::<Buf>(), 64);
    }

    #[test]
    fn the_byte_budget_caps_a_burst_and_memory_returns_after_it() {
        let capture = CaptureSink::new();
        // A stalled kernel: the flush thread waits in its first write, so the burst meets
        // the budget on any machine (a slow writer would race a slow VM's caller).
        capture.hold_writes(true);
        let tp = tracepoint(&capture);
        let counters = Arc::new(Counters::new());
        let mode = Mode::Queued(QueueOptions {
            max_bytes: MIN_QUEUE_BYTES,
            ..QueueOptions::default()
        });
        let writer = Writer::new(&mode, &counters).unwrap();
        let mut most = 0;
        for _ in 0..300 {
            write(&writer, &counters, &tp, 8000);
            let held = writer.queued_bytes().unwrap();
            assert!(held <= MIN_QUEUE_BYTES, "{held} bytes held");
            most = most.max(held);
        }
        assert!(
            most > MIN_QUEUE_BYTES / 2,
            "the burst filled the budget: {most}"
        );
        capture.hold_writes(false);
        writer.flush().unwrap();
        let stats = counters.snapshot();
        assert_eq!(stats.accepted, 300);
        assert_eq!(stats.written + stats.dropped_total(), 300, "{stats:?}");
        assert!(stats.dropped(DropReason::QueueBytes) > 0, "{stats:?}");
        assert_eq!(stats.dropped(DropReason::QueueBytes), stats.dropped_total());
        assert_eq!(capture.events().len() as u64, stats.written);
        // Buffers are pooled only up to an eighth of the budget; the rest were freed.
        let rest = writer.queued_bytes().unwrap();
        assert!(rest <= MIN_QUEUE_BYTES / 8, "{rest} bytes still held");
        writer.shutdown();
    }

    #[test]
    fn small_events_hold_no_more_than_what_is_in_flight() {
        let capture = CaptureSink::new();
        let tp = tracepoint(&capture);
        let counters = Arc::new(Counters::new());
        let writer = Writer::new(&Mode::Queued(QueueOptions::default()), &counters).unwrap();
        // At most every event of a round queued at once, plus this thread's spares and
        // one refill, each buffer holding 100 bytes and itself.
        let bound = (500 + MAX_SPARES + REFILL) * (100 + std::mem::size_of::<Buf>());
        for _ in 0..20 {
            for _ in 0..500 {
                write(&writer, &counters, &tp, 100);
            }
            writer.flush().unwrap();
            let held = writer.queued_bytes().unwrap();
            assert!(held <= bound, "{held} bytes held");
            assert!(held >= 100, "the buffers are kept for reuse");
            let pooled = writer.queued().unwrap().pool.pooled();
            assert!(pooled <= held && pooled <= QueueOptions::default().max_bytes / 8);
        }
        let stats = counters.snapshot();
        assert_eq!(stats.written, 10_000, "{stats:?}");
        writer.shutdown();
    }
}
