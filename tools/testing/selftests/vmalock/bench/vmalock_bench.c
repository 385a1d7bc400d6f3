// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_bench: the in-guest half of `make bench` (scripts/bench.sh).
 *
 *   vmalock_bench clock
 *   vmalock_bench spin TAG
 *   vmalock_bench uncontended TRIALS ITERS
 *   vmalock_bench latency WRITER TRIALS DURATION_MS READERS
 *   vmalock_bench samevma TRIALS HOLD_MS
 *   vmalock_bench reclaim WRITER TRIALS SCANS
 *   vmalock_bench ksm WRITERS TRIALS PAGES
 *   vmalock_bench slab TRIALS VMAS
 *   vmalock_bench fault anon|shared|cow none|mprotect TRIALS PAGES
 *
 * WRITER is "hold" (VMALOCK_IOC_HOLD_MMAP_WRITE without VMALOCK_HOLD_VMA_WRITE
 * in a loop), "mprotect" (mprotect() toggling a large populated anonymous
 * region in a loop) or "none". ksm needs no module: it times ksmd merging
 * PAGES identical pages while WRITERS threads of the same process mmap,
 * mprotect and munmap unrelated regions, and runs on the stock kernel too. slab
 * needs no module either: it reads the vm_area_struct and mm_struct caches of
 * /proc/slabinfo, then the slab memory that VMAS more VMAs take. fault (no
 * module, both kernels) times write faults in the style of will-it-scale's
 * page_fault1/3/2: anonymous private, shared file and private COW of a file,
 * alone or beside a thread of the same process that mmaps, mprotects and
 * munmaps another region. Every result
 * is one JSON object per line on stdout; scripts/bench-report.py reads them.
 * Diagnostics go to stderr.
 *
 * Not a kselftest (it reports numbers, not pass/fail): it lives in bench/ so
 * that scripts/build-tests.sh does not pick it up; scripts/bench.sh builds it
 * with the same flags and links vmalock_lib.c.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../vmalock_lib.h"

#define HOLD_MS		20	/* one HOLD_MMAP_WRITE of the "hold" writer, back to back */
#define MPROT_PAGES	16384	/* 64 MiB toggled by the "mprotect" writer */
#define PACE_MIN_US	100	/* a reader's pause between two LOOKUPs: */
#define PACE_SPAN_US	900	/* PACE_MIN_US + [0, PACE_SPAN_US) */
#define NBUCKETS	40	/* log2(ns) latency histogram */
#define RECLAIM_POOL	256	/* pool pages refilled before each scan */
#define RECLAIM_NR	32	/* nr_to_scan of each RECLAIM */

/* Indexed by enum vmalock_mode. "unlocked" is the helper alone: what its callers pay. */
static const char *const mode_name[] = { "rcu", "wait", "mmap", "unlocked" };
#define NR_MODES	(VMALOCK_MODE_UNLOCKED + 1)
static int g_fd;

static int usage(void);

