//! The shape cache: an event's metadata (event name, field names, types, struct sizes)
//! depends only on its *shape*, not on its values. A log call site emits the same event
//! name and attribute keys every time, so its metadata is the same bytes every time;
//! building it field by field was most of the cost of encoding.
//!
//! The layout describes each event's shape as a [`Signature`]: a byte string that holds
//! everything its metadata depends on (the layout decides what, and documents it). The
//! first event of a shape is encoded in full and its metadata kept, keyed by the whole
//! signature; the next ones write only their data, in the same pass that completes their
//! signature, then copy that metadata in one piece
//! ([`EventBuf::install_meta`]). A signature is compared byte for byte, never trusted by hash,
//! so two shapes can never share metadata.
//!
//! The cache is per thread (no lock, no shared line): [`SLOTS`] entries in sets of
//! [`WAYS`] (two shapes whose signatures hash alike both stay, rather than evicting each
//! other on every event), each a signature
//! of at most [`MAX_SIGNATURE`] bytes and metadata of at most [`MAX_META`] bytes, so a
//! thread holds at most about 96 KiB of it. A shape that does not fit, or whose metadata
//! depends on its values (e.g. a JSON value cut to fit), is encoded in full every time.
//!
//! In builds with debug assertions every cached encoding is checked against a full one.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::copy::copy_short;
use super::event::EventBuf;
use super::fit::Pass;

/// Entries per thread: [`SLOTS`] / [`WAYS`] sets, picked by the signature's hash.
pub(crate) const SLOTS: usize = 32;
/// Entries per set: a new shape replaces the one of its set used least recently.
pub(crate) const WAYS: usize = 2;
/// The longest signature kept.
pub(crate) const MAX_SIGNATURE: usize = 1024;
/// The longest metadata kept.
pub(crate) const MAX_META: usize = 2048;

/// An event's shape, written by its layout: append everything the metadata depends on,
/// unambiguously (lengths before variable-length parts).
pub(crate) struct Signature<'a> {
    bytes: &'a mut [u8; MAX_SIGNATURE],
    len: usize,
    /// False once anything could not be appended, or the layout found the event
    /// uncacheable ([`give_up`](Self::give_up)).
    ok: bool,
}

impl Signature<'_> {
    /// Appends `part`; false (appending nothing) if the signature would grow too long to
    /// be kept.
    #[inline]
    fn put(&mut self, part: &[u8]) -> bool {
        let end = self.len + part.len();
        let Some(room) = self.bytes.get_mut(self.len..end) else {
            self.ok = false;
            return false;
        };
        copy_short(room, part);
        self.len = end;
        true
    }

    /// Marks the event uncacheable (e.g. a value whose metadata depends on its content).
    #[inline]
    pub(crate) fn give_up(&mut self) {
        self.ok = false;
    }

    /// Appends two bytes (e.g. flags and a kind).
    #[inline]
    pub(crate) fn put2(&mut self, a: u8, b: u8) -> bool {
        self.put(&[a, b])
    }

    /// Ends a run of [`kind_str`](Self::kind_str) items (kinds are never 0) and appends two
    /// bytes after it (e.g. flags and a kind).
    #[inline]
    pub(crate) fn end_items(&mut self, a: u8, b: u8) -> bool {
        self.put(&[0, a, b])
    }

    /// Appends a number (e.g. the layout's own id).
    #[inline]
    pub(crate) fn u64(&mut self, v: u64) -> bool {
        self.put(&v.to_ne_bytes())
    }

    /// Appends a string with its length. Returns false for a string of 256 bytes or more:
    /// such a shape is not cached.
    #[inline]
    pub(crate) fn str(&mut self, s: &str) -> bool {
        self.byte_str(None, s)
    }

    /// Appends a byte (a value's kind), then a string with its length, as [`str`](Self::str).
    #[inline]
    pub(crate) fn kind_str(&mut self, kind: u8, s: &str) -> bool {
        self.byte_str(Some(kind), s)
    }

    #[inline]
    fn byte_str(&mut self, kind: Option<u8>, s: &str) -> bool {
        let Ok(len) = u8::try_from(s.len()) else {
            self.ok = false;
            return false;
        };
        let head_ok = match kind {
            Some(kind) => self.put(&[kind, len]),
            None => self.put(&[len]),
        };
        head_ok && self.put(s.as_bytes())
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A new layout id, never handed out before in this process: a processor takes one whenever
/// something fixed per processor that its metadata depends on changes (e.g. its resource),
/// and writes it into every signature, so that shapes of different layouts never meet.
pub(crate) fn next_layout_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Relaxed)
}

