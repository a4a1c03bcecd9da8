//! The Common Schema log layout and every value kind, proven by decoding our bytes with
//! Microsoft's `tracepoint_decode` and asserting typed values field by field.

mod common;

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use common::*;
use opentelemetry::logs::{AnyValue, LogRecord as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::Resource;
use otel_os_events::logs::{EventName, Processor};
use otel_os_events::sink::{CaptureSink, Sink};

fn map(entries: Vec<(&'static str, AnyValue)>) -> AnyValue {
    AnyValue::Map(Box::new(
        entries
            .into_iter()
            .map(|(k, v)| (Key::from(k), v))
            .collect::<HashMap<_, _>>(),
    ))
}

fn list(items: Vec<AnyValue>) -> AnyValue {
    AnyValue::ListAny(Box::new(items))
}

#[test]
fn full_record_has_every_common_schema_field() {
    let capture = CaptureSink::new();
    let processor = Processor::builder("myprov")
        .with_resource_attributes(["deployment.environment"])
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    let provider = SdkLoggerProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_attributes([
                    KeyValue::new("service.name", "checkout"),
                    KeyValue::new("service.instance.id", "pod-7"),
                    KeyValue::new("deployment.environment", "prod"),
                    KeyValue::new("not.copied", "x"),
                ])
                .build(),
        )
        .with_log_processor(processor)
        .build();

    let mut r = record(
        &provider,
        Some(Severity::Warn),
        Some(AnyValue::String("disk almost full".into())),
        vec![
            ("user", AnyValue::String("alice".into())),
            ("event_id", AnyValue::Int(42)),
        ],
    );
    r.set_timestamp(UNIX_EPOCH + Duration::new(1_714_979_289, 123_456_789));
    r.set_severity_text("WARN");
    r.set_event_name("disk.warning");
    let trace_id = TraceId::from_hex("0102030405060708090a0b0c0d0e0f10").unwrap();
    let span_id = SpanId::from_hex("a1a2a3a4a5a6a7a8").unwrap();
    r.set_trace_context(trace_id, span_id, Some(TraceFlags::SAMPLED));
    emit(&provider, r);

    let events = decoded(&capture);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.tracepoint, "myprov_L3K1");
    assert_eq!((e.level, e.keyword, e.name.as_str()), (3, 1, "Log"));
    assert_eq!(e.names(), ["__csver__", "PartA", "PartC", "PartB"]);
    assert_eq!(e.at("__csver__"), &Val::U64(0x400));
    // What the `SystemTime` holds: every nanosecond on Linux, 100 ns steps on Windows.
    let nanos = platform::kept_nanos(123_456_789);
    assert_eq!(
        e.at("PartA.time").str(),
        format!("2024-05-06T07:08:09.{nanos:09}Z")
    );
    assert_eq!(
        e.at("PartA.ext_dt_traceId").str(),
        "0102030405060708090a0b0c0d0e0f10"
    );
    assert_eq!(e.at("PartA.ext_dt_spanId").str(), "a1a2a3a4a5a6a7a8");
    assert_eq!(e.at("PartA.ext_cloud_role").str(), "checkout");
    assert_eq!(e.at("PartA.ext_cloud_roleInstance").str(), "pod-7");
    // PartC: the chosen resource attributes, then the attributes minus event_id.
    let part_c: Vec<&str> = e
        .at("PartC")
        .fields()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(part_c, ["deployment.environment", "user"]);
    assert_eq!(e.at("PartC.user").str(), "alice");
    assert_eq!(e.at("PartC.deployment.environment").str(), "prod");
    assert_eq!(e.at("PartB._typeName").str(), "Log");
    assert_eq!(e.at("PartB.body").str(), "disk almost full");
    assert_eq!(
        e.at("PartB.severityNumber"),
        &Val::I64(Severity::Warn as i64)
    );
    assert_eq!(e.at("PartB.severityText").str(), "WARN");
    assert_eq!(e.at("PartB.eventId"), &Val::I64(42));
    assert_eq!(e.at("PartB.name").str(), "disk.warning");
    assert!(e.get("_truncated").is_none());
}

