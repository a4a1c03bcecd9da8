//! One event under construction: metadata and data in two reusable buffers, and the
//! [`EventDescriptor`] (level, opcode, id, version, activity ids) given when it is finished.
//! A sink takes the result as a [`FinishedEvent`], borrowed from the buffer.
//!
//! An [`EventBuf`] holds one of three kinds of event, chosen by how it is started:
//!
//! | started with | for | [`FinishedEvent`] |
//! |---|---|---|
//! | [`EventBuf::start`] | user_events, EventHeader (logs, spans) | `EventHeader { header, meta, data }` |
//! | [`EventBuf::start_tracelogging`] | ETW, TraceLogging (logs, spans) | `TraceLogging { descriptor, meta, data }` |
//! | [`EventBuf::start_raw_payload`] | user_events, a tracepoint with its own field list (`otlp_metrics`) | `RawPayload(bytes)` |
//! | [`EventBuf::start_tracelogging_payload`] | ETW, an event with no fields (`otlp_metrics`) | `TraceLogging { descriptor, meta, data }` |
//!
//! ## EventHeader
//!
//! The bytes that follow the kernel's `write_index` are, in order (the header and extension
//! blocks are built from the descriptor by [`EventBuf::finish`]):
//!
//! ```text
//! offset  size  field
//! 0       1     flags      1 = pointer64, 2 = little endian, 4 = an extension follows
//! 1       1     version    descriptor.version (0)
//! 2       2     id         descriptor.id (0), native byte order
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
//! ## TraceLogging
//!
//! The layouts call the same methods; only the metadata bytes and booleans differ, and no
//! header is built: the ETW sink passes the descriptor to `EventWriteTransfer` as its
//! `EVENT_DESCRIPTOR` and activity ids (see [`super::tracelogging`] for the bytes).
//!
//! ## Raw payload
//!
//! Bytes that are not fields, written as they are: on user_events the whole event after the
//! `write_index`, with no EventHeader header (the tracepoint was registered with its own
//! field list, which describes them); on ETW the data block of a TraceLogging event whose
//! metadata is its name alone.

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
/// The longest EventHeader header: the 8 fixed bytes, the activity extension with both ids
/// (4 + 32) and the metadata extension's block header (4).
const EVENTHEADER_HEADER_MAX: usize = 8 + 4 + 32 + 4;

/// The EventHeader header's length: 8 bytes, the activity extension if there is one, and the
/// metadata extension's block header.
fn eventheader_header_len(activity: Option<&Activity>) -> usize {
    let activity_len = match activity {
        None => 0,
        Some(Activity {
            related_id: None, ..
        }) => 4 + 16,
        Some(Activity {
            related_id: Some(_),
            ..
        }) => 4 + 32,
    };
    8 + activity_len + 4
}

/// The format an [`EventBuf`] writes, chosen by how the event is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Wire {
    /// Linux user_events EventHeader ([`EventBuf::start`], [`EventBuf::start_raw_payload`]).
    #[default]
    EventHeader,
    /// Windows ETW TraceLogging ([`EventBuf::start_tracelogging`],
    /// [`EventBuf::start_tracelogging_payload`]).
    TraceLogging,
}

/// The most fields a struct can hold: its count travels in the low 7 bits of a format byte.
pub(crate) const MAX_STRUCT_FIELDS: usize = 127;

/// What an event is, apart from its fields: the values of ETW's `EVENT_DESCRIPTOR` and
/// activity ids, which EventHeader writes in its 8-byte header and activity extension.
///
/// An [`EventBuf`] keeps the descriptor it was finished with, so a queued event carries it
/// to the flush thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EventDescriptor {
    /// 1 critical .. 5 verbose. ETW sinks write the level of the tracepoint instead (the
    /// processor chose that tracepoint for this level).
    pub level: Level,
    /// 0 info, 1 activity start, 2 activity stop.
    pub opcode: Opcode,
    /// The event id: 0 for events known by name, [`ETW_EVENT_ID`](crate::metrics::ETW_EVENT_ID)
    /// for ETW `otlp_metrics`.
    pub id: u16,
    /// The event version (0).
    pub version: u8,
    /// The activity (span) the event belongs to, if any.
    pub activity: Option<Activity>,
}

/// An event's activity ids: ETW's `ActivityId` and `RelatedActivityId`, EventHeader's
/// activity extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Activity {
    /// The activity id's 16 bytes (as a GUID lies in memory).
    pub id: [u8; 16],
    /// The related (parent) activity id.
    pub related_id: Option<[u8; 16]>,
}

