// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_demo: show /dev/vmalock at work (run by `make run` in the guest).
 *
 * Build: gcc -static -O2 -I include/uapi -o vmalock-demo samples/vmalock_demo.c -lpthread
 *
 * Every step prints what it did; a step that does not behave as the ABI in
 * <linux/vmalock.h> says prints "FAIL" and makes the exit status non-zero.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/vmalock.h>

_Static_assert(sizeof(struct vmalock_lookup) == 40, "lookup");
_Static_assert(sizeof(struct vmalock_bench) == 48, "bench");
_Static_assert(sizeof(struct vmalock_hold) == 16, "hold");
_Static_assert(sizeof(struct vmalock_zc_map) == 32, "zc_map");
_Static_assert(sizeof(struct vmalock_pages) == 16, "pages");
_Static_assert(sizeof(struct vmalock_stats) == 56, "stats");
_Static_assert(sizeof(struct vmalock_user_read) == 32, "user_read");
_Static_assert(sizeof(struct vmalock_reclaim) == 32, "reclaim");

#define PG 4096UL
#define MAP_PAGES 64

static int failures;
static long page_size;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		printf("  ok   ");					\
	} else {							\
		printf("  FAIL ");					\
		failures++;						\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

/* ioctl returning 0 or -errno */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static const char *err(int e)
{
	return e ? strerror(-e) : "success";
}

/* Does reading addr raise SIGBUS? */
static sigjmp_buf probe_env;
static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(probe_env, 1);
}

static int faults(const volatile char *addr)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int faulted = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(probe_env, 1))
		faulted = 1;
	else
		(void)*addr;
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = VMALOCK_FNV_OFFSET;

	while (n--) {
		h ^= *p++;
		h *= VMALOCK_FNV_PRIME;
	}
	return h;
}

static struct vmalock_stats stats(int fd, const char *when)
{
	struct vmalock_stats s = { 0 };

	if (xioctl(fd, VMALOCK_IOC_STATS, &s)) {
		CHECK(0, "STATS failed");
		return s;
	}
	printf("  stats %-22s inserted=%llu released=%llu reclaimed=%llu skipped_contended=%llu in_use=%llu lru=%llu zc_mapped=%llu\n",
	       when, s.inserted, s.released, s.reclaimed, s.skipped_contended,
	       s.in_use, s.lru, s.zc_mapped);
	return s;
}

static int lookup(int fd, void *addr, unsigned int mode, struct vmalock_lookup *l)
{
	memset(l, 0, sizeof(*l));
	l->addr = (unsigned long)addr;
	l->mode = mode;
	return xioctl(fd, VMALOCK_IOC_LOOKUP, l);
}

static const char *mode_name[] = { "RCU", "WAIT", "MMAP", "UNLK" };
static const char *path_name[] = { "fast", "slow", "unknown" };
#define NR_MODES	(VMALOCK_MODE_UNLOCKED + 1)

static void demo_lookup(int fd)
{
	static int in_data;
	struct vmalock_lookup l;
	unsigned int mode;
	int stack_var, e;

	printf("== LOOKUP: the VMA of an address, in each mode\n");
	for (mode = 0; mode < NR_MODES; mode++) {
		e = lookup(fd, &in_data, mode, &l);
		CHECK(!e && l.vm_start <= (unsigned long)&in_data &&
		      (unsigned long)&in_data < l.vm_end,
		      "%-4s .data  %#llx-%#llx flags %#llx path %s (%s)", mode_name[mode],
		      l.vm_start, l.vm_end, l.vm_flags, path_name[l.path % 3], err(e));
		e = lookup(fd, &stack_var, mode, &l);
		CHECK(!e && (mode == VMALOCK_MODE_MMAP ? l.path == VMALOCK_PATH_SLOW : 1),
		      "%-4s stack  %#llx-%#llx path %s (%s)", mode_name[mode],
		      l.vm_start, l.vm_end, path_name[l.path % 3], err(e));
	}
	for (mode = 0; mode < NR_MODES; mode++) {
		e = lookup(fd, (void *)PG, mode, &l);
		CHECK(e == -ENOENT, "%-4s unmapped address 0x1000: %s", mode_name[mode], err(e));
	}
	e = lookup(fd, (void *)0xffff888000000000UL, VMALOCK_MODE_WAIT, &l);
	CHECK(e == -EINVAL, "kernel address: %s", err(e));
	e = lookup(fd, &in_data, 7, &l);
	CHECK(e == -EINVAL, "bad mode 7: %s", err(e));
}

