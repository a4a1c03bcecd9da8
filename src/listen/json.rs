//! One JSON object per [`PerfEvent`], decoded with tracepoint_decode.

use std::fmt::Write as _;

use tracepoint_decode::display::{JsonEscapeDisplay, PerfItemValueJsonDisplay};
use tracepoint_decode::{
    EventHeaderEnumeratorContext, EventHeaderEnumeratorState, PerfConvertOptions,
    PerfEventDecodingStyle, PerfFieldArray, PerfMetaOptions,
};

use super::session::PerfEvent;

/// Compact output (no spaces) with tracepoint_decode's defaults otherwise.
const CONVERT: PerfConvertOptions = PerfConvertOptions::Default.and_not(PerfConvertOptions::Space);

/// The EventHeader items put at the top level: identity and header, not the sample's own
/// time/cpu/pid (we write those ourselves).
const META: PerfMetaOptions = PerfMetaOptions::Provider
    .or(PerfMetaOptions::Event)
    .or(PerfMetaOptions::Id)
    .or(PerfMetaOptions::Version)
    .or(PerfMetaOptions::Level)
    .or(PerfMetaOptions::Keyword)
    .or(PerfMetaOptions::Opcode)
    .or(PerfMetaOptions::Tag)
    .or(PerfMetaOptions::Activity)
    .or(PerfMetaOptions::RelatedActivity)
    .or(PerfMetaOptions::Options);

impl PerfEvent {
    /// The event as one line of JSON:
    ///
    /// `{"tracepoint":"p_L4K1","time_ns":…,"pid":…,"tid":…,"cpu":…, <decoded>}`
    ///
    /// For EventHeader tracepoints (format's first field `eventheader_flags`, or no format
    /// known) `<decoded>` is `"provider":…,"event":…` plus the header items that are not zero
    /// (`"id"`, `"version"`, `"level"`, `"keyword"` as a hex string, `"opcode"`, `"tag"`,
    /// `"activity"`, …) and then `"fields":{…}` holding every field in order, structs as
    /// nested objects and arrays as arrays (tracepoint_decode's JSON writers). For other
    /// tracepoints it is `"fields":{…}` with the fields from the tracefs format (a
    /// `__rel_loc` field as `{"length":N}`, the length of the data it locates). The fields
    /// are kept in their own object so that an event field named like one of ours (`pid`)
    /// cannot collide.
    ///
    /// An event that does not decode gets `"decode_error":"…"` and `"raw_hex":"…"`.
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(128 + self.raw.len() * 2);
        self.write_json(&mut s);
        s
    }

    /// Appends [`to_json`](Self::to_json)'s output to `out` (no newline).
    pub fn write_json(&self, out: &mut String) {
        // Writing into a String cannot fail; tracepoint_decode only reports fmt::Error
        // from the writer.
        let _ = self.write_json_fmt(out);
    }

    fn write_json_fmt(&self, out: &mut String) -> std::fmt::Result {
        out.push_str("{\"tracepoint\":\"");
        JsonEscapeDisplay::new(&self.tracepoint).write_to(out)?;
        write!(
            out,
            "\",\"time_ns\":{},\"pid\":{},\"tid\":{},\"cpu\":{}",
            self.time_ns, self.pid, self.tid, self.cpu
        )?;
        let eventheader = self
            .format
            .as_ref()
            .is_none_or(|f| f.decoding_style() == PerfEventDecodingStyle::EventHeader);
        if eventheader {
            self.write_eventheader(out)?;
        } else {
            self.write_format_fields(out)?;
        }
        out.push('}');
        Ok(())
    }

    fn write_eventheader(&self, out: &mut String) -> std::fmt::Result {
        if let Some(problem) = metadata_the_decoder_asserts_on(&self.raw) {
            return self.write_decode_error(out, problem);
        }
        let mut ctx = EventHeaderEnumeratorContext::new();
        let mut e = match ctx.enumerate_with_name_and_data(
            &self.tracepoint,
            &self.raw,
            EventHeaderEnumeratorContext::MOVE_NEXT_LIMIT_DEFAULT,
        ) {
            Ok(e) => e,
            Err(err) => return self.write_decode_error(out, &err.to_string()),
        };
        let info = e.event_info();
        info.json_meta_display(None)
            .add_comma_before_first_item(true)
            .meta_options(META)
            .convert_options(CONVERT)
            .write_to(out)?;
        out.push_str(",\"fields\":{");
        e.write_json_item_and_move_next_sibling(out, false, CONVERT)?;
        out.push('}');
        if e.state() == EventHeaderEnumeratorState::Error {
            let err = e.last_error().to_string();
            return self.write_decode_error(out, &err);
        }
        Ok(())
    }

    fn write_format_fields(&self, out: &mut String) -> std::fmt::Result {
        let Some(format) = &self.format else {
            return Ok(());
        };
        // Field offsets count from the start of the record, common fields included; we
        // kept only the bytes after them, so put zeros back in their place.
        let common = format.common_fields_size() as usize;
        let mut record = vec![0u8; common];
        record.extend_from_slice(&self.raw);
        let reader = tracepoint_decode::PerfByteReader::new(cfg!(target_endian = "big"));
        out.push_str(",\"fields\":{");
        let mut first = true;
        for field in &format.fields()[format.common_field_count()..] {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            JsonEscapeDisplay::new(field.name()).write_to(out)?;
            out.push_str("\":");
            if field.array() == PerfFieldArray::RelLoc4 {
                // tracepoint_decode 0.5 resolves a 4-byte `__rel_loc` as if it were a
                // `__data_loc` (offset from the record's start, not from the field's end), so
                // resolve it here and print the length of what it locates.
                match rel_loc_len(field.offset().into(), &record, reader) {
                    Some(len) => write!(out, "{{\"length\":{len}}}")?,
                    None => out.push_str("null"),
                }
                continue;
            }
            let value = field.get_field_value_with_data_and_reader(&record, reader);
            let meta = value.metadata();
            // Out of bounds gives an Invalid value, and arrays of variable-size elements
            // have no JSON writer (tracepoint_decode debug-asserts): write null.
            if meta.encoding() == eventheader::FieldEncoding::Invalid
                || (!meta.is_scalar() && meta.type_size() == 0)
            {
                out.push_str("null");
            } else {
                PerfItemValueJsonDisplay::new(&value)
                    .convert_options(CONVERT)
                    .write_to(out)?;
            }
        }
        out.push('}');
        Ok(())
    }

    fn write_decode_error(&self, out: &mut String, err: &str) -> std::fmt::Result {
        out.push_str(",\"decode_error\":\"");
        JsonEscapeDisplay::new(err).write_to(out)?;
        out.push_str("\",\"raw_hex\":\"");
        for b in &self.raw {
            write!(out, "{b:02x}")?;
        }
        out.push('"');
        Ok(())
    }
}

