// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_fuzz: a bounded random-ioctl fuzzer. FUZZ_CALLS calls over all
 * commands (and unknown ones) with random argument sizes, addresses,
 * lengths, modes, flags and reserved fields, from two threads with a
 * vmalock mapping each; stops early after FUZZ_MS (emulation) and reports
 * how many calls ran.
 *
 * The seed is random (printed as "# seed: N" at the start); the calls of a
 * failed run are made again with VMALOCK_FUZZ_SEED=N (each thread's
 * sequence of calls is the same; how the two threads interleave is not).
 *
 * Each call's result is checked against what the ABI (the header's and
 * Documentation/vmalock.rst's rules) says for that input: the one errno it
 * defines, or success, wherever the input decides it. A model of the
 * address space (a fixed layout, below) and of each thread's own pages
 * (empty, in use, released, zerocopy) tells which VMA an address is in and
 * what state its pages are in. Where the ABI itself allows more than one
 * result, the set it allows is accepted, and only then:
 *  - RCU lookups may fail with EAGAIN: the other thread may be holding the
 *    VMA, or mmap_lock, for writing (HOLD_MMAP_WRITE);
 *  - a released page may be reclaimed at any time (the shrinker), so a
 *    ZC_MAP over it may succeed or be EBUSY, a USER_READ of it succeed or be
 *    EFAULT;
 *  - memory the model does not know (random addresses that hit a mapping of
 *    the program) is only known to have a VMA.
 * Precedence, where an input breaks several rules: the argument size
 * (EINVAL short, E2BIG non-zero tail) first, since the kernel takes the
 * size from the command before it decodes anything; then the checks of the
 * fields ("before anything is done": EINVAL); then UNSAFE without
 * allow_unsafe (EPERM); then what the memory is (ENOENT, EINVAL, EBUSY,
 * EFAULT). Successful calls are checked too: LOOKUP's VMA bounds, flags and
 * path, BENCH's counts, ZC_MAP's data and mapped length, ALLOC's zeroed or
 * taken back pages, USER_READ's checksum.
 *
 * Afterwards: nothing was ever mapped into memory that only impostor calls
 * saw, and STATS show nothing in use or on the LRU.
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
#define GUARD_PAGES	2	/* pick_addr() goes up to 2 pages past a thread's map */

static const unsigned long cmds[] = {
	VMALOCK_IOC_LOOKUP, VMALOCK_IOC_BENCH, VMALOCK_IOC_HOLD_MMAP_WRITE,
	VMALOCK_IOC_HOLD_VMA_READ, VMALOCK_IOC_ZC_MAP, VMALOCK_IOC_ALLOC,
	VMALOCK_IOC_RELEASE, VMALOCK_IOC_STATS, VMALOCK_IOC_USER_READ,
	VMALOCK_IOC_RECLAIM,
};
#define NCMDS	(ARRAY_SIZE(cmds))

static const char * const cmd_names[] = {
	"?", "LOOKUP", "BENCH", "HOLD_MMAP_WRITE", "HOLD_VMA_READ", "ZC_MAP", "ALLOC",
	"RELEASE", "STATS", "USER_READ", "RECLAIM",
};

/*
 * The address space the fuzzer aims at: one reservation, carved up into
 * (low to high)
 *
 *   guard | map 0 | guard | map 1 | guard | imp_map | guard | imp_anon | guard |
 *   readable | hole | guard
 *
 * Guards are PROT_NONE anonymous memory (a VMA that cannot be read), so
 * every VMA next to the regions is known; the maps are replaced in place
 * (MAP_FIXED) when a thread reopens its file; the hole has no VMA.
 */
enum kind { R_MAP, R_IMP_MAP, R_IMP_ANON, R_READABLE, R_GUARD, R_HOLE };

struct region {
	uint64_t start, end;
	enum kind kind;
	int owner;		/* R_MAP: the thread */
};

#define NREGIONS	(2 * THREADS + 8)

/* A thread's model of the pages of its own map. */
enum page_state { P_EMPTY, P_IN_USE, P_LRU, P_ZC };

