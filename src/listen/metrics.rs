//! `otlp_metrics` payloads decoded to the OTLP/JSON mapping (pure: bytes in, JSON out).
//!
//! A payload is what the metrics exporter writes after the `write_index` (a perf sample's raw
//! data after the common fields): `u32 protocol`, `char[8] version`, a `__rel_loc` word (high
//! 16 bits the length, low 16 the offset counted from the end of the word), then the buffer,
//! for protocol 0 a prost-encoded OTLP `ExportMetricsServiceRequest` (see
//! [`TRACEPOINT_FIELDS`](crate::metrics::TRACEPOINT_FIELDS)). The kernel may pad the sample
//! with up to 7 zero bytes after the buffer; they are ignored.
//!
//! The JSON is opentelemetry-proto's serde mapping, which follows the OTLP/JSON spec:
//! lowerCamelCase field names, trace and span ids as hex strings, 64-bit integers (times,
//! counts, `asInt`, `intValue`) as decimal strings, enums (`aggregationTemporality`) as
//! integers, bytes as base64. Fields holding their default value are printed too (receivers
//! accept both). Where serde_json alone would print a NaN or infinite double (a gauge's
//! `asDouble`, a sum, an attribute's `doubleValue`) as `null`, [`SpecFloats`] writes the
//! spec's `"NaN"`, `"Infinity"` and `"-Infinity"`, as opentelemetry-proto already does for
//! quantiles.

use std::fmt;

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;

use crate::metrics::{HEADER_LEN, PROTOCOL_OTLP_PROTOBUF};

/// Why an `otlp_metrics` payload did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetricsDecodeError {
    /// Fewer bytes than the 16-byte header.
    Short { len: usize },
    /// A protocol other than OTLP protobuf (0).
    Protocol(u32),
    /// The `__rel_loc` word locates bytes beyond the payload.
    Location {
        offset: usize,
        len: usize,
        payload: usize,
    },
    /// The buffer is not an `ExportMetricsServiceRequest`.
    Protobuf(String),
}

impl fmt::Display for MetricsDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Short { len } => write!(
                f,
                "truncated: {len} bytes, fewer than the {HEADER_LEN}-byte otlp_metrics header"
            ),
            Self::Protocol(p) => write!(
                f,
                "protocol {p} is not OTLP protobuf ({PROTOCOL_OTLP_PROTOBUF})"
            ),
            Self::Location {
                offset,
                len,
                payload,
            } => write!(
                f,
                "truncated: the buffer ({len} bytes at offset {offset}) lies beyond the \
                 {payload}-byte payload"
            ),
            Self::Protobuf(e) => write!(f, "the buffer is not an ExportMetricsServiceRequest: {e}"),
        }
    }
}

/// The buffer of `payload` (a serialized `ExportMetricsServiceRequest`), located by its
/// header and checked to decode.
pub(crate) fn buffer(payload: &[u8]) -> Result<&[u8], MetricsDecodeError> {
    let buffer = locate(payload)?;
    parse(buffer)?;
    Ok(buffer)
}

/// Parses the header of `payload` and prost-decodes its buffer.
pub(crate) fn decode(payload: &[u8]) -> Result<ExportMetricsServiceRequest, MetricsDecodeError> {
    parse(locate(payload)?)
}

/// The buffer the header of `payload` locates.
fn locate(payload: &[u8]) -> Result<&[u8], MetricsDecodeError> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(
            payload.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    let (Some(protocol), Some(rel_loc)) = (word(0), word(12)) else {
        return Err(MetricsDecodeError::Short { len: payload.len() });
    };
    if protocol != PROTOCOL_OTLP_PROTOBUF {
        return Err(MetricsDecodeError::Protocol(protocol));
    }
    let len = (rel_loc >> 16) as usize;
    let offset = HEADER_LEN + (rel_loc & 0xffff) as usize;
    payload
        .get(offset..offset + len)
        .ok_or(MetricsDecodeError::Location {
            offset,
            len,
            payload: payload.len(),
        })
}

