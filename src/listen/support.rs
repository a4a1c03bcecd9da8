//! Does this kernel have user_events and perf? Plus the skip-or-fail rule for kernel tests.

use std::io::Write as _;
use std::path::Path;

use super::error::ListenError;

/// Where tracefs is mounted on every kernel this crate supports.
pub const TRACEFS: &str = "/sys/kernel/tracing";

/// Environment variable: set to `1` inside the test VM, where the kernel must be present.
pub const ENV_IN_VM: &str = "OTEL_OS_EVENTS_IN_VM";
/// Environment variable: set to `1` to make kernel tests fail instead of skip without
/// user_events (for CI jobs that are meant to have the kernel).
pub const ENV_REQUIRE_KERNEL: &str = "OTEL_OS_EVENTS_REQUIRE_KERNEL";

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
            detail: format!("tracefs is not mounted at {TRACEFS}"),
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

fn env_is_one(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// The rule every test that needs the real kernel follows. Call it first and return at once
/// when it returns false:
///
/// - kernel present ([`kernel_support`] is Ok): returns true, run the test;
/// - kernel absent and neither [`ENV_IN_VM`] nor [`ENV_REQUIRE_KERNEL`] is `1`: prints a loud
///   `SKIPPED: no user_events in this kernel (...)` line naming `test` to stderr (even under
///   libtest's output capture) and returns false, so the test passes without proving
///   anything (on the development hosts);
/// - kernel absent but one of them is `1`: panics, so the test fails.
///
/// # Panics
///
/// As described, when the kernel is required but missing.
pub fn kernel_or_skip(test: &str) -> bool {
    match kernel_support() {
        Ok(()) => true,
        Err(e) => {
            if env_is_one(ENV_IN_VM) || env_is_one(ENV_REQUIRE_KERNEL) {
                panic!("{test}: the kernel is required here ({ENV_IN_VM} or {ENV_REQUIRE_KERNEL} is 1) but: {e}");
            }
            let detail = match &e {
                ListenError::NoKernelSupport { detail } => detail.clone(),
                other => other.to_string(),
            };
            // Straight to the stderr handle, not eprintln!: libtest captures the macros'
            // output of passing tests, and this line must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "*** SKIPPED: no user_events in this kernel ({detail}) — {test} proved nothing; \
                 run it in the VM (vm/run.sh) ***"
            );
            false
        }
    }
}
