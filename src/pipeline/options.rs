//! The options every builder shares, and the setters written once for all of them.

use crate::encode::OversizePolicy;
use crate::error::{validate_mode, validate_provider_name, Payload, SizeRule};
use crate::mode::Mode;
use crate::sink::{Sink, SinkKind};
use crate::Error;

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
/// ```ignore
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
