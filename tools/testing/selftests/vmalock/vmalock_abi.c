// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_abi: every ioctl of /dev/vmalock (include/uapi/linux/vmalock.h)
 * with valid arguments, every documented errno, the struct-size rules
 * (E2BIG / EINVAL / zero-extension), unknown commands, a table of bad
 * inputs for every command, and module unload refused while in use.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define MAP_PAGES	16
#define MAP2_PAGES	4
#define ANON_PAGES	4

/*
 * The address layout of one test: a vmalock mapping, an anonymous
 * mapping, a hole, and another open file's vmalock mapping (an impostor).
 */
FIXTURE(abi) {
	int fd, fd2;
	char *map, *map2, *anon, *hole;
};

FIXTURE_SETUP(abi)
{
	char *r;

	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	self->fd2 = vl_open();
	ASSERT_LE(0, self->fd2);
	self->map = vl_map(self->fd, MAP_PAGES);
	ASSERT_NE(MAP_FAILED, self->map) TH_LOG("mmap: %s", strerror(errno));
	self->map2 = vl_map(self->fd2, MAP2_PAGES);
	ASSERT_NE(MAP_FAILED, self->map2);
	/* anon pages, then a one-page hole */
	r = vl_anon(ANON_PAGES + 1);
	ASSERT_NE(MAP_FAILED, r);
	self->anon = r;
	self->hole = r + ANON_PAGES * VL_PAGE;
	ASSERT_EQ(0, munmap(self->hole, VL_PAGE));
	memset(self->anon, 0x5a, ANON_PAGES * VL_PAGE);
}

FIXTURE_TEARDOWN(abi)
{
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, MAP_PAGES * VL_PAGE);
	if (self->map2 && self->map2 != MAP_FAILED)
		munmap(self->map2, MAP2_PAGES * VL_PAGE);
	if (self->anon)
		munmap(self->anon, ANON_PAGES * VL_PAGE);
	close(self->fd);
	close(self->fd2);
}

static const char * const mode_name[] = { "RCU", "WAIT", "MMAP", "UNLOCKED" };

/* The path an uncontended lookup reports. */
static uint32_t uncontended_path(uint32_t mode)
{
	if (mode == VMALOCK_MODE_UNLOCKED)
		return VMALOCK_PATH_UNKNOWN;
	return mode == VMALOCK_MODE_MMAP ? VMALOCK_PATH_SLOW : VMALOCK_PATH_FAST;
}

TEST_F(abi, lookup_anon_all_modes)
{
	struct vmalock_lookup l;
	uint32_t mode;

	for (mode = 0; mode <= VMALOCK_MODE_UNLOCKED; mode++) {
		ASSERT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->anon + 100, mode, &l))
			TH_LOG("mode %s", mode_name[mode]);
		EXPECT_EQ((uintptr_t)self->anon, l.vm_start);
		EXPECT_EQ((uintptr_t)self->anon + ANON_PAGES * VL_PAGE, l.vm_end);
		EXPECT_EQ(VL_VM_READ | VL_VM_WRITE, l.vm_flags & (VL_VM_READ | VL_VM_WRITE));
		EXPECT_EQ(0, l.vm_flags & (VL_VM_SHARED | VL_VM_MIXEDMAP));
		/* Uncontended: RCU and WAIT stay on the per-VMA lock. */
		EXPECT_EQ(uncontended_path(mode), l.path) TH_LOG("mode %s", mode_name[mode]);
	}
}

TEST_F(abi, lookup_vmalock_mapping)
{
	struct vmalock_lookup l;

	ASSERT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->map + 5 * VL_PAGE + 8,
			       VMALOCK_MODE_RCU, &l));
	EXPECT_EQ((uintptr_t)self->map, l.vm_start);
	EXPECT_EQ((uintptr_t)self->map + MAP_PAGES * VL_PAGE, l.vm_end);
	EXPECT_EQ(VL_VM_SHARED | VL_VM_MIXEDMAP | VL_VM_READ | VL_VM_WRITE,
		  l.vm_flags & (VL_VM_SHARED | VL_VM_MIXEDMAP | VL_VM_READ | VL_VM_WRITE));
}

TEST_F(abi, lookup_sees_mprotect_split)
{
	struct vmalock_lookup l;
	uint32_t mode;

	ASSERT_EQ(0, mprotect(self->anon + VL_PAGE, VL_PAGE, PROT_READ));
	for (mode = 0; mode <= VMALOCK_MODE_UNLOCKED; mode++) {
		ASSERT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->anon + VL_PAGE + 1, mode, &l));
		EXPECT_EQ((uintptr_t)self->anon + VL_PAGE, l.vm_start);
		EXPECT_EQ((uintptr_t)self->anon + 2 * VL_PAGE, l.vm_end);
		EXPECT_EQ(VL_VM_READ, l.vm_flags & (VL_VM_READ | VL_VM_WRITE));
		ASSERT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->anon, mode, &l));
		EXPECT_EQ((uintptr_t)self->anon + VL_PAGE, l.vm_end);
	}
}

TEST_F(abi, lookup_out_fields_ignored_on_input)
{
	struct vmalock_lookup l;

	memset(&l, 0xa5, sizeof(l));
	l.addr = (uintptr_t)self->anon;
	l.mode = VMALOCK_MODE_RCU;
	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_LOOKUP, &l));
	EXPECT_EQ((uintptr_t)self->anon, l.vm_start);
	EXPECT_EQ(VMALOCK_PATH_FAST, l.path);
}

TEST_F(abi, lookup_enoent)
{
	uint32_t mode;

	for (mode = 0; mode <= VMALOCK_MODE_UNLOCKED; mode++) {
		EXPECT_EQ(-ENOENT, vl_lookup(self->fd, (uintptr_t)self->hole, mode, NULL))
			TH_LOG("hole, mode %s", mode_name[mode]);
		EXPECT_EQ(-ENOENT, vl_lookup(self->fd, 0, mode, NULL))
			TH_LOG("NULL, mode %s", mode_name[mode]);
	}
}

TEST_F(abi, lookup_einval)
{
	static const uint64_t bad[] = { VL_KERNEL_ADDR, VL_PAST_TASK, VL_NONCANON, ~0ULL,
					0xffffffff80000000ULL };
	uint32_t mode;
	unsigned int i;
	int ret;

	for (mode = 0; mode <= VMALOCK_MODE_UNLOCKED; mode++) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			EXPECT_EQ(-EINVAL, vl_lookup(self->fd, bad[i], mode, NULL))
				TH_LOG("addr %#llx mode %s", (unsigned long long)bad[i],
				       mode_name[mode]);
		}
	}
	EXPECT_EQ(-EINVAL, vl_lookup(self->fd, (uintptr_t)self->anon, 4, NULL));
	EXPECT_EQ(-EINVAL, vl_lookup(self->fd, (uintptr_t)self->anon, 0xffffffff, NULL));
	EXPECT_EQ(-EINVAL, vl_lookup(self->fd, (uintptr_t)self->anon, 0x80000000, NULL));
	/* The top of the 47-bit space: TASK_SIZE (EINVAL) or an LA57 hole (ENOENT). */
	ret = vl_lookup(self->fd, 0x7ffffffff000ULL, VMALOCK_MODE_RCU, NULL);
	EXPECT_TRUE(ret == -EINVAL || ret == -ENOENT) TH_LOG("ret %d", ret);
}

/* A longer LOOKUP struct with a zero tail: outputs filled, tail left zero. */
TEST_F(abi, lookup_longer_struct_outputs)
{
	char buf[sizeof(struct vmalock_lookup) + 32] = { 0 };
	struct vmalock_lookup *l = (void *)buf;
	size_t i;

	l->addr = (uintptr_t)self->anon;
	l->mode = VMALOCK_MODE_WAIT;
	ASSERT_EQ(0, vl_ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE, VMALOCK_IOC_MAGIC,
					     _IOC_NR(VMALOCK_IOC_LOOKUP), sizeof(buf)), buf));
	EXPECT_EQ((uintptr_t)self->anon, l->vm_start);
	EXPECT_EQ((uintptr_t)self->anon + ANON_PAGES * VL_PAGE, l->vm_end);
	for (i = sizeof(*l); i < sizeof(buf); i++) {
		EXPECT_EQ(0, buf[i]) TH_LOG("tail byte %zu", i);
	}
}

