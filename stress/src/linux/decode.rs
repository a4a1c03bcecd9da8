//! Reads the stress attributes back out of an EventHeader event with `tracepoint_decode`,
//! the decoder agents use, independently of the crate's encoder.

use tracepoint_decode::{EventHeaderEnumeratorContext, EventHeaderEnumeratorState as St};

/// The attribute holding the emitting thread's index (0-based).
pub const THREAD_KEY: &str = "stress_thread";
/// The attribute holding the per-thread sequence number (0, 1, 2, … per thread).
pub const SEQ_KEY: &str = "stress_seq";
/// The attribute that marks a sentinel: an event written after the run, on one CPU, so that
/// the kernel reports that CPU ring's pending lost samples before it (see `run`).
pub const SENTINEL_KEY: &str = "stress_sentinel";

/// Where one event came from: the emitting thread's index and its sequence number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The `stress_thread` attribute.
    pub thread: u64,
    /// The `stress_seq` attribute.
    pub seq: u64,
}

/// What an event turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A stress event from an emitting thread.
    Event(Origin),
    /// A sentinel (it has the [`SENTINEL_KEY`] attribute).
    Sentinel,
    /// Not decodable, or without the stress attributes.
    Bad,
}

impl Decoded {
    /// The origin of a stress event, `None` otherwise.
    pub fn origin(self) -> Option<Origin> {
        match self {
            Decoded::Event(o) => Some(o),
            _ => None,
        }
    }
}

/// Decodes `payload` (the bytes after the `write_index`; trailing zero padding from perf is
/// fine) written to `tracepoint`.
pub fn decode(ctx: &mut EventHeaderEnumeratorContext, tracepoint: &str, payload: &[u8]) -> Decoded {
    let Ok(mut e) = ctx.enumerate_with_name_and_data(tracepoint, payload, 10_000) else {
        return Decoded::Bad;
    };
    let (mut thread, mut seq, mut sentinel) = (None, None, false);
    while e.move_next() {
        if e.state() != St::Value {
            continue;
        }
        let item = e.item_info();
        let slot = match item.name_bytes() {
            n if n == THREAD_KEY.as_bytes() => &mut thread,
            n if n == SEQ_KEY.as_bytes() => &mut seq,
            n if n == SENTINEL_KEY.as_bytes() => {
                sentinel = true;
                continue;
            }
            _ => continue,
        };
        let value = item.value();
        // The crate writes integer attributes as signed 64-bit values.
        if value.metadata().type_size() != 8 {
            return Decoded::Bad;
        }
        *slot = u64::try_from(value.to_i64(0)).ok();
    }
    match (e.state(), thread, seq) {
        (St::AfterLastItem, _, _) if sentinel => Decoded::Sentinel,
        (St::AfterLastItem, Some(thread), Some(seq)) => Decoded::Event(Origin { thread, seq }),
        _ => Decoded::Bad,
    }
}
