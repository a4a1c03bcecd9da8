//! A local agent's side of user_events: read tracepoints the way a real agent does, through
//! perf ring buffers, and decode them (compiled with feature `cli`).
//!
//! - [`PerfSession`] opens a `PERF_TYPE_TRACEPOINT` event per tracepoint and online CPU
//!   (`perf_event_open`, pid -1), maps one ring per CPU and hands out [`PerfEvent`]s.
//! - [`PerfEvent::to_json`] decodes an event (EventHeader or tracefs-format) to one JSON line;
//!   the metrics exporters' `otlp_metrics` payloads are decoded to the OTLP/JSON mapping.
//! - [`ensure_registered`] registers a missing EventHeader tracepoint so a listener can start
//!   before the application that writes it.
//! - [`kernel_support`] tells whether this kernel has user_events + perf (the crate's tests
//!   that need the real kernel ask it first, and skip or fail by their own rule).
//!
//! Opening a session sets the writers' user_events enable bits (the kernel does it as soon
//! as a perf event exists on the tracepoint); dropping it clears them.
//!
//! ```no_run
//! use std::time::Duration;
//! use otel_os_events::listen::{ensure_registered, PerfSession, SessionOptions};
//!
//! let _keep = ensure_registered("myprovider_L4K1")?;
//! let mut session = PerfSession::open(&["myprovider_L4K1"], SessionOptions::default())?;
//! session.read(Duration::from_secs(1), |event| println!("{}", event.to_json()))?;
//! # Ok::<(), otel_os_events::listen::ListenError>(())
//! ```

mod error;
mod json;
mod metrics;
mod names;
mod perf;
mod register;
mod ring;
mod session;
mod support;

pub use error::ListenError;
pub use names::{
    eventheader_tracepoint_name, split_tracepoint, validate_eventheader_tracepoint_name,
    MAX_TRACEPOINT_NAME_LEN, USER_EVENTS_SYSTEM,
};
pub use register::{can_register, ensure_registered, RegisteredTracepoint};
pub use session::{next_wait, PerfEvent, PerfSession, SessionOptions};
pub use support::{kernel_support, TRACEFS};

pub(crate) use json::{enumerate, metadata_the_decoder_asserts_on};
pub(crate) use metrics::buffer as metrics_buffer;
