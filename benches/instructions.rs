//! Instruction counts per record, for callgrind: deterministic where wall-clock benches on
//! these machines are not. Run it through `benches/instructions.sh`, which runs each case
//! twice under `valgrind --tool=callgrind` (with few and with many records) and prints the
//! difference per record, so that setup costs cancel out.
//!
//! `instructions <case> <records>`: builds the processor of `<case>` and emits `<records>`
//! records through it. The sink is a capture that refuses every write (EIO), so the count is
//! the encoder and the write path, without a syscall.
//!
//! Cases: `sync/4attr`, `sync/4attr_trace`, `sync/6attr`, `sync/6attr_trace` (the record of
//! `benches/logs.rs`: event name, severity, body, 4 or 6 string attributes, optionally a trace
//! context).

use std::hint::black_box;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::LogProcessor;
use opentelemetry_sdk::Resource;
use otel_os_events::logs::Processor;
use otel_os_events::sink::{CaptureSink, Sink};

#[path = "common/record.rs"]
mod record;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`: nothing to do then (this is not a timed bench).
    let [case, records] = args.as_slice() else {
        eprintln!("usage: instructions <case> <records> (see benches/instructions.sh)");
        return;
    };
    let records: u64 = records.parse().expect("a record count");
    let (attrs, trace) = match case.as_str() {
        "sync/4attr" => (4, false),
        "sync/4attr_trace" => (4, true),
        "sync/6attr" => (6, false),
        "sync/6attr_trace" => (6, true),
        other => panic!("unknown case {other}"),
    };
    let capture = CaptureSink::new();
    capture.fail_writes(Some(libc::EIO));
    let mut processor = Processor::builder("bench_icount")
        .with_sink(Sink::Capture(capture))
        .build()
        .expect("processor");
    processor.set_resource(
        &Resource::builder_empty()
            .with_service_name("benchmark")
            .build(),
    );
    let scope = InstrumentationScope::default();
    let mut r = record::bench_record(attrs, trace);
    for _ in 0..records {
        processor.emit(black_box(&mut r), &scope);
    }
    let stats = processor.stats();
    assert_eq!(stats.accepted, records, "every record was encoded");
}
