//! ETW metrics: each event is the TraceLogging event `otlp_metrics` (id 81, version 0,
//! level 4, keyword 1) whose metadata matches Microsoft's `tracelogging_dynamic` byte for byte
//! and whose data is an OTLP request carrying, point for point, what the SDK handed over,
//! packed under the ETW size limit.

mod common;
mod etw_common;

use common::metrics::*;
use etw_common::*;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use otel_os_events::metrics::{
    Exporter, ETW_EVENT_ID, ETW_PROVIDER_ID, ETW_PROVIDER_NAME, TRACEPOINT_NAME,
};
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::sink::{CaptureSink, EtwCaptured, Sink, TracepointStatus};
use otel_os_events::DEFAULT_ETW_MAX_EVENT_SIZE;
use prost::Message as _;
use tracelogging_dynamic as tld;

/// Every captured event: checks its metadata and descriptor against the reference event and
/// its size against `max`, and decodes its OTLP request.
fn requests(capture: &CaptureSink, max: usize) -> Vec<ExportMetricsServiceRequest> {
    let mut reference_event = tld::EventBuilder::new();
    reference_event
        .reset(TRACEPOINT_NAME, tld::Level::Informational, 1, 0)
        .id_version(ETW_EVENT_ID, 0);
    let reference = reference(&mut reference_event);
    capture
        .take()
        .into_iter()
        .map(|event| {
            let etw: EtwCaptured = event.etw.expect("an ETW event");
            // The reference has no data: compare metadata and descriptor, then the data's
            // content (the OTLP request) separately.
            let with_data = etw_common::Reference {
                data: etw.data.clone(),
                ..reference.clone()
            };
            assert_same(&etw, &with_data);
            assert_eq!(reference.data, Vec::<u8>::new());
            assert!(etw.meta.len() + etw.data.len() <= max);
            assert_eq!((etw.activity_id, etw.related_id), (None, None));
            ExportMetricsServiceRequest::decode(&etw.data[..]).expect("OTLP protobuf")
        })
        .collect()
}

#[test]
fn every_instrument_kind_point_for_point_in_etw_events() {
    let capture = CaptureSink::etw();
    let p = metrics_pipeline(Exporter::builder(), Some(&capture), |b| {
        views(b).with_resource(resource())
    });
    record_everything(&p.provider);
    p.provider.force_flush().unwrap();
    let requests = requests(&capture, DEFAULT_ETW_MAX_EVENT_SIZE);
    assert_eq!(requests.len(), 1, "one export fits one 64 KiB event");
    let seen = p.seen.lock();
    assert_eq!(flatten_proto(&requests), seen.exports[0]);
    assert_eq!(resource_of(&requests[0]), seen.resources[0]);
    assert_eq!(p.handle.events_written(), 1);
}

#[test]
fn a_thousand_series_pack_under_the_limit_and_lose_nothing() {
    for max in [DEFAULT_ETW_MAX_EVENT_SIZE, 4096] {
        let capture = CaptureSink::etw();
        let p = metrics_pipeline(
            Exporter::builder().with_max_event_size(max),
            Some(&capture),
            |b| views(b).with_resource(resource()),
        );
        let counter = p.provider.meter("m").u64_counter("requests").build();
        for i in 0..1_000 {
            counter.add(i + 1, &[KeyValue::new("series", i as i64)]);
        }
        p.provider.force_flush().unwrap();
        let requests = requests(&capture, max);
        let seen = p.seen.lock();
        assert_eq!(flatten_proto(&requests), seen.exports[0], "max {max}");
        assert_eq!(flatten_proto(&requests).len(), 1_000);
        let stats = p.handle.stats();
        assert_eq!((stats.accepted, stats.written), (1_000, 1_000));
        assert_eq!(p.handle.events_written(), requests.len() as u64);
        if max == 4096 {
            assert!(requests.len() > 10, "{} events", requests.len());
        }
    }
}

#[test]
fn the_provider_is_the_native_metrics_extensions() {
    assert_eq!(ETW_PROVIDER_NAME, "NativeMetricsExtension_Provider");
    assert!(ETW_PROVIDER_ID.eq_ignore_ascii_case("EDC24920-E004-40F6-A8E1-0E6E48F39D84"));
    // The id is fixed, not derived from the name as other providers' are.
    assert!(
        !otel_os_events::etw_provider_id(ETW_PROVIDER_NAME).eq_ignore_ascii_case(ETW_PROVIDER_ID)
    );
    let exporter = Exporter::builder().with_sink(Sink::Etw).build().unwrap();
    assert_eq!(exporter.max_event_size(), DEFAULT_ETW_MAX_EVENT_SIZE);
    // ETW exists only on Windows; there (and under Wine) the provider registers.
    let expected = if cfg!(windows) {
        TracepointStatus::Registered
    } else {
        TracepointStatus::EtwUnavailable
    };
    assert_eq!(exporter.status()[0].status, expected);
}

/// The metrics half of "registered, nobody listening" (see `etw_logs.rs`): the provider
/// registers, no session enables it, so an export encodes and writes nothing.
#[cfg(windows)]
#[test]
fn on_windows_the_metrics_provider_registers_and_nobody_listens() {
    let p = metrics_pipeline(Exporter::builder().with_sink(Sink::Etw), None, |b| b);
    assert_eq!(
        p.handle.status()[0].status,
        TracepointStatus::Registered,
        "{:?}",
        p.handle.status()
    );
    let counter = p.provider.meter("m").u64_counter("requests").build();
    for i in 0..100 {
        counter.add(1, &[KeyValue::new("series", i as i64)]);
    }
    p.provider.force_flush().unwrap();
    assert_eq!(p.seen.lock().exports.len(), 1, "the SDK did export");
    assert_eq!(p.handle.events_written(), 0);
    assert_eq!(p.handle.stats(), otel_os_events::Stats::default());
}

#[test]
fn queued_mode_writes_the_same_events_from_the_flush_thread() {
    let capture = CaptureSink::etw();
    let builder = Exporter::builder()
        .with_max_event_size(2048)
        .with_mode(Mode::Queued(QueueOptions::default()));
    let p = metrics_pipeline(builder, Some(&capture), |b| {
        views(b).with_resource(resource())
    });
    let counter = p.provider.meter("m").u64_counter("requests").build();
    for i in 0..300 {
        counter.add(1, &[KeyValue::new("series", i as i64)]);
    }
    p.provider.force_flush().unwrap();
    p.handle.force_flush().unwrap();
    let requests = requests(&capture, 2048);
    assert!(requests.len() > 3);
    assert_eq!(flatten_proto(&requests), p.seen.lock().exports[0]);
    assert_eq!(p.handle.stats().written, 300);
}