impl EventDescriptor {
    /// An event with id 0, version 0 and no activity.
    pub(crate) fn new(level: Level, opcode: Opcode) -> Self {
        EventDescriptor {
            level,
            opcode,
            ..Self::default()
        }
    }

    /// The activity id, if any.
    pub(crate) fn activity_id(&self) -> Option<&[u8; 16]> {
        self.activity.as_ref().map(|a| &a.id)
    }

    /// The related (parent) activity id, if any.
    pub(crate) fn related_activity_id(&self) -> Option<&[u8; 16]> {
        self.activity.as_ref().and_then(|a| a.related_id.as_ref())
    }
}

/// A finished event as a sink takes it, borrowed from its [`EventBuf`]: nothing is copied
/// and nothing needs parsing back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FinishedEvent<'a> {
    /// An EventHeader event for user_events: `header` is the 8-byte header and its extension
    /// blocks (see the module docs); the sink writes the three slices with one `writev`.
    EventHeader {
        header: &'a [u8],
        meta: &'a [u8],
        data: &'a [u8],
    },
    /// A TraceLogging event for ETW: the descriptor, the event metadata block and the data
    /// block (see [`super::tracelogging`]).
    TraceLogging {
        descriptor: &'a EventDescriptor,
        meta: &'a [u8],
        data: &'a [u8],
    },
    /// user_events bytes with no EventHeader header, for a tracepoint registered with its own
    /// field list (`otlp_metrics`): written as they are.
    RawPayload(&'a [u8]),
}

impl FinishedEvent<'_> {
    /// The bytes the sink hands to the OS: for ETW, the event metadata and the data.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match self {
            FinishedEvent::EventHeader { header, meta, data } => {
                header.len() + meta.len() + data.len()
            }
            FinishedEvent::TraceLogging { meta, data, .. } => meta.len() + data.len(),
            FinishedEvent::RawPayload(payload) => payload.len(),
        }
    }
}

/// What an [`EventBuf`] holds, set by how it was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// An EventHeader event: header (built by `finish`), metadata, data.
    EventHeader,
    /// A TraceLogging event: metadata and data, described by the descriptor.
    TraceLogging,
    /// user_events bytes with no header and no metadata, all in `data`.
    RawPayload,
}

/// Where a string begun with [`EventBuf::begin_str`] starts, for [`EventBuf::end_str`].
#[derive(Debug, Clone, Copy)]
#[must_use = "a string must be closed with EventBuf::end_str"]
pub(crate) struct StrMark {
    data_at: usize,
    format_at: Option<usize>,
}

/// Where a struct's field count is to be patched in, from [`EventBuf::begin_struct`]
/// (nowhere when the metadata was given).
#[derive(Debug, Clone, Copy)]
#[must_use = "a struct must be closed with EventBuf::end_struct"]
pub(crate) struct StructMark(Option<usize>);

