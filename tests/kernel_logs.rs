//! The logs processor on a real user_events kernel (run inside the VM: `vm/test.sh`).
//! Events are read back as an agent reads them — perf ring buffers (and ftrace) — and decoded
//! with Microsoft's tracepoint_decode. On a kernel without user_events each test prints a
//! loud SKIPPED line, or fails when OTEL_OS_EVENTS_IN_VM / _REQUIRE_KERNEL is 1.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::kernel::*;
use common::skip::kernel_or_skip;
use common::*;
use opentelemetry::logs::{AnyValue, LogRecord as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::Resource;
use otel_os_events::logs::{EventName, OversizePolicy, Processor, DEFAULT_MAX_EVENT_SIZE};
use otel_os_events::sink::TracepointStatus;
use otel_os_events::DropReason;

const WAIT: Duration = Duration::from_secs(5);

fn scope() -> InstrumentationScope {
    InstrumentationScope::default()
}

fn levels(provider: &str, keyword: &str) -> Vec<String> {
    (1..=5)
        .map(|l| format!("{provider}_L{l}K{keyword}"))
        .collect()
}

#[test]
fn every_level_keyword_and_value_kind_through_perf() {
    if !kernel_or_skip("every_level_keyword_and_value_kind_through_perf") {
        return;
    }
    let mut processor = Processor::builder("kt_values")
        .with_keyword(0x1f)
        .with_event_name(EventName::FromRecord)
        .with_resource_attributes(["host.arch"])
        .build()
        .unwrap();
    processor.set_resource(
        &Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "svc"),
                KeyValue::new("service.instance.id", "i-1"),
                KeyValue::new("host.arch", "x86_64"),
            ])
            .build(),
    );
    assert!(processor
        .status()
        .iter()
        .all(|s| s.status == TracepointStatus::Registered));
    let names = levels("kt_values", "1f");
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut session = session(&names);
    let provider = SdkLoggerProvider::builder().build();
    let severities = [
        Severity::Fatal,
        Severity::Error,
        Severity::Warn,
        Severity::Info,
        Severity::Debug,
    ];
    for (i, severity) in severities.into_iter().enumerate() {
        assert!(processor.event_enabled(severity, "t", None));
        let map = AnyValue::Map(Box::new(HashMap::from([(
            Key::from("inner"),
            AnyValue::Int(5),
        )])));
        let mut r = record(
            &provider,
            Some(severity),
            Some(AnyValue::String(format!("body {i}").into())),
            vec![
                ("int", AnyValue::Int(-(i as i64))),
                ("double", AnyValue::Double(f64::NAN)),
                ("bool", AnyValue::Boolean(true)),
                ("bytes", AnyValue::Bytes(Box::new(vec![1, 2, 3]))),
                (
                    "ints",
                    AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Int(2)])),
                ),
                (
                    "strs",
                    AnyValue::ListAny(Box::new(vec![AnyValue::String("a".into())])),
                ),
                (
                    "mixed",
                    AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::Boolean(false)])),
                ),
                ("map", map),
                ("event_id", AnyValue::Int(77)),
            ],
        );
        r.set_event_name("kernel.test");
        r.set_trace_context(
            TraceId::from_hex("000102030405060708090a0b0c0d0e0f").unwrap(),
            SpanId::from_hex("1011121314151617").unwrap(),
            Some(TraceFlags::SAMPLED),
        );
        processor.emit(&mut r, &scope());
    }
    let events = read_decoded(&mut session, 5, WAIT);
    assert_eq!(events.len(), 5, "lost: {}", session.lost());
    assert_eq!(session.lost(), 0);
    let mut by_level: Vec<&Decoded> = events.iter().collect();
    by_level.sort_by_key(|e| e.level);
    for (i, e) in by_level.iter().enumerate() {
        assert_eq!(e.tracepoint, format!("kt_values_L{}K1f", i + 1));
        assert_eq!((e.level, e.keyword), (i as u8 + 1, 0x1f));
        assert_eq!(e.name, "kernel.test");
        assert_eq!(e.at("PartB.body").str(), format!("body {i}"));
        assert_eq!(e.at("PartB.eventId"), &Val::I64(77));
        assert_eq!(e.at("PartB.name").str(), "kernel.test");
        assert_eq!(
            e.at("PartA.ext_dt_traceId").str(),
            "000102030405060708090a0b0c0d0e0f"
        );
        assert_eq!(e.at("PartA.ext_dt_spanId").str(), "1011121314151617");
        assert_eq!(e.at("PartA.ext_cloud_role").str(), "svc");
        assert_eq!(e.at("PartA.ext_cloud_roleInstance").str(), "i-1");
        assert_eq!(e.at("PartC.int"), &Val::I64(-(i as i64)));
        assert!(matches!(e.at("PartC.double"), Val::F64(f) if f.is_nan()));
        assert_eq!(e.at("PartC.bool"), &Val::Bool(true));
        assert_eq!(e.at("PartC.bytes"), &Val::Bin(vec![1, 2, 3]));
        assert_eq!(
            e.at("PartC.ints"),
            &Val::Array(vec![Val::I64(1), Val::I64(2)])
        );
        assert_eq!(e.at("PartC.strs"), &Val::Array(vec![Val::Str("a".into())]));
        assert_eq!(e.at("PartC.mixed"), &Val::Json("[1,false]".into()));
        assert_eq!(e.at("PartC.map.inner"), &Val::I64(5));
        assert_eq!(e.at("PartC.host.arch").str(), "x86_64");
    }
    assert_eq!(processor.stats().written, 5);
}

