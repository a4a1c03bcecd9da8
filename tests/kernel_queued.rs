//! Queued mode on a real user_events kernel (inside the VM): events written by the flush
//! thread are read back by a perf reader, and the books balance exactly.
// Linux only: the perf reader (`listen`, feature `cli`) and user_events exist nowhere else.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::kernel::*;
use common::skip::kernel_or_skip;
use common::*;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions};
use otel_os_events::DropReason;

#[test]
fn queued_events_reach_perf_with_the_producer_thread_and_balanced_books() {
    if !kernel_or_skip("queued_events_reach_perf_with_the_producer_thread_and_balanced_books") {
        return;
    }
    let processor = std::sync::Arc::new(
        Processor::builder("kt_queued")
            .with_mode(Mode::Queued(QueueOptions {
                capacity: 1024,
                ..QueueOptions::default()
            }))
            .build()
            .unwrap(),
    );
    let mut session = session(&["kt_queued_L4K1"]);
    let producers: Vec<_> = (0..2)
        .map(|t| {
            let p = processor.clone();
            std::thread::spawn(move || {
                let provider = SdkLoggerProvider::builder().build();
                for i in 0..100 {
                    let body = AnyValue::Int(t * 1000 + i);
                    p.emit(
                        &mut record(&provider, Some(Severity::Info), Some(body), vec![]),
                        &InstrumentationScope::default(),
                    );
                }
                platform::os_thread_id()
            })
        })
        .collect();
    let tids: Vec<u32> = producers.into_iter().map(|p| p.join().unwrap()).collect();
    processor.force_flush().unwrap();
    let mut raw = read_raw(&mut session, 200, Duration::from_secs(10));
    // Rings are per CPU and the flush thread may move between CPUs: order by time.
    raw.sort_by_key(|e| e.time_ns);
    let stats = processor.stats();
    assert_eq!(
        stats.accepted,
        stats.written + stats.dropped_total(),
        "{stats:?}"
    );
    assert_eq!(
        raw.len() as u64,
        stats.written,
        "perf received every written event"
    );
    assert_eq!(session.lost(), 0);
    // Dropped only for a full queue, if at all; here the queue is large enough.
    assert_eq!(stats.dropped(DropReason::QueueFull), 0, "{stats:?}");
    assert_eq!(stats.written, 200);
    for (t, tid) in tids.iter().enumerate() {
        // The kernel stamps the flush thread; the event carries the producer's thread id.
        let mine: Vec<i64> = raw
            .iter()
            .map(|e| (e.tid, decode(&e.tracepoint, &e.raw)))
            .filter(|(_, d)| d.at("_thread_id") == &Val::U64(u64::from(*tid)))
            .map(|(kernel_tid, d)| {
                assert_ne!(
                    kernel_tid, *tid,
                    "written by the flush thread, not the producer"
                );
                match *d.at("PartB.body") {
                    Val::I64(i) => i,
                    ref v => panic!("{v:?}"),
                }
            })
            .collect();
        let expect: Vec<i64> = (0..100).map(|i| t as i64 * 1000 + i).collect();
        assert_eq!(mine, expect, "producer {t}'s events, complete and in order");
    }
    processor.shutdown().unwrap();
    assert!(drain(&mut session).is_empty());
}

#[test]
fn the_listener_callback_hears_a_perf_session() {
    if !kernel_or_skip("the_listener_callback_hears_a_perf_session") {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let _processor = Processor::builder("kt_watch")
        .with_listener_callback(move |c| {
            let _ = tx.lock().unwrap().send(c.clone());
        })
        .with_listener_poll_interval(Duration::from_millis(10))
        .build()
        .unwrap();
    let session = session(&["kt_watch_L2K1"]);
    let on = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("attach reported");
    assert_eq!(
        (on.tracepoint.as_str(), on.level, on.listening),
        ("kt_watch_L2K1", 2, true)
    );
    drop(session);
    let off = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("detach reported");
    assert_eq!(
        (off.tracepoint.as_str(), off.listening),
        ("kt_watch_L2K1", false)
    );
}
