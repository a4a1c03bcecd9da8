//! `otel-os-events forward` on a real user_events kernel, against a real collector, all in
//! the VM: the app (this test) → user_events → the agent → OTLP/HTTP over loopback → rotel
//! (`rotel-agent`, a Rust OpenTelemetry collector from PyPI's `rotel` wheel, fetched and
//! cached on the host by vm/rotel.sh and named by OTEL_OS_EVENTS_ROTEL; the helpers are in
//! tests/common/collector.rs). The collector prints
//! what it received (`--debug-log ... --debug-log-verbosity detailed`); the test compares
//! that, field for field, with what the app emitted.
//!
//! Exact: timestamps (ns), severity number and text, body, event name, attributes of every
//! kind (maps of one entry here: rotel prints map entries in arrival order, and ours are a
//! HashMap), trace and span ids, span names, kinds, parents, status error and message,
//! events, links and their attributes, resource `service.name`/`service.instance.id`, and for
//! metrics the whole request as the app's exporter wrote it (passed through).
//! Not exact, and asserted as such: a log's observed time (the agent's clock), a log's
//! trace flags (not in the layout: 0), the instrumentation scope (the layout has none: the
//! provider's name), other resource attributes (not in the layout), status Ok (arrives as
//! Unset). For metrics the comparison covers what rotel prints of them (descriptors, data
//! point attributes and values, resource, scope).
//!
//! Without a kernel the tests print a loud SKIPPED line and pass, unless OTEL_OS_EVENTS_IN_VM
//! / _REQUIRE_KERNEL is 1; in the VM a missing OTEL_OS_EVENTS_ROTEL fails.
#![cfg(target_os = "linux")]

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::collector::*;
use common::kernel::{spawn_agent, LiveText};
use common::metrics::{metrics_pipeline, resource};
use common::skip::kernel_or_skip;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, Key, KeyValue};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use otel_os_events::metrics::Exporter;

const PROVIDER: &str = "fwdtest";

/// The tests share the provider's tracepoints and the collector's port: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn ns(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

fn app_resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "checkout"),
            KeyValue::new("service.instance.id", "pod-7"),
            KeyValue::new("host.name", "not-in-the-layout"),
        ])
        .build()
}

/// The resource that arrives for logs and spans: what PartA carries.
fn arrived_resource() -> Vec<String> {
    vec![
        "-> service.instance.id: Str(pod-7)".to_string(),
        "-> service.name: Str(checkout)".to_string(),
    ]
}

const TRACE: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SPAN: [u8; 8] = [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8];
const LINKED_TRACE: [u8; 16] = [0xf0; 16];
const LINKED_SPAN: [u8; 8] = [0x0f; 8];

/// The app's logs: our processor on the user_events sink, under `resource`.
fn app_logs(resource: Resource) -> SdkLoggerProvider {
    let processor = otel_os_events::logs::Processor::builder(PROVIDER)
        .build()
        .unwrap();
    SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(processor)
        .build()
}

/// The start of the tests that send to rotel: the kernel (or skip), one test at a time,
/// rotel (or skip) with or without its debug log, and the endpoint to give the agent.
fn with_collector(
    test: &str,
    debug: bool,
) -> Option<(std::sync::MutexGuard<'static, ()>, Guard, LiveText, String)> {
    if !kernel_or_skip(test) {
        return None;
    }
    let serial = one_at_a_time();
    let rotel = rotel()?;
    let (guard, received) = start_rotel(&rotel, debug);
    let endpoint = format!("http://127.0.0.1:{COLLECTOR_PORT}");
    Some((serial, guard, received, endpoint))
}