fn parse(buffer: &[u8]) -> Result<ExportMetricsServiceRequest, MetricsDecodeError> {
    ExportMetricsServiceRequest::decode(buffer)
        .map_err(|e| MetricsDecodeError::Protobuf(e.to_string()))
}

/// The payload's request in the OTLP/JSON mapping: `{"resourceMetrics":[…]}`.
pub(crate) fn to_json(payload: &[u8]) -> Result<String, MetricsDecodeError> {
    let request = decode(payload)?;
    let mut out = Vec::with_capacity(payload.len() * 4);
    SpecFloats(&request)
        .serialize(&mut serde_json::Serializer::new(&mut out))
        .map_err(|e| MetricsDecodeError::Protobuf(e.to_string()))?;
    // serde_json writes UTF-8 only.
    String::from_utf8(out).map_err(|e| MetricsDecodeError::Protobuf(e.to_string()))
}

/// A value serialized with non-finite floats as the strings of the protobuf JSON mapping
/// (`"NaN"`, `"Infinity"`, `"-Infinity"`), everything else unchanged: it wraps the serializer,
/// and every value nested in a sequence, map, struct or option, in the same way.
struct SpecFloats<T: ?Sized>(T);

impl<T: Serialize + ?Sized> Serialize for SpecFloats<&T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(SpecFloats(serializer))
    }
}

fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v.is_infinite() {
        Some(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

/// Forwards the scalar `serialize_*` methods unchanged.
macro_rules! forward {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.0.$method(v)
        }
    )*};
}

impl<S: Serializer> Serializer for SpecFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = SpecFloats<S::SerializeSeq>;
    type SerializeTuple = SpecFloats<S::SerializeTuple>;
    type SerializeTupleStruct = SpecFloats<S::SerializeTupleStruct>;
    type SerializeTupleVariant = SpecFloats<S::SerializeTupleVariant>;
    type SerializeMap = SpecFloats<S::SerializeMap>;
    type SerializeStruct = SpecFloats<S::SerializeStruct>;
    type SerializeStructVariant = SpecFloats<S::SerializeStructVariant>;

    forward!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        match non_finite(f64::from(v)) {
            Some(text) => self.0.serialize_str(text),
            None => self.0.serialize_f32(v),
        }
    }

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        match non_finite(v) {
            Some(text) => self.0.serialize_str(text),
            None => self.0.serialize_f64(v),
        }
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&SpecFloats(value))
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &SpecFloats(value))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &SpecFloats(value))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(SpecFloats)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(SpecFloats)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(SpecFloats)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(SpecFloats)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(SpecFloats)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(SpecFloats)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(SpecFloats)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// The compound serializers: each element, key or field value wrapped in turn.
macro_rules! compound {
    ($($trait:ident { $($method:ident($($name:ident: $ty:ty),*))* }),* $(,)?) => {$(
        impl<C: $trait> $trait for SpecFloats<C> {
            type Ok = C::Ok;
            type Error = C::Error;
            $(
                fn $method<T: Serialize + ?Sized>(
                    &mut self,
                    $($name: $ty,)*
                    value: &T,
                ) -> Result<(), C::Error> {
                    self.0.$method($($name,)* &SpecFloats(value))
                }
            )*
            fn end(self) -> Result<C::Ok, C::Error> {
                self.0.end()
            }
        }
    )*};
}

