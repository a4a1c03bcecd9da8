//! Queued mode on the capture sink: the flush thread writes, counts reconcile exactly
//! (accepted = written + dropped), and shutdown, flush and full queues keep their promises.

mod common;

use std::time::Duration;

use common::*;
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::logs::Processor;
use otel_os_events::mode::{Mode, QueueOptions, WhenFull};
use otel_os_events::sink::CaptureSink;
use otel_os_events::{DropReason, Error, Stats};

fn queued(capacity: usize, when_full: WhenFull, deadline: Duration) -> Mode {
    Mode::Queued(QueueOptions {
        capacity,
        when_full,
        shutdown_deadline: deadline,
        ..QueueOptions::default()
    })
}

fn emit_n(processor: &Processor, n: usize) {
    let provider = SdkLoggerProvider::builder().build();
    for i in 0..n {
        let mut r = record(
            &provider,
            Some(Severity::Info),
            Some(AnyValue::Int(i as i64)),
            vec![],
        );
        processor.emit(&mut r, &InstrumentationScope::default());
    }
}

fn balanced(stats: &Stats) {
    assert_eq!(
        stats.accepted,
        stats.written + stats.dropped_total(),
        "{stats:?}"
    );
}

#[test]
fn the_flush_thread_writes_and_stamps_the_producer_thread() {
    let (processor, capture) =
        capture_processor(Processor::builder("q").with_mode(Mode::Queued(QueueOptions::default())));
    let processor = std::sync::Arc::new(processor);
    let tids: Vec<u32> = (0..3)
        .map(|_| {
            let p = processor.clone();
            std::thread::spawn(move || {
                emit_n(&p, 50);
                platform::os_thread_id()
            })
        })
        .map(|t| t.join().unwrap())
        .collect();
    processor.force_flush().unwrap();
    let events = decoded(&capture);
    assert_eq!(events.len(), 150);
    for tid in &tids {
        let mine: Vec<i64> = events
            .iter()
            .filter(|e| e.at("_thread_id") == &Val::U64(u64::from(*tid)))
            .map(|e| match e.at("PartB.body") {
                Val::I64(i) => *i,
                v => panic!("{v:?}"),
            })
            .collect();
        assert_eq!(
            mine,
            (0..50).collect::<Vec<_>>(),
            "each producer's events, in its order"
        );
    }
    let stats = processor.stats();
    assert_eq!((stats.accepted, stats.written), (150, 150));
    assert!(stats.queue_high_water >= 1);
}

#[test]
fn a_full_queue_drops_and_counts() {
    let (processor, capture) = capture_processor(Processor::builder("qf").with_mode(queued(
        4,
        WhenFull::Drop,
        Duration::from_secs(5),
    )));
    // A stalled kernel: the flush thread waits in its first write, whatever the speed of
    // the machine, so the queue fills.
    capture.hold_writes(true);
    emit_n(&processor, 100);
    capture.hold_writes(false);
    processor.force_flush().unwrap();
    let stats = processor.stats();
    balanced(&stats);
    assert_eq!(stats.accepted, 100);
    assert!(stats.dropped(DropReason::QueueFull) >= 80, "{stats:?}");
    assert_eq!(capture.events().len() as u64, stats.written);
    assert_eq!(stats.queue_high_water, 4);
}

