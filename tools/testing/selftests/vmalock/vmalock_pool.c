// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_pool: the binder-style page pool and its shrinker.
 * ALLOC / RELEASE semantics and errnos, the STATS counters, reclaim
 * through the shrinker's debugfs "scan" file, /proc/sys/vm/drop_caches and
 * VMALOCK_IOC_RECLAIM, reclaimed pages zapped (mincore, SIGBUS), in-use
 * pages never reclaimed, and reclaim against a writer: with the pool's VMA
 * write-locked the shrinker skips (skipped_contended grows) and returns at
 * once; with only the mmap write lock held it still makes progress.
 *
 * Balance (while the file is open): in_use + lru changes by exactly
 * inserted - reclaimed (released pages move from in_use to lru, ALLOC of
 * an LRU page moves it back; only ALLOC inserts, only reclaim frees).
 * Once every file is closed, in_use and lru are back where they were.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define POOL_PAGES	64
#define HOLD_MS		1500
#define AT_ONCE_NS	(HOLD_MS * 400000ULL)

FIXTURE(pool) {
	int fd;
	char *map;
	char *dummy;		/* an unrelated anonymous VMA */
	struct vmalock_stats s0;
	struct vl_holder h;
	bool holding;
};

FIXTURE_SETUP(pool)
{
	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	self->map = vl_map(self->fd, POOL_PAGES);
	ASSERT_NE(MAP_FAILED, self->map);
	self->dummy = vl_anon(1);
	ASSERT_NE(MAP_FAILED, self->dummy);
	self->dummy[0] = 1;
	self->holding = false;
	ASSERT_EQ(0, vl_stats(self->fd, &self->s0));
	vl_shrinker_count();	/* find the debugfs directory before any hold */
}

FIXTURE_TEARDOWN(pool)
{
	if (self->holding)
		vl_holder_join(&self->h);
	munmap(self->map, POOL_PAGES * VL_PAGE);
	close(self->fd);
}

static void fill(char *p, size_t npages, uint64_t seed)
{
	vl_fill_pattern(p, npages * VL_PAGE, seed);
}

static long mismatch(char *p, size_t npages, uint64_t seed)
{
	return vl_check_pattern(p, npages * VL_PAGE, seed, 0);
}

#define PG(n)	(self->map + (n) * VL_PAGE)

/* in_use + lru moved by exactly inserted - reclaimed since s0. */
#define CHECK_BALANCE() do {								\
	struct vmalock_stats __s;							\
	ASSERT_EQ(0, vl_stats(self->fd, &__s));						\
	EXPECT_EQ((__s.inserted - self->s0.inserted) - (__s.reclaimed - self->s0.reclaimed), \
		  (__s.in_use + __s.lru) - (self->s0.in_use + self->s0.lru))		\
		TH_LOG("inserted %llu reclaimed %llu in_use %llu lru %llu (start: %llu %llu %llu %llu)", \
		       (unsigned long long)__s.inserted, (unsigned long long)__s.reclaimed,	\
		       (unsigned long long)__s.in_use, (unsigned long long)__s.lru,	\
		       (unsigned long long)self->s0.inserted,				\
		       (unsigned long long)self->s0.reclaimed,				\
		       (unsigned long long)self->s0.in_use, (unsigned long long)self->s0.lru); \
} while (0)

static struct vmalock_stats delta(int fd, const struct vmalock_stats *s0)
{
	struct vmalock_stats s, d;

	vl_stats(fd, &s);
	d.inserted = s.inserted - s0->inserted;
	d.released = s.released - s0->released;
	d.reclaimed = s.reclaimed - s0->reclaimed;
	d.skipped_contended = s.skipped_contended - s0->skipped_contended;
	d.in_use = s.in_use - s0->in_use;
	d.lru = s.lru - s0->lru;
	d.zc_mapped = s.zc_mapped - s0->zc_mapped;
	return d;
}