struct Entry {
    signature: Box<[u8]>,
    meta: Box<[u8]>,
}

struct Cache {
    /// Where signatures are built (reused).
    signature: Box<[u8; MAX_SIGNATURE]>,
    slots: Vec<Option<Entry>>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        signature: Box::new([0; MAX_SIGNATURE]),
        slots: Vec::new(),
    });
}

/// A cheap hash of a signature, to pick its set (the index of its first slot) (equality is checked in full): its length
/// and its 8-byte words, the last one overlapping the one before if the length is not a
/// multiple of 8 (a layout's signatures are at least 8 bytes: its id comes first), so that
/// no byte is hashed one at a time.
fn slot_of(signature: &[u8]) -> usize {
    let word = |w: &[u8]| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8]));
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    let len = signature.len();
    let mut h = len as u64;
    let mut words = signature.chunks_exact(8);
    for w in &mut words {
        h = mix(h, word(w));
    }
    let rest = words.remainder();
    if len >= 8 && !rest.is_empty() {
        h = mix(h, word(&signature[len - 8..]));
    } else if !rest.is_empty() {
        let mut short = [0u8; 8];
        short[..len].copy_from_slice(signature);
        h = mix(h, u64::from_ne_bytes(short));
    }
    (h >> 32) as usize % (SLOTS / WAYS) * WAYS
}

