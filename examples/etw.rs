//! ETW, the Windows path: the same builder with `Sink::Etw` (the default on Windows) writes
//! TraceLogging events to the ETW provider `MyCompany.MyComponent`.
//!
//! ```text
//! cargo run --example etw
//! ```
//!
//! On Windows, record the events while it runs (as an administrator), for example with
//! `logman start otel -p {ce5fa4ea-ab00-5402-8b76-9f76ac858fb5} 0xffffffffffffffff 5 -o otel.etl -ets`.
//! Elsewhere ETW does not exist: the example says so, then writes the same records to an ETW
//! capture sink and prints what `EventWriteTransfer` would have received.

mod common;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use otel_os_events::logs::Processor;
use otel_os_events::sink::{CaptureSink, Sink};

const PROVIDER: &str = "MyCompany.MyComponent";

/// Logs two records through a provider writing to `sink`.
fn log_to(sink: Sink) -> Result<(), Box<dyn std::error::Error>> {
    let processor = Processor::builder(PROVIDER).with_sink(sink).build()?;
    let handle = processor.handle();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    let logger = provider.logger("example");
    for (severity, body) in [
        (Severity::Error, "payment declined"),
        (Severity::Info, "order placed"),
    ] {
        let mut record = logger.create_log_record();
        record.set_severity_number(severity);
        record.set_body(AnyValue::from(body));
        record.add_attribute("order_id", 1001_i64);
        logger.emit(record);
    }
    provider.force_flush()?;
    // Read the status before shutdown, which unregisters the provider.
    common::report("etw", &handle);
    provider.shutdown()?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    common::run(|| {
        common::install_subscriber();
        println!(
            "etw: provider {PROVIDER}, id {}",
            otel_os_events::etw_provider_id(PROVIDER)
        );
        log_to(Sink::Etw)?;
        if cfg!(windows) {
            return Ok(());
        }
        println!("etw: not Windows, so the same records go to an ETW capture sink instead:");
        let capture = CaptureSink::etw();
        log_to(Sink::Capture(capture.clone()))?;
        for event in capture.events() {
            let Some(etw) = event.etw else { continue };
            println!(
                "etw: EventWriteTransfer: level {}, keyword {:#x}, metadata {} bytes, data {} bytes",
                etw.level,
                etw.keyword,
                etw.meta.len(),
                etw.data.len()
            );
        }
        Ok(())
    })
}
