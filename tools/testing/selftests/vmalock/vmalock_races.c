// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_races: bounded races (RUN_MS each, fixed iteration caps) of
 * mmap / munmap / mprotect / mremap / fork / exit against LOOKUP, BENCH,
 * ZC_MAP, ALLOC / RELEASE and the shrinker. Invariants:
 *  - a successful lookup's [vm_start, vm_end) covers the address; the only
 *    errors are ENOENT, and EAGAIN in RCU mode;
 *  - ZC_MAP'd data always matches its seed;
 *  - a page in use is never taken away: what was written to it is still
 *    there; a page taken back after RELEASE holds its old data or zeroes;
 *  - STATS balance: with the file open, in_use + lru moved by exactly
 *    inserted - reclaimed; once all files are closed in_use and lru are
 *    back to where they started.
 * Threads record failures in counters; the test thread checks them.
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

#define RUN_MS		3000

FIXTURE(races) {
	int unused;
};

FIXTURE_SETUP(races)
{
}

FIXTURE_TEARDOWN(races)
{
}

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
	if (vl_ms_since(t0) >= RUN_MS || atomic_load(&r->failures))
		atomic_store(&r->stop, 1);
	return atomic_load(&r->stop);
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

struct lookup_race {
	struct race r;
	int fd;
	char *area;
	uint64_t t0;
	atomic_ulong ok, enoent, eagain;
};

static void *lookup_thread(void *arg)
{
	struct lookup_race *l = arg;
	uint64_t seed = (uintptr_t)pthread_self() | 1, n = 0;

	while (n++ < 200000 && !race_over(&l->r, l->t0)) {
		uint64_t addr = (uintptr_t)l->area + vl_rand(&seed) % AREA_BYTES;
		uint32_t mode = vl_rand(&seed) % (VMALOCK_MODE_UNLOCKED + 1);
		struct vmalock_lookup out;
		int ret;

		if (n % 64 == 0) {
			struct vmalock_bench b = { .addr = addr, .mode = mode, .iterations = 16 };

			ret = vl_ioctl(l->fd, VMALOCK_IOC_BENCH, &b);
			if (ret == 0 && b.fast + b.slow + b.failed != 16)
				race_fail(&l->r, "BENCH counted %llu+%llu+%llu",
					  (unsigned long long)b.fast, (unsigned long long)b.slow,
					  (unsigned long long)b.failed);
			if (ret && ret != -ENOENT)
				race_fail(&l->r, "BENCH mode %u: %d", mode, ret);
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

	while (n++ < 100000 && !race_over(&l->r, l->t0)) {
		unsigned int s = vl_rand(&seed) % SLOTS;
		char *slot = l->area + s * SLOT_PAGES * VL_PAGE;
		char *p;

		switch (vl_rand(&seed) % 6) {
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
		}
		atomic_fetch_add(&l->r.ops, 1);
	}
	return NULL;
}

/* fork() write-locks every VMA of the parent; the child looks up and exits. */
static void *forker_thread(void *arg)
{
	struct race *r = ((void **)arg)[0];
	uint64_t t0 = *(uint64_t *)((void **)arg)[1];
	int fd = *(int *)((void **)arg)[2];
	char *addr = ((void **)arg)[3];
	unsigned int n = 0;

	while (n++ < 300 && !race_over(r, t0)) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			vl_lookup(fd, (uintptr_t)addr, VMALOCK_MODE_WAIT, NULL);
			vl_lookup(fd, (uintptr_t)addr, VMALOCK_MODE_RCU, NULL);
			_exit(0);
		}
		if (pid < 0) {
			race_fail(r, "fork: %s", strerror(errno));
			break;
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			race_fail(r, "child status %#x", st);
	}
	return NULL;
}

TEST_F_TIMEOUT(races, lookup_vs_vma_changes, 120)
{
	struct lookup_race *l = calloc(1, sizeof(*l));
	pthread_t t[4];
	void *fargs[4];
	unsigned int i;

	ASSERT_NE(NULL, l);
	race_init(&l->r);
	l->fd = vl_open();
	ASSERT_LE(0, l->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	l->area = vl_anon(SLOTS * SLOT_PAGES);
	ASSERT_NE(MAP_FAILED, l->area);
	memset(l->area, 1, AREA_BYTES);
	l->t0 = vl_now_ns();
	fargs[0] = &l->r;
	fargs[1] = &l->t0;
	fargs[2] = &l->fd;
	fargs[3] = l->area;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, lookup_thread, l));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, lookup_thread, l));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, vma_mutator_thread, l));
	ASSERT_EQ(0, pthread_create(&t[3], NULL, forker_thread, fargs));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	TH_LOG("lookups: %lu ok, %lu ENOENT, %lu EAGAIN; %lu VMA changes",
	       atomic_load(&l->ok), atomic_load(&l->enoent), atomic_load(&l->eagain),
	       atomic_load(&l->r.ops));
	EXPECT_EQ(0, atomic_load(&l->r.failures)) TH_LOG("first failure: %s", l->r.first);
	EXPECT_LT(0, atomic_load(&l->ok));
	close(l->fd);
}

