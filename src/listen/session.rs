//! [`PerfSession`]: perf events on a set of tracepoints, one ring per CPU, read with `poll`.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tracepoint_decode::PerfEventFormat;

use super::error::ListenError;
use super::names::split_tracepoint;
use super::perf::{self, OpenParams, Ring};
use super::ring::{parse_record, Record};
use super::support::TRACEFS;

/// Settings for [`PerfSession::open`]. Start from `SessionOptions::default()`.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Data pages per CPU ring (a power of two; the mapping is one page more). Default 16
    /// (64 KiB with 4 KiB pages). When a ring is full the kernel drops samples and reports
    /// them as lost ([`PerfSession::lost`]).
    pub ring_data_pages: usize,
    /// Wake the reader after this many samples (default 1: every sample). 0 means wake when
    /// half the ring is full instead, which costs fewer wakeups but delays events until
    /// [`PerfSession::read`] times out.
    pub wakeup_events: u32,
    /// Clock for [`PerfEvent::time_ns`]: `Some(clockid)` or `None` for perf's own local
    /// clock. Default `CLOCK_MONOTONIC`, comparable with `clock_gettime(CLOCK_MONOTONIC)` in
    /// the writer. Only the NMI-safe clocks `CLOCK_MONOTONIC` and `CLOCK_MONOTONIC_RAW` work
    /// for tracepoints: the kernel rejects `CLOCK_REALTIME`, `CLOCK_BOOTTIME` and `CLOCK_TAI`
    /// with `EINVAL` (seen on 6.12), because the tracepoint PMU does not declare itself
    /// NMI-free.
    pub clockid: Option<libc::clockid_t>,
    /// Open the events disabled; [`PerfSession::enable`] starts them. (The kernel sets the
    /// writers' user_events enable bit on open either way.) Default false.
    pub start_disabled: bool,
    /// Where tracefs is mounted. Default [`TRACEFS`].
    pub tracefs: PathBuf,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            ring_data_pages: 16,
            wakeup_events: 1,
            clockid: Some(libc::CLOCK_MONOTONIC),
            start_disabled: false,
            tracefs: PathBuf::from(TRACEFS),
        }
    }
}

/// One sample read from a tracepoint.
#[derive(Debug, Clone, Default)]
pub struct PerfEvent {
    /// The tracepoint's name without its system, e.g. `myprovider_L4K1` (the system is in
    /// `format`).
    pub tracepoint: String,
    /// Timestamp in the session's clock ([`SessionOptions::clockid`]), nanoseconds.
    pub time_ns: u64,
    /// Process id of the writer.
    pub pid: u32,
    /// Thread id of the writer.
    pub tid: u32,
    /// CPU the event was written on.
    pub cpu: u32,
    /// The sample's raw data after the kernel's common fields (`format.common_fields_size()`
    /// bytes: `u16 type, u8 flags, u8 preempt_count, i32 pid`), i.e. starting at the first
    /// declared field — for EventHeader events the `eventheader_flags` byte.
    ///
    /// Not trimmed: the kernel pads the record with zeros so that the raw data plus its
    /// `u32` size is a multiple of 8, and the sample does not say how many bytes were
    /// written, so up to 7 trailing zero bytes may follow the payload. Decoders ignore them
    /// (EventHeader decoding is driven by the event's own metadata; format fields have fixed
    /// offsets).
    pub raw: Vec<u8>,
    /// The tracepoint's parsed tracefs `format` (None for events not read from a session).
    pub format: Option<Arc<PerfEventFormat>>,
}

/// How long a reading loop may wait in [`PerfSession::read`] before it checks its stop flag
/// again: 200 ms, or less if `deadline` comes sooner; None once it has passed.
pub fn next_wait(deadline: Option<std::time::Instant>) -> Option<Duration> {
    let wait = Duration::from_millis(200);
    match deadline {
        None => Some(wait),
        Some(deadline) => {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            (!left.is_zero()).then(|| wait.min(left))
        }
    }
}

/// A tracepoint opened by a session.
struct Tracepoint {
    name: String,
    format: Arc<PerfEventFormat>,
}

