// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_wait: lookups against a writer. Another thread holds the mmap
 * write lock (and, with VMALOCK_HOLD_VMA_WRITE, the target VMA's write
 * lock) through VMALOCK_IOC_HOLD_MMAP_WRITE for HOLD_MS:
 *  - RCU lookup of the write-locked VMA: EAGAIN at once;
 *  - WAIT, UNLOCKED and MMAP lookups of it: block until the release, then
 *    report the VMA as it is then;
 *  - RCU, WAIT and UNLOCKED lookups of another VMA: succeed at once; MMAP
 *    blocks;
 *  - SIGKILL during any of these waits, sent once the waiter is seen
 *    asleep in it (state D in the ioctl), ends the process within 1 s.
 * "Blocks": returned at least 80% of HOLD_MS after the hold began.
 * "At once": returned within 40% of HOLD_MS, the hold still going on.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define HOLD_MS		1500
#define BLOCKED_MS	(HOLD_MS * 8 / 10)
#define AT_ONCE_MS	(HOLD_MS * 4 / 10)
#define START_MS	5000	/* the holder must have the lock by then */
#define KILL_MS		1000

enum expect { AT_ONCE, BLOCKS, EAGAIN_AT_ONCE };

/*
 * x and y: 4 pages each, a one-page hole between them. Shared anonymous
 * memory, so that they cannot merge with a thread stack mapped next to
 * them (the tests check the exact VMA bounds).
 */
static void map_xy(struct __test_metadata *_metadata, char **x, char **y)
{
	char *r = mmap(NULL, 9 * VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	ASSERT_NE(MAP_FAILED, r);
	ASSERT_EQ(0, munmap(r + 4 * VL_PAGE, VL_PAGE));
	memset(r, 1, 4 * VL_PAGE);
	memset(r + 5 * VL_PAGE, 2, 4 * VL_PAGE);
	*x = r;
	*y = r + 5 * VL_PAGE;
}

/*
 * The fixtures of this file share one layout: fd, x and y from map_xy() and
 * a holder, joined at teardown if a test left it running.
 */
#define XY_FIXTURE(name)							\
	FIXTURE(name) {								\
		int fd;								\
		char *x, *y;	/* two anonymous VMAs, 4 pages each */		\
		struct vl_holder h;						\
		bool holding;							\
	};									\
	FIXTURE_SETUP(name)							\
	{									\
		self->fd = vl_open();						\
		ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno)); \
		map_xy(_metadata, &self->x, &self->y);				\
		self->holding = false;						\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		if (self->holding)						\
			vl_holder_join(&self->h);				\
		close(self->fd);						\
	}

XY_FIXTURE(wait)

FIXTURE_VARIANT(wait) {
	uint32_t mode;
	bool other;		/* look up y instead of the write-locked x */
	enum expect expect;
};

FIXTURE_VARIANT_ADD(wait, rcu_same) { VMALOCK_MODE_RCU, false, EAGAIN_AT_ONCE };
FIXTURE_VARIANT_ADD(wait, wait_same) { VMALOCK_MODE_WAIT, false, BLOCKS };
FIXTURE_VARIANT_ADD(wait, mmap_same) { VMALOCK_MODE_MMAP, false, BLOCKS };
FIXTURE_VARIANT_ADD(wait, rcu_other) { VMALOCK_MODE_RCU, true, AT_ONCE };
FIXTURE_VARIANT_ADD(wait, wait_other) { VMALOCK_MODE_WAIT, true, AT_ONCE };
FIXTURE_VARIANT_ADD(wait, mmap_other) { VMALOCK_MODE_MMAP, true, BLOCKS };
FIXTURE_VARIANT_ADD(wait, unlocked_same) { VMALOCK_MODE_UNLOCKED, false, BLOCKS };
FIXTURE_VARIANT_ADD(wait, unlocked_other) { VMALOCK_MODE_UNLOCKED, true, AT_ONCE };

/* The path a successful lookup reports: UNLOCKED mode does not know it. */
static uint32_t expected_path(uint32_t mode, uint32_t path)
{
	return mode == VMALOCK_MODE_UNLOCKED ? VMALOCK_PATH_UNKNOWN : path;
}

/*
 * Start a holder on addr; with VMALOCK_HOLD_VMA_WRITE in flags, wait until
 * it has write-locked the VMA.
 */