#[test]
fn minimal_record_has_only_required_fields() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let mut r = provider_record(&provider);
    r.set_severity_number(Severity::Info);
    emit(&provider, r);
    let e = &decoded(&capture)[0];
    assert_eq!(e.names(), ["__csver__", "PartA", "PartB"]);
    // The SDK's default resource names the service `unknown_service:<executable>`.
    let part_a: Vec<&str> = e
        .at("PartA")
        .fields()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(part_a, ["time", "ext_cloud_role"]);
    assert!(e
        .at("PartA.ext_cloud_role")
        .str()
        .starts_with("unknown_service"));
    let part_b: Vec<&str> = e
        .at("PartB")
        .fields()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(part_b, ["_typeName", "severityNumber"]);
}

fn provider_record(provider: &SdkLoggerProvider) -> opentelemetry_sdk::logs::SdkLogRecord {
    use opentelemetry::logs::{Logger as _, LoggerProvider as _};
    provider.logger("t").create_log_record()
}

#[test]
fn time_falls_back_to_observed_timestamp() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let mut r = provider_record(&provider);
    r.set_severity_number(Severity::Info);
    r.set_observed_timestamp(UNIX_EPOCH + Duration::from_secs(86_400));
    emit(&provider, r);
    assert_eq!(
        decoded(&capture)[0].at("PartA.time").str(),
        "1970-01-02T00:00:00Z"
    );
}

#[test]
fn every_value_kind_is_written_as_its_type() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let attrs = vec![
        ("int", AnyValue::Int(-5)),
        ("double", AnyValue::Double(2.5)),
        ("nan", AnyValue::Double(f64::NAN)),
        ("inf", AnyValue::Double(f64::INFINITY)),
        ("bool", AnyValue::Boolean(true)),
        ("text", AnyValue::String("a\0b ünïcode".into())),
        ("bytes", AnyValue::Bytes(Box::new(vec![0, 1, 0xfe, 0xff]))),
        (
            "ints",
            list(vec![
                AnyValue::Int(1),
                AnyValue::Int(-2),
                AnyValue::Int(i64::MAX),
            ]),
        ),
        (
            "doubles",
            list(vec![AnyValue::Double(0.5), AnyValue::Double(-1e300)]),
        ),
        (
            "bools",
            list(vec![AnyValue::Boolean(false), AnyValue::Boolean(true)]),
        ),
        (
            "strings",
            list(vec![
                AnyValue::String("x".into()),
                AnyValue::String("".into()),
            ]),
        ),
        (
            "mixed",
            list(vec![AnyValue::Int(1), AnyValue::String("two".into())]),
        ),
        ("nested_list", list(vec![list(vec![AnyValue::Int(1)])])),
        ("empty_list", list(vec![])),
        ("map", map(vec![("k", AnyValue::Int(7))])),
        ("empty_map", map(vec![])),
        (
            "map_in_map",
            map(vec![("inner", map(vec![("b", AnyValue::Boolean(false))]))]),
        ),
    ];
    emit(
        &provider,
        record(&provider, Some(Severity::Info), None, attrs),
    );
    let e = &decoded(&capture)[0];
    let c = |k: &str| e.at(&format!("PartC.{k}")).clone();
    assert_eq!(c("int"), Val::I64(-5));
    assert_eq!(c("double"), Val::F64(2.5));
    assert!(matches!(c("nan"), Val::F64(f) if f.is_nan()));
    assert_eq!(c("inf"), Val::F64(f64::INFINITY));
    assert_eq!(c("bool"), Val::Bool(true));
    assert_eq!(c("text"), Val::Str("a\0b ünïcode".into()));
    assert_eq!(c("bytes"), Val::Bin(vec![0, 1, 0xfe, 0xff]));
    assert_eq!(
        c("ints"),
        Val::Array(vec![Val::I64(1), Val::I64(-2), Val::I64(i64::MAX)])
    );
    assert_eq!(
        c("doubles"),
        Val::Array(vec![Val::F64(0.5), Val::F64(-1e300)])
    );
    assert_eq!(
        c("bools"),
        Val::Array(vec![Val::Bool(false), Val::Bool(true)])
    );
    assert_eq!(
        c("strings"),
        Val::Array(vec![Val::Str("x".into()), Val::Str("".into())])
    );
    assert_eq!(c("mixed"), Val::Json(r#"[1,"two"]"#.into()));
    assert_eq!(c("nested_list"), Val::Json("[[1]]".into()));
    assert_eq!(c("empty_list"), Val::Json("[]".into()));
    assert_eq!(c("map"), Val::Struct(vec![("k".into(), Val::I64(7))]));
    assert_eq!(c("empty_map"), Val::Json("{}".into()));
    assert_eq!(
        c("map_in_map"),
        Val::Struct(vec![(
            "inner".into(),
            Val::Struct(vec![("b".into(), Val::Bool(false))])
        )])
    );
}

#[test]
fn body_of_any_kind() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    for body in [
        AnyValue::Int(3),
        AnyValue::Bytes(Box::new(vec![9])),
        map(vec![("a", AnyValue::String("b".into()))]),
        list(vec![AnyValue::Double(1.0)]),
    ] {
        emit(
            &provider,
            record(&provider, Some(Severity::Info), Some(body), vec![]),
        );
    }
    let bodies: Vec<Val> = decoded(&capture)
        .iter()
        .map(|e| e.at("PartB.body").clone())
        .collect();
    assert_eq!(
        bodies,
        [
            Val::I64(3),
            Val::Bin(vec![9]),
            Val::Struct(vec![("a".into(), Val::Str("b".into()))]),
            Val::Array(vec![Val::F64(1.0)]),
        ]
    );
}

