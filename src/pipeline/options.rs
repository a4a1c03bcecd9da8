//! The options every builder shares, the setters written once for all of them, and the one
//! size rule per sink and signal.

use crate::encode::{OversizePolicy, DEFAULT_ETW_MAX_EVENT_SIZE, MAX_EVENT_SIZE_LIMIT};
use crate::error::validate_provider_name;
use crate::error::Error;
use crate::mode::Mode;
use crate::sink::{Sink, SinkKind};

/// The default maximum event size on user_events, for every signal: the largest payload
/// the perf path delivers.
///
/// A perf trace record (an 8-byte common header plus the payload, rounded up to 8) must fit
/// `PERF_MAX_TRACE_SIZE`, 8192 bytes; a larger one is dropped by the kernel while `writev`
/// still succeeds. So the payload (EventHeader header through data, or the metrics header
/// and buffer) may be at most 8192 − 8 = 8184 bytes. ftrace's ring buffer holds less (about
/// one page per event): set a smaller size if your agent reads ftrace.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 8184;

/// The smallest maximum event size the builders accept.
pub const MIN_MAX_EVENT_SIZE: usize = 512;

/// The largest maximum event size of a user_events metrics event: the 16-byte header
/// (protocol, version, `__rel_loc`) plus the longest buffer a 16-bit `__rel_loc` length
/// describes.
pub(crate) const MAX_METRICS_EVENT_SIZE: usize = 16 + u16::MAX as usize;

/// What an event carries, for its size rule: the two kinds of events differ on user_events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    /// A log record or a span: one EventHeader (or TraceLogging) event.
    Record,
    /// An OTLP metrics buffer (`otlp_metrics`).
    Metrics,
}

/// The maximum event sizes one sink takes for one kind of event: the one rule the builders
/// and [`ProcessorHandle::set_max_event_size`](crate::ProcessorHandle::set_max_event_size)
/// check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SizeRule {
    /// The sink it belongs to.
    pub sink: SinkKind,
    /// The smallest maximum allowed.
    pub min: usize,
    /// The largest.
    pub max: usize,
    /// Used when none is given.
    pub default: usize,
    /// Where `max` comes from, for the error.
    pub rule: &'static str,
}

impl SizeRule {
    /// The rule of `sink` for events of `payload`.
    pub(crate) fn of(sink: SinkKind, payload: Payload) -> Self {
        match (sink, payload) {
            (SinkKind::UserEvents, Payload::Record) => SizeRule {
                sink,
                min: MIN_MAX_EVENT_SIZE,
                max: MAX_EVENT_SIZE_LIMIT,
                default: DEFAULT_MAX_EVENT_SIZE,
                rule: "an EventHeader event holds at most 65,467 bytes",
            },
            (SinkKind::UserEvents, Payload::Metrics) => SizeRule {
                sink,
                min: MIN_MAX_EVENT_SIZE,
                max: MAX_METRICS_EVENT_SIZE,
                default: DEFAULT_MAX_EVENT_SIZE,
                rule: "the 16-byte header and a buffer whose __rel_loc length is 16 bits",
            },
            (SinkKind::Etw, _) => SizeRule {
                sink,
                min: MIN_MAX_EVENT_SIZE,
                max: DEFAULT_ETW_MAX_EVENT_SIZE,
                default: DEFAULT_ETW_MAX_EVENT_SIZE,
                rule: "ETW refuses events over 64 KiB with its own headers",
            },
        }
    }

    /// `size` (or the default, for `None`) if this rule allows it.
    pub(crate) fn check(&self, size: Option<usize>) -> Result<usize, Error> {
        let size = size.unwrap_or(self.default);
        if (self.min..=self.max).contains(&size) {
            return Ok(size);
        }
        Err(Error::InvalidMaxEventSize {
            size,
            min: self.min,
            max: self.max,
            sink: self.sink,
            rule: self.rule,
        })
    }
}

/// Where and how a processor's (or exporter's) events go: the part of every builder that is
/// the same for logs, spans and metrics.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// The provider name (metrics: fixed by the format).
    pub provider: String,
    /// The builder's keyword (default 1).
    pub keyword: u64,
    /// `None`: the sink's default for the signal.
    pub max_event_size: Option<usize>,
    pub oversize: OversizePolicy,
    pub sink: Sink,
    pub mode: Mode,
}