#define start_hold(_metadata, self, cmd_, addr_, flags_, ms_) do {			\
	int ret_;									\
											\
	(self)->h = (struct vl_holder){ .fd = (self)->fd, .cmd = (cmd_),		\
		.addr = (uintptr_t)(addr_), .ms = (ms_), .flags = (flags_) };		\
	if ((flags_) & VMALOCK_HOLD_VMA_WRITE)						\
		ret_ = vl_holder_start_locked(&(self)->h, START_MS);			\
	else										\
		ret_ = vl_holder_start(&(self)->h);					\
	ASSERT_EQ(0, ret_) TH_LOG("the hold did not start: %d", ret_);			\
	(self)->holding = true;								\
} while (0)

TEST_F(wait, lookup_against_writer)
{
	char *target = variant->other ? self->y : self->x;
	struct vmalock_lookup l;
	uint64_t t0, t1, ms;
	bool held_after;
	int ret;

	start_hold(_metadata, self, VMALOCK_IOC_HOLD_MMAP_WRITE, self->x,
		   VMALOCK_HOLD_VMA_WRITE, HOLD_MS);
	t0 = vl_now_ns();
	ret = vl_lookup(self->fd, (uintptr_t)target + VL_PAGE + 16, variant->mode, &l);
	t1 = vl_now_ns();
	held_after = !__atomic_load_n(&self->h.done, __ATOMIC_ACQUIRE);
	ms = (t1 - t0) / 1000000;
	TH_LOG("lookup took %llu ms, returned %llu ms after the hold began: %d",
	       (unsigned long long)ms,
	       (unsigned long long)((t1 - self->h.started_ns) / 1000000), ret);
	self->holding = false;
	ASSERT_EQ(0, vl_holder_join(&self->h));

	switch (variant->expect) {
	case EAGAIN_AT_ONCE:
		EXPECT_EQ(-EAGAIN, ret);
		EXPECT_GT(AT_ONCE_MS, ms);
		EXPECT_TRUE(held_after) TH_LOG("the hold ended before the lookup did");
		break;
	case AT_ONCE:
		ASSERT_EQ(0, ret);
		EXPECT_GT(AT_ONCE_MS, ms);
		EXPECT_TRUE(held_after) TH_LOG("the hold ended before the lookup did");
		EXPECT_EQ(expected_path(variant->mode, VMALOCK_PATH_FAST), l.path);
		break;
	case BLOCKS:
		ASSERT_EQ(0, ret);
		EXPECT_LE(BLOCKED_MS * 1000000ULL, t1 - self->h.started_ns);
		EXPECT_EQ(expected_path(variant->mode, VMALOCK_PATH_SLOW), l.path);
		break;
	}
	if (ret == 0) {
		EXPECT_EQ((uintptr_t)target, l.vm_start);
		EXPECT_EQ((uintptr_t)target + 4 * VL_PAGE, l.vm_end);
	}
	/* Everything is unlocked again. */
	EXPECT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->x, VMALOCK_MODE_RCU, NULL));
}

/* A thread that changes x while the holder has it. */
struct changer {
	char *x;
	bool unmap;
	pthread_t t;
	volatile int ret;
	volatile uint64_t done_ns;
};

static void *changer_fn(void *arg)
{
	struct changer *c = arg;

	if (c->unmap)
		c->ret = munmap(c->x, 4 * VL_PAGE) ? -errno : 0;
	else
		c->ret = mprotect(c->x + VL_PAGE, VL_PAGE, PROT_READ) ? -errno : 0;
	c->done_ns = vl_now_ns();
	return NULL;
}

XY_FIXTURE(wait_change)

FIXTURE_VARIANT(wait_change) {
	uint32_t mode;
	bool unmap;
};

FIXTURE_VARIANT_ADD(wait_change, wait_mprotect) { VMALOCK_MODE_WAIT, false };
FIXTURE_VARIANT_ADD(wait_change, wait_munmap) { VMALOCK_MODE_WAIT, true };
FIXTURE_VARIANT_ADD(wait_change, mmap_mprotect) { VMALOCK_MODE_MMAP, false };
FIXTURE_VARIANT_ADD(wait_change, mmap_munmap) { VMALOCK_MODE_MMAP, true };
FIXTURE_VARIANT_ADD(wait_change, unlocked_mprotect) { VMALOCK_MODE_UNLOCKED, false };
FIXTURE_VARIANT_ADD(wait_change, unlocked_munmap) { VMALOCK_MODE_UNLOCKED, true };

/*
 * The writer queued on mmap_lock before the waiter changes x when the
 * holder lets go: the waiter must then report x as it is after the change.
 */
