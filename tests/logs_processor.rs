//! The processor's contract: builder validation, enabled checks, counters, status, shutdown.

mod common;

use common::*;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::{EventName, Processor, MIN_MAX_EVENT_SIZE};
use otel_os_events::sink::{Sink, TracepointStatus};
use otel_os_events::{DropReason, Error, UserEventsLoggerProviderBuilderExt};

fn info(provider: &SdkLoggerProvider) -> opentelemetry_sdk::logs::SdkLogRecord {
    record(
        provider,
        Some(Severity::Info),
        Some(AnyValue::String("hello".into())),
        vec![],
    )
}

/// user_events' name rule, so the user_events sink by name: `Sink::default()` is ETW on
/// Windows, whose rule takes most of these (tests/sink_rules.rs compares the two).
#[test]
fn provider_names_that_could_inject_fields_are_refused() {
    let builder = |name: &str| Processor::builder(name).with_sink(Sink::UserEvents);
    let long = "a".repeat(234);
    for bad in [
        "",
        "my provider",
        "p;u32 x",
        "p\0",
        "prov-1",
        "prövider",
        "a:b",
        long.as_str(),
    ] {
        let err = builder(bad).build().unwrap_err();
        assert!(
            matches!(err, Error::InvalidProviderName { ref name, .. } if name == bad),
            "{bad:?}: {err}"
        );
    }
    assert!(builder(&"a".repeat(233)).build().is_ok());
    assert!(builder("Good_Name_09").build().is_ok());
}

#[test]
fn other_options_are_validated() {
    for bad in ["", "a;b", "a\0b"] {
        let err = Processor::builder("p")
            .with_event_name(EventName::Fixed(bad.to_owned().into()))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidEventName { .. }), "{bad:?}");
    }
    let long = "e".repeat(256);
    assert!(Processor::builder("p")
        .with_event_name(EventName::Fixed(long.into()))
        .build()
        .is_err());
    for size in [0, MIN_MAX_EVENT_SIZE - 1, 65_468, usize::MAX] {
        let err = Processor::builder("p")
            .with_max_event_size(size)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidMaxEventSize { size: s, .. } if s == size));
    }
    let err = Processor::builder("p")
        .with_resource_attributes([""])
        .build()
        .unwrap_err();
    assert_eq!(err, Error::InvalidResourceAttributeKey);
    assert!(err.to_string().contains("empty"));
}

#[test]
fn seed_api_with_an_invalid_name_adds_no_exporter() {
    // Cannot return an error: the provider builds without an exporter.
    let provider = SdkLoggerProvider::builder()
        .with_user_events_exporter("bad name")
        .build();
    assert!(
        !format!("{provider:?}").contains("Processor"),
        "{provider:?}"
    );
    let provider = SdkLoggerProvider::builder()
        .with_user_events_exporter("good")
        .build();
    assert!(
        format!("{provider:?}").contains("provider: \"good\""),
        "{provider:?}"
    );
}

#[test]
fn enabled_follows_the_listener_and_nothing_is_written_without_one() {
    let (processor, capture) = capture_processor(Processor::builder("en"));
    let provider = SdkLoggerProvider::builder().build();
    capture.set_listening_all(false);
    assert!(!processor.event_enabled(Severity::Error, "t", None));
    processor.emit(&mut info(&provider), &InstrumentationScope::default());
    assert!(capture.events().is_empty());
    assert_eq!(
        processor.stats(),
        Default::default(),
        "no listener: neither written nor dropped"
    );

    capture.set_listening("en_L2K1", true);
    assert!(processor.event_enabled(Severity::Error, "t", None));
    assert!(
        !processor.event_enabled(Severity::Info, "t", None),
        "another level's tracepoint"
    );
    processor.emit(
        &mut record(&provider, Some(Severity::Error), None, vec![]),
        &InstrumentationScope::default(),
    );
    processor.emit(&mut info(&provider), &InstrumentationScope::default());
    let events = capture.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tracepoint, "en_L2K1");
    assert_eq!(processor.stats().written, 1);

    capture.set_listening("en_L2K1", false);
    assert!(!processor.event_enabled(Severity::Error, "t", None));
}

