//! An in-memory sink for tests: events are kept, not written to the kernel.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::encode::{FinishedEvent, Wire};

/// One event a [`CaptureSink`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedEvent {
    /// The tracepoint it was written to, e.g. `myprovider_L4K1`.
    pub tracepoint: String,
    /// EventHeader: the bytes the kernel would have received after the `write_index`, ready
    /// for `tracepoint_decode::EventHeaderEnumeratorContext`. ETW: the event metadata
    /// followed by the data.
    pub payload: Vec<u8>,
    /// ETW ([`CaptureSink::etw`]): what `EventWriteTransfer` would have received.
    pub etw: Option<EtwCaptured>,
}

/// An ETW event as the ETW sink would pass it to `EventWriteTransfer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtwCaptured {
    /// `EVENT_DESCRIPTOR.Level`, 1..=5.
    pub level: u8,
    /// `EVENT_DESCRIPTOR.Keyword`.
    pub keyword: u64,
    /// `EVENT_DESCRIPTOR.Opcode`.
    pub opcode: u8,
    /// `EVENT_DESCRIPTOR.Id` and `.Version`.
    pub id: u16,
    /// See `id`.
    pub version: u8,
    /// The activity id's 16 bytes, if the event has one.
    pub activity_id: Option<[u8; 16]>,
    /// The related (parent) activity id.
    pub related_id: Option<[u8; 16]>,
    /// The event metadata block (TraceLogging: u16 size, tag, name, fields).
    pub meta: Vec<u8>,
    /// The data block.
    pub data: Vec<u8>,
}

/// Keeps events in memory instead of writing them to the kernel: for testing code that
/// logs through this crate, on any machine.
///
/// Clones share the same store. By default every tracepoint counts as listened to;
/// [`set_listening`](Self::set_listening) simulates sessions attaching and detaching,
/// [`fail_writes`](Self::fail_writes) a kernel that refuses writes,
/// [`set_write_delay`](Self::set_write_delay) a slow one, and
/// [`hold_writes`](Self::hold_writes) a stalled one.
///
/// ```
/// use otel_os_events::logs::Processor;
/// use otel_os_events::sink::{CaptureSink, Sink};
///
/// let capture = CaptureSink::new();
/// let processor = Processor::builder("myprovider")
///     .with_sink(Sink::Capture(capture.clone()))
///     .build()
///     .unwrap();
/// # drop(processor);
/// assert!(capture.events().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct CaptureSink {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    events: Mutex<Vec<CapturedEvent>>,
    /// Tracepoints registered and not unregistered, with their "listening" flags.
    tracepoints: Mutex<HashMap<String, Arc<AtomicBool>>>,
    /// Whether tracepoints not named in `set_listening` are listened to.
    not_listening_by_default: AtomicBool,
    /// The format captured.
    wire: Wire,
    /// Non-zero: every write fails with this errno.
    write_errno: AtomicI32,
    /// A slow or stalled kernel, to fill queues in tests.
    writes: Mutex<WriteControl>,
    /// Wakes writes waiting while [`WriteControl::held`].
    released: Condvar,
}

/// How each write behaves before it is kept.
#[derive(Default)]
struct WriteControl {
    /// Each write first sleeps this long.
    delay: Option<std::time::Duration>,
    /// Each write waits until this is false.
    held: bool,
}

impl CaptureSink {
    /// A capture of EventHeader events (as user_events would receive), in which every
    /// tracepoint is listened to.
    pub fn new() -> Self {
        Self::default()
    }

    /// A capture of ETW TraceLogging events (as ETW would receive), in which every
    /// (level, keyword) is listened to. Each event's [`CapturedEvent::etw`] holds them.
    pub fn etw() -> Self {
        CaptureSink {
            inner: Arc::new(Inner {
                wire: Wire::TraceLogging,
                ..Inner::default()
            }),
        }
    }

    /// The format captured.
    pub(crate) fn wire(&self) -> Wire {
        self.inner.wire
    }

    /// Sets whether `tracepoint` is listened to (as if a perf session attached or detached).
    /// Applies to a tracepoint registered later, too.
    pub fn set_listening(&self, tracepoint: &str, listening: bool) {
        let mut map = self.inner.tracepoints.lock();
        map.entry(tracepoint.to_owned())
            .or_insert_with(|| Arc::new(AtomicBool::new(listening)))
            .store(listening, Relaxed);
    }

