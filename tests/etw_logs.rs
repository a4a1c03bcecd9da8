//! ETW logs: our TraceLogging bytes, field for field and byte for byte, against Microsoft's
//! `tracelogging_dynamic::EventBuilder` building the same event (see `etw_common`), for every
//! value kind; plus levels, activity ids, truncation, modes and the builder's ETW rules.

mod etw_common;
#[path = "common/platform.rs"]
mod platform;

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use etw_common::*;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::Resource;
use otel_os_events::logs::{EventName, Processor, ProcessorBuilder};
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::sink::{CaptureSink, Sink, TracepointStatus};
use otel_os_events::Error;
use otel_os_events::{etw_activity_id, etw_provider_id, DEFAULT_ETW_MAX_EVENT_SIZE};
use tracelogging_dynamic as tld;

/// The records' time: 123,456,789 ns past the second, as a `SystemTime` keeps it (on
/// Windows, in 100 ns steps: …123456700).
const NANOS: u32 = platform::kept_nanos(123_456_789);
fn time() -> String {
    format!("2024-05-06T07:08:09.{NANOS:09}Z")
}
const TRACE: &str = "0102030405060708090a0b0c0d0e0f10";
const SPAN: &str = "a1a2a3a4a5a6a7a8";

fn pipeline(builder: ProcessorBuilder, resource: bool) -> (SdkLoggerProvider, CaptureSink) {
    let capture = CaptureSink::etw();
    let processor = builder
        .with_sink(Sink::Capture(capture.clone()))
        .build()
        .unwrap();
    let attributes = if resource {
        vec![
            KeyValue::new("service.name", "checkout"),
            KeyValue::new("service.instance.id", "pod-7"),
        ]
    } else {
        vec![]
    };
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .with_resource(
            Resource::builder_empty()
                .with_attributes(attributes)
                .build(),
        )
        .build();
    (provider, capture)
}

fn record(provider: &SdkLoggerProvider, severity: Severity) -> SdkLogRecord {
    let mut r = provider.logger("test").create_log_record();
    r.set_severity_number(severity);
    r.set_timestamp(UNIX_EPOCH + Duration::new(1_714_979_289, 123_456_789));
    r
}

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

/// `reset` plus the `__csver__` both ETW exporters write first.
fn begin(b: &mut tld::EventBuilder, name: &str, level: tld::Level) {
    b.reset(name, level, 1, 0);
    b.add_u16("__csver__", 0x400, tld::OutType::Unsigned, 0);
}

/// The reference event of an Info record with nothing but its time, named `name`.
fn bare_info_record(name: &str) -> tld::EventBuilder {
    let mut b = tld::EventBuilder::new();
    begin(&mut b, name, tld::Level::Informational);
    b.add_struct("PartA", 1, 0);
    str8(&mut b, "time", &time());
    b.add_struct("PartB", 2, 0);
    str8(&mut b, "_typeName", "Log");
    let severity = Severity::Info as i16;
    b.add_i16("severityNumber", severity, tld::OutType::Default, 0);
    b
}