/// Encodes one event with `encode`, reusing the metadata of its shape when this thread has
/// seen it.
///
/// `head` begins the shape's signature (see [`Signature`]) and returns false if the event
/// is not to be cached. `encode` is then run once with the signature, writing only the data
/// (the metadata is left alone, [`EventBuf::begin_data_only`]); it may append the rest of
/// the signature as it goes, in the same pass over the record, or [`give_up`]. If the
/// signature is known, its metadata is put in and the event is done; otherwise `encode`
/// runs again without a signature, in full, and the metadata is kept for the next time.
///
/// [`give_up`]: Signature::give_up
pub(crate) fn encode_with_shape(
    buf: &mut EventBuf,
    head: impl FnOnce(&mut Signature<'_>) -> bool,
    mut encode: impl FnMut(&mut EventBuf, Option<&mut Signature<'_>>) -> Pass,
) -> Pass {
    let done = CACHE.try_with(|cache| {
        // A re-entrant call (a callback that logs while an event is encoded) goes without.
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return None;
        };
        let cache = &mut *cache;
        let mut sig = Signature {
            bytes: &mut cache.signature,
            len: 0,
            ok: true,
        };
        if !head(&mut sig) || !sig.ok {
            return None;
        }
        buf.begin_data_only();
        let pass = encode(buf, Some(&mut sig));
        if !sig.ok {
            return None;
        }
        let sig = sig.as_bytes();
        if cache.slots.is_empty() {
            cache.slots.resize_with(SLOTS, || None);
        }
        let set = slot_of(sig);
        for way in 0..WAYS {
            let Some(entry) = cache.slots[set + way].as_ref() else {
                continue;
            };
            if *entry.signature != *sig {
                continue;
            }
            buf.install_meta(&entry.meta);
            if way > 0 {
                // Most recently used first: a new shape replaces the set's last.
                cache.slots[set..set + WAYS].swap(0, way);
            }
            #[cfg(debug_assertions)]
            check_against_full(buf, &mut encode);
            return Some(pass);
        }
        // New here: encode in full, and keep the metadata if it depends on the shape alone.
        buf.end_data_only();
        let pass = encode(buf, None);
        if pass.finished && !buf.meta_varies() && buf.meta().len() <= MAX_META {
            let ways = &mut cache.slots[set..set + WAYS];
            ways.rotate_right(1);
            ways[0] = Some(Entry {
                signature: sig.into(),
                meta: buf.meta().into(),
            });
        }
        Some(pass)
    });
    match done {
        Ok(Some(pass)) => pass,
        // Uncacheable, or no cache on this thread now: encode in full.
        _ => {
            buf.end_data_only();
            encode(buf, None)
        }
    }
}

/// How many shapes this thread keeps.
#[cfg(test)]
fn kept() -> usize {
    CACHE.with(|c| c.borrow().slots.iter().flatten().count())
}

/// Debug builds: the cached metadata and the data written with it are exactly what a full
/// encoding writes. The full encoding goes into a buffer of this thread's, reused, so that
/// the check allocates nothing in steady state either (tests count allocations).
#[cfg(debug_assertions)]
fn check_against_full(
    buf: &EventBuf,
    encode: &mut impl FnMut(&mut EventBuf, Option<&mut Signature<'_>>) -> Pass,
) {
    thread_local! {
        static FULL: RefCell<EventBuf> = RefCell::new(EventBuf::new());
    }
    let mut check = |full: &mut EventBuf| {
        encode(full, None);
        assert_eq!(
            (full.meta(), full.data()),
            (buf.meta(), buf.data()),
            "shape cache: the cached encoding differs from a full one"
        );
    };
    let _ = FULL.try_with(|full| match full.try_borrow_mut() {
        Ok(mut full) => check(&mut full),
        Err(_) => check(&mut EventBuf::new()),
    });
}

#[cfg(test)]
mod tests {
    use eventheader::{FieldFormat, Level, Opcode};

    use super::{encode_with_shape, kept, slot_of, Signature, MAX_SIGNATURE, SLOTS, WAYS};
    use crate::encode::{EventBuf, EventDescriptor, Pass};

    /// An event whose shape is its field names: `fields` as u32 fields of value `value`.
    fn encode(buf: &mut EventBuf, fields: &[&str], value: u32, calls: &mut usize) -> Pass {
        encode_with_shape(
            buf,
            |sig: &mut Signature<'_>| fields.iter().all(|f| sig.str(f)),
            |buf, _| {
                *calls += 1;
                buf.start("E");
                for f in fields {
                    buf.add_u32(f, value, FieldFormat::Default);
                }
                Pass {
                    finished: buf.finish(&EventDescriptor::new(Level::Error, Opcode::Info)),
                    attributes: 0,
                }
            },
        )
    }

    fn bytes(buf: &EventBuf) -> Vec<u8> {
        [buf.meta(), buf.data()].concat()
    }

    #[test]
    fn a_repeated_shape_writes_the_same_bytes_as_a_full_encoding() {
        let mut buf = EventBuf::new();
        let mut calls = 0;
        let shapes: [&[&str]; 3] = [&["a", "b"], &["a", "c"], &["ab"]];
        let mut first = Vec::new();
        for shape in shapes {
            encode(&mut buf, shape, 1, &mut calls);
            first.push(bytes(&buf));
        }
        assert_eq!(kept(), 3, "one entry per shape");
        for (i, shape) in shapes.iter().enumerate() {
            encode(&mut buf, shape, 1, &mut calls);
            assert_eq!(bytes(&buf), first[i], "shape {shape:?}");
            encode(&mut buf, shape, 2, &mut calls);
            assert_ne!(bytes(&buf), first[i], "the data is the new value's");
            let mut fresh = EventBuf::new();
            encode_with_shape(
                &mut fresh,
                |_| false,
                |b, _| {
                    b.start("E");
                    for f in *shape {
                        b.add_u32(f, 2, FieldFormat::Default);
                    }
                    Pass {
                        finished: b.finish(&EventDescriptor::new(Level::Error, Opcode::Info)),
                        attributes: 0,
                    }
                },
            );
            assert_eq!(bytes(&buf), bytes(&fresh), "shape {shape:?}, value 2");
        }
    }

    #[test]
    fn an_uncacheable_shape_is_encoded_in_full_each_time() {
        let long = "k".repeat(300);
        let mut buf = EventBuf::new();
        let mut calls = 0;
        encode(&mut buf, &[&long], 5, &mut calls);
        let once = bytes(&buf);
        encode(&mut buf, &[&long], 5, &mut calls);
        assert_eq!(bytes(&buf), once);
        // Many fields make a signature longer than the cache keeps.
        let many: Vec<String> = (0..MAX_SIGNATURE / 4).map(|i| format!("f{i:03}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        encode(&mut buf, &many, 5, &mut calls);
        let once = bytes(&buf);
        encode(&mut buf, &many, 5, &mut calls);
        assert_eq!(bytes(&buf), once);
        assert_eq!(kept(), 0);
    }

    /// A cut JSON string is written as plain text: its format byte then depends on the
    /// value, so that metadata is not kept.
    #[test]
    fn metadata_changed_by_a_cut_is_not_kept() {
        let mut buf = EventBuf::new();
        encode_with_shape(
            &mut buf,
            |sig| sig.str("j"),
            |b, _| {
                b.start("E");
                let mark = b.begin_str("j", FieldFormat::StringJson);
                b.str_data().extend_from_slice(b"[1,2,3]");
                let _ = b.end_str(mark, 3);
                Pass {
                    finished: b.finish(&EventDescriptor::new(Level::Error, Opcode::Info)),
                    attributes: 0,
                }
            },
        );
        assert!(buf.meta_varies());
        assert_eq!(kept(), 0);
    }

    /// The signature `encode` builds for `fields`.
    fn signature_of(fields: &[&str]) -> Vec<u8> {
        let mut bytes = Box::new([0u8; MAX_SIGNATURE]);
        let mut sig = Signature {
            bytes: &mut bytes,
            len: 0,
            ok: true,
        };
        assert!(fields.iter().all(|f| sig.str(f)));
        sig.as_bytes().to_vec()
    }

    /// Two shapes that hash to one set both stay (one slot each), where a direct-mapped
    /// cache would let each evict the other on every event.
    #[test]
    fn shapes_of_one_set_do_not_evict_each_other() {
        const { assert!(WAYS >= 2) };
        let names: Vec<String> = (0..10 * SLOTS).map(|i| format!("name{i}")).collect();
        let mut first_of_set = std::collections::HashMap::new();
        let pair = names
            .iter()
            .find_map(|n| {
                let set = slot_of(&signature_of(&[n]));
                let other = first_of_set.insert(set, n.as_str())?;
                Some((other, n.as_str()))
            })
            .expect("two names in one set");
        let mut buf = EventBuf::new();
        let mut calls = 0;
        for round in 0..10 {
            encode(&mut buf, &[pair.0], round, &mut calls);
            encode(&mut buf, &[pair.1], round, &mut calls);
            assert_eq!(kept(), 2, "round {round}: both shapes are kept");
        }
    }

    /// More shapes than slots: they evict each other, and every event still gets its own
    /// shape's metadata.
    #[test]
    fn shapes_that_share_a_slot_never_share_metadata() {
        let names: Vec<String> = (0..SLOTS * 3).map(|i| format!("field{i}")).collect();
        let mut buf = EventBuf::new();
        let mut calls = 0;
        for round in 0..3 {
            for name in &names {
                encode(&mut buf, &[name], round, &mut calls);
                let mut expect = b"E\0".to_vec();
                expect.extend_from_slice(name.as_bytes());
                expect.extend_from_slice(&[0, 0x04]); // NUL, Value32 (no format byte)
                assert_eq!(buf.meta(), expect, "{name}");
            }
        }
        assert!(kept() <= SLOTS);
    }
}
