//! Linux user_events, through the `tracepoint` crate (which owns the one `unsafe` ioctl and
//! `writev` calls, and the process-wide `user_events_data` file descriptor).

use std::ffi::CString;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tracepoint::{EventDataDescriptor, TracepointState};

use super::registrar;
use crate::encode::FinishedEvent;

/// The field list every EventHeader tracepoint is registered with, after its name. The kernel
/// sees only these eight bytes; everything else travels as trailing data that EventHeader
/// decoders parse with the metadata in the event itself.
pub const EVENTHEADER_FIELDS: &str =
    "u8 eventheader_flags; u8 version; u16 id; u16 tag; u8 opcode; u8 level";

/// The `name_args` string for `DIAG_IOCSREG`: `"<tracepoint name> <EVENTHEADER_FIELDS>"`.
///
/// Returns `None` if `tracepoint_name` holds a NUL byte. Callers validate names first, so
/// that a name cannot smuggle in field definitions (a space or `;` would).
///
/// ```
/// use otel_os_events::sink::eventheader_name_args;
///
/// let args = eventheader_name_args("myprovider_L4K1").unwrap();
/// assert_eq!(
///     args.to_str().unwrap(),
///     "myprovider_L4K1 u8 eventheader_flags; u8 version; u16 id; u16 tag; u8 opcode; u8 level"
/// );
/// assert!(eventheader_name_args("nul\0name").is_none());
/// ```
pub fn eventheader_name_args(tracepoint_name: &str) -> Option<CString> {
    CString::new(format!("{tracepoint_name} {EVENTHEADER_FIELDS}")).ok()
}

/// The `name_args` string for `DIAG_IOCSREG` of a tracepoint with the field list `fields`
/// (`None`: [`EVENTHEADER_FIELDS`]). Returns `None` if either holds a NUL byte.
pub(crate) fn name_args(tracepoint_name: &str, fields: Option<&str>) -> Option<CString> {
    match fields {
        None => eventheader_name_args(tracepoint_name),
        Some(fields) => CString::new(format!("{tracepoint_name} {fields}")).ok(),
    }
}

/// A registered (or failed) user_events tracepoint. Unregisters itself when dropped.
///
/// Registration and unregistration run on the [registrar](super::registrar) thread, so that
/// the kernel's registration outlives the thread that built the processor and can be undone
/// from any thread.
pub(crate) struct UserEventsTracepoint {
    state: Pin<Arc<TracepointState>>,
    /// Set once unregistered (or given up on), so that drop does not ask again.
    done: AtomicBool,
}

/// What `TracepointState::unregister` returns for a state that is not registered (the
/// `tracepoint` crate calls it EALREADY, but returns 116).
const NOT_REGISTERED: i32 = 116;

impl UserEventsTracepoint {
    /// Registers `name_args` and returns the tracepoint with the errno of the registration
    /// (0 on success). A failed registration still yields a tracepoint: it is never enabled,
    /// and writing to it costs no syscall.
    pub(crate) fn register(name_args: &CString) -> (Self, i32) {
        let state = Arc::pin(TracepointState::new(0));
        let (on_registrar, name_args) = (state.clone(), name_args.clone());
        let errno = registrar::run(move || {
            // SAFETY: the state is pinned in an `Arc` that this tracepoint owns. It is
            // unregistered (on this same thread) before it is freed, and if unregistering
            // ever fails it is never freed (see `unregister`), so the kernel never writes
            // the enable word after the memory is deallocated. The state is fresh, so it is
            // not registered already (the crate asserts that).
            unsafe { on_registrar.as_ref().register(name_args.as_c_str()) }
        })
        .unwrap_or(libc::EIO);
        let tp = Self {
            state,
            done: AtomicBool::new(false),
        };
        (tp, errno)
    }

    /// A tracepoint that was never registered: never enabled, writes fail with EBADF.
    pub(crate) fn unregistered() -> Self {
        Self {
            state: Arc::pin(TracepointState::new(0)),
            done: AtomicBool::new(true),
        }
    }

    /// True while any session (perf, ftrace) listens: one relaxed atomic load.
    #[inline(always)]
    pub(crate) fn enabled(&self) -> bool {
        self.state.enabled()
    }

    /// Writes `event` (EventHeader header, metadata and data, or a raw payload) with one
    /// `writev`. Returns 0 or an errno (EBADF when no session listens, without a syscall;
    /// EINVAL for a TraceLogging event).
    pub(crate) fn write(&self, event: FinishedEvent<'_>) -> i32 {
        let parts: [&[u8]; 3] = match event {
            FinishedEvent::EventHeader { header, meta, data } => [header, meta, data],
            FinishedEvent::RawPayload(payload) => [&[], &[], payload],
            FinishedEvent::TraceLogging { .. } => return libc::EINVAL,
        };
        let mut iov = [
            EventDataDescriptor::zero(),
            EventDataDescriptor::from_bytes(parts[0]),
            EventDataDescriptor::from_bytes(parts[1]),
            EventDataDescriptor::from_bytes(parts[2]),
        ];
        self.state.write(&mut iov)
    }

    /// Unregisters now (also done on drop; later calls do nothing). Returns 0 or an errno
    /// (116 if it was not registered).
    ///
    /// If the kernel refuses (it should not, since the registrar did both), the state is
    /// leaked on purpose: the kernel may still write its enable word, so that memory must
    /// never be handed back to the allocator.
    pub(crate) fn unregister(&self) -> i32 {
        if self.done.swap(true, Ordering::Relaxed) {
            return NOT_REGISTERED;
        }
        let state = self.state.clone();
        let errno = registrar::run(move || state.unregister()).unwrap_or(libc::EIO);
        if errno != 0 && errno != NOT_REGISTERED {
            std::mem::forget(self.state.clone());
        }
        errno
    }
}

impl Drop for UserEventsTracepoint {
    fn drop(&mut self) {
        self.unregister();
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Registers a tracepoint, or says why this kernel cannot (the caller then skips or,
    /// in the VM, fails).
    fn register_or_skip(test: &str, name: &str) -> Option<UserEventsTracepoint> {
        let args = eventheader_name_args(name).unwrap();
        let (tp, errno) = UserEventsTracepoint::register(&args);
        if errno == 0 {
            return Some(tp);
        }
        let required = ["OTEL_OS_EVENTS_IN_VM", "OTEL_OS_EVENTS_REQUIRE_KERNEL"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|v| v == "1"));
        assert!(!required, "{test}: registration failed with errno {errno}");
        eprintln!("SKIPPED: no user_events (errno {errno}): {test}");
        None
    }

    /// The kernel ties a registration to the registering thread's `user_event_mm`; a thread
    /// that existed before it does not share it. Unregistering from such a thread must
    /// still succeed (it used to give ENOENT, and the freed enable word was then written
    /// by the kernel: the heap corruption of the metrics bench).
    #[test]
    fn unregister_from_a_thread_older_than_the_registration() {
        let (to_older, inbox) = std::sync::mpsc::channel::<UserEventsTracepoint>();
        let older = std::thread::spawn(move || inbox.recv().unwrap().unregister());
        let Some(tp) = register_or_skip("unregister_from_older_thread", "ut_reg_older_L4K1") else {
            drop(to_older);
            let _ = older.join();
            return;
        };
        to_older.send(tp).unwrap();
        assert_eq!(older.join().unwrap(), 0, "unregister errno");
    }
}
