//! The logs processor's builder and its options.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use opentelemetry::Key;
use opentelemetry_sdk::logs::SdkLogRecord;

use crate::encode::{OversizePolicy, MAX_EVENT_SIZE_LIMIT};
use crate::error::{validate_event_name, validate_provider_name};
use crate::mode::{Mode, MAX_QUEUE_CAPACITY};
use crate::sink::Sink;
use crate::Error;

use super::processor::Processor;

/// The default maximum event size: the largest payload the perf path delivers.
///
/// A perf trace record (an 8-byte common header plus the payload, rounded up to 8) must fit
/// `PERF_MAX_TRACE_SIZE`, 8192 bytes; a larger one is dropped by the kernel while `writev`
/// still succeeds. So the payload (EventHeader header through data) may be at most
/// 8192 − 8 = 8184 bytes. ftrace's ring buffer holds less (about one page per event): set a
/// smaller size if your agent reads ftrace.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 8184;

/// The smallest maximum event size the builder accepts.
pub const MIN_MAX_EVENT_SIZE: usize = 512;

/// A user function naming each event: given the record, it returns the event name.
pub type EventNameFn = dyn for<'r> Fn(&'r SdkLogRecord) -> Cow<'r, str> + Send + Sync;

/// How each event's EventHeader event name is chosen.
///
/// Names chosen per record ([`FromRecord`](Self::FromRecord), [`Callback`](Self::Callback))
/// are cleaned rather than refused: a NUL or `;` becomes `_`, an empty name becomes `Log`,
/// and a name is cut at 255 bytes.
#[derive(Clone)]
pub enum EventName {
    /// The same name for every event (default `Log`, as the existing exporters write).
    Fixed(Cow<'static, str>),
    /// The record's event name, or `Log` when it has none.
    FromRecord,
    /// A user function of the record.
    Callback(Arc<EventNameFn>),
}

impl EventName {
    /// An [`EventName::Callback`] from a function or closure.
    pub fn from_fn<F>(f: F) -> Self
    where
        F: for<'r> Fn(&'r SdkLogRecord) -> Cow<'r, str> + Send + Sync + 'static,
    {
        EventName::Callback(Arc::new(f))
    }
}

impl Default for EventName {
    fn default() -> Self {
        EventName::Fixed(Cow::Borrowed("Log"))
    }
}

impl fmt::Debug for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventName::Fixed(name) => f.debug_tuple("Fixed").field(name).finish(),
            EventName::FromRecord => f.write_str("FromRecord"),
            EventName::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// Builds a [`Processor`]; see [`Processor::builder`].
#[derive(Debug, Clone)]
pub struct ProcessorBuilder {
    pub(super) provider: String,
    pub(super) keyword: u64,
    pub(super) event_name: EventName,
    pub(super) resource_keys: Vec<Key>,
    pub(super) max_event_size: usize,
    pub(super) oversize: OversizePolicy,
    pub(super) sink: Sink,
    pub(super) mode: Mode,
}

impl ProcessorBuilder {
    pub(super) fn new(provider: &str) -> Self {
        ProcessorBuilder {
            provider: provider.to_owned(),
            keyword: 1,
            event_name: EventName::default(),
            resource_keys: Vec::new(),
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            oversize: OversizePolicy::default(),
            sink: Sink::default(),
            mode: Mode::default(),
        }
    }

    /// The EventHeader keyword of every tracepoint (default 1): tracepoints are named
    /// `<provider>_L<level>K<keyword in hex>`.
    pub fn with_keyword(mut self, keyword: u64) -> Self {
        self.keyword = keyword;
        self
    }

    /// How events are named (default `Log`).
    pub fn with_event_name(mut self, event_name: EventName) -> Self {
        self.event_name = event_name;
        self
    }

    /// Resource attributes to copy into every event's PartC, by key (none by default).
    /// `service.name` and `service.instance.id` always go to PartA as Common Schema says.
    pub fn with_resource_attributes<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<Key>,
    {
        self.resource_keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// The largest event payload to write, in bytes (default [`DEFAULT_MAX_EVENT_SIZE`];
    /// allowed [`MIN_MAX_EVENT_SIZE`]`..=`[`MAX_EVENT_SIZE_LIMIT`]).
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// What to do with a larger event: truncate it (default) or drop it. Either way it is
    /// counted.
    pub fn with_oversize_policy(mut self, policy: OversizePolicy) -> Self {
        self.oversize = policy;
        self
    }

    /// Where to write (default [`Sink::UserEvents`]).
    pub fn with_sink(mut self, sink: Sink) -> Self {
        self.sink = sink;
        self
    }

    /// Sync (the default: write on the caller's thread) or queued (write on one flush
    /// thread); see [`crate::mode`] for when to choose which.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Validates the options and registers the tracepoints.
    ///
    /// A kernel without user_events is not an error: the processor is built, writes
    /// nothing, and [`Processor::status`] says why (one warning is logged through
    /// OpenTelemetry's internal logging).
    pub fn build(self) -> Result<Processor, Error> {
        validate_provider_name(&self.provider)?;
        if let EventName::Fixed(name) = &self.event_name {
            validate_event_name(name)?;
        }
        if !(MIN_MAX_EVENT_SIZE..=MAX_EVENT_SIZE_LIMIT).contains(&self.max_event_size) {
            return Err(Error::InvalidMaxEventSize {
                size: self.max_event_size,
                min: MIN_MAX_EVENT_SIZE,
                max: MAX_EVENT_SIZE_LIMIT,
            });
        }
        if self.resource_keys.iter().any(|k| k.as_str().is_empty()) {
            return Err(Error::InvalidResourceAttributeKey);
        }
        if let Mode::Queued(q) = &self.mode {
            if !(1..=MAX_QUEUE_CAPACITY).contains(&q.capacity) {
                return Err(Error::InvalidQueueCapacity {
                    capacity: q.capacity,
                });
            }
            if q.thread_name.is_empty() || q.thread_name.contains('\0') {
                return Err(Error::InvalidThreadName);
            }
        }
        Processor::new(self)
    }
}
