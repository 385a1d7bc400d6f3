/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vmalock selftests (linked into every program).
 */
#ifndef VMALOCK_LIB_H
#define VMALOCK_LIB_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <linux/vmalock.h>

#define VL_DEV		"/dev/vmalock"
#define VL_MODULE	"/lib/modules/vmalock.ko"
#define VL_PAGE		4096UL	/* the guests are x86_64 */
#define VL_MAX_PAGES	VMALOCK_MAX_PAGES(VL_PAGE)

/* vm_flags bits reported by LOOKUP (include/linux/mm.h). */
#define VL_VM_READ	(1ULL << 0)
#define VL_VM_WRITE	(1ULL << 1)
#define VL_VM_EXEC	(1ULL << 2)
#define VL_VM_SHARED	(1ULL << 3)
#define VL_VM_MIXEDMAP	(1ULL << 28)

/* Addresses that are not user addresses on x86-64 (4- or 5-level paging). */
#define VL_KERNEL_ADDR	0xffff800000000000ULL
#define VL_PAST_TASK	(1ULL << 57)	/* past TASK_SIZE even with LA57 */
#define VL_NONCANON	0x8000000000000000ULL

uint64_t vl_now_ns(void);
uint64_t vl_ms_since(uint64_t t0_ns);

/*
 * vl_env_u64() - read a number (decimal, or hex with 0x) from environment
 * variable @name into *@val. Returns 0 when the variable is not set (*@val
 * unchanged), 1 when it was read, -EINVAL when it is not a number.
 */
int vl_env_u64(const char *name, uint64_t *val);
/* A seed for vl_rand() that differs from run to run: getrandom(), else time ^ pid. */
uint64_t vl_random_seed(void);
/*
 * TASK_SIZE of this process: the first address that is not a user address
 * (0x7ffffffff000 with 4-level paging, 0xfffffffffff000 with 5-level).
 */
uint64_t vl_task_size(void);

/* open("/dev/vmalock"); -1 on failure (errno set). */
int vl_open(void);
/* mmap a vmalock mapping of npages on fd (shared, RW); MAP_FAILED on error. */
void *vl_map(int fd, size_t npages);
/* Anonymous private RW mapping, not touched. */
void *vl_anon(size_t npages);

/* ioctl() returning 0 or -errno. */
int vl_ioctl(int fd, unsigned long cmd, void *arg);
int vl_lookup(int fd, uint64_t addr, uint32_t mode, struct vmalock_lookup *out);
int vl_stats(int fd, struct vmalock_stats *s);
/* *d = *s - *s0, field by field. */
void vl_stats_sub(const struct vmalock_stats *s, const struct vmalock_stats *s0,
		  struct vmalock_stats *d);
/* STATS now minus *s0 into *d; 0 or -errno. */
int vl_stats_delta(int fd, const struct vmalock_stats *s0, struct vmalock_stats *d);
int vl_alloc(int fd, void *addr, uint64_t npages);
int vl_release(int fd, void *addr, uint64_t npages);
int vl_zc_map(int fd, void *addr, uint64_t len, uint64_t seed, uint64_t *mapped);
int vl_user_read(int fd, const void *addr, uint32_t len, uint32_t mode,
		 uint64_t *csum, uint32_t *faultins);
int vl_reclaim(int fd, uint32_t mode, uint64_t nr, uint64_t *freed, uint64_t *skipped);
int vl_hold(int fd, unsigned long cmd, uint64_t addr, uint32_t ms, uint32_t flags);

/* ZC_MAP pattern and USER_READ checksum, as the header defines them. */
static inline uint64_t vl_pattern(uint64_t seed, uint64_t word)
{
	return seed * VMALOCK_PATTERN_MUL + word;
}
uint64_t vl_fnv1a(const void *buf, size_t len);
uint64_t vl_fnv1a_pattern(uint64_t seed, uint64_t first_word, size_t len);
/* Write the pattern of seed to len bytes at p, words counted from p. */
void vl_fill_pattern(void *p, size_t len, uint64_t seed);
/*
 * What one page at p holds: 1 the pattern of seed (first_word is the word
 * index of p), 0 all zeroes, -1 neither.
 */
