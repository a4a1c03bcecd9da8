//! The queue between producers and the flush thread, model-checked.
#![cfg(otel_os_events_loom)]

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_tests::model;
use otel_os_events::mode::channel::{Channel, Refused};

/// Items a producer took back from the queue after the flush thread's last drain.
type Rescued = Arc<Mutex<Vec<u32>>>;

/// Sends `item`, recording what the send rescued; returns true if it was accepted.
fn send(channel: &Channel<u32>, item: u32, rescued: &Rescued) -> bool {
    match channel.send(item, |late| rescued.lock().unwrap().push(late)) {
        Ok(()) => true,
        Err(Refused::Full(back)) | Err(Refused::Closed(back)) => {
            assert_eq!(back, item, "a refusal hands back the item sent");
            false
        }
    }
}

/// Producers race the flush thread and shutdown: afterwards every accepted item was written
/// exactly once or rescued exactly once (handed back to a producer, to be counted), every
/// refused one was handed back, and nothing is stuck.
#[test]
fn shutdown_loses_nothing() {
    model(|| {
        let channel = Arc::new(Channel::new(2));
        let written = Arc::new(Mutex::new(Vec::new()));
        let rescued: Rescued = Arc::new(Mutex::new(Vec::new()));
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
                let (channel, rescued) = (channel.clone(), rescued.clone());
                thread::spawn(move || (item, send(&channel, item, &rescued)))
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
        let mut handled = written.lock().unwrap().clone();
        handled.extend(rescued.lock().unwrap().iter());
        handled.sort();
        assert_eq!(
            handled, accepted,
            "accepted items written exactly once (or rescued exactly once)"
        );
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
        let rescued: Rescued = Arc::new(Mutex::new(Vec::new()));
        let producer = {
            let (channel, accepted, rescued) = (channel.clone(), accepted.clone(), rescued.clone());
            thread::spawn(move || {
                if send(&channel, 7, &rescued) {
                    accepted.store(true, SeqCst);
                }
            })
        };
        let before = accepted.load(SeqCst);
        channel
            .flush(Duration::from_secs(60), |_| {
                panic!("nothing is rescued before close")
            })
            .unwrap();
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
        assert!(rescued.lock().unwrap().is_empty());
    });
}

/// A flush races shutdown and a producer: the flush returns (its marker is reached by the
/// flush thread, or rescued with the queue), and every accepted item is written or rescued
/// once.
#[test]
fn flush_racing_shutdown_returns() {
    model(|| {
        let channel = Arc::new(Channel::new(2));
        let written = Arc::new(Mutex::new(Vec::new()));
        let rescued: Rescued = Arc::new(Mutex::new(Vec::new()));
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
            let (channel, rescued) = (channel.clone(), rescued.clone());
            thread::spawn(move || send(&channel, 3, &rescued))
        };
        let closer = {
            let channel = channel.clone();
            thread::spawn(move || channel.close())
        };
        channel
            .flush(Duration::from_secs(60), |late| {
                rescued.lock().unwrap().push(late)
            })
            .expect("flush returns, whatever shutdown does");
        let accepted = producer.join().unwrap();
        closer.join().unwrap();
        flusher.join().unwrap();
        let mut handled = written.lock().unwrap().clone();
        handled.extend(rescued.lock().unwrap().iter());
        assert_eq!(
            handled.len(),
            usize::from(accepted),
            "accepted items written exactly once (or rescued exactly once)"
        );
        assert_eq!(
            channel.len(),
            0,
            "nothing stuck in the queue after shutdown"
        );
    });
}