TEST_F(wait_change, returns_vma_as_it_now_is)
{
	struct changer c = { .x = self->x, .unmap = variant->unmap };
	struct vmalock_lookup l;
	uint64_t t1;
	int ret;

	self->h = (struct vl_holder){ .fd = self->fd, .cmd = VMALOCK_IOC_HOLD_MMAP_WRITE,
				      .addr = (uintptr_t)self->x, .ms = HOLD_MS,
				      .flags = VMALOCK_HOLD_VMA_WRITE };
	ASSERT_EQ(0, vl_holder_start_locked(&self->h, START_MS));
	self->holding = true;
	ASSERT_EQ(0, pthread_create(&c.t, NULL, changer_fn, &c));
	usleep(HOLD_MS * 1000 / 5);	/* the changer is queued on mmap_lock */
	ret = vl_lookup(self->fd, (uintptr_t)self->x + 2 * VL_PAGE + 8, variant->mode, &l);
	t1 = vl_now_ns();
	pthread_join(c.t, NULL);
	self->holding = false;
	ASSERT_EQ(0, vl_holder_join(&self->h));
	ASSERT_EQ(0, c.ret);
	EXPECT_LE(BLOCKED_MS * 1000000ULL, t1 - self->h.started_ns);
	if (variant->unmap) {
		EXPECT_EQ(-ENOENT, ret);
	} else {
		ASSERT_EQ(0, ret);
		EXPECT_EQ((uintptr_t)self->x + 2 * VL_PAGE, l.vm_start);
		EXPECT_EQ((uintptr_t)self->x + 4 * VL_PAGE, l.vm_end);
		EXPECT_EQ(VL_VM_READ | VL_VM_WRITE, l.vm_flags & (VL_VM_READ | VL_VM_WRITE));
		ASSERT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->x + VL_PAGE, variant->mode, &l));
		EXPECT_EQ(VL_VM_READ, l.vm_flags & (VL_VM_READ | VL_VM_WRITE));
	}
}

/* The same layout, without variants. */
XY_FIXTURE(hold)

TEST_F(hold, mmap_only_does_not_fail_rcu)
{
	struct vmalock_lookup l;
	uint64_t t0, t1;
	int ret;

	/* mmap_lock only: RCU lookups of x succeed; MMAP lookups wait. */
	start_hold(_metadata, self, VMALOCK_IOC_HOLD_MMAP_WRITE, self->x, 0, HOLD_MS);
	usleep(HOLD_MS * 1000 / 5);
	t0 = vl_now_ns();
	ret = vl_lookup(self->fd, (uintptr_t)self->x, VMALOCK_MODE_RCU, &l);
	t1 = vl_now_ns();
	EXPECT_EQ(0, ret);
	EXPECT_GT(AT_ONCE_MS * 1000000ULL, t1 - t0);
	EXPECT_EQ(VMALOCK_PATH_FAST, l.path);
	EXPECT_FALSE(__atomic_load_n(&self->h.done, __ATOMIC_ACQUIRE));
	ret = vl_lookup(self->fd, (uintptr_t)self->x, VMALOCK_MODE_MMAP, &l);
	t1 = vl_now_ns();
	EXPECT_EQ(0, ret);
	EXPECT_LE(BLOCKED_MS * 1000000ULL, t1 - self->h.started_ns)
		TH_LOG("MMAP lookup did not wait for the mmap write lock");
}

TEST_F(hold, bench_rcu_counts_failures)
{
	struct vmalock_bench b = { .mode = VMALOCK_MODE_RCU, .iterations = 100 };
	uint64_t t0, t1;

	start_hold(_metadata, self, VMALOCK_IOC_HOLD_MMAP_WRITE, self->x,
		   VMALOCK_HOLD_VMA_WRITE, HOLD_MS);
	b.addr = (uintptr_t)self->x;
	t0 = vl_now_ns();
	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	t1 = vl_now_ns();
	EXPECT_FALSE(__atomic_load_n(&self->h.done, __ATOMIC_ACQUIRE));
	EXPECT_GT(AT_ONCE_MS * 1000000ULL, t1 - t0);
	EXPECT_EQ(100, b.failed);
	EXPECT_EQ(0, b.fast);
	EXPECT_EQ(0, b.slow);
	/* Another VMA: all fast, at once. */
	b = (struct vmalock_bench){ .addr = (uintptr_t)self->y, .mode = VMALOCK_MODE_WAIT,
				    .iterations = 100 };
	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	EXPECT_EQ(100, b.fast);
	b.mode = VMALOCK_MODE_UNLOCKED;
	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	EXPECT_EQ(100, b.fast);
	EXPECT_FALSE(__atomic_load_n(&self->h.done, __ATOMIC_ACQUIRE));
	/* The write-locked VMA in UNLOCKED mode: waits for the holder, then all succeed. */
	b = (struct vmalock_bench){ .addr = (uintptr_t)self->x, .mode = VMALOCK_MODE_UNLOCKED,
				    .iterations = 100 };
	ASSERT_EQ(0, vl_ioctl(self->fd, VMALOCK_IOC_BENCH, &b));
	t1 = vl_now_ns();
	EXPECT_LE(BLOCKED_MS * 1000000ULL, t1 - self->h.started_ns);
	EXPECT_EQ(100, b.fast);
	EXPECT_EQ(0, b.slow + b.failed);
}

