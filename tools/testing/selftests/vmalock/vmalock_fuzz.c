// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_fuzz: a bounded random-ioctl fuzzer. Fixed seeds; FUZZ_CALLS
 * calls over all commands (and unknown ones) with random argument sizes,
 * addresses, lengths, modes, flags and reserved fields, from two threads
 * with a vmalock mapping each; stops early after FUZZ_MS (emulation) and
 * reports how many calls ran. Checked: only documented errnos, successful
 * lookups cover their address, nothing ever mapped into memory that only
 * impostor calls saw, and afterwards STATS show nothing in use or on the
 * LRU.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define FUZZ_CALLS	200000	/* in all */
#define FUZZ_MS		40000
#define THREADS		2
#define MAP_PAGES	256
#define IMP_PAGES	16
#define RESET_EVERY	10000

static const unsigned long cmds[] = {
	VMALOCK_IOC_LOOKUP, VMALOCK_IOC_BENCH, VMALOCK_IOC_HOLD_MMAP_WRITE,
	VMALOCK_IOC_HOLD_VMA_READ, VMALOCK_IOC_ZC_MAP, VMALOCK_IOC_ALLOC,
	VMALOCK_IOC_RELEASE, VMALOCK_IOC_STATS, VMALOCK_IOC_USER_READ,
	VMALOCK_IOC_RECLAIM,
};
#define NCMDS	(ARRAY_SIZE(cmds))

struct fuzz {
	char *imp_anon;		/* only ever given to ZC_MAP/ALLOC/RELEASE */
	char *imp_map;		/* another file's mapping: never populated */
	char *readable;		/* anonymous memory for USER_READ */
	char *hole;
	bool allow_unsafe;
	uint64_t t0;
	atomic_int stop;
	atomic_ulong calls, ok, by_errno[160];
	atomic_int failures;
	char first[256];
};

struct fuzz_thread {
	struct fuzz *f;
	uint64_t seed;
	int fd;
	char *map;
	unsigned long calls;
};

static void fuzz_fail(struct fuzz *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fuzz_fail(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&f->failures, 1) == 0) {
		va_start(ap, fmt);
		vsnprintf(f->first, sizeof(f->first), fmt, ap);
		va_end(ap);
	}
}

static uint64_t pick_addr(struct fuzz_thread *t)
{
	struct fuzz *f = t->f;
	uint64_t r = vl_rand(&t->seed);
	uint64_t pg = vl_rand(&t->seed) % (MAP_PAGES + 2);
	uint64_t off = (vl_rand(&t->seed) % 8 == 0) ? vl_rand(&t->seed) % VL_PAGE : 0;

	switch (r % 16) {
	case 0 ... 6:
		return (uintptr_t)t->map + pg * VL_PAGE + off;
	case 7:
		return (uintptr_t)f->imp_map + (pg % IMP_PAGES) * VL_PAGE + off;
	case 8:
		return (uintptr_t)f->imp_anon + (pg % IMP_PAGES) * VL_PAGE + off;
	case 9:
		return (uintptr_t)f->readable + (pg % IMP_PAGES) * VL_PAGE + off;
	case 10:
		return (uintptr_t)f->hole + off;
	case 11:
		return off;
	case 12: {
		static const uint64_t bad[] = { VL_KERNEL_ADDR, VL_PAST_TASK, VL_NONCANON, ~0ULL,
						0x7ffffffff000ULL, ~0ULL - 4095,
						0xffffffffff600000ULL };
		return bad[vl_rand(&t->seed) % 7];
	}
	case 13:
		return vl_rand(&t->seed) & ((1ULL << 47) - 1);
	default:
		return vl_rand(&t->seed);
	}
}

static uint64_t pick_len(struct fuzz_thread *t)
{
	switch (vl_rand(&t->seed) % 10) {
	case 0:
		return 0;
	case 1:
		return vl_rand(&t->seed);
	case 2:
		return -VL_PAGE;
	case 3:
		return vl_rand(&t->seed) % (2 * VMALOCK_MAP_MAX_BYTES);
	case 4:
		return 1 + vl_rand(&t->seed) % 100;
	default:
		return (1 + vl_rand(&t->seed) % 16) * VL_PAGE;
	}
}

static uint32_t pick_small(struct fuzz_thread *t, uint32_t valid_max)
{
	switch (vl_rand(&t->seed) % 8) {
	case 0:
		return (uint32_t)vl_rand(&t->seed);
	case 1:
		return valid_max + 1;
	default:
		return vl_rand(&t->seed) % (valid_max + 1);
	}
}

static bool errno_allowed(int e)
{
	switch (e) {
	case ENOENT: case EAGAIN: case EINVAL: case E2BIG: case ENOTTY:
	case EBUSY: case EPERM: case EFAULT: case ENOMEM:
		return true;
	}
	return false;
}

