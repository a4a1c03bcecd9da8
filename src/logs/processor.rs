//! The logs processor: OpenTelemetry log records to EventHeader tracepoints.

use crate::sync::Arc;
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::{Array, InstrumentationScope, Key, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::Resource;

use crate::error::Error;
use crate::pipeline::{cloud_role, Pipeline, ProcessorHandle};
use crate::sink::TracepointStatusEntry;
use crate::state::{TracepointSet, Watcher};
use crate::stats::{DropReason, Stats};

use super::builder::{EventName, KeywordFn, ProcessorBuilder};
use super::layout::{encode_log, event_time, LogContext};
use super::level::{level_of, severity_index};
use crate::encode::Wire;

/// Writes OpenTelemetry log records to user_events, one EventHeader event per record, on
/// the caller's thread (sync mode, the default) or on one flush thread (queued mode).
///
/// Each record goes to the tracepoint `<provider>_L<level>K<keyword>` of its severity
/// (see [`level_of`](super::level_of)), only while a session (perf, ftrace, an agent) listens
/// to it. A record without a severity has no level: it is dropped and counted as
/// [`DropReason::NoSeverity`].
///
/// ```
/// use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
/// use opentelemetry_sdk::logs::SdkLoggerProvider;
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::{CaptureSink, Sink};
/// use otel_os_events::DropReason;
///
/// let capture = CaptureSink::new();
/// let processor = Processor::builder("myprovider")
///     .with_sink(Sink::Capture(capture.clone()))
///     .build()?;
/// let handle = processor.handle();
/// let provider = SdkLoggerProvider::builder().with_log_processor(processor).build();
/// let logger = provider.logger("app");
/// let mut record = logger.create_log_record();
/// record.set_severity_number(Severity::Warn);
/// record.set_body("disk almost full".into());
/// logger.emit(record);
/// logger.emit(logger.create_log_record()); // no severity
///
/// assert_eq!(capture.events()[0].tracepoint, "myprovider_L3K1");
/// let stats = handle.stats();
/// assert_eq!((stats.written, stats.dropped(DropReason::NoSeverity)), (1, 1));
/// # Ok::<(), otel_os_events::Error>(())
/// ```
pub struct Processor {
    provider: String,
    /// State, counters, writer and shutdown: the core every processor shares.
    pipeline: Pipeline,
    event_name: EventName,
    keyword_fn: Option<std::sync::Arc<KeywordFn>>,
    /// With a keyword function: true if its keywords were declared (`with_keywords`), so
    /// that `event_enabled` may answer from the registered keywords alone.
    keywords_declared: bool,
    resource_keys: Vec<Key>,
    resource: ResourceFields,
    /// The format the sink takes.
    wire: Wire,
    /// Changes with the resource: see [`LogContext::layout_id`].
    layout_id: u64,
    /// Reports listeners attaching and detaching, when a callback was given.
    watcher: Option<Watcher>,
}

/// What the resource contributes to each event.
#[derive(Debug, Default)]
struct ResourceFields {
    role: Option<String>,
    role_instance: Option<String>,
    attributes: Vec<(Key, AnyValue)>,
}

impl Processor {
    /// Starts building a processor for `provider`: on user_events 1..=233 characters of
    /// `[A-Za-z0-9_]`, on ETW 1..=32,767 bytes without NUL (`build` checks it against the
    /// sink's rule).
    ///
    /// ```
    /// use otel_os_events::logs::{EventName, Processor};
    ///
    /// let processor = Processor::builder("myprovider")
    ///     .with_keyword(0x10)
    ///     .with_event_name(EventName::FromRecord)
    ///     .with_resource_attributes(["deployment.environment"])
    ///     .build()?;
    /// # Ok::<(), otel_os_events::Error>(())
    /// ```
    pub fn builder(provider: &str) -> ProcessorBuilder {
        ProcessorBuilder::new(provider)
    }

    pub(super) fn new(b: ProcessorBuilder, max_event_size: usize) -> Result<Self, Error> {
        let wire = b.options.sink.wire();
        let pipeline = Pipeline::start(&b.options, max_event_size)?;
        let spawn_error = |e: std::io::Error| Error::ThreadSpawn {
            reason: e.to_string(),
        };
        for &keyword in b.declared_keywords.iter().flatten() {
            // Within MAX_KEYWORDS: `build` checked.
            let _ = pipeline.observed().state.set_for(keyword);
        }
        let watcher = match &b.listener_callback {
            None => None,
            Some(callback) => Some(
                Watcher::start(
                    pipeline.observed().state.clone(),
                    callback.clone(),
                    b.listener_poll_interval,
                )
                .map_err(spawn_error)?,
            ),
        };
        Ok(Processor {
            provider: b.options.provider,
            pipeline,
            event_name: b.event_name,
            keyword_fn: b.keyword_fn,
            keywords_declared: b.declared_keywords.is_some(),
            resource_keys: b.resource_keys,
            resource: ResourceFields::default(),
            wire,
            layout_id: crate::encode::shape::next_layout_id(),
            watcher,
        })
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Counters of accepted, written, truncated and dropped events.
    pub fn stats(&self) -> Stats {
        self.pipeline.stats()
    }

    /// A view of [`stats`](Self::stats) and [`status`](Self::status) that outlives handing
    /// the processor to the SDK.
    pub fn handle(&self) -> ProcessorHandle {
        self.pipeline.handle()
    }

    /// Each tracepoint (of every keyword registered so far) with its registration state:
    /// says why nothing flows on a kernel without user_events, tracefs, or permission.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        self.pipeline.status()
    }

    fn event_name<'r>(&'r self, record: &'r SdkLogRecord) -> Cow<'r, str> {
        match &self.event_name {
            EventName::Fixed(name) => Cow::Borrowed(name),
            EventName::FromRecord => {
                clean_event_name(Cow::Borrowed(record.event_name().unwrap_or("")))
            }
            EventName::Callback(f) => clean_event_name(f(record)),
        }
    }

    /// With a keyword function: whether `level` listens on any keyword. Out of line, so that
    /// the common `event_enabled` (no keyword function) stays a few loads with no frame.
    #[inline(never)]
    fn any_keyword_enabled(&self, level: usize) -> bool {
        self.pipeline
            .observed()
            .state
            .load()
            .sets
            .iter()
            .any(|set| set.levels[level].enabled())
    }

    #[inline(always)]
    fn write_record(
        &self,
        record: &SdkLogRecord,
        severity: Severity,
        set: &Arc<TracepointSet>,
        level: usize,
    ) {
        let event_name = self.event_name(record);
        let cx = LogContext {
            layout_id: self.layout_id,
            wire: self.wire,
            event_name: &event_name,
            role: self.resource.role.as_deref(),
            role_instance: self.resource.role_instance.as_deref(),
            resource_attributes: &self.resource.attributes,
            thread_id: self.pipeline.writer().thread_id(),
            time: event_time(record),
        };
        self.pipeline.write(set, level, |buf, limits, truncated| {
            encode_log(
                buf,
                record,
                severity,
                level_of(severity),
                &cx,
                limits,
                truncated,
            )
        });
    }
}

/// A per-record event name made safe: empty → `Log`, NUL or `;` → `_`, cut at 255 bytes.
fn clean_event_name(name: Cow<'_, str>) -> Cow<'_, str> {
    if name.is_empty() {
        return Cow::Borrowed("Log");
    }
    let (kept, _) = crate::encode::cut_str(&name, 255);
    if kept.len() == name.len() && !name.bytes().any(|b| b == 0 || b == b';') {
        return name;
    }
    Cow::Owned(kept.replace(['\0', ';'], "_"))
}

impl LogProcessor for Processor {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        if self.pipeline.is_shut_down() {
            return self.pipeline.refuse_after_shutdown();
        }
        let counters = &self.pipeline.observed().counters;
        let Some(severity) = record.severity_number() else {
            return counters.refused(DropReason::NoSeverity);
        };
        let level = severity_index(severity);
        let Some(keyword_fn) = &self.keyword_fn else {
            let set = &self.pipeline.observed().default_set;
            if set.levels[level].enabled() {
                self.write_record(record, severity, set, level);
            }
            return;
        };
        let snapshot = self.pipeline.observed().state.load();
        let keyword = keyword_fn(record);
        let set = match snapshot.set(keyword) {
            Some(set) => set.clone(),
            None => match self.pipeline.observed().state.set_for(keyword) {
                Some(set) => set,
                None => return counters.refused(DropReason::KeywordLimit),
            },
        };
        if set.levels[level].enabled() {
            self.write_record(record, severity, &set, level);
        }
    }

    /// One relaxed load of the level's enable word: no lock, no allocation, no Arc clone.
    /// With a keyword function whose keywords were declared: true if the level listens on
    /// any of them (one snapshot load). With an undeclared keyword function: true, since the
    /// record's keyword is not known yet (see
    /// [`with_keyword_fn`](super::ProcessorBuilder::with_keyword_fn)).
    #[inline]
    fn event_enabled(&self, level: Severity, _target: &str, _name: Option<&str>) -> bool {
        let level = severity_index(level);
        match self.keyword_fn {
            None => self.pipeline.observed().default_set.levels[level].enabled(),
            Some(_) if self.keywords_declared => self.any_keyword_enabled(level),
            Some(_) => true,
        }
    }

    /// Sync mode: nothing is buffered, returns at once. Queued mode: returns once every
    /// event accepted before the call has been written (or counted as dropped), or with
    /// `Timeout` after the queue's shutdown deadline.
    fn force_flush(&self) -> OTelSdkResult {
        self.pipeline.flush()
    }

    /// Refuses later events (counted as [`DropReason::AfterShutdown`]); in queued mode
    /// writes what is queued until the shutdown deadline (the rest is counted as
    /// [`DropReason::Shutdown`]) and stops the flush thread; then unregisters the tracepoints.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.pipeline.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.layout_id = crate::encode::shape::next_layout_id();
        (self.resource.role, self.resource.role_instance) = cloud_role(resource);
        self.resource.attributes = self
            .resource_keys
            .iter()
            .filter_map(|k| resource.get(k).map(|v| (k.clone(), any_value(v))))
            .collect();
    }
}

/// A resource attribute value as a log attribute value.
fn any_value(value: Value) -> AnyValue {
    fn list<T>(items: Vec<T>, f: impl Fn(T) -> AnyValue) -> AnyValue {
        AnyValue::ListAny(Box::new(items.into_iter().map(f).collect()))
    }
    match value {
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::I64(i) => AnyValue::Int(i),
        Value::F64(f) => AnyValue::Double(f),
        Value::String(s) => AnyValue::String(s),
        Value::Array(Array::Bool(v)) => list(v, AnyValue::Boolean),
        Value::Array(Array::I64(v)) => list(v, AnyValue::Int),
        Value::Array(Array::F64(v)) => list(v, AnyValue::Double),
        Value::Array(Array::String(v)) => list(v, AnyValue::String),
        other => AnyValue::String(other.to_string().into()),
    }
}

impl fmt::Debug for Processor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
            .field("provider", &self.provider)
            .field("event_name", &self.event_name)
            .field("limits", &self.pipeline.observed().state.load().limits)
            .field("queued", &self.pipeline.writer().is_queued())
            .field("listener_watcher", &self.watcher.is_some())
            .field("status", &self.status())
            .field("stats", &self.pipeline.observed().counters)
            .finish()
    }
}
