//! The perf ring-buffer record format, without any syscalls: walking the records between
//! `data_tail` and `data_head` (including records that wrap around the end of the ring) and
//! parsing `PERF_RECORD_SAMPLE` / `PERF_RECORD_LOST`. Kept free of `unsafe` so it can be
//! tested on plain byte buffers.

/// `PERF_RECORD_LOST`: `{ header; u64 id; u64 lost; }` (no `sample_id` trailer: we never set
/// `sample_id_all`).
pub(crate) const PERF_RECORD_LOST: u32 = 2;
/// `PERF_RECORD_SAMPLE`.
pub(crate) const PERF_RECORD_SAMPLE: u32 = 9;

/// `PERF_SAMPLE_TID`: `u32 pid, tid`.
pub(crate) const PERF_SAMPLE_TID: u64 = 1 << 1;
/// `PERF_SAMPLE_TIME`: `u64 time`.
pub(crate) const PERF_SAMPLE_TIME: u64 = 1 << 2;
/// `PERF_SAMPLE_CPU`: `u32 cpu, res`.
pub(crate) const PERF_SAMPLE_CPU: u64 = 1 << 7;
/// `PERF_SAMPLE_RAW`: `u32 size; char data[size]` (the tracepoint record).
pub(crate) const PERF_SAMPLE_RAW: u64 = 1 << 10;
/// `PERF_SAMPLE_IDENTIFIER`: `u64 id`, first in the sample so it is at a fixed offset.
pub(crate) const PERF_SAMPLE_IDENTIFIER: u64 = 1 << 16;

/// The sample_type every session uses; [`parse_record`] parses exactly this layout:
/// `{ header; u64 id; u32 pid, tid; u64 time; u32 cpu, res; u32 size; u8 raw[size]; }`.
pub(crate) const SAMPLE_TYPE: u64 =
    PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW;

/// Size of `struct perf_event_header { u32 type; u16 misc; u16 size; }`.
pub(crate) const HEADER_SIZE: usize = 8;

/// Where ring bytes come from: the mmapped ring (copied out with volatile-free raw reads,
/// see `perf.rs`) or, in tests, a byte slice.
pub(crate) trait RingSource {
    /// Copies `dst.len()` bytes starting at `offset` into `dst`. Callers guarantee
    /// `offset + dst.len() <= ring size` (no wrap inside one call).
    fn copy_out(&self, offset: usize, dst: &mut [u8]);
}

impl RingSource for [u8] {
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self[offset..offset + dst.len()]);
    }
}

/// Copies `dst.len()` bytes from ring position `pos` (a free-running counter), wrapping
/// around the end of a ring of `size` bytes (a power of two).
fn copy_wrapped<S: RingSource + ?Sized>(src: &S, size: usize, pos: u64, dst: &mut [u8]) {
    let start = (pos & (size as u64 - 1)) as usize;
    let first = dst.len().min(size - start);
    let (a, b) = dst.split_at_mut(first);
    src.copy_out(start, a);
    if !b.is_empty() {
        src.copy_out(0, b);
    }
}

/// What [`drain`] found wrong with the ring, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RingFault {
    /// Everything between tail and head was consumed normally.
    None,
    /// A header claimed a size below 8 or beyond `data_head`, head - tail was negative or
    /// exceeded the ring, or the ring size was not a power of two: the rest of the ring was
    /// skipped (tail set to head).
    Corrupt,
}

