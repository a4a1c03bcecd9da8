//! One JSON object per [`PerfEvent`], decoded with tracepoint_decode.

use std::fmt::Write as _;

use eventheader::{FieldEncoding, FieldFormat};
use tracepoint_decode::display::{JsonEscapeDisplay, PerfItemValueJsonDisplay};
use tracepoint_decode::{
    EventHeaderEnumerator, EventHeaderEnumeratorContext, EventHeaderEnumeratorError,
    EventHeaderEnumeratorState, PerfConvertOptions, PerfEventDecodingStyle, PerfFieldArray,
    PerfFieldFormat, PerfItemMetadata, PerfItemValue, PerfMetaOptions, PerfTextEncoding,
};

use super::names::USER_EVENTS_SYSTEM;
use super::session::PerfEvent;
use crate::metrics::TRACEPOINT_NAME;

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
    /// The metrics exporters' `otlp_metrics` events get, after their `"fields"` (`protocol`,
    /// `version`, `buffer` as `{"length":N}`), `"otlp":{"resourceMetrics":[…]}`: the payload's
    /// `ExportMetricsServiceRequest` in the OTLP/JSON mapping (resource, scopes, metrics with
    /// their data points and attributes; 64-bit integers as strings, ids as hex, enums as
    /// integers).
    ///
    /// An event that does not decode gets `"decode_error":"…"` and `"raw_hex":"…"` (and no
    /// `"fields"`: those decoded before the error are dropped; an `otlp_metrics` event whose
    /// payload does not decode keeps its format's fields and has no `"otlp"`).
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
        if self.is_otlp_metrics() {
            self.write_format_fields(out)?;
            self.write_otlp_metrics(out)?;
        } else if eventheader {
            self.write_eventheader(out)?;
        } else {
            self.write_format_fields(out)?;
        }
        out.push('}');
        Ok(())
    }

    /// The metrics exporters' tracepoint: `user_events:otlp_metrics`, registered with its own
    /// field list (not EventHeader). Without a format (an event not read from a session) the
    /// name alone decides.
    fn is_otlp_metrics(&self) -> bool {
        self.tracepoint == TRACEPOINT_NAME
            && self.format.as_ref().is_none_or(|f| {
                f.system_name() == USER_EVENTS_SYSTEM
                    && f.decoding_style() != PerfEventDecodingStyle::EventHeader
            })
    }

    /// `,"otlp":{"resourceMetrics":[…]}`, the payload's request in the OTLP/JSON mapping, or
    /// `,"decode_error":…,"raw_hex":…` (the format's fields, written before, are kept).
    fn write_otlp_metrics(&self, out: &mut String) -> std::fmt::Result {
        match super::metrics::to_json(&self.raw) {
            Ok(json) => {
                out.push_str(",\"otlp\":");
                out.push_str(&json);
                Ok(())
            }
            Err(err) => self.write_decode_error(out, &err.to_string()),
        }
    }

    fn write_eventheader(&self, out: &mut String) -> std::fmt::Result {
        if let Some(problem) = metadata_the_decoder_asserts_on(&self.raw)
            .or_else(|| text_the_decoder_does_not_escape(&self.tracepoint, &self.raw))
        {
            return self.write_decode_error(out, problem);
        }
        let mut ctx = EventHeaderEnumeratorContext::new();
        let mut e = match enumerate(&mut ctx, &self.tracepoint, &self.raw) {
            Ok(e) => e,
            Err(err) => return self.write_decode_error(out, &err.to_string()),
        };
        let info = e.event_info();
        info.json_meta_display(None)
            .add_comma_before_first_item(true)
            .meta_options(META)
            .convert_options(CONVERT)
            .write_to(out)?;
        let fields_at = out.len();
        out.push_str(",\"fields\":{");
        e.write_json_item_and_move_next_sibling(out, false, CONVERT)?;
        out.push('}');
        if e.state() == EventHeaderEnumeratorState::Error {
            // What was written before the error may stop inside a struct or an array, whose
            // closing brackets never come: drop the partial fields, or the line would not be
            // JSON (found by the fuzzer). The header items above are whole; raw_hex has all.
            out.truncate(fields_at);
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
                match located_bytes(field, &record, reader) {
                    Some(data) => write!(out, "{{\"length\":{}}}", data.len())?,
                    None => out.push_str("null"),
                }
                continue;
            }
            let variable = !matches!(field.array(), PerfFieldArray::None | PerfFieldArray::Fixed);
            if variable && field.element_size_shift() == u8::MAX {
                // A string or blob that a `__data_loc` locates or that fills the rest of the
                // event (`__data_loc char[] name`, the commonest dynamic field). tracepoint_decode
                // 0.5 computes `element_size - 1` with an element size of 0 for these: an
                // overflow panic in debug builds, the data silently dropped in release. So
                // locate the bytes here and build the value as it does for fixed strings.
                match located_bytes(field, &record, reader) {
                    Some(mut data) => {
                        let encoding = field.deduced_encoding();
                        if encoding == FieldEncoding::ZStringChar8 {
                            data = data.split(|&b| b == 0).next().unwrap_or(data);
                        }
                        let meta = PerfItemMetadata::new(
                            reader,
                            encoding,
                            field.deduced_format(),
                            !encoding.is_array(),
                            field.element_size(),
                            field.deduced_array_count(),
                            0,
                        );
                        PerfItemValueJsonDisplay::new(&PerfItemValue::new(data, meta))
                            .convert_options(CONVERT)
                            .write_to(out)?;
                    }
                    None => out.push_str("null"),
                }
                continue;
            }
            let value = field.get_field_value_with_data_and_reader(&record, reader);
            let meta = value.metadata();
            // Out of bounds gives an Invalid value, and arrays of variable-size elements
            // have no JSON writer (tracepoint_decode debug-asserts): write null.
            if meta.encoding() == FieldEncoding::Invalid
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

/// The bytes a variable-size field at `field.offset()` in `record` locates, if they lie within
/// the record:
///
/// - `__data_loc` u32: high 16 bits the length, low 16 the offset from the record's start;
/// - `__rel_loc` u32: the same, the offset counted from the end of the u32;
/// - `__data_loc` / `__rel_loc` u16: the offset only; the data runs to the end of the record;
/// - a field of size 0: the rest of the record.
fn located_bytes<'a>(
    field: &PerfFieldFormat,
    record: &'a [u8],
    reader: tracepoint_decode::PerfByteReader,
) -> Option<&'a [u8]> {
    let begin = usize::from(field.offset());
    let end = begin.checked_add(usize::from(field.size()))?;
    let word = record.get(begin..end)?;
    let (start, len) = match field.array() {
        PerfFieldArray::RestOfEvent => (begin, None),
        PerfFieldArray::DataLoc2 => (usize::from(reader.read_u16(word)), None),
        PerfFieldArray::RelLoc2 => (end + usize::from(reader.read_u16(word)), None),
        PerfFieldArray::DataLoc4 | PerfFieldArray::RelLoc4 => {
            let w = reader.read_u32(word);
            let base = if field.array() == PerfFieldArray::RelLoc4 {
                end
            } else {
                0
            };
            (base + (w & 0xffff) as usize, Some((w >> 16) as usize))
        }
        PerfFieldArray::None | PerfFieldArray::Fixed => return None,
    };
    match len {
        Some(len) => record.get(start..start.checked_add(len)?),
        None => record.get(start..),
    }
}

