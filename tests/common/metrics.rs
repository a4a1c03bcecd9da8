//! Metrics test helpers: parse `otlp_metrics` payloads (u32 protocol, char[8] version,
//! `__rel_loc` → buffer) and prost-decode the buffer; flatten both the SDK's `ResourceMetrics`
//! and the decoded OTLP requests into the same point-by-point form, independently of the
//! exporter's conversion, so tests compare what the SDK produced with what was written.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as PKeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric::Data, number_data_point, Exemplar as PExemplar,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Exemplar, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, PeriodicReader, SdkMeterProvider, Stream, Temporality,
};
use opentelemetry_sdk::Resource;
use otel_os_events::metrics::{Exporter, ExporterBuilder, ExporterHandle};
use otel_os_events::sink::{CaptureSink, Sink};
use parking_lot::Mutex;
use prost::Message;

/// One `otlp_metrics` event, parsed.
#[derive(Debug, Clone)]
pub struct MetricsEvent {
    pub protocol: u32,
    pub version: [u8; 8],
    /// The whole payload length (header + buffer).
    pub size: usize,
    pub request: ExportMetricsServiceRequest,
}

/// Parses a payload as written after the write_index (or a perf sample's raw data after the
/// 8-byte common fields, which may carry zero padding at the end). Panics on anything off.
pub fn parse_event(payload: &[u8]) -> MetricsEvent {
    assert!(payload.len() >= 16, "payload of {} bytes", payload.len());
    let protocol = u32::from_ne_bytes(payload[0..4].try_into().unwrap());
    let version: [u8; 8] = payload[4..12].try_into().unwrap();
    let rel_loc = u32::from_ne_bytes(payload[12..16].try_into().unwrap());
    let (len, offset) = ((rel_loc >> 16) as usize, (rel_loc & 0xffff) as usize);
    let start = 16 + offset;
    assert!(
        start + len <= payload.len(),
        "rel_loc {rel_loc:#x} beyond {} bytes",
        payload.len()
    );
    let request = ExportMetricsServiceRequest::decode(&payload[start..start + len])
        .expect("buffer is not an ExportMetricsServiceRequest");
    MetricsEvent {
        protocol,
        version,
        size: start + len,
        request,
    }
}

/// One data point, flattened: every value as text, so NaN compares equal to NaN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flat {
    pub scope: String,
    pub metric: String,
    /// Kind, temporality, monotonicity, unit, description.
    pub kind: String,
    pub attributes: Vec<(String, String)>,
    pub start: u64,
    pub time: u64,
    pub value: String,
    pub exemplars: Vec<String>,
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
}

fn sdk_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => format!("b:{b}"),
        Value::I64(i) => format!("i:{i}"),
        Value::F64(f) => format!("d:{f:?}"),
        Value::String(s) => format!("s:{}", s.as_str()),
        other => format!("other:{other}"),
    }
}

fn proto_value(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::BoolValue(b)) => format!("b:{b}"),
        Some(any_value::Value::IntValue(i)) => format!("i:{i}"),
        Some(any_value::Value::DoubleValue(f)) => format!("d:{f:?}"),
        Some(any_value::Value::StringValue(s)) => format!("s:{s}"),
        other => format!("other:{other:?}"),
    }
}

fn sdk_attrs<'a>(attrs: impl Iterator<Item = &'a KeyValue>) -> Vec<(String, String)> {
    let mut v: Vec<_> = attrs
        .map(|kv| (kv.key.to_string(), sdk_value(&kv.value)))
        .collect();
    v.sort();
    v
}

fn proto_attrs(attrs: &[PKeyValue]) -> Vec<(String, String)> {
    let mut v: Vec<_> = attrs
        .iter()
        .map(|kv| (kv.key.clone(), proto_value(&kv.value)))
        .collect();
    v.sort();
    v
}

