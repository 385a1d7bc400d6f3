// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_mapping: the life of a /dev/vmalock mapping, as the header
 * defines it. A second mmap() while any part of the first is mapped is
 * EBUSY; once every part is gone (munmap() in pieces, mremap() shrinking,
 * exec) its pages leave STATS and the file can be mapped again. MAP_PRIVATE
 * and a non-zero offset are EINVAL; mremap() moving is EINVAL (nothing
 * moves), growing EFAULT; mprotect() splits keep every part the file's
 * mapping; ALLOC racing munmap() of the mapping ends with nothing held.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define MAP_PAGES	8
#define LEN		(MAP_PAGES * VL_PAGE)
#define EXEC_CHILD	"--exec-child"

FIXTURE(mapping) {
	int fd;
	char *map;
	struct vmalock_stats s0;
};

FIXTURE_SETUP(mapping)
{
	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	ASSERT_EQ(0, vl_stats(self->fd, &self->s0));
	self->map = vl_map(self->fd, MAP_PAGES);
	ASSERT_NE(MAP_FAILED, self->map) TH_LOG("mmap: %s", strerror(errno));
}

FIXTURE_TEARDOWN(mapping)
{
	munmap(self->map, LEN);
	close(self->fd);
}

#define PG(n)	(self->map + (n) * VL_PAGE)

/* mmap() of the file: 0 and the address in *p, or -errno. */
static int map_again(int fd, size_t npages, void **p)
{
	*p = vl_map(fd, npages);
	if (*p != MAP_FAILED)
		return 0;
	*p = NULL;
	return -errno;
}

/* The pages the mapping holds are back to what they were at s0. */
#define EXPECT_PAGES_FREED() do {						\
	struct vmalock_stats __s;						\
	ASSERT_EQ(0, vl_stats(self->fd, &__s));					\
	EXPECT_EQ(self->s0.in_use, __s.in_use);					\
	EXPECT_EQ(self->s0.lru, __s.lru);					\
} while (0)

/* A new mapping works: mmap(), ALLOC of a zeroed page, unmap. */
static void new_mapping_works(struct __test_metadata *_metadata, int fd)
{
	void *p;

	ASSERT_EQ(0, map_again(fd, MAP_PAGES, &p));
	ASSERT_EQ(0, vl_alloc(fd, p, MAP_PAGES));
	EXPECT_EQ(0, vl_page_holds((char *)p + VL_PAGE, 0, 0)) TH_LOG("not zeroed");
	EXPECT_EQ(MAP_PAGES, vl_mincore(p, MAP_PAGES, NULL));
	ASSERT_EQ(0, munmap(p, LEN));
}

TEST_F(mapping, second_mmap_while_mapped_ebusy)
{
	void *p;

	EXPECT_EQ(-EBUSY, map_again(self->fd, 1, &p));
	if (p)
		munmap(p, VL_PAGE);
}

TEST_F(mapping, remap_after_munmap)
{
	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 4));
	vl_fill_pattern(PG(0), 4 * VL_PAGE, 7);
	ASSERT_EQ(0, vl_release(self->fd, PG(2), 2));
	ASSERT_EQ(0, munmap(self->map, LEN));
	/* Two in use and two released pages freed, uncounted. */
	EXPECT_PAGES_FREED();
	new_mapping_works(_metadata, self->fd);
	EXPECT_PAGES_FREED();
}

/* Every part must go: unmapping the pieces one by one. */
TEST_F(mapping, remap_after_munmap_in_pieces)
{
	void *p;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), MAP_PAGES));
	ASSERT_EQ(0, vl_release(self->fd, PG(0), 3));
	/* A hole in the middle: two VMAs, [0, 2) and [5, 8). */
	ASSERT_EQ(0, munmap(PG(2), 3 * VL_PAGE));
	EXPECT_EQ(-EBUSY, map_again(self->fd, 1, &p));
	ASSERT_EQ(0, munmap(PG(0), 2 * VL_PAGE));
	EXPECT_EQ(-EBUSY, map_again(self->fd, 1, &p)) TH_LOG("[5, 8) is still mapped");
	ASSERT_EQ(0, munmap(PG(5), 3 * VL_PAGE));
	EXPECT_PAGES_FREED();
	new_mapping_works(_metadata, self->fd);
}

