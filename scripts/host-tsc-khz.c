// SPDX-License-Identifier: GPL-2.0
/*
 * host-tsc-khz: print the host's TSC rate in kHz.
 *
 * Under TCG, QEMU's guest RDTSC returns the host's TSC (cpu_get_ticks()),
 * so this is the guest's TSC rate too. scripts/boot.sh passes it as
 * tsc_early_khz= to a guest kernel without ACPI: such a kernel has no HPET
 * or PM timer, and its PIT calibration fails whenever the host deschedules
 * the vCPU thread inside the calibration loop, which leaves the guest on
 * the PIT or jiffies clocksource.
 *
 * Each sample brackets a CLOCK_MONOTONIC_RAW read with two TSC reads at
 * both ends of a 100 ms sleep, and keeps the sample only if both brackets
 * are tight; the median of five samples is printed. Exits 1 (and prints
 * nothing) if no sample could be taken.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#define SAMPLES 5
#define MAX_BRACKET 20000	/* TSC cycles, about 8 us at 2.5 GHz */

static int stamp(uint64_t *tsc, uint64_t *ns)
{
	struct timespec ts;
	uint64_t a, b;
	int i;

	for (i = 0; i < 100; i++) {
		a = __rdtsc();
		clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
		b = __rdtsc();
		if (b - a < MAX_BRACKET) {
			*tsc = a + (b - a) / 2;
			*ns = (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
			return 0;
		}
	}
	return -1;
}

static int cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

int main(void)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	uint64_t khz[SAMPLES], t0, n0, t1, n1;
	int i, n = 0;

	for (i = 0; i < SAMPLES; i++) {
		if (stamp(&t0, &n0))
			continue;
		nanosleep(&pause, NULL);
		if (stamp(&t1, &n1) || n1 <= n0)
			continue;
		khz[n++] = (t1 - t0) * 1000000 / (n1 - n0);
	}
	if (!n)
		return 1;
	qsort(khz, n, sizeof(khz[0]), cmp);
	printf("%llu\n", (unsigned long long)khz[n / 2]);
	return 0;
}
