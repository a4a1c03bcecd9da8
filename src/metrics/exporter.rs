//! The push exporter: the SDK's PeriodicReader hands it each collection.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::otel_warn;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use parking_lot::Mutex;

use crate::encode::OversizePolicy;
use crate::mode::Writer;
use crate::pipeline::{Observe, Options, Payload, ProcessorHandle, SizeRule};
use crate::sink::{SinkKind, Tracepoint, TracepointStatusEntry};
use crate::state::SizeLimits;

use super::framing::Framing;
use crate::error::Error;
use crate::stats::Counters;
use crate::stats::{DropReason, Stats};

use super::encode::{count_points, pack_resource_metrics, Scratch, TRACEPOINT_NAME};
use super::ExporterBuilder;

/// Writes OpenTelemetry metrics to the user_events tracepoint `otlp_metrics`, packing as many
/// data points into each event as fit (see the [module docs](super)).
///
/// Give it to the SDK with `MeterProviderBuilder::with_periodic_exporter` (or a
/// `PeriodicReader` of your own); keep a [`handle`](Self::handle) first to read its counters
/// later.
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry::KeyValue;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use otel_os_events::metrics::Exporter;
/// use otel_os_events::sink::{CaptureSink, Sink};
///
/// let capture = CaptureSink::new();
/// let exporter = Exporter::builder().with_sink(Sink::Capture(capture.clone())).build()?;
/// let handle = exporter.handle();
/// let provider = SdkMeterProvider::builder().with_periodic_exporter(exporter).build();
/// let requests = provider.meter("app").u64_counter("requests").build();
/// for route in ["/a", "/b", "/c"] {
///     requests.add(1, &[KeyValue::new("route", route)]);
/// }
/// provider.force_flush().unwrap(); // an export now, not at the next interval
///
/// assert_eq!(handle.stats().written, 3, "counted in data points");
/// assert_eq!(handle.events_written(), 1, "packed into one otlp_metrics event");
/// assert_eq!(capture.events()[0].tracepoint, "otlp_metrics");
/// # Ok::<(), otel_os_events::Error>(())
/// ```
pub struct Exporter {
    shared: Arc<Shared>,
    temporality: Temporality,
    shut_down: AtomicBool,
    /// The packer's buffers, reused across exports (an export takes the lock once; exports
    /// run on the reader's thread, one at a time).
    scratch: Mutex<Scratch>,
}

/// What an exporter shares with its handles.
struct Shared {
    /// `crate::sync::Arc`, as the writer takes it (loom swaps it).
    tracepoint: crate::sync::Arc<Tracepoint>,
    framing: Framing,
    /// Counted in data points (and events written).
    counters: crate::sync::Arc<Counters>,
    /// Sync or queued: the write path every signal uses.
    writer: Writer,
    /// The largest event, header included (handles may change it).
    max_event_size: AtomicUsize,
    sink: SinkKind,
}

impl Observe for Shared {
    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn status(&self) -> Vec<TracepointStatusEntry> {
        vec![TracepointStatusEntry {
            tracepoint: self.tracepoint.name().to_owned(),
            status: self.tracepoint.status(),
        }]
    }

    fn size_rule(&self) -> SizeRule {
        SizeRule::of(self.sink, Payload::Metrics)
    }

    fn reconfigure(&self, change: &dyn Fn(SizeLimits) -> SizeLimits) {
        let limits = change(SizeLimits {
            max_event_size: self.max_event_size.load(Relaxed),
            oversize: OversizePolicy::Drop,
        });
        self.max_event_size.store(limits.max_event_size, Relaxed);
    }

    fn flush(&self) -> OTelSdkResult {
        self.writer.flush()
    }
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
        let counters = crate::sync::Arc::new(Counters::new());
        let writer = Writer::new(&options.mode, &counters)?;
        let shared = Arc::new(Shared {
            tracepoint: crate::sync::Arc::new(tracepoint),
            framing,
            counters,
            writer,
            max_event_size: AtomicUsize::new(max_event_size),
            sink: SinkKind::of(options.sink.wire()),
        });
        Ok(Exporter {
            shared,
            temporality,
            shut_down: AtomicBool::new(false),
            scratch: Mutex::new(Scratch::default()),
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
    pub fn handle(&self) -> ProcessorHandle {
        ProcessorHandle::new(self.shared.clone())
    }

    /// The largest event payload written, header included.
    pub fn max_event_size(&self) -> usize {
        self.shared.max_event_size.load(Relaxed)
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
            self.max_event_size() - shared.framing.overhead(),
            &mut scratch,
            |request, points| {
                shared
                    .writer
                    .write_payload(&shared.counters, &shared.tracepoint, points, |event| {
                        shared.framing.fill(event, &request)
                    })
            },
        );
        drop(scratch);
        if report.oversize > 0 {
            shared
                .counters
                .dropped_n(DropReason::Oversize, report.oversize);
            otel_warn!(
                name: "OsEvents.MetricsOversize",
                dropped_points = report.oversize,
                metrics = report.oversize_metrics.join(", "),
                max_event_size = self.max_event_size(),
                message = "data points too large for one event, even alone, were dropped"
            );
        }
        Ok(())
    }
}

impl PushMetricExporter for Exporter {
    /// Encodes and writes (sync mode) or enqueues (queued mode) at once: the future is ready
    /// when returned. Returns `Ok` unless the exporter is shut down; what is not written is
    /// counted in [`Exporter::stats`].
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
            .field("max_event_size", &self.max_event_size())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for Exporter {
    /// Dropping the exporter without shutdown still drains its queue (within the deadline)
    /// and stops the flush thread, though handles may keep the writer itself alive.
    fn drop(&mut self) {
        self.shared.writer.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{CaptureSink, Sink};

    #[test]
    fn the_metrics_handle_is_the_processor_handle_with_the_metrics_size_rule() {
        let exporter = Exporter::builder()
            .with_sink(Sink::Capture(CaptureSink::new()))
            .build()
            .unwrap();
        let handle: ProcessorHandle = exporter.handle();
        // 65,551 is the metrics maximum on user_events (a record's is 65,467).
        assert_eq!(handle.set_max_event_size(65_551), Ok(()));
        assert_eq!(exporter.max_event_size(), 65_551);
        let refused = handle.set_max_event_size(65_552).unwrap_err();
        assert!(
            matches!(refused, Error::InvalidMaxEventSize { max: 65_551, .. }),
            "{refused:?}"
        );
        assert_eq!(
            exporter.max_event_size(),
            65_551,
            "a refused size changes nothing"
        );
        assert_eq!(handle.set_max_event_size(1_024), Ok(()));
        assert_eq!(exporter.max_event_size(), 1_024);
        assert_eq!(handle.events_written(), 0);
        assert!(handle.force_flush().is_ok());
    }
}
