//! Writes the seed corpus (`fuzz/corpus/{ring,json}/`): real events from the crate's own log
//! pipeline (Common Schema, EventHeader, into a capture sink), laid out as perf samples in
//! rings that wrap, plus hand-made `otlp_metrics` and plain-tracepoint samples.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example make_seeds
//! ```
//!
//! Deterministic (fixed timestamps), so re-running it changes no file.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use otel_os_events::logs::{EventName, Processor};
use otel_os_events::sink::{CaptureSink, Sink};
use otel_os_events_fuzz::{lost_record, sample_record, FormatKind, JsonCase, RingCase};

/// The 8 bytes the kernel puts before a tracepoint's fields: u16 type, u8 flags,
/// u8 preempt_count, s32 pid.
fn common_fields(tracepoint_id: u16, pid: i32) -> Vec<u8> {
    let mut c = tracepoint_id.to_ne_bytes().to_vec();
    c.extend_from_slice(&[0, 0]);
    c.extend_from_slice(&pid.to_ne_bytes());
    c
}

/// One log record to emit: severity, event name, body, attributes.
type Seed = (
    Severity,
    &'static str,
    AnyValue,
    Vec<(&'static str, AnyValue)>,
);

/// A few log records through the real processor: (tracepoint, payload after write_index).
fn log_events() -> Vec<(String, Vec<u8>)> {
    let capture = CaptureSink::new();
    let processor = Processor::builder("fuzzprov")
        .with_event_name(EventName::FromRecord)
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .expect("build");
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    let logger = provider.logger("seeds");
    let t = UNIX_EPOCH + Duration::new(1_714_979_289, 123_456_789);
    let records: Vec<Seed> = vec![
        (Severity::Info, "hello", "a short body".into(), vec![]),
        (
            Severity::Error,
            "failure",
            "disk \"full\"\n".into(),
            vec![
                ("event_id", AnyValue::Int(42)),
                ("retries", AnyValue::Int(-3)),
                ("ratio", AnyValue::Double(0.25)),
                ("ok", AnyValue::Boolean(false)),
                ("bytes", AnyValue::Bytes(Box::new(vec![0, 1, 0xfe]))),
            ],
        ),
        (
            Severity::Warn,
            "nested",
            AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), "two".into()])),
            vec![
                (
                    "list",
                    AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Int(2)])),
                ),
                (
                    "map",
                    AnyValue::Map(Box::new(
                        [("k".into(), AnyValue::String("v".into()))]
                            .into_iter()
                            .collect(),
                    )),
                ),
            ],
        ),
        (
            Severity::Debug,
            "",
            "é€😀".into(),
            vec![("empty", "".into())],
        ),
    ];
    for (severity, name, body, attributes) in records {
        let mut r = logger.create_log_record();
        r.set_severity_number(severity);
        r.set_event_name(if name.is_empty() { "Log" } else { name });
        r.set_body(body);
        r.set_timestamp(t);
        for (k, v) in attributes {
            r.add_attribute(k, v);
        }
        logger.emit(r);
    }
    provider.force_flush().expect("flush");
    capture
        .events()
        .into_iter()
        .map(|e| (e.tracepoint.clone(), e.payload.clone()))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let (ring_dir, json_dir) = (root.join("ring"), root.join("json"));
    for dir in [&ring_dir, &json_dir] {
        // Regenerated from scratch: the committed corpus is exactly what this writes.
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create corpus dir");
    }

    let events = log_events();
    assert!(
        events.len() >= 4,
        "the pipeline wrote {} events",
        events.len()
    );

    // JSON seeds: each real event as `listen` gets it, with and without the tracefs format,
    // and the metrics and plain formats.
    for (i, (tracepoint, payload)) in events.iter().enumerate() {
        for format in [FormatKind::None, FormatKind::EventHeader] {
            let case = JsonCase {
                format,
                tracepoint: tracepoint.clone(),
                raw: payload.clone(),
            };
            write(
                &json_dir,
                &format!("log{i}-{}", format as u8),
                &case.encode(),
            );
        }
    }
    let mut metrics = 0u32.to_ne_bytes().to_vec(); // protocol
    metrics.extend_from_slice(b"v0.19.00");
    let buffer = b"\x0a\x03abc"; // a few protobuf bytes
    metrics.extend_from_slice(&((buffer.len() as u32) << 16).to_ne_bytes()); // __rel_loc
    metrics.extend_from_slice(buffer);
    let case = JsonCase {
        format: FormatKind::Metrics,
        tracepoint: "otlp_metrics".into(),
        raw: metrics,
    };
    write(&json_dir, "metrics", &case.encode());
    let mut plain = 7u32.to_ne_bytes().to_vec();
    plain.extend_from_slice(&(-9i64).to_ne_bytes());
    plain.extend_from_slice(b"hi\0\0\0\0\0\0");
    // __data_loc: offset from the record's start (common fields included) | length << 16.
    plain.extend_from_slice(&((38u32) | (4 << 16)).to_ne_bytes());
    for v in [1u16, 2, 3] {
        plain.extend_from_slice(&v.to_ne_bytes());
    }
    plain.extend_from_slice(b"text");
    let case = JsonCase {
        format: FormatKind::Plain,
        tracepoint: "plain_ev".into(),
        raw: plain,
    };
    write(&json_dir, "plain", &case.encode());

    // Ring seeds: the events as perf samples (common fields + payload), with a lost record,
    // placed so that records wrap around the end of the ring in different places.
    let samples: Vec<Vec<u8>> = events
        .iter()
        .enumerate()
        .map(|(i, (_, payload))| {
            let mut raw = common_fields(1001, 4242);
            raw.extend_from_slice(payload);
            sample_record(7 + i as u64, 4242, 1_000 + i as u64, i as u32 % 2, &raw)
        })
        .collect();
    let mut all = samples.clone();
    all.insert(2, lost_record(8, 3));
    let total: usize = all.iter().map(Vec::len).sum();
    let size = total.next_power_of_two();
    for (name, tail) in [
        ("no-wrap", 0u64),
        ("wrap-in-header", size as u64 - 4),
        ("wrap-in-body", size as u64 * 3 - 100),
        ("far-counters", (1u64 << 40) + size as u64 / 2),
    ] {
        let case = RingCase::with_records(size, tail, &all);
        write(&ring_dir, &format!("{name}-{size}"), &case.encode());
    }
    // One small sample in a tiny ring, and a ring with only a lost record.
    let tiny = RingCase::with_records(64, 60, &[sample_record(1, 2, 3, 0, b"12345678")]);
    write(&ring_dir, "tiny-64", &tiny.encode());
    let lost = RingCase::with_records(32, 16, &[lost_record(1, 99)]);
    write(&ring_dir, "lost-32", &lost.encode());
    println!(
        "wrote {} ring and {} json seeds under {}",
        std::fs::read_dir(&ring_dir).unwrap().count(),
        std::fs::read_dir(&json_dir).unwrap().count(),
        root.display()
    );
}