struct fuzz {
	char *base;		/* the reservation */
	size_t base_len;
	char *maps[THREADS];
	char *imp_anon;		/* only ever given to ZC_MAP/ALLOC/RELEASE */
	char *imp_map;		/* another file's mapping: never populated */
	char *readable;		/* anonymous memory for USER_READ, all 0x42 */
	char *hole;
	struct region regions[NREGIONS];
	unsigned int nregions;
	uint64_t task_size;
	bool allow_unsafe;
	uint64_t seed;
	uint64_t t0;
	atomic_int stop;
	atomic_ulong calls, ok, exact, by_errno[160];
	atomic_int failures;
	char first[512];
};

struct fuzz_thread {
	struct fuzz *f;
	unsigned int id;
	uint64_t seed;
	int fd;
	char *map;
	unsigned long calls;
	/* The model of the own map's pages. */
	enum page_state st[MAP_PAGES];
	uint64_t zc_seed[MAP_PAGES];
	uint64_t zc_word[MAP_PAGES];	/* the page's first word in its ZC_MAP pattern */
};

/* The results a call may have: 0 or -errno, at most 4. */
struct want {
	int ret[4];
	unsigned int n;
};

static void want(struct want *w, int ret)
{
	w->n = 0;
	w->ret[w->n++] = ret;
}

static void want_also(struct want *w, int ret)
{
	if (w->n < ARRAY_SIZE(w->ret))
		w->ret[w->n++] = ret;
}

static bool wanted(const struct want *w, int ret)
{
	unsigned int i;

	for (i = 0; i < w->n; i++)
		if (w->ret[i] == ret)
			return true;
	return false;
}

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

/* splitmix64: a thread's xorshift seed from the run's seed (never 0). */
static uint64_t thread_seed(uint64_t seed, unsigned int id)
{
	uint64_t z = seed + (id + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) | 1;
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

/* ---- the model ---- */

/* The known region holding addr, or NULL. */
static const struct region *region_of(const struct fuzz *f, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < f->nregions; i++)
		if (addr >= f->regions[i].start && addr < f->regions[i].end)
			return &f->regions[i];
	return NULL;
}

/*
 * Is there a VMA at user address addr? *r gets the known region (NULL for
 * memory of the program outside the layout: then mincore() tells).
 */
static bool vma_at(const struct fuzz *f, uint64_t addr, const struct region **r)
{
	unsigned char v;

	*r = region_of(f, addr);
	if (*r)
		return (*r)->kind != R_HOLE;
	return mincore((void *)(uintptr_t)(addr & ~(VL_PAGE - 1)), VL_PAGE, &v) == 0;
}

/* Is [addr, addr + len) inside thread t's own map? *first gets its first page. */
static bool own_range(const struct fuzz_thread *t, uint64_t addr, uint64_t len,
		      unsigned int *first)
{
	uint64_t start = (uintptr_t)t->map, end = start + MAP_PAGES * VL_PAGE;

	if (addr < start || addr >= end || len > end - addr)
		return false;
	*first = (addr - start) / VL_PAGE;
	return true;
}

/* Page states of n pages from first: which occur. */
struct census {
	unsigned int empty, in_use, lru, zc;
};

static struct census census(const struct fuzz_thread *t, unsigned int first, unsigned int n)
{
	struct census c = { 0 };
	unsigned int i;

	for (i = first; i < first + n; i++) {
		switch (t->st[i]) {
		case P_EMPTY:
			c.empty++;
			break;
		case P_IN_USE:
			c.in_use++;
			break;
		case P_LRU:
			c.lru++;
			break;
		case P_ZC:
			c.zc++;
			break;
		}
	}
	return c;
}

/* validate_pages() of the ABI: page aligned, 1 .. MAX_PAGES pages, below TASK_SIZE. */
static bool pages_ok(const struct fuzz *f, uint64_t addr, uint64_t npages)
{
	if (!npages || npages > VL_MAX_PAGES || addr % VL_PAGE)
		return false;
	return addr + npages * VL_PAGE >= addr && addr + npages * VL_PAGE <= f->task_size;
}

