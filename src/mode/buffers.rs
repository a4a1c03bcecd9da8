//! Queued mode's event buffers: reused per thread, bounded in bytes.
//!
//! An emitting thread takes a buffer from its own thread-local spares ([`Spares`]): no
//! atomic at all. The spares are refilled [`REFILL`] at a time from the processor's
//! [`Pool`], into which the flush thread puts each buffer it has written. The flush thread
//! read each buffer last, so taking one also writes to the next spare ([`Buf::warm`]): its
//! cache lines move while this event is encoded, not when the next one starts. The byte
//! accounting ([`Pool::held`]) is touched only when a buffer's capacity changed, which
//! reused buffers rarely do.
//!
//! **Memory.** Every buffer of a processor counts in [`Pool::held`] with its capacity and
//! its own allocation, wherever it is: pooled, in a thread's spares, queued, being written.
//! A buffer may be made or grow only while `held` stays within
//! [`QueueOptions::max_bytes`](super::QueueOptions::max_bytes); an event whose buffer would
//! take it past is dropped ([`DropReason::QueueBytes`](crate::stats::DropReason::QueueBytes))
//! and its buffer freed. After writing, the flush thread pools a buffer only while the pool
//! holds under an eighth of the budget, and frees it otherwise, so memory returns towards
//! rest after a burst. Spares are kept per thread only for buffers of up to [`KEEP_SMALL`]
//! bytes, and a refill stops at the first bigger one.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::encode::EventBuf;
use crate::sync::{BoundedQueue, CachePadded};

/// An event buffer on cache lines of its own: the emitting thread writes it and the flush
/// thread reads it, so it should share no line with anything else either of them touches
/// (and span as few lines as its size allows: two).
///
/// `lead` and `trail` sit on its first and last cache line. A buffer comes back from the
/// flush thread, which read it last, so its lines are in that thread's cache: writing to
/// it would make the emitting thread wait for them. [`Buf::warm`] writes the two words of
/// the *next* spare buffer while this one is encoded, so that its lines are on their way
/// (the stores wait in the store buffer, not in the thread) and local by the time it is
/// used.
#[repr(C, align(64))]
#[derive(Default)]
pub(crate) struct Buf {
    lead: u64,
    event: EventBuf,
    trail: u64,
}

impl Buf {
    /// Asks for this buffer's cache lines ahead of use (see the type's docs).
    #[inline]
    fn warm(&mut self) {
        self.lead = self.lead.wrapping_add(1);
        self.trail = self.lead;
    }
}

impl std::ops::Deref for Buf {
    type Target = EventBuf;
    fn deref(&self) -> &EventBuf {
        &self.event
    }
}

impl std::ops::DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut EventBuf {
        &mut self.event
    }
}

/// Buffers of up to this capacity may be kept in a thread's spares.
pub(crate) const KEEP_SMALL: usize = 4096;
/// How many buffers a thread takes from the pool at once.
pub(super) const REFILL: usize = 16;
/// The most buffers a thread keeps for one processor.
pub(super) const MAX_SPARES: usize = 2 * REFILL;
/// The most processors a thread keeps spares for (the oldest are given back).
const MAX_POOLS: usize = 4;

/// The bytes a buffer holds: its capacity and its own allocation.
pub(super) fn bytes(buf: &Buf) -> usize {
    buf.capacity() + std::mem::size_of::<Buf>()
}

/// A processor's reusable buffers and the bytes all its buffers hold.
pub(crate) struct Pool {
    /// Buffers ready for encoding: put in by the flush thread, taken [`REFILL`] at a time.
    free: BoundedQueue<Box<Buf>>,
    /// The bytes ([`bytes`]) of every buffer of this processor, wherever it is (see the
    /// module docs). Changed only when a buffer is made, grows, shrinks or is freed.
    held: CachePadded<AtomicUsize>,
    /// Of `held`, what the buffers in `free` hold: at most an eighth of the budget (the
    /// flush thread raises it per buffer, a thread that refills lowers it once per refill).
    pooled: CachePadded<AtomicUsize>,
    /// [`QueueOptions::max_bytes`](super::QueueOptions::max_bytes).
    budget: usize,
}

impl Pool {
    pub(super) fn new(slots: usize, budget: usize) -> Self {
        Pool {
            free: BoundedQueue::new(slots),
            held: CachePadded::new(AtomicUsize::new(0)),
            pooled: CachePadded::new(AtomicUsize::new(0)),
            budget,
        }
    }

    /// Accounts a buffer going from `before` bytes to `after` (0 before: a new buffer).
    /// False if that would take [`held`](Self::held) past the budget: the buffer is then no
    /// longer counted at all, and the caller must free it.
    #[inline]
    pub(super) fn resize(&self, before: usize, after: usize) -> bool {
        if after == before {
            // The usual case (a reused buffer): no read-modify-write, which would also make
            // the caller wait here for its buffer's cache lines.
            return true;
        }
        if after < before {
            self.held.fetch_sub(before - after, Relaxed);
            return true;
        }
        let grow = after - before;
        if self.held.fetch_add(grow, Relaxed) + grow <= self.budget {
            return true;
        }
        self.held.fetch_sub(after, Relaxed);
        false
    }

    /// Frees `buf`, and its bytes from the accounting.
    fn free(&self, buf: Box<Buf>) {
        self.held.fetch_sub(bytes(&buf), Relaxed);
        drop(buf);
    }

