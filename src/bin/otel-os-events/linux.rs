//! The command on Linux: arguments (clap), signals, and `listen` over the crate's perf reader
//! (`forward`'s arguments are in `forward.rs`).

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{ArgGroup, Args, CommandFactory, Parser, Subcommand};
use otel_os_events::listen::{
    can_register, ensure_registered, eventheader_tracepoint_name, next_wait, split_tracepoint,
    ListenError, PerfSession, RegisteredTracepoint, SessionOptions,
};

#[path = "forward.rs"]
mod forward;

/// Exit statuses, shown at the end of every `--help`.
const EXIT_CODES: &str = "\
Exit status:
  0  success: the count or timeout was reached, SIGINT/SIGTERM, stdout closed, or --help
  1  runtime error: a tracepoint not found, no permission, perf or tracefs failures
  2  usage error: an unknown command or option, or a value that is not valid (for forward,
     an --endpoint that is not an http:// URL)";

/// The long description of `listen`.
const LISTEN_ABOUT: &str = "\
Reads user_events tracepoints through perf, one ring per CPU, and prints each event as one
JSON object per line on stdout. Missing EventHeader tracepoints and otlp_metrics are
registered first, so listen may start before the application; they stay registered until
listen exits.

Each line: {\"tracepoint\":..,\"time_ns\":..,\"pid\":..,\"tid\":..,\"cpu\":.., then for
EventHeader events \"provider\", \"event\", \"level\", \"keyword\", .. and \"fields\":{..}}.
For the metrics exporters' otlp_metrics events, \"fields\" (protocol, version, buffer length)
and \"otlp\":{\"resourceMetrics\":[..]}, the decoded OTLP request in the OTLP/JSON mapping.
An event that does not decode has \"decode_error\" and \"raw_hex\" instead. time_ns is
CLOCK_MONOTONIC (the kernel refuses CLOCK_REALTIME for tracepoint samples).

Stops on SIGINT/SIGTERM and prints `listen: <n> events, <m> lost` to stderr.
Needs root or CAP_PERFMON (system-wide tracepoint sampling).";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "otel-os-events",
    version,
    about = "A local agent for OpenTelemetry events written to Linux user_events",
    override_usage = "otel-os-events listen <PROVIDER>... [--level <N>] [--keyword <K>] [OPTIONS]\n       \
                      otel-os-events listen --tracepoint <NAME>... [OPTIONS]\n       \
                      otel-os-events forward <PROVIDER>... [--endpoint <URL>] [OPTIONS]",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print each event of the given tracepoints as one JSON line
    #[command(long_about = LISTEN_ABOUT, after_help = EXIT_CODES)]
    Listen(ListenCmd),
    /// Send the given providers' logs, spans and metrics to an OpenTelemetry collector
    #[command(long_about = forward::ABOUT, after_help = EXIT_CODES)]
    Forward(forward::ForwardCmd),
}

/// Which tracepoints to read: providers (with a level and keyword) or tracepoint names.
#[derive(Debug, Args)]
#[command(group = ArgGroup::new("what").required(true).args(["provider", "tracepoint"]))]
struct Select {
    /// EventHeader providers: reads <PROVIDER>_L<level>K<keyword> (A-Z, a-z, 0-9, _)
    #[arg(value_parser = parse_provider)]
    provider: Vec<String>,
    /// Only level N (1 critical .. 5 verbose) [default: levels 1 to 5]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..),
          conflicts_with = "tracepoint")]
    level: Option<u8>,
    /// Keyword, hexadecimal (e.g. 1, 0x1f) [default: 1]
    #[arg(long, value_name = "K", value_parser = parse_keyword, conflicts_with = "tracepoint")]
    keyword: Option<u64>,
    /// These tracepoints (name, or system:name); takes several names, repeatable
    #[arg(long, value_name = "NAME", num_args = 1.., value_parser = parse_tracepoint)]
    tracepoint: Vec<String>,
}

