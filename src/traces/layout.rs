//! The Common Schema 4.0 layout of a span, field for field as the existing user_events trace
//! exporter (`opentelemetry-user-events-trace` 0.6) writes it, so agents built for it decode
//! ours; plus span events and link attributes, which it drops, in fields of their own:
//!
//! ```text
//! __csver__   u32 0x400 (shown unsigned)
//! PartA {     time            the span's end time, RFC 3339 UTC
//!             ext_dt_traceId, ext_dt_spanId          lowercase hex
//!             ext_cloud_role, ext_cloud_roleInstance (if the resource has them) }
//! PartB {     _typeName "Span", name, startTime (RFC 3339),
//!             success (bool: status Ok or Unset),
//!             kind (u32 shown unsigned: internal 0, server 1, client 2, producer 3,
//!                   consumer 4),
//!             parentId (hex; only with a parent),
//!             links (only with links: a JSON string
//!                    [{"toTraceId":"<hex>","toSpanId":"<hex>"},…]),
//!             the attributes of WELL_KNOWN, renamed, in the span's order,
//!             statusMessage (the error description, if any, unless httpStatusCode
//!                            was written: the Common Schema rule),
//!             events { "0": { name, time, <attributes> }, "1": ... }   (ours; if any)
//!             linkAttributes { "<link index>": { <attributes> }, ... } (ours; only links
//!                                                                       with attributes) }
//! PartC {     the other attributes, old semantic-convention names included;
//!             127 per struct, then PartC_2, ... }
//! _thread_id, _truncated   as for logs
//! ```
//!
//! Events and links are capped at 127 each (and shrink first when an event must be cut to
//! fit); an event's or link's own attributes at 125. Attribute arrays are written as arrays
//! (the peer writes `""`).
//!
//! On ETW (TraceLogging) the content is the same with ETW's `PartA`
//! (`PartA { ext_dt { traceId, spanId }, ext_cloud { .. }, time }`, see
//! `add_part_a`), a u16 `__csver__` and 4-byte booleans; the event's activity id is
//! the span's and its related activity id the parent's (see
//! [`etw_activity_id`](crate::encode::etw_activity_id)), so Windows tools nest spans and
//! group the logs written inside them.

use eventheader::{FieldFormat, Level};
use opentelemetry::trace::{Event, Link, SpanKind, Status};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;

use crate::encode::common_schema::{
    add_hex, add_part_a, add_part_c, add_tail, add_time, begin_event, finish_event, PartA,
};
use crate::encode::names::Shadowed;
use crate::encode::shape::{encode_with_shape, Signature};
use crate::encode::text::write_hex;
use crate::encode::value::{add_attribute_value, value_kind};
use crate::encode::{EventBuf, Limits, Pass, Wire, MAX_STRUCT_FIELDS};

/// Attribute keys written into PartB under Common Schema names instead of PartC: the current
/// semantic-convention names, one each, as user-events-trace 0.6 maps them. Older names
/// (`db.system`, `http.method`, …) stay in PartC under their own keys.
pub const WELL_KNOWN: &[(&str, &str)] = &[
    ("db.system.name", "dbSystem"),
    ("db.namespace", "dbName"),
    ("db.query.text", "dbStatement"),
    ("http.request.method", "httpMethod"),
    ("url.full", "httpUrl"),
    ("http.response.status_code", "httpStatusCode"),
    ("messaging.system", "messagingSystem"),
    ("messaging.destination.name", "messagingDestination"),
    ("messaging.url", "messagingUrl"),
    ("rpc.system.name", "rpcSystem"),
    ("rpc.response.status_code", "rpcGrpcStatusCode"),
];

fn well_known(key: &str) -> Option<&'static str> {
    WELL_KNOWN.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// What a span event needs besides the span.
pub(crate) struct SpanContext<'a> {
    /// The processor's layout, for the shape cache: changes whenever anything below that
    /// the metadata depends on changes (the wire, the resource fields, the thread id).
    pub layout_id: u64,
    pub wire: Wire,
    pub role: Option<&'a str>,
    pub role_instance: Option<&'a str>,
    pub thread_id: Option<u32>,
    pub level: Level,
}

/// Writes up to `room` attributes into the open struct; returns how many.
fn add_attributes(
    buf: &mut EventBuf,
    attributes: &[KeyValue],
    room: usize,
    limits: Limits,
) -> usize {
    let kept = || attributes.iter().take(room);
    let shadowed = Shadowed::in_event(buf, kept().map(|kv| Some(kv.key.as_str())));
    let mut n = 0;
    for (i, kv) in kept().enumerate() {
        if !shadowed.skips(i) {
            add_attribute_value(buf, kv.key.as_str(), &kv.value, limits);
            n += 1;
        }
    }
    n
}

