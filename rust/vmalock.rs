// SPDX-License-Identifier: GPL-2.0

//! vmalock: exercise per-VMA locks from a Rust misc device.
//!
//! `/dev/vmalock` implements the ABI of `include/uapi/linux/vmalock.h`. It is written the way a
//! real driver would use the per-VMA lock API of the kernel crate:
//!
//!  * `MmWithUser::lock_vma_under_rcu()`: the non-blocking lookup (LOOKUP/BENCH in RCU mode, and
//!    the shrinker, which must never block reclaim).
//!  * `MmWithUser::vma_start_read_unlocked()`: the wait helper. It waits for writers and returns
//!    with only the VMA read lock held, so no caller needs an mmap_lock fallback (WAIT and
//!    UNLOCKED modes, HOLD_VMA_READ, ALLOC, ZC_MAP, RELEASE, USER_READ).
//!  * `mmap_read_lock_killable()` + `vma_lookup()` (MMAP mode), `mmap_write_lock_killable()` and
//!    `vma_start_write()` (HOLD_MMAP_WRITE).
//!  * `VmaMixedMap::vm_insert_pages()` (ZC_MAP), `vm_insert_page()` (ALLOC), `zap_vma_range()`,
//!    `VmaRef::pgoff()` (the pool's page index), `MmWithUser::task_size()` (address checks).
//!  * `kernel::time::delay::sleep_killable()` (the holds of HOLD_VMA_READ/HOLD_MMAP_WRITE).
//!  * `VmOps`, `VmaNew::set_vm_ops()` and `VmaRef::owner()` (the pool recognizes its own VMAs).
//!  * `VmaReadGuard::read_user_nofault()` + `fault_in_readable()` (USER_READ SAFE).
//!  * `kernel::shrinker` (the page pool's shrinker).
//!
//! The module needs a kernel with this project's patch series (`patches/`).
//!
//! # Lock order
//!
//! ```text
//!  1. FileState::mm_lock   (mutex, per file: serializes inserting and zapping pages)
//!  2. mmap_lock / the VMA lock of the file's mm
//!  3. FileState::inner     (spinlock, per file: page slots and the LRU)
//!  4. FILES                (spinlock, global: the open files, for the shrinker)
//! ```
//!
//! Nothing is allocated while a spinlock is held. Locks 3 and 4 are never held together.
//! Reclaim (the shrinker, or the RECLAIM ioctl) can be entered from any allocation, including
//! one made under locks 1 and 2 (ALLOC's page-table allocations in `vm_insert_page()`; page
//! faults allocate under the mmap or VMA lock), so it takes 1 and 2 only with trylocks:
//! `Mutex::try_lock()` and `lock_vma_under_rcu()` (or `mmap_read_trylock()`); on contention it
//! skips the file (`skipped_contended`) instead of blocking. 3 and 4 are leaf spinlocks that are
//! never held across an allocation, so reclaim takes 3 normally and 4 with `try_lock()`.
//! The VMA callbacks `open` and `close` run with the mmap_lock held for writing and take 3 only.
//!
//! A VMA read lock is never held across a user access that may fault: a `VmaReadGuard` keeps
//! page faults disabled. Only USER_READ in UNSAFE mode turns them back on, in an `unsafe` block
//! (`VmaReadGuard::with_page_faults_enabled()`), to show lockdep's report of that inversion (the
//! v1 shadow stack bug): a fault takes mmap_lock, and `munmap()` takes mmap_lock and then waits
//! for the VMA readers.
//!
//! # Example
//!
//! A C client (see `samples/vmalock_demo.c` for the full demo):
//!
//! ```c
//! #include <stdio.h>
//! #include <fcntl.h>
//! #include <sys/ioctl.h>
//! #include <linux/vmalock.h>
//!
//! int main(void)
//! {
//!     static int probe;
//!     struct vmalock_lookup l = {
//!         .addr = (unsigned long)&probe,
//!         .mode = VMALOCK_MODE_WAIT,
//!     };
//!     int fd = open("/dev/vmalock", O_RDWR);
//!
//!     if (fd < 0 || ioctl(fd, VMALOCK_IOC_LOOKUP, &l)) {
//!         perror("vmalock");
//!         return 1;
//!     }
//!     printf("%llx-%llx %s path\n", l.vm_start, l.vm_end,
//!            l.path == VMALOCK_PATH_FAST ? "fast" : "slow");
//!     return 0;
//! }
//! ```

