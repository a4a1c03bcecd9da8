//! Registering tracepoints (EventHeader ones, and the metrics exporter's `otlp_metrics`) on
//! the listener's side, so that `listen` can start
//! before the application that writes them.

use std::path::Path;

use super::error::ListenError;
use super::names::{split_tracepoint, validate_eventheader_tracepoint_name, USER_EVENTS_SYSTEM};
use super::support::{kernel_support, TRACEFS};
use crate::metrics::{TRACEPOINT_FIELDS, TRACEPOINT_NAME};
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

/// The field list a missing tracepoint `name` (without the `user_events:` system) is
/// registered with: `None` for an EventHeader tracepoint
/// ([`EVENTHEADER_FIELDS`](crate::sink::EVENTHEADER_FIELDS)), the metrics exporter's
/// [`TRACEPOINT_FIELDS`] for [`TRACEPOINT_NAME`] (`otlp_metrics`). Any other name is refused:
/// its field list is unknown, and a wrong one would make the application's own registration
/// fail.
fn fields_of(name: &str) -> Result<Option<&'static str>, ListenError> {
    if name == TRACEPOINT_NAME {
        return Ok(Some(TRACEPOINT_FIELDS));
    }
    validate_eventheader_tracepoint_name(name)?;
    Ok(None)
}

/// True if [`ensure_registered`] knows how to register `tracepoint_name`: a user_events
/// EventHeader tracepoint, or the metrics exporter's `otlp_metrics`.
pub fn can_register(tracepoint_name: &str) -> bool {
    matches!(split_tracepoint(tracepoint_name),
        Ok((system, name)) if system == USER_EVENTS_SYSTEM && fields_of(name).is_ok())
}

/// Makes sure the tracepoint `tracepoint_name` exists, registering it if
/// `events/user_events/<name>` is missing: an EventHeader tracepoint with the standard
/// EventHeader field list ([`EVENTHEADER_FIELDS`](crate::sink::EVENTHEADER_FIELDS)), or
/// `otlp_metrics` with the metrics exporter's exact field list ([`TRACEPOINT_FIELDS`]), so
/// that the exporter, starting later, shares the event.
///
/// `tracepoint_name` may carry the `user_events:` prefix; other systems are rejected (only
/// user_events can be registered from user space). Other names must be valid EventHeader
/// tracepoint names (`[A-Za-z0-9_]`, ending in `_L<hex>K<hex>`), so that they cannot inject
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
    let fields = fields_of(name)?;
    let name = name.to_string();

    let dir = Path::new(TRACEFS)
        .join("events")
        .join(USER_EVENTS_SYSTEM)
        .join(&name);
    if dir.exists() {
        return Ok(RegisteredTracepoint { name, ours: None });
    }
    kernel_support()?;

    let name_args = name_args(&name, fields).ok_or_else(|| ListenError::InvalidName {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_metrics_is_registered_with_the_exporters_exact_fields() {
        assert_eq!(fields_of("otlp_metrics").unwrap(), Some(TRACEPOINT_FIELDS));
        assert_eq!(
            name_args("otlp_metrics", fields_of("otlp_metrics").unwrap())
                .unwrap()
                .as_c_str(),
            c"otlp_metrics u32 protocol;char[8] version;__rel_loc u8[] buffer;"
        );
        assert!(can_register("otlp_metrics"));
        assert!(can_register("user_events:otlp_metrics"));
    }

    #[test]
    fn eventheader_names_register_and_others_are_refused() {
        assert_eq!(fields_of("myprovider_L4K1").unwrap(), None);
        assert!(can_register("myprovider_L4K1"));
        for name in [
            "sched:sched_switch",
            "otlp_metrics2",
            "my_event",
            "a b_L4K1",
        ] {
            assert!(!can_register(name), "{name}");
        }
        assert!(matches!(
            ensure_registered("otlp_metrics_x"),
            Err(ListenError::InvalidName { .. })
        ));
    }
}