static void one_call(struct fuzz_thread *t)
{
	struct fuzz *f = t->f;
	static __thread char buf[0x4000 + 64];
	unsigned long cmd;
	size_t size;
	uint64_t addr = pick_addr(t);
	unsigned int which = vl_rand(&t->seed) % (NCMDS + 1);
	int ret;

	memset(buf, 0, 256);
	if (which == NCMDS) {
		unsigned int nr = vl_rand(&t->seed) % 256;

		cmd = _IOC(vl_rand(&t->seed) % 4, VMALOCK_IOC_MAGIC, nr, 0);
		if (nr >= 0x01 && nr <= 0x0a)
			cmd = _IOC(_IOC_NONE, 0xB8, nr, 0);	/* wrong magic */
		size = vl_rand(&t->seed) % 256;
	} else {
		cmd = cmds[which];
		size = _IOC_SIZE(cmd);
		switch (vl_rand(&t->seed) % 16) {
		case 0:
			size = vl_rand(&t->seed) % size;		/* short */
			break;
		case 1:
			size += 1 + vl_rand(&t->seed) % 64;		/* zero tail */
			break;
		case 2:
			size += 1 + vl_rand(&t->seed) % 64;		/* non-zero tail */
			buf[size - 1] = 1;
			break;
		}
	}
	switch (_IOC_NR(cmd) | (_IOC_TYPE(cmd) == VMALOCK_IOC_MAGIC ? 0 : 0x100)) {
	case 0x01: {
		struct vmalock_lookup *l = (void *)buf;

		l->addr = addr;
		l->mode = pick_small(t, VMALOCK_MODE_UNLOCKED);
		break;
	}
	case 0x02: {
		struct vmalock_bench *b = (void *)buf;

		b->addr = addr;
		b->mode = pick_small(t, VMALOCK_MODE_UNLOCKED);
		b->iterations = vl_rand(&t->seed) % 4 ? 1 + vl_rand(&t->seed) % 64 :
				(vl_rand(&t->seed) % 2 ? 0 : VMALOCK_BENCH_MAX_ITER + 1 +
				 vl_rand(&t->seed) % 1000);
		break;
	}
	case 0x03:
	case 0x04: {
		struct vmalock_hold *h = (void *)buf;

		h->addr = addr;
		h->ms = vl_rand(&t->seed) % 8 ? vl_rand(&t->seed) % 3 :
			VMALOCK_HOLD_MAX_MS + 1 + vl_rand(&t->seed) % 100000;
		h->flags = pick_small(t, 1);
		break;
	}
	case 0x05: {
		struct vmalock_zc_map *z = (void *)buf;

		z->addr = addr;
		z->len = pick_len(t);
		z->seed = vl_rand(&t->seed);
		z->mapped = vl_rand(&t->seed);
		break;
	}
	case 0x06:
	case 0x07: {
		struct vmalock_pages *p = (void *)buf;

		p->addr = addr;
		p->npages = vl_rand(&t->seed) % 8 ? 1 + vl_rand(&t->seed) % 16 :
			    pick_len(t);
		break;
	}
	case 0x09: {
		struct vmalock_user_read *r = (void *)buf;

		r->addr = addr;
		r->len = vl_rand(&t->seed) % 8 ? 1 + vl_rand(&t->seed) % (4 * VL_PAGE) :
			 (uint32_t)pick_len(t);
		r->mode = pick_small(t, 1);
		if (r->mode == VMALOCK_USER_READ_UNSAFE && f->allow_unsafe)
			r->mode = VMALOCK_USER_READ_SAFE;
		r->__reserved = vl_rand(&t->seed) % 16 ? 0 : (uint32_t)vl_rand(&t->seed);
		break;
	}
	case 0x0a: {
		struct vmalock_reclaim *r = (void *)buf;

		r->mode = pick_small(t, 1);
		r->__reserved = vl_rand(&t->seed) % 16 ? 0 : (uint32_t)vl_rand(&t->seed);
		r->nr_to_scan = vl_rand(&t->seed) % 8 ? 1 + vl_rand(&t->seed) % 64 : pick_len(t);
		break;
	}
	}
	/* USER_READ never sees the impostor memory: it would populate it. */
	if (_IOC_NR(cmd) == 0x09 || _IOC_NR(cmd) == 0x01 || _IOC_NR(cmd) == 0x02 ||
	    _IOC_NR(cmd) == 0x03 || _IOC_NR(cmd) == 0x04) {
		uint64_t *a = (uint64_t *)buf;

		if (*a >= (uintptr_t)f->imp_anon && *a < (uintptr_t)f->imp_anon + IMP_PAGES * VL_PAGE)
			*a = (uintptr_t)f->readable;
	}
	cmd = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
	ret = vl_ioctl(t->fd, cmd, buf);
	atomic_fetch_add(&f->calls, 1);
	if (ret == 0) {
		atomic_fetch_add(&f->ok, 1);
		if (_IOC_NR(cmd) == 0x01 && _IOC_TYPE(cmd) == VMALOCK_IOC_MAGIC) {
			struct vmalock_lookup *l = (void *)buf;

			if (l->vm_start > l->addr || l->vm_end <= l->addr)
				fuzz_fail(f, "LOOKUP %#llx gave [%#llx, %#llx)",
					  (unsigned long long)l->addr,
					  (unsigned long long)l->vm_start,
					  (unsigned long long)l->vm_end);
		}
		return;
	}
	if (-ret < 160)
		atomic_fetch_add(&f->by_errno[-ret], 1);
	if (!errno_allowed(-ret))
		fuzz_fail(f, "cmd %#lx size %zu: unexpected errno %d", cmd, size, -ret);
	if (_IOC_TYPE(cmd) != VMALOCK_IOC_MAGIC || _IOC_NR(cmd) < 1 || _IOC_NR(cmd) > 0x0a) {
		if (ret != -ENOTTY)
			fuzz_fail(f, "unknown cmd %#lx: %d, not ENOTTY", cmd, ret);
	}
}