TEST_F(abi, bench_all_modes)
{
	uint32_t mode;

	for (mode = 0; mode <= VMALOCK_MODE_UNLOCKED; mode++) {
		struct vmalock_bench b = { .addr = (uintptr_t)self->anon, .mode = mode,
					   .iterations = 1000 };

		ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b))
			TH_LOG("mode %s", mode_name[mode]);
		EXPECT_EQ(1000, b.fast + b.slow + b.failed);
		/* total_ns may be 0: the guest's clocksource can be jiffies. */
		EXPECT_GT(60ULL * 1000000000ULL, b.total_ns);
		EXPECT_EQ(0, b.failed);
		if (mode == VMALOCK_MODE_RCU || mode == VMALOCK_MODE_UNLOCKED) {
			EXPECT_EQ(1000, b.fast);
		} else if (mode == VMALOCK_MODE_MMAP) {
			EXPECT_EQ(1000, b.slow);
		}
	}
}

TEST_F(abi, bench_errors)
{
	struct vmalock_bench b = { .addr = (uintptr_t)self->anon, .mode = 0, .iterations = 1 };
	int ret;

	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	b.iterations = 0;
	EXPECT_EQ(-EINVAL, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	b.iterations = VMALOCK_BENCH_MAX_ITER + 1;
	EXPECT_EQ(-EINVAL, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	b.iterations = 0xffffffff;
	EXPECT_EQ(-EINVAL, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	b.iterations = 1;
	b.mode = 4;
	EXPECT_EQ(-EINVAL, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	b.mode = VMALOCK_MODE_WAIT;
	b.addr = (uintptr_t)self->hole;
	EXPECT_EQ(-ENOENT, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	b.addr = 0;
	EXPECT_EQ(-ENOENT, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	b.addr = VL_KERNEL_ADDR;
	ret = vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b);
	EXPECT_TRUE(ret == -EINVAL || ret == -ENOENT) TH_LOG("kernel addr: %d", ret);
}

TEST_F(abi, hold_basic)
{
	uint64_t t0;

	EXPECT_EQ(0, vl_hold(self->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, (uintptr_t)self->anon, 0, 0));
	EXPECT_EQ(0, vl_hold(self->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, (uintptr_t)self->anon, 0,
			     VMALOCK_HOLD_VMA_WRITE));
	EXPECT_EQ(0, vl_hold(self->fd, VMALOCK_IOC_HOLD_VMA_READ, (uintptr_t)self->anon, 0, 0));
	t0 = vl_now_ns();
	EXPECT_EQ(0, vl_hold(self->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, (uintptr_t)self->map, 100,
			     VMALOCK_HOLD_VMA_WRITE));
	EXPECT_LE(80, vl_ms_since(t0));
	t0 = vl_now_ns();
	EXPECT_EQ(0, vl_hold(self->fd, VMALOCK_IOC_HOLD_VMA_READ, (uintptr_t)self->map, 100, 0));
	EXPECT_LE(80, vl_ms_since(t0));
	/* The lock is released: everything works again. */
	EXPECT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->map, VMALOCK_MODE_RCU, NULL));
	EXPECT_EQ(0, mprotect(self->anon, VL_PAGE, PROT_READ));
}

TEST_F(abi, hold_errors)
{
	static const unsigned long cmds[] = { VMALOCK_IOC_HOLD_MMAP_WRITE,
					      VMALOCK_IOC_HOLD_VMA_READ };
	uint64_t a = (uintptr_t)self->anon;
	unsigned int i;
	int ret;

	for (i = 0; i < 2; i++) {
		unsigned long c = cmds[i];
		uint32_t vw = i == 0 ? VMALOCK_HOLD_VMA_WRITE : 0;

		EXPECT_EQ(-EINVAL, vl_hold(self->fd, c, a, VMALOCK_HOLD_MAX_MS + 1, vw)) TH_LOG("%u", i);
		EXPECT_EQ(-EINVAL, vl_hold(self->fd, c, a, 0xffffffff, vw)) TH_LOG("%u", i);
		EXPECT_EQ(-EINVAL, vl_hold(self->fd, c, a, 0, 1U << 1)) TH_LOG("%u", i);
		EXPECT_EQ(-EINVAL, vl_hold(self->fd, c, a, 0, 1U << 31)) TH_LOG("%u", i);
		EXPECT_EQ(-ENOENT, vl_hold(self->fd, c, (uintptr_t)self->hole, 0, vw)) TH_LOG("%u", i);
		EXPECT_EQ(-ENOENT, vl_hold(self->fd, c, 0, 0, vw)) TH_LOG("%u", i);
		ret = vl_hold(self->fd, c, VL_KERNEL_ADDR, 0, vw);
		EXPECT_TRUE(ret == -ENOENT || ret == -EINVAL) TH_LOG("%u: kernel addr %d", i, ret);
	}
}

/* Compare every field of STATS - *s0 with *want. */
static void expect_delta(struct __test_metadata *_metadata, int fd,
			 const struct vmalock_stats *s0, const struct vmalock_stats *want,
			 const char *step)
{
	struct vmalock_stats d;

	ASSERT_EQ(0, vl_stats_delta(fd, s0, &d)) TH_LOG("%s", step);
	EXPECT_EQ(want->inserted, d.inserted) TH_LOG("%s: inserted", step);
	EXPECT_EQ(want->released, d.released) TH_LOG("%s: released", step);
	EXPECT_EQ(want->reclaimed, d.reclaimed) TH_LOG("%s: reclaimed", step);
	EXPECT_EQ(want->skipped_contended, d.skipped_contended)
		TH_LOG("%s: skipped_contended", step);
	EXPECT_EQ(want->in_use, d.in_use) TH_LOG("%s: in_use", step);
	EXPECT_EQ(want->lru, d.lru) TH_LOG("%s: lru", step);
	EXPECT_EQ(want->zc_mapped, d.zc_mapped) TH_LOG("%s: zc_mapped", step);
}

/*
 * Each step changes the counters by exactly what it did. This suite is
 * the only user of the pool while it runs and puts the guest under no
 * memory pressure, so nothing else (the shrinker) changes them.
 */
TEST_F(abi, stats_basic)
{
	struct vmalock_stats s, s0, s2, want = { 0 };
	uint64_t freed = 0, skipped = ~0ULL;

	memset(&s, 0xff, sizeof(s));
	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_STATS, &s));
	/* Nothing of ours is in the pool; the counters are sane. */
	EXPECT_GT(1ULL << 40, s.in_use);
	EXPECT_GT(1ULL << 40, s.lru);
	EXPECT_LE(s.reclaimed, s.released);
	EXPECT_LE(s.in_use, s.inserted);
	/* Module-wide: the same through any open file. */
	ASSERT_EQ(0, vl_stats(self->fd, &s0));
	ASSERT_EQ(0, vl_stats(self->fd2, &s2));
	EXPECT_EQ(0, memcmp(&s0, &s2, sizeof(s0)));
	expect_delta(_metadata, self->fd, &s0, &want, "no change");

	/* ALLOC: 4 new pages in use. */
	ASSERT_EQ(0, vl_alloc(self->fd, self->map, 4));
	want.inserted = 4;
	want.in_use = 4;
	expect_delta(_metadata, self->fd, &s0, &want, "ALLOC 4");
	/* RELEASE 3 of them: in use -> LRU. */
	ASSERT_EQ(0, vl_release(self->fd, self->map, 3));
	want.released = 3;
	want.in_use = 1;
	want.lru = 3;
	expect_delta(_metadata, self->fd, &s0, &want, "RELEASE 3");
	/* ALLOC of a released page takes it back: not inserted again. */
	ASSERT_EQ(0, vl_alloc(self->fd, self->map + 2 * VL_PAGE, 1));
	want.in_use = 2;
	want.lru = 2;
	expect_delta(_metadata, self->fd, &s0, &want, "ALLOC of a released page");
	/* ZC pages are counted apart from the pool. */
	ASSERT_EQ(0, vl_zc_map(self->fd, self->map + 8 * VL_PAGE, 2 * VL_PAGE, 1, NULL));
	want.zc_mapped = 2;
	expect_delta(_metadata, self->fd, &s0, &want, "ZC_MAP 2");
	/* Refused calls change nothing. */
	EXPECT_EQ(-EBUSY, vl_alloc(self->fd, self->map, 4));
	EXPECT_EQ(-EINVAL, vl_release(self->fd, self->map, 2));
	EXPECT_EQ(-EBUSY, vl_zc_map(self->fd, self->map, VL_PAGE, 1, NULL));
	expect_delta(_metadata, self->fd, &s0, &want, "refused calls");
	/* Reclaim: the 2 LRU pages are freed. */
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, VL_MAX_PAGES, &freed,
				&skipped));
	EXPECT_EQ(2, freed);
	EXPECT_EQ(0, skipped);
	want.reclaimed = 2;
	want.lru = 0;
	expect_delta(_metadata, self->fd, &s0, &want, "RECLAIM");
	/* RELEASE the rest, close: in_use and lru are back where they were. */
	ASSERT_EQ(0, vl_release(self->fd, self->map + 2 * VL_PAGE, 2));
	want.released = 5;
	want.in_use = 0;
	want.lru = 2;
	expect_delta(_metadata, self->fd, &s0, &want, "RELEASE 2");
	ASSERT_EQ(0, munmap(self->map, MAP_PAGES * VL_PAGE));
	self->map = NULL;
	close(self->fd);
	self->fd = vl_open();
	ASSERT_LE(0, self->fd);
	/* The file's pages are freed without counting them. */
	EXPECT_EQ(0, vl_stats_settle(self->fd, &s0, &s, 2000));
	want.lru = 0;
	expect_delta(_metadata, self->fd, &s0, &want, "file closed");
}

