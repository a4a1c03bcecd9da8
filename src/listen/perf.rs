//! The perf kernel interface: `perf_event_open`, its ioctls, and the mmapped ring buffer.
//! This file holds all of the listener's `unsafe`.
//!
//! rustix does the mmap, munmap, ioctls and the page size; `perf_event_open` (which rustix
//! does not wrap) and `poll` on the session's raw fds go through libc.
//!
//! The ring protocol (`struct perf_event_mmap_page` in `linux/perf_event.h`, and the ordering
//! comment in the kernel's `kernel/events/ring_buffer.c`): the kernel writes whole records
//! into the data area, then publishes `data_head` (a free-running byte counter); we load it
//! with acquire, copy the records in `[data_tail, data_head)` out (a record may wrap around
//! the end of the data area), then store the new `data_tail` with release, after which the
//! kernel may overwrite that space. Because the mapping is writable, the kernel never
//! overwrites unread bytes: it drops samples and reports them as `PERF_RECORD_LOST`.

use std::ffi::c_void;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::ioctl::{self, opcode, Getter, IntegerSetter, NoArg, Opcode};
use rustix::mm::{MapFlags, ProtFlags};

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
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<PerfEventAttr>() == PERF_ATTR_SIZE_VER5 as usize);
    // The offsets of `linux/perf_event.h` (the same on every ABI: no implicit padding).
    assert!(offset_of!(PerfEventAttr, config) == 8);
    assert!(offset_of!(PerfEventAttr, sample_type) == 24);
    assert!(offset_of!(PerfEventAttr, flags) == 40);
    assert!(offset_of!(PerfEventAttr, wakeup) == 48);
    assert!(offset_of!(PerfEventAttr, sample_regs_user) == 80);
    assert!(offset_of!(PerfEventAttr, clockid) == 92);
    assert!(offset_of!(PerfEventAttr, aux_watermark) == 104);
};

/// `PERF_EVENT_IOC_ENABLE`: `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: Opcode = opcode::none(b'$', 0);
/// `PERF_EVENT_IOC_DISABLE`: `_IO('$', 1)`.
const PERF_EVENT_IOC_DISABLE: Opcode = opcode::none(b'$', 1);
/// `PERF_EVENT_IOC_SET_OUTPUT`: `_IO('$', 5)`, the argument is the target fd.
const PERF_EVENT_IOC_SET_OUTPUT: Opcode = opcode::none(b'$', 5);
/// `PERF_EVENT_IOC_ID`: `_IOR('$', 7, __u64 *)`. The size in the request number is that of a
/// *pointer* (4 bytes on 32-bit ABIs), while the kernel writes a whole `u64` through it.
const PERF_EVENT_IOC_ID: Opcode = opcode::read::<*mut u64>(b'$', 7);

/// Offsets of the ring control words in `struct perf_event_mmap_page`.
const DATA_HEAD_OFFSET: usize = 1024;
const DATA_TAIL_OFFSET: usize = 1032;
const DATA_OFFSET_OFFSET: usize = 1040;
const DATA_SIZE_OFFSET: usize = 1048;
/// The end of the control words we use; the data area never starts before it.
const CONTROL_END: usize = DATA_SIZE_OFFSET + 8;

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
    let cpu = libc::c_int::try_from(p.cpu).map_err(|_| libc::EINVAL)?;
    let group_fd: libc::c_int = -1;
    let flags: libc::c_ulong = PERF_FLAG_FD_CLOEXEC;
    let attr_ptr: *mut PerfEventAttr = &mut attr;
    // SAFETY: perf_event_open reads `attr.size` bytes from `attr_ptr`, which points to a
    // live, initialised `PerfEventAttr` of exactly that size, and on E2BIG writes the size
    // the kernel supports back into `attr.size`: hence a pointer from `&mut attr`, which
    // nothing else borrows during the call. The other arguments are plain integers of the
    // types the syscall takes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr_ptr,
            pid,
            cpu,
            group_fd,
            flags,
        )
    };
    if ret < 0 {
        return Err(errno());
    }
    let fd = RawFd::try_from(ret).map_err(|_| libc::EBADF)?;
    // SAFETY: the syscall succeeded, so `fd` is a new open fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `PERF_EVENT_IOC_ENABLE`.
pub(crate) fn ioctl_enable(fd: &OwnedFd) -> Result<(), i32> {
    // SAFETY: ENABLE is `_IO('$', 0)` on a perf event fd; its integer argument (0: this
    // event only, not its group) is what `NoArg` passes, and the kernel touches no memory.
    let request = unsafe { NoArg::<PERF_EVENT_IOC_ENABLE>::new() };
    // SAFETY: as above: the opcode and argument match the kernel's definition.
    unsafe { ioctl::ioctl(fd, request) }.map_err(|e| e.raw_os_error())
}

