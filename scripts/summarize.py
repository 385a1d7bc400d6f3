#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""summarize.py OUTDIR BOOTDIR...: merge the boots' results.

Writes OUTDIR/summary.json, prints a table and the closing line
"N passed, N failed, N skipped"; exits 1 on any failure.
"""
import json
import os
import sys


def main():
    outdir, bootdirs = sys.argv[1], sys.argv[2:]
    suites, kernels = [], []
    totals = {'lockdep_reports': 0, 'expected_lockdep_reports': 0,
              'kmemleak_leaks': 0, 'warnings': 0}
    findings = {}
    for d in bootdirs:
        b = json.load(open(os.path.join(d, 'boot.json')))
        suites += b['suites']
        for k in totals:
            totals[k] += b.get(k, 0)
        if b.get('boot') != 'pipeline':
            for k, v in b.get('findings', {}).items():
                findings[k] = findings.get(k, 0) + v
        kj = os.path.join(d, 'kernel.json')
        if os.path.exists(kj):
            k = json.load(open(kj))
            if k not in kernels:
                kernels.append(k)
    passed = sum(s['passed'] for s in suites)
    failed = sum(s['failed'] for s in suites)
    skipped = sum(s['skipped'] for s in suites)
    summary = {'passed': passed, 'failed': failed, 'skipped': skipped,
               'kernels': kernels, 'suites': suites, 'console_findings': findings, **totals}
    with open(os.path.join(outdir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)

    w = max([len(s['name']) for s in suites] + [5])
    print()
    print(f'{"suite":<{w}}  {"boot":<8} {"pass":>5} {"fail":>5} {"skip":>5}')
    print('-' * (w + 27))
    for s in suites:
        mark = '' if not s['failed'] else '   <-- ' + '; '.join(s['failures'])[:200]
        print(f'{s["name"]:<{w}}  {s["boot"]:<8} {s["passed"]:>5} {s["failed"]:>5} {s["skipped"]:>5}{mark}')
    print('-' * (w + 27))
    print(f'kernels: ' + ', '.join(f'{k["name"]} ({k["version"]}, smp={k["smp"]})' for k in kernels))
    for s in suites:
        for k in s.get('skips', []):
            print(f'skipped (allowlisted): {s["boot"]} {s["name"]} {k["case"]}: {k["reason"]}')
    print(f'console findings: {sum(findings.values())} unexpected'
          + (' (' + ', '.join(f'{v} {k}' for k, v in sorted(findings.items())) + ')' if findings else '')
          + f'; lockdep reports: {totals["lockdep_reports"]} unexpected, '
          f'{totals["expected_lockdep_reports"]} expected; '
          f'kmemleak leaks: {totals["kmemleak_leaks"]}')
    print(f'summary: {os.path.join(outdir, "summary.json")}')
    # Again, last: a log cut to its tail (CI shows the tail) still names them.
    for s in suites:
        for f in s.get('failures', [])[:20]:
            print(f'FAILED: {s["boot"]} {s["name"]}: {f}')
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    sys.exit(1 if failed or not suites else 0)


if __name__ == '__main__':
    main()