/*
 * RECLAIM frees exactly the pages on the LRU, up to nr_to_scan, oldest
 * release first, and they are zapped; no lock is contended here.
 */
TEST_F(abi, reclaim_basic)
{
	uint64_t freed = ~0ULL, skipped = ~0ULL;
	struct vmalock_stats s0, d;
	unsigned char vec[MAP_PAGES];
	unsigned int i;
	uint64_t v;

	/* Only this test's pages may be on the LRU (nothing else uses the pool). */
	ASSERT_EQ(0, vl_stats(self->fd, &s0));
	ASSERT_EQ(0, s0.lru) TH_LOG("%llu pages of someone else on the LRU",
				    (unsigned long long)s0.lru);
	/* Nothing on the LRU: nothing freed, nothing contended. */
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, 1, &freed, &skipped));
	EXPECT_EQ(0, freed);
	EXPECT_EQ(0, skipped);
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_MMAP_TRYLOCK, VL_MAX_PAGES,
				&freed, &skipped));
	EXPECT_EQ(0, freed);
	EXPECT_EQ(0, skipped);

	/* 8 pages released in order 0 .. 7: a pass of 3 frees 0, 1 and 2. */
	ASSERT_EQ(0, vl_alloc(self->fd, self->map, 8));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, vl_release(self->fd, self->map + i * VL_PAGE, 1));
	}
	freed = skipped = ~0ULL;
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, 3, &freed, &skipped));
	EXPECT_EQ(3, freed);
	EXPECT_EQ(0, skipped);
	ASSERT_EQ(0, vl_stats_delta(self->fd, &s0, &d));
	EXPECT_EQ(3, d.reclaimed);
	EXPECT_EQ(5, d.lru);
	EXPECT_EQ(0, d.skipped_contended);
	ASSERT_EQ(5, vl_mincore(self->map, MAP_PAGES, vec));
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(i >= 3, vec[i] & 1) TH_LOG("page %u", i);
	}
	EXPECT_EQ(SIGBUS, vl_probe_read(self->map, &v));
	EXPECT_EQ(0, vl_probe_read(self->map + 3 * VL_PAGE, &v));

	/* The mmap_lock strategy frees the other 5, no more than there are. */
	freed = skipped = ~0ULL;
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_MMAP_TRYLOCK, VL_MAX_PAGES,
				&freed, &skipped));
	EXPECT_EQ(5, freed);
	EXPECT_EQ(0, skipped);
	ASSERT_EQ(0, vl_stats_delta(self->fd, &s0, &d));
	EXPECT_EQ(8, d.reclaimed);
	EXPECT_EQ(0, d.lru);
	EXPECT_EQ(0, d.in_use);
	EXPECT_EQ(8, d.released);
	EXPECT_EQ(0, d.skipped_contended);
	EXPECT_EQ(0, vl_mincore(self->map, MAP_PAGES, NULL));
	EXPECT_EQ(SIGBUS, vl_probe_read(self->map + 7 * VL_PAGE, &v));

	/* Empty again. */
	freed = skipped = ~0ULL;
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, VL_MAX_PAGES, &freed,
				&skipped));
	EXPECT_EQ(0, freed);
	EXPECT_EQ(0, skipped);
	ASSERT_EQ(0, vl_stats_delta(self->fd, &s0, &d));
	EXPECT_EQ(8, d.reclaimed);
}

TEST_F(abi, mmap_rules)
{
	void *p;
	int fd;

	/* One mapping per open file. */
	p = vl_map(self->fd, 1);
	EXPECT_EQ(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, VL_PAGE);
	fd = vl_open();
	ASSERT_LE(0, fd);
	/* At most VMALOCK_MAP_MAX_BYTES. */
	p = mmap(NULL, VMALOCK_MAP_MAX_BYTES + VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, VMALOCK_MAP_MAX_BYTES + VL_PAGE);
	p = mmap(NULL, VMALOCK_MAP_MAX_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_NE(MAP_FAILED, p) TH_LOG("a mapping of exactly the maximum: %s", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, VMALOCK_MAP_MAX_BYTES);
	close(fd);
}

TEST_F(abi, mmap_not_inserted_sigbus)
{
	uint64_t v;

	EXPECT_EQ(SIGBUS, vl_probe_read(self->map, &v));
	EXPECT_EQ(SIGBUS, vl_probe_write(self->map + 3 * VL_PAGE, 1));
	EXPECT_EQ(0, vl_mincore(self->map, MAP_PAGES, NULL));
}

TEST_F(abi, unknown_commands_enotty)
{
	static const unsigned int nrs[] = { 0x00, 0x0b, 0x0c, 0x3f, 0x80, 0xff };
	static const unsigned int sizes[] = { 0, 8, 16, 48, 0x3fff };
	static char buf[0x4000];
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		for (j = 0; j < ARRAY_SIZE(sizes); j++) {
			memset(buf, 0, sizeof(buf));
			EXPECT_EQ(-ENOTTY, vl_ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE,
					VMALOCK_IOC_MAGIC, nrs[i], sizes[j]), buf))
				TH_LOG("nr %#x size %u", nrs[i], sizes[j]);
		}
	}
	/* A known number under another magic. */
	EXPECT_EQ(-ENOTTY, vl_ioctl(self->fd, _IOWR(0xB8, 0x01, struct vmalock_lookup), buf));
	EXPECT_EQ(-ENOTTY, vl_ioctl(self->fd, _IOWR(0x00, 0x08, struct vmalock_stats), buf));
	EXPECT_EQ(-ENOTTY, vl_ioctl(self->fd, 0, buf));
}

TEST_F(abi, bad_arg_pointer_efault)
{
	static const unsigned long cmds[] = {
		VMALOCK_IOC_LOOKUP, VMALOCK_IOC_BENCH, VMALOCK_IOC_HOLD_MMAP_WRITE,
		VMALOCK_IOC_HOLD_VMA_READ, VMALOCK_IOC_ZC_MAP, VMALOCK_IOC_ALLOC,
		VMALOCK_IOC_RELEASE, VMALOCK_IOC_STATS, VMALOCK_IOC_USER_READ,
		VMALOCK_IOC_RECLAIM,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		EXPECT_EQ(-EFAULT, vl_ioctl(self->fd, cmds[i], NULL)) TH_LOG("nr %#x",
			  (unsigned int)_IOC_NR(cmds[i]));
		EXPECT_EQ(-EFAULT, vl_ioctl(self->fd, cmds[i], (void *)VL_KERNEL_ADDR))
			TH_LOG("nr %#x", (unsigned int)_IOC_NR(cmds[i]));
		EXPECT_EQ(-EFAULT, vl_ioctl(self->fd, cmds[i], self->hole))
			TH_LOG("nr %#x", (unsigned int)_IOC_NR(cmds[i]));
	}
}