impl Options {
    /// The defaults for `provider`.
    pub(crate) fn new(provider: &str) -> Self {
        Options {
            provider: provider.to_owned(),
            keyword: 1,
            max_event_size: None,
            oversize: OversizePolicy::default(),
            sink: Sink::default(),
            mode: Mode::default(),
        }
    }

    /// Checks every option against the sink's rules for events carrying `payload`, and
    /// returns the maximum event size in force. The provider name is checked for records
    /// only: the metrics provider is fixed by the format.
    pub(crate) fn validate(&self, payload: Payload) -> Result<usize, Error> {
        if payload == Payload::Record {
            validate_provider_name(&self.provider, self.sink.wire())?;
        }
        let size =
            SizeRule::of(SinkKind::of(self.sink.wire()), payload).check(self.max_event_size)?;
        validate_mode(&self.mode)?;
        Ok(size)
    }
}

/// Writes the shared setters on a builder that holds `options: Options`, each documented
/// once. A builder names the ones that mean something for its signal, so rustdoc shows its
/// whole API:
///
/// ```text
/// option_setters!(ProcessorBuilder: keyword, max_event_size, oversize_policy, sink, mode);
/// ```
macro_rules! option_setters {
    ($builder:ident: $($setter:ident),+ $(,)?) => {
        impl $builder {
            $( $crate::pipeline::option_setters!(@ $setter); )+
        }
    };
    (@ keyword) => {
        /// The keyword of the tracepoints (default 1). On user_events they are named
        /// `<provider>_L<level>K<keyword in hex>`; on ETW it is the events' keyword.
        pub fn with_keyword(mut self, keyword: u64) -> Self {
            self.options.keyword = keyword;
            self
        }
    };
    (@ max_event_size) => {
        /// The largest event payload to write, in bytes, header included. Each sink has one
        /// rule: user_events takes 512..=65,467 (65,551 for metrics), default 8,184, the
        /// largest payload perf delivers; ETW takes 512..=65,360, the default. Set it lower if
        /// your agent reads ftrace, whose buffer holds about a page per event. A size outside
        /// the rule is refused by `build` with
        /// [`Error::InvalidMaxEventSize`](crate::Error::InvalidMaxEventSize), naming the sink
        /// and the rule.
        pub fn with_max_event_size(mut self, bytes: usize) -> Self {
            self.options.max_event_size = Some(bytes);
            self
        }
    };
    (@ oversize_policy) => {
        /// What to do with a larger event: truncate it (default) or drop it. Either way it
        /// is counted.
        pub fn with_oversize_policy(mut self, policy: $crate::encode::OversizePolicy) -> Self {
            self.options.oversize = policy;
            self
        }
    };
    (@ sink) => {
        /// Where to write (default [`Sink::default`](crate::sink::Sink::default): user_events,
        /// or ETW on Windows). The sink decides the format: EventHeader for user_events,
        /// TraceLogging for ETW.
        pub fn with_sink(mut self, sink: $crate::sink::Sink) -> Self {
            self.options.sink = sink;
            self
        }
    };
    (@ mode) => {
        /// Sync (the default: write on the caller's thread) or queued (write on one flush
        /// thread); see [`crate::mode`] for when to choose which.
        pub fn with_mode(mut self, mode: $crate::mode::Mode) -> Self {
            self.options.mode = mode;
            self
        }
    };
}
pub(crate) use option_setters;

/// Checks the queue options of a queued mode.
pub(crate) fn validate_mode(mode: &Mode) -> Result<(), Error> {
    if let Mode::Queued(q) = mode {
        if !(1..=crate::mode::MAX_QUEUE_CAPACITY).contains(&q.capacity) {
            return Err(Error::InvalidQueueCapacity {
                capacity: q.capacity,
                max: crate::mode::MAX_QUEUE_CAPACITY,
            });
        }
        if q.max_bytes < crate::mode::MIN_QUEUE_BYTES {
            return Err(Error::InvalidQueueBytes {
                bytes: q.max_bytes,
                min: crate::mode::MIN_QUEUE_BYTES,
            });
        }
        if q.thread_name.is_empty() || q.thread_name.contains('\0') {
            return Err(Error::InvalidThreadName);
        }
    }
    Ok(())
}
