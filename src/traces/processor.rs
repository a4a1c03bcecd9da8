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
///
/// Its options, all of them: [`with_keyword`](Self::with_keyword) (default 1),
/// [`with_level`](Self::with_level) (default 4), [`with_max_event_size`](Self::with_max_event_size),
/// [`with_oversize_policy`](Self::with_oversize_policy), [`with_sink`](Self::with_sink) and
/// [`with_mode`](Self::with_mode), which mean what they mean for logs. What the logs builder
/// has beyond them, spans do without, on purpose:
///
/// - no event name: every span is the event `Span`, the name agents of the existing trace
///   exporter look for (the span's own name is the `name` field);
/// - no keyword function: a span has no severity or event name to route by, so one keyword
///   and one level serve all spans;
/// - no resource attributes to copy: `service.name` and `service.instance.id` go to PartA as
///   for logs; the span layout, like the peer's, has no PartC resource fields;
/// - no listener callback: it watches a logs processor's tracepoints only.
///
/// ```
/// use otel_os_events::traces::Processor;
/// use otel_os_events::sink::{CaptureSink, Sink};
///
/// let processor = Processor::builder("myprovider")
///     .with_level(5)      // verbose: tracepoint myprovider_L5K1
///     .with_keyword(0x2)  // myprovider_L5K2
///     .with_sink(Sink::Capture(CaptureSink::new()))
///     .build()?;
/// assert!(processor.status().iter().any(|s| s.tracepoint == "myprovider_L5K2"));
/// assert_eq!(
///     Processor::builder("p").with_level(6).build().unwrap_err(),
///     otel_os_events::Error::InvalidLevel { level: 6 }
/// );
/// # Ok::<(), otel_os_events::Error>(())
/// ```
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

/// Writes each ended span to user_events (ETW on Windows), one event per span, in `on_end`
/// (sync mode) or through the flush thread (queued mode); see the [module docs](super).
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otel_os_events::sink::{CaptureSink, Sink};
/// use otel_os_events::traces::Processor;
///
/// let capture = CaptureSink::new();
/// let processor = Processor::builder("myprovider")
///     .with_sink(Sink::Capture(capture.clone()))
///     .build()?;
/// let handle = processor.handle();
/// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
/// provider.tracer("app").in_span("checkout", |_cx| {});
/// assert_eq!(handle.stats().written, 1);
/// assert_eq!(capture.events()[0].tracepoint, "myprovider_L4K1");
/// # Ok::<(), otel_os_events::Error>(())
/// ```
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
    /// [`logs::Processor::builder`](crate::logs::Processor::builder), per sink). Spans go to
    /// `<provider>_L4K1` by default; see [`ProcessorBuilder`] for every option.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// use otel_os_events::traces::Processor;
    ///
    /// let processor = Processor::builder("myprovider").build()?;
    /// let handle = processor.handle(); // stats() and status() once the SDK owns it
    /// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
    /// # drop(provider);
    /// # assert_eq!(handle.stats().dropped_total(), 0);
    /// # Ok::<(), otel_os_events::Error>(())
    /// ```
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
