//! The logs processor: OpenTelemetry log records to EventHeader tracepoints.

use crate::sync::Arc;
use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::{otel_warn, Array, InstrumentationScope, Key, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::Resource;

use crate::encode::{fit, with_thread_buf, EventBuf, Fit};
use crate::mode::{current_thread_id, write_now, Mode, Queued, QueuedEvent, WriteFn};
use crate::sink::TracepointStatusEntry;
use crate::state::{ProviderState, SizeLimits, TracepointSet, Watcher};
use crate::stats::Counters;
use crate::{DropReason, Error, Stats};

use super::builder::{EventName, KeywordFn, ProcessorBuilder};
use super::handle::{Observed, ProcessorHandle};
use super::layout::{encode_log, LogContext};
use super::level::{level_index, level_of};

/// Writes OpenTelemetry log records to user_events, one EventHeader event per record, on
/// the caller's thread (sync mode, the default) or on one flush thread (queued mode).
///
/// Each record goes to the tracepoint `<provider>_L<level>K<keyword>` of its severity
/// (see [`level_of`](super::level_of)), only while a session (perf, ftrace, an agent) listens
/// to it. A record without a severity has no level: it is dropped and counted as
/// [`DropReason::NoSeverity`].
pub struct Processor {
    provider: String,
    observed: Arc<Observed>,
    event_name: EventName,
    keyword_fn: Option<std::sync::Arc<KeywordFn>>,
    resource_keys: Vec<Key>,
    resource: ResourceFields,
    shut_down: AtomicBool,
    /// Queued mode's writer; `None` in sync mode.
    queue: Option<Queued>,
    /// How long `force_flush` waits in queued mode.
    flush_timeout: Duration,
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
    /// Starts building a processor for `provider` (1..=233 characters of `[A-Za-z0-9_]`).
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

    pub(super) fn new(b: ProcessorBuilder) -> Result<Self, Error> {
        let limits = SizeLimits {
            max_event_size: b.max_event_size,
            oversize: b.oversize,
        };
        let state = Arc::new(ProviderState::new(
            &b.provider,
            b.sink.clone(),
            b.keyword,
            limits,
        ));
        let default_set = state.load().sets[0].clone();
        let observed = Arc::new(Observed {
            state,
            default_set,
            counters: Counters::new(),
        });
        let spawn_error = |e: std::io::Error| Error::ThreadSpawn {
            reason: e.to_string(),
        };
        let (queue, flush_timeout) = match &b.mode {
            Mode::Sync => (None, Duration::ZERO),
            Mode::Queued(options) => {
                let queue =
                    Queued::start(options, flush_writer(observed.clone())).map_err(spawn_error)?;
                (Some(queue), options.shutdown_deadline)
            }
        };
        let watcher = match &b.listener_callback {
            None => None,
            Some(callback) => Some(
                Watcher::start(
                    observed.state.clone(),
                    callback.clone(),
                    b.listener_poll_interval,
                )
                .map_err(spawn_error)?,
            ),
        };
        // One diagnostic per processor, never one per event.
        if let Some(first) = observed
            .state
            .status()
            .first()
            .filter(|s| !s.status.is_registered())
        {
            otel_warn!(
                name: "UserEvents.NotRegistered",
                provider = b.provider.clone(),
                status = first.status.to_string(),
                message = "user_events tracepoints could not be registered: nothing will be written"
            );
        }
        Ok(Processor {
            provider: b.provider,
            observed,
            event_name: b.event_name,
            keyword_fn: b.keyword_fn,
            resource_keys: b.resource_keys,
            resource: ResourceFields::default(),
            shut_down: AtomicBool::new(false),
            queue,
            flush_timeout,
            watcher,
        })
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Counters of accepted, written, truncated and dropped events.
    pub fn stats(&self) -> Stats {
        self.observed.counters.snapshot()
    }

    /// A view of [`stats`](Self::stats) and [`status`](Self::status) that outlives handing
    /// the processor to the SDK.
    pub fn handle(&self) -> ProcessorHandle {
        ProcessorHandle {
            observed: self.observed.clone(),
        }
    }

    /// Each tracepoint (of every keyword registered so far) with its registration state:
    /// says why nothing flows on a kernel without user_events, tracefs, or permission.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        self.observed.state.status()
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

    fn write_record(
        &self,
        record: &SdkLogRecord,
        severity: Severity,
        set: &Arc<TracepointSet>,
        level: usize,
    ) {
        let counters = &self.observed.counters;
        counters.accepted();
        let SizeLimits {
            max_event_size,
            oversize,
        } = self.observed.state.load().limits;
        let event_name = self.event_name(record);
        let cx = LogContext {
            event_name: &event_name,
            role: self.resource.role.as_deref(),
            role_instance: self.resource.role_instance.as_deref(),
            resource_attributes: &self.resource.attributes,
            thread_id: self.queue.as_ref().map(|_| current_thread_id()),
        };
        let encode = |buf: &mut EventBuf| {
            fit(buf, max_event_size, oversize, |buf, limits, truncated| {
                encode_log(
                    buf,
                    record,
                    severity,
                    level_of(severity),
                    &cx,
                    limits,
                    truncated,
                )
            })
        };
        let Some(queue) = &self.queue else {
            with_thread_buf(|buf| {
                match encode(buf) {
                    Fit::Whole => write_now(&set.levels[level], buf.parts(), false, counters),
                    Fit::Truncated { .. } => {
                        write_now(&set.levels[level], buf.parts(), true, counters)
                    }
                    Fit::TooLarge { .. } => counters.dropped(DropReason::Oversize),
                }
                trim(buf, max_event_size);
            });
            return;
        };
        let mut buf = queue.take_buf();
        let truncated = match encode(&mut buf) {
            Fit::Whole => false,
            Fit::Truncated { .. } => true,
            Fit::TooLarge { .. } => {
                counters.dropped(DropReason::Oversize);
                trim(&mut buf, max_event_size);
                queue.recycle(buf);
                return;
            }
        };
        let event = QueuedEvent {
            set: set.clone(),
            level,
            buf,
            truncated,
        };
        if let Err(reason) = queue.send(event, counters) {
            counters.dropped(reason);
        }
    }
}

/// Does not keep a hostile record's memory for the buffer's lifetime.
fn trim(buf: &mut EventBuf, max_event_size: usize) {
    if buf.capacity() > 4 * max_event_size + 65_536 {
        buf.shrink_to(max_event_size);
    }
}

/// What the flush thread does with each queued event: re-check the enable word (sessions
/// may have left since the emit), write, count.
fn flush_writer(observed: Arc<Observed>) -> WriteFn {
    Box::new(move |event, late| {
        let counters = &observed.counters;
        let tracepoint = &event.set.levels[event.level];
        if late {
            counters.dropped(DropReason::Shutdown);
        } else if !tracepoint.enabled() {
            counters.dropped(DropReason::NoListener);
        } else {
            write_now(tracepoint, event.buf.parts(), event.truncated, counters);
        }
    })
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
        let counters = &self.observed.counters;
        if self.shut_down.load(Relaxed) {
            return counters.refused(DropReason::AfterShutdown);
        }
        let Some(severity) = record.severity_number() else {
            return counters.refused(DropReason::NoSeverity);
        };
        let level = level_index(level_of(severity));
        let Some(keyword_fn) = &self.keyword_fn else {
            let set = &self.observed.default_set;
            if set.levels[level].enabled() {
                self.write_record(record, severity, set, level);
            }
            return;
        };
        let snapshot = self.observed.state.load();
        let keyword = keyword_fn(record);
        let set = match snapshot.set(keyword) {
            Some(set) => set.clone(),
            None => match self.observed.state.set_for(keyword) {
                Some(set) => set,
                None => return counters.refused(DropReason::KeywordLimit),
            },
        };
        if set.levels[level].enabled() {
            self.write_record(record, severity, &set, level);
        }
    }

    /// One relaxed load of the level's enable word: no lock, no allocation, no Arc clone.
    /// With a keyword function: true if the level listens on any keyword (one snapshot load).
    #[inline]
    fn event_enabled(&self, level: Severity, _target: &str, _name: Option<&str>) -> bool {
        let level = level_index(level_of(level));
        match self.keyword_fn {
            None => self.observed.default_set.levels[level].enabled(),
            Some(_) => self
                .observed
                .state
                .load()
                .sets
                .iter()
                .any(|set| set.levels[level].enabled()),
        }
    }

    /// Sync mode: nothing is buffered, returns at once. Queued mode: returns once every
    /// event accepted before the call has been written (or counted as dropped), or with
    /// `Timeout` after the queue's shutdown deadline.
    fn force_flush(&self) -> OTelSdkResult {
        match &self.queue {
            None => Ok(()),
            Some(queue) => queue
                .flush(self.flush_timeout)
                .map_err(|_| OTelSdkError::Timeout(self.flush_timeout)),
        }
    }

    /// Refuses later events (counted as [`DropReason::AfterShutdown`]); in queued mode
    /// writes what is queued until the shutdown deadline (the rest is counted as
    /// [`DropReason::Shutdown`]) and stops the flush thread; then unregisters the tracepoints.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        if let Some(queue) = &self.queue {
            queue.shutdown();
        }
        self.observed.state.unregister_all();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        let text = |key: &'static str| {
            resource
                .get(&Key::from_static_str(key))
                .map(|v| v.as_str().into_owned())
        };
        self.resource.role = text("service.name");
        self.resource.role_instance = text("service.instance.id");
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
            .field("limits", &self.observed.state.load().limits)
            .field("queued", &self.queue.is_some())
            .field("listener_watcher", &self.watcher.is_some())
            .field("status", &self.status())
            .field("stats", &self.observed.counters)
            .finish()
    }
}