#[test]
fn maps_nest_as_structs_to_the_decoders_limit_then_become_json() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let mut value = AnyValue::Int(1);
    for _ in 0..12 {
        value = map(vec![("m", value)]);
    }
    emit(
        &provider,
        record(&provider, Some(Severity::Info), None, vec![("deep", value)]),
    );
    let e = &decoded(&capture)[0];
    // PartC is depth 1, so 7 nested structs fit; the 8th level down is JSON.
    let mut path = String::from("PartC.deep");
    for _ in 0..6 {
        path.push_str(".m");
        assert!(matches!(e.at(&path), Val::Struct(_)), "{path}");
    }
    path.push_str(".m");
    assert_eq!(
        e.at(&path),
        &Val::Json(r#"{"m":{"m":{"m":{"m":{"m":1}}}}}"#.into())
    );
}

#[test]
fn levels_and_keyword_pick_the_tracepoint() {
    let (provider, capture) = capture_pipeline(Processor::builder("lv").with_keyword(0x2a));
    let cases = [
        (Severity::Fatal, "lv_L1K2a", 1),
        (Severity::Error3, "lv_L2K2a", 2),
        (Severity::Warn, "lv_L3K2a", 3),
        (Severity::Info4, "lv_L4K2a", 4),
        (Severity::Debug, "lv_L5K2a", 5),
        (Severity::Trace, "lv_L5K2a", 5),
    ];
    for (severity, _, _) in cases {
        emit(&provider, record(&provider, Some(severity), None, vec![]));
    }
    let events = decoded(&capture);
    assert_eq!(events.len(), cases.len());
    for (e, (severity, tracepoint, level)) in events.iter().zip(cases) {
        assert_eq!(e.tracepoint, tracepoint);
        assert_eq!((e.level, e.keyword), (level, 0x2a));
        assert_eq!(e.at("PartB.severityNumber"), &Val::I64(severity as i64));
    }
    assert_eq!(
        capture.registered(),
        ["lv_L1K2a", "lv_L2K2a", "lv_L3K2a", "lv_L4K2a", "lv_L5K2a"]
    );
}

