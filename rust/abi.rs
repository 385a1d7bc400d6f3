// SPDX-License-Identifier: GPL-2.0

//! The userspace ABI of `/dev/vmalock` (`include/uapi/linux/vmalock.h`) and the pure logic
//! around it: argument size negotiation, range validation, the zerocopy pattern and the
//! USER_READ checksum.
//!
//! Nothing in here touches kernel state, so all of it is covered by the in-module KUnit suite.
//!
//! The structs, constants and command numbers come from the header itself: `bindgen` generates
//! them at build time (see `Kbuild`). What this file adds is checked against them when it is
//! compiled: each struct's fields at their published offsets with no padding (which makes the
//! struct [`FromBytes`] and [`AsBytes`], so the ioctl reads and writes it with the typed
//! `UserSlice` calls), and each command number as [`kernel::ioctl`] builds it from its struct.
//! A header change that moves a field, adds padding or changes a command fails the build.

use kernel::{
    ioctl,
    page::PAGE_SIZE,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

/// The bindings `bindgen` generated from `include/uapi/linux/vmalock.h`.
#[allow(
    clippy::all,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    unreachable_pub
)]
mod uapi {
    include!("vmalock_uapi.rs");
}

/// `VMALOCK_IOC_MAGIC`.
pub(crate) const MAGIC: u32 = uapi::VMALOCK_IOC_MAGIC;
/// `VMALOCK_BENCH_MAX_ITER`.
pub(crate) const BENCH_MAX_ITER: u32 = uapi::VMALOCK_BENCH_MAX_ITER;
/// `VMALOCK_HOLD_MAX_MS`.
pub(crate) const HOLD_MAX_MS: u32 = uapi::VMALOCK_HOLD_MAX_MS;
/// `VMALOCK_HOLD_VMA_WRITE`.
pub(crate) const HOLD_VMA_WRITE: u32 = uapi::VMALOCK_HOLD_VMA_WRITE;
/// `VMALOCK_MAP_MAX_BYTES`.
pub(crate) const MAP_MAX_BYTES: usize = uapi::VMALOCK_MAP_MAX_BYTES as usize;
/// `VMALOCK_MAX_PAGES(page size)`: the pages of the largest mapping, for this kernel's page
/// size.
pub(crate) const MAX_PAGES: u64 = (MAP_MAX_BYTES / PAGE_SIZE) as u64;
/// `VMALOCK_USER_READ_MAX`.
pub(crate) const USER_READ_MAX: u32 = uapi::VMALOCK_USER_READ_MAX;
// bindgen types the 64-bit constants above `i64::MAX` as `i64`: the casts keep the bits.
/// `VMALOCK_PATTERN_MUL`.
pub(crate) const PATTERN_MUL: u64 = uapi::VMALOCK_PATTERN_MUL as u64;
/// `VMALOCK_FNV_OFFSET`.
pub(crate) const FNV_OFFSET: u64 = uapi::VMALOCK_FNV_OFFSET as u64;
/// `VMALOCK_FNV_PRIME`.
pub(crate) const FNV_PRIME: u64 = uapi::VMALOCK_FNV_PRIME;

/// `enum vmalock_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Rcu,
    Wait,
    Mmap,
    Unlocked,
}

impl Mode {
    pub(crate) fn from_raw(raw: u32) -> Result<Self> {
        match raw {
            uapi::VMALOCK_MODE_RCU => Ok(Mode::Rcu),
            uapi::VMALOCK_MODE_WAIT => Ok(Mode::Wait),
            uapi::VMALOCK_MODE_MMAP => Ok(Mode::Mmap),
            uapi::VMALOCK_MODE_UNLOCKED => Ok(Mode::Unlocked),
            _ => Err(EINVAL),
        }
    }
}

/// `enum vmalock_path`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Path {
    /// Per-VMA lock, no mmap_lock.
    Fast = uapi::VMALOCK_PATH_FAST,
    /// Took mmap_lock.
    Slow = uapi::VMALOCK_PATH_SLOW,
    /// `vma_start_read_unlocked()` alone: it does not say which path it took.
    Unknown = uapi::VMALOCK_PATH_UNKNOWN,
}

