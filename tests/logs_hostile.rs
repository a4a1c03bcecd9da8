//! Hostile records and oversize events: no panic, nothing over the size limit is written,
//! every written event decodes cleanly, and every drop is counted.

mod common;

use std::collections::HashMap;

use common::*;
use opentelemetry::logs::{AnyValue, LogRecord as _, Severity};
use opentelemetry::Key;
use opentelemetry_sdk::logs::LogProcessor as _;
use otel_os_events::logs::{OversizePolicy, Processor, DEFAULT_MAX_EVENT_SIZE};
use otel_os_events::DropReason;
use proptest::prelude::*;

fn keyed(n: usize, value: impl Fn(usize) -> AnyValue) -> Vec<(&'static str, AnyValue)> {
    // Keys must be 'static for the test helper; leak a few thousand small strings once.
    (0..n)
        .map(|i| (&*Box::leak(format!("attr{i}").into_boxed_str()), value(i)))
        .collect()
}

fn assert_fits(capture: &otel_os_events::sink::CaptureSink, max: usize) -> Vec<Decoded> {
    let events = capture.events();
    for e in &events {
        assert!(
            e.payload.len() <= max,
            "{} bytes written, limit {max}",
            e.payload.len()
        );
    }
    events
        .iter()
        .map(|e| decode(&e.tracepoint, &e.payload))
        .collect()
}

#[test]
fn huge_body_is_truncated_to_fit_with_a_marker() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let body = "é".repeat(20_000); // 40,000 bytes, two-byte characters
    emit(
        &provider,
        record(
            &provider,
            Some(Severity::Error),
            Some(AnyValue::String(body.into())),
            vec![("small", AnyValue::String("kept whole".into()))],
        ),
    );
    let events = assert_fits(&capture, DEFAULT_MAX_EVENT_SIZE);
    let e = &events[0];
    let kept = e.at("PartB.body").str();
    assert!(
        kept.len() > 7_000 && kept.len() < DEFAULT_MAX_EVENT_SIZE,
        "{}",
        kept.len()
    );
    assert!(
        kept.chars().all(|c| c == 'é'),
        "cut on a character boundary"
    );
    assert_eq!(
        e.at("PartC.small").str(),
        "kept whole",
        "short values are not cut"
    );
    let Val::U64(original) = e.at("_truncated") else {
        panic!()
    };
    assert!(*original > 40_000);
    let payload_len = capture.events()[0].payload.len();
    assert!(
        payload_len > DEFAULT_MAX_EVENT_SIZE - 64,
        "uses the space it has: {payload_len}"
    );
}

/// A map key is a field name, which truncation does not cut: a map whose key alone is larger
/// than the event used to be dropped as oversize. It is written as its JSON text instead,
/// cut, in a truncated event.
#[test]
fn a_map_with_a_huge_key_is_truncated_not_dropped() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let key: &'static str = Box::leak("k".repeat(10_000).into_boxed_str());
    let body = AnyValue::Map(Box::new(HashMap::from([(
        Key::from(key),
        AnyValue::Int(1),
    )])));
    let attribute = AnyValue::Map(Box::new(HashMap::from([(
        Key::from("small"),
        AnyValue::Int(2),
    )])));
    emit(
        &provider,
        record(
            &provider,
            Some(Severity::Error),
            Some(body),
            vec![("m", attribute)],
        ),
    );
    let events = assert_fits(&capture, DEFAULT_MAX_EVENT_SIZE);
    assert_eq!(events.len(), 1, "written, not dropped");
    let e = &events[0];
    let text = e.at("PartB.body").str();
    assert!(
        text.starts_with("{\"kkkk"),
        "the map as JSON text: {}",
        &text[..20]
    );
    assert!(text.len() < 10_000, "cut: {}", text.len());
    assert!(e.get("_truncated").is_some());
    assert_eq!(
        e.at("PartC.m.small"),
        &Val::I64(2),
        "a small map stays a struct"
    );
}

#[test]
fn oversize_is_dropped_and_counted_when_so_configured() {
    let (processor, capture) =
        capture_processor(Processor::builder("p").with_oversize_policy(OversizePolicy::Drop));
    let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
    let mut r = record(
        &provider,
        Some(Severity::Info),
        Some(AnyValue::String("x".repeat(9_000).into())),
        vec![],
    );
    processor.emit(&mut r, &Default::default());
    let mut small = record(
        &provider,
        Some(Severity::Info),
        Some(AnyValue::String("x".into())),
        vec![],
    );
    processor.emit(&mut small, &Default::default());
    assert_eq!(capture.events().len(), 1);
    let stats = processor.stats();
    assert_eq!(
        (
            stats.written,
            stats.dropped(DropReason::Oversize),
            stats.truncated
        ),
        (1, 1, 0)
    );
}

