// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_user_read: VMALOCK_IOC_USER_READ in SAFE mode reads user memory
 * under the VMA read lock with page faults disabled, dropping the lock to
 * fault pages in. Checked: the FNV-1a checksum over populated, never
 * faulted (fresh anonymous), MADV_DONTNEED'd and file-backed memory; the
 * faultins counter; no lockdep report (debug_locks stays 1); a range
 * across a VMA boundary (EINVAL); UNSAFE without allow_unsafe (EPERM);
 * inaccessible memory fails with EFAULT instead of looping.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define SAFE	VMALOCK_USER_READ_SAFE

FIXTURE(uread) {
	int fd;
	int debug_locks;
};

FIXTURE_SETUP(uread)
{
	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	self->debug_locks = vl_debug_locks();
}

FIXTURE_TEARDOWN(uread)
{
	/* No lockdep report (it would turn debug_locks off). */
	if (self->debug_locks == 1)
		EXPECT_EQ(1, vl_debug_locks()) TH_LOG("lockdep reported a problem: see dmesg");
	close(self->fd);
}

static void fill_random(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = vl_rand(&seed);
}

TEST_F(uread, populated)
{
	static const struct { size_t off, len; } r[] = {
		{ 0, 1 }, { 1, 7 }, { 0, 4096 }, { 4000, 200 }, { 123, 3 * 4096 },
		{ 0, 4 * 4096 }, { 4 * 4096 - 1, 1 },
	};
	char *p = vl_anon(4);
	uint64_t csum;
	uint32_t faultins;
	unsigned int i;

	ASSERT_NE(MAP_FAILED, p);
	fill_random(p, 4 * VL_PAGE, 1);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		csum = 0;
		faultins = ~0U;
		ASSERT_EQ(0, vl_user_read(self->fd, p + r[i].off, r[i].len, SAFE, &csum,
					  &faultins)) TH_LOG("off %zu len %zu", r[i].off, r[i].len);
		EXPECT_EQ(vl_fnv1a(p + r[i].off, r[i].len), csum)
			TH_LOG("off %zu len %zu", r[i].off, r[i].len);
		EXPECT_EQ(0, faultins) TH_LOG("off %zu len %zu", r[i].off, r[i].len);
	}
}

TEST_F(uread, input_outputs_ignored)
{
	struct vmalock_user_read r;
	char *p = vl_anon(1);

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 7, VL_PAGE);
	memset(&r, 0xee, sizeof(r));
	r.addr = (uintptr_t)p;
	r.len = 100;
	r.mode = SAFE;
	r.__reserved = 0;
	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_USER_READ, &r));
	EXPECT_EQ(vl_fnv1a(p, 100), r.checksum);
	EXPECT_EQ(0, r.faultins);
}

TEST_F(uread, fresh_anonymous_not_faulted_in)
{
	static const unsigned int npages[] = { 1, 3, 16 };
	char zero[16 * 4096] = { 0 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		char *p = vl_anon(npages[i]);
		uint64_t csum = 0;
		uint32_t faultins = 0;

		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, vl_mincore(p, npages[i], NULL));
		ASSERT_EQ(0, vl_user_read(self->fd, p, npages[i] * VL_PAGE, SAFE, &csum,
					  &faultins)) TH_LOG("%u pages", npages[i]);
		EXPECT_EQ(vl_fnv1a(zero, npages[i] * VL_PAGE), csum) TH_LOG("%u pages", npages[i]);
		EXPECT_LE(1, faultins) TH_LOG("%u pages", npages[i]);
		EXPECT_GE(npages[i] * 4, faultins) TH_LOG("%u pages", npages[i]);
		munmap(p, npages[i] * VL_PAGE);
	}
}

TEST_F(uread, unaligned_start_in_unfaulted_page)
{
	char *p = vl_anon(3);
	uint64_t csum = 0;
	uint32_t faultins = 0;

	ASSERT_NE(MAP_FAILED, p);
	/* page 0 present, pages 1 and 2 not */
	memset(p, 0x11, VL_PAGE);
	ASSERT_EQ(0, vl_user_read(self->fd, p + 4000, 2 * VL_PAGE, SAFE, &csum, &faultins));
	EXPECT_LE(1, faultins);
	EXPECT_EQ(vl_fnv1a(p + 4000, 2 * VL_PAGE), csum);
}