#[test]
fn a_spent_byte_budget_drops_large_events_and_counts_them() {
    let (processor, capture) = capture_processor(Processor::builder("qbytes").with_mode(
        Mode::Queued(QueueOptions {
            max_bytes: otel_os_events::mode::MIN_QUEUE_BYTES,
            ..QueueOptions::default()
        }),
    ));
    capture.hold_writes(true);
    let provider = SdkLoggerProvider::builder().build();
    let large = AnyValue::String("x".repeat(7_000).into());
    for i in 0..200 {
        let body = if i % 2 == 0 {
            large.clone()
        } else {
            AnyValue::Int(i)
        };
        let mut r = record(&provider, Some(Severity::Info), Some(body), vec![]);
        processor.emit(&mut r, &InstrumentationScope::default());
    }
    capture.hold_writes(false);
    processor.force_flush().unwrap();
    let stats = processor.stats();
    balanced(&stats);
    assert_eq!(stats.accepted, 200);
    // 256 KiB hold a few dozen buffers of large events waiting behind a stalled writer: the
    // budget runs out long before the queue's 4,096 slots do.
    let over = stats.dropped(DropReason::QueueBytes);
    assert!(over > 0, "{stats:?}");
    assert_eq!(
        over,
        stats.dropped_total(),
        "only the budget dropped: {stats:?}"
    );
    assert!(stats.queue_high_water < 200, "{stats:?}");
    let events = capture.events();
    assert_eq!(events.len() as u64, stats.written);
    assert!(
        events.iter().any(|e| e.payload.len() > 7_000),
        "large events within the budget are written"
    );
    assert_eq!(
        DropReason::QueueBytes.to_string(),
        "queue byte budget exceeded"
    );
}

#[test]
fn block_waits_for_room_instead() {
    let (processor, capture) = capture_processor(Processor::builder("qb").with_mode(queued(
        2,
        WhenFull::Block {
            timeout: Duration::from_secs(10),
        },
        Duration::from_secs(5),
    )));
    capture.set_write_delay(Some(Duration::from_millis(2)));
    emit_n(&processor, 30);
    processor.force_flush().unwrap();
    let stats = processor.stats();
    assert_eq!(
        (stats.accepted, stats.written, stats.dropped_total()),
        (30, 30, 0)
    );
    assert_eq!(capture.events().len(), 30);
}

#[test]
fn shutdown_drains_then_refuses() {
    let (processor, capture) = capture_processor(Processor::builder("qs").with_mode(queued(
        1000,
        WhenFull::Drop,
        Duration::from_secs(10),
    )));
    capture.set_write_delay(Some(Duration::from_micros(200)));
    emit_n(&processor, 200);
    processor.shutdown().unwrap();
    assert_eq!(capture.events().len(), 200, "everything queued was written");
    emit_n(&processor, 3);
    let stats = processor.stats();
    balanced(&stats);
    assert_eq!(stats.dropped(DropReason::AfterShutdown), 3);
    assert!(capture.registered().is_empty());
}

#[test]
fn what_misses_the_shutdown_deadline_is_counted() {
    let (processor, capture) = capture_processor(Processor::builder("qd").with_mode(queued(
        1000,
        WhenFull::Drop,
        Duration::from_millis(100),
    )));
    capture.set_write_delay(Some(Duration::from_millis(10)));
    emit_n(&processor, 200);
    processor.shutdown().unwrap();
    let stats = processor.stats();
    balanced(&stats);
    let late = stats.dropped(DropReason::Shutdown);
    assert!(late > 100, "{stats:?}");
    assert_eq!(capture.events().len() as u64, stats.written);
    assert_eq!(stats.written + late, 200);
}

#[test]
fn dropping_without_shutdown_still_writes_what_was_queued() {
    let capture = CaptureSink::new();
    capture.set_write_delay(Some(Duration::from_micros(500)));
    {
        let processor = Processor::builder("qdrop")
            .with_sink(otel_os_events::sink::Sink::Capture(capture.clone()))
            .with_mode(queued(1000, WhenFull::Drop, Duration::from_secs(10)))
            .build()
            .unwrap();
        emit_n(&processor, 100);
    }
    assert_eq!(capture.events().len(), 100);
}

