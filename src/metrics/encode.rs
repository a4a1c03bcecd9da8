//! Pure encoding of metrics, no I/O: the SDK's `ResourceMetrics` becomes OTLP
//! `ExportMetricsServiceRequest` buffers, each holding as many data points as fit the size
//! limit.
//!
//! The protobuf is written straight from the SDK's borrowed data with prost's encoding
//! functions ([`otlp`](super::otlp)): no owned OTLP message is built. The envelopes (resource,
//! scopes, metrics: their own fields, without children) are encoded once per export; each
//! data point once, into a reused buffer, which also measures it. Every buffer lives in a
//! [`Scratch`] the exporter keeps, so packing an export in steady state allocates nothing.
//!
//! Sizes are computed, not guessed: every data point's length is measured once, and the size
//! of the request around it (resource, scope, metric envelopes, each wrapped in a tag and a
//! varint length) follows exactly from those lengths, so deciding "does this point still
//! fit" costs O(1). The request is measured again from what it holds before it is handed out,
//! and checked against the limit.

use opentelemetry_sdk::metrics::data::{self as sdk, AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::Temporality;
use prost::encoding::encoded_len_varint;

use super::otlp::{self, nanos, Num};

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

/// Packs `rm` into buffers of at most `max_buffer_len` bytes, calling `emit(request, points)`
/// for each, in order; `request` writes the buffer where the caller wants it. Uses `scratch`
/// for everything it writes: after the first exports nothing is allocated.
pub(crate) fn pack_resource_metrics(
    rm: &sdk::ResourceMetrics,
    max_buffer_len: usize,
    scratch: &mut Scratch,
    emit: impl FnMut(Request<'_>, u64),
) -> PackReport {
    let resource = rm.resource();
    let mut packer = Packer::new(max_buffer_len, scratch, emit);
    packer.resource(
        |b| otlp::put_resource(resource, b),
        |b| otlp::put_str(3, resource.schema_url().unwrap_or_default(), b),
    );
    for sm in rm.scope_metrics() {
        let scope = sm.scope();
        packer.scope(
            |b| otlp::put_scope(scope, b),
            |b| otlp::put_str(3, scope.schema_url().unwrap_or_default(), b),
        );
        for metric in sm.metrics() {
            match metric.data() {
                AggregatedMetrics::F64(d) => pack_metric(&mut packer, metric, d),
                AggregatedMetrics::U64(d) => pack_metric(&mut packer, metric, d),
                AggregatedMetrics::I64(d) => pack_metric(&mut packer, metric, d),
            }
        }
    }
    packer.finish()
}

/// Field numbers of `Metric.data`'s members.
const GAUGE: u32 = 5;
const SUM: u32 = 7;
const HISTOGRAM: u32 = 9;
const EXPONENTIAL_HISTOGRAM: u32 = 10;

/// Adds every data point of `metric` (whose data is `data`), in order.
fn pack_metric<'n, T: Num, F: FnMut(Request<'_>, u64)>(
    packer: &mut Packer<'_, 'n, F>,
    metric: &'n sdk::Metric,
    data: &MetricData<T>,
) {
    // name (1), description (2), unit (3); the data member follows, metadata (12) is empty.
    let head = |b: &mut Vec<u8>| {
        otlp::put_str(1, metric.name(), b);
        otlp::put_str(2, metric.description(), b);
        otlp::put_str(3, metric.unit(), b);
    };
    // Each data message: data_points (1), then aggregation_temporality (2) and, for sums,
    // is_monotonic (3).
    let temporality = |t: Temporality, b: &mut Vec<u8>| {
        prost::encoding::int32::encode(2, &otlp::temporality(t), b)
    };
    match data {
        MetricData::Gauge(g) => {
            packer.metric(metric.name(), head, GAUGE, |_| {});
            let times = (g.start_time().map(nanos).unwrap_or(0), nanos(g.time()));
            for p in g.data_points() {
                packer.point(|b| {
                    otlp::put_number_point(times, p.value(), p.exemplars(), p.attributes(), b)
                });
            }
        }
        MetricData::Sum(s) => {
            packer.metric(metric.name(), head, SUM, |b| {
                temporality(s.temporality(), b);
                if s.is_monotonic() {
                    prost::encoding::bool::encode(3, &true, b);
                }
            });
            let times = (nanos(s.start_time()), nanos(s.time()));
            for p in s.data_points() {
                packer.point(|b| {
                    otlp::put_number_point(times, p.value(), p.exemplars(), p.attributes(), b)
                });
            }
        }
        MetricData::Histogram(h) => {
            packer.metric(metric.name(), head, HISTOGRAM, |b| {
                temporality(h.temporality(), b)
            });
            let times = (nanos(h.start_time()), nanos(h.time()));
            for p in h.data_points() {
                packer.point(|b| otlp::put_histogram_point(times, p, b));
            }
        }
        MetricData::ExponentialHistogram(h) => {
            packer.metric(metric.name(), head, EXPONENTIAL_HISTOGRAM, |b| {
                temporality(h.temporality(), b)
            });
            let times = (nanos(h.start_time()), nanos(h.time()));
            for p in h.data_points() {
                packer.point(|b| otlp::put_exponential_point(times, p, b));
            }
        }
    }
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
    id: usize,
    /// The ScopeMetrics without metrics.
    head: usize,
    /// Wrapped lengths of the metrics already finished in this scope.
    metrics_done: usize,
    metric: Option<MetricSizes>,
}

#[derive(Debug, Clone, Copy)]
struct MetricSizes {
    id: usize,
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

/// A byte range of [`Scratch::heads`] or [`Scratch::points`].
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn len(self) -> usize {
        self.end - self.start
    }

    fn of(self, buf: &[u8]) -> &[u8] {
        &buf[self.start..self.end]
    }
}

/// A message's own fields, encoded once per export: those before its children (`pre`) and
/// those after (`post`), as prost orders fields by tag.
#[derive(Debug, Clone, Copy, Default)]
struct Envelope {
    pre: Span,
    post: Span,
}

impl Envelope {
    fn len(self) -> usize {
        self.pre.len() + self.post.len()
    }
}

/// A metric's envelope and that of its data message (field `data_tag` of the metric).
#[derive(Debug, Clone, Copy)]
struct MetricEnvelope {
    metric: Envelope,
    data_tag: u32,
    data: Envelope,
}

/// Consecutive points of one metric in the request being filled.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Index in [`Scratch::scopes`].
    scope: usize,
    /// Index in [`Scratch::metrics`].
    metric: usize,
    /// The points, each with its key and length, in [`Scratch::points`].
    points: Span,
}