TEST_F(pool, alloc_new_pages_zeroed)
{
	struct vmalock_stats d;
	unsigned int i;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 8));
	EXPECT_EQ(8, vl_mincore(self->map, POOL_PAGES, NULL));
	for (i = 0; i < 8 * VL_PAGE; i++) {
		if (self->map[i]) {
			EXPECT_EQ(0, self->map[i]) TH_LOG("byte %u", i);
			break;
		}
	}
	fill(PG(0), 8, 1);
	EXPECT_EQ(-1, mismatch(PG(0), 8, 1));
	d = delta(self->fd, &self->s0);
	EXPECT_EQ(8, d.inserted);
	EXPECT_EQ(8, d.in_use);
	EXPECT_EQ(0, d.lru);
	EXPECT_EQ(0, d.released);
	CHECK_BALANCE();
}

TEST_F(pool, alloc_in_use_ebusy)
{
	ASSERT_EQ(0, vl_alloc(self->fd, PG(2), 1));
	PG(2)[0] = 5;
	EXPECT_EQ(-EBUSY, vl_alloc(self->fd, PG(2), 1));
	EXPECT_EQ(-EBUSY, vl_alloc(self->fd, PG(1), 2));
	EXPECT_EQ(-EBUSY, vl_alloc(self->fd, PG(0), POOL_PAGES));
	EXPECT_EQ(5, PG(2)[0]);
	CHECK_BALANCE();
}

TEST_F(pool, release_keeps_pages_mapped)
{
	struct vmalock_stats d;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(4), 4));
	fill(PG(4), 4, 2);
	ASSERT_EQ(0, vl_release(self->fd, PG(4), 4));
	d = delta(self->fd, &self->s0);
	EXPECT_EQ(4, d.released);
	EXPECT_EQ(0, d.in_use);
	if (d.reclaimed == 0) {
		EXPECT_EQ(4, d.lru);
		EXPECT_EQ(4, vl_mincore(self->map, POOL_PAGES, NULL));
		EXPECT_EQ(-1, mismatch(PG(4), 4, 2));
	}
	CHECK_BALANCE();
}

TEST_F(pool, release_not_in_use_einval)
{
	EXPECT_EQ(-EINVAL, vl_release(self->fd, PG(0), 1));
	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 2));
	ASSERT_EQ(0, vl_release(self->fd, PG(0), 2));
	/* Released already (on the LRU or reclaimed): not in use. */
	EXPECT_EQ(-EINVAL, vl_release(self->fd, PG(0), 1));
	EXPECT_EQ(-EINVAL, vl_release(self->fd, PG(1), 1));
	/* A range with one in-use page and one that is not. */
	ASSERT_EQ(0, vl_alloc(self->fd, PG(5), 1));
	EXPECT_EQ(-EINVAL, vl_release(self->fd, PG(5), 2));
	CHECK_BALANCE();
}

TEST_F(pool, realloc_takes_back_contents)
{
	struct vmalock_stats d;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(8), 8));
	fill(PG(8), 8, 3);
	ASSERT_EQ(0, vl_release(self->fd, PG(8), 8));
	ASSERT_EQ(0, vl_alloc(self->fd, PG(8), 8));
	d = delta(self->fd, &self->s0);
	if (d.reclaimed)
		SKIP(return, "the shrinker ran in between (%llu pages)",
		     (unsigned long long)d.reclaimed);
	EXPECT_EQ(-1, mismatch(PG(8), 8, 3));
	EXPECT_EQ(8, d.inserted);	/* not inserted again */
	EXPECT_EQ(8, d.in_use);
	EXPECT_EQ(0, d.lru);
	CHECK_BALANCE();
}