static void demo_abi(int fd)
{
	static int target;
	struct { struct vmalock_lookup l; uint64_t extra[2]; } big;
	unsigned long grown = _IOC(_IOC_READ | _IOC_WRITE, VMALOCK_IOC_MAGIC, 0x01, sizeof(big));
	unsigned long shrunk = _IOC(_IOC_READ | _IOC_WRITE, VMALOCK_IOC_MAGIC, 0x01, 32);
	int e;

	printf("== ABI: struct size negotiation and unknown commands\n");
	memset(&big, 0, sizeof(big));
	big.l.addr = (unsigned long)&target;
	big.l.mode = VMALOCK_MODE_RCU;
	e = xioctl(fd, grown, &big);
	CHECK(!e && big.l.vm_end > big.l.vm_start, "longer struct, zero tail: %s", err(e));
	big.extra[1] = 1;
	e = xioctl(fd, grown, &big);
	CHECK(e == -E2BIG, "longer struct, non-zero tail: %s", err(e));
	e = xioctl(fd, shrunk, &big);
	CHECK(e == -EINVAL, "shorter than first published size: %s", err(e));
	e = xioctl(fd, _IO(VMALOCK_IOC_MAGIC, 0x7f), NULL);
	CHECK(e == -ENOTTY, "unknown command: %s", err(e));
	e = xioctl(fd, _IOWR('x', 0x01, struct vmalock_lookup), &big);
	CHECK(e == -ENOTTY, "wrong ioctl type: %s", err(e));
	e = xioctl(fd, VMALOCK_IOC_LOOKUP, (void *)8);
	CHECK(e == -EFAULT, "bad argument pointer: %s", err(e));
}

static void demo_bench(int fd)
{
	static int target;
	unsigned int mode;

	printf("== BENCH: 100000 lookups in a kernel loop\n");
	for (mode = 0; mode < NR_MODES; mode++) {
		struct vmalock_bench b = {
			.addr = (unsigned long)&target, .mode = mode, .iterations = 100000,
		};
		int e = xioctl(fd, VMALOCK_IOC_BENCH, &b);

		CHECK(!e && b.fast + b.slow + b.failed == 100000,
		      "%-4s %6.1f ns/lookup fast=%llu slow=%llu failed=%llu (%s)",
		      mode_name[mode], (double)b.total_ns / 100000, b.fast, b.slow, b.failed,
		      err(e));
	}
	struct vmalock_bench b = { .addr = (unsigned long)&target, .iterations = 0 };
	CHECK(xioctl(fd, VMALOCK_IOC_BENCH, &b) == -EINVAL, "0 iterations: EINVAL");
	b.iterations = VMALOCK_BENCH_MAX_ITER + 1;
	CHECK(xioctl(fd, VMALOCK_IOC_BENCH, &b) == -EINVAL, "too many iterations: EINVAL");
}

/* HOLD_MMAP_WRITE in a thread, lookups from the main thread meanwhile. */
struct hold_arg {
	int fd;
	void *addr;
	int ret;
};

