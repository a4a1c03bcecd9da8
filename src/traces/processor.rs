//! The span processor and its builder.

use std::fmt;
use std::time::Duration;

use eventheader::Level;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::error::Error;
use crate::pipeline::{cloud_role, option_setters, Options, Payload, Pipeline, ProcessorHandle};
use crate::sink::TracepointStatusEntry;
use crate::stats::Stats;

use super::layout::{encode_span, SpanContext};
use crate::encode::Wire;

/// Builds a span [`Processor`]; see [`Processor::builder`].
#[derive(Debug, Clone)]
pub struct ProcessorBuilder {
    /// Provider, keyword, size, sink and mode: what every builder has.
    options: Options,
    level: u8,
}

option_setters!(ProcessorBuilder: keyword, max_event_size, oversize_policy, sink, mode);

impl ProcessorBuilder {
    /// The level spans are written at, 1 (critical) ..= 5 (verbose); default 4
    /// (informational), as the existing exporter.
    pub fn with_level(mut self, level: u8) -> Self {
        self.level = level;
        self
    }

    /// Validates the options and registers the tracepoint.
    pub fn build(self) -> Result<Processor, Error> {
        let max_event_size = self.options.validate(Payload::Record)?;
        if !(1..=5).contains(&self.level) {
            return Err(Error::InvalidLevel { level: self.level });
        }
        Ok(Processor {
            pipeline: Pipeline::start(&self.options, max_event_size)?,
            level: Level::from_int(self.level),
            wire: self.options.sink.wire(),
            provider: self.options.provider,
            role: None,
            role_instance: None,
            layout_id: crate::encode::shape::next_layout_id(),
        })
    }
}

/// Writes each ended span to user_events; see the [module docs](super).
pub struct Processor {
    provider: String,
    /// State, counters, writer and shutdown: the core every processor shares.
    pipeline: Pipeline,
    level: Level,
    /// The format the sink takes.
    wire: Wire,
    role: Option<String>,
    role_instance: Option<String>,
    /// Changes with the resource: see [`SpanContext::layout_id`].
    layout_id: u64,
}

impl Processor {
    /// Starts building a span processor for `provider` (the rules of
    /// [`logs::Processor::builder`](crate::logs::Processor::builder), per sink).
    pub fn builder(provider: &str) -> ProcessorBuilder {
        ProcessorBuilder {
            options: Options::new(provider),
            level: 4,
        }
    }

    /// Counters of accepted, written, truncated and dropped spans.
    pub fn stats(&self) -> Stats {
        self.pipeline.stats()
    }

    /// The tracepoints with their registration state.
    pub fn status(&self) -> Vec<TracepointStatusEntry> {
        self.pipeline.status()
    }

    /// A view of `stats()` and `status()` that outlives handing the processor to the SDK.
    pub fn handle(&self) -> ProcessorHandle {
        self.pipeline.handle()
    }

    fn level_index(&self) -> usize {
        usize::from(self.level.as_int() - 1)
    }
}

impl SpanProcessor for Processor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    /// Checks the tracepoint's enable word, then encodes and writes (or queues) the span.
    fn on_end(&self, span: SpanData) {
        if self.pipeline.is_shut_down() {
            return self.pipeline.refuse_after_shutdown();
        }
        let set = &self.pipeline.observed().default_set;
        let level = self.level_index();
        if !set.levels[level].enabled() {
            return;
        }
        let cx = SpanContext {
            layout_id: self.layout_id,
            wire: self.wire,
            role: self.role.as_deref(),
            role_instance: self.role_instance.as_deref(),
            thread_id: self.pipeline.writer().thread_id(),
            level: self.level,
        };
        self.pipeline.write(set, level, |buf, limits, truncated| {
            encode_span(buf, &span, &cx, limits, truncated)
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.pipeline.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.pipeline.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.layout_id = crate::encode::shape::next_layout_id();
        (self.role, self.role_instance) = cloud_role(resource);
    }
}

impl fmt::Debug for Processor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("traces::Processor")
            .field("provider", &self.provider)
            .field("level", &self.level.as_int())
            .field("queued", &self.pipeline.writer().is_queued())
            .field("stats", &self.stats())
            .finish()
    }
}
