//! # otel-os-events
//!
//! Exports OpenTelemetry telemetry to the operating system's own event tracing:
//! on Linux to **user_events** as EventHeader-encoded tracepoints (read by `perf`, ftrace and
//! local agents), on Windows to ETW through TraceLogging.
//!
//! Data flows one way, and each step has its own module:
//!
//! | layer | module | what it does |
//! |---|---|---|
//! | record | [`logs`] | OpenTelemetry SDK glue: a [`LogProcessor`](opentelemetry_sdk::logs::LogProcessor) and its builder |
//! | record | [`metrics`] | a [`PushMetricExporter`](opentelemetry_sdk::metrics::exporter::PushMetricExporter) writing packed OTLP protobuf to `otlp_metrics` |
//! | encode | [`encode`] | pure: a record in, EventHeader bytes out, no I/O |
//! | sink | [`sink`] | writes the bytes: user_events, or an in-memory capture for tests |
//!
//! Nothing is lost silently: every event that is not written is counted by reason in
//! [`Stats`], and [`logs::Processor::status`] says per tracepoint why nothing flows (for example
//! a kernel without user_events).
//!
//! ```no_run
//! use opentelemetry_sdk::logs::SdkLoggerProvider;
//! use otel_os_events::UserEventsLoggerProviderBuilderExt;
//!
//! let provider = SdkLoggerProvider::builder()
//!     .with_user_events_exporter("myprovider")
//!     .build();
//! # drop(provider);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod encode;
mod error;
pub mod logs;
pub mod metrics;
pub mod mode;
pub mod sink;
#[cfg(otel_os_events_loom)]
#[doc(hidden)]
pub mod state;
#[cfg(not(otel_os_events_loom))]
mod state;
mod stats;
mod sync;

#[cfg(feature = "cli")]
pub mod listen;

pub use error::Error;
pub use logs::UserEventsLoggerProviderBuilderExt;
pub use metrics::UserEventsMeterProviderBuilderExt;
pub use state::{ListenerCallback, ListenerChange, MAX_KEYWORDS};
pub use stats::{DropReason, Stats};

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
