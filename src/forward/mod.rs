//! A local agent's forwarding side: read user_events through perf (the [`listen`] session),
//! turn each event back into OTLP, and send it to an OpenTelemetry collector (compiled with
//! feature `cli`; it backs `otel-os-events forward`).
//!
//! ```text
//! perf rings ──► decode (reader thread) ──► bounded queue ──► export thread ──► collector
//!  listen/         decode.rs, span.rs,        (queue_full:       export.rs:      OTLP/HTTP
//!                  fields.rs                   dropped)          batches, retry  protobuf
//! ```
//!
//! - Common Schema `Log` events become log records and `Span` events spans (the module
//!   docs of `decode.rs` and `span.rs` say what the layout cannot carry); `otlp_metrics`
//!   payloads are passed on as they are.
//! - An event that does not decode is counted by [`DecodeReason`] and not forwarded.
//! - A full queue, a collector that refuses or cannot be reached (after the retries) drop
//!   events, counted by [`DropReason`]; memory stays bounded by the queue.
//!
//! [`listen`]: crate::listen

mod decode;
mod export;
mod fields;
mod span;
mod stats;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use decode::{DecodeReason, MAX_INTERNED};
pub use export::ExportOptions;
pub use stats::{cpu_seconds, DropReason, Signal, Snapshot, Stats};

use crate::listen::{next_wait, ListenError, PerfSession, SessionOptions};

/// What [`run`] does.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    /// The tracepoints read (as for [`PerfSession::open`]); they must exist.
    pub tracepoints: Vec<String>,
    /// The perf session's settings.
    pub session: SessionOptions,
    /// Items the queue to the export thread holds; more are dropped (`queue_full`).
    pub queue_size: usize,
    /// How items are sent.
    pub export: ExportOptions,
    /// A summary line on stderr this often (None: never; the last one is always printed).
    pub stats_interval: Option<Duration>,
    /// Stop after this long (None: until `stop`).
    pub timeout: Option<Duration>,
}

/// Why [`run`] failed.
#[derive(Debug)]
pub enum ForwardError {
    /// Opening or reading the perf session.
    Listen(ListenError),
    /// Building the exporters.
    Export(String),
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardError::Listen(e) => e.fmt(f),
            ForwardError::Export(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ForwardError {}

impl From<ListenError> for ForwardError {
    fn from(e: ListenError) -> Self {
        ForwardError::Listen(e)
    }
}

/// Forwards until `stop` is set (a signal handler sets it) or the timeout passes, then
/// flushes what is queued and returns the final counts. Prints `forward: ready: …` once the
/// session is open, a summary every `stats_interval`, and the last one (`forward: done: …,
/// cpu <user+system> s in <wall> s`), all on stderr. The
/// first decode error of each reason is printed with its detail.
pub fn run(options: ForwardOptions, stop: &AtomicBool) -> Result<Snapshot, ForwardError> {
    if options.queue_size == 0 || options.export.max_batch == 0 {
        return Err(ForwardError::Export(
            "the queue size and the batch size must be at least 1".to_string(),
        ));
    }
    let stats = Arc::new(Stats::default());
    let exporter = export::Exporter::new(options.export.clone(), Arc::clone(&stats))
        .map_err(ForwardError::Export)?;
    let names: Vec<&str> = options.tracepoints.iter().map(String::as_str).collect();
    let mut session = PerfSession::open(&names, options.session.clone())?;
    let (queue, items) = sync_channel(options.queue_size);
    let export_thread = std::thread::Builder::new()
        .name("otlp-export".to_string())
        .spawn(move || exporter.run(items))
        .map_err(|e| ForwardError::Export(format!("spawn the export thread: {e}")))?;
    eprintln!(
        "forward: ready: {} tracepoint(s) to {}: {}",
        names.len(),
        options.export.endpoint,
        names.join(" ")
    );

    let mut decoder = decode::Decoder::new();
    let mut reported = [false; DecodeReason::ALL.len()];
    let started = Instant::now();
    let deadline = options.timeout.map(|t| started + t);
    let (mut last_line, mut read_then) = (started, 0);
    let mut result = Ok(());
    while !stop.load(Ordering::Relaxed) {
        let Some(wait) = next_wait(deadline) else {
            break;
        };
        let read = session.read(wait, |event| match decoder.decode(event) {
            Ok(item) => match queue.try_send(item) {
                Ok(()) => {}
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    stats.dropped(DropReason::QueueFull, 1)
                }
            },
            Err(e) => {
                stats.decode_error(e.reason);
                if !std::mem::replace(&mut reported[e.reason as usize], true) {
                    eprintln!(
                        "forward: not forwarded ({}): {} event: {}",
                        e.reason.as_str(),
                        event.tracepoint,
                        e.detail
                    );
                }
            }
        });
        match read {
            Ok(n) => stats.read(n as u64),
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
        stats.set_lost(session.lost());
        if let Some(every) = options.stats_interval {
            let elapsed = last_line.elapsed();
            if elapsed >= every {
                let snap = stats.snapshot();
                let rate = (snap.read - read_then) as f64 / elapsed.as_secs_f64();
                eprintln!("forward: {}", snap.line(rate));
                (last_line, read_then) = (Instant::now(), snap.read);
            }
        }
    }
    drop(session);
    drop(queue);
    let _ = export_thread.join();
    let snap = stats.snapshot();
    let elapsed = started.elapsed().as_secs_f64();
    let rate = snap.read as f64 / elapsed.max(1e-9);
    let cpu = stats::cpu_seconds(None).map_or_else(|| "?".to_string(), |c| format!("{c:.2}"));
    eprintln!(
        "forward: done: {}, cpu {cpu} s in {elapsed:.2} s",
        snap.line(rate)
    );
    result.map(|()| snap)
}
