//! Pure encoding of metrics, no I/O: the SDK's `ResourceMetrics` becomes OTLP
//! `ExportMetricsServiceRequest` buffers (prost-encoded), each holding as many data points as
//! fit the size limit.
//!
//! Sizes are computed, not guessed: every data point's `encoded_len` is measured once, and
//! the size of the request around it (resource, scope, metric envelopes, each wrapped in a
//! tag and a varint length) follows exactly from those lengths, so deciding "does this point
//! still fit" costs O(1). The request actually encoded is checked against the limit again
//! before it is handed out.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_sdk::metrics::data::{self as sdk, AggregatedMetrics, MetricData};
use prost::encoding::encoded_len_varint;
use prost::Message;

/// The tracepoint every metrics event goes to.
pub const TRACEPOINT_NAME: &str = "otlp_metrics";

/// The tracepoint's field list, as the .NET and Rust Geneva exporters register it.
pub const TRACEPOINT_FIELDS: &str = "u32 protocol;char[8] version;__rel_loc u8[] buffer;";

/// The `protocol` field: 0 means the buffer is OTLP protobuf.
pub const PROTOCOL_OTLP_PROTOBUF: u32 = 0;

/// The `version` field: the OTLP version agents expect.
pub const PROTOCOL_VERSION: &[u8; 8] = b"v0.19.00";

/// Bytes before the buffer: `protocol` (4), `version` (8), the `__rel_loc` word (4).
pub const HEADER_LEN: usize = 16;

/// The longest buffer a `__rel_loc` word can describe (its length is 16 bits).
pub const MAX_BUFFER_LEN: usize = u16::MAX as usize;

/// How many metric names a report keeps for its diagnostic.
const REPORTED_NAMES: usize = 8;
/// How much of each reported metric name it keeps.
const REPORTED_NAME_LEN: usize = 128;

/// The 16 bytes before a buffer of `buffer_len` bytes (at most [`MAX_BUFFER_LEN`]): the
/// protocol, the version, and the `__rel_loc` word (length in the high 16 bits, offset 0 from
/// the end of the word in the low 16: the buffer follows at once).
pub(crate) fn header(buffer_len: usize) -> [u8; HEADER_LEN] {
    debug_assert!(buffer_len <= MAX_BUFFER_LEN);
    let rel_loc = (buffer_len.min(MAX_BUFFER_LEN) as u32) << 16;
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&PROTOCOL_OTLP_PROTOBUF.to_ne_bytes());
    h[4..12].copy_from_slice(PROTOCOL_VERSION);
    h[12..16].copy_from_slice(&rel_loc.to_ne_bytes());
    h
}

/// What packing one export did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PackReport {
    /// Events handed to `emit`.
    pub(crate) events: u64,
    /// Data points seen.
    pub(crate) points: u64,
    /// Data points that fit in no event, even alone.
    pub(crate) oversize: u64,
    /// The first few names of metrics with oversize points, cut to 128 bytes.
    pub(crate) oversize_metrics: Vec<String>,
}

impl PackReport {
    fn oversize(&mut self, points: u64, metric: &str) {
        self.oversize += points;
        if self.oversize_metrics.len() < REPORTED_NAMES
            && !self.oversize_metrics.iter().any(|n| n == cut(metric))
        {
            self.oversize_metrics.push(cut(metric).to_owned());
        }
    }
}

/// `s` cut to at most [`REPORTED_NAME_LEN`] bytes, on a char boundary.
fn cut(s: &str) -> &str {
    crate::encode::cut_str(s, REPORTED_NAME_LEN).0
}

/// The number of data points in `rm`.
pub(crate) fn count_points(rm: &sdk::ResourceMetrics) -> u64 {
    fn of<T>(data: &MetricData<T>) -> usize {
        match data {
            MetricData::Gauge(g) => g.data_points().count(),
            MetricData::Sum(s) => s.data_points().count(),
            MetricData::Histogram(h) => h.data_points().count(),
            MetricData::ExponentialHistogram(h) => h.data_points().count(),
        }
    }
    rm.scope_metrics()
        .flat_map(|sm| sm.metrics())
        .map(|m| match m.data() {
            AggregatedMetrics::F64(d) => of(d),
            AggregatedMetrics::U64(d) => of(d),
            AggregatedMetrics::I64(d) => of(d),
        } as u64)
        .sum()
}

