//! Queued mode, a keyword function and a listener callback.
//!
//! - Queued: the caller encodes into a pooled buffer and enqueues it; one flush thread writes.
//! - The keyword function sends `audit` records to keyword 2 (`myprovider_L4K2`), the rest to
//!   keyword 1. A keyword's tracepoints are registered the first time a record asks for it.
//! - The listener callback is told, on the watcher thread, when a session starts or stops
//!   listening.
//!
//! ```text
//! otel-os-events listen myprovider --keyword 2   # on a kernel with user_events
//! cargo run --example queued
//! ```

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions};

fn main() -> std::process::ExitCode {
    common::run(|| {
        common::install_subscriber();
        let changes = Arc::new(AtomicUsize::new(0));
        let seen = changes.clone();
        let processor = Processor::builder("myprovider")
            .with_mode(Mode::Queued(QueueOptions {
                capacity: 1024,
                ..QueueOptions::default()
            }))
            .with_keyword_fn(|record| {
                if record.event_name() == Some("audit") {
                    2
                } else {
                    1
                }
            })
            .with_listener_callback(move |change| {
                seen.fetch_add(1, Relaxed);
                let verb = if change.listening {
                    "started"
                } else {
                    "stopped"
                };
                println!(
                    "listener: a session {verb} listening on {}",
                    change.tracepoint
                );
            })
            .with_listener_poll_interval(Duration::from_millis(50))
            .build()?;
        let handle = processor.handle();
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(processor)
            .build();
        let logger = provider.logger("example");

        for (event, body) in [
            ("audit", "user alice logged in"),
            ("request", "GET /"),
            ("audit", "user alice logged out"),
        ] {
            let mut record = logger.create_log_record();
            record.set_event_name(event);
            record.set_severity_number(Severity::Info);
            record.set_body(AnyValue::from(body));
            logger.emit(record);
        }
        // Returns once everything accepted before it is written (or counted as dropped).
        handle.force_flush()?;

        common::report("queued", &handle);
        println!(
            "queued: queue high water {}, listener changes seen {}",
            handle.stats().queue_high_water,
            changes.load(Relaxed)
        );
        provider.shutdown()?;
        Ok(())
    })
}