#[test]
fn enabled_follows_perf_and_ftrace_sessions() {
    if !kernel_or_skip("enabled_follows_perf_and_ftrace_sessions") {
        return;
    }
    let processor = Processor::builder("kt_enable").build().unwrap();
    let info = |p: &Processor| p.event_enabled(Severity::Info, "t", None);
    assert!(!info(&processor), "no session yet");
    {
        let _session = session(&["kt_enable_L4K1"]);
        assert!(info(&processor), "perf session attached");
        assert!(
            !processor.event_enabled(Severity::Error, "t", None),
            "other level untouched"
        );
        assert!(tracefs_read("user_events_status").contains("kt_enable_L4K1 # Used by perf"));
    }
    assert!(!info(&processor), "perf session closed");
    tracefs_write("events/user_events/kt_enable_L4K1/enable", "1");
    assert!(info(&processor), "ftrace enabled");
    tracefs_write("events/user_events/kt_enable_L4K1/enable", "0");
    assert!(!info(&processor), "ftrace disabled");
}

#[test]
fn ftrace_sees_the_events() {
    if !kernel_or_skip("ftrace_sees_the_events") {
        return;
    }
    let processor = Processor::builder("kt_ftrace").build().unwrap();
    let provider = SdkLoggerProvider::builder().build();
    tracefs_write("trace", ""); // clear the buffer
    tracefs_write("events/user_events/kt_ftrace_L3K1/enable", "1");
    processor.emit(
        &mut record(&provider, Some(Severity::Warn), None, vec![]),
        &scope(),
    );
    tracefs_write("events/user_events/kt_ftrace_L3K1/enable", "0");
    let trace = tracefs_read("trace");
    let line = trace
        .lines()
        .find(|l| l.contains("kt_ftrace_L3K1:"))
        .unwrap_or_else(|| panic!("not in trace:\n{trace}"));
    // ftrace prints the declared fields: the EventHeader header of our event.
    assert!(
        line.contains("eventheader_flags=(7)") && line.contains("level=(3)"),
        "{line}"
    );
    assert_eq!(processor.stats().written, 1);
}

#[test]
fn no_listener_means_no_write_and_no_syscall() {
    if !kernel_or_skip("no_listener_means_no_write_and_no_syscall") {
        return;
    }
    let processor = Processor::builder("kt_quiet").build().unwrap();
    let provider = SdkLoggerProvider::builder().build();
    // Watch this thread's writev syscalls the way an observer would.
    let mut syscalls = session(&["syscalls:sys_enter_writev"]);
    let tid = platform::os_thread_id();
    drain(&mut syscalls);
    for _ in 0..1_000 {
        processor.emit(
            &mut record(&provider, Some(Severity::Error), None, vec![]),
            &scope(),
        );
    }
    let ours = |events: Vec<otel_os_events::listen::PerfEvent>| {
        events.iter().filter(|e| e.tid == tid).count()
    };
    assert_eq!(
        ours(drain(&mut syscalls)),
        0,
        "no writev without a listener"
    );
    assert_eq!(processor.stats(), Default::default());
    // The same with a listener: one writev per event.
    let _listener = session(&["kt_quiet_L2K1"]);
    for _ in 0..10 {
        processor.emit(
            &mut record(&provider, Some(Severity::Error), None, vec![]),
            &scope(),
        );
    }
    assert_eq!(ours(drain(&mut syscalls)), 10, "one writev per event");
    assert_eq!(processor.stats().written, 10);
}