TEST_F(hold, vma_read)
{
	struct vmalock_lookup l;
	uint64_t t0, t1;

	/* A VMA reader: other readers pass, a VMA writer (mprotect) waits. */
	start_hold(_metadata, self, VMALOCK_IOC_HOLD_VMA_READ, self->x, 0, HOLD_MS);
	usleep(HOLD_MS * 1000 / 5);
	t0 = vl_now_ns();
	EXPECT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->x, VMALOCK_MODE_RCU, &l));
	EXPECT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->x, VMALOCK_MODE_WAIT, &l));
	EXPECT_EQ(0, vl_lookup(self->fd, (uintptr_t)self->y, VMALOCK_MODE_MMAP, &l));
	t1 = vl_now_ns();
	EXPECT_GT(AT_ONCE_MS * 1000000ULL, t1 - t0);
	EXPECT_FALSE(__atomic_load_n(&self->h.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, mprotect(self->x, VL_PAGE, PROT_READ));
	t1 = vl_now_ns();
	EXPECT_LE(BLOCKED_MS * 1000000ULL, t1 - self->h.started_ns)
		TH_LOG("mprotect did not wait for the VMA reader");
}

/*
 * SIGKILL during a wait: a child holds (one thread) and waits (another);
 * the parent kills it once it sees the waiter asleep in the wait. The whole
 * process must be gone within KILL_MS.
 */
FIXTURE(kill) {
	int fd;
};

enum waiter { W_NONE, W_LOOKUP_WAIT, W_LOOKUP_UNLOCKED, W_LOOKUP_MMAP, W_ALLOC, W_ZC_MAP,
	      W_USER_READ };

FIXTURE_VARIANT(kill) {
	enum waiter waiter;	/* what blocks on the held lock (W_NONE: only the holder) */
	unsigned long hold_cmd;
};

