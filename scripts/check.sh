#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: `make check`. Build the guest kernels (each just before its first
# boot), the module and the tests, boot each guest, run every suite, write
# out/check/summary.json and end with "N passed, N failed, N skipped". Exits
# non-zero on any failure.
#
# Variables: BOOTS="main up lockdep i386-up i386-smp" (which boots), PLANT_FAILURE=1 (load the module
# so that its KUnit case planted_failure fails), SELFTEST=0 (skip the
# pipeline's self-test: the planted-* boots and the scanner's test),
# PARALLEL=4 (guests at once), OUTDIR (default out/check),
# PLANT_BUILD_FAILURE=VARIANT (that kernel's build fails: the self-test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BOOTS=${BOOTS:-main up lockdep i386-up i386-smp}
OUTDIR=${OUTDIR:-$OUT/check}
SELFTEST=${SELFTEST:-1}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-1500}

"$VMALOCK_TOP/scripts/install-deps.sh"
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"

# boot_spec NAME: the boot's kernel variant, guest plan, kernel command line,
# the KUnit suites that must appear, which selftest wrappers it runs (each
# must appear too), module parameters, the console reports it must produce
# (scripts/scan-console.py --expect) and its deadline.
#
# The planted-* boots are the pipeline's self-test (scripts/selftest-pipeline.sh):
# each plants one class of failure, and the run must fail on it.
boot_spec() {
	variant=main plan=check expect= suites= modargs= report= timeout=$BOOT_TIMEOUT
	cmdline= vcpus=2
	# ksm_functional_tests writes PROT_NONE memory through /proc/self/mem,
	# which needs FOLL_FORCE for a non-ptracer (the kernels default to
	# PROC_MEM_FORCE_PTRACE).
	local common=proc_mem.force_override=always
	case $1 in
	main)	cmdline="vmalock.suites=main $common"
		expect="rust_doctests_kernel rust_mm_vma_lock vma_start_read_unlocked vmalock_module"
		suites=main modargs=${PLANT_FAILURE:+plant_failure=1} ;;
	# binder_alloc_exhaustive_test (KUNIT_CASE_SLOW) runs for far longer
	# than a check under emulation can wait: skipped, on the allowlist.
	up)	variant=up-cbinder
		cmdline="vmalock.suites=up kunit.filter=speed>slow kunit.filter_action=skip $common"
		expect="rust_doctests_kernel rust_mm_vma_lock vma_start_read_unlocked binder_alloc vmalock_module"
		suites=up ;;
	# 32-bit x86, SMP=n and SMP=y: kernels on which the series turns
	# VMA-locked page faults on. C only (Rust needs x86_64): the C KUnit
	# suites and the C selftests of /tests/i386, built for i386.
	i386-up|i386-smp) variant=$1
		cmdline="vmalock.suites=i386 kunit.filter=speed>slow kunit.filter_action=skip $common"
		expect="vma_start_read_unlocked binder_alloc"
		[ "$1" = i386-up ] && vcpus=1 ;;
	# Exactly one report, lockdep's vm_lock/mmap_lock cycle, and nothing else.
	lockdep) plan=check-lockdep cmdline=kunit.filter_glob=vmalock*
		suites=lockdep modargs=allow_unsafe=1
		report='lockdep:possible circular locking dependency(?=.*vm_lock)(?=.*mmap_lock)' ;;
	# One vCPU each: what they plant needs no second CPU, and with 2 host
	# cores more of them fit side by side.
	planted-*)
		plan=check-planted cmdline="kunit.filter_glob=vmalock* vmalock.suites=none"
		expect=vmalock_module timeout=300 vcpus=1
		case ${1#planted-} in
		kunit_fail)	modargs=plant_failure=1 ;;
		warn)		modargs=plant=1 ;;
		refcount)	modargs=plant=2 ;;
		leak)		modargs=plant=4 ;;
		kunit_crash)	modargs=plant=8 ;;
		selftest)	modargs=plant=16 cmdline="kunit.filter_glob=vmalock* vmalock.suites=planted"
				expect="vmalock_module vmalock_abi" ;;
		page_leak)	modargs=plant=32 cmdline="kunit.filter_glob=vmalock* vmalock.suites=planted"
				expect="vmalock_module vmalock_pages" ;;
		missing_suite)	cmdline="kunit.filter_glob=no_such_suite* vmalock.suites=none" ;;
		hang)		cmdline="kunit.filter_glob=vmalock* vmalock.suites=none vmalock.plant=hang"
				timeout=120 ;;
		lockdep)	modargs=allow_unsafe=1 cmdline="kunit.filter_glob=vmalock* vmalock.suites=lockdep" ;;
		nested_wait)	modargs=plant=64 cmdline="kunit.filter_glob=vmalock* vmalock.suites=planted" ;;
		nested_mmap_lock) modargs=plant=128 cmdline="kunit.filter_glob=vmalock* vmalock.suites=planted" ;;
		*) die "unknown planted class '${1#planted-}'" ;;
		esac ;;
	*) die "unknown boot '$1'" ;;
	esac
	case $cmdline in *vmalock.suites=*) suites=${cmdline##*vmalock.suites=}; suites=${suites%% *} ;; esac
	[ "$suites" = none ] && suites=
	return 0
}