/// `PERF_EVENT_IOC_DISABLE`.
pub(crate) fn ioctl_disable(fd: &OwnedFd) -> Result<(), i32> {
    // SAFETY: DISABLE is `_IO('$', 1)`, integer argument 0 as for ENABLE; no memory access.
    let request = unsafe { NoArg::<PERF_EVENT_IOC_DISABLE>::new() };
    // SAFETY: as above.
    unsafe { ioctl::ioctl(fd, request) }.map_err(|e| e.raw_os_error())
}

/// `PERF_EVENT_IOC_SET_OUTPUT`: send `fd`'s records into `target`'s ring (same CPU).
pub(crate) fn ioctl_set_output(fd: &OwnedFd, target: &OwnedFd) -> Result<(), i32> {
    let target = usize::try_from(target.as_raw_fd()).map_err(|_| libc::EBADF)?;
    // SAFETY: SET_OUTPUT is `_IO('$', 5)` and takes the target perf fd as an integer; the
    // kernel only looks the fd up (and fails with EBADF/EINVAL if it is not a matching perf
    // event). No memory is accessed through the argument.
    let request = unsafe { IntegerSetter::<PERF_EVENT_IOC_SET_OUTPUT>::new_usize(target) };
    // SAFETY: as above.
    unsafe { ioctl::ioctl(fd, request) }.map_err(|e| e.raw_os_error())
}

/// `PERF_EVENT_IOC_ID`: the id the kernel writes into `PERF_SAMPLE_IDENTIFIER`.
pub(crate) fn ioctl_id(fd: &OwnedFd) -> Result<u64, i32> {
    // SAFETY: PERF_EVENT_IOC_ID writes exactly one u64 through its pointer argument; the
    // `Getter` passes a pointer to its own `u64` slot and reads it only after success.
    let request = unsafe { Getter::<PERF_EVENT_IOC_ID, u64>::new() };
    // SAFETY: as above: the opcode and the output type match the kernel's definition.
    unsafe { ioctl::ioctl(fd, request) }.map_err(|e| e.raw_os_error())
}

/// `poll` on `fds` for `POLLIN`. Returns Ok(number ready) — 0 on timeout or `EINTR`, so a
/// signal just ends the wait early.
///
/// Raw fds, so libc: rustix's `poll` takes borrowed fds, and the session hands raw ones. An
/// fd that is not open is reported by the kernel as `POLLNVAL`, never a memory error.
pub(crate) fn poll_in(fds: &[RawFd], timeout_ms: i32) -> Result<usize, i32> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let nfds = libc::nfds_t::try_from(pfds.len()).map_err(|_| libc::EINVAL)?;
    // SAFETY: `pfds` is a live, exclusively borrowed array of `nfds` initialised pollfd
    // structs; the kernel writes only their `revents` fields.
    let ret = unsafe { libc::poll(pfds.as_mut_ptr(), nfds, timeout_ms) };
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
    rustix::param::page_size()
}

/// Where the data area lies in a mapping of `map_len` bytes whose first `page` bytes are the
/// control page: the kernel's `data_offset`/`data_size` (published since Linux 4.1; older
/// kernels leave them 0) if they describe a power-of-two area inside the mapping after the
/// control words, else the classic layout (everything after the first page).
fn data_area(map_len: usize, page: usize, kernel_offset: u64, kernel_size: u64) -> (usize, usize) {
    let fallback = (page, map_len - page);
    let (Ok(off), Ok(size)) = (usize::try_from(kernel_offset), usize::try_from(kernel_size)) else {
        return fallback;
    };
    match off.checked_add(size) {
        Some(end) if end <= map_len && off >= CONTROL_END && size.is_power_of_two() => (off, size),
        _ => fallback,
    }
}

