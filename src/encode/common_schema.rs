//! Fields every Common Schema layout writes the same way (logs and spans).

use std::time::SystemTime;

use eventheader::FieldFormat;

use super::event::EventBuf;
use super::text::{write_hex, write_rfc3339};

/// A time as an RFC 3339 UTC string field, formatted in place.
pub fn add_time(buf: &mut EventBuf, name: &str, t: SystemTime) {
    let mark = buf.begin_str(name, FieldFormat::Default);
    write_rfc3339(buf.str_data(), t);
    let _ = buf.end_str(mark, usize::MAX);
}

/// Bytes as a lowercase hex string field (trace and span ids), formatted in place.
pub fn add_hex(buf: &mut EventBuf, name: &str, bytes: &[u8]) {
    let mark = buf.begin_str(name, FieldFormat::Default);
    write_hex(buf.str_data(), bytes);
    let _ = buf.end_str(mark, usize::MAX);
}

/// PartA's `ext_cloud_role` (service.name) and `ext_cloud_roleInstance`
/// (service.instance.id), each if known and cut at 1 KiB. Returns how many were written.
pub fn add_cloud_role(
    buf: &mut EventBuf,
    role: Option<&str>,
    role_instance: Option<&str>,
) -> usize {
    let mut fields = 0;
    for (name, value) in [
        ("ext_cloud_role", role),
        ("ext_cloud_roleInstance", role_instance),
    ] {
        if let Some(value) = value {
            buf.add_str(name, value, FieldFormat::Default, 1024);
            fields += 1;
        }
    }
    fields
}
