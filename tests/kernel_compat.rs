//! Field-for-field compatibility with the peers on a real user_events kernel (in the VM):
//! the same records go through `opentelemetry-user-events-logs` 0.18 and
//! `opentelemetry-user-events-trace` 0.6 and through ours, are read back through perf as an
//! agent reads them, decoded with tracepoint_decode, and compared field by field: path,
//! encoding, format, value bytes and order.
//!
//! The differences we chose are listed per case as [`Allowed`]; anything else fails.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::kernel::*;
use common::skip::kernel_or_skip;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor};
use opentelemetry_sdk::Resource;
use otel_os_events::listen::PerfSession;
use tracepoint_decode::{EventHeaderEnumeratorContext, EventHeaderEnumeratorState as St};

const WAIT: Duration = Duration::from_secs(5);

/// One decoded field: where it is, how it is encoded, its bytes.
#[derive(Debug, Clone, PartialEq)]
struct Field {
    /// Dotted path (`PartB.body`); struct and array boundaries are fields of their own,
    /// `PartB{` … `}` and `PartC.ints[` … `]`.
    path: String,
    encoding: u8,
    format: u8,
    value: Vec<u8>,
}

/// An event as a flat list of fields, with its name.
#[derive(Debug, Clone, PartialEq)]
struct Flat {
    name: String,
    fields: Vec<Field>,
}

fn flatten(tracepoint: &str, payload: &[u8]) -> Flat {
    let mut ctx = EventHeaderEnumeratorContext::new();
    let mut e = ctx
        .enumerate_with_name_and_data(tracepoint, payload, 1_000_000)
        .unwrap_or_else(|err| panic!("{tracepoint}: not an EventHeader event: {err:?}"));
    let name = String::from_utf8_lossy(e.event_info().name_bytes()).into_owned();
    let mut fields = Vec::new();
    let mut path: Vec<String> = Vec::new();
    while e.move_next() {
        let item = e.item_info();
        let name = String::from_utf8_lossy(item.name_bytes()).into_owned();
        let m = item.value().metadata();
        let at = |path: &[String], name: &str| {
            let mut p = path.join(".");
            if !p.is_empty() {
                p.push('.');
            }
            p + name
        };
        let field = |path: String, value: Vec<u8>| Field {
            path,
            encoding: m.encoding().as_int(),
            format: m.format().as_int(),
            value,
        };
        match e.state() {
            St::Value => fields.push(field(at(&path, &name), item.value().bytes().to_vec())),
            // A struct's format byte is its field count, which an allowed difference
            // changes: not compared (the paths show where each field went).
            St::StructBegin => {
                fields.push(Field {
                    format: 0,
                    ..field(at(&path, &name) + "{", Vec::new())
                });
                path.push(name);
            }
            St::StructEnd => {
                path.pop();
                fields.push(Field {
                    format: 0,
                    ..field(at(&path, &name) + "}", Vec::new())
                });
            }
            St::ArrayBegin => fields.push(field(at(&path, &name) + "[", Vec::new())),
            St::ArrayEnd => fields.push(field(at(&path, &name) + "]", Vec::new())),
            other => panic!("unexpected state {other:?}"),
        }
    }
    assert_eq!(e.state(), St::AfterLastItem, "{:?}", e.last_error());
    Flat { name, fields }
}

