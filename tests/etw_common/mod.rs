//! The independent check of our ETW bytes: Microsoft's `tracelogging_dynamic::EventBuilder`
//! builds the same event field by field, and its `Debug` output (the only way to read its
//! buffers) gives the metadata and data ETW would receive.
#![allow(dead_code)]

use otel_os_events::sink::{CaptureSink, EtwCaptured};
use tracelogging_dynamic as tld;

/// What `EventBuilder` would hand to `EventWriteTransfer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub meta: Vec<u8>,
    pub data: Vec<u8>,
    pub id: u16,
    pub version: u8,
    pub level: u8,
    pub opcode: u8,
    pub keyword: u64,
}

/// Finishes `builder` (its `write` fills in the metadata size; off Windows it sends nothing)
/// and reads its bytes back from `Debug`.
pub fn reference(builder: &mut tld::EventBuilder) -> Reference {
    let provider = tld::Provider::new("Reference", &tld::Provider::options());
    assert_eq!(builder.write(&provider, None, None), 0);
    let text = format!("{builder:?}");
    Reference {
        meta: bytes_after(&text, "meta: ["),
        data: bytes_after(&text, "data: ["),
        id: number_after(&text, "id: ") as u16,
        version: number_after(&text, "version: ") as u8,
        level: number_after(&text, "level: Level(") as u8,
        opcode: number_after(&text, "opcode: Opcode(") as u8,
        keyword: number_after(&text, "keyword: "),
    }
}

fn bytes_after(text: &str, key: &str) -> Vec<u8> {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {text}"))
        + key.len();
    let end = start + text[start..].find(']').unwrap();
    text[start..end]
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

fn number_after(text: &str, key: &str) -> u64 {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {text}"))
        + key.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// Asserts that `ours` is byte for byte the reference event, naming the first difference.
pub fn assert_same(ours: &EtwCaptured, reference: &Reference) {
    for (what, a, b) in [
        ("metadata", &ours.meta, &reference.meta),
        ("data", &ours.data, &reference.data),
    ] {
        if a != b {
            let at = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
            panic!(
                "{what} differs at byte {at} (ours {} bytes, reference {} bytes)\n ours: {:?}\n  ref: {:?}\nours as text: {}\n ref as text: {}",
                a.len(),
                b.len(),
                &a[at.saturating_sub(8)..a.len().min(at + 24)],
                &b[at.saturating_sub(8)..b.len().min(at + 24)],
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b),
            );
        }
    }
    assert_eq!(
        (ours.id, ours.version, ours.level, ours.opcode, ours.keyword),
        (
            reference.id,
            reference.version,
            reference.level,
            reference.opcode,
            reference.keyword
        ),
        "descriptor (id, version, level, opcode, keyword)"
    );
}

/// The one ETW event `capture` holds.
pub fn only_event(capture: &CaptureSink) -> EtwCaptured {
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:#?}");
    events[0].etw.clone().expect("an ETW capture")
}

/// A UTF-8 string field as this crate writes them on ETW: `Str8`, out-type `Utf8`.
pub fn str8(b: &mut tld::EventBuilder, name: &str, value: &str) {
    b.add_str8(name, value, tld::OutType::Utf8, 0);
}