/// `enum vmalock_user_read_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UserReadMode {
    Safe,
    Unsafe,
}

impl UserReadMode {
    pub(crate) fn from_raw(raw: u32) -> Result<Self> {
        match raw {
            uapi::VMALOCK_USER_READ_SAFE => Ok(UserReadMode::Safe),
            uapi::VMALOCK_USER_READ_UNSAFE => Ok(UserReadMode::Unsafe),
            _ => Err(EINVAL),
        }
    }
}

/// `enum vmalock_reclaim_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReclaimMode {
    VmaTrylock,
    MmapTrylock,
}

impl ReclaimMode {
    pub(crate) fn from_raw(raw: u32) -> Result<Self> {
        match raw {
            uapi::VMALOCK_RECLAIM_VMA_TRYLOCK => Ok(ReclaimMode::VmaTrylock),
            uapi::VMALOCK_RECLAIM_MMAP_TRYLOCK => Ok(ReclaimMode::MmapTrylock),
            _ => Err(EINVAL),
        }
    }
}

/// The size of the type `ptr` points to (for [`uapi_pod!`], which has no value of the field's
/// type at hand). The bounds make every field plain old data.
const fn pointee_size<F: FromBytes + AsBytes>(_ptr: *const F) -> usize {
    core::mem::size_of::<F>()
}

/// For each generated struct: its fields, in the published order, must sit one after the
/// other from offset 0 and fill the struct, and each must be plain old data. That is checked
/// at compile time and is what makes the struct [`FromBytes`] and [`AsBytes`]: no padding
/// (no uninitialised byte), every bit pattern valid. A swapped, moved, resized or unlisted
/// field, or new padding, fails the build.
macro_rules! uapi_pod {
    ($($name:ident = $c:ident { $($field:ident),* $(,)? })*) => {$(
        #[doc = concat!("`struct ", stringify!($c), "`.")]
        pub(crate) type $name = uapi::$c;

        const _: () = {
            let value = core::mem::MaybeUninit::<uapi::$c>::uninit();
            let ptr = value.as_ptr();
            let mut offset = 0;
            $(
                assert!(
                    core::mem::offset_of!(uapi::$c, $field) == offset,
                    concat!(
                        "struct ", stringify!($c), ": field ", stringify!($field),
                        " is not at its published offset (field moved, or padding before it)"
                    )
                );
                // SAFETY: `ptr` points to `value`, a live local; only the address of the
                // field is computed, nothing is read.
                offset += pointee_size(unsafe { &raw const (*ptr).$field });
            )*
            assert!(
                offset == core::mem::size_of::<uapi::$c>(),
                concat!(
                    "struct ", stringify!($c),
                    ": padding or a field not listed at the end (the ABI changed)"
                )
            );
        };

        // SAFETY: Every field is `FromBytes` (the bound of `pointee_size()`), and the fields
        // cover the struct without padding (asserted above), so every bit pattern is valid;
        // none has interior mutability.
        unsafe impl FromBytes for uapi::$c {}
        // SAFETY: Every field is `AsBytes` and there is no padding (asserted above): no byte is
        // uninitialised; none has interior mutability.
        unsafe impl AsBytes for uapi::$c {}
    )*};
}

uapi_pod! {
    Lookup = vmalock_lookup { addr, mode, path, vm_start, vm_end, vm_flags }
    Bench = vmalock_bench { addr, mode, iterations, total_ns, fast, slow, failed }
    Hold = vmalock_hold { addr, ms, flags }
    ZcMap = vmalock_zc_map { addr, len, seed, mapped }
    Pages = vmalock_pages { addr, npages }
    Stats = vmalock_stats {
        inserted, released, reclaimed, skipped_contended, in_use, lru, zc_mapped,
    }
    UserRead = vmalock_user_read { addr, len, mode, checksum, faultins, __reserved }
    Reclaim = vmalock_reclaim { mode, __reserved, nr_to_scan, freed, skipped }
}

/// The commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmd {
    Lookup,
    Bench,
    HoldMmapWrite,
    HoldVmaRead,
    ZcMap,
    Alloc,
    Release,
    Stats,
    UserRead,
    Reclaim,
}

