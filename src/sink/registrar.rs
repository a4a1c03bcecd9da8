//! The one thread on which this process registers and unregisters its user_events
//! tracepoints.
//!
//! # Why a thread of its own
//!
//! Linux does not tie a `DIAG_IOCSREG` registration (the kernel's promise to keep our enable
//! word up to date) to the process, but to the registering task's `user_event_mm`, which
//! only the tasks it clones *afterwards* share (kernel 6.12, `kernel/trace/trace_events_user.c`:
//! `current_user_event_mm` attaches a new one to `current` alone; `user_events_fork` hands it
//! on to later clones; `user_event_mm_remove` drops it when its last task exits). Threads
//! that existed before the first registration each get their own. For a library, whose
//! callers pick the threads, that has two consequences:
//!
//! 1. `DIAG_IOCSUNREG` from a thread that does not share the registering thread's
//!    `user_event_mm` fails with `ENOENT`. The kernel keeps the registration and goes on
//!    setting and clearing the enable bit at its address, after the memory was freed: a heap
//!    corruption (glibc: `malloc_consolidate(): unaligned fastbin chunk detected`, bit 0 of
//!    a free chunk's link set by the next session that enables the event).
//! 2. When the registering thread, and every thread it cloned since, has exited, the kernel
//!    drops the registration: the enable word is never set again, and every event after
//!    that is lost without a count.
//!
//! So every registration and unregistration of this crate runs here, on one thread that
//! lives as long as the process. Both are rare (a processor's build, a keyword's first use,
//! shutdown); writes and the enable check never come here.
//!
//! If the thread cannot be started (or in a child forked without exec, where it does not
//! run), the work runs on the caller's thread, as the kernel interface would have it anyway.

use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread::ThreadId;

type Job = Box<dyn FnOnce() + Send>;

/// The running registrar: where to send work, and who it is.
struct Registrar {
    jobs: mpsc::Sender<Job>,
    thread: ThreadId,
    /// The process that started it: after `fork` the child has no such thread.
    pid: u32,
}

static REGISTRAR: OnceLock<Option<Registrar>> = OnceLock::new();

fn start() -> Option<Registrar> {
    if !cfg!(target_os = "linux") {
        // Only Linux ties registrations to threads.
        return None;
    }
    let (jobs, inbox) = mpsc::channel::<Job>();
    let thread = std::thread::Builder::new()
        .name("otel-os-events-registrar".into())
        .spawn(move || {
            for job in inbox {
                // A job that panics must not end the thread every later registration
                // needs; its caller sees the lost reply instead.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        })
        .ok()?;
    Some(Registrar {
        jobs,
        thread: thread.thread().id(),
        pid: std::process::id(),
    })
}

/// Runs `work` on the registrar thread and returns its result; on the caller's thread if
/// there is no registrar (see the module docs) or the caller is the registrar. `None` only
/// if `work` panicked.
pub(crate) fn run<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let registrar = REGISTRAR
        .get_or_init(start)
        .as_ref()
        .filter(|r| r.thread != std::thread::current().id() && r.pid == std::process::id());
    let Some(registrar) = registrar else {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).ok();
    };
    let (reply, answer) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    if let Err(mpsc::SendError(job)) = registrar.jobs.send(job) {
        // The thread is gone (it never returns, so this is out of caution).
        job();
    }
    answer.recv().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_one_long_lived_thread() {
        let here = std::thread::current().id();
        let a = run(|| std::thread::current().id()).unwrap();
        let b = std::thread::spawn(|| run(|| std::thread::current().id()).unwrap())
            .join()
            .unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(a, b, "every caller reaches the same thread");
            assert_ne!(a, here, "the work left the caller's thread");
        } else {
            // Only Linux ties registrations to threads: elsewhere the work runs in place.
            assert_eq!(a, here);
        }
    }

    #[test]
    fn work_from_the_registrar_itself_runs_inline() {
        let nested = run(|| run(|| 7).unwrap()).unwrap();
        assert_eq!(nested, 7);
    }

    #[test]
    fn a_panicking_job_leaves_the_registrar_running() {
        assert_eq!(run(|| -> u8 { panic!("job fails") }), None);
        assert_eq!(run(|| 3), Some(3));
    }
}
