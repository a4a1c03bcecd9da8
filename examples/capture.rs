//! Trying the crate without a user_events kernel: the capture sink keeps each event in
//! memory, exactly as the kernel would receive it, and `tracepoint_decode` (Microsoft's
//! EventHeader decoder, independent of this crate) prints it as JSON.
//!
//! ```text
//! cargo run --example capture
//! ```
//!
//! The same code with `Sink::UserEvents` (the default on Linux) writes to the kernel.

mod common;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use otel_os_events::logs::Processor;
use otel_os_events::sink::{CaptureSink, Sink};
use tracepoint_decode::{EventHeaderEnumeratorContext, PerfConvertOptions};

fn main() -> std::process::ExitCode {
    common::run(|| {
        common::install_subscriber();
        // Every tracepoint of a capture counts as listened to (see `set_listening`).
        let capture = CaptureSink::new();
        let processor = Processor::builder("myprovider")
            .with_sink(Sink::Capture(capture.clone()))
            .build()?;
        let handle = processor.handle();
        let provider = SdkLoggerProvider::builder()
            .with_resource(common::resource())
            .with_log_processor(processor)
            .build();
        let logger = provider.logger("example");

        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Warn);
        record.set_body(AnyValue::from("queue almost full"));
        record.add_attribute("queue", "orders");
        record.add_attribute("depth", 977_i64);
        logger.emit(record);

        // A session stops listening on the info level: the next info record is not written,
        // and not counted (events emitted while nobody listens never are).
        capture.set_listening("myprovider_L4K1", false);
        let mut record = logger.create_log_record();
        record.set_severity_number(Severity::Info);
        record.set_body(AnyValue::from("nobody hears this"));
        logger.emit(record);

        let mut decoder = EventHeaderEnumeratorContext::new();
        for event in capture.events() {
            let mut json = String::new();
            let mut fields = decoder
                .enumerate_with_name_and_data(&event.tracepoint, &event.payload, 10_000)
                .map_err(|e| format!("{}: does not decode: {e:?}", event.tracepoint))?;
            fields.write_json_item_and_move_next_sibling(
                &mut json,
                false,
                PerfConvertOptions::Default,
            )?;
            println!(
                "{} ({} bytes): {{{json}}}",
                event.tracepoint,
                event.payload.len()
            );
        }
        println!(
            "capture: the info record came while nobody listened: neither written nor counted"
        );
        common::report("capture", &handle);
        provider.shutdown()?;
        Ok(())
    })
}
