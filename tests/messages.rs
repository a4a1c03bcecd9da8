//! Messages a user reads: the crate's warnings (one naming scheme, one per processor whose
//! tracepoints cannot be registered, for every signal), and errors and statuses that say how
//! to fix what they report.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use otel_os_events::logs::Processor;
use otel_os_events::metrics::Exporter;
use otel_os_events::sink::{CaptureSink, Sink, TracepointStatus};
use otel_os_events::Error;
use tracing_subscriber::prelude::*;

/// One tracing event: its target, name and fields as text.
type Seen = (String, String, String);

/// Every tracing event seen by the global subscriber.
fn warnings() -> &'static Mutex<Vec<Seen>> {
    static SEEN: OnceLock<Mutex<Vec<Seen>>> = OnceLock::new();
    SEEN.get_or_init(|| {
        tracing_subscriber::registry().with(Collect).init();
        Mutex::new(Vec::new())
    })
}

/// The names and fields of the crate's events whose fields mention `needle`.
fn warnings_about(needle: &str) -> Vec<(String, String)> {
    let seen = warnings().lock().unwrap();
    seen.iter()
        .filter(|(target, _, fields)| target == "otel-os-events" && fields.contains(needle))
        .map(|(_, name, fields)| (name.clone(), fields.clone()))
        .collect()
}

struct Collect;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Collect {
    fn on_event(&self, event: &tracing::Event<'_>, _cx: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let meta = event.metadata();
        let seen = (meta.target().to_owned(), meta.name().to_owned(), fields.0);
        warnings().lock().unwrap().push(seen);
    }
}

/// The sink this system cannot have: ETW off Windows, user_events on Windows. Its
/// registration fails everywhere, in the VM too.
fn unavailable_sink() -> Sink {
    if cfg!(windows) {
        Sink::UserEvents
    } else {
        Sink::Etw
    }
}

#[test]
fn every_signal_warns_once_when_its_tracepoints_cannot_be_registered() {
    warnings();
    let logs = Processor::builder("WarnLogs")
        .with_sink(unavailable_sink())
        .build()
        .unwrap();
    let spans = otel_os_events::traces::Processor::builder("WarnSpans")
        .with_sink(unavailable_sink())
        .build()
        .unwrap();
    let metrics = Exporter::builder()
        .with_sink(unavailable_sink())
        .build()
        .unwrap();
    for (provider, status) in [
        ("WarnLogs", logs.status()),
        ("WarnSpans", spans.status()),
        ("otlp_metrics", metrics.status()),
    ] {
        assert!(!status[0].status.is_registered(), "{status:?}");
        let seen = warnings_about(provider);
        assert_eq!(seen.len(), 1, "one warning for {provider}: {seen:?}");
        assert_eq!(seen[0].0, "OsEvents.NotRegistered");
        assert!(seen[0].1.contains("nothing will be written"), "{seen:?}");
    }
}

#[test]
fn the_metrics_oversize_warning_follows_the_naming_scheme() {
    warnings();
    let capture = CaptureSink::new();
    let exporter = Exporter::builder()
        .with_sink(Sink::Capture(capture))
        .with_max_event_size(512)
        .build()
        .unwrap();
    let handle = exporter.handle();
    let provider = SdkMeterProvider::builder()
        .with_periodic_exporter(exporter)
        .build();
    let counter = provider.meter("m").u64_counter("too_big_to_fit").build();
    counter.add(1, &[KeyValue::new("k", "v".repeat(1_000))]);
    provider.force_flush().unwrap();
    assert_eq!(handle.stats().dropped_total(), 1);
    let seen = warnings_about("too_big_to_fit");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "OsEvents.MetricsOversize");
    provider.shutdown().unwrap();
    let ours = warnings().lock().unwrap().clone();
    for (target, name, _) in ours {
        if target == "otel-os-events" {
            assert!(
                name.starts_with("OsEvents."),
                "{name}: not in the OsEvents.* scheme"
            );
        }
    }
}

#[test]
fn a_missing_tracefs_names_both_causes_and_the_mount_command() {
    let text = TracepointStatus::TracefsMissing { errno: 95 }.to_string();
    for part in [
        "errno 95",
        "mount -t tracefs nodev /sys/kernel/tracing",
        "CONFIG_USER_EVENTS",
        "/sys/kernel/tracing/user_events_data",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text:?}");
    }
    let denied = TracepointStatus::PermissionDenied { errno: 13 }.to_string();
    assert!(denied.contains("root"), "{denied}");
}

#[test]
fn long_invalid_names_are_cut_in_messages_and_kept_in_the_error() {
    let long = format!("{}-", "p".repeat(299));
    let err = Processor::builder(&long)
        .with_sink(Sink::UserEvents)
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.len() < 200, "{} bytes: {text}", text.len());
    assert!(text.contains("(300 bytes)"), "{text}");
    assert!(matches!(err, Error::InvalidProviderName { ref name, .. } if *name == long));
    let short = Processor::builder("a-b")
        .with_sink(Sink::UserEvents)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        short.contains("\"a-b\":"),
        "a short name is shown whole: {short}"
    );
}

#[test]
fn an_out_of_range_poll_interval_is_a_typed_error() {
    let build = |interval| {
        Processor::builder("poll")
            .with_sink(Sink::Capture(CaptureSink::new()))
            .with_listener_callback(|_| {})
            .with_listener_poll_interval(interval)
            .build()
    };
    for interval in [
        Duration::ZERO,
        Duration::from_micros(999),
        Duration::from_secs(61),
    ] {
        let err = build(interval).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidPollInterval {
                interval,
                min: Duration::from_millis(1),
                max: Duration::from_secs(60),
            }
        );
        assert!(err.to_string().contains("poll interval"), "{err}");
    }
    for interval in [Duration::from_millis(1), Duration::from_secs(60)] {
        assert!(build(interval).is_ok(), "{interval:?}");
    }
}

#[test]
fn a_refused_size_names_the_sink_and_why() {
    let etw = Processor::builder("size")
        .with_sink(Sink::Capture(CaptureSink::etw()))
        .with_max_event_size(65_361)
        .build()
        .unwrap_err()
        .to_string();
    assert!(etw.contains("512..=65360 bytes, what ETW takes"), "{etw}");
    assert!(etw.contains("ETW refuses events over 64 KiB"), "{etw}");
    let metrics = Exporter::builder()
        .with_sink(Sink::Capture(CaptureSink::new()))
        .with_max_event_size(65_552)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        metrics.contains("512..=65551 bytes, what user_events takes"),
        "{metrics}"
    );
    assert!(metrics.contains("__rel_loc length is 16 bits"), "{metrics}");
}
