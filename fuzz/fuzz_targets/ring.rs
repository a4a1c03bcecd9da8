//! The perf ring parser (`src/listen/ring.rs`) over arbitrary ring bytes, head, tail and
//! ring size: see `otel_os_events_fuzz::ring_case` for the input layout and the checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otel_os_events_fuzz::check_ring(data));