#[test]
fn every_value_kind_matches_tracelogging_dynamic() {
    let (provider, capture) = pipeline(Processor::builder("MyCompany.Checkout"), true);
    let mut r = record(&provider, Severity::Warn);
    r.set_body(AnyValue::String("disk almost full".into()));
    r.set_severity_text("WARN");
    r.set_event_name("disk.warning");
    r.set_trace_context(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(SPAN).unwrap(),
        Some(TraceFlags::SAMPLED),
    );
    let attributes = vec![
        ("i", AnyValue::Int(-5)),
        ("d", AnyValue::Double(2.5)),
        ("b", AnyValue::Boolean(true)),
        ("s", AnyValue::String("héllo wörld".into())),
        ("bytes", AnyValue::Bytes(Box::new(vec![0, 1, 0xfe, 0xff]))),
        ("ints", list(vec![AnyValue::Int(1), AnyValue::Int(-2)])),
        (
            "doubles",
            list(vec![AnyValue::Double(1.5), AnyValue::Double(-0.5)]),
        ),
        (
            "bools",
            list(vec![AnyValue::Boolean(true), AnyValue::Boolean(false)]),
        ),
        (
            "strs",
            list(vec![
                AnyValue::String("a".into()),
                AnyValue::String("bé".into()),
            ]),
        ),
        (
            "map",
            map(vec![("outer", map(vec![("inner", AnyValue::Int(7))]))]),
        ),
        (
            "mixed",
            list(vec![AnyValue::Int(1), AnyValue::String("x".into())]),
        ),
        ("empty", map(vec![])),
        ("event_id", AnyValue::Int(42)),
    ];
    for (k, v) in attributes {
        r.add_attribute(k, v);
    }
    provider.logger("test").emit(r);
    let ours = only_event(&capture);

    let mut b = tld::EventBuilder::new();
    begin(&mut b, "Log", tld::Level::Warning);
    b.add_struct("PartA", 3, 0);
    b.add_struct("ext_dt", 2, 0);
    str8(&mut b, "traceId", TRACE);
    str8(&mut b, "spanId", SPAN);
    b.add_struct("ext_cloud", 2, 0);
    str8(&mut b, "role", "checkout");
    str8(&mut b, "roleInstance", "pod-7");
    str8(&mut b, "time", &time());
    b.add_struct("PartC", 12, 0);
    b.add_i64("i", -5, tld::OutType::Default, 0);
    b.add_f64("d", 2.5, tld::OutType::Default, 0);
    b.add_bool32("b", 1, tld::OutType::Default, 0);
    str8(&mut b, "s", "héllo wörld");
    b.add_binary("bytes", [0u8, 1, 0xfe, 0xff], tld::OutType::Default, 0);
    b.add_i64_sequence("ints", &[1, -2], tld::OutType::Default, 0);
    b.add_f64_sequence("doubles", &[1.5, -0.5], tld::OutType::Default, 0);
    b.add_bool32_sequence("bools", &[1, 0], tld::OutType::Default, 0);
    b.add_str8_sequence("strs", ["a", "bé"], tld::OutType::Utf8, 0);
    b.add_struct("map", 1, 0);
    b.add_struct("outer", 1, 0);
    b.add_i64("inner", 7, tld::OutType::Default, 0);
    b.add_str8("mixed", r#"[1,"x"]"#, tld::OutType::Json, 0);
    b.add_str8("empty", "{}", tld::OutType::Json, 0);
    b.add_struct("PartB", 6, 0);
    str8(&mut b, "_typeName", "Log");
    str8(&mut b, "body", "disk almost full");
    b.add_i16(
        "severityNumber",
        Severity::Warn as i16,
        tld::OutType::Default,
        0,
    );
    str8(&mut b, "severityText", "WARN");
    b.add_i64("eventId", 42, tld::OutType::Default, 0);
    str8(&mut b, "name", "disk.warning");
    assert_same(&ours, &reference(&mut b));

    let trace: [u8; 16] = TraceId::from_hex(TRACE).unwrap().to_bytes();
    let span: [u8; 8] = SpanId::from_hex(SPAN).unwrap().to_bytes();
    assert_eq!(ours.activity_id, Some(etw_activity_id(trace, span)));
    assert_eq!(&ours.activity_id.unwrap()[..8], &span);
    assert_eq!(ours.related_id, None, "a log record starts no activity");
}

#[test]
fn a_bare_record_has_only_time_in_part_a_and_no_activity() {
    let (provider, capture) = pipeline(Processor::builder("bare"), false);
    provider
        .logger("test")
        .emit(record(&provider, Severity::Info));
    let ours = only_event(&capture);
    let mut b = bare_info_record("Log");
    assert_same(&ours, &reference(&mut b));
    assert_eq!((ours.activity_id, ours.related_id), (None, None));
}

#[test]
fn severities_map_to_etw_levels_and_the_keyword_is_the_builders() {
    let (provider, capture) = pipeline(Processor::builder("levels").with_keyword(0x20), false);
    let cases = [
        (Severity::Fatal, tld::Level::Critical),
        (Severity::Error2, tld::Level::Error),
        (Severity::Warn4, tld::Level::Warning),
        (Severity::Info, tld::Level::Informational),
        (Severity::Debug, tld::Level::Verbose),
        (Severity::Trace3, tld::Level::Verbose),
    ];
    for (severity, _) in cases {
        provider.logger("test").emit(record(&provider, severity));
    }
    let events = capture.take();
    assert_eq!(events.len(), cases.len());
    for (event, (severity, level)) in events.iter().zip(cases) {
        let etw = event.etw.as_ref().unwrap();
        assert_eq!(etw.level, level.as_int(), "{severity:?}");
        assert_eq!(etw.keyword, 0x20);
        assert_eq!(event.tracepoint, format!("levels_L{}K20", level.as_int()));
    }
    // No severity: dropped and counted, as on Linux (the ETW crate would guess "debug").
    let mut r = provider.logger("test").create_log_record();
    r.set_body("no severity".into());
    provider.logger("test").emit(r);
    assert!(capture.take().is_empty());
}

#[test]
fn an_oversize_record_is_cut_to_the_etw_limit_and_marked() {
    let (provider, capture) = pipeline(Processor::builder("big"), false);
    let mut r = record(&provider, Severity::Error);
    r.set_body(AnyValue::String("x".repeat(200_000).into()));
    provider.logger("test").emit(r);
    let ours = only_event(&capture);
    let size = ours.meta.len() + ours.data.len();
    assert!(size <= DEFAULT_ETW_MAX_EVENT_SIZE, "{size}");
    assert!(
        size > DEFAULT_ETW_MAX_EVENT_SIZE - 1024,
        "cut no more than needed: {size}"
    );
    let meta = String::from_utf8_lossy(&ours.meta);
    assert!(meta.contains("_truncated"), "the marker field is there");
    // The data ends with the marker's u32: the size of the first encoding, whose values
    // are already capped at the format's 64 KiB.
    let original = u32::from_le_bytes(ours.data[ours.data.len() - 4..].try_into().unwrap());
    assert!(original as usize > DEFAULT_ETW_MAX_EVENT_SIZE, "{original}");
}

#[test]
fn queued_mode_writes_the_same_bytes_plus_the_thread_id() {
    let builder = Processor::builder("queued")
        .with_event_name(EventName::Fixed("Q".into()))
        .with_mode(Mode::Queued(QueueOptions::default()));
    let (provider, capture) = pipeline(builder, false);
    provider
        .logger("test")
        .emit(record(&provider, Severity::Info));
    provider.force_flush().unwrap();
    let ours = only_event(&capture);
    let tid = platform::os_thread_id();
    let mut b = bare_info_record("Q");
    b.add_u32("_thread_id", tid, tld::OutType::Pid, 0);
    assert_same(&ours, &reference(&mut b));
}

#[test]
fn provider_ids_are_the_tracelogging_ones() {
    assert_eq!(
        etw_provider_id("MyProvider"),
        "b3864c38-4273-58c5-545b-8b3608343471"
    );
    assert_eq!(
        etw_provider_id("MyCompany.MyComponent"),
        "ce5fa4ea-ab00-5402-8b76-9f76ac858fb5"
    );
    // Case does not matter: the name is upper-cased first.
    assert_eq!(
        etw_provider_id("mycompany.mycomponent"),
        etw_provider_id("MyCompany.MyComponent")
    );
}

#[test]
fn etw_names_and_sizes_follow_etws_rules() {
    let etw = |name: &str| Processor::builder(name).with_sink(Sink::Etw);
    assert!(etw("MyCompany.My-Component").build().is_ok());
    assert!(matches!(
        Processor::builder("MyCompany.MyComponent")
            .with_sink(Sink::UserEvents)
            .build(),
        Err(Error::InvalidProviderName { .. })
    ));
    assert!(matches!(
        etw("bad\0name").build(),
        Err(Error::InvalidProviderName { .. })
    ));
    assert!(matches!(
        etw("").build(),
        Err(Error::InvalidProviderName { .. })
    ));
    assert!(matches!(
        etw("p")
            .with_max_event_size(DEFAULT_ETW_MAX_EVENT_SIZE + 1)
            .build(),
        Err(Error::InvalidMaxEventSize { max, .. }) if max == DEFAULT_ETW_MAX_EVENT_SIZE
    ));
    assert!(etw("p").with_max_event_size(1024).build().is_ok());
}

#[cfg(not(windows))]
#[test]
fn off_windows_the_etw_sink_says_so_and_writes_nothing() {
    let processor = Processor::builder("MyCompany.MyComponent")
        .with_sink(Sink::Etw)
        .build()
        .unwrap();
    let handle = processor.handle();
    assert!(processor
        .status()
        .iter()
        .all(|s| s.status == TracepointStatus::EtwUnavailable));
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    provider
        .logger("test")
        .emit(record(&provider, Severity::Fatal));
    let stats = handle.stats();
    assert_eq!(
        (stats.accepted, stats.written),
        (0, 0),
        "no session: nothing to do"
    );
}

/// Under Wine, and on a Windows machine where no session enables this provider, the ETW path
/// is "registered, nobody listening": `EventRegister` succeeds and no enable callback ever
/// comes. Then nothing is encoded or written: a record nobody listens for is not accepted
/// (the crate counts only events a session asked for, on every sink), `written` and every
/// drop counter stay 0 (each `EventWriteTransfer` the crate makes is counted as written or as
/// a write error, so 0 means none was made), and the listener callback never fires.
#[cfg(windows)]
#[test]
fn on_windows_the_provider_registers_and_nobody_listens() {
    use opentelemetry_sdk::logs::LogProcessor as _;
    for mode in [Mode::Sync, Mode::Queued(QueueOptions::default())] {
        let changes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let heard = changes.clone();
        let processor = Processor::builder("OtelOsEvents.Test.NobodyListens")
            .with_sink(Sink::Etw)
            .with_mode(mode.clone())
            .with_listener_callback(move |_| {
                heard.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .with_listener_poll_interval(Duration::from_millis(1))
            .build()
            .unwrap();
        let handle = processor.handle();
        let status = processor.status();
        assert_eq!(status.len(), 5, "{mode:?}");
        assert!(
            status
                .iter()
                .all(|s| s.status == TracepointStatus::Registered),
            "{mode:?}: {status:?}"
        );
        for severity in [
            Severity::Fatal,
            Severity::Error,
            Severity::Warn,
            Severity::Info,
            Severity::Debug,
        ] {
            assert!(
                !processor.event_enabled(severity, "test", None),
                "{mode:?}: no session enables {severity:?}"
            );
        }
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(processor)
            .build();
        let logger = provider.logger("test");
        for severity in [Severity::Fatal, Severity::Info, Severity::Trace] {
            for _ in 0..100 {
                logger.emit(record(&provider, severity));
            }
        }
        provider.force_flush().unwrap();
        // Long enough for the 1 ms watcher to look many times.
        std::thread::sleep(Duration::from_millis(50));
        let stats = handle.stats();
        assert_eq!(
            stats,
            otel_os_events::Stats::default(),
            "{mode:?}: nobody listens, so nothing is accepted, written or dropped"
        );
        assert_eq!(
            changes.load(std::sync::atomic::Ordering::Relaxed),
            0,
            "{mode:?}: no session ever came"
        );
        provider.shutdown().unwrap();
        assert!(handle
            .status()
            .iter()
            .all(|s| s.status == TracepointStatus::Unregistered));
    }
}