// The published command numbers, built from their structs with `kernel::ioctl`, must be the
// header's (whose values clang computed from the C macros).
const _: () = {
    use ioctl::{
        _IOR,
        _IOW,
        _IOWR, //
    };
    assert!(uapi::VMALOCK_IOC_LOOKUP == _IOWR::<Lookup>(MAGIC, 0x01));
    assert!(uapi::VMALOCK_IOC_BENCH == _IOWR::<Bench>(MAGIC, 0x02));
    assert!(uapi::VMALOCK_IOC_HOLD_MMAP_WRITE == _IOW::<Hold>(MAGIC, 0x03));
    assert!(uapi::VMALOCK_IOC_HOLD_VMA_READ == _IOW::<Hold>(MAGIC, 0x04));
    assert!(uapi::VMALOCK_IOC_ZC_MAP == _IOWR::<ZcMap>(MAGIC, 0x05));
    assert!(uapi::VMALOCK_IOC_ALLOC == _IOW::<Pages>(MAGIC, 0x06));
    assert!(uapi::VMALOCK_IOC_RELEASE == _IOW::<Pages>(MAGIC, 0x07));
    assert!(uapi::VMALOCK_IOC_STATS == _IOR::<Stats>(MAGIC, 0x08));
    assert!(uapi::VMALOCK_IOC_USER_READ == _IOWR::<UserRead>(MAGIC, 0x09));
    assert!(uapi::VMALOCK_IOC_RECLAIM == _IOWR::<Reclaim>(MAGIC, 0x0a));
};

impl Cmd {
    /// Every command.
    pub(crate) const ALL: [Cmd; 10] = [
        Cmd::Lookup,
        Cmd::Bench,
        Cmd::HoldMmapWrite,
        Cmd::HoldVmaRead,
        Cmd::ZcMap,
        Cmd::Alloc,
        Cmd::Release,
        Cmd::Stats,
        Cmd::UserRead,
        Cmd::Reclaim,
    ];

    /// The full command number of this kernel's version of the command (`VMALOCK_IOC_*`).
    pub(crate) const fn raw(self) -> u32 {
        match self {
            Cmd::Lookup => uapi::VMALOCK_IOC_LOOKUP,
            Cmd::Bench => uapi::VMALOCK_IOC_BENCH,
            Cmd::HoldMmapWrite => uapi::VMALOCK_IOC_HOLD_MMAP_WRITE,
            Cmd::HoldVmaRead => uapi::VMALOCK_IOC_HOLD_VMA_READ,
            Cmd::ZcMap => uapi::VMALOCK_IOC_ZC_MAP,
            Cmd::Alloc => uapi::VMALOCK_IOC_ALLOC,
            Cmd::Release => uapi::VMALOCK_IOC_RELEASE,
            Cmd::Stats => uapi::VMALOCK_IOC_STATS,
            Cmd::UserRead => uapi::VMALOCK_IOC_USER_READ,
            Cmd::Reclaim => uapi::VMALOCK_IOC_RECLAIM,
        }
    }

    /// Dispatches on the command's type and number only, like DRM: the size of a command may
    /// grow, so it is not part of the match. Unknown commands: `ENOTTY`.
    pub(crate) fn decode(cmd: u32) -> Result<Self> {
        if ioctl::_IOC_TYPE(cmd) != MAGIC {
            return Err(ENOTTY);
        }
        Self::ALL
            .into_iter()
            .find(|c| ioctl::_IOC_NR(c.raw()) == ioctl::_IOC_NR(cmd))
            .ok_or(ENOTTY)
    }

    /// The first published size of the argument (the minimum accepted), which is also the
    /// size this kernel knows.
    pub(crate) fn size(self) -> usize {
        ioctl::_IOC_SIZE(self.raw())
    }

    /// Whether the kernel reads the argument (`_IOW`, `_IOWR`).
    pub(crate) fn copies_in(self) -> bool {
        ioctl::_IOC_DIR(self.raw()) & kernel::uapi::_IOC_WRITE != 0
    }

    /// Whether the kernel writes the argument back (`_IOR`, `_IOWR`).
    pub(crate) fn copies_out(self) -> bool {
        ioctl::_IOC_DIR(self.raw()) & kernel::uapi::_IOC_READ != 0
    }
}

