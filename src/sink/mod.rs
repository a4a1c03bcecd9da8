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
pub(crate) mod status;
mod tracepoint;
pub(crate) mod user_events;

use std::sync::Arc;

pub use capture::{CaptureSink, CapturedEvent, EtwCaptured};
pub use status::{TracepointStatus, TracepointStatusEntry};
pub(crate) use tracepoint::{Definition, Tracepoint};
pub use user_events::{eventheader_name_args, EVENTHEADER_FIELDS};

use crate::encode::Wire;

/// Where a processor or exporter writes its events. Chosen in the builder.
///
/// [`Sink::Capture`] lets you try the crate, or test code that logs through it, on any
/// machine: it keeps each event as the kernel (or ETW) would receive it.
///
/// ```
/// use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
/// use opentelemetry_sdk::logs::SdkLoggerProvider;
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::{CaptureSink, Sink};
///
/// let capture = CaptureSink::new(); // EventHeader; CaptureSink::etw() for TraceLogging
/// let processor = Processor::builder("myprovider")
///     .with_sink(Sink::Capture(capture.clone()))
///     .build()?;
/// let provider = SdkLoggerProvider::builder().with_log_processor(processor).build();
/// let logger = provider.logger("app");
/// let mut record = logger.create_log_record();
/// record.set_severity_number(Severity::Error);
/// logger.emit(record);
///
/// let event = &capture.events()[0];
/// assert_eq!(event.tracepoint, "myprovider_L2K1");
/// // EventHeader flags, version, id, tag, opcode, level: then the metadata and fields,
/// // ready for tracepoint_decode's EventHeaderEnumeratorContext.
/// assert_eq!(event.payload[7], 2, "level 2, error");
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Clone, Debug)]
pub enum Sink {
    /// Linux user_events through `/sys/kernel/tracing/user_events_data`: EventHeader events.
    /// On other operating systems ([`TracepointStatus::UserEventsUnavailable`]) and on kernels
    /// without user_events, nothing is written and [`TracepointStatus`] says why.
    UserEvents,
    /// Windows ETW: TraceLogging events, provider id derived from the provider name. On other
    /// operating systems nothing is written ([`TracepointStatus::EtwUnavailable`]).
    Etw,
    /// An in-memory capture, for tests: see [`CaptureSink`].
    Capture(CaptureSink),
}

impl Default for Sink {
    /// [`Sink::Etw`] on Windows, [`Sink::UserEvents`] elsewhere (on systems with neither, its
    /// status says so).
    fn default() -> Self {
        if crate::platform::HAS_ETW {
            Sink::Etw
        } else {
            Sink::UserEvents
        }
    }
}

impl Sink {
    /// The event format this sink takes.
    pub(crate) fn wire(&self) -> Wire {
        match self {
            Sink::UserEvents => Wire::EventHeader,
            Sink::Etw => Wire::TraceLogging,
            Sink::Capture(capture) => capture.wire(),
        }
    }

    /// Whose rules this sink's names and sizes follow: a capture follows the sink whose
    /// format it captures.
    pub fn kind(&self) -> SinkKind {
        SinkKind::of(self.wire())
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

/// The two operating-system sinks, whose rules for provider names and event sizes differ
/// (see [`Error`](crate::Error)): named by the errors of options one accepts and the other
/// refuses.
///
/// ```
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::{Sink, SinkKind};
/// use otel_os_events::Error;
///
/// // A dotted name is a valid ETW provider name, not a user_events one.
/// let err = Processor::builder("MyCompany.MyComponent")
///     .with_sink(Sink::UserEvents)
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, Error::InvalidProviderName { sink: SinkKind::UserEvents, .. }));
/// assert_eq!(Sink::Etw.kind(), SinkKind::Etw);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SinkKind {
    /// Linux user_events (EventHeader); also a [`CaptureSink::new`].
    UserEvents,
    /// Windows ETW (TraceLogging); also a [`CaptureSink::etw`].
    Etw,
}

impl SinkKind {
    /// The sink whose rules events of format `wire` follow.
    pub(crate) fn of(wire: Wire) -> Self {
        match wire {
            Wire::EventHeader => SinkKind::UserEvents,
            Wire::TraceLogging => SinkKind::Etw,
        }
    }
}

impl std::fmt::Display for SinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SinkKind::UserEvents => "user_events",
            SinkKind::Etw => "ETW",
        })
    }
}

/// One provider's connection to its sink, shared by all its tracepoints.
pub(crate) enum SinkProvider {
    UserEvents,
    Etw(Arc<etw::EtwProvider>),
    Capture(CaptureSink),
}

impl SinkProvider {
    /// Whose rules the provider's names and sizes follow.
    pub(crate) fn kind(&self) -> SinkKind {
        match self {
            SinkProvider::UserEvents => SinkKind::UserEvents,
            SinkProvider::Etw(_) => SinkKind::Etw,
            SinkProvider::Capture(capture) => SinkKind::of(capture.wire()),
        }
    }

    /// Wakes `watcher` when sessions attach or detach, if the sink says so (ETW); others are
    /// polled.
    pub(crate) fn set_waker(&self, watcher: Option<std::thread::Thread>) {
        if let SinkProvider::Etw(provider) = self {
            provider.set_waker(watcher);
        }
    }
}