TEST_F(pool, shrinker_count_file)
{
	long count;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 16));
	ASSERT_EQ(0, vl_release(self->fd, PG(0), 12));
	count = vl_shrinker_count();
	ASSERT_LE(0, count) TH_LOG("no /sys/kernel/debug/shrinker/vmalock*/count");
	EXPECT_LE(12 - delta(self->fd, &self->s0).reclaimed, count);
	EXPECT_EQ(delta(self->fd, &self->s0).lru + self->s0.lru, count);
}

/* Release n pages at page first, reclaim with how(), check they are gone. */
static void release_and_reclaim(struct __test_metadata *_metadata, FIXTURE_DATA(pool) *self,
				unsigned int first, unsigned int n, int (*how)(unsigned long))
{
	struct vmalock_stats d0 = delta(self->fd, &self->s0), d;
	unsigned char vec[POOL_PAGES];
	unsigned int i;
	uint64_t v;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(first), n));
	fill(PG(first), n, 4);
	ASSERT_EQ(0, vl_release(self->fd, PG(first), n));
	ASSERT_EQ(0, how(n)) TH_LOG("reclaim: %s", strerror(errno));
	d = delta(self->fd, &self->s0);
	EXPECT_EQ(n, d.reclaimed - d0.reclaimed);
	EXPECT_EQ(d0.lru, d.lru);
	EXPECT_EQ(n, d.released - d0.released);
	ASSERT_LE(0, vl_mincore(self->map, POOL_PAGES, vec));
	for (i = first; i < first + n; i++) {
		EXPECT_EQ(0, vec[i] & 1) TH_LOG("page %u still resident", i);
		if (vec[i] & 1)
			break;
	}
	EXPECT_EQ(SIGBUS, vl_probe_read(PG(first), &v));
	EXPECT_EQ(SIGBUS, vl_probe_write(PG(first + n - 1) + 8, 1));
	CHECK_BALANCE();
	/* Allocating again gives new zeroed pages. */
	ASSERT_EQ(0, vl_alloc(self->fd, PG(first), n));
	EXPECT_EQ(n, delta(self->fd, &self->s0).inserted - d.inserted);
	EXPECT_EQ(0, vl_probe_read(PG(first) + 64, &v));
	EXPECT_EQ(0, v);
	CHECK_BALANCE();
}

static int debugfs_scan(unsigned long n)
{
	return vl_shrinker_scan(n);
}

static int drop_caches(unsigned long n)
{
	return vl_drop_slab();
}

static int g_fd;

static int reclaim_ioctl_vma(unsigned long n)
{
	uint64_t freed = 0, skipped = 0;
	int ret = vl_reclaim(g_fd, VMALOCK_RECLAIM_VMA_TRYLOCK, n, &freed, &skipped);

	return ret ? ret : (freed == n && skipped == 0 ? 0 : -ERANGE);
}

static int reclaim_ioctl_mmap(unsigned long n)
{
	uint64_t freed = 0, skipped = 0;
	int ret = vl_reclaim(g_fd, VMALOCK_RECLAIM_MMAP_TRYLOCK, n, &freed, &skipped);

	return ret ? ret : (freed == n && skipped == 0 ? 0 : -ERANGE);
}

TEST_F(pool, reclaim_debugfs_scan)
{
	char dir[256];

	ASSERT_EQ(0, vl_shrinker_dir(dir, sizeof(dir)))
		TH_LOG("no /sys/kernel/debug/shrinker/vmalock* (CONFIG_SHRINKER_DEBUG?)");
	release_and_reclaim(_metadata, self, 3, 16, debugfs_scan);
}

TEST_F(pool, reclaim_drop_caches)
{
	release_and_reclaim(_metadata, self, 0, POOL_PAGES, drop_caches);
}

TEST_F(pool, reclaim_ioctl_vma_trylock)
{
	g_fd = self->fd;
	release_and_reclaim(_metadata, self, 10, 8, reclaim_ioctl_vma);
}

