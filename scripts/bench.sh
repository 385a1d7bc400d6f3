#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`. Build one config twice, stock Debian 7.3.4 and
# patched, boot each with the guest plan "bench", and write
# out/bench/results.json, out/bench/report.md and SVG plots
# (scripts/bench-report.py, with matplotlib in a virtual environment made
# by scripts/venv.sh).
# Prints one line per ratio with its goal.
#
# The module needs the patched kernel (it uses the series' kernel-crate
# API), so measurements 1-3 (BENCH/LOOKUP/RECLAIM ioctls) run in the
# patched boot only; tcp_mmap runs in both boots.
#
# Variables:
#   BENCH_CONFIG=V     the kernel config, configs/V.config (default bench: the
#                      main config without lockdep, DEBUG_ATOMIC_SLEEP,
#                      DEBUG_VM, KFENCE, kmemleak; `main` measures the
#                      debug kernels that `make check` boots)
#   ACCEL=kvm          where KVM works (default tcg, see scripts/boot.sh)
#   ROUNDS=N           boot each kernel N times, alternating (default 6: SP PS SP ..., so that slow drifts of the host load cancel)
#   BENCH_ARGS=k=v,..  sizes for the guest plan (scripts/guest/plans/bench.sh):
#                      tcp_trials tcp_secs unc_trials unc_iters call_trials
#                      call_iters call_block lat_trials
#                      lat_ms lat_readers same_trials same_ms rec_trials rec_scans
#                      ksm_trials ksm_pages slab_trials slab_vmas
#                      fault_trials fault_pages
#   BOOT_TIMEOUT=S     per boot (default 900)
#   OUTDIR             default out/bench
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OUTDIR=${OUTDIR:-$OUT/bench}
BENCH_CONFIG=${BENCH_CONFIG:-bench}
ROUNDS=${ROUNDS:-6}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
BENCH_ARGS=${BENCH_ARGS:-tcp_trials=8,tcp_secs=2,unc_trials=5,unc_iters=50000,call_trials=11,call_iters=100000,call_block=1000,lat_trials=2,lat_ms=1500,lat_readers=1,same_trials=2,same_ms=200,rec_trials=2,rec_scans=20,ksm_trials=2,ksm_pages=4096,slab_trials=3,slab_vmas=10000,fault_trials=5,fault_pages=8192}

"$VMALOCK_TOP/scripts/install-deps.sh"
# shellcheck disable=SC2086
py=$("$VMALOCK_TOP/scripts/venv.sh" bench $BENCH_VENV_PKGS)
# The kernels. Never two builds of one build directory at a time: the
# builds are sequential here, and build-kernel.sh is a no-op when cached.
kb_patched=$("$VMALOCK_TOP/scripts/build-kernel.sh" "$BENCH_CONFIG" patched)
kb_stock=$("$VMALOCK_TOP/scripts/build-kernel.sh" "$BENCH_CONFIG" stock)
ko=$("$VMALOCK_TOP/scripts/build-module.sh" "$kb_patched" "$OUTDIR/build/module")

# The guest programs: tcp_mmap as build-tests.sh builds it (in a directory of
# our own, so a concurrent `make check` is not disturbed), and the benchmark
# program with the same flags.
tests=$("$VMALOCK_TOP/scripts/build-tests.sh" "$kb_patched" "$OUTDIR/build/tests")
ST=$(readlink -f "$kb_patched/source")/tools/testing/selftests
SD=$VMALOCK_TOP/tools/testing/selftests/vmalock
guest=$OUTDIR/build/guest
rm -rf "$guest"
mkdir -p "$guest/bin"
cp "$tests/bin/tcp_mmap" "$guest/bin/"
gcc -static -O2 -g -Wall -D_GNU_SOURCE -isystem "$kb_patched/usr/include" -I "$ST" \
	-I "$VMALOCK_TOP/include/uapi" -I "$SD/bench" -o "$guest/bin/vmalock_bench" \
	"$SD/bench/vmalock_bench.c" "$SD/vmalock_lib.c" -lpthread ||
	die "building vmalock_bench failed"

