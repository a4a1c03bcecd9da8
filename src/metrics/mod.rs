//! Metrics: an OpenTelemetry [`PushMetricExporter`](opentelemetry_sdk::metrics::exporter::PushMetricExporter) that writes OTLP protobuf to the
//! user_events tracepoint `otlp_metrics`, the layout agents already read from the Rust and
//! .NET Geneva exporters, or to ETW's `NativeMetricsExtension_Provider` (see [On ETW](#on-etw)).
//!
//! Three ways in:
//!
//! - the seed API: [`UserEventsMeterProviderBuilderExt::with_user_events_exporter`];
//! - on Windows: [`EtwMeterProviderBuilderExt::with_etw_exporter`];
//! - the full builder, [`Exporter::builder`], whose `build()` returns a typed
//!   [`Error`] for every invalid option.
//!
//! # On ETW
//!
//! With [`Sink::Etw`] each buffer is a TraceLogging event named `otlp_metrics`, id
//! [`ETW_EVENT_ID`] (81), version 0, level 4, keyword 1, of provider [`ETW_PROVIDER_NAME`] with
//! the fixed id [`ETW_PROVIDER_ID`]: metadata is the event name alone, data is the OTLP buffer
//! (no fields), as the existing ETW metrics exporter writes. The default maximum event size
//! there is [`DEFAULT_ETW_MAX_EVENT_SIZE`](crate::encode::DEFAULT_ETW_MAX_EVENT_SIZE).
//!
//! # Event layout
//!
//! One tracepoint, registered as
//! `otlp_metrics u32 protocol;char[8] version;__rel_loc u8[] buffer;`:
//!
//! | field | bytes | value |
//! |---|---|---|
//! | `protocol` | 4 | 0: OTLP protobuf |
//! | `version` | 8 | `v0.19.00` |
//! | `buffer` | 4 (`__rel_loc`) | length in the high 16 bits, offset 0 (from the end of this word) in the low 16 |
//! | the buffer | length | an OTLP `ExportMetricsServiceRequest` |
//!
//! # Packing
//!
//! Each event holds as many data points, of one metric or several, as fit the maximum event
//! size (default [`DEFAULT_MAX_EVENT_SIZE`], the perf path's limit), each event repeating
//! only the resource, scope and metric envelopes of the points it holds. The protobuf is
//! written from the SDK's borrowed data with prost's encoding functions, into buffers the
//! exporter reuses: no OTLP structs are built, and once warmed up a sync-mode export
//! allocates nothing (`tests/metrics_alloc.rs` counts). Sizes are measured, never estimated,
//! and no event exceeds the limit. A data point that does not fit even alone (a histogram
//! with thousands of buckets, a huge attribute) is dropped, counted as
//! [`DropReason::Oversize`](crate::DropReason::Oversize), and named in one warning per export
//! through OpenTelemetry's internal logging.
//!
//! # Cost and threads
//!
//! An export runs on the SDK reader's thread (the `PeriodicReader`'s), off the application's
//! threads. By default (sync mode) the exporter encodes and writes right there; with
//! [`ExporterBuilder::with_mode`] and [`Mode::Queued`](crate::mode::Mode::Queued) it encodes
//! and enqueues, and one flush thread writes, which spares the reader only the writes. The
//! SDK's reader does not call the exporter's own `force_flush`, so in queued mode call
//! [`ProcessorHandle::force_flush`](crate::ProcessorHandle::force_flush) after
//! `SdkMeterProvider::force_flush` when you need the events written. When no session
//! listens, an export reads one enable word and returns `Ok` without encoding anything.
//!
//! # Counters
//!
//! [`Exporter::stats`] counts **data points**: accepted (every point of an export made while
//! a session listened), written, and dropped by reason; at rest
//! `accepted == written + dropped_total()`. [`ExporterHandle::events_written`] counts events.
//!
//! ```no_run
//! use opentelemetry::metrics::MeterProvider as _;
//! use opentelemetry_sdk::metrics::SdkMeterProvider;
//! use otel_os_events::UserEventsMeterProviderBuilderExt;
//!
//! let provider = SdkMeterProvider::builder().with_user_events_exporter().build();
//! let counter = provider.meter("app").u64_counter("requests").build();
//! counter.add(1, &[]);
//! provider.shutdown().ok();
//! ```

mod encode;
mod exporter;
mod framing;
mod otlp;

pub use encode::{
    HEADER_LEN, MAX_BUFFER_LEN, PROTOCOL_OTLP_PROTOBUF, PROTOCOL_VERSION, TRACEPOINT_FIELDS,
    TRACEPOINT_NAME,
};
pub use exporter::Exporter;

/// The metrics exporter's handle: the same [`ProcessorHandle`](crate::ProcessorHandle) as
/// for logs and spans (this name is kept for code written against earlier releases).
pub type ExporterHandle = crate::ProcessorHandle;
pub use framing::{ETW_EVENT_ID, ETW_PROVIDER_ID, ETW_PROVIDER_NAME};

use opentelemetry_sdk::metrics::{MeterProviderBuilder, Temporality};

