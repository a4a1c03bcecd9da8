//! The push exporter: the SDK's PeriodicReader hands it each collection.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::otel_warn;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use parking_lot::Mutex;

use crate::mode::Writer;
use crate::sink::{Tracepoint, TracepointStatusEntry};

use super::framing::Framing;
use crate::stats::Counters;
use crate::{DropReason, Error, Stats};

use super::encode::{count_points, pack_resource_metrics, TRACEPOINT_NAME};
use super::ExporterBuilder;
use crate::pipeline::Options;

/// Writes OpenTelemetry metrics to the user_events tracepoint `otlp_metrics`, packing as many
/// data points into each event as fit (see the [module docs](super)).
///
/// Give it to the SDK with `MeterProviderBuilder::with_periodic_exporter` (or a
/// `PeriodicReader` of your own); keep a [`handle`](Self::handle) first to read its counters
/// later.
pub struct Exporter {
    shared: Arc<Shared>,
    temporality: Temporality,
    max_event_size: usize,
    shut_down: AtomicBool,
    /// The encoding buffer, reused across exports.
    scratch: Mutex<Vec<u8>>,
}

/// What an exporter shares with its handles.
struct Shared {
    tracepoint: Arc<Tracepoint>,
    framing: Framing,
    /// Counted in data points (and events written).
    counters: Arc<Counters>,
    /// Sync or queued: the write path every signal uses.
    writer: Writer,
}

impl Exporter {
    /// Starts building an exporter.
    ///
    /// ```
    /// use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
    /// use otel_os_events::metrics::Exporter;
    ///
    /// let exporter = Exporter::builder()
    ///     .with_temporality(Temporality::Cumulative)
    ///     .with_max_event_size(4096)
    ///     .build()?;
    /// let handle = exporter.handle();
    /// let provider = SdkMeterProvider::builder().with_periodic_exporter(exporter).build();
    /// # drop(provider);
    /// # assert_eq!(handle.stats().dropped_total(), 0);
    /// # Ok::<(), otel_os_events::Error>(())
    /// ```
    pub fn builder() -> ExporterBuilder {
        ExporterBuilder::new()
    }

    pub(super) fn new(
        options: Options,
        temporality: Temporality,
        max_event_size: usize,
    ) -> Result<Self, Error> {
        let (framing, tracepoint) = Framing::register(&options.sink);
        let status = tracepoint.status();
        if !status.is_registered() {
            // One diagnostic per exporter, never one per export.
            otel_warn!(
                name: "OsEvents.NotRegistered",
                tracepoint = TRACEPOINT_NAME,
                status = status.to_string(),
                message = "the metrics tracepoint (or ETW provider) could not be registered: nothing will be written"
            );
        }
        let counters = Arc::new(Counters::new());
        let writer = Writer::new(&options.mode, &counters)?;
        let shared = Arc::new(Shared {
            tracepoint: Arc::new(tracepoint),
            framing,
            counters,
            writer,
        });
        Ok(Exporter {
            shared,
            temporality,
            max_event_size,
            shut_down: AtomicBool::new(false),
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// Counters in **data points**: accepted (every point of an export made while a session
    /// listened), written, and dropped by reason (oversize, write error, after shutdown).
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// The `otlp_metrics` tracepoint with its registration state.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        self.handle().status()
    }

    /// A view of [`stats`](Self::stats) and [`status`](Self::status) that outlives handing
    /// the exporter to the SDK.
    pub fn handle(&self) -> ExporterHandle {
        ExporterHandle {
            shared: self.shared.clone(),
        }
    }

    /// The largest event payload written, header included.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// One export, on the caller's (the reader's) thread.
    fn export_now(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let shared = &*self.shared;
        if self.shut_down.load(Relaxed) {
            let points = count_points(metrics);
            shared.counters.accepted_n(points);
            shared.counters.dropped_n(DropReason::AfterShutdown, points);
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // Nobody listens: nothing to encode, nothing to count.
        if !shared.tracepoint.enabled() {
            return Ok(());
        }
        shared.counters.accepted_n(count_points(metrics));
        let mut scratch = self.scratch.lock();
        let report = pack_resource_metrics(
            metrics,
            self.max_event_size - shared.framing.overhead(),
            &mut scratch,
            |buffer, points| {
                shared
                    .writer
                    .write_payload(&shared.counters, &shared.tracepoint, points, |event| {
                        shared.framing.fill(event, buffer)
                    })
            },
        );
        drop(scratch);
        if report.oversize > 0 {
            shared
                .counters
                .dropped_n(DropReason::Oversize, report.oversize);
            otel_warn!(
                name: "UserEvents.MetricsOversize",
                dropped_points = report.oversize,
                metrics = report.oversize_metrics.join(", "),
                max_event_size = self.max_event_size,
                message = "data points too large for one event, even alone, were dropped"
            );
        }
        Ok(())
    }
}

impl PushMetricExporter for Exporter {
    /// Encodes and writes at once (nothing is buffered): the future is ready when returned.
    /// Returns `Ok` unless the exporter is shut down; what is not written is counted in
    /// [`Exporter::stats`].
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_now(metrics))
    }

    /// Sync mode: nothing is buffered, returns at once. Queued mode: returns once every event
    /// of earlier exports has been written (or counted), or with `Timeout`.
    fn force_flush(&self) -> OTelSdkResult {
        self.shared.writer.flush()
    }

    /// Unregisters the tracepoint; later exports are refused and counted.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.shared.writer.shutdown();
        self.shared.tracepoint.unregister();
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter")
            .field("temporality", &self.temporality)
            .field("max_event_size", &self.max_event_size)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A cheap, cloneable view of an exporter's counters and tracepoint status, valid after the
/// exporter is handed to the SDK.
#[derive(Clone)]
pub struct ExporterHandle {
    shared: Arc<Shared>,
}

impl ExporterHandle {
    /// Queued mode: returns once every event of earlier exports has been written (or
    /// counted), or with `Timeout`; sync mode: at once.
    ///
    /// Call this after `SdkMeterProvider::force_flush` when you need the events written:
    /// the SDK 0.33 `PeriodicReader` exports on flush but does not call the exporter's own
    /// `force_flush`, so it cannot wait for the flush thread.
    pub fn force_flush(&self) -> OTelSdkResult {
        self.shared.writer.flush()
    }

    /// Counters in data points; see [`Exporter::stats`].
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Events written (each holds one or more data points).
    pub fn events_written(&self) -> u64 {
        self.shared.counters.events_written()
    }

    /// The `otlp_metrics` tracepoint with its registration state.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        vec![TracepointStatusEntry {
            tracepoint: self.shared.tracepoint.name().to_owned(),
            status: self.shared.tracepoint.status(),
        }]
    }
}

impl fmt::Debug for ExporterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterHandle")
            .field("stats", &self.stats())
            .field("events_written", &self.events_written())
            .finish()
    }
}
