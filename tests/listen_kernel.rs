//! The listener against a real user_events kernel (run in the VM: vm/run.sh as the cargo
//! runner). On a kernel without user_events every test prints a loud SKIPPED line and
//! passes, unless OTEL_OS_EVENTS_IN_VM=1 or OTEL_OS_EVENTS_REQUIRE_KERNEL=1 (then it fails):
//! see `kernel_or_skip` in tests/common/skip.rs.
//!
//! The CLI tests run the `otel-os-events` binary; in the VM it must be copied in:
//! `OTEL_OS_EVENTS_VM_FILES=/work/target-listen/debug/otel-os-events`.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

#[path = "listen_common/mod.rs"]
mod common;
#[path = "common/platform.rs"]
mod platform;
#[path = "common/skip.rs"]
mod skip;

use std::io::{BufRead, BufReader, Read};
use std::pin::Pin;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::EventBuilder;
use otel_os_events::listen::{
    ensure_registered, ListenError, PerfEvent, PerfSession, SessionOptions, TRACEFS,
};
use otel_os_events::sink::eventheader_name_args;
use skip::kernel_or_skip;
use tracepoint::{EventDataDescriptor, TracepointState};
use tracepoint_decode::{EventHeaderEnumeratorContext, EventHeaderEnumeratorState};

/// Env var that turns [`zz_child_writer_helper`] into a writer: `<tracepoint>:<n>`.
const CHILD_ENV: &str = "OTEL_OS_EVENTS_TEST_CHILD_WRITE";
/// Optional for the child writer: a file to wait for (besides the enable bit) before writing.
const CHILD_GO_ENV: &str = "OTEL_OS_EVENTS_TEST_CHILD_GO";

/// A tracepoint registered by this test process, like an application would.
struct Tp {
    state: Pin<Box<TracepointState>>,
}

impl Tp {
    fn register_eventheader(name: &str) -> Tp {
        Self::register(eventheader_name_args(name).unwrap().to_str().unwrap())
    }

    fn register(name_args: &str) -> Tp {
        let state = Box::pin(TracepointState::new(0));
        let c = std::ffi::CString::new(name_args).unwrap();
        // SAFETY: `state` is pinned on the heap and dropped (which unregisters) before it is
        // freed; it is fresh, so not registered yet.
        let errno = unsafe { state.as_ref().register(&c) };
        assert_eq!(errno, 0, "register {name_args:?}");
        Tp { state }
    }

    fn enabled(&self) -> bool {
        self.state.enabled()
    }

    fn write(&self, payload: &[u8]) -> i32 {
        let mut iov = [
            EventDataDescriptor::zero(),
            EventDataDescriptor::from_bytes(payload),
        ];
        self.state.write(&mut iov)
    }
}

/// The brief's event: name "Ev", level 4, one u32 field "n".
fn ev(n: u32) -> Vec<u8> {
    ev_at(4, n)
}

/// The same at another level (the decoder insists that the header's level is the one in
/// the tracepoint name).
fn ev_at(level: u8, n: u32) -> Vec<u8> {
    EventBuilder::new("Ev", level).u32("n", n).build()
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_n(session: &mut PerfSession, n: usize, timeout: Duration) -> Vec<PerfEvent> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        session
            .read(Duration::from_millis(100), |e| got.push(e.clone()))
            .unwrap();
    }
    got.sort_by_key(|e| e.time_ns); // rings are per CPU; restore write order
    got
}

/// Decodes `raw` as EventHeader and returns (event name, value of u32 field "n").
fn decode_n(tracepoint: &str, raw: &[u8]) -> (String, u32) {
    let mut ctx = EventHeaderEnumeratorContext::new();
    let mut e = ctx
        .enumerate_with_name_and_data(tracepoint, raw, 4096)
        .expect("EventHeader event");
    let name = String::from_utf8(e.event_info().name_bytes().to_vec()).unwrap();
    assert!(e.move_next(), "no field");
    assert_eq!(e.state(), EventHeaderEnumeratorState::Value);
    let item = e.item_info();
    assert_eq!(item.name_bytes(), b"n");
    let n = item.value().to_u32(0);
    assert!(!e.move_next());
    assert_eq!(e.state(), EventHeaderEnumeratorState::AfterLastItem);
    (name, n)
}