/// Walks the records in `[tail, head)` of a ring of `size` bytes, handing each whole record
/// (header included, wrap-around undone) to `on_record`. Returns the new tail (always `head`:
/// whatever cannot be read is skipped) and whether anything was skipped.
///
/// Whatever `head`, `tail`, `size` and the ring's bytes say, `src` is only asked for bytes
/// inside `[0, size)` (the `unsafe` reader in `perf.rs` relies on it): a `size` that is not a
/// power of two, `head - tail` beyond `size`, or a record size below 8 or beyond `head` is
/// reported as [`RingFault::Corrupt`] without reading further.
///
/// `scratch` is reused between calls so that draining does not allocate.
pub(crate) fn drain<S: RingSource + ?Sized>(
    src: &S,
    size: usize,
    head: u64,
    mut tail: u64,
    scratch: &mut Vec<u8>,
    mut on_record: impl FnMut(&[u8]),
) -> (u64, RingFault) {
    if !size.is_power_of_two() || head < tail || head - tail > size as u64 {
        return (head, RingFault::Corrupt);
    }
    while tail < head {
        if head - tail < HEADER_SIZE as u64 {
            return (head, RingFault::Corrupt);
        }
        let mut header = [0u8; HEADER_SIZE];
        copy_wrapped(src, size, tail, &mut header);
        let rec_size = u16::from_ne_bytes([header[6], header[7]]) as u64;
        if rec_size < HEADER_SIZE as u64 || rec_size > head - tail {
            return (head, RingFault::Corrupt);
        }
        scratch.clear();
        scratch.resize(rec_size as usize, 0);
        copy_wrapped(src, size, tail, scratch);
        on_record(scratch);
        tail += rec_size;
    }
    (tail, RingFault::None)
}

/// One parsed ring record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    /// `PERF_RECORD_SAMPLE` with our [`SAMPLE_TYPE`] layout.
    Sample {
        /// Perf event id (`PERF_EVENT_IOC_ID`) of the fd that produced it.
        id: u64,
        /// Writer's process id.
        pid: u32,
        /// Writer's thread id.
        tid: u32,
        /// Timestamp in the session's clock.
        time: u64,
        /// CPU the event was written on.
        cpu: u32,
        /// The tracepoint record: common fields, then the payload, then padding.
        raw: &'a [u8],
    },
    /// `PERF_RECORD_LOST`: the kernel dropped `lost` samples of event `id` (ring full).
    Lost {
        /// Perf event id of the fd whose samples were dropped.
        id: u64,
        /// How many were dropped.
        lost: u64,
    },
    /// Any other record type (none are expected with our attributes), or a record too short
    /// for its type.
    Other {
        /// `perf_event_header.type`.
        record_type: u32,
    },
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Parses one whole record (as handed out by [`drain`]).
pub(crate) fn parse_record(rec: &[u8]) -> Record<'_> {
    let record_type = u32_at(rec, 0).unwrap_or(0);
    let parsed = match record_type {
        PERF_RECORD_SAMPLE => parse_sample(rec),
        PERF_RECORD_LOST => (|| {
            Some(Record::Lost {
                id: u64_at(rec, 8)?,
                lost: u64_at(rec, 16)?,
            })
        })(),
        _ => None,
    };
    parsed.unwrap_or(Record::Other { record_type })
}

