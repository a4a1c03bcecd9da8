//! How one OTLP buffer travels in each format.
//!
//! - **user_events** (`otlp_metrics` tracepoint): the 16-byte header of
//!   [`header`](super::encode::header) (protocol, version, `__rel_loc`), then the buffer.
//! - **ETW** (provider `NativeMetricsExtension_Provider`, id
//!   `EDC24920-E004-40F6-A8E1-0E6E48F39D84`): a TraceLogging event named `otlp_metrics`, id 81,
//!   version 0, level 4 (informational), keyword 1, with no fields: its metadata is the name
//!   alone and its data is the buffer, as the existing ETW metrics exporter writes it.

use eventheader::{Level, Opcode};
use tracelogging::Guid;

use crate::encode::{EventBuf, Wire};
use crate::sink::{Definition, Sink, Tracepoint};

use super::encode::{header, HEADER_LEN, TRACEPOINT_FIELDS, TRACEPOINT_NAME};

/// The ETW provider metrics agents listen to.
pub const ETW_PROVIDER_NAME: &str = "NativeMetricsExtension_Provider";
/// Its fixed id (not derived from the name).
pub const ETW_PROVIDER_ID: &str = "EDC24920-E004-40F6-A8E1-0E6E48F39D84";
/// The ETW event id of `otlp_metrics` events (version 0).
pub const ETW_EVENT_ID: u16 = 81;
/// The level of metrics events: informational, on both sinks.
const LEVEL: Level = Level::Informational;
/// The ETW keyword of metrics events.
const KEYWORD: u64 = 1;

/// The per-format part of the exporter.
pub(crate) enum Framing {
    UserEvents,
    /// A finished event with no data: its header and metadata frame every buffer.
    Etw(EventBuf),
}

impl Framing {
    /// Registers the tracepoint (user_events) or provider (ETW) of `sink`.
    pub(crate) fn register(sink: &Sink) -> (Framing, Tracepoint) {
        let (framing, provider) = match sink.wire() {
            Wire::EventHeader => (Framing::UserEvents, sink.open(TRACEPOINT_NAME, None)),
            Wire::TraceLogging => {
                let mut frame = EventBuf::new();
                frame_etw(&mut frame, &[]);
                let id = Guid::try_parse(ETW_PROVIDER_ID);
                (Framing::Etw(frame), sink.open(ETW_PROVIDER_NAME, id))
            }
        };
        let tracepoint = Tracepoint::register(
            &provider,
            Definition {
                name: TRACEPOINT_NAME.to_owned(),
                fields: Some(TRACEPOINT_FIELDS),
                level: LEVEL.as_int(),
                keyword: KEYWORD,
            },
        );
        (framing, tracepoint)
    }

    /// Bytes each event spends around its buffer.
    pub(crate) fn overhead(&self) -> usize {
        match self {
            Framing::UserEvents => HEADER_LEN,
            Framing::Etw(frame) => frame.len(),
        }
    }

    /// Fills `event` with `buffer` framed, ready to write (now, or by the flush thread).
    pub(crate) fn fill(&self, event: &mut EventBuf, buffer: &[u8]) {
        match self {
            Framing::UserEvents => {
                event.start_raw();
                event.raw_mut().extend_from_slice(&header(buffer.len()));
                event.raw_mut().extend_from_slice(buffer);
            }
            Framing::Etw(_) => frame_etw(event, buffer),
        }
    }
}

fn frame_etw(event: &mut EventBuf, buffer: &[u8]) {
    event.start_tracelogging(TRACEPOINT_NAME);
    event.set_id_version(ETW_EVENT_ID, 0);
    event.raw_mut().extend_from_slice(buffer);
    // A 16-byte name cannot overflow the metadata's u16 size.
    let _ = event.finish(LEVEL, Opcode::Info, None);
}
