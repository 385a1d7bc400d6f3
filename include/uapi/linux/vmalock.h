/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmalock: userspace ABI of /dev/vmalock, a test device that exercises
 * per-VMA locks: the wait helper vma_start_read_unlocked(), a binder-style
 * page pool with a shrinker and TCP-style zerocopy mapping.
 *
 * Every command acts on the calling process's own mm only.
 *
 * Growing the ABI: the kernel dispatches on the command's type and number
 * only and takes the argument size from _IOC_SIZE(cmd), like DRM. A struct
 * may grow at its end: an older (shorter, but at least the first published
 * size) argument is zero-extended; a newer (longer) one is accepted when its
 * unknown tail is zero, else E2BIG. Shorter than the first published size:
 * EINVAL. Unknown command: ENOTTY. Reserved fields and unknown flags must be
 * zero (EINVAL).
 *
 * Every command may also fail with EFAULT (the argument cannot be read, or
 * written back: checked before any side effect) and ENOMEM (out of memory);
 * either way nothing changed, except for RECLAIM: when writing its result
 * fails after the pass, the pages it freed stay freed.
 */
#ifndef _UAPI_LINUX_VMALOCK_H
#define _UAPI_LINUX_VMALOCK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VMALOCK_IOC_MAGIC	0xB9

/* How LOOKUP and BENCH find and lock the VMA. */
enum vmalock_mode {
	/* lock_vma_under_rcu() only: EAGAIN when a writer holds the VMA. */
	VMALOCK_MODE_RCU	= 0,
	/*
	 * lock_vma_under_rcu(), then vma_start_read_unlocked() if that fails:
	 * waits for writers (killable) and reports which path it took.
	 */
	VMALOCK_MODE_WAIT	= 1,
	/* mmap_read_lock_killable() + vma_lookup(). */
	VMALOCK_MODE_MMAP	= 2,
	/*
	 * vma_start_read_unlocked() alone, as its callers use it: waits for
	 * writers (killable). The helper does not say whether it took the
	 * mmap_lock, so the path is VMALOCK_PATH_UNKNOWN.
	 */
	VMALOCK_MODE_UNLOCKED	= 3,
};

/* Which path a lookup took (vmalock_lookup.path). */
enum vmalock_path {
	VMALOCK_PATH_FAST	= 0,	/* per-VMA lock, no mmap_lock */
	VMALOCK_PATH_SLOW	= 1,	/* took mmap_lock */
	VMALOCK_PATH_UNKNOWN	= 2,	/* VMALOCK_MODE_UNLOCKED: not reported */
};

/*
 * VMALOCK_IOC_LOOKUP: find the VMA covering addr in mode, report it, unlock.
 * Errors: ENOENT no VMA covers addr; EAGAIN (RCU mode) the VMA is being
 * written; EINTR fatal signal while waiting; EINVAL bad mode or addr not a
 * user address.
 */
struct vmalock_lookup {
	__u64 addr;		/* in */
	__u32 mode;		/* in: enum vmalock_mode */
	__u32 path;		/* out: enum vmalock_path */
	__u64 vm_start;		/* out */
	__u64 vm_end;		/* out */
	__u64 vm_flags;		/* out: the VMA's vm_flags */
};

/*
 * VMALOCK_IOC_BENCH: iterations lookups of addr in mode in a kernel loop
 * (cond_resched() between them). iterations: 1 .. VMALOCK_BENCH_MAX_ITER.
 * A failed lookup (RCU mode under contention) is counted, not fatal;
 * ENOENT if no VMA covers addr at all, EINTR on fatal signal. In
 * VMALOCK_MODE_UNLOCKED, whose path is not reported, the successful lookups
 * are counted in fast (the helper's path when no writer is active).
 */
#define VMALOCK_BENCH_MAX_ITER	(1U << 24)
struct vmalock_bench {
	__u64 addr;		/* in */
	__u32 mode;		/* in: enum vmalock_mode */
	__u32 iterations;	/* in */
	__u64 total_ns;		/* out: wall time of the loop */
	__u64 fast;		/* out: took the fast path (UNLOCKED: succeeded) */
	__u64 slow;		/* out: lookups that took mmap_lock */
	__u64 failed;		/* out: lookups that failed (EAGAIN) */
};

/*
 * VMALOCK_IOC_HOLD_MMAP_WRITE: take the caller's mmap_lock for writing
 * (killable) and hold it for ms milliseconds. With VMALOCK_HOLD_VMA_WRITE,
 * also write-lock the VMA covering addr with vma_start_write(), as munmap()
 * and mprotect() do: holding mmap_write_lock alone does not make
 * lock_vma_under_rcu() fail.
 * VMALOCK_IOC_HOLD_VMA_READ: read-lock the VMA covering addr (wait helper)
 * and hold it for ms milliseconds.
 * ms: 0 .. VMALOCK_HOLD_MAX_MS. Errors: EINTR fatal signal (the lock is
 * released), ENOENT no VMA at addr, EINVAL bad ms or flags.
 */
