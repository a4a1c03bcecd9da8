//! Shared by the fuzz targets (`fuzz_targets/`) and the seed generator
//! (`examples/make_seeds.rs`): how an input's bytes are read, and what is checked on each.
//!
//! - [`check_ring`]: the perf ring parser over arbitrary ring bytes, head, tail and size.
//! - [`check_json`]: `PerfEvent::to_json`, what `otel-os-events listen` prints for a sample,
//!   over arbitrary sample bytes, tracepoint names and tracefs formats.
//!
//! A failed check panics, which libFuzzer reports as a crash with the input saved.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use otel_os_events::listen::PerfEvent;
use tracepoint_decode::PerfEventFormat;

/// The ring parser, compiled in from the library's own source file: it is pure (no syscalls,
/// no `unsafe`), so it is fuzzed exactly as the listener uses it without widening the
/// library's public API.
#[allow(dead_code)]
#[path = "../../src/listen/ring.rs"]
mod ring;

use ring::{Record, RingFault, RingSource, HEADER_SIZE, PERF_RECORD_LOST, PERF_RECORD_SAMPLE};

// --- the ring ------------------------------------------------------------------------------

/// Bytes before the ring's own bytes in a ring input.
pub const RING_PREFIX: usize = 18;

/// One ring input:
///
/// ```text
/// [0]      size: below 0x80, 1 << (b % 16) (1 B .. 32 KiB); else b & 0x7f, any size at all
///          (0 and non-powers of two included, which the parser must refuse unread)
/// [1..9]   tail, u64 little-endian
/// [9..17]  n, u64 little-endian
/// [17]     bit 0 clear: head = tail + n % (size + 9) (an unread length from 0 to just past
///          the ring); set: head = n (anything, also below the tail)
/// [18..]   the ring's bytes, cut or zero-padded to `size`
/// ```
///
/// Missing prefix bytes read as zero, so every input is a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingCase {
    /// Ring size in bytes.
    pub size: usize,
    /// `data_tail`.
    pub tail: u64,
    /// `data_head`.
    pub head: u64,
    /// The ring's bytes (`size` of them).
    pub bytes: Vec<u8>,
}

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

fn u64_le(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(std::array::from_fn(|i| byte(data, at + i)))
}

impl RingCase {
    /// Reads a fuzz input (see the type's docs).
    pub fn parse(data: &[u8]) -> RingCase {
        let s = byte(data, 0);
        let size = if s < 0x80 {
            1usize << (s % 16)
        } else {
            usize::from(s & 0x7f)
        };
        let tail = u64_le(data, 1);
        let n = u64_le(data, 9);
        let head = if byte(data, 17) & 1 == 0 {
            tail.wrapping_add(n % (size as u64 + 9))
        } else {
            n
        };
        let mut bytes = data.get(RING_PREFIX..).unwrap_or(&[]).to_vec();
        bytes.resize(size, 0);
        RingCase {
            size,
            tail,
            head,
            bytes,
        }
    }

    /// The input that [`parse`](Self::parse) reads back as this case. `size` must be a power
    /// of two up to 32 KiB and `head - tail` at most `size + 8`.
    pub fn encode(&self) -> Vec<u8> {
        assert!(self.size.is_power_of_two() && self.size <= 1 << 15);
        let delta = self.head.wrapping_sub(self.tail);
        assert!(delta <= self.size as u64 + 8);
        let mut out = vec![self.size.trailing_zeros() as u8];
        out.extend_from_slice(&self.tail.to_le_bytes());
        out.extend_from_slice(&delta.to_le_bytes());
        out.push(0);
        out.extend_from_slice(&self.bytes);
        debug_assert_eq!(&RingCase::parse(&out), self);
        out
    }

    /// A ring of `size` bytes holding `records` from free-running position `tail` on (so they
    /// wrap around the end as the kernel writes them), head just after them.
    pub fn with_records(size: usize, tail: u64, records: &[Vec<u8>]) -> RingCase {
        let mut bytes = vec![0u8; size];
        let mut pos = tail;
        for &b in records.iter().flatten() {
            bytes[(pos % size as u64) as usize] = b;
            pos += 1;
        }
        RingCase {
            size,
            tail,
            head: pos,
            bytes,
        }
    }
}