/// One CPU's ring; every tracepoint's event on that CPU writes into it.
struct CpuRing {
    ring: Ring,
    leader_fd: RawFd,
}

/// A perf session reading samples of one or more tracepoints on every online CPU.
///
/// For each CPU the first tracepoint's event gets a mmapped ring and the others are
/// redirected into it (`PERF_EVENT_IOC_SET_OUTPUT`); each sample carries its event's id
/// (`PERF_SAMPLE_IDENTIFIER`), which maps it back to its tracepoint. Opening the events sets
/// the writers' user_events enable bits; dropping the session closes them, which clears the
/// bits again (unless another session listens).
pub struct PerfSession {
    rings: Vec<CpuRing>,
    fds: Vec<OwnedFd>,
    tracepoints: Vec<Tracepoint>,
    ids: HashMap<u64, usize>,
    lost: u64,
    skipped: u64,
    scratch: Vec<u8>,
    event: PerfEvent,
}

fn read_tracefs_file(path: &Path, tracepoint: &str) -> Result<String, ListenError> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ListenError::TracepointNotFound {
            tracepoint: tracepoint.to_string(),
        },
        _ => ListenError::from_errno(
            || format!("read {}", path.display()),
            e.raw_os_error().unwrap_or(0),
            |operation, errno| ListenError::Syscall { operation, errno },
        ),
    })
}

/// Parses a kernel CPU list such as `0-3,5,7-8` (the format of
/// `/sys/devices/system/cpu/online`).
pub(crate) fn parse_cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

fn online_cpus() -> Result<Vec<u32>, ListenError> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|e| ListenError::Syscall {
        operation: format!("read {path}"),
        errno: e.raw_os_error().unwrap_or(0),
    })?;
    parse_cpu_list(&text).ok_or_else(|| ListenError::Parse {
        what: format!("{path} ({:?})", text.trim()),
    })
}

fn load_tracepoint(tracefs: &Path, spec: &str) -> Result<(Tracepoint, u64), ListenError> {
    let (system, name) = split_tracepoint(spec)?;
    let dir = tracefs.join("events").join(system).join(name);
    let id_text = read_tracefs_file(&dir.join("id"), spec)?;
    let id: u64 = id_text.trim().parse().map_err(|_| ListenError::Parse {
        what: format!("{}/id ({:?})", dir.display(), id_text.trim()),
    })?;
    let format_text = read_tracefs_file(&dir.join("format"), spec)?;
    let format = PerfEventFormat::parse(cfg!(target_pointer_width = "64"), system, &format_text)
        .ok_or_else(|| ListenError::Parse {
            what: format!("{}/format", dir.display()),
        })?;
    let tp = Tracepoint {
        name: name.to_string(),
        format: Arc::new(format),
    };
    Ok((tp, id))
}