/* A byte range: 1 .. max bytes, below TASK_SIZE, no wrap. */
static bool bytes_ok(const struct fuzz *f, uint64_t addr, uint64_t len, uint64_t max)
{
	if (!len || len > max)
		return false;
	return addr + len >= addr && addr + len <= f->task_size;
}

/* The FNV-1a checksum thread t's own map must give for [addr, addr + len). */
static uint64_t own_checksum(const struct fuzz_thread *t, uint64_t addr, uint64_t len)
{
	uint64_t h = VMALOCK_FNV_OFFSET, off = addr - (uintptr_t)t->map, i;

	for (i = off; i < off + len; i++) {
		unsigned int pg = i / VL_PAGE;
		uint64_t b = 0;

		if (t->st[pg] == P_ZC) {
			uint64_t w = vl_pattern(t->zc_seed[pg], t->zc_word[pg] + (i % VL_PAGE) / 8);

			b = (w >> (8 * (i % 8))) & 0xff;	/* little endian */
		}
		h ^= b;
		h *= VMALOCK_FNV_PRIME;
	}
	return h;
}

static uint64_t fill_checksum(unsigned char c, uint64_t len)
{
	uint64_t h = VMALOCK_FNV_OFFSET;

	while (len--) {
		h ^= c;
		h *= VMALOCK_FNV_PRIME;
	}
	return h;
}

/*
 * What the ABI says the call (nr, its argument in buf of size bytes, after
 * the size rules) must return, into *w; *hint describes the input.
 */
static void expect_call(struct fuzz_thread *t, unsigned int nr, const char *buf,
			struct want *w, const char **hint)
{
	struct fuzz *f = t->f;
	const struct region *r;
	unsigned int first;
	struct census c;
	bool vma;

