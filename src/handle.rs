//! A view of a processor (logs or traces) that outlives handing it to the SDK.

use crate::sync::Arc;
use std::fmt;

use crate::encode::OversizePolicy;
use crate::error::{validate_max_event_size, Payload};
use crate::sink::TracepointStatusEntry;
use crate::state::{ProviderState, SizeLimits, TracepointSet};
use crate::Error;

use crate::stats::Counters;
use crate::Stats;

/// What a processor shares with its handle and its flush thread.
pub(crate) struct Observed {
    pub(crate) state: Arc<ProviderState>,
    /// The builder keyword's tracepoints: also `state`'s first set, fixed for the
    /// processor's life, so the disabled path reads its enable word without a snapshot load.
    pub(crate) default_set: Arc<TracepointSet>,
    /// Shared with the flush thread in queued mode.
    pub(crate) counters: Arc<Counters>,
}

impl Observed {
    /// Registers the provider's first keyword and starts the counters.
    pub(crate) fn new(state: ProviderState) -> Arc<Self> {
        let default_set = state.load().sets[0].clone();
        Arc::new(Observed {
            state: Arc::new(state),
            default_set,
            counters: Arc::new(Counters::new()),
        })
    }
}

/// A cheap, cloneable view of a processor's counters and tracepoint status, which stays
/// valid after the processor is handed to the SDK (`with_log_processor` takes it by value).
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
    pub(crate) observed: Arc<Observed>,
}

impl ProcessorHandle {
    /// Counters of accepted, written, truncated and dropped events.
    pub fn stats(&self) -> Stats {
        self.observed.counters.snapshot()
    }

    /// Each tracepoint (of every keyword registered so far) with its registration state.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        self.observed.state.status()
    }

    /// Changes the maximum event size at run time; events encoded from now on use it.
    /// Emitting threads are not stopped: the new limits are swapped in as a new state
    /// snapshot.
    ///
    /// The rule is the builder's, for the processor's sink: 512..=65,467 bytes on
    /// user_events, 512..=65,360 on ETW. A size outside is refused with the same
    /// [`Error::InvalidMaxEventSize`], naming the sink and the rule, and changes nothing.
    pub fn set_max_event_size(&self, bytes: usize) -> Result<(), Error> {
        let sink = self.observed.state.sink_kind();
        validate_max_event_size(Some(bytes), sink, Payload::Record)?;
        let limits = self.observed.state.load().limits;
        self.observed.state.reconfigure(SizeLimits {
            max_event_size: bytes,
            ..limits
        });
        Ok(())
    }

    /// Changes what happens to oversize events at run time.
    pub fn set_oversize_policy(&self, oversize: OversizePolicy) {
        let limits = self.observed.state.load().limits;
        self.observed
            .state
            .reconfigure(SizeLimits { oversize, ..limits });
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