/// A perf ring: the metadata page plus `2^n` data pages, mapped from one event fd.
///
/// Invariants (relied on by the `unsafe` below): `base` is page-aligned and the start of a
/// live mapping of `map_len` bytes (at least the control page) owned by this value;
/// `data_offset + data_size <= map_len`, `data_offset >= CONTROL_END`, and `data_size` is a
/// power of two.
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
    /// `data_pages` must be a power of two (the kernel requires it too); otherwise `EINVAL`.
    pub(crate) fn map(fd: &OwnedFd, data_pages: usize) -> Result<Ring, (usize, i32)> {
        let page = page_size();
        let map_len = data_pages
            .checked_add(1)
            .and_then(|pages| pages.checked_mul(page))
            .ok_or((usize::MAX, libc::EINVAL))?;
        if !data_pages.is_power_of_two() || page < CONTROL_END {
            return Err((map_len, libc::EINVAL));
        }
        // SAFETY: a fresh shared mapping at an address of the kernel's choosing, so it aliases
        // no Rust object; the fd is a perf event fd, for which the kernel defines this mmap
        // (control page + power-of-two data pages, offset 0). No reference into it exists yet.
        let p = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                map_len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )
        }
        .map_err(|e| (map_len, e.raw_os_error()))?;
        let base = NonNull::new(p.cast::<u8>()).ok_or((map_len, libc::EINVAL))?;
        let mut ring = Ring {
            base,
            map_len,
            data_offset: page,
            data_size: map_len - page,
        };
        (ring.data_offset, ring.data_size) = data_area(
            map_len,
            page,
            ring.load_u64(DATA_OFFSET_OFFSET),
            ring.load_u64(DATA_SIZE_OFFSET),
        );
        Ok(ring)
    }

    fn control_word(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= CONTROL_END);
        // SAFETY: `offset` is one of the 8-byte-aligned u64 fields of the control page, which
        // starts the mapping (page-aligned, at least CONTROL_END bytes long) and lives as long
        // as `self`, so the pointer is in bounds and aligned for AtomicU64. The kernel
        // accesses these words concurrently, so they are only ever touched through this
        // atomic (AtomicU64 allows shared mutation; no `&u64`/`&mut` to them exists).
        unsafe { &*self.base.as_ptr().add(offset).cast::<AtomicU64>() }
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
        // Only we write data_tail, so our own last store is what we read.
        let tail = self.control_word(DATA_TAIL_OFFSET).load(Ordering::Relaxed);
        let src = RingData {
            // In bounds: data_offset < map_len (invariant), so this stays inside the mapping.
            data: self.base.as_ptr().wrapping_add(self.data_offset),
        };
        let (new_tail, fault) = ring::drain(&src, self.data_size, head, tail, scratch, on_record);
        // Release: every read of the records above happens before the kernel may reuse
        // the space (the kernel's side reads data_tail before writing).
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
        // SAFETY: `ring::drain` only asks for `offset + dst.len() <= data_size` (it checks
        // that the size is a power of two and that no record exceeds `head - tail <= size`),
        // and the data area `[data_offset, data_offset + data_size)` is inside the live
        // mapping. The bytes lie between data_tail and data_head, which the kernel finished
        // writing (acquire load of data_head) and will not rewrite until we advance
        // data_tail. `dst` is a distinct Rust buffer, so the ranges do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(self.data.add(offset), dst.as_mut_ptr(), dst.len()) }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`, once; no references into it
        // outlive `self` (control_word borrows `self`, RingData lives inside `drain`).
        // munmap of a valid mapping cannot fail, and there is nothing to do if it did.
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast::<c_void>(), self.map_len) };
    }
}

#[cfg(test)]
mod tests {
    //! The ring's pointer work on plain heap memory standing in for the mapping, so that it
    //! runs under Miri (which checks every access's bounds, alignment and provenance). No
    //! syscalls: the Ring is never dropped (its Drop would munmap).
    use super::*;
    use crate::listen::ring::tests::{lost, ring_with, sample};
    use std::mem::ManuallyDrop;

    const PAGE: usize = 4096;

    /// A fake mapping: a control page then `data` bytes, as u64 words (8-byte aligned, like
    /// the page-aligned mapping).
    struct FakeMapping {
        words: Vec<u64>,
    }

    impl FakeMapping {
        fn new(data: &[u8], head: u64, tail: u64) -> FakeMapping {
            let mut bytes = vec![0u8; PAGE + data.len()];
            bytes[DATA_HEAD_OFFSET..][..8].copy_from_slice(&head.to_ne_bytes());
            bytes[DATA_TAIL_OFFSET..][..8].copy_from_slice(&tail.to_ne_bytes());
            bytes[PAGE..].copy_from_slice(data);
            let words = bytes
                .chunks_exact(8)
                .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
                .collect();
            FakeMapping { words }
        }

        /// A Ring over the words: every later access goes through its pointer.
        fn ring(&mut self, data_size: usize) -> ManuallyDrop<Ring> {
            let map_len = self.words.len() * 8;
            ManuallyDrop::new(Ring {
                base: NonNull::new(self.words.as_mut_ptr().cast::<u8>()).unwrap(),
                map_len,
                data_offset: PAGE,
                data_size,
            })
        }
    }

    fn drain_all(ring: &mut Ring) -> (Vec<Vec<u8>>, bool) {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let skipped = ring.drain(&mut scratch, |r| out.push(r.to_vec()));
        (out, skipped)
    }

