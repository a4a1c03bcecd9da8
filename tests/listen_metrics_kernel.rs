//! `otel-os-events listen` decoding the metrics exporter's `otlp_metrics` events on a real
//! user_events kernel (run in the VM: vm/run.sh as the cargo runner, with the binary listed
//! in `OTEL_OS_EVENTS_VM_FILES`). On a kernel without user_events the test prints a loud
//! SKIPPED line and passes, unless OTEL_OS_EVENTS_IN_VM / _REQUIRE_KERNEL is 1 (see
//! `kernel_or_skip` in tests/common/skip.rs).
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};

use common::kernel::spawn_listen;
use common::metrics::{metrics_pipeline, resource, views};
use common::skip::kernel_or_skip;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use otel_os_events::metrics::{Exporter, TRACEPOINT_NAME};
use serde_json::{json, Value};

/// The metrics of every line, by name: (the metric's JSON, its resource's, its scope's).
fn metrics_by_name(lines: &[Value]) -> Vec<(String, Value, Value, Value)> {
    let mut out = Vec::new();
    for line in lines {
        for rm in line["otlp"]["resourceMetrics"].as_array().expect("decoded") {
            for sm in rm["scopeMetrics"].as_array().unwrap() {
                for m in sm["metrics"].as_array().unwrap() {
                    let name = m["name"].as_str().unwrap().to_string();
                    out.push((name, m.clone(), rm["resource"].clone(), sm["scope"].clone()));
                }
            }
        }
    }
    out
}

/// `[{"key":..,"value":..}]` as sorted (key, value) pairs.
fn attributes(points: &Value) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = points["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"].clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn string(s: &str) -> Value {
    json!({ "stringValue": s })
}

