//! The command on Linux: arguments, signals, and `listen` over the crate's perf reader.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use otel_os_events::listen::{
    ensure_registered, eventheader_tracepoint_name, split_tracepoint,
    validate_eventheader_tracepoint_name, ListenError, PerfSession, RegisteredTracepoint,
    SessionOptions, USER_EVENTS_SYSTEM,
};

const USAGE: &str = r#"usage: otel-os-events listen <provider> [--level N] [--keyword K] [options]
       otel-os-events listen --tracepoint <name>... [options]

Reads user_events tracepoints through perf, one ring per CPU, and prints each event as one
JSON object per line on stdout. Missing EventHeader tracepoints are registered first, so
listen may start before the application; they stay registered until listen exits.

  <provider>          EventHeader provider: listens to <provider>_L<level>K<keyword>
  --level N           only level N (1 critical .. 5 verbose); default: levels 1 to 5
  --keyword K         keyword, hexadecimal (e.g. 1, 0x1f); default 1
  --tracepoint NAME.. these tracepoints (name, or system:name); repeatable
  --count N           exit after N events
  --timeout SECS      exit after SECS seconds (fractions allowed)
  --ring-pages N      data pages per CPU ring, a power of two (default 16)
  -h, --help          this text

Each line: {"tracepoint":..,"time_ns":..,"pid":..,"tid":..,"cpu":.., then for EventHeader
events "provider", "event", "level", "keyword", .. and "fields":{..}}. time_ns is
CLOCK_MONOTONIC (the kernel refuses CLOCK_REALTIME for tracepoint samples).

Stops on SIGINT/SIGTERM and prints `listen: <n> events, <m> lost` to stderr.
Needs root or CAP_PERFMON (system-wide tracepoint sampling)."#;

/// What `listen` was asked to do.
#[derive(Debug, Clone, PartialEq)]
struct ListenArgs {
    tracepoints: Vec<String>,
    count: Option<u64>,
    timeout: Option<Duration>,
    ring_pages: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Command {
    Help,
    Listen(ListenArgs),
}

fn value<'a>(args: &mut impl Iterator<Item = &'a str>, flag: &str) -> Result<&'a str, String> {
    args.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn parse_num<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{flag}: not a valid number: {s:?}"))
}

/// Parses everything after the program name.
fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter().map(String::as_str).peekable();
    match it.next() {
        None | Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("listen") => {}
        Some(other) => return Err(format!("unknown command {other:?}")),
    }
    let mut provider: Option<&str> = None;
    let mut level: Option<u8> = None;
    let mut keyword: Option<u64> = None;
    let mut tracepoints = Vec::new();
    let mut out = ListenArgs {
        tracepoints: Vec::new(),
        count: None,
        timeout: None,
        ring_pages: SessionOptions::default().ring_data_pages,
    };
    while let Some(arg) = it.next() {
        match arg {
            "-h" | "--help" => return Ok(Command::Help),
            "--level" => {
                let v = value(&mut it, arg)?;
                let n: u8 = parse_num(v, arg)?;
                if n == 0 {
                    return Err("--level must be 1 or more".to_string());
                }
                level = Some(n);
            }
            "--keyword" => {
                let v = value(&mut it, arg)?;
                let hex = v.strip_prefix("0x").or(v.strip_prefix("0X")).unwrap_or(v);
                keyword = Some(
                    u64::from_str_radix(hex, 16)
                        .map_err(|_| format!("--keyword: not a hexadecimal number: {v:?}"))?,
                );
            }
            "--tracepoint" => {
                let first = value(&mut it, arg)?;
                tracepoints.push(first.to_string());
                while let Some(next) = it.next_if(|a| !a.starts_with('-')) {
                    tracepoints.push(next.to_string());
                }
            }
            "--count" => {
                let n: u64 = parse_num(value(&mut it, arg)?, arg)?;
                if n == 0 {
                    return Err("--count must be 1 or more".to_string());
                }
                out.count = Some(n);
            }
            "--timeout" => {
                let secs: f64 = parse_num(value(&mut it, arg)?, arg)?;
                out.timeout = Some(
                    Duration::try_from_secs_f64(secs)
                        .map_err(|_| format!("--timeout: out of range: {secs}"))?,
                );
            }
            "--ring-pages" => {
                let n: usize = parse_num(value(&mut it, arg)?, arg)?;
                if !n.is_power_of_two() {
                    return Err("--ring-pages must be a power of two".to_string());
                }
                out.ring_pages = n;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            positional => {
                if provider.replace(positional).is_some() {
                    return Err(format!("unexpected argument {positional:?}"));
                }
            }
        }
    }
    match (provider, tracepoints.is_empty()) {
        (Some(_), false) => return Err("give a provider or --tracepoint, not both".to_string()),
        (None, true) => return Err("give a provider or --tracepoint".to_string()),
        (None, false) => {
            if level.is_some() || keyword.is_some() {
                return Err("--level and --keyword go with a provider".to_string());
            }
            for tp in &tracepoints {
                split_tracepoint(tp).map_err(|e| e.to_string())?;
            }
            out.tracepoints = tracepoints;
        }
        (Some(provider), true) => {
            let keyword = keyword.unwrap_or(1);
            let levels = level.map_or(1..=5, |l| l..=l);
            for l in levels {
                out.tracepoints.push(
                    eventheader_tracepoint_name(provider, l, keyword).map_err(|e| e.to_string())?,
                );
            }
        }
    }
    Ok(Command::Listen(out))
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, Ordering::Relaxed);
}

