// SPDX-License-Identifier: GPL-2.0

//! The userspace ABI of `/dev/vmalock` (`include/uapi/linux/vmalock.h`) and the pure logic
//! around it: argument size negotiation, range validation, the zerocopy pattern and the
//! USER_READ checksum.
//!
//! Nothing in here touches kernel state, so all of it is covered by the in-module KUnit suite.
//!
//! The argument structs are decoded from and encoded to plain byte buffers field by field, in
//! the order of the C header. Every struct of the header is made of naturally aligned `__u64` and
//! `__u32` fields without holes, so the C layout is the sum of the field sizes (checked by the
//! KUnit suite against the sizes of the C structs, and by `_Static_assert` in the demo).

use kernel::{
    ioctl,
    prelude::*, //
};

/// `VMALOCK_IOC_MAGIC`.
pub(crate) const MAGIC: u32 = 0xB9;
/// `VMALOCK_BENCH_MAX_ITER`.
pub(crate) const BENCH_MAX_ITER: u32 = 1 << 24;
/// `VMALOCK_HOLD_MAX_MS`.
pub(crate) const HOLD_MAX_MS: u32 = 10000;
/// `VMALOCK_HOLD_VMA_WRITE`.
pub(crate) const HOLD_VMA_WRITE: u32 = 1 << 0;
/// `VMALOCK_MAP_MAX_BYTES`.
pub(crate) const MAP_MAX_BYTES: usize = 64 << 20;
/// `VMALOCK_MAX_PAGES`.
pub(crate) const MAX_PAGES: u64 = (MAP_MAX_BYTES / 4096) as u64;
/// `VMALOCK_USER_READ_MAX`.
pub(crate) const USER_READ_MAX: u32 = 1 << 20;
/// `VMALOCK_PATTERN_MUL`.
pub(crate) const PATTERN_MUL: u64 = 0x9e3779b97f4a7c15;
/// `VMALOCK_FNV_OFFSET`.
pub(crate) const FNV_OFFSET: u64 = 0xcbf29ce484222325;
/// `VMALOCK_FNV_PRIME`.
pub(crate) const FNV_PRIME: u64 = 0x100000001b3;

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
            0 => Ok(Mode::Rcu),
            1 => Ok(Mode::Wait),
            2 => Ok(Mode::Mmap),
            3 => Ok(Mode::Unlocked),
            _ => Err(EINVAL),
        }
    }
}

/// `enum vmalock_path`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// Per-VMA lock, no mmap_lock.
    Fast = 0,
    /// Took mmap_lock.
    Slow = 1,
    /// `vma_start_read_unlocked()` alone: it does not say which path it took.
    Unknown = 2,
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
            0 => Ok(UserReadMode::Safe),
            1 => Ok(UserReadMode::Unsafe),
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
            0 => Ok(ReclaimMode::VmaTrylock),
            1 => Ok(ReclaimMode::MmapTrylock),
            _ => Err(EINVAL),
        }
    }
}

/// Defines a struct of the uapi header with `SIZE`, `decode()` and `encode()`.
macro_rules! uapi_struct {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident : $ty:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)*
        }

        impl $name {
            /// Size of the C struct (its first published size).
            pub(crate) const SIZE: usize = 0 $(+ core::mem::size_of::<$ty>())*;

            /// Decodes the struct from the first `SIZE` bytes of `buf`.
            #[allow(dead_code)]
            pub(crate) fn decode(buf: &[u8; ARG_MAX]) -> Self {
                let mut off = 0;
                $(
                    let mut raw = [0u8; core::mem::size_of::<$ty>()];
                    raw.copy_from_slice(&buf[off..off + core::mem::size_of::<$ty>()]);
                    let $field = $ty::from_ne_bytes(raw);
                    off += core::mem::size_of::<$ty>();
                )*
                let _ = off;
                Self { $($field,)* }
            }

            /// Encodes the struct into the first `SIZE` bytes of `buf`.
            #[allow(dead_code)]
            pub(crate) fn encode(&self, buf: &mut [u8; ARG_MAX]) {
                let mut off = 0;
                $(
                    buf[off..off + core::mem::size_of::<$ty>()]
                        .copy_from_slice(&self.$field.to_ne_bytes());
                    off += core::mem::size_of::<$ty>();
                )*
                let _ = off;
            }
        }
    };
}

/// Size of the kernel-side argument buffer: at least the largest struct.
pub(crate) const ARG_MAX: usize = 64;

