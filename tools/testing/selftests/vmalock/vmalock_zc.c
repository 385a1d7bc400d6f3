// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_zc: VMALOCK_IOC_ZC_MAP, TCP-zerocopy style mapping of module
 * pages into the file's own VMA. The contents are checked word by word and
 * by checksum against the header's pattern; impostor VMAs (anonymous
 * memory, another open file's vmalock mapping) are refused with nothing
 * mapped; already-mapped ranges give EBUSY; a VMA writer is waited for.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define MAP_PAGES	64
#define HOLD_MS		1500

FIXTURE(zc) {
	int fd, fd2;
	char *map, *map2, *anon;
	struct vmalock_stats s0;
};

FIXTURE_SETUP(zc)
{
	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	self->fd2 = vl_open();
	ASSERT_LE(0, self->fd2);
	self->map = vl_map(self->fd, MAP_PAGES);
	ASSERT_NE(MAP_FAILED, self->map);
	self->map2 = vl_map(self->fd2, 4);
	ASSERT_NE(MAP_FAILED, self->map2);
	self->anon = vl_anon(4);
	ASSERT_NE(MAP_FAILED, self->anon);
	ASSERT_EQ(0, vl_stats(self->fd, &self->s0));
}

FIXTURE_TEARDOWN(zc)
{
	munmap(self->map, MAP_PAGES * VL_PAGE);
	munmap(self->map2, 4 * VL_PAGE);
	munmap(self->anon, 4 * VL_PAGE);
	close(self->fd);
	close(self->fd2);
}

/* Map npages at page `page` of the mapping with seed and check them. */
static void zc_check(struct __test_metadata *_metadata, int fd, char *p, size_t npages,
		     uint64_t seed)
{
	uint64_t mapped = 0;
	long bad;

	ASSERT_EQ(0, vl_zc_map(fd, p, npages * VL_PAGE, seed, &mapped));
	ASSERT_EQ(npages * VL_PAGE, mapped);
	EXPECT_EQ((long)npages, vl_mincore(p, npages, NULL));
	bad = vl_check_pattern(p, npages * VL_PAGE, seed, 0);
	EXPECT_EQ(-1, bad) TH_LOG("word %ld: %#llx, want %#llx", bad,
				  (unsigned long long)((uint64_t *)p)[bad < 0 ? 0 : bad],
				  (unsigned long long)vl_pattern(seed, bad));
	EXPECT_EQ(vl_fnv1a_pattern(seed, 0, npages * VL_PAGE), vl_fnv1a(p, npages * VL_PAGE));
}

TEST_F(zc, map_whole)
{
	struct vmalock_stats s;

	zc_check(_metadata, self->fd, self->map, MAP_PAGES, 0x1234);
	ASSERT_EQ(0, vl_stats(self->fd, &s));
	EXPECT_EQ(MAP_PAGES, s.zc_mapped - self->s0.zc_mapped);
	/* ZC pages are not pool pages. */
	EXPECT_EQ(self->s0.inserted, s.inserted);
}

TEST_F(zc, map_one_page_at_the_end)
{
	zc_check(_metadata, self->fd, self->map + (MAP_PAGES - 1) * VL_PAGE, 1, 7);
	EXPECT_EQ(1, vl_mincore(self->map, MAP_PAGES, NULL));
}

/* The pattern counts words from the start of the ZC_MAP mapping (addr). */
TEST_F(zc, map_chunks_distinct_seeds)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		zc_check(_metadata, self->fd, self->map + (i * 8) * VL_PAGE, 8, 1000 + i);
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(-1, vl_check_pattern(self->map + i * 8 * VL_PAGE, 8 * VL_PAGE,
					       1000 + i, 0)) TH_LOG("chunk %u", i);
	}
}

TEST_F(zc, data_is_shared_writable)
{
	uint64_t *w = (uint64_t *)self->map;

	zc_check(_metadata, self->fd, self->map, 2, 99);
	w[3] = 0x1122334455667788ULL;
	EXPECT_EQ(0x1122334455667788ULL, w[3]);
	EXPECT_EQ(vl_pattern(99, 4), w[4]);
}

