//! What differs between operating systems, in one place: the rest of the crate asks here
//! instead of testing `cfg(target_os)` itself.
//!
//! | | Linux | Windows | other systems |
//! |---|---|---|---|
//! | user_events ([`Sink::UserEvents`](crate::sink::Sink::UserEvents)) | written, if the kernel has it | reported unavailable | reported unavailable |
//! | ETW ([`Sink::Etw`](crate::sink::Sink::Etw)) | encoded, reported unavailable | written | encoded, reported unavailable |
//! | [`Sink::default`](crate::sink::Sink::default) | user_events | ETW | user_events |
//! | thread id of queued events | `gettid` | `GetCurrentThreadId` | a per-process thread number |
//! | `listen` and the CLI (feature `cli`) | built | not built | not built |
//!
//! The `listen` module is gated where it is declared (`lib.rs`), and the command in its
//! `main`: both read Linux perf ring buffers and have no meaning elsewhere.

/// True where Linux user_events can exist (the kernel may still lack it: the registration
/// then says why). Elsewhere the `tracepoint` crate's calls are no-ops that report success,
/// so the sink reports [`TracepointStatus::UserEventsUnavailable`](crate::sink::TracepointStatus::UserEventsUnavailable) instead.
pub(crate) const HAS_USER_EVENTS: bool = cfg!(target_os = "linux");

/// True where ETW exists. Elsewhere the `tracelogging` crate's calls are no-ops, and the
/// sink reports [`TracepointStatus::EtwUnavailable`](crate::sink::TracepointStatus::EtwUnavailable).
pub(crate) const HAS_ETW: bool = cfg!(windows);

/// The operating system's id of the calling thread, as the OS stamps the events this thread
/// writes (`gettid` on Linux, `GetCurrentThreadId` on Windows; elsewhere a number unique to
/// each thread of this process, counted from 1). Cached per thread; 0 while the thread is
/// being torn down.
pub(crate) fn thread_id() -> u32 {
    thread_local! {
        static ID: u32 = os_thread_id();
    }
    ID.try_with(|id| *id).unwrap_or(0)
}

#[cfg(target_os = "linux")]
fn os_thread_id() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    // Thread ids are positive and at most PID_MAX_LIMIT (2^22).
    tid as u32
}

#[cfg(windows)]
fn os_thread_id() -> u32 {
    // SAFETY: GetCurrentThreadId has no preconditions and cannot fail.
    unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadId() }
}

#[cfg(not(any(target_os = "linux", windows)))]
fn os_thread_id() -> u32 {
    // No portable kernel thread id here: number the threads of this process instead.
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_id_and_threads_differ() {
        let here = thread_id();
        assert_ne!(here, 0);
        assert_eq!(thread_id(), here, "cached, stable");
        let there = std::thread::spawn(thread_id).join().unwrap();
        assert_ne!(there, 0);
        assert_ne!(there, here);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_it_is_the_kernel_thread_id() {
        // The main thread of a process has its pid as tid; a spawned one does not.
        let (tid, pid) = std::thread::spawn(|| (thread_id(), std::process::id()))
            .join()
            .unwrap();
        assert_ne!(tid, pid);
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Pid:")).unwrap();
        let kernel: u32 = line["Pid:".len()..].trim().parse().unwrap();
        assert_eq!(thread_id(), kernel, "/proc/thread-self names this thread");
    }
}
