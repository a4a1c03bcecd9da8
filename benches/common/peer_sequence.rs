//! A reference row for the instruction counts: the field sequence the peer
//! (`opentelemetry-user-events-logs` 0.18) writes for a log record, on its own event builder
//! (`eventheader_dynamic::EventBuilder`), build only: no tracepoint, no write. The peer can
//! only be measured through a listened-to kernel tracepoint, so this isolates its encoder
//! the way `benches/instructions.rs` isolates ours (the bench's record, its calls in its
//! order: chrono time, ids through `to_string`, PartC, PartB).

use eventheader::FieldFormat;
use eventheader_dynamic::EventBuilder;
use opentelemetry::logs::AnyValue;
use opentelemetry_sdk::logs::SdkLogRecord;

/// The peer's sequence for `record`, into `eb` (reset first), with the bench's cloud role.
pub fn build(eb: &mut EventBuilder, record: &SdkLogRecord) {
    eb.reset(record.event_name().unwrap_or("Log"), 0);
    eb.add_value("__csver__", 0x400u32, FieldFormat::UnsignedInt, 0);
    let mut part_a = 0;
    eb.add_struct_with_bookmark("PartA", 2, 0, &mut part_a);
    let time = record
        .timestamp()
        .or(record.observed_timestamp())
        .unwrap_or_else(std::time::SystemTime::now);
    let time = chrono::DateTime::<chrono::Utc>::from(time)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    eb.add_str("time", time, FieldFormat::Default, 0);
    let mut a_count = 1;
    if let Some(tc) = record.trace_context() {
        eb.add_str(
            "ext_dt_traceId",
            tc.trace_id.to_string(),
            FieldFormat::Default,
            0,
        );
        eb.add_str(
            "ext_dt_spanId",
            tc.span_id.to_string(),
            FieldFormat::Default,
            0,
        );
        a_count += 2;
    }
    eb.add_str("ext_cloud_role", "benchmark", FieldFormat::Default, 0);
    eb.set_struct_field_count(part_a, a_count + 1);

    let mut part_c = 0;
    let mut c_count = 0;
    let mut event_id = None;
    for (key, value) in record.attributes_iter() {
        match (key.as_str(), value) {
            ("event_id", AnyValue::Int(id)) => event_id = Some(*id),
            (name, value) => {
                if c_count == 0 {
                    eb.add_struct_with_bookmark("PartC", 1, 0, &mut part_c);
                }
                add_value(eb, name, value);
                c_count += 1;
            }
        }
    }
    if c_count > 0 {
        eb.set_struct_field_count(part_c, c_count);
    }

    let mut part_b = 0;
    eb.add_struct_with_bookmark("PartB", 1, 0, &mut part_b);
    eb.add_str("_typeName", "Log", FieldFormat::Default, 0);
    let mut b_count = 1;
    if let Some(body) = record.body() {
        add_value(eb, "body", body);
        b_count += 1;
    }
    let severity = record.severity_number().map_or(0, |s| s as i16);
    eb.add_value("severityNumber", severity, FieldFormat::SignedInt, 0);
    b_count += 1;
    if let Some(text) = record.severity_text() {
        eb.add_str("severityText", text, FieldFormat::Default, 0);
        b_count += 1;
    }
    if let Some(id) = event_id {
        eb.add_value("eventId", id, FieldFormat::SignedInt, 0);
        b_count += 1;
    }
    if let Some(name) = record.event_name().filter(|n| !n.trim().is_empty()) {
        eb.add_str("name", name, FieldFormat::Default, 0);
        b_count += 1;
    }
    eb.set_struct_field_count(part_b, b_count);
}

fn add_value(eb: &mut EventBuilder, name: &str, value: &AnyValue) {
    match value {
        AnyValue::Boolean(b) => eb.add_value(name, *b, FieldFormat::Boolean, 0),
        AnyValue::Int(i) => eb.add_value(name, *i, FieldFormat::SignedInt, 0),
        AnyValue::Double(f) => eb.add_value(name, *f, FieldFormat::Float, 0),
        AnyValue::String(s) => eb.add_str(name, s.as_str(), FieldFormat::Default, 0),
        _ => eb.add_str(name, "", FieldFormat::Default, 0),
    };
}
