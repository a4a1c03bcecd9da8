//! The queue between emitting threads and the one flush thread, with the two guarantees
//! queued mode promises, in code small enough to model-check (see `loom-tests/`):
//!
//! - **shutdown loses nothing silently:** an item is either refused (handed back, to be
//!   counted), or written by the flush thread, or handed back *later* to a producer that
//!   rescues it, to be counted; nothing stays in the queue. A producer first looks at
//!   `closed` (a plain load of a line written once), then pushes, then — after a SeqCst
//!   fence — looks at `finished`. The flush thread, once it sees `closed`, sets `finished`,
//!   fences, and drains one last time. The two fences order the two sides: either the
//!   flush thread's last drain comes after the push and takes the item, or the producer's
//!   look comes after `finished` was set, and the producer drains the queue itself
//!   ([`Channel::send`]'s `rescued`). Both may happen; each item is popped once. Without
//!   the second look an item pushed after the last drain would sit in the queue forever
//!   (`--cfg otel_os_events_loom_broken` drops it, and the models catch that at once).
//!
//!   This replaced a gate word that every push raised and lowered (two read-modify-writes
//!   per event on a line the spinning flush thread polled): a producer now only reads
//!   lines the flush thread writes once per run, plus its push and one fence.
//! - **`flush` waits for everything accepted before it:** it sends a marker through the same
//!   FIFO and waits for the flush thread (or a rescuing producer) to reach it.
//!
//! Wake-ups: the flush thread sleeps when the queue is empty (after a burst, only once a few
//! looks, a pause apart, found nothing more), after setting `sleeping`; a producer wakes it only when
//! `sleeping` is set, so a busy flush thread costs producers the fence and one load. Both
//! sides fence (SeqCst) between their write and their read, so one of them always sees the
//! other: no lost wake-up. The producer's one fence serves both handshakes.
//!
//! Layout: `closed`, `finished` and the flush thread's handle share cache lines that are
//! written once per run; `sleeping`, which the flush thread writes around every sleep, has
//! lines of its own.

use std::time::{Duration, Instant};

use crate::sync::{
    fence, thread, Arc, AtomicBool, BoundedQueue, CachePadded, Condvar, Mutex, Ordering::SeqCst,
    ThreadSlot,
};

/// What travels through the queue.
enum Slot<T> {
    Item(T),
    Flush(Arc<FlushMarker>),
}

/// Why [`Channel::send`] handed the item back.
pub enum Refused<T> {
    /// The queue is full.
    Full(T),
    /// The channel is closed (shut down).
    Closed(T),
}

/// Why [`Channel::flush`] did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushError {
    /// The flush thread did not reach the marker in time.
    Timeout,
}

/// A flush request: set when the flush thread reaches it.
struct FlushMarker {
    done: Mutex<bool>,
    cv: Condvar,
}

impl FlushMarker {
    fn complete(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            done = match self.cv.wait_timeout(done, left) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
        true
    }
}

/// What [`Channel::enter`] did with a slot.
enum Entered<T> {
    /// It is in the queue.
    Pushed,
    /// The queue is full: here it is back.
    Full(Slot<T>),
    /// The channel is closed: here it is back.
    Closed(Slot<T>),
}

/// A bounded multi-producer queue drained by one flush thread.
pub struct Channel<T> {
    queue: BoundedQueue<Slot<T>>,
    /// Written once per run, read by every push.
    flags: CachePadded<Flags>,
    /// Set while the flush thread sleeps (or is about to).
    sleeping: CachePadded<AtomicBool>,
}

/// The read-mostly part of a [`Channel`].
struct Flags {
    /// Set by [`Channel::close`]: producers are refused from now on.
    closed: AtomicBool,
    /// Set by the flush thread just before its last drain: a producer whose push comes
    /// later must take the queue's items back itself.
    finished: AtomicBool,
    flusher: ThreadSlot,
}

/// How many empty looks, a [`pause`] apart, the flush thread makes before it sleeps (once
/// under the model checker, which explores every interleaving of each look).
#[cfg(not(otel_os_events_loom))]
const IDLE_SPINS: usize = 64;
#[cfg(otel_os_events_loom)]
const IDLE_SPINS: usize = 1;

/// A drain of fewer slots than this means the flush thread caught up with the producers: it
/// pauses before looking again.
const CAUGHT_UP: usize = 32;

