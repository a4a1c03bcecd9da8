//! OpenTelemetry values as EventHeader fields.
//!
//! | value | written as |
//! |---|---|
//! | `Int` | i64 (`Value64`, signed) |
//! | `Double` | f64 (`Value64`, float); NaN and infinities as they are |
//! | `Boolean` | one byte (`Value8`, boolean) |
//! | `String` | u16-counted UTF-8 (`StringLength16Char8`) |
//! | `Bytes` | u16-counted binary (`BinaryLength16Char8`, shown as hex) |
//! | list of only `Int` / `Double` / `Boolean` / `String` | a variable-length array of that type |
//! | `Map` of 1..=127 entries, within [`MAX_STRUCT_DEPTH`], no key longer than `max_str` | a struct, one field per entry |
//! | anything else (empty, mixed or nested lists, larger or deeper maps) | a JSON string (format `StringJson`) |
//!
//! Every value passes through [`Limits`]: strings, binary and JSON text are cut to
//! `max_str` bytes and arrays and maps to `max_items` entries, so that an oversize event can be
//! re-encoded smaller. Each function returns whether it cut anything.

use eventheader::FieldFormat;
use opentelemetry::logs::AnyValue;

use super::event::{EventBuf, MAX_STRUCT_FIELDS};
use super::names::Shadowed;
use super::text::write_json;

/// The deepest struct nesting an event may use, counting the top-level struct a value sits
/// in (e.g. `PartC`) as 1. Microsoft's decoder (`tracepoint_decode`) follows 8 levels.
pub(crate) const MAX_STRUCT_DEPTH: usize = 8;

/// Caps applied while encoding values; [`Limits::NONE`] cuts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Most bytes of one string, binary value or JSON text.
    pub max_str: usize,
    /// Most elements of one array and entries of one map.
    pub max_items: usize,
    /// Most attributes of the record (the layout drops trailing ones beyond it).
    pub max_attributes: usize,
}

impl Limits {
    /// No cap beyond the format's own (65,535 bytes or elements).
    pub(crate) const NONE: Limits = Limits {
        max_str: usize::MAX,
        max_items: usize::MAX,
        max_attributes: usize::MAX,
    };
}

/// A scalar value's kind (1 to 5, never 0), for a shape's signature ([`super::shape`]): the
/// metadata of a scalar depends only on its kind. Lists and maps have none: their metadata
/// depends on their content.
pub(crate) const KIND_INT: u8 = 1;
const KIND_DOUBLE: u8 = 2;
const KIND_BOOL: u8 = 3;
const KIND_STRING: u8 = 4;
const KIND_BYTES: u8 = 5;

/// Writes the data [`add_value`] writes for a scalar, and no metadata (a layout's fast path,
/// for a field whose metadata is cached); returns its kind (`KIND_*`). Writes nothing and
/// returns `None` for a list or a map.
#[inline(always)]
pub(crate) fn add_scalar_data(buf: &mut EventBuf, value: &AnyValue, limits: Limits) -> Option<u8> {
    match value {
        AnyValue::String(s) => {
            buf.data_str(s.as_str(), limits.max_str);
            Some(KIND_STRING)
        }
        AnyValue::Int(i) => {
            buf.data_raw(&i.to_ne_bytes());
            Some(KIND_INT)
        }
        AnyValue::Double(f) => {
            buf.data_raw(&f.to_ne_bytes());
            Some(KIND_DOUBLE)
        }
        AnyValue::Boolean(b) => {
            buf.data_bool(*b);
            Some(KIND_BOOL)
        }
        AnyValue::Bytes(b) => {
            buf.data_binary(b, limits.max_str);
            Some(KIND_BYTES)
        }
        _ => None,
    }
}

/// Writes `value` as the field `name`, inside `depth` open structs. Returns true if
/// anything was cut to `limits`.
#[inline(always)]
pub(crate) fn add_value(
    buf: &mut EventBuf,
    name: &str,
    value: &AnyValue,
    depth: usize,
    limits: Limits,
) -> bool {
    match value {
        AnyValue::String(s) => buf.add_str(name, s.as_str(), FieldFormat::Default, limits.max_str),
        AnyValue::Int(i) => {
            buf.add_i64(name, *i);
            false
        }
        AnyValue::Double(f) => {
            buf.add_f64(name, *f);
            false
        }
        AnyValue::Boolean(b) => {
            buf.add_bool(name, *b);
            false
        }
        _ => add_compound(buf, name, value, depth, limits),
    }
}

