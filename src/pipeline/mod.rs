//! The signal-neutral core every processor is built on: the provider state and counters,
//! the writer (sync or queued), the shutdown flag, and the views of them
//! ([`ProcessorHandle`](crate::ProcessorHandle)). Logs and spans are thin SDK glue over it;
//! metrics share its [`Options`] and the same [`Writer`](crate::mode::Writer).
//!
//! ```text
//! record ──► encode (pure) ──► mode (sync │ queued) ──► sink (user_events │ ETW │ capture)
//!   logs/, traces/, metrics/      encode/       mode/              sink/
//!                  └──────────── pipeline/ (options, state, counters, shutdown) ─┘
//! ```

mod handle;
mod options;

pub use handle::ProcessorHandle;
pub(crate) use handle::{cloud_role, Observe, Observed, ProviderView};
pub(crate) use options::MAX_METRICS_EVENT_SIZE;
pub(crate) use options::{option_setters, Options, Payload, SizeRule};
pub use options::{DEFAULT_MAX_EVENT_SIZE, MIN_MAX_EVENT_SIZE};

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use opentelemetry::otel_warn;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::encode::{EventBuf, Limits, Pass};
use crate::error::Error;

use crate::mode::Writer;
use crate::sink::TracepointStatusEntry;
use crate::state::{ProviderState, SizeLimits, TracepointSet};
use crate::stats::{DropReason, Stats};
use crate::sync::Arc;

/// A processor's provider, counters and writer, and whether it was shut down.
pub(crate) struct Pipeline {
    /// State, counters and writer, shared with handles.
    observed: Arc<Observed>,
    shut_down: AtomicBool,
}

impl Pipeline {
    /// Registers the provider's first keyword and starts the writer. `max_event_size` is
    /// what [`Options::validate`] returned.
    pub(crate) fn start(options: &Options, max_event_size: usize) -> Result<Self, Error> {
        let limits = SizeLimits {
            max_event_size,
            oversize: options.oversize,
        };
        let state = ProviderState::new(
            &options.provider,
            options.sink.clone(),
            options.keyword,
            limits,
        );
        let pipeline = Pipeline {
            observed: Observed::new(state, &options.mode)?,
            shut_down: AtomicBool::new(false),
        };
        pipeline.warn_if_unregistered(&options.provider);
        Ok(pipeline)
    }

    /// One diagnostic per processor, never one per event.
    fn warn_if_unregistered(&self, provider: &str) {
        let status = self.observed.state.status();
        if let Some(first) = status.first().filter(|s| !s.status.is_registered()) {
            otel_warn!(
                name: "OsEvents.NotRegistered",
                provider = provider.to_owned(),
                status = first.status.to_string(),
                message = "the tracepoints (or ETW provider) could not be registered: nothing will be written"
            );
        }
    }

    /// The state, counters and the builder keyword's tracepoints.
    pub(crate) fn observed(&self) -> &Arc<Observed> {
        &self.observed
    }

    /// The writer (sync or queued).
    pub(crate) fn writer(&self) -> &Writer {
        &self.observed.writer
    }

    /// True once shut down: the caller then counts the event as
    /// [`DropReason::AfterShutdown`] with [`refuse_after_shutdown`](Self::refuse_after_shutdown).
    #[inline]
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Relaxed)
    }

    /// Counts one event offered after shutdown.
    pub(crate) fn refuse_after_shutdown(&self) {
        self.observed.counters.refused(DropReason::AfterShutdown);
    }

    /// Encodes one record and writes it to `set.levels[level]` (see
    /// [`Writer::write`](crate::mode::Writer::write)), within the limits in force now.
    #[inline]
    pub(crate) fn write(
        &self,
        set: &Arc<TracepointSet>,
        level: usize,
        encode: impl FnMut(&mut EventBuf, Limits, Option<u32>) -> Pass,
    ) {
        let limits = self.observed.limits.get();
        self.observed
            .writer
            .write(&self.observed.counters, limits, set, level, encode);
    }

    /// Sync: at once. Queued: once everything accepted before the call is written.
    pub(crate) fn flush(&self) -> OTelSdkResult {
        self.observed.writer.flush()
    }

    /// The shutdown every processor does, once: refuse later events, drain the writer
    /// (queued mode), unregister the tracepoints.
    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        if self.shut_down.swap(true, Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.observed.writer.shutdown();
        self.observed.state.unregister_all();
        Ok(())
    }

    /// Counters of accepted, written, truncated and dropped events.
    pub(crate) fn stats(&self) -> Stats {
        self.observed.counters.snapshot()
    }

    /// Each tracepoint with its registration state.
    pub(crate) fn status(&self) -> Vec<TracepointStatusEntry> {
        self.observed.state.status()
    }

    /// A view of the counters and status that outlives handing the processor to the SDK.
    pub(crate) fn handle(&self) -> ProcessorHandle {
        ProcessorHandle::new(std::sync::Arc::new(ProviderView(self.observed.clone())))
    }
}

impl Drop for Pipeline {
    /// Dropping a processor without shutdown still drains its queue (within the deadline)
    /// and stops the flush thread, though handles may keep the writer itself alive.
    fn drop(&mut self) {
        self.observed.writer.shutdown();
    }
}

/// Adds what `built` holds to `builder`, or, if building failed, leaves `builder` as it is
/// and logs one warning: the extension traits' `with_*_exporter` cannot return an error.
pub(crate) fn add_or_warn<B, P>(
    builder: B,
    signal: &'static str,
    built: Result<P, Error>,
    add: impl FnOnce(B, P) -> B,
) -> B {
    match built {
        Ok(p) => add(builder, p),
        Err(error) => {
            otel_warn!(
                name: "OsEvents.ExporterNotAdded",
                signal = signal,
                error = error.to_string(),
                message = "building failed: no exporter was added, nothing of this signal will be written"
            );
            builder
        }
    }
}

/// Defines a signal's two extension traits on the SDK's provider builder,
/// `with_user_events_exporter(provider)` and `with_etw_exporter(provider)`, each adding that
/// signal's `Processor` with default options through `$add`, or nothing and one warning if
/// the name is invalid ([`add_or_warn`]). Each trait and method keeps its own docs.
macro_rules! provider_builder_ext {
    (
        $builder:ty, $signal:literal, $add:ident;
        $(#[$ue_doc:meta])* $ue:ident { $(#[$ue_fn_doc:meta])* }
        $(#[$etw_doc:meta])* $etw:ident { $(#[$etw_fn_doc:meta])* }
    ) => {
        $crate::pipeline::provider_builder_ext!(@trait $builder, $signal, $add,
            UserEvents, with_user_events_exporter, [$(#[$ue_doc])*] $ue [$(#[$ue_fn_doc])*]);
        $crate::pipeline::provider_builder_ext!(@trait $builder, $signal, $add,
            Etw, with_etw_exporter, [$(#[$etw_doc])*] $etw [$(#[$etw_fn_doc])*]);
    };
    (@trait $builder:ty, $signal:literal, $add:ident, $sink:ident, $method:ident,
        [$(#[$doc:meta])*] $name:ident [$(#[$fn_doc:meta])*]) => {
        $(#[$doc])*
        pub trait $name {
            $(#[$fn_doc])*
            fn $method(self, provider: &str) -> Self;
        }

        impl $name for $builder {
            fn $method(self, provider: &str) -> Self {
                let sink = $crate::sink::Sink::$sink;
                let built = Processor::builder(provider).with_sink(sink).build();
                $crate::pipeline::add_or_warn(self, $signal, built, |b, p| b.$add(p))
            }
        }
    };
}
pub(crate) use provider_builder_ext;