static void *hold_thread(void *p)
{
	struct hold_arg *a = p;
	struct vmalock_hold h = {
		.addr = (unsigned long)a->addr, .ms = 300, .flags = VMALOCK_HOLD_VMA_WRITE,
	};

	a->ret = xioctl(a->fd, VMALOCK_IOC_HOLD_MMAP_WRITE, &h);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void demo_contention(int fd, char *dev)
{
	struct hold_arg a = { .fd = fd, .addr = dev };
	struct vmalock_hold probe = { .addr = (unsigned long)dev, .ms = 0 };
	struct vmalock_pages p = { .addr = (unsigned long)dev + 60 * PG, .npages = 2 };
	struct vmalock_reclaim r = { .mode = VMALOCK_RECLAIM_VMA_TRYLOCK, .nr_to_scan = 2 };
	struct vmalock_lookup l;
	pthread_t t;
	double t0;
	int e;

	printf("== Contention: HOLD_MMAP_WRITE + vma_start_write() on the device VMA for 300 ms\n");
	e = xioctl(fd, VMALOCK_IOC_HOLD_MMAP_WRITE, &probe);
	if (e == -EOPNOTSUPP) {
		printf("  skip HOLD_MMAP_WRITE not supported by this kernel (stock kernel crate)\n");
		return;
	}
	CHECK(!e, "HOLD_MMAP_WRITE 0 ms: %s", err(e));
	CHECK(!xioctl(fd, VMALOCK_IOC_ALLOC, &p) && !xioctl(fd, VMALOCK_IOC_RELEASE, &p),
	      "2 pages allocated and released (on the LRU)");
	pthread_create(&t, NULL, hold_thread, &a);
	usleep(100 * 1000);
	e = lookup(fd, dev, VMALOCK_MODE_RCU, &l);
	CHECK(e == -EAGAIN, "RCU lookup while write-locked: %s", err(e));
	e = xioctl(fd, VMALOCK_IOC_RECLAIM, &r);
	CHECK(!e && r.freed == 0 && r.skipped > 0,
	      "RECLAIM (VMA trylock) while write-locked: freed=%llu skipped=%llu (%s)",
	      r.freed, r.skipped, err(e));
	t0 = now_ms();
	e = lookup(fd, dev, VMALOCK_MODE_WAIT, &l);
	CHECK(!e && l.path == VMALOCK_PATH_SLOW,
	      "WAIT lookup waited %.0f ms for the writer, path %s (%s)", now_ms() - t0,
	      l.path == VMALOCK_PATH_FAST ? "fast" : "slow", err(e));
	pthread_join(t, NULL);
	CHECK(!a.ret, "HOLD_MMAP_WRITE returned %s", err(a.ret));
	e = lookup(fd, dev, VMALOCK_MODE_RCU, &l);
	CHECK(!e && l.path == VMALOCK_PATH_FAST, "RCU lookup after the writer: %s", err(e));
	r.nr_to_scan = 2;
	e = xioctl(fd, VMALOCK_IOC_RECLAIM, &r);
	CHECK(!e && r.freed == 2, "RECLAIM after the writer: freed=%llu (%s)", r.freed, err(e));

	struct vmalock_hold bad = { .addr = (unsigned long)dev, .ms = VMALOCK_HOLD_MAX_MS + 1 };
	CHECK(xioctl(fd, VMALOCK_IOC_HOLD_MMAP_WRITE, &bad) == -EINVAL, "ms too large: EINVAL");
	bad.ms = 1;
	bad.flags = 2;
	CHECK(xioctl(fd, VMALOCK_IOC_HOLD_MMAP_WRITE, &bad) == -EINVAL, "unknown flag: EINVAL");
}

static int check_pattern(const char *p, size_t len, uint64_t seed)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != seed * VMALOCK_PATTERN_MUL + i)
			return 0;
	return 1;
}

static void demo_zerocopy(int fd, int fd2, char *dev, char *dev2)
{
	struct vmalock_zc_map z = { .addr = (unsigned long)dev, .len = 16 * PG, .seed = 42 };
	char *anon = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int e;

	printf("== ZC_MAP: module pages with a pattern, mapped with vm_insert_pages()\n");
	CHECK(faults(dev), "before: reading the device mapping raises SIGBUS");
	e = xioctl(fd, VMALOCK_IOC_ZC_MAP, &z);
	CHECK(!e && z.mapped == 16 * PG, "ZC_MAP 16 pages seed 42: mapped %llu bytes (%s)",
	      z.mapped, err(e));
	CHECK(check_pattern(dev, 16 * PG, 42), "userspace reads the pattern, no copy");
	z.mapped = 0;
	e = xioctl(fd, VMALOCK_IOC_ZC_MAP, &z);
	CHECK(e == -EBUSY, "ZC_MAP over mapped pages: %s", err(e));

	z = (struct vmalock_zc_map){ .addr = (unsigned long)anon, .len = PG, .seed = 1 };
	e = xioctl(fd, VMALOCK_IOC_ZC_MAP, &z);
	CHECK(e == -EINVAL, "impostor: anonymous memory: %s", err(e));
	z.addr = (unsigned long)dev2;
	e = xioctl(fd, VMALOCK_IOC_ZC_MAP, &z);
	CHECK(e == -EINVAL && faults(dev2), "impostor: another fd's mapping: %s, nothing mapped",
	      err(e));
	struct vmalock_pages p = { .addr = (unsigned long)dev2, .npages = 1 };
	e = xioctl(fd, VMALOCK_IOC_ALLOC, &p);
	CHECK(e == -EINVAL && faults(dev2), "impostor ALLOC: %s, nothing mapped", err(e));
	(void)fd2;
	z = (struct vmalock_zc_map){ .addr = (unsigned long)dev + 16 * PG + 1, .len = PG };
	CHECK(xioctl(fd, VMALOCK_IOC_ZC_MAP, &z) == -EINVAL, "unaligned address: EINVAL");
	z = (struct vmalock_zc_map){ .addr = (unsigned long)dev + 16 * PG, .len = 100 };
	CHECK(xioctl(fd, VMALOCK_IOC_ZC_MAP, &z) == -EINVAL, "unaligned length: EINVAL");
	z = (struct vmalock_zc_map){ .addr = (unsigned long)dev + 60 * PG, .len = 8 * PG };
	e = xioctl(fd, VMALOCK_IOC_ZC_MAP, &z);
	CHECK(e == -EINVAL && faults(dev + 60 * PG), "range beyond the VMA: %s, nothing mapped",
	      err(e));
	z = (struct vmalock_zc_map){ .addr = (unsigned long)dev, .len = -PG };
	CHECK(xioctl(fd, VMALOCK_IOC_ZC_MAP, &z) == -EINVAL, "overflowing length: EINVAL");
	munmap(anon, 4 * PG);
}