/// tracepoint_decode's enumerator on the EventHeader event `raw` of `tracepoint`, with its
/// default step limit.
pub(crate) fn enumerate<'c, 'a>(
    ctx: &'c mut EventHeaderEnumeratorContext,
    tracepoint: &'a str,
    raw: &'a [u8],
) -> Result<EventHeaderEnumerator<'c, 'a, 'a>, EventHeaderEnumeratorError> {
    ctx.enumerate_with_name_and_data(
        tracepoint,
        raw,
        EventHeaderEnumeratorContext::MOVE_NEXT_LIMIT_DEFAULT,
    )
}

/// Finds text that tracepoint_decode 0.5 writes into its JSON without escaping: the line would
/// not be JSON, and the writer of the event could inject members into it (found by the
/// fuzzer). Its UTF-32 decoder passes every character on unescaped, and its writer of a
/// single UTF-16/UTF-32 character escapes neither a backslash nor anything above it. So an
/// event holding one of these is reported as undecodable (its bytes in `raw_hex`):
///
/// - UTF-32 text (a char32 string, or a string shown as JSON, XML or BOM-marked text that
///   starts with a UTF-32 byte-order mark) with a quote, a backslash or a control character;
/// - a 16- or 32-bit value shown as a character (format `StringUtf`) that is a backslash.
///
/// Anything the enumerator cannot walk returns None and is left to it, which reports it.
fn text_the_decoder_does_not_escape(tracepoint: &str, raw: &[u8]) -> Option<&'static str> {
    let needs_escape = |c: u32| c < 0x20 || c == u32::from(b'"') || c == u32::from(b'\\');
    let mut ctx = EventHeaderEnumeratorContext::new();
    let mut e = enumerate(&mut ctx, tracepoint, raw).ok()?;
    while e.move_next() {
        if e.state() != EventHeaderEnumeratorState::Value {
            continue;
        }
        let info = e.item_info();
        let value = info.value();
        let meta = value.metadata();
        let (encoding, format) = (meta.encoding(), meta.format());
        if matches!(encoding, FieldEncoding::Value16 | FieldEncoding::Value32)
            && format == FieldFormat::StringUtf
        {
            let c = if encoding == FieldEncoding::Value16 {
                u32::from(value.to_u16(0))
            } else {
                value.to_u32(0)
            };
            if c == u32::from(b'\\') {
                return Some("NotSupported (a backslash character the decoder does not escape)");
            }
            continue;
        }
        let char32 = matches!(
            encoding,
            FieldEncoding::ZStringChar32 | FieldEncoding::StringLength16Char32
        );
        let string = char32
            || matches!(
                encoding,
                FieldEncoding::ZStringChar8
                    | FieldEncoding::StringLength16Char8
                    | FieldEncoding::BinaryLength16Char8
                    | FieldEncoding::ZStringChar16
                    | FieldEncoding::StringLength16Char16
            );
        if !string || format == FieldFormat::HexBytes {
            continue;
        }
        let mut text = value.bytes();
        let mut big_endian = meta.byte_reader().source_big_endian();
        let mut utf32 = char32;
        if matches!(
            format,
            FieldFormat::StringUtfBom | FieldFormat::StringXml | FieldFormat::StringJson
        ) {
            if let (Some(bom), len) = PerfTextEncoding::from_bom(text) {
                text = &text[usize::from(len)..];
                utf32 = matches!(bom, PerfTextEncoding::Utf32BE | PerfTextEncoding::Utf32LE);
                big_endian = matches!(bom, PerfTextEncoding::Utf32BE);
            }
        }
        let reader = tracepoint_decode::PerfByteReader::new(big_endian);
        if utf32
            && text
                .chunks_exact(4)
                .any(|c| needs_escape(reader.read_u32(c)))
        {
            return Some("NotSupported (UTF-32 text the decoder does not escape)");
        }
    }
    None
}