/// How the user's argument of `user_size` bytes maps onto the kernel's `kernel_size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArgSizes {
    /// Bytes copied in and out (the common prefix).
    pub(crate) copy: usize,
    /// Bytes of the user's struct beyond what this kernel knows; they must be zero.
    pub(crate) tail: usize,
}

/// Size negotiation: shorter than the first published size: `EINVAL`; longer: the tail must be
/// checked for zero (see [`check_tail`]).
pub(crate) fn negotiate(user_size: usize, kernel_size: usize) -> Result<ArgSizes> {
    if user_size < kernel_size {
        return Err(EINVAL);
    }
    Ok(ArgSizes {
        copy: kernel_size,
        tail: user_size - kernel_size,
    })
}

/// An unknown tail of a newer, longer struct is accepted only when it is zero, else `E2BIG`.
pub(crate) fn check_tail(tail: &[u8]) -> Result {
    if tail.iter().any(|&b| b != 0) {
        return Err(E2BIG);
    }
    Ok(())
}

/// Value of 64-bit word `index` of a zerocopy mapping made with `seed`.
pub(crate) fn pattern_word(seed: u64, index: u64) -> u64 {
    seed.wrapping_mul(PATTERN_MUL).wrapping_add(index)
}

/// Fills `buf` with the pattern of `seed`, `buf` starting at 64-bit word `first_word`.
pub(crate) fn fill_pattern(buf: &mut [u8], seed: u64, first_word: u64) {
    for (i, chunk) in buf.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&pattern_word(seed, first_word + i as u64).to_ne_bytes());
    }
}

/// 64-bit FNV-1a, continued from `hash` (start with [`FNV_OFFSET`]).
pub(crate) fn fnv1a(mut hash: u64, data: &[u8]) -> u64 {
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// A validated, page-aligned user range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageRange {
    pub(crate) addr: usize,
    pub(crate) npages: usize,
}

impl PageRange {
    pub(crate) fn len(&self) -> usize {
        self.npages * PAGE_SIZE
    }

    pub(crate) fn end(&self) -> usize {
        self.addr + self.len()
    }
}

/// Validates `npages` pages at `addr`: `addr` page aligned, 1 ..= `MAX_PAGES` pages, the range
/// below `task_size` (a user address) without overflow. Anything else is `EINVAL`.
pub(crate) fn validate_pages(addr: u64, npages: u64, task_size: usize) -> Result<PageRange> {
    let page = PAGE_SIZE as u64;
    if npages == 0 || npages > MAX_PAGES || addr % page != 0 {
        return Err(EINVAL);
    }
    let end = addr.checked_add(npages * page).ok_or(EINVAL)?;
    if end > task_size as u64 {
        return Err(EINVAL);
    }
    Ok(PageRange {
        addr: addr as usize,
        npages: npages as usize,
    })
}

/// Validates a byte range `[addr, addr + len)`: non-empty, at most `max` bytes, below
/// `task_size`. Anything else is `EINVAL`.
pub(crate) fn validate_bytes(addr: u64, len: u64, max: u64, task_size: usize) -> Result<usize> {
    if len == 0 || len > max {
        return Err(EINVAL);
    }
    let end = addr.checked_add(len).ok_or(EINVAL)?;
    if end > task_size as u64 {
        return Err(EINVAL);
    }
    Ok(addr as usize)
}

/// Validates a single user address.
pub(crate) fn validate_addr(addr: u64, task_size: usize) -> Result<usize> {
    if addr >= task_size as u64 {
        return Err(EINVAL);
    }
    Ok(addr as usize)
}

/// Validates the `ms` and `flags` of `struct vmalock_hold`.
pub(crate) fn validate_hold(hold: &Hold, allowed_flags: u32) -> Result {
    if hold.ms > HOLD_MAX_MS || hold.flags & !allowed_flags != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// Validates the iteration count of `struct vmalock_bench`.
pub(crate) fn validate_iterations(iterations: u32) -> Result {
    if iterations == 0 || iterations > BENCH_MAX_ITER {
        return Err(EINVAL);
    }
    Ok(())
}
