//! A counting global allocator, shared by `tests/kernel_alloc.rs` and `benches/logs.rs` (which
//! includes this file by path). A binary installs it with
//! `#[global_allocator] static GLOBAL: Counting = Counting;`, then brackets the code to
//! measure with [`start`] and [`stop`].
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// Defers to the system allocator; counts allocations and reallocations on every thread
/// between [`start`] and [`stop`].
pub struct Counting;

// SAFETY: defers every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(SeqCst) {
            ALLOCATIONS.fetch_add(1, SeqCst);
        }
        // SAFETY: the caller's layout contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(SeqCst) {
            ALLOCATIONS.fetch_add(1, SeqCst);
        }
        // SAFETY: as for alloc and dealloc.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Resets the count and starts counting.
pub fn start() {
    ALLOCATIONS.store(0, SeqCst);
    COUNTING.store(true, SeqCst);
}

/// Stops counting and returns the allocations since [`start`].
pub fn stop() -> u64 {
    COUNTING.store(false, SeqCst);
    ALLOCATIONS.load(SeqCst)
}
