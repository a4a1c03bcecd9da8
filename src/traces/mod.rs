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

use opentelemetry::otel_warn;
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
        match Processor::builder(provider).build() {
            Ok(processor) => self.with_span_processor(processor),
            Err(error) => {
                otel_warn!(
                    name: "UserEvents.InvalidProvider",
                    error = error.to_string(),
                    message = "no user_events span exporter was added"
                );
                self
            }
        }
    }
}