/* ---- the pool against the shrinker, VMA writers and fork ---- */

#define WORKERS		2
#define CHUNKS		8	/* per worker */
#define CHUNK_PAGES	8
#define POOL_PAGES	(WORKERS * CHUNKS * CHUNK_PAGES)

enum chunk_state { C_NEVER, C_IN_USE, C_RELEASED };

struct pool_race {
	struct race r;
	int fd;
	char *pool;
	char *anon;
	uint64_t t0;
	atomic_ulong allocs, taken_back, renewed;
};

struct worker {
	struct pool_race *p;
	unsigned int id;
};

/* 1: all of the page is the pattern, 0: all zero, -1: neither, -sig. */
static int page_is(char *page, uint64_t seed, uint64_t first_word)
{
	const uint64_t *w = (const uint64_t *)page;
	uint64_t v;
	bool zero = true, pat = true;
	size_t i;
	int sig = vl_probe_read(page, &v);

	if (sig)
		return -100 - sig;
	for (i = 0; i < VL_PAGE / 8; i++) {
		if (w[i])
			zero = false;
		if (w[i] != vl_pattern(seed, first_word + i))
			pat = false;
	}
	return pat ? 1 : zero ? 0 : -1;
}

static void *pool_worker(void *arg)
{
	struct worker *wk = arg;
	struct pool_race *p = wk->p;
	enum chunk_state st[CHUNKS] = { 0 };
	uint64_t seeds[CHUNKS] = { 0 };
	uint64_t seed = 1000 + wk->id, n = 0;
	unsigned int c, i;

	while (n++ < 50000 && !race_over(&p->r, p->t0)) {
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
			st[c] = C_RELEASED;
			continue;
		}
		ret = vl_alloc(p->fd, chunk, CHUNK_PAGES);
		if (ret) {
			race_fail(&p->r, "ALLOC of chunk %u (state %d): %d", c, st[c], ret);
			return NULL;
		}
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

	while (n++ < 20000 && !race_over(&p->r, p->t0)) {
		uint64_t freed, skipped;
		int ret;

		switch (vl_rand(&seed) % 4) {
		case 0:
			ret = vl_shrinker_scan(1 + vl_rand(&seed) % 64);
			break;
		case 1:
		case 2:
			ret = vl_reclaim(p->fd, vl_rand(&seed) % 2, 1 + vl_rand(&seed) % 64,
					 &freed, &skipped);
			break;
		default:
			ret = n % 16 ? 0 : vl_drop_slab();
			break;
		}
		if (ret) {
			race_fail(&p->r, "reclaim: %d", ret);
			break;
		}
		usleep(vl_rand(&seed) % 1000);
	}
	return NULL;
}

