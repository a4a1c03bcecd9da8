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
    /// A header claimed a size below 8 or beyond `data_head`, or head - tail exceeded the
    /// ring: the rest of the ring was skipped (tail set to head).
    Corrupt,
}

/// Walks the records in `[tail, head)` of a ring of `size` bytes, handing each whole record
/// (header included, wrap-around undone) to `on_record`. Returns the new tail (`head` unless
/// something was corrupt, then also `head`) and whether anything was skipped.
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
    debug_assert!(size.is_power_of_two());
    if head < tail || head - tail > size as u64 {
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
mod tests {
    use super::*;

    /// Builds a sample record the way the kernel lays it out for [`SAMPLE_TYPE`], raw
    /// padded so that `4 + raw` is a multiple of 8.
    fn sample(id: u64, pid: u32, time: u64, cpu: u32, raw: &[u8]) -> Vec<u8> {
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

    fn lost(id: u64, n: u64) -> Vec<u8> {
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
    fn ring_with(size: usize, start: u64, records: &[Vec<u8>]) -> (Vec<u8>, u64) {
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
        let size = 256; // the three records take 144 bytes
        for start in 0..size as u64 * 2 {
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

    #[test]
    fn empty_ring_is_fine() {
        let ring = vec![0u8; 64];
        let (out, tail, fault) = drain_all(&ring, 40, 40);
        assert!(out.is_empty());
        assert_eq!((tail, fault), (40, RingFault::None));
    }
}
