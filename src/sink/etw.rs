//! Windows ETW, through the `tracelogging` crate's provider context (`EventRegister`,
//! `EventSetInformation`, `EventWriteTransfer`, and the enable callback). Off Windows that crate
//! compiles these calls as no-ops, so everything here builds and runs on every platform and
//! only the final OS calls differ.
//!
//! ETW tells a provider when sessions enable or disable it, through its enable callback: the
//! level and keywords asked for. [`EtwProvider`] keeps them and answers "is this (level,
//! keyword) enabled" with the rules TraceLogging providers use, and wakes the provider's
//! listener watcher at once (user_events can only be polled).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;
use tracelogging::_internal::{
    EventDataDescriptor, EventDescriptor as EtwEventDescriptor, ProviderContext,
};
use tracelogging::{Channel, Guid, Level, Opcode};

use crate::encode::tracelogging::{provider_metadata, CHANNEL_TRACELOGGING};
use crate::encode::FinishedEvent;

/// `EventSetInformation` class: provider traits (the provider metadata block).
const EVENT_PROVIDER_SET_TRAITS: u32 = 2;
/// `EVENT_DATA_DESCRIPTOR` types of the three blocks of a TraceLogging event.
const DESCRIPTOR_PROVIDER_METADATA: u32 = 2;
const DESCRIPTOR_EVENT_METADATA: u32 = 1;
const DESCRIPTOR_DATA: u32 = 0;
/// Win32 `ERROR_INVALID_PARAMETER`: an event that is not TraceLogging.
const ERROR_INVALID_PARAMETER: i32 = 87;

/// What sessions asked of a provider, as its enable callback last heard.
#[derive(Debug, Default)]
pub(crate) struct EnableState {
    /// The session level (1 critical .. 5 verbose, 255 all), or -1 while disabled.
    level: AtomicI32,
    any: AtomicU64,
    all: AtomicU64,
    /// The listener watcher to wake on a change.
    waker: Mutex<Option<std::thread::Thread>>,
    /// The provider's name (for tests that play ETW's part).
    #[cfg(test)]
    provider: String,
}

impl EnableState {
    fn new(_provider: &str) -> Self {
        let state = EnableState {
            #[cfg(test)]
            provider: _provider.to_owned(),
            ..Self::default()
        };
        state.level.store(-1, Relaxed);
        state
    }

    /// True if a session wants events of `level` and `keyword`: TraceLogging's rule (a
    /// keyword of 0 matches every session).
    #[inline]
    pub(crate) fn enabled(&self, level: u8, keyword: u64) -> bool {
        if i32::from(level) > self.level.load(Relaxed) {
            return false;
        }
        let all = self.all.load(Relaxed);
        keyword == 0 || (keyword & self.any.load(Relaxed) != 0 && keyword & all == all)
    }

    /// An enable callback: control code 0 disables, 1 enables with `level` and the keyword
    /// masks; others (2, capture state) change nothing.
    pub(crate) fn update(&self, control_code: u32, level: u8, any: u64, all: u64) {
        match control_code {
            0 => self.level.store(-1, Relaxed),
            1 => {
                self.any.store(any, Relaxed);
                self.all.store(all, Relaxed);
                self.level.store(i32::from(level), Relaxed);
            }
            _ => return,
        }
        if let Some(watcher) = &*self.waker.lock() {
            watcher.unpark();
        }
    }
}

/// The enable callbacks' way back to their providers: the callback ETW calls is a plain
/// function given a `usize` context, which keys this map.
fn callbacks() -> &'static Mutex<HashMap<usize, Weak<EnableState>>> {
    static MAP: OnceLock<Mutex<HashMap<usize, Weak<EnableState>>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

/// The enable callback registered for every provider (`tracelogging::ProviderEnableCallback`).
pub(crate) fn enable_callback(
    _source_id: &Guid,
    control_code: u32,
    level: Level,
    any: u64,
    all: u64,
    _filter_data: usize,
    context: usize,
) {
    let state = callbacks().lock().get(&context).and_then(Weak::upgrade);
    if let Some(state) = state {
        state.update(control_code, level.as_int(), any, all);
    }
}

/// One registered ETW provider, shared by all its (level, keyword) tracepoints.
pub(crate) struct EtwProvider {
    context: Pin<Box<ProviderContext>>,
    /// The provider metadata block sent with every event.
    meta: Vec<u8>,
    enable: Arc<EnableState>,
    key: usize,
    /// The Win32 error of `EventRegister` (0: registered).
    registration: u32,
}