/// A number as the exporter must write it: integers as `i:`, floats as `d:`.
trait Num: Copy {
    fn text(self) -> String;
    fn f64(self) -> f64;
}
impl Num for u64 {
    fn text(self) -> String {
        format!("i:{self}")
    }
    fn f64(self) -> f64 {
        self as f64
    }
}
impl Num for i64 {
    fn text(self) -> String {
        format!("i:{self}")
    }
    fn f64(self) -> f64 {
        self as f64
    }
}
impl Num for f64 {
    fn text(self) -> String {
        format!("d:{self:?}")
    }
    fn f64(self) -> f64 {
        self
    }
}

fn sdk_exemplars<'a, T: Num + 'a>(ex: impl Iterator<Item = &'a Exemplar<T>>) -> Vec<String> {
    ex.map(|e| {
        format!(
            "{} t={} trace={:?} span={:?} {:?}",
            e.value.text(),
            nanos(e.time()),
            e.trace_id(),
            e.span_id(),
            sdk_attrs(e.filtered_attributes())
        )
    })
    .collect()
}

fn proto_exemplars(ex: &[PExemplar]) -> Vec<String> {
    ex.iter()
        .map(|e| {
            let v = match e.value {
                Some(exemplar::Value::AsInt(i)) => format!("i:{i}"),
                Some(exemplar::Value::AsDouble(d)) => format!("d:{d:?}"),
                None => "none".into(),
            };
            format!(
                "{v} t={} trace={:?} span={:?} {:?}",
                e.time_unix_nano,
                <[u8; 16]>::try_from(e.trace_id.as_slice()).unwrap_or_default(),
                <[u8; 8]>::try_from(e.span_id.as_slice()).unwrap_or_default(),
                proto_attrs(&e.filtered_attributes)
            )
        })
        .collect()
}

fn temporality(t: Temporality) -> &'static str {
    match t {
        Temporality::Delta => "delta",
        _ => "cumulative",
    }
}

fn proto_temporality(t: i32) -> &'static str {
    match t {
        1 => "delta",
        2 => "cumulative",
        _ => "unspecified",
    }
}

fn hist_text(
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    b: &[f64],
    c: &[u64],
) -> String {
    format!("count={count} sum={sum:?} min={min:?} max={max:?} bounds={b:?} counts={c:?}")
}

#[allow(clippy::too_many_arguments)]
fn exp_text(
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    scale: i32,
    zero: u64,
    threshold: f64,
    pos: (i32, Vec<u64>),
    neg: (i32, Vec<u64>),
) -> String {
    format!(
        "count={count} sum={sum:?} min={min:?} max={max:?} scale={scale} zero={zero} \
         threshold={threshold:?} pos={pos:?} neg={neg:?}"
    )
}