#[test]
fn listen_decodes_exported_metrics_to_otlp_json() {
    if !kernel_or_skip("listen_decodes_exported_metrics_to_otlp_json") {
        return;
    }
    // listen first: it registers otlp_metrics with the exporter's own field list, so the
    // exporter, built after it, shares the event (a different list would fail EADDRINUSE).
    let (mut child, stderr_reader) =
        spawn_listen(&["--tracepoint", TRACEPOINT_NAME, "--timeout", "60"]);
    let p = metrics_pipeline(Exporter::builder(), None, |b| {
        views(b).with_resource(resource())
    });
    let status = p.handle.status();
    assert!(status[0].status.is_registered(), "{status:?}");

    let scope = InstrumentationScope::builder("listen.test")
        .with_version("0.1")
        .build();
    let meter = p.provider.meter_with_scope(scope);
    let requests = meter.u64_counter("requests").with_unit("1").build();
    requests.add(2, &[KeyValue::new("route", "/a")]);
    requests.add(3, &[KeyValue::new("route", "/a")]);
    requests.add(1, &[KeyValue::new("route", "/b")]);
    let queue = meter.i64_up_down_counter("queue.depth").build();
    queue.add(-4, &[KeyValue::new("queue", "jobs")]);
    let temperature = meter.f64_gauge("temperature").with_unit("Cel").build();
    temperature.record(
        21.5,
        &[KeyValue::new("room", "lab"), KeyValue::new("floor", 3)],
    );
    let latency = meter
        .f64_histogram("latency")
        .with_boundaries(vec![1.0, 10.0])
        .build();
    for v in [0.5, 2.0, 3.5] {
        latency.record(v, &[KeyValue::new("ok", true)]);
    }
    p.provider.force_flush().unwrap();
    let written = p.handle.events_written() as usize;
    assert!(written >= 1);

    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..written {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        println!("{}", line.trim_end());
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
        lines.push(v);
    }
    // SAFETY: kill has no memory-safety preconditions; the pid is our live child.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = child.wait().unwrap();
    let stderr = stderr_reader.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("listen: {written} events, 0 lost")),
        "{stderr}"
    );
    assert!(
        stderr.contains("(1 registered by us)"),
        "listen registered otlp_metrics: {stderr}"
    );

    for line in &lines {
        // The envelope every listen line has, and the format's fields.
        assert_eq!(line["tracepoint"], TRACEPOINT_NAME);
        assert_eq!(line["pid"], std::process::id());
        assert!(line["time_ns"].as_u64().unwrap() > 0, "{line}");
        assert_eq!(line["fields"]["protocol"], 0);
        assert_eq!(line["fields"]["version"], "v0.19.00");
        assert!(line.get("decode_error").is_none(), "{line}");
    }
    let metrics = metrics_by_name(&lines);
    let names: Vec<&str> = metrics.iter().map(|m| m.0.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["latency", "queue.depth", "requests", "temperature"],
        "{names:?}"
    );
    let metric = |name: &str| metrics.iter().find(|m| m.0 == name).unwrap();
    for (_, _, resource, scope) in &metrics {
        let attrs = attributes(resource);
        assert!(
            attrs.contains(&("service.name".into(), string("svc"))),
            "{attrs:?}"
        );
        assert!(
            attrs.contains(&("pid".into(), json!({"intValue": "42"}))),
            "{attrs:?}"
        );
        assert_eq!(
            (&scope["name"], &scope["version"]),
            (&json!("listen.test"), &json!("0.1"))
        );
    }

    // The counter: a monotonic delta sum (the exporter's default temporality; enums are
    // integers: 1 delta, 2 cumulative), 64-bit values as strings, one point per series.
    let (_, requests, _, _) = metric("requests");
    assert_eq!(requests["unit"], "1");
    let sum = &requests["sum"];
    assert_eq!(
        (&sum["isMonotonic"], &sum["aggregationTemporality"]),
        (&json!(true), &json!(1))
    );
    let mut points: Vec<(Vec<(String, Value)>, Value)> = sum["dataPoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p["timeUnixNano"].as_str().unwrap().parse::<u64>().unwrap() > 0);
            (attributes(p), p["asInt"].clone())
        })
        .collect();
    points.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
    assert_eq!(
        points,
        [
            (vec![("route".into(), string("/a"))], json!("5")),
            (vec![("route".into(), string("/b"))], json!("1")),
        ]
    );

    // The up-down counter: a non-monotonic sum (cumulative whatever the exporter asks, as
    // the SDK's delta preference has it), a negative integer.
    let (_, queue, _, _) = metric("queue.depth");
    assert_eq!(queue["sum"]["isMonotonic"], false);
    assert_eq!(queue["sum"]["aggregationTemporality"], 2);
    let p = &queue["sum"]["dataPoints"][0];
    assert_eq!(p["asInt"], "-4");
    assert_eq!(attributes(p), [("queue".into(), string("jobs"))]);

    // The gauge: a double, attributes of two types.
    let (_, temperature, _, _) = metric("temperature");
    assert_eq!(temperature["unit"], "Cel");
    let p = &temperature["gauge"]["dataPoints"][0];
    assert_eq!(p["asDouble"], 21.5);
    assert_eq!(
        attributes(p),
        [
            ("floor".into(), json!({"intValue": "3"})),
            ("room".into(), string("lab")),
        ]
    );

    // The histogram: count as a string, buckets, sum, min, max.
    let (_, latency, _, _) = metric("latency");
    assert_eq!(latency["histogram"]["aggregationTemporality"], 1);
    let p = &latency["histogram"]["dataPoints"][0];
    assert_eq!(p["count"], "3");
    assert_eq!(p["sum"], 6.0);
    assert_eq!(p["explicitBounds"], json!([1.0, 10.0]));
    assert_eq!(p["bucketCounts"], json!(["1", "2", "0"]));
    assert_eq!((&p["min"], &p["max"]), (&json!(0.5), &json!(3.5)));
    assert_eq!(attributes(p), [("ok".into(), json!({"boolValue": true}))]);
}
