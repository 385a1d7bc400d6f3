// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_ksm: KSM merging beside VMA writers of the same process, which
 * is what the series' KSM patch changes (ksmd merges a page under the
 * read lock of its VMA instead of the mmap_lock).
 *
 * A mergeable region of NPAGES pages holds NPAT different page contents,
 * each in NPAGES / NPAT pages. While ksmd merges them, writer threads of
 * the same process mmap/mprotect/munmap unrelated regions in a loop, and
 * one thread mprotect()s the tail of the mergeable region back and forth,
 * which write-locks the VMA ksmd wants (splitting and merging it). The
 * test asserts:
 *  - every page ends up merged (/proc/self/ksm_merging_pages), within
 *    MERGE_TIMEOUT_MS, while the writers run;
 *  - every page reads back its content after merging, after a
 *    copy-on-write of some pages, and after MADV_UNMERGEABLE;
 *  - the writers got their work done (at least MIN_WRITER_OPS each);
 *  - copy-on-write and unmerging bring the process's count of merged
 *    pages down (once ksmd has seen the pages again: the count is lazy).
 * The KSM knobs are restored at teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define NPAGES		1024
#define NPAT		8
#define SEED_BASE	0x6b736d00ULL	/* "ksm" */
#define TAIL_PAGES	64
#define NWRITERS	4
#define MIN_WRITER_OPS	10
#define MERGE_TIMEOUT_MS 180000
#define COUNT_TIMEOUT_MS 60000

static const char *const knobs[] = {
	"run", "pages_to_scan", "sleep_millisecs", "use_zero_pages",
};

static uint64_t seed_of(size_t page)
{
	return SEED_BASE + page % NPAT;
}

/* First page (from 0) that does not hold its content, or -1. */
static long check_region(const char *region, long ps, const uint64_t *seeds)
{
	size_t i;

	for (i = 0; i < NPAGES; i++)
		if (vl_check_pattern(region + i * ps, ps, seeds[i], 0) >= 0)
			return i;
	return -1;
}

/*
 * ksm_merging_pages drops only when ksmd next scans a page that was
 * copied on write or unmerged (remove_rmap_item_from_tree()), not at the
 * fault: wait for ksmd to get there, up to COUNT_TIMEOUT_MS.
 */
static long wait_merging_at_most(long max)
{
	uint64_t t0 = vl_now_ns();
	long n;

	while ((n = vl_ksm_merging_pages()) > max && vl_ms_since(t0) < COUNT_TIMEOUT_MS)
		usleep(20 * 1000);
	return n;
}

struct writers {
	atomic_bool stop;
	atomic_long ops[NWRITERS];
	atomic_long tail_ops;
	atomic_long errors;
	char *tail;
	long ps;
};

struct writer_arg {
	struct writers *w;
	int id;
};

/* mmap, touch, mprotect, munmap an unrelated region, in a loop. */
static void *writer(void *arg)
{
	struct writer_arg *a = arg;
	struct writers *w = a->w;

	while (!atomic_load(&w->stop)) {
		size_t len = 16 * w->ps;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			atomic_fetch_add(&w->errors, 1);
			break;
		}
		memset(p, 0x5a, len);
		if (mprotect(p + 4 * w->ps, 4 * w->ps, PROT_READ) ||
		    munmap(p, len))
			atomic_fetch_add(&w->errors, 1);
		atomic_fetch_add(&w->ops[a->id], 1);
	}
	return NULL;
}

/* Write-lock the mergeable VMA: split it off and merge it back. */
static void *tail_writer(void *arg)
{
	struct writers *w = arg;

	while (!atomic_load(&w->stop)) {
		if (mprotect(w->tail, TAIL_PAGES * w->ps, PROT_READ) ||
		    mprotect(w->tail, TAIL_PAGES * w->ps, PROT_READ | PROT_WRITE))
			atomic_fetch_add(&w->errors, 1);
		atomic_fetch_add(&w->tail_ops, 1);
		usleep(1000);
	}
	return NULL;
}

FIXTURE(ksm)
{
	char saved[4][32];
	int have_saved;
	char *region;
	long ps;
	uint64_t seeds[NPAGES];
};