TEST_F(mapping, mmap_private_einval)
{
	void *p;
	int fd = vl_open();

	ASSERT_LE(0, fd);
	p = mmap(NULL, VL_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, VL_PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Nothing left behind: a good mapping works. */
	new_mapping_works(_metadata, fd);
	close(fd);
}

TEST_F(mapping, mmap_offset_einval)
{
	static const off_t offs[] = { VL_PAGE, 2 * VL_PAGE, LEN };
	unsigned int i;
	void *p;
	int fd = vl_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		p = mmap(NULL, VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offs[i]);
		EXPECT_EQ(MAP_FAILED, p) TH_LOG("offset %#lx", (long)offs[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("offset %#lx", (long)offs[i]);
		if (p != MAP_FAILED)
			munmap(p, VL_PAGE);
	}
	new_mapping_works(_metadata, fd);
	close(fd);
}

/* LOOKUP of addr reports a VMA [start, end), or -errno. */
static int vma_at(int fd, void *addr, uint64_t *start, uint64_t *end)
{
	struct vmalock_lookup l;
	int ret = vl_lookup(fd, (uintptr_t)addr, VMALOCK_MODE_MMAP, &l);

	if (!ret) {
		*start = l.vm_start;
		*end = l.vm_end;
	}
	return ret;
}

TEST_F(mapping, mremap_move_einval)
{
	uint64_t start, end;
	char *target;
	void *r;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 2));
	vl_fill_pattern(PG(0), 2 * VL_PAGE, 11);
	target = vl_anon(MAP_PAGES);
	ASSERT_NE(MAP_FAILED, target);
	r = mremap(self->map, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EINVAL, errno);
	/* Nothing moved: the mapping and its contents are where they were. */
	ASSERT_EQ(0, vma_at(self->fd, PG(0), &start, &end));
	EXPECT_EQ((uintptr_t)PG(0), start);
	EXPECT_EQ((uintptr_t)PG(MAP_PAGES), end);
	EXPECT_EQ(-1, vl_check_pattern(PG(0), 2 * VL_PAGE, 11, 0));
	/* Moving a part: refused the same way. */
	r = mremap(PG(6), 2 * VL_PAGE, 2 * VL_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EINVAL, errno);
	/* The pool still works on its own mapping. */
	EXPECT_EQ(0, vl_alloc(self->fd, PG(6), 2));
	EXPECT_EQ(-EBUSY, vl_alloc(self->fd, PG(0), 1));
	munmap(target, LEN);
}

TEST_F(mapping, mremap_grow_efault)
{
	void *r;

	/* In place, and allowed to move: VM_DONTEXPAND refuses both. */
	r = mremap(self->map, LEN, 2 * LEN, 0);
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EFAULT, errno);
	r = mremap(self->map, LEN, 2 * LEN, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, vl_alloc(self->fd, PG(MAP_PAGES - 1), 1));
}

TEST_F(mapping, mremap_shrink_unmaps_tail)
{
	uint64_t start, end;
	void *r;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), MAP_PAGES));
	r = mremap(self->map, LEN, 4 * VL_PAGE, 0);
	ASSERT_EQ((void *)self->map, r) TH_LOG("mremap: %s", strerror(errno));
	ASSERT_EQ(0, vma_at(self->fd, PG(0), &start, &end));
	EXPECT_EQ((uintptr_t)PG(4), end);
	EXPECT_EQ(-ENOENT, vma_at(self->fd, PG(4), &start, &end));
	EXPECT_EQ(4, vl_mincore(PG(0), 4, NULL));
	/* The head is still the mapping: one part left. */
	ASSERT_EQ(0, vl_release(self->fd, PG(0), 4));
	EXPECT_EQ(-EBUSY, map_again(self->fd, 1, &r));
	ASSERT_EQ(0, munmap(PG(0), 4 * VL_PAGE));
	EXPECT_PAGES_FREED();
	new_mapping_works(_metadata, self->fd);
}