impl Select {
    /// The tracepoint names: each provider's levels with the keyword, then --tracepoint's.
    fn tracepoints(self) -> Result<Vec<String>, clap::Error> {
        let mut tracepoints = Vec::new();
        let keyword = self.keyword.unwrap_or(1);
        for provider in &self.provider {
            for l in self.level.map_or(1..=5, |l| l..=l) {
                // The provider alone was checked; with a long keyword the name may be too
                // long.
                let name = eventheader_tracepoint_name(provider, l, keyword).map_err(|e| {
                    Cli::command().error(clap::error::ErrorKind::ValueValidation, e.to_string())
                })?;
                tracepoints.push(name);
            }
        }
        tracepoints.extend(self.tracepoint);
        Ok(tracepoints)
    }
}

/// `listen`'s arguments as given.
#[derive(Debug, Args)]
struct ListenCmd {
    #[command(flatten)]
    select: Select,
    /// Exit after N events
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Exit after SECS seconds (fractions allowed)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout,
          allow_negative_numbers = true)]
    timeout: Option<Duration>,
    /// Data pages per CPU ring, a power of two
    #[arg(long, value_name = "N", value_parser = parse_ring_pages,
          default_value_t = SessionOptions::default().ring_data_pages)]
    ring_pages: usize,
}

fn parse_provider(s: &str) -> Result<String, String> {
    eventheader_tracepoint_name(s, 1, 1).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

fn parse_keyword(s: &str) -> Result<u64, String> {
    let hex = s.strip_prefix("0x").or(s.strip_prefix("0X")).unwrap_or(s);
    u64::from_str_radix(hex, 16).map_err(|_| "not a hexadecimal number".to_string())
}

fn parse_tracepoint(s: &str) -> Result<String, String> {
    split_tracepoint(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| "not a number of seconds".to_string())?;
    Duration::try_from_secs_f64(secs).map_err(|_| "out of range".to_string())
}

fn parse_ring_pages(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|_| "not a number".to_string())?;
    if !n.is_power_of_two() {
        return Err("must be a power of two".to_string());
    }
    Ok(n)
}

/// What `listen` was asked to do.
#[derive(Debug, Clone, PartialEq)]
struct ListenArgs {
    tracepoints: Vec<String>,
    count: Option<u64>,
    timeout: Option<Duration>,
    ring_pages: usize,
}

/// What the command line asks for.
#[derive(Debug)]
enum Action {
    Listen(ListenArgs),
    Forward(otel_os_events::forward::ForwardOptions),
}

/// Parses the whole command line (program name first): `Ok(None)` when no command was given
/// (the caller prints the help); `--help` and `--version` come back as clap errors whose
/// kind says so (clap prints them to stdout, with status 0).
fn parse_action<I, T>(args: I) -> Result<Option<Action>, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args)?.command {
        None => Ok(None),
        Some(Command::Listen(cmd)) => Ok(Some(Action::Listen(ListenArgs {
            tracepoints: cmd.select.tracepoints()?,
            count: cmd.count,
            timeout: cmd.timeout,
            ring_pages: cmd.ring_pages,
        }))),
        Some(Command::Forward(cmd)) => Ok(Some(Action::Forward(cmd.options()?))),
    }
}

/// [`parse_action`] for `listen` (the tests of its arguments).
#[cfg(test)]
fn parse_args<I, T>(args: I) -> Result<Option<ListenArgs>, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Ok(parse_action(args)?.map(|action| match action {
        Action::Listen(args) => args,
        Action::Forward(_) => panic!("not listen"),
    }))
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