	*hint = "";
	switch (nr) {
	case 0x01: {
		const struct vmalock_lookup *l = (const void *)buf;

		if (l->mode > VMALOCK_MODE_UNLOCKED || l->addr >= f->task_size) {
			*hint = "bad mode or address";
			want(w, -EINVAL);
			break;
		}
		vma = vma_at(f, l->addr, &r);
		*hint = vma ? "a VMA" : "no VMA";
		want(w, vma ? 0 : -ENOENT);
		if (l->mode == VMALOCK_MODE_RCU)
			want_also(w, -EAGAIN);
		break;
	}
	case 0x02: {
		const struct vmalock_bench *b = (const void *)buf;

		if (b->mode > VMALOCK_MODE_UNLOCKED || b->addr >= f->task_size ||
		    !b->iterations || b->iterations > VMALOCK_BENCH_MAX_ITER) {
			*hint = "bad mode, address or iterations";
			want(w, -EINVAL);
			break;
		}
		vma = vma_at(f, b->addr, &r);
		*hint = vma ? "a VMA" : "no VMA";
		want(w, vma ? 0 : -ENOENT);
		/* RCU: a contended check before the loop counts as failures. */
		if (!vma && b->mode == VMALOCK_MODE_RCU)
			want_also(w, 0);
		break;
	}
	case 0x03:
	case 0x04: {
		const struct vmalock_hold *h = (const void *)buf;
		uint32_t allowed = nr == 0x03 ? VMALOCK_HOLD_VMA_WRITE : 0;

		if (h->ms > VMALOCK_HOLD_MAX_MS || (h->flags & ~allowed) ||
		    h->addr >= f->task_size) {
			*hint = "bad ms, flags or address";
			want(w, -EINVAL);
			break;
		}
		/* HOLD_MMAP_WRITE looks the VMA up only to write-lock it. */
		if (nr == 0x03 && !(h->flags & VMALOCK_HOLD_VMA_WRITE)) {
			*hint = "mmap_lock only";
			want(w, 0);
			break;
		}
		vma = vma_at(f, h->addr, &r);
		*hint = vma ? "a VMA" : "no VMA";
		want(w, vma ? 0 : -ENOENT);
		break;
	}
	case 0x05: {
		const struct vmalock_zc_map *z = (const void *)buf;

		if (z->len % VL_PAGE || !pages_ok(f, z->addr, z->len / VL_PAGE)) {
			*hint = "bad range";
			want(w, -EINVAL);
			break;
		}
		if (!own_range(t, z->addr, z->len, &first)) {
			*hint = "not inside the file's VMA";
			want(w, -EINVAL);
			break;
		}
		c = census(t, first, z->len / VL_PAGE);
		if (c.in_use || c.zc) {
			*hint = "pages in use or mapped";
			want(w, -EBUSY);
		} else if (c.lru) {
			*hint = "released pages (reclaimed or not)";
			want(w, -EBUSY);
			want_also(w, 0);
		} else {
			*hint = "empty pages";
			want(w, 0);
		}
		break;
	}
	case 0x06:
	case 0x07: {
		const struct vmalock_pages *p = (const void *)buf;

		if (!pages_ok(f, p->addr, p->npages)) {
			*hint = "bad range";
			want(w, -EINVAL);
			break;
		}
		if (!own_range(t, p->addr, p->npages * VL_PAGE, &first)) {
			*hint = "not inside the file's VMA";
			want(w, -EINVAL);
			break;
		}
		c = census(t, first, p->npages);
		if (nr == 0x06) {
			*hint = c.in_use || c.zc ? "pages in use or mapped" : "free pages";
			want(w, c.in_use || c.zc ? -EBUSY : 0);
		} else {
			*hint = c.in_use == p->npages ? "pages in use" : "pages not in use";
			want(w, c.in_use == p->npages ? 0 : -EINVAL);
		}
		break;
	}
	case 0x08:
		want(w, 0);
		break;
	case 0x09: {
		const struct vmalock_user_read *u = (const void *)buf;

		if (u->mode > VMALOCK_USER_READ_UNSAFE || u->__reserved ||
		    !bytes_ok(f, u->addr, u->len, VMALOCK_USER_READ_MAX)) {
			*hint = "bad mode, reserved field or range";
			want(w, -EINVAL);
			break;
		}
		if (u->mode == VMALOCK_USER_READ_UNSAFE) {
			*hint = "UNSAFE without allow_unsafe";
			want(w, -EPERM);
			break;
		}
		if (!vma_at(f, u->addr, &r)) {
			*hint = "no VMA";
			want(w, -ENOENT);
			break;
		}
		if (!r) {
			/* Some mapping of the program: only known to be a VMA. */
			*hint = "a VMA the model does not know";
			want(w, 0);
			want_also(w, -EINVAL);
			want_also(w, -EFAULT);
			break;
		}
		if (u->addr + u->len > r->end) {
			*hint = "past the end of its VMA";
			want(w, -EINVAL);
			break;
		}
		switch (r->kind) {
		case R_MAP:
			if (r->owner != (int)t->id) {
				*hint = "the other thread's map";
				want(w, 0);
				want_also(w, -EFAULT);
				break;
			}
			if (!own_range(t, u->addr, u->len, &first))
				first = 0;	/* cannot happen: inside r */
			c = census(t, first,
				   (u->addr + u->len - 1) / VL_PAGE - u->addr / VL_PAGE + 1);
			if (c.empty) {
				*hint = "a page not inserted (SIGBUS)";
				want(w, -EFAULT);
			} else if (c.lru) {
				*hint = "released pages (reclaimed or not)";
				want(w, 0);
				want_also(w, -EFAULT);
			} else {
				*hint = "pages in use or mapped";
				want(w, 0);
			}
			break;
		case R_IMP_MAP:
			*hint = "a vmalock mapping with no page (SIGBUS)";
			want(w, -EFAULT);
			break;
		case R_GUARD:
			*hint = "PROT_NONE";
			want(w, -EFAULT);
			break;
		default:
			*hint = "readable memory";
			want(w, 0);
			break;
		}
		break;
	}
	case 0x0a: {
		const struct vmalock_reclaim *rc = (const void *)buf;

		if (rc->mode > VMALOCK_RECLAIM_MMAP_TRYLOCK || rc->__reserved ||
		    !rc->nr_to_scan || rc->nr_to_scan > VL_MAX_PAGES) {
			*hint = "bad mode, reserved field or nr_to_scan";
			want(w, -EINVAL);
			break;
		}
		want(w, 0);
		break;
	}
	}
}