/// The packer's buffers, kept by the exporter across exports: cleared, never dropped, so an
/// export in steady state allocates nothing here.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The envelopes of this export: the resource's, every scope's and metric's.
    heads: Vec<u8>,
    resource: Envelope,
    scopes: Vec<Envelope>,
    metrics: Vec<MetricEnvelope>,
    /// The points of the request being filled, each with its key and length.
    points: Vec<u8>,
    /// Where those points go.
    runs: Vec<Run>,
    /// The point being measured.
    point: Vec<u8>,
}

impl Scratch {
    /// Appends what `write` writes to `heads`.
    fn head(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Span {
        let start = self.heads.len();
        write(&mut self.heads);
        Span {
            start,
            end: self.heads.len(),
        }
    }

    fn envelope(
        &mut self,
        pre: impl FnOnce(&mut Vec<u8>),
        post: impl FnOnce(&mut Vec<u8>),
    ) -> Envelope {
        Envelope {
            pre: self.head(pre),
            post: self.head(post),
        }
    }

    /// The content length of the metric of `run`.
    fn metric_len(&self, run: &Run) -> usize {
        let m = &self.metrics[run.metric];
        m.metric.len() + wrap(m.data.len() + run.points.len())
    }

    /// The content length of the ScopeMetrics of `runs` (all of one scope).
    fn scope_len(&self, runs: &[Run]) -> usize {
        let head = runs.first().map_or(0, |r| self.scopes[r.scope].len());
        head + runs.iter().map(|r| wrap(self.metric_len(r))).sum::<usize>()
    }

    /// The request's runs, one slice per scope.
    fn scope_groups(&self) -> impl Iterator<Item = &[Run]> {
        self.runs.chunk_by(|a, b| a.scope == b.scope)
    }

    /// The content length of the request's ResourceMetrics.
    fn resource_metrics_len(&self) -> usize {
        self.resource.len()
            + self
                .scope_groups()
                .map(|g| wrap(self.scope_len(g)))
                .sum::<usize>()
    }
}

/// One full request, ready to be written: an `ExportMetricsServiceRequest` of
/// [`len`](Self::len) bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'s> {
    scratch: &'s Scratch,
    /// The ResourceMetrics' content length.
    content: usize,
}

