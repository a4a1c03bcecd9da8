//! OTLP protobuf written straight from the SDK's borrowed metrics data, with prost's own
//! encoding functions (`prost::encoding::*`): no owned `opentelemetry_proto` message is built,
//! so nothing is allocated.
//!
//! The bytes are those prost writes for the messages `opentelemetry_proto` converts the same
//! data into (its `From` impls): fields in tag order (prost sorts them so), proto3 defaults
//! (0, empty) left out, `optional` and `oneof` fields written whenever set. The tests compare
//! both byte for byte.
//!
//! Messages nested inside a data point (attributes, their values, exemplars, buckets) need
//! their length before their bytes: `*_len` computes it, and the writer checks it in debug
//! builds. A data point's own length is measured by writing it (see the packer).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::metrics::data::{
    Exemplar, ExponentialBucket, ExponentialHistogramDataPoint, HistogramDataPoint,
};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;
use prost::bytes::BufMut;
use prost::encoding::{self, encode_key, encode_varint, encoded_len_varint, key_len, WireType};

/// The length of a length-delimited field `tag` holding `len` bytes.
pub(super) fn delimited_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// The key and length of a length-delimited field `tag` of `len` bytes.
pub(super) fn put_header(tag: u32, len: usize, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

/// A length-delimited field `tag` holding `bytes`, written even if empty (a `oneof` member).
fn put_bytes(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    put_header(tag, bytes.len(), buf);
    buf.extend_from_slice(bytes);
}

/// A proto3 `string` field: left out when empty.
pub(super) fn put_str(tag: u32, s: &str, buf: &mut Vec<u8>) {
    if !s.is_empty() {
        put_bytes(tag, s.as_bytes(), buf);
    }
}

fn str_len(tag: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        delimited_len(tag, s.len())
    }
}

/// A proto3 `fixed64` field: left out when 0.
fn put_fixed64(tag: u32, v: u64, buf: &mut Vec<u8>) {
    if v != 0 {
        encoding::fixed64::encode(tag, &v, buf);
    }
}

fn fixed64_len(tag: u32, v: u64) -> usize {
    if v != 0 {
        encoding::fixed64::encoded_len(tag, &v)
    } else {
        0
    }
}

/// Nanoseconds since the epoch, 0 before it (as `opentelemetry_proto` converts times).
pub(super) fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos() as u64
}

/// The `AggregationTemporality` written for `t`: delta 1, cumulative (and anything else) 2.
pub(super) fn temporality(t: Temporality) -> i32 {
    match t {
        Temporality::Delta => 1,
        _ => 2,
    }
}

/// The value of a number data point or an exemplar.
#[derive(Debug, Clone, Copy)]
pub(super) enum Number {
    /// `as_int`: `sfixed64`.
    Int(i64),
    /// `as_double`: `double`.
    Double(f64),
}

/// A measurement type of the SDK, as OTLP carries it.
pub(super) trait Num: Copy {
    /// The number a data point carries: u64 above `i64::MAX` becomes 0, as
    /// `opentelemetry_proto` converts it.
    fn number(self) -> Number;
    /// As a double, for histogram sums, minima and maxima.
    fn f64(self) -> f64;
}