/*
 * A valid argument for each command (on the fixture's layout), so that
 * only where it lies decides the result. Round r uses pages r (ZC_MAP) and
 * 2 + r (ALLOC, RELEASE) of the mapping.
 */
static size_t good_arg(FIXTURE_DATA(abi) *self, unsigned long cmd, unsigned int round,
		       void *buf)
{
	uint64_t anon = (uintptr_t)self->anon, map = (uintptr_t)self->map;

	memset(buf, 0, _IOC_SIZE(cmd));
	switch (_IOC_NR(cmd)) {
	case 0x01:
		*(struct vmalock_lookup *)buf = (struct vmalock_lookup){ .addr = anon,
			.mode = VMALOCK_MODE_WAIT };
		break;
	case 0x02:
		*(struct vmalock_bench *)buf = (struct vmalock_bench){ .addr = anon,
			.mode = VMALOCK_MODE_WAIT, .iterations = 4 };
		break;
	case 0x03:
	case 0x04:
		*(struct vmalock_hold *)buf = (struct vmalock_hold){ .addr = anon };
		break;
	case 0x05:
		*(struct vmalock_zc_map *)buf = (struct vmalock_zc_map){
			.addr = map + round * VL_PAGE,
			.len = VL_PAGE, .seed = 7 };
		break;
	case 0x06:
	case 0x07:
		*(struct vmalock_pages *)buf = (struct vmalock_pages){
			.addr = map + (2 + round) * VL_PAGE,
			.npages = 1 };
		break;
	case 0x09:
		*(struct vmalock_user_read *)buf = (struct vmalock_user_read){ .addr = anon,
			.len = 64, .mode = VMALOCK_USER_READ_SAFE };
		break;
	case 0x0a:
		*(struct vmalock_reclaim *)buf = (struct vmalock_reclaim){
			.mode = VMALOCK_RECLAIM_VMA_TRYLOCK, .nr_to_scan = 1 };
		break;
	}
	return _IOC_SIZE(cmd);
}

static const unsigned long all_cmds[] = {
	VMALOCK_IOC_LOOKUP, VMALOCK_IOC_BENCH, VMALOCK_IOC_HOLD_MMAP_WRITE,
	VMALOCK_IOC_HOLD_VMA_READ, VMALOCK_IOC_ZC_MAP, VMALOCK_IOC_ALLOC,
	VMALOCK_IOC_RELEASE, VMALOCK_IOC_STATS, VMALOCK_IOC_USER_READ,
	VMALOCK_IOC_RECLAIM,
};

/*
 * Arguments that straddle into a page the caller cannot access: the last
 * 8 bytes, or the last byte, of the struct lie in a PROT_NONE page or in
 * an unmapped one. Every command fails with EFAULT and changes nothing
 * (STATS, the pages of the mapping); the same struct just before the
 * boundary succeeds. ALLOC and RELEASE run as a pair so the control leaves
 * nothing behind.
 */
TEST_F(abi, args_straddling_efault)
{
	static const char * const what[] = { "PROT_NONE", "unmapped" };
	char *two = vl_anon(2), *edge = two + VL_PAGE;
	unsigned char before[MAP_PAGES], after[MAP_PAGES];
	struct vmalock_stats s0, d, zero = { 0 };
	char arg[128];
	unsigned int i, w, k;

	ASSERT_NE(MAP_FAILED, two);
	for (w = 0; w < 2; w++) {
		if (w == 0) {
			ASSERT_EQ(0, mprotect(edge, VL_PAGE, PROT_NONE));
		} else {
			ASSERT_EQ(0, munmap(edge, VL_PAGE));
		}
		for (i = 0; i < ARRAY_SIZE(all_cmds); i++) {
			unsigned long cmd = all_cmds[i];
			size_t size = good_arg(self, cmd, w, arg);

			for (k = 1; k <= 8; k += 7) {
				char *at = edge - size + k;

				ASSERT_EQ(0, vl_stats(self->fd, &s0));
				ASSERT_LE(0, vl_mincore(self->map, MAP_PAGES, before));
				memcpy(at, arg, size - k);
				EXPECT_EQ(-EFAULT, vl_ioctl(self->fd, cmd, at))
					TH_LOG("nr %#x, last %u bytes %s", (unsigned int)_IOC_NR(cmd),
					       k, what[w]);
				ASSERT_EQ(0, vl_stats_delta(self->fd, &s0, &d));
				EXPECT_EQ(0, memcmp(&d, &zero, sizeof(d)))
					TH_LOG("nr %#x: STATS changed", (unsigned int)_IOC_NR(cmd));
				ASSERT_LE(0, vl_mincore(self->map, MAP_PAGES, after));
				EXPECT_EQ(0, memcmp(before, after, sizeof(before)))
					TH_LOG("nr %#x: the mapping changed", (unsigned int)_IOC_NR(cmd));
			}
			/* The control: the same struct, all of it readable and writable. */
			memcpy(edge - size, arg, size);
			EXPECT_EQ(0, vl_ioctl(self->fd, cmd, edge - size))
				TH_LOG("nr %#x: the control failed", (unsigned int)_IOC_NR(cmd));
		}
	}
	munmap(two, VL_PAGE);
}

/*
 * The exact TASK_SIZE boundary: the last byte below TASK_SIZE is a user
 * address (found, in a VMA ending at TASK_SIZE), TASK_SIZE is not
 * (EINVAL), for every command that takes an address.
 */