use kernel::{
    fs::File,
    ioctl,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    mm::{
        virt::VmaNew,
        MmWithUser, //
    },
    page::{
        Page,
        PAGE_SIZE, //
    },
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
    time::{
        delay,
        Delta,
        Instant,
        Monotonic, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceReader,
        UserSliceWriter, //
    },
};

mod abi;
mod pool;

use abi::{
    ArgSizes,
    Cmd,
    Mode,
    Path, //
};
use pool::{
    FileState,
    Reclaimer, //
};

use kernel::{
    mm::UserAccessError,
    shrinker,
    uaccess::fault_in_readable, //
};

module! {
    type: VmaLockModule,
    name: "vmalock",
    authors: ["vmalock developers"],
    description: "Exercise per-VMA locks: wait helper, page pool shrinker, zerocopy mapping",
    license: "GPL",
    params: {
        plant_failure: bool {
            default: false,
            description: "Make the KUnit case `planted_failure` fail (tests the test pipeline)",
            perm: 0o444,
        },
        allow_unsafe: bool {
            default: false,
            description: "Allow USER_READ in UNSAFE mode (user copy under a VMA read lock)",
            perm: 0o444,
        },
        plant: u32 {
            default: 0,
            description: "Test the test pipeline: plant failures (bit mask, see PLANT_*)",
            perm: 0o444,
        },
    },
}

/// `plant` bits: each makes one class of failure happen, so that the test pipeline can show it
/// catches that class (scripts/selftest-pipeline.sh). Never set outside that self-test.
///
/// A `WARN_ON` at load time.
const PLANT_WARN: u32 = 1 << 0;
/// A refcount underflow (`refcount_t: underflow; use-after-free.`) at load time.
const PLANT_REFCOUNT: u32 = 1 << 1;
/// A leaked allocation at load time, for kmemleak to report.
const PLANT_LEAK: u32 = 1 << 2;
/// How many 1 KiB objects `PLANT_LEAK` leaks.
const PLANT_LEAK_OBJECTS: usize = 16;
/// The KUnit case `planted_crash` crashes (a Rust panic: `BUG()` in the test thread).
/// (Only KUnit builds have that case: the bench kernel has no KUnit.)
#[cfg(CONFIG_KUNIT = "y")]
const PLANT_KUNIT_CRASH: u32 = 1 << 3;
/// LOOKUP reports `vm_end` one page too far, so the selftests' checks fail (`not ok`).
const PLANT_LOOKUP_END: u32 = 1 << 4;
/// Pages leaked at load time (kmemleak does not see pages): the free page count of
/// vmalock_faults' `pages_after` check must catch it.
const PLANT_PAGE_LEAK: u32 = 1 << 5;
/// How many pages `PLANT_PAGE_LEAK` leaks (16 MiB with 4 KiB pages).
const PLANT_PAGE_LEAK_PAGES: usize = 4096;
/// LOOKUP in `VMALOCK_MODE_UNLOCKED` calls the wait helper a second time while it holds the
/// first vma read lock: lockdep must report it through the helper's `might_lock_read()`.
const PLANT_NESTED_WAIT: u32 = 1 << 6;
/// LOOKUP in `VMALOCK_MODE_UNLOCKED` takes the mmap read lock of the same mm while it holds the
/// vma read lock (safe code: the API cannot reject it at compile time, see `kernel::mm`):
/// lockdep must report the `vm_lock -> mmap_lock` inversion on this first call.
const PLANT_NESTED_MMAP_LOCK: u32 = 1 << 7;

/// The `plant` bits that are set.
fn planted(bit: u32) -> bool {
    *core::borrow::Borrow::<u32>::borrow(&module_parameters::plant.value()) & bit != 0
}

