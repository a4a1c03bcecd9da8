//! `PerfEvent::to_json` on events built by hand from the EventHeader spec (no kernel needed).
// Linux only: the perf reader's event type (`listen`, feature `cli`) exists nowhere else.
#![cfg(target_os = "linux")]

#[path = "listen_common/mod.rs"]
mod common;

use std::sync::Arc;

use common::EventBuilder;
use otel_os_events::listen::PerfEvent;
use tracepoint_decode::PerfEventFormat;

fn event(tracepoint: &str, raw: Vec<u8>) -> PerfEvent {
    PerfEvent {
        tracepoint: tracepoint.to_string(),
        time_ns: 1_700_000_000_123_456_789,
        pid: 42,
        tid: 43,
        cpu: 1,
        raw,
        format: None,
    }
}

#[test]
fn the_brief_event_bytes_are_what_the_builder_makes() {
    // flags 7, version 0, id 0, tag 0, opcode 0, level 4; block {size 7, kind 1};
    // "Ev\0" "n\0" 0x84 0x01; data u32 5.
    let mut expected = vec![7u8, 0, 0, 0, 0, 0, 0, 4, 7, 0, 1, 0];
    expected.extend_from_slice(b"Ev\0n\0\x84\x01");
    expected.extend_from_slice(&5u32.to_le_bytes());
    if cfg!(all(target_pointer_width = "64", target_endian = "little")) {
        assert_eq!(EventBuilder::new("Ev", 4).u32("n", 5).build(), expected);
    }
}

#[test]
fn eventheader_event_to_json() {
    let raw = EventBuilder::new("Ev", 4).u32("n", 5).build();
    assert_eq!(
        event("Prov_L4K1", raw).to_json(),
        r#"{"tracepoint":"Prov_L4K1","time_ns":1700000000123456789,"pid":42,"tid":43,"cpu":1,"provider":"Prov","event":"Ev","level":4,"keyword":"0x1","fields":{"n":5}}"#
    );
}

#[test]
fn trailing_zero_padding_is_ignored_by_the_decoder() {
    let mut raw = EventBuilder::new("Ev", 4).u32("n", 5).build();
    let plain = event("Prov_L4K1", raw.clone()).to_json();
    raw.extend_from_slice(&[0; 7]);
    assert_eq!(event("Prov_L4K1", raw).to_json(), plain);
}

#[test]
fn nested_structs_are_objects_and_strings_are_escaped() {
    let raw = EventBuilder::new("Log", 2)
        .id(7)
        .u32("__csver__", 0x400)
        .struct_begin("PartA", 2)
        .str("time", "2026-01-01T00:00:00Z")
        .struct_begin("inner", 1)
        .i32("x", -3)
        .str("body", "say \"hi\"\n")
        .build();
    assert_eq!(
        event("My_Prov_L2Kff", raw).to_json(),
        concat!(
            r#"{"tracepoint":"My_Prov_L2Kff","time_ns":1700000000123456789,"pid":42,"tid":43,"cpu":1,"#,
            r#""provider":"My_Prov","event":"Log","id":7,"level":2,"keyword":"0xFF","#,
            r#""fields":{"__csver__":1024,"PartA":{"time":"2026-01-01T00:00:00Z","inner":{"x":-3}},"body":"say \"hi\"\n"}}"#
        )
    );
}

