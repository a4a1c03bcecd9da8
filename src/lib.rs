//! # otel-os-events
//!
//! Exports OpenTelemetry telemetry to the operating system's own event tracing: logs, traces
//! and metrics,
//! - on Linux to **user_events** as EventHeader-encoded tracepoints (read by `perf`, ftrace and
//!   local agents);
//! - on Windows to **ETW** as TraceLogging events ([`sink::Sink::Etw`]; the encoding runs and
//!   is tested on every platform, only the final `EventWriteTransfer` is Windows-only).
//!
//! Data flows one way, and each step has its own module:
//!
//! | layer | module | what it does |
//! |---|---|---|
//! | record | [`logs`], [`traces`] | OpenTelemetry SDK glue: a [`LogProcessor`](opentelemetry_sdk::logs::LogProcessor), a [`SpanProcessor`](opentelemetry_sdk::trace::SpanProcessor), their builders and Common Schema layouts |
//! | record | [`metrics`] | a [`PushMetricExporter`](opentelemetry_sdk::metrics::exporter::PushMetricExporter) writing packed OTLP protobuf to `otlp_metrics` |
//! | encode | `encode` (internal) | pure: a record in, EventHeader or TraceLogging bytes out, no I/O; its ETW ids ([`etw_provider_id`], [`etw_activity_id`]) and size limits ([`MAX_EVENT_SIZE_LIMIT`], [`DEFAULT_ETW_MAX_EVENT_SIZE`]) are re-exported here |
//! | mode | [`mode`] | where the write happens: on the caller's thread (sync, default) or a flush thread (queued) |
//! | sink | [`sink`] | writes the bytes: user_events, ETW, or an in-memory capture for tests |
//!
//! The `listen` module (feature `cli`, Linux only) reads events back the way a local agent does,
//! through perf ring buffers; it backs the `otel-os-events listen` command. The `forward`
//! module (the same feature and platform) turns those events back into OTLP and sends them
//! to a collector: `otel-os-events forward`.
//!
//! Platforms: on Linux events go to user_events; on Windows to ETW. Everywhere else every
//! builder still works, nothing is written, and `status()` says why
//! ([`sink::TracepointStatus::UserEventsUnavailable`], [`sink::TracepointStatus::EtwUnavailable`]).
//!
//! Every event emitted while a session listens is written or counted by reason in [`Stats`]
//! (events emitted while nobody listens are neither), and `status()` says per tracepoint why
//! nothing flows (for example a kernel without user_events). The crate's own warnings go
//! through OpenTelemetry's internal logging to `tracing`: install a subscriber before building
//! a provider to see them. The README lists the other behaviours worth knowing.
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

mod encode;
mod error;
pub mod logs;
pub mod metrics;
pub mod mode;
mod pipeline;
mod platform;
pub mod sink;
#[cfg(otel_os_events_loom)]
#[doc(hidden)]
pub mod state;
#[cfg(not(otel_os_events_loom))]
mod state;
mod stats;
mod sync;
pub mod traces;

// The perf ring-buffer reader: Linux only (perf_event_open, mmap), see `platform`.
#[cfg(all(feature = "cli", target_os = "linux"))]
pub mod listen;

#[cfg(all(feature = "cli", target_os = "linux"))]
pub mod forward;

pub use encode::{
    etw_activity_id, etw_provider_id, DEFAULT_ETW_MAX_EVENT_SIZE, MAX_EVENT_SIZE_LIMIT,
};
pub use error::Error;
pub use logs::{EtwLoggerProviderBuilderExt, UserEventsLoggerProviderBuilderExt};
pub use metrics::{EtwMeterProviderBuilderExt, UserEventsMeterProviderBuilderExt};
pub use pipeline::ProcessorHandle;
pub use state::{ListenerCallback, ListenerChange, MAX_KEYWORDS};
pub use stats::{DropReason, Stats};
pub use traces::{EtwTracerProviderBuilderExt, UserEventsTracerProviderBuilderExt};

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