/// Does at load time what the `plant` bits ask for.
fn plant_at_load() {
    if kernel::warn_on!(planted(PLANT_WARN)) {
        pr_info!("planted WARN_ON done\n");
    }
    if planted(PLANT_REFCOUNT) {
        let r = kernel::sync::Refcount::new(0);
        // Decrementing a zero refcount: the kernel reports an underflow and saturates.
        let _ = r.dec_and_test();
        pr_info!("planted refcount underflow done\n");
    }
    if planted(PLANT_LEAK) {
        // Many objects: a stale copy of a pointer (a register spilled to a
        // cached stack, say) hides one of them from kmemleak, not all.
        let mut leaked = 0;
        for _ in 0..PLANT_LEAK_OBJECTS {
            if let Ok(b) = KBox::new([0x5au8; 1024], GFP_KERNEL) {
                leaked += KBox::leak(b).len();
            }
        }
        pr_info!("planted leak of {} bytes done\n", leaked);
    }
    if planted(PLANT_PAGE_LEAK) {
        let mut leaked = 0;
        for _ in 0..PLANT_PAGE_LEAK_PAGES {
            if let Ok(page) = Page::alloc_page(GFP_KERNEL) {
                core::mem::forget(page);
                leaked += 1;
            }
        }
        pr_info!("planted leak of {} pages done\n", leaked);
    }
}

#[pin_data]
struct VmaLockModule {
    // Dropped first: no new file can be opened once the shrinker goes away.
    #[pin]
    _miscdev: MiscDeviceRegistration<VmaLockFile>,
    #[pin]
    _shrinker: shrinker::ShrinkerRegistration<Reclaimer>,
}

impl kernel::InPlaceModule for VmaLockModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: Called exactly once, before any file can be opened.
        unsafe { pool::FILES.init() };
        plant_at_load();
        try_pin_init!(Self {
            _shrinker <- shrinker::ShrinkerRegistration::new(c"vmalock", Reclaimer),
            _miscdev <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"vmalock",
            }),
        })
    }
}

/// The value of a bool module parameter (`value()` returns `bool` or `&bool`, depending on the
/// kernel version).
fn param(value: impl core::borrow::Borrow<bool>) -> bool {
    *value.borrow()
}

/// Whether the current task has a fatal signal pending.
pub(crate) fn fatal_signal_pending() -> bool {
    kernel::current!().fatal_signal_pending()
}

/// Sleeps for `ms` milliseconds, waking early with `EINTR` on a fatal signal.
fn sleep_killable(ms: u32) -> Result {
    delay::sleep_killable(Delta::from_millis(ms.into()))
}

/// Gives the CPU away if needed in a long kernel loop.
fn cond_resched() {
    kernel::task::cond_resched();
}

/// What LOOKUP reports.
struct Found {
    path: Path,
    start: usize,
    end: usize,
    flags: usize,
}

impl Found {
    fn new(path: Path, vma: &kernel::mm::virt::VmaRef) -> Self {
        Found {
            path,
            start: vma.start(),
            end: vma.end(),
            flags: vma.flags(),
        }
    }
}

/// Why the lockless lookup failed: no VMA (`ENOENT`) or a writer (`EAGAIN`). Only trylocks, so
/// RCU mode never blocks.
fn rcu_failure(mm: &MmWithUser, addr: usize) -> Error {
    match mm.mmap_read_trylock() {
        Some(mmap) if mmap.vma_lookup(addr).is_none() => ENOENT,
        _ => EAGAIN,
    }
}

/// One LOOKUP in `mode`.
fn lookup(mm: &MmWithUser, addr: usize, mode: Mode) -> Result<Found> {
    match mode {
        Mode::Rcu => match mm.lock_vma_under_rcu(addr) {
            Some(vma) => Ok(Found::new(Path::Fast, &vma)),
            None => Err(rcu_failure(mm, addr)),
        },
        Mode::Wait => {
            // The wait helper does not say whether it had to wait, so try the lockless lookup
            // first: fast if it succeeds, else the helper waits for the writer (slow path).
            if let Some(vma) = mm.lock_vma_under_rcu(addr) {
                return Ok(Found::new(Path::Fast, &vma));
            }
            let vma = mm.vma_start_read_unlocked(addr)?.ok_or(ENOENT)?;
            Ok(Found::new(Path::Slow, &vma))
        }
        Mode::Unlocked => {
            let vma = mm.vma_start_read_unlocked(addr)?.ok_or(ENOENT)?;
            if planted(PLANT_NESTED_WAIT) {
                // The misuse the C helper's might_lock_read() exists for: the wait helper
                // called while a vma read lock is held. Without a writer both calls take the
                // fast path and nothing blocks; lockdep must report it all the same.
                drop(mm.vma_start_read_unlocked(addr)?);
            }
            if planted(PLANT_NESTED_MMAP_LOCK) {
                // Uncontended, so nothing blocks; lockdep must report it all the same.
                drop(mm.mmap_read_lock());
            }
            Ok(Found::new(Path::Unknown, &vma))
        }
        Mode::Mmap => {
            let mmap = mm.mmap_read_lock_killable()?;
            let vma = mmap.vma_lookup(addr).ok_or(ENOENT)?;
            Ok(Found::new(Path::Slow, vma))
        }
    }
}