FIXTURE_SETUP(ksm)
{
	size_t i;

	self->ps = sysconf(_SC_PAGESIZE);
	self->have_saved = 0;
	if (access("/sys/kernel/mm/ksm/run", W_OK))
		SKIP(return, "no KSM (CONFIG_KSM)");
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, vl_ksm_read(knobs[i], self->saved[i], sizeof(self->saved[i])));
	self->have_saved = 1;
	ASSERT_EQ(0, vl_ksm_write("run", "0"));
	ASSERT_EQ(0, vl_ksm_write("use_zero_pages", "0"));
	ASSERT_EQ(0, vl_ksm_write("pages_to_scan", "512"));
	ASSERT_EQ(0, vl_ksm_write("sleep_millisecs", "10"));

	self->region = mmap(NULL, NPAGES * self->ps, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->region);
	for (i = 0; i < NPAGES; i++) {
		self->seeds[i] = seed_of(i);
		vl_fill_pattern(self->region + i * self->ps, self->ps, self->seeds[i]);
	}
	ASSERT_EQ(0, madvise(self->region, NPAGES * self->ps, MADV_MERGEABLE));
}

FIXTURE_TEARDOWN(ksm)
{
	size_t i;

	if (self->region && self->region != MAP_FAILED)
		munmap(self->region, NPAGES * self->ps);
	if (!self->have_saved)
		return;
	/* Stop ksmd first, then put every knob back as it was. */
	vl_ksm_write("run", "0");
	for (i = 1; i < 4; i++) {
		self->saved[i][strcspn(self->saved[i], "\n")] = '\0';
		vl_ksm_write(knobs[i], self->saved[i]);
	}
	self->saved[0][strcspn(self->saved[0], "\n")] = '\0';
	vl_ksm_write("run", self->saved[0]);
}

TEST_F_TIMEOUT(ksm, merge_beside_vma_writers, 280)
{
	pthread_t threads[NWRITERS + 1];
	struct writer_arg args[NWRITERS];
	struct writers w = { .ps = self->ps };
	long merged = 0, before[NWRITERS], bad, i;
	uint64_t t0;

	w.tail = self->region + (NPAGES - TAIL_PAGES) * self->ps;
	for (i = 0; i < NWRITERS; i++) {
		args[i] = (struct writer_arg){ .w = &w, .id = i };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, writer, &args[i]));
	}
	ASSERT_EQ(0, pthread_create(&threads[NWRITERS], NULL, tail_writer, &w));
	/* Start ksmd only once every writer is at work. */
	for (i = 0; i < NWRITERS; i++)
		while (!atomic_load(&w.ops[i]) && !atomic_load(&w.errors))
			usleep(1000);
	for (i = 0; i < NWRITERS; i++)
		before[i] = atomic_load(&w.ops[i]);

	t0 = vl_now_ns();
	ASSERT_EQ(0, vl_ksm_write("run", "1"));
	while (vl_ms_since(t0) < MERGE_TIMEOUT_MS) {
		merged = vl_ksm_merging_pages();
		if (merged < 0 || merged >= NPAGES)
			break;
		usleep(50 * 1000);
	}
	atomic_store(&w.stop, true);
	for (i = 0; i <= NWRITERS; i++)
		pthread_join(threads[i], NULL);

	for (i = 0; i < NWRITERS; i++)
		before[i] = atomic_load(&w.ops[i]) - before[i];
	ksft_print_msg("merged %ld of %d pages in %llu ms; ops of each writer while ksmd merged: %ld %ld %ld %ld; tail mprotect pairs %ld\n",
		       merged, NPAGES, (unsigned long long)vl_ms_since(t0),
		       before[0], before[1], before[2], before[3],
		       atomic_load(&w.tail_ops));
	ASSERT_EQ(NPAGES, merged);
	ASSERT_EQ(0, atomic_load(&w.errors));
	for (i = 0; i < NWRITERS; i++)
		EXPECT_LE(MIN_WRITER_OPS, before[i]);
	EXPECT_LE(MIN_WRITER_OPS, atomic_load(&w.tail_ops));

	bad = check_region(self->region, self->ps, self->seeds);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld lost its content after merging", bad);

	/* Copy-on-write: every 16th page gets a content of its own. */
	for (i = 0; i < NPAGES; i += 16) {
		self->seeds[i] = SEED_BASE + 0x100 + i;
		vl_fill_pattern(self->region + i * self->ps, self->ps, self->seeds[i]);
	}
	bad = check_region(self->region, self->ps, self->seeds);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld wrong after copy-on-write", bad);
	EXPECT_GE(NPAGES - NPAGES / 16, wait_merging_at_most(NPAGES - NPAGES / 16));

	ASSERT_EQ(0, madvise(self->region, NPAGES * self->ps, MADV_UNMERGEABLE));
	EXPECT_EQ(0, wait_merging_at_most(0));
	bad = check_region(self->region, self->ps, self->seeds);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld wrong after unmerging", bad);
}

TEST_HARNESS_MAIN
