//! Exporter process → kernel → `otel-os-events listen` process → JSON, on a real
//! user_events kernel (inside the VM). Skips loudly elsewhere.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};

use common::kernel::spawn_listen;
use common::record;
use common::skip::kernel_or_skip;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::Processor;
use serde_json::Value;

#[test]
fn listen_prints_what_the_processor_wrote() {
    if !kernel_or_skip("listen_prints_what_the_processor_wrote") {
        return;
    }
    // listen starts first: it registers the provider's tracepoints itself.
    let (mut child, stderr_reader) = spawn_listen(&["kt_cli", "--count", "3", "--timeout", "30"]);
    let processor = Processor::builder("kt_cli").build().unwrap();
    assert!(
        processor.event_enabled(Severity::Error, "t", None)
            && processor.event_enabled(Severity::Info, "t", None)
    );
    let provider = SdkLoggerProvider::builder().build();
    let scope = InstrumentationScope::default();
    for (i, severity) in [Severity::Error, Severity::Info, Severity::Info]
        .into_iter()
        .enumerate()
    {
        let mut r = record(
            &provider,
            Some(severity),
            Some(AnyValue::String(format!("message {i}").into())),
            vec![
                ("n", AnyValue::Int(i as i64)),
                (
                    "tags",
                    AnyValue::ListAny(Box::new(vec![
                        AnyValue::String("x".into()),
                        AnyValue::String("y".into()),
                    ])),
                ),
            ],
        );
        processor.emit(&mut r, &scope);
    }
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("listen prints JSON lines"))
        .collect();
    let status = child.wait().unwrap();
    let stderr = stderr_reader.join().unwrap();
    assert!(status.success(), "listen failed: {stderr}");
    assert!(
        stderr.contains("3 events") && stderr.contains("0 lost"),
        "{stderr}"
    );
    assert_eq!(lines.len(), 3);
    lines.sort_by_key(|l| l["fields"]["PartC"]["n"].as_i64());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["pid"], std::process::id(), "{line}");
        assert_eq!(line["provider"], "kt_cli");
        assert_eq!(line["event"], "Log");
        assert_eq!(line["level"], if i == 0 { 2 } else { 4 });
        assert_eq!(
            line["tracepoint"],
            if i == 0 { "kt_cli_L2K1" } else { "kt_cli_L4K1" }
        );
        let fields = &line["fields"];
        assert_eq!(fields["__csver__"], 1024);
        assert_eq!(fields["PartB"]["body"], format!("message {i}"));
        assert_eq!(fields["PartB"]["_typeName"], "Log");
        assert_eq!(fields["PartC"]["n"], i as i64);
        assert_eq!(fields["PartC"]["tags"], serde_json::json!(["x", "y"]));
        assert!(fields["PartA"]["time"].as_str().unwrap().ends_with('Z'));
    }
}