# Each kernel is built just before its first boot, while the guests
# already started run: they spend much of their time asleep in the tests'
# lock holds, so a later kernel builds in the CPU time they leave, at nice
# 19 so that the guests keep their speed and their deadlines. Cold, this
# takes most of the later builds off the critical path; warm, the builds
# are no-ops and nothing changes.
boot_one() {
	boot_spec "$1"
	SMP=$vcpus "$VMALOCK_TOP/scripts/boot.sh" "${built[$variant]}/arch/x86/boot/bzImage" \
		"$OUT/initramfs-$variant.cpio" "$plan" "$OUTDIR/$1" "$timeout" \
		"$cmdline${modargs:+ vmalock.args=${modargs// /,}}"
}
build_variant() {
	local kb tests ko=- bb=
	# The pipeline's self-test (scripts/selftest-pipeline.sh, class
	# build_failure): a build that fails after a while, as a real one does,
	# while the guests started before it run.
	if [ "${PLANT_BUILD_FAILURE:-}" = "$variant" ]; then
		sleep 20
		echo "planted build failure of kernel $variant" >&2
		return 1
	fi
	kb=$(nice -n 19 "$VMALOCK_TOP/scripts/build-kernel.sh" "$variant") || return 1
	# The i386 kernels: no Rust, so no module; an i386 busybox.
	if grep -q '^CONFIG_X86_32=y' "$kb/.config"; then
		bb=$BUSYBOX_I386
	else
		ko=$(nice -n 19 "$VMALOCK_TOP/scripts/build-module.sh" "$kb" "$OUT/module/$variant") || return 1
	fi
	tests=$(nice -n 19 "$VMALOCK_TOP/scripts/build-tests.sh" "$kb" "$OUT/tests/$variant") || return 1
	BUSYBOX=$bb "$VMALOCK_TOP/scripts/build-initramfs.sh" "$OUT/initramfs-$variant.cpio" "$ko" "$tests" >&2 || return 1
	echo "$kb"
}
# A failed build must not leave the guests started before it running.
kill_tree() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
	kill -TERM "$1" 2>/dev/null || true
}
# At most PARALLEL guests at once (PARALLEL=1: one after the other).
PARALLEL=${PARALLEL:-4}
declare -A built
pids=()
running() {
	local n=0 p
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
	echo $n
}
for b in $BOOTS; do
	boot_spec "$b"
	if [ -z "${built[$variant]:-}" ]; then
		built[$variant]=$(build_variant) || {
			for p in "${pids[@]}"; do kill_tree "$p"; done
			die "building kernel $variant (for boot $b) failed"
		}
	fi
	while [ "$(running)" -ge "$PARALLEL" ]; do
		sleep 1
	done
	log "boot $b started"
	boot_one "$b" &
	pids+=($!)
done

host_suite() {
	local name=$1 rc=0
	shift
	echo "# vmalock-suite: $name"
	"$@" || rc=$?
	echo "# vmalock-end: $name rc=$rc"
}
kb_main=${built[main]:-$("$VMALOCK_TOP/scripts/build-kernel.sh" main)}
ktree=$(readlink -f "$kb_main/source")

# The host-side suites that need no guest run beside the last guests, at
# nice 19, once every kernel is built: the kernel's userspace VMA tests
# (tools/testing/vma, whose headers patch 3 edits) on the patched tree, and
# the Rust lints of the series and the module (scripts/lint.sh: rustfmt,
# CLIPPY=1, rustdoc, each with no warning), with their planted instances.
mkdir -p "$OUTDIR/host-mm" "$OUTDIR/host-lint"
(
	renice -n 19 -p "$BASHPID" >/dev/null
	host_suite vma "$VMALOCK_TOP/scripts/test-vma.sh" "$ktree" > "$OUTDIR/host-mm/results.log" 2>&1
) &
host_mm=$!
(
	renice -n 19 -p "$BASHPID" >/dev/null
	host_suite lint "$VMALOCK_TOP/scripts/lint.sh" > "$OUTDIR/host-lint/results.log" 2>&1
) &
host_lint=$!

run_step "waiting for the guests ($BOOTS)" wait "${pids[@]}"

