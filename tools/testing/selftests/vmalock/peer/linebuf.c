// SPDX-License-Identifier: GPL-2.0
/*
 * Linked into peer test programs whose reports go to a file: make stdout
 * line buffered so a report survives the program being stopped by a signal
 * (tcp_mmap's server never exits by itself).
 */
#include <stdio.h>

__attribute__((constructor)) static void vmalock_linebuf(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}