fn emit_logs() -> Vec<Vec<String>> {
    let provider = app_logs(app_resource());
    let logger = provider.logger("app.logs");
    let (t1, o1) = (at(1_700_000_000, 123_456_789), at(1_700_000_001, 0));
    let mut r = logger.create_log_record();
    r.set_timestamp(t1);
    r.set_observed_timestamp(o1);
    r.set_severity_number(Severity::Warn);
    r.set_severity_text("WARN");
    r.set_body(AnyValue::String("disk almost full".into()));
    r.set_event_name("disk.full");
    r.set_trace_context(
        TraceId::from_bytes(TRACE),
        SpanId::from_bytes(SPAN),
        Some(TraceFlags::SAMPLED),
    );
    r.add_attribute("user", "alice");
    r.add_attribute("count", 7);
    r.add_attribute("ratio", 0.25);
    r.add_attribute("ok", true);
    r.add_attribute("raw", AnyValue::Bytes(Box::new(vec![0, 1, 255])));
    r.add_attribute(
        "tags",
        AnyValue::ListAny(Box::new(vec!["a".into(), "b".into()])),
    );
    r.add_attribute(
        "where",
        AnyValue::Map(Box::new([(Key::from("disk"), AnyValue::Int(2))].into())),
    );
    r.add_attribute("event_id", 42);
    logger.emit(r);

    let t2 = at(1_700_000_002, 500_000_000);
    let mut r = logger.create_log_record();
    r.set_timestamp(t2);
    r.set_severity_number(Severity::Info);
    r.set_body(AnyValue::Int(5));
    logger.emit(r);
    provider.shutdown().unwrap();

    // As rotel prints them; `ObservedTimestamp: *` (the agent's clock) and `Flags: 0` (the
    // layout has no trace flags; the app's were 1) are where the round trip is not exact.
    vec![
        lines(&format!(
            "ObservedTimestamp: *
             Timestamp: {}
             SeverityText: WARN
             SeverityNumber: SEVERITY_NUMBER_WARN(13)
             EventName: disk.full
             Body: Str(disk almost full)
             Attributes:
             -> user: Str(alice)
             -> count: Int(7)
             -> ratio: Double(0.25)
             -> ok: Bool(true)
             -> raw: Bytes([0, 1, 255])
             -> tags: Slice(Str(a), Str(b))
             -> where: Map(disk:Int(2))
             -> event_id: Int(42)
             Trace ID       : 0102030405060708090a0b0c0d0e0f10
             Span ID        : a1a2a3a4a5a6a7a8
             Flags: 0",
            ns(t1)
        )),
        lines(&format!(
            "ObservedTimestamp: *
             Timestamp: {}
             SeverityText:
             SeverityNumber: SEVERITY_NUMBER_INFO(9)
             Body: Int(5)
             Trace ID       :
             Span ID        :
             Flags: 0",
            ns(t2)
        )),
    ]
}