impl Num for u64 {
    fn number(self) -> Number {
        Number::Int(i64::try_from(self).unwrap_or_default())
    }
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Num for i64 {
    fn number(self) -> Number {
        Number::Int(self)
    }
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Num for f64 {
    fn number(self) -> Number {
        Number::Double(self)
    }
    fn f64(self) -> f64 {
        self
    }
}

/// The `oneof value` of a number: `as_double = double_tag` or `as_int = int_tag`.
fn put_number(double_tag: u32, int_tag: u32, n: Number, buf: &mut Vec<u8>) {
    match n {
        Number::Double(d) => encoding::double::encode(double_tag, &d, buf),
        Number::Int(i) => encoding::sfixed64::encode(int_tag, &i, buf),
    }
}

fn number_len(double_tag: u32, int_tag: u32, n: Number) -> usize {
    match n {
        Number::Double(d) => encoding::double::encoded_len(double_tag, &d),
        Number::Int(i) => encoding::sfixed64::encoded_len(int_tag, &i),
    }
}

// ---- AnyValue, KeyValue ------------------------------------------------------------------

/// The content length of the `AnyValue` of `v`.
fn any_value_len(v: &Value) -> usize {
    match v {
        Value::Bool(b) => encoding::bool::encoded_len(2, b),
        Value::I64(i) => encoding::int64::encoded_len(3, i),
        Value::F64(d) => encoding::double::encoded_len(4, d),
        Value::String(s) => delimited_len(1, s.as_str().len()),
        Value::Array(a) => delimited_len(5, array_len(a)),
        // Nothing else exists today; an empty AnyValue rather than a panic.
        _ => 0,
    }
}

fn put_any_value(v: &Value, buf: &mut Vec<u8>) {
    match v {
        Value::Bool(b) => encoding::bool::encode(2, b, buf),
        Value::I64(i) => encoding::int64::encode(3, i, buf),
        Value::F64(d) => encoding::double::encode(4, d, buf),
        Value::String(s) => put_bytes(1, s.as_str().as_bytes(), buf),
        Value::Array(a) => {
            put_header(5, array_len(a), buf);
            put_array(a, buf);
        }
        _ => {}
    }
}

/// The content length of the `ArrayValue` of `a`: each element an `AnyValue` in field 1.
fn array_len(a: &Array) -> usize {
    match a {
        Array::Bool(v) => v
            .iter()
            .map(|b| delimited_len(1, encoding::bool::encoded_len(2, b)))
            .sum(),
        Array::I64(v) => v
            .iter()
            .map(|i| delimited_len(1, encoding::int64::encoded_len(3, i)))
            .sum(),
        Array::F64(v) => v
            .iter()
            .map(|d| delimited_len(1, encoding::double::encoded_len(4, d)))
            .sum(),
        Array::String(v) => v
            .iter()
            .map(|s| delimited_len(1, delimited_len(1, s.as_str().len())))
            .sum(),
        _ => 0,
    }
}

fn put_array(a: &Array, buf: &mut Vec<u8>) {
    match a {
        Array::Bool(v) => {
            for b in v {
                put_header(1, encoding::bool::encoded_len(2, b), buf);
                encoding::bool::encode(2, b, buf);
            }
        }
        Array::I64(v) => {
            for i in v {
                put_header(1, encoding::int64::encoded_len(3, i), buf);
                encoding::int64::encode(3, i, buf);
            }
        }
        Array::F64(v) => {
            for d in v {
                put_header(1, encoding::double::encoded_len(4, d), buf);
                encoding::double::encode(4, d, buf);
            }
        }
        Array::String(v) => {
            for s in v {
                let s = s.as_str().as_bytes();
                put_header(1, delimited_len(1, s.len()), buf);
                put_bytes(1, s, buf);
            }
        }
        _ => {}
    }
}

/// The content length of a `KeyValue`: `key` (1), `value` (2, always set).
fn key_value_len(key: &str, value: &Value) -> usize {
    str_len(1, key) + delimited_len(2, any_value_len(value))
}

/// A `KeyValue` message in field `tag`.
fn put_key_value(tag: u32, key: &str, value: &Value, buf: &mut Vec<u8>) {
    let start = buf.len();
    let len = key_value_len(key, value);
    put_header(tag, len, buf);
    put_str(1, key, buf);
    put_header(2, any_value_len(value), buf);
    put_any_value(value, buf);
    debug_assert_eq!(buf.len() - start, delimited_len(tag, len));
}

fn attributes_len<'a>(tag: u32, attrs: impl Iterator<Item = &'a KeyValue>) -> usize {
    attrs
        .map(|kv| delimited_len(tag, key_value_len(kv.key.as_str(), &kv.value)))
        .sum()
}

fn put_attributes<'a>(tag: u32, attrs: impl Iterator<Item = &'a KeyValue>, buf: &mut Vec<u8>) {
    for kv in attrs {
        put_key_value(tag, kv.key.as_str(), &kv.value, buf);
    }
}

// ---- envelopes ---------------------------------------------------------------------------

/// `ResourceMetrics.resource` (field 1): a `Resource` with the attributes (1) only.
pub(super) fn put_resource(resource: &Resource, buf: &mut Vec<u8>) {
    let len: usize = resource
        .iter()
        .map(|(k, v)| delimited_len(1, key_value_len(k.as_str(), v)))
        .sum();
    put_header(1, len, buf);
    for (k, v) in resource.iter() {
        put_key_value(1, k.as_str(), v, buf);
    }
}

/// `ScopeMetrics.scope` (field 1): `InstrumentationScope` name (1), version (2), attributes
/// (3).
pub(super) fn put_scope(scope: &InstrumentationScope, buf: &mut Vec<u8>) {
    let version = scope.version().unwrap_or_default();
    let len =
        str_len(1, scope.name()) + str_len(2, version) + attributes_len(3, scope.attributes());
    put_header(1, len, buf);
    put_str(1, scope.name(), buf);
    put_str(2, version, buf);
    put_attributes(3, scope.attributes(), buf);
}

