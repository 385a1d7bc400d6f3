// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_lookup_bench: what the inline fast path of vma_start_read_unlocked()
 * saves over an out-of-line one. Loaded by `make bench` on the patched kernel
 * (scripts/guest/plans/bench.sh); results go to the kernel log.
 *
 * On load it maps one anonymous page into the mm of the loading process and
 * times @iters lookups of it per caller, each one a lock and an unlock, in
 * @trials rounds. Under TCG the cost of the same loop jumps between levels
 * (seen here: 280 and 620 ns per lookup) for reasons outside the loop, so
 * the three callers are interleaved: each round runs blocks of @block
 * lookups of each caller in turn, in an order that rotates from block to
 * block, and sums each caller's blocks. The three callers:
 *
 *   rcu     lock_vma_under_rcu(), the fast path alone;
 *   inline  vma_start_read_unlocked() as include/linux/mmap_lock.h defines it,
 *           inline in its caller, as every caller of the series uses it;
 *   ool     the same helper behind a call that the compiler may neither
 *           inline nor specialize (noipa): what every caller would pay if
 *           vma_start_read_unlocked() were an out-of-line function.
 *
 * Each round prints one JSON line, prefixed with "vmalock_lookup_bench: ".
 * The module then stays loaded, doing nothing, until it is removed. Loading
 * fails with the lookup's error if a lookup fails: nothing contends for the
 * page, so a failed lookup is a bug, not a measurement.
 */
#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched.h>

static unsigned int iters = 100000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "lookups per timed loop (default 100000)");

static unsigned int trials = 11;
module_param(trials, uint, 0444);
MODULE_PARM_DESC(trials, "rounds of the three loops (default 11)");

static unsigned int block = 1000;
module_param(block, uint, 0444);
MODULE_PARM_DESC(block, "lookups of one caller before the next caller's turn (default 1000)");

enum caller { CALL_RCU, CALL_INLINE, CALL_OOL, NR_CALLERS };

static const char *const caller_name[NR_CALLERS] = { "rcu", "inline", "ool" };

static __attribute__((__noipa__)) struct vm_area_struct *
ool_vma_start_read_unlocked(struct mm_struct *mm, unsigned long addr)
{
	return vma_start_read_unlocked(mm, addr);
}

static __always_inline struct vm_area_struct *
lookup(enum caller c, struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	switch (c) {
	case CALL_RCU:
		vma = lock_vma_under_rcu(mm, addr);
		return vma ?: ERR_PTR(-EAGAIN);
	case CALL_INLINE:
		vma = vma_start_read_unlocked(mm, addr);
		break;
	default:
		vma = ool_vma_start_read_unlocked(mm, addr);
		break;
	}
	return vma ?: ERR_PTR(-EFAULT);
}

/*
 * One timed block of @n lookups, added to *@ns; @c is a constant in each of
 * the three calls below.
 */
static __always_inline int time_loop(enum caller c, struct mm_struct *mm,
				     unsigned long addr, unsigned int n, u64 *ns)
{
	struct vm_area_struct *vma;
	unsigned int i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		vma = lookup(c, mm, addr);
		if (IS_ERR(vma))
			return PTR_ERR(vma);
		vma_end_read(vma);
	}
	*ns += ktime_get_ns() - t0;
	return 0;
}

static noinline int time_caller(enum caller c, struct mm_struct *mm,
				unsigned long addr, unsigned int n, u64 *ns)
{
	switch (c) {
	case CALL_RCU:
		return time_loop(CALL_RCU, mm, addr, n, ns);
	case CALL_INLINE:
		return time_loop(CALL_INLINE, mm, addr, n, ns);
	default:
		return time_loop(CALL_OOL, mm, addr, n, ns);
	}
}

/* One round: @iters lookups of each caller, in interleaved blocks. */
static int time_round(struct mm_struct *mm, unsigned long addr,
		      u64 ns[NR_CALLERS])
{
	unsigned int done, n, b, k;
	int c, ret;

	for (c = 0; c < NR_CALLERS; c++)
		ns[c] = 0;
	for (done = 0, b = 0; done < iters; done += n, b++) {
		n = min(block, iters - done);
		for (k = 0; k < NR_CALLERS; k++) {
			c = (b + k) % NR_CALLERS;
			ret = time_caller(c, mm, addr, n, &ns[c]);
			if (ret) {
				pr_err("vmalock_lookup_bench: %s lookup failed: %d\n",
				       caller_name[c], ret);
				return ret;
			}
		}
		cond_resched();
	}
	return 0;
}

static int __init vmalock_lookup_bench_init(void)
{
	struct mm_struct *mm = current->mm;
	u64 ns[NR_CALLERS];
	unsigned long addr;
	unsigned int t;
	int ret = 0;

	if (!mm || !iters || !block)
		return -EINVAL;
	addr = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr))
		return (int)addr;

	for (t = 0; t < trials && !ret; t++) {
		ret = time_round(mm, addr, ns);
		if (!ret)
			pr_info("vmalock_lookup_bench: {\"bench\":\"lookup_call\",\"trial\":%u,\"iters\":%u,\"block\":%u,\"rcu_ns\":%llu,\"inline_ns\":%llu,\"ool_ns\":%llu}\n",
				t, iters, block,
				ns[CALL_RCU], ns[CALL_INLINE], ns[CALL_OOL]);
	}
	vm_munmap(addr, PAGE_SIZE);
	return ret;
}
module_init(vmalock_lookup_bench_init);

static void __exit vmalock_lookup_bench_exit(void)
{
}
module_exit(vmalock_lookup_bench_exit);

MODULE_DESCRIPTION("vma_start_read_unlocked(): inline vs out-of-line fast path");
MODULE_LICENSE("GPL");