int vl_page_holds(const void *p, uint64_t seed, uint64_t first_word);
/* First word index (from p) that does not match, or -1. */
long vl_check_pattern(const void *p, size_t len, uint64_t seed, uint64_t first_word);

/* Resident pages according to mincore(); vec may be NULL. -1 on error. */
long vl_mincore(void *addr, size_t npages, unsigned char *vec);

/*
 * Read/write one 64-bit word, catching SIGBUS/SIGSEGV: returns 0 or the
 * signal number. Safe to use from any thread.
 */
int vl_probe_read(const volatile void *p, uint64_t *val);
int vl_probe_write(volatile void *p, uint64_t val);
/*
 * vl_check_pattern() on memory that may be unmapped under it (e.g. a
 * released pool page that the shrinker may reclaim): *sig gets 0, or the
 * signal (SIGBUS/SIGSEGV) raised by the word returned.
 */
long vl_probe_check_pattern(const void *p, size_t len, uint64_t seed, uint64_t first_word,
			    int *sig);

/*
 * The one shrinker debugfs directory matching the glob @pattern (e.g.
 * "/sys/kernel/debug/shrinker/android-binder-*"): 0, -ENOENT if none,
 * -EEXIST if more than one match. Allocates (glob()).
 */
int vl_shrinker_find(const char *pattern, char *buf, size_t len);
/* Write "0 0 nr" to the scan file in @dir; 0 or -errno. */
int vl_shrinker_scan_at(const char *dir, unsigned long nr);
/* Sum of the counts in the count file in @dir, -1 on error. */
long vl_shrinker_count_at(const char *dir);
/* Read or write /sys/kernel/mm/ksm/@knob (read: NUL-terminated); 0 or -1. */
int vl_ksm_read(const char *knob, char *buf, size_t len);
int vl_ksm_write(const char *knob, const char *val);
/* Pages of this process mapped to KSM pages (/proc/self/ksm_merging_pages), -1 on error. */
long vl_ksm_merging_pages(void);
/* The module's shrinker directory (/sys/kernel/debug/shrinker/vmalock-*). */
int vl_shrinker_dir(char *buf, size_t len);
/* vl_shrinker_scan_at() and vl_shrinker_count_at() on the module's shrinker. */
int vl_shrinker_scan(unsigned long nr);
long vl_shrinker_count(void);
/*
 * Fault injection (Documentation/fault-injection/fault-injection.rst).
 * vl_fault_injection_setup() lets fail-nth reach sleeping and order-0
 * allocations and turns the per-failure stack dumps off: 0, or -errno with
 * *failed the knob that could not be set.
 */
int vl_fault_injection_setup(const char **failed);
/* /proc/thread-self/fail-nth of the calling thread, opened; -1 on error. */
int vl_nth_open(void);
/* Arm: the nth fault-injection point from now on fails. 0 or -errno. */
int vl_nth_arm(int nth, unsigned int n);
/*
 * Was the armed point reached (and failed)? Disarms. Reading and writing
 * fail-nth copy to and from user space, which are points themselves: a
 * read that fails with EFAULT was the point (the call did not reach it),
 * and so was a failed disarming write; either way the count is 0 then.
 */
bool vl_nth_injected(int nth);
/* echo 2 > /proc/sys/vm/drop_caches; 0 or -errno. */
int vl_drop_slab(void);

/*
 * vl_task_state() - the state letter of thread @tid of process @pid from
 * /proc/@pid/task/@tid/stat: 'R' running, 'S' interruptible sleep, 'D'
 * uninterruptible sleep (also TASK_KILLABLE, which is TASK_WAKEKILL |
 * TASK_UNINTERRUPTIBLE), 'Z', ...; -errno if it cannot be read.
 */
