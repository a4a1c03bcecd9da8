//! Traces: an OpenTelemetry [`SpanProcessor`](opentelemetry_sdk::trace::SpanProcessor) that
//! writes each ended span as one EventHeader event named `Span`, in the Common Schema layout
//! of the existing user_events trace exporter (field by field in [`layout`]), to the tracepoint
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

/// The event layout, field by field (its docs; its code is internal).
pub mod layout;
mod processor;

pub use layout::WELL_KNOWN;
pub use processor::{Processor, ProcessorBuilder};

use crate::pipeline::provider_builder_ext;
use opentelemetry_sdk::trace::TracerProviderBuilder;

provider_builder_ext! {
    TracerProviderBuilder, "spans", with_span_processor;
    /// Adds a user_events span exporter to a `TracerProviderBuilder`.
    UserEventsTracerProviderBuilderExt {
        /// Adds a [`Processor`] for `provider` with default options. It cannot return an error:
        /// an invalid provider name adds no exporter and logs one warning through OpenTelemetry's
        /// internal logging. Use [`Processor::builder`] to get the error.
    }
    /// Adds an ETW span exporter to a `TracerProviderBuilder`: the one-line switch from
    /// [`UserEventsTracerProviderBuilderExt::with_user_events_exporter`]. Spans become
    /// TraceLogging events whose activity id is the span's and related activity id the parent's.
    EtwTracerProviderBuilderExt {
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
    }
}