/// The flush thread reports the queue's length every this many items of one drain.
const OBSERVE_EVERY: usize = 64;

/// How long the flush thread waits, after yielding, before it looks at an empty queue
/// again. Each look reads the queue's tail, the line every push writes: looking as fast as
/// it can would make the pushing thread wait for that line on nearly every event, while
/// looking every few microseconds lets a busy producer push a run of events between looks,
/// and delays a write by no more than that.
#[cfg(not(otel_os_events_loom))]
const PACE: Duration = Duration::from_micros(20);

/// Yields, then waits out [`PACE`] without touching shared memory.
#[cfg(not(otel_os_events_loom))]
fn pause() {
    thread::yield_now();
    let until = Instant::now() + PACE;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Under the model checker: a yield (time means nothing there).
#[cfg(otel_os_events_loom)]
fn pause() {
    thread::yield_now();
}

impl<T> Channel<T> {
    /// A channel holding at most `capacity` items (and flush markers), at least 1.
    pub fn new(capacity: usize) -> Self {
        Channel {
            queue: BoundedQueue::new(capacity.max(1)),
            flags: CachePadded::new(Flags {
                closed: AtomicBool::new(false),
                finished: AtomicBool::new(false),
                flusher: ThreadSlot::default(),
            }),
            sleeping: CachePadded::new(AtomicBool::new(false)),
        }
    }

    /// Items in the queue now (for tests and the flush thread: producers never ask).
    #[cfg_attr(not(otel_os_events_loom), allow(dead_code))] // the loom models use it
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is queued.
    #[cfg_attr(not(otel_os_events_loom), allow(dead_code))] // the loom models use it
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.flags.closed.load(SeqCst)
    }

    /// Pushes `slot` unless the channel is closed or full. After the push, takes back
    /// everything queued (handing items to `rescued`) if the flush thread already made its
    /// last drain, or wakes it if it sleeps.
    fn enter(&self, slot: Slot<T>, rescued: &mut impl FnMut(T)) -> Entered<T> {
        if self.flags.closed.load(SeqCst) {
            return Entered::Closed(slot);
        }
        if let Err(slot) = self.queue.push(slot) {
            return Entered::Full(slot);
        }
        // Orders the push before the two looks below, against the flush thread's fences
        // (after `finished`, after `sleeping`): one side always sees the other.
        fence(SeqCst);
        if self.flags.finished.load(SeqCst) {
            // `--cfg otel_os_events_loom_broken` forgets this, on purpose: the shutdown
            // model must then find an accepted item that was never written.
            if !cfg!(otel_os_events_loom_broken) {
                self.rescue(rescued);
            }
        } else if self.sleeping.load(SeqCst) {
            self.flags.flusher.unpark();
        }
        Entered::Pushed
    }

    /// Takes everything queued back (the flush thread is gone, or about to be): items to
    /// `rescued`, flush markers completed.
    fn rescue(&self, rescued: &mut impl FnMut(T)) {
        while let Some(slot) = self.queue.pop() {
            match slot {
                Slot::Item(item) => rescued(item),
                Slot::Flush(marker) => marker.complete(),
            }
        }
    }

    /// Queues `item`, or hands it back if the queue is full or the channel closed.
    ///
    /// `rescued` receives items this call took back from the queue because they were pushed
    /// after the flush thread's last drain (this one's, or others' racing shutdown): each
    /// must be counted as not written. It is called only while shutdown races producers.
    pub fn send(&self, item: T, mut rescued: impl FnMut(T)) -> Result<(), Refused<T>> {
        match self.enter(Slot::Item(item), &mut rescued) {
            Entered::Pushed => Ok(()),
            Entered::Full(Slot::Item(back)) => Err(Refused::Full(back)),
            Entered::Closed(Slot::Item(back)) => Err(Refused::Closed(back)),
            // We pushed an Item, so an Item comes back.
            Entered::Full(Slot::Flush(_)) | Entered::Closed(Slot::Flush(_)) => Ok(()),
        }
    }

    /// Returns once every item sent before this call has been handed to the flush thread's
    /// handler (or to a `rescued` of [`send`](Self::send) or of this call), or `timeout`
    /// passed. After close, returns at once: shutdown drains.
    pub fn flush(&self, timeout: Duration, mut rescued: impl FnMut(T)) -> Result<(), FlushError> {
        let deadline = Instant::now() + timeout;
        let marker = Arc::new(FlushMarker {
            done: Mutex::new(false),
            cv: Condvar::new(),
        });
        loop {
            match self.enter(Slot::Flush(marker.clone()), &mut rescued) {
                Entered::Closed(_) => return Ok(()),
                Entered::Pushed => break,
                Entered::Full(_) if Instant::now() >= deadline => return Err(FlushError::Timeout),
                Entered::Full(_) => {
                    self.flags.flusher.unpark();
                    thread::yield_now();
                }
            }
        }
        self.flags.flusher.unpark();
        if marker.wait(deadline.saturating_duration_since(Instant::now())) {
            Ok(())
        } else {
            Err(FlushError::Timeout)
        }
    }

    /// Refuses items from now on and wakes the flush thread to drain and finish.
    pub fn close(&self) {
        self.flags.closed.store(true, SeqCst);
        self.flags.flusher.unpark();
    }

    /// Hands queued items to `handle` (and completes flush markers): those queued when it
    /// looked (`all`: until the queue is empty), telling `observe` how many items (not
    /// markers) were queued then, and the queue's length every [`OBSERVE_EVERY`] slots.
    /// Returns how many slots it took.
    ///
    /// Taking only what was there keeps the flush thread from chasing a producer slot by
    /// slot, on the very cache lines that producer is writing.
    fn drain(
        &self,
        handle: &mut impl FnMut(T),
        observe: &mut impl FnMut(usize),
        all: bool,
    ) -> usize {
        let queued = self.queue.len();
        let mut popped = 0usize;
        // Flush markers among the slots that were there when it looked: not events.
        let mut markers = 0usize;
        while all || popped < queued {
            if popped > 0 && popped % OBSERVE_EVERY == 0 {
                observe(self.queue.len() + 1);
            }
            let Some(slot) = self.queue.pop() else {
                break;
            };
            popped += 1;
            match slot {
                Slot::Item(item) => handle(item),
                Slot::Flush(marker) => {
                    markers += usize::from(popped <= queued);
                    marker.complete();
                }
            }
        }
        let items = queued.min(popped) - markers;
        if items > 0 {
            observe(items);
        }
        popped
    }

    /// The flush thread's loop: hands items to `handle` until the channel is closed and
    /// drained. `idle` bounds each sleep (a safety net; producers wake it when it sleeps).
    #[cfg_attr(not(otel_os_events_loom), allow(dead_code))] // the loom models use it
    pub fn run(&self, mut handle: impl FnMut(T), idle: Duration) {
        self.run_observed(&mut handle, |_| {}, idle)
    }

    /// [`run`](Self::run), telling `observe` the queue's length now and then (for the
    /// high-water mark: the producers never read it).
    pub fn run_observed(
        &self,
        mut handle: impl FnMut(T),
        mut observe: impl FnMut(usize),
        idle: Duration,
    ) {
        self.flags.flusher.set(thread::current());
        // Empty looks left before sleeping: none until a look finds something.
        let mut looks_left = 0;
        loop {
            let popped = self.drain(&mut handle, &mut observe, false);
            if self.is_closed() {
                // No producer passes its `closed` check from now on; one that passed it
                // earlier and pushes after the drain below sees `finished` and rescues.
                self.flags.finished.store(true, SeqCst);
                fence(SeqCst);
                self.drain(&mut handle, &mut observe, true);
                return;
            }
            if popped >= CAUGHT_UP {
                // Behind the producers: keep writing.
                looks_left = IDLE_SPINS;
                continue;
            }
            if popped > 0 {
                looks_left = IDLE_SPINS;
            }
            // Caught up, or idle. After a burst more is usually on its way: look again a few
            // times, a pause apart, before sleeping, so busy producers rarely pay for
            // waking this thread and push runs of events between looks.
            if looks_left > 0 {
                looks_left -= 1;
                pause();
                continue;
            }
            self.sleeping.store(true, SeqCst);
            fence(SeqCst);
            if self.queue.is_empty() && !self.is_closed() {
                self.flags.flusher.park_timeout(idle);
            }
            self.sleeping.store(false, SeqCst);
        }
    }
}
