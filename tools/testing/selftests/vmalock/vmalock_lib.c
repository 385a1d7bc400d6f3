// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the vmalock selftests (linked into every program).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmalock_lib.h"

uint64_t vl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t vl_ms_since(uint64_t t0_ns)
{
	return (vl_now_ns() - t0_ns) / 1000000ULL;
}

int vl_env_u64(const char *name, uint64_t *val)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || *s == '-')
		return -EINVAL;
	*val = v;
	return 1;
}

uint64_t vl_random_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ vl_now_ns();
	return seed;
}

uint64_t vl_task_size(void)
{
	/*
	 * With 5-level paging a process may map at 1 << 47 (MAP_FIXED: mmap()'s
	 * default window stays below it); with 4-level paging that is past
	 * TASK_SIZE and mmap() fails.
	 */
	void *hi = (void *)(1UL << 47);
	void *p = mmap(hi, VL_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (p == MAP_FAILED)
		return (1ULL << 47) - VL_PAGE;
	munmap(p, VL_PAGE);
	return p == hi ? (1ULL << 56) - VL_PAGE : (1ULL << 47) - VL_PAGE;
}

int vl_open(void)
{
	return open(VL_DEV, O_RDWR | O_CLOEXEC);
}

void *vl_map(int fd, size_t npages)
{
	return mmap(NULL, npages * VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

void *vl_anon(size_t npages)
{
	return mmap(NULL, npages * VL_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

int vl_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

int vl_lookup(int fd, uint64_t addr, uint32_t mode, struct vmalock_lookup *out)
{
	struct vmalock_lookup l = { .addr = addr, .mode = mode };
	int ret = vl_ioctl(fd, VMALOCK_IOC_LOOKUP, &l);

	if (out)
		*out = l;
	return ret;
}

int vl_stats(int fd, struct vmalock_stats *s)
{
	memset(s, 0, sizeof(*s));
	return vl_ioctl(fd, VMALOCK_IOC_STATS, s);
}

void vl_stats_sub(const struct vmalock_stats *s, const struct vmalock_stats *s0,
		  struct vmalock_stats *d)
{
	d->inserted = s->inserted - s0->inserted;
	d->released = s->released - s0->released;
	d->reclaimed = s->reclaimed - s0->reclaimed;
	d->skipped_contended = s->skipped_contended - s0->skipped_contended;
	d->in_use = s->in_use - s0->in_use;
	d->lru = s->lru - s0->lru;
	d->zc_mapped = s->zc_mapped - s0->zc_mapped;
}

int vl_stats_delta(int fd, const struct vmalock_stats *s0, struct vmalock_stats *d)
{
	struct vmalock_stats s;
	int ret = vl_stats(fd, &s);

	if (ret) {
		memset(d, 0, sizeof(*d));
		return ret;
	}
	vl_stats_sub(&s, s0, d);
	return 0;
}

int vl_alloc(int fd, void *addr, uint64_t npages)
{
	struct vmalock_pages p = { .addr = (uintptr_t)addr, .npages = npages };

	return vl_ioctl(fd, VMALOCK_IOC_ALLOC, &p);
}

int vl_release(int fd, void *addr, uint64_t npages)
{
	struct vmalock_pages p = { .addr = (uintptr_t)addr, .npages = npages };

	return vl_ioctl(fd, VMALOCK_IOC_RELEASE, &p);
}

int vl_zc_map(int fd, void *addr, uint64_t len, uint64_t seed, uint64_t *mapped)
{
	struct vmalock_zc_map z = { .addr = (uintptr_t)addr, .len = len, .seed = seed,
				    .mapped = 0xdeadbeef };
	int ret = vl_ioctl(fd, VMALOCK_IOC_ZC_MAP, &z);

	if (mapped)
		*mapped = z.mapped;
	return ret;
}

int vl_user_read(int fd, const void *addr, uint32_t len, uint32_t mode,
		 uint64_t *csum, uint32_t *faultins)
{
	struct vmalock_user_read r = { .addr = (uintptr_t)addr, .len = len, .mode = mode };
	int ret = vl_ioctl(fd, VMALOCK_IOC_USER_READ, &r);

	if (csum)
		*csum = r.checksum;
	if (faultins)
		*faultins = r.faultins;
	return ret;
}

int vl_reclaim(int fd, uint32_t mode, uint64_t nr, uint64_t *freed, uint64_t *skipped)
{
	struct vmalock_reclaim r = { .mode = mode, .nr_to_scan = nr };
	int ret = vl_ioctl(fd, VMALOCK_IOC_RECLAIM, &r);

	if (freed)
		*freed = r.freed;
	if (skipped)
		*skipped = r.skipped;
	return ret;
}

int vl_hold(int fd, unsigned long cmd, uint64_t addr, uint32_t ms, uint32_t flags)
{
	struct vmalock_hold h = { .addr = addr, .ms = ms, .flags = flags };

	return vl_ioctl(fd, cmd, &h);
}

uint64_t vl_fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = VMALOCK_FNV_OFFSET;

	while (len--) {
		h ^= *p++;
		h *= VMALOCK_FNV_PRIME;
	}
	return h;
}

uint64_t vl_fnv1a_pattern(uint64_t seed, uint64_t first_word, size_t len)
{
	uint64_t h = VMALOCK_FNV_OFFSET;
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t w = vl_pattern(seed, first_word + i / 8);

		h ^= (w >> (8 * (i % 8))) & 0xff;	/* little endian */
		h *= VMALOCK_FNV_PRIME;
	}
	return h;
}

void vl_fill_pattern(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = vl_pattern(seed, i);
}

int vl_page_holds(const void *p, uint64_t seed, uint64_t first_word)
{
	const uint64_t *w = p;
	bool zero = true, pat = true;
	size_t i;

	for (i = 0; i < VL_PAGE / 8; i++) {
		if (w[i])
			zero = false;
		if (w[i] != vl_pattern(seed, first_word + i))
			pat = false;
	}
	return pat ? 1 : zero ? 0 : -1;
}

long vl_check_pattern(const void *p, size_t len, uint64_t seed, uint64_t first_word)
{
	const volatile uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != vl_pattern(seed, first_word + i))
			return i;
	return -1;
}

long vl_mincore(void *addr, size_t npages, unsigned char *vec)
{
	unsigned char *v = vec ? vec : malloc(npages);
	long n = 0;
	size_t i;

	if (!v)
		return -1;
	if (mincore(addr, npages * VL_PAGE, v)) {
		n = -1;
	} else {
		for (i = 0; i < npages; i++)
			n += v[i] & 1;
	}
	if (!vec)
		free(v);
	return n;
}

static __thread sigjmp_buf probe_env;
static __thread volatile int probe_active;

static void probe_handler(int sig)
{
	if (probe_active) {
		probe_active = 0;
		siglongjmp(probe_env, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void probe_install(void)
{
	struct sigaction sa = { .sa_handler = probe_handler, .sa_flags = SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* One 64-bit access to p (a write of *val if write), signals caught. */
static int probe(volatile uint64_t *p, uint64_t *val, bool write)
{
	int sig;

	probe_install();
	sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	probe_active = 1;
	if (write)
		*p = *val;
	else
		*val = *p;
	probe_active = 0;
	return 0;
}

int vl_probe_read(const volatile void *p, uint64_t *val)
{
	return probe((volatile uint64_t *)p, val, false);
}

int vl_probe_write(volatile void *p, uint64_t val)
{
	return probe(p, &val, true);
}

long vl_probe_check_pattern(const void *p, size_t len, uint64_t seed, uint64_t first_word,
			    int *sig)
{
	const volatile uint64_t *w = p;
	volatile size_t i = 0;
	int s;

	probe_install();
	s = sigsetjmp(probe_env, 1);
	*sig = s;
	if (s)
		return i;
	probe_active = 1;
	for (; i < len / 8; i++) {
		if (w[i] != vl_pattern(seed, first_word + i)) {
			probe_active = 0;
			return i;
		}
	}
	probe_active = 0;
	return -1;
}

int vl_shrinker_find(const char *pattern, char *buf, size_t len)
{
	glob_t g;
	int ret = -ENOENT;

	if (glob(pattern, 0, NULL, &g) != 0)
		return ret;
	if (g.gl_pathc == 1) {
		snprintf(buf, len, "%s", g.gl_pathv[0]);
		ret = 0;
	} else if (g.gl_pathc > 1) {
		ret = -EEXIST;
	}
	globfree(&g);
	return ret;
}

/*
 * Cached: glob() allocates, and an allocation may need the mmap lock,
 * which a test may be holding through the hook.
 */
static char shrinker_dir[256];

int vl_shrinker_dir(char *buf, size_t len)
{
	if (!shrinker_dir[0] &&
	    vl_shrinker_find("/sys/kernel/debug/shrinker/vmalock*", shrinker_dir,
			     sizeof(shrinker_dir)))
		shrinker_dir[0] = 0;
	if (!shrinker_dir[0])
		return -ENOENT;
	snprintf(buf, len, "%s", shrinker_dir);
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

int vl_shrinker_scan_at(const char *dir, unsigned long nr)
{
	char path[300], s[64];

	snprintf(path, sizeof(path), "%s/scan", dir);
	snprintf(s, sizeof(s), "0 0 %lu", nr);
	return write_file(path, s);
}

long vl_shrinker_count_at(const char *dir)
{
	char path[300], buf[4096], *p, *end;
	long sum = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/count", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	/* Each line: "<memcg ino> <count node0> [<count node1> ...]" */
	for (p = buf; *p; ) {
		strtoul(p, &end, 10);		/* the cgroup inode */
		if (end == p)
			break;
		p = end;
		while (*p == ' ') {
			sum += strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
		while (*p && *p != '\n')
			p++;
		if (*p == '\n')
			p++;
	}
	return sum;
}

int vl_shrinker_scan(unsigned long nr)
{
	char dir[256];
	int ret = vl_shrinker_dir(dir, sizeof(dir));

	return ret ? ret : vl_shrinker_scan_at(dir, nr);
}

long vl_shrinker_count(void)
{
	char dir[256];

	return vl_shrinker_dir(dir, sizeof(dir)) ? -1 : vl_shrinker_count_at(dir);
}

/*
 * By default fail-nth never reaches GFP_KERNEL (sleeping) or order-0
 * allocations: open both up. verbose=0 keeps a stack dump per injected
 * failure off the console.
 */
static const struct {
	const char *path, *val;
} fault_knobs[] = {
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/failslab/verbose", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	{ "/sys/kernel/debug/fail_usercopy/verbose", "0" },
};

int vl_fault_injection_setup(const char **failed)
{
	unsigned int i;

	for (i = 0; i < sizeof(fault_knobs) / sizeof(fault_knobs[0]); i++) {
		int ret = write_file(fault_knobs[i].path, fault_knobs[i].val);

		if (ret) {
			*failed = fault_knobs[i].path;
			return ret;
		}
	}
	return 0;
}

int vl_nth_open(void)
{
	return open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
}

int vl_nth_arm(int nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(nth, buf, len, 0) == len ? 0 : -errno;
}

bool vl_nth_injected(int nth)
{
	char buf[16] = "";
	ssize_t n = pread(nth, buf, sizeof(buf) - 1, 0);
	int i;

	if (n < 0)
		return false;
	if (!strtoul(buf, NULL, 10))
		return true;
	for (i = 0; i < 3 && pwrite(nth, "0", 1, 0) != 1; i++)
		;
	return false;
}

int vl_drop_slab(void)
{
	return write_file("/proc/sys/vm/drop_caches", "2");
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

int vl_task_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (read_small(path, buf, sizeof(buf)))
		return errno ? -errno : -EIO;
	/* "tid (comm) S ...": comm may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EINVAL;
	return (unsigned char)p[2];
}

long vl_task_syscall(pid_t pid, pid_t tid)
{
	char path[64], buf[256], *end;
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (read_small(path, buf, sizeof(buf)))
		return errno ? -errno : -EIO;
	if (!strncmp(buf, "running", 7))
		return -EBUSY;
	nr = strtol(buf, &end, 10);
	if (end == buf)
		return -EINVAL;
	return nr < 0 ? -ENODATA : nr;
}

int vl_wait_task_blocked(pid_t pid, pid_t tid, const char *states, long nr,
			 unsigned int timeout_ms, int *last, long *last_nr)
{
	uint64_t t0 = vl_now_ns();

	for (;;) {
		int st = vl_task_state(pid, tid);
		long sc = -1;

		if (last)
			*last = st;
		if (st < 0)
			return st;
		if (st && strchr(states, st)) {
			/* Asleep: in which system call? */
			sc = nr >= 0 ? vl_task_syscall(pid, tid) : nr;
			if (last_nr)
				*last_nr = sc;
			if (nr < 0 || sc == nr) {
				/* Still asleep once the syscall file saw it off the CPU? */
				st = vl_task_state(pid, tid);
				if (last)
					*last = st;
				if (st > 0 && strchr(states, st))
					return 0;
			}
		}
		if (vl_ms_since(t0) >= timeout_ms)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

bool vl_allow_unsafe(void)
{
	char buf[16];

	if (read_small("/sys/module/vmalock/parameters/allow_unsafe", buf, sizeof(buf)))
		return false;
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

int vl_debug_locks(void)
{
	static char buf[16384];
	char *p;

	if (read_small("/proc/lockdep_stats", buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "debug_locks:");
	if (!p)
		return -1;
	return atoi(p + strlen("debug_locks:"));
}

bool vl_module_loaded(void)
{
	struct stat st;

	return stat("/sys/module/vmalock", &st) == 0;
}

int vl_module_unload(void)
{
	return syscall(SYS_delete_module, "vmalock", O_NONBLOCK) ? -errno : 0;
}

int vl_module_load(void)
{
	const char *args = getenv("PLAN_ARGS");
	int fd = open(VL_MODULE, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, args ? args : "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* nr_free_pages of every zone plus the pages on the per-CPU lists. */
static long zoneinfo_free_pages(void)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	char line[256];
	long total = 0, v;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nr_free_pages %ld", &v) == 1 ||
		    sscanf(line, " count: %ld", &v) == 1)
			total += v;
	}
	fclose(f);
	return total;
}

long vl_free_pages_settled(void)
{
	long prev = -1, cur = -1;
	glob_t g;
	size_t i;
	int n;

	for (n = 0; n < 30; n++) {
		sync();
		write_file("/proc/sys/vm/drop_caches", "3");
		write_file("/proc/sys/vm/stat_refresh", "1");
		if (!glob("/sys/kernel/slab/*/shrink", 0, NULL, &g)) {
			for (i = 0; i < g.gl_pathc; i++)
				write_file(g.gl_pathv[i], "1");
			globfree(&g);
		}
		cur = zoneinfo_free_pages();
		if (cur < 0)
			return cur;
		if (prev >= 0 && labs(cur - prev) <= 8)
			return cur;
		prev = cur;
		usleep(300000);
	}
	return cur;
}

static void *holder_fn(void *arg)
{
	struct vl_holder *h = arg;
	int ret;

	h->tid = gettid();
	h->started_ns = vl_now_ns();
	ret = vl_hold(h->fd, h->cmd, h->addr, h->ms, h->flags);
	h->ended_ns = vl_now_ns();
	h->ret = ret;
	__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int vl_holder_start(struct vl_holder *h)
{
	h->tid = 0;
	h->started_ns = 0;
	h->ended_ns = 0;
	h->ret = 0;
	h->done = 0;
	return -pthread_create(&h->thread, NULL, holder_fn, h);
}

int vl_holder_join(struct vl_holder *h)
{
	pthread_join(h->thread, NULL);
	return h->ret;
}

int vl_holder_start_locked(struct vl_holder *h, unsigned int timeout_ms)
{
	int tries, ret;

	for (tries = 0; tries < VL_HOLD_TRIES; tries++) {
		uint64_t t0 = vl_now_ns();

		ret = vl_holder_start(h);
		if (ret)
			return ret;
		for (;;) {
			/* Read done first: a lookup after it that does not fail missed the hold. */
			int done = __atomic_load_n(&h->done, __ATOMIC_ACQUIRE);

			if (vl_lookup(h->fd, h->addr, VMALOCK_MODE_RCU, NULL) == -EAGAIN)
				return 0;
			if (done)
				break;
			if (vl_ms_since(t0) >= timeout_ms) {
				vl_holder_join(h);
				return -ETIMEDOUT;
			}
			usleep(500);
		}
		ret = vl_holder_join(h);
		if (ret)
			return ret;
		printf("# the poller missed a %u ms hold of %#llx, try %d of %d\n", h->ms,
		       (unsigned long long)h->addr, tries + 1, VL_HOLD_TRIES);
	}
	return -ETIMEDOUT;
}

int vl_stats_settle(int fd, const struct vmalock_stats *base, struct vmalock_stats *s,
		    unsigned int timeout_ms)
{
	uint64_t t0 = vl_now_ns();

	for (;;) {
		int ret = vl_stats(fd, s);

		if (ret)
			return ret;
		if (s->in_use == base->in_use && s->lru == base->lru)
			return 0;
		if (vl_ms_since(t0) >= timeout_ms)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

int vl_ksm_read(const char *knob, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", knob);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int vl_ksm_write(const char *knob, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", knob);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

long vl_ksm_merging_pages(void)
{
	char buf[32];
	long n = -1;
	FILE *f;

	f = fopen("/proc/self/ksm_merging_pages", "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		n = strtol(buf, NULL, 10);
	fclose(f);
	return n;
}
