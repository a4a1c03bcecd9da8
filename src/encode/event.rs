//! One EventHeader event under construction: metadata and data in two reusable buffers,
//! and the header written last, once the metadata's length is known.
//!
//! The bytes that follow the kernel's `write_index` are, in order:
//!
//! ```text
//! offset  size  field
//! 0       1     flags      1 = pointer64, 2 = little endian, 4 = an extension follows
//! 1       1     version    0
//! 2       2     id         0 (native byte order)
//! 4       2     tag        0
//! 6       1     opcode     0 info, 1 activity start, 2 activity stop
//! 7       1     level      1 critical .. 5 verbose
//! 8       4     [activity extension: u16 size (16 or 32), u16 kind 0x8002, then the ids]
//! ..      4     metadata extension: u16 size, u16 kind 0x0001 (no chain bit: it is last)
//! ..      size  metadata: event name NUL, then per field: name NUL, encoding byte,
//!               [format byte], [u16 count of a constant array]
//! ..      ..    data: the field values, packed, native byte order, no alignment
//! ```
//!
//! Field encoding bytes (low 5 bits) and format bytes are [`eventheader::FieldEncoding`] and
//! [`eventheader::FieldFormat`]; bit 0x80 of the encoding byte says a format byte follows,
//! bit 0x40 says the value is a variable-length array (a u16 element count precedes the data).
//!
//! The same buffer writes ETW TraceLogging events ([`Wire::TraceLogging`]): the layouts call
//! the same methods, and only the metadata bytes, booleans and the header differ (see
//! [`super::tracelogging`]).

use eventheader::{FieldEncoding, FieldFormat, Level, Opcode};

use super::tracelogging as tl;

/// The largest payload (header through data) one user_events event may have, as the
/// `eventheader_dynamic` crate enforces (`ERANGE` above it), and within every u16 length.
pub const MAX_EVENT_SIZE_LIMIT: usize = 65_467;

/// Bit of the encoding byte: a format byte follows.
const ENC_HAS_FORMAT: u8 = 0x80;
/// Bit of the encoding byte: a variable-length array (u16 count first in the data).
const ENC_VARRAY: u8 = 0x40;
/// Extension kind: metadata (event name and field definitions).
const EXT_METADATA: u16 = 1;
/// Extension kind: activity id (16 bytes), optionally followed by the related id (16 more).
const EXT_ACTIVITY: u16 = 2;
/// Extension kind bit: another extension block follows.
const EXT_CHAIN: u16 = 0x8000;
/// Header flags of this machine: pointer size, byte order, and "extension follows".
const HEADER_FLAGS: u8 = (if cfg!(target_pointer_width = "64") {
    1
} else {
    0
}) | (if cfg!(target_endian = "little") { 2 } else { 0 })
    | 4;
/// Header + activity block (4 + 32) + metadata block header (EventHeader), or the
/// TraceLogging header with both activity ids (8 + 32).
const HEAD_MAX: usize = 8 + 4 + 32 + 4;

/// The format an [`EventBuf`] writes, chosen by how the event is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Wire {
    /// Linux user_events EventHeader ([`EventBuf::start`]).
    #[default]
    EventHeader,
    /// Windows ETW TraceLogging ([`EventBuf::start_tracelogging`]).
    TraceLogging,
}

/// The most fields a struct can hold: its count travels in the low 7 bits of a format byte.
pub(crate) const MAX_STRUCT_FIELDS: usize = 127;

/// Where a string begun with [`EventBuf::begin_str`] starts, for [`EventBuf::end_str`].
#[derive(Debug, Clone, Copy)]
#[must_use = "a string must be closed with EventBuf::end_str"]
pub(crate) struct StrMark {
    data_at: usize,
    format_at: Option<usize>,
}

/// Where a struct's field count is to be patched in, from [`EventBuf::begin_struct`].
#[derive(Debug, Clone, Copy)]
#[must_use = "a struct must be closed with EventBuf::end_struct"]
pub(crate) struct StructMark(usize);

/// A reusable buffer for one EventHeader event. Pure: it never does I/O.
///
/// Build an event with [`start`](Self::start), the `add_*` methods and
/// [`finish`](Self::finish); then [`parts`](Self::parts) gives the three slices to write
/// after the `write_index`. Strings are written as u16-counted UTF-8, so a NUL inside a value
/// is kept; names (of the event and of fields) are NUL-terminated, so a NUL in a name is
/// replaced with `_`, and an empty field name is written as `_`.
#[derive(Debug, Clone)]
pub(crate) struct EventBuf {
    head: [u8; HEAD_MAX],
    head_len: usize,
    meta: Vec<u8>,
    data: Vec<u8>,
    wire: Wire,
    /// Event id and version (0 for EventHeader and TraceLogging events but `otlp_metrics`).
    id_version: (u16, u8),
}