static char *shrinker_scan_file(void)
{
	static char path[256];
	glob_t g;

	if (glob("/sys/kernel/debug/shrinker/vmalock-*/scan", 0, NULL, &g) || !g.gl_pathc)
		return NULL;
	snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
	globfree(&g);
	return path;
}

static void demo_pool(int fd, char *dev)
{
	char *base = dev + 16 * PG;	/* pages 16..47 */
	struct vmalock_pages p = { .addr = (unsigned long)base, .npages = 32 };
	struct vmalock_stats s0, s;
	const char *scan;
	int e, i, kept;

	printf("== Page pool: ALLOC, RELEASE to the LRU, reclaim by the shrinker\n");
	s0 = stats(fd, "before");
	e = xioctl(fd, VMALOCK_IOC_ALLOC, &p);
	CHECK(!e, "ALLOC 32 pages: %s", err(e));
	for (i = 0, kept = 1; i < 32; i++)
		kept &= base[i * PG] == 0;
	CHECK(kept, "new pages are zeroed");
	for (i = 0; i < 32; i++)
		base[i * PG] = 'A' + i % 26;
	e = xioctl(fd, VMALOCK_IOC_ALLOC, &p);
	CHECK(e == -EBUSY, "ALLOC of pages in use: %s", err(e));
	e = xioctl(fd, VMALOCK_IOC_RELEASE, &p);
	CHECK(!e, "RELEASE 32 pages (still mapped, on the LRU): %s", err(e));
	e = xioctl(fd, VMALOCK_IOC_RELEASE, &p);
	CHECK(e == -EINVAL, "RELEASE of released pages: %s", err(e));
	s = stats(fd, "after release");
	CHECK(s.inserted - s0.inserted == 32 && s.lru - s0.lru == 32, "32 inserted, 32 on the LRU");

	p.npages = 4;
	e = xioctl(fd, VMALOCK_IOC_ALLOC, &p);
	CHECK(!e && base[0] == 'A' && base[3 * PG] == 'D',
	      "ALLOC takes 4 released pages back with their contents: %s", err(e));
	s = stats(fd, "after take-back");
	CHECK(s.inserted - s0.inserted == 32 && s.lru - s0.lru == 28, "nothing new inserted");

	scan = shrinker_scan_file();
	if (scan) {
		FILE *f = fopen(scan, "w");

		CHECK(f && fprintf(f, "0 0 1000\n") > 0 && fclose(f) == 0,
		      "shrinker scan: echo '0 0 1000' > %s", scan);
	} else {
		int dc = open("/proc/sys/vm/drop_caches", O_WRONLY);

		CHECK(dc >= 0 && write(dc, "2\n", 2) == 2, "no shrinker debugfs: drop_caches");
		close(dc);
	}
	s = stats(fd, "after shrinker");
	CHECK(s.reclaimed - s0.reclaimed == 28 && s.lru == 0,
	      "shrinker reclaimed the 28 released pages");
	CHECK(base[0] == 'A' && base[3 * PG] == 'D', "pages in use were kept");
	CHECK(faults(base + 4 * PG) && faults(base + 31 * PG),
	      "reclaimed pages are unmapped: touching them raises SIGBUS");
	p.addr = (unsigned long)base + 4 * PG;
	p.npages = 28;
	e = xioctl(fd, VMALOCK_IOC_ALLOC, &p);
	CHECK(!e && base[4 * PG] == 0, "ALLOC again: fresh zeroed pages (%s)", err(e));

	/* RECLAIM ioctl, both strategies. */
	e = xioctl(fd, VMALOCK_IOC_RELEASE, &p);
	struct vmalock_reclaim r = { .mode = VMALOCK_RECLAIM_MMAP_TRYLOCK, .nr_to_scan = 8 };
	e = e ?: xioctl(fd, VMALOCK_IOC_RECLAIM, &r);
	CHECK(!e && r.freed == 8, "RECLAIM mmap_read_trylock+vma_lookup: freed=%llu skipped=%llu (%s)",
	      r.freed, r.skipped, err(e));
	r = (struct vmalock_reclaim){ .mode = VMALOCK_RECLAIM_VMA_TRYLOCK, .nr_to_scan = 100 };
	e = xioctl(fd, VMALOCK_IOC_RECLAIM, &r);
	CHECK(!e && r.freed == 20, "RECLAIM lock_vma_under_rcu: freed=%llu skipped=%llu (%s)",
	      r.freed, r.skipped, err(e));
	r.__reserved = 1;
	CHECK(xioctl(fd, VMALOCK_IOC_RECLAIM, &r) == -EINVAL, "RECLAIM reserved field: EINVAL");

	/* Bad input. */
	p = (struct vmalock_pages){ .addr = (unsigned long)dev + 1, .npages = 1 };
	CHECK(xioctl(fd, VMALOCK_IOC_ALLOC, &p) == -EINVAL, "ALLOC unaligned: EINVAL");
	p = (struct vmalock_pages){ .addr = (unsigned long)dev, .npages = 0 };
	CHECK(xioctl(fd, VMALOCK_IOC_ALLOC, &p) == -EINVAL, "ALLOC 0 pages: EINVAL");
	p.npages = VMALOCK_MAX_PAGES(sysconf(_SC_PAGESIZE)) + 1;
	CHECK(xioctl(fd, VMALOCK_IOC_ALLOC, &p) == -EINVAL, "ALLOC too many pages: EINVAL");
	p.npages = 1ULL << 60;
	CHECK(xioctl(fd, VMALOCK_IOC_ALLOC, &p) == -EINVAL, "ALLOC huge count: EINVAL");
	p = (struct vmalock_pages){ .addr = 0xffffffffff600000ULL, .npages = 1 };
	CHECK(xioctl(fd, VMALOCK_IOC_ALLOC, &p) == -EINVAL, "ALLOC kernel address: EINVAL");
	p = (struct vmalock_pages){ .addr = (unsigned long)dev + 48 * PG, .npages = 1 };
	CHECK(xioctl(fd, VMALOCK_IOC_RELEASE, &p) == -EINVAL, "RELEASE of a page not in use: EINVAL");
	stats(fd, "end of pool demo");
}