fn emit_spans() -> Vec<Vec<String>> {
    let processor = otel_os_events::traces::Processor::builder(PROVIDER)
        .build()
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_resource(app_resource())
        .with_span_processor(processor)
        .build();
    let tracer = provider.tracer("app.traces");
    let parent = SpanContext::new(
        TraceId::from_bytes(TRACE),
        SpanId::from_bytes(SPAN),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let cx = Context::new().with_remote_span_context(parent);
    let (start, event_at, end) = (
        at(1_700_000_010, 1),
        at(1_700_000_010, 500_000_000),
        at(1_700_000_011, 2),
    );
    let linked = SpanContext::new(
        TraceId::from_bytes(LINKED_TRACE),
        SpanId::from_bytes(LINKED_SPAN),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let mut span = tracer
        .span_builder("GET /cart")
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("url.full", "http://shop/cart"),
            KeyValue::new("retries", 2),
            KeyValue::new("ids", opentelemetry::Value::Array(vec![1i64, 2].into())),
        ])
        .with_links(vec![Link::new(
            linked,
            vec![KeyValue::new("why", "follows")],
            0,
        )])
        .start_with_context(&tracer, &cx);
    use opentelemetry::trace::Span as _;
    span.add_event_with_timestamp("retry", event_at, vec![KeyValue::new("attempt", 1)]);
    span.set_status(Status::error("upstream timeout"));
    let id = span.span_context().span_id();
    span.end_with_timestamp(end);

    let (start2, end2) = (at(1_700_000_020, 0), at(1_700_000_020, 750));
    let mut server = tracer
        .span_builder("serve")
        .with_kind(SpanKind::Server)
        .with_start_time(start2)
        .with_attributes([KeyValue::new("http.response.status_code", 200)])
        .start_with_context(&tracer, &Context::new());
    server.set_status(Status::Ok);
    let trace2 = server.span_context().trace_id();
    let id2 = server.span_context().span_id();
    server.end_with_timestamp(end2);
    provider.shutdown().unwrap();

    vec![
        lines(&format!(
            "Trace ID       : 0102030405060708090a0b0c0d0e0f10
             Parent ID      : a1a2a3a4a5a6a7a8
             ID             : {id}
             Name           : GET /cart
             Kind           : SPAN_KIND_CLIENT
             Start time: {}
             End time: {}
             Status code    : STATUS_CODE_ERROR
             Status message : upstream timeout
             Attributes:
             -> url.full: Str(http://shop/cart)
             -> retries: Int(2)
             -> ids: Slice(Int(1), Int(2))
             Events:
             SpanEvent #0
             -> Name: retry
             -> Timestamp: {}
             -> DroppedAttributesCount: 0
             -> Attributes::
             -> attempt: Int(1)
             Links:
             SpanLink #0
             -> Trace ID: f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0
             -> ID: 0f0f0f0f0f0f0f0f
             -> TraceState:
             -> DroppedAttributesCount: 0
             -> Attributes::
             -> why: Str(follows)",
            ns(start),
            ns(end),
            ns(event_at)
        )),
        // Status Ok arrives as Unset: `success` is true for both.
        lines(&format!(
            "Trace ID       : {trace2}
             Parent ID      :
             ID             : {id2}
             Name           : serve
             Kind           : SPAN_KIND_SERVER
             Start time: {}
             End time: {}
             Status code    : STATUS_CODE_UNSET
             Status message :
             Attributes:
             -> http.response.status_code: Int(200)",
            ns(start2),
            ns(end2)
        )),
    ]
}

/// Records two metrics through the metrics exporter (its real user_events sink); returns
/// how many events it wrote.
fn emit_metrics() -> u64 {
    let p = metrics_pipeline(Exporter::builder(), None, |b| b.with_resource(resource()));
    let scope = InstrumentationScope::builder("app.metrics")
        .with_version("0.1")
        .build();
    let meter = p.provider.meter_with_scope(scope);
    let requests = meter.u64_counter("requests").with_unit("1").build();
    requests.add(3, &[KeyValue::new("route", "/a")]);
    let temperature = meter.f64_gauge("temperature").with_unit("Cel").build();
    temperature.record(21.5, &[KeyValue::new("room", "lab")]);
    p.provider.force_flush().unwrap();
    p.handle.events_written()
}

#[test]
fn forward_round_trips_logs_spans_and_metrics_to_a_real_collector() {
    let test = "forward_round_trips_logs_spans_and_metrics_to_a_real_collector";
    let Some((_serial, _rotel, received, endpoint)) = with_collector(test, true) else {
        return;
    };
    let (agent, stderr, _) = spawn_agent(
        "forward",
        &[
            PROVIDER,
            "--endpoint",
            &endpoint,
            "--batch-delay",
            "0.2",
            "--stats-interval",
            "1",
        ],
    );
    let agent = Guard(agent);

    let logs = emit_logs();
    let spans = emit_spans();
    let metric_events = emit_metrics();
    // An event on the provider's tracepoint that is not Common Schema: counted, not sent.
    let mut bad =
        eventheader_dynamic::Provider::new(PROVIDER, &eventheader_dynamic::Provider::new_options());
    let set = bad.register_set(eventheader::Level::Informational, 1);
    let mut eb = eventheader_dynamic::EventBuilder::new();
    eb.reset("NotCommonSchema", 0)
        .add_value("x", 5u32, eventheader::FieldFormat::Default, 0);
    assert_eq!(eb.write(&set, None, None), 0);

    wait_for(&received, "LogRecord #", logs.len(), 60);
    wait_for(&received, "Span #", spans.len(), 60);
    wait_for(&received, "Metric #", 2, 60);
    sigterm(&agent.0);
    let mut agent = agent;
    let status = agent.0.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    let text = received.lock().unwrap().clone();
    println!("--- rotel received:\n{text}");

    let got = parse_received(&text);
    let of = |prefix: &str| -> Vec<Received> {
        got.iter()
            .filter(|r| r.lines.iter().any(|l| l.starts_with(prefix)))
            .cloned()
            .collect()
    };
    let got_logs = of("ObservedTimestamp:");
    assert_eq!(got_logs.len(), logs.len(), "{got_logs:#?}");
    for (got, want) in got_logs.iter().zip(&logs) {
        let mut lines = got.lines.clone();
        let observed = lines[0].strip_prefix("ObservedTimestamp: ").unwrap();
        assert!(observed.parse::<u128>().unwrap() > ns(at(1_700_000_100, 0)));
        lines[0] = "ObservedTimestamp: *".to_string();
        assert_eq!(&lines, want);
        assert_eq!(got.resource, arrived_resource());
        assert_eq!(got.scope, PROVIDER, "the scope: the provider's name");
    }
    let got_spans = of("Kind ");
    assert_eq!(got_spans.len(), spans.len(), "{got_spans:#?}");
    for (got, want) in got_spans.iter().zip(&spans) {
        assert_eq!(&got.lines, want);
        assert_eq!(got.resource, arrived_resource());
        assert_eq!(got.scope, PROVIDER);
    }
    // Metrics: passed through, so the app's own resource and scope arrive, all of it.
    let got_metrics = of("Descriptor:");
    assert_eq!(got_metrics.len(), 2, "{got_metrics:#?}");
    let mut want_resource = vec![
        "-> host.arch: Str(x86_64)".to_string(),
        "-> pid: Int(42)".to_string(),
        "-> service.name: Str(svc)".to_string(),
    ];
    want_resource.sort();
    for m in &got_metrics {
        assert_eq!(m.resource, want_resource);
        assert_eq!(m.scope, "app.metrics 0.1");
    }
    // Each metric's lines hold these, as rotel prints them.
    for (name, wants) in [
        (
            "requests",
            &[
                "-> Unit: 1",
                "-> DataType: Sum",
                "-> IsMonotonic: true",
                "-> AggregationTemporality: AGGREGATION_TEMPORALITY_DELTA",
                "-> route: Str(/a)",
                "Value: 3",
            ][..],
        ),
        (
            "temperature",
            &[
                "-> Unit: Cel",
                "-> DataType: Gauge",
                "-> room: Str(lab)",
                "Value: 21.5",
            ],
        ),
    ] {
        let metric = got_metrics
            .iter()
            .find(|m| m.lines.contains(&format!("-> Name: {name}")))
            .unwrap_or_else(|| panic!("{name} not received"));
        for want in wants {
            assert!(
                metric.lines.iter().any(|l| l == want),
                "{want}: {metric:#?}"
            );
        }
    }

    let counts = final_counts(&stderr);
    assert_eq!(count(&counts, "logs"), logs.len() as u64);
    assert_eq!(count(&counts, "spans"), spans.len() as u64);
    assert_eq!(count(&counts, "metrics"), metric_events);
    assert_eq!(count(&counts, "not_common_schema"), 1, "{stderr}");
    assert!(
        stderr.contains("not forwarded (not_common_schema)"),
        "{stderr}"
    );
    for reason in [
        "queue_full",
        "rejected",
        "unreachable",
        "export_failed",
        "shutdown",
    ] {
        assert_eq!(count(&counts, reason), 0, "{reason}: {stderr}");
    }
}

#[test]
fn forward_survives_a_collector_that_is_down() {
    if !kernel_or_skip("forward_survives_a_collector_that_is_down") {
        return;
    }
    let _serial = one_at_a_time();
    // Nothing listens on port 9 in the VM: every request is refused at once.
    let (agent, stderr, _) = spawn_agent(
        "forward",
        &[
            PROVIDER,
            "--endpoint",
            "http://127.0.0.1:9",
            "--queue-size",
            "8",
            "--max-batch",
            "4",
            "--batch-delay",
            "0.05",
            "--retries",
            "1",
            "--stats-interval",
            "0.5",
            "--no-metrics",
        ],
    );
    let agent = Guard(agent);
    let provider = app_logs(Resource::builder_empty().build());
    let logger = provider.logger("app");
    const N: u64 = 200;
    for i in 0..N {
        let mut r = logger.create_log_record();
        r.set_severity_number(Severity::Info);
        r.set_body(AnyValue::Int(i as i64));
        logger.emit(r);
    }
    std::thread::sleep(Duration::from_secs(2));
    let t = Instant::now();
    sigterm(&agent.0);
    let mut agent = agent;
    let status = agent.0.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "a slow exit: {:?}",
        t.elapsed()
    );
    let counts = final_counts(&stderr);
    let read = count(&counts, "read");
    assert_eq!(read + count(&counts, "lost"), N, "{stderr}");
    assert_eq!(count(&counts, "logs"), 0);
    let dropped: u64 = [
        "queue_full",
        "rejected",
        "unreachable",
        "export_failed",
        "shutdown",
    ]
    .iter()
    .map(|r| count(&counts, r))
    .sum();
    // Every event read is accounted for: nothing forwarded, none decoded badly, all dropped.
    assert_eq!(dropped, read, "{stderr}");
    assert!(count(&counts, "unreachable") > 0, "{stderr}");
    assert!(
        count(&counts, "queue_full") > 0,
        "a bounded queue: {stderr}"
    );
}