impl Default for EventBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBuf {
    /// An empty buffer.
    pub(crate) fn new() -> Self {
        EventBuf {
            head: [0; HEAD_MAX],
            head_len: 0,
            meta: Vec::new(),
            data: Vec::new(),
            wire: Wire::EventHeader,
            id_version: (0, 0),
        }
    }

    /// Clears the buffer and writes the event name (a NUL in it becomes `_`): an EventHeader
    /// event.
    pub(crate) fn start(&mut self, event_name: &str) {
        self.clear(Wire::EventHeader);
        self.push_name(event_name);
    }

    /// Clears the buffer and begins an ETW TraceLogging event named `event_name` (a NUL in it
    /// becomes `_`); see [`super::tracelogging`] for the bytes.
    pub(crate) fn start_tracelogging(&mut self, event_name: &str) {
        self.clear(Wire::TraceLogging);
        // The metadata's u16 size (patched in `finish`), then the event tag: none.
        self.meta.extend_from_slice(&[0, 0, 0]);
        self.push_name(event_name);
    }

    fn clear(&mut self, wire: Wire) {
        self.head_len = 0;
        self.meta.clear();
        self.data.clear();
        self.wire = wire;
        self.id_version = (0, 0);
    }

    /// The format being written.
    pub(crate) fn wire(&self) -> Wire {
        self.wire
    }

    /// Sets the event id and version (both 0 unless set; `otlp_metrics` on ETW is 81, 0).
    pub(crate) fn set_id_version(&mut self, id: u16, version: u8) {
        self.id_version = (id, version);
    }

    /// Clears the buffer for a payload that is not EventHeader (e.g. the OTLP metrics
    /// layout): write it into [`raw_mut`](Self::raw_mut); [`parts`](Self::parts) then yields
    /// it alone.
    pub(crate) fn start_raw(&mut self) {
        self.clear(Wire::EventHeader);
    }

