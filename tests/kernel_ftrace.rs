//! ftrace holds less per event than perf: what the README's "Behaviours to know" says about
//! its recipe, checked on a real user_events kernel (in the VM). An event the crate writes
//! (and counts as written) can still be missing from ftrace's buffer, while perf would
//! deliver it.
// Linux only: user_events exists nowhere else.
#![cfg(target_os = "linux")]

mod common;

use common::kernel::*;
use common::skip::kernel_or_skip;
use common::*;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::{Processor, DEFAULT_MAX_EVENT_SIZE};

/// Writes one warn record with a body of `body_len` bytes while ftrace records
/// `kt_fsize_L3K1`, and says whether ftrace's buffer holds it.
fn ftrace_holds(processor: &Processor, body_len: usize) -> bool {
    let provider = SdkLoggerProvider::builder().build();
    let body = format!("ftrace-{body_len}-{}", "x".repeat(body_len));
    tracefs_write("trace", ""); // clear the buffer
    tracefs_write("events/user_events/kt_fsize_L3K1/enable", "1");
    let record = &mut record(
        &provider,
        Some(Severity::Warn),
        Some(AnyValue::from(body)),
        vec![],
    );
    processor.emit(record, &InstrumentationScope::default());
    tracefs_write("events/user_events/kt_fsize_L3K1/enable", "0");
    tracefs_read("trace").contains("kt_fsize_L3K1:")
}

#[test]
fn ftrace_misses_events_perf_would_deliver() {
    if !kernel_or_skip("ftrace_misses_events_perf_would_deliver") {
        return;
    }
    let processor = Processor::builder("kt_fsize").build().unwrap();
    assert!(
        ftrace_holds(&processor, 3_000),
        "a 3 KB event fits ftrace's page"
    );
    assert!(
        !ftrace_holds(&processor, 6_000),
        "a 6 KB event, under the {DEFAULT_MAX_EVENT_SIZE}-byte perf default, is not in ftrace"
    );
    let stats = processor.stats();
    assert_eq!(
        (stats.accepted, stats.written, stats.dropped_total()),
        (2, 2, 0),
        "both were written: the writev succeeded, the crate cannot see what ftrace kept"
    );
    drop(processor);

    // The README's advice for ftrace readers: a maximum of 4,000 bytes, so the same
    // record is cut to fit and ftrace keeps it.
    let processor = Processor::builder("kt_fsize")
        .with_max_event_size(4_000)
        .build()
        .unwrap();
    assert!(
        ftrace_holds(&processor, 6_000),
        "cut to 4,000 bytes, it is in ftrace"
    );
    assert_eq!(processor.stats().truncated, 1);
}