/// A difference between the peer's event and ours that we chose (README, compatibility).
#[derive(Debug, Clone, Copy)]
enum Allowed {
    /// The peer writes `""` for this value (a list, a map, bytes); we write the value itself:
    /// the field and, for ours, everything inside it are left out of the comparison.
    NativeValue(&'static str),
    /// A field (and what it holds) only we write.
    OursOnly(&'static str),
    /// A field only the peer writes (e.g. the ids of an all-zero trace context).
    PeerOnly(&'static str),
    /// The peer writes this field once per occurrence of its key; we write the last only.
    LastOfRepeated(&'static str),
    /// A name the peer writes as it is and we write made safe (an empty name as `_`).
    SafeName(&'static str, &'static str),
}

/// Removes `path` and, if it is a struct or an array, what it holds.
fn remove(fields: &mut Vec<Field>, path: &str) {
    let inside = format!("{path}.");
    let mut depth = 0;
    fields.retain(|f| {
        let own = f.path == path || f.path == format!("{path}{{") || f.path == format!("{path}[");
        let closes = f.path == format!("{path}}}") || f.path == format!("{path}]");
        if own && (f.path.ends_with('{') || f.path.ends_with('[')) {
            depth += 1;
            return false;
        }
        if closes {
            depth -= 1;
            return false;
        }
        !(own || depth > 0 || f.path.starts_with(&inside))
    });
}

/// Compares the peer's event with ours, minus the allowed differences.
fn assert_same(case: &str, peer: &Flat, ours: &Flat, allowed: &[Allowed]) {
    let (mut peer_fields, mut our_fields) = (peer.fields.clone(), ours.fields.clone());
    for a in allowed {
        match *a {
            Allowed::NativeValue(path) => {
                let at = peer_fields
                    .iter()
                    .position(|f| f.path == path)
                    .unwrap_or_else(|| panic!("{case}: the peer wrote no {path}"));
                assert!(
                    peer_fields[at].value.is_empty(),
                    "{case}: the peer's {path} is not \"\""
                );
                peer_fields.remove(at);
                remove(&mut our_fields, path);
            }
            Allowed::OursOnly(path) => remove(&mut our_fields, path),
            Allowed::PeerOnly(path) => remove(&mut peer_fields, path),
            Allowed::SafeName(theirs, ours) => {
                let f = peer_fields
                    .iter_mut()
                    .find(|f| f.path == theirs)
                    .unwrap_or_else(|| panic!("{case}: the peer wrote no {theirs:?}"));
                f.path = ours.to_owned();
            }
            Allowed::LastOfRepeated(path) => {
                let last = peer_fields.iter().rposition(|f| f.path == path);
                let mut i = 0;
                peer_fields.retain(|f| {
                    i += 1;
                    f.path != path || Some(i - 1) == last
                });
            }
        }
    }
    assert_eq!(peer.name, ours.name, "{case}: event name");
    if peer_fields != our_fields {
        let show = |fields: &[Field]| -> Vec<String> {
            fields
                .iter()
                .map(|f| {
                    format!(
                        "{} e{} f{} {:?}",
                        f.path,
                        f.encoding,
                        f.format,
                        String::from_utf8_lossy(&f.value)
                    )
                })
                .collect()
        };
        panic!(
            "{case}: the events differ\n peer: {:#?}\n ours: {:#?}",
            show(&peer_fields),
            show(&our_fields)
        );
    }
}

/// Reads one event from each of the two tracepoints.
fn read_pair(
    session: &mut PerfSession,
    peer_tp: &str,
    ours_tp: &str,
) -> (Option<Flat>, Option<Flat>) {
    let events = read_raw(session, 2, WAIT);
    let pick = |tp: &str| {
        events
            .iter()
            .find(|e| e.tracepoint == tp)
            .map(|e| flatten(&e.tracepoint, &e.raw))
    };
    (pick(peer_tp), pick(ours_tp))
}

// ---- logs ---------------------------------------------------------------------------

struct LogCase {
    name: &'static str,
    record: Box<dyn Fn(&mut SdkLogRecord)>,
    allowed: Vec<Allowed>,
}

fn case(
    name: &'static str,
    record: impl Fn(&mut SdkLogRecord) + 'static,
    allowed: Vec<Allowed>,
) -> LogCase {
    LogCase {
        name,
        record: Box::new(record),
        allowed,
    }
}

fn map(entries: &[(&'static str, AnyValue)]) -> AnyValue {
    AnyValue::Map(Box::new(
        entries
            .iter()
            .map(|(k, v)| (Key::from(*k), v.clone()))
            .collect::<HashMap<_, _>>(),
    ))
}

fn log_cases() -> Vec<LogCase> {
    use Allowed::*;
    let mut cases = Vec::new();
    for n in 1..=24 {
        let severity: Severity = severity(n);
        cases.push(case(
            "every severity",
            move |r| {
                r.set_severity_number(severity);
                r.set_severity_text(severity.name());
                r.set_body(AnyValue::String("body".into()));
                r.add_attribute("user", "alice");
            },
            vec![],
        ));
    }
    let scalars: [(&str, AnyValue); 4] = [
        ("int", AnyValue::Int(-7)),
        ("double", AnyValue::Double(1.5)),
        ("bool", AnyValue::Boolean(true)),
        ("string", AnyValue::String("text \0 with a NUL".into())),
    ];
    for (kind, value) in scalars {
        let (v1, v2) = (value.clone(), value.clone());
        cases.push(case(
            kind,
            move |r| {
                r.set_body(v1.clone());
                r.add_attribute("value", v2.clone());
            },
            vec![],
        ));
    }
    let natives: [(&str, AnyValue); 4] = [
        ("bytes", AnyValue::Bytes(Box::new(vec![1, 2, 3]))),
        (
            "ints",
            AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Int(2)])),
        ),
        (
            "mixed",
            AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Boolean(false)])),
        ),
        ("map", map(&[("inner", AnyValue::Int(5))])),
    ];
    for (kind, value) in natives {
        let (v1, v2) = (value.clone(), value.clone());
        cases.push(case(
            kind,
            move |r| {
                r.set_body(v1.clone());
                r.add_attribute("value", v2.clone());
            },
            vec![NativeValue("PartB.body"), NativeValue("PartC.value")],
        ));
    }
    cases.push(case(
        "trace context set",
        |r| {
            r.set_trace_context(
                TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
                SpanId::from(0xb7ad6b7169203331_u64),
                Some(TraceFlags::SAMPLED),
            );
        },
        vec![],
    ));
    cases.push(case(
        "trace context all zero",
        |r| r.set_trace_context(TraceId::INVALID, SpanId::INVALID, None),
        // The peer writes zero ids; an invalid context carries none.
        vec![
            PeerOnly("PartA.ext_dt_traceId"),
            PeerOnly("PartA.ext_dt_spanId"),
        ],
    ));
    cases.push(case("no trace context", |_| {}, vec![]));
    for name in ["checkout.failed", "", "   "] {
        cases.push(case("event name", move |r| r.set_event_name(name), vec![]));
    }
    cases.push(case(
        "a record attribute with a resource attribute's key",
        |r| r.add_attribute("env", "from-record"),
        vec![LastOfRepeated("PartC.env")],
    ));
    cases.push(case(
        "a repeated key",
        |r| {
            r.add_attribute("k", 1);
            r.add_attribute("k", 2);
        },
        vec![LastOfRepeated("PartC.k")],
    ));
    cases.push(case(
        "an empty key",
        |r| r.add_attribute("", "v"),
        vec![SafeName("PartC.", "PartC._")],
    ));
    cases.push(case(
        "event_id twice",
        |r| {
            r.add_attribute("event_id", 1);
            r.add_attribute("event_id", 2);
        },
        vec![],
    ));
    cases.push(case(
        "127 attributes",
        |r| {
            for i in 0..126 {
                r.add_attribute(format!("a{i}"), i);
            }
        },
        vec![],
    ));
    cases.push(case(
        "a body just under the 8 KB limit",
        |r| r.set_body(AnyValue::String("b".repeat(7_600).into())),
        vec![],
    ));
    cases
}

