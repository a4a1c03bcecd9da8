//! Making an event fit a maximum size.
//!
//! An event larger than the perf path allows is dropped by the kernel while `writev` still
//! succeeds, so nothing oversize may leave this crate. [`fit`] encodes once; if the event is
//! too large it either gives up ([`OversizePolicy::Drop`]) or re-encodes with tighter
//! [`Limits`] ([`OversizePolicy::Truncate`]):
//!
//! 1. the longest strings, binary values and arrays first: one cap on all of them, the
//!    largest that fits (found by bisection), but not below [`MIN_STR_CAP`] bytes;
//! 2. then, with every value at that floor, the trailing attributes: the most that fit.
//!
//! A truncated event carries a marker field (the layout writes it) holding the size of the
//! event before truncation.

use std::cell::RefCell;

use super::event::EventBuf;
use super::value::Limits;

/// The smallest cap truncation puts on a string before it starts dropping attributes.
pub(crate) const MIN_STR_CAP: usize = 32;

/// What to do with an event larger than the maximum event size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OversizePolicy {
    /// Cut the longest values, then trailing attributes, until it fits, and mark it
    /// truncated (the default).
    #[default]
    Truncate,
    /// Drop the event (counted as [`DropReason::Oversize`](crate::DropReason::Oversize)).
    Drop,
}

/// How [`fit`] left the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// The event fitted as it was.
    Whole,
    /// The event was cut to fit; `original` is its size before.
    Truncated {
        /// Payload bytes before truncation.
        original: usize,
    },
    /// The event does not fit (or the policy is to drop); the buffer holds nothing useful.
    TooLarge {
        /// Payload bytes of the whole event.
        original: usize,
    },
}

/// How one encoding pass went, returned by the layout's encode function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pass {
    /// The layout finished the event (e.g. its metadata fitted its u16 size).
    pub finished: bool,
    /// How many attributes the record has (the bound for dropping trailing ones).
    pub attributes: usize,
}

/// Encodes an event into `buf` with `encode(buf, limits, truncated_from)` and makes it fit
/// `max` payload bytes as described in the module docs. `truncated_from` is `Some(original
/// size)` on passes after the first: the layout must then write its truncation marker.
#[inline(always)]
pub(crate) fn fit(
    buf: &mut EventBuf,
    max: usize,
    policy: OversizePolicy,
    mut encode: impl FnMut(&mut EventBuf, Limits, Option<u32>) -> Pass,
) -> Fit {
    // The first pass caps nothing below the format's own limits: no value longer than the
    // largest event can fit anyway, and the cap bounds the buffer's growth.
    let first = encode(
        buf,
        Limits {
            max_str: super::MAX_EVENT_SIZE_LIMIT,
            ..Limits::NONE
        },
        None,
    );
    let original = buf.len();
    if first.finished && original <= max {
        return Fit::Whole;
    }
    refit(buf, max, policy, first, original, encode)
}

/// The rest of [`fit`], out of line: the first pass did not fit.
#[cold]
#[inline(never)]
fn refit(
    buf: &mut EventBuf,
    max: usize,
    policy: OversizePolicy,
    first: Pass,
    original: usize,
    mut encode: impl FnMut(&mut EventBuf, Limits, Option<u32>) -> Pass,
) -> Fit {
    if policy == OversizePolicy::Drop {
        return Fit::TooLarge { original };
    }
    let marker = Some(u32::try_from(original).unwrap_or(u32::MAX));
    let mut fits = |limits: Limits| {
        let pass = encode(buf, limits, marker);
        pass.finished && buf.len() <= max
    };
    let with_cap = |cap: usize| Limits {
        max_str: cap,
        max_items: cap,
        max_attributes: usize::MAX,
    };
    // 1. The largest value cap that fits.
    if fits(with_cap(MIN_STR_CAP)) {
        let cap = largest_fitting(MIN_STR_CAP, max, |cap| fits(with_cap(cap)));
        encode(buf, with_cap(cap), marker);
        return Fit::Truncated { original };
    }
    // 2. Values at the floor: the most attributes that fit.
    let floor = |n: usize| Limits {
        max_attributes: n,
        ..with_cap(MIN_STR_CAP)
    };
    if !fits(floor(0)) {
        return Fit::TooLarge { original };
    }
    let attributes = largest_fitting(0, first.attributes, |n| fits(floor(n)));
    encode(buf, floor(attributes), marker);
    Fit::Truncated { original }
}

/// The largest `n` in `[lo, hi)` for which `fits(n)`, given that `fits(lo)` holds and `fits`
/// is monotone (bisection).
fn largest_fitting(mut lo: usize, mut hi: usize, mut fits: impl FnMut(usize) -> bool) -> usize {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

thread_local! {
    static THREAD_BUF: RefCell<EventBuf> = RefCell::new(EventBuf::new());
}

/// Runs `f` with this thread's reusable event buffer, borrowed in place, so encoding
/// allocates nothing in steady state and moves no buffer in or out. A re-entrant call (a
/// callback that logs while an event is encoded) or one during thread teardown gets a fresh
/// buffer instead of a panic.
pub(crate) fn with_thread_buf<R>(f: impl FnOnce(&mut EventBuf) -> R) -> R {
    // Gone only while the thread ends; it cannot go away between this look and `with`.
    if THREAD_BUF.try_with(|_| ()).is_err() {
        return f(&mut EventBuf::new());
    }
    THREAD_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut EventBuf::new()),
    })
}
