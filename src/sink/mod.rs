//! Sinks: where encoded events are written.
//!
//! A sink knows nothing about OpenTelemetry or Common Schema: it registers tracepoints,
//! answers "is anyone listening" with an atomic load or two, and writes the bytes it is given.
//!
//! - [`Sink::UserEvents`] (the default off Windows) writes EventHeader events to Linux
//!   user_events with one `writev` per event.
//! - [`Sink::Etw`] (the default on Windows) writes TraceLogging events to ETW with one
//!   `EventWriteTransfer` per event.
//! - [`Sink::Capture`] keeps events in memory, for tests of code that logs through this crate;
//!   it captures either format ([`CaptureSink::new`], [`CaptureSink::etw`]).

mod capture;
pub(crate) mod etw;
mod registrar;
mod status;
mod tracepoint;
pub(crate) mod user_events;

use std::sync::Arc;

pub use capture::{CaptureSink, CapturedEvent, EtwCaptured};
pub use status::{TracepointStatus, TracepointStatusEntry};
pub(crate) use tracepoint::{Definition, Tracepoint};
pub use user_events::{eventheader_name_args, EVENTHEADER_FIELDS};

use crate::encode::Wire;

/// Where a processor or exporter writes its events. Chosen in the builder.
#[derive(Clone, Debug)]
pub enum Sink {
    /// Linux user_events through `/sys/kernel/tracing/user_events_data`: EventHeader events.
    /// On other operating systems, and on kernels without user_events, nothing is written and
    /// [`TracepointStatus`] says why.
    UserEvents,
    /// Windows ETW: TraceLogging events, provider id derived from the provider name. On other
    /// operating systems nothing is written ([`TracepointStatus::EtwUnavailable`]).
    Etw,
    /// An in-memory capture, for tests: see [`CaptureSink`].
    Capture(CaptureSink),
}

impl Default for Sink {
    /// [`Sink::Etw`] on Windows, [`Sink::UserEvents`] elsewhere.
    fn default() -> Self {
        if cfg!(windows) {
            Sink::Etw
        } else {
            Sink::UserEvents
        }
    }
}

impl Sink {
    /// The event format this sink takes.
    pub fn wire(&self) -> Wire {
        match self {
            Sink::UserEvents => Wire::EventHeader,
            Sink::Etw => Wire::TraceLogging,
            Sink::Capture(capture) => capture.wire(),
        }
    }

    /// Connects a provider: for ETW this registers it (id from its name, or `id`).
    pub(crate) fn open(&self, provider: &str, id: Option<tracelogging::Guid>) -> SinkProvider {
        match self {
            Sink::UserEvents => SinkProvider::UserEvents,
            Sink::Etw => SinkProvider::Etw(Arc::new(etw::EtwProvider::register(
                provider,
                id.unwrap_or_else(|| tracelogging::Guid::from_name(provider)),
            ))),
            Sink::Capture(capture) => SinkProvider::Capture(capture.clone()),
        }
    }
}

/// One provider's connection to its sink, shared by all its tracepoints.
pub(crate) enum SinkProvider {
    UserEvents,
    Etw(Arc<etw::EtwProvider>),
    Capture(CaptureSink),
}

impl SinkProvider {
    /// Wakes `watcher` when sessions attach or detach, if the sink says so (ETW); others are
    /// polled.
    pub(crate) fn set_waker(&self, watcher: Option<std::thread::Thread>) {
        if let SinkProvider::Etw(provider) = self {
            provider.set_waker(watcher);
        }
    }
}