/// Per-open-file state: see [`FileState`].
struct VmaLockFile;

#[vtable]
impl MiscDevice for VmaLockFile {
    type Ptr = Arc<FileState>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Arc<FileState>> {
        pool::register_file()
    }

    fn release(state: Arc<FileState>, _file: &File) {
        pool::unregister_file(&state);
    }

    fn mmap(state: ArcBorrow<'_, FileState>, _file: &File, vma: &VmaNew) -> Result {
        state.mmap(vma)
    }

    fn ioctl(state: ArcBorrow<'_, FileState>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let kind = Cmd::decode(cmd)?;
        let sizes = abi::negotiate(ioctl::_IOC_SIZE(cmd), kind.size())?;
        let current = kernel::current!();
        let mm = current.mm().ok_or(EINVAL)?;
        let mut io = Arg::new(kind, UserPtr::from_addr(arg), sizes);
        dispatch(&state, mm, kind, &mut io)?;
        Ok(0)
    }
}

/// The user's argument of one command: read once as the command's struct, written back once.
struct Arg {
    kind: Cmd,
    ptr: UserPtr,
    sizes: ArgSizes,
    reader: UserSliceReader,
    writer: Option<UserSliceWriter>,
}

impl Arg {
    fn new(kind: Cmd, ptr: UserPtr, sizes: ArgSizes) -> Self {
        let (reader, writer) = UserSlice::new(ptr, sizes.copy + sizes.tail).reader_writer();
        Arg {
            kind,
            ptr,
            sizes,
            reader,
            writer: Some(writer),
        }
    }

    /// Reads the argument as `T`, the command's struct (all zero for a command that only
    /// writes its result). The fields of a newer, longer struct that this kernel does not know
    /// must be zero, for every command. For a command that writes a result, checks that it can
    /// be written, by writing the argument back unchanged: a command must not act and then be
    /// unable to say so (ZC_MAP would map pages, then EFAULT, then EBUSY on a retry).
    fn read<T: FromBytes + AsBytes + Default>(&mut self) -> Result<T> {
        // The command's struct is the one its number was built from (see `abi`).
        if core::mem::size_of::<T>() != self.sizes.copy {
            return Err(EINVAL);
        }
        let value = if self.kind.copies_in() {
            self.reader.read::<T>()?
        } else {
            self.reader.skip(self.sizes.copy)?;
            T::default()
        };
        let mut tail = [0u8; 64];
        let mut left = self.sizes.tail;
        while left > 0 {
            let n = left.min(tail.len());
            self.reader.read_slice(&mut tail[..n])?;
            abi::check_tail(&tail[..n])?;
            left -= n;
        }
        if self.kind.copies_out() {
            UserSlice::new(self.ptr, self.sizes.copy)
                .writer()
                .write(&value)?;
        }
        Ok(value)
    }

    /// Writes the command's result (once; a command whose result is known before it acts
    /// writes it first).
    fn write<T: AsBytes>(&mut self, value: &T) -> Result {
        match self.writer.take() {
            Some(mut w) => w.write(value),
            None => Ok(()),
        }
    }
}

