//! Encoding: pure functions from records to EventHeader (Linux) or TraceLogging (ETW) bytes.
//! Nothing here does I/O.
//!
//! - [`EventBuf`] builds one event: metadata and data, in either [`Wire`] format, finished
//!   with an [`EventDescriptor`] (level, opcode, id, version, activity ids). A sink takes it
//!   as a [`FinishedEvent`]: an EventHeader header with metadata and data, a TraceLogging
//!   descriptor with metadata and data, or a raw payload (metrics). The byte layouts are
//!   documented on its module; [`tracelogging`] documents ETW's bytes.
//! - [`shape`] keeps each event shape's metadata per thread, so that most events write only
//!   their data.
//! - [`names`] keeps one field per name in a struct.
//! - [`value`] writes OpenTelemetry values as fields.
//! - [`text`] formats times, ids and JSON straight into the event.
//! - The Common Schema layouts of logs live with their signal (e.g. [`crate::logs`]).

mod chunks;
pub(crate) mod common_schema;
mod copy;
mod event;
mod fit;
pub(crate) mod names;
pub(crate) mod shape;
pub(crate) mod text;
pub(crate) mod tracelogging;
pub(crate) mod value;

pub(crate) use event::{
    cut_str, EventBuf, EventDescriptor, FinishedEvent, Wire, MAX_STRUCT_FIELDS,
};
pub(crate) use fit::{fit, with_thread_buf, Fit, Pass};
// Re-exported by the crate root (the ETW ids and size limits) and `logs` (the policy).
pub use event::MAX_EVENT_SIZE_LIMIT;
pub use fit::OversizePolicy;
pub use tracelogging::{etw_activity_id, etw_provider_id, DEFAULT_ETW_MAX_EVENT_SIZE};
pub(crate) use value::Limits;