    /// The payload of a buffer begun with [`start_raw`](Self::start_raw).
    pub(crate) fn raw_mut(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// The payload size once finished: EventHeader's header, extensions, metadata and data;
    /// TraceLogging's event metadata and data.
    pub(crate) fn len(&self) -> usize {
        match self.wire {
            Wire::EventHeader => self.head_len_for(0) + self.meta.len() + self.data.len(),
            Wire::TraceLogging => self.meta.len() + self.data.len(),
        }
    }

    /// Bytes held by the buffers (what a long-lived thread keeps allocated).
    pub(crate) fn capacity(&self) -> usize {
        self.meta.capacity() + self.data.capacity()
    }

    /// Releases memory beyond `keep` bytes per buffer, after an unusually large event.
    pub(crate) fn shrink_to(&mut self, keep: usize) {
        self.meta.shrink_to(keep);
        self.data.shrink_to(keep);
    }

    fn head_len_for(&self, activity_len: usize) -> usize {
        8 + if activity_len > 0 {
            4 + activity_len
        } else {
            0
        } + 4
    }

    /// Writes the header and extension blocks. `activity` is the 16-byte activity id and,
    /// optionally, the related (parent) activity id.
    ///
    /// Returns `false` if the metadata is too long for its u16 size (more than 65,535
    /// bytes), in which case the event must not be written.
    pub(crate) fn finish(
        &mut self,
        level: Level,
        opcode: Opcode,
        activity: Option<(&[u8; 16], Option<&[u8; 16]>)>,
    ) -> bool {
        let Ok(meta_len) = u16::try_from(self.meta.len()) else {
            return false;
        };
        if self.wire == Wire::TraceLogging {
            self.finish_tracelogging(meta_len, level, opcode, activity);
            return true;
        }
        let (id, version) = self.id_version;
        let h = &mut self.head;
        h[0] = HEADER_FLAGS;
        h[1] = version;
        h[2..4].copy_from_slice(&id.to_ne_bytes());
        h[4..6].copy_from_slice(&0u16.to_ne_bytes()); // tag
        h[6] = opcode.as_int();
        h[7] = level.as_int();
        let mut at = 8;
        if let Some((id, related)) = activity {
            let size: u16 = if related.is_some() { 32 } else { 16 };
            h[at..at + 2].copy_from_slice(&size.to_ne_bytes());
            h[at + 2..at + 4].copy_from_slice(&(EXT_ACTIVITY | EXT_CHAIN).to_ne_bytes());
            h[at + 4..at + 20].copy_from_slice(id);
            at += 20;
            if let Some(related) = related {
                h[at..at + 16].copy_from_slice(related);
                at += 16;
            }
        }
        h[at..at + 2].copy_from_slice(&meta_len.to_ne_bytes());
        h[at + 2..at + 4].copy_from_slice(&EXT_METADATA.to_ne_bytes());
        self.head_len = at + 4;
        true
    }

    fn finish_tracelogging(
        &mut self,
        meta_len: u16,
        level: Level,
        opcode: Opcode,
        activity: Option<(&[u8; 16], Option<&[u8; 16]>)>,
    ) {
        self.meta[..2].copy_from_slice(&meta_len.to_le_bytes());
        let (id, version) = self.id_version;
        let h = &mut self.head;
        h[..tl::HEAD_BASE].fill(0);
        h[0] = level.as_int();
        h[1] = opcode.as_int();
        h[2..4].copy_from_slice(&id.to_le_bytes());
        h[4] = version;
        let mut at = tl::HEAD_BASE;
        if let Some((id, related)) = activity {
            h[5] |= tl::HEAD_ACTIVITY;
            h[at..at + 16].copy_from_slice(id);
            at += 16;
            if let Some(related) = related {
                h[5] |= tl::HEAD_RELATED;
                h[at..at + 16].copy_from_slice(related);
                at += 16;
            }
        }
        self.head_len = at;
    }

    /// The finished event as three slices (header, metadata, data), ready for one `writev`.
    pub(crate) fn parts(&self) -> [&[u8]; 3] {
        [&self.head[..self.head_len], &self.meta, &self.data]
    }

    fn push_name(&mut self, name: &str) {
        let bytes = name.as_bytes();
        if bytes.is_empty() {
            self.meta.push(b'_');
        } else if !has_nul(bytes) {
            // The common case: one copy.
            self.meta.extend_from_slice(bytes);
        } else {
            self.meta
                .extend(bytes.iter().map(|&b| if b == 0 { b'_' } else { b }));
        }
        self.meta.push(0);
    }

    /// Returns true if a format (out-type) byte was written: it is then the last metadata byte.
    fn push_field(&mut self, name: &str, encoding: FieldEncoding, format: FieldFormat) -> bool {
        self.push_types(name, encoding, format, 0)
    }

    fn push_array_field(&mut self, name: &str, encoding: FieldEncoding, format: FieldFormat) {
        self.push_types(name, encoding, format, ENC_VARRAY);
    }

    /// The field's name and type bytes; `array` is 0 or the variable-array bit (0x40 in both
    /// formats).
    fn push_types(
        &mut self,
        name: &str,
        encoding: FieldEncoding,
        format: FieldFormat,
        array: u8,
    ) -> bool {
        self.push_name(name);
        let (ty, shown_as) = match self.wire {
            Wire::EventHeader => (encoding.as_int(), format.as_int()),
            Wire::TraceLogging => tl::field_types(encoding, format),
        };
        // Bit 0x80 (a format / out-type byte follows) is the same in both formats too.
        if shown_as == 0 {
            self.meta.push(ty | array);
            false
        } else {
            self.meta.push(ty | array | ENC_HAS_FORMAT);
            self.meta.push(shown_as);
            true
        }
    }

    /// A boolean's data: one byte in EventHeader, a 4-byte `Bool32` in TraceLogging.
    fn push_bool(data: &mut Vec<u8>, wire: Wire, value: bool) {
        match wire {
            Wire::EventHeader => data.push(u8::from(value)),
            Wire::TraceLogging => data.extend_from_slice(&u32::from(value).to_le_bytes()),
        }
    }

    /// A u16 field.
    pub(crate) fn add_u16(&mut self, name: &str, value: u16, format: FieldFormat) {
        self.push_field(name, FieldEncoding::Value16, format);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// A u32 field (`format` says how to show it, e.g. hex or unsigned).
    pub(crate) fn add_u32(&mut self, name: &str, value: u32, format: FieldFormat) {
        self.push_field(name, FieldEncoding::Value32, format);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// An i16 field, signed.
    pub(crate) fn add_i16(&mut self, name: &str, value: i16) {
        self.push_field(name, FieldEncoding::Value16, FieldFormat::SignedInt);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// An i64 field, signed.
    pub(crate) fn add_i64(&mut self, name: &str, value: i64) {
        self.push_field(name, FieldEncoding::Value64, FieldFormat::SignedInt);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// An f64 field (NaN and infinities are written as they are).
    pub(crate) fn add_f64(&mut self, name: &str, value: f64) {
        self.push_field(name, FieldEncoding::Value64, FieldFormat::Float);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// A boolean, one byte (0 or 1).
    pub(crate) fn add_bool(&mut self, name: &str, value: bool) {
        self.push_field(name, FieldEncoding::Value8, FieldFormat::Boolean);
        Self::push_bool(&mut self.data, self.wire, value);
    }

    /// A UTF-8 string, u16-counted, cut at `max_len` bytes on a character boundary.
    /// Returns true if it was cut. `format` is `Default` (UTF-8 text) or e.g. `Json`.
    pub(crate) fn add_str(
        &mut self,
        name: &str,
        value: &str,
        format: FieldFormat,
        max_len: usize,
    ) -> bool {
        let (kept, cut) = cut_str(value, max_len);
        // A cut JSON document is no longer JSON: say it is plain text.
        let format = if cut { FieldFormat::Default } else { format };
        self.push_field(name, FieldEncoding::StringLength16Char8, format);
        self.push_counted(kept.as_bytes());
        cut
    }

    /// Begins a string field whose text is then appended to [`str_data`](Self::str_data) and
    /// closed by [`end_str`](Self::end_str): formatters write straight into the event, with
    /// no temporary string.
    pub(crate) fn begin_str(&mut self, name: &str, format: FieldFormat) -> StrMark {
        // Where the format byte is, if the string has one (a TraceLogging string always has).
        let format_at = self
            .push_field(name, FieldEncoding::StringLength16Char8, format)
            .then(|| self.meta.len() - 1);
        let data_at = self.data.len();
        self.data.extend_from_slice(&[0, 0]);
        StrMark { data_at, format_at }
    }

    /// The data buffer, for appending the UTF-8 text of a string begun with
    /// [`begin_str`](Self::begin_str).
    pub(crate) fn str_data(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Closes a string begun with [`begin_str`](Self::begin_str), cutting its text to
    /// `max_len` bytes (and 65,535) on a character boundary. A cut string loses its format
    /// (a cut JSON document is plain text). Returns true if it was cut.
    pub(crate) fn end_str(&mut self, mark: StrMark, max_len: usize) -> bool {
        let text = &self.data[mark.data_at + 2..];
        let (keep, cut) = cut_bytes_utf8(text, max_len.min(usize::from(u16::MAX)));
        self.data.truncate(mark.data_at + 2 + keep);
        self.data[mark.data_at..mark.data_at + 2].copy_from_slice(&(keep as u16).to_ne_bytes());
        if let (true, Some(at)) = (cut, mark.format_at) {
            self.meta[at] = match self.wire {
                Wire::EventHeader => FieldFormat::Default.as_int(),
                Wire::TraceLogging => tl::CUT_STRING_OUT_TYPE,
            };
        }
        cut
    }

    /// Bytes, u16-counted, shown as hex; cut at `max_len`. Returns true if cut.
    pub(crate) fn add_binary(&mut self, name: &str, value: &[u8], max_len: usize) -> bool {
        let len = value.len().min(max_len).min(usize::from(u16::MAX));
        self.push_field(
            name,
            FieldEncoding::BinaryLength16Char8,
            FieldFormat::Default,
        );
        self.push_counted(&value[..len]);
        len < value.len()
    }

    /// A variable-length array of i64 (at most `max_items`). Returns true if cut.
    pub(crate) fn add_i64_array(
        &mut self,
        name: &str,
        values: impl ExactSizeIterator<Item = i64>,
        max_items: usize,
    ) -> bool {
        self.push_array_field(name, FieldEncoding::Value64, FieldFormat::SignedInt);
        self.push_array(values, max_items, |d, v| {
            d.extend_from_slice(&v.to_ne_bytes())
        })
    }

    /// A variable-length array of f64 (at most `max_items`). Returns true if cut.
    pub(crate) fn add_f64_array(
        &mut self,
        name: &str,
        values: impl ExactSizeIterator<Item = f64>,
        max_items: usize,
    ) -> bool {
        self.push_array_field(name, FieldEncoding::Value64, FieldFormat::Float);
        self.push_array(values, max_items, |d, v| {
            d.extend_from_slice(&v.to_ne_bytes())
        })
    }

    /// A variable-length array of booleans, one byte each. Returns true if cut.
    pub(crate) fn add_bool_array(
        &mut self,
        name: &str,
        values: impl ExactSizeIterator<Item = bool>,
        max_items: usize,
    ) -> bool {
        self.push_array_field(name, FieldEncoding::Value8, FieldFormat::Boolean);
        let wire = self.wire;
        self.push_array(values, max_items, |d, v| Self::push_bool(d, wire, v))
    }

    /// A variable-length array of strings, each cut at `max_len` bytes. Returns true if
    /// anything was cut.
    pub(crate) fn add_str_array<'a>(
        &mut self,
        name: &str,
        values: impl ExactSizeIterator<Item = &'a str>,
        max_items: usize,
        max_len: usize,
    ) -> bool {
        self.push_array_field(
            name,
            FieldEncoding::StringLength16Char8,
            FieldFormat::Default,
        );
        let mut any_cut = false;
        let cut = self.push_array(values, max_items, |d, v| {
            let (kept, c) = cut_str(v, max_len);
            any_cut |= c;
            d.extend_from_slice(&(kept.len() as u16).to_ne_bytes());
            d.extend_from_slice(kept.as_bytes());
        });
        cut || any_cut
    }

    fn push_array<T>(
        &mut self,
        values: impl ExactSizeIterator<Item = T>,
        max_items: usize,
        mut push: impl FnMut(&mut Vec<u8>, T),
    ) -> bool {
        let total = values.len();
        let n = total.min(max_items).min(usize::from(u16::MAX));
        self.data.extend_from_slice(&(n as u16).to_ne_bytes());
        for v in values.take(n) {
            push(&mut self.data, v);
        }
        n < total
    }

    fn push_counted(&mut self, bytes: &[u8]) {
        // Callers cut to u16::MAX or less.
        self.data
            .extend_from_slice(&(bytes.len() as u16).to_ne_bytes());
        self.data.extend_from_slice(bytes);
    }

    /// Begins a struct field. Its fields follow; close it with [`end_struct`](Self::end_struct)
    /// with their count. A struct must hold 1 to [`MAX_STRUCT_FIELDS`] fields.
    pub(crate) fn begin_struct(&mut self, name: &str) -> StructMark {
        self.push_name(name);
        let ty = match self.wire {
            Wire::EventHeader => FieldEncoding::Struct.as_int(),
            Wire::TraceLogging => tl::field_types(FieldEncoding::Struct, FieldFormat::Default).0,
        };
        self.meta.push(ty | ENC_HAS_FORMAT);
        self.meta.push(0);
        StructMark(self.meta.len() - 1)
    }

    /// Closes a struct with its field count (1..=127: callers guarantee it).
    pub(crate) fn end_struct(&mut self, mark: StructMark, fields: usize) {
        debug_assert!((1..=MAX_STRUCT_FIELDS).contains(&fields));
        self.meta[mark.0] = fields.clamp(1, MAX_STRUCT_FIELDS) as u8;
    }
}

/// True if `bytes` holds a NUL, looking at 8 bytes at a time: names are short, and
/// `contains` (memchr) costs more to start than to run on them.
fn has_nul(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            continue;
        };
        let v = u64::from_ne_bytes(word);
        // A byte is zero exactly when borrowing from it sets its high bit where it had none.
        if v.wrapping_sub(ONES) & !v & HIGHS != 0 {
            return true;
        }
    }
    words.remainder().contains(&0)
}

/// `value` cut to at most `max_len` bytes (and 65,535) on a character boundary, and whether
/// it was cut.
pub(crate) fn cut_str(value: &str, max_len: usize) -> (&str, bool) {
    let (end, cut) = cut_bytes_utf8(value.as_bytes(), max_len.min(usize::from(u16::MAX)));
    (&value[..end], cut)
}

/// How many bytes of UTF-8 `bytes` to keep to stay within `max_len` on a character boundary.
fn cut_bytes_utf8(bytes: &[u8], max_len: usize) -> (usize, bool) {
    if bytes.len() <= max_len {
        return (bytes.len(), false);
    }
    let mut end = max_len;
    // Continuation bytes are 0b10xx_xxxx.
    while end > 0 && bytes[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    (end, true)
}

#[cfg(test)]
mod tests {
    use super::has_nul;

    #[test]
    fn has_nul_finds_a_nul_anywhere_and_nothing_else() {
        for len in 0..24 {
            let clean: Vec<u8> = (0..len)
                .map(|i| (b'a' + (i % 26) as u8) | (0x80 * (i % 2) as u8))
                .collect();
            assert!(!has_nul(&clean), "{len}");
            for at in 0..len {
                let mut with = clean.clone();
                with[at] = 0;
                assert!(has_nul(&with), "{len} {at}");
            }
        }
    }
}