int vl_task_state(pid_t pid, pid_t tid);
/*
 * vl_task_syscall() - the number of the system call thread @tid of process
 * @pid is blocked in, from /proc/@pid/task/@tid/syscall; -EBUSY if it is
 * running, -ENODATA if it is blocked outside a system call, -errno if the
 * file cannot be read.
 */
long vl_task_syscall(pid_t pid, pid_t tid);
/*
 * vl_wait_task_blocked() - poll, every millisecond for up to @timeout_ms,
 * until thread @tid of @pid is in one of the @states (e.g. "D") and, if
 * @nr >= 0, blocked in system call @nr. Returns 0 once it is, -ETIMEDOUT
 * if it never was, or the error of reading its state. *@last (may be NULL)
 * gets the last state letter seen, *@last_nr the last system call.
 */
int vl_wait_task_blocked(pid_t pid, pid_t tid, const char *states, long nr,
			 unsigned int timeout_ms, int *last, long *last_nr);

/* Module parameter allow_unsafe (false when absent). */
bool vl_allow_unsafe(void);
/* debug_locks from /proc/lockdep_stats: 1, 0, or -1 when unavailable. */
int vl_debug_locks(void);
/* Is the module loaded (/sys/module/vmalock exists)? */
bool vl_module_loaded(void);
/*
 * rmmod vmalock (delete_module(), not waiting): 0 or -errno. insmod it
 * again from VL_MODULE with the plan's arguments ($PLAN_ARGS, as the guest's
 * /init loaded it): 0 or -errno.
 */
int vl_module_unload(void);
int vl_module_load(void);
/*
 * Free pages of the whole system, settled: caches dropped, vmstat folded,
 * empty slabs released, then /proc/zoneinfo's nr_free_pages plus the
 * per-CPU page lists, read every 300 ms until two readings in a row are
 * within 8 pages (at most 30 readings). -errno on error.
 */
long vl_free_pages_settled(void);

/*
 * A thread that runs one HOLD ioctl. started_ns is taken just before the
 * ioctl, ended_ns just after it; tid is the thread's id, set before
 * started_ns.
 */
struct vl_holder {
	int fd;
	unsigned long cmd;
	uint64_t addr;
	uint32_t ms;
	uint32_t flags;
	pthread_t thread;
	volatile pid_t tid;
	volatile uint64_t started_ns;
	volatile uint64_t ended_ns;
	volatile int ret;
	volatile int done;
};
int vl_holder_start(struct vl_holder *h);
int vl_holder_join(struct vl_holder *h);
/*
 * Start h, a holder with VMALOCK_HOLD_VMA_WRITE, and wait (up to timeout_ms
 * per try) until an RCU LOOKUP of h->addr sees the VMA write-locked. Under
 * emulation the polling thread can be descheduled through a whole hold; the
 * hold is then joined and started again, up to VL_HOLD_TRIES times in all.
 * 0: the hold is on (vl_holder_join() it later). Else the holder is joined
 * and the result is its error or -ETIMEDOUT.
 */
#define VL_HOLD_TRIES	3
int vl_holder_start_locked(struct vl_holder *h, unsigned int timeout_ms);

/*
 * STATS once in_use and lru are back to base's values, polling for up to
 * timeout_ms (a file's last reference may be dropped asynchronously, e.g.
 * by mmput_async() after the shrinker looked at an exiting process).
 * Returns 0 when settled, -ETIMEDOUT (with *s the last STATS) if not.
 */
int vl_stats_settle(int fd, const struct vmalock_stats *base, struct vmalock_stats *s,
		    unsigned int timeout_ms);

/* Deterministic PRNG (xorshift64*). */
static inline uint64_t vl_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

#endif /* VMALOCK_LIB_H */