TEST_F(abi, task_size_boundary)
{
	uint64_t top = vl_task_size(), csum;
	struct vmalock_lookup l;
	void *last = (void *)(top - VL_PAGE);
	uint32_t mode, faultins;
	bool mapped_here;
	void *p;

	p = mmap(last, VL_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	/* EEXIST: something (the stack, without ASLR) already ends at TASK_SIZE. */
	ASSERT_TRUE(p == last || errno == EEXIST) TH_LOG("mmap %p: %s", last, strerror(errno));
	mapped_here = p == last;

	for (mode = 0; mode <= VMALOCK_MODE_UNLOCKED; mode++) {
		ASSERT_EQ(0, vl_lookup(self->fd, top - 1, mode, &l)) TH_LOG("%s", mode_name[mode]);
		EXPECT_EQ(top, l.vm_end);
		EXPECT_EQ(-EINVAL, vl_lookup(self->fd, top, mode, NULL)) TH_LOG("%s",
			  mode_name[mode]);
	}
	EXPECT_EQ(0, vl_hold(self->fd, VMALOCK_IOC_HOLD_VMA_READ, top - 1, 0, 0));
	EXPECT_EQ(-EINVAL, vl_hold(self->fd, VMALOCK_IOC_HOLD_VMA_READ, top, 0, 0));
	EXPECT_EQ(0, vl_hold(self->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, top - 1, 0,
			     VMALOCK_HOLD_VMA_WRITE));
	EXPECT_EQ(-EINVAL, vl_hold(self->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, top, 0,
				   VMALOCK_HOLD_VMA_WRITE));
	/* The last 8 bytes can be read; one more byte reaches TASK_SIZE. */
	EXPECT_EQ(0, vl_user_read(self->fd, (void *)(top - 8), 8, VMALOCK_USER_READ_SAFE,
				  &csum, &faultins));
	EXPECT_EQ(-EINVAL, vl_user_read(self->fd, (void *)(top - 8), 9, VMALOCK_USER_READ_SAFE,
					&csum, &faultins));
	/* A page range that ends past TASK_SIZE. */
	EXPECT_EQ(-EINVAL, vl_alloc(self->fd, (void *)top, 1));
	EXPECT_EQ(-EINVAL, vl_zc_map(self->fd, (void *)top, VL_PAGE, 1, NULL));
	if (mapped_here)
		munmap(last, VL_PAGE);
}

/*
 * The table of bad inputs: every command with bad addresses, lengths,
 * counts, modes, flags and reserved fields. The argument is built from
 * (where, off, a, b, c); see build_arg().
 */
enum where { W_NONE, W_MAP, W_MAP2, W_ANON, W_HOLE, W_ABS };

struct bad_case {
	const char *name;
	unsigned long cmd;
	enum where where;
	uint64_t off;		/* added to where's address (W_ABS: the address) */
	uint64_t a, b, c;
	int err[3];		/* accepted errnos; err[0] == 0: must succeed */
	bool unless_unsafe;	/* skip when allow_unsafe=1 */
};

#define E1(e)		{ e, -1, -1 }
#define E2(e, f)	{ e, f, -1 }
#define E3(e, f, g)	{ e, f, g }
#define PG		VL_PAGE
#define MAXP		VL_MAX_PAGES

static const struct bad_case bad_cases[] = {
	/* LOOKUP: a = mode */
	{ "lookup_null", VMALOCK_IOC_LOOKUP, W_ABS, 0, 0, 0, 0, E1(ENOENT) },
	{ "lookup_null_wait", VMALOCK_IOC_LOOKUP, W_ABS, 0, 1, 0, 0, E1(ENOENT) },
	{ "lookup_hole_mmap", VMALOCK_IOC_LOOKUP, W_HOLE, 0, 2, 0, 0, E1(ENOENT) },
	{ "lookup_unaligned_ok", VMALOCK_IOC_LOOKUP, W_ANON, 7, 0, 0, 0, E1(0) },
	{ "lookup_kernel", VMALOCK_IOC_LOOKUP, W_ABS, VL_KERNEL_ADDR, 0, 0, 0, E1(EINVAL) },
	{ "lookup_kernel_wait", VMALOCK_IOC_LOOKUP, W_ABS, VL_KERNEL_ADDR, 1, 0, 0, E1(EINVAL) },
	{ "lookup_kernel_mmap", VMALOCK_IOC_LOOKUP, W_ABS, VL_KERNEL_ADDR, 2, 0, 0, E1(EINVAL) },
	{ "lookup_past_task", VMALOCK_IOC_LOOKUP, W_ABS, VL_PAST_TASK, 1, 0, 0, E1(EINVAL) },
	{ "lookup_all_ones", VMALOCK_IOC_LOOKUP, W_ABS, ~0ULL, 2, 0, 0, E1(EINVAL) },
	{ "lookup_hole_unlocked", VMALOCK_IOC_LOOKUP, W_HOLE, 0, 3, 0, 0, E1(ENOENT) },
	{ "lookup_kernel_unlocked", VMALOCK_IOC_LOOKUP, W_ABS, VL_KERNEL_ADDR, 3, 0, 0,
	  E1(EINVAL) },
	{ "lookup_mode4", VMALOCK_IOC_LOOKUP, W_ANON, 0, 4, 0, 0, E1(EINVAL) },
	{ "lookup_mode_max", VMALOCK_IOC_LOOKUP, W_ANON, 0, 0xffffffff, 0, 0, E1(EINVAL) },
	/* BENCH: a = mode, b = iterations */
	{ "bench_ok", VMALOCK_IOC_BENCH, W_MAP, 0, 1, 10, 0, E1(0) },
	{ "bench_iter0", VMALOCK_IOC_BENCH, W_ANON, 0, 0, 0, 0, E1(EINVAL) },
	{ "bench_iter_over", VMALOCK_IOC_BENCH, W_ANON, 0, 0, VMALOCK_BENCH_MAX_ITER + 1, 0,
	  E1(EINVAL) },
	{ "bench_iter_u32max", VMALOCK_IOC_BENCH, W_ANON, 0, 2, 0xffffffff, 0, E1(EINVAL) },
	{ "bench_unlocked_ok", VMALOCK_IOC_BENCH, W_ANON, 0, 3, 10, 0, E1(0) },
	{ "bench_hole_unlocked", VMALOCK_IOC_BENCH, W_HOLE, 0, 3, 1, 0, E1(ENOENT) },
	{ "bench_mode4", VMALOCK_IOC_BENCH, W_ANON, 0, 4, 1, 0, E1(EINVAL) },
	{ "bench_mode_max", VMALOCK_IOC_BENCH, W_ANON, 0, 0xffffffff, 1, 0, E1(EINVAL) },
	{ "bench_null", VMALOCK_IOC_BENCH, W_ABS, 0, 0, 1, 0, E1(ENOENT) },
	{ "bench_hole", VMALOCK_IOC_BENCH, W_HOLE, 0, 2, 1, 0, E1(ENOENT) },
	{ "bench_kernel", VMALOCK_IOC_BENCH, W_ABS, VL_KERNEL_ADDR, 0, 1, 0, E2(EINVAL, ENOENT) },
	{ "bench_past_task", VMALOCK_IOC_BENCH, W_ABS, VL_PAST_TASK, 1, 1, 0, E2(EINVAL, ENOENT) },
	/* HOLD_MMAP_WRITE: a = ms, b = flags */
	{ "hold_w_ok", VMALOCK_IOC_HOLD_MMAP_WRITE, W_MAP, 0, 1, 1, 0, E1(0) },
	{ "hold_w_ms_over", VMALOCK_IOC_HOLD_MMAP_WRITE, W_ANON, 0, VMALOCK_HOLD_MAX_MS + 1, 0, 0,
	  E1(EINVAL) },
	{ "hold_w_ms_u32max", VMALOCK_IOC_HOLD_MMAP_WRITE, W_ANON, 0, 0xffffffff, 1, 0,
	  E1(EINVAL) },
	{ "hold_w_flag1", VMALOCK_IOC_HOLD_MMAP_WRITE, W_ANON, 0, 0, 2, 0, E1(EINVAL) },
	{ "hold_w_flags_all", VMALOCK_IOC_HOLD_MMAP_WRITE, W_ANON, 0, 0, 0xffffffff, 0,
	  E1(EINVAL) },
	{ "hold_w_null", VMALOCK_IOC_HOLD_MMAP_WRITE, W_ABS, 0, 0, 1, 0, E1(ENOENT) },
	{ "hold_w_hole", VMALOCK_IOC_HOLD_MMAP_WRITE, W_HOLE, 0, 0, 1, 0, E1(ENOENT) },
	{ "hold_w_kernel", VMALOCK_IOC_HOLD_MMAP_WRITE, W_ABS, VL_KERNEL_ADDR, 0, 1, 0,
	  E2(ENOENT, EINVAL) },
	{ "hold_w_past_task", VMALOCK_IOC_HOLD_MMAP_WRITE, W_ABS, VL_PAST_TASK, 0, 1, 0,
	  E2(ENOENT, EINVAL) },
	/* HOLD_VMA_READ: a = ms, b = flags */
	{ "hold_r_ok", VMALOCK_IOC_HOLD_VMA_READ, W_ANON, 0, 1, 0, 0, E1(0) },
	{ "hold_r_ms_over", VMALOCK_IOC_HOLD_VMA_READ, W_ANON, 0, VMALOCK_HOLD_MAX_MS + 1, 0, 0,
	  E1(EINVAL) },
	{ "hold_r_flag1", VMALOCK_IOC_HOLD_VMA_READ, W_ANON, 0, 0, 2, 0, E1(EINVAL) },
	{ "hold_r_null", VMALOCK_IOC_HOLD_VMA_READ, W_ABS, 0, 0, 0, 0, E1(ENOENT) },
	{ "hold_r_hole", VMALOCK_IOC_HOLD_VMA_READ, W_HOLE, 0, 0, 0, 0, E1(ENOENT) },
	{ "hold_r_kernel", VMALOCK_IOC_HOLD_VMA_READ, W_ABS, VL_KERNEL_ADDR, 0, 0, 0,
	  E2(ENOENT, EINVAL) },
	/* ZC_MAP: a = len, b = seed */
	{ "zc_ok", VMALOCK_IOC_ZC_MAP, W_MAP, PG, PG, 1, 0, E1(0) },
	{ "zc_anon", VMALOCK_IOC_ZC_MAP, W_ANON, 0, PG, 1, 0, E1(EINVAL) },
	{ "zc_other_file", VMALOCK_IOC_ZC_MAP, W_MAP2, 0, PG, 1, 0, E1(EINVAL) },
	{ "zc_unaligned", VMALOCK_IOC_ZC_MAP, W_MAP, 8, PG, 1, 0, E1(EINVAL) },
	{ "zc_len0", VMALOCK_IOC_ZC_MAP, W_MAP, 0, 0, 1, 0, E1(EINVAL) },
	{ "zc_len_unaligned", VMALOCK_IOC_ZC_MAP, W_MAP, 0, PG + 1, 1, 0, E1(EINVAL) },
	{ "zc_len_small", VMALOCK_IOC_ZC_MAP, W_MAP, 0, 100, 1, 0, E1(EINVAL) },
	{ "zc_past_end", VMALOCK_IOC_ZC_MAP, W_MAP, (MAP_PAGES - 1) * PG, 2 * PG, 1, 0,
	  E1(EINVAL) },
	{ "zc_len_overflow", VMALOCK_IOC_ZC_MAP, W_MAP, 0, -PG, 1, 0, E1(EINVAL) },
	{ "zc_len_huge", VMALOCK_IOC_ZC_MAP, W_MAP, 0, 1ULL << 63, 1, 0, E1(EINVAL) },
	{ "zc_len_over_max", VMALOCK_IOC_ZC_MAP, W_MAP, 0, VMALOCK_MAP_MAX_BYTES + PG, 1, 0,
	  E1(EINVAL) },
	{ "zc_null", VMALOCK_IOC_ZC_MAP, W_ABS, 0, PG, 1, 0, E1(EINVAL) },
	{ "zc_hole", VMALOCK_IOC_ZC_MAP, W_HOLE, 0, PG, 1, 0, E1(EINVAL) },
	{ "zc_kernel", VMALOCK_IOC_ZC_MAP, W_ABS, VL_KERNEL_ADDR, PG, 1, 0, E1(EINVAL) },
	{ "zc_past_task", VMALOCK_IOC_ZC_MAP, W_ABS, VL_PAST_TASK, PG, 1, 0, E1(EINVAL) },
	{ "zc_top_wrap", VMALOCK_IOC_ZC_MAP, W_ABS, -PG, 2 * PG, 1, 0, E1(EINVAL) },
	/* ALLOC: a = npages */
	{ "alloc_ok", VMALOCK_IOC_ALLOC, W_MAP, 2 * PG, 2, 0, 0, E1(0) },
	{ "alloc_anon", VMALOCK_IOC_ALLOC, W_ANON, 0, 1, 0, 0, E1(EINVAL) },
	{ "alloc_other_file", VMALOCK_IOC_ALLOC, W_MAP2, 0, 1, 0, 0, E1(EINVAL) },
	{ "alloc_unaligned", VMALOCK_IOC_ALLOC, W_MAP, 1, 1, 0, 0, E1(EINVAL) },
	{ "alloc_npages0", VMALOCK_IOC_ALLOC, W_MAP, 0, 0, 0, 0, E1(EINVAL) },
	{ "alloc_npages_over", VMALOCK_IOC_ALLOC, W_MAP, 0, MAXP + 1, 0, 0, E1(EINVAL) },
	{ "alloc_npages_huge", VMALOCK_IOC_ALLOC, W_MAP, 0, 1ULL << 52, 0, 0, E1(EINVAL) },
	{ "alloc_npages_all_ones", VMALOCK_IOC_ALLOC, W_MAP, 0, ~0ULL, 0, 0, E1(EINVAL) },
	{ "alloc_past_end", VMALOCK_IOC_ALLOC, W_MAP, (MAP_PAGES - 1) * PG, 2, 0, 0, E1(EINVAL) },
	{ "alloc_null", VMALOCK_IOC_ALLOC, W_ABS, 0, 1, 0, 0, E1(EINVAL) },
	{ "alloc_hole", VMALOCK_IOC_ALLOC, W_HOLE, 0, 1, 0, 0, E1(EINVAL) },
	{ "alloc_kernel", VMALOCK_IOC_ALLOC, W_ABS, VL_KERNEL_ADDR, 1, 0, 0, E1(EINVAL) },
	{ "alloc_past_task", VMALOCK_IOC_ALLOC, W_ABS, VL_PAST_TASK, 1, 0, 0, E1(EINVAL) },
	/* RELEASE: a = npages */
	{ "release_not_in_use", VMALOCK_IOC_RELEASE, W_MAP, 0, 1, 0, 0, E1(EINVAL) },
	{ "release_anon", VMALOCK_IOC_RELEASE, W_ANON, 0, 1, 0, 0, E1(EINVAL) },
	{ "release_other_file", VMALOCK_IOC_RELEASE, W_MAP2, 0, 1, 0, 0, E1(EINVAL) },
	{ "release_unaligned", VMALOCK_IOC_RELEASE, W_MAP, 1, 1, 0, 0, E1(EINVAL) },
	{ "release_npages0", VMALOCK_IOC_RELEASE, W_MAP, 0, 0, 0, 0, E1(EINVAL) },
	{ "release_npages_over", VMALOCK_IOC_RELEASE, W_MAP, 0, MAXP + 1, 0, 0, E1(EINVAL) },
	{ "release_npages_huge", VMALOCK_IOC_RELEASE, W_MAP, 0, 1ULL << 52, 0, 0, E1(EINVAL) },
	{ "release_past_end", VMALOCK_IOC_RELEASE, W_MAP, (MAP_PAGES - 1) * PG, 2, 0, 0,
	  E1(EINVAL) },
	{ "release_null", VMALOCK_IOC_RELEASE, W_ABS, 0, 1, 0, 0, E1(EINVAL) },
	{ "release_kernel", VMALOCK_IOC_RELEASE, W_ABS, VL_KERNEL_ADDR, 1, 0, 0, E1(EINVAL) },
	/* USER_READ: a = len, b = mode, c = __reserved */
	{ "uread_ok", VMALOCK_IOC_USER_READ, W_ANON, 0, PG, 0, 0, E1(0) },
	{ "uread_len0", VMALOCK_IOC_USER_READ, W_ANON, 0, 0, 0, 0, E1(EINVAL) },
	{ "uread_len_over", VMALOCK_IOC_USER_READ, W_ANON, 0, VMALOCK_USER_READ_MAX + 1, 0, 0,
	  E1(EINVAL) },
	{ "uread_len_u32max", VMALOCK_IOC_USER_READ, W_ANON, 0, 0xffffffff, 0, 0, E1(EINVAL) },
	{ "uread_mode2", VMALOCK_IOC_USER_READ, W_ANON, 0, 8, 2, 0, E1(EINVAL) },
	{ "uread_mode_max", VMALOCK_IOC_USER_READ, W_ANON, 0, 8, 0xffffffff, 0, E1(EINVAL) },
	{ "uread_reserved", VMALOCK_IOC_USER_READ, W_ANON, 0, 8, 0, 1, E1(EINVAL) },
	{ "uread_reserved_top", VMALOCK_IOC_USER_READ, W_ANON, 0, 8, 0, 0x80000000, E1(EINVAL) },
	{ "uread_unsafe_eperm", VMALOCK_IOC_USER_READ, W_ANON, 0, 8, 1, 0, E1(EPERM), true },
	{ "uread_across_end", VMALOCK_IOC_USER_READ, W_ANON, ANON_PAGES * PG - 8, 16, 0, 0,
	  E1(EINVAL) },
	{ "uread_across_vma", VMALOCK_IOC_USER_READ, W_MAP2, MAP2_PAGES * PG - 8, 16, 0, 0,
	  E1(EINVAL) },
	{ "uread_null", VMALOCK_IOC_USER_READ, W_ABS, 0, 8, 0, 0, E3(EINVAL, ENOENT, EFAULT) },
	{ "uread_hole", VMALOCK_IOC_USER_READ, W_HOLE, 0, 8, 0, 0, E3(EINVAL, ENOENT, EFAULT) },
	{ "uread_kernel", VMALOCK_IOC_USER_READ, W_ABS, VL_KERNEL_ADDR, 8, 0, 0,
	  E2(EINVAL, EFAULT) },
	{ "uread_past_task", VMALOCK_IOC_USER_READ, W_ABS, VL_PAST_TASK, 8, 0, 0,
	  E2(EINVAL, EFAULT) },
	{ "uread_top_wrap", VMALOCK_IOC_USER_READ, W_ABS, ~0ULL - 7, 16, 0, 0,
	  E2(EINVAL, EFAULT) },
	/* RECLAIM: a = mode, b = __reserved, c = nr_to_scan */
	{ "reclaim_ok", VMALOCK_IOC_RECLAIM, W_NONE, 0, 1, 0, 8, E1(0) },
	{ "reclaim_mode2", VMALOCK_IOC_RECLAIM, W_NONE, 0, 2, 0, 1, E1(EINVAL) },
	{ "reclaim_mode_max", VMALOCK_IOC_RECLAIM, W_NONE, 0, 0xffffffff, 0, 1, E1(EINVAL) },
	{ "reclaim_reserved", VMALOCK_IOC_RECLAIM, W_NONE, 0, 0, 1, 1, E1(EINVAL) },
	{ "reclaim_nr0", VMALOCK_IOC_RECLAIM, W_NONE, 0, 0, 0, 0, E1(EINVAL) },
	{ "reclaim_nr_over", VMALOCK_IOC_RECLAIM, W_NONE, 0, 0, 0, MAXP + 1, E1(EINVAL) },
	{ "reclaim_nr_huge", VMALOCK_IOC_RECLAIM, W_NONE, 0, 1, 0, ~0ULL, E1(EINVAL) },
	/* STATS */
	{ "stats_ok", VMALOCK_IOC_STATS, W_NONE, 0, 0, 0, 0, E1(0) },
};

static uint64_t where_addr(FIXTURE_DATA(abi) *self, enum where w, uint64_t off)
{
	switch (w) {
	case W_MAP:
		return (uintptr_t)self->map + off;
	case W_MAP2:
		return (uintptr_t)self->map2 + off;
	case W_ANON:
		return (uintptr_t)self->anon + off;
	case W_HOLE:
		return (uintptr_t)self->hole + off;
	case W_ABS:
		return off;
	default:
		return 0;
	}
}

/* Build the argument of c in buf (zeroed by the caller). */
static void build_arg(FIXTURE_DATA(abi) *self, const struct bad_case *c, void *buf)
{
	uint64_t addr = where_addr(self, c->where, c->off);

	switch (_IOC_NR(c->cmd)) {
	case _IOC_NR(VMALOCK_IOC_LOOKUP): {
		struct vmalock_lookup *l = buf;

		l->addr = addr;
		l->mode = c->a;
		break;
	}
	case _IOC_NR(VMALOCK_IOC_BENCH): {
		struct vmalock_bench *b = buf;

		b->addr = addr;
		b->mode = c->a;
		b->iterations = c->b;
		break;
	}
	case _IOC_NR(VMALOCK_IOC_HOLD_MMAP_WRITE):
	case _IOC_NR(VMALOCK_IOC_HOLD_VMA_READ): {
		struct vmalock_hold *h = buf;

		h->addr = addr;
		h->ms = c->a;
		h->flags = c->b;
		break;
	}
	case _IOC_NR(VMALOCK_IOC_ZC_MAP): {
		struct vmalock_zc_map *z = buf;

		z->addr = addr;
		z->len = c->a;
		z->seed = c->b;
		break;
	}
	case _IOC_NR(VMALOCK_IOC_ALLOC):
	case _IOC_NR(VMALOCK_IOC_RELEASE): {
		struct vmalock_pages *p = buf;

		p->addr = addr;
		p->npages = c->a;
		break;
	}
	case _IOC_NR(VMALOCK_IOC_USER_READ): {
		struct vmalock_user_read *r = buf;

		r->addr = addr;
		r->len = c->a;
		r->mode = c->b;
		r->__reserved = c->c;
		break;
	}
	case _IOC_NR(VMALOCK_IOC_RECLAIM): {
		struct vmalock_reclaim *r = buf;

		r->mode = c->a;
		r->__reserved = c->b;
		r->nr_to_scan = c->c;
		break;
	}
	}
}

static bool errno_ok(const struct bad_case *c, int ret)
{
	int i;

	if (c->err[0] == 0)
		return ret == 0;
	for (i = 0; i < 3; i++)
		if (c->err[i] > 0 && ret == -c->err[i])
			return true;
	return false;
}

static int run_cases(struct __test_metadata *_metadata, FIXTURE_DATA(abi) *self,
		     unsigned long nr)
{
	unsigned int i, n = 0;
	bool unsafe = vl_allow_unsafe();

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		union {
			struct vmalock_lookup l;
			struct vmalock_bench b;
			struct vmalock_hold h;
			struct vmalock_zc_map z;
			struct vmalock_pages p;
			struct vmalock_user_read r;
			struct vmalock_reclaim rc;
			struct vmalock_stats s;
			char pad[256];
		} arg;
		int ret;

		if (_IOC_NR(c->cmd) != nr)
			continue;
		if (c->unless_unsafe && unsafe) {
			TH_LOG("%s: skipped, the module has allow_unsafe=1", c->name);
			continue;
		}
		memset(&arg, 0, sizeof(arg));
		build_arg(self, c, &arg);
		ret = vl_ioctl(self->fd, c->cmd, &arg);
		EXPECT_TRUE(errno_ok(c, ret))
			TH_LOG("%s: got %d (%s), want %s%s", c->name, ret, strerror(-ret),
			       c->err[0] ? "-" : "", c->err[0] ? strerror(c->err[0]) : "0");
		n++;
	}
	return n;
}