/// Bytes, lists, maps, and kinds added later: out of line, so that scalars stay cheap.
#[inline(never)]
fn add_compound(
    buf: &mut EventBuf,
    name: &str,
    value: &AnyValue,
    depth: usize,
    limits: Limits,
) -> bool {
    match value {
        AnyValue::Bytes(b) => buf.add_binary(name, b, limits.max_str),
        AnyValue::ListAny(items) => add_list(buf, name, value, items, limits),
        AnyValue::Map(map) => {
            // A key is a field name, which no cap shortens: a map with a key longer than
            // the cap becomes JSON text, which can be cut (so truncation can always fit it).
            let fits_struct = depth < MAX_STRUCT_DEPTH
                && (1..=MAX_STRUCT_FIELDS).contains(&map.len())
                && map.keys().all(|k| k.as_str().len() <= limits.max_str);
            if !fits_struct || limits.max_items == 0 {
                return add_json(buf, name, value, limits);
            }
            let entries = || map.iter().take(limits.max_items);
            let shadowed = Shadowed::in_event(buf, entries().map(|(k, _)| Some(k.as_str())));
            let mark = buf.begin_struct(name);
            let mut cut = false;
            let mut count = 0;
            for (i, (k, v)) in entries().enumerate() {
                if !shadowed.skips(i) {
                    cut |= add_value(buf, k.as_str(), v, depth + 1, limits);
                    count += 1;
                }
            }
            buf.end_struct(mark, count);
            cut || count < map.len()
        }
        // Scalars are written by `add_value`; a kind added to the non-exhaustive AnyValue
        // later is still written, as JSON.
        _ => add_json(buf, name, value, limits),
    }
}

fn add_list(
    buf: &mut EventBuf,
    name: &str,
    value: &AnyValue,
    items: &[AnyValue],
    limits: Limits,
) -> bool {
    let Some(first) = items.first() else {
        return add_json(buf, name, value, limits);
    };
    let same_kind = |f: fn(&AnyValue) -> bool| items.iter().all(f);
    let n = limits.max_items;
    match first {
        AnyValue::Int(_) if same_kind(|v| matches!(v, AnyValue::Int(_))) => buf.add_i64_array(
            name,
            items
                .iter()
                .map(|v| if let AnyValue::Int(i) = v { *i } else { 0 }),
            n,
        ),
        AnyValue::Double(_) if same_kind(|v| matches!(v, AnyValue::Double(_))) => buf
            .add_f64_array(
                name,
                items
                    .iter()
                    .map(|v| if let AnyValue::Double(f) = v { *f } else { 0.0 }),
                n,
            ),
        AnyValue::Boolean(_) if same_kind(|v| matches!(v, AnyValue::Boolean(_))) => buf
            .add_bool_array(
                name,
                items.iter().map(|v| matches!(v, AnyValue::Boolean(true))),
                n,
            ),
        AnyValue::String(_) if same_kind(|v| matches!(v, AnyValue::String(_))) => buf
            .add_str_array(
                name,
                items.iter().map(|v| {
                    if let AnyValue::String(s) = v {
                        s.as_str()
                    } else {
                        ""
                    }
                }),
                n,
                limits.max_str,
            ),
        _ => add_json(buf, name, value, limits),
    }
}

/// Writes `value` as a JSON string field, cut to `limits.max_str`.
pub(crate) fn add_json(buf: &mut EventBuf, name: &str, value: &AnyValue, limits: Limits) -> bool {
    let mark = buf.begin_str(name, FieldFormat::StringJson);
    write_json(
        buf.str_data(),
        value,
        limits.max_str.min(usize::from(u16::MAX)),
    );
    buf.end_str(mark, limits.max_str)
}

/// An attribute value's kind, for a shape's signature ([`super::shape`]): the metadata of
/// an attribute value depends only on it (an array's length is data).
pub(crate) fn value_kind(value: &opentelemetry::Value) -> u8 {
    use opentelemetry::{Array, Value};
    match value {
        Value::Bool(_) => 1,
        Value::I64(_) => 2,
        Value::F64(_) => 3,
        Value::String(_) => 4,
        Value::Array(Array::Bool(_)) => 5,
        Value::Array(Array::I64(_)) => 6,
        Value::Array(Array::F64(_)) => 7,
        Value::Array(Array::String(_)) => 8,
        // Kinds added later are written as their text: a string.
        #[allow(unreachable_patterns)]
        _ => 4,
    }
}

/// Writes an attribute value of the `opentelemetry::Value` kind (span and resource
/// attributes): scalars as themselves, arrays as EventHeader arrays.
pub(crate) fn add_attribute_value(
    buf: &mut EventBuf,
    name: &str,
    value: &opentelemetry::Value,
    limits: Limits,
) -> bool {
    use opentelemetry::{Array, Value};
    let n = limits.max_items;
    match value {
        Value::Bool(b) => {
            buf.add_bool(name, *b);
            false
        }
        Value::I64(i) => {
            buf.add_i64(name, *i);
            false
        }
        Value::F64(f) => {
            buf.add_f64(name, *f);
            false
        }
        Value::String(s) => buf.add_str(name, s.as_str(), FieldFormat::Default, limits.max_str),
        Value::Array(Array::Bool(v)) => buf.add_bool_array(name, v.iter().copied(), n),
        Value::Array(Array::I64(v)) => buf.add_i64_array(name, v.iter().copied(), n),
        Value::Array(Array::F64(v)) => buf.add_f64_array(name, v.iter().copied(), n),
        Value::Array(Array::String(v)) => {
            buf.add_str_array(name, v.iter().map(|s| s.as_str()), n, limits.max_str)
        }
        // Value and Array are non-exhaustive: a kind added later is written as its text.
        #[allow(unreachable_patterns)]
        other => buf.add_str(
            name,
            &other.to_string(),
            FieldFormat::Default,
            limits.max_str,
        ),
    }
}
