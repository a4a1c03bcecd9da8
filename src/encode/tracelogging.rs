//! The TraceLogging (ETW) wire format: how [`EventBuf`](super::EventBuf) writes an event when
//! it was begun with [`start_tracelogging`](super::EventBuf::start_tracelogging).
//!
//! An ETW TraceLogging event is an `EVENT_DESCRIPTOR`, three data blocks handed to
//! `EventWriteTransfer` (provider metadata, event metadata, data), and optional activity ids.
//! `EventBuf` builds the event metadata and the data exactly as ETW receives them; the rest
//! travels as a typed [`EventDescriptor`](super::EventDescriptor), which the ETW sink turns
//! into ETW's (no bytes are written for it):
//!
//! ```text
//! EVENT_DESCRIPTOR (from the EventDescriptor and the tracepoint)
//! Id       descriptor.id: 0 for TraceLogging events, 81 for otlp_metrics
//! Version  descriptor.version: 0
//! Channel  11 (TraceLogging)
//! Level    the tracepoint's level, 1 critical .. 5 verbose
//! Opcode   descriptor.opcode: 0 info, 1 activity start, 2 activity stop
//! Task     0
//! Keyword  the tracepoint's keyword
//! ActivityId, RelatedActivityId: descriptor.activity, the GUIDs' 16 bytes as they lie in
//!          memory, or none
//!
//! event metadata (EVENT_DATA_DESCRIPTOR_TYPE_EVENT_METADATA)
//! 0       2     size of the metadata, these two bytes included, little endian
//! 2       1     event tag: 0 (no tag)
//! 3       ..    event name, NUL-terminated
//! ..      ..    per field: name NUL, in-type byte [, out-type byte]
//!               in-type:  low 5 bits the type (below); 0x40 = variable-length array (a u16
//!                         element count precedes the values in the data); 0x80 = an
//!                         out-type byte follows
//!               out-type: how to show the value (below); for a struct, its field count
//!
//! data (EVENT_DATA_DESCRIPTOR_TYPE_NONE): the values, packed, little endian, no alignment;
//!               for otlp_metrics (no fields), the OTLP buffer as it is
//! ```
//!
//! The logical field types (written as EventHeader encoding and format pairs by the layouts)
//! map to TraceLogging types as follows:
//!
//! | logical field | in-type | out-type | data |
//! |---|---|---|---|
//! | boolean | `Bool32` (13) | — | 4 bytes, 0 or 1 |
//! | u16 / i16 | `U16` (6) / `I16` (5) | `Unsigned` (18) when asked | 2 bytes |
//! | u32 / i32 | `U32` (8) / `I32` (7) | `Pid` (5), `Unsigned` (18) when asked | 4 bytes |
//! | u32 / u64 shown as hex | `Hex32` (20) / `Hex64` (21) | — | 4 / 8 bytes |
//! | u64 / i64 | `U64` (10) / `I64` (9) | — | 8 bytes |
//! | f64 | `F64` (12) | — | 8 bytes |
//! | string | `Str8` (23) | `Utf8` (35), or `Json` (12) | u16 byte count, UTF-8 bytes |
//! | binary | `Binary` (14) | — (shown as hex) | u16 byte count, bytes |
//! | struct | `Struct` (24) | the field count, 1..=127 | none: the fields follow |
//!
//! Strings are `Str8` with out-type `Utf8`: the existing ETW exporter's out-type `Default`
//! makes decoders read the bytes as CP-1252, which garbles every non-ASCII character.

use eventheader::{FieldEncoding, FieldFormat};
use tracelogging::{Guid, InType, OutType};

// EventBuf writes the flag bits of both formats with the same constants: they agree.
const _: () = assert!(InType::VariableCountFlag == 0x40);

/// The ETW channel of TraceLogging events.
pub(crate) const CHANNEL_TRACELOGGING: u8 = 11;

/// The largest event metadata + data the ETW sinks write by default: ETW refuses events above
/// 64 KiB including its own headers, and this is the bound the existing ETW metrics exporter
/// uses. Sessions with smaller buffers refuse smaller events; set a smaller maximum for them.
pub const DEFAULT_ETW_MAX_EVENT_SIZE: usize = 65_360;