static void demo_user_read(int fd, char *dev)
{
	size_t len = 64 * 1024;
	unsigned char *fresh = mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vmalock_user_read u = { .addr = (unsigned long)dev, .len = 16 * PG };
	int e;

	printf("== USER_READ: read user memory under the VMA read lock\n");
	e = xioctl(fd, VMALOCK_IOC_USER_READ, &u);
	CHECK(!e && u.checksum == fnv1a((unsigned char *)dev, 16 * PG),
	      "SAFE, zerocopy pages: checksum %#llx, %u fault-ins (%s)", u.checksum, u.faultins,
	      err(e));
	u = (struct vmalock_user_read){ .addr = (unsigned long)fresh, .len = len };
	e = xioctl(fd, VMALOCK_IOC_USER_READ, &u);
	CHECK(!e && u.faultins > 0 && u.checksum == fnv1a(fresh, len),
	      "SAFE, untouched anonymous memory: checksum %#llx after %u fault-ins (%s)",
	      u.checksum, u.faultins, err(e));
	u = (struct vmalock_user_read){ .addr = (unsigned long)fresh, .len = len,
					.mode = VMALOCK_USER_READ_UNSAFE };
	e = xioctl(fd, VMALOCK_IOC_USER_READ, &u);
	CHECK(e == -EPERM, "UNSAFE without allow_unsafe=1: %s", err(e));
	u = (struct vmalock_user_read){ .addr = (unsigned long)fresh, .len = len + 1 };
	CHECK(xioctl(fd, VMALOCK_IOC_USER_READ, &u) == -EINVAL, "range across VMAs: EINVAL");
	u = (struct vmalock_user_read){ .addr = (unsigned long)fresh,
					.len = VMALOCK_USER_READ_MAX + 1 };
	CHECK(xioctl(fd, VMALOCK_IOC_USER_READ, &u) == -EINVAL, "len too large: EINVAL");
	u = (struct vmalock_user_read){ .addr = (unsigned long)dev + 63 * PG, .len = 8 };
	e = xioctl(fd, VMALOCK_IOC_USER_READ, &u);
	CHECK(e == -EFAULT, "SAFE, page never inserted (SIGBUS page): %s", err(e));
	u = (struct vmalock_user_read){ .addr = (unsigned long)fresh, .len = 8, .__reserved = 1 };
	CHECK(xioctl(fd, VMALOCK_IOC_USER_READ, &u) == -EINVAL, "reserved field: EINVAL");
	munmap(fresh, len);

	struct vmalock_hold h = { .addr = (unsigned long)dev, .ms = 50 };
	double t0 = now_ms();

	e = xioctl(fd, VMALOCK_IOC_HOLD_VMA_READ, &h);
	CHECK(!e, "HOLD_VMA_READ 50 ms: took %.0f ms (%s)", now_ms() - t0, err(e));
}