compound!(
    SerializeSeq { serialize_element() },
    SerializeTuple { serialize_element() },
    SerializeTupleStruct { serialize_field() },
    SerializeTupleVariant { serialize_field() },
    SerializeMap { serialize_key() serialize_value() },
    SerializeStruct { serialize_field(key: &'static str) },
    SerializeStructVariant { serialize_field(key: &'static str) },
);

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::metrics::v1::{
        exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
        summary_data_point::ValueAtQuantile, AggregationTemporality, Exemplar,
        ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
        Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use serde_json::{json, Value};

    use super::*;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn string(key: &str, value: &str) -> KeyValue {
        kv(key, any_value::Value::StringValue(value.into()))
    }

    /// A payload as the exporter frames it: header, then `buffer` right after it.
    fn frame(protocol: u32, buffer: &[u8]) -> Vec<u8> {
        let mut p = protocol.to_ne_bytes().to_vec();
        p.extend_from_slice(b"v0.19.00");
        p.extend_from_slice(&((buffer.len() as u32) << 16).to_ne_bytes());
        p.extend_from_slice(buffer);
        p
    }

    fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![string("service.name", "shop")],
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "app".into(),
                        version: "1.2".into(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn metric(name: &str, data: Data) -> Metric {
        Metric {
            name: name.into(),
            unit: "ms".into(),
            description: "d".into(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn number(attrs: Vec<KeyValue>, value: number_data_point::Value) -> NumberDataPoint {
        NumberDataPoint {
            attributes: attrs,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            time_unix_nano: 1_700_000_001_000_000_001,
            value: Some(value),
            ..Default::default()
        }
    }

    fn decoded(metrics: Vec<Metric>) -> Value {
        let payload = frame(0, &request(metrics).encode_to_vec());
        serde_json::from_str(&to_json(&payload).unwrap()).unwrap()
    }

    /// The one metric of [`decoded`]'s single resource and scope.
    fn only_metric(v: &Value) -> &Value {
        &v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    }

    #[test]
    fn resource_scope_and_a_sum_in_otlp_json() {
        let sum = Sum {
            data_points: vec![number(
                vec![
                    string("route", "/items"),
                    kv("code", any_value::Value::IntValue(200)),
                    kv("ok", any_value::Value::BoolValue(true)),
                    kv("ratio", any_value::Value::DoubleValue(0.5)),
                ],
                number_data_point::Value::AsInt(i64::MAX),
            )],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        };
        let v = decoded(vec![metric("requests", Data::Sum(sum))]);
        let rm = &v["resourceMetrics"][0];
        assert_eq!(
            rm["resource"]["attributes"],
            json!([{"key": "service.name", "value": {"stringValue": "shop"}}])
        );
        let scope = &rm["scopeMetrics"][0]["scope"];
        assert_eq!(
            (&scope["name"], &scope["version"]),
            (&json!("app"), &json!("1.2"))
        );
        let m = only_metric(&v);
        assert_eq!((&m["name"], &m["unit"]), (&json!("requests"), &json!("ms")));
        // Enums as integers, 64-bit integers as strings, lowerCamelCase names.
        assert_eq!(m["sum"]["aggregationTemporality"], 2);
        assert_eq!(m["sum"]["isMonotonic"], true);
        let p = &m["sum"]["dataPoints"][0];
        assert_eq!(p["asInt"], i64::MAX.to_string());
        assert_eq!(p["startTimeUnixNano"], "1700000000000000000");
        assert_eq!(p["timeUnixNano"], "1700000001000000001");
        assert_eq!(
            p["attributes"],
            json!([
                {"key": "route", "value": {"stringValue": "/items"}},
                {"key": "code", "value": {"intValue": "200"}},
                {"key": "ok", "value": {"boolValue": true}},
                {"key": "ratio", "value": {"doubleValue": 0.5}},
            ])
        );
    }

    #[test]
    fn a_gauge_with_an_exemplar_has_hex_ids() {
        let mut point = number(
            vec![string("cpu", "0")],
            number_data_point::Value::AsDouble(-2.25),
        );
        point.exemplars = vec![Exemplar {
            time_unix_nano: 5,
            span_id: vec![0xab; 8],
            trace_id: (1..=16).collect(),
            value: Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsInt(7)),
            ..Default::default()
        }];
        let gauge = Gauge {
            data_points: vec![point],
        };
        let v = decoded(vec![metric("temperature", Data::Gauge(gauge))]);
        let p = &only_metric(&v)["gauge"]["dataPoints"][0];
        assert_eq!(p["asDouble"], -2.25);
        assert_eq!(p["attributes"][0]["key"], "cpu");
        let e = &p["exemplars"][0];
        assert_eq!(e["spanId"], "abababababababab");
        assert_eq!(e["traceId"], "0102030405060708090a0b0c0d0e0f10");
        assert_eq!(
            (&e["asInt"], &e["timeUnixNano"]),
            (&json!("7"), &json!("5"))
        );
    }

    #[test]
    fn a_histogram() {
        let h = Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![string("route", "/")],
                count: 3,
                sum: Some(12.5),
                bucket_counts: vec![1, 2, 0],
                explicit_bounds: vec![1.0, 10.0],
                min: Some(0.5),
                max: Some(9.0),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Delta as i32,
        };
        let v = decoded(vec![metric("latency", Data::Histogram(h))]);
        let h = &only_metric(&v)["histogram"];
        assert_eq!(h["aggregationTemporality"], 1);
        let p = &h["dataPoints"][0];
        assert_eq!(p["count"], "3");
        assert_eq!(p["bucketCounts"], json!(["1", "2", "0"]));
        assert_eq!(p["explicitBounds"], json!([1.0, 10.0]));
        assert_eq!(
            (&p["sum"], &p["min"], &p["max"]),
            (&json!(12.5), &json!(0.5), &json!(9.0))
        );
        assert_eq!(p["attributes"][0]["value"]["stringValue"], "/");
    }

    #[test]
    fn an_exponential_histogram() {
        let h = ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                count: 4,
                sum: Some(6.0),
                scale: 3,
                zero_count: 1,
                positive: Some(Buckets {
                    offset: -2,
                    bucket_counts: vec![2, 1],
                }),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        };
        let v = decoded(vec![metric("sizes", Data::ExponentialHistogram(h))]);
        let p = &only_metric(&v)["exponentialHistogram"]["dataPoints"][0];
        assert_eq!((&p["count"], &p["zeroCount"]), (&json!("4"), &json!("1")));
        assert_eq!(p["scale"], 3);
        assert_eq!(
            (&p["positive"]["offset"], &p["positive"]["bucketCounts"]),
            (&json!(-2), &json!(["2", "1"]))
        );
    }

    #[test]
    fn a_summary() {
        let s = Summary {
            data_points: vec![SummaryDataPoint {
                count: 10,
                sum: 55.0,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.5,
                        value: 5.0,
                    },
                    ValueAtQuantile {
                        quantile: 1.0,
                        value: f64::INFINITY,
                    },
                ],
                ..Default::default()
            }],
        };
        let v = decoded(vec![metric("rtt", Data::Summary(s))]);
        let p = &only_metric(&v)["summary"]["dataPoints"][0];
        assert_eq!((&p["count"], &p["sum"]), (&json!("10"), &json!(55.0)));
        assert_eq!(
            p["quantileValues"],
            json!([{"quantile": 0.5, "value": 5.0}, {"quantile": 1.0, "value": "Infinity"}])
        );
    }

    #[test]
    fn padding_after_the_buffer_and_an_offset_are_honoured() {
        let buffer = request(vec![metric("m", Data::Gauge(Gauge::default()))]).encode_to_vec();
        let mut p = frame(0, &buffer);
        p.extend_from_slice(&[0; 7]);
        assert!(to_json(&p).unwrap().contains(r#""name":"m""#));
        // The buffer 4 bytes after the header: offset 4 in the rel_loc word.
        let mut p = frame(0, &[]);
        p[12..16].copy_from_slice(&((buffer.len() as u32) << 16 | 4).to_ne_bytes());
        p.extend_from_slice(&[0xee; 4]);
        p.extend_from_slice(&buffer);
        assert!(to_json(&p).unwrap().contains(r#""name":"m""#));
    }

    #[test]
    fn truncated_wrong_protocol_and_garbage_are_errors() {
        let buffer = request(vec![metric("m", Data::Gauge(Gauge::default()))]).encode_to_vec();
        let whole = frame(0, &buffer);
        for cut in [0, 3, 15] {
            assert_eq!(
                to_json(&whole[..cut]),
                Err(MetricsDecodeError::Short { len: cut }),
                "{cut}"
            );
        }
        let cut = &whole[..whole.len() - 1];
        let err = to_json(cut).unwrap_err();
        assert!(
            matches!(err, MetricsDecodeError::Location { .. }),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("truncated"), "{err}");

        let err = to_json(&frame(1, &buffer)).unwrap_err();
        assert_eq!(err, MetricsDecodeError::Protocol(1));
        assert_eq!(err.to_string(), "protocol 1 is not OTLP protobuf (0)");

        // A field with a reserved wire type, a length running past the end, and a cut buffer.
        for garbage in [
            &[0xff, 0xff, 0xff][..],
            &[0x0a, 0x7f, 1],
            &buffer[..buffer.len() - 2],
        ] {
            let err = to_json(&frame(0, garbage)).unwrap_err();
            assert!(
                matches!(err, MetricsDecodeError::Protobuf(_)),
                "{garbage:?}: {err:?}"
            );
            assert!(err
                .to_string()
                .contains("not an ExportMetricsServiceRequest"));
        }
    }

    #[test]
    fn non_finite_doubles_are_the_spec_strings_and_nothing_else_changes() {
        let point = |v: f64| {
            number(
                vec![kv("x", any_value::Value::DoubleValue(v))],
                number_data_point::Value::AsDouble(v),
            )
        };
        let gauge = Gauge {
            data_points: vec![
                point(f64::NAN),
                point(f64::INFINITY),
                point(f64::NEG_INFINITY),
                point(1.5),
            ],
        };
        let h = Histogram {
            data_points: vec![HistogramDataPoint {
                count: 1,
                sum: Some(f64::NEG_INFINITY),
                min: Some(f64::NAN),
                max: Some(f64::INFINITY),
                ..Default::default()
            }],
            aggregation_temporality: 1,
        };
        let v = decoded(vec![
            metric("g", Data::Gauge(gauge)),
            metric("h", Data::Histogram(h)),
        ]);
        let metrics = &v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
        let points = metrics[0]["gauge"]["dataPoints"].as_array().unwrap();
        let values: Vec<(&Value, &Value)> = points
            .iter()
            .map(|p| (&p["asDouble"], &p["attributes"][0]["value"]["doubleValue"]))
            .collect();
        let expected = [
            json!("NaN"),
            json!("Infinity"),
            json!("-Infinity"),
            json!(1.5),
        ];
        assert_eq!(values, expected.iter().map(|e| (e, e)).collect::<Vec<_>>());
        let p = &metrics[1]["histogram"]["dataPoints"][0];
        assert_eq!(
            (&p["sum"], &p["min"], &p["max"]),
            (&json!("-Infinity"), &json!("NaN"), &json!("Infinity"))
        );

        // Without non-finite values the output is opentelemetry-proto's serde output as is.
        let r = request(vec![
            metric(
                "g",
                Data::Gauge(Gauge {
                    data_points: vec![point(2.5)],
                }),
            ),
            metric("s", Data::Summary(Summary::default())),
        ]);
        let ours = to_json(&frame(0, &r.encode_to_vec())).unwrap();
        assert_eq!(ours, serde_json::to_string(&r).unwrap());
    }

    #[test]
    fn an_empty_buffer_is_an_empty_request() {
        assert_eq!(
            to_json(&frame(0, &[])).unwrap(),
            r#"{"resourceMetrics":[]}"#
        );
    }
}