/// The length a `__rel_loc` u32 at `offset` in `record` gives (high 16 bits; the low 16 are the
/// data's offset from the end of the word), if that data lies within the record.
fn rel_loc_len(
    offset: usize,
    record: &[u8],
    reader: tracepoint_decode::PerfByteReader,
) -> Option<usize> {
    let end = offset.checked_add(4)?;
    let word = reader.read_u32(record.get(offset..end)?);
    let (len, start) = ((word >> 16) as usize, end + (word & 0xffff) as usize);
    (start + len <= record.len()).then_some(len)
}

/// Finds field metadata in `raw` that tracepoint_decode 0.5 debug-asserts on instead of
/// reporting as an error, which would be a panic in debug builds on bytes that any process
/// may write. Such events are reported as undecodable up front:
///
/// - an encoding byte with both array flags (`0x20 | 0x40`), a reserved value;
/// - a struct (encoding 1) whose field count (its format byte) is 0 or missing.
///
/// Truncated metadata returns None and is left to the enumerator, which reports it.
fn metadata_the_decoder_asserts_on(raw: &[u8]) -> Option<&'static str> {
    const EXTENSION: u8 = 4;
    const LITTLE_ENDIAN: u8 = 2;
    const KIND_METADATA: u16 = 1;
    const KIND_CHAIN: u16 = 0x8000;
    let flags = *raw.first()?;
    if raw.len() < 8 || flags & EXTENSION == 0 {
        return None;
    }
    let u16_at = |i: usize| -> Option<u16> {
        let two: [u8; 2] = raw.get(i..i + 2)?.try_into().ok()?;
        Some(if flags & LITTLE_ENDIAN != 0 {
            u16::from_le_bytes(two)
        } else {
            u16::from_be_bytes(two)
        })
    };
    // Find the metadata block among the extension blocks.
    let mut pos = 8;
    let meta = loop {
        let (size, kind) = (u16_at(pos)? as usize, u16_at(pos + 2)?);
        let block = raw.get(pos + 4..pos + 4 + size)?;
        if kind & !KIND_CHAIN == KIND_METADATA {
            break block;
        }
        if kind & KIND_CHAIN == 0 {
            return None;
        }
        pos += 4 + size;
    };
    // Event name, then per field: name, encoding, [format, [tag]], [constant count].
    let skip_name = |i: usize| Some(i + meta.get(i..)?.iter().position(|&b| b == 0)? + 1);
    let mut i = skip_name(0)?;
    while i < meta.len() {
        i = skip_name(i)?;
        let encoding = *meta.get(i)?;
        i += 1;
        if encoding & 0x60 == 0x60 {
            return Some("NotSupported (reserved array encoding 0x60)");
        }
        let mut format = 0;
        if encoding & 0x80 != 0 {
            format = *meta.get(i)?;
            i += 1;
            if format & 0x80 != 0 {
                i += 2; // tag
            }
        }
        if encoding & 0x1f == 1 && format & 0x7f == 0 {
            return Some("InvalidData (struct with no fields)");
        }
        if encoding & 0x20 != 0 {
            i += 2; // constant array length
        }
    }
    None
}
