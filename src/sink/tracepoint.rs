//! One tracepoint, whichever sink it belongs to.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use super::capture::CaptureTracepoint;
use super::user_events::{eventheader_name_args, UserEventsTracepoint};
use super::{Sink, TracepointStatus};

/// A registered tracepoint: its name, its registration status, and the sink's handle.
pub(crate) struct Tracepoint {
    name: String,
    registration: TracepointStatus,
    unregistered: AtomicBool,
    handle: Handle,
}

enum Handle {
    UserEvents(UserEventsTracepoint),
    Capture(CaptureTracepoint),
}

impl Tracepoint {
    /// Registers the EventHeader tracepoint `name` (already validated) with `sink`.
    pub(crate) fn register(sink: &Sink, name: String) -> Tracepoint {
        let (handle, registration) = match sink {
            Sink::UserEvents => {
                let (tp, errno) = match eventheader_name_args(&name) {
                    Some(args) => UserEventsTracepoint::register(&args),
                    // Unreachable for validated names; refuse rather than panic.
                    None => (UserEventsTracepoint::unregistered(), libc::EINVAL),
                };
                (Handle::UserEvents(tp), TracepointStatus::from_errno(errno))
            }
            Sink::Capture(capture) => (
                Handle::Capture(capture.register(&name)),
                TracepointStatus::Registered,
            ),
        };
        Tracepoint {
            name,
            registration,
            unregistered: AtomicBool::new(false),
            handle,
        }
    }

    /// Registers the tracepoint `name` with an explicit field list `args` (the part of the
    /// kernel's `name_args` after the name), for layouts other than EventHeader, such as
    /// `otlp_metrics u32 protocol;char[8] version;__rel_loc u8[] buffer;`.
    ///
    /// `name` and `args` are the crate's own constants, not user input; one holding a NUL is
    /// refused (EINVAL) rather than registered.
    pub(crate) fn register_with_args(sink: &Sink, name: &str, args: &str) -> Tracepoint {
        let (handle, registration) = match sink {
            Sink::UserEvents => {
                let (tp, errno) = match CString::new(format!("{name} {args}")) {
                    Ok(name_args) => UserEventsTracepoint::register(&name_args),
                    Err(_) => (UserEventsTracepoint::unregistered(), libc::EINVAL),
                };
                (Handle::UserEvents(tp), TracepointStatus::from_errno(errno))
            }
            Sink::Capture(capture) => (
                Handle::Capture(capture.register(name)),
                TracepointStatus::Registered,
            ),
        };
        Tracepoint {
            name: name.to_owned(),
            registration,
            unregistered: AtomicBool::new(false),
            handle,
        }
    }

    /// The tracepoint name, e.g. `myprovider_L4K1`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Its registration state now.
    pub(crate) fn status(&self) -> TracepointStatus {
        if self.registration.is_registered() && self.unregistered.load(Relaxed) {
            TracepointStatus::Unregistered
        } else {
            self.registration
        }
    }

    /// True while a session listens: one relaxed atomic load.
    #[inline(always)]
    pub(crate) fn enabled(&self) -> bool {
        match &self.handle {
            Handle::UserEvents(tp) => tp.enabled(),
            Handle::Capture(tp) => tp.enabled(),
        }
    }

    /// Writes one event given as (header, metadata, data). Returns 0 or an errno.
    pub(crate) fn write(&self, parts: [&[u8]; 3]) -> i32 {
        match &self.handle {
            Handle::UserEvents(tp) => tp.write(parts),
            Handle::Capture(tp) => tp.write(parts),
        }
    }

    /// Unregisters (once): the kernel stops updating the enable word.
    pub(crate) fn unregister(&self) {
        if self.unregistered.swap(true, Relaxed) {
            return;
        }
        match &self.handle {
            Handle::UserEvents(tp) => {
                tp.unregister();
            }
            Handle::Capture(tp) => tp.unregister(),
        }
    }
}

impl Drop for Tracepoint {
    fn drop(&mut self) {
        self.unregister();
    }
}