TEST_F(zc, already_mapped_ebusy)
{
	zc_check(_metadata, self->fd, self->map + 4 * VL_PAGE, 4, 5);
	EXPECT_EQ(-EBUSY, vl_zc_map(self->fd, self->map + 4 * VL_PAGE, 4 * VL_PAGE, 6, NULL));
	/* Overlapping at either end: refused, the free part stays unmapped. */
	EXPECT_EQ(-EBUSY, vl_zc_map(self->fd, self->map + 6 * VL_PAGE, 4 * VL_PAGE, 6, NULL));
	EXPECT_EQ(-EBUSY, vl_zc_map(self->fd, self->map + 2 * VL_PAGE, 4 * VL_PAGE, 6, NULL));
	EXPECT_EQ(-EBUSY, vl_zc_map(self->fd, self->map, MAP_PAGES * VL_PAGE, 6, NULL));
	EXPECT_EQ(4, vl_mincore(self->map, MAP_PAGES, NULL));
	EXPECT_EQ(-1, vl_check_pattern(self->map + 4 * VL_PAGE, 4 * VL_PAGE, 5, 0));
}

TEST_F(zc, pool_page_ebusy)
{
	ASSERT_EQ(0, vl_alloc(self->fd, self->map + VL_PAGE, 1));
	self->map[VL_PAGE] = 77;
	EXPECT_EQ(-EBUSY, vl_zc_map(self->fd, self->map + VL_PAGE, VL_PAGE, 1, NULL));
	EXPECT_EQ(-EBUSY, vl_zc_map(self->fd, self->map, 3 * VL_PAGE, 1, NULL));
	EXPECT_EQ(1, vl_mincore(self->map, MAP_PAGES, NULL));
	EXPECT_EQ(77, self->map[VL_PAGE]);
	/* And a pool ALLOC on a ZC page: the page is mapped, EBUSY. */
	zc_check(_metadata, self->fd, self->map + 8 * VL_PAGE, 1, 3);
	EXPECT_EQ(-EBUSY, vl_alloc(self->fd, self->map + 8 * VL_PAGE, 1));
	EXPECT_EQ(-1, vl_check_pattern(self->map + 8 * VL_PAGE, VL_PAGE, 3, 0));
}

TEST_F(zc, impostor_anonymous)
{
	uint64_t v = 1;

	EXPECT_EQ(-EINVAL, vl_zc_map(self->fd, self->anon, VL_PAGE, 1, NULL));
	EXPECT_EQ(-EINVAL, vl_zc_map(self->fd, self->anon, 4 * VL_PAGE, 1, NULL));
	EXPECT_EQ(0, vl_mincore(self->anon, 4, NULL));
	/* Still plain anonymous memory: zeroes. */
	EXPECT_EQ(0, vl_probe_read(self->anon + VL_PAGE, &v));
	EXPECT_EQ(0, v);
}

TEST_F(zc, impostor_other_files_mapping)
{
	uint64_t v;

	/* fd's ioctl on fd2's mapping, and fd2's on fd's. */
	EXPECT_EQ(-EINVAL, vl_zc_map(self->fd, self->map2, VL_PAGE, 1, NULL));
	EXPECT_EQ(-EINVAL, vl_zc_map(self->fd, self->map2, 4 * VL_PAGE, 1, NULL));
	EXPECT_EQ(-EINVAL, vl_zc_map(self->fd2, self->map, VL_PAGE, 1, NULL));
	EXPECT_EQ(0, vl_mincore(self->map2, 4, NULL));
	EXPECT_EQ(0, vl_mincore(self->map, MAP_PAGES, NULL));
	EXPECT_EQ(SIGBUS, vl_probe_read(self->map2, &v));
	EXPECT_EQ(SIGBUS, vl_probe_read(self->map, &v));
	/* Its own mapping works for each. */
	zc_check(_metadata, self->fd2, self->map2, 4, 8);
	zc_check(_metadata, self->fd, self->map, 4, 9);
}