TEST_F(mapping, mprotect_split_keeps_mapping)
{
	uint64_t start, end, freed, skipped;

	ASSERT_EQ(0, vl_alloc(self->fd, PG(0), 2));
	ASSERT_EQ(0, mprotect(PG(2), 2 * VL_PAGE, PROT_READ));
	ASSERT_EQ(0, vma_at(self->fd, PG(2), &start, &end));
	EXPECT_EQ((uintptr_t)PG(2), start);
	EXPECT_EQ((uintptr_t)PG(4), end);
	/* Every part of the split is still the file's mapping. */
	EXPECT_EQ(0, vl_alloc(self->fd, PG(2), 2));
	EXPECT_EQ(0, vl_alloc(self->fd, PG(4), 4));
	EXPECT_EQ(0, vl_page_holds(PG(2), 0, 0));
	EXPECT_EQ(SIGSEGV, vl_probe_write(PG(2), 1)) TH_LOG("the read-only part is writable");
	EXPECT_EQ(0, vl_probe_write(PG(4), 1));
	/* Released pages of the read-only part are reclaimed through it. */
	ASSERT_EQ(0, vl_release(self->fd, PG(2), 2));
	ASSERT_EQ(0, vl_reclaim(self->fd, VMALOCK_RECLAIM_VMA_TRYLOCK, VL_MAX_PAGES,
				&freed, &skipped));
	EXPECT_LE(2, freed);
	EXPECT_EQ(0, vl_mincore(PG(2), 2, NULL));
	/* mprotect() back: the parts merge or not, the mapping stays one. */
	ASSERT_EQ(0, mprotect(PG(2), 2 * VL_PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, vl_alloc(self->fd, PG(2), 2));
	ASSERT_EQ(0, munmap(self->map, LEN));
	EXPECT_PAGES_FREED();
	new_mapping_works(_metadata, self->fd);
}

struct allocator {
	int fd;
	char *map;
	volatile int stop;
	unsigned long ok, gone, other;
	int first_other;
};

static void *alloc_loop(void *arg)
{
	struct allocator *a = arg;
	unsigned int i = 0;

	while (!a->stop) {
		char *p = a->map + (i++ % (MAP_PAGES / 2)) * 2 * VL_PAGE;
		int ret = vl_alloc(a->fd, p, 2);

		if (!ret)
			ret = vl_release(a->fd, p, 2);
		if (!ret) {
			a->ok++;
		} else if (ret == -EINVAL) {
			/* No VMA any more (or not ours): what ALLOC says after munmap(). */
			a->gone++;
		} else {
			if (!a->other)
				a->first_other = ret;
			a->other++;
		}
	}
	return NULL;
}

/*
 * ALLOC and RELEASE in a loop while the main thread unmaps the mapping:
 * every call succeeds or says EINVAL (no mapping), and afterwards nothing
 * is held and the file maps again.
 */
TEST_F(mapping, alloc_racing_munmap)
{
	struct allocator a = { .fd = self->fd, .map = self->map };
	uint64_t t0;
	pthread_t t;
	int round;

	for (round = 0; round < 8; round++) {
		unsigned long ok0 = a.ok;

		a.stop = 0;
		a.gone = 0;
		ASSERT_EQ(0, pthread_create(&t, NULL, alloc_loop, &a));
		t0 = vl_now_ns();
		while (a.ok == ok0 && vl_ms_since(t0) < 5000)
			usleep(100);
		usleep(2000);
		ASSERT_EQ(0, munmap(a.map, LEN));
		/* Let the loop see the mapping gone. */
		t0 = vl_now_ns();
		while (!a.gone && vl_ms_since(t0) < 5000)
			usleep(100);
		a.stop = 1;
		ASSERT_EQ(0, pthread_join(t, NULL));
		EXPECT_LT(0, a.gone);
		EXPECT_PAGES_FREED();
		a.map = vl_map(self->fd, MAP_PAGES);
		ASSERT_NE(MAP_FAILED, a.map) TH_LOG("round %d: mmap: %s", round, strerror(errno));
	}
	self->map = a.map;
	EXPECT_LT(0, a.ok);
	EXPECT_EQ(0, a.other) TH_LOG("first unexpected result: %d", a.first_other);
}

/*
 * The exec'd image: the fd survived exec, the old mm (and so the
 * mapping) did not. Exit status: 0 all good, else the step that failed.
 */
static int exec_child(int fd, const struct vmalock_stats *s0)
{
	struct vmalock_stats s;
	void *p;

	/* The old mm may be torn down asynchronously (an mmput_async() reference). */
	if (vl_stats_settle(fd, s0, &s, 5000))
		return 11;
	if (map_again(fd, MAP_PAGES, &p))
		return 12;
	if (vl_alloc(fd, p, MAP_PAGES))
		return 13;
	if (vl_page_holds(p, 0, 0) != 0)
		return 14;
	if (munmap(p, LEN))
		return 15;
	return 0;
}

TEST(exec_with_fd_maps_again)
{
	struct vmalock_stats s0;
	int fd, status;
	pid_t pid;

	/* Not O_CLOEXEC (vl_open() sets it): the fd must survive the exec. */
	fd = open(VL_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vl_stats(fd, &s0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char fdarg[16], in_use[24], lru[24];
		char *p = vl_map(fd, MAP_PAGES);

		/* Held at exec: 4 pages in use, 2 of them released. */
		if (p == MAP_FAILED || vl_alloc(fd, p, 4) || vl_release(fd, p, 2))
			_exit(2);
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		snprintf(in_use, sizeof(in_use), "%llu", (unsigned long long)s0.in_use);
		snprintf(lru, sizeof(lru), "%llu", (unsigned long long)s0.lru);
		execl("/proc/self/exe", "vmalock_mapping", EXEC_CHILD, fdarg, in_use, lru,
		      (char *)NULL);
		_exit(3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the exec'd child failed at step %d",
						  WEXITSTATUS(status));
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], EXEC_CHILD)) {
		struct vmalock_stats s0 = {
			.in_use = strtoull(argv[3], NULL, 0),
			.lru = strtoull(argv[4], NULL, 0),
		};

		return exec_child(atoi(argv[2]), &s0);
	}
	return test_harness_run(argc, argv);
}