#define VMALOCK_HOLD_MAX_MS	10000
#define VMALOCK_HOLD_VMA_WRITE	(1U << 0)
struct vmalock_hold {
	__u64 addr;		/* in */
	__u32 ms;		/* in */
	__u32 flags;		/* in: VMALOCK_HOLD_* */
};

/*
 * mmap(2) of /dev/vmalock creates the file's own VM_MIXEDMAP VMA (MAP_SHARED,
 * offset 0, at most VMALOCK_MAP_MAX_BYTES, one mapping at a time per open
 * file). MAP_PRIVATE, a non-zero offset or a larger length: EINVAL. A second
 * mmap() while a part of the first mapping is still mapped: EBUSY. Once
 * every part of it is gone (munmap(), exit, exec), its pages are freed (they
 * leave STATS in_use and lru, uncounted) and the file can be mapped again.
 * mprotect() of the mapping or a part of it works as on any shared mapping;
 * the parts stay the file's mapping. mremap(): shrinking unmaps the tail,
 * growing fails with EFAULT, moving fails with EINVAL (nothing moves).
 * ZC_MAP, ALLOC and RELEASE only act on pages of that VMA: any other VMA
 * (anonymous memory, another open file's vmalock mapping) is an "impostor":
 * EINVAL, nothing mapped; no VMA at all: EINVAL. Pages not inserted fault
 * with SIGBUS.
 * The VMA is VM_IO | VM_DONTCOPY | VM_DONTEXPAND, like binder's: a forked
 * child does not inherit it, and it cannot be grown with mremap().
 */
#define VMALOCK_MAP_MAX_BYTES	(64UL << 20)

/*
 * VMALOCK_IOC_ZC_MAP: TCP-zerocopy style. Fill len / PAGE_SIZE module-owned
 * pages with the pattern of seed (see vmalock_pattern() below) and map them
 * at addr with vma_start_read_unlocked() + vm_insert_pages(). addr and len
 * page aligned, len > 0, [addr, addr + len) inside the file's VMA and not
 * already mapped (EBUSY). Errors: EINVAL impostor or bad range; EFAULT
 * if the argument cannot be read or written back, checked before anything
 * is mapped (no page mapped, STATS unchanged: a retry with a writable
 * argument succeeds).
 */
struct vmalock_zc_map {
	__u64 addr;		/* in */
	__u64 len;		/* in */
	__u64 seed;		/* in */
	__u64 mapped;		/* out: bytes mapped */
};

/*
 * Page pool, binder style. VMALOCK_IOC_ALLOC: make npages pages at addr
 * usable: a page on the LRU (released, not yet reclaimed) is taken back
 * with its contents (not counted as inserted); a missing one is a new
 * zeroed page inserted with
 * vma_start_read_unlocked() + vm_insert_page(). EBUSY if a page is in use.
 * The new pages are allocated before any lock is taken; EAGAIN if reclaim
 * kept emptying slots of the range while ALLOC allocated (4 tries).
 * VMALOCK_IOC_RELEASE: put npages in-use pages at addr on the LRU, still
 * mapped; the shrinker may reclaim them (zap + free) at any time after.
 * EINVAL if a page is not in use. npages: 1 .. VMALOCK_MAX_PAGES(page size),
 * the pages of the largest mapping (page size: sysconf(_SC_PAGESIZE)).
 */
#define VMALOCK_MAX_PAGES(page_size)	(VMALOCK_MAP_MAX_BYTES / (page_size))
struct vmalock_pages {
	__u64 addr;		/* in */
	__u64 npages;		/* in */
};

/*
 * VMALOCK_IOC_STATS: the module's counters (all open files). inserted,
 * released, reclaimed, skipped_contended and zc_mapped count events since
 * the module was loaded; in_use and lru are the pages held now. Pages of a
 * file are freed without counting when it is released.
 */
struct vmalock_stats {
	__u64 inserted;		/* pages inserted by ALLOC */
	__u64 released;		/* RELEASE calls' pages */
	__u64 reclaimed;	/* pages zapped and freed by the shrinker */
	__u64 skipped_contended; /* shrinker skipped: VMA lock contended */
	__u64 in_use;		/* pages in use now */
	__u64 lru;		/* released pages on the LRU now */
	__u64 zc_mapped;	/* pages mapped by ZC_MAP */
};

