//! The swapped provider state, model-checked: writers registering keywords race readers.
#![cfg(otel_os_events_loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::model;
use otel_os_events::logs::{OversizePolicy, DEFAULT_MAX_EVENT_SIZE};
use otel_os_events::sink::{CaptureSink, Sink};
use otel_os_events::state::{ProviderState, SizeLimits};

fn state(provider: &str) -> ProviderState {
    let limits = SizeLimits {
        max_event_size: DEFAULT_MAX_EVENT_SIZE,
        oversize: OversizePolicy::Truncate,
    };
    ProviderState::new(provider, Sink::Capture(CaptureSink::new()), 1, limits)
}

/// Two writers register different keywords while a reader loads snapshots: the reader only
/// sees whole snapshots (keyword 1 first, no duplicates, one listening entry per set), and
/// afterwards both writers' keywords are there (no lost update).
#[test]
fn snapshot_swaps_race_readers() {
    model(|| {
        let state = Arc::new(state("loomp"));
        let writers: Vec<_> = [2u64, 3]
            .into_iter()
            .map(|keyword| {
                let state = state.clone();
                thread::spawn(move || assert_eq!(state.set_for(keyword).unwrap().keyword, keyword))
            })
            .collect();
        let reader = {
            let state = state.clone();
            thread::spawn(move || {
                let snapshot = state.load();
                let keywords: Vec<u64> = snapshot.sets.iter().map(|s| s.keyword).collect();
                assert_eq!(keywords[0], 1);
                let mut unique = keywords.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), keywords.len(), "a keyword registered twice");
            })
        };
        for w in writers {
            w.join().unwrap();
        }
        reader.join().unwrap();
        let mut keywords: Vec<u64> = state.load().sets.iter().map(|s| s.keyword).collect();
        keywords.sort();
        assert_eq!(keywords, [1, 2, 3], "a writer's keyword was lost");
    });
}

/// Registering the same keyword from two threads yields one set, shared.
#[test]
fn same_keyword_registers_once() {
    model(|| {
        let state = Arc::new(state("loomq"));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let state = state.clone();
                thread::spawn(move || state.set_for(9).unwrap())
            })
            .collect();
        let sets: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(Arc::ptr_eq(&sets[0], &sets[1]));
        assert_eq!(state.load().sets.len(), 2);
    });
}
