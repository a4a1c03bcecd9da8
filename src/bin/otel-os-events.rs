//! `otel-os-events`: a small local agent for user_events EventHeader tracepoints.
//!
//! `otel-os-events listen <provider> [--level N] [--keyword K]` or
//! `otel-os-events listen --tracepoint <name>...` prints one JSON object per event per line
//! (the metrics exporter's `otlp_metrics` payloads decoded to OTLP/JSON).
//! `otel-os-events forward <provider>... --endpoint http://collector:4318` sends the
//! providers' logs, spans and metrics to an OpenTelemetry collector over OTLP/HTTP.
//! Arguments are parsed with clap: `otel-os-events --help`, `otel-os-events listen --help`
//! and `otel-os-events forward --help` document every option and the exit statuses (0 done,
//! 1 runtime error, 2 usage error).
//!
//! Linux only: it reads perf ring buffers (`perf_event_open`), which exist nowhere else. On
//! other systems the command builds, says so and exits with status 2; to see ETW events on
//! Windows use that system's own tools (README, "ETW").

use std::process::ExitCode;

#[cfg(target_os = "linux")]
#[path = "otel-os-events/linux.rs"]
mod linux;

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!(
        "otel-os-events: this command reads Linux user_events through perf and is Linux-only; \
         on Windows, watch the ETW provider with tracelog/logman and tracefmt, or PerfView"
    );
    ExitCode::from(2)
}
