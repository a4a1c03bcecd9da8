//! A view of a processor (logs, spans or metrics) that outlives handing it to the SDK.

use crate::sync::{Arc, AtomicUsize, Ordering::Relaxed};
use std::fmt;

use opentelemetry_sdk::error::OTelSdkResult;

use super::{Payload, SizeRule};
use crate::encode::OversizePolicy;
use crate::error::Error;
use crate::mode::Writer;
use crate::sink::TracepointStatusEntry;
use crate::state::{ProviderState, SizeLimits, TracepointSet};

use crate::stats::Counters;
use crate::stats::Stats;

/// What a processor shares with its handle and its flush thread.
pub(crate) struct Observed {
    pub(crate) state: Arc<ProviderState>,
    /// The builder keyword's tracepoints: also `state`'s first set, fixed for the
    /// processor's life, so the disabled path reads its enable word without a snapshot load.
    pub(crate) default_set: Arc<TracepointSet>,
    /// Shared with the flush thread in queued mode.
    pub(crate) counters: Arc<Counters>,
    /// Sync or queued writing (handles flush it).
    pub(crate) writer: Writer,
    /// The size limits in force: `state`'s, kept here too so that each event reads them
    /// with one relaxed load instead of a snapshot load.
    pub(crate) limits: LimitsCell,
}

/// [`SizeLimits`] in one atomic word: the maximum event size shifted left by one, and the
/// oversize policy in bit 0 (1 = drop).
pub(crate) struct LimitsCell(AtomicUsize);

impl LimitsCell {
    fn pack(limits: SizeLimits) -> usize {
        limits.max_event_size << 1 | usize::from(limits.oversize == OversizePolicy::Drop)
    }

    pub(crate) fn new(limits: SizeLimits) -> Self {
        LimitsCell(AtomicUsize::new(Self::pack(limits)))
    }

    /// The limits in force.
    #[inline]
    pub(crate) fn get(&self) -> SizeLimits {
        let word = self.0.load(Relaxed);
        SizeLimits {
            max_event_size: word >> 1,
            oversize: if word & 1 == 1 {
                OversizePolicy::Drop
            } else {
                OversizePolicy::Truncate
            },
        }
    }

    fn set(&self, limits: SizeLimits) {
        self.0.store(Self::pack(limits), Relaxed);
    }
}

impl Observed {
    /// Registers the provider's first keyword, starts the counters and the writer.
    pub(crate) fn new(state: ProviderState, mode: &crate::mode::Mode) -> Result<Arc<Self>, Error> {
        let (default_set, limits) = {
            let snapshot = state.load();
            (snapshot.sets[0].clone(), snapshot.limits)
        };
        let counters = Arc::new(Counters::new());
        let writer = Writer::new(mode, &counters)?;
        Ok(Arc::new(Observed {
            state: Arc::new(state),
            default_set,
            counters,
            writer,
            limits: LimitsCell::new(limits),
        }))
    }
}

/// What a [`ProcessorHandle`] reads and changes: a logs or span processor's provider state,
/// or a metrics exporter's one tracepoint. Each signal's core implements it; the handle is
/// the same type for all three.
pub(crate) trait Observe: Send + Sync {
    /// The counters (events, or data points for metrics).
    fn counters(&self) -> &Counters;
    /// Each tracepoint with its registration state.
    fn status(&self) -> Vec<TracepointStatusEntry>;
    /// The size rule that [`ProcessorHandle::set_max_event_size`] checks.
    fn size_rule(&self) -> SizeRule;
    /// Swaps in new size limits (`change` gets the ones in force).
    fn reconfigure(&self, change: &dyn Fn(SizeLimits) -> SizeLimits);
    /// Waits for the queued writer (sync: at once).
    fn flush(&self) -> OTelSdkResult;
}

/// A logs or span processor's side of [`Observe`].
pub(crate) struct ProviderView(pub(crate) Arc<Observed>);

impl Observe for ProviderView {
    fn counters(&self) -> &Counters {
        &self.0.counters
    }

