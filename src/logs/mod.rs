//! Logs: an OpenTelemetry [`LogProcessor`](opentelemetry_sdk::logs::LogProcessor) that writes
//! each record as an EventHeader event in the Common Schema layout: field by field in
//! [`layout`].
//!
//! Three ways in:
//!
//! - the seed API, for code moving from `opentelemetry-user-events-logs`:
//!   [`UserEventsLoggerProviderBuilderExt::with_user_events_exporter`];
//! - its ETW twin, for code moving from `opentelemetry-etw-logs`:
//!   [`EtwLoggerProviderBuilderExt::with_etw_exporter`] (TraceLogging events, the same
//!   Common Schema content);
//! - the full builder, [`Processor::builder`], whose `build()` returns a typed
//!   [`Error`](crate::Error) for every invalid option.

mod builder;
/// The event layout, field by field (its docs; its code is internal).
pub mod layout;
mod level;
mod processor;

pub use crate::pipeline::{DEFAULT_MAX_EVENT_SIZE, MIN_MAX_EVENT_SIZE};
pub use builder::{EventName, EventNameFn, ProcessorBuilder};
pub use level::level_of;
pub use processor::Processor;

pub use crate::encode::OversizePolicy;

use crate::pipeline::provider_builder_ext;
use opentelemetry_sdk::logs::LoggerProviderBuilder;

provider_builder_ext! {
    LoggerProviderBuilder, "logs", with_log_processor;
    /// Adds a user_events exporter to a `LoggerProviderBuilder`, as `opentelemetry-user-events-logs`
    /// does.
    UserEventsLoggerProviderBuilderExt {
        /// Adds a [`Processor`] for `provider` with default options.
        ///
        /// This cannot return an error: if `provider` is invalid (empty, longer than 233
        /// bytes, or outside `[A-Za-z0-9_]`), **no exporter is added** and one warning is logged
        /// through OpenTelemetry's internal logging. Use [`Processor::builder`] to get the error.
        ///
        /// ```no_run
        /// use opentelemetry_sdk::logs::SdkLoggerProvider;
        /// use otel_os_events::UserEventsLoggerProviderBuilderExt;
        ///
        /// let provider = SdkLoggerProvider::builder()
        ///     .with_user_events_exporter("myprovider")
        ///     .build();
        /// # drop(provider);
        /// ```
    }
    /// Adds an ETW exporter to a `LoggerProviderBuilder`: the one-line switch from
    /// [`UserEventsLoggerProviderBuilderExt::with_user_events_exporter`].
    EtwLoggerProviderBuilderExt {
        /// Adds a [`Processor`] writing to the ETW provider `provider` (its id derived from the
        /// name as TraceLogging does), with default options. An invalid name (empty, with a NUL,
        /// over 32,767 bytes) adds no exporter and logs one warning.
        ///
        /// ```no_run
        /// use opentelemetry_sdk::logs::SdkLoggerProvider;
        /// use otel_os_events::EtwLoggerProviderBuilderExt;
        ///
        /// let provider = SdkLoggerProvider::builder()
        ///     .with_etw_exporter("MyCompany.MyComponent")
        ///     .build();
        /// # drop(provider);
        /// ```
    }
}