TEST_F(pool, reclaim_ioctl_mmap_trylock)
{
	g_fd = self->fd;
	release_and_reclaim(_metadata, self, 20, 8, reclaim_ioctl_mmap);
}

TEST_F(pool, in_use_pages_never_reclaimed)
{
	struct vmalock_stats d;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 16));
	fill(PG(0), 16, 5);
	ASSERT_EQ(0, vl_release(self->fd, PG(8), 8));
	ASSERT_EQ(0, vl_shrinker_scan(1000));
	ASSERT_EQ(0, vl_drop_slab());
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, 1000, NULL, NULL));
	d = delta(self->fd, &self->s0);
	EXPECT_EQ(8, d.reclaimed);
	EXPECT_EQ(8, d.in_use);
	EXPECT_EQ(0, d.lru);
	EXPECT_EQ(8, vl_mincore(self->map, POOL_PAGES, NULL));
	EXPECT_EQ(-1, mismatch(PG(0), 8, 5));
	CHECK_BALANCE();
}

TEST_F(pool, close_frees_everything)
{
	struct vmalock_stats s;
	int fd;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 16));
	ASSERT_EQ(0, vl_release(self->fd, PG(0), 8));
	ASSERT_EQ(0, munmap(self->map, POOL_PAGES * VL_PAGE));
	ASSERT_EQ(0, close(self->fd));
	fd = vl_open();
	ASSERT_LE(0, fd);
	vl_stats_settle(fd, &self->s0, &s, 2000);
	EXPECT_EQ(self->s0.in_use, s.in_use);
	EXPECT_EQ(self->s0.lru, s.lru);
	/* teardown */
	self->fd = fd;
	self->map = vl_map(fd, 1);
}

static void start_hold(struct __test_metadata *_metadata, FIXTURE_DATA(pool) *self,
		       void *vma_to_lock)
{
	self->h = (struct vl_holder){ .fd = self->fd, .cmd = VMALOCK_IOC_HOLD_MMAP_WRITE,
				      .addr = (uintptr_t)vma_to_lock, .ms = HOLD_MS,
				      .flags = VMALOCK_HOLD_VMA_WRITE };
	ASSERT_EQ(0, vl_holder_start_locked(&self->h, 5000));
	self->holding = true;
}

static bool still_held(FIXTURE_DATA(pool) *self)
{
	return !__atomic_load_n(&self->h.done, __ATOMIC_ACQUIRE);
}

TEST_F(pool, contended_vma_is_skipped_fast)
{
	uint64_t t0, freed = ~0ULL, skipped = 0;
	struct vmalock_stats d;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 16));
	fill(PG(0), 16, 6);
	ASSERT_EQ(0, vl_release(self->fd, PG(0), 16));
	start_hold(_metadata, self, self->map);

	t0 = vl_now_ns();
	EXPECT_EQ(0, vl_shrinker_scan(16));
	EXPECT_GT(AT_ONCE_NS, vl_now_ns() - t0) TH_LOG("the debugfs scan blocked");
	t0 = vl_now_ns();
	EXPECT_EQ(0, vl_drop_slab());
	EXPECT_GT(AT_ONCE_NS, vl_now_ns() - t0) TH_LOG("drop_caches blocked");
	t0 = vl_now_ns();
	EXPECT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, 16, &freed, &skipped));
	EXPECT_GT(AT_ONCE_NS, vl_now_ns() - t0) TH_LOG("RECLAIM blocked");
	EXPECT_EQ(0, freed);
	EXPECT_LT(0, skipped);
	freed = ~0ULL;
	skipped = 0;
	EXPECT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_MMAP_TRYLOCK, 16, &freed, &skipped));
	EXPECT_EQ(0, freed);
	EXPECT_LT(0, skipped);
	EXPECT_TRUE(still_held(self)) TH_LOG("the hold ended too early to tell");
	d = delta(self->fd, &self->s0);
	EXPECT_EQ(0, d.reclaimed);
	EXPECT_LT(0, d.skipped_contended);

	self->holding = false;
	ASSERT_EQ(0, vl_holder_join(&self->h));
	/* Nothing was zapped. */
	EXPECT_EQ(16, vl_mincore(self->map, POOL_PAGES, NULL));
	EXPECT_EQ(-1, mismatch(PG(0), 16, 6));
	/* Uncontended again: it all goes. */
	EXPECT_EQ(0, vl_shrinker_scan(16));
	EXPECT_EQ(16, delta(self->fd, &self->s0).reclaimed);
	CHECK_BALANCE();
}