impl EtwProvider {
    /// Registers the provider `name` with id `id` (usually derived from the name).
    pub(crate) fn register(name: &str, id: Guid) -> Self {
        static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);
        let key = NEXT_KEY.fetch_add(1, Relaxed);
        let enable = Arc::new(EnableState::new(name));
        callbacks().lock().insert(key, Arc::downgrade(&enable));
        let context = Box::pin(ProviderContext::new());
        // SAFETY: `context` is pinned on the heap and owned by the returned provider, whose
        // Drop unregisters it (ending the callbacks) before the memory is freed, so ETW never
        // calls back into freed memory or an unloaded module while it is registered. It is
        // fresh, so not registered already; no other thread can reach it yet.
        let registration = unsafe { context.as_ref().register(&id, Some(enable_callback), key) };
        let meta = provider_metadata(name);
        if registration == 0 {
            context.set_information(EVENT_PROVIDER_SET_TRAITS, &meta);
        }
        EtwProvider {
            context,
            meta,
            enable,
            key,
            registration,
        }
    }

    /// The enable state its callback keeps.
    pub(crate) fn enable_state(&self) -> &EnableState {
        &self.enable
    }

    /// The Win32 error of the registration (0 on success).
    pub(crate) fn registration(&self) -> u32 {
        self.registration
    }

    /// Wakes `watcher` whenever sessions enable or disable the provider.
    pub(crate) fn set_waker(&self, watcher: Option<std::thread::Thread>) {
        *self.enable.waker.lock() = watcher;
    }

    /// Writes one finished TraceLogging event (descriptor, event metadata, data) with `level`
    /// and `keyword`. Returns 0 or a Win32 error (ERROR_INVALID_PARAMETER for an event of
    /// another format).
    pub(crate) fn write(&self, level: u8, keyword: u64, event: FinishedEvent<'_>) -> i32 {
        let FinishedEvent::TraceLogging {
            descriptor,
            meta,
            data,
        } = event
        else {
            return ERROR_INVALID_PARAMETER;
        };
        let etw_descriptor = EtwEventDescriptor::from_parts(
            descriptor.id,
            descriptor.version,
            Channel::from(CHANNEL_TRACELOGGING),
            Level::from(level),
            Opcode::from(descriptor.opcode.as_int()),
            0,
            keyword,
        );
        let blocks = [
            EventDataDescriptor::from_raw_bytes(&self.meta, DESCRIPTOR_PROVIDER_METADATA),
            EventDataDescriptor::from_raw_bytes(meta, DESCRIPTOR_EVENT_METADATA),
            EventDataDescriptor::from_raw_bytes(data, DESCRIPTOR_DATA),
        ];
        let error = self.context.write_transfer(
            &etw_descriptor,
            descriptor.activity_id(),
            descriptor.related_activity_id(),
            &blocks,
        );
        i32::try_from(error).unwrap_or(i32::MAX)
    }

    /// Unregisters (ETW stops calling back; later writes do nothing).
    pub(crate) fn unregister(&self) {
        self.context.unregister();
        self.enable.level.store(-1, Relaxed);
    }
}

impl Drop for EtwProvider {
    fn drop(&mut self) {
        self.context.unregister();
        callbacks().lock().remove(&self.key);
    }
}

