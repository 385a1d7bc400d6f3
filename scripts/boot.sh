#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh BZIMAGE INITRAMFS PLAN OUTDIR TIMEOUT [EXTRA_CMDLINE]
#
# Boot the guest under QEMU (TCG by default; ACCEL=kvm where it works),
# run PLAN, power off. The console goes to OUTDIR/console.log, results to
# OUTDIR/results.log. A guest that outlives TIMEOUT seconds is killed and
# OUTDIR/timed-out is created: the host turns that into a failed test.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

bz=${1:?} initrd=${2:?} plan=${3:?} dir=${4:?} t=${5:?} extra=${6:-}
ACCEL=${ACCEL:-tcg}
mkdir -p "$dir"
rm -f "$dir/console.log" "$dir/results.log" "$dir/timed-out"
append="console=ttyS0 panic=-1 printk.time=1 vmalock.plan=$plan $extra"
# A kernel without ACPI has no HPET or PM timer: its PIT calibration of the
# TSC fails whenever the host deschedules the vCPU thread inside the loop,
# and nothing would watch the TSC afterwards. Under TCG the guest's TSC is
# the host's, so such a guest gets the host's measured TSC rate and
# tsc=reliable (the guest's health line names its clocksource).
kconfig=$(dirname "$bz")/../../../.config
if [ -f "$kconfig" ] && ! grep -q '^CONFIG_ACPI=y' "$kconfig"; then
	src=$(dirname "$0")/host-tsc-khz.c
	tool=$CACHE/bin/host-tsc-khz-$(sha256sum "$src" | cut -c1-12)
	if [ ! -x "$tool" ]; then
		mkdir -p "$CACHE/bin"
		cc -O2 -Wall -o "$tool.$$" "$src" && mv -f "$tool.$$" "$tool"
	fi
	if khz=$("$tool") && [ -n "$khz" ]; then
		append="$append tsc_early_khz=$khz"
	else
		log "warning: could not measure the host TSC rate; the guest calibrates it"
	fi
	append="$append tsc=reliable"
fi
# No KVM here: /dev/kvm exists but does not boot guests (see README).
timeout -k 5 "$t" qemu-system-x86_64 -accel "$ACCEL" -cpu max -m 2G -smp "${SMP:-2}" \
	-display none -monitor none -no-reboot \
	-serial "file:$dir/console.log" -serial "file:$dir/results.log" \
	-kernel "$bz" -initrd "$initrd" -append "$append" </dev/null
rc=$?
if [ $rc = 124 ] || [ $rc = 137 ]; then
	touch "$dir/timed-out"
	log "guest $plan timed out after ${t}s (console log: $dir/console.log)"
fi
exit 0
