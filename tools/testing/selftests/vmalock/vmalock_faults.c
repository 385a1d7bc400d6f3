// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_faults: the error paths of /dev/vmalock under the kernel's fault
 * injection (Documentation/fault-injection/fault-injection.rst). For every
 * ioctl command, for open(), mmap() and a splitting munmap(), make the Nth
 * fault-injection point of the call fail (/proc/thread-self/fail-nth: slab,
 * page allocation and user copies), for N = 1, 2, ... until the call runs
 * through without reaching the Nth point. After each injected failure:
 * the errno is one the header documents (EFAULT, ENOMEM), STATS and
 * mincore() of the mapping are unchanged (RECLAIM: only its own pass, as
 * documented), and the same call without injection then succeeds. A call
 * that succeeds although a point failed (the kernel retried) must have
 * done its whole job. Each command reports how many points it hit.
 *
 * Pages are not tracked by kmemleak, so the sweep is bracketed by a count
 * of the system's free pages, each taken with the module unloaded (fixtures
 * pages_before and pages_after run before and after every sweep): once the
 * sweep's files are closed and the module is gone, the count must be back
 * where it was, within PAGES_SLACK. Kernels settle upwards as they run
 * (caches and deferred frees returned in bursts), so a smaller leak than
 * that can hide behind such a burst; the pipeline's self-test plants a
 * PLANT_PAGE_LEAK_PAGES (4096) page leak at module load, which the check
 * must catch.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define MAP_PAGES	8
#define LEN		(MAP_PAGES * VL_PAGE)
#define NPAGES		4
#define MAX_NTH		20000

/* The state a call works on; what a case's callbacks see. */
struct ctx {
	int fd;
	char *map;
	char *anon;
	uint64_t out;		/* a result the call reports */
	uint64_t want;		/* what it must report */
};

struct sweep_case {
	const char *name;
	/* Before each attempt, on a fresh file and mapping: 0 or -errno. */
	int (*prepare)(struct ctx *c);
	/* The call under test: 0 or -errno. */
	int (*call)(struct ctx *c);
	/* After the call succeeded: is its whole effect there? 0, or the failed check. */
	int (*done)(struct ctx *c);
	bool no_file;		/* the call opens the file itself */
	bool no_map;		/* the call maps the file itself */
	bool reclaim;		/* RECLAIM's documented exception */
	bool must_hit;		/* allocates or copies: must hit > 0 points */
};