/// Plays ETW's part for tests: calls the enable callback of every live provider named
/// `provider`, as a session enabling (1) or disabling (0) it would.
#[cfg(test)]
pub(crate) fn simulate_session(provider: &str, control_code: u32, level: u8, any: u64) {
    let keys: Vec<usize> = callbacks()
        .lock()
        .iter()
        .filter(|(_, state)| state.upgrade().is_some_and(|s| s.provider == provider))
        .map(|(key, _)| *key)
        .collect();
    assert!(!keys.is_empty(), "no live provider {provider}");
    for key in keys {
        let id = Guid::from_name(provider);
        enable_callback(&id, control_code, Level::from(level), any, 0, 0, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "OtelOsEvents.Test";

    fn provider() -> EtwProvider {
        EtwProvider::register(NAME, Guid::from_name(NAME))
    }

    #[test]
    fn disabled_until_a_session_enables_it() {
        let p = provider();
        assert!(!p.enable_state().enabled(1, 1));
        // What ETW calls on a session enabling level 4 (informational), keyword 0x3.
        enable_callback(
            &Guid::from_name(NAME),
            1,
            Level::Informational,
            0x3,
            0,
            0,
            p.key,
        );
        let s = p.enable_state();
        assert!(s.enabled(4, 1) && s.enabled(1, 2) && s.enabled(4, 0));
        assert!(!s.enabled(5, 1), "verbose is above the session's level");
        assert!(
            !s.enabled(4, 4),
            "keyword 4 is not in the session's any-mask"
        );
        enable_callback(&Guid::from_name(NAME), 2, Level::Verbose, 0, 0, 0, p.key);
        assert!(!s.enabled(5, 1), "capture-state changes nothing");
        enable_callback(&Guid::from_name(NAME), 0, Level::from(0), 0, 0, 0, p.key);
        assert!(!s.enabled(1, 1) && !s.enabled(1, 0));
    }

    #[test]
    fn match_all_keywords_must_all_be_present() {
        let p = provider();
        enable_callback(
            &Guid::from_name(NAME),
            1,
            Level::Verbose,
            0xff,
            0x3,
            0,
            p.key,
        );
        assert!(p.enable_state().enabled(5, 0x7));
        assert!(!p.enable_state().enabled(5, 0x1));
    }

    #[test]
    fn a_callback_for_a_dropped_provider_is_ignored() {
        let p = provider();
        let key = p.key;
        drop(p);
        enable_callback(&Guid::zero(), 1, Level::Verbose, !0, 0, 0, key);
        assert!(callbacks().lock().get(&key).is_none());
    }

    #[test]
    fn an_event_of_another_format_is_refused() {
        let p = provider();
        let raw = FinishedEvent::RawPayload(&[1, 2]);
        assert_eq!(p.write(4, 1, raw), ERROR_INVALID_PARAMETER);
        let eventheader = FinishedEvent::EventHeader {
            header: &[7; 12],
            meta: b"e\0",
            data: &[],
        };
        assert_eq!(p.write(4, 1, eventheader), ERROR_INVALID_PARAMETER);
    }
}

#[cfg(test)]
mod session_tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use parking_lot::Mutex;

    use super::simulate_session;
    use crate::logs::Processor;
    use crate::sink::Sink;
    use crate::ListenerChange;

    /// Waits (up to 10 s) until `changes` holds `n` entries.
    fn wait_for(changes: &Mutex<Vec<ListenerChange>>, n: usize) -> Vec<ListenerChange> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while changes.lock().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::mem::take(&mut *changes.lock())
    }

    #[test]
    fn etw_enable_callbacks_reach_the_state_the_listener_callback_and_the_writes() {
        const NAME: &str = "OtelOsEvents.SessionTest";
        let changes = Arc::new(Mutex::new(Vec::new()));
        let seen = changes.clone();
        let processor = Processor::builder(NAME)
            .with_sink(Sink::Etw)
            .with_listener_callback(move |c| seen.lock().push(c.clone()))
            // Far longer than the test: only ETW's callback can wake the watcher in time.
            .with_listener_poll_interval(Duration::from_secs(60))
            .build()
            .unwrap();
        let handle = processor.handle();
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(processor)
            .build();
        let logger = provider.logger("test");
        let emit = |severity| {
            let mut r = logger.create_log_record();
            r.set_severity_number(severity);
            logger.emit(r);
        };
        emit(Severity::Info);
        assert_eq!(handle.stats().accepted, 0, "no session yet");

        // A session asks for informational and more severe, keyword 1.
        simulate_session(NAME, 1, 4, 1);
        let mut on = wait_for(&changes, 4);
        on.sort_by_key(|c| c.level);
        let levels: Vec<(u8, u64, bool)> = on
            .iter()
            .map(|c| (c.level, c.keyword, c.listening))
            .collect();
        assert_eq!(
            levels,
            [(1, 1, true), (2, 1, true), (3, 1, true), (4, 1, true)]
        );
        assert_eq!(on[3].tracepoint, format!("{NAME}_L4K1"));

        emit(Severity::Info);
        emit(Severity::Debug); // verbose: not asked for
        let stats = handle.stats();
        assert_eq!((stats.accepted, stats.written), (1, 1));

        simulate_session(NAME, 0, 0, 0);
        let off = wait_for(&changes, 4);
        assert_eq!(off.len(), 4);
        assert!(off.iter().all(|c| !c.listening));
        emit(Severity::Error);
        assert_eq!(handle.stats().accepted, 1, "disabled again");
    }
}