/// Finds field metadata in `raw` that tracepoint_decode 0.5 debug-asserts on instead of
/// reporting as an error, which would be a panic in debug builds on bytes that any process
/// may write. Such events are reported as undecodable up front:
///
/// - an encoding byte with both array flags (`0x20 | 0x40`), a reserved value;
/// - a struct (encoding 1) whose field count (its format byte) is 0 or missing;
/// - an array of structs followed by nested structs whose field counts, added up as the
///   enumerator does when it skips an empty array's metadata, pass 255;
/// - a constant-length array of more than one struct (the enumerator misreads the second).
///
/// Truncated metadata returns None and is left to the enumerator, which reports it.
pub(crate) fn metadata_the_decoder_asserts_on(raw: &[u8]) -> Option<&'static str> {
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
    // The enumerator skips the metadata of an empty array of structs by counting the fields
    // still to skip in a u8, adding each nested struct's count: past 255 that overflows
    // (found by the fuzzer). Every scan started by an array of structs sees the same
    // fields, so following the largest count still running is enough (0: none).
    let mut skipping: u16 = 0;
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
        let is_struct = encoding & 0x1f == 1;
        let fields = u16::from(format & 0x7f);
        if is_struct && fields == 0 {
            return Some("InvalidData (struct with no fields)");
        }
        if skipping > 0 {
            if is_struct {
                skipping += fields;
                if skipping > 255 {
                    return Some("NotSupported (nested struct field counts above 255)");
                }
            }
            skipping -= 1;
        }
        if is_struct && encoding & 0x60 != 0 {
            skipping = skipping.max(fields);
        }
        if encoding & 0x20 != 0 {
            // The constant array length. tracepoint_decode 0.5 restarts each element of a
            // constant-length array of structs at the length's bytes, read as a field: the
            // second element fails to decode, or (if they read as a reserved encoding) the
            // enumerator debug-asserts (found by the fuzzer).
            let two: [u8; 2] = meta.get(i..i + 2)?.try_into().ok()?;
            let count = if flags & LITTLE_ENDIAN != 0 {
                u16::from_le_bytes(two)
            } else {
                u16::from_be_bytes(two)
            };
            if is_struct && count > 1 {
                return Some("NotSupported (a constant-length array of structs)");
            }
            i += 2;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tracepoint_decode::PerfEventFormat;

    use super::PerfEvent;

    fn format_event(fields: &str, raw: Vec<u8>) -> PerfEvent {
        let text = format!(
            "name: ev\nID: 7\nformat:\n\
             \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
             \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
             \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
             \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n{fields}\n\
             print fmt: \"\"\n"
        );
        let format = PerfEventFormat::parse(cfg!(target_pointer_width = "64"), "sys", &text)
            .expect("format parses");
        PerfEvent {
            tracepoint: "ev".into(),
            raw,
            format: Some(Arc::new(format)),
            ..PerfEvent::default()
        }
    }

    fn fields(e: &PerfEvent) -> String {
        let json = e.to_json();
        let at = json.find(",\"fields\":").expect("fields") + ",\"fields\":".len();
        json[at..json.len() - 1].to_string()
    }

    /// `__data_loc char[]`, the usual dynamic string of kernel tracepoints: found by the
    /// fuzzer (tracepoint_decode 0.5 panics on it in debug builds and drops it in release).
    #[test]
    fn data_loc_strings_and_blobs_are_located_and_printed() {
        let fields_text = "\tfield:u32 n;\toffset:8;\tsize:4;\tsigned:0;\n\
                           \tfield:__data_loc char[] name;\toffset:12;\tsize:4;\tsigned:0;\n\
                           \tfield:__data_loc struct x[] blob;\toffset:16;\tsize:4;\tsigned:0;\n";
        let loc = |offset: u32, len: u32| (offset | len << 16).to_ne_bytes();
        let mut raw = 5u32.to_ne_bytes().to_vec();
        raw.extend_from_slice(&loc(20, 6)); // "hello\0" at 20 (record offset: 8 + 12)
        raw.extend_from_slice(&loc(26, 2)); // two bytes at 26
        raw.extend_from_slice(b"hello\0\xab\xcd");
        let e = format_event(fields_text, raw.clone());
        assert_eq!(fields(&e), r#"{"n":5,"name":"hello","blob":"AB CD"}"#);

        // Out of the record: null, not a panic or an empty string.
        raw[4..8].copy_from_slice(&loc(20, 60));
        raw[8..12].copy_from_slice(&loc(1000, 1));
        let e = format_event(fields_text, raw);
        assert_eq!(fields(&e), r#"{"n":5,"name":null,"blob":null}"#);
    }

    /// Found by the fuzzer: an event whose data ends inside a struct made the enumerator stop
    /// with that struct's object open, and the line was not JSON.
    #[test]
    fn an_event_cut_inside_a_struct_is_still_one_json_object() {
        use crate::encode::{EventBuf, EventDescriptor, FinishedEvent};
        use eventheader::{FieldFormat, Level, Opcode};
        let mut buf = EventBuf::new();
        buf.start("Ev");
        buf.add_u32("n", 1, FieldFormat::Default);
        let s = buf.begin_struct("S");
        buf.add_u32("a", 2, FieldFormat::Default);
        buf.add_str("b", "hello", FieldFormat::Default, 100);
        buf.end_struct(s, 2);
        assert!(buf.finish(&EventDescriptor::new(Level::Informational, Opcode::Info)));
        let FinishedEvent::EventHeader { header, meta, data } = buf.finished() else {
            panic!("not EventHeader");
        };
        let whole = [header, meta, data].concat();
        let event = |raw: &[u8]| PerfEvent {
            tracepoint: "P_L4K1".into(),
            raw: raw.to_vec(),
            ..PerfEvent::default()
        };
        let ok: serde_json::Value = serde_json::from_str(&event(&whole).to_json()).unwrap();
        assert_eq!(
            ok["fields"],
            serde_json::json!({"n": 1, "S": {"a": 2, "b": "hello"}})
        );
        // Every cut inside the data (the last 15 bytes: n, a, b's count and text).
        for cut in 1..=15 {
            let raw = &whole[..whole.len() - cut];
            let json = event(raw).to_json();
            let v: serde_json::Value = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("cut {cut}: not JSON ({e}): {json}"));
            assert!(v["decode_error"].is_string(), "cut {cut}: {json}");
            assert!(v.get("fields").is_none(), "cut {cut}: {json}");
            assert_eq!(v["event"], "Ev", "cut {cut}: {json}");
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(v["raw_hex"], hex.as_str());
        }
    }

    /// Appends `extra` to the metadata block of an event made by [`one_field`] (its size
    /// is the u16 at raw offset 8; the block starts at 12), and grows that size.
    fn append_metadata(e: &mut PerfEvent, extra: &[u8]) {
        let meta_len = u16::from_ne_bytes([e.raw[8], e.raw[9]]);
        let end = 12 + meta_len as usize;
        e.raw.splice(end..end, extra.iter().copied());
        e.raw[8..10].copy_from_slice(&(meta_len + extra.len() as u16).to_ne_bytes());
    }

    /// An EventHeader event with one field: `name`, encoding byte `encoding` (with a format
    /// byte `format` if given), then `data`.
    fn one_field(encoding: u8, format: Option<u8>, data: &[u8]) -> PerfEvent {
        let flags = if cfg!(target_endian = "little") { 2 } else { 0 }
            | if cfg!(target_pointer_width = "64") {
                1
            } else {
                0
            }
            | 4;
        let mut meta = b"Ev\0f\0".to_vec();
        match format {
            Some(f) => meta.extend_from_slice(&[encoding | 0x80, f]),
            None => meta.push(encoding),
        }
        let mut raw = vec![flags, 0, 0, 0, 0, 0, 0, 4];
        raw.extend_from_slice(&(meta.len() as u16).to_ne_bytes());
        raw.extend_from_slice(&1u16.to_ne_bytes());
        raw.extend_from_slice(&meta);
        raw.extend_from_slice(data);
        PerfEvent {
            tracepoint: "P_L4K1".into(),
            raw,
            ..PerfEvent::default()
        }
    }

    fn utf32(text: &str) -> Vec<u8> {
        let mut d = (text.chars().count() as u16).to_ne_bytes().to_vec();
        for c in text.chars() {
            d.extend_from_slice(&u32::from(c).to_ne_bytes());
        }
        d
    }

    fn json_of(e: &PerfEvent) -> serde_json::Value {
        let line = e.to_json();
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"))
    }

    /// Found by the fuzzer: tracepoint_decode writes UTF-32 text and a backslash character
    /// unescaped, so a writer could break the line or inject members into it.
    #[test]
    fn text_the_decoder_would_not_escape_is_reported_not_printed() {
        const CHAR32: u8 = 12; // StringLength16Char32
        const CHAR8: u8 = 10; // StringLength16Char8
        const VALUE32: u8 = 4;
        const STRING_UTF: u8 = 11;
        const STRING_JSON: u8 = 14;
        // Plain UTF-32 text decodes.
        assert_eq!(
            json_of(&one_field(CHAR32, None, &utf32("héllo")))["fields"]["f"],
            "héllo"
        );
        // With a quote, a backslash or a control character it would not be escaped.
        for text in ["a\",\"pid\":\"1", "back\\slash", "new\nline"] {
            let v = json_of(&one_field(CHAR32, None, &utf32(text)));
            assert!(v.get("fields").is_none(), "{v}");
            assert!(
                v["decode_error"].as_str().unwrap().contains("UTF-32"),
                "{v}"
            );
        }
        // A JSON string marked as UTF-32 by its byte-order mark.
        let mut bom = vec![0xFF, 0xFE, 0, 0];
        bom.extend_from_slice(&utf32("\"x\"")[2..]);
        let mut data = (bom.len() as u16).to_ne_bytes().to_vec();
        data.extend_from_slice(&bom);
        if cfg!(target_endian = "little") {
            let v = json_of(&one_field(CHAR8, Some(STRING_JSON), &data));
            assert!(
                v["decode_error"].as_str().unwrap().contains("UTF-32"),
                "{v}"
            );
        }
        // A 32-bit value shown as a character: fine unless it is a backslash.
        let v = json_of(&one_field(
            VALUE32,
            Some(STRING_UTF),
            &u32::from('x').to_ne_bytes(),
        ));
        assert_eq!(v["fields"]["f"], "x");
        let v = json_of(&one_field(
            VALUE32,
            Some(STRING_UTF),
            &u32::from('\\').to_ne_bytes(),
        ));
        assert!(
            v["decode_error"].as_str().unwrap().contains("backslash"),
            "{v}"
        );
    }

    /// Found by the fuzzer: an empty array of a struct whose nested structs hold more than 255
    /// fields in all overflows the enumerator's u8 count (a panic in debug builds).
    #[test]
    fn an_empty_struct_array_with_too_many_nested_fields_is_an_error_not_a_panic() {
        let event = |third: u8| {
            let mut e = one_field(0x81 | 0x40, Some(127), &0u16.to_ne_bytes());
            // Two more struct fields after `f` (a variable array of 127-field structs).
            append_metadata(&mut e, &[b'b', 0, 0x81, 127, b'c', 0, 0x81, third]);
            e
        };
        // 127 + 127 - 1 + 2 = 255 still fits: decoded as usual (the decoder sees `f`, an
        // empty array; `b` and `c` belong to its struct).
        let v = json_of(&event(2));
        assert_eq!(v["fields"]["f"], serde_json::json!([]), "{v}");
        let v = json_of(&event(3));
        assert!(
            v["decode_error"].as_str().unwrap().contains("above 255"),
            "{v}"
        );
    }

    /// Found by the fuzzer: tracepoint_decode reads the length of a constant-length array of
    /// structs as the first field of each element after the first, and debug-asserts when
    /// those bytes look like a reserved encoding (0x60 in the length's second byte).
    #[test]
    fn a_constant_length_array_of_structs_is_an_error_not_a_panic() {
        // `f`: a constant-length array (0x20) of structs of one field `x` (u8).
        let event = |count: u16| {
            let mut e = one_field(0x81 | 0x20, Some(1), &[7, 9]);
            let mut extra = count.to_ne_bytes().to_vec();
            extra.extend_from_slice(b"x\0\x02");
            append_metadata(&mut e, &extra);
            e
        };
        let v = json_of(&event(1));
        assert_eq!(v["fields"]["f"], serde_json::json!([{"x": 7}]), "{v}");
        for count in [2, 0x6900, 0x0069] {
            let v = json_of(&event(count));
            assert!(v.get("fields").is_none(), "{count:#x}: {v}");
            assert!(
                v["decode_error"]
                    .as_str()
                    .unwrap()
                    .contains("constant-length"),
                "{count:#x}: {v}"
            );
        }
    }

    #[test]
    fn a_string_filling_the_rest_of_the_event_is_printed() {
        let fields_text = "\tfield:u32 n;\toffset:8;\tsize:4;\tsigned:0;\n\
                           \tfield:char buf[];\toffset:12;\tsize:0;\tsigned:0;\n";
        let mut raw = 9u32.to_ne_bytes().to_vec();
        raw.extend_from_slice(b"rest of it\0\0\0");
        assert_eq!(
            fields(&format_event(fields_text, raw)),
            r#"{"n":9,"buf":"rest of it"}"#
        );
    }
}