jsons=()
for b in $BOOTS; do
	boot_spec "$b"
	kb=${built[$variant]}
	d=$OUTDIR/$b
	[ -n "$suites" ] && [ "$suites" != planted ] &&
		expect="$expect $(ls "$OUT/tests/$variant/$suites")"
	version=$(cat "$kb/include/config/kernel.release" 2>/dev/null || echo unknown)
	smp=$(grep -q '^CONFIG_SMP=y' "$kb/.config" && echo true || echo false)
	arch=$(grep -q '^CONFIG_X86_32=y' "$kb/.config" && echo i386 || echo x86_64)
	cpus=$vcpus
	[ "$smp" = false ] && cpus=1
	python3 "$VMALOCK_TOP/scripts/parse-results.py" --boot "$b" --kernel "$variant" \
		--results "$d/results.log" --console "$d/console.log" \
		--ktree "$(readlink -f "$kb/source")" --config "$kb/.config" \
		--allowlist "$VMALOCK_TOP/tools/testing/selftests/vmalock/skips" \
		--expect $expect ${report:+--expect-report "$report"} --cpus "$cpus" \
		$([ -e "$d/timed-out" ] && echo --timed-out) > "$d/boot.json" ||
		die "parsing the results of boot $b failed"
	printf '{"name":"%s","arch":"%s","smp":%s,"version":"%s"}\n' "$variant" "$arch" "$smp" "$version" > "$d/kernel.json"
	jsons+=("$d")
done

run_step "waiting for the host-side VMA tests and lints" wait "$host_mm" "$host_lint"
d=$OUTDIR/host-mm
python3 "$VMALOCK_TOP/scripts/parse-results.py" --host --boot host-mm --kernel host \
	--results "$d/results.log" --ktree "$ktree" --expect vma > "$d/boot.json" ||
	die "parsing the host-side mm tests failed"
jsons+=("$d")

d=$OUTDIR/host-lint
python3 "$VMALOCK_TOP/scripts/parse-results.py" --host --boot host-lint --kernel host \
	--results "$d/results.log" --ktree "$ktree" --expect lint > "$d/boot.json" ||
	die "parsing the results of the lints failed"
jsons+=("$d")

if [ "$SELFTEST" = 1 ]; then
	# Host-side tests of the pipeline's own tools: the console scanner finds
	# each kind of report it claims to, and nothing in this run's clean
	# console logs; the Debian archive is read from the system's apt sources;
	# a header change that breaks the ABI fails the module's build; make
	# matrix's verdict fails on a failed build, a new warning or a dropped
	# option; the coverage report (scripts/coverage.py) counts a patch's
	# lines exactly and fails on a line that ran nowhere without a reason.
	d=$OUTDIR/host
	mkdir -p "$d"
	clean=()
	for b in $BOOTS; do
		boot_spec "$b"
		[ -z "$report" ] && clean+=("$OUTDIR/$b/console.log")
	done
	{
		host_suite scan_console python3 "$VMALOCK_TOP/scripts/test-scan-console.py" "${clean[@]}"
		host_suite parse_results python3 "$VMALOCK_TOP/scripts/test-parse-results.py" "$ktree"
		host_suite apt_debian_source python3 "$VMALOCK_TOP/scripts/test-apt-debian-source.py"
		host_suite abi_drift "$VMALOCK_TOP/scripts/test-abi-drift.sh" "$kb_main"
		host_suite matrix_report "$("$VMALOCK_TOP/scripts/venv.sh" matrix $MATRIX_VENV_PKGS)" \
			"$VMALOCK_TOP/scripts/test-matrix-report.py"
		host_suite coverage_tool python3 "$VMALOCK_TOP/scripts/test-coverage.py"
	} > "$d/results.log" 2>&1
	python3 "$VMALOCK_TOP/scripts/parse-results.py" --host --boot host --kernel host \
		--results "$d/results.log" --ktree "$ktree" \
		--expect scan_console parse_results apt_debian_source abi_drift matrix_report coverage_tool > "$d/boot.json" ||
		die "parsing the host-side tests failed"
	jsons+=("$d")

	d=$OUTDIR/pipeline
	mkdir -p "$d"
	run_step "pipeline self-test: every planted class of failure must fail make check" \
		"$VMALOCK_TOP/scripts/selftest-pipeline.sh" "$d"
	jsons+=("$d")
fi

# The same results in the KCIDB I/O schema (out/check/kcidb.json),
# validated by kcidb-io.
# shellcheck disable=SC2086
"$("$VMALOCK_TOP/scripts/venv.sh" matrix $MATRIX_VENV_PKGS)" "$VMALOCK_TOP/scripts/check-kcidb.py" \
	"$OUTDIR" "${jsons[@]}" || die "writing out/check/kcidb.json failed"
python3 "$VMALOCK_TOP/scripts/summarize.py" "$OUTDIR" "${jsons[@]}"
