//! The one error type of the builders.

use std::fmt;

use crate::encode::Wire;
use crate::sink::SinkKind;

/// Why a builder refused its options. Emitting never returns errors: what it cannot write
/// it counts (see [`crate::Stats`]).
///
/// Its Display form names the option, the sink and the rule; refused names are shown cut to
/// 64 bytes (the error's field keeps the whole name). Where the peer crates return
/// `Box<dyn Error>`, this is one typed enum to match on.
///
/// ```
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::Sink;
/// use otel_os_events::Error;
///
/// match Processor::builder("my provider").with_sink(Sink::UserEvents).build() {
///     Ok(_) => unreachable!(),
///     Err(error @ Error::InvalidProviderName { .. }) => {
///         assert_eq!(
///             error.to_string(),
///             "invalid user_events provider name \"my provider\": only A-Z, a-z, 0-9 and _ are allowed"
///         );
///     }
///     Err(other) => panic!("{other}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The provider name breaks the sink's rule. user_events: 1..=233 bytes of
    /// `[A-Za-z0-9_]` (anything else could inject field definitions into the kernel
    /// registration string). ETW: 1..=32,767 bytes, any character but NUL. So a name such as
    /// `MyCompany.MyComponent` is refused by user_events only.
    InvalidProviderName {
        /// The name as given.
        name: String,
        /// The sink whose rule it breaks.
        sink: SinkKind,
        /// The rule, e.g. "only A-Z, a-z, 0-9 and _ are allowed".
        rule: &'static str,
    },
    /// The event name is empty, longer than 255 bytes, or holds a NUL or `;` (which
    /// EventHeader reserves for event attributes).
    InvalidEventName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The maximum event size is outside what the sink takes: the same rule for the
    /// builders and for [`ProcessorHandle::set_max_event_size`](crate::ProcessorHandle::set_max_event_size).
    /// For logs and spans user_events takes 512..=65,467 bytes and ETW 512..=65,360, so
    /// a size in between is refused by ETW only; for metrics user_events takes up to 65,551.
    InvalidMaxEventSize {
        /// The size asked for.
        size: usize,
        /// The smallest allowed.
        min: usize,
        /// The largest allowed.
        max: usize,
        /// The sink whose rule it breaks.
        sink: SinkKind,
        /// Where `max` comes from, e.g. "ETW refuses events over 64 KiB with its own headers".
        rule: &'static str,
    },
    /// A resource attribute key to copy into events is empty.
    InvalidResourceAttributeKey,
    /// The queue capacity is outside `1..=max`
    /// ([`MAX_QUEUE_CAPACITY`](crate::mode::MAX_QUEUE_CAPACITY)).
    InvalidQueueCapacity {
        /// The capacity asked for.
        capacity: usize,
        /// The largest allowed.
        max: usize,
    },
    /// [`QueueOptions::max_bytes`](crate::mode::QueueOptions::max_bytes) below
    /// [`MIN_QUEUE_BYTES`](crate::mode::MIN_QUEUE_BYTES).
    InvalidQueueBytes {
        /// The budget asked for.
        bytes: usize,
        /// The smallest allowed.
        min: usize,
    },
    /// The flush thread's name is empty or holds a NUL.
    InvalidThreadName,
    /// A level outside 1 (critical) ..= 5 (verbose).
    InvalidLevel {
        /// The level asked for.
        level: u8,
    },
    /// More keywords declared with
    /// [`with_keywords`](crate::logs::ProcessorBuilder::with_keywords) (the builder's keyword
    /// included) than one provider registers, [`MAX_KEYWORDS`](crate::MAX_KEYWORDS).
    TooManyKeywords {
        /// How many distinct keywords were declared.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// The listener callback's poll interval
    /// ([`with_listener_poll_interval`](crate::logs::ProcessorBuilder::with_listener_poll_interval))
    /// is outside `min..=max` (1 ms to 60 s).
    InvalidPollInterval {
        /// The interval asked for.
        interval: std::time::Duration,
        /// The shortest allowed.
        min: std::time::Duration,
        /// The longest allowed.
        max: std::time::Duration,
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
            Error::InvalidProviderName { name, sink, rule } => {
                let name = Shown(name);
                write!(f, "invalid {sink} provider name {name}: {rule}")
            }
            Error::InvalidEventName { name, reason } => {
                let name = Shown(name);
                write!(f, "invalid event name {name}: {reason}")
            }
            Error::InvalidMaxEventSize {
                size,
                min,
                max,
                sink,
                rule,
            } => write!(
                f,
                "maximum event size {size} is outside {min}..={max} bytes, what {sink} takes ({rule})"
            ),
            Error::InvalidResourceAttributeKey => {
                write!(f, "a resource attribute key to copy into events is empty")
            }
            Error::InvalidQueueCapacity { capacity, max } => {
                write!(f, "queue capacity {capacity} is outside 1..={max}")
            }
            Error::InvalidQueueBytes { bytes, min } => {
                write!(
                    f,
                    "queue byte budget {bytes} is below the minimum, {min} bytes"
                )
            }
            Error::InvalidThreadName => {
                f.write_str("the flush thread's name is empty or holds a NUL")
            }
            Error::InvalidLevel { level } => write!(f, "level {level} is outside 1..=5"),
            Error::TooManyKeywords { count, max } => {
                write!(
                    f,
                    "{count} keywords declared, more than the {max} a provider registers"
                )
            }
            Error::InvalidPollInterval { interval, min, max } => write!(
                f,
                "listener poll interval {interval:?} is outside {min:?}..={max:?}"
            ),
            Error::ThreadSpawn { reason } => {
                write!(f, "could not start the flush thread: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// The most of a refused name that messages show: enough to recognise it, short enough that
/// a name of hundreds of bytes does not flood a log line.
pub(crate) const SHOWN_NAME_LEN: usize = 64;

/// A name as messages show it: quoted and escaped (`{:?}`), cut after [`SHOWN_NAME_LEN`]
/// bytes with its full length given, e.g. `"aaaa…" (300 bytes)`. The error's field keeps the
/// whole name.
pub(crate) struct Shown<'a>(pub(crate) &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kept, cut) = crate::encode::cut_str(self.0, SHOWN_NAME_LEN);
        if cut {
            write!(f, "{:?}… ({} bytes)", kept, self.0.len())
        } else {
            write!(f, "{kept:?}")
        }
    }
}

/// The longest provider name: with `_L<level>K<16 hex digits>` and the NUL the tracepoint
/// name stays under 256 bytes, and under the 234 that `eventheader_dynamic` allows for
/// provider plus options.
pub(crate) const MAX_PROVIDER_NAME_LEN: usize = 233;

/// The longest ETW provider name (ETW's own limit, under 32 KiB).
pub(crate) const MAX_ETW_PROVIDER_NAME_LEN: usize = 32_767;

/// Whether `name` holds only `[A-Za-z0-9_]`, the bytes of user_events provider and
/// EventHeader tracepoint names: anything else could change the meaning of the registration
/// string given to the kernel (a space or `;` would start field definitions). The one copy of
/// the rule, for the builders and for `listen`.
pub(crate) fn is_eventheader_name(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The EventHeader tracepoint name of a provider, level and keyword:
/// `<provider>_L<level hex>K<keyword hex>`, lowercase hex without leading zeros (for example
/// `myprovider_L4K1`, `p_LaK1f`). The one copy of the format, for the provider state and for
/// `listen`; it checks nothing (see [`validate_provider_name`]).
pub(crate) fn eventheader_tracepoint_name(provider: &str, level: u8, keyword: u64) -> String {
    format!("{provider}_L{level:x}K{keyword:x}")
}

/// Checks a provider name against the rule of the sink that takes events of format `wire`:
/// 1..=233 bytes of `[A-Za-z0-9_]` for user_events; for ETW, 1..=32,767 bytes without NUL.
pub(crate) fn validate_provider_name(name: &str, wire: Wire) -> Result<(), Error> {
    let sink = SinkKind::of(wire);
    let bad = |rule| {
        Err(Error::InvalidProviderName {
            name: name.to_owned(),
            sink,
            rule,
        })
    };
    if name.is_empty() {
        return bad("it must not be empty");
    }
    match sink {
        SinkKind::Etw => {
            if name.len() > MAX_ETW_PROVIDER_NAME_LEN {
                return bad("at most 32,767 bytes");
            }
            if name.contains('\0') {
                return bad("no NUL");
            }
        }
        SinkKind::UserEvents => {
            if name.len() > MAX_PROVIDER_NAME_LEN {
                return bad("at most 233 bytes");
            }
            if !is_eventheader_name(name) {
                return bad("only A-Z, a-z, 0-9 and _ are allowed");
            }
        }
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
