//! `PerfEvent::to_json` (what `otel-os-events listen` prints) over arbitrary sample bytes
//! and tracepoint names: see `otel_os_events_fuzz::json_case` for the input layout.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otel_os_events_fuzz::check_json(data));