/// Registers the tracepoints that do not exist yet and that `listen` knows the fields of
/// (EventHeader ones and `otlp_metrics`); others are left to `open` (which reports them as
/// not found).
fn register_missing(tracepoints: &[String]) -> Result<Vec<RegisteredTracepoint>, ListenError> {
    let mut kept = Vec::new();
    for tp in tracepoints {
        split_tracepoint(tp)?;
        if can_register(tp) {
            kept.push(ensure_registered(tp)?);
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
        let Some(wait) = next_wait(deadline) else {
            break;
        };
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
    let action = match parse_action(std::env::args_os()) {
        Ok(Some(action)) => action,
        Ok(None) => {
            // No command: the help, as for --help.
            let _ = Cli::command().print_long_help();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Help and version to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    if let Err(e) = install_signal_handlers() {
        eprintln!("otel-os-events: {e}");
        return ExitCode::FAILURE;
    }
    let result = match action {
        Action::Listen(args) => listen(args).map_err(|e| e.to_string()),
        Action::Forward(options) => forward::run(options, &STOP),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otel-os-events: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    fn parse(s: &str) -> Result<Option<ListenArgs>, clap::Error> {
        parse_args(std::iter::once("otel-os-events").chain(s.split_whitespace()))
    }

    fn tracepoints(s: &str) -> Vec<String> {
        parse(s).unwrap().expect("a command").tracepoints
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
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
        let a =
            parse("listen --tracepoint a_L4K1 user_events_multi:m.0 --count 3 --tracepoint c --timeout 1.5 --ring-pages 4")
                .unwrap()
                .unwrap();
        assert_eq!(a.tracepoints, ["a_L4K1", "user_events_multi:m.0", "c"]);
        assert_eq!(a.count, Some(3));
        assert_eq!(a.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(a.ring_pages, 4);
        let a = parse("listen p").unwrap().unwrap();
        assert_eq!(
            (a.count, a.timeout, a.ring_pages),
            (None, None, SessionOptions::default().ring_data_pages)
        );
    }

    #[test]
    fn help() {
        assert!(parse("").unwrap().is_none());
        for s in [
            "--help",
            "-h",
            "help",
            "listen --help",
            "listen p -h",
            "help listen",
        ] {
            let kind = parse(s).unwrap_err().kind();
            assert_eq!(kind, ErrorKind::DisplayHelp, "{s:?}");
        }
        assert_eq!(
            parse("--version").unwrap_err().kind(),
            ErrorKind::DisplayVersion
        );
    }

    #[test]
    fn help_documents_every_flag_and_the_exit_codes() {
        let top = Cli::command().render_long_help().to_string();
        assert!(top.contains("Exit status:"), "{top}");
        let mut cmd = Cli::command();
        let listen = cmd.find_subcommand_mut("listen").unwrap();
        let text = listen.render_long_help().to_string();
        for flag in [
            "<PROVIDER>",
            "--level",
            "--keyword",
            "--tracepoint",
            "--count",
            "--timeout",
            "--ring-pages",
            "--help",
            "Exit status:",
            "2  usage error",
            "otlp",
        ] {
            assert!(text.contains(flag), "{flag}: {text}");
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        for (s, kind) in [
            ("frobnicate", ErrorKind::InvalidSubcommand),
            ("listen", ErrorKind::MissingRequiredArgument),
            ("listen p q;", ErrorKind::ValueValidation),
            ("listen p --level", ErrorKind::InvalidValue),
            ("listen p --level 0", ErrorKind::ValueValidation),
            ("listen p --level 256", ErrorKind::ValueValidation),
            ("listen p --level x", ErrorKind::ValueValidation),
            ("listen p --keyword xyz", ErrorKind::ValueValidation),
            ("listen p --count 0", ErrorKind::ValueValidation),
            ("listen p --timeout -1", ErrorKind::ValueValidation),
            ("listen p --timeout abc", ErrorKind::ValueValidation),
            ("listen p --ring-pages 3", ErrorKind::ValueValidation),
            ("listen p --bogus", ErrorKind::UnknownArgument),
            ("listen p --tracepoint x_L1K1", ErrorKind::ArgumentConflict),
            (
                "listen --tracepoint x_L1K1 --level 4",
                ErrorKind::ArgumentConflict,
            ),
            ("listen --tracepoint ../x", ErrorKind::ValueValidation),
            ("listen a;b", ErrorKind::ValueValidation),
            ("listen a-b", ErrorKind::ValueValidation),
            ("listen --tracepoint", ErrorKind::InvalidValue),
        ] {
            match parse(s) {
                Err(e) => assert_eq!(e.kind(), kind, "{s:?}: {e}"),
                Ok(a) => panic!("{s:?} parsed: {a:?}"),
            }
        }
    }

    #[test]
    fn a_provider_too_long_for_its_keyword_is_a_usage_error() {
        let provider = "p".repeat(240);
        let e = parse(&format!("listen {provider} --keyword ffffffffffffffff")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("exceed 255"), "{e}");
    }
}