/* Nothing may have been mapped by a refused call. */
static void check_nothing_mapped(struct __test_metadata *_metadata, FIXTURE_DATA(abi) *self,
				 bool map_untouched)
{
	EXPECT_EQ(0, vl_mincore(self->map2, MAP2_PAGES, NULL));
	if (map_untouched)
		EXPECT_EQ(0, vl_mincore(self->map, MAP_PAGES, NULL));
}

TEST_F(abi, bad_input_lookup) { ASSERT_LT(0, run_cases(_metadata, self, 0x01)); }
TEST_F(abi, bad_input_bench) { ASSERT_LT(0, run_cases(_metadata, self, 0x02)); }
TEST_F(abi, bad_input_hold_mmap_write) { ASSERT_LT(0, run_cases(_metadata, self, 0x03)); }
TEST_F(abi, bad_input_hold_vma_read) { ASSERT_LT(0, run_cases(_metadata, self, 0x04)); }

TEST_F(abi, bad_input_zc_map)
{
	unsigned char vec[MAP_PAGES];

	ASSERT_LT(0, run_cases(_metadata, self, 0x05));
	/* Only "zc_ok" mapped something: page 1. */
	check_nothing_mapped(_metadata, self, false);
	ASSERT_EQ(1, vl_mincore(self->map, MAP_PAGES, vec));
	EXPECT_EQ(1, vec[1] & 1);
}