/// Severity number `n` (1..=24).
fn severity(n: i32) -> Severity {
    use Severity::*;
    [
        Trace, Trace2, Trace3, Trace4, Debug, Debug2, Debug3, Debug4, Info, Info2, Info3, Info4,
        Warn, Warn2, Warn3, Warn4, Error, Error2, Error3, Error4, Fatal, Fatal2, Fatal3, Fatal4,
    ][(n - 1) as usize]
}

fn base_record(provider: &SdkLoggerProvider) -> SdkLogRecord {
    let mut r = provider.logger("compat").create_log_record();
    r.set_severity_number(Severity::Warn);
    r.set_timestamp(UNIX_EPOCH + Duration::new(1_714_979_289, 123_456_789));
    r
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "compat"),
            KeyValue::new("service.instance.id", "i-1"),
            KeyValue::new("env", "from-resource"),
        ])
        .build()
}

#[test]
fn logs_match_user_events_logs_0_18() {
    if !kernel_or_skip("logs_match_user_events_logs_0_18") {
        return;
    }
    let mut peer = opentelemetry_user_events_logs::Processor::builder("compat_peer_logs")
        .with_resource_attributes(["env"])
        .build()
        .expect("peer");
    let mut ours = otel_os_events::logs::Processor::builder("compat_ours_logs")
        .with_resource_attributes(["env"])
        .build()
        .expect("ours");
    peer.set_resource(&resource());
    ours.set_resource(&resource());
    let provider = SdkLoggerProvider::builder().build();
    let scope = InstrumentationScope::default();
    let mut checked = 0;
    for c in log_cases() {
        let mut r = base_record(&provider);
        (c.record)(&mut r);
        let level = level_of(r.severity_number().unwrap());
        let (peer_tp, ours_tp) = (
            format!("compat_peer_logs_L{level}K1"),
            format!("compat_ours_logs_L{level}K1"),
        );
        let mut session = session(&[&peer_tp, &ours_tp]);
        peer.emit(&mut r.clone(), &scope);
        ours.emit(&mut r, &scope);
        let (p, o) = read_pair(&mut session, &peer_tp, &ours_tp);
        let (p, o) = (
            p.unwrap_or_else(|| panic!("{}: no peer event", c.name)),
            o.unwrap_or_else(|| panic!("{}: no event of ours", c.name)),
        );
        assert_same(c.name, &p, &o, &c.allowed);
        checked += 1;
    }
    assert!(checked > 40, "{checked} cases");
    drop((peer, ours));
}