#[test]
fn a_listener_that_left_before_the_write_is_counted() {
    let (processor, capture) = capture_processor(Processor::builder("ql").with_mode(queued(
        1000,
        WhenFull::Drop,
        Duration::from_secs(5),
    )));
    capture.set_write_delay(Some(Duration::from_millis(5)));
    emit_n(&processor, 50);
    capture.set_listening_all(false);
    processor.force_flush().unwrap();
    let stats = processor.stats();
    balanced(&stats);
    assert!(stats.dropped(DropReason::NoListener) > 0, "{stats:?}");
    // The one write in flight when the listener left may have passed the flush thread's
    // check and met the sink's own: it is refused with EBADF, and counted so (seen in the
    // TCG VM). Every other event is written or counted as having no listener.
    let in_flight = stats.dropped(DropReason::WriteError { errno: libc::EBADF });
    assert!(in_flight <= 1, "{stats:?}");
    assert_eq!(
        stats.written + stats.dropped(DropReason::NoListener) + in_flight,
        50,
        "{stats:?}"
    );
}

#[test]
fn queue_options_are_validated() {
    for capacity in [0, (1 << 20) + 1] {
        let err = Processor::builder("p")
            .with_mode(Mode::Queued(QueueOptions {
                capacity,
                ..QueueOptions::default()
            }))
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidQueueCapacity {
                capacity,
                max: otel_os_events::mode::MAX_QUEUE_CAPACITY
            }
        );
    }
    let min = otel_os_events::mode::MIN_QUEUE_BYTES;
    for bytes in [0, min - 1] {
        let err = Processor::builder("p")
            .with_mode(Mode::Queued(QueueOptions {
                max_bytes: bytes,
                ..QueueOptions::default()
            }))
            .build()
            .unwrap_err();
        assert_eq!(err, Error::InvalidQueueBytes { bytes, min });
    }
    let at_min = QueueOptions {
        max_bytes: min,
        ..QueueOptions::default()
    };
    assert!(Processor::builder("p")
        .with_mode(Mode::Queued(at_min))
        .build()
        .is_ok());
    for name in ["", "a\0b"] {
        let err = Processor::builder("p")
            .with_mode(Mode::Queued(QueueOptions {
                thread_name: name.into(),
                ..QueueOptions::default()
            }))
            .build()
            .unwrap_err();
        assert_eq!(err, Error::InvalidThreadName);
    }
}

// Linux only: the flush thread's CPU time is read from /proc/self/task.
#[cfg(target_os = "linux")]
#[test]
fn the_idle_flush_thread_sleeps() {
    let (processor, _capture) = capture_processor(Processor::builder("qi").with_mode(
        Mode::Queued(QueueOptions {
            thread_name: "qi-flush".into(),
            ..QueueOptions::default()
        }),
    ));
    emit_n(&processor, 10);
    processor.force_flush().unwrap();
    let flush_thread_ticks = || -> Option<u64> {
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            // Other tests' threads may exit between the listing and the read: skip those.
            let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
                continue;
            };
            if comm.trim() == "qi-flush" {
                let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
                let fields: Vec<&str> = stat
                    .rsplit(')')
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .collect();
                return Some(
                    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap(),
                );
            }
        }
        None
    };
    // Listing /proc/self/task while other tests' threads exit can skip entries: look again.
    let cpu_ticks = || -> u64 {
        (0..20)
            .find_map(|_| flush_thread_ticks())
            .expect("no flush thread named qi-flush")
    };
    let before = cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    // A spinning thread would use ~100 ticks (1 s); a sleeping one wakes 20 times a second.
    assert!(cpu_ticks() - before <= 5, "the idle flush thread used CPU");
}

/// The high-water mark counts events, not the markers `force_flush` sends through the
/// queue: flushes alone leave it at 0 (the flush thread measures it, it once counted them).
#[test]
fn flushes_alone_leave_the_high_water_mark_at_zero() {
    let processor = Processor::builder("hw")
        .with_mode(queued(64, WhenFull::Drop, Duration::from_secs(5)))
        .build()
        .unwrap();
    for _ in 0..20 {
        processor.force_flush().unwrap();
    }
    assert_eq!(processor.stats().queue_high_water, 0);
}