TEST_F(zc, impostor_range_straddles)
{
	int fd3 = vl_open();
	char *r, *m;

	ASSERT_LE(0, fd3);
	/* A vmalock VMA of 8 pages with an anonymous page right after it. */
	r = vl_anon(9);
	ASSERT_NE(MAP_FAILED, r);
	m = mmap(r, 8 * VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd3, 0);
	ASSERT_EQ(r, m);
	EXPECT_EQ(-EINVAL, vl_zc_map(fd3, m + 7 * VL_PAGE, 2 * VL_PAGE, 1, NULL));
	EXPECT_EQ(-EINVAL, vl_zc_map(fd3, m, 9 * VL_PAGE, 1, NULL));
	EXPECT_EQ(-EINVAL, vl_alloc(fd3, m + 6 * VL_PAGE, 3));
	EXPECT_EQ(0, vl_mincore(m, 9, NULL));
	/* Inside: fine. */
	zc_check(_metadata, fd3, m + 7 * VL_PAGE, 1, 12);
	EXPECT_EQ(0, vl_mincore(m + 8 * VL_PAGE, 1, NULL));
	munmap(r, 9 * VL_PAGE);
	close(fd3);
}

TEST_F(zc, checksum_matches_user_read)
{
	uint64_t csum = 0;

	zc_check(_metadata, self->fd, self->map, 16, 0xabcdef);
	ASSERT_EQ(0, vl_user_read(self->fd, self->map, 16 * VL_PAGE, VMALOCK_USER_READ_SAFE,
				  &csum, NULL));
	EXPECT_EQ(vl_fnv1a_pattern(0xabcdef, 0, 16 * VL_PAGE), csum);
}

/*
 * What a fork child sees of the parent's vmalock mapping. The VMA is
 * VM_DONTCOPY (made permanent by VM_IO): the child does not inherit it
 * (include/uapi/linux/vmalock.h, Documentation/vmalock.rst "fork()").
 * It inherits the file descriptor, but its ioctls act on its own mm,
 * where the file has no VMA (EINVAL for ZC_MAP / ALLOC / RELEASE, ENOENT
 * for LOOKUP and USER_READ: no VMA covers the address), and it cannot map
 * the file again (EBUSY: one mapping per open file).
 *
 * Returns 0 if the child sees exactly that, else the number of the first
 * check that failed (the child's exit status).
 */
enum fork_check {
	FC_OK, FC_READ_NOT_SEGV, FC_MINCORE_MAPPED, FC_LOOKUP, FC_USER_READ, FC_ZC_MAP,
	FC_ALLOC, FC_RELEASE, FC_MMAP_AGAIN, FC_STATS,
};

static const char * const fork_check_name[] = {
	[FC_READ_NOT_SEGV]	= "reading the mapping did not raise SIGSEGV",
	[FC_MINCORE_MAPPED]	= "mincore() did not fail with ENOMEM (no VMA)",
	[FC_LOOKUP]		= "LOOKUP of the mapping's address: not ENOENT",
	[FC_USER_READ]		= "USER_READ of the mapping's address: not ENOENT",
	[FC_ZC_MAP]		= "ZC_MAP did not fail with EINVAL",
	[FC_ALLOC]		= "ALLOC did not fail with EINVAL",
	[FC_RELEASE]		= "RELEASE did not fail with EINVAL",
	[FC_MMAP_AGAIN]		= "mmap() of the inherited fd did not fail with EBUSY",
	[FC_STATS]		= "a refused call changed STATS",
};