#[test]
fn ten_thousand_attributes() {
    let (processor, capture) = capture_processor(Processor::builder("p"));
    let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
    let mut r = record(
        &provider,
        Some(Severity::Info),
        None,
        keyed(10_000, |i| AnyValue::Int(i as i64)),
    );
    processor.emit(&mut r, &Default::default());
    let events = assert_fits(&capture, DEFAULT_MAX_EVENT_SIZE);
    let e = &events[0];
    // Attributes come in structs of at most 127: PartC, PartC_2, ... and the first ones kept.
    let chunks: Vec<&(String, Val)> = e
        .fields
        .iter()
        .filter(|(n, _)| n.starts_with("PartC"))
        .collect();
    assert!(chunks.len() > 1);
    assert_eq!(chunks[0].0, "PartC");
    assert_eq!(chunks[1].0, "PartC_2");
    let mut n = 0;
    for (_, v) in &chunks {
        let fields = v.fields();
        assert!(fields.len() <= 127);
        for (k, v) in fields {
            assert_eq!(k, &format!("attr{n}"));
            assert_eq!(v, &Val::I64(n as i64));
            n += 1;
        }
    }
    assert!(n > 300 && n < 10_000, "kept {n} leading attributes");
    assert!(e.get("_truncated").is_some());
    assert_eq!(processor.stats().truncated, 1);
}

#[test]
fn two_hundred_attributes_fit_whole_in_two_structs() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    emit(
        &provider,
        record(
            &provider,
            Some(Severity::Info),
            None,
            keyed(200, |_| AnyValue::Boolean(true)),
        ),
    );
    let e = &assert_fits(&capture, DEFAULT_MAX_EVENT_SIZE)[0];
    assert_eq!(e.at("PartC").fields().len(), 127);
    assert_eq!(e.at("PartC_2").fields().len(), 73);
    assert!(e.get("_truncated").is_none());
}

#[test]
fn hostile_names_and_values() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let mut deep = AnyValue::Int(0);
    for _ in 0..100 {
        deep = AnyValue::ListAny(Box::new(vec![deep]));
    }
    let mut deep_map = AnyValue::Int(0);
    for _ in 0..100 {
        deep_map = AnyValue::Map(Box::new(HashMap::from([(Key::from("m"), deep_map)])));
    }
    let big_map: HashMap<Key, AnyValue> = (0..500)
        .map(|i| (Key::from(format!("k{i}")), AnyValue::Int(i)))
        .collect();
    emit(
        &provider,
        record(
            &provider,
            Some(Severity::Info),
            Some(AnyValue::String("".into())),
            vec![
                ("nul\0key", AnyValue::Int(1)),
                ("", AnyValue::Int(2)),
                ("deep", deep),
                ("deep_map", deep_map),
                ("big_map", AnyValue::Map(Box::new(big_map))),
                ("neg_inf", AnyValue::Double(f64::NEG_INFINITY)),
                (
                    "nan_list",
                    AnyValue::ListAny(Box::new(vec![AnyValue::Double(f64::NAN)])),
                ),
                ("nul_value", AnyValue::String("\0\0".into())),
                (
                    "invalid_surrogate_free",
                    AnyValue::String("\u{FFFF}\u{10FFFF}".into()),
                ),
            ],
        ),
    );
    let e = &assert_fits(&capture, DEFAULT_MAX_EVENT_SIZE)[0];
    assert_eq!(e.at("PartC.nul_key"), &Val::I64(1));
    assert_eq!(e.at("PartC._"), &Val::I64(2));
    let deep = e.at("PartC.deep").str();
    assert!(deep.starts_with("[[[[") && deep.contains("[nested too deep]"));
    assert!(matches!(e.at("PartC.deep_map"), Val::Struct(_)));
    let big = e.at("PartC.big_map");
    assert!(
        matches!(big, Val::Json(s) if s.starts_with('{') && s.ends_with('}') && s.matches(':').count() == 500)
    );
    assert_eq!(e.at("PartC.neg_inf"), &Val::F64(f64::NEG_INFINITY));
    assert!(
        matches!(e.at("PartC.nan_list"), Val::Array(v) if matches!(v[0], Val::F64(f) if f.is_nan()))
    );
    assert_eq!(e.at("PartC.nul_value").str(), "\0\0");
    assert_eq!(e.at("PartB.body").str(), "");
}

#[test]
fn empty_record_and_every_severity_number() {
    let (provider, capture) = capture_pipeline(Processor::builder("p"));
    let severities = [
        Severity::Trace,
        Severity::Trace2,
        Severity::Trace3,
        Severity::Trace4,
        Severity::Debug,
        Severity::Debug2,
        Severity::Debug3,
        Severity::Debug4,
        Severity::Info,
        Severity::Info2,
        Severity::Info3,
        Severity::Info4,
        Severity::Warn,
        Severity::Warn2,
        Severity::Warn3,
        Severity::Warn4,
        Severity::Error,
        Severity::Error2,
        Severity::Error3,
        Severity::Error4,
        Severity::Fatal,
        Severity::Fatal2,
        Severity::Fatal3,
        Severity::Fatal4,
    ];
    for s in severities {
        use opentelemetry::logs::{Logger as _, LoggerProvider as _};
        let mut r = provider.logger("t").create_log_record();
        r.set_severity_number(s);
        emit(&provider, r);
    }
    let events = assert_fits(&capture, DEFAULT_MAX_EVENT_SIZE);
    assert_eq!(events.len(), 24);
    for (e, s) in events.iter().zip(severities) {
        assert_eq!(e.at("PartB.severityNumber"), &Val::I64(s as i64));
    }
}

