// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_races: bounded races (race_ms each, VMALOCK_RACE_MS, default
 * RUN_MS; fixed iteration caps) of mmap / munmap / mprotect / mremap /
 * fork / exit / the HOLD hooks against LOOKUP, BENCH, ZC_MAP, ALLOC /
 * RELEASE and the shrinker. Invariants:
 *  - a successful lookup's [vm_start, vm_end) covers the address; the only
 *    errors are ENOENT, and EAGAIN in RCU mode;
 *  - ZC_MAP'd data always matches its seed;
 *  - a page in use is never taken away: what was written to it is still
 *    there; a page taken back after RELEASE holds its old data or zeroes;
 *  - STATS balance: with the file open, in_use + lru moved by exactly
 *    inserted - reclaimed; once all files are closed in_use and lru are
 *    back to where they started.
 * Threads record failures in counters; the test thread checks them. Fork
 * children check what they see themselves and report it in their exit
 * status, which the parent checks.
 *
 * A race that did not race proves nothing, so each test also checks that
 * every thread did at least a minimum number of operations (min_ops(),
 * about a tenth of what a 2-vCPU TCG guest does in RUN_MS) and, where the
 * test is about contention, that the module reported some: lookups that
 * had to take the slow path (VMALOCK_PATH_SLOW, BENCH's slow count) or
 * reclaim passes that skipped a contended file (STATS skipped_contended).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define RUN_MS		3000	/* default race duration */
#define RUN_MS_MAX	60000	/* the tests' timeouts are 120 s */

/* The race duration: VMALOCK_RACE_MS, or RUN_MS. */
static unsigned int race_ms = RUN_MS;

FIXTURE(races) {
	int unused;
};

FIXTURE_SETUP(races)
{
	uint64_t ms = RUN_MS;
	int ret = vl_env_u64("VMALOCK_RACE_MS", &ms);

	ASSERT_LE(0, ret) TH_LOG("VMALOCK_RACE_MS is not a number");
	ASSERT_TRUE(ms >= 1 && ms <= RUN_MS_MAX)
		TH_LOG("VMALOCK_RACE_MS=%llu: must be 1 .. %u", (unsigned long long)ms, RUN_MS_MAX);
	race_ms = ms;
	ksft_print_msg("race duration: %u ms%s\n", race_ms,
		       ret ? " (VMALOCK_RACE_MS)" : "");
	fflush(stdout);
}

FIXTURE_TEARDOWN(races)
{
}

/*
 * min_ops() - the fewest operations a thread must do in a race: @at_run_ms
 * for a race of RUN_MS, in proportion for another VMALOCK_RACE_MS, at least
 * 1 and at most half the thread's iteration cap @cap.
 */
static unsigned long min_ops(unsigned long at_run_ms, unsigned long cap)
{
	unsigned long n = (unsigned long long)at_run_ms * race_ms / RUN_MS;

	if (n > cap / 2)
		n = cap / 2;
	return n ? n : 1;
}

/* Check that a thread did at least min_ops(at_run_ms, cap) operations. */
#define EXPECT_MIN_OPS(what, n, at_run_ms, cap) do {					\
	unsigned long n_ = (n), min_ = min_ops((at_run_ms), (cap));			\
											\
	EXPECT_LE(min_, n_) TH_LOG("%s: %lu operations in %u ms, want at least %lu",	\
				   (what), n_, race_ms, min_);				\
} while (0)

struct race {
	atomic_int stop;
	atomic_int failures;
	atomic_ulong ops;
	char first[256];
	pthread_mutex_t lock;
};

static void race_fail(struct race *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void race_fail(struct race *r, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&r->failures, 1) == 0) {
		va_start(ap, fmt);
		vsnprintf(r->first, sizeof(r->first), fmt, ap);
		va_end(ap);
	}
}

static void race_init(struct race *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

static bool race_over(struct race *r, uint64_t t0)
{
	if (vl_ms_since(t0) >= race_ms || atomic_load(&r->failures))
		atomic_store(&r->stop, 1);
	return atomic_load(&r->stop);
}

/* A fork child's status: 0 if it exited with 0, else the failure is recorded in r. */
static int check_child(struct race *r, pid_t pid, const char *what,
		       const char * const *codes, unsigned int ncodes)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid) {
		race_fail(r, "%s: waitpid: %s", what, strerror(errno));
		return -1;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		race_fail(r, "%s: exit status %d: %s", what, WEXITSTATUS(st),
			  WEXITSTATUS(st) < ncodes && codes[WEXITSTATUS(st)] ?
			  codes[WEXITSTATUS(st)] : "?");
	else
		race_fail(r, "%s: status %#x", what, st);
	return -1;
}

/*
 * After a race: once the module's counters settle, no page is left in use
 * or on the LRU beyond the baseline @base (read before the race); @now
 * receives the settled counters.
 */
#define EXPECT_POOL_SETTLED(base, now) do {				\
	int fd_ = vl_open();						\
									\
	ASSERT_LE(0, fd_);						\
	vl_stats_settle(fd_, &(base), &(now), 2000);			\
	EXPECT_EQ((base).in_use, (now).in_use);				\
	EXPECT_EQ((base).lru, (now).lru);				\
	close(fd_);							\
} while (0)

/* ---- LOOKUP / BENCH against VMA changes ---- */

#define SLOTS		16
#define SLOT_PAGES	4
#define AREA_BYTES	(SLOTS * SLOT_PAGES * VL_PAGE)
#define LOOKUPS_MAX	200000	/* per lookup thread */
#define CHANGES_MAX	100000
#define FORKS_MAX	300
/* Minimum operations per RUN_MS (measured under TCG, 2 vCPUs: see the commit). */
#define LOOKUPS_MIN	2000
#define CHANGES_MIN	100
#define FORKS_MIN	10

