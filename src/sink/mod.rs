//! Sinks: where encoded events are written.
//!
//! A sink knows nothing about OpenTelemetry or EventHeader: it registers tracepoints by
//! name, answers "is anyone listening" with one atomic load, and writes the bytes it is given.
//!
//! - [`Sink::UserEvents`] (the default) writes to Linux user_events with one `writev` per event.
//! - [`Sink::Capture`] keeps events in memory, for tests of code that logs through this crate.

mod capture;
mod status;
mod tracepoint;
pub(crate) mod user_events;

pub use capture::{CaptureSink, CapturedEvent};
pub use status::{TracepointStatus, TracepointStatusEntry};
pub(crate) use tracepoint::Tracepoint;
pub use user_events::{eventheader_name_args, EVENTHEADER_FIELDS};

/// Where a processor writes its events. Chosen in the builder; the default is user_events.
#[derive(Clone, Debug, Default)]
pub enum Sink {
    /// Linux user_events through `/sys/kernel/tracing/user_events_data`. On other operating
    /// systems, and on kernels without user_events, nothing is written and
    /// [`TracepointStatus`] says why.
    #[default]
    UserEvents,
    /// An in-memory capture, for tests: see [`CaptureSink`].
    Capture(CaptureSink),
}
