//! Fields every Common Schema layout writes the same way (logs and spans), in the format of
//! the buffer: flat `PartA` fields on user_events, nested structs on ETW, as the existing
//! exporters of each platform write them.

use std::time::SystemTime;

use eventheader::{FieldFormat, Level, Opcode};

use super::chunks::Chunks;

/// PartC's structs: `PartC`, then `PartC_2`, … every 127 fields.
pub(crate) struct PartC(Chunks);

impl PartC {
    /// Nothing open yet: no field, no struct.
    #[inline]
    pub(crate) fn new() -> Self {
        PartC(Chunks::new("PartC"))
    }

    /// Makes room for one more field.
    #[inline]
    pub(crate) fn next_field(&mut self, buf: &mut EventBuf) {
        self.0.next_field(buf);
    }

    /// Closes the open struct, if any.
    #[inline]
    pub(crate) fn close(mut self, buf: &mut EventBuf) {
        self.0.close(buf);
    }
}
use super::event::{Activity, EventBuf, EventDescriptor, Wire};
use super::text::{write_hex, write_rfc3339};
use super::tracelogging::etw_activity_id;

/// The longest role and role instance written, in bytes (longer ones are cut).
pub(crate) const ROLE_MAX: usize = 1024;

/// Common Schema version 4.0.
const CS_VERSION: u16 = 0x400;

/// Starts `buf` in `wire`'s format with the event name and `__csver__` = 0x400, shown as
/// unsigned: a u32 on user_events, a u16 on ETW, as the existing exporters write it.
pub(crate) fn begin_event(buf: &mut EventBuf, wire: Wire, event_name: &str) {
    match wire {
        Wire::EventHeader => {
            buf.start(event_name);
            buf.add_u32("__csver__", u32::from(CS_VERSION), FieldFormat::UnsignedInt);
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
    let present = |ids: [bool; 2]| ids.iter().filter(|p| **p).count();
    let ids = present([a.trace_id.is_some(), a.span_id.is_some()]);
    let roles = present([a.role.is_some(), a.role_instance.is_some()]);
    if buf.wire() == Wire::EventHeader {
        add_time(buf, "time", a.time);
        add_ids(buf, a, "ext_dt_traceId", "ext_dt_spanId");
        add_roles(buf, a, "ext_cloud_role", "ext_cloud_roleInstance");
        buf.end_struct(part_a, 1 + ids + roles);
        return;
    }
    if ids > 0 {
        let ext_dt = buf.begin_struct("ext_dt");
        add_ids(buf, a, "traceId", "spanId");
        buf.end_struct(ext_dt, ids);
    }
    if roles > 0 {
        let ext_cloud = buf.begin_struct("ext_cloud");
        add_roles(buf, a, "role", "roleInstance");
        buf.end_struct(ext_cloud, roles);
    }
    add_time(buf, "time", a.time);
    buf.end_struct(part_a, 1 + usize::from(ids > 0) + usize::from(roles > 0));
}

/// The trace and span ids that are present, under these names.
#[inline]
fn add_ids(buf: &mut EventBuf, a: &PartA<'_>, trace_id: &str, span_id: &str) {
    if let Some(id) = &a.trace_id {
        add_hex(buf, trace_id, id);
    }
    if let Some(id) = &a.span_id {
        add_hex(buf, span_id, id);
    }
}

/// The role and role instance that are present, under these names.
#[inline]
fn add_roles(buf: &mut EventBuf, a: &PartA<'_>, role: &str, role_instance: &str) {
    if let Some(value) = a.role {
        buf.add_str(role, value, FieldFormat::Default, ROLE_MAX);
    }
    if let Some(value) = a.role_instance {
        buf.add_str(role_instance, value, FieldFormat::Default, ROLE_MAX);
    }
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
    let mut part_c = PartC::new();
    for item in items {
        part_c.next_field(buf);
        add(buf, item);
    }
    part_c.close(buf);
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
