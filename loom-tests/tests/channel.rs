//! The queue between producers and the flush thread, model-checked.
#![cfg(otel_os_events_loom)]

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_tests::model;
use otel_os_events::mode::channel::{Channel, Refused};

/// Sends `item`; returns true if it was accepted.
fn send(channel: &Channel<u32>, item: u32) -> bool {
    match channel.send(item) {
        Ok(()) => true,
        Err(Refused::Full(_)) | Err(Refused::Closed(_)) => false,
    }
}

/// Producers race the flush thread and shutdown: afterwards every accepted item was written
/// exactly once, every refused one was handed back (to be counted), and nothing is stuck.
#[test]
fn shutdown_loses_nothing() {
    model(|| {
        let channel = Arc::new(Channel::new(2));
        let written = Arc::new(Mutex::new(Vec::new()));
        let flusher = {
            let (channel, written) = (channel.clone(), written.clone());
            thread::spawn(move || {
                channel.run(
                    |item| written.lock().unwrap().push(item),
                    Duration::from_millis(1),
                )
            })
        };
        let producers: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|item| {
                let channel = channel.clone();
                thread::spawn(move || (item, send(&channel, item)))
            })
            .collect();
        channel.close();
        let accepted: Vec<u32> = producers
            .into_iter()
            .map(|p| p.join().unwrap())
            .filter(|(_, ok)| *ok)
            .map(|(item, _)| item)
            .collect();
        flusher.join().unwrap();
        let mut written = written.lock().unwrap().clone();
        written.sort();
        assert_eq!(written, accepted, "accepted items written exactly once");
        assert_eq!(
            channel.len(),
            0,
            "nothing stuck in the queue after shutdown"
        );
    });
}

/// `flush` races a producer: an item accepted before `flush` was called has been written
/// when `flush` returns.
#[test]
fn flush_covers_everything_accepted_before_it() {
    model(|| {
        let channel = Arc::new(Channel::new(2));
        let written = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicBool::new(false));
        let flusher = {
            let (channel, written) = (channel.clone(), written.clone());
            thread::spawn(move || {
                channel.run(
                    |item| written.lock().unwrap().push(item),
                    Duration::from_millis(1),
                )
            })
        };
        let producer = {
            let (channel, accepted) = (channel.clone(), accepted.clone());
            thread::spawn(move || {
                if send(&channel, 7) {
                    accepted.store(true, SeqCst);
                }
            })
        };
        let before = accepted.load(SeqCst);
        channel.flush(Duration::from_secs(60)).unwrap();
        if before {
            assert_eq!(
                *written.lock().unwrap(),
                [7],
                "flush returned before an accepted item was written"
            );
        }
        producer.join().unwrap();
        channel.close();
        flusher.join().unwrap();
        assert_eq!(
            written.lock().unwrap().len(),
            usize::from(accepted.load(SeqCst))
        );
    });
}
