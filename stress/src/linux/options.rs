//! Command-line options.

use std::fmt;

/// Sync or queued mode of the processor under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeArg {
    /// Encode and write on the emitting thread.
    Sync,
    /// Encode on the emitting thread, write on the flush thread.
    Queued,
}

impl fmt::Display for ModeArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModeArg::Sync => "sync",
            ModeArg::Queued => "queued",
        })
    }
}

/// How long each configuration runs.
#[derive(Clone, Copy, Debug)]
pub enum Length {
    /// Every thread emits until this many seconds have passed.
    Seconds(f64),
    /// Every thread emits exactly this many events.
    Count(u64),
}

/// The bodies the emitting threads log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sizes {
    /// `stress` (the default): small events.
    Small,
    /// Every other event carries a 100-byte body, the others a [`LARGE_BODY`]-byte one.
    Mixed,
    /// Every event carries a [`LARGE_BODY`]-byte body (a burst of 8 KB events).
    Large,
}

/// The large body: with the encoding, an event just under the default maximum event size
/// (8,184 bytes), so nothing is truncated.
pub const LARGE_BODY: usize = 7_900;

impl Sizes {
    /// The body of event number `seq`.
    pub fn body_len(self, seq: u64) -> Option<usize> {
        match self {
            Sizes::Small => None,
            Sizes::Mixed if seq & 1 == 0 => Some(100),
            Sizes::Mixed | Sizes::Large => Some(LARGE_BODY),
        }
    }
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sizes::Small => "small",
            Sizes::Mixed => "mixed 100 B / 8 KB",
            Sizes::Large => "8 KB",
        })
    }
}

/// What the harness was asked to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The largest thread count; counts double from 1 up to it (and it is run too).
    pub max_threads: usize,
    /// Time or count per configuration.
    pub length: Length,
    /// The modes to run, in order.
    pub modes: Vec<ModeArg>,
    /// The listener settings to run, in order (false: nobody listens).
    pub listeners: Vec<bool>,
    /// Write into an in-memory capture instead of user_events (any machine; it "listens").
    pub capture: bool,
    /// Queued mode's queue capacity.
    pub capacity: usize,
    /// Data pages per CPU of the perf reader's rings.
    pub ring_pages: usize,
    /// Run only `max_threads`, not the doubling series up to it.
    pub only_max: bool,
    /// Listener on: a session attaches and detaches every `storm` instead of listening
    /// throughout (user_events: ftrace's `enable`, counted from ftrace's ring statistics;
    /// capture: its listening flag).
    pub storm: Option<std::time::Duration>,
    /// The events' bodies.
    pub sizes: Sizes,
    /// Queued mode's byte budget (`QueueOptions::max_bytes`); the default if `None`.
    pub max_bytes: Option<usize>,
}

/// The usage line printed by `--help` and on errors.
pub const USAGE: &str =
    "usage: stress [--threads N] [--only-max-threads] [--seconds S | --count N] \
[--mode sync|queued|sync,queued] [--listen | --listener off|on|both] [--storm MICROSECONDS] \
[--sizes small|mixed|large] [--max-bytes N] \
[--sink user-events|capture] [--capacity N] [--ring-pages N]";

impl Options {
    /// Thread counts to run: 1, 2, 4, … below `max_threads`, then `max_threads`.
    pub fn thread_counts(&self) -> Vec<usize> {
        if self.only_max {
            return vec![self.max_threads];
        }
        let mut counts = Vec::new();
        let mut n = 1;
        while n < self.max_threads {
            counts.push(n);
            n *= 2;
        }
        counts.push(self.max_threads);
        counts
    }
}

fn number<T: std::str::FromStr>(arg: &str, value: String) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    value.parse().map_err(|e| format!("{arg} {value}: {e}"))
}

/// Parses `args` (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        max_threads: 4,
        length: Length::Seconds(1.0),
        modes: vec![ModeArg::Sync],
        listeners: vec![false],
        capture: false,
        capacity: 65_536,
        ring_pages: 2048,
        only_max: false,
        storm: None,
        sizes: Sizes::Small,
        max_bytes: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--threads" => o.max_threads = number(&arg, value()?)?,
            "--seconds" => o.length = Length::Seconds(number(&arg, value()?)?),
            "--count" => o.length = Length::Count(number(&arg, value()?)?),
            "--mode" => {
                o.modes = value()?
                    .split(',')
                    .map(|m| match m {
                        "sync" => Ok(ModeArg::Sync),
                        "queued" => Ok(ModeArg::Queued),
                        other => Err(format!("--mode: unknown mode {other}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--listen" => o.listeners = vec![true],
            "--listener" => {
                o.listeners = match value()?.as_str() {
                    "off" => vec![false],
                    "on" => vec![true],
                    "both" => vec![false, true],
                    other => return Err(format!("--listener: expected off|on|both, got {other}")),
                }
            }
            "--sink" => {
                o.capture = match value()?.as_str() {
                    "capture" => true,
                    "user-events" => false,
                    other => return Err(format!("--sink: unknown sink {other}")),
                }
            }
            "--capacity" => o.capacity = number(&arg, value()?)?,
            "--only-max-threads" => o.only_max = true,
            "--storm" => {
                let us: u64 = number(&arg, value()?)?;
                o.storm = Some(std::time::Duration::from_micros(us.max(1)));
            }
            "--sizes" => {
                o.sizes = match value()?.as_str() {
                    "small" => Sizes::Small,
                    "mixed" => Sizes::Mixed,
                    "large" => Sizes::Large,
                    other => {
                        return Err(format!("--sizes: expected small|mixed|large, got {other}"))
                    }
                }
            }
            "--max-bytes" => o.max_bytes = Some(number(&arg, value()?)?),
            "--ring-pages" => o.ring_pages = number(&arg, value()?)?,
            "--bench" => {} // `cargo bench`-style runners pass it
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let positive = match o.length {
        Length::Seconds(s) => s > 0.0,
        Length::Count(n) => n > 0,
    };
    if o.max_threads == 0 || !positive || o.capacity == 0 {
        return Err("--threads, --seconds, --count and --capacity must be positive".into());
    }
    if !o.ring_pages.is_power_of_two() {
        return Err("--ring-pages must be a power of two".into());
    }
    Ok(o)
}
