//! The concurrency primitives of this crate, in one place, so the same code runs under the
//! loom model checker (`RUSTFLAGS="--cfg otel_os_events_loom"`, see `loom-tests/`).
//!
//! `crossbeam_queue::ArrayQueue` and `arc_swap::ArcSwap` use plain core atomics that loom
//! cannot see, so under loom they are replaced by models with the same methods: a
//! mutex-guarded bounded queue and an RwLock-guarded swap cell. Everything else comes from
//! loom's own `sync` and `thread`.

#[cfg(not(otel_os_events_loom))]
mod imp {
    pub(crate) use arc_swap::ArcSwap as SwapCell;
    pub(crate) use crossbeam_queue::ArrayQueue as BoundedQueue;
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Condvar, Mutex};
    pub(crate) use std::thread;

    /// The flush thread's handle, set once when it starts; read by producers to wake it.
    #[derive(Default)]
    pub(crate) struct ThreadSlot(std::sync::OnceLock<thread::Thread>);

    impl ThreadSlot {
        /// Called once by the thread that will [`park_timeout`](Self::park_timeout).
        pub(crate) fn set(&self, t: thread::Thread) {
            let _ = self.0.set(t);
        }
        pub(crate) fn unpark(&self) {
            if let Some(t) = self.0.get() {
                t.unpark();
            }
        }
        /// The thread that called [`set`](Self::set) sleeps until unparked, or `timeout` at
        /// most.
        pub(crate) fn park_timeout(&self, timeout: std::time::Duration) {
            thread::park_timeout(timeout);
        }
    }
}

#[cfg(otel_os_events_loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Condvar, Mutex};
    pub(crate) use loom::thread;
    use std::collections::VecDeque;

    /// A model of the flush thread's park and unpark: a wake-up token under a mutex, with a
    /// condvar. (loom's own `unpark` also wakes a thread blocked on a mutex, as if it were
    /// parked, and then fails the model: this keeps the models about the channel.)
    #[derive(Default)]
    pub(crate) struct ThreadSlot {
        token: Mutex<bool>,
        cv: Condvar,
    }

    impl ThreadSlot {
        pub(crate) fn set(&self, _t: thread::Thread) {}
        pub(crate) fn unpark(&self) {
            *self.token.lock().unwrap() = true;
            self.cv.notify_all();
        }
        /// Loom has no timed wait: a model waits until unparked (a lost wake-up is then a
        /// deadlock loom reports).
        pub(crate) fn park_timeout(&self, _timeout: std::time::Duration) {
            let mut token = self.token.lock().unwrap();
            while !*token {
                token = self.cv.wait(token).unwrap();
            }
            *token = false;
        }
    }

    /// A loom-visible model of `crossbeam_queue::ArrayQueue`.
    pub(crate) struct BoundedQueue<T> {
        items: Mutex<VecDeque<T>>,
        capacity: usize,
    }

    impl<T> BoundedQueue<T> {
        pub(crate) fn new(capacity: usize) -> Self {
            BoundedQueue {
                items: Mutex::new(VecDeque::new()),
                capacity,
            }
        }
        pub(crate) fn push(&self, value: T) -> Result<(), T> {
            let mut items = self.items.lock().unwrap();
            if items.len() == self.capacity {
                return Err(value);
            }
            items.push_back(value);
            Ok(())
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.items.lock().unwrap().pop_front()
        }
        pub(crate) fn len(&self) -> usize {
            self.items.lock().unwrap().len()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.len() == 0
        }
    }

    /// What [`SwapCell::load`] returns: like arc-swap's guard, it derefs to the `Arc`.
    pub(crate) struct Guard<T>(Arc<T>);

    impl<T> std::ops::Deref for Guard<T> {
        type Target = Arc<T>;
        fn deref(&self) -> &Arc<T> {
            &self.0
        }
    }

    /// A loom-visible model of `arc_swap::ArcSwap`.
    pub(crate) struct SwapCell<T> {
        current: loom::sync::RwLock<Arc<T>>,
    }

    impl<T> SwapCell<T> {
        pub(crate) fn from_pointee(value: T) -> Self {
            SwapCell {
                current: loom::sync::RwLock::new(Arc::new(value)),
            }
        }
        pub(crate) fn load(&self) -> Guard<T> {
            Guard(self.current.read().unwrap().clone())
        }
        pub(crate) fn store(&self, value: Arc<T>) {
            *self.current.write().unwrap() = value;
        }
    }
}

pub(crate) use imp::*;

/// Keeps a value on cache lines of its own (no model needed: it only aligns).
pub(crate) use crossbeam_utils::CachePadded;