    /// Sets whether every tracepoint, registered or not, is listened to.
    pub fn set_listening_all(&self, listening: bool) {
        self.inner
            .not_listening_by_default
            .store(!listening, Relaxed);
        for flag in self.inner.tracepoints.lock().values() {
            flag.store(listening, Relaxed);
        }
    }

    /// Makes every write fail with `errno` (`None`: succeed again).
    pub fn fail_writes(&self, errno: Option<i32>) {
        self.inner.write_errno.store(errno.unwrap_or(0), Relaxed);
    }

    /// Makes every write take at least `delay` (`None`: no delay), as a slow kernel would.
    pub fn set_write_delay(&self, delay: Option<std::time::Duration>) {
        self.inner.writes.lock().delay = delay;
    }

    /// While `hold` is true, every write waits (the writing thread blocks) until it is set
    /// false again: a stalled kernel, so that a test can fill a queue exactly, whatever the
    /// machine's speed.
    ///
    /// ```
    /// use otel_os_events::sink::CaptureSink;
    ///
    /// let capture = CaptureSink::new();
    /// capture.hold_writes(true);
    /// // ... emit from a queued processor: its flush thread waits in its first write ...
    /// capture.hold_writes(false);
    /// ```
    pub fn hold_writes(&self, hold: bool) {
        self.inner.writes.lock().held = hold;
        if !hold {
            self.inner.released.notify_all();
        }
    }

    /// A copy of the events received so far.
    pub fn events(&self) -> Vec<CapturedEvent> {
        self.inner.events.lock().clone()
    }

    /// The events received so far, leaving the capture empty.
    pub fn take(&self) -> Vec<CapturedEvent> {
        std::mem::take(&mut *self.inner.events.lock())
    }

    /// The tracepoints currently registered, sorted.
    pub fn registered(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.tracepoints.lock().keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn register(&self, name: &str, level: u8, keyword: u64) -> CaptureTracepoint {
        let default = !self.inner.not_listening_by_default.load(Relaxed);
        let listening = self
            .inner
            .tracepoints
            .lock()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(AtomicBool::new(default)))
            .clone();
        CaptureTracepoint {
            sink: self.clone(),
            name: name.to_owned(),
            listening,
            level,
            keyword,
        }
    }
}

impl fmt::Debug for CaptureSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureSink")
            .field("events", &self.inner.events.lock().len())
            .finish()
    }
}

/// A tracepoint registered with a [`CaptureSink`].
pub(crate) struct CaptureTracepoint {
    sink: CaptureSink,
    name: String,
    listening: Arc<AtomicBool>,
    level: u8,
    keyword: u64,
}

impl CaptureTracepoint {
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.listening.load(Relaxed)
    }

    /// Keeps `event` as its sink would receive it. Returns 0 or an errno (EINVAL for an
    /// event of a format this capture does not take).
    pub(crate) fn write(&self, event: FinishedEvent<'_>) -> i32 {
        if !self.enabled() {
            return libc::EBADF;
        }
        let delay = {
            let mut writes = self.sink.inner.writes.lock();
            while writes.held {
                self.sink.inner.released.wait(&mut writes);
            }
            writes.delay
        };
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        let errno = self.sink.inner.write_errno.load(Relaxed);
        if errno != 0 {
            return errno;
        }
        let (payload, etw) = match (self.sink.inner.wire, event) {
            (Wire::EventHeader, FinishedEvent::EventHeader { header, meta, data }) => {
                ([header, meta, data].concat(), None)
            }
            (Wire::EventHeader, FinishedEvent::RawPayload(payload)) => (payload.to_vec(), None),
            (
                Wire::TraceLogging,
                FinishedEvent::TraceLogging {
                    descriptor,
                    meta,
                    data,
                },
            ) => {
                let etw = EtwCaptured {
                    level: self.level,
                    keyword: self.keyword,
                    opcode: descriptor.opcode.as_int(),
                    id: descriptor.id,
                    version: descriptor.version,
                    activity_id: descriptor.activity_id().copied(),
                    related_id: descriptor.related_activity_id().copied(),
                    meta: meta.to_vec(),
                    data: data.to_vec(),
                };
                ([meta, data].concat(), Some(etw))
            }
            _ => return libc::EINVAL,
        };
        self.sink.inner.events.lock().push(CapturedEvent {
            tracepoint: self.name.clone(),
            payload,
            etw,
        });
        0
    }

    pub(crate) fn unregister(&self) {
        self.listening.store(false, Relaxed);
        self.sink.inner.tracepoints.lock().remove(&self.name);
    }
}
