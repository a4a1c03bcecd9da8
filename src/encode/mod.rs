//! Encoding: pure functions from records to EventHeader (Linux) or TraceLogging (ETW) bytes.
//! Nothing here does I/O.
//!
//! - [`EventBuf`] builds one event: header, metadata, data (the byte layout is documented on
//!   its module), in either [`Wire`] format; [`tracelogging`] documents ETW's bytes.
//! - [`value`] writes OpenTelemetry values as fields.
//! - [`text`] formats times, ids and JSON straight into the event.
//! - The Common Schema layouts of logs live with their signal (e.g. [`crate::logs`]).

mod chunks;
pub mod common_schema;
mod event;
mod fit;
pub mod text;
pub mod tracelogging;
pub mod value;

pub use chunks::Chunks;
pub use event::{
    cut_str, EventBuf, StrMark, StructMark, Wire, MAX_EVENT_SIZE_LIMIT, MAX_STRUCT_FIELDS,
};
pub use fit::{fit, with_thread_buf, Fit, OversizePolicy, Pass, MIN_STR_CAP};
pub use tracelogging::{etw_activity_id, etw_provider_id, DEFAULT_ETW_MAX_EVENT_SIZE};
pub use value::{Limits, MAX_STRUCT_DEPTH};
