//! The perf kernel interface: `perf_event_open`, its ioctls, and the mmapped ring buffer.
//! This file holds all of the listener's `unsafe`.

use std::ffi::c_void;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ring::{self, RingFault, RingSource};

/// `PERF_TYPE_TRACEPOINT`: `config` is the tracepoint id from tracefs.
const PERF_TYPE_TRACEPOINT: u32 = 2;
/// `PERF_ATTR_SIZE_VER5`: the attr layout up to `aux_watermark` + `sample_max_stack`
/// (Linux 4.1+). Later fields are zero, so the smaller size is accepted by every kernel
/// since and we need nothing newer.
const PERF_ATTR_SIZE_VER5: u32 = 112;
/// `PERF_FLAG_FD_CLOEXEC`: the new fd is close-on-exec (children must not inherit it, or
/// they would keep the writers' enable bits set after we exit).
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// Bit `n` of the `perf_event_attr` flags bitfield. C bitfields are allocated from the least
/// significant bit on little-endian ABIs and from the most significant on big-endian ones.
const fn attr_flag(n: u32) -> u64 {
    if cfg!(target_endian = "big") {
        1 << (63 - n)
    } else {
        1 << n
    }
}
const ATTR_DISABLED: u64 = attr_flag(0);
const ATTR_WATERMARK: u64 = attr_flag(14);
const ATTR_USE_CLOCKID: u64 = attr_flag(25);

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER5` (see `linux/perf_event.h`).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved_2: u16,
}
const _: () = assert!(std::mem::size_of::<PerfEventAttr>() == PERF_ATTR_SIZE_VER5 as usize);

/// `_IOC(dir, '$', nr, size)` for the perf ioctls. The direction encoding differs on a few
/// architectures.
const fn perf_ioc(dir: u64, nr: u64, size: u64) -> u64 {
    const SIZE_BITS: u64 = if cfg!(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    )) {
        13
    } else {
        14
    };
    (dir << (16 + SIZE_BITS)) | (size << 16) | ((b'$' as u64) << 8) | nr
}
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
const IOC_NONE_READ: (u64, u64) = (1, 2);
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
const IOC_NONE_READ: (u64, u64) = (0, 2);

const PERF_EVENT_IOC_ENABLE: u64 = perf_ioc(IOC_NONE_READ.0, 0, 0);
const PERF_EVENT_IOC_DISABLE: u64 = perf_ioc(IOC_NONE_READ.0, 1, 0);
const PERF_EVENT_IOC_SET_OUTPUT: u64 = perf_ioc(IOC_NONE_READ.0, 5, 0);
const PERF_EVENT_IOC_ID: u64 = perf_ioc(IOC_NONE_READ.1, 7, 8);

/// Offsets of the ring control words in `struct perf_event_mmap_page`.
const DATA_HEAD_OFFSET: usize = 1024;
const DATA_TAIL_OFFSET: usize = 1032;
const DATA_OFFSET_OFFSET: usize = 1040;
const DATA_SIZE_OFFSET: usize = 1048;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The per-event settings of [`open_tracepoint`].
pub(crate) struct OpenParams {
    /// Tracepoint id (the tracefs `id` file).
    pub tracepoint_id: u64,
    /// CPU to open on (pid is always -1: every process).
    pub cpu: u32,
    /// Wake `poll` after this many samples (0 = use `watermark_bytes`).
    pub wakeup_events: u32,
    /// Wake `poll` when this many bytes are pending (used when `wakeup_events` is 0).
    pub watermark_bytes: u32,
    /// `Some(clockid)` to timestamp with that clock instead of perf's local clock.
    pub clockid: Option<i32>,
    /// Open disabled (then [`ioctl_enable`] starts it).
    pub disabled: bool,
}

/// Opens one `PERF_TYPE_TRACEPOINT` event sampling every occurrence with
/// [`ring::SAMPLE_TYPE`]. Returns the fd or the errno.
pub(crate) fn open_tracepoint(p: &OpenParams) -> Result<OwnedFd, i32> {
    let mut attr = PerfEventAttr {
        type_: PERF_TYPE_TRACEPOINT,
        size: PERF_ATTR_SIZE_VER5,
        config: p.tracepoint_id,
        sample_period: 1,
        sample_type: ring::SAMPLE_TYPE,
        ..Default::default()
    };
    if p.wakeup_events > 0 {
        attr.wakeup = p.wakeup_events;
    } else {
        attr.flags |= ATTR_WATERMARK;
        attr.wakeup = p.watermark_bytes.max(1);
    }
    if let Some(clockid) = p.clockid {
        attr.flags |= ATTR_USE_CLOCKID;
        attr.clockid = clockid;
    }
    if p.disabled {
        attr.flags |= ATTR_DISABLED;
    }
    let pid: libc::pid_t = -1;
    let group_fd: libc::c_int = -1;
    let flags: libc::c_ulong = PERF_FLAG_FD_CLOEXEC;
    // SAFETY: perf_event_open reads `attr.size` bytes from a pointer to a live, initialised
    // `PerfEventAttr` of exactly that size; the other arguments are plain integers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            pid,
            p.cpu as libc::c_int,
            group_fd,
            flags,
        )
    };
    if ret < 0 {
        return Err(errno());
    }
    // SAFETY: the syscall returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// `ioctl(fd, request, arg)` for the perf ioctls, mapping failure to the errno.
fn perf_ioctl(fd: RawFd, request: u64, arg: libc::c_ulong) -> Result<(), i32> {
    // SAFETY: `fd` is a perf event fd we own and `request` is one of the perf ioctls whose
    // argument is an integer (ENABLE, DISABLE take 0; SET_OUTPUT takes an fd).
    let ret = unsafe { libc::ioctl(fd, request as _, arg) };
    if ret < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// `PERF_EVENT_IOC_ENABLE`.
pub(crate) fn ioctl_enable(fd: &OwnedFd) -> Result<(), i32> {
    perf_ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0)
}

/// `PERF_EVENT_IOC_DISABLE`.
pub(crate) fn ioctl_disable(fd: &OwnedFd) -> Result<(), i32> {
    perf_ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_DISABLE, 0)
}

/// `PERF_EVENT_IOC_SET_OUTPUT`: send `fd`'s records into `target`'s ring (same CPU).
pub(crate) fn ioctl_set_output(fd: &OwnedFd, target: &OwnedFd) -> Result<(), i32> {
    perf_ioctl(
        fd.as_raw_fd(),
        PERF_EVENT_IOC_SET_OUTPUT,
        target.as_raw_fd() as libc::c_ulong,
    )
}

/// `PERF_EVENT_IOC_ID`: the id the kernel writes into `PERF_SAMPLE_IDENTIFIER`.
pub(crate) fn ioctl_id(fd: &OwnedFd) -> Result<u64, i32> {
    let mut id: u64 = 0;
    // SAFETY: PERF_EVENT_IOC_ID writes one u64 through the pointer, which points to `id`,
    // alive for the whole call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_ID as _, &mut id as *mut u64) };
    if ret < 0 {
        Err(errno())
    } else {
        Ok(id)
    }
}

/// `poll` on `fds` for `POLLIN`. Returns Ok(number ready) — 0 on timeout or `EINTR`, so a
/// signal just ends the wait early.
pub(crate) fn poll_in(fds: &[RawFd], timeout_ms: i32) -> Result<usize, i32> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `pfds` is a live array of `pfds.len()` initialised pollfd structs.
    let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if ret < 0 {
        let e = errno();
        if e == libc::EINTR {
            Ok(0)
        } else {
            Err(e)
        }
    } else {
        Ok(ret as usize)
    }
}

/// The system page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// A perf ring: the metadata page plus `2^n` data pages, mapped from one event fd.
pub(crate) struct Ring {
    base: NonNull<u8>,
    map_len: usize,
    data_offset: usize,
    data_size: usize,
}

// SAFETY: the mapping is owned by this value alone; moving it to another thread moves the
// only handle. (It is not Sync: draining mutates the tail.)
unsafe impl Send for Ring {}

impl Ring {
    /// Maps `1 + data_pages` pages of `fd` read-write (read-write so that we may write
    /// `data_tail`, which tells the kernel how far we have read; the kernel then never
    /// overwrites unread data and counts drops in `PERF_RECORD_LOST` instead).
    pub(crate) fn map(fd: &OwnedFd, data_pages: usize) -> Result<Ring, (usize, i32)> {
        let page = page_size();
        let map_len = page * (1 + data_pages);
        // SAFETY: a fresh shared mapping at an address of the kernel's choosing; it aliases no
        // Rust object. The fd is a perf event fd, for which the kernel defines this mmap.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err((map_len, errno()));
        }
        let base = NonNull::new(p as *mut u8).ok_or((map_len, libc::EINVAL))?;
        let mut ring = Ring {
            base,
            map_len,
            data_offset: page,
            data_size: page * data_pages,
        };
        // Kernels since 4.1 publish where the data area is; older ones leave these 0.
        let (off, size) = (
            ring.load_u64(DATA_OFFSET_OFFSET),
            ring.load_u64(DATA_SIZE_OFFSET),
        );
        if size != 0 && off as usize + size as usize <= map_len && size.is_power_of_two() {
            ring.data_offset = off as usize;
            ring.data_size = size as usize;
        }
        Ok(ring)
    }

    fn control_word(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: `offset` is one of the 8-byte-aligned u64 fields of the metadata page,
        // which lies inside the mapping (the mapping is at least two pages, page-aligned) and
        // lives as long as `self`. The kernel accesses it concurrently, so it is only ever
        // touched through this atomic.
        unsafe { &*(self.base.as_ptr().add(offset) as *const AtomicU64) }
    }

    fn load_u64(&self, offset: usize) -> u64 {
        self.control_word(offset).load(Ordering::Acquire)
    }

    /// Hands every complete record written since the last drain to `on_record`, then
    /// releases the space to the kernel. Returns whether anything had to be skipped.
    pub(crate) fn drain(&mut self, scratch: &mut Vec<u8>, on_record: impl FnMut(&[u8])) -> bool {
        // Acquire pairs with the kernel's store of data_head after writing the records, so
        // the record bytes below are visible.
        let head = self.control_word(DATA_HEAD_OFFSET).load(Ordering::Acquire);
        let tail = self.control_word(DATA_TAIL_OFFSET).load(Ordering::Relaxed);
        let src = RingData {
            data: self.base.as_ptr().wrapping_add(self.data_offset),
        };
        let (new_tail, fault) = ring::drain(&src, self.data_size, head, tail, scratch, on_record);
        // Release: every read of the records above happens before the kernel may reuse
        // the space.
        self.control_word(DATA_TAIL_OFFSET)
            .store(new_tail, Ordering::Release);
        fault != RingFault::None
    }
}

/// The data area of a [`Ring`], read by copying bytes out (never by forming references to
/// memory the kernel writes concurrently).
struct RingData {
    data: *const u8,
}

impl RingSource for RingData {
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        // SAFETY: `ring::drain` keeps `offset + dst.len()` within the data area, which is
        // inside the live mapping. The bytes lie between data_tail and data_head, which the
        // kernel finished writing (acquire load of data_head) and will not rewrite until we
        // advance data_tail. `dst` is a distinct Rust buffer, so the ranges do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(self.data.add(offset), dst.as_mut_ptr(), dst.len()) }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; no references into it outlive
        // `self` (control_word borrows `self`).
        unsafe {
            libc::munmap(self.base.as_ptr() as *mut c_void, self.map_len);
        }
    }
}