/// The (in-type, out-type) pair for a field written by the layouts as an EventHeader
/// (encoding, format) pair; out-type 0 means none is written.
pub(crate) fn field_types(encoding: FieldEncoding, format: FieldFormat) -> (u8, u8) {
    use FieldEncoding as E;
    use FieldFormat as F;
    let (in_type, out_type) = match (encoding, format) {
        (E::Value8, _) => (InType::Bool32, OutType::Default),
        (E::Value16, F::SignedInt) => (InType::I16, OutType::Default),
        (E::Value16, F::UnsignedInt) => (InType::U16, OutType::Unsigned),
        (E::Value16, _) => (InType::U16, OutType::Default),
        (E::Value32, F::SignedInt) => (InType::I32, OutType::Default),
        (E::Value32, F::UnsignedInt) => (InType::U32, OutType::Unsigned),
        (E::Value32, F::HexInt) => (InType::Hex32, OutType::Default),
        (E::Value32, F::Pid) => (InType::U32, OutType::Pid),
        (E::Value32, _) => (InType::U32, OutType::Default),
        (E::Value64, F::SignedInt) => (InType::I64, OutType::Default),
        (E::Value64, F::Float) => (InType::F64, OutType::Default),
        (E::Value64, F::HexInt) => (InType::Hex64, OutType::Default),
        (E::Value64, _) => (InType::U64, OutType::Default),
        (E::StringLength16Char8, F::StringJson) => (InType::Str8, OutType::Json),
        (E::StringLength16Char8, _) => (InType::Str8, OutType::Utf8),
        (E::BinaryLength16Char8, _) => (InType::Binary, OutType::Default),
        (E::Struct, _) => (InType::Struct, OutType::Default),
        // The layouts use no other encoding; write an unsigned byte rather than fail.
        _ => (InType::U8, OutType::Default),
    };
    (in_type.as_int(), out_type.as_int())
}

/// The out-type of a string whose text was cut (a cut JSON document is plain text).
pub(crate) const CUT_STRING_OUT_TYPE: u8 = OutType::Utf8.as_int();

/// An ETW provider's id from its name, as every TraceLogging provider derives it: SHA-1 over
/// the namespace `482C2DB2-C390-47C8-87F8-1A15BFC130FB` and the upper-cased name in UTF-16BE,
/// bits of byte 7 set for a version-5 name-based GUID (computed by the `tracelogging` crate).
///
/// ```
/// let id = otel_os_events::etw_provider_id("MyProvider");
/// assert_eq!(id, "b3864c38-4273-58c5-545b-8b3608343471");
/// ```
pub fn etw_provider_id(provider_name: &str) -> String {
    guid_string(&Guid::from_name(provider_name))
}

/// A GUID as 36 lowercase characters, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub(crate) fn guid_string(guid: &Guid) -> String {
    String::from_utf8_lossy(&guid.to_utf8_bytes()).to_ascii_lowercase()
}

/// The provider metadata block ETW receives with every event (and as the provider's traits):
/// u16 size (these two bytes included), the provider name, NUL.
pub(crate) fn provider_metadata(provider_name: &str) -> Vec<u8> {
    let size = 2 + provider_name.len() + 1;
    let mut meta = Vec::with_capacity(size);
    meta.extend_from_slice(&(size as u16).to_le_bytes());
    meta.extend_from_slice(provider_name.as_bytes());
    meta.push(0);
    meta
}

/// The ETW activity id of an OpenTelemetry span: its 16 bytes (as they lie in memory) are the
/// span id's 8 bytes, then the trace id's last 8 bytes. Every event of one span (its log
/// records and the span itself) carries the same activity id, and a span's parent is its
/// related activity id, so Windows tools group and nest them.
pub fn etw_activity_id(trace_id: [u8; 16], span_id: [u8; 8]) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&span_id);
    id[8..].copy_from_slice(&trace_id[8..]);
    id
}
