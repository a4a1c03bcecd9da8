//! Logs: an OpenTelemetry [`LogProcessor`](opentelemetry_sdk::logs::LogProcessor) that writes
//! each record as an EventHeader event in the Common Schema layout (see the `layout` notes
//! on [`Processor`]).
//!
//! Two ways in:
//!
//! - the seed API, for code moving from `opentelemetry-user-events-logs`:
//!   [`UserEventsLoggerProviderBuilderExt::with_user_events_exporter`];
//! - the full builder, [`Processor::builder`], whose `build()` returns a typed
//!   [`Error`](crate::Error) for every invalid option.

mod builder;
mod layout;
mod level;
mod processor;

pub use builder::{
    EventName, EventNameFn, ProcessorBuilder, DEFAULT_MAX_EVENT_SIZE, MIN_MAX_EVENT_SIZE,
};
pub use level::level_of;
pub use processor::Processor;

pub use crate::encode::OversizePolicy;

use opentelemetry::otel_warn;
use opentelemetry_sdk::logs::LoggerProviderBuilder;

/// Adds a user_events exporter to a `LoggerProviderBuilder`, as `opentelemetry-user-events-logs`
/// does.
pub trait UserEventsLoggerProviderBuilderExt {
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
    fn with_user_events_exporter(self, provider: &str) -> Self;
}

impl UserEventsLoggerProviderBuilderExt for LoggerProviderBuilder {
    fn with_user_events_exporter(self, provider: &str) -> Self {
        match Processor::builder(provider).build() {
            Ok(processor) => self.with_log_processor(processor),
            Err(error) => {
                otel_warn!(
                    name: "UserEvents.InvalidProvider",
                    error = error.to_string(),
                    message = "no user_events exporter was added"
                );
                self
            }
        }
    }
}