/// A `PERF_RECORD_SAMPLE` laid out as the kernel writes it for the listener's sample type:
/// `{ header; u64 id; u32 pid, tid; u64 time; u32 cpu, res; u32 size; u8 raw[size]; }`, the raw
/// data zero-padded so that the record is a multiple of 8 bytes.
pub fn sample_record(id: u64, pid: u32, time: u64, cpu: u32, raw: &[u8]) -> Vec<u8> {
    let raw_padded = (4 + raw.len()).div_ceil(8) * 8 - 4;
    let size = HEADER_SIZE + 8 + 8 + 8 + 8 + 4 + raw_padded;
    let mut r = Vec::with_capacity(size);
    r.extend_from_slice(&PERF_RECORD_SAMPLE.to_ne_bytes());
    r.extend_from_slice(&0u16.to_ne_bytes());
    r.extend_from_slice(
        &u16::try_from(size)
            .expect("record over 64 KiB")
            .to_ne_bytes(),
    );
    r.extend_from_slice(&id.to_ne_bytes());
    r.extend_from_slice(&pid.to_ne_bytes());
    r.extend_from_slice(&pid.to_ne_bytes());
    r.extend_from_slice(&time.to_ne_bytes());
    r.extend_from_slice(&cpu.to_ne_bytes());
    r.extend_from_slice(&0u32.to_ne_bytes());
    r.extend_from_slice(&(raw_padded as u32).to_ne_bytes());
    r.extend_from_slice(raw);
    r.resize(size, 0);
    r
}

/// A `PERF_RECORD_LOST`: `{ header; u64 id; u64 lost; }`.
pub fn lost_record(id: u64, lost: u64) -> Vec<u8> {
    let mut r = Vec::with_capacity(24);
    r.extend_from_slice(&PERF_RECORD_LOST.to_ne_bytes());
    r.extend_from_slice(&0u16.to_ne_bytes());
    r.extend_from_slice(&24u16.to_ne_bytes());
    r.extend_from_slice(&id.to_ne_bytes());
    r.extend_from_slice(&lost.to_ne_bytes());
    r
}

/// A ring source that fails on any read outside `[0, size)`: the listener's real source
/// reads raw mapped memory (`perf.rs`), where such a read would be undefined behaviour
/// rather than a panic.
struct Bounded<'a> {
    bytes: &'a [u8],
    size: usize,
    reads: Cell<usize>,
}

impl RingSource for Bounded<'_> {
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        let end = offset.checked_add(dst.len());
        assert!(
            end.is_some_and(|end| end <= self.size),
            "read of {} bytes at {offset} outside a ring of {}",
            dst.len(),
            self.size
        );
        self.reads.set(self.reads.get() + 1);
        dst.copy_from_slice(&self.bytes[offset..offset + dst.len()]);
    }
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
}

fn ne_u64(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().unwrap())
}

/// Checks `parse_record` against the layout read independently here.
fn check_record(rec: &[u8]) {
    let record_type = if rec.len() >= 4 { ne_u32(rec, 0) } else { 0 };
    let sample_fits = record_type == PERF_RECORD_SAMPLE
        && rec.len() >= 44
        && 44 + ne_u32(rec, 40) as usize <= rec.len();
    let lost_fits = record_type == PERF_RECORD_LOST && rec.len() >= 24;
    match ring::parse_record(rec) {
        Record::Sample {
            id,
            pid,
            tid,
            time,
            cpu,
            raw,
        } => {
            assert!(
                sample_fits,
                "a sample that does not fit its record: {rec:?}"
            );
            assert_eq!(
                (id, pid, tid, time, cpu),
                (
                    ne_u64(rec, 8),
                    ne_u32(rec, 16),
                    ne_u32(rec, 20),
                    ne_u64(rec, 24),
                    ne_u32(rec, 32)
                )
            );
            assert_eq!(raw, &rec[44..44 + ne_u32(rec, 40) as usize]);
        }
        Record::Lost { id, lost } => {
            assert!(lost_fits);
            assert_eq!((id, lost), (ne_u64(rec, 8), ne_u64(rec, 16)));
        }
        Record::Other { record_type: t } => {
            assert_eq!(t, record_type);
            assert!(
                !sample_fits && !lost_fits,
                "a whole record parsed as Other: {rec:?}"
            );
        }
    }
}

