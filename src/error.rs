//! The one error type of the builders.

use std::fmt;

use crate::encode::Wire;

/// Why a builder refused its options. Emitting never returns errors: what it cannot write
/// it counts (see [`crate::Stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The provider name is empty, too long, or holds a character outside `[A-Za-z0-9_]`
    /// (anything else could inject field definitions into the kernel registration string).
    /// ETW names may hold any character but NUL, up to 32,767 bytes.
    InvalidProviderName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The event name is empty, longer than 255 bytes, or holds a NUL or `;` (which
    /// EventHeader reserves for event attributes).
    InvalidEventName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The maximum event size is outside the supported range.
    InvalidMaxEventSize {
        /// The size asked for.
        size: usize,
        /// The smallest allowed.
        min: usize,
        /// The largest allowed.
        max: usize,
    },
    /// A resource attribute key to copy into events is empty.
    InvalidResourceAttributeKey,
    /// The queue capacity is outside `1..=`[`MAX_QUEUE_CAPACITY`](crate::mode::MAX_QUEUE_CAPACITY).
    InvalidQueueCapacity {
        /// The capacity asked for.
        capacity: usize,
    },
    /// The flush thread's name is empty or holds a NUL.
    InvalidThreadName,
    /// A level outside 1 (critical) ..= 5 (verbose).
    InvalidLevel {
        /// The level asked for.
        level: u8,
    },
    /// The operating system refused to start the flush thread.
    ThreadSpawn {
        /// What the OS said.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidProviderName { name, reason } => {
                write!(f, "invalid provider name {name:?}: {reason}")
            }
            Error::InvalidEventName { name, reason } => {
                write!(f, "invalid event name {name:?}: {reason}")
            }
            Error::InvalidMaxEventSize { size, min, max } => {
                write!(
                    f,
                    "maximum event size {size} is outside {min}..={max} bytes"
                )
            }
            Error::InvalidResourceAttributeKey => {
                write!(f, "a resource attribute key to copy into events is empty")
            }
            Error::InvalidQueueCapacity { capacity } => write!(
                f,
                "queue capacity {capacity} is outside 1..={}",
                crate::mode::MAX_QUEUE_CAPACITY
            ),
            Error::InvalidThreadName => {
                f.write_str("the flush thread's name is empty or holds a NUL")
            }
            Error::InvalidLevel { level } => write!(f, "level {level} is outside 1..=5"),
            Error::ThreadSpawn { reason } => {
                write!(f, "could not start the flush thread: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// The longest provider name: with `_L<level>K<16 hex digits>` and the NUL the tracepoint
/// name stays under 256 bytes, and under the 234 that `eventheader_dynamic` allows for
/// provider plus options.
pub const MAX_PROVIDER_NAME_LEN: usize = 233;

/// The longest ETW provider name (ETW's own limit, under 32 KiB).
pub const MAX_ETW_PROVIDER_NAME_LEN: usize = 32_767;

/// Checks a provider name: 1..=233 bytes of `[A-Za-z0-9_]` for user_events; for ETW,
/// 1..=32,767 bytes without NUL.
pub(crate) fn validate_provider_name(name: &str, wire: Wire) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidProviderName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if wire == Wire::TraceLogging {
        if name.len() > MAX_ETW_PROVIDER_NAME_LEN {
            return bad("it is longer than 32,767 bytes");
        }
        if name.contains('\0') {
            return bad("it holds a NUL");
        }
        return Ok(());
    }
    if name.len() > MAX_PROVIDER_NAME_LEN {
        return bad("it is longer than 233 bytes");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return bad("only A-Z, a-z, 0-9 and _ are allowed");
    }
    Ok(())
}

/// Checks an event name given in configuration: 1..=255 bytes, no NUL, no `;`.
pub(crate) fn validate_event_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidEventName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 255 {
        return bad("it is longer than 255 bytes");
    }
    if name.bytes().any(|b| b == 0 || b == b';') {
        return bad("it holds a NUL or ';'");
    }
    Ok(())
}

/// Checks the options every processor has: the maximum event size (`None`: the sink's
/// default) and the queue options. Returns the maximum event size to use.
pub(crate) fn validate_size_and_mode(
    max_event_size: Option<usize>,
    wire: Wire,
    mode: &crate::mode::Mode,
) -> Result<usize, Error> {
    use crate::encode::{DEFAULT_ETW_MAX_EVENT_SIZE, MAX_EVENT_SIZE_LIMIT};
    use crate::logs::{DEFAULT_MAX_EVENT_SIZE, MIN_MAX_EVENT_SIZE};
    let (default, max) = match wire {
        Wire::EventHeader => (DEFAULT_MAX_EVENT_SIZE, MAX_EVENT_SIZE_LIMIT),
        Wire::TraceLogging => (DEFAULT_ETW_MAX_EVENT_SIZE, DEFAULT_ETW_MAX_EVENT_SIZE),
    };
    let size = max_event_size.unwrap_or(default);
    if !(MIN_MAX_EVENT_SIZE..=max).contains(&size) {
        return Err(Error::InvalidMaxEventSize {
            size,
            min: MIN_MAX_EVENT_SIZE,
            max,
        });
    }
    validate_mode(mode)?;
    Ok(size)
}

/// Checks the queue options of a queued mode.
pub(crate) fn validate_mode(mode: &crate::mode::Mode) -> Result<(), Error> {
    if let crate::mode::Mode::Queued(q) = mode {
        if !(1..=crate::mode::MAX_QUEUE_CAPACITY).contains(&q.capacity) {
            return Err(Error::InvalidQueueCapacity {
                capacity: q.capacity,
            });
        }
        if q.thread_name.is_empty() || q.thread_name.contains('\0') {
            return Err(Error::InvalidThreadName);
        }
    }
    Ok(())
}