static int remap(struct fuzz_thread *t)
{
	if (t->map)
		munmap(t->map, MAP_PAGES * VL_PAGE);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = vl_open();
	if (t->fd < 0)
		return -errno;
	t->map = vl_map(t->fd, MAP_PAGES);
	return t->map == MAP_FAILED ? -errno : 0;
}

static void *fuzz_thread_fn(void *arg)
{
	struct fuzz_thread *t = arg;
	struct fuzz *f = t->f;

	while (t->calls < FUZZ_CALLS / THREADS && !atomic_load(&f->stop)) {
		if (t->calls % RESET_EVERY == RESET_EVERY - 1 && remap(t)) {
			fuzz_fail(f, "reopen/remap failed");
			break;
		}
		one_call(t);
		t->calls++;
		if (t->calls % 256 == 0 && vl_ms_since(f->t0) > FUZZ_MS)
			atomic_store(&f->stop, 1);
	}
	return NULL;
}

FIXTURE(fuzz) {
	struct fuzz *f;
	struct fuzz_thread t[THREADS];
};

FIXTURE_SETUP(fuzz)
{
	struct fuzz *f = calloc(1, sizeof(*f));
	char *r;
	int fd2;

	ASSERT_NE(NULL, f);
	self->f = f;
	fd2 = vl_open();
	ASSERT_LE(0, fd2) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	f->imp_map = vl_map(fd2, IMP_PAGES);
	ASSERT_NE(MAP_FAILED, f->imp_map);
	close(fd2);	/* the mapping keeps the file */
	f->imp_anon = vl_anon(IMP_PAGES);
	ASSERT_NE(MAP_FAILED, f->imp_anon);
	r = vl_anon(IMP_PAGES + 1);
	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0x42, IMP_PAGES * VL_PAGE);
	f->readable = r;
	f->hole = r + IMP_PAGES * VL_PAGE;
	munmap(f->hole, VL_PAGE);
	f->allow_unsafe = vl_allow_unsafe();
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, random_ioctls, 300)
{
	struct fuzz *f = self->f;
	struct vmalock_stats s0, s1;
	pthread_t th[THREADS];
	unsigned int i;
	char errs[512];
	size_t n = 0;
	int fd;

	fd = vl_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vl_stats(fd, &s0));
	f->t0 = vl_now_ns();
	for (i = 0; i < THREADS; i++) {
		self->t[i] = (struct fuzz_thread){ .f = f, .seed = 0x5eed0000 + i, .fd = -1 };
		ASSERT_EQ(0, remap(&self->t[i]));
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fuzz_thread_fn, &self->t[i]));
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	errs[0] = 0;
	for (i = 1; i < 160; i++)
		if (atomic_load(&f->by_errno[i]) && n < sizeof(errs) - 40)
			n += snprintf(errs + n, sizeof(errs) - n, " E%u:%lu", i,
				      atomic_load(&f->by_errno[i]));
	ksft_print_msg("fuzz: %lu calls in %llu ms (%s), %lu succeeded; errnos:%s\n",
		       atomic_load(&f->calls), (unsigned long long)vl_ms_since(f->t0),
		       atomic_load(&f->stop) ? "stopped by the time limit" : "all of them",
		       atomic_load(&f->ok), errs);
	EXPECT_EQ(0, atomic_load(&f->failures)) TH_LOG("first failure: %s", f->first);

	for (i = 0; i < THREADS; i++) {
		munmap(self->t[i].map, MAP_PAGES * VL_PAGE);
		close(self->t[i].fd);
	}
	/* Nothing was ever mapped into the impostors. */
	EXPECT_EQ(0, vl_mincore(f->imp_anon, IMP_PAGES, NULL));
	EXPECT_EQ(0, vl_mincore(f->imp_map, IMP_PAGES, NULL));
	/* Our files are gone: nothing of theirs in use or on the LRU. */
	vl_stats_settle(fd, &s0, &s1, 2000);
	EXPECT_EQ(s0.in_use, s1.in_use);
	EXPECT_EQ(s0.lru, s1.lru);
	EXPECT_LE(s1.reclaimed - s0.reclaimed, s1.released - s0.released);
	EXPECT_LE(s0.inserted, s1.inserted);
	close(fd);
	/* The device still works. */
	fd = vl_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vl_lookup(fd, (uintptr_t)f->readable, VMALOCK_MODE_WAIT, NULL));
	close(fd);
}

TEST_HARNESS_MAIN
