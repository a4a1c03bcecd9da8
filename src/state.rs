//! A provider's state: its tracepoints (level × keyword) and which of them have listeners,
//! as one immutable [`Snapshot`] behind a swap cell (`arc_swap::ArcSwap`).
//!
//! Emitting threads only `load()` the snapshot: wait-free, no lock. Changes — a keyword seen
//! for the first time, sessions attaching or detaching — build a new snapshot under a mutex
//! (the rare slow path) and swap it in. A reader keeps the snapshot it loaded alive for as
//! long as it uses it, so it never sees a torn or freed state.

use std::fmt;

use crate::encode::OversizePolicy;
use crate::sink::{Definition, Sink, SinkProvider, Tracepoint, TracepointStatusEntry};
use crate::sync::{Arc, Mutex, SwapCell};

/// The most keywords one provider registers; a record asking for another is dropped and
/// counted ([`DropReason::KeywordLimit`](crate::DropReason::KeywordLimit)).
pub const MAX_KEYWORDS: usize = 64;

/// The five tracepoints (levels 1..=5) of one keyword.
pub struct TracepointSet {
    /// Its keyword.
    pub keyword: u64,
    /// Its place in the provider's [`Snapshot::sets`], which only ever grows: queued events
    /// name their set by it (`crate::mode`), so that queuing an event clones no `Arc`.
    pub(crate) index: usize,
    pub(crate) levels: [Tracepoint; 5],
}

impl TracepointSet {
    fn register(sink: &SinkProvider, provider: &str, keyword: u64, index: usize) -> Self {
        TracepointSet {
            keyword,
            index,
            levels: std::array::from_fn(|i| {
                Tracepoint::register(
                    sink,
                    Definition {
                        name: crate::error::eventheader_tracepoint_name(
                            provider,
                            i as u8 + 1,
                            keyword,
                        ),
                        fields: None,
                        level: i as u8 + 1,
                        keyword,
                    },
                )
            }),
        }
    }
}

/// The size options that can change at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    /// The largest event payload to write.
    pub max_event_size: usize,
    /// What to do with a larger one.
    pub oversize: OversizePolicy,
}

/// What emitting threads read.
pub struct Snapshot {
    /// The size options in force.
    pub limits: SizeLimits,
    /// The builder's keyword first, then keywords registered on first use (append only:
    /// a set keeps its place, its `index`, for the provider's life).
    pub sets: Vec<Arc<TracepointSet>>,
    /// Per set, bit `level - 1` is set while that tracepoint had a listener at the watcher's
    /// last look.
    pub(crate) listening: Vec<u8>,
}

impl Snapshot {
    /// The set for `keyword`, if registered.
    #[inline]
    pub fn set(&self, keyword: u64) -> Option<&Arc<TracepointSet>> {
        self.sets.iter().find(|s| s.keyword == keyword)
    }
}

/// A change of listening on one tracepoint, as passed to a listener callback
/// ([`with_listener_callback`](crate::logs::ProcessorBuilder::with_listener_callback)).
///
/// ```
/// use otel_os_events::ListenerChange;
///
/// fn on_change(change: &ListenerChange) {
///     if change.listening {
///         println!("a session listens to level {} of keyword {:#x}", change.level, change.keyword);
///     }
/// }
/// # on_change(&ListenerChange { tracepoint: "p_L4K1".into(), level: 4, keyword: 1, listening: true });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerChange {
    /// The tracepoint, e.g. `myprovider_L4K1`.
    pub tracepoint: String,
    /// Its level, 1..=5.
    pub level: u8,
    /// Its keyword.
    pub keyword: u64,
    /// True: a session started listening; false: the last one stopped.
    pub listening: bool,
}

/// A provider's swappable state and the writer side's lock.
pub struct ProviderState {
    provider: String,
    sink: SinkProvider,
    current: SwapCell<Snapshot>,
    /// Serializes the writers (registration, the watcher, shutdown).
    writer: Mutex<()>,
}

impl ProviderState {
    /// Registers the tracepoints of `keyword` and makes them the first set.
    pub fn new(provider: &str, sink: Sink, keyword: u64, limits: SizeLimits) -> Self {
        let sink = sink.open(provider, None);
        let first = Arc::new(TracepointSet::register(&sink, provider, keyword, 0));
        ProviderState {
            provider: provider.to_owned(),
            sink,
            current: SwapCell::from_pointee(Snapshot {
                limits,
                sets: vec![first],
                listening: vec![0],
            }),
            writer: Mutex::new(()),
        }
    }

    /// Whose rules (names, sizes) the provider's sink follows.
    pub(crate) fn sink_kind(&self) -> crate::sink::SinkKind {
        self.sink.kind()
    }