/// Encodes `span` into `buf`. The first pass (`truncated_from` is `None`) reuses the
/// metadata of the span's shape (see [`signature`]).
pub(crate) fn encode_span(
    buf: &mut EventBuf,
    span: &SpanData,
    cx: &SpanContext<'_>,
    limits: Limits,
    truncated_from: Option<u32>,
) -> Pass {
    // The whole signature comes first: a span's attributes are read in several places.
    let encode = |buf: &mut EventBuf, _: Option<&mut Signature<'_>>| {
        encode_fields(buf, span, cx, limits, truncated_from)
    };
    if truncated_from.is_some() {
        return encode(buf, None);
    }
    encode_with_shape(buf, |sig| signature(sig, span, cx), encode)
}

/// A span's shape: what its metadata depends on besides the processor's layout. Whether it
/// has a parent and a status message, each attribute's kind and key (which also decide
/// what goes to PartB), and the same for each event and link. The first pass caps
/// nothing, so counts decide the struct sizes.
fn signature(sig: &mut Signature<'_>, span: &SpanData, cx: &SpanContext<'_>) -> bool {
    let has_parent = span.parent_span_id != opentelemetry::trace::SpanId::INVALID;
    let has_message =
        matches!(&span.status, Status::Error { description } if !description.is_empty());
    let attributes = |sig: &mut Signature<'_>, attributes: &[KeyValue]| {
        let Ok(n) = u8::try_from(attributes.len()) else {
            return false;
        };
        sig.put2(0, n)
            && attributes
                .iter()
                .all(|kv| sig.kind_str(value_kind(&kv.value), kv.key.as_str()))
    };
    sig.u64(cx.layout_id)
        && sig.put2(u8::from(has_parent), u8::from(has_message))
        && attributes(sig, &span.attributes)
        && u8::try_from(span.events.events.len()).is_ok_and(|n| sig.put2(1, n))
        && span
            .events
            .events
            .iter()
            .all(|e| attributes(sig, &e.attributes))
        && u8::try_from(span.links.links.len()).is_ok_and(|n| sig.put2(2, n))
        && span
            .links
            .links
            .iter()
            .all(|l| attributes(sig, &l.attributes))
}

/// One pass of the layout in the module docs.
fn encode_fields<'a>(
    buf: &mut EventBuf,
    span: &'a SpanData,
    cx: &SpanContext<'_>,
    limits: Limits,
    truncated_from: Option<u32>,
) -> Pass {
    begin_event(buf, cx.wire, "Span");
    let trace_id = span.span_context.trace_id().to_bytes();
    let span_id = span.span_context.span_id().to_bytes();
    add_part_a(
        buf,
        &PartA {
            time: span.end_time,
            trace_id: Some(trace_id),
            span_id: Some(span_id),
            role: cx.role,
            role_instance: cx.role_instance,
        },
    );
    let parent = (span.parent_span_id != opentelemetry::trace::SpanId::INVALID)
        .then(|| span.parent_span_id.to_bytes());

    let part_b = buf.begin_struct("PartB");
    let mut fields = 5;
    buf.add_str("_typeName", "Span", FieldFormat::Default, usize::MAX);
    buf.add_str("name", &span.name, FieldFormat::Default, limits.max_str);
    add_time(buf, "startTime", span.start_time);
    buf.add_bool("success", !matches!(span.status, Status::Error { .. }));
    let kind = match span.span_kind {
        SpanKind::Internal => 0,
        SpanKind::Server => 1,
        SpanKind::Client => 2,
        SpanKind::Producer => 3,
        SpanKind::Consumer => 4,
    };
    buf.add_u32("kind", kind, FieldFormat::UnsignedInt);
    if let Some(parent) = &parent {
        add_hex(buf, "parentId", parent);
        fields += 1;
    }
    let links = &span.links.links;
    if !links.is_empty() {
        add_links_json(buf, links, limits);
        fields += 1;
    }
    // Room for statusMessage, events and link attributes after the well-known attributes
    // (at most 11 of those, unless keys repeat).
    let mut http_status_code = false;
    let mapped = Shadowed::in_event(
        buf,
        span.attributes.iter().map(|kv| well_known(kv.key.as_str())),
    );
    for (i, kv) in span.attributes.iter().enumerate() {
        if let (Some(name), false) = (well_known(kv.key.as_str()), mapped.skips(i)) {
            if fields < MAX_STRUCT_FIELDS - 3 {
                add_attribute_value(buf, name, &kv.value, limits);
                http_status_code |= name == "httpStatusCode";
                fields += 1;
            }
        }
    }
    if let (Status::Error { description }, false) = (&span.status, http_status_code) {
        if !description.is_empty() {
            buf.add_str(
                "statusMessage",
                description,
                FieldFormat::Default,
                limits.max_str,
            );
            fields += 1;
        }
    }
    let events = &span.events.events;
    let add_event = |buf: &mut EventBuf, event: &'a Event| {
        buf.add_str("name", &event.name, FieldFormat::Default, limits.max_str);
        add_time(buf, "time", event.timestamp);
        (2, &event.attributes[..])
    };
    fields += usize::from(add_numbered(
        buf,
        "events",
        events,
        limits,
        |_| true,
        add_event,
    ));
    let has_attributes = |link: &Link| !link.attributes.is_empty();
    let link_attributes = |_: &mut EventBuf, link: &'a Link| (0, &link.attributes[..]);
    fields += usize::from(add_numbered(
        buf,
        "linkAttributes",
        links,
        limits,
        has_attributes,
        link_attributes,
    ));
    buf.end_struct(part_b, fields);

    let others = span.attributes.iter().map(|kv| {
        let in_part_c = well_known(kv.key.as_str()).is_none();
        in_part_c.then(|| kv.key.as_str())
    });
    let shadowed = Shadowed::in_event(buf, others);
    let part_c = span
        .attributes
        .iter()
        .enumerate()
        .filter(|(i, kv)| well_known(kv.key.as_str()).is_none() && !shadowed.skips(*i));
    let total = part_c.clone().count();
    add_part_c(buf, part_c.take(limits.max_attributes), |buf, (_, kv)| {
        add_attribute_value(buf, kv.key.as_str(), &kv.value, limits);
    });
    add_tail(buf, cx.thread_id, truncated_from);
    Pass {
        finished: finish_event(buf, cx.level, Some((trace_id, span_id)), parent),
        attributes: total,
    }
}

