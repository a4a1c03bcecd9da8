//! Registering EventHeader tracepoints on the listener's side, so that `listen` can start
//! before the application that writes them.

use std::path::Path;

use super::error::ListenError;
use super::names::{split_tracepoint, validate_eventheader_tracepoint_name, USER_EVENTS_SYSTEM};
use super::support::{kernel_support, TRACEFS};
use crate::metrics::{TRACEPOINT_FIELDS, TRACEPOINT_NAME};
use crate::sink::eventheader_name_args;
use crate::sink::user_events::{name_args, UserEventsTracepoint};

/// An EventHeader tracepoint that exists in the kernel for as long as this value lives.
///
/// If the tracepoint was missing, [`ensure_registered`] registered it through
/// `user_events_data` and this value holds that registration (dropping it unregisters; the
/// kernel deletes the event once nobody else references it). If it already existed, this
/// value holds nothing and only records the name.
///
/// Keep it alive for as long as a [`PerfSession`](super::PerfSession) reads the tracepoint:
/// then an application that exits and starts again finds the same event (same name, same
/// fields) and its writes keep reaching the session.
pub struct RegisteredTracepoint {
    name: String,
    ours: Option<UserEventsTracepoint>,
}

impl RegisteredTracepoint {
    /// The tracepoint name (without the `user_events:` system).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True if this process registered the tracepoint (it did not exist before).
    pub fn registered_by_us(&self) -> bool {
        self.ours.is_some()
    }

    /// Our own enable bit, when we registered the tracepoint: true while any perf or ftrace
    /// session has it enabled. `None` if someone else had registered it.
    pub fn enabled(&self) -> Option<bool> {
        self.ours.as_ref().map(UserEventsTracepoint::enabled)
    }
}

impl std::fmt::Debug for RegisteredTracepoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredTracepoint")
            .field("name", &self.name)
            .field("registered_by_us", &self.registered_by_us())
            .finish()
    }
}

/// Makes sure the EventHeader tracepoint `tracepoint_name` exists, registering it with the
/// standard EventHeader field list ([`EVENTHEADER_FIELDS`](crate::sink::EVENTHEADER_FIELDS))
/// if `events/user_events/<name>` is missing. The metrics exporters' tracepoint
/// ([`TRACEPOINT_NAME`], `otlp_metrics`) is registered with its own fields
/// ([`TRACEPOINT_FIELDS`]), as the exporters register it.
///
/// `tracepoint_name` may carry the `user_events:` prefix; other systems are rejected (only
/// user_events can be registered from user space). The name must be a valid EventHeader
/// tracepoint name (`[A-Za-z0-9_]`, ending in `_L<hex>K<hex>`), so that it cannot inject
/// field definitions.
///
/// Errors: [`ListenError::InvalidName`], [`ListenError::NoKernelSupport`] (no
/// `user_events_data`), [`ListenError::Permission`], or [`ListenError::Register`] (for
/// example `EADDRINUSE` if the name exists with different fields).
pub fn ensure_registered(tracepoint_name: &str) -> Result<RegisteredTracepoint, ListenError> {
    let (system, name) = split_tracepoint(tracepoint_name)?;
    if system != USER_EVENTS_SYSTEM {
        return Err(ListenError::InvalidName {
            name: tracepoint_name.to_string(),
            reason: "only user_events tracepoints can be registered",
        });
    }
    let metrics = name == TRACEPOINT_NAME;
    if !metrics {
        validate_eventheader_tracepoint_name(name)?;
    }
    let name = name.to_string();

    let dir = Path::new(TRACEFS)
        .join("events")
        .join(USER_EVENTS_SYSTEM)
        .join(&name);
    if dir.exists() {
        return Ok(RegisteredTracepoint { name, ours: None });
    }
    kernel_support()?;

    let name_args = if metrics {
        name_args(&name, TRACEPOINT_FIELDS)
    } else {
        eventheader_name_args(&name)
    };
    let name_args = name_args.ok_or_else(|| ListenError::InvalidName {
        name: name.clone(),
        reason: "name holds a NUL byte",
    })?;
    let (tp, errno) = UserEventsTracepoint::register(&name_args);
    if errno != 0 {
        return Err(ListenError::from_errno(
            || format!("register user_events tracepoint {name}"),
            errno,
            |_, errno| ListenError::Register {
                tracepoint: name.clone(),
                errno,
            },
        ));
    }
    Ok(RegisteredTracepoint {
        name,
        ours: Some(tp),
    })
}