static int fork_child_checks(int fd, char *map, size_t npages)
{
	struct vmalock_stats s0, s1;
	unsigned char vec[1];
	uint64_t v;
	void *p;

	if (vl_stats(fd, &s0))
		return FC_STATS;
	if (vl_probe_read(map, &v) != SIGSEGV ||
	    vl_probe_read(map + (npages - 1) * VL_PAGE, &v) != SIGSEGV)
		return FC_READ_NOT_SEGV;
	if (mincore(map, VL_PAGE, vec) != -1 || errno != ENOMEM)
		return FC_MINCORE_MAPPED;
	if (vl_lookup(fd, (uintptr_t)map, VMALOCK_MODE_WAIT, NULL) != -ENOENT ||
	    vl_lookup(fd, (uintptr_t)map, VMALOCK_MODE_RCU, NULL) != -ENOENT)
		return FC_LOOKUP;
	if (vl_user_read(fd, map, 64, VMALOCK_USER_READ_SAFE, NULL, NULL) != -ENOENT)
		return FC_USER_READ;
	/* The parent's ZC pages (0 .. npages - 1) and free pages alike. */
	if (vl_zc_map(fd, map, VL_PAGE, 1, NULL) != -EINVAL ||
	    vl_zc_map(fd, map + npages * VL_PAGE, VL_PAGE, 1, NULL) != -EINVAL)
		return FC_ZC_MAP;
	if (vl_alloc(fd, map + npages * VL_PAGE, 1) != -EINVAL)
		return FC_ALLOC;
	if (vl_release(fd, map, 1) != -EINVAL)
		return FC_RELEASE;
	p = mmap(NULL, VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED || errno != EBUSY)
		return FC_MMAP_AGAIN;
	if (vl_stats(fd, &s1) || s1.zc_mapped != s0.zc_mapped || s1.inserted != s0.inserted ||
	    s1.in_use != s0.in_use)
		return FC_STATS;
	return FC_OK;
}

TEST_F(zc, fork_child_and_parent)
{
	struct vmalock_stats s;
	int status, code;
	pid_t pid;

	zc_check(_metadata, self->fd, self->map, 8, 31);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(fork_child_checks(self->fd, self->map, 8));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the child died: status %#x", status);
	code = WEXITSTATUS(status);
	EXPECT_EQ(FC_OK, code) TH_LOG("in the child: %s",
				      code > 0 && code < (int)ARRAY_SIZE(fork_check_name) ?
				      fork_check_name[code] : "unknown exit status");
	/* The parent's mapping and pages are unaffected by the child. */
	EXPECT_EQ(8, vl_mincore(self->map, MAP_PAGES, NULL));
	EXPECT_EQ(-1, vl_check_pattern(self->map, 8 * VL_PAGE, 31, 0));
	ASSERT_EQ(0, vl_stats(self->fd, &s));
	EXPECT_EQ(8, s.zc_mapped - self->s0.zc_mapped);
	/* And still the parent's own: more ZC pages go in after the fork. */
	zc_check(_metadata, self->fd, self->map + 8 * VL_PAGE, 1, 32);
}

TEST_F(zc, waits_for_vma_writer)
{
	struct vl_holder h = { .fd = self->fd, .cmd = VMALOCK_IOC_HOLD_MMAP_WRITE,
			       .addr = (uintptr_t)self->map, .ms = HOLD_MS,
			       .flags = VMALOCK_HOLD_VMA_WRITE };
	uint64_t t1;

	ASSERT_EQ(0, vl_holder_start_locked(&h, 5000));
	zc_check(_metadata, self->fd, self->map, 4, 17);
	t1 = vl_now_ns();
	ASSERT_EQ(0, vl_holder_join(&h));
	EXPECT_LE(HOLD_MS * 800000ULL, t1 - h.started_ns);
}

TEST_F(zc, unmapped_range_is_gone)
{
	struct vmalock_stats s;

	zc_check(_metadata, self->fd, self->map, 8, 2);
	ASSERT_EQ(0, munmap(self->map, 4 * VL_PAGE));
	/* The rest of the VMA still holds its pages. */
	EXPECT_EQ(-1, vl_check_pattern(self->map + 4 * VL_PAGE, 4 * VL_PAGE, 2, 4 * VL_PAGE / 8));
	ASSERT_EQ(0, vl_stats(self->fd, &s));
	EXPECT_EQ(8, s.zc_mapped - self->s0.zc_mapped);
	self->map = mmap(self->map, 4 * VL_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED, -1, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	EXPECT_EQ(0, vl_mincore(self->map, 4, NULL));
	EXPECT_EQ(0, self->map[0]);
}

TEST_HARNESS_MAIN
