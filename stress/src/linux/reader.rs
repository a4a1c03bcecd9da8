//! The listener: a perf ring-buffer reader on its own thread that decodes every sample into
//! the books, and the sentinels that make its lost-sample count exact.
//!
//! The kernel does not report lost samples when it loses them: it adds them up per ring and
//! writes one `PERF_RECORD_LOST` just before the next sample that fits in that ring. Samples
//! lost at the very end of a run would never be reported. So once the emitters are done and
//! the reader has emptied every ring, one sentinel event is written on each CPU (by a thread
//! pinned there); the reader stops once it has seen a sentinel from every CPU, and by then
//! it has read every ring's pending lost record too.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogProcessor, SdkLoggerProvider};
use otel_os_events::listen::{PerfSession, SessionOptions};
use otel_os_events::logs::Processor;
use rustix::thread::{sched_setaffinity, CpuSet};
use tracepoint_decode::EventHeaderEnumeratorContext;

use super::books::Books;
use super::decode::{decode, Decoded, SENTINEL_KEY};

/// How long the reader waits for the sentinels after the rings were emptied.
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the reader saw.
pub struct Read {
    /// The books of every stress event received.
    pub books: Books,
    /// Samples the kernel reported lost.
    pub lost: u64,
    /// Records the session skipped (unknown or corrupt).
    pub skipped: u64,
    /// CPUs whose sentinel never arrived (their pending lost samples may be missing).
    pub no_sentinel: Vec<u32>,
}

/// A running perf reader.
pub struct Reader {
    stop: Arc<AtomicBool>,
    drained: mpsc::Receiver<()>,
    cpus: Vec<u32>,
    thread: JoinHandle<Read>,
}

impl Reader {
    /// Opens a perf session on `tracepoint` (rings of `ring_pages` data pages per CPU) and
    /// starts reading it into books for `threads` emitting threads.
    pub fn start(tracepoint: &str, threads: usize, ring_pages: usize) -> Result<Reader, String> {
        let options = SessionOptions {
            ring_data_pages: ring_pages,
            // Wake on half a ring (or the read timeout), not on every sample.
            wakeup_events: 0,
            ..SessionOptions::default()
        };
        let mut session = PerfSession::open(&[tracepoint], options)
            .map_err(|e| format!("open a perf session on {tracepoint}: {e}"))?;
        let cpus = online_cpus()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (drained_tx, drained) = mpsc::channel();
        let (stop_seen, expected) = (stop.clone(), cpus.clone());
        let thread = std::thread::spawn(move || {
            let mut books = Books::new(threads);
            let mut ctx = EventHeaderEnumeratorContext::new();
            let mut sentinels = BTreeSet::new();
            let mut sentinel_deadline = None;
            loop {
                // Read the flag before draining: every write happened before it was set, so
                // an empty read after seeing it means the rings are empty.
                let stopping = stop_seen.load(Ordering::Acquire);
                let n = session
                    .read(Duration::from_millis(20), |e| {
                        match decode(&mut ctx, &e.tracepoint, &e.raw) {
                            Decoded::Sentinel => {
                                sentinels.insert(e.cpu);
                            }
                            d => books.record(e.cpu as usize, d.origin()),
                        }
                    })
                    .unwrap_or_else(|e| panic!("read the perf session: {e}"));
                if stopping && n == 0 && sentinel_deadline.is_none() {
                    sentinel_deadline = Some(Instant::now() + SENTINEL_TIMEOUT);
                    let _ = drained_tx.send(());
                }
                let all = expected.iter().all(|c| sentinels.contains(c));
                if sentinel_deadline.is_some_and(|d| all || Instant::now() >= d) {
                    break;
                }
            }
            Read {
                books,
                lost: session.lost(),
                skipped: session.skipped(),
                no_sentinel: expected
                    .into_iter()
                    .filter(|c| !sentinels.contains(c))
                    .collect(),
            }
        });
        Ok(Reader {
            stop,
            drained,
            cpus,
            thread,
        })
    }

    /// Call once every event was written: waits until the reader emptied the rings, writes a
    /// sentinel on every CPU through `sentinel` (a sync processor of the same provider) and
    /// returns what the reader saw once every sentinel arrived (or after a timeout).
    pub fn finish(self, sentinel: &Arc<Processor>) -> Result<Read, String> {
        self.stop.store(true, Ordering::Release);
        self.drained
            .recv()
            .map_err(|_| "the reader thread died".to_string())?;
        for &cpu in &self.cpus {
            let p = sentinel.clone();
            std::thread::spawn(move || write_sentinel(&p, cpu))
                .join()
                .expect("sentinel thread panicked")?;
        }
        self.thread
            .join()
            .map_err(|_| "the reader thread panicked".to_string())
    }
}

/// Writes one sentinel on `cpu`, from this thread pinned there.
fn write_sentinel(p: &Processor, cpu: u32) -> Result<(), String> {
    let mut set = CpuSet::new();
    set.set(cpu as usize);
    sched_setaffinity(None, &set).map_err(|e| format!("pin a thread to CPU {cpu}: {e}"))?;
    let provider = SdkLoggerProvider::builder().build();
    let mut r = provider.logger("stress").create_log_record();
    r.set_severity_number(Severity::Info);
    r.set_body(AnyValue::String("sentinel".into()));
    r.add_attribute(SENTINEL_KEY, i64::from(cpu));
    p.emit(&mut r, &InstrumentationScope::default());
    Ok(())
}

/// The online CPUs, from `/sys/devices/system/cpu/online` (e.g. `0-1,4`): the CPUs the perf
/// session has a ring for.
fn online_cpus() -> Result<Vec<u32>, String> {
    const ONLINE: &str = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(ONLINE).map_err(|e| format!("read {ONLINE}: {e}"))?;
    let mut cpus = Vec::new();
    for range in text.trim().split(',') {
        let bad = || format!("{ONLINE}: cannot parse {:?}", text.trim());
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last) = (first.parse::<u32>(), last.parse::<u32>());
        cpus.extend(first.map_err(|_| bad())?..=last.map_err(|_| bad())?);
    }
    Ok(cpus)
}