struct lookup_race {
	struct race r;
	int fd;
	char *area;
	uint64_t t0;
	atomic_ulong ok, enoent, eagain;
	/*
	 * Contention: WAIT lookups and BENCH iterations that took the slow
	 * path, RCU BENCH iterations that failed.
	 */
	atomic_ulong slow, bench_slow, bench_failed;
	atomic_ulong forks, holds;
	/* The address whose VMA the mutator is holding write-locked, or 0. */
	atomic_ulong hot;
};

struct lookup_worker {
	struct lookup_race *l;
	unsigned long ops;
};

static void *lookup_thread(void *arg)
{
	struct lookup_worker *w = arg;
	struct lookup_race *l = w->l;
	uint64_t seed = (uintptr_t)pthread_self() | 1, n = 0;

	while (n++ < LOOKUPS_MAX && !race_over(&l->r, l->t0)) {
		uint64_t addr = (uintptr_t)l->area + vl_rand(&seed) % AREA_BYTES;
		uint32_t mode = vl_rand(&seed) % (VMALOCK_MODE_UNLOCKED + 1);
		uint64_t hot = atomic_load(&l->hot);
		struct vmalock_lookup out;
		int ret;

		w->ops++;
		/* Half the time, a WAIT lookup of what the mutator holds, if anything. */
		if (hot && vl_rand(&seed) % 2) {
			addr = hot;
			mode = VMALOCK_MODE_WAIT;
		} else if (n % 64 == 0) {
			struct vmalock_bench b = { .addr = addr, .mode = mode, .iterations = 16 };

			ret = vl_ioctl(l->fd, VMALOCK_IOC_BENCH, &b);
			if (ret == 0 && b.fast + b.slow + b.failed != 16)
				race_fail(&l->r, "BENCH counted %llu+%llu+%llu",
					  (unsigned long long)b.fast, (unsigned long long)b.slow,
					  (unsigned long long)b.failed);
			if (ret && ret != -ENOENT)
				race_fail(&l->r, "BENCH mode %u: %d", mode, ret);
			/* Contention: WAIT's slow path, RCU's failures (EAGAIN). */
			if (ret == 0 && mode == VMALOCK_MODE_WAIT)
				atomic_fetch_add(&l->bench_slow, b.slow);
			if (ret == 0 && mode == VMALOCK_MODE_RCU)
				atomic_fetch_add(&l->bench_failed, b.failed);
			continue;
		}
		ret = vl_lookup(l->fd, addr, mode, &out);
		if (ret == 0) {
			atomic_fetch_add(&l->ok, 1);
			if (out.vm_start > addr || out.vm_end <= addr)
				race_fail(&l->r, "lookup %#llx gave [%#llx, %#llx)",
					  (unsigned long long)addr,
					  (unsigned long long)out.vm_start,
					  (unsigned long long)out.vm_end);
			if (mode == VMALOCK_MODE_MMAP && out.path != VMALOCK_PATH_SLOW)
				race_fail(&l->r, "MMAP lookup reported the fast path");
			if (mode == VMALOCK_MODE_RCU && out.path != VMALOCK_PATH_FAST)
				race_fail(&l->r, "RCU lookup reported the slow path");
			if (mode == VMALOCK_MODE_UNLOCKED && out.path != VMALOCK_PATH_UNKNOWN)
				race_fail(&l->r, "UNLOCKED lookup reported path %u", out.path);
			if (mode == VMALOCK_MODE_WAIT && out.path != VMALOCK_PATH_FAST &&
			    out.path != VMALOCK_PATH_SLOW)
				race_fail(&l->r, "WAIT lookup reported path %u", out.path);
			if (mode == VMALOCK_MODE_WAIT && out.path == VMALOCK_PATH_SLOW)
				atomic_fetch_add(&l->slow, 1);
		} else if (ret == -ENOENT) {
			atomic_fetch_add(&l->enoent, 1);
		} else if (ret == -EAGAIN && mode == VMALOCK_MODE_RCU) {
			atomic_fetch_add(&l->eagain, 1);
		} else {
			race_fail(&l->r, "lookup mode %u: %d", mode, ret);
		}
	}
	return NULL;
}

static void *vma_mutator_thread(void *arg)
{
	struct lookup_race *l = arg;
	uint64_t seed = 42, n = 0;

	while (n++ < CHANGES_MAX && !race_over(&l->r, l->t0)) {
		unsigned int s = vl_rand(&seed) % SLOTS;
		char *slot = l->area + s * SLOT_PAGES * VL_PAGE;
		char *p;

		switch (vl_rand(&seed) % 8) {
		case 0:
			munmap(slot, SLOT_PAGES * VL_PAGE);
			break;
		case 1:
			p = mmap(slot, SLOT_PAGES * VL_PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p != MAP_FAILED && p != slot)	/* old kernels: a hint */
				munmap(p, SLOT_PAGES * VL_PAGE);
			else if (p == slot)
				p[0] = 1;
			break;
		case 2:
			mprotect(slot + VL_PAGE, VL_PAGE, PROT_READ);
			break;
		case 3:
			mprotect(slot, SLOT_PAGES * VL_PAGE, PROT_READ | PROT_WRITE);
			break;
		case 4:
			/* shrink in place, or grow back in place */
			if (mremap(slot, SLOT_PAGES * VL_PAGE, 2 * VL_PAGE, 0) == MAP_FAILED)
				mremap(slot, 2 * VL_PAGE, SLOT_PAGES * VL_PAGE, 0);
			break;
		case 5: {
			/* move a slot onto another one */
			unsigned int d = vl_rand(&seed) % SLOTS;

			if (d != s)
				mremap(slot, SLOT_PAGES * VL_PAGE, SLOT_PAGES * VL_PAGE,
				       MREMAP_MAYMOVE | MREMAP_FIXED,
				       l->area + d * SLOT_PAGES * VL_PAGE);
			break;
		}
		case 6:
		case 7: {
			/*
			 * A writer that stays a little: a VMA of the area write-locked
			 * for 1 or 2 ms, as a slow munmap() or mprotect() would (at a
			 * random page: the first one found mapped). The lookup
			 * threads aim WAIT lookups at it meanwhile (l->hot).
			 */
			uint32_t ms = 1 + vl_rand(&seed) % 2;
			int ret = -ENOENT, tries;

			for (tries = 0; tries < 8 && ret == -ENOENT; tries++) {
				uint64_t a = (uintptr_t)l->area +
					     vl_rand(&seed) % (SLOTS * SLOT_PAGES) * VL_PAGE;

				atomic_store(&l->hot, a);
				ret = vl_hold(l->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, a, ms,
					      VMALOCK_HOLD_VMA_WRITE);
				atomic_store(&l->hot, 0);
			}
			if (ret && ret != -ENOENT)
				race_fail(&l->r, "HOLD_MMAP_WRITE in the area: %d", ret);
			if (!ret)
				atomic_fetch_add(&l->holds, 1);
			break;
		}
		}
		atomic_fetch_add(&l->r.ops, 1);
	}
	return NULL;
}