/* Check the outputs of a successful call and update the model. */
static void after_success(struct fuzz_thread *t, unsigned int nr, const char *buf)
{
	struct fuzz *f = t->f;
	const struct region *r;
	unsigned int first, i;

	switch (nr) {
	case 0x01: {
		const struct vmalock_lookup *l = (const void *)buf;
		static const uint32_t path[] = { VMALOCK_PATH_FAST, VMALOCK_PATH_FAST,
						 VMALOCK_PATH_SLOW, VMALOCK_PATH_UNKNOWN };

		if (l->vm_start > l->addr || l->vm_end <= l->addr)
			fuzz_fail(f, "LOOKUP %#llx gave [%#llx, %#llx)",
				  (unsigned long long)l->addr, (unsigned long long)l->vm_start,
				  (unsigned long long)l->vm_end);
		if (l->path != path[l->mode] &&
		    !(l->mode == VMALOCK_MODE_WAIT && l->path == VMALOCK_PATH_SLOW))
			fuzz_fail(f, "LOOKUP mode %u reported path %u", l->mode, l->path);
		r = region_of(f, l->addr);
		/* Guards may merge with what is next to the layout: bounds not known. */
		if (r && r->kind != R_GUARD && (l->vm_start != r->start || l->vm_end != r->end))
			fuzz_fail(f, "LOOKUP %#llx gave [%#llx, %#llx), want [%#llx, %#llx)",
				  (unsigned long long)l->addr, (unsigned long long)l->vm_start,
				  (unsigned long long)l->vm_end, (unsigned long long)r->start,
				  (unsigned long long)r->end);
		if (r && (r->kind == R_MAP || r->kind == R_IMP_MAP) &&
		    (l->vm_flags & (VL_VM_SHARED | VL_VM_MIXEDMAP)) !=
		    (VL_VM_SHARED | VL_VM_MIXEDMAP))
			fuzz_fail(f, "LOOKUP of a vmalock mapping: vm_flags %#llx",
				  (unsigned long long)l->vm_flags);
		if (r && r->kind == R_GUARD && (l->vm_flags & (VL_VM_READ | VL_VM_WRITE)))
			fuzz_fail(f, "LOOKUP of PROT_NONE memory: vm_flags %#llx",
				  (unsigned long long)l->vm_flags);
		break;
	}
	case 0x02: {
		const struct vmalock_bench *b = (const void *)buf;
		uint64_t n = b->iterations;
		bool vma = vma_at(f, b->addr, &r);
		bool bad;

		bad = b->fast + b->slow + b->failed != n;
		switch (b->mode) {
		case VMALOCK_MODE_RCU:
			bad |= b->slow || (!vma && b->failed != n);
			break;
		case VMALOCK_MODE_WAIT:
			bad |= b->failed != 0;
			break;
		case VMALOCK_MODE_MMAP:
			bad |= b->slow != n;
			break;
		case VMALOCK_MODE_UNLOCKED:
			bad |= b->fast != n;
			break;
		}
		if (bad)
			fuzz_fail(f, "BENCH mode %u of %llu: fast %llu slow %llu failed %llu",
				  b->mode, (unsigned long long)n, (unsigned long long)b->fast,
				  (unsigned long long)b->slow, (unsigned long long)b->failed);
		break;
	}
	case 0x05: {
		const struct vmalock_zc_map *z = (const void *)buf;
		long bad;

		if (!own_range(t, z->addr, z->len, &first))
			break;
		for (i = 0; i < z->len / VL_PAGE; i++) {
			t->st[first + i] = P_ZC;
			t->zc_seed[first + i] = z->seed;
			t->zc_word[first + i] = i * VL_PAGE / 8;
		}
		if (z->mapped != z->len)
			fuzz_fail(f, "ZC_MAP of %llu bytes: mapped %llu",
				  (unsigned long long)z->len, (unsigned long long)z->mapped);
		/* Zerocopy pages stay until the file goes: safe to read. */
		bad = vl_check_pattern((void *)(uintptr_t)z->addr, z->len, z->seed, 0);
		if (bad >= 0)
			fuzz_fail(f, "ZC_MAP at %#llx: word %ld is not the pattern",
				  (unsigned long long)z->addr, bad);
		break;
	}
	case 0x06: {
		const struct vmalock_pages *p = (const void *)buf;

		if (!own_range(t, p->addr, p->npages * VL_PAGE, &first))
			break;
		for (i = first; i < first + p->npages; i++) {
			const uint64_t *w = (const uint64_t *)(t->map + i * VL_PAGE);
			unsigned int j;

			/* New and taken back pages alike: never written, all zero. */
			for (j = 0; j < VL_PAGE / 8 && !w[j]; j++)
				;
			if (j < VL_PAGE / 8) {
				fuzz_fail(f, "ALLOC'd page %u is not zero at word %u", i, j);
				break;
			}
			t->st[i] = P_IN_USE;
		}
		for (; i < first + p->npages; i++)
			t->st[i] = P_IN_USE;
		break;
	}
	case 0x07: {
		const struct vmalock_pages *p = (const void *)buf;

		if (!own_range(t, p->addr, p->npages * VL_PAGE, &first))
			break;
		for (i = first; i < first + p->npages; i++)
			t->st[i] = P_LRU;
		break;
	}
	case 0x09: {
		const struct vmalock_user_read *u = (const void *)buf;
		uint64_t want_sum;

		r = region_of(f, u->addr);
		if (!r || !(r->kind == R_READABLE || (r->kind == R_MAP && r->owner == (int)t->id)))
			break;
		want_sum = r->kind == R_MAP ? own_checksum(t, u->addr, u->len) :
			   fill_checksum(0x42, u->len);
		if (u->checksum != want_sum)
			fuzz_fail(f, "USER_READ %#llx + %u: checksum %#llx, want %#llx",
				  (unsigned long long)u->addr, u->len,
				  (unsigned long long)u->checksum, (unsigned long long)want_sum);
		break;
	}
	case 0x0a: {
		const struct vmalock_reclaim *rc = (const void *)buf;

		if (rc->freed > rc->nr_to_scan)
			fuzz_fail(f, "RECLAIM of %llu freed %llu",
				  (unsigned long long)rc->nr_to_scan,
				  (unsigned long long)rc->freed);
		break;
	}
	}
}