TEST_F(abi, bad_input_alloc)
{
	unsigned char vec[MAP_PAGES];

	ASSERT_LT(0, run_cases(_metadata, self, 0x06));
	/* Only "alloc_ok" inserted pages: 2 and 3. */
	check_nothing_mapped(_metadata, self, false);
	ASSERT_EQ(2, vl_mincore(self->map, MAP_PAGES, vec));
	EXPECT_EQ(1, vec[2] & 1);
	EXPECT_EQ(1, vec[3] & 1);
}

TEST_F(abi, bad_input_release)
{
	ASSERT_LT(0, run_cases(_metadata, self, 0x07));
	check_nothing_mapped(_metadata, self, true);
}

TEST_F(abi, bad_input_stats) { ASSERT_LT(0, run_cases(_metadata, self, 0x08)); }
TEST_F(abi, bad_input_user_read) { ASSERT_LT(0, run_cases(_metadata, self, 0x09)); }
TEST_F(abi, bad_input_reclaim) { ASSERT_LT(0, run_cases(_metadata, self, 0x0a)); }

/*
 * Argument size rules, per command: the kernel takes the size from
 * _IOC_SIZE(cmd). Longer with a zero tail: accepted; longer with a
 * non-zero tail: E2BIG; shorter: EINVAL.
 */
FIXTURE(abi_size) {
	int fd;
	char *map, *anon;
	unsigned long cmd;
	size_t size;
	char *buf;		/* 0x4000 + 64 bytes */
};

FIXTURE_VARIANT(abi_size) {
	unsigned long cmd;
};

