//! Registrations and threads, on a real user_events kernel (run inside the VM: `vm/test.sh`).
//!
//! The kernel ties a registration to the registering thread's `user_event_mm`, not to the
//! process (see `src/sink/registrar.rs`). Unregistering from another thread is proved by
//! `sink::user_events`'s unit test (it reads the errno); here a processor is built on a
//! thread that exits, the way applications do, and sessions must still reach it.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::kernel::*;
use common::skip::kernel_or_skip;
use common::*;
use opentelemetry::logs::Severity;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::Processor;

const WAIT: Duration = Duration::from_secs(5);

/// Before the fix the kernel dropped the registration when the building thread exited: the
/// enable word was never set again and every record was lost without a count.
#[test]
fn a_processor_built_on_a_thread_that_exited_still_sees_sessions() {
    if !kernel_or_skip("a_processor_built_on_a_thread_that_exited_still_sees_sessions") {
        return;
    }
    let processor = std::thread::spawn(|| Processor::builder("kt_thr_exit").build().unwrap())
        .join()
        .unwrap();
    let provider = SdkLoggerProvider::builder().build();
    let mut session = session(&["kt_thr_exit_L4K1"]);
    assert!(
        processor.event_enabled(Severity::Info, "", None),
        "the session reaches the enable word"
    );
    processor.emit(
        &mut record(&provider, Some(Severity::Info), None, vec![]),
        &InstrumentationScope::default(),
    );
    let events = read_decoded(&mut session, 1, WAIT);
    assert_eq!(events.len(), 1, "the record arrived");
    assert_eq!(processor.stats().written, 1);
}