fn flatten_data<T: Num>(
    scope: &str,
    name: &str,
    unit_desc: &str,
    data: &MetricData<T>,
    out: &mut Vec<Flat>,
) {
    let flat = |kind: String, attrs, start, time, value, exemplars| Flat {
        scope: scope.to_owned(),
        metric: name.to_owned(),
        kind: format!("{kind} {unit_desc}"),
        attributes: attrs,
        start,
        time,
        value,
        exemplars,
    };
    match data {
        MetricData::Gauge(g) => {
            for p in g.data_points() {
                out.push(flat(
                    "gauge".into(),
                    sdk_attrs(p.attributes()),
                    g.start_time().map(nanos).unwrap_or(0),
                    nanos(g.time()),
                    p.value().text(),
                    sdk_exemplars(p.exemplars()),
                ));
            }
        }
        MetricData::Sum(s) => {
            for p in s.data_points() {
                out.push(flat(
                    format!(
                        "sum {} mono={}",
                        temporality(s.temporality()),
                        s.is_monotonic()
                    ),
                    sdk_attrs(p.attributes()),
                    nanos(s.start_time()),
                    nanos(s.time()),
                    p.value().text(),
                    sdk_exemplars(p.exemplars()),
                ));
            }
        }
        MetricData::Histogram(h) => {
            for p in h.data_points() {
                let bounds: Vec<f64> = p.bounds().collect();
                let counts: Vec<u64> = p.bucket_counts().collect();
                out.push(flat(
                    format!("histogram {}", temporality(h.temporality())),
                    sdk_attrs(p.attributes()),
                    nanos(h.start_time()),
                    nanos(h.time()),
                    hist_text(
                        p.count(),
                        p.sum().f64(),
                        p.min().map(Num::f64),
                        p.max().map(Num::f64),
                        &bounds,
                        &counts,
                    ),
                    sdk_exemplars(p.exemplars()),
                ));
            }
        }
        MetricData::ExponentialHistogram(h) => {
            for p in h.data_points() {
                out.push(flat(
                    format!("exponential {}", temporality(h.temporality())),
                    sdk_attrs(p.attributes()),
                    nanos(h.start_time()),
                    nanos(h.time()),
                    exp_text(
                        p.count() as u64,
                        p.sum().f64(),
                        p.min().map(Num::f64),
                        p.max().map(Num::f64),
                        p.scale().into(),
                        p.zero_count(),
                        p.zero_threshold(),
                        (
                            p.positive_bucket().offset(),
                            p.positive_bucket().counts().collect(),
                        ),
                        (
                            p.negative_bucket().offset(),
                            p.negative_bucket().counts().collect(),
                        ),
                    ),
                    sdk_exemplars(p.exemplars()),
                ));
            }
        }
    }
}

/// Every data point the SDK handed to an exporter, flattened and sorted.
pub fn flatten_sdk(rm: &ResourceMetrics) -> Vec<Flat> {
    let mut out = Vec::new();
    for sm in rm.scope_metrics() {
        let scope = format!(
            "{}@{}",
            sm.scope().name(),
            sm.scope().version().unwrap_or_default()
        );
        for m in sm.metrics() {
            let unit_desc = format!("unit={} desc={}", m.unit(), m.description());
            match m.data() {
                AggregatedMetrics::F64(d) => {
                    flatten_data(&scope, m.name(), &unit_desc, d, &mut out)
                }
                AggregatedMetrics::U64(d) => {
                    flatten_data(&scope, m.name(), &unit_desc, d, &mut out)
                }
                AggregatedMetrics::I64(d) => {
                    flatten_data(&scope, m.name(), &unit_desc, d, &mut out)
                }
            }
        }
    }
    out.sort();
    out
}