/// Writes the `items` that `keep` accepts as a struct `name` holding one struct per item,
/// named by the item's index in `items` (`0`, `1`, …): `head` writes the item's leading
/// fields and returns how many, with the item's attributes, which follow. At most 127 items
/// (fewer under `limits.max_items`) and 127 fields each. Returns false, writing nothing,
/// when there is nothing to write.
fn add_numbered<'a, T>(
    buf: &mut EventBuf,
    name: &str,
    items: &'a [T],
    limits: Limits,
    keep: impl Fn(&T) -> bool,
    head: impl Fn(&mut EventBuf, &'a T) -> (usize, &'a [KeyValue]),
) -> bool {
    let cap = limits.max_items.min(MAX_STRUCT_FIELDS);
    let mut kept = items
        .iter()
        .enumerate()
        .filter(|(_, item)| keep(item))
        .take(cap)
        .peekable();
    if kept.peek().is_none() {
        return false;
    }
    let outer = buf.begin_struct(name);
    let mut label = [0u8; 20];
    let mut n = 0;
    for (index, item) in kept {
        let one = buf.begin_struct(index_name(&mut label, index));
        let (leading, attributes) = head(buf, item);
        let room = (MAX_STRUCT_FIELDS - leading).min(limits.max_items);
        let written = add_attributes(buf, attributes, room, limits);
        buf.end_struct(one, leading + written);
        n += 1;
    }
    buf.end_struct(outer, n);
    true
}

/// `links`: the linked spans' ids as JSON text, as user-events-trace 0.6 writes it
/// (`[{"toTraceId":"<32 hex>","toSpanId":"<16 hex>"},…]`, shown as plain text).
fn add_links_json(buf: &mut EventBuf, links: &[Link], limits: Limits) {
    let mark = buf.begin_str("links", FieldFormat::Default);
    let out = buf.str_data();
    out.push(b'[');
    for (i, link) in links.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"toTraceId":""#);
        write_hex(out, &link.span_context.trace_id().to_bytes());
        out.extend_from_slice(br#"","toSpanId":""#);
        write_hex(out, &link.span_context.span_id().to_bytes());
        out.extend_from_slice(br#""}"#);
    }
    out.push(b']');
    let _ = buf.end_str(mark, limits.max_str);
}

/// `0`..`126` as a field name, formatted on the stack.
fn index_name(out: &mut [u8; 20], n: usize) -> &str {
    std::str::from_utf8(crate::encode::text::decimal(out, n.min(999) as u64, 1)).unwrap_or("0")
}