TEST_F(pool, mmap_write_lock_alone_does_not_stop_reclaim)
{
	uint64_t t0, freed = 0, skipped = ~0ULL;
	struct vmalock_stats d;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 24));
	ASSERT_EQ(0, vl_release(self->fd, PG(0), 24));
	/* mmap_lock held for writing; the VMA write-locked is another one. */
	start_hold(_metadata, self, self->dummy);

	t0 = vl_now_ns();
	EXPECT_EQ(0, vl_shrinker_scan(8));
	EXPECT_GT(AT_ONCE_NS, vl_now_ns() - t0);
	d = delta(self->fd, &self->s0);
	EXPECT_EQ(8, d.reclaimed);
	EXPECT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, 8, &freed, &skipped));
	EXPECT_EQ(8, freed);
	EXPECT_EQ(0, skipped);
	/* Stock binder's mmap_read_trylock() fallback cannot. */
	freed = ~0ULL;
	skipped = 0;
	EXPECT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_MMAP_TRYLOCK, 8, &freed, &skipped));
	EXPECT_EQ(0, freed);
	EXPECT_LT(0, skipped);
	EXPECT_GT(AT_ONCE_NS * 2, vl_now_ns() - t0);
	EXPECT_TRUE(still_held(self)) TH_LOG("the hold ended too early to tell");

	self->holding = false;
	ASSERT_EQ(0, vl_holder_join(&self->h));
	EXPECT_EQ(8, vl_mincore(self->map, POOL_PAGES, NULL));
	CHECK_BALANCE();
}

TEST_F(pool, alloc_waits_for_vma_writer)
{
	uint64_t t1;

	start_hold(_metadata, self, self->map);
	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 2));
	t1 = vl_now_ns();
	self->holding = false;
	ASSERT_EQ(0, vl_holder_join(&self->h));
	EXPECT_LE(HOLD_MS * 800000ULL, t1 - self->h.started_ns);
	EXPECT_EQ(2, vl_mincore(self->map, POOL_PAGES, NULL));
	CHECK_BALANCE();
}

TEST_F(pool, impostors_refused)
{
	char *anon = vl_anon(2);
	int fd2 = vl_open();
	char *map2;

	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_LE(0, fd2);
	map2 = vl_map(fd2, 2);
	ASSERT_NE(MAP_FAILED, map2);
	EXPECT_EQ(-EINVAL, vl_alloc(self->fd, anon, 1));
	EXPECT_EQ(-EINVAL, vl_alloc(self->fd, map2, 1));
	EXPECT_EQ(-EINVAL, vl_alloc(fd2, self->map, 1));
	ASSERT_EQ(0, vl_alloc(fd2, map2, 1));
	EXPECT_EQ(-EINVAL, vl_release(self->fd, map2, 1));
	EXPECT_EQ(-EINVAL, vl_release(self->fd, anon, 1));
	EXPECT_EQ(0, vl_mincore(anon, 2, NULL));
	EXPECT_EQ(0, vl_mincore(self->map, POOL_PAGES, NULL));
	EXPECT_EQ(1, vl_mincore(map2, 2, NULL));
	ASSERT_EQ(0, vl_release(fd2, map2, 1));
	munmap(map2, 2 * VL_PAGE);
	close(fd2);
}

TEST_HARNESS_MAIN