# The C module that times vma_start_read_unlocked() inline against an
# out-of-line call of it (tools/testing/selftests/vmalock/bench/kmod),
# built in a copy: a kbuild M= build writes its objects next to its sources.
kmod=$OUTDIR/build/kmod
rm -rf "$kmod"
cp -r "$SD/bench/kmod" "$kmod"
make -s -C "$kb_patched" M="$kmod" -j"$JOBS" modules >&2 ||
	die "building vmalock_lookup_bench.ko failed"
mkdir -p "$guest/kmod"
cp "$kmod/vmalock_lookup_bench.ko" "$guest/kmod/"

# Initramfs per flavor. The stock one gets an empty module file: the plan
# loads the module only when it is not empty.
: > "$OUTDIR/build/none.ko"
"$VMALOCK_TOP/scripts/build-initramfs.sh" "$OUTDIR/build/initramfs-patched.cpio" "$ko" "$guest"
"$VMALOCK_TOP/scripts/build-initramfs.sh" "$OUTDIR/build/initramfs-stock.cpio" "$OUTDIR/build/none.ko" "$guest"

# usage(FILE): "wall busy own" now: wall clock seconds, busy CPU seconds of
# the whole host (/proc/stat) and CPU seconds of this shell's finished
# children (the boots and their QEMU). `times` runs in this shell, not in a
# command substitution, whose children would be its own.
usage() {
	times > "$1.times"
	awk -v hz="$(getconf CLK_TCK)" -v wall="$(date +%s.%N)" '
		FILENAME == "/proc/stat" && /^cpu / { busy = ($2 + $3 + $4 + $7 + $8 + $9) / hz }
		FILENAME != "/proc/stat" && FNR == 2 {
			for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); own += a[1] * 60 + a[2] }
		}
		END { printf "%s %.2f %.2f\n", wall, busy, own }' /proc/stat "$1.times" > "$1"
	rm -f "$1.times"
}

# other_cpus(BEFORE, AFTER): CPUs' worth of time the rest of the host used
# between the two usage() snapshots: all busy time minus our children's.
# /proc/stat is sampled at the tick and rusage is not, so an idle host reads
# a little below zero (-0.05 to -0.1 seen); the value is kept as measured.
other_cpus() {
	awk 'NR == 1 { w = $1; b = $2; o = $3 }
	     NR == 2 { printf "%.2f\n", (($2 - b) - ($3 - o)) / ($1 - w) }' "$1" "$2"
}

rm -rf "$OUTDIR"/boot-*
dirs=()
for r in $(seq 1 "$ROUNDS"); do
	# Alternate the order between rounds, so that neither kernel always
	# runs first while the host's load changes.
	if [ $((r % 2)) = 1 ]; then order="stock patched"; else order="patched stock"; fi
	for f in $order; do
		kbv=kb_$f
		d=$OUTDIR/boot-$f-$r
		mkdir -p "$d"
		# The host's load: the guest shares the machine with whatever else runs.
		# host-other-cpus: CPUs' worth of time the rest of the host used
		# during the boot (all busy time minus this boot's own), the figure
		# bench-report.py uses to tell a quiet round from a busy one.
		cut -d' ' -f1-3 /proc/loadavg > "$d/host-load-before"
		usage "$d/usage-before"
		run_step "boot $f kernel, round $r/$ROUNDS (${ACCEL:-tcg})" \
			"$VMALOCK_TOP/scripts/boot.sh" "${!kbv}/arch/x86/boot/bzImage" \
			"$OUTDIR/build/initramfs-$f.cpio" bench "$d" "$BOOT_TIMEOUT" \
			"kunit.enable=0 vmalock.args=$BENCH_ARGS"
		cut -d' ' -f1-3 /proc/loadavg > "$d/host-load-after"
		usage "$d/usage-after"
		other_cpus "$d/usage-before" "$d/usage-after" > "$d/host-other-cpus"
		log "$f round $r: the rest of the host used $(cat "$d/host-other-cpus") CPUs meanwhile"
		[ -e "$d/timed-out" ] && log "warning: the $f boot timed out; its results are partial"
		grep -qE 'BUG:|Oops|WARNING:|Kernel panic' "$d/console.log" &&
			log "warning: kernel trouble in $d/console.log"
		dirs+=("$f=$d")
	done
done

"$py" "$VMALOCK_TOP/scripts/bench-report.py" --out "$OUTDIR" \
	--readme "$VMALOCK_TOP/README.md" --accel "${ACCEL:-tcg}" --config "$BENCH_CONFIG" "${dirs[@]}"