static void die(const char *what, int err)
{
	fprintf(stderr, "vmalock_bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

/* A shared anonymous page: never merged with the private anonymous writer regions. */
static void *shared_page(void)
{
	void *p = mmap(NULL, VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	*(volatile char *)p = 1;
	return p;
}

/* ---------------------------------------------------------------- writers */

struct writer {
	const char *kind;
	pthread_t thread;
	volatile int stop;
	char *region;		/* hold: HOLD address; mprotect: the toggled region */
	size_t len;
	uint64_t ops;		/* holds or mprotect() calls */
	uint64_t held_ns;	/* time inside the write-locking calls */
	uint64_t t0, t1;
	int err;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	int ro = 1;

	w->t0 = vl_now_ns();
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		uint64_t s = vl_now_ns();

		if (!strcmp(w->kind, "hold")) {
			int ret = vl_hold(g_fd, VMALOCK_IOC_HOLD_MMAP_WRITE,
					  (uintptr_t)w->region, HOLD_MS, 0);
			if (ret) {
				w->err = -ret;
				break;
			}
			w->held_ns += vl_now_ns() - s;
			w->ops++;
			/* No pause: the next hold queues behind any waiting reader. */
			sched_yield();
		} else if (!strcmp(w->kind, "mprotect")) {
			if (mprotect(w->region, w->len, ro ? PROT_READ : PROT_READ | PROT_WRITE)) {
				w->err = errno;
				break;
			}
			w->held_ns += vl_now_ns() - s;
			w->ops++;
			ro = !ro;
		} else {
			usleep(10000);
		}
	}
	w->t1 = vl_now_ns();
	return NULL;
}

static void writer_setup(struct writer *w, const char *kind)
{
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->len = (strcmp(kind, "mprotect") ? 1 : MPROT_PAGES) * VL_PAGE;
	w->region = vl_anon(w->len / VL_PAGE);
	if (w->region == MAP_FAILED)
		die("mmap writer region", errno);
	memset(w->region, 0x5a, w->len);	/* populated: mprotect() has PTEs to change */
}

static void writer_start(struct writer *w)
{
	w->stop = 0;
	w->ops = 0;
	w->held_ns = 0;
	w->err = 0;
	if (pthread_create(&w->thread, NULL, writer_fn, w))
		die("pthread_create", EAGAIN);
	usleep(5000);	/* let it take the lock once */
}

static void writer_stop(struct writer *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_join(w->thread, NULL);
	if (w->err)
		die(w->kind, w->err);
}

static void writer_json(const struct writer *w)
{
	uint64_t wall = w->t1 - w->t0;

	printf("\"writer\":\"%s\",\"writer_ops\":%llu,\"writer_busy\":%.4f",
	       w->kind, (unsigned long long)w->ops, wall ? (double)w->held_ns / wall : 0.0);
}

/* ------------------------------------------------------------------ clock */

static int cmd_clock(void)
{
	struct timespec res;
	uint64_t v[10000], t0, t1;
	int i;

	for (i = 0; i < 10000; i++) {
		t0 = now_ns(CLOCK_MONOTONIC);
		t1 = now_ns(CLOCK_MONOTONIC);
		v[i] = t1 - t0;
	}
	qsort(v, 10000, sizeof(v[0]), cmp_u64);
	clock_getres(CLOCK_MONOTONIC, &res);
	printf("{\"bench\":\"clock\",\"res_ns\":%ld,\"gettime_p50_ns\":%llu,\"gettime_p99_ns\":%llu}\n",
	       res.tv_nsec, (unsigned long long)pct(v, 10000, 50),
	       (unsigned long long)pct(v, 10000, 99));
	return 0;
}

/* ---------------------------------------------------- 1. uncontended BENCH */

static int cmd_uncontended(int trials, unsigned int iters)
{
	void *target = shared_page();
	int t, m;

	/* Warm-up, not reported. */
	for (m = 0; m < NR_MODES; m++) {
		struct vmalock_bench b = { .addr = (uintptr_t)target, .mode = m,
					   .iterations = iters / 4 ? iters / 4 : 1 };
		if (ioctl(g_fd, VMALOCK_IOC_BENCH, &b))
			die("BENCH", errno);
	}
	for (t = 0; t < trials; t++) {
		/* Rotate the order so that no mode always runs first. */
		for (m = 0; m < NR_MODES; m++) {
			int mode = (m + t) % NR_MODES;
			struct vmalock_bench b = { .addr = (uintptr_t)target, .mode = mode,
						   .iterations = iters };

			if (ioctl(g_fd, VMALOCK_IOC_BENCH, &b))
				die("BENCH", errno);
			printf("{\"bench\":\"uncontended\",\"trial\":%d,\"mode\":\"%s\",\"iters\":%u,"
			       "\"total_ns\":%llu,\"fast\":%llu,\"slow\":%llu,\"failed\":%llu}\n",
			       t, mode_name[mode], iters, (unsigned long long)b.total_ns,
			       (unsigned long long)b.fast, (unsigned long long)b.slow,
			       (unsigned long long)b.failed);
			fflush(stdout);
		}
	}
	return 0;
}

/* ------------------------------------------------- 2. latency under writer */

#define MAX_SAMPLES	(1 << 20)

struct reader {
	pthread_t thread;
	uint64_t seed;
	uint64_t addr;
	int mode;
	uint64_t deadline;
	uint64_t *lat;
	size_t n;
	uint64_t errors, fast, slow;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;

	while (r->n < MAX_SAMPLES) {
		struct vmalock_lookup l = { .addr = r->addr, .mode = r->mode };
		uint64_t t0 = now_ns(CLOCK_MONOTONIC), t1;
		int ret = ioctl(g_fd, VMALOCK_IOC_LOOKUP, &l);

		t1 = now_ns(CLOCK_MONOTONIC);
		r->lat[r->n++] = t1 - t0;
		if (ret)
			r->errors++;
		else if (l.path == VMALOCK_PATH_FAST)
			r->fast++;
		else if (l.path == VMALOCK_PATH_SLOW)
			r->slow++;
		if (t1 >= r->deadline)
			break;
		/*
		 * Paced, not back to back: a reader that calls again as soon as
		 * it returns samples mostly the short windows between two holds
		 * (one slow call per hold, then many fast ones: coordinated
		 * omission). A random pause makes each call start at a random
		 * point of the writer's cycle.
		 */
		usleep(PACE_MIN_US + vl_rand(&r->seed) % PACE_SPAN_US);
	}
	return NULL;
}

static int cmd_latency(const char *kind, int trials, int duration_ms, int nreaders)
{
	struct reader *rd = calloc(nreaders, sizeof(*rd));
	uint64_t *all = malloc((size_t)nreaders * MAX_SAMPLES * sizeof(uint64_t));
	void *target = shared_page();
	struct writer w;
	int t, m, i;

	if (!rd || !all)
		die("malloc", ENOMEM);
	for (i = 0; i < nreaders; i++) {
		rd[i].lat = all + (size_t)i * MAX_SAMPLES;
		memset(rd[i].lat, 0, MAX_SAMPLES * sizeof(uint64_t));	/* fault in now */
	}
	writer_setup(&w, kind);
	for (t = 0; t < trials; t++) {
		for (m = 0; m < NR_MODES; m++) {
			int mode = (m + t) % NR_MODES;
			uint64_t hist[NBUCKETS] = { 0 }, errors = 0, fast = 0, slow = 0, sum = 0, over = 0;
			size_t n = 0, k;

			writer_start(&w);
			for (i = 0; i < nreaders; i++) {
				rd[i].addr = (uintptr_t)target;
				rd[i].mode = mode;
				rd[i].seed = 0x9e3779b97f4a7c15ULL * (t * NR_MODES + mode + 1) + i;
				rd[i].n = rd[i].errors = rd[i].fast = rd[i].slow = 0;
				rd[i].deadline = now_ns(CLOCK_MONOTONIC) + duration_ms * 1000000ULL;
				pthread_create(&rd[i].thread, NULL, reader_fn, &rd[i]);
			}
			for (i = 0; i < nreaders; i++)
				pthread_join(rd[i].thread, NULL);
			writer_stop(&w);
			/* Pack the readers' samples together. */
			for (i = 0; i < nreaders; i++) {
				memmove(all + n, rd[i].lat, rd[i].n * sizeof(uint64_t));
				n += rd[i].n;
				errors += rd[i].errors;
				fast += rd[i].fast;
				slow += rd[i].slow;
			}
			for (k = 0; k < n; k++) {
				int b = 0;

				while (b < NBUCKETS - 1 && (all[k] >> (b + 1)))
					b++;
				hist[b]++;
				sum += all[k];
				over += all[k] >= 1000000;
			}
			qsort(all, n, sizeof(all[0]), cmp_u64);
			printf("{\"bench\":\"latency\",\"trial\":%d,\"mode\":\"%s\",\"readers\":%d,",
			       t, mode_name[mode], nreaders);
			writer_json(&w);
			printf(",\"n\":%zu,\"over_1ms\":%llu,\"errors\":%llu,\"fast\":%llu,\"slow\":%llu,"
			       "\"mean_ns\":%llu,\"p50_ns\":%llu,\"p90_ns\":%llu,\"p99_ns\":%llu,"
			       "\"p999_ns\":%llu,\"max_ns\":%llu,\"hist_log2\":[",
			       n, (unsigned long long)over, (unsigned long long)errors, (unsigned long long)fast,
			       (unsigned long long)slow, (unsigned long long)(n ? sum / n : 0),
			       (unsigned long long)pct(all, n, 50), (unsigned long long)pct(all, n, 90),
			       (unsigned long long)pct(all, n, 99), (unsigned long long)pct(all, n, 99.9),
			       (unsigned long long)(n ? all[n - 1] : 0));
			for (k = 0; k < NBUCKETS; k++)
				printf("%s%llu", k ? "," : "", (unsigned long long)hist[k]);
			printf("]}\n");
			fflush(stdout);
		}
	}
	return 0;
}

/* ------------------------------------------------ 2b. same VMA: wait once */

struct wait_sample {
	uint64_t wall, cpu;
	int ret;
	uint32_t path;
	uint64_t calls;
};

static struct wait_sample timed_wait(uint64_t addr, int spin)
{
	struct wait_sample s = { 0 };
	struct vmalock_lookup l = { .addr = addr };
	uint64_t w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);

	if (spin) {
		/* What a caller of the failing helper would do: retry until it succeeds. */
		do {
			l.mode = VMALOCK_MODE_RCU;
			s.ret = vl_ioctl(g_fd, VMALOCK_IOC_LOOKUP, &l);
			s.calls++;
		} while (s.ret == -EAGAIN);
	} else {
		l.mode = VMALOCK_MODE_WAIT;
		s.ret = vl_ioctl(g_fd, VMALOCK_IOC_LOOKUP, &l);
		s.calls = 1;
	}
	s.cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	s.wall = now_ns(CLOCK_MONOTONIC) - w0;
	s.path = l.path;
	return s;
}

static int cmd_samevma(int trials, int hold_ms)
{
	void *target = shared_page();
	int t, spin;

	for (t = 0; t < trials; t++) {
		for (spin = 0; spin < 2; spin++) {
			struct vl_holder h = { .fd = g_fd, .cmd = VMALOCK_IOC_HOLD_MMAP_WRITE,
					       .addr = (uintptr_t)target, .ms = hold_ms,
					       .flags = VMALOCK_HOLD_VMA_WRITE };
			struct wait_sample s;
			uint64_t seen;
			int ret;

			ret = vl_holder_start_locked(&h, 5000);
			if (ret)
				die("VMA never write-locked", -ret);
			seen = vl_now_ns();
			s = timed_wait((uintptr_t)target, spin);
			vl_holder_join(&h);
			printf("{\"bench\":\"samevma\",\"trial\":%d,\"how\":\"%s\",\"hold_ms\":%d,"
			       "\"ret\":%d,\"path\":%u,\"calls\":%llu,\"wall_ns\":%llu,\"cpu_ns\":%llu,"
			       "\"hold_left_ns\":%lld}\n",
			       t, spin ? "rcu_retry_loop" : "wait", hold_ms, s.ret, s.path,
			       (unsigned long long)s.calls, (unsigned long long)s.wall,
			       (unsigned long long)s.cpu, (long long)(h.ended_ns - seen));
			fflush(stdout);
		}
	}
	return 0;
}

/* ------------------------------------------------------- 3. reclaim scans */

static int cmd_reclaim(const char *kind, int trials, int scans)
{
	char *pool = vl_map(g_fd, RECLAIM_POOL);
	struct writer w;
	int t, s, k;

	if (pool == MAP_FAILED)
		die("mmap /dev/vmalock", errno);
	writer_setup(&w, kind);
	for (t = 0; t < trials; t++) {
		uint64_t freed[2] = { 0 }, skipped[2] = { 0 }, ns[2] = { 0 }, zero[2] = { 0 };

		writer_start(&w);
		for (s = 0; s < scans; s++) {
			for (k = 0; k < 2; k++) {
				int mode = (k + s) % 2;	/* alternate which goes first */
				uint64_t f = 0, sk = 0, t0;
				int ret;

				/* Refill: every pool page released (on the LRU), still mapped. */
				ret = vl_alloc(g_fd, pool, RECLAIM_POOL);
				if (!ret)
					ret = vl_release(g_fd, pool, RECLAIM_POOL);
				if (ret)
					die("ALLOC/RELEASE", -ret);
				t0 = vl_now_ns();
				ret = vl_reclaim(g_fd, mode, RECLAIM_NR, &f, &sk);
				ns[mode] += vl_now_ns() - t0;
				if (ret)
					die("RECLAIM", -ret);
				freed[mode] += f;
				skipped[mode] += sk;
				zero[mode] += !f;
			}
		}
		writer_stop(&w);
		printf("{\"bench\":\"reclaim\",\"trial\":%d,", t);
		writer_json(&w);
		printf(",\"scans\":%d,\"nr_to_scan\":%d,"
		       "\"vma_freed\":%llu,\"vma_skipped\":%llu,\"vma_zero_scans\":%llu,\"vma_ns\":%llu,"
		       "\"mmap_freed\":%llu,\"mmap_skipped\":%llu,\"mmap_zero_scans\":%llu,\"mmap_ns\":%llu}\n",
		       scans, RECLAIM_NR,
		       (unsigned long long)freed[VMALOCK_RECLAIM_VMA_TRYLOCK],
		       (unsigned long long)skipped[VMALOCK_RECLAIM_VMA_TRYLOCK],
		       (unsigned long long)zero[VMALOCK_RECLAIM_VMA_TRYLOCK],
		       (unsigned long long)ns[VMALOCK_RECLAIM_VMA_TRYLOCK],
		       (unsigned long long)freed[VMALOCK_RECLAIM_MMAP_TRYLOCK],
		       (unsigned long long)skipped[VMALOCK_RECLAIM_MMAP_TRYLOCK],
		       (unsigned long long)zero[VMALOCK_RECLAIM_MMAP_TRYLOCK],
		       (unsigned long long)ns[VMALOCK_RECLAIM_MMAP_TRYLOCK]);
		fflush(stdout);
	}
	/* Leave nothing on the LRU. */
	vl_alloc(g_fd, pool, RECLAIM_POOL);
	munmap(pool, RECLAIM_POOL * VL_PAGE);
	return 0;
}

/* ------------------------------------------- 5. ksmd beside mmap writers */

#define KSM_TIMEOUT_MS	120000
#define KSM_WRITER_PAGES 1024
#define KSM_MAX_WRITERS	16

struct ksm_writers {
	volatile int stop;
	long ops[KSM_MAX_WRITERS];
};

struct ksm_writer {
	struct ksm_writers *all;
	int id;
};

/*
 * mmap a populated region of 4 MiB, mprotect it read-only and back, munmap
 * it, in a loop: mmap(), both mprotect() calls and munmap() take the
 * mmap_lock for write, and each mprotect() holds it while it walks the
 * region's 1024 page table entries, so a writer holds the lock for a
 * noticeable share of its time, as a process changing its mappings does.
 * The region is never mergeable and never next to the mergeable one's
 * flags, so it does not share a VMA with it.
 */
static void *ksm_writer_fn(void *arg)
{
	struct ksm_writer *w = arg;
	size_t len = KSM_WRITER_PAGES * VL_PAGE;

	while (!w->all->stop) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (p == MAP_FAILED)
			die("mmap", errno);
		if (mprotect(p, len, PROT_READ) || mprotect(p, len, PROT_READ | PROT_WRITE))
			die("mprotect", errno);
		munmap(p, len);
		__atomic_add_fetch(&w->all->ops[w->id], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static long ksm_full_scans(void)
{
	char buf[32];

	return vl_ksm_read("full_scans", buf, sizeof(buf)) ? -1 : strtol(buf, NULL, 10);
}

static int cmd_ksm(int nwriters, int trials, long pages)
{
	static const char *const knobs[] = { "run", "pages_to_scan", "sleep_millisecs",
					     "use_zero_pages" };
	char saved[4][32];
	int t, i;

	if (nwriters < 0 || nwriters > KSM_MAX_WRITERS || pages <= 0) {
		fprintf(stderr, "ksm: 0..%d writers and at least one page\n", KSM_MAX_WRITERS);
		return 2;
	}
	for (i = 0; i < 4; i++) {
		if (vl_ksm_read(knobs[i], saved[i], sizeof(saved[i])))
			die("/sys/kernel/mm/ksm", errno);
		saved[i][strcspn(saved[i], "\n")] = '\0';
	}
	/* ksmd's defaults, except for the batch: 16 MiB in ~16 batches per scan. */
	if (vl_ksm_write("use_zero_pages", "0") || vl_ksm_write("pages_to_scan", "256") ||
	    vl_ksm_write("sleep_millisecs", "20") || vl_ksm_write("run", "1"))
		die("/sys/kernel/mm/ksm", errno);

	for (t = 0; t < trials; t++) {
		struct ksm_writers all = { 0 };
		struct ksm_writer ws[KSM_MAX_WRITERS];
		pthread_t th[KSM_MAX_WRITERS];
		size_t len = pages * VL_PAGE;
		long merged = 0, scans0, ops = 0;
		uint64_t t0, ms;
		char *region;

		/*
		 * ksm_merging_pages drops only when ksmd rescans the pages of
		 * the last trial's region, which is gone: wait for that, or
		 * this trial would see the old count and stop at once.
		 */
		t0 = vl_now_ns();
		while ((merged = vl_ksm_merging_pages()) != 0 && vl_ms_since(t0) < KSM_TIMEOUT_MS)
			usleep(20 * 1000);
		if (merged)
			die("ksm_merging_pages stays above 0 after the last trial", EBUSY);
		region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED)
			die("mmap", errno);
		/* A content of its own per trial: nothing merges with an old KSM page. */
		for (i = 0; i < pages; i++)
			vl_fill_pattern(region + (size_t)i * VL_PAGE, VL_PAGE, 0x6b736d00 + t);
		for (i = 0; i < nwriters; i++) {
			ws[i] = (struct ksm_writer){ .all = &all, .id = i };
			if (pthread_create(&th[i], NULL, ksm_writer_fn, &ws[i]))
				die("pthread_create", errno);
		}
		scans0 = ksm_full_scans();
		t0 = vl_now_ns();
		if (madvise(region, len, MADV_MERGEABLE))
			die("madvise", errno);
		while (vl_ms_since(t0) < KSM_TIMEOUT_MS) {
			merged = vl_ksm_merging_pages();
			if (merged < 0 || merged >= pages)
				break;
			usleep(5000);
		}
		ms = vl_ms_since(t0);
		all.stop = 1;
		for (i = 0; i < nwriters; i++) {
			pthread_join(th[i], NULL);
			ops += all.ops[i];
		}
		for (i = 0; i < pages; i++)
			if (vl_check_pattern(region + (size_t)i * VL_PAGE, VL_PAGE, 0x6b736d00 + t, 0) >= 0)
				die("a merged page lost its content", EIO);
		printf("{\"bench\":\"ksm\",\"writers\":%d,\"trial\":%d,\"pages\":%ld,"
		       "\"merged\":%ld,\"merge_ms\":%llu,\"full_scans\":%ld,\"writer_ops\":%ld,"
		       "\"timed_out\":%d}\n",
		       nwriters, t, pages, merged, (unsigned long long)ms,
		       ksm_full_scans() - scans0, ops, merged < pages);
		fflush(stdout);
		if (madvise(region, len, MADV_UNMERGEABLE))
			die("madvise", errno);
		munmap(region, len);
	}

	vl_ksm_write("run", "0");
	for (i = 1; i < 4; i++)
		vl_ksm_write(knobs[i], saved[i]);
	vl_ksm_write("run", saved[0]);
	return 0;
}

/*
 * Write faults, one per page of a fresh mapping of PAGES pages, timed:
 *   anon    private anonymous memory (page_fault1);
 *   shared  a shared mapping of a memfd (page_fault3): a shmem page per fault;
 *   cow     a private mapping of a memfd whose pages exist (page_fault2): a
 *           copy of the file's page per fault.
 * WRITER "mprotect" runs ksm_writer_fn() in a second thread of this process
 * meanwhile: it takes this mm's mmap_lock for write over and over, which a
 * fault under the mmap_lock waits for and a fault under the VMA lock does not.
 */
static int cmd_fault(const char *kind, const char *writer, int trials, long pages)
{
	size_t len = pages * VL_PAGE;
	int t, use_writer;
	long i;

	if (strcmp(kind, "anon") && strcmp(kind, "shared") && strcmp(kind, "cow"))
		return usage();
	if (!strcmp(writer, "mprotect"))
		use_writer = 1;
	else if (!strcmp(writer, "none"))
		use_writer = 0;
	else
		return usage();
	if (pages <= 0)
		return usage();

	for (t = 0; t < trials; t++) {
		struct ksm_writers all = { 0 };
		struct ksm_writer w = { .all = &all, .id = 0 };
		struct rusage r0, r1;
		uint64_t t0, ns;
		pthread_t th;
		int fd = -1;
		char *p;

		if (strcmp(kind, "anon")) {
			fd = memfd_create("vmalock-fault", 0);
			if (fd < 0 || ftruncate(fd, len))
				die("memfd", errno);
			if (!strcmp(kind, "cow")) {
				/* The file's pages, outside the timed part. */
				p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
					 fd, 0);
				if (p == MAP_FAILED)
					die("mmap", errno);
				for (i = 0; i < pages; i++)
					p[i * VL_PAGE] = 1;
				munmap(p, len);
			}
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 (fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : !strcmp(kind, "cow") ? MAP_PRIVATE : MAP_SHARED),
			 fd, 0);
		if (p == MAP_FAILED)
			die("mmap", errno);
		if (use_writer && pthread_create(&th, NULL, ksm_writer_fn, &w))
			die("pthread_create", errno);
		if (use_writer)
			usleep(10000);	/* the writer is in its loop */
		getrusage(RUSAGE_THREAD, &r0);
		t0 = now_ns(CLOCK_MONOTONIC);
		for (i = 0; i < pages; i++)
			p[i * VL_PAGE] = 2;
		ns = now_ns(CLOCK_MONOTONIC) - t0;
		getrusage(RUSAGE_THREAD, &r1);
		all.stop = 1;
		if (use_writer)
			pthread_join(th, NULL);
		printf("{\"bench\":\"fault\",\"kind\":\"%s\",\"writer\":\"%s\",\"trial\":%d,"
		       "\"pages\":%ld,\"ns\":%llu,\"minflt\":%ld,\"writer_ops\":%ld}\n",
		       kind, writer, t, pages, (unsigned long long)ns,
		       r1.ru_minflt - r0.ru_minflt, all.ops[0]);
		fflush(stdout);
		munmap(p, len);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/*
 * A fixed CPU-bound loop: how fast the guest runs right now. Under emulation
 * the host's other work slows the whole guest; tcp_mmap trials are
 * normalized by this (scripts/bench-report.py).
 */
static int cmd_spin(const char *tag)
{
	volatile uint64_t x = 1;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), i;

	for (i = 0; i < 20000000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	printf("{\"bench\":\"spin\",\"tag\":\"%s\",\"ns\":%llu}\n", tag,
	       (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0));
	return 0;
}

struct slabinfo_line {
	unsigned long active_objs, num_objs, objsize, objperslab, pagesperslab;
	unsigned long active_slabs, num_slabs;
};

/* One cache's line of /proc/slabinfo (version 2.1); -1 if it is not there. */
static int slabinfo(const char *cache, struct slabinfo_line *l)
{
	char line[512], name[64];
	int found = -1;
	FILE *f;

	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lu %lu %lu %lu %lu : tunables %*u %*u %*u : slabdata %lu %lu",
			   name, &l->active_objs, &l->num_objs, &l->objsize, &l->objperslab,
			   &l->pagesperslab, &l->active_slabs, &l->num_slabs) == 8 &&
		    !strcmp(name, cache))
			found = 0;
	}
	fclose(f);
	return found;
}