/// Every data point in decoded requests, flattened and sorted.
pub fn flatten_proto<'a>(
    requests: impl IntoIterator<Item = &'a ExportMetricsServiceRequest>,
) -> Vec<Flat> {
    let mut out = Vec::new();
    for req in requests {
        for rm in &req.resource_metrics {
            for sm in &rm.scope_metrics {
                let scope = sm
                    .scope
                    .as_ref()
                    .map(|s| format!("{}@{}", s.name, s.version))
                    .unwrap_or_default();
                for m in &sm.metrics {
                    let unit_desc = format!("unit={} desc={}", m.unit, m.description);
                    let flat = |kind: String,
                                attrs: &[PKeyValue],
                                start,
                                time,
                                value,
                                ex: &[PExemplar]| Flat {
                        scope: scope.clone(),
                        metric: m.name.clone(),
                        kind: format!("{kind} {unit_desc}"),
                        attributes: proto_attrs(attrs),
                        start,
                        time,
                        value,
                        exemplars: proto_exemplars(ex),
                    };
                    let number = |v: &Option<number_data_point::Value>| match v {
                        Some(number_data_point::Value::AsInt(i)) => format!("i:{i}"),
                        Some(number_data_point::Value::AsDouble(d)) => format!("d:{d:?}"),
                        None => "none".into(),
                    };
                    match m.data.as_ref().expect("metric without data") {
                        Data::Gauge(g) => {
                            for p in &g.data_points {
                                out.push(flat(
                                    "gauge".into(),
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    number(&p.value),
                                    &p.exemplars,
                                ));
                            }
                        }
                        Data::Sum(s) => {
                            for p in &s.data_points {
                                let kind = format!(
                                    "sum {} mono={}",
                                    proto_temporality(s.aggregation_temporality),
                                    s.is_monotonic
                                );
                                out.push(flat(
                                    kind,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    number(&p.value),
                                    &p.exemplars,
                                ));
                            }
                        }
                        Data::Histogram(h) => {
                            for p in &h.data_points {
                                let kind = format!(
                                    "histogram {}",
                                    proto_temporality(h.aggregation_temporality)
                                );
                                let v = hist_text(
                                    p.count,
                                    p.sum.unwrap_or(f64::NAN),
                                    p.min,
                                    p.max,
                                    &p.explicit_bounds,
                                    &p.bucket_counts,
                                );
                                out.push(flat(
                                    kind,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    v,
                                    &p.exemplars,
                                ));
                            }
                        }
                        Data::ExponentialHistogram(h) => {
                            for p in &h.data_points {
                                let kind = format!(
                                    "exponential {}",
                                    proto_temporality(h.aggregation_temporality)
                                );
                                let b = |b: &Option<_>| {
                                    let b: &opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets = b.as_ref().expect("buckets");
                                    (b.offset, b.bucket_counts.clone())
                                };
                                let v = exp_text(
                                    p.count,
                                    p.sum.unwrap_or(f64::NAN),
                                    p.min,
                                    p.max,
                                    p.scale,
                                    p.zero_count,
                                    p.zero_threshold,
                                    b(&p.positive),
                                    b(&p.negative),
                                );
                                out.push(flat(
                                    kind,
                                    &p.attributes,
                                    p.start_time_unix_nano,
                                    p.time_unix_nano,
                                    v,
                                    &p.exemplars,
                                ));
                            }
                        }
                        Data::Summary(_) => panic!("the SDK makes no summaries"),
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// The resource attributes of a decoded request, sorted.
pub fn resource_of(req: &ExportMetricsServiceRequest) -> Vec<(String, String)> {
    proto_attrs(
        &req.resource_metrics[0]
            .resource
            .as_ref()
            .expect("resource")
            .attributes,
    )
}

/// The resource attributes the SDK exported, sorted.
pub fn sdk_resource(resource: &Resource) -> Vec<(String, String)> {
    let mut v: Vec<_> = resource
        .iter()
        .map(|(k, v)| (k.to_string(), sdk_value(v)))
        .collect();
    v.sort();
    v
}

/// What the SDK handed over in each export, flattened, plus the resource.
#[derive(Default)]
pub struct Seen {
    pub exports: Vec<Vec<Flat>>,
    pub resources: Vec<Vec<(String, String)>>,
    /// Each export as `opentelemetry_proto` converts it (its `From` impls), prost-encoded:
    /// the bytes an export that fits in one event must write.
    pub references: Vec<Vec<u8>>,
}

/// Records what the SDK hands over, then lets the real exporter export it.
pub struct Tee {
    pub inner: Exporter,
    pub seen: Arc<Mutex<Seen>>,
}

impl std::fmt::Debug for Tee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tee")
    }
}

impl PushMetricExporter for Tee {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        {
            let mut seen = self.seen.lock();
            seen.exports.push(flatten_sdk(metrics));
            seen.resources.push(sdk_resource(metrics.resource()));
            seen.references
                .push(ExportMetricsServiceRequest::from(metrics).encode_to_vec());
        }
        self.inner.export(metrics)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// A meter provider exporting through a Tee around an exporter built from `builder` into a
/// capture (or a real sink if `capture` is None). Exports happen on `force_flush`.
pub struct MetricsPipeline {
    pub provider: SdkMeterProvider,
    pub handle: ExporterHandle,
    pub seen: Arc<Mutex<Seen>>,
}

/// Builds a pipeline; `configure` adds views, a resource, etc.
pub fn metrics_pipeline(
    builder: ExporterBuilder,
    capture: Option<&CaptureSink>,
    configure: impl FnOnce(
        opentelemetry_sdk::metrics::MeterProviderBuilder,
    ) -> opentelemetry_sdk::metrics::MeterProviderBuilder,
) -> MetricsPipeline {
    let builder = match capture {
        Some(c) => builder.with_sink(Sink::Capture(c.clone())),
        None => builder,
    };
    let exporter = builder.build().expect("build exporter");
    let handle = exporter.handle();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tee = Tee {
        inner: exporter,
        seen: seen.clone(),
    };
    let reader = PeriodicReader::builder(tee)
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = configure(SdkMeterProvider::builder().with_reader(reader)).build();
    MetricsPipeline {
        provider,
        handle,
        seen,
    }
}

/// A view raising every instrument's cardinality limit, and making `exp*` exponential.
pub fn views(
    b: opentelemetry_sdk::metrics::MeterProviderBuilder,
) -> opentelemetry_sdk::metrics::MeterProviderBuilder {
    b.with_view(|i: &Instrument| {
        let s = Stream::builder().with_cardinality_limit(200_000);
        let s = if i.name().starts_with("exp") {
            s.with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: 160,
                max_scale: 20,
                record_min_max: true,
            })
        } else {
            s
        };
        s.build().ok()
    })
}

pub fn resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "svc"),
            KeyValue::new("host.arch", "x86_64"),
            KeyValue::new("pid", 42),
        ])
        .build()
}