/* What the forker's child found wrong (its exit status). */
enum lookup_child_code {
	LC_OK, LC_WAIT_ERRNO, LC_RCU, LC_MMAP, LC_UNLOCKED, LC_RANGE, LC_PATH,
};

static const char * const lookup_child_codes[] = {
	[LC_WAIT_ERRNO]	= "WAIT lookup: neither found nor ENOENT",
	[LC_RCU]	= "RCU lookup differs from WAIT",
	[LC_MMAP]	= "MMAP lookup differs from WAIT",
	[LC_UNLOCKED]	= "UNLOCKED lookup differs from WAIT",
	[LC_RANGE]	= "the VMA found does not cover the address",
	[LC_PATH]	= "a lookup reported the wrong path",
};

/*
 * In the child, nothing changes its address space: every mode must find
 * the same VMA (or none, ENOENT) the WAIT lookup found, by its own path
 * and without contention (RCU and WAIT: fast).
 */
static int lookup_child(int fd, uint64_t addr)
{
	static const uint32_t modes[] = { VMALOCK_MODE_RCU, VMALOCK_MODE_MMAP,
					  VMALOCK_MODE_UNLOCKED };
	static const uint32_t paths[] = { VMALOCK_PATH_FAST, VMALOCK_PATH_SLOW,
					  VMALOCK_PATH_UNKNOWN };
	static const int codes[] = { LC_RCU, LC_MMAP, LC_UNLOCKED };
	struct vmalock_lookup w, o;
	unsigned int i;
	int ret, r;

	ret = vl_lookup(fd, addr, VMALOCK_MODE_WAIT, &w);
	if (ret && ret != -ENOENT)
		return LC_WAIT_ERRNO;
	if (!ret && (w.vm_start > addr || w.vm_end <= addr))
		return LC_RANGE;
	if (!ret && w.path != VMALOCK_PATH_FAST)
		return LC_PATH;
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		r = vl_lookup(fd, addr, modes[i], &o);
		if (r != ret || (!r && (o.vm_start != w.vm_start || o.vm_end != w.vm_end ||
					o.vm_flags != w.vm_flags)))
			return codes[i];
		if (!r && o.path != paths[i])
			return LC_PATH;
	}
	return LC_OK;
}

/* fork() write-locks every VMA of the parent; the child looks up and exits. */
static void *forker_thread(void *arg)
{
	struct lookup_race *l = arg;
	unsigned int n = 0;

	while (n++ < FORKS_MAX && !race_over(&l->r, l->t0)) {
		/* A slot that the mutator changes, and one inside a slot. */
		uint64_t addr = (uintptr_t)l->area + (n % SLOTS) * SLOT_PAGES * VL_PAGE +
				(n % 3) * VL_PAGE;
		pid_t pid = fork();

		if (pid == 0)
			_exit(lookup_child(l->fd, addr));
		if (pid < 0) {
			race_fail(&l->r, "fork: %s", strerror(errno));
			break;
		}
		atomic_fetch_add(&l->forks, 1);
		if (check_child(&l->r, pid, "lookup child", lookup_child_codes,
				ARRAY_SIZE(lookup_child_codes)))
			break;
	}
	return NULL;
}