    /// Pools `buf` while the pool holds under an eighth of the budget; frees it otherwise,
    /// so that after a burst memory returns towards rest.
    pub(super) fn put(&self, buf: Box<Buf>) {
        let size = bytes(&buf);
        if self.pooled.load(Relaxed) + size > self.budget / 8 {
            return self.free(buf);
        }
        self.pooled.fetch_add(size, Relaxed);
        if let Err(buf) = self.free.push(buf) {
            self.pooled.fetch_sub(size, Relaxed);
            self.free(buf);
        }
    }

    /// Moves up to `n` pooled buffers into `into`. A buffer over [`KEEP_SMALL`] ends the
    /// refill, last in `into`, so that the caller uses it at once: spares never park a big
    /// buffer, or a thread could keep a burst's memory after the burst.
    #[allow(clippy::vec_box)] // the boxes travel through the queues, one pointer each
    fn take(&self, n: usize, into: &mut Vec<Box<Buf>>) {
        let mut size = 0;
        for _ in 0..n {
            let Some(buf) = self.free.pop() else {
                break;
            };
            size += bytes(&buf);
            let big = buf.capacity() > KEEP_SMALL;
            into.push(buf);
            if big {
                break;
            }
        }
        if size > 0 {
            self.pooled.fetch_sub(size, Relaxed);
        }
    }

    /// A buffer to encode into: one of this thread's spares, refilled from the pool (a new
    /// one only while the pool warms up), and the bytes it was counted with, for
    /// queueing or [`recycle`](Self::recycle).
    #[inline]
    pub(super) fn take_buf(self: &std::sync::Arc<Self>) -> (Box<Buf>, usize) {
        let reused = with_spares(self, |spares| {
            if spares.bufs.is_empty() {
                self.take(REFILL, &mut spares.bufs);
            }
            let buf = spares.bufs.pop();
            if let Some(next) = spares.bufs.last_mut() {
                next.warm();
            }
            buf
        })
        .flatten()
        .or_else(|| {
            let mut one = Vec::new();
            self.take(1, &mut one);
            one.pop()
        });
        match reused {
            Some(buf) => {
                let size = bytes(&buf);
                (buf, size)
            }
            // Counted in full once encoded (see `Queued::send`).
            None => (Box::default(), 0),
        }
    }

    /// Gives back a buffer that was not queued, counted with `before` bytes.
    pub(super) fn recycle(self: &std::sync::Arc<Self>, buf: Box<Buf>, before: usize) {
        if !self.resize(before, bytes(&buf)) {
            return drop(buf);
        }
        self.keep(buf);
    }

    /// Keeps an accounted-for buffer in this thread's spares, or the pool.
    pub(super) fn keep(self: &std::sync::Arc<Self>, buf: Box<Buf>) {
        if buf.capacity() > KEEP_SMALL {
            return self.put(buf);
        }
        let mut buf = Some(buf);
        with_spares(self, |spares| {
            if spares.bufs.len() < MAX_SPARES {
                spares.bufs.extend(buf.take());
            }
        });
        if let Some(buf) = buf {
            self.put(buf);
        }
    }

    /// Bytes held by this processor's buffers (see [`held`](Self::held)).
    pub(crate) fn held(&self) -> usize {
        self.held.load(Relaxed)
    }

    /// Bytes held by the pooled buffers (see [`pooled`](Self::pooled)).
    #[cfg(test)]
    pub(crate) fn pooled(&self) -> usize {
        self.pooled.load(Relaxed)
    }
}

/// One thread's spare buffers for one processor.
struct Spares {
    pool: std::sync::Arc<Pool>,
    #[allow(clippy::vec_box)] // the boxes travel through the queues, one pointer each
    bufs: Vec<Box<Buf>>,
}

impl Drop for Spares {
    /// The thread ends, or stops using this processor: its spares go back to the pool.
    fn drop(&mut self) {
        for buf in self.bufs.drain(..) {
            self.pool.put(buf);
        }
    }
}

thread_local! {
    /// This thread's spares, per processor (most recently added last).
    static SPARES: RefCell<Vec<Spares>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's spares for `pool` (made on first use); `None` while the thread
/// ends, or if `f` is already running on this thread.
#[inline]
fn with_spares<R>(pool: &std::sync::Arc<Pool>, f: impl FnOnce(&mut Spares) -> R) -> Option<R> {
    SPARES
        .try_with(|all| {
            let mut all = all.try_borrow_mut().ok()?;
            let i = match all
                .iter()
                .position(|s| std::sync::Arc::ptr_eq(&s.pool, pool))
            {
                Some(i) => i,
                None => {
                    if all.len() >= MAX_POOLS {
                        all.remove(0);
                    }
                    all.push(Spares {
                        pool: pool.clone(),
                        bufs: Vec::with_capacity(MAX_SPARES),
                    });
                    all.len() - 1
                }
            };
            Some(f(&mut all[i]))
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mode::QueueOptions;

    #[test]
    fn a_refill_stops_at_the_first_big_buffer() {
        let pool = Pool::new(64, QueueOptions::default().max_bytes);
        for capacity in [100, KEEP_SMALL + 1, 100, 100] {
            let mut buf = Box::<Buf>::default();
            buf.start_raw_payload().reserve_exact(capacity);
            assert!(pool.resize(0, bytes(&buf)));
            pool.put(buf);
        }
        let mut spares = Vec::new();
        pool.take(REFILL, &mut spares);
        let capacities: Vec<bool> = spares.iter().map(|b| b.capacity() > KEEP_SMALL).collect();
        assert_eq!(
            capacities,
            [false, true],
            "the big buffer ends the refill, last"
        );
        pool.take(REFILL, &mut spares);
        assert_eq!(spares.len(), 4);
    }
}