/// The peers' level of a severity (the same rule as ours: see `logs::level_of`).
fn level_of(s: Severity) -> u8 {
    otel_os_events::logs::level_of(s).as_int()
}

/// Beyond what the peer can write: 128 and 130 attributes (its struct count is 7 bits), a
/// NUL in a key (the peer copies it into the metadata, where a NUL ends the name, so the
/// rest of its event does not decode), and a body over the kernel's limit (the kernel drops
/// the peer's event; ours is cut to fit).
#[test]
fn where_the_peer_cannot_ours_still_writes_a_whole_event() {
    if !kernel_or_skip("where_the_peer_cannot_ours_still_writes_a_whole_event") {
        return;
    }
    let ours = otel_os_events::logs::Processor::builder("compat_ours_limits")
        .build()
        .expect("ours");
    let provider = SdkLoggerProvider::builder().build();
    let scope = InstrumentationScope::default();
    let tp = "compat_ours_limits_L3K1";
    let mut session = session(&[tp]);
    for n in [128usize, 130] {
        let mut r = base_record(&provider);
        for i in 0..n {
            r.add_attribute(format!("a{i}"), i as i64);
        }
        ours.emit(&mut r, &scope);
        let events = read_raw(&mut session, 1, WAIT);
        let e = flatten(tp, &events[0].raw);
        let count = |prefix: &str| {
            e.fields
                .iter()
                .filter(|f| {
                    f.path.starts_with(prefix) && !f.path.ends_with('{') && !f.path.ends_with('}')
                })
                .count()
        };
        assert_eq!(count("PartC.a"), 127, "{n}");
        assert_eq!(count("PartC_2.a"), n - 127, "{n}");
    }
    let mut r = base_record(&provider);
    r.add_attribute("k\0x", 1);
    ours.emit(&mut r, &scope);
    let events = read_raw(&mut session, 1, WAIT);
    let e = flatten(tp, &events[0].raw);
    assert!(
        e.fields.iter().any(|f| f.path == "PartC.k_x"),
        "{:?}",
        e.fields
    );
    let mut r = base_record(&provider);
    r.set_body(AnyValue::String("b".repeat(9_000).into()));
    ours.emit(&mut r, &scope);
    let events = read_raw(&mut session, 1, WAIT);
    assert_eq!(events.len(), 1, "the oversize record arrives, cut");
    let e = flatten(tp, &events[0].raw);
    assert!(e.fields.iter().any(|f| f.path == "_truncated"));
}

// ---- spans --------------------------------------------------------------------------

fn context(trace: u128, span: u64) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    )
}

fn span(kind: SpanKind, attributes: Vec<KeyValue>, status: Status) -> SpanData {
    SpanData {
        span_context: context(0xabc, 0x22),
        parent_span_id: SpanId::from(0x11),
        parent_span_is_remote: false,
        span_kind: kind,
        name: "operation".into(),
        start_time: UNIX_EPOCH + Duration::new(1_000, 5_000_000),
        end_time: SystemTime::UNIX_EPOCH + Duration::new(1_002, 123_456_789),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status,
        instrumentation_scope: InstrumentationScope::default(),
    }
}

