//! Fields every Common Schema layout writes the same way (logs and spans), in the format of
//! the buffer: flat `PartA` fields on user_events, nested structs on ETW, as the existing
//! exporters of each platform write them.

use std::time::SystemTime;

use eventheader::{FieldFormat, Level, Opcode};

use super::chunks::Chunks;
use super::event::{Activity, EventBuf, EventDescriptor, Wire};
use super::text::{write_hex, write_rfc3339};
use super::tracelogging::etw_activity_id;

/// Common Schema version 4.0.
const CS_VERSION: u16 = 0x400;

/// Starts `buf` in `wire`'s format with the event name and `__csver__` = 0x400: a u32 on
/// user_events, a u16 shown as unsigned on ETW.
pub(crate) fn begin_event(buf: &mut EventBuf, wire: Wire, event_name: &str) {
    match wire {
        Wire::EventHeader => {
            buf.start(event_name);
            buf.add_u32("__csver__", u32::from(CS_VERSION), FieldFormat::Default);
        }
        Wire::TraceLogging => {
            buf.start_tracelogging(event_name);
            buf.add_u16("__csver__", CS_VERSION, FieldFormat::UnsignedInt);
        }
    }
}

/// What `PartA` holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartA<'a> {
    /// The event's time.
    pub time: SystemTime,
    /// The trace id, if valid.
    pub trace_id: Option<[u8; 16]>,
    /// The span id, if valid.
    pub span_id: Option<[u8; 8]>,
    /// `service.name` of the resource.
    pub role: Option<&'a str>,
    /// `service.instance.id` of the resource.
    pub role_instance: Option<&'a str>,
}

/// Writes `PartA`:
///
/// ```text
/// user_events  PartA { time, ext_dt_traceId, ext_dt_spanId, ext_cloud_role, ext_cloud_roleInstance }
/// ETW          PartA { ext_dt { traceId, spanId }, ext_cloud { role, roleInstance }, time }
/// ```
///
/// Ids are lowercase hex, the time RFC 3339 UTC; absent values are left out (and a struct
/// left empty with them). Role and instance are cut at 1 KiB.
pub(crate) fn add_part_a(buf: &mut EventBuf, a: &PartA<'_>) {
    let part_a = buf.begin_struct("PartA");
    let ids = [
        (
            "ext_dt_traceId",
            "traceId",
            a.trace_id.as_ref().map(|t| &t[..]),
        ),
        (
            "ext_dt_spanId",
            "spanId",
            a.span_id.as_ref().map(|s| &s[..]),
        ),
    ];
    let roles = [
        ("ext_cloud_role", "role", a.role),
        ("ext_cloud_roleInstance", "roleInstance", a.role_instance),
    ];
    let mut fields = 1;
    if buf.wire() == Wire::EventHeader {
        add_time(buf, "time", a.time);
        for (name, _, id) in ids {
            if let Some(id) = id {
                add_hex(buf, name, id);
                fields += 1;
            }
        }
        for (name, _, value) in roles {
            if let Some(value) = value {
                buf.add_str(name, value, FieldFormat::Default, 1024);
                fields += 1;
            }
        }
        buf.end_struct(part_a, fields);
        return;
    }
    let n = ids.iter().filter(|(_, _, id)| id.is_some()).count();
    if n > 0 {
        let ext_dt = buf.begin_struct("ext_dt");
        for (_, name, id) in ids {
            if let Some(id) = id {
                add_hex(buf, name, id);
            }
        }
        buf.end_struct(ext_dt, n);
        fields += 1;
    }
    let n = roles.iter().filter(|(_, _, v)| v.is_some()).count();
    if n > 0 {
        let ext_cloud = buf.begin_struct("ext_cloud");
        for (_, name, value) in roles {
            if let Some(value) = value {
                buf.add_str(name, value, FieldFormat::Default, 1024);
            }
        }
        buf.end_struct(ext_cloud, n);
        fields += 1;
    }
    add_time(buf, "time", a.time);
    buf.end_struct(part_a, fields);
}

/// Finishes a Common Schema event at `level`. On ETW, an event in a span carries the span's
/// activity id ([`etw_activity_id`]) and, given `parent`, the parent's as its related id.
/// Returns `false` if the event cannot be finished (see [`EventBuf::finish`]).
pub(crate) fn finish_event(
    buf: &mut EventBuf,
    level: Level,
    span: Option<([u8; 16], [u8; 8])>,
    parent: Option<[u8; 8]>,
) -> bool {
    let mut descriptor = EventDescriptor::new(level, Opcode::Info);
    if let (Wire::TraceLogging, Some((trace_id, span_id))) = (buf.wire(), span) {
        descriptor.activity = Some(Activity {
            id: etw_activity_id(trace_id, span_id),
            related_id: parent.map(|p| etw_activity_id(trace_id, p)),
        });
    }
    buf.finish(&descriptor)
}

/// A time as an RFC 3339 UTC string field, formatted in place.
pub(crate) fn add_time(buf: &mut EventBuf, name: &str, t: SystemTime) {
    let mark = buf.begin_str(name, FieldFormat::Default);
    write_rfc3339(buf.str_data(), t);
    let _ = buf.end_str(mark, usize::MAX);
}

/// Bytes as a lowercase hex string field (trace and span ids), formatted in place.
pub(crate) fn add_hex(buf: &mut EventBuf, name: &str, bytes: &[u8]) {
    let mark = buf.begin_str(name, FieldFormat::Default);
    write_hex(buf.str_data(), bytes);
    let _ = buf.end_str(mark, usize::MAX);
}

/// PartC: each of `items` written by `add` as one field, 127 to a struct (`PartC`, then
/// `PartC_2`, …, see [`Chunks`]), no struct at all when there are none.
#[inline]
pub(crate) fn add_part_c<I>(
    buf: &mut EventBuf,
    items: impl Iterator<Item = I>,
    mut add: impl FnMut(&mut EventBuf, I),
) {
    let mut chunk = Chunks::new("PartC");
    for item in items {
        chunk.next_field(buf);
        add(buf, item);
    }
    chunk.close(buf);
}

/// The fields this crate adds after the Common Schema parts: `_thread_id` (queued events:
/// the emitting thread, since the kernel stamps the flush thread's) and `_truncated` (the
/// event's size before it was cut to fit).
#[inline]
pub(crate) fn add_tail(buf: &mut EventBuf, thread_id: Option<u32>, truncated_from: Option<u32>) {
    if let Some(tid) = thread_id {
        buf.add_u32("_thread_id", tid, FieldFormat::Pid);
    }
    if let Some(original) = truncated_from {
        buf.add_u32("_truncated", original, FieldFormat::Default);
    }
}