/// A reusable buffer for one event. Pure: it never does I/O.
///
/// Build an event with [`start`](Self::start) (or
/// [`start_tracelogging`](Self::start_tracelogging)), the `add_*` methods and
/// [`finish`](Self::finish); then [`finished`](Self::finished) gives it to the sink. Strings
/// are written as u16-counted UTF-8, so a NUL inside a value is kept; names (of the event and
/// of fields) are NUL-terminated, so a NUL in a name is replaced with `_`, and an empty field
/// name is written as `_`.
#[derive(Debug, Clone)]
pub(crate) struct EventBuf {
    /// EventHeader only: the header and extension blocks, built by `finish`.
    eventheader_header: [u8; EVENTHEADER_HEADER_MAX],
    /// How many bytes of `eventheader_header` are in use (0 until finished).
    eventheader_header_len: usize,
    /// What `finish` (or `start_tracelogging_payload`) was given.
    descriptor: EventDescriptor,
    meta: Vec<u8>,
    data: Vec<u8>,
    body: Body,
    /// Data only ([`begin_data_only`](Self::begin_data_only)): every call that would write
    /// metadata leaves it alone.
    meta_given: bool,
    /// The metadata depends on the values, not only on the event's shape: a cut string
    /// changed a format byte, or the layout left out fields whose names repeat.
    meta_varies: bool,
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
            eventheader_header: [0; EVENTHEADER_HEADER_MAX],
            eventheader_header_len: 0,
            descriptor: EventDescriptor::default(),
            meta: Vec::new(),
            data: Vec::new(),
            body: Body::EventHeader,
            meta_given: false,
            meta_varies: false,
        }
    }

    /// Clears the buffer and writes the event name (a NUL in it becomes `_`): an EventHeader
    /// event.
    pub(crate) fn start(&mut self, event_name: &str) {
        self.clear(Body::EventHeader);
        self.push_name(event_name);
    }

    /// Clears the buffer and begins an ETW TraceLogging event named `event_name` (a NUL in it
    /// becomes `_`); see [`super::tracelogging`] for the bytes.
    pub(crate) fn start_tracelogging(&mut self, event_name: &str) {
        self.clear(Body::TraceLogging);
        if !self.meta_given {
            // The metadata's u16 size (patched in `finish`), then the event tag: none.
            self.meta.extend_from_slice(&[0, 0, 0]);
        }
        self.push_name(event_name);
    }

    /// Clears the buffer for a user_events raw payload (no EventHeader header, no metadata)
    /// and returns the vector to write it into; the event is then finished as it stands.
    pub(crate) fn start_raw_payload(&mut self) -> &mut Vec<u8> {
        self.clear(Body::RawPayload);
        &mut self.data
    }

    /// Clears the buffer for an ETW TraceLogging event named `event_name` with no fields,
    /// finished with `descriptor`, and returns the vector to write its data (a raw payload)
    /// into: its metadata is the name alone.
    ///
    /// `event_name` is the crate's own constant: one too long for the metadata's u16 size
    /// (65,532 bytes) is a bug, caught in debug builds.
    pub(crate) fn start_tracelogging_payload(
        &mut self,
        event_name: &str,
        descriptor: &EventDescriptor,
    ) -> &mut Vec<u8> {
        self.start_tracelogging(event_name);
        let finished = self.finish(descriptor);
        debug_assert!(finished, "event name too long: {}", event_name.len());
        &mut self.data
    }

    fn clear(&mut self, body: Body) {
        self.eventheader_header_len = 0;
        self.descriptor = EventDescriptor::default();
        if !self.meta_given {
            self.meta.clear();
        }
        self.meta_varies = false;
        self.data.clear();
        self.body = body;
    }

    /// Writes the next event's data only: starting it and adding fields leave the
    /// metadata alone (empty), until [`install_meta`](Self::install_meta) puts in the
    /// metadata of the event's shape, which the shape cache ([`super::shape`]) knows, or
    /// [`end_data_only`](Self::end_data_only).
    pub(crate) fn begin_data_only(&mut self) {
        self.meta.clear();
        self.meta_given = true;
    }

    /// Puts in the metadata of the event just written with
    /// [`begin_data_only`](Self::begin_data_only) (exactly what its calls would have
    /// written) and finishes it with the descriptor it was finished with.
    pub(crate) fn install_meta(&mut self, meta: &[u8]) {
        self.meta.clear();
        self.meta.extend_from_slice(meta);
        self.meta_given = false;
        let descriptor = self.descriptor;
        self.finish(&descriptor);
    }

    /// True while writing data only ([`begin_data_only`](Self::begin_data_only)).
    #[inline]
    pub(crate) fn data_only(&self) -> bool {
        self.meta_given
    }

    /// Back to writing metadata too.
    pub(crate) fn end_data_only(&mut self) {
        self.meta_given = false;
    }

    /// The metadata written so far.
    pub(crate) fn meta(&self) -> &[u8] {
        &self.meta
    }

    /// The data written so far.
    #[cfg(debug_assertions)]
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// True if this event's metadata depends on its values, not only on its shape: a cut
    /// string changed a format byte, or [`set_meta_varies`](Self::set_meta_varies) was
    /// called. The shape cache does not keep such metadata.
    pub(crate) fn meta_varies(&self) -> bool {
        self.meta_varies
    }

    /// Says that the metadata depends on the values (e.g. fields left out because their
    /// names repeat, see [`super::names`]).
    pub(crate) fn set_meta_varies(&mut self) {
        self.meta_varies = true;
    }

    /// The format being written.
    #[inline]
    pub(crate) fn wire(&self) -> Wire {
        match self.body {
            Body::EventHeader | Body::RawPayload => Wire::EventHeader,
            Body::TraceLogging => Wire::TraceLogging,
        }
    }

    /// The payload size once finished, as the sink writes it: EventHeader's header,
    /// extensions, metadata and data; TraceLogging's event metadata and data; a raw payload's
    /// bytes.
    pub(crate) fn len(&self) -> usize {
        match self.body {
            Body::EventHeader => {
                eventheader_header_len(self.descriptor.activity.as_ref())
                    + self.meta.len()
                    + self.data.len()
            }
            Body::TraceLogging => self.meta.len() + self.data.len(),
            Body::RawPayload => self.data.len(),
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

    /// Finishes an event begun with [`start`](Self::start) or
    /// [`start_tracelogging`](Self::start_tracelogging) with `descriptor`. EventHeader: writes
    /// the header and extension blocks. TraceLogging: patches the metadata's size in.
    ///
    /// Returns `false` if the metadata is too long for its u16 size (more than 65,535
    /// bytes), in which case the event must not be written.
    pub(crate) fn finish(&mut self, descriptor: &EventDescriptor) -> bool {
        self.descriptor = *descriptor;
        if self.meta_given {
            // Data only: `install_meta` finishes the event.
            return true;
        }
        let Ok(meta_len) = u16::try_from(self.meta.len()) else {
            return false;
        };
        match self.body {
            Body::EventHeader => self.write_eventheader_header(meta_len),
            Body::TraceLogging => self.meta[..2].copy_from_slice(&meta_len.to_le_bytes()),
            // Nothing to finish: the payload is the event.
            Body::RawPayload => {}
        }
        true
    }

    /// The EventHeader header and extension blocks for the descriptor (see the module docs).
    fn write_eventheader_header(&mut self, meta_len: u16) {
        let d = &self.descriptor;
        let h = &mut self.eventheader_header;
        h[0] = HEADER_FLAGS;
        h[1] = d.version;
        h[2..4].copy_from_slice(&d.id.to_ne_bytes());
        h[4..6].copy_from_slice(&0u16.to_ne_bytes()); // tag
        h[6] = d.opcode.as_int();
        h[7] = d.level.as_int();
        let mut at = 8;
        if let Some(activity) = &d.activity {
            let size: u16 = if activity.related_id.is_some() {
                32
            } else {
                16
            };
            h[at..at + 2].copy_from_slice(&size.to_ne_bytes());
            h[at + 2..at + 4].copy_from_slice(&(EXT_ACTIVITY | EXT_CHAIN).to_ne_bytes());
            h[at + 4..at + 20].copy_from_slice(&activity.id);
            at += 20;
            if let Some(related) = &activity.related_id {
                h[at..at + 16].copy_from_slice(related);
                at += 16;
            }
        }
        h[at..at + 2].copy_from_slice(&meta_len.to_ne_bytes());
        h[at + 2..at + 4].copy_from_slice(&EXT_METADATA.to_ne_bytes());
        self.eventheader_header_len = at + 4;
    }

    /// The finished event, for the sink.
    #[inline]
    pub(crate) fn finished(&self) -> FinishedEvent<'_> {
        match self.body {
            Body::EventHeader => FinishedEvent::EventHeader {
                header: &self.eventheader_header[..self.eventheader_header_len],
                meta: &self.meta,
                data: &self.data,
            },
            Body::TraceLogging => FinishedEvent::TraceLogging {
                descriptor: &self.descriptor,
                meta: &self.meta,
                data: &self.data,
            },
            Body::RawPayload => FinishedEvent::RawPayload(&self.data),
        }
    }

    #[inline(always)]
    fn push_name(&mut self, name: &str) {
        if self.meta_given {
            return;
        }
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
    #[inline(always)]
    fn push_field(&mut self, name: &str, encoding: FieldEncoding, format: FieldFormat) -> bool {
        self.push_types(name, encoding, format, 0)
    }

    fn push_array_field(&mut self, name: &str, encoding: FieldEncoding, format: FieldFormat) {
        self.push_types(name, encoding, format, ENC_VARRAY);
    }

    /// The field's name and type bytes; `array` is 0 or the variable-array bit (0x40 in both
    /// formats).
    #[inline(always)]
    fn push_types(
        &mut self,
        name: &str,
        encoding: FieldEncoding,
        format: FieldFormat,
        array: u8,
    ) -> bool {
        if self.meta_given {
            return false;
        }
        self.push_name(name);
        let (ty, shown_as) = match self.wire() {
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
    #[inline]
    pub(crate) fn add_u16(&mut self, name: &str, value: u16, format: FieldFormat) {
        self.push_field(name, FieldEncoding::Value16, format);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// A u32 field (`format` says how to show it, e.g. hex or unsigned).
    #[inline(always)]
    pub(crate) fn add_u32(&mut self, name: &str, value: u32, format: FieldFormat) {
        self.push_field(name, FieldEncoding::Value32, format);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// An i16 field, signed.
    #[inline(always)]
    pub(crate) fn add_i16(&mut self, name: &str, value: i16) {
        self.push_field(name, FieldEncoding::Value16, FieldFormat::SignedInt);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// An i64 field, signed.
    #[inline]
    pub(crate) fn add_i64(&mut self, name: &str, value: i64) {
        self.push_field(name, FieldEncoding::Value64, FieldFormat::SignedInt);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// An f64 field (NaN and infinities are written as they are).
    #[inline]
    pub(crate) fn add_f64(&mut self, name: &str, value: f64) {
        self.push_field(name, FieldEncoding::Value64, FieldFormat::Float);
        self.data.extend_from_slice(&value.to_ne_bytes());
    }

    /// A boolean, one byte (0 or 1).
    #[inline]
    pub(crate) fn add_bool(&mut self, name: &str, value: bool) {
        self.push_field(name, FieldEncoding::Value8, FieldFormat::Boolean);
        let wire = self.wire();
        Self::push_bool(&mut self.data, wire, value);
    }

    /// A UTF-8 string, u16-counted, cut at `max_len` bytes on a character boundary.
    /// Returns true if it was cut. `format` is `Default` (UTF-8 text) or e.g. `Json`.
    #[inline(always)]
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
    #[inline(always)]
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
    #[inline(always)]
    pub(crate) fn end_str(&mut self, mark: StrMark, max_len: usize) -> bool {
        let text = &self.data[mark.data_at + 2..];
        let (keep, cut) = cut_bytes_utf8(text, max_len.min(usize::from(u16::MAX)));
        self.data.truncate(mark.data_at + 2 + keep);
        self.data[mark.data_at..mark.data_at + 2].copy_from_slice(&(keep as u16).to_ne_bytes());
        if let (true, Some(at)) = (cut, mark.format_at) {
            self.meta_varies = true;
            self.meta[at] = match self.wire() {
                Wire::EventHeader => FieldFormat::Default.as_int(),
                Wire::TraceLogging => tl::CUT_STRING_OUT_TYPE,
            };
        }
        cut
    }

    /// Data only, for a field whose metadata is cached (the layouts' fast paths): a string's
    /// u16 count and UTF-8, cut as [`add_str`](Self::add_str) cuts it.
    #[inline(always)]
    pub(crate) fn data_str(&mut self, value: &str, max_len: usize) {
        let (kept, _) = cut_str(value, max_len);
        self.push_counted(kept.as_bytes());
    }

    /// Data only: a binary value's u16 count and bytes, cut as
    /// [`add_binary`](Self::add_binary) cuts it.
    #[inline]
    pub(crate) fn data_binary(&mut self, value: &[u8], max_len: usize) {
        let len = value.len().min(max_len).min(usize::from(u16::MAX));
        self.push_counted(&value[..len]);
    }

    /// Data only: a boolean, in the wire's size.
    #[inline(always)]
    pub(crate) fn data_bool(&mut self, value: bool) {
        let wire = self.wire();
        Self::push_bool(&mut self.data, wire, value);
    }

    /// Data only: bytes as they are (numbers, in native byte order).
    #[inline(always)]
    pub(crate) fn data_raw(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
    }

    /// Data only: a string that `write` formats in place (ASCII, shorter than 65,536
    /// bytes: times, ids), with its u16 count.
    #[inline(always)]
    pub(crate) fn data_text(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let at = self.data.len();
        self.data.extend_from_slice(&[0, 0]);
        write(&mut self.data);
        let len = (self.data.len() - at - 2).min(usize::from(u16::MAX)) as u16;
        self.data[at..at + 2].copy_from_slice(&len.to_ne_bytes());
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
        let wire = self.wire();
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

    #[inline(always)]
    fn push_counted(&mut self, bytes: &[u8]) {
        // Callers cut to u16::MAX or less.
        super::copy::push_counted(&mut self.data, bytes);
    }

    /// Begins a struct field. Its fields follow; close it with [`end_struct`](Self::end_struct)
    /// with their count. A struct must hold 1 to [`MAX_STRUCT_FIELDS`] fields.
    #[inline(always)]
    pub(crate) fn begin_struct(&mut self, name: &str) -> StructMark {
        if self.meta_given {
            return StructMark(None);
        }
        self.push_name(name);
        let ty = match self.wire() {
            Wire::EventHeader => FieldEncoding::Struct.as_int(),
            Wire::TraceLogging => tl::field_types(FieldEncoding::Struct, FieldFormat::Default).0,
        };
        self.meta.push(ty | ENC_HAS_FORMAT);
        self.meta.push(0);
        StructMark(Some(self.meta.len() - 1))
    }

    /// Closes a struct with its field count (1..=127: callers guarantee it).
    #[inline(always)]
    pub(crate) fn end_struct(&mut self, mark: StructMark, fields: usize) {
        debug_assert!((1..=MAX_STRUCT_FIELDS).contains(&fields));
        if let Some(at) = mark.0 {
            self.meta[at] = fields.clamp(1, MAX_STRUCT_FIELDS) as u8;
        }
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
#[inline(always)]
pub(crate) fn cut_str(value: &str, max_len: usize) -> (&str, bool) {
    let (end, cut) = cut_bytes_utf8(value.as_bytes(), max_len.min(usize::from(u16::MAX)));
    (&value[..end], cut)
}

/// How many bytes of UTF-8 `bytes` to keep to stay within `max_len` on a character boundary.
#[inline(always)]
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
    use eventheader::{FieldFormat, Level, Opcode};

    use super::{has_nul, Activity, EventBuf, EventDescriptor, FinishedEvent, EXT_ACTIVITY};

    const ACTIVITY: Activity = Activity {
        id: [0x11; 16],
        related_id: Some([0x22; 16]),
    };

    fn descriptor(activity: Option<Activity>) -> EventDescriptor {
        EventDescriptor {
            id: 81,
            version: 3,
            activity,
            ..EventDescriptor::new(Level::Warning, Opcode::ActivityStart)
        }
    }

    /// A raw payload used to be counted as an EventHeader event: 12 header bytes that are
    /// never written were added to its length.
    #[test]
    fn a_raw_payload_reports_the_bytes_it_holds() {
        let mut buf = EventBuf::new();
        buf.start_raw_payload().extend_from_slice(&[0xab; 37]);
        assert_eq!(buf.len(), 37);
        assert_eq!(buf.finished(), FinishedEvent::RawPayload(&[0xab; 37]));
    }

    #[test]
    fn the_length_is_what_the_sink_receives_for_every_kind_of_event() {
        let mut buf = EventBuf::new();
        let with_fields = |buf: &mut EventBuf, activity| {
            buf.add_u32("a", 7, FieldFormat::Default);
            buf.add_str("b", "text", FieldFormat::Default, usize::MAX);
            assert!(buf.finish(&descriptor(activity)));
        };
        for activity in [
            None,
            Some(Activity {
                related_id: None,
                ..ACTIVITY
            }),
            Some(ACTIVITY),
        ] {
            buf.start("e");
            with_fields(&mut buf, activity);
            assert_eq!(buf.len(), buf.finished().len(), "EventHeader {activity:?}");
            buf.start_tracelogging("e");
            with_fields(&mut buf, activity);
            assert_eq!(buf.len(), buf.finished().len(), "TraceLogging {activity:?}");
        }
        buf.start_tracelogging_payload("otlp_metrics", &descriptor(None))
            .extend_from_slice(&[1; 50]);
        assert_eq!(buf.len(), buf.finished().len());
        assert_eq!(buf.len(), 3 + 13 + 50);
    }

    #[test]
    fn tracelogging_hands_the_descriptor_to_the_sink_and_writes_no_header() {
        let mut buf = EventBuf::new();
        let d = descriptor(Some(ACTIVITY));
        buf.start_tracelogging_payload("otlp_metrics", &d)
            .extend_from_slice(b"payload");
        let FinishedEvent::TraceLogging {
            descriptor,
            meta,
            data,
        } = buf.finished()
        else {
            panic!("not TraceLogging: {:?}", buf.finished());
        };
        assert_eq!(*descriptor, d);
        assert_eq!(descriptor.activity_id(), Some(&[0x11; 16]));
        assert_eq!(descriptor.related_activity_id(), Some(&[0x22; 16]));
        assert_eq!(
            meta, b"\x10\x00\x00otlp_metrics\x00",
            "size, tag, name alone"
        );
        assert_eq!(data, b"payload");

        // Starting again forgets the descriptor.
        buf.start_raw_payload();
        assert_eq!(buf.finished(), FinishedEvent::RawPayload(&[]));
        buf.start_tracelogging("e");
        let FinishedEvent::TraceLogging { descriptor, .. } = buf.finished() else {
            panic!("not TraceLogging");
        };
        assert_eq!(*descriptor, EventDescriptor::default());
    }

    #[test]
    fn eventheader_builds_its_header_from_the_descriptor() {
        let mut buf = EventBuf::new();
        buf.start("e");
        assert!(buf.finish(&descriptor(Some(ACTIVITY))));
        let FinishedEvent::EventHeader { header, meta, data } = buf.finished() else {
            panic!("not EventHeader: {:?}", buf.finished());
        };
        assert_eq!((meta, data), (&b"e\0"[..], &[][..]));
        assert_eq!(header.len(), 8 + 4 + 32 + 4);
        assert_eq!(header[1], 3, "version");
        assert_eq!(&header[2..4], &81u16.to_ne_bytes(), "id");
        assert_eq!(&header[4..6], &[0, 0], "tag");
        assert_eq!(
            (header[6], header[7]),
            (Opcode::ActivityStart.as_int(), Level::Warning.as_int())
        );
        assert_eq!(&header[8..10], &32u16.to_ne_bytes(), "both ids");
        assert_eq!(&header[10..12], &(EXT_ACTIVITY | 0x8000).to_ne_bytes());
        assert_eq!(&header[12..28], &[0x11; 16]);
        assert_eq!(&header[28..44], &[0x22; 16]);
        assert_eq!(&header[44..46], &2u16.to_ne_bytes(), "metadata size");
        assert_eq!(&header[46..48], &1u16.to_ne_bytes(), "metadata, last");
    }

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

/// The buffer's marks and cuts, checked by decoding the finished event with the independent
/// decoder (tracepoint_decode). Pure: these also run under Miri (vm/memcheck.sh).
#[cfg(test)]
mod decoded_tests {
    use eventheader::{FieldEncoding, FieldFormat, Level, Opcode};
    use tracepoint_decode::{EventHeaderEnumeratorContext, EventHeaderEnumeratorState as St};

    use super::{tl, Activity, EventBuf, EventDescriptor, FinishedEvent, MAX_STRUCT_FIELDS};

    /// The payload of a finished EventHeader buffer, as written after the write_index.
    fn payload(buf: &EventBuf) -> Vec<u8> {
        match buf.finished() {
            FinishedEvent::EventHeader { header, meta, data } => [header, meta, data].concat(),
            other => panic!("not EventHeader: {other:?}"),
        }
    }

    /// Decodes a finished EventHeader buffer with the independent decoder, one line per item:
    /// `name=value` (strings quoted, with their format when not the default), `name{` and `}`
    /// around structs. Panics if the decoder reports an error.
    fn decode(buf: &EventBuf) -> Vec<String> {
        let bytes = payload(buf);
        let mut ctx = EventHeaderEnumeratorContext::new();
        let mut e = ctx
            .enumerate_with_name_and_data("P_L4K1", &bytes, 100_000)
            .unwrap_or_else(|err| panic!("not an EventHeader event: {err:?}"));
        let mut out = vec![String::from_utf8_lossy(e.event_info().name_bytes()).into_owned()];
        while e.move_next() {
            let item = e.item_info();
            let name = String::from_utf8_lossy(item.name_bytes()).into_owned();
            let v = item.value();
            let m = v.metadata();
            out.push(match e.state() {
                St::StructBegin => format!("{name}{{"),
                St::StructEnd => "}".to_string(),
                St::Value => match m.encoding() {
                    FieldEncoding::StringLength16Char8 => {
                        let text = String::from_utf8(v.bytes().to_vec()).expect("UTF-8");
                        match m.format() {
                            FieldFormat::Default => format!("{name}={text:?}"),
                            FieldFormat::StringJson => format!("{name}={text:?} as json"),
                            f => format!("{name}={text:?} as {}", f.as_int()),
                        }
                    }
                    FieldEncoding::Value8 => format!("{name}={}", v.to_u8(0)),
                    FieldEncoding::Value32 => format!("{name}={}", v.to_u32(0)),
                    FieldEncoding::Value64 => format!("{name}={}", v.to_i64(0)),
                    other => panic!("unexpected encoding {other:?}"),
                },
                other => panic!("unexpected state {other:?}"),
            });
        }
        assert_eq!(e.state(), St::AfterLastItem, "{:?}", e.last_error());
        out
    }

    #[test]
    fn marks_patch_their_own_field_among_others() {
        let mut buf = EventBuf::new();
        buf.start("Ev");
        buf.add_u32("a", 1, FieldFormat::Default);
        let outer = buf.begin_struct("S");
        buf.add_bool("b", true);
        let json = buf.begin_str("t", FieldFormat::StringJson);
        buf.str_data().extend_from_slice(br#"{"k":1}"#);
        assert!(!buf.end_str(json, 100));
        let inner = buf.begin_struct("I");
        buf.add_i64("x", -3);
        buf.end_struct(inner, 1);
        let plain = buf.begin_str("u", FieldFormat::Default);
        buf.str_data().extend_from_slice("grüß".as_bytes());
        assert!(!buf.end_str(plain, 100));
        buf.end_struct(outer, 4);
        buf.add_str("after", "z", FieldFormat::Default, 100);
        assert!(buf.finish(&EventDescriptor::new(Level::Informational, Opcode::Info)));
        assert_eq!(
            decode(&buf),
            [
                "Ev",
                "a=1",
                "S{",
                "b=1",
                r#"t="{\"k\":1}" as json"#,
                "I{",
                "x=-3",
                "}",
                r#"u="grüß""#,
                "}",
                r#"after="z""#
            ]
        );
        assert_eq!(buf.len(), payload(&buf).len());
    }

    #[test]
    fn a_cut_string_keeps_whole_characters_and_loses_its_format() {
        let text = "aé€😀z"; // characters of 1, 2, 3, 4 and 1 bytes
        for max in 0..=text.len() + 1 {
            let mut buf = EventBuf::new();
            buf.start("Ev");
            let m = buf.begin_str("s", FieldFormat::StringJson);
            buf.str_data().extend_from_slice(text.as_bytes());
            let cut = buf.end_str(m, max);
            buf.add_u32("next", 7, FieldFormat::Default);
            assert!(buf.finish(&EventDescriptor::new(Level::Informational, Opcode::Info)));
            let kept = (0..=max.min(text.len()))
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap();
            assert_eq!(cut, kept < text.len(), "max {max}");
            let expect_s = if cut {
                format!("s={:?}", &text[..kept])
            } else {
                format!("s={text:?} as json")
            };
            assert_eq!(
                decode(&buf),
                ["Ev", expect_s.as_str(), "next=7"],
                "max {max}"
            );
        }
    }

    #[test]
    fn a_tracelogging_cut_string_gets_the_plain_out_type() {
        let mut buf = EventBuf::new();
        buf.start_tracelogging("Ev");
        let m = buf.begin_str("s", FieldFormat::StringJson);
        let at = m
            .format_at
            .expect("a TraceLogging string has an out-type byte");
        let json_out_type = buf.meta[at];
        buf.str_data().extend_from_slice("€€".as_bytes());
        assert!(buf.end_str(m, 4));
        assert_eq!(buf.meta[at], tl::CUT_STRING_OUT_TYPE);
        assert_ne!(json_out_type, tl::CUT_STRING_OUT_TYPE);
        // Data: the u16 count, then the one whole character that fits.
        let mut data = 3u16.to_ne_bytes().to_vec();
        data.extend_from_slice("€".as_bytes());
        assert_eq!(buf.data, data);
    }

    #[test]
    fn a_string_longer_than_a_u16_count_is_cut_to_fit() {
        let mut buf = EventBuf::new();
        buf.start("Ev");
        buf.add_u32("before", 1, FieldFormat::Default);
        let m = buf.begin_str("s", FieldFormat::Default);
        let data = buf.str_data();
        data.resize(data.len() + 70_000, b'x');
        assert!(buf.end_str(m, usize::MAX));
        assert_eq!(buf.data.len(), 4 + 2 + usize::from(u16::MAX));
        assert_eq!(buf.data[4..6], u16::MAX.to_ne_bytes());
    }

    #[test]
    fn a_struct_holds_up_to_127_fields() {
        let mut buf = EventBuf::new();
        buf.start("Ev");
        let m = buf.begin_struct("S");
        for i in 0..MAX_STRUCT_FIELDS {
            buf.add_bool(&format!("f{i}"), i % 2 == 0);
        }
        buf.end_struct(m, MAX_STRUCT_FIELDS);
        buf.add_bool("out", false);
        assert!(buf.finish(&EventDescriptor::new(Level::Informational, Opcode::Info)));
        let items = decode(&buf);
        assert_eq!(items.len(), 1 + 1 + MAX_STRUCT_FIELDS + 1 + 1);
        assert_eq!(items[1], "S{");
        assert_eq!(items[2 + MAX_STRUCT_FIELDS], "}");
        assert_eq!(items.last().unwrap(), "out=0");
    }

    #[test]
    fn activity_ids_and_the_header_decode_and_oversize_metadata_is_refused() {
        let id = [0x11; 16];
        let related = [0x22; 16];
        for with_related in [false, true] {
            let mut buf = EventBuf::new();
            buf.start("Ev");
            buf.add_u32("n", 5, FieldFormat::Default);
            let descriptor = EventDescriptor {
                activity: Some(Activity {
                    id,
                    related_id: with_related.then_some(related),
                }),
                ..EventDescriptor::new(Level::Warning, Opcode::ActivityStart)
            };
            assert!(buf.finish(&descriptor));
            let bytes = payload(&buf);
            let mut ctx = EventHeaderEnumeratorContext::new();
            let e = ctx
                .enumerate_with_name_and_data("P_L3K1", &bytes, 100)
                .expect("decodes");
            let info = e.event_info();
            assert_eq!(info.activity_id(), Some(&id));
            assert_eq!(info.related_activity_id(), with_related.then_some(&related));
            assert_eq!(info.header().level, Level::Warning);
            assert_eq!(info.header().opcode, Opcode::ActivityStart);
        }
        let mut buf = EventBuf::new();
        buf.start(&"n".repeat(70_000));
        assert!(!buf.finish(&EventDescriptor::new(Level::Informational, Opcode::Info)));
    }
}
