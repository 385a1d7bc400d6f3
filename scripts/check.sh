#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: `make check`. Build both kernels, the module and the tests, boot
# each guest, run every suite, write out/check/summary.json and end with
# "N passed, N failed, N skipped". Exits non-zero on any failure.
#
# Variables: BOOTS="main up lockdep" (which boots), PLANT_FAILURE=1 (load the module
# so that its KUnit case planted_failure fails), SELFTEST=0 (skip the
# pipeline's own planted-failure test), OUTDIR (default out/check).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BOOTS=${BOOTS:-main up lockdep}
OUTDIR=${OUTDIR:-$OUT/check}
SELFTEST=${SELFTEST:-1}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}

"$VMALOCK_TOP/scripts/install-deps.sh"
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"

# boot_spec NAME: the boot's kernel variant, guest plan, kernel command line,
# the KUnit suites that must appear, which selftest wrappers it runs (each
# must appear too), and module parameters.
boot_spec() {
	case $1 in
	main)	variant=main plan=check expect_lockdep= cmdline=vmalock.suites=main
		expect="rust_doctests_kernel rust_mm_vma_lock vma_start_read_unlocked vmalock_module"
		suites=main modargs=${PLANT_FAILURE:+plant_failure=1} ;;
	# binder_alloc_exhaustive_test (KUNIT_CASE_SLOW) runs for far longer
	# than a check under emulation can wait: reported as skipped.
	up)	variant=up-cbinder plan=check expect_lockdep=
		cmdline="vmalock.suites=up kunit.filter=speed>slow kunit.filter_action=skip"
		expect="rust_doctests_kernel rust_mm_vma_lock vma_start_read_unlocked binder_alloc vmalock_module"
		suites=up modargs= ;;
	lockdep) variant=main plan=check-lockdep cmdline=kunit.filter_glob=vmalock*
		expect=
		suites=lockdep modargs=allow_unsafe=1 expect_lockdep=1 ;;
	planted) variant=main plan=check-planted expect_lockdep= cmdline=kunit.filter_glob=vmalock*
		expect="vmalock_module"
		suites= modargs=plant_failure=1 ;;
	*) die "unknown boot '$1'" ;;
	esac
}

declare -A built
for b in $BOOTS; do
	boot_spec "$b"
	[ -n "${built[$variant]:-}" ] && continue
	kb=$("$VMALOCK_TOP/scripts/build-kernel.sh" "$variant")
	ko=$("$VMALOCK_TOP/scripts/build-module.sh" "$kb" "$OUT/module/$variant")
	tests=$("$VMALOCK_TOP/scripts/build-tests.sh" "$kb" "$OUT/tests/$variant")
	"$VMALOCK_TOP/scripts/build-initramfs.sh" "$OUT/initramfs-$variant.cpio" "$ko" "$tests"
	built[$variant]=$kb
done

# The guests spend much of their time asleep in the tests' lock holds, so
# they boot side by side (PARALLEL=0: one after the other).
boot_one() {
	boot_spec "$1"
	"$VMALOCK_TOP/scripts/boot.sh" "${built[$variant]}/arch/x86/boot/bzImage" \
		"$OUT/initramfs-$variant.cpio" "$plan" "$OUTDIR/$1" "$BOOT_TIMEOUT" \
		"$cmdline${modargs:+ vmalock.args=${modargs// /,}}"
}
pids=()
for b in $BOOTS; do
	if [ "${PARALLEL:-1}" = 1 ]; then
		log "boot $b started"
		boot_one "$b" &
		pids+=($!)
	else
		run_step "boot $b" boot_one "$b"
	fi
done
if [ ${#pids[@]} -gt 0 ]; then
	run_step "waiting for the guests ($BOOTS)" wait "${pids[@]}"
fi

jsons=()
for b in $BOOTS; do
	boot_spec "$b"
	kb=${built[$variant]}
	d=$OUTDIR/$b
	[ -n "$suites" ] && expect="$expect $(ls "$OUT/tests/$variant/$suites")"
	version=$(cat "$kb/include/config/kernel.release" 2>/dev/null || echo unknown)
	smp=$(grep -q '^CONFIG_SMP=y' "$kb/.config" && echo true || echo false)
	python3 "$VMALOCK_TOP/scripts/parse-results.py" --boot "$b" --kernel "$variant" \
		--results "$d/results.log" --console "$d/console.log" \
		--expect $expect ${expect_lockdep:+--expect-lockdep} \
		$([ -e "$d/timed-out" ] && echo --timed-out) > "$d/boot.json"
	printf '{"name":"%s","smp":%s,"version":"%s"}\n' "$variant" "$smp" "$version" > "$d/kernel.json"
	jsons+=("$d")
done

if [ "$SELFTEST" = 1 ]; then
	d=$OUTDIR/pipeline
	mkdir -p "$d"
	run_step "pipeline self-test: a planted KUnit failure must fail make check" \
		"$VMALOCK_TOP/scripts/selftest-pipeline.sh" "$d"
	jsons+=("$d")
fi

python3 "$VMALOCK_TOP/scripts/summarize.py" "$OUTDIR" "${jsons[@]}"
