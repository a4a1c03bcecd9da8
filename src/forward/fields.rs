//! An EventHeader event's fields as a tree of OpenTelemetry values, walked with
//! tracepoint_decode's enumerator: the inverse of `encode::value` (see its table).

use eventheader::{FieldEncoding, FieldFormat};
use opentelemetry::logs::AnyValue;
use opentelemetry::{Key, StringValue};
use tracepoint_decode::{EventHeaderEnumeratorContext, EventHeaderEnumeratorState, PerfItemValue};

use crate::listen::{enumerate, metadata_the_decoder_asserts_on};

/// One field of an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    /// A scalar: an integer, double, boolean, string, binary value, or a JSON string read
    /// back into its list or map.
    Value(AnyValue),
    /// A variable- or constant-length array of scalars.
    Array(Vec<AnyValue>),
    /// A struct, its fields in order.
    Struct(Fields),
}

/// Fields by name, in the event's order.
pub(crate) type Fields = Vec<(String, Field)>;

/// What the walk found: the event's header items and its fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// The EventHeader provider (the tracepoint name before `_L`).
    pub provider: String,
    /// The event name from the metadata (`Log`, `Span`, ...).
    pub name: String,
    /// The top-level fields.
    pub fields: Fields,
}

/// Walks the EventHeader event `raw` of tracepoint `tracepoint`. An error is the decoder's
/// word for why it stopped (or ours for what it would assert on).
pub(crate) fn walk(tracepoint: &str, raw: &[u8]) -> Result<Event, String> {
    if let Some(problem) = metadata_the_decoder_asserts_on(raw) {
        return Err(problem.to_string());
    }
    let mut ctx = EventHeaderEnumeratorContext::new();
    let mut e = enumerate(&mut ctx, tracepoint, raw).map_err(|err| err.to_string())?;
    let info = e.event_info();
    let provider = info.provider_name().to_string();
    let name = String::from_utf8_lossy(info.name_bytes()).into_owned();
    // Open structs: (name, fields so far); the bottom one is the event.
    let mut open: Vec<(String, Fields)> = vec![(String::new(), Vec::new())];
    let mut array: Option<(String, Vec<AnyValue>)> = None;
    while e.move_next() {
        let state = e.state();
        if state == EventHeaderEnumeratorState::AfterLastItem {
            break;
        }
        let item = e.item_info();
        let field_name = || String::from_utf8_lossy(item.name_bytes()).into_owned();
        let top = &mut open.last_mut().ok_or("unbalanced structs")?.1;
        match state {
            EventHeaderEnumeratorState::Value => {
                let value = scalar(item.value())?;
                match &mut array {
                    Some((_, items)) => items.push(value),
                    None => top.push((field_name(), Field::Value(value))),
                }
            }
            EventHeaderEnumeratorState::ArrayBegin => {
                if item.metadata().encoding() == FieldEncoding::Struct {
                    return Err("an array of structs (not a layout we write)".to_string());
                }
                array = Some((field_name(), Vec::new()));
            }
            EventHeaderEnumeratorState::ArrayEnd => {
                if let Some((name, items)) = array.take() {
                    top.push((name, Field::Array(items)));
                }
            }
            EventHeaderEnumeratorState::StructBegin => open.push((field_name(), Vec::new())),
            EventHeaderEnumeratorState::StructEnd => {
                let (name, fields) = open.pop().ok_or("unbalanced structs")?;
                open.last_mut()
                    .ok_or("unbalanced structs")?
                    .1
                    .push((name, Field::Struct(fields)));
            }
            _ => {}
        }
    }
    if e.state() == EventHeaderEnumeratorState::Error {
        return Err(e.last_error().to_string());
    }
    let fields = open.pop().map(|(_, f)| f).unwrap_or_default();
    Ok(Event {
        provider,
        name,
        fields,
    })
}

/// `N` bytes of `bytes` in native order (the events are read on the machine that wrote them).
fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("a {N}-byte value in {} bytes", bytes.len()))
}