#[test]
fn a_small_limit_still_yields_decodable_events() {
    let (provider, capture) = capture_pipeline(Processor::builder("p").with_max_event_size(512));
    let attrs = keyed(50, |i| AnyValue::String("v".repeat(i * 10).into()));
    emit(
        &provider,
        record(
            &provider,
            Some(Severity::Info),
            Some(AnyValue::String("b".repeat(5_000).into())),
            attrs,
        ),
    );
    let e = &assert_fits(&capture, 512)[0];
    assert!(e.get("_truncated").is_some());
}

/// Random values, any kind and shape.
fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(AnyValue::Int),
        any::<f64>().prop_map(AnyValue::Double),
        any::<bool>().prop_map(AnyValue::Boolean),
        ".{0,40}".prop_map(|s| AnyValue::String(s.into())),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| AnyValue::Bytes(Box::new(b))),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(|v| AnyValue::ListAny(Box::new(v))),
            prop::collection::vec(any::<i64>(), 0..8).prop_map(|v| AnyValue::ListAny(Box::new(
                v.into_iter().map(AnyValue::Int).collect()
            ))),
            prop::collection::hash_map("[a-z\0]{0,6}", inner, 0..6).prop_map(|m| {
                AnyValue::Map(Box::new(
                    m.into_iter().map(|(k, v)| (Key::from(k), v)).collect(),
                ))
            }),
        ]
    })
}

/// What the decoder must show for a value we wrote whole at struct depth `depth`.
fn expected(value: &AnyValue, depth: usize) -> Option<Val> {
    Some(match value {
        AnyValue::Int(i) => Val::I64(*i),
        AnyValue::Double(f) => Val::F64(*f),
        AnyValue::Boolean(b) => Val::Bool(*b),
        AnyValue::String(s) => Val::Str(s.to_string()),
        AnyValue::Bytes(b) => Val::Bin(b.to_vec()),
        AnyValue::ListAny(items)
            if !items.is_empty() && items.iter().all(|v| matches!(v, AnyValue::Int(_))) =>
        {
            Val::Array(items.iter().map(|v| expected(v, depth).unwrap()).collect())
        }
        AnyValue::Map(m) if !m.is_empty() && depth < 8 => {
            let fields = m
                .iter()
                .map(|(k, v)| {
                    let name = if k.as_str().is_empty() {
                        "_".to_owned()
                    } else {
                        k.as_str().replace('\0', "_")
                    };
                    Some((name, expected(v, depth + 1)?))
                })
                .collect::<Option<Vec<_>>>()?;
            // One field per written name: the last entry (in the map's order) of each.
            let last = |i: usize, name: &str| fields[i + 1..].iter().all(|(n, _)| n != name);
            Val::Struct(
                fields
                    .iter()
                    .enumerate()
                    .filter(|(i, (name, _))| last(*i, name))
                    .map(|(_, field)| field.clone())
                    .collect(),
            )
        }
        _ => return None, // JSON or other arrays: shape checked by decoding alone
    })
}

fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::F64(x), Val::F64(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        (Val::Array(x), Val::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Val::Struct(x), Val::Struct(y)) => {
            // Map order is arbitrary.
            x.len() == y.len()
                && x.iter()
                    .all(|(n, v)| y.iter().any(|(m, w)| m == n && same(v, w)))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_records_decode_and_match(
        attrs in prop::collection::vec(("[a-z]{1,8}", any_value()), 0..12),
        body in prop::option::of(any_value()),
        max in prop_oneof![Just(DEFAULT_MAX_EVENT_SIZE), 512usize..2048],
    ) {
        let (provider, capture) = capture_pipeline(Processor::builder("prop").with_max_event_size(max));
        let attrs: Vec<(&'static str, AnyValue)> =
            attrs.into_iter().map(|(k, v)| (&*Box::leak(k.into_boxed_str()), v)).collect();
        emit(&provider, record(&provider, Some(Severity::Info), body.clone(), attrs.clone()));
        let events = capture.events();
        prop_assert_eq!(events.len(), 1);
        prop_assert!(events[0].payload.len() <= max);
        let e = decode(&events[0].tracepoint, &events[0].payload);
        if e.get("_truncated").is_none() {
            // Written whole: every value the decoder shows is the value we were given.
            let mut seen = HashMap::new();
            for (k, v) in &attrs {
                seen.insert(*k, v); // the last of duplicate keys is what PartC shows last
            }
            for (k, v) in &attrs {
                if let Some(want) = expected(v, 1) {
                    let got = e.at("PartC").fields().iter().rev().find(|(n, _)| n == k).map(|(_, v)| v).unwrap();
                    if std::ptr::eq(seen[k], v) {
                        prop_assert!(same(got, &want), "{k}: {got:?} != {want:?}");
                    }
                }
            }
            if let Some(want) = body.as_ref().and_then(|b| expected(b, 1)) {
                prop_assert!(same(e.at("PartB.body"), &want));
            }
        }
    }
}