TEST_F_TIMEOUT(races, lookup_vs_vma_changes, 120)
{
	struct lookup_race *l = calloc(1, sizeof(*l));
	struct lookup_worker w[2];
	unsigned long slow;
	pthread_t t[4];
	unsigned int i;

	ASSERT_NE(NULL, l);
	race_init(&l->r);
	l->fd = vl_open();
	ASSERT_LE(0, l->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	l->area = vl_anon(SLOTS * SLOT_PAGES);
	ASSERT_NE(MAP_FAILED, l->area);
	memset(l->area, 1, AREA_BYTES);
	l->t0 = vl_now_ns();
	for (i = 0; i < 2; i++) {
		w[i] = (struct lookup_worker){ .l = l };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, lookup_thread, &w[i]));
	}
	ASSERT_EQ(0, pthread_create(&t[2], NULL, vma_mutator_thread, l));
	ASSERT_EQ(0, pthread_create(&t[3], NULL, forker_thread, l));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	slow = atomic_load(&l->slow) + atomic_load(&l->bench_slow);
	ksft_print_msg("lookup_vs_vma_changes: lookup threads: %lu and %lu calls "
		       "(%lu ok, %lu ENOENT, %lu EAGAIN)\n", w[0].ops, w[1].ops,
		       atomic_load(&l->ok), atomic_load(&l->enoent), atomic_load(&l->eagain));
	ksft_print_msg("lookup_vs_vma_changes: slow path: %lu WAIT lookups, "
		       "%lu WAIT BENCH iterations; %lu RCU BENCH iterations failed\n",
		       atomic_load(&l->slow), atomic_load(&l->bench_slow),
		       atomic_load(&l->bench_failed));
	ksft_print_msg("lookup_vs_vma_changes: mutator: %lu VMA changes (%lu holds); "
		       "forker: %lu forks\n", atomic_load(&l->r.ops), atomic_load(&l->holds),
		       atomic_load(&l->forks));
	fflush(stdout);
	EXPECT_EQ(0, atomic_load(&l->r.failures)) TH_LOG("first failure: %s", l->r.first);
	EXPECT_LT(0, atomic_load(&l->ok));
	EXPECT_MIN_OPS("lookup thread 0", w[0].ops, LOOKUPS_MIN, LOOKUPS_MAX);
	EXPECT_MIN_OPS("lookup thread 1", w[1].ops, LOOKUPS_MIN, LOOKUPS_MAX);
	EXPECT_MIN_OPS("VMA mutator", atomic_load(&l->r.ops), CHANGES_MIN, CHANGES_MAX);
	EXPECT_MIN_OPS("forker", atomic_load(&l->forks), FORKS_MIN, FORKS_MAX);
	/*
	 * The lookups met the VMA writers: some had to wait on the slow path,
	 * and RCU lookups found VMAs being written (EAGAIN, BENCH failures).
	 */
	EXPECT_LT(0, slow) TH_LOG("no WAIT lookup or BENCH iteration took the slow path");
	EXPECT_LT(0, atomic_load(&l->eagain) + atomic_load(&l->bench_failed))
		TH_LOG("no RCU lookup met a writer");
	close(l->fd);
}

/* ---- the pool against the shrinker, VMA writers and fork ---- */

#define WORKERS		2
#define CHUNKS		8	/* per worker */
#define CHUNK_PAGES	8
#define POOL_PAGES	(WORKERS * CHUNKS * CHUNK_PAGES)
#define WORKER_MAX	50000
#define SHRINKER_MAX	20000
#define WRITER_MAX	5000
#define WORKER_MIN	200	/* ALLOCs + RELEASEs per worker */
#define SHRINKER_MIN	100
#define WRITER_MIN	50
#define WRITER_FORKS_MIN 5

enum chunk_state { C_NEVER, C_IN_USE, C_RELEASED };

struct pool_race {
	struct race r;
	int fd;
	char *pool;
	char *anon;
	uint64_t t0;
	atomic_ulong allocs, taken_back, renewed;
	/* The shrinker thread's passes and what its RECLAIM calls reported. */
	unsigned long shrinker_ops;
	atomic_ulong freed, skipped;
	/* The writer thread's operations and forks. */
	unsigned long writer_ops, writer_forks;
};

struct worker {
	struct pool_race *p;
	unsigned int id;
	unsigned long ops;
};

/* 1: all of the page is the pattern, 0: all zero, -1: neither, -100 - sig. */
static int page_is(char *page, uint64_t seed, uint64_t first_word)
{
	uint64_t v;
	int sig = vl_probe_read(page, &v);

	return sig ? -100 - sig : vl_page_holds(page, seed, first_word);
}

static void *pool_worker(void *arg)
{
	struct worker *wk = arg;
	struct pool_race *p = wk->p;
	enum chunk_state st[CHUNKS] = { 0 };
	uint64_t seeds[CHUNKS] = { 0 };
	uint64_t seed = 1000 + wk->id, n = 0;
	unsigned int c, i;

	while (n++ < WORKER_MAX && !race_over(&p->r, p->t0)) {
		char *chunk;
		int ret;

		c = vl_rand(&seed) % CHUNKS;
		chunk = p->pool + ((wk->id * CHUNKS) + c) * CHUNK_PAGES * VL_PAGE;
		if (st[c] == C_IN_USE) {
			for (i = 0; i < CHUNK_PAGES; i++) {
				ret = page_is(chunk + i * VL_PAGE, seeds[c], i * VL_PAGE / 8);
				if (ret != 1) {
					race_fail(&p->r, "in-use page %p lost its data (%d)",
						  chunk + i * VL_PAGE, ret);
					return NULL;
				}
			}
			ret = vl_release(p->fd, chunk, CHUNK_PAGES);
			if (ret) {
				race_fail(&p->r, "RELEASE: %d", ret);
				return NULL;
			}
			wk->ops++;
			st[c] = C_RELEASED;
			continue;
		}
		ret = vl_alloc(p->fd, chunk, CHUNK_PAGES);
		if (ret) {
			race_fail(&p->r, "ALLOC of chunk %u (state %d): %d", c, st[c], ret);
			return NULL;
		}
		wk->ops++;
		atomic_fetch_add(&p->allocs, 1);
		for (i = 0; i < CHUNK_PAGES; i++) {
			ret = page_is(chunk + i * VL_PAGE, seeds[c], i * VL_PAGE / 8);
			if (ret == 1 && st[c] == C_RELEASED) {
				atomic_fetch_add(&p->taken_back, 1);
			} else if (ret == 0) {
				atomic_fetch_add(&p->renewed, 1);
			} else {
				race_fail(&p->r, "ALLOC'd page %p: %d (state %d)",
					  chunk + i * VL_PAGE, ret, st[c]);
				return NULL;
			}
		}
		seeds[c] = vl_rand(&seed);
		vl_fill_pattern(chunk, CHUNK_PAGES * VL_PAGE, seeds[c]);
		st[c] = C_IN_USE;
	}
	/* Leave everything released. */
	for (c = 0; c < CHUNKS; c++)
		if (st[c] == C_IN_USE)
			vl_release(p->fd, p->pool + ((wk->id * CHUNKS) + c) * CHUNK_PAGES * VL_PAGE,
				   CHUNK_PAGES);
	return NULL;
}