    fn status(&self) -> Vec<TracepointStatusEntry> {
        self.0.state.status()
    }

    fn size_rule(&self) -> SizeRule {
        SizeRule::of(self.0.state.sink_kind(), Payload::Record)
    }

    fn reconfigure(&self, change: &dyn Fn(SizeLimits) -> SizeLimits) {
        let limits = change(self.0.limits.get());
        self.0.state.reconfigure(limits);
        self.0.limits.set(limits);
    }

    fn flush(&self) -> OTelSdkResult {
        self.0.writer.flush()
    }
}

/// A cheap, cloneable view of a processor's (or metrics exporter's) counters and tracepoint
/// status, which stays valid after the processor is handed to the SDK
/// (`with_log_processor` takes it by value). The same type for logs, spans and metrics.
///
/// ```
/// use opentelemetry_sdk::logs::SdkLoggerProvider;
/// use otel_os_events::logs::Processor;
///
/// let processor = Processor::builder("myprovider").build()?;
/// let handle = processor.handle();
/// let provider = SdkLoggerProvider::builder().with_log_processor(processor).build();
/// // ... later, e.g. to export the drop counters as metrics:
/// let dropped = handle.stats().dropped_total();
/// # assert_eq!(dropped, 0);
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Clone)]
pub struct ProcessorHandle {
    observed: std::sync::Arc<dyn Observe>,
}

impl ProcessorHandle {
    pub(crate) fn new(observed: std::sync::Arc<dyn Observe>) -> Self {
        ProcessorHandle { observed }
    }

    /// Counters of accepted, written, truncated and dropped events (data points, for
    /// metrics).
    pub fn stats(&self) -> Stats {
        self.observed.counters().snapshot()
    }

    /// Events written. For logs and spans this is `stats().written`; a metrics event
    /// carries many data points.
    pub fn events_written(&self) -> u64 {
        self.observed.counters().events_written()
    }

    /// Each tracepoint (of every keyword registered so far) with its registration state.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        self.observed.status()
    }

    /// Changes the maximum event size at run time; events encoded from now on use it.
    /// Emitting threads are not stopped: the new limits are swapped in.
    ///
    /// The rule is the builder's, for the sink and the signal (see the builders'
    /// `with_max_event_size`). A size outside is refused with the same
    /// [`Error::InvalidMaxEventSize`], naming the sink and the rule, and changes nothing.
    pub fn set_max_event_size(&self, bytes: usize) -> Result<(), Error> {
        let bytes = self.observed.size_rule().check(Some(bytes))?;
        self.observed.reconfigure(&|limits| SizeLimits {
            max_event_size: bytes,
            ..limits
        });
        Ok(())
    }

    /// Changes what happens to oversize events at run time. Metrics exporters always drop
    /// (and count) a data point too large for one event, since a point cannot be cut: there
    /// this changes nothing.
    pub fn set_oversize_policy(&self, oversize: OversizePolicy) {
        self.observed
            .reconfigure(&|limits| SizeLimits { oversize, ..limits });
    }

    /// Queued mode: returns once every event accepted before the call has been written (or
    /// counted), or with `Timeout`; sync mode: at once.
    ///
    /// For metrics, call it after `SdkMeterProvider::force_flush` when you need the events
    /// written: the SDK 0.33 `PeriodicReader` exports on flush but does not call the
    /// exporter's own `force_flush`, so it cannot wait for the flush thread.
    pub fn force_flush(&self) -> OTelSdkResult {
        self.observed.flush()
    }
}

impl fmt::Debug for ProcessorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessorHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

/// A resource's `service.name` and `service.instance.id`: Common Schema's cloud role and
/// role instance.
pub(crate) fn cloud_role(
    resource: &opentelemetry_sdk::Resource,
) -> (Option<String>, Option<String>) {
    let text = |key: &'static str| {
        resource
            .get(&opentelemetry::Key::from_static_str(key))
            .map(|v| v.as_str().into_owned())
    };
    (text("service.name"), text("service.instance.id"))
}
