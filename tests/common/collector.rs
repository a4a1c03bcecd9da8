//! A real OpenTelemetry collector for the tests that forward to one (inside the VM): rotel
//! (`rotel-agent` from PyPI's `rotel` wheel; vm/rotel.sh fetches it and OTEL_OS_EVENTS_ROTEL
//! names it), its debug log parsed into records, and the agent's counters read from its
//! stderr.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::skip::{ENV_IN_VM, ENV_REQUIRE_KERNEL};

/// Where the collector listens for OTLP/HTTP, on 127.0.0.1.
pub const COLLECTOR_PORT: u16 = 4318;

/// The collector binary, or None to skip (outside the VM).
pub fn rotel() -> Option<String> {
    match std::env::var("OTEL_OS_EVENTS_ROTEL") {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            let required = [ENV_IN_VM, ENV_REQUIRE_KERNEL]
                .iter()
                .any(|v| std::env::var(v).is_ok_and(|v| v == "1"));
            assert!(
                !required,
                "OTEL_OS_EVENTS_ROTEL is not set: run vm/rotel.sh on the host (it prints the \
                 path) and pass it in OTEL_OS_EVENTS_ROTEL and OTEL_OS_EVENTS_VM_FILES"
            );
            eprintln!("*** SKIPPED: OTEL_OS_EVENTS_ROTEL not set — proved nothing ***");
            None
        }
    }
}

/// A child killed (if still running) when dropped, so a failing test leaves nothing behind.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts rotel on 127.0.0.1:`COLLECTOR_PORT` and waits until it accepts connections. With `debug`,
/// it prints every record received; its stdout is collected into the returned text.
pub fn start_rotel(path: &str, debug: bool) -> (Guard, Arc<Mutex<String>>) {
    let mut cmd = Command::new(path);
    cmd.args(["start", "--exporter", "blackhole"])
        .args([
            "--otlp-http-endpoint",
            &format!("127.0.0.1:{COLLECTOR_PORT}"),
        ])
        .args(["--otlp-grpc-endpoint", "127.0.0.1:4317"])
        .args(["--pid-file", "/tmp/rotel-agent.pid"]);
    if debug {
        for signal in ["logs", "traces", "metrics"] {
            cmd.args(["--debug-log", signal]);
        }
        cmd.args(["--debug-log-verbosity", "detailed"]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {path}: {e}"));
    let out = Arc::new(Mutex::new(String::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&out);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", COLLECTOR_PORT)).is_err() {
        assert!(
            Instant::now() < deadline,
            "rotel never listened on {COLLECTOR_PORT}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, out)
}

pub fn sigterm(child: &Child) {
    // SAFETY: kill has no memory-safety preconditions; the pid is our live child.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
}

/// Waits until `text` holds `needle` `n` times.
pub fn wait_for(text: &Mutex<String>, needle: &str, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while text.lock().unwrap().matches(needle).count() < n {
        assert!(
            Instant::now() < deadline,
            "{n} × {needle:?} never arrived; got:\n{}",
            text.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// rotel's debug output, one entry per record (`LogRecord #`, `Span #`, `Metric #`): the
/// record's resource attributes, scope line, and its own lines, trimmed, with each run of
/// `-> ` lines sorted (attribute order is not part of what OTLP promises).
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub resource: Vec<String>,
    pub scope: String,
    pub lines: Vec<String>,
}

pub fn parse_received(text: &str) -> Vec<Received> {
    let (mut resource, mut scope) = (Vec::new(), String::new());
    let mut in_resource = false;
    let mut out: Vec<Received> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Resource") && line.contains(" #") {
            (resource, in_resource) = (Vec::new(), true);
            out.push(Received {
                resource: Vec::new(),
                scope: String::new(),
                lines: Vec::new(),
            });
            out.pop();
        } else if let Some(s) = line.strip_prefix("InstrumentationScope") {
            (scope, in_resource) = (s.trim().to_string(), false);
        } else if ["LogRecord #", "Span #", "Metric #"]
            .iter()
            .any(|p| line.starts_with(p))
        {
            in_resource = false;
            out.push(Received {
                resource: resource.clone(),
                scope: scope.clone(),
                lines: Vec::new(),
            });
        } else if in_resource {
            if line.starts_with("->") {
                resource.push(line.to_string());
                resource.sort();
            }
        } else if let Some(r) = out.last_mut() {
            if !line.starts_with("Scope") && !line.starts_with("INFO") && !line.contains(" INFO ") {
                r.lines.push(line.to_string());
            }
        }
    }
    for r in &mut out {
        r.lines = sort_runs(std::mem::take(&mut r.lines));
    }
    out
}

pub fn sort_runs(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut run: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with("->") {
            run.push(line);
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(line);
    }
    run.sort();
    out.append(&mut run);
    out
}

pub fn lines(text: &str) -> Vec<String> {
    sort_runs(text.lines().map(|l| l.trim().to_string()).collect())
}

/// The counters of the agent's last `forward: done:` line.
pub fn final_counts(stderr: &str) -> Vec<(String, u64)> {
    counts_of(stderr, "forward: done:").unwrap_or_else(|| panic!("no final line:\n{stderr}"))
}

/// The counters of the last line of `stderr` that starts with `prefix`: `name=value`, and
/// `name value` (`read 5`, `logs 3`).
pub fn counts_of(stderr: &str, prefix: &str) -> Option<Vec<(String, u64)>> {
    let line = stderr.lines().rev().find(|l| l.starts_with(prefix))?;
    let mut out = Vec::new();
    let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    for (i, w) in words.iter().enumerate() {
        if let Some((k, v)) = w.split_once('=') {
            out.push((k.to_string(), v.parse().unwrap()));
        } else if let Ok(n) = w.parse::<u64>() {
            if let Some(prev) = i.checked_sub(1).map(|p| words[p]) {
                out.push((prev.to_string(), n));
            }
        }
    }
    Some(out)
}

pub fn count(counts: &[(String, u64)], name: &str) -> u64 {
    counts
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("{name} not in {counts:?}"))
        .1
}
