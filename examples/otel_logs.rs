//! Logs through the OpenTelemetry Logs API (the API an appender uses): build a record, set
//! its severity, body and attributes, emit it.
//!
//! ```text
//! otel-os-events listen myprovider     # on a kernel with user_events, in another terminal
//! cargo run --example otel_logs
//! ```

mod common;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use otel_os_events::logs::{EventName, Processor};

fn main() -> std::process::ExitCode {
    common::run(|| {
        common::install_subscriber();
        let processor = Processor::builder("myprovider")
            // The record's event name (`set_event_name`) instead of the fixed "Log".
            .with_event_name(EventName::FromRecord)
            .build()?;
        let handle = processor.handle();
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(processor)
            .build();
        let logger = provider.logger("example");

        let mut record = logger.create_log_record();
        record.set_event_name("order.placed");
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        record.set_body(AnyValue::from("order placed"));
        record.add_attribute("order_id", 1001_i64);
        record.add_attribute("event_id", 7_i64); // goes to PartB.eventId
        logger.emit(record);

        // A record without a severity has no level to go to: dropped and counted
        // (DropReason::NoSeverity), listener or not.
        let mut record = logger.create_log_record();
        record.set_body(AnyValue::from("no severity"));
        logger.emit(record);

        common::report("logs", &handle);
        provider.shutdown()?;
        Ok(())
    })
}
