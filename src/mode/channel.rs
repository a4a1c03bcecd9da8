//! The queue between emitting threads and the one flush thread, with the two guarantees
//! queued mode promises, in code small enough to model-check (see `loom-tests/`):
//!
//! - **shutdown loses nothing silently:** one atomic word holds both the `CLOSED` bit and the
//!   number of producers between their closed-check and the end of their push. A producer
//!   adds itself and learns whether the channel is closed in the same read-modify-write; the
//!   flush thread finishes only when the word is exactly `CLOSED` (closed, and nobody
//!   pushing), then drains one last time. A producer that comes later sees `CLOSED` and gets
//!   its item back, to count. Keeping both in one word makes every step a read-modify-write
//!   of one location, correct under acquire/release alone (two separate flags were not, and
//!   loom found the interleaving). Without the count, an item pushed after the final drain
//!   would sit in the queue forever.
//! - **`flush` waits for everything accepted before it:** it sends a marker through the same
//!   FIFO and waits for the flush thread to reach it.
//!
//! Wake-ups: the flush thread sleeps when the queue is empty (after a burst, only once a few
//! yields found nothing more), after setting `sleeping`; a producer wakes it only when
//! `sleeping` is set, so a busy flush thread costs producers one fence and one load. Both sides fence (SeqCst) between their write and their read, so one
//! of them always sees the other: no lost wake-up.

use std::time::{Duration, Instant};

use crate::sync::{
    fence, park_timeout, thread, Arc, AtomicBool, AtomicUsize, BoundedQueue, Condvar, Mutex,
    Ordering::SeqCst, ThreadSlot,
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
    /// [`CLOSED`] plus [`ENTERING`] per producer (or flusher) between its check and the end
    /// of its push.
    gate: AtomicUsize,
    sleeping: AtomicBool,
    flusher: ThreadSlot,
}

/// How many times the flush thread yields, looking for more, before it sleeps (once under
/// the model checker, which explores every interleaving of each look).
#[cfg(not(otel_os_events_loom))]
const IDLE_SPINS: usize = 64;
#[cfg(otel_os_events_loom)]
const IDLE_SPINS: usize = 1;

/// The closed bit of [`Channel::gate`].
const CLOSED: usize = 1;
/// One producer in [`Channel::gate`].
const ENTERING: usize = 2;

impl<T> Channel<T> {
    /// A channel holding at most `capacity` items (and flush markers), at least 1.
    pub fn new(capacity: usize) -> Self {
        Channel {
            queue: BoundedQueue::new(capacity.max(1)),
            gate: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            flusher: ThreadSlot::default(),
        }
    }

    /// Items in the queue now.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.gate.load(SeqCst) & CLOSED != 0
    }

    /// Pushes `slot` unless the channel is closed, counted in the gate meanwhile.
    fn enter(&self, slot: Slot<T>) -> Entered<T> {
        let closed = self.gate.fetch_add(ENTERING, SeqCst) & CLOSED != 0;
        let result = if closed {
            Entered::Closed(slot)
        } else {
            match self.queue.push(slot) {
                Ok(()) => Entered::Pushed,
                Err(slot) => Entered::Full(slot),
            }
        };
        self.gate.fetch_sub(ENTERING, SeqCst);
        result
    }

    /// Queues `item`, or hands it back if the queue is full or the channel closed.
    pub fn send(&self, item: T) -> Result<(), Refused<T>> {
        match self.enter(Slot::Item(item)) {
            Entered::Pushed => {
                self.wake_if_sleeping();
                Ok(())
            }
            Entered::Full(Slot::Item(back)) => Err(Refused::Full(back)),
            Entered::Closed(Slot::Item(back)) => Err(Refused::Closed(back)),
            // We pushed an Item, so an Item comes back.
            Entered::Full(Slot::Flush(_)) | Entered::Closed(Slot::Flush(_)) => Ok(()),
        }
    }

    /// Returns once every item sent before this call has been handed to the flush thread's
    /// handler, or `timeout` passed. After close, returns at once: shutdown drains.
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        let deadline = Instant::now() + timeout;
        let marker = Arc::new(FlushMarker {
            done: Mutex::new(false),
            cv: Condvar::new(),
        });
        loop {
            match self.enter(Slot::Flush(marker.clone())) {
                Entered::Closed(_) => return Ok(()),
                Entered::Pushed => break,
                Entered::Full(_) if Instant::now() >= deadline => return Err(FlushError::Timeout),
                Entered::Full(_) => {
                    self.flusher.unpark();
                    thread::yield_now();
                }
            }
        }
        self.flusher.unpark();
        if marker.wait(deadline.saturating_duration_since(Instant::now())) {
            Ok(())
        } else {
            Err(FlushError::Timeout)
        }
    }

    fn wake_if_sleeping(&self) {
        fence(SeqCst);
        if self.sleeping.load(SeqCst) {
            self.flusher.unpark();
        }
    }

    /// Refuses items from now on and wakes the flush thread to drain and finish.
    pub fn close(&self) {
        self.gate.fetch_or(CLOSED, SeqCst);
        self.flusher.unpark();
    }

    /// Hands every queued item to `handle` (and completes flush markers). Returns how many.
    fn drain(&self, handle: &mut impl FnMut(T)) -> usize {
        let mut n = 0;
        while let Some(slot) = self.queue.pop() {
            match slot {
                Slot::Item(item) => {
                    handle(item);
                    n += 1;
                }
                Slot::Flush(marker) => marker.complete(),
            }
        }
        n
    }

    /// Yields up to [`IDLE_SPINS`] times; true as soon as something is queued or the channel
    /// closes.
    fn more_soon(&self) -> bool {
        for _ in 0..IDLE_SPINS {
            thread::yield_now();
            if !self.queue.is_empty() || self.is_closed() {
                return true;
            }
        }
        false
    }

    /// True when the flush thread may finish: closed, and no producer can still push.
    /// `--cfg otel_os_events_loom_broken` drops the second condition on purpose, so that
    /// loom-tests can show the models catch the race it guards against.
    fn finished(&self) -> bool {
        let gate = self.gate.load(SeqCst);
        if cfg!(otel_os_events_loom_broken) {
            gate & CLOSED != 0
        } else {
            gate == CLOSED
        }
    }

    /// The flush thread's loop: hands items to `handle` until the channel is closed and
    /// drained. `idle` bounds each sleep (a safety net; producers wake it when it sleeps).
    pub fn run(&self, mut handle: impl FnMut(T), idle: Duration) {
        self.flusher.set(thread::current());
        loop {
            let drained = self.drain(&mut handle);
            if self.finished() {
                // Producers that entered before `closed` have pushed by now.
                self.drain(&mut handle);
                return;
            }
            if self.is_closed() {
                // Closed, but a producer is mid-push: let it finish.
                thread::yield_now();
                continue;
            }
            // After a burst more is usually on its way: look again a few times before
            // sleeping, so busy producers rarely pay for waking this thread.
            if drained > 0 && self.more_soon() {
                continue;
            }
            self.sleeping.store(true, SeqCst);
            fence(SeqCst);
            if self.queue.is_empty() && !self.is_closed() {
                park_timeout(idle);
            }
            self.sleeping.store(false, SeqCst);
        }
    }
}