#[test]
fn write_errors_are_counted_by_errno() {
    let (processor, capture) = capture_processor(Processor::builder("we"));
    let provider = SdkLoggerProvider::builder().build();
    capture.fail_writes(Some(libc::ENOSPC));
    for _ in 0..3 {
        processor.emit(&mut info(&provider), &InstrumentationScope::default());
    }
    capture.fail_writes(Some(libc::EFAULT));
    processor.emit(&mut info(&provider), &InstrumentationScope::default());
    capture.fail_writes(None);
    processor.emit(&mut info(&provider), &InstrumentationScope::default());
    let stats = processor.stats();
    assert_eq!(stats.written, 1);
    assert_eq!(
        stats.dropped(DropReason::WriteError {
            errno: libc::ENOSPC
        }),
        3
    );
    assert_eq!(
        stats.dropped(DropReason::WriteError {
            errno: libc::EFAULT
        }),
        1
    );
    assert_eq!(stats.dropped_total(), 4);
}

#[test]
fn shutdown_unregisters_and_refuses_later_events() {
    let (processor, capture) = capture_processor(Processor::builder("sd"));
    let provider = SdkLoggerProvider::builder().build();
    assert_eq!(capture.registered().len(), 5);
    assert!(processor
        .status()
        .iter()
        .all(|s| s.status == TracepointStatus::Registered));
    processor.shutdown().unwrap();
    assert!(capture.registered().is_empty(), "tracepoints released");
    assert!(processor
        .status()
        .iter()
        .all(|s| s.status == TracepointStatus::Unregistered));
    assert!(!processor.event_enabled(Severity::Info, "t", None));
    processor.emit(&mut info(&provider), &InstrumentationScope::default());
    assert!(capture.events().is_empty());
    assert_eq!(processor.stats().dropped(DropReason::AfterShutdown), 1);
    assert!(matches!(
        processor.shutdown(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(processor.force_flush().is_ok());
}

#[test]
fn status_tells_why_nothing_flows_on_this_system() {
    // user_events by name: `Sink::default()` is ETW on Windows.
    let processor = Processor::builder("st")
        .with_sink(Sink::UserEvents)
        .build()
        .unwrap();
    let status = processor.status();
    assert_eq!(
        status
            .iter()
            .map(|s| s.tracepoint.as_str())
            .collect::<Vec<_>>(),
        ["st_L1K1", "st_L2K1", "st_L3K1", "st_L4K1", "st_L5K1"]
    );
    let linux = cfg!(target_os = "linux");
    let has_user_events =
        linux && std::path::Path::new("/sys/kernel/tracing/user_events_data").exists();
    for s in &status {
        if has_user_events {
            assert_eq!(s.status, TracepointStatus::Registered);
        } else if linux {
            // This machine's kernel lacks CONFIG_USER_EVENTS: ENOENT if tracefs is
            // mounted, EOPNOTSUPP if not; either way the reason is reported, not an error.
            assert!(
                matches!(
                    s.status,
                    TracepointStatus::UnsupportedKernel {
                        errno: libc::ENOENT
                    } | TracepointStatus::TracefsMissing {
                        errno: libc::EOPNOTSUPP
                    }
                ),
                "{:?}",
                s.status
            );
            assert!(!s.status.to_string().is_empty());
        } else {
            // Off Linux the tracepoint crate's registration is a no-op that reports
            // success: the status must not claim a registration.
            assert_eq!(s.status, TracepointStatus::UserEventsUnavailable);
            assert!(s.status.to_string().contains("only on Linux"));
        }
    }
    if !has_user_events {
        let provider = SdkLoggerProvider::builder().build();
        assert!(!processor.event_enabled(Severity::Fatal, "t", None));
        processor.emit(&mut info(&provider), &InstrumentationScope::default());
        assert_eq!(processor.stats(), Default::default());
    }
}

#[test]
fn a_callback_that_logs_while_naming_does_not_panic() {
    // Re-entrancy: the callback emits through the same processor while an event is encoded.
    use std::sync::{Arc, OnceLock};
    let slot: Arc<OnceLock<(Processor, SdkLoggerProvider)>> = Arc::new(OnceLock::new());
    let inner = slot.clone();
    let name = EventName::from_fn(move |_| {
        if let Some((p, provider)) = inner.get() {
            thread_local!(static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
            if DEPTH.get() == 0 {
                DEPTH.set(1);
                p.emit(&mut info(provider), &InstrumentationScope::default());
                DEPTH.set(0);
            }
        }
        "Named".into()
    });
    let (processor, capture) = capture_processor(Processor::builder("re").with_event_name(name));
    let _ = slot.set((processor, SdkLoggerProvider::builder().build()));
    let (p, provider) = slot.get().unwrap();
    p.emit(&mut info(provider), &InstrumentationScope::default());
    assert_eq!(capture.events().len(), 2);
    assert_eq!(p.stats().written, 2);
}

#[test]
fn keywords_register_on_first_use_up_to_the_limit() {
    use opentelemetry::logs::AnyValue::Int;
    let (processor, capture) = capture_processor(Processor::builder("kw").with_keyword_fn(|r| {
        r.attributes_iter()
            .find(|(k, _)| k.as_str() == "kw")
            .and_then(|(_, v)| {
                if let Int(i) = v {
                    Some(*i as u64)
                } else {
                    None
                }
            })
            .unwrap_or(1)
    }));
    let provider = SdkLoggerProvider::builder().build();
    for kw in [1u64, 0x20, 0x20, 0xabc] {
        let mut r = record(
            &provider,
            Some(Severity::Warn),
            None,
            vec![("kw", Int(kw as i64))],
        );
        processor.emit(&mut r, &InstrumentationScope::default());
    }
    let got: Vec<String> = capture.events().into_iter().map(|e| e.tracepoint).collect();
    assert_eq!(got, ["kw_L3K1", "kw_L3K20", "kw_L3K20", "kw_L3Kabc"]);
    assert_eq!(processor.status().len(), 15, "three keywords × five levels");
    for kw in 0..200u64 {
        let mut r = record(
            &provider,
            Some(Severity::Warn),
            None,
            vec![("kw", Int(1000 + kw as i64))],
        );
        processor.emit(&mut r, &InstrumentationScope::default());
    }
    let stats = processor.stats();
    assert_eq!(processor.status().len(), otel_os_events::MAX_KEYWORDS * 5);
    assert_eq!(
        stats.dropped(DropReason::KeywordLimit),
        200 - (otel_os_events::MAX_KEYWORDS as u64 - 3)
    );
    assert_eq!(stats.accepted, stats.written + stats.dropped_total());
}

#[test]
fn the_listener_callback_hears_sessions_come_and_go() {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let heard: Arc<Mutex<Vec<otel_os_events::ListenerChange>>> = Arc::default();
    let sink = heard.clone();
    let capture = otel_os_events::sink::CaptureSink::new();
    capture.set_listening_all(false);
    let processor = Processor::builder("lc")
        .with_sink(otel_os_events::sink::Sink::Capture(capture.clone()))
        .with_listener_callback(move |c| sink.lock().unwrap().push(c.clone()))
        .with_listener_poll_interval(Duration::from_millis(5))
        .build()
        .unwrap();
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while heard.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "callback not called: {:?}",
                heard.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    capture.set_listening("lc_L2K1", true);
    wait_for(1);
    capture.set_listening("lc_L2K1", false);
    wait_for(2);
    let heard = heard.lock().unwrap().clone();
    let expect = |listening| otel_os_events::ListenerChange {
        tracepoint: "lc_L2K1".into(),
        level: 2,
        keyword: 1,
        listening,
    };
    assert_eq!(heard, [expect(true), expect(false)]);
    drop(processor); // stops and joins the watcher
}

#[test]
fn size_limits_change_at_run_time() {
    use otel_os_events::logs::OversizePolicy;
    let (processor, capture) = capture_processor(Processor::builder("rc"));
    let handle = processor.handle();
    let provider = SdkLoggerProvider::builder().build();
    let big = || {
        record(
            &provider,
            Some(Severity::Info),
            Some(AnyValue::String("x".repeat(3_000).into())),
            vec![],
        )
    };
    processor.emit(&mut big(), &InstrumentationScope::default());
    handle.set_max_event_size(1_024).unwrap();
    processor.emit(&mut big(), &InstrumentationScope::default());
    handle.set_oversize_policy(OversizePolicy::Drop);
    processor.emit(&mut big(), &InstrumentationScope::default());
    let sizes: Vec<usize> = capture.events().iter().map(|e| e.payload.len()).collect();
    assert_eq!(sizes.len(), 2);
    assert!(sizes[0] > 3_000 && sizes[1] <= 1_024, "{sizes:?}");
    let stats = processor.stats();
    assert_eq!(
        (
            stats.written,
            stats.truncated,
            stats.dropped(DropReason::Oversize)
        ),
        (2, 1, 1)
    );
    assert!(matches!(
        handle.set_max_event_size(10),
        Err(Error::InvalidMaxEventSize { .. })
    ));
}