/// Packs `rm` into buffers of at most `max_buffer_len` bytes, calling `emit(buffer, points)`
/// for each, in order. Uses `scratch` as the encoding buffer.
pub(crate) fn pack_resource_metrics(
    rm: &sdk::ResourceMetrics,
    max_buffer_len: usize,
    scratch: &mut Vec<u8>,
    emit: impl FnMut(&[u8], u64),
) -> PackReport {
    let resource = rm.resource();
    let mut packer = Packer::new(
        Resource::from(resource),
        resource.schema_url().unwrap_or_default().to_owned(),
        max_buffer_len,
        scratch,
        emit,
    );
    for sm in rm.scope_metrics() {
        packer.scope(
            InstrumentationScope::from((sm.scope(), None)),
            sm.scope().schema_url().unwrap_or_default().to_owned(),
        );
        for metric in sm.metrics() {
            packer.metric(Metric::from(metric));
        }
    }
    packer.finish()
}

/// Length of a length-delimited field with a one-byte key holding `len` bytes. Every field
/// the packer nests (resource_metrics 1, scope_metrics 2, metrics 2, data 5..=11,
/// data_points 1) has a field number below 16, so a one-byte key.
fn wrap(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// The sizes of the request being filled, enough to compute its encoded length exactly.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    /// Wrapped lengths of the scopes already finished in this request.
    scopes_done: usize,
    scope: Option<ScopeSizes>,
}

#[derive(Debug, Clone, Copy)]
struct ScopeSizes {
    id: u64,
    /// The ScopeMetrics without metrics.
    head: usize,
    /// Wrapped lengths of the metrics already finished in this scope.
    metrics_done: usize,
    metric: Option<MetricSizes>,
}

#[derive(Debug, Clone, Copy)]
struct MetricSizes {
    id: u64,
    /// The Metric without data.
    head: usize,
    /// The data message (Sum, Gauge, ...) without data points.
    data_head: usize,
    /// Wrapped lengths of its data points so far.
    points: usize,
}

impl MetricSizes {
    fn content(&self) -> usize {
        self.head + wrap(self.data_head + self.points)
    }
}

impl ScopeSizes {
    fn content(&self) -> usize {
        self.head + self.metrics_done + self.metric.map_or(0, |m| wrap(m.content()))
    }
}

impl Sizes {
    /// The encoded length of the whole request.
    fn total(&self, rm_head: usize) -> usize {
        wrap(rm_head + self.scopes_done + self.scope.map_or(0, |s| wrap(s.content())))
    }

    /// These sizes with one more point of `point_len` bytes in metric `metric.id` of scope
    /// `scope.id`, opening them (and finishing the previous ones) as needed.
    fn with_point(mut self, scope: ScopeSizes, metric: MetricSizes, point_len: usize) -> Sizes {
        if self.scope.map(|s| s.id) != Some(scope.id) {
            if let Some(done) = self.scope {
                self.scopes_done += wrap(done.content());
            }
            self.scope = Some(scope);
        }
        if let Some(s) = self.scope.as_mut() {
            if s.metric.map(|m| m.id) != Some(metric.id) {
                if let Some(done) = s.metric {
                    s.metrics_done += wrap(done.content());
                }
                s.metric = Some(metric);
            }
            if let Some(m) = s.metric.as_mut() {
                m.points += wrap(point_len);
            }
        }
        self
    }
}

/// A data point message and where it goes in a metric's data.
trait Point: Message + Sized {
    fn points(data: &mut Data) -> Option<&mut Vec<Self>>;
}

impl Point for NumberDataPoint {
    fn points(data: &mut Data) -> Option<&mut Vec<Self>> {
        match data {
            Data::Gauge(g) => Some(&mut g.data_points),
            Data::Sum(s) => Some(&mut s.data_points),
            _ => None,
        }
    }
}

impl Point for HistogramDataPoint {
    fn points(data: &mut Data) -> Option<&mut Vec<Self>> {
        match data {
            Data::Histogram(h) => Some(&mut h.data_points),
            _ => None,
        }
    }
}

impl Point for ExponentialHistogramDataPoint {
    fn points(data: &mut Data) -> Option<&mut Vec<Self>> {
        match data {
            Data::ExponentialHistogram(h) => Some(&mut h.data_points),
            _ => None,
        }
    }
}

impl Point for SummaryDataPoint {
    fn points(data: &mut Data) -> Option<&mut Vec<Self>> {
        match data {
            Data::Summary(s) => Some(&mut s.data_points),
            _ => None,
        }
    }
}

/// The encoded length of a data message without its data points.
fn data_head_len(data: &Data) -> usize {
    match data {
        Data::Gauge(m) => m.encoded_len(),
        Data::Sum(m) => m.encoded_len(),
        Data::Histogram(m) => m.encoded_len(),
        Data::ExponentialHistogram(m) => m.encoded_len(),
        Data::Summary(m) => m.encoded_len(),
    }
}