    #[test]
    fn drains_wrapped_records_from_memory_and_releases_the_tail() {
        let recs = vec![
            sample(1, 10, 1, 0, b"first"),
            sample(2, 11, 2, 1, b"a record that wraps around the end"),
            lost(2, 9),
        ];
        // The records (56, 80 and 24 bytes) take 160 of the 256. From these starts nothing
        // wraps (0), the third record does (110), the second in its body (150) or in its
        // header (196), the first (220), and the first with counters far from zero.
        let size = 256;
        for start in [0u64, 110, 150, 196, 220, (1 << 40) + 250] {
            let (data, head) = ring_with(size, start, &recs);
            let mut mapping = FakeMapping::new(&data, head, start);
            let mut ring = mapping.ring(size);
            let (out, skipped) = drain_all(&mut ring);
            assert_eq!(out, recs, "start {start}");
            assert!(!skipped);
            assert_eq!(ring.load_u64(DATA_TAIL_OFFSET), head);
            // Nothing new: a second drain delivers nothing and keeps the tail.
            let (out, skipped) = drain_all(&mut ring);
            assert!(out.is_empty() && !skipped);
            assert_eq!(ring.load_u64(DATA_TAIL_OFFSET), head);
        }
    }

    #[test]
    fn a_record_published_after_the_first_drain_is_read_next_time() {
        let size = 64;
        let (first, second) = (lost(1, 1), lost(1, 2));
        // Both records are in the ring (the second wraps: 72 % 64 = 8), but data_head covers
        // only the first, as while the kernel is still writing the second.
        let (data, end) = ring_with(size, 48, &[first.clone(), second.clone()]);
        let mut mapping = FakeMapping::new(&data, 48 + 24, 48);
        let mut ring = mapping.ring(size);
        assert_eq!(drain_all(&mut ring).0, vec![first]);
        assert_eq!(ring.load_u64(DATA_TAIL_OFFSET), 72);
        // The "kernel" publishes the second record.
        ring.control_word(DATA_HEAD_OFFSET)
            .store(end, Ordering::Release);
        assert_eq!(drain_all(&mut ring).0, vec![second]);
        assert_eq!(ring.load_u64(DATA_TAIL_OFFSET), end);
    }

    #[test]
    fn a_head_beyond_the_ring_is_skipped_without_reading() {
        let size = 64;
        let (data, _) = ring_with(size, 0, &[lost(1, 1)]);
        // head - tail > size, and head below tail: nothing is read, the tail jumps to head.
        for (head, tail) in [(1_000u64, 0u64), (5, 80)] {
            let mut mapping = FakeMapping::new(&data, head, tail);
            let mut ring = mapping.ring(size);
            let (out, skipped) = drain_all(&mut ring);
            assert!(out.is_empty() && skipped, "{head} {tail}");
            assert_eq!(ring.load_u64(DATA_TAIL_OFFSET), head);
        }
    }

    #[test]
    fn the_kernels_data_area_is_used_only_when_it_fits() {
        let map_len = PAGE * 5;
        assert_eq!(data_area(map_len, PAGE, 0, 0), (PAGE, PAGE * 4)); // pre-4.1 kernel
        assert_eq!(
            data_area(map_len, PAGE, PAGE as u64, PAGE as u64 * 4),
            (PAGE, PAGE * 4)
        );
        assert_eq!(data_area(map_len, PAGE, 2048, 2048), (2048, 2048));
        // Beyond the mapping, overflowing, overlapping the control words, not a power of two.
        assert_eq!(
            data_area(map_len, PAGE, PAGE as u64, PAGE as u64 * 8),
            (PAGE, PAGE * 4)
        );
        assert_eq!(data_area(map_len, PAGE, u64::MAX, 4096), (PAGE, PAGE * 4));
        assert_eq!(data_area(map_len, PAGE, 0, 4096), (PAGE, PAGE * 4));
        assert_eq!(data_area(map_len, PAGE, 1024, 1024), (PAGE, PAGE * 4));
        assert_eq!(
            data_area(map_len, PAGE, PAGE as u64, 3 * 4096),
            (PAGE, PAGE * 4)
        );
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn ioctl_numbers_are_the_kernels() {
        // From linux/perf_event.h with asm-generic/ioctl.h on x86_64.
        assert_eq!(PERF_EVENT_IOC_ENABLE as u64, 0x2400);
        assert_eq!(PERF_EVENT_IOC_DISABLE as u64, 0x2401);
        assert_eq!(PERF_EVENT_IOC_SET_OUTPUT as u64, 0x2405);
        assert_eq!(PERF_EVENT_IOC_ID as u64, 0x8008_2407);
    }
}