/// Records one of every instrument kind, with attributes of every scalar type.
pub fn record_everything(provider: &SdkMeterProvider) {
    let scope = InstrumentationScope::builder("scope.a")
        .with_version("1.2.3")
        .with_attributes([KeyValue::new("scope.attr", "x")])
        .build();
    let a = provider.meter_with_scope(scope);
    let b = provider.meter("scope.b");
    let attrs = [
        KeyValue::new("s", "v"),
        KeyValue::new("i", -7),
        KeyValue::new("d", 1.5),
        KeyValue::new("b", true),
        KeyValue::new("", "empty key"),
    ];
    let c = a
        .u64_counter("requests")
        .with_unit("1")
        .with_description("requests served")
        .build();
    c.add(3, &attrs);
    c.add(4, &attrs[..1]);
    c.add(1, &[]);
    a.f64_counter("bytes").build().add(2.5, &attrs[..2]);
    let ud = a.i64_up_down_counter("queue").build();
    ud.add(5, &attrs[..3]);
    ud.add(-9, &attrs[..3]);
    a.f64_up_down_counter("level").build().add(-0.25, &[]);
    a.u64_gauge("g.u").build().record(u64::from(u32::MAX), &[]);
    a.i64_gauge("g.i").build().record(i64::MIN, &attrs[..1]);
    let g = b.f64_gauge("g.f").build();
    g.record(f64::INFINITY, &[KeyValue::new("which", "inf")]);
    g.record(f64::NEG_INFINITY, &[KeyValue::new("which", "-inf")]);
    g.record(f64::NAN, &[KeyValue::new("which", "nan")]);
    g.record(-0.0, &[KeyValue::new("which", "-0")]);
    let h = b
        .f64_histogram("latency")
        .with_boundaries(vec![0.0, 1.0, 10.0])
        .build();
    for v in [0.5, 2.0, 20.0, 5.0] {
        h.record(v, &attrs[..2]);
    }
    b.u64_histogram("sizes").build().record(1000, &[]);
    let e = b.f64_histogram("exp.latency").build();
    for v in [0.001, 1.0, 3.0, 1e6, 0.0, -2.0] {
        e.record(v, &attrs[..1]);
    }
    b.u64_histogram("exp.sizes").build().record(7, &[]);
}