impl Request<'_> {
    /// The encoded length.
    pub(crate) fn len(&self) -> usize {
        wrap(self.content)
    }

    /// Appends the request's bytes to `out`.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let s = self.scratch;
        let start = out.len();
        out.reserve(self.len());
        otlp::put_header(1, self.content, out);
        out.extend_from_slice(s.resource.pre.of(&s.heads));
        for group in s.scope_groups() {
            let scope = s.scopes[group[0].scope];
            otlp::put_header(2, s.scope_len(group), out);
            out.extend_from_slice(scope.pre.of(&s.heads));
            for run in group {
                let m = &s.metrics[run.metric];
                otlp::put_header(2, s.metric_len(run), out);
                out.extend_from_slice(m.metric.pre.of(&s.heads));
                otlp::put_header(m.data_tag, m.data.len() + run.points.len(), out);
                out.extend_from_slice(m.data.pre.of(&s.heads));
                out.extend_from_slice(run.points.of(&s.points));
                out.extend_from_slice(m.data.post.of(&s.heads));
                out.extend_from_slice(m.metric.post.of(&s.heads));
            }
            out.extend_from_slice(scope.post.of(&s.heads));
        }
        out.extend_from_slice(s.resource.post.of(&s.heads));
        debug_assert_eq!(out.len() - start, self.len());
    }

    /// The request's bytes in a new buffer.
    #[cfg(test)]
    pub(crate) fn to_vec(self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

/// Fills requests point by point for one resource and hands each full one to `emit`.
///
/// Call [`resource`](Self::resource) first, then [`scope`](Self::scope), each scope's
/// [`metric`](Self::metric)s and each metric's [`point`](Self::point)s, in order, then
/// [`finish`](Self::finish). Envelopes are passed as functions writing their own fields
/// (before and after their children, in tag order), points as functions writing theirs.
pub(crate) struct Packer<'s, 'n, F: FnMut(Request<'_>, u64)> {
    max: usize,
    s: &'s mut Scratch,
    emit: F,
    /// The current scope and metric: indexes in `s.scopes` and `s.metrics`.
    scope: usize,
    metric: usize,
    metric_name: &'n str,
    sizes: Sizes,
    points_in_request: u64,
    report: PackReport,
}

impl<'s, 'n, F: FnMut(Request<'_>, u64)> Packer<'s, 'n, F> {
    /// A packer into buffers of at most `max` bytes.
    pub(crate) fn new(max: usize, scratch: &'s mut Scratch, emit: F) -> Self {
        scratch.heads.clear();
        scratch.scopes.clear();
        scratch.metrics.clear();
        scratch.points.clear();
        scratch.runs.clear();
        scratch.resource = Envelope::default();
        Packer {
            max,
            s: scratch,
            emit,
            scope: 0,
            metric: 0,
            metric_name: "",
            sizes: Sizes::default(),
            points_in_request: 0,
            report: PackReport::default(),
        }
    }

    /// Sets the ResourceMetrics' own fields: `pre` writes those before its scopes (the
    /// resource, field 1), `post` those after (schema_url, 3).
    pub(crate) fn resource(
        &mut self,
        pre: impl FnOnce(&mut Vec<u8>),
        post: impl FnOnce(&mut Vec<u8>),
    ) {
        self.s.resource = self.s.envelope(pre, post);
    }

    /// Starts a scope: the metrics that follow belong to it. `pre` writes the ScopeMetrics'
    /// fields before its metrics (the scope, 1), `post` those after (schema_url, 3).
    pub(crate) fn scope(
        &mut self,
        pre: impl FnOnce(&mut Vec<u8>),
        post: impl FnOnce(&mut Vec<u8>),
    ) {
        let envelope = self.s.envelope(pre, post);
        self.s.scopes.push(envelope);
        self.scope = self.s.scopes.len() - 1;
    }

    /// Starts a metric named `name` (for the oversize report) in the current scope: `head`
    /// writes the Metric's fields before its data (name, description, unit), `data_tag` is
    /// the data member's field number, `data_tail` writes the data message's fields after its
    /// data points.
    pub(crate) fn metric(
        &mut self,
        name: &'n str,
        head: impl FnOnce(&mut Vec<u8>),
        data_tag: u32,
        data_tail: impl FnOnce(&mut Vec<u8>),
    ) {
        let metric = self.s.envelope(head, |_| {});
        let data = self.s.envelope(|_| {}, data_tail);
        self.s.metrics.push(MetricEnvelope {
            metric,
            data_tag,
            data,
        });
        self.metric = self.s.metrics.len() - 1;
        self.metric_name = name;
    }

    /// Adds one data point of the current metric: `write` writes its fields.
    pub(crate) fn point(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.report.points += 1;
        self.s.point.clear();
        write(&mut self.s.point);
        let len = self.s.point.len();
        let scope_sizes = ScopeSizes {
            // Ids start at 1: `Sizes::default()` holds none.
            id: self.scope + 1,
            head: self.s.scopes[self.scope].len(),
            metrics_done: 0,
            metric: None,
        };
        let m = &self.s.metrics[self.metric];
        let metric_sizes = MetricSizes {
            id: self.metric + 1,
            head: m.metric.len(),
            data_head: m.data.len(),
            points: 0,
        };
        let rm_head = self.s.resource.len();
        let mut sizes = self.sizes.with_point(scope_sizes, metric_sizes, len);
        if sizes.total(rm_head) > self.max {
            // Does it fit in an empty request? If not, drop it and keep filling this one.
            let alone = Sizes::default().with_point(scope_sizes, metric_sizes, len);
            if alone.total(rm_head) > self.max {
                self.report.oversize(1, self.metric_name);
                return;
            }
            self.flush();
            sizes = alone;
        }
        self.sizes = sizes;
        self.points_in_request += 1;
        let start = self.s.points.len();
        otlp::put_header(1, len, &mut self.s.points);
        self.s.points.extend_from_slice(&self.s.point);
        let end = self.s.points.len();
        match self.s.runs.last_mut() {
            Some(run) if run.scope == self.scope && run.metric == self.metric => {
                run.points.end = end;
            }
            _ => self.s.runs.push(Run {
                scope: self.scope,
                metric: self.metric,
                points: Span { start, end },
            }),
        }
    }

    /// Hands out the request filled so far and starts an empty one.
    fn flush(&mut self) {
        if self.points_in_request == 0 {
            return;
        }
        let request = Request {
            scratch: self.s,
            content: self.s.resource_metrics_len(),
        };
        debug_assert_eq!(request.len(), self.sizes.total(self.s.resource.len()));
        if request.len() <= self.max {
            (self.emit)(request, self.points_in_request);
            self.report.events += 1;
        } else {
            // Not reachable if the size arithmetic is right; never write oversize anyway.
            let points = self.points_in_request;
            self.report.oversize(points, "(size computation)");
        }
        self.s.points.clear();
        self.s.runs.clear();
        self.sizes = Sizes::default();
        self.points_in_request = 0;
    }

    /// Hands out the last request and returns what packing did.
    pub(crate) fn finish(mut self) -> PackReport {
        self.flush();
        // A point longer than any buffer was dropped: keep no room for the next one.
        if self.s.point.capacity() > 2 * MAX_BUFFER_LEN {
            self.s.point = Vec::new();
        }
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::metrics::v1::{
        metric::Data, number_data_point, Gauge, Histogram, HistogramDataPoint, Metric,
        NumberDataPoint, Sum,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::encoding::message;
    use prost::Message;

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

    /// The data member's field number, the data message without points, and the points.
    fn split(data: &Data) -> (u32, Vec<u8>, Vec<Vec<u8>>) {
        fn points<P: Message>(p: &[P]) -> Vec<Vec<u8>> {
            p.iter().map(Message::encode_to_vec).collect()
        }
        match data {
            Data::Gauge(g) => (5, Vec::new(), points(&g.data_points)),
            Data::Sum(s) => {
                let tail = Sum {
                    data_points: Vec::new(),
                    ..s.clone()
                };
                (7, tail.encode_to_vec(), points(&s.data_points))
            }
            Data::Histogram(h) => {
                let tail = Histogram {
                    data_points: Vec::new(),
                    ..h.clone()
                };
                (9, tail.encode_to_vec(), points(&h.data_points))
            }
            _ => unimplemented!("not used by these tests"),
        }
    }

    /// Packs metrics (all in one scope) through the packer, envelopes and points encoded by
    /// prost from `opentelemetry_proto` structs, and returns the decoded requests and the
    /// report.
    fn pack(
        resource: Resource,
        metrics: Vec<Metric>,
        max: usize,
    ) -> (Vec<ExportMetricsServiceRequest>, PackReport) {
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        let mut packer = Packer::new(max, &mut scratch, |r: Request<'_>, n| {
            let b = r.to_vec();
            assert_eq!(b.len(), r.len());
            let req = ExportMetricsServiceRequest::decode(&b[..]).unwrap();
            assert!(b.len() <= max, "{} > {max}", b.len());
            assert_eq!(req.encoded_len(), b.len());
            assert_eq!(req.encode_to_vec(), b, "the bytes prost writes");
            out.push((req, n));
        });
        packer.resource(|b| message::encode(1, &resource, b), |_| {});
        let scope = InstrumentationScope {
            name: "scope".into(),
            ..Default::default()
        };
        packer.scope(|b| message::encode(1, &scope, b), |_| {});
        for m in &metrics {
            let head = Metric {
                data: None,
                ..m.clone()
            };
            let (tag, tail, points) = split(m.data.as_ref().unwrap());
            packer.metric(
                &m.name,
                |b| b.extend_from_slice(&head.encode_to_vec()),
                tag,
                |b| b.extend_from_slice(&tail),
            );
            for p in points {
                packer.point(|b| b.extend_from_slice(&p));
            }
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
    fn the_scratch_keeps_no_room_for_dropped_giants() {
        let mut scratch = Scratch::default();
        let mut packer = Packer::new(8168, &mut scratch, |_: Request<'_>, _| {});
        packer.resource(|_| {}, |_| {});
        packer.scope(|_| {}, |_| {});
        packer.metric("giant", |_| {}, 7, |_| {});
        packer.point(|b| b.resize(3 * MAX_BUFFER_LEN, 1));
        packer.point(|b| b.resize(10, 1));
        let report = packer.finish();
        assert_eq!((report.points, report.oversize, report.events), (2, 1, 1));
        assert!(scratch.point.capacity() <= 2 * MAX_BUFFER_LEN);
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
