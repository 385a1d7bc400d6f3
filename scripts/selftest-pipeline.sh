#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# selftest-pipeline.sh OUTDIR: prove that the pipeline can fail. Run the
# check with the module's KUnit case planted_failure made to fail, and
# require a non-zero exit and that exact failure in its summary. Writes
# OUTDIR/boot.json as one host-side suite.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
d=${1:?}
mkdir -p "$d"
BOOTS=planted SELFTEST=0 OUTDIR=$d/run "$VMALOCK_TOP/scripts/check.sh" > "$d/output.log" 2>&1
rc=$?
python3 - "$d" "$rc" <<'PY'
import json, sys
d, rc = sys.argv[1], int(sys.argv[2])
cases = []
def case(name, ok, why):
    cases.append((name, ok, why))
case('exit_status_nonzero', rc != 0, f'make check exited {rc}')
try:
    s = json.load(open(f'{d}/run/summary.json'))
except Exception as e:
    s = None
case('summary_written', s is not None, 'summary.json missing')
fails = [x for x in (s or {}).get('suites', []) if x['name'] == 'vmalock_module']
case('planted_case_reported_failed',
     bool(fails) and fails[0]['failed'] == 1 and 'planted_failure' in fails[0]['failures'],
     f'vmalock_module suite: {fails}')
case('only_the_planted_case_failed', s is not None and s['failed'] == 1,
     f'failed={s and s["failed"]}')
out = {'boot': 'pipeline', 'kernel': 'host', 'suites': [{
    'name': 'pipeline_catches_planted_failure', 'kernel': 'host', 'boot': 'pipeline',
    'passed': sum(ok for _, ok, _ in cases), 'failed': sum(not ok for _, ok, _ in cases),
    'skipped': 0, 'failures': [f'{n}: {w}' for n, ok, w in cases if not ok]}],
    'lockdep_reports': 0, 'warnings': 0, 'kmemleak_leaks': 0}
json.dump(out, open(f'{d}/boot.json', 'w'), indent=1)
PY