#[test]
fn event_name_options() {
    let names = |builder| {
        let (provider, capture) = capture_pipeline(builder);
        for name in [Some("login"), None, Some(""), Some("bad;name\0x")] {
            let mut r = record(
                &provider,
                Some(Severity::Info),
                None,
                vec![("n", AnyValue::Int(1))],
            );
            if let Some(name) = name {
                r.set_event_name(name);
            }
            emit(&provider, r);
        }
        decoded(&capture)
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(Processor::builder("p")), ["Log"; 4]);
    assert_eq!(
        names(Processor::builder("p").with_event_name(EventName::Fixed("Audit".into()))),
        ["Audit"; 4]
    );
    assert_eq!(
        names(Processor::builder("p").with_event_name(EventName::FromRecord)),
        ["login", "Log", "Log", "bad_name_x"]
    );
    let callback = EventName::from_fn(|r| match r.event_name() {
        Some(n) => format!("cb.{n}").into(),
        None => "".into(),
    });
    assert_eq!(
        names(Processor::builder("p").with_event_name(callback)),
        ["cb.login", "Log", "cb.", "cb.bad_name_x"]
    );
}

#[test]
fn record_without_severity_is_dropped_and_counted() {
    let (processor, capture) = capture_processor(Processor::builder("p"));
    let provider = SdkLoggerProvider::builder().build();
    let mut r = record(&provider, None, Some(AnyValue::String("x".into())), vec![]);
    use opentelemetry_sdk::logs::LogProcessor as _;
    processor.emit(&mut r, &opentelemetry::InstrumentationScope::default());
    assert!(capture.events().is_empty());
    let stats = processor.stats();
    assert_eq!(stats.dropped(otel_os_events::DropReason::NoSeverity), 1);
    assert_eq!(stats.written, 0);
}

/// The cases where user-events-logs 0.18 decides, and we follow it: the resource attributes
/// come first in PartC, the last of several Int `event_id`s is the event id, and a blank
/// event name leaves `PartB.name` out. Where the peer writes a key twice (in the resource
/// and the record), we write one field, with the value a decoder that keeps the last of
/// the peer's gets: the record's.
#[test]
fn the_peers_rules_for_collisions_repeats_and_blank_names() {
    let capture = CaptureSink::new();
    let processor = Processor::builder("peerrules")
        .with_resource_attributes(["env"])
        .with_event_name(EventName::FromRecord)
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    let provider = SdkLoggerProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_attributes([KeyValue::new("env", "from-resource")])
                .build(),
        )
        .with_log_processor(processor)
        .build();
    for name in ["", "   ", "named"] {
        let mut r = record(
            &provider,
            Some(Severity::Info),
            None,
            vec![
                ("event_id", AnyValue::Int(1)),
                ("env", AnyValue::String("from-record".into())),
                ("event_id", AnyValue::Int(2)),
            ],
        );
        r.set_event_name(name);
        emit(&provider, r);
    }
    let events = decoded(&capture);
    assert_eq!(events.len(), 3);
    for (e, name) in events.iter().zip(["", "   ", "named"]) {
        let part_c: Vec<(&str, &str)> = e
            .at("PartC")
            .fields()
            .iter()
            .map(|(n, v)| (n.as_str(), v.str()))
            .collect();
        assert_eq!(part_c, [("env", "from-record")]);
        assert_eq!(e.at("PartB.eventId"), &Val::I64(2), "the last event_id");
        if name.trim().is_empty() {
            assert!(
                e.get("PartB.name").is_none(),
                "blank name {name:?} left out"
            );
        } else {
            assert_eq!(e.at("PartB.name").str(), name);
        }
    }
}