/// Installs `on_signal` for SIGINT and SIGTERM without SA_RESTART, so a blocked `poll`
/// returns EINTR and the loop sees `STOP` at once.
fn install_signal_handlers() -> Result<(), String> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: an all-zero sigaction is a valid value (empty mask, no flags); we then set
        // the handler to an `extern "C" fn(c_int)` that only stores to an atomic, which is
        // async-signal-safe. The pointers passed to sigemptyset/sigaction are to this live
        // local, and the old-action pointer is null (not wanted).
        let ret = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if ret != 0 {
            return Err(format!("sigaction: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Registers the EventHeader tracepoints that do not exist yet; others are left to `open`
/// (which reports them as not found).
fn register_missing(tracepoints: &[String]) -> Result<Vec<RegisteredTracepoint>, ListenError> {
    let mut kept = Vec::new();
    for tp in tracepoints {
        let (system, name) = split_tracepoint(tp)?;
        if system == USER_EVENTS_SYSTEM && validate_eventheader_tracepoint_name(name).is_ok() {
            kept.push(ensure_registered(name)?);
        }
    }
    Ok(kept)
}

fn listen(args: ListenArgs) -> Result<(), ListenError> {
    let registrations = register_missing(&args.tracepoints)?;
    let names: Vec<&str> = args.tracepoints.iter().map(String::as_str).collect();
    let options = SessionOptions {
        ring_data_pages: args.ring_pages,
        ..Default::default()
    };
    let mut session = PerfSession::open(&names, options)?;
    let registered = registrations
        .iter()
        .filter(|r| r.registered_by_us())
        .count();
    eprintln!(
        "listen: ready: {} tracepoint(s) ({registered} registered by us): {}",
        names.len(),
        names.join(" ")
    );

    let deadline = args.timeout.map(|t| Instant::now() + t);
    let mut events: u64 = 0;
    let mut stdout = std::io::stdout().lock();
    let mut line = String::new();
    let mut output_closed = false;
    let done = |events: u64| args.count.is_some_and(|c| events >= c);
    while !STOP.load(Ordering::Relaxed) && !done(events) && !output_closed {
        let mut wait = Duration::from_millis(200);
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            wait = wait.min(left);
        }
        session.read(wait, |event| {
            if done(events) || output_closed {
                return;
            }
            line.clear();
            event.write_json(&mut line);
            line.push('\n');
            if stdout
                .write_all(line.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                output_closed = true; // e.g. the reading end of a pipe went away
                return;
            }
            events += 1;
        })?;
    }
    eprintln!("listen: {events} events, {} lost", session.lost());
    drop(session);
    drop(registrations);
    Ok(())
}

/// Runs the command with the process's arguments.
pub(crate) fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("otel-os-events: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Ok(Command::Listen(listen_args)) => {
            if let Err(e) = install_signal_handlers() {
                eprintln!("otel-os-events: {e}");
                return ExitCode::FAILURE;
            }
            match listen(listen_args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("otel-os-events: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Command, String> {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&v)
    }

    fn tracepoints(s: &str) -> Vec<String> {
        match parse(s).unwrap() {
            Command::Listen(a) => a.tracepoints,
            Command::Help => panic!("help"),
        }
    }

    #[test]
    fn provider_defaults_to_all_levels_keyword_1() {
        assert_eq!(
            tracepoints("listen myprov"),
            [
                "myprov_L1K1",
                "myprov_L2K1",
                "myprov_L3K1",
                "myprov_L4K1",
                "myprov_L5K1"
            ]
        );
    }

    #[test]
    fn level_and_keyword_in_lowercase_hex() {
        assert_eq!(
            tracepoints("listen p --level 4 --keyword 0x1F"),
            ["p_L4K1f"]
        );
        assert_eq!(
            tracepoints("listen p --keyword ABC --level 12"),
            ["p_LcKabc"]
        );
        assert_eq!(tracepoints("listen p --level 5 --keyword 0"), ["p_L5K0"]);
    }

    #[test]
    fn tracepoint_lists_and_options() {
        let Command::Listen(a) =
            parse("listen --tracepoint a_L4K1 user_events_multi:m.0 --count 3 --tracepoint c --timeout 1.5 --ring-pages 4")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(a.tracepoints, ["a_L4K1", "user_events_multi:m.0", "c"]);
        assert_eq!(a.count, Some(3));
        assert_eq!(a.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(a.ring_pages, 4);
    }

    #[test]
    fn help() {
        for s in ["", "--help", "-h", "help", "listen --help", "listen p -h"] {
            assert_eq!(parse(s), Ok(Command::Help), "{s:?}");
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        for s in [
            "frobnicate",
            "listen",
            "listen p q",
            "listen p --level",
            "listen p --level 0",
            "listen p --level 256",
            "listen p --level x",
            "listen p --keyword xyz",
            "listen p --count 0",
            "listen p --timeout -1",
            "listen p --timeout abc",
            "listen p --ring-pages 3",
            "listen p --bogus",
            "listen p --tracepoint x_L1K1",
            "listen --tracepoint x_L1K1 --level 4",
            "listen --tracepoint ../x",
            "listen a;b",
            "listen a-b",
            "listen --tracepoint",
        ] {
            assert!(parse(s).is_err(), "{s:?} parsed");
        }
    }
}