int main(void)
{
	int fd = open("/dev/vmalock", O_RDWR), fd2 = open("/dev/vmalock", O_RDWR);
	size_t maplen = MAP_PAGES * PG;
	char *dev, *dev2, *again;
	long ret;

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vmalock demo: pid %d\n", getpid());
	if (fd < 0 || fd2 < 0 || page_size != PG) {
		perror("open /dev/vmalock");
		return 1;
	}

	demo_lookup(fd);
	demo_abi(fd);
	demo_bench(fd);

	printf("== mmap: the device's own VM_MIXEDMAP VMA\n");
	dev = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	dev2 = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	CHECK(dev != MAP_FAILED && dev2 != MAP_FAILED, "mapped %zu KiB at %p, another fd at %p",
	      maplen >> 10, dev, dev2);
	if (dev == MAP_FAILED || dev2 == MAP_FAILED)
		return 1;
	again = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(again == MAP_FAILED && errno == EBUSY, "second mmap of one fd: %s",
	      again == MAP_FAILED ? strerror(errno) : "mapped");
	int fd3 = open("/dev/vmalock", O_RDWR);

	again = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd3, 0);
	CHECK(again == MAP_FAILED && errno == EINVAL, "private mapping: %s",
	      again == MAP_FAILED ? strerror(errno) : "mapped");
	again = mmap(NULL, VMALOCK_MAP_MAX_BYTES + PG, PROT_READ, MAP_SHARED, fd3, 0);
	CHECK(again == MAP_FAILED && errno == EINVAL, "mapping larger than %lu MiB: %s",
	      VMALOCK_MAP_MAX_BYTES >> 20, again == MAP_FAILED ? strerror(errno) : "mapped");
	close(fd3);

	demo_zerocopy(fd, fd2, dev, dev2);
	demo_pool(fd, dev);
	demo_user_read(fd, dev);
	demo_contention(fd, dev);

	printf("== Module lifetime\n");
	ret = syscall(SYS_delete_module, "vmalock", O_NONBLOCK);
	CHECK(ret < 0 && (errno == EBUSY || errno == EWOULDBLOCK),
	      "rmmod while mapped and open: %s", ret < 0 ? strerror(errno) : "unloaded!");
	close(fd);
	close(fd2);
	ret = syscall(SYS_delete_module, "vmalock", O_NONBLOCK);
	CHECK(ret < 0 && (errno == EBUSY || errno == EWOULDBLOCK),
	      "rmmod with the fds closed but still mapped: %s",
	      ret < 0 ? strerror(errno) : "unloaded!");
	CHECK(check_pattern(dev, 16 * PG, 42), "the mapping still works after close()");
	munmap(dev, maplen);
	munmap(dev2, 4 * PG);
	fd = open("/dev/vmalock", O_RDWR);
	struct vmalock_stats s = stats(fd, "all unmapped, closed");

	CHECK(s.in_use == 0 && s.lru == 0, "no page left in use or on the LRU");
	close(fd);

	printf("vmalock demo: %s (%d failure%s)\n", failures ? "FAILED" : "PASSED", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
