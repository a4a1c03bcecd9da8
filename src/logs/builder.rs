//! The logs processor's builder and its options.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use opentelemetry::Key;
use opentelemetry_sdk::logs::SdkLogRecord;

use crate::error::validate_event_name;
use crate::error::Error;
use crate::pipeline::{option_setters, Options, Payload};
use crate::state::{ListenerCallback, ListenerChange};

use super::processor::Processor;

/// A user function naming each event: given the record, it returns the event name.
pub type EventNameFn = dyn for<'r> Fn(&'r SdkLogRecord) -> Cow<'r, str> + Send + Sync;

/// A user function choosing each record's keyword.
pub(crate) type KeywordFn = dyn Fn(&SdkLogRecord) -> u64 + Send + Sync;

/// The default interval at which a listener callback's watcher looks at the enable words.
pub(crate) const DEFAULT_LISTENER_POLL_INTERVAL: std::time::Duration =
    std::time::Duration::from_millis(100);

/// The shortest and longest poll intervals the builder takes.
const MIN_LISTENER_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1);
const MAX_LISTENER_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// How each event's EventHeader event name is chosen.
///
/// Names chosen per record ([`FromRecord`](Self::FromRecord), [`Callback`](Self::Callback))
/// are cleaned rather than refused: a NUL or `;` becomes `_`, an empty name becomes `Log`,
/// and a name is cut at 255 bytes. A [`Fixed`](Self::Fixed) name is checked by `build`.
///
/// ```
/// use std::borrow::Cow;
/// use otel_os_events::logs::{EventName, Processor};
///
/// // The record's severity text as the event name, "Log" when it has none.
/// let by_severity = EventName::from_fn(|record| {
///     Cow::Borrowed(record.severity_text().unwrap_or("Log"))
/// });
/// let processor = Processor::builder("myprovider").with_event_name(by_severity).build()?;
/// # drop(processor);
/// let refused = Processor::builder("myprovider")
///     .with_event_name(EventName::Fixed("a;b".into()))
///     .build();
/// assert!(matches!(refused, Err(otel_os_events::Error::InvalidEventName { .. })));
/// # Ok::<(), otel_os_events::Error>(())
/// ```
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

option_setters!(ProcessorBuilder: keyword, max_event_size, oversize_policy, sink, mode);

/// Builds a [`Processor`]; see [`Processor::builder`].
///
/// `build` checks every option and returns a typed [`Error`] for the first one the sink
/// refuses; the setters themselves never fail.
///
/// ```
/// use std::time::Duration;
/// use otel_os_events::logs::{OversizePolicy, Processor};
/// use otel_os_events::mode::{Mode, QueueOptions};
/// use otel_os_events::sink::Sink;
///
/// let processor = Processor::builder("myprovider")
///     .with_keyword(0x10)                            // myprovider_L<level>K10
///     .with_max_event_size(4096)                     // below ftrace's page per event
///     .with_oversize_policy(OversizePolicy::Drop)    // default Truncate
///     .with_mode(Mode::Queued(QueueOptions::default()))
///     .with_listener_callback(|change| eprintln!("{change:?}"))
///     .with_listener_poll_interval(Duration::from_millis(250))
///     .build()?;
/// # drop(processor);
/// // A dash is fine for ETW, not for user_events.
/// let error = Processor::builder("my-provider").with_sink(Sink::UserEvents).build().unwrap_err();
/// println!("{error}"); // invalid user_events provider name "my-provider": only A-Z, ...
/// # Ok::<(), otel_os_events::Error>(())
/// ```
#[derive(Clone)]
pub struct ProcessorBuilder {
    /// Provider, keyword, size, sink and mode: what every builder has.
    pub(super) options: Options,
    pub(super) event_name: EventName,
    pub(super) resource_keys: Vec<Key>,
    pub(super) keyword_fn: Option<Arc<KeywordFn>>,
    /// Keywords registered at build time; when given, the only ones the keyword function
    /// returns (see [`ProcessorBuilder::with_keywords`]).
    pub(super) declared_keywords: Option<Vec<u64>>,
    pub(super) listener_callback: Option<Arc<ListenerCallback>>,
    pub(super) listener_poll_interval: std::time::Duration,
}

impl fmt::Debug for ProcessorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessorBuilder")
            .field("options", &self.options)
            .field("event_name", &self.event_name)
            .field("keyword_fn", &self.keyword_fn.is_some())
            .field("listener_callback", &self.listener_callback.is_some())
            .finish_non_exhaustive()
    }
}