/* VMA writers: the hook, mprotect of other VMAs, fork (dup_mmap). */
static void *writer_thread(void *arg)
{
	struct pool_race *p = arg;
	uint64_t seed = 9, n = 0;

	while (n++ < 5000 && !race_over(&p->r, p->t0)) {
		pid_t pid;
		int ret = 0, st;

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
			if (pid == 0) {
				/* Its own file: ZC pages, no pool pages (the balance). */
				int fd = vl_open();
				char *m = fd >= 0 ? vl_map(fd, 4) : MAP_FAILED;

				vl_lookup(p->fd, (uintptr_t)p->pool, VMALOCK_MODE_WAIT, NULL);
				if (m != MAP_FAILED)
					vl_zc_map(fd, m, 4 * VL_PAGE, 1, NULL);
				_exit(0);
			}
			if (pid > 0)
				waitpid(pid, &st, 0);
			break;
		}
		if (ret) {
			race_fail(&p->r, "hold: %d", ret);
			break;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(races, pool_vs_shrinker, 120)
{
	struct pool_race *p = calloc(1, sizeof(*p));
	struct worker wk[WORKERS];
	struct vmalock_stats s0, s1;
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
	TH_LOG("%lu ALLOCs: %lu pages taken back, %lu new", atomic_load(&p->allocs),
	       atomic_load(&p->taken_back), atomic_load(&p->renewed));
	EXPECT_EQ(0, atomic_load(&p->r.failures)) TH_LOG("first failure: %s", p->r.first);
	EXPECT_LT(0, atomic_load(&p->allocs));

	ASSERT_EQ(0, vl_stats(p->fd, &s1));
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

struct zc_race {
	struct race r;
	pthread_rwlock_t rw;	/* write: the mapping is being replaced */
	pthread_mutex_t m;
	char *region;
	int fd;
	unsigned long gen;
	uint64_t t0;
	atomic_ulong mapped, refused, replaced;
};

static void *zc_mapper_thread(void *arg)
{
	struct zc_race *z = arg;
	uint64_t seed = 77, n = 0;

	while (n++ < 100000 && !race_over(&z->r, z->t0)) {
		unsigned int first = vl_rand(&seed) % ZC_PAGES;
		unsigned int np = 1 + vl_rand(&seed) % 4;
		uint64_t s = vl_rand(&seed), mapped = 0;
		unsigned long gen;
		int fd, ret;

		if (first + np > ZC_PAGES)
			np = ZC_PAGES - first;
		pthread_mutex_lock(&z->m);
		fd = z->fd;
		gen = z->gen;
		pthread_mutex_unlock(&z->m);
		ret = vl_zc_map(fd, z->region + first * VL_PAGE, np * VL_PAGE, s, &mapped);
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

	while (n++ < 2000 && !race_over(&z->r, z->t0)) {
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
	pthread_t t[3];
	unsigned int i;

	ASSERT_NE(NULL, z);
	race_init(&z->r);
	pthread_rwlock_init(&z->rw, NULL);
	pthread_mutex_init(&z->m, NULL);
	z->fd = vl_open();
	ASSERT_LE(0, z->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	ASSERT_EQ(0, vl_stats(z->fd, &s0));
	z->region = vl_map(z->fd, ZC_PAGES);
	ASSERT_NE(MAP_FAILED, z->region);
	z->t0 = vl_now_ns();
	ASSERT_EQ(0, pthread_create(&t[0], NULL, zc_mapper_thread, z));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, zc_mapper_thread, z));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, zc_replacer_thread, z));
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%lu ZC_MAPs, %lu refused, %lu replacements", atomic_load(&z->mapped),
	       atomic_load(&z->refused), atomic_load(&z->replaced));
	EXPECT_EQ(0, atomic_load(&z->r.failures)) TH_LOG("first failure: %s", z->r.first);
	EXPECT_LT(0, atomic_load(&z->mapped));
	/* The region is now anonymous: none of the ZC pages may show there. */
	ASSERT_NE(MAP_FAILED, mmap(z->region, ZC_PAGES * VL_PAGE, PROT_READ,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	EXPECT_EQ(0, vl_mincore(z->region, ZC_PAGES, NULL));
	close(z->fd);
	EXPECT_POOL_SETTLED(s0, s1);
}

/* ---- processes that exit (or are killed) with pool pages ---- */

static void pool_child(bool loop)
{
	int fd = vl_open();
	char *m;
	unsigned int i = 0;

	if (fd < 0)
		_exit(1);
	m = vl_map(fd, 32);
	if (m == MAP_FAILED)
		_exit(2);
	if (vl_alloc(fd, m, 32))
		_exit(3);
	memset(m, 0x77, 32 * VL_PAGE);
	if (vl_release(fd, m, 16))
		_exit(4);
	while (loop && i++ < 100000) {
		vl_release(fd, m + 16 * VL_PAGE, 16);
		vl_alloc(fd, m + 16 * VL_PAGE, 16);
	}
	_exit(0);		/* with in-use and released pages */
}

TEST_F_TIMEOUT(races, exit_with_pool_pages, 120)
{
	struct pool_race *p = calloc(1, sizeof(*p));
	struct vmalock_stats s0, s1;
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
	while (n++ < 200 && !race_over(&p->r, p->t0)) {
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
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			killed++;
		else if (!WIFEXITED(st) || WEXITSTATUS(st))
			race_fail(&p->r, "child status %#x", st);
	}
	atomic_store(&p->r.stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%u children, %u killed", n - 1, killed);
	EXPECT_EQ(0, atomic_load(&p->r.failures)) TH_LOG("first failure: %s", p->r.first);
	close(p->fd);
	EXPECT_POOL_SETTLED(s0, s1);
	EXPECT_LE(s0.inserted + 32, s1.inserted);
}

TEST_HARNESS_MAIN
