//! What every example shares: a subscriber that shows the crate's own warnings, errors in
//! Display form, and a report of what happened to the events.
#![allow(dead_code)] // each example uses a part

use std::error::Error;
use std::process::ExitCode;

use otel_os_events::sink::TracepointStatus;
use otel_os_events::{DropReason, ProcessorHandle};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// Prints warnings and errors to stderr: among them the crate's own (`OsEvents.*`, for
/// example "could not be registered"), which come through OpenTelemetry's internal logging
/// (feature `internal-logs`, on by default) and show only once a subscriber is installed.
pub fn warnings_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_filter(LevelFilter::WARN)
}

/// Installs [`warnings_layer`] as the global subscriber. Call it before building any
/// provider: a warning logged while building goes nowhere without one.
pub fn install_subscriber() {
    tracing_subscriber::registry().with(warnings_layer()).init();
}

/// Runs an example's body and prints its error, if any, in Display form (returning an error
/// from `main` would print it in Debug form).
pub fn run(body: impl FnOnce() -> Result<(), Box<dyn Error>>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The examples' service: `service.name` becomes each event's `PartA.ext_cloud_role`.
pub fn resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name("example-shop")
        .build()
}

/// Prints each tracepoint's status, the counters, and what they mean: why nothing was
/// written, or that nobody listened.
pub fn report(what: &str, handle: &ProcessorHandle) {
    let status = handle.status();
    // One line per distinct status, naming its tracepoints.
    let mut groups: Vec<(TracepointStatus, Vec<&str>)> = Vec::new();
    for entry in &status {
        match groups.iter_mut().find(|(s, _)| *s == entry.status) {
            Some((_, names)) => names.push(&entry.tracepoint),
            None => groups.push((entry.status, vec![&entry.tracepoint])),
        }
    }
    for (status, names) in &groups {
        println!("{what}: {}: {status}", names.join(", "));
    }
    let stats = handle.stats();
    let dropped: Vec<String> = stats
        .dropped
        .iter()
        .map(|(reason, n)| format!("{reason}: {n}"))
        .collect();
    println!(
        "{what}: accepted {}, written {}, truncated {}, dropped {} [{}]",
        stats.accepted,
        stats.written,
        stats.truncated,
        stats.dropped_total(),
        dropped.join(", ")
    );
    if let Some(first) = status.iter().find(|e| !e.status.is_registered()) {
        println!(
            "{what}: nothing could be written: the tracepoints are not registered (above){}",
            hint(first.status)
        );
    } else if stats.accepted
        == stats.dropped(DropReason::NoSeverity) + stats.dropped(DropReason::AfterShutdown)
    {
        // Only records refused outright (counted whether or not anyone listens).
        println!(
            "{what}: registered, but no session listened, so nothing was written (events \
             emitted while nobody listens are not counted)"
        );
    }
}

/// What to do about a status that stops events.
fn hint(status: TracepointStatus) -> &'static str {
    match status {
        TracepointStatus::UserEventsUnavailable | TracepointStatus::EtwUnavailable => {
            "; examples/capture.rs shows the events on any system"
        }
        TracepointStatus::Registered | TracepointStatus::Unregistered => "",
        _ => "; examples/capture.rs shows the events without user_events",
    }
}