use crate::error::Error;
use crate::pipeline::{add_or_warn, option_setters, Options, Payload};
pub use crate::pipeline::{DEFAULT_MAX_EVENT_SIZE, MIN_MAX_EVENT_SIZE};
use crate::sink::Sink;

/// The largest maximum event size the builder accepts on user_events: the header plus the
/// longest buffer a 16-bit `__rel_loc` length describes. ETW takes at most
/// [`DEFAULT_ETW_MAX_EVENT_SIZE`](crate::DEFAULT_ETW_MAX_EVENT_SIZE).
pub const MAX_MAX_EVENT_SIZE: usize = crate::pipeline::MAX_METRICS_EVENT_SIZE;
const _: () = assert!(MAX_MAX_EVENT_SIZE == HEADER_LEN + MAX_BUFFER_LEN);

/// Builds an [`Exporter`]; see [`Exporter::builder`]. Its options: temporality, maximum
/// event size, sink and mode (the provider is fixed by the format: `otlp_metrics`, or
/// [`ETW_PROVIDER_NAME`] on ETW).
///
/// ```
/// use otel_os_events::metrics::Exporter;
/// use otel_os_events::mode::{Mode, QueueOptions};
///
/// let exporter = Exporter::builder()
///     .with_mode(Mode::Queued(QueueOptions::default()))
///     .build()?;
/// let handle = exporter.handle();
/// // ... after SdkMeterProvider::force_flush, wait for the flush thread too:
/// handle.force_flush().unwrap();
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ExporterBuilder {
    /// Size, sink and mode: what every builder has (the provider is fixed by the format).
    options: Options,
    temporality: Temporality,
}

option_setters!(ExporterBuilder: max_event_size, sink, mode);

impl ExporterBuilder {
    fn new() -> Self {
        ExporterBuilder {
            options: Options::new(TRACEPOINT_NAME),
            temporality: Temporality::Delta,
        }
    }

    /// The temporality the SDK aggregates with for this exporter (default
    /// [`Temporality::Delta`], as the existing exporters).
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// Validates the options and registers the tracepoint.
    ///
    /// A kernel without user_events is not an error: the exporter is built, writes nothing,
    /// and [`Exporter::status`] says why (one warning is logged through OpenTelemetry's
    /// internal logging).
    ///
    /// In queued mode the export encodes and enqueues and one flush thread writes
    /// (`force_flush` waits for it). The reader already exports off the application's
    /// threads, so queued mode only spares the reader the writes; counters stay in data
    /// points either way.
    pub fn build(self) -> Result<Exporter, Error> {
        let max_event_size = self.options.validate(Payload::Metrics)?;
        Exporter::new(self.options, self.temporality, max_event_size)
    }
}

/// Adds a user_events metrics exporter to a `MeterProviderBuilder`.
pub trait UserEventsMeterProviderBuilderExt {
    /// Adds an [`Exporter`] with default options (delta temporality, events up to
    /// [`DEFAULT_MAX_EVENT_SIZE`]) through the SDK's `PeriodicReader`, which exports every
    /// 60 s unless `OTEL_METRIC_EXPORT_INTERVAL` (ms) says otherwise.
    ///
    /// This cannot return an error: should building fail, **no exporter is added** and one
    /// warning is logged through OpenTelemetry's internal logging. Use
    /// [`Exporter::builder`] to get the error.
    ///
    /// ```no_run
    /// use opentelemetry_sdk::metrics::SdkMeterProvider;
    /// use otel_os_events::UserEventsMeterProviderBuilderExt;
    ///
    /// let provider = SdkMeterProvider::builder().with_user_events_exporter().build();
    /// # drop(provider);
    /// ```
    fn with_user_events_exporter(self) -> Self;
}

impl UserEventsMeterProviderBuilderExt for MeterProviderBuilder {
    fn with_user_events_exporter(self) -> Self {
        add_exporter(self, Sink::UserEvents)
    }
}

/// Adds an ETW metrics exporter to a `MeterProviderBuilder`.
pub trait EtwMeterProviderBuilderExt {
    /// Adds an [`Exporter`] writing to ETW (provider [`ETW_PROVIDER_NAME`]) with default
    /// options, through the SDK's `PeriodicReader`: the ETW twin of
    /// [`UserEventsMeterProviderBuilderExt::with_user_events_exporter`], with the same
    /// behaviour when building fails (no exporter, one warning).
    ///
    /// ```no_run
    /// use opentelemetry_sdk::metrics::SdkMeterProvider;
    /// use otel_os_events::EtwMeterProviderBuilderExt;
    ///
    /// let provider = SdkMeterProvider::builder().with_etw_exporter().build();
    /// # drop(provider);
    /// ```
    fn with_etw_exporter(self) -> Self;
}

impl EtwMeterProviderBuilderExt for MeterProviderBuilder {
    fn with_etw_exporter(self) -> Self {
        add_exporter(self, Sink::Etw)
    }
}

fn add_exporter(builder: MeterProviderBuilder, sink: Sink) -> MeterProviderBuilder {
    let built = Exporter::builder().with_sink(sink).build();
    add_or_warn(builder, "metrics", built, |b, e| {
        b.with_periodic_exporter(e)
    })
}
