//! The rules that differ between the two sinks, provider names and maximum event sizes: one
//! rule per sink, checked the same way by the builders and by
//! `ProcessorHandle::set_max_event_size`, and an option one sink takes and the other refuses
//! gets an error that names the sink and the rule.
//!
//! Every sink builds on every system (off its OS it only reports itself unavailable), and a
//! capture follows the rules of the format it captures, so all of this runs on Linux and
//! Windows alike.

mod common;

use common::record;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::{OversizePolicy, Processor, MIN_MAX_EVENT_SIZE};
use otel_os_events::metrics::{Exporter, MAX_MAX_EVENT_SIZE};
use otel_os_events::sink::{CaptureSink, Sink, SinkKind};
use otel_os_events::{traces, Error};
use otel_os_events::{DEFAULT_ETW_MAX_EVENT_SIZE, MAX_EVENT_SIZE_LIMIT};

/// Each sink kind with the sinks that follow its rules: the OS sink and a capture.
fn sinks() -> Vec<(SinkKind, Sink)> {
    vec![
        (SinkKind::UserEvents, Sink::UserEvents),
        (SinkKind::UserEvents, Sink::Capture(CaptureSink::new())),
        (SinkKind::Etw, Sink::Etw),
        (SinkKind::Etw, Sink::Capture(CaptureSink::etw())),
    ]
}

/// The largest maximum event size of logs and spans on `kind`.
fn record_max(kind: SinkKind) -> usize {
    match kind {
        SinkKind::UserEvents => MAX_EVENT_SIZE_LIMIT,
        _ => DEFAULT_ETW_MAX_EVENT_SIZE,
    }
}

fn size_error(err: &Error) -> (usize, usize, usize, SinkKind, &'static str) {
    match *err {
        Error::InvalidMaxEventSize {
            size,
            min,
            max,
            sink,
            rule,
        } => (size, min, max, sink, rule),
        ref other => panic!("not a size error: {other:?}"),
    }
}

#[test]
fn the_documented_limits() {
    assert_eq!(MAX_EVENT_SIZE_LIMIT, 65_467);
    assert_eq!(DEFAULT_ETW_MAX_EVENT_SIZE, 65_360);
    assert_eq!(MAX_MAX_EVENT_SIZE, 65_551);
    assert_eq!(MIN_MAX_EVENT_SIZE, 512);
}

#[test]
fn builder_and_handle_share_one_size_rule_per_sink() {
    for (kind, sink) in sinks() {
        let max = record_max(kind);
        let build = |size| {
            Processor::builder("rules")
                .with_sink(sink.clone())
                .with_max_event_size(size)
                .build()
        };
        let handle = build(max).expect("the largest size").handle();
        assert!(build(MIN_MAX_EVENT_SIZE).is_ok(), "{kind}");
        handle.set_max_event_size(max).unwrap();
        handle.set_max_event_size(MIN_MAX_EVENT_SIZE).unwrap();
        for bad in [MIN_MAX_EVENT_SIZE - 1, max + 1, usize::MAX] {
            let from_builder = build(bad).unwrap_err();
            let from_handle = handle.set_max_event_size(bad).unwrap_err();
            assert_eq!(
                from_builder, from_handle,
                "{kind}, {bad}: one rule, one error"
            );
            let (size, min, allowed, named, rule) = size_error(&from_builder);
            assert_eq!(
                (size, min, allowed, named),
                (bad, MIN_MAX_EVENT_SIZE, max, kind)
            );
            assert!(!rule.is_empty());
            let text = from_builder.to_string();
            assert!(
                text.contains(&kind.to_string()) && text.contains(rule),
                "{text}"
            );
        }
        // Spans follow the same rule.
        let span = |size| {
            traces::Processor::builder("rules")
                .with_sink(sink.clone())
                .with_max_event_size(size)
                .build()
        };
        assert!(span(max).is_ok(), "{kind}");
        assert_eq!(
            span(max + 1).unwrap_err(),
            build(max + 1).unwrap_err(),
            "{kind}"
        );
    }
}

#[test]
fn a_size_user_events_takes_and_etw_refuses_names_etw() {
    let between = 65_400;
    assert!(DEFAULT_ETW_MAX_EVENT_SIZE < between && between <= MAX_EVENT_SIZE_LIMIT);
    for (kind, sink) in sinks() {
        let built = Processor::builder("rules")
            .with_sink(sink.clone())
            .with_max_event_size(between)
            .build();
        let handle = Processor::builder("rules")
            .with_sink(sink)
            .build()
            .unwrap()
            .handle();
        let set = handle.set_max_event_size(between);
        match kind {
            SinkKind::UserEvents => {
                assert!(built.is_ok() && set.is_ok());
            }
            _ => {
                let err = built.unwrap_err();
                assert_eq!(size_error(&err).3, SinkKind::Etw);
                assert!(err.to_string().contains("ETW"), "{err}");
                // Before the one rule, the handle took this size for ETW.
                assert_eq!(set.unwrap_err(), err);
            }
        }
    }
}