static void *shrinker_thread(void *arg)
{
	struct pool_race *p = arg;
	uint64_t seed = 7, n = 0;

	while (n++ < SHRINKER_MAX && !race_over(&p->r, p->t0)) {
		uint64_t freed = 0, skipped = 0, nr;
		int ret;

		switch (vl_rand(&seed) % 4) {
		case 0:
			ret = vl_shrinker_scan(1 + vl_rand(&seed) % 64);
			break;
		case 1:
		case 2:
			nr = vl_rand(&seed) % 2;
			ret = vl_reclaim(p->fd, nr, 1 + vl_rand(&seed) % 64, &freed, &skipped);
			atomic_fetch_add(&p->freed, freed);
			atomic_fetch_add(&p->skipped, skipped);
			break;
		default:
			ret = n % 16 ? 0 : vl_drop_slab();
			break;
		}
		if (ret) {
			race_fail(&p->r, "reclaim: %d", ret);
			break;
		}
		p->shrinker_ops++;
		usleep(vl_rand(&seed) % 1000);
	}
	return NULL;
}

/* What the writer's child found wrong (its exit status). */
enum writer_child_code {
	WC_OK, WC_OPEN, WC_MMAP, WC_INHERITED, WC_LOOKUP, WC_ALLOC, WC_ZC_MAP, WC_ZC_DATA,
};

static const char * const writer_child_codes[] = {
	[WC_OPEN]	= "open of its own file failed",
	[WC_MMAP]	= "mmap of its own file failed",
	[WC_INHERITED]	= "the parent's pool is mapped in the child (VM_DONTCOPY)",
	[WC_LOOKUP]	= "LOOKUP of the parent's pool address: not ENOENT",
	[WC_ALLOC]	= "ALLOC in the parent's pool address: not EINVAL",
	[WC_ZC_MAP]	= "ZC_MAP of its own mapping failed",
	[WC_ZC_DATA]	= "its ZC_MAP'd pages do not hold the pattern",
};

/*
 * The writer's fork child: the parent's pool is not inherited (VM_DONTCOPY:
 * no VMA there, so LOOKUP is ENOENT, ALLOC through the inherited fd is
 * EINVAL); its own file works: ZC pages, no pool pages (the balance).
 */
static int writer_child(struct pool_race *p)
{
	unsigned char vec;
	uint64_t mapped = 0;
	int fd = vl_open();
	char *m;

	if (fd < 0)
		return WC_OPEN;
	m = vl_map(fd, 4);
	if (m == MAP_FAILED)
		return WC_MMAP;
	if (mincore(p->pool, VL_PAGE, &vec) != -1 || errno != ENOMEM)
		return WC_INHERITED;
	if (vl_lookup(p->fd, (uintptr_t)p->pool, VMALOCK_MODE_WAIT, NULL) != -ENOENT)
		return WC_LOOKUP;
	if (vl_alloc(p->fd, p->pool, 1) != -EINVAL)
		return WC_ALLOC;
	if (vl_zc_map(fd, m, 4 * VL_PAGE, 1, &mapped) || mapped != 4 * VL_PAGE)
		return WC_ZC_MAP;
	if (vl_check_pattern(m, 4 * VL_PAGE, 1, 0) != -1)
		return WC_ZC_DATA;
	return WC_OK;
}

/* VMA writers: the hook, mprotect of other VMAs, fork (dup_mmap). */
static void *writer_thread(void *arg)
{
	struct pool_race *p = arg;
	uint64_t seed = 9, n = 0;

	while (n++ < WRITER_MAX && !race_over(&p->r, p->t0)) {
		pid_t pid;
		int ret = 0;

		switch (vl_rand(&seed) % 4) {
		case 0:
			ret = vl_hold(p->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, (uintptr_t)p->pool,
				      vl_rand(&seed) % 3, VMALOCK_HOLD_VMA_WRITE);
			break;
		case 1:
			ret = vl_hold(p->fd, VMALOCK_IOC_HOLD_VMA_READ, (uintptr_t)p->pool, 1, 0);
			break;
		case 2:
			mprotect(p->anon, VL_PAGE, (n & 1) ? PROT_READ : PROT_READ | PROT_WRITE);
			break;
		case 3:
			pid = fork();
			if (pid == 0)
				_exit(writer_child(p));
			if (pid < 0) {
				race_fail(&p->r, "fork: %s", strerror(errno));
				return NULL;
			}
			p->writer_forks++;
			check_child(&p->r, pid, "writer child", writer_child_codes,
				    ARRAY_SIZE(writer_child_codes));
			break;
		}
		if (ret) {
			race_fail(&p->r, "hold: %d", ret);
			break;
		}
		p->writer_ops++;
	}
	return NULL;
}

