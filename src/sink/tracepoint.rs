//! One tracepoint, whichever sink it belongs to: a user_events tracepoint, or one (level,
//! keyword) of an ETW provider.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use crate::encode::FinishedEvent;

use super::capture::CaptureTracepoint;
use super::etw::EtwProvider;
use super::user_events::{name_args, UserEventsTracepoint};
use super::{SinkProvider, TracepointStatus};

/// A registered tracepoint: its name, its registration status, and the sink's handle.
pub(crate) struct Tracepoint {
    name: String,
    registration: TracepointStatus,
    unregistered: AtomicBool,
    handle: Handle,
}

enum Handle {
    UserEvents(UserEventsTracepoint),
    Etw {
        provider: Arc<EtwProvider>,
        level: u8,
        keyword: u64,
    },
    Capture(CaptureTracepoint),
}

/// What a tracepoint is registered as.
pub(crate) struct Definition<'a> {
    /// Its name, e.g. `myprovider_L4K1` (already validated).
    pub name: String,
    /// For user_events: the field list after the name, e.g.
    /// `u32 protocol;char[8] version;__rel_loc u8[] buffer;`; `None` for EventHeader.
    pub fields: Option<&'a str>,
    /// ETW's level and keyword of its events.
    pub level: u8,
    pub keyword: u64,
}

impl Tracepoint {
    /// Registers `def` with the provider's sink.
    ///
    /// Field lists are the crate's own constants, not user input; one holding a NUL is
    /// refused (EINVAL) rather than registered.
    pub(crate) fn register(provider: &SinkProvider, def: Definition<'_>) -> Tracepoint {
        let Definition {
            name,
            fields,
            level,
            keyword,
        } = def;
        let (handle, registration) = match provider {
            SinkProvider::UserEvents => {
                let (tp, errno) = match name_args(&name, fields) {
                    Some(args) => UserEventsTracepoint::register(&args),
                    // Unreachable for validated names; refuse rather than panic.
                    None => (UserEventsTracepoint::unregistered(), libc::EINVAL),
                };
                (Handle::UserEvents(tp), TracepointStatus::from_errno(errno))
            }
            SinkProvider::Etw(provider) => (
                Handle::Etw {
                    provider: provider.clone(),
                    level,
                    keyword,
                },
                TracepointStatus::from_etw(provider.registration()),
            ),
            SinkProvider::Capture(capture) => (
                Handle::Capture(capture.register(&name, level, keyword)),
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

    /// True while a session listens: one relaxed atomic load (three for ETW).
    #[inline(always)]
    pub(crate) fn enabled(&self) -> bool {
        match &self.handle {
            Handle::UserEvents(tp) => tp.enabled(),
            Handle::Etw {
                provider,
                level,
                keyword,
            } => provider.enable_state().enabled(*level, *keyword),
            Handle::Capture(tp) => tp.enabled(),
        }
    }

    /// Writes one finished event. Returns 0 or an errno (a Win32 error for ETW); an event of
    /// a format the sink does not take is refused (EINVAL, or ERROR_INVALID_PARAMETER).
    #[inline]
    pub(crate) fn write(&self, event: FinishedEvent<'_>) -> i32 {
        match &self.handle {
            Handle::UserEvents(tp) => tp.write(event),
            Handle::Etw {
                provider,
                level,
                keyword,
            } => provider.write(*level, *keyword, event),
            Handle::Capture(tp) => tp.write(event),
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
            // One registration serves all of a provider's tracepoints: unregistering any
            // (shutdown unregisters all) ends it.
            Handle::Etw { provider, .. } => provider.unregister(),
            Handle::Capture(tp) => tp.unregister(),
        }
    }
}

impl Drop for Tracepoint {
    fn drop(&mut self) {
        self.unregister();
    }
}
