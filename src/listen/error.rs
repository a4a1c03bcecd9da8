//! [`ListenError`]: everything that can go wrong while opening or reading a perf session.

use std::fmt;

/// An error from the listener: opening tracepoints, the perf syscalls, or parsing tracefs.
///
/// Errno values are the raw `errno` from the failing call, so a caller can match on them
/// (for example `libc::EACCES`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenError {
    /// The kernel has no such tracepoint (`events/<system>/<name>` is missing).
    TracepointNotFound {
        /// The tracepoint as given (`name` or `system:name`).
        tracepoint: String,
    },
    /// A tracepoint or provider name was rejected before touching the kernel.
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A [`SessionOptions`](super::SessionOptions) value is out of range.
    InvalidOption {
        /// What is wrong.
        reason: String,
    },
    /// The kernel refused for lack of privilege (`EACCES` or `EPERM`).
    Permission {
        /// The operation that was refused, e.g. `perf_event_open(user_events:p_L4K1, cpu 0)`.
        operation: String,
        /// `EACCES` or `EPERM`.
        errno: i32,
    },
    /// `perf_event_open` failed for another reason.
    PerfEventOpen {
        /// The tracepoint being opened.
        tracepoint: String,
        /// The CPU it was opened on.
        cpu: u32,
        /// The errno.
        errno: i32,
    },
    /// `mmap` of a perf ring buffer failed.
    Mmap {
        /// The CPU whose ring failed.
        cpu: u32,
        /// The requested mapping size in bytes.
        len: usize,
        /// The errno.
        errno: i32,
    },
    /// Another system call failed (`ioctl`, `poll`, reading a tracefs file, ...).
    Syscall {
        /// The call and its object, e.g. `read /sys/kernel/tracing/events/...`.
        operation: String,
        /// The errno.
        errno: i32,
    },
    /// A tracefs file (`id`, `format`, the CPU list) did not parse.
    Parse {
        /// The file or value that did not parse.
        what: String,
    },
    /// Registering a tracepoint through `user_events_data` failed.
    Register {
        /// The tracepoint name.
        tracepoint: String,
        /// The errno from `DIAG_IOCSREG` (or from opening `user_events_data`).
        errno: i32,
    },
    /// The running kernel cannot do user_events + perf (see [`kernel_support`](super::kernel_support)).
    NoKernelSupport {
        /// What was missing, e.g. the path that does not exist.
        detail: String,
    },
}

impl ListenError {
    /// Builds `Permission` for `EACCES`/`EPERM`, else the error `other` makes from the errno.
    pub(crate) fn from_errno(
        operation: impl FnOnce() -> String,
        errno: i32,
        other: impl FnOnce(String, i32) -> ListenError,
    ) -> ListenError {
        let operation = operation();
        if errno == libc::EACCES || errno == libc::EPERM {
            ListenError::Permission { operation, errno }
        } else {
            other(operation, errno)
        }
    }
}

/// Formats an errno as `"EACCES (13): Permission denied"`-like text via std's own strerror.
pub(crate) struct Errno(pub i32);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "errno {}: {}",
            self.0,
            std::io::Error::from_raw_os_error(self.0)
        )
    }
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenError::TracepointNotFound { tracepoint } => {
                write!(f, "tracepoint {tracepoint} not found in tracefs")
            }
            ListenError::InvalidName { name, reason } => {
                let name = crate::error::Shown(name);
                write!(f, "invalid name {name}: {reason}")
            }
            ListenError::InvalidOption { reason } => write!(f, "invalid option: {reason}"),
            ListenError::Permission { operation, errno } => write!(
                f,
                "permission denied: {operation} ({}); run as root or with CAP_PERFMON, \
                 and check /proc/sys/kernel/perf_event_paranoid",
                Errno(*errno)
            ),
            ListenError::PerfEventOpen {
                tracepoint,
                cpu,
                errno,
            } => write!(
                f,
                "perf_event_open({tracepoint}, cpu {cpu}) failed ({})",
                Errno(*errno)
            ),
            ListenError::Mmap { cpu, len, errno } => write!(
                f,
                "mmap of a {len}-byte perf ring for cpu {cpu} failed ({})",
                Errno(*errno)
            ),
            ListenError::Syscall { operation, errno } => {
                write!(f, "{operation} failed ({})", Errno(*errno))
            }
            ListenError::Parse { what } => write!(f, "could not parse {what}"),
            ListenError::Register { tracepoint, errno } => write!(
                f,
                "registering user_events tracepoint {tracepoint} failed ({})",
                Errno(*errno)
            ),
            ListenError::NoKernelSupport { detail } => {
                write!(f, "no user_events in this kernel ({detail})")
            }
        }
    }
}

impl std::error::Error for ListenError {}
