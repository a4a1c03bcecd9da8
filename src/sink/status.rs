//! What became of a tracepoint's registration.

use std::fmt;

/// The state of one tracepoint, from `status()`.
///
/// A kernel without user_events is not an error when building a processor: the
/// application runs, nothing is written, and this says why. Its Display form says what to
/// do about it.
///
/// ```
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::{Sink, TracepointStatus};
///
/// let processor = Processor::builder("myprovider").with_sink(Sink::UserEvents).build()?;
/// for entry in processor.status() {
///     match entry.status {
///         TracepointStatus::Registered => {} // events flow whenever a session listens
///         other => eprintln!("{}: {other}", entry.tracepoint), // e.g. no user_events here
///     }
/// }
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TracepointStatus {
    /// Registered with the kernel; events flow whenever a session listens.
    Registered,
    /// tracefs is mounted but has no `user_events_data`: the kernel was built without
    /// `CONFIG_USER_EVENTS` (errno ENOENT).
    UnsupportedKernel {
        /// The errno of the failed open.
        errno: i32,
    },
    /// No tracefs (or debugfs) mount was found (errno EOPNOTSUPP).
    TracefsMissing {
        /// The errno of the failed open.
        errno: i32,
    },
    /// `user_events_data` exists but this process may not open it (EACCES or EPERM).
    PermissionDenied {
        /// The errno of the failed open.
        errno: i32,
    },
    /// The kernel refused the registration for another reason.
    Failed {
        /// The errno of the failed open or ioctl.
        errno: i32,
    },
    /// Registered once, and unregistered by `shutdown`.
    Unregistered,
    /// A user_events sink off Linux: user_events exists only there, so nothing is written.
    UserEventsUnavailable,
    /// An ETW sink off Windows: ETW exists only there, so nothing is written.
    EtwUnavailable,
    /// ETW refused the provider's registration (`EventRegister`).
    EtwFailed {
        /// The Win32 error.
        error: u32,
    },
}

impl TracepointStatus {
    /// The status a user_events registration errno means (0 is success). Off Linux it is
    /// always [`UserEventsUnavailable`](Self::UserEventsUnavailable): there the registration
    /// calls are no-ops that report success.
    pub fn from_errno(errno: i32) -> Self {
        match errno {
            _ if !crate::platform::HAS_USER_EVENTS => TracepointStatus::UserEventsUnavailable,
            0 => TracepointStatus::Registered,
            libc::ENOENT => TracepointStatus::UnsupportedKernel { errno },
            libc::EOPNOTSUPP => TracepointStatus::TracefsMissing { errno },
            libc::EACCES | libc::EPERM => TracepointStatus::PermissionDenied { errno },
            _ => TracepointStatus::Failed { errno },
        }
    }

    /// The status of an ETW provider registration that returned `error` (0 is success).
    pub fn from_etw(error: u32) -> Self {
        match error {
            _ if !crate::platform::HAS_ETW => TracepointStatus::EtwUnavailable,
            0 => TracepointStatus::Registered,
            error => TracepointStatus::EtwFailed { error },
        }
    }

    /// True if the kernel (or ETW) holds this registration.
    pub fn is_registered(&self) -> bool {
        matches!(self, TracepointStatus::Registered)
    }

    /// The errno behind a failed registration.
    pub fn errno(&self) -> Option<i32> {
        match *self {
            TracepointStatus::UnsupportedKernel { errno }
            | TracepointStatus::TracefsMissing { errno }
            | TracepointStatus::PermissionDenied { errno }
            | TracepointStatus::Failed { errno } => Some(errno),
            TracepointStatus::Registered
            | TracepointStatus::Unregistered
            | TracepointStatus::UserEventsUnavailable
            | TracepointStatus::EtwUnavailable
            | TracepointStatus::EtwFailed { .. } => None,
        }
    }
}

impl fmt::Display for TracepointStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TracepointStatus::Registered => f.write_str("registered"),
            TracepointStatus::UnsupportedKernel { errno } => write!(
                f,
                "kernel has no user_events (tracefs is mounted but has no user_events_data: \
                 the kernel was built without CONFIG_USER_EVENTS; errno {errno})"
            ),
            TracepointStatus::TracefsMissing { errno } => write!(
                f,
                "tracefs is not mounted, or the kernel has no user_events (errno {errno}): \
                 mount it with `{MOUNT_TRACEFS}` (as root); if {USER_EVENTS_DATA} is still \
                 missing, the kernel lacks CONFIG_USER_EVENTS"
            ),
            TracepointStatus::PermissionDenied { errno } => write!(
                f,
                "permission denied opening {USER_EVENTS_DATA} (errno {errno}): run as root, \
                 or give this user access to that file (its group)"
            ),
            TracepointStatus::Failed { errno } => write!(f, "registration failed (errno {errno})"),
            TracepointStatus::Unregistered => f.write_str("unregistered"),
            TracepointStatus::UserEventsUnavailable => {
                f.write_str("user_events exists only on Linux: nothing is written")
            }
            TracepointStatus::EtwUnavailable => {
                f.write_str("ETW exists only on Windows: nothing is written")
            }
            TracepointStatus::EtwFailed { error } => {
                write!(f, "ETW registration failed (Win32 error {error})")
            }
        }
    }
}

/// The command that mounts tracefs where the kernel interface expects it.
pub(crate) const MOUNT_TRACEFS: &str = "mount -t tracefs nodev /sys/kernel/tracing";

/// The file every user_events registration and write goes through.
pub(crate) const USER_EVENTS_DATA: &str = "/sys/kernel/tracing/user_events_data";

/// One tracepoint and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracepointStatusEntry {
    /// The tracepoint name, e.g. `myprovider_L4K1`.
    pub tracepoint: String,
    /// Its registration state.
    pub status: TracepointStatus,
}
