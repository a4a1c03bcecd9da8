//! Linux user_events, through the `tracepoint` crate (which owns the one `unsafe` ioctl and
//! `writev` calls, and the process-wide `user_events_data` file descriptor).

use std::ffi::CString;
use std::pin::Pin;

use tracepoint::{EventDataDescriptor, TracepointState};

/// The field list every EventHeader tracepoint is registered with, after its name. The kernel
/// sees only these eight bytes; everything else travels as trailing data that EventHeader
/// decoders parse with the metadata in the event itself.
pub const EVENTHEADER_FIELDS: &str =
    "u8 eventheader_flags; u8 version; u16 id; u16 tag; u8 opcode; u8 level";

/// The `name_args` string for `DIAG_IOCSREG`: `"<tracepoint name> <EVENTHEADER_FIELDS>"`.
///
/// Returns `None` if `tracepoint_name` holds a NUL byte. Callers validate names first, so
/// that a name cannot smuggle in field definitions (a space or `;` would).
pub fn eventheader_name_args(tracepoint_name: &str) -> Option<CString> {
    CString::new(format!("{tracepoint_name} {EVENTHEADER_FIELDS}")).ok()
}

/// A registered (or failed) user_events tracepoint. Unregisters itself when dropped.
pub(crate) struct UserEventsTracepoint {
    state: Pin<Box<TracepointState>>,
}

impl UserEventsTracepoint {
    /// Registers `name_args` and returns the tracepoint with the errno of the registration
    /// (0 on success). A failed registration still yields a tracepoint: it is never enabled,
    /// and writing to it costs no syscall.
    pub(crate) fn register(name_args: &CString) -> (Self, i32) {
        let state = Box::pin(TracepointState::new(0));
        // SAFETY: `state` is pinned on the heap and owned by the returned value, whose drop
        // (TracepointState's own Drop) unregisters before the memory is freed, so the kernel
        // never writes the enable word after it is deallocated. `state` is fresh, so it is
        // not registered already (the crate asserts that).
        let errno = unsafe { state.as_ref().register(name_args.as_c_str()) };
        (Self { state }, errno)
    }

    /// A tracepoint that was never registered: never enabled, writes fail with EBADF.
    pub(crate) fn unregistered() -> Self {
        Self {
            state: Box::pin(TracepointState::new(0)),
        }
    }

    /// True while any session (perf, ftrace) listens: one relaxed atomic load.
    #[inline(always)]
    pub(crate) fn enabled(&self) -> bool {
        self.state.enabled()
    }

    /// Writes `parts` as one event with one `writev`. Returns 0 or an errno (EBADF when no
    /// session listens, without a syscall).
    pub(crate) fn write(&self, parts: [&[u8]; 3]) -> i32 {
        let mut iov = [
            EventDataDescriptor::zero(),
            EventDataDescriptor::from_bytes(parts[0]),
            EventDataDescriptor::from_bytes(parts[1]),
            EventDataDescriptor::from_bytes(parts[2]),
        ];
        self.state.write(&mut iov)
    }

    /// Unregisters now (also done on drop). Returns 0 or an errno.
    pub(crate) fn unregister(&self) -> i32 {
        self.state.unregister()
    }
}
