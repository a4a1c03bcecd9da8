//! A reference row for the instruction counts: the *floor*, the least work that produces
//! our exact bytes for the bench's record. It knows the record's shape in advance (string
//! attributes, a string body, severity text, an event name, optionally a trace context), so
//! it takes the header and metadata as given (copied from an event our processor wrote) and
//! only reads the record through the SDK, formats the time and ids, and appends the data to
//! a reused `Vec`. No shape check, no size limit, no counters, no sink.
//!
//! What our encoder spends above this row is the cost of being general and safe: finding
//! and verifying the record's shape, the limits and cuts, and the write path. The bench
//! asserts once that the floor's bytes are ours.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::TraceId;
use opentelemetry_sdk::logs::SdkLogRecord;

/// Reused state: the output and the last second's `YYYY-MM-DDTHH:MM:SS`.
pub struct Floor {
    /// The event: header, metadata, data.
    pub out: Vec<u8>,
    /// The header and metadata of the record's shape.
    template: Vec<u8>,
    second: (u64, [u8; 19]),
}

impl Floor {
    /// A floor writer for events whose header and metadata are `payload`'s (an EventHeader
    /// event of the bench record's shape: an 8-byte header, no activity extension, then the
    /// metadata extension's block).
    pub fn new(payload: &[u8]) -> Floor {
        let meta_len = usize::from(u16::from_ne_bytes([payload[8], payload[9]]));
        Floor {
            out: Vec::new(),
            template: payload[..12 + meta_len].to_vec(),
            second: (u64::MAX, [0; 19]),
        }
    }

    /// Writes `record` (with cloud role `role`) into `out`.
    pub fn build(&mut self, record: &SdkLogRecord, role: &str) {
        self.out.clear();
        self.out.extend_from_slice(&self.template);
        self.out.extend_from_slice(&0x400u32.to_ne_bytes());
        let time = record
            .timestamp()
            .or(record.observed_timestamp())
            .unwrap_or_else(SystemTime::now);
        self.time(time);
        if let Some(tc) = record
            .trace_context()
            .filter(|tc| tc.trace_id != TraceId::INVALID)
        {
            hex(&mut self.out, &tc.trace_id.to_bytes());
            hex(&mut self.out, &tc.span_id.to_bytes());
        }
        counted(&mut self.out, role.as_bytes());
        for (_, value) in record.attributes_iter() {
            let AnyValue::String(s) = value else {
                panic!("the floor knows string attributes only");
            };
            counted(&mut self.out, s.as_str().as_bytes());
        }
        counted(&mut self.out, b"Log");
        if let Some(AnyValue::String(body)) = record.body() {
            counted(&mut self.out, body.as_str().as_bytes());
        }
        let severity = record.severity_number().map_or(0, |s| s as i16);
        self.out.extend_from_slice(&severity.to_ne_bytes());
        if let Some(text) = record.severity_text() {
            counted(&mut self.out, text.as_bytes());
        }
        if let Some(name) = record.event_name() {
            counted(&mut self.out, name.as_bytes());
        }
    }

    /// RFC 3339 with the fewest of 0, 3, 6 or 9 fractional digits (the bench's times are
    /// past 1970 and before 10000), the date and time of day formatted once per second.
    fn time(&mut self, t: SystemTime) {
        let d = t.duration_since(UNIX_EPOCH).expect("after 1970");
        if self.second.0 != d.as_secs() {
            let text = chrono::DateTime::<chrono::Utc>::from(
                UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs()),
            )
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
            self.second = (d.as_secs(), text.as_bytes().try_into().expect("19 bytes"));
        }
        let nanos = d.subsec_nanos();
        let mut digits = [b'0'; 9];
        let mut v = nanos;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let shown = match nanos {
            0 => 0,
            n if n % 1_000_000 == 0 => 3,
            n if n % 1_000 == 0 => 6,
            _ => 9,
        };
        let len = 19 + if shown > 0 { 1 + shown } else { 0 } + 1;
        self.out.extend_from_slice(&(len as u16).to_ne_bytes());
        self.out.extend_from_slice(&self.second.1);
        if shown > 0 {
            self.out.push(b'.');
            self.out.extend_from_slice(&digits[..shown]);
        }
        self.out.push(b'Z');
    }
}

/// A u16-counted string.
fn counted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_ne_bytes());
    out.extend_from_slice(bytes);
}

/// A u16-counted lowercase hex string (16 bytes at most), formatted on the stack.
fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 32];
    for (pair, b) in text.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    counted(out, &text[..2 * bytes.len()]);
}