fn parse_sample(rec: &[u8]) -> Option<Record<'_>> {
    let id = u64_at(rec, 8)?;
    let pid = u32_at(rec, 16)?;
    let tid = u32_at(rec, 20)?;
    let time = u64_at(rec, 24)?;
    let cpu = u32_at(rec, 32)?;
    let raw_size = u32_at(rec, 40)? as usize;
    let raw = rec.get(44..44usize.checked_add(raw_size)?)?;
    Some(Record::Sample {
        id,
        pid,
        tid,
        time,
        cpu,
        raw,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a sample record the way the kernel lays it out for [`SAMPLE_TYPE`], raw
    /// padded so that `4 + raw` is a multiple of 8.
    pub(crate) fn sample(id: u64, pid: u32, time: u64, cpu: u32, raw: &[u8]) -> Vec<u8> {
        let raw_padded = (4 + raw.len()).div_ceil(8) * 8 - 4;
        let size = HEADER_SIZE + 8 + 8 + 8 + 8 + 4 + raw_padded;
        let mut r = Vec::new();
        r.extend_from_slice(&PERF_RECORD_SAMPLE.to_ne_bytes());
        r.extend_from_slice(&0u16.to_ne_bytes());
        r.extend_from_slice(&(size as u16).to_ne_bytes());
        r.extend_from_slice(&id.to_ne_bytes());
        r.extend_from_slice(&pid.to_ne_bytes());
        r.extend_from_slice(&(pid + 1).to_ne_bytes());
        r.extend_from_slice(&time.to_ne_bytes());
        r.extend_from_slice(&cpu.to_ne_bytes());
        r.extend_from_slice(&0u32.to_ne_bytes());
        r.extend_from_slice(&(raw_padded as u32).to_ne_bytes());
        r.extend_from_slice(raw);
        r.resize(size, 0);
        r
    }

    pub(crate) fn lost(id: u64, n: u64) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&PERF_RECORD_LOST.to_ne_bytes());
        r.extend_from_slice(&0u16.to_ne_bytes());
        r.extend_from_slice(&24u16.to_ne_bytes());
        r.extend_from_slice(&id.to_ne_bytes());
        r.extend_from_slice(&n.to_ne_bytes());
        r
    }

    /// Writes `records` into a ring of `size` bytes starting at free-running position
    /// `start`, as the kernel would; returns (ring, head).
    pub(crate) fn ring_with(size: usize, start: u64, records: &[Vec<u8>]) -> (Vec<u8>, u64) {
        let mut ring = vec![0xAAu8; size];
        let mut pos = start;
        for r in records {
            for &b in r {
                ring[(pos % size as u64) as usize] = b;
                pos += 1;
            }
        }
        (ring, pos)
    }

    fn drain_all(ring: &[u8], head: u64, tail: u64) -> (Vec<Vec<u8>>, u64, RingFault) {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let (t, fault) = drain(ring, ring.len(), head, tail, &mut scratch, |r| {
            out.push(r.to_vec())
        });
        (out, t, fault)
    }

    #[test]
    fn parses_sample_layout() {
        let rec = sample(7, 100, 123_456, 1, b"\x01\x02\x03\x04\x05");
        match parse_record(&rec) {
            Record::Sample {
                id,
                pid,
                tid,
                time,
                cpu,
                raw,
            } => {
                assert_eq!((id, pid, tid, time, cpu), (7, 100, 101, 123_456, 1));
                // 5 bytes padded to 12 so that the u32 size + raw is 16.
                assert_eq!(raw, b"\x01\x02\x03\x04\x05\0\0\0\0\0\0\0");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_lost() {
        assert_eq!(parse_record(&lost(3, 42)), Record::Lost { id: 3, lost: 42 });
    }

    #[test]
    fn truncated_sample_is_other_not_panic() {
        let rec = sample(7, 1, 2, 0, &[9; 20]);
        for cut in 0..rec.len() {
            let r = parse_record(&rec[..cut]);
            if cut >= 44 + 20 {
                continue;
            }
            assert!(matches!(r, Record::Other { .. }), "cut {cut}: {r:?}");
        }
        let mut lying = rec.clone();
        lying[40..44].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(matches!(parse_record(&lying), Record::Other { .. }));
    }

    #[test]
    fn drains_in_order_without_wrap() {
        let recs = vec![
            sample(1, 10, 1, 0, b"abc"),
            lost(1, 5),
            sample(1, 10, 2, 0, b"d"),
        ];
        let (ring, head) = ring_with(256, 0, &recs);
        let (out, tail, fault) = drain_all(&ring, head, 0);
        assert_eq!(out, recs);
        assert_eq!((tail, fault), (head, RingFault::None));
    }

    #[test]
    fn record_split_across_ring_end_is_reassembled() {
        // Start so the second record's header and body straddle the end in every way:
        // every split point from inside the header to inside the raw data.
        let recs = vec![
            sample(1, 10, 1, 0, b"first"),
            sample(2, 11, 2, 1, b"second-record-bytes"),
            lost(2, 9),
        ];
        // The three records take 144 bytes of the 256. One turn of the ring meets every
        // split point; natively, a second turn as well (Miri takes about 20 s a turn).
        let size = 256;
        let turns = if cfg!(miri) { 1 } else { 2 };
        for start in 0..size as u64 * turns {
            let (ring, head) = ring_with(size, start, &recs);
            let (out, tail, fault) = drain_all(&ring, head, start);
            assert_eq!(out, recs, "start {start}");
            assert_eq!((tail, fault), (head, RingFault::None));
        }
    }

    #[test]
    fn free_running_counters_far_from_zero() {
        let recs = vec![sample(1, 10, 1, 0, b"x")];
        let start = u64::MAX / 2 + 3;
        let (ring, head) = ring_with(64, start, &recs);
        let (out, _, fault) = drain_all(&ring, head, start);
        assert_eq!((out, fault), (recs, RingFault::None));
    }

    #[test]
    fn corrupt_sizes_skip_to_head() {
        let mut bad = sample(1, 10, 1, 0, b"x");
        bad[6..8].copy_from_slice(&4u16.to_ne_bytes()); // size below the header
        let (ring, head) = ring_with(128, 0, &[bad]);
        let (out, tail, fault) = drain_all(&ring, head, 0);
        assert!(out.is_empty());
        assert_eq!((tail, fault), (head, RingFault::Corrupt));

        let rec = sample(1, 10, 1, 0, b"x");
        let (ring, head) = ring_with(128, 0, std::slice::from_ref(&rec));
        // head claims less than the record's size: partial record, never read.
        let (out, _, fault) = drain_all(&ring, head - 8, 0);
        assert!(out.is_empty());
        assert_eq!(fault, RingFault::Corrupt);
        // head - tail larger than the ring.
        let (_, tail, fault) = drain_all(&ring, 1000, 0);
        assert_eq!((tail, fault), (1000, RingFault::Corrupt));
    }

    /// A source that checks every read against the ring's bounds, as the mmapped reader in
    /// `perf.rs` needs (it reads raw memory there: an out-of-bounds offset would be UB, not a
    /// panic).
    struct Checked<'a> {
        ring: &'a [u8],
        size: usize,
        reads: std::cell::Cell<usize>,
    }

    impl RingSource for Checked<'_> {
        fn copy_out(&self, offset: usize, dst: &mut [u8]) {
            assert!(
                offset
                    .checked_add(dst.len())
                    .is_some_and(|end| end <= self.size),
                "read {offset}+{} outside a ring of {}",
                dst.len(),
                self.size
            );
            self.reads.set(self.reads.get() + 1);
            dst.copy_from_slice(&self.ring[offset..offset + dst.len()]);
        }
    }

    /// Drains through [`Checked`]; returns (records, new tail, fault, reads).
    fn drain_checked(
        ring: &[u8],
        size: usize,
        head: u64,
        tail: u64,
    ) -> (Vec<Vec<u8>>, u64, RingFault, usize) {
        let src = Checked {
            ring,
            size,
            reads: std::cell::Cell::new(0),
        };
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let (t, fault) = drain(&src, size, head, tail, &mut scratch, |r| {
            out.push(r.to_vec())
        });
        (out, t, fault, src.reads.get())
    }

    #[test]
    fn a_record_as_large_as_the_ring_is_read_at_every_offset() {
        let rec = sample(5, 1, 2, 3, &[0x5a; 20]); // 64 bytes
        assert_eq!(rec.len(), 64);
        for start in 0..64 {
            let (ring, head) = ring_with(64, start, std::slice::from_ref(&rec));
            let (out, tail, fault, _) = drain_checked(&ring, 64, head, start);
            assert_eq!(
                (out, tail, fault),
                (vec![rec.clone()], head, RingFault::None)
            );
        }
    }

    #[test]
    fn a_partial_header_or_a_head_below_the_tail_reads_nothing() {
        let (ring, _) = ring_with(64, 0, &[lost(1, 1)]);
        for gap in 1..HEADER_SIZE as u64 {
            let (out, tail, fault, reads) = drain_checked(&ring, 64, 8 + gap, 8);
            assert_eq!(
                (out.len(), tail, fault, reads),
                (0, 8 + gap, RingFault::Corrupt, 0)
            );
        }
        let (out, tail, fault, reads) = drain_checked(&ring, 64, 8, 16);
        assert_eq!(
            (out.len(), tail, fault, reads),
            (0, 8, RingFault::Corrupt, 0)
        );
    }

    #[test]
    fn a_ring_size_that_is_not_a_power_of_two_reads_nothing() {
        let recs = vec![lost(1, 1), lost(1, 2)];
        let (ring, head) = ring_with(64, 0, &recs);
        for size in [0, 3, 48, 63] {
            let (out, tail, fault, reads) = drain_checked(&ring, size, head.min(size as u64), 0);
            assert!(out.is_empty(), "{size}");
            assert_eq!((fault, reads), (RingFault::Corrupt, 0), "{size}");
            assert_eq!(tail, head.min(size as u64));
        }
    }

    #[test]
    fn a_size_field_smaller_than_the_record_only_misframes_never_misreads() {
        // The first record claims 16 bytes of its 24: the reader hands out those 16 (too
        // short to parse) and then frames the rest as records of their own.
        let mut liar = lost(1, 7);
        liar[6..8].copy_from_slice(&16u16.to_ne_bytes());
        let recs = vec![liar, lost(2, 3)];
        let (ring, head) = ring_with(64, 40, &recs);
        let (out, tail, _, _) = drain_checked(&ring, 64, head, 40);
        assert_eq!(tail, head);
        assert_eq!(out[0].len(), 16);
        assert_eq!(parse_record(&out[0]), Record::Other { record_type: 2 });
    }

    /// Every small ring size, every tail and head around it, over bytes whose size fields say
    /// anything: no read leaves the ring, the tail always ends at head, and the records are
    /// exactly the ring's bytes from the tail on, in order.
    #[test]
    fn arbitrary_ring_bytes_never_read_outside_the_ring() {
        // Miri runs the same checks on fewer cases.
        let (sizes, seeds): (&[usize], u64) = if cfg!(miri) {
            (&[8, 32], 2)
        } else {
            (&[1, 2, 4, 8, 16, 32, 64, 128], 16)
        };
        for &size in sizes {
            for seed in 0..seeds {
                // A small LCG: sizes fields land on 0..=255 often, so some records are
                // well-formed, some too short, some too long.
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let ring: Vec<u8> = (0..size)
                    .map(|i| {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        if i % 8 == 6 {
                            ((x >> 59) as u8) * 8 // a size field: 0..=248, multiples of 8
                        } else if i % 8 == 7 {
                            0
                        } else {
                            (x >> 56) as u8
                        }
                    })
                    .collect();
                let step = if cfg!(miri) { 7 } else { 1 };
                for tail in (0..2 * size as u64).step_by(step) {
                    for len in (0..=size as u64 + 1).step_by(step) {
                        let head = tail + len;
                        let (out, new_tail, fault, _) = drain_checked(&ring, size, head, tail);
                        assert_eq!(new_tail, head);
                        let linear: Vec<u8> = (tail..head)
                            .map(|p| ring[(p % size as u64) as usize])
                            .collect();
                        let flat: Vec<u8> = out.concat();
                        assert!(
                            linear.starts_with(&flat),
                            "size {size} tail {tail} len {len}"
                        );
                        assert!(out
                            .iter()
                            .all(|r| r.len() >= HEADER_SIZE && r.len() <= size));
                        if fault == RingFault::None {
                            assert_eq!(flat.len() as u64, len);
                        }
                        for r in &out {
                            let _ = parse_record(r);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_raw_size_one_past_the_record_is_other() {
        let rec = sample(7, 1, 2, 0, &[9; 12]);
        let fits = (rec.len() - 44) as u32;
        let mut exact = rec.clone();
        exact[40..44].copy_from_slice(&fits.to_ne_bytes());
        assert!(
            matches!(parse_record(&exact), Record::Sample { raw, .. } if raw.len() == fits as usize)
        );
        let mut over = rec.clone();
        over[40..44].copy_from_slice(&(fits + 1).to_ne_bytes());
        assert_eq!(
            parse_record(&over),
            Record::Other {
                record_type: PERF_RECORD_SAMPLE
            }
        );
    }

    #[test]
    fn truncated_lost_is_other() {
        let rec = lost(3, 4);
        for cut in 4..rec.len() {
            assert_eq!(
                parse_record(&rec[..cut]),
                Record::Other {
                    record_type: PERF_RECORD_LOST
                },
                "cut {cut}"
            );
        }
        // Shorter than the type field: type 0.
        assert_eq!(parse_record(&rec[..3]), Record::Other { record_type: 0 });
    }

    #[test]
    fn empty_ring_is_fine() {
        let ring = vec![0u8; 64];
        let (out, tail, fault) = drain_all(&ring, 40, 40);
        assert!(out.is_empty());
        assert_eq!((tail, fault), (40, RingFault::None));
    }
}