#[test]
fn undecodable_event_reports_error_and_hex() {
    let json = event("Prov_L4K1", vec![7, 0, 0]).to_json();
    assert_eq!(
        json,
        r#"{"tracepoint":"Prov_L4K1","time_ns":1700000000123456789,"pid":42,"tid":43,"cpu":1,"decode_error":"InvalidParameter","raw_hex":"070000"}"#
    );
    // Metadata that runs past its block: the enumerator errors part-way.
    let mut raw = EventBuilder::new("Ev", 4).u32("n", 5).build();
    raw.truncate(raw.len() - 2); // data cut short
    let json = event("Prov_L4K1", raw).to_json();
    assert!(json.contains(r#""decode_error":"#), "{json}");
}

const PLAIN_FORMAT: &str = "name: plain_ev
ID: 1234
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:u32 count;\toffset:8;\tsize:4;\tsigned:0;
\tfield:s32 delta;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char msg[8];\toffset:16;\tsize:8;\tsigned:0;

print fmt: \"count=%u\", REC->count
";

#[test]
fn format_event_to_json() {
    let format = PerfEventFormat::parse(true, "user_events", PLAIN_FORMAT).unwrap();
    assert_eq!(format.common_fields_size(), 8);
    let mut raw = Vec::new();
    raw.extend_from_slice(&9u32.to_ne_bytes());
    raw.extend_from_slice(&(-2i32).to_ne_bytes());
    raw.extend_from_slice(b"hi\0\0\0\0\0\0");
    let mut e = event("plain_ev", raw);
    e.format = Some(Arc::new(format));
    assert_eq!(
        e.to_json(),
        r#"{"tracepoint":"plain_ev","time_ns":1700000000123456789,"pid":42,"tid":43,"cpu":1,"fields":{"count":9,"delta":-2,"msg":"hi"}}"#
    );
}

#[test]
fn eventheader_format_is_detected_from_the_format_file() {
    let text = PLAIN_FORMAT
        .replace("name: plain_ev", "name: Prov_L4K1")
        .replace(
            "\tfield:u32 count;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:s32 delta;\toffset:12;\tsize:4;\tsigned:1;\n\tfield:char msg[8];\toffset:16;\tsize:8;\tsigned:0;",
            "\tfield:u8 eventheader_flags;\toffset:8;\tsize:1;\tsigned:0;",
        );
    let format = PerfEventFormat::parse(true, "user_events", &text).unwrap();
    let mut e = event("Prov_L4K1", EventBuilder::new("Ev", 4).u32("n", 5).build());
    e.format = Some(Arc::new(format));
    assert!(
        e.to_json().ends_with(r#""fields":{"n":5}}"#),
        "{}",
        e.to_json()
    );
}

#[test]
fn format_event_shorter_than_its_fields_still_gives_valid_json() {
    let format = PerfEventFormat::parse(true, "user_events", PLAIN_FORMAT).unwrap();
    let mut e = event("plain_ev", 3u32.to_ne_bytes().to_vec());
    e.format = Some(Arc::new(format));
    assert!(
        e.to_json()
            .ends_with(r#""fields":{"count":3,"delta":null,"msg":null}}"#),
        "{}",
        e.to_json()
    );
}

/// The `otlp_metrics` format as the kernel prints it for the metrics exporter's field list.
const METRICS_FORMAT: &str = "name: otlp_metrics
ID: 1235
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:u32 protocol;\toffset:8;\tsize:4;\tsigned:0;
\tfield:char version[8];\toffset:12;\tsize:8;\tsigned:0;
\tfield:__rel_loc u8 buffer[];\toffset:20;\tsize:4;\tsigned:0;

print fmt: \"\"
";

/// A payload as the metrics exporter writes it: protocol, version, `__rel_loc`, buffer.
fn metrics_payload(protocol: u32, buffer: &[u8]) -> Vec<u8> {
    let mut p = protocol.to_ne_bytes().to_vec();
    p.extend_from_slice(b"v0.19.00");
    p.extend_from_slice(&((buffer.len() as u32) << 16).to_ne_bytes());
    p.extend_from_slice(buffer);
    p
}

fn metrics_event(raw: Vec<u8>) -> PerfEvent {
    let mut e = event("otlp_metrics", raw);
    e.format = Some(Arc::new(
        PerfEventFormat::parse(true, "user_events", METRICS_FORMAT).unwrap(),
    ));
    e
}

/// One counter `requests{route="/a"} = 7` on resource `service.name=shop`, scope `app`.
fn one_counter() -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::KeyValue;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope};
    use opentelemetry_proto::tonic::metrics::v1::{
        metric::Data, number_data_point, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
        Sum,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "shop")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "app".into(),
                    ..Default::default()
                }),
                metrics: vec![Metric {
                    name: "requests".into(),
                    data: Some(Data::Sum(Sum {
                        data_points: vec![NumberDataPoint {
                            attributes: vec![kv("route", "/a")],
                            time_unix_nano: 1_700_000_000_000_000_000,
                            value: Some(number_data_point::Value::AsInt(7)),
                            ..Default::default()
                        }],
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn otlp_metrics_events_are_decoded_to_otlp_json() {
    let buffer = one_counter();
    let mut raw = metrics_payload(0, &buffer);
    raw.extend_from_slice(&[0; 4]); // the kernel's alignment padding
    let json = metrics_event(raw).to_json();
    println!("{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The envelope of every line, then the format's fields as before, then the request.
    assert!(
        json.starts_with(
            r#"{"tracepoint":"otlp_metrics","time_ns":1700000000123456789,"pid":42,"tid":43,"cpu":1,"#
        ),
        "{json}"
    );
    assert_eq!(
        v["fields"],
        serde_json::json!({"protocol": 0, "version": "v0.19.00", "buffer": {"length": buffer.len()}})
    );
    let rm = &v["otlp"]["resourceMetrics"][0];
    assert_eq!(rm["resource"]["attributes"][0]["key"], "service.name");
    assert_eq!(rm["scopeMetrics"][0]["scope"]["name"], "app");
    let m = &rm["scopeMetrics"][0]["metrics"][0];
    assert_eq!(m["name"], "requests");
    let p = &m["sum"]["dataPoints"][0];
    assert_eq!(p["asInt"], "7");
    assert_eq!(p["timeUnixNano"], "1700000000000000000");
    assert_eq!(
        p["attributes"],
        serde_json::json!([{"key": "route", "value": {"stringValue": "/a"}}])
    );
    assert!(v.get("decode_error").is_none());

    // Read without a format (not from a session), the name alone decides: the same request,
    // and no fields (nothing says where they are).
    let bare: serde_json::Value =
        serde_json::from_str(&event("otlp_metrics", metrics_payload(0, &buffer)).to_json())
            .unwrap();
    assert_eq!(bare["otlp"], v["otlp"]);
    assert!(bare.get("fields").is_none(), "{bare}");
}

#[test]
fn otlp_metrics_that_do_not_decode_get_decode_error_and_raw_hex() {
    let buffer = one_counter();
    for (raw, error) in [
        (
            metrics_payload(3, &buffer),
            "protocol 3 is not OTLP protobuf",
        ),
        (
            metrics_payload(0, &[0xff, 0xff, 0xff]),
            "not an ExportMetricsServiceRequest",
        ),
        (metrics_payload(0, &buffer)[..20].to_vec(), "truncated"),
        (vec![0, 0, 0], "truncated"),
    ] {
        let json = metrics_event(raw.clone()).to_json();
        let v: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
        assert!(
            v["decode_error"].as_str().unwrap().contains(error),
            "{error}: {json}"
        );
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(v["raw_hex"], hex.as_str());
        assert!(v.get("otlp").is_none(), "{json}");
    }
}

#[test]
fn an_otlp_metrics_tracepoint_of_another_system_is_not_decoded_as_metrics() {
    let mut e = event("otlp_metrics", metrics_payload(0, &one_counter()));
    e.format = Some(Arc::new(
        PerfEventFormat::parse(true, "other", METRICS_FORMAT).unwrap(),
    ));
    let json = e.to_json();
    assert!(!json.contains("\"otlp\""), "{json}");
    assert!(json.contains(r#""fields":{"protocol":0"#), "{json}");
}

#[test]
fn metadata_the_decoder_would_assert_on_is_an_error_not_a_panic() {
    // Field "a" with encoding 0x67 (value8 with both array flags): reserved.
    let mut raw = vec![common::header_flags(), 0, 0, 0, 0, 0, 0, 4];
    let meta = b"Ev\0a\0\x67";
    raw.extend_from_slice(&(meta.len() as u16).to_ne_bytes());
    raw.extend_from_slice(&1u16.to_ne_bytes());
    raw.extend_from_slice(meta);
    raw.extend_from_slice(&[0; 11]);
    let json = event("Prov_L4K1", raw).to_json();
    assert!(json.contains(r#""decode_error":"NotSupported"#), "{json}");

    // A struct with 0 fields (format byte 0) and one without a format byte at all.
    for meta in [&b"Ev\0s\0\x81\x00"[..], b"Ev\0s\0\x01"] {
        let mut raw = vec![common::header_flags(), 0, 0, 0, 0, 0, 0, 4];
        raw.extend_from_slice(&(meta.len() as u16).to_ne_bytes());
        raw.extend_from_slice(&1u16.to_ne_bytes());
        raw.extend_from_slice(meta);
        let json = event("Prov_L4K1", raw).to_json();
        assert!(json.contains(r#""decode_error":"InvalidData"#), "{json}");
    }
}

proptest::proptest! {
    /// Any bytes as an `otlp_metrics` payload: one JSON object, decoded or with an error.
    #[test]
    fn arbitrary_metrics_payloads_give_one_json_object(
        header in proptest::collection::vec(proptest::num::u8::ANY, 0..16),
        buffer in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        zero_protocol in proptest::bool::ANY,
    ) {
        let mut raw = header;
        if zero_protocol && raw.len() >= 4 {
            raw[..4].fill(0);
        }
        raw.extend_from_slice(&buffer);
        let json = metrics_event(raw).to_json();
        let v: Result<serde_json::Value, _> = serde_json::from_str(&json);
        proptest::prop_assert!(v.is_ok(), "{}", json);
        let v = v.unwrap();
        proptest::prop_assert!(v["otlp"].is_object() != v["decode_error"].is_string(), "{}", json);
    }

    /// Field definitions with random encoding, format, tag/count bytes (structs, arrays,
    /// strings, nesting...) over random data.
    #[test]
    fn arbitrary_field_definitions_never_panic(
        fields in proptest::collection::vec(proptest::array::uniform4(proptest::num::u8::ANY), 0..8),
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        big_endian in proptest::bool::ANY,
    ) {
        let mut meta = b"E\0".to_vec();
        for f in &fields {
            meta.extend_from_slice(b"f\0");
            meta.extend_from_slice(f);
        }
        // Either byte order: flag 2 (little endian) set or not, sizes written to match.
        let flags = if big_endian { 5 } else { 7 };
        let u16_bytes = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut raw = vec![flags, 0, 0, 0, 0, 0, 0, 4];
        raw.extend_from_slice(&u16_bytes(meta.len() as u16));
        raw.extend_from_slice(&u16_bytes(1));
        raw.extend_from_slice(&meta);
        raw.extend_from_slice(&data);
        let json = event("Prov_L4K1", raw).to_json();
        proptest::prop_assert!(json.starts_with('{') && json.ends_with('}'), "{}", json);
    }

    /// Random metadata and data behind a valid header and metadata block header.
    #[test]
    fn arbitrary_metadata_never_panics(
        meta in proptest::collection::vec(proptest::num::u8::ANY, 0..48),
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..48),
    ) {
        let mut raw = vec![common::header_flags(), 0, 0, 0, 0, 0, 0, 4];
        raw.extend_from_slice(&(meta.len() as u16).to_ne_bytes());
        raw.extend_from_slice(&1u16.to_ne_bytes());
        raw.extend_from_slice(&meta);
        raw.extend_from_slice(&data);
        let json = event("Prov_L4K1", raw).to_json();
        proptest::prop_assert!(json.starts_with('{') && json.ends_with('}'), "{}", json);
    }

    /// Any process may write to a tracepoint: no byte string may make the decoder panic.
    #[test]
    fn arbitrary_payloads_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..96), cut in 0usize..40) {
        let mut raw = EventBuilder::new("Ev", 4).struct_begin("s", 2).u32("a", 1).str("b", "xy").build();
        raw.truncate(raw.len().saturating_sub(cut));
        raw.extend_from_slice(&tail);
        let json = event("Prov_L4K1", raw.clone()).to_json();
        proptest::prop_assert!(json.starts_with('{') && json.ends_with('}'), "{}", json);
        // Garbage from byte 0 as well.
        let json = event("Prov_L4K1", tail).to_json();
        proptest::prop_assert!(json.starts_with('{') && json.ends_with('}'), "{}", json);
    }
}
