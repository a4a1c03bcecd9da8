//! Does this kernel have user_events and perf?

use std::path::Path;

use super::error::ListenError;

/// Where tracefs is mounted on every kernel this crate supports.
pub const TRACEFS: &str = "/sys/kernel/tracing";

/// Checks that the running kernel can do what the listener needs: tracefs mounted at
/// [`TRACEFS`], user_events (`CONFIG_USER_EVENTS`: `user_events_data` exists) and perf events
/// (`CONFIG_PERF_EVENTS`: `/proc/sys/kernel/perf_event_paranoid` exists).
///
/// This looks only at paths; it does not open `user_events_data` (the `tracepoint` crate
/// caches its first open process-wide, so probing it here could not be retried anyway).
/// Permission problems therefore show up later, as [`ListenError::Permission`].
pub fn kernel_support() -> Result<(), ListenError> {
    let tracefs = Path::new(TRACEFS);
    if !tracefs.join("events").is_dir() {
        return Err(ListenError::NoKernelSupport {
            detail: format!(
                "tracefs is not mounted at {TRACEFS}: `{}` as root",
                crate::sink::status::MOUNT_TRACEFS
            ),
        });
    }
    let data = tracefs.join("user_events_data");
    if !data.exists() {
        return Err(ListenError::NoKernelSupport {
            detail: format!(
                "{} does not exist: CONFIG_USER_EVENTS is unset",
                data.display()
            ),
        });
    }
    if !Path::new("/proc/sys/kernel/perf_event_paranoid").exists() {
        return Err(ListenError::NoKernelSupport {
            detail: "/proc/sys/kernel/perf_event_paranoid does not exist: CONFIG_PERF_EVENTS \
                     is unset"
                .to_string(),
        });
    }
    Ok(())
}