/// The ring target: drains the ring through a bounds-checked source and checks that
///
/// - no read leaves the ring, and a ring whose size is not a power of two, or whose
///   `head - tail` is negative or beyond the ring, is refused without any read;
/// - the tail always ends at head, and the records handed out are exactly the ring's bytes
///   from the tail on, each framed by its own header's size (at least 8, at most the ring);
///   when nothing was skipped they cover everything up to head;
/// - `parse_record` agrees with the layout on every record, and on the input's tail bytes
///   taken as one record of any length.
pub fn check_ring(data: &[u8]) {
    let case = RingCase::parse(data);
    let src = Bounded {
        bytes: &case.bytes,
        size: case.size,
        reads: Cell::new(0),
    };
    let mut records = Vec::new();
    let mut scratch = Vec::new();
    let (new_tail, fault) = ring::drain(
        &src,
        case.size,
        case.head,
        case.tail,
        &mut scratch,
        |r: &[u8]| records.push(r.to_vec()),
    );
    assert_eq!(new_tail, case.head, "the tail must end at head");
    let unread = case.head.checked_sub(case.tail);
    let sane = case.size.is_power_of_two() && unread.is_some_and(|n| n <= case.size as u64);
    if !sane {
        assert_eq!(fault, RingFault::Corrupt);
        assert!(records.is_empty());
        assert_eq!(src.reads.get(), 0, "a refused ring was read");
    } else {
        let unread = unread.unwrap_or(0);
        let mask = case.size as u64 - 1;
        let linear: Vec<u8> = (0..unread)
            .map(|i| case.bytes[(case.tail.wrapping_add(i) & mask) as usize])
            .collect();
        let flat = records.concat();
        assert!(
            linear.starts_with(&flat),
            "records are not the ring's bytes"
        );
        for r in &records {
            assert!(r.len() >= HEADER_SIZE && r.len() <= case.size);
            assert_eq!(usize::from(u16::from_ne_bytes([r[6], r[7]])), r.len());
            check_record(r);
        }
        if fault == RingFault::None {
            assert_eq!(flat.len() as u64, unread);
        }
    }
    check_record(data.get(RING_PREFIX..).unwrap_or(&[]));
}

// --- JSON ----------------------------------------------------------------------------------

/// The tracefs formats a JSON input can pick (its first byte, modulo 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind {
    /// No format: decoded as EventHeader (an event not read from a session).
    None = 0,
    /// A user_events EventHeader tracepoint's format (first field `eventheader_flags`).
    EventHeader = 1,
    /// The `otlp_metrics` tracepoint: `u32 protocol; char version[8]; __rel_loc u8 buffer[]`.
    Metrics = 2,
    /// A plain tracepoint: fixed fields, a `__data_loc` string and a fixed array.
    Plain = 3,
}

const COMMON_FIELDS: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
";

fn format_text(name: &str, id: u32, fields: &str) -> String {
    format!("name: {name}\nID: {id}\nformat:\n{COMMON_FIELDS}\n{fields}\nprint fmt: \"\"\n")
}