// ---- data points -------------------------------------------------------------------------

/// The content length of an `Exemplar`: time (2), value (3 double or 6 sfixed64), span_id
/// (4), trace_id (5), filtered_attributes (7).
fn exemplar_len<'a, I: Iterator<Item = &'a KeyValue>>(
    time: u64,
    value: Number,
    span_id: &[u8],
    trace_id: &[u8],
    attributes: impl Fn() -> I,
) -> usize {
    fixed64_len(2, time)
        + number_len(3, 6, value)
        + bytes_len(4, span_id)
        + bytes_len(5, trace_id)
        + attributes_len(7, attributes())
}

/// A proto3 `bytes` field: left out when empty.
fn bytes_len(tag: u32, b: &[u8]) -> usize {
    if b.is_empty() {
        0
    } else {
        delimited_len(tag, b.len())
    }
}

fn put_nonempty_bytes(tag: u32, b: &[u8], buf: &mut Vec<u8>) {
    if !b.is_empty() {
        put_bytes(tag, b, buf);
    }
}

/// An `Exemplar` message in field `tag`; `attributes` lends its filtered attributes (it is
/// walked twice: for the length, then for the bytes).
pub(super) fn put_exemplar<'a, I: Iterator<Item = &'a KeyValue>>(
    tag: u32,
    (time, value, span_id, trace_id): (u64, Number, &[u8], &[u8]),
    attributes: impl Fn() -> I,
    buf: &mut Vec<u8>,
) {
    let start = buf.len();
    let len = exemplar_len(time, value, span_id, trace_id, &attributes);
    put_header(tag, len, buf);
    put_fixed64(2, time, buf);
    put_number(3, 6, value, buf);
    put_nonempty_bytes(4, span_id, buf);
    put_nonempty_bytes(5, trace_id, buf);
    put_attributes(7, attributes(), buf);
    debug_assert_eq!(buf.len() - start, delimited_len(tag, len));
}

fn put_exemplars<'a, T: Num + 'a>(
    tag: u32,
    exemplars: impl Iterator<Item = &'a Exemplar<T>>,
    buf: &mut Vec<u8>,
) {
    for e in exemplars {
        let fields = (
            nanos(e.time()),
            e.value.number(),
            &e.span_id()[..],
            &e.trace_id()[..],
        );
        put_exemplar(tag, fields, || e.filtered_attributes(), buf);
    }
}

/// A `NumberDataPoint`'s content (a gauge's or a sum's point): start (2), time (3), value (4
/// double or 6 sfixed64), exemplars (5), attributes (7); flags (8) are 0.
pub(super) fn put_number_point<'a, T: Num + 'a>(
    (start, time): (u64, u64),
    value: T,
    exemplars: impl Iterator<Item = &'a Exemplar<T>>,
    attributes: impl Iterator<Item = &'a KeyValue>,
    buf: &mut Vec<u8>,
) {
    put_fixed64(2, start, buf);
    put_fixed64(3, time, buf);
    put_number(4, 6, value.number(), buf);
    put_exemplars(5, exemplars, buf);
    put_attributes(7, attributes, buf);
}

/// A `HistogramDataPoint`'s content: start (2), time (3), count (4), sum (5), bucket_counts
/// (6, packed fixed64), explicit_bounds (7, packed double), exemplars (8), attributes (9),
/// min (11), max (12); flags (10) are 0.
pub(super) fn put_histogram_point<T: Num>(
    (start, time): (u64, u64),
    p: &HistogramDataPoint<T>,
    buf: &mut Vec<u8>,
) {
    put_fixed64(2, start, buf);
    put_fixed64(3, time, buf);
    put_fixed64(4, p.count(), buf);
    encoding::double::encode(5, &p.sum().f64(), buf);
    let counts = p.bucket_counts().count();
    if counts > 0 {
        put_header(6, counts * 8, buf);
        for c in p.bucket_counts() {
            buf.put_u64_le(c);
        }
    }
    let bounds = p.bounds().count();
    if bounds > 0 {
        put_header(7, bounds * 8, buf);
        for b in p.bounds() {
            buf.put_f64_le(b);
        }
    }
    put_exemplars(8, p.exemplars(), buf);
    put_attributes(9, p.attributes(), buf);
    if let Some(min) = p.min() {
        encoding::double::encode(11, &min.f64(), buf);
    }
    if let Some(max) = p.max() {
        encoding::double::encode(12, &max.f64(), buf);
    }
}