FIXTURE_VARIANT_ADD(kill, wait_lookup) { W_LOOKUP_WAIT, VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(kill, unlocked_lookup) { W_LOOKUP_UNLOCKED, VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(kill, mmap_lookup) { W_LOOKUP_MMAP, VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(kill, alloc) { W_ALLOC, VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(kill, zc_map) { W_ZC_MAP, VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(kill, user_read) { W_USER_READ, VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(kill, mmap_write_holder) { W_NONE, VMALOCK_IOC_HOLD_MMAP_WRITE };
FIXTURE_VARIANT_ADD(kill, vma_read_holder) { W_NONE, VMALOCK_IOC_HOLD_VMA_READ };

FIXTURE_SETUP(kill)
{
	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(kill)
{
	close(self->fd);
}

/*
 * The child: x is held (write-locked by HOLD_MMAP_WRITE, or read-locked by
 * HOLD_VMA_READ) by a holder thread; the main thread then blocks on it in
 * the variant's call (W_NONE: only the holder, asleep in its hold, is the
 * waiter). The child tells the parent which thread is the waiter by
 * writing its tid to wfd, right before the waiter's call.
 */
static void kill_child(int fd, int wfd, enum waiter waiter, unsigned long hold_cmd)
{
	struct vl_holder h = { .fd = fd, .cmd = hold_cmd, .ms = VMALOCK_HOLD_MAX_MS };
	pid_t tid;
	char *x;

	/* ALLOC and ZC_MAP wait on the file's own VMA, the others on anonymous memory. */
	if (waiter == W_ALLOC || waiter == W_ZC_MAP) {
		x = vl_map(fd, 4);
	} else {
		x = mmap(NULL, 4 * VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
		if (x != MAP_FAILED)
			memset(x, 1, 4 * VL_PAGE);
	}
	if (x == MAP_FAILED)
		_exit(2);
	h.addr = (uintptr_t)x;
	if (hold_cmd == VMALOCK_IOC_HOLD_MMAP_WRITE)
		h.flags = VMALOCK_HOLD_VMA_WRITE;
	if (hold_cmd == VMALOCK_IOC_HOLD_MMAP_WRITE) {
		if (vl_holder_start_locked(&h, START_MS))
			_exit(4);
	} else {
		if (vl_holder_start(&h))
			_exit(3);
		/* The holder's tid is set before it calls the ioctl. */
		while (!__atomic_load_n(&h.started_ns, __ATOMIC_ACQUIRE))
			usleep(1000);
	}
	tid = waiter == W_NONE ? h.tid : gettid();
	if (write(wfd, &tid, sizeof(tid)) != sizeof(tid))
		_exit(5);
	switch (waiter) {
	case W_NONE:
		pause();
		break;
	case W_LOOKUP_WAIT:
		vl_lookup(fd, (uintptr_t)x, VMALOCK_MODE_WAIT, NULL);
		break;
	case W_LOOKUP_UNLOCKED:
		vl_lookup(fd, (uintptr_t)x, VMALOCK_MODE_UNLOCKED, NULL);
		break;
	case W_LOOKUP_MMAP:
		vl_lookup(fd, (uintptr_t)x, VMALOCK_MODE_MMAP, NULL);
		break;
	case W_ALLOC:
		vl_alloc(fd, x, 1);
		break;
	case W_ZC_MAP:
		vl_zc_map(fd, x, VL_PAGE, 1, NULL);
		break;
	case W_USER_READ:
		vl_user_read(fd, x, 64, VMALOCK_USER_READ_SAFE, NULL, NULL);
		break;
	}
	/* The call returned before the kill: that is a failure too. */
	_exit(6);
}

TEST_F(kill, sigkill_ends_wait)
{
	int pfd[2], status = 0, state = 0, ret;
	struct pollfd p;
	pid_t pid, tid = 0, w = 0;
	long nr = -1;
	uint64_t t0;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[0]);
		kill_child(self->fd, pfd[1], variant->waiter, variant->hold_cmd);
	}
	close(pfd[1]);
	p = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
	if (poll(&p, 1, START_MS + 1000) != 1 || read(pfd[0], &tid, sizeof(tid)) != sizeof(tid) ||
	    tid <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ASSERT_TRUE(0) TH_LOG("child not ready, status %#x", status);
	}
	close(pfd[0]);
	/*
	 * The waiter must be asleep in the wait before the kill: in the ioctl,
	 * in state D. The waits are killable (mmap_read_lock_killable() in
	 * vma_start_read_unlocked(), the hold's sleep_killable()), and
	 * TASK_KILLABLE is TASK_WAKEKILL | TASK_UNINTERRUPTIBLE, which
	 * /proc/<pid>/task/<tid>/stat shows as 'D' (a task in an interruptible
	 * sleep, 'S', would be asleep somewhere else).
	 */
	t0 = vl_now_ns();
	ret = vl_wait_task_blocked(pid, tid, "D", __NR_ioctl, START_MS, &state, &nr);
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ASSERT_EQ(0, ret)
			TH_LOG("the waiter (tid %d) never slept in the ioctl: state '%c' (%d), "
			       "syscall %ld, child status %#x",
			       (int)tid, state > 0 ? state : '?', state, nr, status);
	}
	TH_LOG("the waiter (tid %d) is in state '%c' in syscall %ld after %llu ms", (int)tid, state,
	       nr, (unsigned long long)vl_ms_since(t0));
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG)) TH_LOG("the child ended early: %#x", status);
	t0 = vl_now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	while (vl_ms_since(t0) < KILL_MS) {
		w = waitpid(pid, &status, WNOHANG);
		if (w)
			break;
		usleep(2000);
	}
	if (!w) {
		uint64_t late;

		/* Reap it anyway (the hold ends after VMALOCK_HOLD_MAX_MS). */
		w = waitpid(pid, &status, 0);
		late = vl_ms_since(t0);
		ASSERT_TRUE(0) TH_LOG("not dead %d ms after SIGKILL (died after %llu ms)",
				      KILL_MS, (unsigned long long)late);
	}
	EXPECT_EQ(pid, w);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("status %#x", status);
	TH_LOG("dead %llu ms after SIGKILL", (unsigned long long)vl_ms_since(t0));
}

TEST_HARNESS_MAIN