/// Runs command `kind` with its argument `io`, on the caller's own `mm`.
fn dispatch(state: &FileState, mm: &MmWithUser, kind: Cmd, io: &mut Arg) -> Result {
    let limit = mm.task_size();
    match kind {
        Cmd::Lookup => {
            let mut arg: abi::Lookup = io.read()?;
            let mode = Mode::from_raw(arg.mode)?;
            let addr = abi::validate_addr(arg.addr, limit)?;
            let found = lookup(mm, addr, mode)?;
            arg.path = found.path as u32;
            arg.vm_start = found.start as u64;
            arg.vm_end = found.end as u64;
            if planted(PLANT_LOOKUP_END) {
                arg.vm_end += PAGE_SIZE as u64;
            }
            arg.vm_flags = found.flags as u64;
            io.write(&arg)
        }
        Cmd::Bench => {
            let mut arg: abi::Bench = io.read()?;
            let mode = Mode::from_raw(arg.mode)?;
            let addr = abi::validate_addr(arg.addr, limit)?;
            abi::validate_iterations(arg.iterations)?;
            bench(mm, addr, mode, &mut arg)?;
            io.write(&arg)
        }
        Cmd::HoldMmapWrite => {
            let arg: abi::Hold = io.read()?;
            abi::validate_hold(&arg, abi::HOLD_VMA_WRITE)?;
            let addr = abi::validate_addr(arg.addr, limit)?;
            hold_mmap_write(mm, addr, arg.ms, arg.flags & abi::HOLD_VMA_WRITE != 0)
        }
        Cmd::HoldVmaRead => {
            let arg: abi::Hold = io.read()?;
            abi::validate_hold(&arg, 0)?;
            let addr = abi::validate_addr(arg.addr, limit)?;
            let vma = mm.vma_start_read_unlocked(addr)?.ok_or(ENOENT)?;
            sleep_killable(arg.ms)?;
            drop(vma);
            Ok(())
        }
        Cmd::ZcMap => {
            let mut arg: abi::ZcMap = io.read()?;
            let page = PAGE_SIZE as u64;
            if arg.len % page != 0 {
                return Err(EINVAL);
            }
            let range = abi::validate_pages(arg.addr, arg.len / page, limit)?;
            // The result is known now: written before anything is mapped, so that no copy
            // can fail once pages are mapped.
            arg.mapped = arg.len;
            io.write(&arg)?;
            state.zc_map(mm, range, arg.seed)
        }
        Cmd::Alloc | Cmd::Release => {
            let arg: abi::Pages = io.read()?;
            let range = abi::validate_pages(arg.addr, arg.npages, limit)?;
            if kind == Cmd::Alloc {
                state.alloc(mm, range)
            } else {
                state.release(mm, range)
            }
        }
        Cmd::Stats => {
            let _: abi::Stats = io.read()?;
            io.write(&pool::STATS.snapshot())
        }
        Cmd::UserRead => {
            let mut arg: abi::UserRead = io.read()?;
            let mode = abi::UserReadMode::from_raw(arg.mode)?;
            if arg.__reserved != 0 {
                return Err(EINVAL);
            }
            let max = abi::USER_READ_MAX.into();
            let addr = abi::validate_bytes(arg.addr, arg.len.into(), max, limit)?;
            let (checksum, faultins) = user_read(mm, addr, arg.len as usize, mode)?;
            arg.checksum = checksum;
            arg.faultins = faultins;
            io.write(&arg)
        }
        Cmd::Reclaim => {
            let mut arg: abi::Reclaim = io.read()?;
            let mode = abi::ReclaimMode::from_raw(arg.mode)?;
            if arg.__reserved != 0 || arg.nr_to_scan == 0 || arg.nr_to_scan > abi::MAX_PAGES {
                return Err(EINVAL);
            }
            let res = pool::reclaim_all(mode, arg.nr_to_scan as usize);
            arg.freed = res.freed as u64;
            arg.skipped = res.skipped as u64;
            // RECLAIM's pass is not undone if this fails (documented in the header).
            io.write(&arg)
        }
    }
}