#[test]
fn a_refused_size_changes_nothing() {
    for capture in [CaptureSink::new(), CaptureSink::etw()] {
        let processor = Processor::builder("rules")
            .with_sink(Sink::Capture(capture.clone()))
            .with_oversize_policy(OversizePolicy::Truncate)
            .build()
            .unwrap();
        let handle = processor.handle();
        handle.set_max_event_size(1_024).unwrap();
        assert!(handle.set_max_event_size(70_000).is_err());
        let provider = SdkLoggerProvider::builder().build();
        let body = AnyValue::String("x".repeat(5_000).into());
        processor.emit(
            &mut record(&provider, Some(Severity::Info), Some(body), vec![]),
            &InstrumentationScope::default(),
        );
        let events = capture.events();
        assert_eq!(events.len(), 1);
        assert!(
            events[0].payload.len() <= 1_024,
            "still cut to 1,024: {}",
            events[0].payload.len()
        );
        assert_eq!(processor.stats().truncated, 1);
    }
}

#[test]
fn metrics_sizes_follow_the_same_rule_per_sink() {
    for (kind, sink) in sinks() {
        let max = match kind {
            SinkKind::UserEvents => MAX_MAX_EVENT_SIZE,
            _ => DEFAULT_ETW_MAX_EVENT_SIZE,
        };
        let build = |size| {
            Exporter::builder()
                .with_sink(sink.clone())
                .with_max_event_size(size)
                .build()
        };
        assert_eq!(build(max).unwrap().max_event_size(), max, "{kind}");
        for bad in [511, max + 1] {
            let (size, min, allowed, named, _) = size_error(&build(bad).unwrap_err());
            assert_eq!((size, min, allowed, named), (bad, 512, max, kind), "{kind}");
        }
    }
    // The size between the two limits: user_events takes it, ETW refuses it, by name.
    let between = 65_400;
    assert!(Exporter::builder()
        .with_sink(Sink::UserEvents)
        .with_max_event_size(between)
        .build()
        .is_ok());
    let err = Exporter::builder()
        .with_sink(Sink::Etw)
        .with_max_event_size(between)
        .build()
        .unwrap_err();
    assert_eq!(size_error(&err).3, SinkKind::Etw);
}

#[test]
fn provider_names_one_sink_takes_and_the_other_refuses_name_the_sink_and_the_rule() {
    let refused = |sink: Sink, name: &str| -> (SinkKind, &'static str) {
        match Processor::builder(name).with_sink(sink).build() {
            Err(Error::InvalidProviderName {
                name: given,
                sink,
                rule,
            }) => {
                assert_eq!(given, name);
                (sink, rule)
            }
            other => panic!("{name:?}: {other:?}"),
        }
    };
    let takes = |sink: Sink, name: &str| Processor::builder(name).with_sink(sink).build().is_ok();

    // ETW names may hold dots and dashes (and be long); user_events names may not.
    let long = "a".repeat(234);
    for name in ["MyCompany.MyComponent", "My-Provider", "with space", &long] {
        assert!(takes(Sink::Etw, name), "{name}");
        assert!(takes(Sink::Capture(CaptureSink::etw()), name), "{name}");
        let (sink, rule) = refused(Sink::UserEvents, name);
        assert_eq!(sink, SinkKind::UserEvents, "{name}");
        let expected = if name.len() > 233 {
            "at most 233 bytes"
        } else {
            "only A-Z, a-z, 0-9 and _ are allowed"
        };
        assert_eq!(rule, expected, "{name}");
        assert_eq!(
            refused(Sink::Capture(CaptureSink::new()), name),
            (sink, rule)
        );
        let text = Processor::builder(name)
            .with_sink(Sink::UserEvents)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("user_events") && text.contains(rule),
            "{text}"
        );
    }
    // Names both refuse, each by its own rule.
    let huge = "a".repeat(32_768);
    assert_eq!(
        refused(Sink::Etw, &huge),
        (SinkKind::Etw, "at most 32,767 bytes")
    );
    assert_eq!(refused(Sink::Etw, "nul\0"), (SinkKind::Etw, "no NUL"));
    assert_eq!(refused(Sink::Etw, "").0, SinkKind::Etw);
    assert_eq!(refused(Sink::UserEvents, "").0, SinkKind::UserEvents);
    assert_eq!(refused(Sink::UserEvents, "nul\0").0, SinkKind::UserEvents);
    // Names both take.
    assert!(takes(Sink::Etw, "my_provider_1") && takes(Sink::UserEvents, "my_provider_1"));
}

#[test]
fn the_default_sink_is_the_os_one() {
    // `Sink::default()` is ETW on Windows, user_events elsewhere: so the default builder
    // applies that sink's name rule.
    let dotted = Processor::builder("MyCompany.MyComponent").build();
    if common::platform::DEFAULT_SINK_IS_ETW {
        assert!(dotted.is_ok());
        assert_eq!(Sink::default().kind(), SinkKind::Etw);
    } else {
        assert!(matches!(
            dotted,
            Err(Error::InvalidProviderName {
                sink: SinkKind::UserEvents,
                ..
            })
        ));
        assert_eq!(Sink::default().kind(), SinkKind::UserEvents);
    }
}