impl PerfSession {
    /// Opens perf events for `tracepoints` (each `name` for `user_events:name`, or
    /// `system:name`) on every online CPU, with sample period 1 (every event), and maps one
    /// ring per CPU.
    ///
    /// The tracepoints must exist already (see [`ensure_registered`](super::ensure_registered)
    /// for EventHeader tracepoints).
    ///
    /// Every CPU samples once this returns. Writers see their enable bit set earlier, as soon
    /// as the first CPU's event is open: an event written in that window on a CPU not open
    /// yet is not recorded. (A writer cannot tell when a session is fully open; a caller
    /// that coordinates with writers should signal them after `open` returns.) Needs root, `CAP_PERFMON`, or a permissive
    /// `perf_event_paranoid` for system-wide tracepoint sampling.
    pub fn open(tracepoints: &[&str], options: SessionOptions) -> Result<PerfSession, ListenError> {
        if tracepoints.is_empty() {
            return Err(ListenError::InvalidOption {
                reason: "no tracepoints given".to_string(),
            });
        }
        let pages = options.ring_data_pages;
        if pages == 0 || !pages.is_power_of_two() || pages > 1 << 20 {
            return Err(ListenError::InvalidOption {
                reason: format!("ring_data_pages must be a power of two (got {pages})"),
            });
        }
        let mut loaded = Vec::with_capacity(tracepoints.len());
        for spec in tracepoints {
            loaded.push(load_tracepoint(&options.tracefs, spec)?);
        }
        let cpus = online_cpus()?;
        let mut session = PerfSession {
            rings: Vec::with_capacity(cpus.len()),
            fds: Vec::with_capacity(cpus.len() * loaded.len()),
            tracepoints: Vec::with_capacity(loaded.len()),
            ids: HashMap::new(),
            lost: 0,
            skipped: 0,
            scratch: Vec::new(),
            event: PerfEvent::default(),
        };
        let ring_bytes = pages * perf::page_size();
        let watermark = u32::try_from(ring_bytes / 2).unwrap_or(u32::MAX);
        for &cpu in &cpus {
            let mut leader: Option<usize> = None;
            for (index, (tp, tracepoint_id)) in loaded.iter().enumerate() {
                let spec = tracepoints[index];
                let params = OpenParams {
                    tracepoint_id: *tracepoint_id,
                    cpu,
                    wakeup_events: options.wakeup_events,
                    watermark_bytes: watermark,
                    clockid: options.clockid,
                    disabled: options.start_disabled,
                };
                let fd = perf::open_tracepoint(&params).map_err(|errno| {
                    ListenError::from_errno(
                        || {
                            format!(
                                "perf_event_open({}:{}, cpu {cpu})",
                                tp.format.system_name(),
                                tp.name
                            )
                        },
                        errno,
                        |_, errno| ListenError::PerfEventOpen {
                            tracepoint: spec.to_string(),
                            cpu,
                            errno,
                        },
                    )
                })?;
                let ioctl_err = |what: &str, errno| ListenError::Syscall {
                    operation: format!("ioctl({what}) on {spec}, cpu {cpu}"),
                    errno,
                };
                let event_id =
                    perf::ioctl_id(&fd).map_err(|e| ioctl_err("PERF_EVENT_IOC_ID", e))?;
                match leader {
                    None => {
                        let ring = Ring::map(&fd, pages)
                            .map_err(|(len, errno)| ListenError::Mmap { cpu, len, errno })?;
                        session.rings.push(CpuRing {
                            ring,
                            leader_fd: fd.as_raw_fd(),
                        });
                        leader = Some(session.fds.len());
                    }
                    Some(l) => perf::ioctl_set_output(&fd, &session.fds[l])
                        .map_err(|e| ioctl_err("PERF_EVENT_IOC_SET_OUTPUT", e))?,
                }
                session.ids.insert(event_id, index);
                session.fds.push(fd);
            }
        }
        session.tracepoints = loaded.into_iter().map(|(tp, _)| tp).collect();
        Ok(session)
    }