TEST_F_TIMEOUT(races, pool_vs_shrinker, 120)
{
	struct pool_race *p = calloc(1, sizeof(*p));
	struct worker wk[WORKERS];
	struct vmalock_stats s0, s1, d;
	pthread_t t[WORKERS + 2];
	unsigned int i;

	ASSERT_NE(NULL, p);
	race_init(&p->r);
	vl_shrinker_count();	/* cache the debugfs directory */
	p->fd = vl_open();
	ASSERT_LE(0, p->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	p->pool = vl_map(p->fd, POOL_PAGES);
	ASSERT_NE(MAP_FAILED, p->pool);
	p->anon = vl_anon(2);
	ASSERT_NE(MAP_FAILED, p->anon);
	ASSERT_EQ(0, vl_stats(p->fd, &s0));
	p->t0 = vl_now_ns();
	for (i = 0; i < WORKERS; i++) {
		wk[i] = (struct worker){ .p = p, .id = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, pool_worker, &wk[i]));
	}
	ASSERT_EQ(0, pthread_create(&t[WORKERS], NULL, shrinker_thread, p));
	ASSERT_EQ(0, pthread_create(&t[WORKERS + 1], NULL, writer_thread, p));
	for (i = 0; i < WORKERS + 2; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(0, vl_stats(p->fd, &s1));
	vl_stats_sub(&s1, &s0, &d);
	ksft_print_msg("pool_vs_shrinker: workers: %lu and %lu ALLOCs + RELEASEs "
		       "(%lu ALLOCs: %lu pages taken back, %lu new)\n", wk[0].ops, wk[1].ops,
		       atomic_load(&p->allocs), atomic_load(&p->taken_back),
		       atomic_load(&p->renewed));
	ksft_print_msg("pool_vs_shrinker: shrinker thread: %lu passes "
		       "(its RECLAIMs freed %lu, skipped %lu); writer: %lu operations, %lu forks\n",
		       p->shrinker_ops, atomic_load(&p->freed), atomic_load(&p->skipped),
		       p->writer_ops, p->writer_forks);
	ksft_print_msg("pool_vs_shrinker: STATS: reclaimed +%llu, skipped_contended +%llu\n",
		       (unsigned long long)d.reclaimed, (unsigned long long)d.skipped_contended);
	fflush(stdout);
	EXPECT_EQ(0, atomic_load(&p->r.failures)) TH_LOG("first failure: %s", p->r.first);
	EXPECT_LT(0, atomic_load(&p->allocs));
	for (i = 0; i < WORKERS; i++)
		EXPECT_MIN_OPS(i ? "worker 1" : "worker 0", wk[i].ops, WORKER_MIN, WORKER_MAX);
	EXPECT_MIN_OPS("shrinker thread", p->shrinker_ops, SHRINKER_MIN, SHRINKER_MAX);
	EXPECT_MIN_OPS("writer thread", p->writer_ops, WRITER_MIN, WRITER_MAX);
	EXPECT_MIN_OPS("writer forks", p->writer_forks, WRITER_FORKS_MIN, WRITER_MAX / 4);
	/* The shrinker really took pages from the workers, and met their locks. */
	EXPECT_LT(0, d.reclaimed) TH_LOG("nothing was reclaimed during the race");
	EXPECT_LT(0, d.skipped_contended) TH_LOG("reclaim never met a contended lock");

	EXPECT_EQ(s0.in_use, s1.in_use);	/* everything released */
	EXPECT_EQ((s1.inserted - s0.inserted) - (s1.reclaimed - s0.reclaimed),
		  (s1.in_use + s1.lru) - (s0.in_use + s0.lru))
		TH_LOG("inserted +%llu reclaimed +%llu lru %llu -> %llu",
		       (unsigned long long)(s1.inserted - s0.inserted),
		       (unsigned long long)(s1.reclaimed - s0.reclaimed),
		       (unsigned long long)s0.lru, (unsigned long long)s1.lru);
	EXPECT_GE(s1.released - s0.released, s1.reclaimed - s0.reclaimed);
	munmap(p->pool, POOL_PAGES * VL_PAGE);
	close(p->fd);
	EXPECT_POOL_SETTLED(s0, s1);
}

/* ---- ZC_MAP against munmap / replacement of its VMA ---- */

#define ZC_PAGES	32
#define MAPPER_MAX	100000
#define REPLACER_MAX	2000
#define MAPPER_MIN	100	/* ZC_MAP calls per mapper */
#define REPLACER_MIN	20

struct zc_race {
	struct race r;
	pthread_rwlock_t rw;	/* write: the mapping is being replaced */
	pthread_mutex_t m;
	char *region;
	int fd;
	int lfd;		/* for the lookups: never closed during the race */
	unsigned long gen;
	uint64_t t0;
	atomic_ulong mapped, refused, replaced;
	/* Refusals by errno, and the mappers' WAIT lookups of the region. */
	atomic_ulong ebusy, einval, ebadf, lookups, slow, lookup_enoent;
};

struct zc_mapper {
	struct zc_race *z;
	uint64_t seed;
	unsigned long ops;
};

/*
 * Every 8th round a WAIT lookup of the region instead: it sees the VMA, or
 * none while it is replaced (munmap first), and takes the slow path when it
 * met the replacer's VMA write lock.
 */
static void zc_lookup(struct zc_race *z, uint64_t addr)
{
	struct vmalock_lookup l;
	int ret;

	ret = vl_lookup(z->lfd, addr, VMALOCK_MODE_WAIT, &l);
	atomic_fetch_add(&z->lookups, 1);
	if (ret == -ENOENT) {
		atomic_fetch_add(&z->lookup_enoent, 1);
	} else if (ret) {
		race_fail(&z->r, "WAIT lookup of the region: %d", ret);
	} else if (l.vm_start != (uintptr_t)z->region ||
		   l.vm_end != (uintptr_t)z->region + ZC_PAGES * VL_PAGE) {
		race_fail(&z->r, "WAIT lookup of the region gave [%#llx, %#llx)",
			  (unsigned long long)l.vm_start, (unsigned long long)l.vm_end);
	} else if (l.path == VMALOCK_PATH_SLOW) {
		atomic_fetch_add(&z->slow, 1);
	} else if (l.path != VMALOCK_PATH_FAST) {
		race_fail(&z->r, "WAIT lookup reported path %u", l.path);
	}
}

static void *zc_mapper_thread(void *arg)
{
	struct zc_mapper *zm = arg;
	struct zc_race *z = zm->z;
	uint64_t seed = zm->seed, n = 0;

	while (n++ < MAPPER_MAX && !race_over(&z->r, z->t0)) {
		unsigned int first = vl_rand(&seed) % ZC_PAGES;
		unsigned int np = 1 + vl_rand(&seed) % 4;
		uint64_t s = vl_rand(&seed), mapped = 0;
		unsigned long gen;
		int fd, ret;

		if (first + np > ZC_PAGES)
			np = ZC_PAGES - first;
		if (n % 8 == 0) {
			zc_lookup(z, (uintptr_t)z->region + first * VL_PAGE);
			continue;
		}
		pthread_mutex_lock(&z->m);
		fd = z->fd;
		gen = z->gen;
		pthread_mutex_unlock(&z->m);
		ret = vl_zc_map(fd, z->region + first * VL_PAGE, np * VL_PAGE, s, &mapped);
		zm->ops++;
		if (ret == 0) {
			atomic_fetch_add(&z->mapped, 1);
			pthread_rwlock_rdlock(&z->rw);
			if (gen == z->gen) {
				long bad;

				if (mapped != np * VL_PAGE)
					race_fail(&z->r, "mapped %llu of %u pages",
						  (unsigned long long)mapped, np);
				bad = vl_check_pattern(z->region + first * VL_PAGE, np * VL_PAGE,
						       s, 0);
				if (bad >= 0)
					race_fail(&z->r, "ZC data wrong at word %ld", bad);
			}
			pthread_rwlock_unlock(&z->rw);
		} else if (ret == -EBUSY || ret == -EINVAL || ret == -EBADF) {
			atomic_fetch_add(&z->refused, 1);
			atomic_fetch_add(ret == -EBUSY ? &z->ebusy : ret == -EINVAL ? &z->einval :
					 &z->ebadf, 1);
		} else {
			race_fail(&z->r, "ZC_MAP: %d", ret);
		}
	}
	return NULL;
}

static void *zc_replacer_thread(void *arg)
{
	struct zc_race *z = arg;
	uint64_t seed = 5, n = 0;

	while (n++ < REPLACER_MAX && !race_over(&z->r, z->t0)) {
		int nfd = vl_open(), ofd;
		char *p;

		if (nfd < 0) {
			race_fail(&z->r, "open: %s", strerror(errno));
			break;
		}
		usleep(vl_rand(&seed) % 3000);
		pthread_rwlock_wrlock(&z->rw);
		if (vl_rand(&seed) % 2) {
			/* munmap, then map the new file: a window with no VMA */
			munmap(z->region, ZC_PAGES * VL_PAGE);
		}
		p = mmap(z->region, ZC_PAGES * VL_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, nfd, 0);
		if (p == MAP_FAILED) {
			race_fail(&z->r, "mmap MAP_FIXED: %s", strerror(errno));
			pthread_rwlock_unlock(&z->rw);
			close(nfd);
			break;
		}
		pthread_mutex_lock(&z->m);
		ofd = z->fd;
		z->fd = nfd;
		z->gen++;
		pthread_mutex_unlock(&z->m);
		pthread_rwlock_unlock(&z->rw);
		close(ofd);
		atomic_fetch_add(&z->replaced, 1);
		/* and some VMA write-locking while ZC_MAP runs */
		vl_hold(nfd, VMALOCK_IOC_HOLD_MMAP_WRITE, (uintptr_t)z->region, 1,
			VMALOCK_HOLD_VMA_WRITE);
	}
	return NULL;
}

TEST_F_TIMEOUT(races, zc_vs_munmap, 120)
{
	struct zc_race *z = calloc(1, sizeof(*z));
	struct vmalock_stats s0, s1;
	struct zc_mapper zm[2];
	pthread_t t[3];
	unsigned int i;

	ASSERT_NE(NULL, z);
	race_init(&z->r);
	pthread_rwlock_init(&z->rw, NULL);
	pthread_mutex_init(&z->m, NULL);
	z->fd = vl_open();
	ASSERT_LE(0, z->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	ASSERT_EQ(0, vl_stats(z->fd, &s0));
	z->lfd = vl_open();
	ASSERT_LE(0, z->lfd);
	z->region = vl_map(z->fd, ZC_PAGES);
	ASSERT_NE(MAP_FAILED, z->region);
	z->t0 = vl_now_ns();
	for (i = 0; i < 2; i++) {
		zm[i] = (struct zc_mapper){ .z = z, .seed = 77 + i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, zc_mapper_thread, &zm[i]));
	}
	ASSERT_EQ(0, pthread_create(&t[2], NULL, zc_replacer_thread, z));
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("zc_vs_munmap: mappers: %lu and %lu ZC_MAP calls (%lu mapped, "
		       "%lu refused: %lu EBUSY, %lu EINVAL, %lu EBADF)\n", zm[0].ops, zm[1].ops,
		       atomic_load(&z->mapped), atomic_load(&z->refused), atomic_load(&z->ebusy),
		       atomic_load(&z->einval), atomic_load(&z->ebadf));
	ksft_print_msg("zc_vs_munmap: replacer: %lu replacements; mappers' WAIT lookups: %lu "
		       "(%lu slow path, %lu ENOENT)\n", atomic_load(&z->replaced),
		       atomic_load(&z->lookups), atomic_load(&z->slow),
		       atomic_load(&z->lookup_enoent));
	fflush(stdout);
	EXPECT_EQ(0, atomic_load(&z->r.failures)) TH_LOG("first failure: %s", z->r.first);
	EXPECT_LT(0, atomic_load(&z->mapped));
	EXPECT_MIN_OPS("mapper 0", zm[0].ops, MAPPER_MIN, MAPPER_MAX);
	EXPECT_MIN_OPS("mapper 1", zm[1].ops, MAPPER_MIN, MAPPER_MAX);
	EXPECT_MIN_OPS("replacer", atomic_load(&z->replaced), REPLACER_MIN, REPLACER_MAX);
	/* The mappers met the replacer's VMA writes. */
	EXPECT_LT(0, atomic_load(&z->slow))
		TH_LOG("no WAIT lookup of the region took the slow path");
	/* The region is now anonymous: none of the ZC pages may show there. */
	ASSERT_NE(MAP_FAILED, mmap(z->region, ZC_PAGES * VL_PAGE, PROT_READ,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	EXPECT_EQ(0, vl_mincore(z->region, ZC_PAGES, NULL));
	close(z->fd);
	close(z->lfd);
	EXPECT_POOL_SETTLED(s0, s1);
}

/* ---- processes that exit (or are killed) with pool pages ---- */

#define CHILDREN_MAX	200
#define CHILDREN_MIN	20

/* What a pool child found wrong (its exit status). */
enum pool_child_code {
	PC_OK, PC_OPEN, PC_MMAP, PC_ALLOC, PC_RELEASE, PC_LOOP_RELEASE, PC_LOOP_ALLOC,
	PC_LOOP_DATA,
};

static const char * const pool_child_codes[] = {
	[PC_OPEN]		= "open failed",
	[PC_MMAP]		= "mmap failed",
	[PC_ALLOC]		= "ALLOC of 32 pages failed",
	[PC_RELEASE]		= "RELEASE of 16 pages failed",
	[PC_LOOP_RELEASE]	= "RELEASE in the loop failed",
	[PC_LOOP_ALLOC]		= "ALLOC in the loop failed",
	[PC_LOOP_DATA]		= "a page in use lost its data",
};

static const char *pool_child_reason(int st)
{
	unsigned int code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;

	if (!WIFEXITED(st))
		return "killed";
	return code < ARRAY_SIZE(pool_child_codes) && pool_child_codes[code] ?
	       pool_child_codes[code] : "?";
}

static void pool_child(bool loop)
{
	int fd = vl_open();
	char *m;
	unsigned int i = 0;

	if (fd < 0)
		_exit(PC_OPEN);
	m = vl_map(fd, 32);
	if (m == MAP_FAILED)
		_exit(PC_MMAP);
	if (vl_alloc(fd, m, 32))
		_exit(PC_ALLOC);
	memset(m, 0x77, 32 * VL_PAGE);
	if (vl_release(fd, m, 16))
		_exit(PC_RELEASE);
	while (loop && i++ < 100000) {
		if (vl_release(fd, m + 16 * VL_PAGE, 16))
			_exit(PC_LOOP_RELEASE);
		if (vl_alloc(fd, m + 16 * VL_PAGE, 16))
			_exit(PC_LOOP_ALLOC);
		/* Taken back (0x77) or, if reclaimed meanwhile, new (0). */
		if (m[16 * VL_PAGE] != 0x77 && m[16 * VL_PAGE] != 0)
			_exit(PC_LOOP_DATA);
		m[16 * VL_PAGE] = 0x77;
	}
	_exit(PC_OK);		/* with in-use and released pages */
}

TEST_F_TIMEOUT(races, exit_with_pool_pages, 120)
{
	struct pool_race *p = calloc(1, sizeof(*p));
	struct vmalock_stats s0, s1, d;
	unsigned int n = 0, killed = 0;
	pthread_t t;

	ASSERT_NE(NULL, p);
	race_init(&p->r);
	vl_shrinker_count();
	p->fd = vl_open();
	ASSERT_LE(0, p->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	ASSERT_EQ(0, vl_stats(p->fd, &s0));
	p->t0 = vl_now_ns();
	ASSERT_EQ(0, pthread_create(&t, NULL, shrinker_thread, p));
	while (n++ < CHILDREN_MAX && !race_over(&p->r, p->t0)) {
		bool loop = n % 2;
		pid_t pid = fork();
		int st;

		ASSERT_LE(0, pid);
		if (pid == 0)
			pool_child(loop);
		if (loop) {
			usleep(2000 + (n * 7919) % 20000);
			kill(pid, SIGKILL);
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		/* Only the looping children are killed; the others report their result. */
		if (loop && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			killed++;
		else if (!WIFEXITED(st) || WEXITSTATUS(st))
			race_fail(&p->r, "%s child: status %#x: %s", loop ? "looping" : "exiting",
				  st, pool_child_reason(st));
	}
	atomic_store(&p->r.stop, 1);
	pthread_join(t, NULL);
	ASSERT_EQ(0, vl_stats(p->fd, &s1));
	vl_stats_sub(&s1, &s0, &d);
	ksft_print_msg("exit_with_pool_pages: %u children, %u killed; shrinker thread: %lu passes "
		       "(its RECLAIMs freed %lu, skipped %lu)\n", n - 1, killed, p->shrinker_ops,
		       atomic_load(&p->freed), atomic_load(&p->skipped));
	ksft_print_msg("exit_with_pool_pages: STATS: reclaimed +%llu, skipped_contended +%llu\n",
		       (unsigned long long)d.reclaimed, (unsigned long long)d.skipped_contended);
	fflush(stdout);
	EXPECT_EQ(0, atomic_load(&p->r.failures)) TH_LOG("first failure: %s", p->r.first);
	EXPECT_MIN_OPS("children", n - 1, CHILDREN_MIN, CHILDREN_MAX);
	EXPECT_MIN_OPS("shrinker thread", p->shrinker_ops, SHRINKER_MIN, SHRINKER_MAX);
	/* The shrinker really met the children's pages while they lived. */
	EXPECT_LT(0, d.reclaimed) TH_LOG("nothing was reclaimed from the children");
	close(p->fd);
	EXPECT_POOL_SETTLED(s0, s1);
	EXPECT_LE(s0.inserted + 32, s1.inserted);
}

TEST_HARNESS_MAIN
