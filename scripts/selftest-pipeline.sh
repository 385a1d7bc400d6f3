#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest-pipeline.sh OUTDIR: prove that `make check` fails on every class
# of failure it claims to catch. One guest boot per class plants one
# instance (scripts/check.sh, the planted-* boots; the module's `plant`
# parameter); the check of those boots must exit non-zero, and each boot
# must have failed for its class, named as such in its results:
#
#   kunit_fail     a KUnit assertion fails        vmalock_module.planted_failure not ok
#   kunit_crash    a KUnit case crashes (BUG)     vmalock_module.planted_crash not ok
#   warn           WARN_ON in the module          console: warning
#   refcount       refcount_t underflow           console: refcount
#   leak           a leaked allocation            kmemleak: N leaks
#   page_leak      leaked pages (no kmemleak)     vmalock_pages: pages_after not ok
#   selftest       a selftest check fails         vmalock_abi: a named case not ok
#   missing_suite  an expected suite never runs   vmalock_module: suite missing
#   hang           the guest never finishes       plan not finished (timeout)
#   lockdep        lockdep report, normal boot    console: lockdep
#   nested_wait    the wait helper nested in a    console: lockdep, the helper
#                  VMA read lock (fast path only)  on the report's stack
#   nested_mmap_lock  mmap_read_lock() of the same console: lockdep, the mmap
#                  mm under a VMA read lock       lock helper on the report's stack
#   build_failure  a kernel build fails while     make check fails naming the
#                  guests started before it run   build, no guest left running
#
# Writes OUTDIR/boot.json: one host-side suite, pipeline_catches, with one
# case per class.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
d=${1:?}
mkdir -p "$d"
# hang first: it sleeps through its whole deadline, so it overlaps the others.
CLASSES="hang kunit_fail kunit_crash warn refcount leak page_leak selftest missing_suite lockdep nested_wait nested_mmap_lock"
boots=
for c in $CLASSES; do boots="$boots planted-$c"; done
BOOTS=$boots SELFTEST=0 OUTDIR=$d/run PARALLEL=${PARALLEL:-5} "$VMALOCK_TOP/scripts/check.sh" > "$d/output.log" 2>&1
rc=$?

# build_failure: the i386-up kernel's build fails (after 20 s, check.sh
# PLANT_BUILD_FAILURE) while the planted-hang guest, started before it, runs
# (it would run for 120 s). make check must fail naming the build, and stop
# that guest instead of leaving it behind.
BOOTS="planted-hang i386-up" PLANT_BUILD_FAILURE=i386-up SELFTEST=0 OUTDIR=$d/build-failure \
	"$VMALOCK_TOP/scripts/check.sh" > "$d/build-failure.log" 2>&1
bf_rc=$?
sleep 2
bf_left=$(pgrep -f -- "$d/build-failure/" | wc -l)
bf_named=0
grep -q 'error: building kernel i386-up (for boot i386-up) failed' "$d/build-failure.log" && bf_named=1
bf_started=0
grep -q 'boot planted-hang started' "$d/build-failure.log" && bf_started=1
pkill -f -- "$d/build-failure/" 2>/dev/null

BF="$bf_rc $bf_left $bf_named $bf_started" python3 - "$d" "$rc" $CLASSES <<'PY'
import json, os, sys
d, rc, classes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def boot(c):
    try:
        return json.load(open(f'{d}/run/planted-{c}/boot.json'))
    except (OSError, ValueError):
        return None


def console(c):
    try:
        return open(f'{d}/run/planted-{c}/console.log', errors='replace').read()
    except OSError:
        return ''


def after_report(text):
    i = text.find('WARNING: possible')
    return text[i:] if i >= 0 else ''


def suite(b, name):
    return next((s for s in b['suites'] if s['name'] == name), None)


def failures(b, name):
    s = suite(b, name)
    return ' '.join(s['failures']) if s and s['failed'] else ''


# Each class: how its boot must show it.
SIGNATURE = {
    'kunit_fail': lambda b: 'vmalock_module.planted_failure' in failures(b, 'vmalock_module'),
    'kunit_crash': lambda b: 'vmalock_module.planted_crash' in failures(b, 'vmalock_module'),
    'warn': lambda b: b['findings'].get('warning', 0) > 0,
    'refcount': lambda b: b['findings'].get('refcount', 0) > 0,
    'leak': lambda b: b['kmemleak_leaks'] > 0,
    # A named case of the selftest, not only its exit status.
    'selftest': lambda b: any(not f.startswith(('exited', 'did not', 'KTAP', 'reported', 'suite'))
                              for f in (suite(b, 'vmalock_abi') or {}).get('failures', [])),
    'page_leak': lambda b: any('back_after_rmmod' in f
                               for f in (suite(b, 'vmalock_pages') or {}).get('failures', [])),
    'missing_suite': lambda b: 'suite missing' in failures(b, 'vmalock_module'),
    'hang': lambda b: b['timed_out'] and 'did not finish its plan (timeout)' in failures(b, 'guest_health'),
    'lockdep': lambda b: b['findings'].get('lockdep', 0) > 0,
    # Reported through might_lock_read(): the report names the wait helper's caller.
    'nested_wait': lambda b: b['findings'].get('lockdep', 0) > 0 and
                             'vma_start_read_unlocked' in after_report(console('nested_wait')),
    # The Rust guard API cannot reject it at compile time (kernel::mm, VmaReadGuard): lockdep
    # must, on the first (uncontended) call.
    'nested_mmap_lock': lambda b: b['findings'].get('lockdep', 0) > 0 and
                                  'rust_helper_mmap_read_lock' in
                                  after_report(console('nested_mmap_lock')),
}
cases = []
for c in classes:
    b = boot(c)
    if b is None:
        cases.append((c, False, 'no results (boot.json missing)'))
        continue
    failed = [s['name'] for s in b['suites'] if s['failed']]
    ok = bool(failed) and SIGNATURE[c](b)
    cases.append((c, ok, f'failed suites {failed}; findings {b["findings"]}; '
                         f'guest_health: {failures(b, "guest_health")[:200]}'))
cases.append(('check_exits_nonzero', rc != 0, f'make check of the planted boots exited {rc}'))
bf_rc, bf_left, bf_named, bf_started = map(int, os.environ['BF'].split())
cases.append(('build_failure', bf_rc != 0 and bf_named and bf_started and bf_left == 0,
              f'make check with a failing i386-up build exited {bf_rc}, named the build: {bool(bf_named)}, '
              f'planted-hang had started: {bool(bf_started)}, its processes left running: {bf_left} '
              f'({d}/build-failure.log)'))
out = {'boot': 'pipeline', 'kernel': 'host', 'findings': {}, 'suites': [{
    'name': f'pipeline_catches_{n}', 'kernel': 'host', 'boot': 'pipeline',
    'passed': int(ok), 'failed': int(not ok), 'skipped': 0,
    'failures': [] if ok else [why], 'skips': []} for n, ok, why in cases]}
json.dump(out, open(f'{d}/boot.json', 'w'), indent=1)
for n, ok, why in cases:
    print(f'{"ok" if ok else "FAIL"} {n}: {why}')
PY