/*
 * VMALOCK_IOC_USER_READ: read len bytes of the caller's memory at addr
 * while holding the read lock of the VMA covering it, and return their
 * checksum (vmalock_checksum() below). [addr, addr + len) must lie in one
 * VMA; len: 1 .. VMALOCK_USER_READ_MAX.
 * SAFE: page faults disabled under the VMA lock; on "needs fault-in" the
 * lock is dropped, the page faulted in, and the read retried; EAGAIN if
 * the pages keep disappearing (e.g. a concurrent MADV_DONTNEED) for 16
 * rounds in a row: the read never livelocks. EFAULT for memory that
 * cannot be faulted in.
 * UNSAFE: a plain copy_from_user() under the VMA lock, the v1 shadow-stack
 * pattern: lockdep reports the vm_lock -> mmap_lock inversion. Only with
 * the module parameter allow_unsafe=1 (else EPERM).
 */
#define VMALOCK_USER_READ_MAX	(1U << 20)
enum vmalock_user_read_mode {
	VMALOCK_USER_READ_SAFE		= 0,
	VMALOCK_USER_READ_UNSAFE	= 1,
};
struct vmalock_user_read {
	__u64 addr;		/* in */
	__u32 len;		/* in */
	__u32 mode;		/* in: enum vmalock_user_read_mode */
	__u64 checksum;		/* out */
	__u32 faultins;		/* out: times the lock was dropped to fault in */
	__u32 __reserved;	/* must be zero */
};

/*
 * VMALOCK_IOC_RECLAIM: run one reclaim pass over the LRU now, as the
 * shrinker's scan does, with the given strategy (for comparison):
 * VMA_TRYLOCK is lock_vma_under_rcu() (what the shrinker uses);
 * MMAP_TRYLOCK is mmap_read_trylock() + vma_lookup() (stock binder's old
 * fallback). nr_to_scan: 1 .. VMALOCK_MAX_PAGES(page size). A released
 * page whose address no VMA covers any more (munmap() of part of the
 * mapping) is freed and counted as reclaimed; a contended VMA or mmap lock
 * ends the pass for that file (skipped).
 */
enum vmalock_reclaim_mode {
	VMALOCK_RECLAIM_VMA_TRYLOCK	= 0,
	VMALOCK_RECLAIM_MMAP_TRYLOCK	= 1,
};
struct vmalock_reclaim {
	__u32 mode;		/* in: enum vmalock_reclaim_mode */
	__u32 __reserved;	/* must be zero */
	__u64 nr_to_scan;	/* in */
	__u64 freed;		/* out */
	__u64 skipped;		/* out: contended */
};

#define VMALOCK_IOC_LOOKUP	  _IOWR(VMALOCK_IOC_MAGIC, 0x01, struct vmalock_lookup)
#define VMALOCK_IOC_BENCH	  _IOWR(VMALOCK_IOC_MAGIC, 0x02, struct vmalock_bench)
#define VMALOCK_IOC_HOLD_MMAP_WRITE _IOW(VMALOCK_IOC_MAGIC, 0x03, struct vmalock_hold)
#define VMALOCK_IOC_HOLD_VMA_READ _IOW(VMALOCK_IOC_MAGIC, 0x04, struct vmalock_hold)
#define VMALOCK_IOC_ZC_MAP	  _IOWR(VMALOCK_IOC_MAGIC, 0x05, struct vmalock_zc_map)
#define VMALOCK_IOC_ALLOC	  _IOW(VMALOCK_IOC_MAGIC, 0x06, struct vmalock_pages)
#define VMALOCK_IOC_RELEASE	  _IOW(VMALOCK_IOC_MAGIC, 0x07, struct vmalock_pages)
#define VMALOCK_IOC_STATS	  _IOR(VMALOCK_IOC_MAGIC, 0x08, struct vmalock_stats)
#define VMALOCK_IOC_USER_READ	  _IOWR(VMALOCK_IOC_MAGIC, 0x09, struct vmalock_user_read)
#define VMALOCK_IOC_RECLAIM	  _IOWR(VMALOCK_IOC_MAGIC, 0x0a, struct vmalock_reclaim)

/*
 * The ZC_MAP pattern: 64-bit word i (counting from the addr of the ZC_MAP
 * call) holds seed * 0x9e3779b97f4a7c15 + i (wrapping).
 */
#define VMALOCK_PATTERN_MUL	0x9e3779b97f4a7c15ULL

/* USER_READ checksum: 64-bit FNV-1a over the bytes. */
#define VMALOCK_FNV_OFFSET	0xcbf29ce484222325ULL
#define VMALOCK_FNV_PRIME	0x100000001b3ULL

#endif /* _UAPI_LINUX_VMALOCK_H */
