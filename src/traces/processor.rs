//! The span processor and its builder.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use eventheader::Level;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::encode::OversizePolicy;
use crate::error::{validate_provider_name, validate_size_and_mode};
use crate::handle::{cloud_role, Observed, ProcessorHandle};
use crate::mode::{Mode, Writer};
use crate::sink::{Sink, TracepointStatusEntry};
use crate::state::{ProviderState, SizeLimits};
use crate::sync::Arc;
use crate::{DropReason, Error, Stats};

use super::layout::{encode_span, SpanContext};
use crate::encode::Wire;

/// Builds a span [`Processor`]; see [`Processor::builder`].
#[derive(Debug, Clone)]
pub struct ProcessorBuilder {
    provider: String,
    keyword: u64,
    level: u8,
    /// `None`: the sink's default.
    max_event_size: Option<usize>,
    oversize: OversizePolicy,
    sink: Sink,
    mode: Mode,
}

impl ProcessorBuilder {
    /// The EventHeader keyword of the tracepoint (default 1).
    pub fn with_keyword(mut self, keyword: u64) -> Self {
        self.keyword = keyword;
        self
    }

    /// The level spans are written at, 1 (critical) ..= 5 (verbose); default 4
    /// (informational), as the existing exporter.
    pub fn with_level(mut self, level: u8) -> Self {
        self.level = level;
        self
    }

    /// The largest event payload to write (default and range as for logs).
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = Some(bytes);
        self
    }

    /// Truncate (default) or drop a larger span; counted either way.
    pub fn with_oversize_policy(mut self, policy: OversizePolicy) -> Self {
        self.oversize = policy;
        self
    }

    /// Where to write (default [`Sink::default`]: user_events, or ETW on Windows).
    pub fn with_sink(mut self, sink: Sink) -> Self {
        self.sink = sink;
        self
    }

    /// Write in `on_end` (sync, the default) or on a flush thread (queued).
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Validates the options and registers the tracepoint.
    pub fn build(self) -> Result<Processor, Error> {
        let wire = self.sink.wire();
        validate_provider_name(&self.provider, wire)?;
        if !(1..=5).contains(&self.level) {
            return Err(Error::InvalidLevel { level: self.level });
        }
        let max_event_size = validate_size_and_mode(self.max_event_size, wire, &self.mode)?;
        let limits = SizeLimits {
            max_event_size,
            oversize: self.oversize,
        };
        let observed = Observed::new(ProviderState::new(
            &self.provider,
            self.sink.clone(),
            self.keyword,
            limits,
        ));
        let writer = Writer::new(&self.mode, &observed.counters)?;
        Ok(Processor {
            provider: self.provider,
            observed,
            level: Level::from_int(self.level),
            writer,
            wire,
            role: None,
            role_instance: None,
            shut_down: AtomicBool::new(false),
        })
    }
}

/// Writes each ended span to user_events; see the [module docs](super).
pub struct Processor {
    provider: String,
    observed: Arc<Observed>,
    level: Level,
    writer: Writer,
    /// The format the sink takes.
    wire: Wire,
    role: Option<String>,
    role_instance: Option<String>,
    shut_down: AtomicBool,
}

impl Processor {
    /// Starts building a span processor for `provider` (the rules of
    /// [`logs::Processor::builder`](crate::logs::Processor::builder), per sink).
    pub fn builder(provider: &str) -> ProcessorBuilder {
        ProcessorBuilder {
            provider: provider.to_owned(),
            keyword: 1,
            level: 4,
            max_event_size: None,
            oversize: OversizePolicy::default(),
            sink: Sink::default(),
            mode: Mode::default(),
        }
    }

    /// Counters of accepted, written, truncated and dropped spans.
    pub fn stats(&self) -> Stats {
        self.observed.counters.snapshot()
    }

    /// The tracepoints with their registration state.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        self.observed.state.status()
    }

    /// A view of `stats()` and `status()` that outlives handing the processor to the SDK.
    pub fn handle(&self) -> ProcessorHandle {
        ProcessorHandle {
            observed: self.observed.clone(),
        }
    }

    fn level_index(&self) -> usize {
        usize::from(self.level.as_int() - 1)
    }
}

impl SpanProcessor for Processor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    /// Checks the tracepoint's enable word, then encodes and writes (or queues) the span.
    fn on_end(&self, span: SpanData) {
        if self.shut_down.load(Relaxed) {
            return self.observed.counters.refused(DropReason::AfterShutdown);
        }
        let set = &self.observed.default_set;
        let level = self.level_index();
        if !set.levels[level].enabled() {
            return;
        }
        let cx = SpanContext {
            wire: self.wire,
            role: self.role.as_deref(),
            role_instance: self.role_instance.as_deref(),
            thread_id: self.writer.thread_id(),
            level: self.level,
        };
        self.writer.write(
            &self.observed.counters,
            self.observed.state.load().limits,
            set,
            level,
            |buf, limits, truncated| encode_span(buf, &span, &cx, limits, truncated),
        );
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.writer.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.observed.shutdown(&self.shut_down, &self.writer)
    }

    fn set_resource(&mut self, resource: &Resource) {
        (self.role, self.role_instance) = cloud_role(resource);
    }
}

impl fmt::Debug for Processor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("traces::Processor")
            .field("provider", &self.provider)
            .field("level", &self.level.as_int())
            .field("queued", &self.writer.is_queued())
            .field("stats", &self.stats())
            .finish()
    }
}