/// The agent's throughput in the VM: one thread logs N events as fast as it can; the agent
/// forwards them to rotel (no debug log). Prints events/s forwarded and the agent's CPU
/// time (user + system, from its /proc/self/stat). Under TCG: emulated time, compare only
/// with numbers from the same VM run.
#[test]
fn forward_throughput() {
    let Some((_serial, _rotel, _, endpoint)) = with_collector("forward_throughput", false) else {
        return;
    };
    let (agent, stderr, live) = spawn_agent(
        "forward",
        &[
            PROVIDER,
            "--endpoint",
            &endpoint,
            "--no-metrics",
            "--stats-interval",
            "0.1",
            "--ring-pages",
            "256",
            "--queue-size",
            "65536",
        ],
    );
    let agent = Guard(agent);
    // An idle agent costs (almost) nothing: it sleeps in poll and in the channel.
    let pid = Some(agent.0.id());
    let before = otel_os_events::forward::cpu_seconds(pid).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let idle = otel_os_events::forward::cpu_seconds(pid).unwrap() - before;
    println!("IDLE (TCG): the agent used {idle:.3} s of CPU in 2 s");
    let provider = app_logs(app_resource());
    let logger = provider.logger("bench");
    // A few thousand in CI (a debug build under TCG forwards a few hundred a second); more
    // with OTEL_OS_EVENTS_FORWARD_EVENTS for a measurement.
    let n: u64 = std::env::var("OTEL_OS_EVENTS_FORWARD_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let t0 = Instant::now();
    for i in 0..n {
        let mut r = logger.create_log_record();
        r.set_severity_number(Severity::Info);
        r.set_body(AnyValue::String("request served".into()));
        r.add_attribute("i", i as i64);
        r.add_attribute("route", "/api/cart");
        logger.emit(r);
    }
    let emitted_in = t0.elapsed();
    // Done when every event is forwarded or accounted for (lost by the kernel, dropped).
    let deadline = Instant::now() + Duration::from_secs(120);
    let t1 = loop {
        let text = live.lock().unwrap().clone();
        if let Some(c) = counts_of(&text, "forward: read") {
            let accounted = count(&c, "logs")
                + count(&c, "lost")
                + ["queue_full", "rejected", "unreachable", "export_failed"]
                    .iter()
                    .map(|r| count(&c, r))
                    .sum::<u64>();
            if accounted >= n {
                break t0.elapsed();
            }
        }
        assert!(Instant::now() < deadline, "not all forwarded:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    sigterm(&agent.0);
    let mut agent = agent;
    assert!(agent.0.wait().unwrap().success());
    let stderr = stderr.join().unwrap();
    let counts = final_counts(&stderr);
    let forwarded = count(&counts, "logs");
    let done = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("forward: done:"))
        .unwrap();
    let cpu: f64 = done
        .split("cpu ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("cpu in the final line");
    println!(
        "THROUGHPUT (TCG): {n} logs emitted in {:.2} s ({:.0}/s); {forwarded} forwarded in \
         {:.2} s = {:.0} events/s; lost {}, dropped {}; agent CPU {cpu:.2} s = {:.1} µs/event",
        emitted_in.as_secs_f64(),
        n as f64 / emitted_in.as_secs_f64(),
        t1.as_secs_f64(),
        forwarded as f64 / t1.as_secs_f64(),
        count(&counts, "lost"),
        n - forwarded - count(&counts, "lost"),
        cpu * 1e6 / forwarded.max(1) as f64
    );
    assert!(forwarded > 0, "{stderr}");
    assert!(idle < 0.5, "an idle agent spent {idle:.3} s of CPU in 2 s");
}

/// Set in the app processes `forward_survives_the_app_restarting` starts: the value is the
/// one log's body.
const CHILD_APP_ENV: &str = "OTEL_OS_EVENTS_FORWARD_CHILD_APP";

/// The agent starts before the app, and the app runs twice, each time a process of its own
/// that registers the provider's tracepoints, logs once and exits: the agent keeps the
/// tracepoints registered between the runs and forwards both logs.
#[test]
fn forward_survives_the_app_restarting() {
    let Some((_serial, _rotel, _, endpoint)) =
        with_collector("forward_survives_the_app_restarting", false)
    else {
        return;
    };
    let enable_dir = format!("/sys/kernel/tracing/events/user_events/{PROVIDER}_L4K1");
    let (agent, stderr, live) = spawn_agent(
        "forward",
        &[
            PROVIDER,
            "--endpoint",
            &endpoint,
            "--no-metrics",
            "--stats-interval",
            "0.2",
        ],
    );
    let agent = Guard(agent);
    assert!(
        std::path::Path::new(&enable_dir).exists(),
        "the agent registered the tracepoints before the app"
    );
    for run in [1, 2] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "zz_forward_child_app", "--nocapture"])
            .env(CHILD_APP_ENV, run.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "app run {run}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("child app: written 1"),
            "app run {run}: {out:?}"
        );
        assert!(
            std::path::Path::new(&enable_dir).exists(),
            "still registered after app run {run} exited"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = live.lock().unwrap().clone();
        if counts_of(&text, "forward: read").is_some_and(|c| count(&c, "logs") >= 2) {
            break;
        }
        assert!(Instant::now() < deadline, "not forwarded:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
    sigterm(&agent.0);
    let mut agent = agent;
    assert!(agent.0.wait().unwrap().success());
    let stderr = stderr.join().unwrap();
    let counts = final_counts(&stderr);
    assert_eq!(count(&counts, "read"), 2, "{stderr}");
    assert_eq!(
        count(&counts, "logs"),
        2,
        "both runs' logs forwarded: {stderr}"
    );
}

/// Not a test on its own: with `OTEL_OS_EVENTS_FORWARD_CHILD_APP=<n>` it is one run of the
/// app of `forward_survives_the_app_restarting`. It logs `n` once the agent's session
/// listens, and prints what its processor counted.
#[test]
fn zz_forward_child_app() {
    let Ok(body) = std::env::var(CHILD_APP_ENV) else {
        return;
    };
    let processor = otel_os_events::logs::Processor::builder(PROVIDER)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    let logger = provider.logger("app");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !logger.event_enabled(Severity::Info, "app", None) {
        assert!(
            Instant::now() < deadline,
            "the agent's session never listened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut r = logger.create_log_record();
    r.set_severity_number(Severity::Info);
    r.set_body(AnyValue::Int(body.parse().unwrap()));
    logger.emit(r);
    provider.shutdown().unwrap();
    println!("child app: written {}", handle.stats().written);
}