FIXTURE_VARIANT_ADD(abi_size, lookup) { .cmd = VMALOCK_IOC_LOOKUP };
FIXTURE_VARIANT_ADD(abi_size, bench) { .cmd = VMALOCK_IOC_BENCH };
FIXTURE_VARIANT_ADD(abi_size, hold_mmap_write) { .cmd = VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(abi_size, hold_vma_read) { .cmd = VMALOCK_IOC_HOLD_VMA_READ };
FIXTURE_VARIANT_ADD(abi_size, zc_map) { .cmd = VMALOCK_IOC_ZC_MAP };
FIXTURE_VARIANT_ADD(abi_size, alloc) { .cmd = VMALOCK_IOC_ALLOC };
FIXTURE_VARIANT_ADD(abi_size, release) { .cmd = VMALOCK_IOC_RELEASE };
FIXTURE_VARIANT_ADD(abi_size, stats) { .cmd = VMALOCK_IOC_STATS };
FIXTURE_VARIANT_ADD(abi_size, user_read) { .cmd = VMALOCK_IOC_USER_READ };
FIXTURE_VARIANT_ADD(abi_size, reclaim) { .cmd = VMALOCK_IOC_RECLAIM };

#define SIZE_BUF	(0x4000 + 64)

FIXTURE_SETUP(abi_size)
{
	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	self->map = vl_map(self->fd, MAP_PAGES);
	ASSERT_NE(MAP_FAILED, self->map);
	self->anon = vl_anon(1);
	ASSERT_NE(MAP_FAILED, self->anon);
	self->anon[0] = 1;
	self->cmd = variant->cmd;
	self->size = _IOC_SIZE(variant->cmd);
	self->buf = malloc(SIZE_BUF);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(abi_size)
{
	munmap(self->map, MAP_PAGES * VL_PAGE);
	munmap(self->anon, VL_PAGE);
	close(self->fd);
	free(self->buf);
}

/*
 * A valid argument for the command; page selects which page of the
 * vmalock mapping ZC_MAP / ALLOC / RELEASE use, so that repeated calls
 * do not collide.
 */
static void valid_arg(FIXTURE_DATA(abi_size) *self, unsigned int page)
{
	void *buf = self->buf;
	char *pg = self->map + page * VL_PAGE;

	memset(buf, 0, SIZE_BUF);
	switch (_IOC_NR(self->cmd)) {
	case 0x01:
		((struct vmalock_lookup *)buf)->addr = (uintptr_t)self->anon;
		break;
	case 0x02:
		((struct vmalock_bench *)buf)->addr = (uintptr_t)self->anon;
		((struct vmalock_bench *)buf)->iterations = 1;
		break;
	case 0x03:
	case 0x04:
		((struct vmalock_hold *)buf)->addr = (uintptr_t)self->anon;
		break;
	case 0x05:
		((struct vmalock_zc_map *)buf)->addr = (uintptr_t)pg;
		((struct vmalock_zc_map *)buf)->len = VL_PAGE;
		((struct vmalock_zc_map *)buf)->seed = page;
		break;
	case 0x07:
		/* RELEASE needs an in-use page. */
		vl_alloc(self->fd, pg, 1);
		/* fall through */
	case 0x06:
		((struct vmalock_pages *)buf)->addr = (uintptr_t)pg;
		((struct vmalock_pages *)buf)->npages = 1;
		break;
	case 0x09:
		((struct vmalock_user_read *)buf)->addr = (uintptr_t)self->anon;
		((struct vmalock_user_read *)buf)->len = 64;
		break;
	case 0x0a:
		((struct vmalock_reclaim *)buf)->nr_to_scan = 1;
		break;
	}
}

static unsigned long with_size(unsigned long cmd, size_t size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

TEST_F(abi_size, exact)
{
	valid_arg(self, 0);
	ASSERT_EQ(0, vl_ioctl(self->fd, self->cmd, self->buf));
}

TEST_F(abi_size, longer_zero_tail_accepted)
{
	static const size_t extra[] = { 1, 8, 64 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		valid_arg(self, i + 1);
		EXPECT_EQ(0, vl_ioctl(self->fd, with_size(self->cmd, self->size + extra[i]),
				      self->buf)) TH_LOG("size %zu + %zu", self->size, extra[i]);
	}
	/* The largest size an ioctl number can carry. */
	valid_arg(self, 5);
	EXPECT_EQ(0, vl_ioctl(self->fd, with_size(self->cmd, _IOC_SIZEMASK), self->buf));
}

TEST_F(abi_size, longer_nonzero_tail_e2big)
{
	static const size_t extra[] = { 1, 8, 64 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		/* The first tail byte, then the last. */
		valid_arg(self, 1);
		self->buf[self->size] = 1;
		EXPECT_EQ(-E2BIG, vl_ioctl(self->fd, with_size(self->cmd, self->size + extra[i]),
					   self->buf)) TH_LOG("first, size %zu + %zu", self->size,
							      extra[i]);
		valid_arg(self, 1);
		self->buf[self->size + extra[i] - 1] = 0x80;
		EXPECT_EQ(-E2BIG, vl_ioctl(self->fd, with_size(self->cmd, self->size + extra[i]),
					   self->buf)) TH_LOG("last, size %zu + %zu", self->size,
							      extra[i]);
	}
	valid_arg(self, 1);
	self->buf[_IOC_SIZEMASK - 1] = 1;
	EXPECT_EQ(-E2BIG, vl_ioctl(self->fd, with_size(self->cmd, _IOC_SIZEMASK), self->buf));
	/* None of the refused calls had an effect: page 1 is still free. */
	if (_IOC_NR(self->cmd) == 0x05 || _IOC_NR(self->cmd) == 0x06)
		EXPECT_EQ(0, vl_mincore(self->map + VL_PAGE, 1, NULL));
}

TEST_F(abi_size, shorter_einval)
{
	size_t sz;

	for (sz = 0; sz < self->size; sz += (sz + 8 < self->size ? 8 : 1)) {
		valid_arg(self, 1);
		EXPECT_EQ(-EINVAL, vl_ioctl(self->fd, with_size(self->cmd, sz), self->buf))
			TH_LOG("size %zu of %zu", sz, self->size);
	}
	valid_arg(self, 1);
	EXPECT_EQ(-EINVAL, vl_ioctl(self->fd, with_size(self->cmd, self->size - 1), self->buf));
	if (_IOC_NR(self->cmd) == 0x05 || _IOC_NR(self->cmd) == 0x06)
		EXPECT_EQ(0, vl_mincore(self->map + VL_PAGE, 1, NULL));
}

/* Module unload is refused while the module is in use. */
static int rmmod_status(void)
{
	int st = system("rmmod vmalock 2>/dev/null");

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void reload_if_gone(struct __test_metadata *_metadata)
{
	if (!vl_module_loaded()) {
		TH_LOG("rmmod succeeded while in use: reloading the module");
		if (system("insmod " VL_MODULE " ${PLAN_ARGS} 2>/dev/null") != 0)
			TH_LOG("reload failed");
	}
}

TEST(unload_refused_while_open)
{
	int fd, st;

	if (system("command -v rmmod >/dev/null 2>&1") != 0)
		SKIP(return, "no rmmod");
	fd = vl_open();
	ASSERT_LE(0, fd);
	st = rmmod_status();
	EXPECT_NE(0, st);
	EXPECT_TRUE(vl_module_loaded());
	close(fd);
	reload_if_gone(_metadata);
}

TEST(unload_refused_while_mapped)
{
	char *p;
	int fd, st;

	if (system("command -v rmmod >/dev/null 2>&1") != 0)
		SKIP(return, "no rmmod");
	fd = vl_open();
	ASSERT_LE(0, fd);
	p = vl_map(fd, 4);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vl_alloc(fd, p, 2));
	p[0] = 42;
	/* Only the mapping holds the file (and the module) now. */
	close(fd);
	st = rmmod_status();
	EXPECT_NE(0, st);
	EXPECT_TRUE(vl_module_loaded());
	if (vl_module_loaded())
		EXPECT_EQ(42, p[0]);
	munmap(p, 4 * VL_PAGE);
	reload_if_gone(_metadata);
}

TEST_HARNESS_MAIN
