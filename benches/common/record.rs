//! The record every logs bench emits (included by path from `benches/logs.rs` and
//! `benches/instructions.rs`): event name, severity Error with its text, a body, `attrs`
//! string attributes and, optionally, a trace context.

use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLoggerProvider};

/// The bench record with `attrs` (at most 6) attributes, with a trace context if `trace`.
pub fn bench_record(attrs: usize, trace: bool) -> SdkLogRecord {
    const KEYS: [&str; 6] = ["field1", "field2", "field3", "field4", "field5", "field6"];
    let provider = SdkLoggerProvider::builder().build();
    let mut r = provider.logger("bench").create_log_record();
    r.set_event_name("CheckoutFailed");
    r.set_severity_number(Severity::Error);
    r.set_severity_text("ERROR");
    r.set_body(AnyValue::String("Unable to process checkout.".into()));
    r.set_timestamp(SystemTime::now());
    for key in &KEYS[..attrs] {
        r.add_attribute(*key, AnyValue::String((*key).into()));
    }
    if trace {
        r.set_trace_context(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
            SpanId::from(0xb7ad6b7169203331_u64),
            Some(TraceFlags::SAMPLED),
        );
    }
    r
}