/// An `ExponentialHistogramDataPoint`'s content: attributes (1), start (2), time (3), count
/// (4), sum (5), scale (6), zero_count (7), positive (8), negative (9), exemplars (11), min
/// (12), max (13), zero_threshold (14); flags (10) are 0.
pub(super) fn put_exponential_point<T: Num>(
    (start, time): (u64, u64),
    p: &ExponentialHistogramDataPoint<T>,
    buf: &mut Vec<u8>,
) {
    put_attributes(1, p.attributes(), buf);
    put_fixed64(2, start, buf);
    put_fixed64(3, time, buf);
    put_fixed64(4, p.count() as u64, buf);
    encoding::double::encode(5, &p.sum().f64(), buf);
    let scale = i32::from(p.scale());
    if scale != 0 {
        encoding::sint32::encode(6, &scale, buf);
    }
    put_fixed64(7, p.zero_count(), buf);
    put_buckets(8, p.positive_bucket(), buf);
    put_buckets(9, p.negative_bucket(), buf);
    put_exemplars(11, p.exemplars(), buf);
    if let Some(min) = p.min() {
        encoding::double::encode(12, &min.f64(), buf);
    }
    if let Some(max) = p.max() {
        encoding::double::encode(13, &max.f64(), buf);
    }
    let threshold = p.zero_threshold();
    if threshold != 0.0 {
        encoding::double::encode(14, &threshold, buf);
    }
}

/// A `Buckets` message (always set) in field `tag`: offset (1, sint32), bucket_counts (2,
/// packed uint64).
fn put_buckets(tag: u32, b: &ExponentialBucket, buf: &mut Vec<u8>) {
    let offset = b.offset();
    let offset_len = if offset != 0 {
        encoding::sint32::encoded_len(1, &offset)
    } else {
        0
    };
    let counts: usize = b.counts().map(encoded_len_varint).sum();
    let counts_len = if counts > 0 {
        delimited_len(2, counts)
    } else {
        0
    };
    put_header(tag, offset_len + counts_len, buf);
    if offset != 0 {
        encoding::sint32::encode(1, &offset, buf);
    }
    if counts > 0 {
        put_header(2, counts, buf);
        for c in b.counts() {
            encode_varint(c, buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValue as PKeyValue;
    use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar as PExemplar};
    use prost::Message;

    /// Exemplars (which the SDK does not let a test make) are written as prost writes the
    /// `opentelemetry_proto` message with the same fields: either value, ids set or empty,
    /// time 0 or not, with and without attributes.
    #[test]
    fn exemplars_are_the_bytes_prost_writes() {
        let attrs = [
            KeyValue::new("user", "u1"),
            KeyValue::new("n", -3),
            KeyValue::new("", 0.5),
        ];
        let span = [1u8; 8];
        let trace = [2u8; 16];
        for value in [
            Number::Int(0),
            Number::Int(-7),
            Number::Double(-0.0),
            Number::Double(2.5),
        ] {
            for (time, span_id, trace_id) in [(0, &[][..], &[][..]), (5, &span[..], &trace[..])] {
                for attrs in [&attrs[..0], &attrs[..]] {
                    let mut ours = Vec::new();
                    put_exemplar(
                        9,
                        (time, value, span_id, trace_id),
                        || attrs.iter(),
                        &mut ours,
                    );
                    let theirs = PExemplar {
                        filtered_attributes: attrs.iter().map(PKeyValue::from).collect(),
                        time_unix_nano: time,
                        span_id: span_id.to_vec(),
                        trace_id: trace_id.to_vec(),
                        value: Some(match value {
                            Number::Int(i) => exemplar::Value::AsInt(i),
                            Number::Double(d) => exemplar::Value::AsDouble(d),
                        }),
                    };
                    let mut expected = Vec::new();
                    encoding::message::encode(9, &theirs, &mut expected);
                    assert_eq!(ours, expected, "{value:?} {time} {}", attrs.len());
                    assert_eq!(
                        PExemplar::decode(&ours[2..]).unwrap(),
                        theirs,
                        "decodes to the same message"
                    );
                }
            }
        }
    }

    /// Temporalities and u64 values above `i64::MAX` become what `opentelemetry_proto` makes
    /// of them.
    #[test]
    fn conversions_are_opentelemetry_proto_s() {
        assert_eq!(temporality(Temporality::Delta), 1);
        assert_eq!(temporality(Temporality::Cumulative), 2);
        assert!(matches!(u64::MAX.number(), Number::Int(0)));
        assert!(matches!((i64::MAX as u64).number(), Number::Int(i64::MAX)));
        assert_eq!(nanos(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