TEST_F(uread, after_madv_dontneed)
{
	char zero[8 * 4096] = { 0 };
	char *p = vl_anon(8);
	uint64_t csum = 0;
	uint32_t faultins = 0;

	ASSERT_NE(MAP_FAILED, p);
	fill_random(p, 8 * VL_PAGE, 2);
	ASSERT_EQ(0, madvise(p + 2 * VL_PAGE, 4 * VL_PAGE, MADV_DONTNEED));
	ASSERT_EQ(4, vl_mincore(p, 8, NULL));
	ASSERT_EQ(0, vl_user_read(self->fd, p + 2 * VL_PAGE, 4 * VL_PAGE, SAFE, &csum,
				  &faultins));
	EXPECT_EQ(vl_fnv1a(zero, 4 * VL_PAGE), csum);
	EXPECT_LE(1, faultins);
	ASSERT_EQ(0, madvise(p + 4 * VL_PAGE, VL_PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, vl_user_read(self->fd, p, 8 * VL_PAGE, SAFE, &csum, &faultins));
	EXPECT_EQ(vl_fnv1a(p, 8 * VL_PAGE), csum);
	EXPECT_LE(1, faultins);
}

TEST_F(uread, file_backed_not_faulted_in)
{
	char buf[4 * 4096];
	uint64_t csum = 0;
	uint32_t faultins = 0;
	char *p;
	int mfd;

	mfd = memfd_create("vmalock_uread", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	fill_random(buf, sizeof(buf), 3);
	ASSERT_EQ(sizeof(buf), write(mfd, buf, sizeof(buf)));
	p = mmap(NULL, sizeof(buf), PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vl_user_read(self->fd, p, sizeof(buf), SAFE, &csum, &faultins));
	EXPECT_EQ(vl_fnv1a(buf, sizeof(buf)), csum);
	EXPECT_LE(1, faultins);
	munmap(p, sizeof(buf));
	close(mfd);
}

TEST_F(uread, max_length)
{
	size_t n = VMALOCK_USER_READ_MAX / VL_PAGE;
	char *p = vl_anon(n + 1);
	uint64_t csum = 0;
	uint32_t faultins = 0;

	ASSERT_NE(MAP_FAILED, p);
	fill_random(p, VMALOCK_USER_READ_MAX / 2, 4);	/* half populated */
	ASSERT_EQ(0, vl_user_read(self->fd, p, VMALOCK_USER_READ_MAX, SAFE, &csum, &faultins));
	EXPECT_EQ(vl_fnv1a(p, VMALOCK_USER_READ_MAX), csum);
	EXPECT_LE(1, faultins);
	EXPECT_EQ(-EINVAL, vl_user_read(self->fd, p, VMALOCK_USER_READ_MAX + 1, SAFE, NULL, NULL));
	EXPECT_EQ(-EINVAL, vl_user_read(self->fd, p, 0, SAFE, NULL, NULL));
}

TEST_F(uread, across_vma_boundary_einval)
{
	char *p = vl_anon(4);

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, 4 * VL_PAGE);
	/* Split into three VMAs: rw | r | rw */
	ASSERT_EQ(0, mprotect(p + VL_PAGE, VL_PAGE, PROT_READ));
	EXPECT_EQ(-EINVAL, vl_user_read(self->fd, p + VL_PAGE - 8, 16, SAFE, NULL, NULL));
	EXPECT_EQ(-EINVAL, vl_user_read(self->fd, p + 2 * VL_PAGE - 1, 2, SAFE, NULL, NULL));
	EXPECT_EQ(-EINVAL, vl_user_read(self->fd, p, 4 * VL_PAGE, SAFE, NULL, NULL));
	/* Up to the boundary is fine. */
	EXPECT_EQ(0, vl_user_read(self->fd, p, VL_PAGE, SAFE, NULL, NULL));
	EXPECT_EQ(0, vl_user_read(self->fd, p + VL_PAGE, VL_PAGE, SAFE, NULL, NULL));
	/* Into a hole. */
	ASSERT_EQ(0, munmap(p + 3 * VL_PAGE, VL_PAGE));
	EXPECT_EQ(-EINVAL, vl_user_read(self->fd, p + 3 * VL_PAGE - 8, 16, SAFE, NULL, NULL));
}

TEST_F(uread, unsafe_without_allow_unsafe_eperm)
{
	char *p = vl_anon(1);

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	if (vl_allow_unsafe())
		SKIP(return, "the module has allow_unsafe=1");
	EXPECT_EQ(-EPERM, vl_user_read(self->fd, p, 8, VMALOCK_USER_READ_UNSAFE, NULL, NULL));
	EXPECT_EQ(-EPERM, vl_user_read(self->fd, p, VL_PAGE, VMALOCK_USER_READ_UNSAFE, NULL,
				       NULL));
}

/*
 * Memory that cannot be faulted in: EFAULT (header: "EFAULT for memory that
 * cannot be faulted in"), at once rather than after the retries (EAGAIN),
 * and nothing gets populated.
 */
TEST_F(uread, inaccessible_fails_no_loop)
{
	char *p = vl_anon(2);
	int fd2 = vl_open();
	uint64_t t0;
	char *m;
	int ret;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p, 2 * VL_PAGE, PROT_NONE));
	t0 = vl_now_ns();
	ret = vl_user_read(self->fd, p, 16, SAFE, NULL, NULL);
	EXPECT_EQ(-EFAULT, ret) TH_LOG("PROT_NONE: %d (%s)", ret, strerror(-ret));
	/* Across both pages too. */
	ret = vl_user_read(self->fd, p + VL_PAGE - 8, 16, SAFE, NULL, NULL);
	EXPECT_EQ(-EFAULT, ret) TH_LOG("PROT_NONE, two pages: %d (%s)", ret, strerror(-ret));
	EXPECT_EQ(0, vl_mincore(p, 2, NULL));
	/* A vmalock mapping with no page inserted: the fault is SIGBUS. */
	ASSERT_LE(0, fd2);
	m = vl_map(fd2, 2);
	ASSERT_NE(MAP_FAILED, m);
	ret = vl_user_read(self->fd, m, 16, SAFE, NULL, NULL);
	EXPECT_EQ(-EFAULT, ret) TH_LOG("missing page: %d (%s)", ret, strerror(-ret));
	/* One page present, the next missing: still EFAULT, not a partial read. */
	ASSERT_EQ(0, vl_alloc(fd2, m, 1));
	ret = vl_user_read(self->fd, m + VL_PAGE - 8, 16, SAFE, NULL, NULL);
	EXPECT_EQ(-EFAULT, ret) TH_LOG("present + missing page: %d (%s)", ret, strerror(-ret));
	EXPECT_EQ(1, vl_mincore(m, 2, NULL));
	/* Generous: a read that looped would take far longer under emulation too. */
	EXPECT_GT(10000, vl_ms_since(t0));
	munmap(m, 2 * VL_PAGE);
	close(fd2);
}