static long count_vmas(void)
{
	char line[512];
	long n = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		die("/proc/self/maps", errno);
	while (fgets(line, sizeof(line), f))
		n += !!strchr(line, '\n');
	fclose(f);
	return n;
}

/*
 * The memory of VMAs: the object size and slab geometry of the vm_area_struct
 * and mm_struct caches, then, per trial, the slabs that NVMAS more VMAs of
 * this process take (one mapping of NVMAS pages, every other page made
 * read-only, so that no two neighbours can merge).
 */
static int cmd_slab(int trials, long nvmas)
{
	static const char *const caches[] = { "vm_area_struct", "mm_struct" };
	long psz = sysconf(_SC_PAGESIZE);
	struct slabinfo_line a, b;
	long v0, v1, i;
	unsigned int c;
	char *p;
	int t;

	for (c = 0; c < 2; c++) {
		if (slabinfo(caches[c], &a))
			die("/proc/slabinfo has no such cache", ENOENT);
		printf("{\"bench\":\"slab_cache\",\"cache\":\"%s\",\"objsize\":%lu,"
		       "\"objperslab\":%lu,\"pagesperslab\":%lu,\"page_size\":%ld}\n",
		       caches[c], a.objsize, a.objperslab, a.pagesperslab, psz);
	}
	for (t = 0; t < trials; t++) {
		v0 = count_vmas();
		if (slabinfo("vm_area_struct", &a))
			die("/proc/slabinfo: vm_area_struct", ENOENT);
		p = mmap(NULL, nvmas * psz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap", errno);
		for (i = 1; i < nvmas; i += 2)
			if (mprotect(p + i * psz, psz, PROT_READ))
				die("mprotect", errno);
		v1 = count_vmas();
		if (slabinfo("vm_area_struct", &b))
			die("/proc/slabinfo: vm_area_struct", ENOENT);
		printf("{\"bench\":\"slab\",\"trial\":%d,\"vmas\":%ld,\"objs\":%ld,"
		       "\"slabs\":%ld,\"bytes\":%ld}\n", t, v1 - v0,
		       (long)(b.active_objs - a.active_objs), (long)(b.num_slabs - a.num_slabs),
		       (long)(b.num_slabs - a.num_slabs) * (long)b.pagesperslab * psz);
		if (munmap(p, nvmas * psz))
			die("munmap", errno);
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: vmalock_bench clock\n"
		"       vmalock_bench spin TAG\n"
		"       vmalock_bench uncontended TRIALS ITERS\n"
		"       vmalock_bench latency hold|mprotect|none TRIALS DURATION_MS READERS\n"
		"       vmalock_bench samevma TRIALS HOLD_MS\n"
		"       vmalock_bench reclaim hold|mprotect|none TRIALS SCANS\n"
		"       vmalock_bench ksm WRITERS TRIALS PAGES\n"
		"       vmalock_bench slab TRIALS VMAS\n"
		"       vmalock_bench fault anon|shared|cow none|mprotect TRIALS PAGES\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "clock"))
		return cmd_clock();
	if (!strcmp(argv[1], "spin") && argc == 3)
		return cmd_spin(argv[2]);
	if (!strcmp(argv[1], "ksm") && argc == 5)
		return cmd_ksm(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
	if (!strcmp(argv[1], "fault") && argc == 6)
		return cmd_fault(argv[2], argv[3], atoi(argv[4]), atol(argv[5]));
	if (!strcmp(argv[1], "slab") && argc == 4)
		return cmd_slab(atoi(argv[2]), atol(argv[3]));
	g_fd = vl_open();
	if (g_fd < 0)
		die(VL_DEV, errno);
	if (!strcmp(argv[1], "uncontended") && argc == 4)
		return cmd_uncontended(atoi(argv[2]), strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[1], "latency") && argc == 6)
		return cmd_latency(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(argv[1], "samevma") && argc == 4)
		return cmd_samevma(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(argv[1], "reclaim") && argc == 5)
		return cmd_reclaim(argv[2], atoi(argv[3]), atoi(argv[4]));
	return usage();
}