/// One scalar (a field, or an array element) as an OpenTelemetry value.
fn scalar(value: &PerfItemValue<'_>) -> Result<AnyValue, String> {
    let meta = value.metadata();
    let (bytes, format) = (value.bytes(), meta.format());
    let signed = matches!(format, FieldFormat::SignedInt | FieldFormat::Default);
    let int = |v: i64| Ok(AnyValue::Int(v));
    match meta.encoding() {
        FieldEncoding::Value8 if format == FieldFormat::Boolean => {
            Ok(AnyValue::Boolean(array::<1>(bytes)?[0] != 0))
        }
        FieldEncoding::Value8 if signed => int(i8::from_ne_bytes(array(bytes)?).into()),
        FieldEncoding::Value8 => int(u8::from_ne_bytes(array(bytes)?).into()),
        FieldEncoding::Value16 if signed => int(i16::from_ne_bytes(array(bytes)?).into()),
        FieldEncoding::Value16 => int(u16::from_ne_bytes(array(bytes)?).into()),
        FieldEncoding::Value32 if format == FieldFormat::Float => {
            Ok(AnyValue::Double(f32::from_ne_bytes(array(bytes)?).into()))
        }
        FieldEncoding::Value32 if format == FieldFormat::Boolean => {
            Ok(AnyValue::Boolean(u32::from_ne_bytes(array(bytes)?) != 0))
        }
        FieldEncoding::Value32 if signed => int(i32::from_ne_bytes(array(bytes)?).into()),
        FieldEncoding::Value32 => int(u32::from_ne_bytes(array(bytes)?).into()),
        FieldEncoding::Value64 if format == FieldFormat::Float => {
            Ok(AnyValue::Double(f64::from_ne_bytes(array(bytes)?)))
        }
        FieldEncoding::Value64 if signed => int(i64::from_ne_bytes(array(bytes)?)),
        FieldEncoding::Value64 => {
            let v = u64::from_ne_bytes(array(bytes)?);
            // OpenTelemetry has no unsigned integer: above i64::MAX, the decimal text.
            Ok(i64::try_from(v).map_or_else(|_| text(v.to_string()), AnyValue::Int))
        }
        FieldEncoding::Value128 | FieldEncoding::BinaryLength16Char8 => {
            Ok(AnyValue::Bytes(Box::new(bytes.to_vec())))
        }
        FieldEncoding::ZStringChar8 | FieldEncoding::StringLength16Char8 => {
            let s = String::from_utf8_lossy(bytes).into_owned();
            Ok(if format == FieldFormat::StringJson {
                from_json(&s).unwrap_or_else(|| text(s))
            } else {
                text(s)
            })
        }
        other => Err(format!(
            "a field of encoding {other:?} (not a layout we write)"
        )),
    }
}

fn text(s: String) -> AnyValue {
    AnyValue::String(StringValue::from(s))
}

/// A value the encoder wrote as JSON text (an empty, mixed or nested list, a map too large
/// or too deep for a struct) read back: arrays as lists, objects as maps, integers as Int,
/// other numbers as Double. Not exact: bytes were written as hex text and non-finite
/// doubles as `"NaN"`/`"Infinity"`, and both come back as strings. None if the text is not
/// JSON (e.g. cut to fit).
fn from_json(text: &str) -> Option<AnyValue> {
    fn convert(v: serde_json::Value) -> AnyValue {
        use serde_json::Value as J;
        match v {
            J::Null => AnyValue::String(StringValue::from("")),
            J::Bool(b) => AnyValue::Boolean(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => AnyValue::Int(i),
                None => AnyValue::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => AnyValue::String(StringValue::from(s)),
            J::Array(items) => {
                AnyValue::ListAny(Box::new(items.into_iter().map(convert).collect()))
            }
            J::Object(map) => AnyValue::Map(Box::new(
                map.into_iter()
                    .map(|(k, v)| (Key::from(k), convert(v)))
                    .collect(),
            )),
        }
    }
    serde_json::from_str(text).ok().map(convert)
}

/// Fields as attribute values: a struct becomes a map, an array a list.
pub(crate) fn to_any(field: Field) -> AnyValue {
    match field {
        Field::Value(v) => v,
        Field::Array(items) => AnyValue::ListAny(Box::new(items)),
        Field::Struct(fields) => AnyValue::Map(Box::new(
            fields
                .into_iter()
                .map(|(k, v)| (Key::from(k), to_any(v)))
                .collect(),
        )),
    }
}