/* The VMA read lock waits for a writer (the hook), then the read is right. */
TEST_F(uread, waits_for_vma_writer)
{
	struct vl_holder h = { .fd = self->fd, .cmd = VMALOCK_IOC_HOLD_MMAP_WRITE, .ms = 1500,
			       .flags = VMALOCK_HOLD_VMA_WRITE };
	char *p = mmap(NULL, 2 * VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	uint64_t csum = 0, t1;

	ASSERT_NE(MAP_FAILED, p);
	fill_random(p, VL_PAGE, 5);	/* the second page is not faulted in */
	h.addr = (uintptr_t)p;
	ASSERT_EQ(0, vl_holder_start_locked(&h, 5000));
	ASSERT_EQ(0, vl_user_read(self->fd, p, 2 * VL_PAGE, SAFE, &csum, NULL));
	t1 = vl_now_ns();
	ASSERT_EQ(0, vl_holder_join(&h));
	EXPECT_LE(1200 * 1000000ULL, t1 - h.started_ns);
	EXPECT_EQ(vl_fnv1a(p, 2 * VL_PAGE), csum);
}

/* Reads of zero memory racing MADV_DONTNEED: the checksum never changes. */
struct zapper {
	char *p;
	size_t len;
	volatile bool stop;
};

static void *zap_fn(void *arg)
{
	struct zapper *z = arg;

	while (!z->stop) {
		madvise(z->p, z->len, MADV_DONTNEED);
		sched_yield();
	}
	return NULL;
}

TEST_F(uread, races_with_dontneed)
{
	static char zero[8 * 4096];
	struct zapper z = { .len = 8 * VL_PAGE };
	uint64_t t0 = vl_now_ns(), want = vl_fnv1a(zero, sizeof(zero)), csum;
	unsigned int n = 0, faults = 0, gaveup = 0;
	uint32_t fi;
	pthread_t t;

	z.p = vl_anon(8);
	ASSERT_NE(MAP_FAILED, z.p);
	ASSERT_EQ(0, pthread_create(&t, NULL, zap_fn, &z));
	/*
	 * A zapper that never stops can win every fault-in/retry round: the
	 * read then gives up with EAGAIN (bounded retries, documented) rather
	 * than loop. Every read that succeeds must see the right data, and
	 * some must succeed.
	 */
	while (n < 20000 && vl_ms_since(t0) < 3000) {
		int ret;

		csum = 0;
		fi = 0;
		ret = vl_user_read(self->fd, z.p, z.len, SAFE, &csum, &fi);
		if (ret == -EAGAIN) {
			gaveup++;
			continue;
		}
		EXPECT_EQ(0, ret);
		EXPECT_EQ(want, csum);
		if (ret || csum != want)
			break;
		faults += fi;
		n++;
	}
	z.stop = true;
	pthread_join(t, NULL);
	TH_LOG("%u reads, %u fault-ins, %u gave up (EAGAIN)", n, faults, gaveup);
	EXPECT_LT(0, n);
}

TEST_HARNESS_MAIN