#[test]
fn kernel_drops_oversize_silently_and_we_never_send_it() {
    if !kernel_or_skip("kernel_drops_oversize_silently_and_we_never_send_it") {
        return;
    }
    // What the kernel itself does: a raw EventHeader-shaped write of 8184 payload bytes
    // arrives; 8185 bytes is accepted by writev (returns 0) and never delivered to perf.
    let raw = Box::pin(tracepoint::TracepointState::new(0));
    let args = otel_os_events::sink::eventheader_name_args("kt_raw_L4K1").unwrap();
    // SAFETY: `raw` is pinned and lives to the end of this test; TracepointState unregisters
    // itself on drop, before its memory is freed.
    assert_eq!(unsafe { raw.as_ref().register(&args) }, 0);
    let mut s = session(&["kt_raw_L4K1"]);
    for len in [DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_EVENT_SIZE + 1] {
        let mut payload = vec![0u8; len];
        payload[..8].copy_from_slice(&[7, 0, 0, 0, 0, 0, 0, 4]);
        payload[8..12].copy_from_slice(&(len as u32).to_ne_bytes());
        let mut iov = [
            tracepoint::EventDataDescriptor::zero(),
            tracepoint::EventDataDescriptor::from_bytes(&payload),
        ];
        assert_eq!(raw.write(&mut iov), 0, "writev of {len} bytes succeeds");
    }
    let got = drain(&mut s);
    assert_eq!(got.len(), 1, "only the event within the limit arrives");
    assert_eq!(
        &got[0].raw[8..12],
        &(DEFAULT_MAX_EVENT_SIZE as u32).to_ne_bytes()
    );
    assert_eq!(s.lost(), 0, "and perf does not even report it lost");
    drop(s);

    // So the processor never hands the kernel an oversize event: it truncates (default)...
    let truncating = Processor::builder("kt_big").build().unwrap();
    let dropping = Processor::builder("kt_bigdrop")
        .with_oversize_policy(OversizePolicy::Drop)
        .build()
        .unwrap();
    let mut s = session(&["kt_big_L4K1", "kt_bigdrop_L4K1"]);
    let provider = SdkLoggerProvider::builder().build();
    let body = || Some(AnyValue::String("z".repeat(20_000).into()));
    truncating.emit(
        &mut record(&provider, Some(Severity::Info), body(), vec![]),
        &scope(),
    );
    dropping.emit(
        &mut record(&provider, Some(Severity::Info), body(), vec![]),
        &scope(),
    );
    let events = read_decoded(&mut s, 1, WAIT);
    drain(&mut s);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tracepoint, "kt_big_L4K1");
    let kept = events[0].at("PartB.body").str().len();
    assert!(kept > 7_500 && kept < DEFAULT_MAX_EVENT_SIZE, "{kept}");
    assert!(matches!(events[0].at("_truncated"), Val::U64(n) if *n > 20_000));
    assert_eq!(
        (truncating.stats().written, truncating.stats().truncated),
        (1, 1)
    );
    // ... or drops and counts it, as configured.
    assert_eq!(dropping.stats().dropped(DropReason::Oversize), 1);
    assert_eq!(dropping.stats().written, 0);
}

#[test]
fn two_processors_and_shutdown_releases_the_enable_word() {
    if !kernel_or_skip("two_processors_and_shutdown_releases_the_enable_word") {
        return;
    }
    let a = Processor::builder("kt_two_a").build().unwrap();
    let b = Processor::builder("kt_two_b").build().unwrap();
    let provider = SdkLoggerProvider::builder().build();
    let mut s = session(&["kt_two_a_L4K1", "kt_two_b_L4K1"]);
    a.emit(
        &mut record(
            &provider,
            Some(Severity::Info),
            Some(AnyValue::String("from a".into())),
            vec![],
        ),
        &scope(),
    );
    b.emit(
        &mut record(
            &provider,
            Some(Severity::Info),
            Some(AnyValue::String("from b".into())),
            vec![],
        ),
        &scope(),
    );
    let mut events = read_decoded(&mut s, 2, WAIT);
    events.sort_by(|x, y| x.tracepoint.cmp(&y.tracepoint));
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.tracepoint.as_str(), e.at("PartB.body").str()))
        .collect();
    assert_eq!(
        got,
        [("kt_two_a_L4K1", "from a"), ("kt_two_b_L4K1", "from b")]
    );
    drop(s);

    a.shutdown().unwrap();
    assert!(a
        .status()
        .iter()
        .all(|s| s.status == TracepointStatus::Unregistered));
    // A session attaches to both: the kernel reports it, b's word turns on, a's does not.
    let mut s = session(&["kt_two_a_L4K1", "kt_two_b_L4K1"]);
    assert!(tracefs_read("user_events_status").contains("kt_two_a_L4K1 # Used by perf"));
    assert!(b.event_enabled(Severity::Info, "t", None));
    assert!(
        !a.event_enabled(Severity::Info, "t", None),
        "a's enable word is no longer updated"
    );
    a.emit(
        &mut record(&provider, Some(Severity::Info), None, vec![]),
        &scope(),
    );
    assert!(drain(&mut s).is_empty());
    assert_eq!(a.stats().dropped(DropReason::AfterShutdown), 1);
}