fn span_cases() -> Vec<(&'static str, SpanData, Vec<Allowed>)> {
    use Allowed::*;
    fn kv(key: &'static str, value: impl Into<Value>) -> KeyValue {
        KeyValue::new(key, value)
    }
    let mut cases = Vec::new();
    for kind in [
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ] {
        cases.push(("every kind", span(kind, vec![], Status::Ok), vec![]));
    }
    cases.push((
        "http, with a status code: no status message",
        span(
            SpanKind::Server,
            vec![
                kv("http.request.method", "GET"),
                kv("url.full", "https://shop/x"),
                kv("http.response.status_code", 503i64),
                kv("user", "alice"),
            ],
            Status::error("upstream timed out"),
        ),
        vec![],
    ));
    cases.push((
        "an error without a status code",
        span(
            SpanKind::Internal,
            vec![kv("user", "bob")],
            Status::error("boom"),
        ),
        vec![],
    ));
    cases.push((
        "rpc",
        span(
            SpanKind::Client,
            vec![
                kv("rpc.system.name", "grpc"),
                kv("rpc.response.status_code", "OK"),
                kv("rpc.method", "Get"),
            ],
            Status::Unset,
        ),
        vec![],
    ));
    cases.push((
        "db, old and new names",
        span(
            SpanKind::Client,
            vec![
                kv("db.system", "mysql"),
                kv("db.system.name", "postgresql"),
                kv("db.name", "orders"),
                kv("db.namespace", "orders2"),
                kv("db.statement", "SELECT 1"),
                kv("db.query.text", "SELECT 2"),
            ],
            Status::Ok,
        ),
        vec![],
    ));
    cases.push((
        "messaging",
        span(
            SpanKind::Producer,
            vec![
                kv("messaging.system", "kafka"),
                kv("messaging.destination", "old-q"),
                kv("messaging.destination.name", "q"),
                kv("messaging.url", "kafka://b"),
            ],
            Status::Ok,
        ),
        vec![],
    ));
    cases.push((
        "an array attribute",
        span(
            SpanKind::Internal,
            vec![kv("retries", Value::Array(vec![1i64, 2].into()))],
            Status::Ok,
        ),
        vec![NativeValue("PartC.retries")],
    ));
    let mut with_events_and_links = span(SpanKind::Server, vec![kv("user", "carol")], Status::Ok);
    with_events_and_links.events.events.push(Event::new(
        "retry",
        UNIX_EPOCH + Duration::from_secs(1_001),
        vec![kv("attempt", 2i64)],
        0,
    ));
    with_events_and_links.links.links.push(Link::new(
        context(0xdef, 0x33),
        vec![kv("kind", "follows")],
        0,
    ));
    with_events_and_links
        .links
        .links
        .push(Link::new(context(0xfed, 0x44), vec![], 0));
    cases.push((
        "events and links",
        with_events_and_links,
        vec![OursOnly("PartB.events"), OursOnly("PartB.linkAttributes")],
    ));
    cases
}

#[test]
fn spans_match_user_events_trace_0_6() {
    if !kernel_or_skip("spans_match_user_events_trace_0_6") {
        return;
    }
    let mut peer = opentelemetry_user_events_trace::Processor::builder("compat_peer_spans")
        .build()
        .expect("peer");
    let mut ours = otel_os_events::traces::Processor::builder("compat_ours_spans")
        .build()
        .expect("ours");
    peer.set_resource(&resource());
    ours.set_resource(&resource());
    let (peer_tp, ours_tp) = ("compat_peer_spans_L4K1", "compat_ours_spans_L4K1");
    let mut checked = 0;
    for (name, span, allowed) in span_cases() {
        let mut session = session(&[peer_tp, ours_tp]);
        peer.on_end(span.clone());
        ours.on_end(span);
        let (p, o) = read_pair(&mut session, peer_tp, ours_tp);
        let (p, o) = (
            p.unwrap_or_else(|| panic!("{name}: no peer event")),
            o.unwrap_or_else(|| panic!("{name}: no event of ours")),
        );
        assert_same(name, &p, &o, &allowed);
        checked += 1;
    }
    assert!(checked >= 11, "{checked} cases");
}