/// The parsed format for `kind` (parsed once).
pub fn format(kind: FormatKind) -> Option<Arc<PerfEventFormat>> {
    static FORMATS: OnceLock<[Arc<PerfEventFormat>; 3]> = OnceLock::new();
    let formats = FORMATS.get_or_init(|| {
        let parse = |text: String| {
            Arc::new(
                PerfEventFormat::parse(cfg!(target_pointer_width = "64"), "user_events", &text)
                    .expect("a valid format"),
            )
        };
        [
            parse(format_text(
                "fuzz_L4K1",
                1001,
                "\tfield:u8 eventheader_flags;\toffset:8;\tsize:1;\tsigned:0;
\tfield:u8 version;\toffset:9;\tsize:1;\tsigned:0;
\tfield:u16 id;\toffset:10;\tsize:2;\tsigned:0;
\tfield:u16 tag;\toffset:12;\tsize:2;\tsigned:0;
\tfield:u8 opcode;\toffset:14;\tsize:1;\tsigned:0;
\tfield:u8 level;\toffset:15;\tsize:1;\tsigned:0;
",
            )),
            parse(format_text(
                "otlp_metrics",
                1002,
                "\tfield:u32 protocol;\toffset:8;\tsize:4;\tsigned:0;
\tfield:char version[8];\toffset:12;\tsize:8;\tsigned:0;
\tfield:__rel_loc u8 buffer[];\toffset:20;\tsize:4;\tsigned:0;
",
            )),
            parse(format_text(
                "plain_ev",
                1003,
                "\tfield:u32 count;\toffset:8;\tsize:4;\tsigned:0;
\tfield:s64 delta;\toffset:12;\tsize:8;\tsigned:1;
\tfield:char msg[8];\toffset:20;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] text;\toffset:28;\tsize:4;\tsigned:0;
\tfield:u16 values[3];\toffset:32;\tsize:6;\tsigned:0;
",
            )),
        ]
    });
    match kind {
        FormatKind::None => None,
        FormatKind::EventHeader => Some(Arc::clone(&formats[0])),
        FormatKind::Metrics => Some(Arc::clone(&formats[1])),
        FormatKind::Plain => Some(Arc::clone(&formats[2])),
    }
}

/// One JSON input:
///
/// ```text
/// [0]        the format, see FormatKind (modulo 4)
/// [1]        n, the tracepoint name's length
/// [2..2+n]   the tracepoint name (lossy UTF-8)
/// [2+n..]    the sample's raw data after the kernel's common fields (PerfEvent::raw)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonCase {
    /// Which tracefs format the event carries.
    pub format: FormatKind,
    /// The tracepoint name without its system.
    pub tracepoint: String,
    /// `PerfEvent::raw`.
    pub raw: Vec<u8>,
}

impl JsonCase {
    /// Reads a fuzz input (see the type's docs).
    pub fn parse(data: &[u8]) -> JsonCase {
        let format = match byte(data, 0) % 4 {
            0 => FormatKind::None,
            1 => FormatKind::EventHeader,
            2 => FormatKind::Metrics,
            _ => FormatKind::Plain,
        };
        let n = usize::from(byte(data, 1));
        let rest = data.get(2..).unwrap_or(&[]);
        let (name, raw) = rest.split_at(n.min(rest.len()));
        JsonCase {
            format,
            tracepoint: String::from_utf8_lossy(name).into_owned(),
            raw: raw.to_vec(),
        }
    }

    /// The input that [`parse`](Self::parse) reads back as this case (the name must be at
    /// most 255 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let name = self.tracepoint.as_bytes();
        let mut out = vec![
            self.format as u8,
            u8::try_from(name.len()).expect("name too long"),
        ];
        out.extend_from_slice(name);
        out.extend_from_slice(&self.raw);
        out
    }
}

/// The JSON target: the line `listen` would print for the sample must be one line of valid
/// JSON, an object whose `tracepoint` is the name, holding the decoded `fields` (and, for
/// `otlp_metrics`, the decoded request in `otlp`; an `otlp_metrics` sample with no format
/// has `otlp` alone), or a `decode_error` with the raw bytes in `raw_hex`.
pub fn check_json(data: &[u8]) {
    let case = JsonCase::parse(data);
    let event = PerfEvent {
        tracepoint: case.tracepoint.clone(),
        time_ns: 1_700_000_000_000_000_001,
        pid: 42,
        tid: 43,
        cpu: 1,
        raw: case.raw.clone(),
        format: format(case.format),
    };
    let line = event.to_json();
    assert!(!line.contains('\n'), "not one line: {line}");
    let value: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let object = value.as_object().expect("a JSON object");
    assert_eq!(object["tracepoint"], case.tracepoint.as_str(), "{line}");
    match object.get("decode_error") {
        Some(_) => {
            let hex: String = case.raw.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(object["raw_hex"], hex.as_str(), "{line}");
        }
        None => {
            let holds = |key: &str| object.get(key).is_some_and(|v| v.is_object());
            assert!(holds("fields") || holds("otlp"), "{line}");
        }
    }
    let mut appended = String::from("x");
    event.write_json(&mut appended);
    assert_eq!(appended[1..], line);
}
