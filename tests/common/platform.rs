//! What the tests assume about the operating system, stated in one place: the thread id the
//! OS gives (found here independently of the crate's own `src/platform.rs`, so tests can
//! check the `_thread_id` the crate writes), the resolution of `SystemTime`, and which sink
//! `Sink::default()` is.
#![allow(dead_code)]

/// The calling thread's id: `gettid` on Linux.
#[cfg(target_os = "linux")]
pub fn os_thread_id() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() as u32 }
}

/// The calling thread's id: `GetCurrentThreadId` on Windows.
#[cfg(windows)]
pub fn os_thread_id() -> u32 {
    // SAFETY: GetCurrentThreadId has no preconditions and cannot fail.
    unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadId() }
}

/// The step `SystemTime` counts in, in nanoseconds: 1 on Linux, 100 on Windows (a
/// `FILETIME`), where `UNIX_EPOCH + Duration::new(s, 123_456_789)` holds `…123_456_700`.
pub const SYSTEM_TIME_STEP_NS: u32 = if cfg!(windows) { 100 } else { 1 };

/// The nanoseconds a `SystemTime` built with `nanos` keeps on this OS (rounded down to
/// [`SYSTEM_TIME_STEP_NS`]): what an exporter can write for it.
pub const fn kept_nanos(nanos: u32) -> u32 {
    nanos / SYSTEM_TIME_STEP_NS * SYSTEM_TIME_STEP_NS
}

/// True where `Sink::default()` is ETW (Windows); elsewhere it is user_events, whose
/// provider names are `[A-Za-z0-9_]` only.
pub const DEFAULT_SINK_IS_ETW: bool = cfg!(windows);