    /// The current snapshot (wait-free).
    #[inline]
    pub fn load(&self) -> impl std::ops::Deref<Target = Arc<Snapshot>> + '_ {
        self.current.load()
    }

    /// The set for `keyword`, registering it on first use. `None` when the provider already
    /// has [`MAX_KEYWORDS`] keywords.
    pub fn set_for(&self, keyword: u64) -> Option<Arc<TracepointSet>> {
        if let Some(set) = self.load().set(keyword) {
            return Some(set.clone());
        }
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.load();
        // Another thread may have registered it while we waited.
        if let Some(set) = old.set(keyword) {
            return Some(set.clone());
        }
        if old.sets.len() >= MAX_KEYWORDS {
            return None;
        }
        let set = Arc::new(TracepointSet::register(
            &self.sink,
            &self.provider,
            keyword,
            old.sets.len(),
        ));
        let mut sets = old.sets.clone();
        sets.push(set.clone());
        let mut listening = old.listening.clone();
        listening.push(0);
        let limits = old.limits;
        drop(old);
        self.current.store(Arc::new(Snapshot {
            limits,
            sets,
            listening,
        }));
        Some(set)
    }

    /// Swaps in new size limits; events encoded from now on use them.
    pub fn reconfigure(&self, limits: SizeLimits) {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.load();
        let next = Snapshot {
            limits,
            sets: old.sets.clone(),
            listening: old.listening.clone(),
        };
        drop(old);
        self.current.store(Arc::new(next));
    }

    /// Looks at every tracepoint's enable word; if any changed since the last look, swaps in
    /// a snapshot with the new bits and returns the changes.
    pub fn poll_listeners(&self) -> Vec<ListenerChange> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.load();
        let mut changes = Vec::new();
        let listening: Vec<u8> = old
            .sets
            .iter()
            .zip(&old.listening)
            .map(|(set, &was)| {
                let mut now = 0u8;
                for (i, tp) in set.levels.iter().enumerate() {
                    let on = tp.enabled();
                    now |= u8::from(on) << i;
                    if on != (was >> i & 1 == 1) {
                        changes.push(ListenerChange {
                            tracepoint: tp.name().to_owned(),
                            level: i as u8 + 1,
                            keyword: set.keyword,
                            listening: on,
                        });
                    }
                }
                now
            })
            .collect();
        if !changes.is_empty() {
            let (limits, sets) = (old.limits, old.sets.clone());
            drop(old);
            self.current.store(Arc::new(Snapshot {
                limits,
                sets,
                listening,
            }));
        }
        changes
    }

    /// Wakes `watcher` whenever the sink reports sessions attaching or detaching (ETW does;
    /// user_events is polled).
    pub(crate) fn set_waker(&self, watcher: Option<std::thread::Thread>) {
        self.sink.set_waker(watcher);
    }

    /// Unregisters every tracepoint.
    pub(crate) fn unregister_all(&self) {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for set in &self.load().sets {
            for tp in &set.levels {
                tp.unregister();
            }
        }
    }

    /// Every tracepoint with its registration state.
    pub(crate) fn status(&self) -> Vec<TracepointStatusEntry> {
        self.load()
            .sets
            .iter()
            .flat_map(|set| set.levels.iter())
            .map(|tp| TracepointStatusEntry {
                tracepoint: tp.name().to_owned(),
                status: tp.status(),
            })
            .collect()
    }
}

/// Polls a provider's enable words on its own thread and reports changes to a callback.
///
/// user_events has no notification when sessions attach or detach: the kernel only flips the
/// enable word. So the watcher looks every `interval` (default 100 ms): a change is seen
/// within one interval. ETW calls the provider back, and that wakes the watcher at once.
/// Stopped (and joined) when dropped.
pub(crate) struct Watcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    state: Arc<ProviderState>,
}

/// A user function told about listeners attaching and detaching.
pub type ListenerCallback = dyn Fn(&ListenerChange) + Send + Sync;

impl Watcher {
    pub(crate) fn start(
        state: Arc<ProviderState>,
        callback: std::sync::Arc<ListenerCallback>,
        interval: std::time::Duration,
    ) -> std::io::Result<Self> {
        use std::sync::atomic::Ordering::Relaxed;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let watched = state.clone();
        let thread = std::thread::Builder::new()
            .name("otel-os-events-watch".to_owned())
            .spawn(move || {
                while !stopping.load(Relaxed) {
                    for change in watched.poll_listeners() {
                        callback(&change);
                    }
                    std::thread::park_timeout(interval);
                }
            })?;
        state.set_waker(Some(thread.thread().clone()));
        Ok(Watcher {
            stop,
            thread: Some(thread),
            state,
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.state.set_waker(None);
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for ProviderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderState")
            .field("provider", &self.provider)
            .field(
                "keywords",
                &self
                    .load()
                    .sets
                    .iter()
                    .map(|s| s.keyword)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