impl ProcessorBuilder {
    pub(super) fn new(provider: &str) -> Self {
        ProcessorBuilder {
            options: Options::new(provider),
            event_name: EventName::default(),
            resource_keys: Vec::new(),
            keyword_fn: None,
            declared_keywords: None,
            listener_callback: None,
            listener_poll_interval: DEFAULT_LISTENER_POLL_INTERVAL,
        }
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

    /// Chooses each record's keyword (the builder's keyword is then only the first one
    /// registered). A keyword's five tracepoints are registered the first time a record asks
    /// for it, at most [`MAX_KEYWORDS`](crate::MAX_KEYWORDS) per provider; records asking for
    /// more are counted as [`DropReason::KeywordLimit`](crate::DropReason::KeywordLimit).
    ///
    /// `event_enabled` (which the `tracing` bridge asks before it builds a record) cannot know
    /// a record's keyword, so with a keyword function it answers `true`: each record is then
    /// built and offered to `emit`, which calls the function and checks that keyword's enable
    /// word. That way a keyword whose tracepoint only `otel-os-events listen` registered is
    /// still asked for, registered and written. To keep the cheap "nobody listens" answer,
    /// declare the keywords the function returns with [`with_keywords`](Self::with_keywords).
    ///
    /// A record's event is written only if a session listens to its keyword's tracepoint
    /// when it is emitted; the first record of a new keyword therefore reaches a session
    /// only if something (e.g. `otel-os-events listen`) registered that tracepoint already.
    ///
    /// ```
    /// use opentelemetry_sdk::logs::SdkLoggerProvider;
    /// use otel_os_events::logs::Processor;
    ///
    /// // Records named "audit" go to myprovider_L<level>K2, the rest to ..K1.
    /// let processor = Processor::builder("myprovider")
    ///     .with_keyword_fn(|record| if record.event_name() == Some("audit") { 2 } else { 1 })
    ///     .with_keywords([1, 2])
    ///     .build()?;
    /// assert_eq!(processor.status().len(), 10, "two keywords, five levels each");
    /// let provider = SdkLoggerProvider::builder().with_log_processor(processor).build();
    /// # drop(provider);
    /// # Ok::<(), otel_os_events::Error>(())
    /// ```
    pub fn with_keyword_fn(
        mut self,
        f: impl Fn(&SdkLogRecord) -> u64 + Send + Sync + 'static,
    ) -> Self {
        self.keyword_fn = Some(Arc::new(f));
        self
    }

    /// Registers the tracepoints of these keywords when the processor is built, and declares
    /// them the only keywords the [keyword function](Self::with_keyword_fn) returns:
    /// `event_enabled` then answers from their enable words (one snapshot load), so records
    /// nobody listens to are not even built. A keyword the function returns outside them is
    /// still registered and written on first use, but `event_enabled` does not know it until
    /// then. At most [`MAX_KEYWORDS`](crate::MAX_KEYWORDS) in all; more are refused by `build`
    /// with [`Error::TooManyKeywords`].
    pub fn with_keywords(mut self, keywords: impl IntoIterator<Item = u64>) -> Self {
        self.declared_keywords
            .get_or_insert_with(Vec::new)
            .extend(keywords);
        self
    }

    /// Calls `callback` when a session starts or stops listening on any of the provider's
    /// tracepoints.
    ///
    /// user_events sends no notification: the kernel only flips the tracepoint's enable
    /// word. A watcher thread therefore looks at the words every poll interval (see
    /// [`with_listener_poll_interval`](Self::with_listener_poll_interval), default 100 ms),
    /// so a change is reported within one interval; a session that attaches and detaches
    /// between two looks is not seen. ETW calls the provider back, which wakes the watcher at
    /// once. The callback runs on the watcher thread (`otel-os-events-watch`), never on an
    /// emitting thread; keep it short. Logs only: span processors and the metrics exporter
    /// have no listener callback.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use otel_os_events::logs::Processor;
    /// use otel_os_events::sink::{CaptureSink, Sink};
    ///
    /// let capture = CaptureSink::new();
    /// capture.set_listening_all(false);
    /// let (tx, rx) = mpsc::channel();
    /// let processor = Processor::builder("myprovider")
    ///     .with_sink(Sink::Capture(capture.clone()))
    ///     .with_listener_callback(move |change| {
    ///         let _ = tx.send(change.clone());
    ///     })
    ///     .with_listener_poll_interval(Duration::from_millis(5))
    ///     .build()?;
    /// capture.set_listening("myprovider_L2K1", true); // a session attaches
    /// let change = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    /// assert_eq!((change.tracepoint.as_str(), change.listening), ("myprovider_L2K1", true));
    /// # drop(processor);
    /// # Ok::<(), otel_os_events::Error>(())
    /// ```
    pub fn with_listener_callback(
        mut self,
        callback: impl Fn(&ListenerChange) + Send + Sync + 'static,
    ) -> Self {
        self.listener_callback = Some(Arc::new(callback));
        self
    }

    /// How often the listener callback's watcher looks (default 100 ms). `build` refuses an
    /// interval outside 1 ms ..= 60 s with [`Error::InvalidPollInterval`].
    pub fn with_listener_poll_interval(mut self, interval: std::time::Duration) -> Self {
        self.listener_poll_interval = interval;
        self
    }

    /// Validates the options and registers the tracepoints.
    ///
    /// A kernel without user_events is not an error: the processor is built, writes
    /// nothing, and [`Processor::status`] says why (one warning is logged through
    /// OpenTelemetry's internal logging).
    pub fn build(self) -> Result<Processor, Error> {
        let max_event_size = self.options.validate(Payload::Record)?;
        if let EventName::Fixed(name) = &self.event_name {
            validate_event_name(name)?;
        }
        if self.resource_keys.iter().any(|k| k.as_str().is_empty()) {
            return Err(Error::InvalidResourceAttributeKey);
        }
        if let Some(keywords) = &self.declared_keywords {
            let mut all = keywords.clone();
            all.push(self.options.keyword);
            all.sort_unstable();
            all.dedup();
            if all.len() > crate::MAX_KEYWORDS {
                return Err(Error::TooManyKeywords {
                    count: all.len(),
                    max: crate::MAX_KEYWORDS,
                });
            }
        }
        if !(MIN_LISTENER_POLL_INTERVAL..=MAX_LISTENER_POLL_INTERVAL)
            .contains(&self.listener_poll_interval)
        {
            return Err(Error::InvalidPollInterval {
                interval: self.listener_poll_interval,
                min: MIN_LISTENER_POLL_INTERVAL,
                max: MAX_LISTENER_POLL_INTERVAL,
            });
        }
        Processor::new(self, max_event_size)
    }
}