uapi_struct! {
    /// `struct vmalock_lookup`.
    struct Lookup { addr: u64, mode: u32, path: u32, vm_start: u64, vm_end: u64, vm_flags: u64 }
}
uapi_struct! {
    /// `struct vmalock_bench`.
    struct Bench {
        addr: u64, mode: u32, iterations: u32, total_ns: u64, fast: u64, slow: u64, failed: u64,
    }
}
uapi_struct! {
    /// `struct vmalock_hold`.
    struct Hold { addr: u64, ms: u32, flags: u32 }
}
uapi_struct! {
    /// `struct vmalock_zc_map`.
    struct ZcMap { addr: u64, len: u64, seed: u64, mapped: u64 }
}
uapi_struct! {
    /// `struct vmalock_pages`.
    struct Pages { addr: u64, npages: u64 }
}
uapi_struct! {
    /// `struct vmalock_stats`.
    struct Stats {
        inserted: u64, released: u64, reclaimed: u64, skipped_contended: u64, in_use: u64,
        lru: u64, zc_mapped: u64,
    }
}
uapi_struct! {
    /// `struct vmalock_user_read`.
    struct UserRead { addr: u64, len: u32, mode: u32, checksum: u64, faultins: u32, reserved: u32 }
}
uapi_struct! {
    /// `struct vmalock_reclaim`.
    struct Reclaim { mode: u32, reserved: u32, nr_to_scan: u64, freed: u64, skipped: u64 }
}

/// The commands, by `_IOC_NR`.
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

impl Cmd {
    /// Dispatches on the command's type and number only, like DRM: the size of a command may
    /// grow, so it is not part of the match. Unknown commands: `ENOTTY`.
    pub(crate) fn decode(cmd: u32) -> Result<Self> {
        if ioctl::_IOC_TYPE(cmd) != MAGIC {
            return Err(ENOTTY);
        }
        Ok(match ioctl::_IOC_NR(cmd) {
            0x01 => Cmd::Lookup,
            0x02 => Cmd::Bench,
            0x03 => Cmd::HoldMmapWrite,
            0x04 => Cmd::HoldVmaRead,
            0x05 => Cmd::ZcMap,
            0x06 => Cmd::Alloc,
            0x07 => Cmd::Release,
            0x08 => Cmd::Stats,
            0x09 => Cmd::UserRead,
            0x0a => Cmd::Reclaim,
            _ => return Err(ENOTTY),
        })
    }

    /// The first published size of the argument (the minimum accepted), which is also the
    /// size this kernel knows.
    pub(crate) fn size(self) -> usize {
        match self {
            Cmd::Lookup => Lookup::SIZE,
            Cmd::Bench => Bench::SIZE,
            Cmd::HoldMmapWrite | Cmd::HoldVmaRead => Hold::SIZE,
            Cmd::ZcMap => ZcMap::SIZE,
            Cmd::Alloc | Cmd::Release => Pages::SIZE,
            Cmd::Stats => Stats::SIZE,
            Cmd::UserRead => UserRead::SIZE,
            Cmd::Reclaim => Reclaim::SIZE,
        }
    }

    /// Whether the kernel reads the argument (`_IOW`, `_IOWR`).
    pub(crate) fn copies_in(self) -> bool {
        !matches!(self, Cmd::Stats)
    }

    /// Whether the kernel writes the argument back (`_IOR`, `_IOWR`).
    pub(crate) fn copies_out(self) -> bool {
        matches!(
            self,
            Cmd::Lookup | Cmd::Bench | Cmd::ZcMap | Cmd::Stats | Cmd::UserRead | Cmd::Reclaim
        )
    }

    /// The full command number of this kernel's version of the command.
    #[cfg_attr(not(CONFIG_KUNIT), allow(dead_code))]
    pub(crate) fn raw(self) -> u32 {
        let nr = match self {
            Cmd::Lookup => 0x01,
            Cmd::Bench => 0x02,
            Cmd::HoldMmapWrite => 0x03,
            Cmd::HoldVmaRead => 0x04,
            Cmd::ZcMap => 0x05,
            Cmd::Alloc => 0x06,
            Cmd::Release => 0x07,
            Cmd::Stats => 0x08,
            Cmd::UserRead => 0x09,
            Cmd::Reclaim => 0x0a,
        };
        let dir = match (self.copies_in(), self.copies_out()) {
            (true, true) => kernel::uapi::_IOC_READ | kernel::uapi::_IOC_WRITE,
            (true, false) => kernel::uapi::_IOC_WRITE,
            _ => kernel::uapi::_IOC_READ,
        };
        (dir << kernel::uapi::_IOC_DIRSHIFT)
            | (MAGIC << kernel::uapi::_IOC_TYPESHIFT)
            | (nr << kernel::uapi::_IOC_NRSHIFT)
            | ((self.size() as u32) << kernel::uapi::_IOC_SIZESHIFT)
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
        self.npages * kernel::page::PAGE_SIZE
    }

    pub(crate) fn end(&self) -> usize {
        self.addr + self.len()
    }
}

/// Validates `npages` pages at `addr`: `addr` page aligned, 1 ..= `MAX_PAGES` pages, the range
/// below `task_size` (a user address) without overflow. Anything else is `EINVAL`.
pub(crate) fn validate_pages(addr: u64, npages: u64, task_size: usize) -> Result<PageRange> {
    let page = kernel::page::PAGE_SIZE as u64;
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
