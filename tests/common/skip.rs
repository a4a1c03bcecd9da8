//! The skip-or-fail rule of every test that needs the real kernel (user_events + perf).
//! Standalone, so both `common` and `listen_common` users can include it.
#![allow(dead_code)]

use std::io::Write as _;

use otel_os_events::listen::{kernel_support, ListenError};

/// Environment variable: set to `1` inside the test VM, where the kernel must be present.
pub const ENV_IN_VM: &str = "OTEL_OS_EVENTS_IN_VM";
/// Environment variable: set to `1` to make kernel tests fail instead of skip without
/// user_events (for CI jobs that are meant to have the kernel).
pub const ENV_REQUIRE_KERNEL: &str = "OTEL_OS_EVENTS_REQUIRE_KERNEL";

fn env_is_one(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// The rule every test that needs the real kernel follows. Call it first and return at once
/// when it returns false:
///
/// - kernel present (`listen::kernel_support` is Ok): returns true, run the test;
/// - kernel absent and neither [`ENV_IN_VM`] nor [`ENV_REQUIRE_KERNEL`] is `1`: prints a loud
///   `SKIPPED: no user_events in this kernel (...)` line naming `test` to stderr (even under
///   libtest's output capture) and returns false, so the test passes without proving
///   anything (on the development hosts);
/// - kernel absent but one of them is `1`: panics, so the test fails.
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
