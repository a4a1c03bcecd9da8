//! Helpers for tests that run on a real user_events kernel (inside the VM): read events back
//! the way an agent does (perf ring buffers) and through ftrace.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use otel_os_events::listen::{PerfEvent, PerfSession, SessionOptions};

use super::{decode, Decoded};

pub const TRACEFS: &str = "/sys/kernel/tracing";

/// A perf session on `tracepoints` with a ring large enough for the test.
pub fn session(tracepoints: &[&str]) -> PerfSession {
    let options = SessionOptions {
        ring_data_pages: 64,
        ..SessionOptions::default()
    };
    PerfSession::open(tracepoints, options).expect("open perf session")
}

/// Reads until `n` events arrived (or `timeout`), returning them raw.
pub fn read_raw(session: &mut PerfSession, n: usize, timeout: Duration) -> Vec<PerfEvent> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        session
            .read(Duration::from_millis(100), |e| out.push(e.clone()))
            .expect("read perf session");
    }
    out
}

/// Reads until `n` events arrived (or `timeout`), decoding each with tracepoint_decode.
pub fn read_decoded(session: &mut PerfSession, n: usize, timeout: Duration) -> Vec<Decoded> {
    read_raw(session, n, timeout)
        .iter()
        .map(|e| decode(&e.tracepoint, &e.raw))
        .collect()
}

/// Everything a session has after a short wait: for asserting that nothing arrived.
pub fn drain(session: &mut PerfSession) -> Vec<PerfEvent> {
    read_raw(session, usize::MAX, Duration::from_millis(300))
}

/// Writes `value` to a tracefs file such as `events/user_events/<tp>/enable`.
pub fn tracefs_write(path: &str, value: &str) {
    std::fs::write(format!("{TRACEFS}/{path}"), value)
        .unwrap_or_else(|e| panic!("write {path}: {e}"));
}

/// Reads a tracefs file such as `trace` or `user_events_status`.
pub fn tracefs_read(path: &str) -> String {
    std::fs::read_to_string(format!("{TRACEFS}/{path}"))
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Starts `otel-os-events listen <args>` with piped stdout and waits for its `listen: ready`
/// line: only then is its perf event open on every CPU (the kernel sets a writer's enable
/// bit as soon as the first CPU's event opens). Returns the child and a thread collecting
/// its stderr.
pub fn spawn_listen(args: &[&str]) -> (std::process::Child, std::thread::JoinHandle<String>) {
    let (child, stderr, _) = spawn_agent("listen", args);
    (child, stderr)
}

/// What the agent printed on stderr so far.
pub type LiveText = std::sync::Arc<std::sync::Mutex<String>>;

/// Starts `otel-os-events <command> <args>` (stdout piped, for the caller) and waits for its
/// `<command>: ready` line on stderr, as [`spawn_listen`] does. Also returns its stderr as it
/// comes. `OTEL_OS_EVENTS_AGENT` names another build of the command to run (a release
/// build, to measure it), else the one cargo built with the test.
pub fn spawn_agent(
    command: &str,
    args: &[&str],
) -> (
    std::process::Child,
    std::thread::JoinHandle<String>,
    LiveText,
) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let program = std::env::var("OTEL_OS_EVENTS_AGENT")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_otel-os-events").to_string());
    let mut child = Command::new(program)
        .arg(command)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn otel-os-events {command}: {e}"));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("piped stderr");
    let ready = format!("{command}: ready");
    let live = LiveText::default();
    let text = live.clone();
    let stderr_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with(&ready) {
                let _ = ready_tx.send(());
            }
            eprintln!("{line}");
            all.push_str(&line);
            all.push('\n');
            if let Ok(mut t) = text.lock() {
                t.push_str(&line);
                t.push('\n');
            }
        }
        all
    });
    ready_rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{command} never became ready"));
    (child, stderr_reader, live)
}