fn pin_this_thread_to_cpu(cpu: usize) {
    // SAFETY: cpu_set_t is plain data (all-zero is the empty set); CPU_SET writes inside
    // it; sched_setaffinity reads `size_of::<cpu_set_t>()` bytes from the live local.
    let ret = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(ret, 0, "sched_setaffinity");
}

/// `clock_gettime(CLOCK_MONOTONIC)`, the session's default clock.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a pointer to this live local.
    let ret = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(ret, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[test]
fn session_reads_eventheader_events_and_drives_the_enable_bit() {
    if !kernel_or_skip("session_reads_eventheader_events_and_drives_the_enable_bit") {
        return;
    }
    let name = "otelosev_ses_L4K1";
    let tp = Tp::register_eventheader(name);
    assert!(!tp.enabled(), "nobody listens yet");
    assert_eq!(tp.write(&ev(0)), libc::EBADF, "write without listener");

    let mut session = PerfSession::open(&[name], SessionOptions::default()).unwrap();
    assert!(
        tp.enabled(),
        "opening the perf events sets the writer's enable bit"
    );

    let before = monotonic_ns();
    for n in 1..=3 {
        assert_eq!(tp.write(&ev(n)), 0);
    }
    let got = read_n(&mut session, 3, Duration::from_secs(10));
    assert_eq!(got.len(), 3);
    let payload_len = ev(1).len();
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.tracepoint, name);
        assert_eq!(e.pid, std::process::id());
        assert_eq!(e.tid, platform::os_thread_id());
        assert!(
            e.time_ns >= before && e.time_ns <= monotonic_ns(),
            "time_ns is CLOCK_MONOTONIC"
        );
        assert_eq!(
            decode_n(&e.tracepoint, &e.raw),
            ("Ev".to_string(), i as u32 + 1)
        );
        // The raw data keeps the payload exactly, then the kernel's padding.
        assert_eq!(&e.raw[..payload_len], &ev(i as u32 + 1)[..]);
        let padding = &e.raw[payload_len..];
        eprintln!(
            "observed: payload {payload_len} bytes, raw after common fields {} bytes, padding {:?}",
            e.raw.len(),
            padding
        );
        assert_eq!((4 + 8 + e.raw.len()) % 8, 0, "u32 size + raw is 8-aligned");
        assert!(padding.len() < 8 && padding.iter().all(|&b| b == 0));
        let json = e.to_json();
        assert!(
            json.contains(&format!(r#""fields":{{"n":{}}}"#, i + 1)),
            "{json}"
        );
        assert!(
            json.contains(r#""provider":"otelosev_ses","event":"Ev","level":4"#),
            "{json}"
        );
    }
    assert_eq!((session.lost(), session.skipped()), (0, 0));

    drop(session);
    wait_until("the enable bit to clear", Duration::from_secs(5), || {
        !tp.enabled()
    });
    assert_eq!(tp.write(&ev(9)), libc::EBADF);
}

#[test]
fn start_disabled_then_enable() {
    if !kernel_or_skip("start_disabled_then_enable") {
        return;
    }
    let name = "otelosev_dis_L4K1";
    let tp = Tp::register_eventheader(name);
    let opts = SessionOptions {
        start_disabled: true,
        ..Default::default()
    };
    let mut session = PerfSession::open(&[name], opts).unwrap();
    assert!(
        tp.enabled(),
        "the kernel sets the bit even for a disabled perf event"
    );
    assert_eq!(tp.write(&ev(1)), 0);
    assert!(read_n(&mut session, 1, Duration::from_millis(300)).is_empty());
    session.enable().unwrap();
    assert_eq!(tp.write(&ev(2)), 0);
    let got = read_n(&mut session, 1, Duration::from_secs(10));
    assert_eq!(decode_n(name, &got[0].raw).1, 2);
    session.disable().unwrap();
    assert!(tp.enabled(), "disable() pauses sampling but keeps the bit");
    assert_eq!(tp.write(&ev(3)), 0);
    assert!(read_n(&mut session, 1, Duration::from_millis(300)).is_empty());
}

#[test]
fn non_nmi_safe_clocks_are_rejected_for_tracepoints() {
    if !kernel_or_skip("non_nmi_safe_clocks_are_rejected_for_tracepoints") {
        return;
    }
    let name = "otelosev_clock_L4K1";
    let _tp = Tp::register_eventheader(name);
    for (clock, ok) in [
        (libc::CLOCK_MONOTONIC, true),
        (libc::CLOCK_MONOTONIC_RAW, true),
        (libc::CLOCK_REALTIME, false),
        (libc::CLOCK_BOOTTIME, false),
    ] {
        let opts = SessionOptions {
            clockid: Some(clock),
            ..Default::default()
        };
        match PerfSession::open(&[name], opts) {
            Ok(_) => assert!(ok, "clock {clock} accepted"),
            Err(ListenError::PerfEventOpen { errno, .. }) => {
                assert!(!ok, "clock {clock}: errno {errno}");
                assert_eq!(errno, libc::EINVAL);
            }
            Err(e) => panic!("clock {clock}: {e}"),
        }
    }
}

#[test]
fn several_tracepoints_share_one_ring_per_cpu() {
    if !kernel_or_skip("several_tracepoints_share_one_ring_per_cpu") {
        return;
    }
    let names = [
        "otelosev_multi_L2K1",
        "otelosev_multi_L4K1",
        "otelosev_multi_L5K1",
    ];
    let tps: Vec<Tp> = names.iter().map(|n| Tp::register_eventheader(n)).collect();
    let mut session = PerfSession::open(&names, SessionOptions::default()).unwrap();
    for (i, (tp, level)) in tps.iter().zip([2, 4, 5]).enumerate() {
        assert!(tp.enabled());
        assert_eq!(tp.write(&ev_at(level, i as u32)), 0);
    }
    let got = read_n(&mut session, 3, Duration::from_secs(10));
    let seen: Vec<(&str, u32)> = got
        .iter()
        .map(|e| (e.tracepoint.as_str(), decode_n(&e.tracepoint, &e.raw).1))
        .collect();
    assert_eq!(seen, [(names[0], 0), (names[1], 1), (names[2], 2)]);
}

#[test]
fn full_ring_counts_lost_samples_exactly() {
    if !kernel_or_skip("full_ring_counts_lost_samples_exactly") {
        return;
    }
    let name = "otelosev_lost_L4K1";
    let tp = Tp::register_eventheader(name);
    let opts = SessionOptions {
        ring_data_pages: 1,
        ..Default::default()
    };
    let mut session = PerfSession::open(&[name], opts).unwrap();
    // Stay on one CPU: the kernel reports a ring's losses with that ring's next record, so
    // the final write below must land in the same ring as the ones that overflowed it.
    pin_this_thread_to_cpu(0);
    const N: u32 = 500;
    for n in 0..N {
        assert_eq!(tp.write(&ev(n)), 0);
    }
    let mut delivered = 0u32;
    let mut read_all = |session: &mut PerfSession| {
        while session
            .read(Duration::from_millis(200), |_| delivered += 1)
            .unwrap()
            > 0
        {}
    };
    read_all(&mut session);
    // The kernel emits PERF_RECORD_LOST with the next record that fits, so write one more.
    assert_eq!(tp.write(&ev(N)), 0);
    read_all(&mut session);
    eprintln!(
        "observed: one-page ring, {} writes: {delivered} delivered, {} lost",
        N + 1,
        session.lost()
    );
    assert!(session.lost() > 0, "a 4 KiB ring cannot hold {N} samples");
    assert_eq!(u64::from(delivered) + session.lost(), u64::from(N) + 1);
}

#[test]
fn tracefs_format_events_decode_from_the_format_file() {
    if !kernel_or_skip("tracefs_format_events_decode_from_the_format_file") {
        return;
    }
    let tp = Tp::register("otelosev_plain u32 count; s32 delta");
    let mut session =
        PerfSession::open(&["user_events:otelosev_plain"], SessionOptions::default()).unwrap();
    let mut payload = 7u32.to_ne_bytes().to_vec();
    payload.extend_from_slice(&(-5i32).to_ne_bytes());
    assert_eq!(tp.write(&payload), 0);
    let got = read_n(&mut session, 1, Duration::from_secs(10));
    let json = got[0].to_json();
    assert!(
        json.ends_with(r#""fields":{"count":7,"delta":-5}}"#),
        "{json}"
    );
}

#[test]
fn ensure_registered_registers_missing_tracepoints_and_reports_enable() {
    if !kernel_or_skip("ensure_registered_registers_missing_tracepoints_and_reports_enable") {
        return;
    }
    let name = "otelosev_ens_L4K1";
    let dir = format!("{TRACEFS}/events/user_events/{name}");
    assert!(!std::path::Path::new(&dir).exists());
    let reg = ensure_registered(name).unwrap();
    assert!(reg.registered_by_us());
    assert!(std::path::Path::new(&dir).exists());
    assert_eq!(reg.enabled(), Some(false));

    // An application registering the same name gets the same event.
    let app = Tp::register_eventheader(name);
    let again = ensure_registered(name).unwrap();
    assert!(!again.registered_by_us(), "exists now");

    let mut session = PerfSession::open(&[name], SessionOptions::default()).unwrap();
    assert_eq!(reg.enabled(), Some(true));
    assert!(app.enabled());
    assert_eq!(app.write(&ev(4)), 0);
    assert_eq!(
        decode_n(
            name,
            &read_n(&mut session, 1, Duration::from_secs(10))[0].raw
        )
        .1,
        4
    );
    drop(session);
    wait_until("the enable bit to clear", Duration::from_secs(5), || {
        reg.enabled() == Some(false)
    });

    assert!(ensure_registered("bad name_L4K1").is_err());
    assert!(ensure_registered("x;u32 y_L4K1").is_err());
}

// --- the CLI ----------------------------------------------------------------------------

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_otel-os-events"))
}

/// A running `otel-os-events listen` child.
struct Listener {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: BufReader<ChildStderr>,
    stderr_text: String,
}

impl Listener {
    /// Starts `otel-os-events <args>` and waits for its `listen: ready` line on stderr.
    ///
    /// Waiting for the writer's enable bit is not enough: the kernel sets it as soon as the
    /// first CPU's perf event exists, and an event written meanwhile on a CPU whose perf
    /// event is not open yet is not recorded.
    fn start(args: &[&str]) -> Listener {
        let mut child = cli()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run otel-os-events (in the VM, list it in OTEL_OS_EVENTS_VM_FILES)");
        let mut l = Listener {
            stdout: BufReader::new(child.stdout.take().unwrap()),
            stderr: BufReader::new(child.stderr.take().unwrap()),
            child,
            stderr_text: String::new(),
        };
        loop {
            let mut line = String::new();
            l.stderr.read_line(&mut line).unwrap();
            l.stderr_text.push_str(&line);
            if line.is_empty() {
                panic!("listener exited before ready: {}", l.stderr_text);
            }
            if line.starts_with("listen: ready") {
                return l;
            }
        }
    }

    /// The next stdout line ("" at EOF).
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line
    }

    /// Reads up to `n` stdout lines, then waits for exit: (lines, all of stderr, success).
    fn finish(mut self, n: usize) -> (Vec<String>, String, bool) {
        let mut lines = Vec::new();
        while lines.len() < n {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            lines.push(line.trim_end().to_string());
        }
        let status = self.child.wait().unwrap();
        self.stderr.read_to_string(&mut self.stderr_text).unwrap();
        (lines, self.stderr_text, status.success())
    }
}

/// The number after `"key":` in a JSON line.
fn json_u64(line: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    let start = line
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + pat.len();
    line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn cli_listen_tracepoint_count_prints_json_lines() {
    if !kernel_or_skip("cli_listen_tracepoint_count_prints_json_lines") {
        return;
    }
    let name = "otelosev_cli_L4K1";
    let tp = Tp::register_eventheader(name);
    let listener = Listener::start(&[
        "listen",
        "--tracepoint",
        name,
        "--count",
        "3",
        "--timeout",
        "60",
    ]);
    assert!(tp.enabled());
    for n in [10, 20, 30] {
        assert_eq!(tp.write(&ev(n)), 0);
    }
    let (lines, stderr, ok) = listener.finish(3);
    assert!(ok, "listener failed: {stderr}");
    assert_eq!(lines.len(), 3, "{lines:?} {stderr}");
    let mut values: Vec<(u64, u64)> = lines
        .iter()
        .map(|l| {
            assert!(
                l.starts_with(&format!(r#"{{"tracepoint":"{name}","#)),
                "{l}"
            );
            assert!(l.contains(r#""event":"Ev","level":4"#), "{l}");
            assert_eq!(json_u64(l, "pid"), u64::from(std::process::id()));
            (json_u64(l, "time_ns"), json_u64(l, "n"))
        })
        .collect();
    values.sort();
    assert_eq!(values.iter().map(|v| v.1).collect::<Vec<_>>(), [10, 20, 30]);
    assert!(stderr.contains("listen: 3 events, 0 lost"), "{stderr}");
    wait_until("the enable bit to clear", Duration::from_secs(5), || {
        !tp.enabled()
    });
}

/// Runs [`zz_child_writer_helper`] as a separate "application" process that registers
/// `name`, waits for a listener, writes `ev(n)` and exits.
fn spawn_child_writer(name: &str, n: u32) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "zz_child_writer_helper",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, format!("{name}:{n}"))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

/// Waits for a [`spawn_child_writer`] child; returns the pid it reported.
fn finish_child_writer(child: Child, n: u32) -> u32 {
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "writer {n}: {text}");
    text.split("child-writer-pid=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("writer {n} did not report: {text}"))
        .parse()
        .unwrap()
}

fn run_child_writer(name: &str, n: u32) -> u32 {
    finish_child_writer(spawn_child_writer(name, n).spawn().unwrap(), n)
}

#[test]
fn session_keeps_an_app_registered_event_alive_across_app_restarts() {
    if !kernel_or_skip("session_keeps_an_app_registered_event_alive_across_app_restarts") {
        return;
    }
    // Here the application registers the event, not the listener: the perf events alone
    // must keep it from being deleted when the application exits.
    let name = "otelosev_apprestart_L4K1";
    let dir = format!("{TRACEFS}/events/user_events/{name}");
    let go = format!("/tmp/{name}.go");
    let _ = std::fs::remove_file(&go);
    let first = spawn_child_writer(name, 1)
        .env(CHILD_GO_ENV, &go)
        .spawn()
        .unwrap(); // registers, then waits for a listener and for `go`
    wait_until("the app to register", Duration::from_secs(20), || {
        std::path::Path::new(&dir).exists()
    });
    let mut session = PerfSession::open(&[name], SessionOptions::default()).unwrap();
    std::fs::write(&go, b"").unwrap(); // every CPU samples now
    let pid1 = finish_child_writer(first, 1);
    assert!(
        std::path::Path::new(&dir).exists(),
        "kept by the perf events"
    );
    let pid2 = run_child_writer(name, 2);
    let got = read_n(&mut session, 2, Duration::from_secs(10));
    let seen: Vec<(u32, u32)> = got
        .iter()
        .map(|e| (e.pid, decode_n(name, &e.raw).1))
        .collect();
    assert_eq!(seen, [(pid1, 1), (pid2, 2)]);
}

#[test]
fn cli_starts_before_the_app_and_survives_its_restart() {
    if !kernel_or_skip("cli_starts_before_the_app_and_survives_its_restart") {
        return;
    }
    let provider = "otelosev_restart";
    let name = "otelosev_restart_L4K1";
    let dir = format!("{TRACEFS}/events/user_events/{name}");
    assert!(
        !std::path::Path::new(&dir).exists(),
        "nobody registered it yet"
    );
    let listener = Listener::start(&[
        "listen",
        provider,
        "--level",
        "4",
        "--count",
        "2",
        "--timeout",
        "120",
    ]);
    let id_path = format!("{dir}/id");
    let event_id = || std::fs::read_to_string(&id_path).ok();
    let registered_id = event_id().expect("the listener registered it");
    // Two application runs, each a separate process that registers, writes once, exits.
    let mut writer_pids = Vec::new();
    for n in [1, 2] {
        let pid = run_child_writer(name, n);
        writer_pids.push(u64::from(pid));
        // Still the same event, not one deleted and registered anew: its id is unchanged.
        // The lookup is retried for a moment: once, under ASan in the VM, the event's
        // directory was missing right after the app exited, while other tests were removing
        // their events (the events of both runs still have to reach the listener below).
        let mut id = None;
        wait_until(
            "the event's id after the app exit",
            Duration::from_secs(5),
            || {
                id = event_id();
                id.is_some()
            },
        );
        assert_eq!(
            id.as_deref(),
            Some(registered_id.as_str()),
            "still registered after the app exit"
        );
    }
    let (lines, stderr, ok) = listener.finish(2);
    assert!(ok, "listener failed: {stderr}");
    assert_eq!(lines.len(), 2, "{lines:?} {stderr}");
    assert_eq!(
        lines.iter().map(|l| json_u64(l, "n")).collect::<Vec<_>>(),
        [1, 2],
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().map(|l| json_u64(l, "pid")).collect::<Vec<_>>(),
        writer_pids
    );
    assert!(stderr.contains("(1 registered by us)"), "{stderr}");
    assert!(stderr.contains("listen: 2 events, 0 lost"), "{stderr}");
}

#[test]
fn cli_exits_cleanly_on_sigint_and_sigterm() {
    if !kernel_or_skip("cli_exits_cleanly_on_sigint_and_sigterm") {
        return;
    }
    for (signal, name) in [
        (libc::SIGINT, "otelosev_sigint_L4K1"),
        (libc::SIGTERM, "otelosev_sigterm_L4K1"),
    ] {
        let tp = Tp::register_eventheader(name);
        let mut listener = Listener::start(&["listen", "--tracepoint", name, "--timeout", "60"]);
        assert_eq!(tp.write(&ev(5)), 0);
        let line = listener.line();
        assert_eq!(json_u64(&line, "n"), 5, "{line}");
        let pid = listener.child.id() as libc::pid_t;
        // SAFETY: kill has no memory-safety preconditions; the pid is our live child.
        let ret = unsafe { libc::kill(pid, signal) };
        assert_eq!(ret, 0);
        let (rest, stderr, ok) = listener.finish(usize::MAX);
        assert!(rest.is_empty(), "{rest:?}");
        assert!(ok, "signal {signal}: {stderr}");
        assert!(stderr.contains("listen: 1 events, 0 lost"), "{stderr}");
        wait_until("the enable bit to clear", Duration::from_secs(5), || {
            !tp.enabled()
        });
    }
}

#[test]
fn cli_reports_errors_with_nonzero_exit() {
    if !kernel_or_skip("cli_reports_errors_with_nonzero_exit") {
        return;
    }
    // Not an EventHeader name and not registered: nothing to register, so "not found".
    let out = cli()
        .args(["listen", "--tracepoint", "otelosev_nosuch", "--count", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not found"), "{stderr}");
}

/// Not a test on its own: with `OTEL_OS_EVENTS_TEST_CHILD_WRITE=<tracepoint>:<n>` it is the
/// "application" process of `cli_starts_before_the_app_and_survives_its_restart`: it
/// registers the tracepoint, waits until a listener enables it, writes one event with
/// `n`, and exits. Without the variable it does nothing.
#[test]
fn zz_child_writer_helper() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (name, n) = spec.rsplit_once(':').unwrap();
    let tp = Tp::register_eventheader(name);
    wait_until("a listener", Duration::from_secs(20), || tp.enabled());
    if let Ok(go) = std::env::var(CHILD_GO_ENV) {
        wait_until("the go file", Duration::from_secs(20), || {
            std::path::Path::new(&go).exists()
        });
    }
    assert_eq!(tp.write(&ev(n.parse().unwrap())), 0);
    println!("child-writer-pid={}", std::process::id());
}