/// Fills requests point by point for one resource and hands each full one to `emit`.
pub(crate) struct Packer<'b, F: FnMut(&[u8], u64)> {
    max: usize,
    scratch: &'b mut Vec<u8>,
    emit: F,
    /// The request being filled: one ResourceMetrics with the resource.
    request: ExportMetricsServiceRequest,
    rm_head: usize,
    /// The current scope without metrics, its length and id.
    scope: ScopeMetrics,
    scope_head: usize,
    next_id: u64,
    scope_id: u64,
    sizes: Sizes,
    points_in_request: u64,
    report: PackReport,
}

impl<'b, F: FnMut(&[u8], u64)> Packer<'b, F> {
    /// A packer for `resource`'s metrics, into buffers of at most `max` bytes.
    pub(crate) fn new(
        resource: Resource,
        schema_url: String,
        max: usize,
        scratch: &'b mut Vec<u8>,
        emit: F,
    ) -> Self {
        let rm = ResourceMetrics {
            resource: Some(resource),
            scope_metrics: Vec::new(),
            schema_url,
        };
        let rm_head = rm.encoded_len();
        Packer {
            max,
            scratch,
            emit,
            request: ExportMetricsServiceRequest {
                resource_metrics: vec![rm],
            },
            rm_head,
            scope: ScopeMetrics::default(),
            scope_head: ScopeMetrics::default().encoded_len(),
            next_id: 0,
            scope_id: 0,
            sizes: Sizes::default(),
            points_in_request: 0,
            report: PackReport::default(),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Starts a scope: the metrics that follow belong to it.
    pub(crate) fn scope(&mut self, scope: InstrumentationScope, schema_url: String) {
        self.scope = ScopeMetrics {
            scope: Some(scope),
            metrics: Vec::new(),
            schema_url,
        };
        self.scope_head = self.scope.encoded_len();
        self.scope_id = self.id();
    }

    /// Adds every data point of `metric`, in order.
    pub(crate) fn metric(&mut self, mut metric: Metric) {
        let Some(mut data) = metric.data.take() else {
            return;
        };
        match &mut data {
            Data::Gauge(g) => {
                let points = std::mem::take(&mut g.data_points);
                self.points(metric, data, points);
            }
            Data::Sum(s) => {
                let points = std::mem::take(&mut s.data_points);
                self.points(metric, data, points);
            }
            Data::Histogram(h) => {
                let points = std::mem::take(&mut h.data_points);
                self.points(metric, data, points);
            }
            Data::ExponentialHistogram(h) => {
                let points = std::mem::take(&mut h.data_points);
                self.points(metric, data, points);
            }
            Data::Summary(s) => {
                let points = std::mem::take(&mut s.data_points);
                self.points(metric, data, points);
            }
        }
    }

    /// Adds `points` of the metric whose envelope (data emptied) is `metric` + `data`.
    fn points<P: Point>(&mut self, mut metric: Metric, data: Data, points: Vec<P>) {
        let metric_sizes = MetricSizes {
            id: self.id(),
            head: metric.encoded_len(),
            data_head: data_head_len(&data),
            points: 0,
        };
        metric.data = Some(data);
        for point in points {
            self.report.points += 1;
            self.point(&metric, metric_sizes, point);
        }
    }

    fn scope_sizes(&self) -> ScopeSizes {
        ScopeSizes {
            id: self.scope_id,
            head: self.scope_head,
            metrics_done: 0,
            metric: None,
        }
    }

    fn point<P: Point>(&mut self, metric: &Metric, metric_sizes: MetricSizes, point: P) {
        let len = point.encoded_len();
        let mut sizes = self.sizes.with_point(self.scope_sizes(), metric_sizes, len);
        if sizes.total(self.rm_head) > self.max {
            // Does it fit in an empty request? If not, drop it and keep filling this one.
            let alone = Sizes::default().with_point(self.scope_sizes(), metric_sizes, len);
            if alone.total(self.rm_head) > self.max {
                self.report.oversize(1, &metric.name);
                return;
            }
            self.flush();
            sizes = alone;
        }
        let new_scope = self.sizes.scope.map(|s| s.id) != Some(self.scope_id);
        let new_metric = new_scope
            || self.sizes.scope.and_then(|s| s.metric).map(|m| m.id) != Some(metric_sizes.id);
        self.sizes = sizes;
        self.points_in_request += 1;
        let scopes = &mut self.request.resource_metrics[0].scope_metrics;
        if new_scope {
            scopes.push(self.scope.clone());
        }
        let Some(scope) = scopes.last_mut() else {
            return;
        };
        if new_metric {
            scope.metrics.push(metric.clone());
        }
        if let Some(points) = scope
            .metrics
            .last_mut()
            .and_then(|m| m.data.as_mut())
            .and_then(P::points)
        {
            points.push(point);
        }
    }

    /// Encodes the request filled so far, hands it out, and starts an empty one.
    fn flush(&mut self) {
        if self.points_in_request == 0 {
            return;
        }
        self.scratch.clear();
        // Encoding into a Vec cannot run out of room.
        let encoded = self.request.encode(self.scratch).is_ok();
        debug_assert_eq!(self.scratch.len(), self.sizes.total(self.rm_head));
        if encoded && self.scratch.len() <= self.max {
            (self.emit)(self.scratch, self.points_in_request);
            self.report.events += 1;
        } else {
            // Not reachable if the size arithmetic is right; never write oversize anyway.
            let points = self.points_in_request;
            self.report.oversize(points, "(size computation)");
        }
        self.request.resource_metrics[0].scope_metrics.clear();
        self.sizes = Sizes::default();
        self.points_in_request = 0;
    }

    /// Hands out the last request and returns what packing did.
    pub(crate) fn finish(mut self) -> PackReport {
        self.flush();
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::metrics::v1::{number_data_point, Gauge, Histogram, Sum};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.to_owned())),
            }),
            key_strindex: 0,
        }
    }

    fn number(i: usize, attr_len: usize) -> NumberDataPoint {
        NumberDataPoint {
            attributes: vec![kv("k", &format!("{i:0attr_len$}"))],
            time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            value: Some(number_data_point::Value::AsDouble(i as f64)),
            ..Default::default()
        }
    }

    fn sum(name: &str, points: Vec<NumberDataPoint>) -> Metric {
        Metric {
            name: name.to_owned(),
            data: Some(Data::Sum(Sum {
                data_points: points,
                aggregation_temporality: 1,
                is_monotonic: true,
            })),
            ..Default::default()
        }
    }

    /// Packs metrics (all in one scope) and returns the decoded requests and the report.
    fn pack(
        resource: Resource,
        metrics: Vec<Metric>,
        max: usize,
    ) -> (Vec<ExportMetricsServiceRequest>, PackReport) {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut packer = Packer::new(resource, String::new(), max, &mut scratch, |b, n| {
            let req = ExportMetricsServiceRequest::decode(b).unwrap();
            assert!(b.len() <= max, "{} > {max}", b.len());
            assert_eq!(req.encoded_len(), b.len());
            out.push((req, n));
        });
        packer.scope(
            InstrumentationScope {
                name: "scope".into(),
                ..Default::default()
            },
            String::new(),
        );
        for m in metrics {
            packer.metric(m);
        }
        let report = packer.finish();
        let mut reqs = Vec::new();
        for (req, n) in out {
            let counted: usize = req.resource_metrics[0].scope_metrics[0]
                .metrics
                .iter()
                .map(|m| match m.data.as_ref().unwrap() {
                    Data::Sum(s) => s.data_points.len(),
                    Data::Gauge(g) => g.data_points.len(),
                    Data::Histogram(h) => h.data_points.len(),
                    _ => 0,
                })
                .sum();
            assert_eq!(counted as u64, n);
            reqs.push(req);
        }
        (reqs, report)
    }

    #[test]
    fn header_layout() {
        let h = header(0x1234);
        assert_eq!(&h[0..4], &0u32.to_ne_bytes());
        assert_eq!(&h[4..12], b"v0.19.00");
        assert_eq!(
            u32::from_ne_bytes(h[12..16].try_into().unwrap()),
            0x1234 << 16
        );
    }

    #[test]
    fn sizes_are_exact_at_every_varint_boundary() {
        // Points of many sizes, so the envelope lengths cross 1-, 2- and 3-byte varints;
        // the debug_assert in flush and the decode check compare the arithmetic to prost.
        for attr_len in [1, 50, 100, 127, 128, 200, 1000, 5000] {
            for max in [200, 512, 8168, 65535] {
                let points = (0..300).map(|i| number(i, attr_len)).collect();
                let (reqs, report) = pack(Resource::default(), vec![sum("m", points)], max);
                let written: usize = reqs
                    .iter()
                    .map(
                        |r| match r.resource_metrics[0].scope_metrics[0].metrics[0].data {
                            Some(Data::Sum(ref s)) => s.data_points.len(),
                            _ => 0,
                        },
                    )
                    .sum();
                assert_eq!(written as u64 + report.oversize, 300);
            }
        }
    }

    #[test]
    fn points_stay_in_order_across_metrics_and_events() {
        let metrics: Vec<Metric> = (0..20)
            .map(|m| sum(&format!("m{m}"), (0..50).map(|i| number(i, 10)).collect()))
            .collect();
        let (reqs, report) = pack(Resource::default(), metrics, 1000);
        assert_eq!(report.oversize, 0);
        assert_eq!(report.points, 1000);
        let mut seen = Vec::new();
        for r in &reqs {
            for m in &r.resource_metrics[0].scope_metrics[0].metrics {
                let Some(Data::Sum(s)) = &m.data else {
                    panic!()
                };
                assert!(!s.data_points.is_empty(), "empty metric envelope written");
                assert!(s.is_monotonic);
                for p in &s.data_points {
                    seen.push((m.name.clone(), p.time_unix_nano));
                }
            }
        }
        let want: Vec<_> = (0..20)
            .flat_map(|m| (0..50).map(move |i| (format!("m{m}"), 1_700_000_000_000_000_000 + i)))
            .collect();
        assert_eq!(seen, want);
        assert!(reqs.len() < 100, "{} events", reqs.len());
    }

    #[test]
    fn a_point_too_large_alone_is_dropped_and_named() {
        let huge = HistogramDataPoint {
            bucket_counts: vec![1; 10_000],
            explicit_bounds: (0..9_999).map(f64::from).collect(),
            ..Default::default()
        };
        let hist = Metric {
            name: "big_histogram".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![huge, HistogramDataPoint::default()],
                aggregation_temporality: 1,
            })),
            ..Default::default()
        };
        let (reqs, report) = pack(
            Resource::default(),
            vec![sum("a", vec![number(1, 1)]), hist],
            8168,
        );
        assert_eq!(report.oversize, 1);
        assert_eq!(report.oversize_metrics, vec!["big_histogram".to_owned()]);
        assert_eq!(reqs.len(), 1);
        assert_eq!(
            reqs[0].resource_metrics[0].scope_metrics[0].metrics.len(),
            2
        );
    }

    #[test]
    fn a_huge_envelope_drops_every_point_with_one_cut_name() {
        let name = "n".repeat(100_000);
        let (reqs, report) = pack(
            Resource::default(),
            vec![
                sum(&name, (0..5).map(|i| number(i, 1)).collect()),
                sum("", vec![number(0, 1)]),
            ],
            8168,
        );
        assert_eq!(report.oversize, 5);
        assert_eq!(report.oversize_metrics, vec!["n".repeat(128)]);
        assert_eq!(reqs.len(), 1, "the empty-named metric still goes out");

        let resource = Resource {
            attributes: vec![kv("big", &"r".repeat(10_000))],
            ..Default::default()
        };
        let (reqs, report) = pack(resource, vec![sum("m", vec![number(0, 1)])], 8168);
        assert_eq!((reqs.len(), report.oversize), (0, 1));
    }

    #[test]
    fn non_finite_values_and_exemplars_are_carried() {
        use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar};
        let points: Vec<NumberDataPoint> = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]
            .into_iter()
            .map(|v| NumberDataPoint {
                value: Some(number_data_point::Value::AsDouble(v)),
                exemplars: vec![Exemplar {
                    filtered_attributes: vec![kv("user", "u1")],
                    time_unix_nano: 5,
                    span_id: vec![1; 8],
                    trace_id: vec![2; 16],
                    value: Some(exemplar::Value::AsDouble(v)),
                }],
                ..Default::default()
            })
            .collect();
        let (reqs, report) = pack(Resource::default(), vec![sum("m", points.clone())], 512);
        assert_eq!(report.oversize, 0);
        let got: Vec<NumberDataPoint> = reqs
            .iter()
            .flat_map(
                |r| match &r.resource_metrics[0].scope_metrics[0].metrics[0].data {
                    Some(Data::Sum(s)) => s.data_points.clone(),
                    _ => panic!(),
                },
            )
            .collect();
        // Compare bytes: NaN != NaN as a value.
        assert_eq!(
            got.iter().map(Message::encode_to_vec).collect::<Vec<_>>(),
            points
                .iter()
                .map(Message::encode_to_vec)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn metrics_without_points_and_gauges_pack() {
        let empty = sum("empty", Vec::new());
        let gauge = Metric {
            name: "g".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![number(1, 3)],
            })),
            ..Default::default()
        };
        let (reqs, report) = pack(Resource::default(), vec![empty, gauge], 512);
        assert_eq!(report.points, 1);
        assert_eq!(reqs.len(), 1);
        assert_eq!(
            reqs[0].resource_metrics[0].scope_metrics[0].metrics.len(),
            1
        );
    }
}