/* Are the n bytes at p zero? */
static bool tail_zero(const char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/*
 * A failed call changes nothing (and the model stays as it is: what the
 * shrinker may have done to released pages, it already allows for).
 */

static void one_call(struct fuzz_thread *t)
{
	struct fuzz *f = t->f;
	static __thread char buf[0x4000 + 64];
	unsigned long cmd;
	size_t size, ksize = 0;
	uint64_t addr = pick_addr(t);
	unsigned int which = vl_rand(&t->seed) % (NCMDS + 1);
	unsigned int nr;
	const char *hint = "";
	struct want w = { { 0 }, 0 };
	char in[64];
	int ret;

	memset(buf, 0, 256);
	if (which == NCMDS) {
		unsigned int n = vl_rand(&t->seed) % 256;

		cmd = _IOC(vl_rand(&t->seed) % 4, VMALOCK_IOC_MAGIC, n, 0);
		if (n >= 0x01 && n <= 0x0a)
			cmd = _IOC(_IOC_NONE, 0xB8, n, 0);	/* wrong magic */
		size = vl_rand(&t->seed) % 256;
	} else {
		cmd = cmds[which];
		size = ksize = _IOC_SIZE(cmd);
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
		uint64_t *a = (uint64_t *)buf, imp = (uintptr_t)f->imp_anon;

		if (*a >= imp && *a < imp + IMP_PAGES * VL_PAGE)
			*a = (uintptr_t)f->readable;
	}
	cmd = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
	nr = _IOC_NR(cmd);

	/* The size rules, then the command's own. */
	if (_IOC_TYPE(cmd) != VMALOCK_IOC_MAGIC || nr < 1 || nr > 0x0a) {
		hint = "unknown command";
		want(&w, -ENOTTY);
	} else if (size < ksize) {
		hint = "shorter than the struct";
		want(&w, -EINVAL);
	} else if (size > ksize && !tail_zero(buf + ksize, size - ksize)) {
		hint = "longer, non-zero tail";
		want(&w, -E2BIG);
	} else {
		expect_call(t, nr, buf, &w, &hint);
	}
	memcpy(in, buf, sizeof(in));	/* the input, for the report */

	ret = vl_ioctl(t->fd, cmd, buf);
	atomic_fetch_add(&f->calls, 1);
	if (w.n == 1)
		atomic_fetch_add(&f->exact, 1);
	if (!ret)
		atomic_fetch_add(&f->ok, 1);
	else if (-ret < 160)
		atomic_fetch_add(&f->by_errno[-ret], 1);
	if (!wanted(&w, ret)) {
		const uint64_t *q = (const uint64_t *)in;

		fuzz_fail(f, "thread %u call %lu: %s (nr %#x size %zu) "
			  "args %#llx %#llx %#llx %#llx (%s): got %d, want %d%s%s",
			  t->id, t->calls, nr >= 1 && nr <= 0x0a ? cmd_names[nr] : "unknown", nr,
			  size, (unsigned long long)q[0], (unsigned long long)q[1],
			  (unsigned long long)q[2], (unsigned long long)q[3], hint, ret, w.ret[0],
			  w.n > 1 ? " or " : "", w.n > 1 ? "another allowed result" : "");
		return;
	}
	if (!ret && _IOC_TYPE(cmd) == VMALOCK_IOC_MAGIC)
		after_success(t, nr, buf);
}

/* Open a new file and map it over the thread's map (MAP_FIXED, in place). */
static int remap(struct fuzz_thread *t)
{
	int fd = vl_open(), old = t->fd;
	char *m;

	if (fd < 0)
		return -errno;
	m = mmap(t->map, MAP_PAGES * VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	if (m != t->map) {
		close(fd);
		return m == MAP_FAILED ? -errno : -EFAULT;
	}
	t->fd = fd;
	if (old >= 0)
		close(old);
	memset(t->st, 0, sizeof(t->st));	/* all P_EMPTY */
	return 0;
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
		if (atomic_load(&f->failures))
			atomic_store(&f->stop, 1);
		if (t->calls % 256 == 0 && vl_ms_since(f->t0) > FUZZ_MS)
			atomic_store(&f->stop, 1);
	}
	return NULL;
}

FIXTURE(fuzz) {
	struct fuzz *f;
	struct fuzz_thread t[THREADS];
};

/* Add region [p, p + npages) of kind to the layout. */
static void add_region(struct fuzz *f, char *p, size_t npages, enum kind kind, int owner)
{
	f->regions[f->nregions++] = (struct region){
		.start = (uintptr_t)p, .end = (uintptr_t)p + npages * VL_PAGE,
		.kind = kind, .owner = owner,
	};
}

FIXTURE_SETUP(fuzz)
{
	struct fuzz *f = calloc(1, sizeof(*f));
	size_t pages = 1 + THREADS * (MAP_PAGES + GUARD_PAGES) + 3 * (IMP_PAGES + 1) + 1;
	char *p, *m;
	unsigned int i;
	int fd2, ret;

	ASSERT_NE(NULL, f);
	self->f = f;
	/* The seed: random, or VMALOCK_FUZZ_SEED to replay a run. */
	f->seed = vl_random_seed();
	ret = vl_env_u64("VMALOCK_FUZZ_SEED", &f->seed);
	ASSERT_LE(0, ret) TH_LOG("VMALOCK_FUZZ_SEED is not a number");
	ksft_print_msg("seed: %llu%s\n", (unsigned long long)f->seed,
		       ret ? " (VMALOCK_FUZZ_SEED)" : "");
	fflush(stdout);

	f->task_size = vl_task_size();
	f->allow_unsafe = vl_allow_unsafe();
	f->base_len = pages * VL_PAGE;
	f->base = mmap(NULL, f->base_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f->base);
	p = f->base;
	add_region(f, p, 1, R_GUARD, -1);
	p += VL_PAGE;
	for (i = 0; i < THREADS; i++) {
		f->maps[i] = p;
		add_region(f, p, MAP_PAGES, R_MAP, i);
		add_region(f, p + MAP_PAGES * VL_PAGE, GUARD_PAGES, R_GUARD, -1);
		p += (MAP_PAGES + GUARD_PAGES) * VL_PAGE;
	}
	fd2 = vl_open();
	ASSERT_LE(0, fd2) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	m = mmap(p, IMP_PAGES * VL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd2, 0);
	ASSERT_EQ(p, m);
	close(fd2);	/* the mapping keeps the file */
	f->imp_map = p;
	add_region(f, p, IMP_PAGES, R_IMP_MAP, -1);
	add_region(f, p + IMP_PAGES * VL_PAGE, 1, R_GUARD, -1);
	p += (IMP_PAGES + 1) * VL_PAGE;
	m = mmap(p, IMP_PAGES * VL_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p, m);
	f->imp_anon = p;
	add_region(f, p, IMP_PAGES, R_IMP_ANON, -1);
	add_region(f, p + IMP_PAGES * VL_PAGE, 1, R_GUARD, -1);
	p += (IMP_PAGES + 1) * VL_PAGE;
	m = mmap(p, IMP_PAGES * VL_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p, m);
	memset(p, 0x42, IMP_PAGES * VL_PAGE);
	f->readable = p;
	add_region(f, p, IMP_PAGES, R_READABLE, -1);
	p += IMP_PAGES * VL_PAGE;
	f->hole = p;
	ASSERT_EQ(0, munmap(f->hole, VL_PAGE));
	add_region(f, p, 1, R_HOLE, -1);
	p += VL_PAGE;
	add_region(f, p, 1, R_GUARD, -1);
	ASSERT_EQ(f->base + f->base_len, p + VL_PAGE);
	ASSERT_GE(NREGIONS, f->nregions);
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, random_ioctls, 300)
{
	struct fuzz *f = self->f;
	struct vmalock_stats s0, s1;
	pthread_t th[THREADS];
	unsigned char v;
	unsigned int i;
	char errs[512];
	size_t n = 0;
	int fd;

	fd = vl_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vl_stats(fd, &s0));
	f->t0 = vl_now_ns();
	for (i = 0; i < THREADS; i++) {
		self->t[i] = (struct fuzz_thread){ .f = f, .id = i, .fd = -1, .map = f->maps[i],
						   .seed = thread_seed(f->seed, i) };
		ASSERT_EQ(0, remap(&self->t[i]));
	}
	for (i = 0; i < THREADS; i++) {
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
		       atomic_load(&f->stop) ? "stopped early" : "all of them",
		       atomic_load(&f->ok), errs);
	ksft_print_msg("fuzz: %lu calls with exactly one result the ABI allows, "
		       "%lu with a set (TASK_SIZE %#llx)\n",
		       atomic_load(&f->exact), atomic_load(&f->calls) - atomic_load(&f->exact),
		       (unsigned long long)f->task_size);
	fflush(stdout);
	EXPECT_EQ(0, atomic_load(&f->failures))
		TH_LOG("first failure: %s; replay with VMALOCK_FUZZ_SEED=%llu", f->first,
		       (unsigned long long)f->seed);

	for (i = 0; i < THREADS; i++) {
		munmap(self->t[i].map, MAP_PAGES * VL_PAGE);
		close(self->t[i].fd);
	}
	/* Nothing was ever mapped into the impostors. */
	EXPECT_EQ(0, vl_mincore(f->imp_anon, IMP_PAGES, NULL));
	EXPECT_EQ(0, vl_mincore(f->imp_map, IMP_PAGES, NULL));
	/* The hole stayed a hole (the model's ENOENTs relied on it). */
	EXPECT_EQ(-1, mincore(f->hole, VL_PAGE, &v));
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
	munmap(f->base, f->base_len);
}

TEST_HARNESS_MAIN