static bool same_stats(const struct vmalock_stats *a, const struct vmalock_stats *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/*
 * RECLAIM's pass is not undone when writing its result fails: the pages it
 * freed left the LRU and were counted as reclaimed; nothing else changed.
 */
static bool reclaim_only(const struct vmalock_stats *s, const struct vmalock_stats *s0)
{
	uint64_t freed = s->reclaimed - s0->reclaimed;

	return s->inserted == s0->inserted && s->released == s0->released &&
	       s->in_use == s0->in_use && s->lru + freed == s0->lru &&
	       s->zc_mapped == s0->zc_mapped && s->skipped_contended >= s0->skipped_contended;
}

static void teardown(struct ctx *c)
{
	if (c->map && c->map != MAP_FAILED)
		munmap(c->map, LEN);
	if (c->anon && c->anon != MAP_FAILED)
		munmap(c->anon, 2 * VL_PAGE);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void run_sweep(struct __test_metadata *_metadata, const struct sweep_case *k)
{
	unsigned int n, hits = 0, failed = 0, recovered = 0;
	int nth = vl_nth_open();
	struct ctx c = { .fd = -1 };
	bool finished = false;

	ASSERT_LE(0, nth) TH_LOG("fail-nth: %s (CONFIG_FAULT_INJECTION?)", strerror(errno));
	for (n = 1; n <= MAX_NTH; n++) {
		struct vmalock_stats s0, s;
		unsigned char mc0[MAP_PAGES], mc[MAP_PAGES];
		bool injected;
		int ret, sfd;

		/* A file to read STATS with, besides the one under test. */
		sfd = vl_open();
		ASSERT_LE(0, sfd);
		if (!k->no_file) {
			c.fd = vl_open();
			ASSERT_LE(0, c.fd);
			if (!k->no_map) {
				c.map = vl_map(c.fd, MAP_PAGES);
				ASSERT_NE(MAP_FAILED, c.map);
			}
		}
		c.anon = vl_anon(2);
		ASSERT_NE(MAP_FAILED, c.anon);
		memset(c.anon, 0x3c, 2 * VL_PAGE);
		if (k->prepare)
			ASSERT_EQ(0, k->prepare(&c)) TH_LOG("%s: prepare, n=%u", k->name, n);
		ASSERT_EQ(0, vl_stats(sfd, &s0));
		if (c.map)
			ASSERT_EQ(0, mincore(c.map, LEN, mc0));

		ASSERT_EQ(0, vl_nth_arm(nth, n));
		ret = k->call(&c);
		injected = vl_nth_injected(nth);

		if (!injected) {
			/* The call ran through: the sweep is over. */
			ASSERT_EQ(0, ret) TH_LOG("%s: without injection: %s", k->name,
						 strerror(-ret));
			EXPECT_EQ(0, k->done ? k->done(&c) : 0) TH_LOG("%s: clean call", k->name);
			finished = true;
			teardown(&c);
			close(sfd);
			break;
		}
		hits++;
		if (!ret) {
			/* The kernel got past the failure (retried): the job must be done. */
			recovered++;
			EXPECT_EQ(0, k->done ? k->done(&c) : 0)
				TH_LOG("%s: point %u failed, call succeeded, effect missing",
				       k->name, n);
		} else {
			failed++;
			EXPECT_TRUE(ret == -EFAULT || ret == -ENOMEM)
				TH_LOG("%s: point %u: undocumented errno %d (%s)", k->name, n,
				       -ret, strerror(-ret));
			ASSERT_EQ(0, vl_stats(sfd, &s));
			if (k->reclaim && ret == -EFAULT) {
				EXPECT_TRUE(reclaim_only(&s, &s0))
					TH_LOG("%s: point %u: STATS changed beyond the pass",
					       k->name, n);
			} else {
				EXPECT_TRUE(same_stats(&s, &s0))
					TH_LOG("%s: point %u (%s): STATS changed: inserted %llu->%llu in_use %llu->%llu lru %llu->%llu zc %llu->%llu",
					       k->name, n, strerror(-ret),
					       (unsigned long long)s0.inserted,
					       (unsigned long long)s.inserted,
					       (unsigned long long)s0.in_use,
					       (unsigned long long)s.in_use,
					       (unsigned long long)s0.lru, (unsigned long long)s.lru,
					       (unsigned long long)s0.zc_mapped,
					       (unsigned long long)s.zc_mapped);
			}
			/* RECLAIM's pass zapped its pages before the EFAULT. */
			if (c.map && !k->no_map && !(k->reclaim && ret == -EFAULT)) {
				ASSERT_EQ(0, mincore(c.map, LEN, mc));
				EXPECT_EQ(0, memcmp(mc, mc0, sizeof(mc)))
					TH_LOG("%s: point %u: mincore() changed", k->name, n);
			}
			/* The same call again, without injection. */
			ret = k->call(&c);
			EXPECT_EQ(0, ret) TH_LOG("%s: point %u: the clean retry: %s", k->name, n,
						 strerror(-ret));
			if (!ret) {
				EXPECT_EQ(0, k->done ? k->done(&c) : 0)
					TH_LOG("%s: point %u: the clean retry's effect", k->name, n);
			}
		}
		teardown(&c);
		close(sfd);
		if (_metadata->exit_code)
			break;
	}
	close(nth);
	EXPECT_TRUE(finished) TH_LOG("%s: still failing after %u points", k->name, n - 1);
	if (k->must_hit)
		EXPECT_LT(0, hits) TH_LOG("%s: no fault-injection point reached", k->name);
	ksft_print_msg("%s: %u injection points: %u failed cleanly, %u recovered\n",
		       k->name, hits, failed, recovered);
}

/* The commands. */

static int c_lookup(struct ctx *c)
{
	struct vmalock_lookup l;
	int ret = vl_lookup(c->fd, (uintptr_t)c->anon, VMALOCK_MODE_WAIT, &l);

	c->out = ret ? 0 : l.vm_start;
	return ret;
}

static int d_lookup(struct ctx *c)
{
	return c->out == (uintptr_t)c->anon ? 0 : 1;
}

static int c_bench(struct ctx *c)
{
	struct vmalock_bench b = {
		.addr = (uintptr_t)c->anon, .mode = VMALOCK_MODE_WAIT, .iterations = 16,
	};
	int ret = vl_ioctl(c->fd, VMALOCK_IOC_BENCH, &b);

	c->out = b.fast + b.slow;
	return ret;
}

static int d_bench(struct ctx *c)
{
	return c->out == 16 ? 0 : 1;
}

static int c_hold_write(struct ctx *c)
{
	return vl_hold(c->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, (uintptr_t)c->anon, 0,
		       VMALOCK_HOLD_VMA_WRITE);
}

static int c_hold_read(struct ctx *c)
{
	return vl_hold(c->fd, VMALOCK_IOC_HOLD_VMA_READ, (uintptr_t)c->anon, 0, 0);
}

static int c_zc_map(struct ctx *c)
{
	return vl_zc_map(c->fd, c->map, NPAGES * VL_PAGE, 42, &c->out);
}

static int d_zc_map(struct ctx *c)
{
	if (c->out != NPAGES * VL_PAGE)
		return 1;
	if (vl_mincore(c->map, NPAGES, NULL) != NPAGES)
		return 2;
	return vl_check_pattern(c->map, NPAGES * VL_PAGE, 42, 0) == -1 ? 0 : 3;
}

/* ALLOC of NPAGES: the first two were released (on the LRU), the others new. */
static int p_alloc(struct ctx *c)
{
	int ret = vl_alloc(c->fd, c->map, 2);

	if (!ret) {
		vl_fill_pattern(c->map, 2 * VL_PAGE, 5);
		ret = vl_release(c->fd, c->map, 2);
	}
	return ret;
}

static int c_alloc(struct ctx *c)
{
	return vl_alloc(c->fd, c->map, NPAGES);
}

static int d_alloc(struct ctx *c)
{
	if (vl_mincore(c->map, NPAGES, NULL) != NPAGES)
		return 1;
	/* Taken back with their contents; the new ones zeroed. */
	if (vl_check_pattern(c->map, 2 * VL_PAGE, 5, 0) != -1)
		return 2;
	return vl_page_holds(c->map + 2 * VL_PAGE, 0, 0) == 0 ? 0 : 3;
}

static int p_release(struct ctx *c)
{
	return vl_alloc(c->fd, c->map, NPAGES);
}

static int c_release(struct ctx *c)
{
	return vl_release(c->fd, c->map, NPAGES);
}

static int d_release(struct ctx *c)
{
	/* Released pages can be taken back: RELEASE put all of them on the LRU. */
	return vl_release(c->fd, c->map, 1) == -EINVAL ? 0 : 1;
}

static int c_stats(struct ctx *c)
{
	struct vmalock_stats s;

	return vl_stats(c->fd, &s);
}

static int c_user_read(struct ctx *c)
{
	uint32_t faultins;

	return vl_user_read(c->fd, c->anon, 2 * VL_PAGE, VMALOCK_USER_READ_SAFE, &c->out,
			    &faultins);
}

static int d_user_read(struct ctx *c)
{
	return c->out == vl_fnv1a(c->anon, 2 * VL_PAGE) ? 0 : 1;
}

static int p_reclaim(struct ctx *c)
{
	int ret = vl_alloc(c->fd, c->map, NPAGES);

	return ret ? ret : vl_release(c->fd, c->map, NPAGES);
}

static int c_reclaim(struct ctx *c)
{
	uint64_t skipped;

	return vl_reclaim(c->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, VL_MAX_PAGES, &c->out,
			  &skipped);
}

static int d_reclaim(struct ctx *c)
{
	/* This file's pages are gone (a retry after an EFAULT frees none). */
	return vl_mincore(c->map, NPAGES, NULL) == 0 ? 0 : 1;
}

static int c_open(struct ctx *c)
{
	c->fd = vl_open();
	return c->fd < 0 ? -errno : 0;
}

static int d_open(struct ctx *c)
{
	struct vmalock_stats s;

	return vl_stats(c->fd, &s) ? 1 : 0;
}

static int c_mmap(struct ctx *c)
{
	c->map = vl_map(c->fd, MAP_PAGES);
	if (c->map != MAP_FAILED)
		return 0;
	c->map = NULL;
	return -errno;
}

static int d_mmap(struct ctx *c)
{
	/* The new mapping is the file's own: ALLOC works in it. */
	return vl_alloc(c->fd, c->map, NPAGES) ? 1 : 0;
}

/* munmap() of the middle of the mapping splits it: a new VMA to allocate. */
static int p_munmap(struct ctx *c)
{
	return vl_alloc(c->fd, c->map, MAP_PAGES);
}

static int c_munmap(struct ctx *c)
{
	return munmap(c->map + 2 * VL_PAGE, 2 * VL_PAGE) ? -errno : 0;
}

static int d_munmap(struct ctx *c)
{
	void *p;

	if (vl_mincore(c->map, 2, NULL) != 2 || vl_mincore(c->map + 4 * VL_PAGE, 4, NULL) != 4)
		return 1;
	/* Both parts are still the mapping: no second mmap(), until both are gone. */
	p = vl_map(c->fd, 1);
	if (p != MAP_FAILED || errno != EBUSY)
		return 2;
	munmap(c->map, 2 * VL_PAGE);
	munmap(c->map + 4 * VL_PAGE, 4 * VL_PAGE);
	c->map = vl_map(c->fd, MAP_PAGES);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		return 3;
	}
	return 0;
}

static const struct sweep_case cases[] = {
	{ "lookup", NULL, c_lookup, d_lookup, .must_hit = true },
	{ "bench", NULL, c_bench, d_bench, .must_hit = true },
	{ "hold_mmap_write", NULL, c_hold_write, NULL, .must_hit = true },
	{ "hold_vma_read", NULL, c_hold_read, NULL, .must_hit = true },
	{ "zc_map", NULL, c_zc_map, d_zc_map, .must_hit = true },
	{ "alloc", p_alloc, c_alloc, d_alloc, .must_hit = true },
	{ "release", p_release, c_release, d_release, .must_hit = true },
	{ "stats", NULL, c_stats, NULL, .must_hit = true },
	{ "user_read", NULL, c_user_read, d_user_read, .must_hit = true },
	{ "reclaim", p_reclaim, c_reclaim, d_reclaim, .reclaim = true, .must_hit = true },
	{ "open", NULL, c_open, d_open, .no_file = true, .must_hit = true },
	{ "mmap", NULL, c_mmap, d_mmap, .no_map = true, .must_hit = true },
	{ "munmap_split", p_munmap, c_munmap, d_munmap, .must_hit = true },
};

#define PAGES_BASE_FILE	"/tmp/vmalock_faults.free_pages"
#define PAGES_SLACK	64

/* Free pages with the module unloaded, then load it again. */
static long free_pages_unloaded(struct __test_metadata *_metadata)
{
	long pages;
	int ret;

	ret = vl_module_unload();
	if (ret) {
		TH_LOG("rmmod vmalock: %s", strerror(-ret));
		return ret;
	}
	pages = vl_free_pages_settled();
	ret = vl_module_load();
	if (ret) {
		TH_LOG("insmod %s: %s", VL_MODULE, strerror(-ret));
		return ret;
	}
	return pages;
}

FIXTURE(pages_before) {
	int unused;
};

FIXTURE_SETUP(pages_before)
{
}

FIXTURE_TEARDOWN(pages_before)
{
}

TEST_F(pages_before, baseline)
{
	long pages = free_pages_unloaded(_metadata);
	FILE *f;

	ASSERT_LT(0, pages);
	f = fopen(PAGES_BASE_FILE, "we");
	ASSERT_NE(NULL, f);
	fprintf(f, "%ld\n", pages);
	ASSERT_EQ(0, fclose(f));
	TH_LOG("free pages with the module unloaded: %ld", pages);
}

FIXTURE(faults) {
	int unused;
};

FIXTURE_VARIANT(faults) {
	unsigned int idx;
};

#define CASE(n, i) FIXTURE_VARIANT_ADD(faults, n) { .idx = i }
CASE(lookup, 0);
CASE(bench, 1);
CASE(hold_mmap_write, 2);
CASE(hold_vma_read, 3);
CASE(zc_map, 4);
CASE(alloc, 5);
CASE(release, 6);
CASE(stats, 7);
CASE(user_read, 8);
CASE(reclaim, 9);
CASE(open, 10);
CASE(mmap, 11);
CASE(munmap_split, 12);

FIXTURE_SETUP(faults)
{
	const char *path;
	int ret = vl_fault_injection_setup(&path);

	ASSERT_EQ(0, ret) TH_LOG("%s: %s (CONFIG_FAULT_INJECTION_DEBUG_FS?)", path,
				 strerror(-ret));
}

FIXTURE_TEARDOWN(faults)
{
}

TEST_F_TIMEOUT(faults, sweep, 600)
{
	ASSERT_GT(ARRAY_SIZE(cases), variant->idx);
	run_sweep(_metadata, &cases[variant->idx]);
}

FIXTURE(pages_after) {
	int unused;
};

FIXTURE_SETUP(pages_after)
{
}

FIXTURE_TEARDOWN(pages_after)
{
}

TEST_F(pages_after, back_after_rmmod)
{
	long base = -1, pages;
	FILE *f = fopen(PAGES_BASE_FILE, "re");

	ASSERT_NE(NULL, f) TH_LOG("no baseline: run pages_before.baseline first");
	ASSERT_EQ(1, fscanf(f, "%ld", &base));
	fclose(f);
	unlink(PAGES_BASE_FILE);
	pages = free_pages_unloaded(_metadata);
	ASSERT_LT(0, pages);
	TH_LOG("free pages with the module unloaded: %ld before, %ld after (%+ld)", base, pages,
	       pages - base);
	EXPECT_LE(base - PAGES_SLACK, pages)
		TH_LOG("%ld pages fewer free than before the sweep", base - pages);
}

TEST_HARNESS_MAIN
