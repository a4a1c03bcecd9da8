//! Sinks: where encoded events are written.
pub(crate) mod user_events;
pub use user_events::{eventheader_name_args, EVENTHEADER_FIELDS};
