// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_lockdep: run only in a boot where the module has allow_unsafe=1
 * (suites/vmalock_lockdep, "# boot: lockdep"). It does UNSAFE USER_READs:
 * copy_from_user() under the VMA read lock, the v1 shadow-stack pattern.
 * lockdep has already seen mmap_lock -> vm_lock (exec's setup_arg_pages,
 * and the munmap/mprotect below); the user copy under vm_lock records
 * vm_lock -> mmap_lock (__might_fault, and the fault of a not-present
 * page), so lockdep must report the circular dependency. This program only
 * makes the calls and checks their results; the host checks the console
 * for "possible circular locking dependency".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define UNSAFE	VMALOCK_USER_READ_UNSAFE

FIXTURE(lockdep) {
	int fd;
	char *p;
};

FIXTURE_SETUP(lockdep)
{
	self->fd = vl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	/* This boot loads the module with allow_unsafe=1 (a 0444 parameter). */
	ASSERT_TRUE(vl_allow_unsafe())
		TH_LOG("/sys/module/vmalock/parameters/allow_unsafe is not Y");
	self->p = vl_anon(8);
	ASSERT_NE(MAP_FAILED, self->p);
	/* mmap_lock -> vm_lock: VMA writers under the mmap write lock. */
	memset(self->p, 0x3c, 2 * VL_PAGE);
	ASSERT_EQ(0, mprotect(self->p + 6 * VL_PAGE, VL_PAGE, PROT_READ));
	ASSERT_EQ(0, munmap(self->p + 7 * VL_PAGE, VL_PAGE));
}

FIXTURE_TEARDOWN(lockdep)
{
	munmap(self->p, 7 * VL_PAGE);
	close(self->fd);
}

TEST_F(lockdep, unsafe_read_not_present_page)
{
	static char zero[2 * 4096];
	uint64_t csum = 0;
	int debug_locks = vl_debug_locks();

	/* pages 2 and 3 were never touched: the copy faults under vm_lock */
	ASSERT_EQ(0, vl_mincore(self->p + 2 * VL_PAGE, 2, NULL));
	ASSERT_EQ(0, vl_user_read(self->fd, self->p + 2 * VL_PAGE, 2 * VL_PAGE, UNSAFE, &csum,
				  NULL)) TH_LOG("UNSAFE USER_READ: is allow_unsafe=1 set?");
	EXPECT_EQ(vl_fnv1a(zero, sizeof(zero)), csum);
	TH_LOG("debug_locks before %d, after %d", debug_locks, vl_debug_locks());
}

TEST_F(lockdep, unsafe_read_present_page)
{
	uint64_t csum = 0;

	ASSERT_EQ(0, vl_user_read(self->fd, self->p, 2 * VL_PAGE, UNSAFE, &csum, NULL))
		TH_LOG("UNSAFE USER_READ: is allow_unsafe=1 set?");
	EXPECT_EQ(vl_fnv1a(self->p, 2 * VL_PAGE), csum);
	TH_LOG("debug_locks now %d (0: lockdep has reported)", vl_debug_locks());
}

TEST_F(lockdep, safe_read_still_works)
{
	uint64_t csum = 0;

	ASSERT_EQ(0, vl_user_read(self->fd, self->p, 4 * VL_PAGE, VMALOCK_USER_READ_SAFE,
				  &csum, NULL));
	EXPECT_EQ(vl_fnv1a(self->p, 4 * VL_PAGE), csum);
}

TEST_HARNESS_MAIN