/// BENCH: `arg.iterations` lookups in a kernel loop.
fn bench(mm: &MmWithUser, addr: usize, mode: Mode, arg: &mut abi::Bench) -> Result {
    // ENOENT if no VMA covers `addr` at all. The check uses the mode's own lookup, so that an
    // RCU mode bench never blocks on a writer: contention there (EAGAIN) is counted below.
    match lookup(mm, addr, mode) {
        Err(e) if e == EAGAIN => {}
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let (mut fast, mut slow, mut failed) = (0u64, 0u64, 0u64);
    let start = Instant::<Monotonic>::now();
    for i in 0..arg.iterations {
        match bench_once(mm, addr, mode) {
            // UNLOCKED: the helper does not report its path; the uapi header counts it as fast.
            Ok(Path::Fast | Path::Unknown) => fast += 1,
            Ok(Path::Slow) => slow += 1,
            Err(e) if e == EAGAIN || e == ENOENT => failed += 1,
            Err(e) => return Err(e),
        }
        if i % 1024 == 1023 {
            if fatal_signal_pending() {
                return Err(EINTR);
            }
            cond_resched();
        }
    }
    arg.total_ns = start.elapsed().as_nanos() as u64;
    arg.fast = fast;
    arg.slow = slow;
    arg.failed = failed;
    Ok(())
}

/// One lookup of the BENCH loop: lock and unlock, nothing else, in every mode (unlike
/// [`lookup()`], no [`Found`] and no failure classification), so that the modes' times differ
/// only by how they find and lock the VMA.
#[inline]
fn bench_once(mm: &MmWithUser, addr: usize, mode: Mode) -> Result<Path> {
    match mode {
        Mode::Rcu => mm
            .lock_vma_under_rcu(addr)
            .map(|_| Path::Fast)
            .ok_or(EAGAIN),
        Mode::Wait => match mm.lock_vma_under_rcu(addr) {
            Some(_) => Ok(Path::Fast),
            None => mm
                .vma_start_read_unlocked(addr)?
                .map(|_| Path::Slow)
                .ok_or(ENOENT),
        },
        Mode::Unlocked => mm
            .vma_start_read_unlocked(addr)?
            .map(|_| Path::Unknown)
            .ok_or(ENOENT),
        Mode::Mmap => {
            let mmap = mm.mmap_read_lock_killable()?;
            mmap.vma_lookup(addr).map(|_| Path::Slow).ok_or(ENOENT)
        }
    }
}

/// HOLD_MMAP_WRITE: hold the mmap write lock (and optionally the VMA write lock) for `ms`.
fn hold_mmap_write(mm: &MmWithUser, addr: usize, ms: u32, vma_write: bool) -> Result {
    let mmap = mm.mmap_write_lock_killable()?;
    if vma_write {
        let vma = mmap.vma_lookup(addr).ok_or(ENOENT)?;
        // Like munmap() and mprotect(): from now on, lock_vma_under_rcu() fails for this VMA
        // and vma_start_read_unlocked() waits, until `mmap` is dropped.
        mmap.vma_start_write(vma)?;
    }
    sleep_killable(ms)
}

/// How often USER_READ SAFE faults in and retries before giving up with `EAGAIN`.
const USER_READ_TRIES: u32 = 16;

/// USER_READ: checksum `len` bytes at `addr` under the read lock of the VMA covering them.
fn user_read(
    mm: &MmWithUser,
    addr: usize,
    len: usize,
    mode: abi::UserReadMode,
) -> Result<(u64, u32)> {
    let mut buf = KVVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
    // Reads page-sized chunks, so that a chunk never crosses a page.
    let chunk = |off: usize| (PAGE_SIZE - (addr + off) % PAGE_SIZE).min(len - off);

    if mode == abi::UserReadMode::Unsafe {
        if !param(module_parameters::allow_unsafe.value()) {
            return Err(EPERM);
        }
        let vma = mm.vma_start_read_unlocked(addr)?.ok_or(ENOENT)?;
        if addr + len > vma.end() {
            return Err(EINVAL);
        }
        let mut reader = UserSlice::new(UserPtr::from_addr(addr), len).reader();
        let mut hash = abi::FNV_OFFSET;
        let mut off = 0;
        // SAFETY: It is not safe, on purpose: this is the v1 shadow stack pattern, for the
        // lockdep boot. With page faults enabled under the VMA read lock, copy_from_user() may
        // fault and take mmap_lock, which deadlocks against a munmap() of this mm that waits
        // for our reader. Its might_fault() tells lockdep so even when the pages are present.
        // Only reachable with the `allow_unsafe` module parameter, off by default.
        unsafe {
            vma.with_page_faults_enabled(|| -> Result {
                while off < len {
                    let n = chunk(off);
                    reader.read_slice(&mut buf[..n])?;
                    hash = abi::fnv1a(hash, &buf[..n]);
                    off += n;
                }
                Ok(())
            })
        }?;
        drop(vma);
        return Ok((hash, 0));
    }

    let mut faultins = 0;
    while faultins < USER_READ_TRIES {
        let vma = mm.vma_start_read_unlocked(addr)?.ok_or(ENOENT)?;
        if addr + len > vma.end() {
            return Err(EINVAL);
        }
        let mut hash = abi::FNV_OFFSET;
        let mut off = 0;
        let mut missing = None;
        while off < len {
            let n = chunk(off);
            match vma.read_user_nofault(UserPtr::from_addr(addr + off), &mut buf[..n]) {
                Ok(()) => hash = abi::fnv1a(hash, &buf[..n]),
                Err(UserAccessError::NeedsFaultIn) => {
                    missing = Some(off);
                    break;
                }
                Err(UserAccessError::Fault) => return Err(EFAULT),
            }
            off += n;
        }
        // Drop the VMA lock before faulting: the fault may need mmap_lock.
        drop(vma);
        let Some(off) = missing else {
            return Ok((hash, faultins));
        };
        fault_in_readable(UserPtr::from_addr(addr + off), len - off)?;
        faultins += 1;
    }
    Err(EAGAIN)
}

#[kunit_tests(vmalock_module)]
mod tests {
    use super::*;
    use abi::*;

    /// Fails only when the module is loaded with `plant_failure=1`: the test
    /// pipeline must then report a failure and exit non-zero.
    #[test]
    fn planted_failure() {
        assert!(!param(module_parameters::plant_failure.value()));
    }

    /// Crashes only when the module is loaded with `plant=8` (`PLANT_KUNIT_CRASH`): a Rust
    /// panic is a `BUG()` in the test's thread, and the pipeline must report the crash.
    #[test]
    fn planted_crash() {
        if planted(PLANT_KUNIT_CRASH) {
            panic!("planted crash");
        }
    }

    /// The published sizes of the structs (`abi` checks at build time that they have no
    /// padding and that each command number carries its struct's size).
    #[test]
    fn struct_sizes() {
        use core::mem::size_of;
        assert_eq!(size_of::<Lookup>(), 40);
        assert_eq!(size_of::<Bench>(), 48);
        assert_eq!(size_of::<Hold>(), 16);
        assert_eq!(size_of::<ZcMap>(), 32);
        assert_eq!(size_of::<Pages>(), 16);
        assert_eq!(size_of::<Stats>(), 56);
        assert_eq!(size_of::<UserRead>(), 32);
        assert_eq!(size_of::<Reclaim>(), 32);
        for cmd in Cmd::ALL {
            assert!(cmd.size() >= 16);
        }
        assert_eq!(Cmd::Lookup.size(), 40);
    }

    #[test]
    fn size_negotiation() {
        assert_eq!(negotiate(39, 40), Err(EINVAL));
        assert_eq!(negotiate(0, 40), Err(EINVAL));
        assert_eq!(negotiate(40, 40), Ok(ArgSizes { copy: 40, tail: 0 }));
        assert_eq!(negotiate(48, 40), Ok(ArgSizes { copy: 40, tail: 8 }));
        assert_eq!(check_tail(&[0; 8]), Ok(()));
        assert_eq!(check_tail(&[0, 0, 1, 0]), Err(E2BIG));
        assert_eq!(check_tail(&[]), Ok(()));
    }

    /// Dispatch on type and number only; unknown commands are `ENOTTY`.
    #[test]
    fn command_decoding() {
        for cmd in Cmd::ALL {
            assert_eq!(Cmd::decode(cmd.raw()), Ok(cmd));
            // A grown struct: same type and number, larger size.
            let grown = cmd.raw() + (8 << kernel::uapi::_IOC_SIZESHIFT);
            assert_eq!(Cmd::decode(grown), Ok(cmd));
        }
        // _IOWR(0xB9, 0x01, struct vmalock_lookup) as computed by the C macro.
        assert_eq!(Cmd::Lookup.raw(), 0xc028_b901);
        // _IOR(0xB9, 0x08, struct vmalock_stats).
        assert_eq!(Cmd::Stats.raw(), 0x8038_b908);
        assert!(Cmd::Lookup.copies_in() && Cmd::Lookup.copies_out());
        assert!(!Cmd::Stats.copies_in() && Cmd::Stats.copies_out());
        assert!(Cmd::Alloc.copies_in() && !Cmd::Alloc.copies_out());
        assert_eq!(Cmd::decode(0xc028_b900), Err(ENOTTY));
        assert_eq!(Cmd::decode(0xc028_b90b), Err(ENOTTY));
        assert_eq!(Cmd::decode(0xc028_ba01), Err(ENOTTY));
        assert_eq!(Cmd::decode(0), Err(ENOTTY));
    }

    /// The bytes of a struct are the C layout: the typed user copies move exactly these.
    #[test]
    fn struct_bytes() {
        let lookup = Lookup {
            addr: 0x1234_5678_9abc,
            mode: 2,
            path: 1,
            vm_start: 0x1000,
            vm_end: 0x3000,
            vm_flags: 0x73,
        };
        let bytes = lookup.as_bytes();
        assert_eq!(bytes.len(), 40);
        assert_eq!(bytes[8..12], 2u32.to_ne_bytes());
        assert_eq!(bytes[12..16], 1u32.to_ne_bytes());
        assert_eq!(bytes[16..24], 0x1000u64.to_ne_bytes());
        assert_eq!(bytes[32..40], 0x73u64.to_ne_bytes());
        assert_eq!(Lookup::from_bytes_copy(bytes), Some(lookup));
    }

    #[test]
    fn pattern_and_checksum() {
        assert_eq!(pattern_word(0, 5), 5);
        assert_eq!(pattern_word(1, 0), PATTERN_MUL);
        assert_eq!(pattern_word(2, 1), PATTERN_MUL.wrapping_mul(2) + 1);
        let mut buf = [0u8; 24];
        fill_pattern(&mut buf, 3, 10);
        assert_eq!(buf[8..16], pattern_word(3, 11).to_ne_bytes());
        // Known FNV-1a 64 vectors.
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x85944171f73967e8);
        // Streaming equals one pass.
        assert_eq!(
            fnv1a(fnv1a(FNV_OFFSET, b"foo"), b"bar"),
            fnv1a(FNV_OFFSET, b"foobar")
        );
    }

    #[test]
    fn range_validation() {
        let page = PAGE_SIZE as u64;
        let top = 1usize << 47;
        assert_eq!(
            validate_pages(0x10000, 2, top),
            Ok(PageRange {
                addr: 0x10000,
                npages: 2
            })
        );
        assert_eq!(validate_pages(0x10001, 1, top), Err(EINVAL));
        assert_eq!(validate_pages(0x10000, 0, top), Err(EINVAL));
        assert_eq!(validate_pages(0x10000, MAX_PAGES + 1, top), Err(EINVAL));
        assert_eq!(validate_pages(u64::MAX - page + 1, 1, top), Err(EINVAL));
        assert_eq!(
            validate_pages(top as u64 - page, 1, top).map(|r| r.npages),
            Ok(1)
        );
        assert_eq!(validate_pages(top as u64 - page, 2, top), Err(EINVAL));
        assert_eq!(validate_pages(0xffff_8880_0000_0000, 1, top), Err(EINVAL));
        assert_eq!(validate_bytes(0x1000, 0, 100, top), Err(EINVAL));
        assert_eq!(validate_bytes(0x1000, 101, 100, top), Err(EINVAL));
        assert_eq!(validate_bytes(u64::MAX, 2, 100, top), Err(EINVAL));
        assert_eq!(validate_bytes(0x1001, 100, 100, top), Ok(0x1001));
        assert_eq!(validate_addr(top as u64, top), Err(EINVAL));
        assert_eq!(validate_addr(top as u64 - 1, top), Ok(top - 1));
    }

    /// The errno of each kind of bad input.
    #[test]
    fn errno_table() {
        assert_eq!(Mode::from_raw(3), Ok(Mode::Unlocked));
        assert_eq!(Mode::from_raw(4), Err(EINVAL));
        assert_eq!(Mode::from_raw(1), Ok(Mode::Wait));
        assert_eq!(UserReadMode::from_raw(2), Err(EINVAL));
        assert_eq!(ReclaimMode::from_raw(2), Err(EINVAL));
        let hold = |ms, flags| Hold { addr: 0, ms, flags };
        assert_eq!(validate_hold(&hold(HOLD_MAX_MS, 1), HOLD_VMA_WRITE), Ok(()));
        assert_eq!(
            validate_hold(&hold(HOLD_MAX_MS + 1, 0), HOLD_VMA_WRITE),
            Err(EINVAL)
        );
        assert_eq!(validate_hold(&hold(0, 2), HOLD_VMA_WRITE), Err(EINVAL));
        assert_eq!(validate_hold(&hold(0, 1), 0), Err(EINVAL));
        assert_eq!(validate_iterations(0), Err(EINVAL));
        assert_eq!(validate_iterations(BENCH_MAX_ITER), Ok(()));
        assert_eq!(validate_iterations(BENCH_MAX_ITER + 1), Err(EINVAL));
        assert_eq!(E2BIG.to_errno(), -7);
        assert_eq!(ENOTTY.to_errno(), -25);
    }
}
