//! otel-os-events (skeleton; the full crate lands in later commits).
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod sink;

#[cfg(feature = "cli")]
pub mod listen;
