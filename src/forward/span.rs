//! A Common Schema `Span` event back to a [`SpanData`] (the layout: `src/traces/layout.rs`).
//!
//! Not in the layout, so not exact: the status `Ok` (written as `success` true, as `Unset`
//! is; read back as `Unset`); an error's description when an `httpStatusCode` was written
//! (the Common Schema rule leaves `statusMessage` out); the trace flags (a span that was
//! exported was sampled: read back as sampled), the trace state, whether the parent or a
//! link is remote; dropped counts (0).

use std::borrow::Cow;

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::decode::{bad, hex, parse_time, DecodeError, DecodeReason, Parts, ResourceKey};
use super::fields::{to_any, Field, Fields};
use crate::traces::WELL_KNOWN;

/// The span in `parts` (a `Span` event), with its resource.
pub(crate) fn span(
    parts: Parts,
    scope: InstrumentationScope,
) -> Result<(ResourceKey, SpanData), DecodeError> {
    let a = parts.part_a()?;
    let (Some(trace_id), Some(span_id)) = (a.trace_id, a.span_id) else {
        return Err(bad(DecodeReason::BadField, "a span without PartA ids"));
    };
    let mut span = SpanData {
        span_context: SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed(""),
        start_time: a.time,
        end_time: a.time,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope,
    };
    let mut success = true;
    let mut status_message = String::new();
    let mut links = Vec::new();
    let mut link_attributes = Fields::new();
    for (name, field) in parts.part_b {
        let text = match &field {
            Field::Value(AnyValue::String(s)) => Some(s.as_str()),
            _ => None,
        };
        match (name.as_str(), text) {
            ("_typeName", _) => {}
            ("name", Some(s)) => span.name = Cow::Owned(s.to_string()),
            ("startTime", Some(s)) => span.start_time = parse_time(s)?,
            ("parentId", Some(s)) => span.parent_span_id = SpanId::from_bytes(hex::<8>(s)?),
            ("statusMessage", Some(s)) => status_message = s.to_string(),
            ("links", Some(s)) => links = parse_links(s)?,
            ("success", _) => success = matches!(field, Field::Value(AnyValue::Boolean(true))),
            ("kind", _) => span.span_kind = kind(&field)?,
            ("events", _) => span.events.events = events(field)?,
            ("linkAttributes", _) => {
                if let Field::Struct(f) = field {
                    link_attributes = f;
                }
            }
            (renamed, _) => {
                // A well-known attribute under its Common Schema name.
                if let Some((key, _)) = WELL_KNOWN.iter().find(|(_, cs)| *cs == renamed) {
                    if let Some(value) = to_value(to_any(field)) {
                        span.attributes.push(KeyValue::new(*key, value));
                    }
                }
            }
        }
    }
    span.attributes.extend(
        parts
            .part_c
            .into_iter()
            .filter_map(|(k, v)| Some(KeyValue::new(k, to_value(v)?))),
    );
    for (index, fields) in link_attributes {
        let (Ok(i), Field::Struct(fields)) = (index.parse::<usize>(), fields) else {
            continue;
        };
        if let Some(link) = links.get_mut(i) {
            link.attributes = attributes(fields);
        }
    }
    span.links.links = links;
    if !success {
        span.status = Status::error(status_message);
    }
    Ok((a.resource, span))
}

fn kind(field: &Field) -> Result<SpanKind, DecodeError> {
    Ok(match field {
        Field::Value(AnyValue::Int(0)) => SpanKind::Internal,
        Field::Value(AnyValue::Int(1)) => SpanKind::Server,
        Field::Value(AnyValue::Int(2)) => SpanKind::Client,
        Field::Value(AnyValue::Int(3)) => SpanKind::Producer,
        Field::Value(AnyValue::Int(4)) => SpanKind::Consumer,
        other => return Err(bad(DecodeReason::BadField, format!("kind {other:?}"))),
    })
}

/// `links`: `[{"toTraceId":"<hex>","toSpanId":"<hex>"},…]`.
fn parse_links(text: &str) -> Result<Vec<Link>, DecodeError> {
    let invalid = || bad(DecodeReason::BadField, format!("links {text:?}"));
    let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| invalid())?;
    items
        .iter()
        .map(|item| {
            let id = |name: &str| item.get(name).and_then(|v| v.as_str()).ok_or_else(invalid);
            let trace_id = TraceId::from_bytes(hex::<16>(id("toTraceId")?)?);
            let span_id = SpanId::from_bytes(hex::<8>(id("toSpanId")?)?);
            let context = SpanContext::new(
                trace_id,
                span_id,
                TraceFlags::default(),
                false,
                TraceState::default(),
            );
            Ok(Link::new(context, Vec::new(), 0))
        })
        .collect()
}

/// `events { "0": { name, time, <attributes> }, … }`.
fn events(field: Field) -> Result<Vec<Event>, DecodeError> {
    let Field::Struct(numbered) = field else {
        return Err(bad(DecodeReason::BadField, "events is not a struct"));
    };
    let mut out = Vec::with_capacity(numbered.len());
    for (_, event) in numbered {
        let Field::Struct(fields) = event else {
            continue;
        };
        let (mut name, mut time, mut rest) = (String::new(), None, Fields::new());
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("name", Field::Value(AnyValue::String(s))) if time.is_none() => {
                    name = s.to_string()
                }
                ("time", Field::Value(AnyValue::String(s))) if time.is_none() => {
                    time = Some(parse_time(s.as_str())?)
                }
                (_, value) => rest.push((key, value)),
            }
        }
        let time = time.ok_or_else(|| bad(DecodeReason::BadField, "an event without time"))?;
        out.push(Event::new(name, time, attributes(rest), 0));
    }
    Ok(out)
}

fn attributes(fields: Fields) -> Vec<KeyValue> {
    fields
        .into_iter()
        .filter_map(|(k, v)| Some(KeyValue::new(k, to_value(to_any(v))?)))
        .collect()
}

/// A span attribute's value: a scalar, or a list of one scalar type (what span attributes
/// can hold); anything else as its JSON-like debug text, None for an empty value.
fn to_value(value: AnyValue) -> Option<Value> {
    Some(match value {
        AnyValue::Int(i) => Value::I64(i),
        AnyValue::Double(f) => Value::F64(f),
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::String(s) => Value::String(s),
        AnyValue::ListAny(items) => list(*items)?,
        other => Value::String(StringValue::from(format!("{other:?}"))),
    })
}

fn list(items: Vec<AnyValue>) -> Option<Value> {
    fn all<T>(items: &[AnyValue], f: impl Fn(&AnyValue) -> Option<T>) -> Option<Vec<T>> {
        items.iter().map(f).collect()
    }
    let array = if let Some(v) = all(&items, |v| match v {
        AnyValue::Int(i) => Some(*i),
        _ => None,
    }) {
        Array::I64(v)
    } else if let Some(v) = all(&items, |v| match v {
        AnyValue::Double(f) => Some(*f),
        _ => None,
    }) {
        Array::F64(v)
    } else if let Some(v) = all(&items, |v| match v {
        AnyValue::Boolean(b) => Some(*b),
        _ => None,
    }) {
        Array::Bool(v)
    } else {
        Array::String(
            items
                .into_iter()
                .map(|v| match v {
                    AnyValue::String(s) => s,
                    other => StringValue::from(format!("{other:?}")),
                })
                .collect(),
        )
    };
    Some(Value::Array(array))
}
