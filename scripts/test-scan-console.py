#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test scripts/scan-console.py as a user runs it.

    test-scan-console.py [CLEAN_LOG...]

For every report line of scripts/testdata/console-reports.txt, three logs
are made from scripts/testdata/console-clean.txt: the report line behind a
timestamp; the line split in the middle of its pattern with one of our own
console messages written into the break; and the line written into the
middle of our own console message. scan-console.py must exit 1 on each and
name the kind at the right line. On the clean log, and on each CLEAN_LOG
given (the console logs of a passing `make check`), it must exit 0.
Prints KTAP, one case per report line and one per clean log.
"""
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCANNER = os.path.join(HERE, 'scan-console.py')
spec = importlib.util.spec_from_file_location('scan_console', SCANNER)
scan = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scan)

USER = 'vmalock: [5.10] suite vmalock_abi done, rc=0'


def run_scanner(text, tmp):
    path = os.path.join(tmp, 'console.log')
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([sys.executable, SCANNER, path], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def variants(line):
    """(name, lines to insert); the report starts at the first of them."""
    hit = scan.classify(line)
    assert hit, f'pattern table does not match its own test line: {line}'
    mid = (hit[1].start() + hit[1].end()) // 2
    return [
        ('whole', [f'[    5.123456] {line}']),
        ('split', [f'[    5.123456] {line[:mid]}{USER}', line[mid:]]),
        ('inside_user', [f'{USER[:20]}[    5.123456] {line}', USER[20:]]),
    ]


def main():
    reports = []
    with open(os.path.join(HERE, 'testdata/console-reports.txt')) as f:
        for ln in f:
            if ln.startswith('#') or not ln.strip():
                continue
            kind, text = ln.rstrip('\n').split('\t', 1)
            reports.append((kind, text))
    clean = open(os.path.join(HERE, 'testdata/console-clean.txt')).read().splitlines()
    logs = sys.argv[1:]
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (kind, text) in enumerate(reports):
            bad = []
            try:
                vs = variants(text)
            except AssertionError as e:
                bad.append(str(e))
                vs = []
            for name, ins in vs:
                at = len(clean) // 2
                log = clean[:at] + ins + clean[at:]
                rc, out = run_scanner('\n'.join(log) + '\n', tmp)
                want = re.compile(rf':{at + 1}: {re.escape(kind)}: ')
                if rc != 1 or not want.search(out):
                    bad.append(f'{name}: rc={rc}, wanted "{kind}" at line {at + 1}, got {out.strip()!r}')
            cases.append((f'finds_{kind}_{n}', bad))
        rc, out = run_scanner('\n'.join(clean) + '\n', tmp)
        cases.append(('clean_log_passes', [] if rc == 0 else [out.strip()]))
    for log in logs:
        p = subprocess.run([sys.executable, SCANNER, log], capture_output=True, text=True)
        cases.append((f'clean_{os.path.basename(os.path.dirname(log)) or log}',
                      [] if p.returncode == 0 else [p.stdout.strip()]))
    print('KTAP version 1')
    print(f'1..{len(cases)}')
    for i, (name, bad) in enumerate(cases, 1):
        for b in bad:
            print(f'# {name}: {b}')
        print(f'{"not ok" if bad else "ok"} {i} {name}')
    sys.exit(1 if any(b for _, b in cases) else 0)


if __name__ == '__main__':
    main()
