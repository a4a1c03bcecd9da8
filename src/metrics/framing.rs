//! How one OTLP buffer travels in each format: as a raw payload, never as fields.
//!
//! - **user_events** (`otlp_metrics` tracepoint, registered with its own field list
//!   [`TRACEPOINT_FIELDS`]): no EventHeader header and no metadata; the bytes after the
//!   `write_index` are the 16-byte header of [`header`](super::encode::header) (protocol,
//!   version, `__rel_loc`), then the buffer ([`EventBuf::start_raw_payload`]).
//! - **ETW** (provider `NativeMetricsExtension_Provider`, id
//!   `EDC24920-E004-40F6-A8E1-0E6E48F39D84`): a TraceLogging event named `otlp_metrics`, id 81,
//!   version 0, level 4 (informational), keyword 1, with no fields: its metadata is the name
//!   alone and its data is the buffer, as the existing ETW metrics exporter writes it
//!   ([`EventBuf::start_tracelogging_payload`]).

use eventheader::{Level, Opcode};
use tracelogging::Guid;

use crate::encode::{EventBuf, EventDescriptor, Wire};
use crate::sink::{Definition, Sink, Tracepoint};

use super::encode::{header, Request, HEADER_LEN, TRACEPOINT_FIELDS, TRACEPOINT_NAME};

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
    /// user_events: a raw payload, [`HEADER_LEN`] bytes of header then the buffer.
    UserEvents,
    /// ETW: a TraceLogging event with no fields; `overhead` is the size of its metadata.
    Etw { overhead: usize },
}

impl Framing {
    /// Registers the tracepoint (user_events) or provider (ETW) of `sink`.
    pub(crate) fn register(sink: &Sink) -> (Framing, Tracepoint) {
        let (framing, provider) = match sink.wire() {
            Wire::EventHeader => (Framing::UserEvents, sink.open(TRACEPOINT_NAME, None)),
            Wire::TraceLogging => {
                let mut frame = EventBuf::new();
                start_etw(&mut frame);
                let overhead = frame.len();
                let id = Guid::try_parse(ETW_PROVIDER_ID);
                (Framing::Etw { overhead }, sink.open(ETW_PROVIDER_NAME, id))
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
            Framing::Etw { overhead } => *overhead,
        }
    }

    /// Fills `event` with `request` framed, ready to write (now, or by the flush thread):
    /// the request is written in place, after the header.
    pub(crate) fn fill(&self, event: &mut EventBuf, request: &Request<'_>) {
        self.fill_with(event, request.len(), |payload| request.write(payload));
    }

    /// Fills `event` with the buffer of `len` bytes that `write` appends.
    fn fill_with(&self, event: &mut EventBuf, len: usize, write: impl FnOnce(&mut Vec<u8>)) {
        let payload = match self {
            Framing::UserEvents => {
                let payload = event.start_raw_payload();
                payload.extend_from_slice(&header(len));
                payload
            }
            Framing::Etw { .. } => start_etw(event),
        };
        let start = payload.len();
        write(payload);
        debug_assert_eq!(payload.len() - start, len);
    }
}

/// Begins the ETW event, finished, and returns its data to append the buffer to.
fn start_etw(event: &mut EventBuf) -> &mut Vec<u8> {
    let descriptor = EventDescriptor {
        id: ETW_EVENT_ID,
        version: 0,
        ..EventDescriptor::new(LEVEL, Opcode::Info)
    };
    // A 12-byte name cannot overflow the metadata's u16 size.
    event.start_tracelogging_payload(TRACEPOINT_NAME, &descriptor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::CaptureSink;

    /// What the exporter sizes its buffers by (`overhead`) and what the buffer reports are
    /// the bytes the sink receives: a user_events raw payload used to report 12 more.
    #[test]
    fn a_framed_buffer_counts_exactly_the_bytes_written() {
        let buffer: Vec<u8> = (0..100).collect();
        for capture in [CaptureSink::new(), CaptureSink::etw()] {
            let (framing, tracepoint) = Framing::register(&Sink::Capture(capture.clone()));
            let mut event = EventBuf::new();
            framing.fill_with(&mut event, buffer.len(), |p| p.extend_from_slice(&buffer));
            assert_eq!(event.len(), framing.overhead() + buffer.len());
            assert_eq!(tracepoint.write(event.finished()), 0);
            let captured = capture.take();
            assert_eq!(captured.len(), 1);
            assert_eq!(captured[0].payload.len(), event.len());
            match &captured[0].etw {
                None => {
                    let expected = [&header(buffer.len())[..], &buffer].concat();
                    assert_eq!(captured[0].payload, expected);
                }
                Some(etw) => {
                    assert_eq!((etw.id, etw.version, etw.opcode), (ETW_EVENT_ID, 0, 0));
                    assert_eq!((etw.level, etw.keyword), (4, 1));
                    assert_eq!(etw.meta, b"\x10\x00\x00otlp_metrics\x00");
                    assert_eq!(etw.data, buffer);
                }
            }
        }
    }
}
