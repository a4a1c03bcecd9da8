//! Traces: an OpenTelemetry [`SpanProcessor`](opentelemetry_sdk::trace::SpanProcessor) that
//! writes each ended span as one EventHeader event named `Span`, in the Common Schema layout
//! of the existing user_events trace exporter (see `layout` below), to the tracepoint
//! `<provider>_L<level>K<keyword>` (default level 4, keyword 1), synchronously in `on_end` or
//! through the queued mode.
//!
//! ```no_run
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otel_os_events::UserEventsTracerProviderBuilderExt;
//!
//! let provider = SdkTracerProvider::builder()
//!     .with_user_events_exporter("myprovider")
//!     .build();
//! # drop(provider);
//! ```

mod layout;
mod processor;

pub use layout::WELL_KNOWN;
pub use processor::{Processor, ProcessorBuilder};

use crate::pipeline::add_or_warn;
use crate::sink::Sink;
use opentelemetry_sdk::trace::TracerProviderBuilder;

/// Adds a user_events span exporter to a `TracerProviderBuilder`.
pub trait UserEventsTracerProviderBuilderExt {
    /// Adds a [`Processor`] for `provider` with default options. It cannot return an error:
    /// an invalid provider name adds no exporter and logs one warning through OpenTelemetry's
    /// internal logging. Use [`Processor::builder`] to get the error.
    fn with_user_events_exporter(self, provider: &str) -> Self;
}

impl UserEventsTracerProviderBuilderExt for TracerProviderBuilder {
    fn with_user_events_exporter(self, provider: &str) -> Self {
        add_processor(self, provider, Sink::UserEvents)
    }
}

/// Adds an ETW span exporter to a `TracerProviderBuilder`: the one-line switch from
/// [`UserEventsTracerProviderBuilderExt::with_user_events_exporter`]. Spans become
/// TraceLogging events whose activity id is the span's and related activity id the parent's.
pub trait EtwTracerProviderBuilderExt {
    /// Adds a [`Processor`] writing to the ETW provider `provider` with default options; an
    /// invalid name adds no exporter and logs one warning.
    ///
    /// ```no_run
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// use otel_os_events::EtwTracerProviderBuilderExt;
    ///
    /// let provider = SdkTracerProvider::builder()
    ///     .with_etw_exporter("MyCompany.MyComponent")
    ///     .build();
    /// # drop(provider);
    /// ```
    fn with_etw_exporter(self, provider: &str) -> Self;
}

impl EtwTracerProviderBuilderExt for TracerProviderBuilder {
    fn with_etw_exporter(self, provider: &str) -> Self {
        add_processor(self, provider, Sink::Etw)
    }
}

fn add_processor(
    builder: TracerProviderBuilder,
    provider: &str,
    sink: Sink,
) -> TracerProviderBuilder {
    let built = Processor::builder(provider).with_sink(sink).build();
    add_or_warn(builder, "spans", built, |b, p| b.with_span_processor(p))
}