    /// Waits up to `timeout` for samples, then drains every ring, calling `on_event` for
    /// each sample in ring order (per CPU; events of different CPUs are not merged by time).
    /// Returns the number of events delivered. Returns early (possibly with 0) when a signal
    /// interrupts the wait, so a caller can check a stop flag.
    pub fn read(
        &mut self,
        timeout: Duration,
        mut on_event: impl FnMut(&PerfEvent),
    ) -> Result<usize, ListenError> {
        let lost_before = self.lost;
        let n = self.drain(&mut on_event);
        if n > 0 || self.lost != lost_before || timeout.is_zero() {
            return Ok(n);
        }
        let ms = i32::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX);
        let fds: Vec<RawFd> = self.rings.iter().map(|r| r.leader_fd).collect();
        perf::poll_in(&fds, ms).map_err(|errno| ListenError::Syscall {
            operation: "poll on perf rings".to_string(),
            errno,
        })?;
        Ok(self.drain(&mut on_event))
    }

    fn drain(&mut self, on_event: &mut impl FnMut(&PerfEvent)) -> usize {
        let PerfSession {
            rings,
            tracepoints,
            ids,
            lost,
            skipped,
            scratch,
            event,
            ..
        } = self;
        let mut delivered = 0;
        for cpu_ring in rings.iter_mut() {
            let corrupt = cpu_ring.ring.drain(scratch, |rec| match parse_record(rec) {
                Record::Sample {
                    id,
                    pid,
                    tid,
                    time,
                    cpu,
                    raw,
                } => {
                    let index = ids.get(&id).copied().or_else(|| {
                        // Fallback: the common_type field is the tracepoint id.
                        let common_type = u16::from_ne_bytes(raw.get(..2)?.try_into().ok()?);
                        tracepoints
                            .iter()
                            .position(|t| t.format.id() == u32::from(common_type))
                    });
                    let Some(tp) = index.map(|i| &tracepoints[i]) else {
                        *skipped += 1;
                        return;
                    };
                    let user = raw
                        .get(tp.format.common_fields_size() as usize..)
                        .unwrap_or(&[]);
                    event.tracepoint.clear();
                    event.tracepoint.push_str(&tp.name);
                    event.time_ns = time;
                    event.pid = pid;
                    event.tid = tid;
                    event.cpu = cpu;
                    event.raw.clear();
                    event.raw.extend_from_slice(user);
                    if !event
                        .format
                        .as_ref()
                        .is_some_and(|f| Arc::ptr_eq(f, &tp.format))
                    {
                        event.format = Some(Arc::clone(&tp.format));
                    }
                    delivered += 1;
                    on_event(event);
                }
                Record::Lost { lost: n, .. } => *lost += n,
                Record::Other { .. } => *skipped += 1,
            });
            if corrupt {
                *skipped += 1;
            }
        }
        delivered
    }

    /// Samples the kernel dropped because a ring was full (sum of `PERF_RECORD_LOST`).
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Records that were skipped: unknown record types, samples of an unknown event, or
    /// a corrupt ring. Expected to stay 0.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The tracepoint names this session reads (without their systems), in `open` order.
    pub fn tracepoints(&self) -> impl Iterator<Item = &str> {
        self.tracepoints.iter().map(|t| t.name.as_str())
    }

    /// Starts (or resumes) sampling on every event (`PERF_EVENT_IOC_ENABLE`).
    pub fn enable(&self) -> Result<(), ListenError> {
        self.each_fd("PERF_EVENT_IOC_ENABLE", perf::ioctl_enable)
    }

    /// Pauses sampling on every event (`PERF_EVENT_IOC_DISABLE`). The writers' enable bits
    /// stay set while the session is open: the kernel ties them to the events existing.
    pub fn disable(&self) -> Result<(), ListenError> {
        self.each_fd("PERF_EVENT_IOC_DISABLE", perf::ioctl_disable)
    }

    fn each_fd(
        &self,
        what: &str,
        f: impl Fn(&OwnedFd) -> Result<(), i32>,
    ) -> Result<(), ListenError> {
        for fd in &self.fds {
            f(fd).map_err(|errno| ListenError::Syscall {
                operation: format!("ioctl({what})"),
                errno,
            })?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for PerfSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfSession")
            .field("tracepoints", &self.tracepoints().collect::<Vec<_>>())
            .field("cpus", &self.rings.len())
            .field("lost", &self.lost)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list("0\n"), Some(vec![0]));
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0-2,4,6-7"), Some(vec![0, 1, 2, 4, 6, 7]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn rejects_bad_options_before_touching_the_kernel() {
        let opts = SessionOptions {
            ring_data_pages: 3,
            ..Default::default()
        };
        assert!(matches!(
            PerfSession::open(&["p_L4K1"], opts),
            Err(ListenError::InvalidOption { .. })
        ));
        assert!(matches!(
            PerfSession::open(&[], SessionOptions::default()),
            Err(ListenError::InvalidOption { .. })
        ));
        assert!(matches!(
            PerfSession::open(&["../../etc"], SessionOptions::default()),
            Err(ListenError::InvalidName { .. })
        ));
    }

    #[test]
    fn missing_tracepoint_is_not_found() {
        let opts = SessionOptions {
            tracefs: PathBuf::from("/nonexistent-tracefs"),
            ..Default::default()
        };
        assert!(matches!(
            PerfSession::open(&["p_L4K1"], opts),
            Err(ListenError::TracepointNotFound { .. })
        ));
    }
}
