#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Parse one guest boot: the results channel and the console log.

parse-results.py --boot NAME --kernel NAME --results FILE --console FILE
                 [--expect SUITE ...] [--expect-lockdep] [--timed-out]
Writes a JSON object for the boot on stdout.

Results blocks (see scripts/guest/lib.sh):
  # vmalock-suite: NAME   TAP/KTAP of a userspace program, then
  # vmalock-end: NAME rc=N
  # vmalock-kunit: NAME   a KUnit suite's debugfs results, then the end line
  # vmalock-kmemleak: N
  # vmalock-done          the plan ran to its end
"""
import argparse
import json
import re
import sys

RESULT = re.compile(r'^(\s*)(ok|not ok) (\d+)(?: -)? ?([^#]*?)\s*(?:#\s*(\S+)(.*))?$')

# What the console scan counts. Each pattern starts a report.
LOCKDEP = re.compile(
    r'WARNING: (possible circular locking dependency|possible recursive locking'
    r'|inconsistent lock state|suspicious RCU usage|possible irq lock inversion'
    r'|lock held when returning to user space|bad unlock balance|held lock freed'
    r'|HARDIRQ-safe -> HARDIRQ-unsafe|SOFTIRQ-safe -> SOFTIRQ-unsafe'
    r'|Nested lock was not taken|possible deadlock)')
WARNING = re.compile(r'(WARNING: CPU: \d+ PID: \d+|------------\[ cut here \]------------)')
BUG = re.compile(r'(BUG: |Oops|Kernel panic - not syncing|general protection fault'
                 r'|kernel BUG at|UBSAN:|KFENCE: )')
HUNG = re.compile(r'(INFO: task .* blocked for more than|watchdog: BUG: soft lockup'
                  r'|rcu: INFO: rcu_.* self-detected stall|rcu: INFO: rcu_.* detected stalls)')
TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')


def strip_ts(line):
    return TS.sub('', line)


def parse_tap(lines):
    """Count the test cases of one block.

    KUnit blocks (KTAP with '# Subtest: SUITE') count the results at the
    suite's case level; kselftest blocks count the top-level results.
    Returns (passed, failed, skipped, failures).
    """
    case_indent = None
    for ln in lines:
        m = re.match(r'^(\s*)# Subtest:', ln)
        if m:
            case_indent = len(m.group(1).expandtabs())
            break
    if case_indent is None:
        indents = [len(m.group(1).expandtabs()) for m in map(RESULT.match, lines) if m]
        case_indent = min(indents) if indents else 0
    p = f = s = 0
    failures = []
    for ln in lines:
        m = RESULT.match(ln)
        if not m or len(m.group(1).expandtabs()) != case_indent:
            continue
        directive = (m.group(5) or '').upper()
        if directive == 'SKIP':
            s += 1
        elif m.group(2) == 'ok':
            p += 1
        else:
            f += 1
            failures.append(m.group(4).strip())
    return p, f, s, failures


def parse_results(path):
    suites = []
    kmemleak = None
    done = False
    cur = None
    try:
        text = open(path, errors='replace').read()
    except FileNotFoundError:
        text = ''
    for raw in text.splitlines():
        ln = raw.rstrip('\r')
        m = re.match(r'^# vmalock-(suite|kunit): (\S+)', ln)
        if m:
            cur = {'name': m.group(2), 'kind': m.group(1), 'lines': [], 'rc': None}
            suites.append(cur)
            continue
        m = re.match(r'^# vmalock-end: (\S+) rc=(\d+)', ln)
        if m and cur and cur['name'] == m.group(1):
            cur['rc'] = int(m.group(2))
            cur = None
            continue
        m = re.match(r'^# vmalock-kmemleak: (\S+)', ln)
        if m:
            kmemleak = int(m.group(1)) if m.group(1).isdigit() else None
            continue
        if ln.startswith('# vmalock-done'):
            done = True
            continue
        if cur is not None:
            cur['lines'].append(ln)
    return suites, kmemleak, done


def scan_console(path):
    counts = {'lockdep': 0, 'warning': 0, 'bug': 0, 'hung': 0}
    excerpts = []
    try:
        lines = [strip_ts(ln.rstrip('\r\n')) for ln in open(path, errors='replace')]
    except FileNotFoundError:
        lines = []
    for i, ln in enumerate(lines):
        kind = None
        if LOCKDEP.search(ln):
            kind = 'lockdep'
        elif HUNG.search(ln):
            kind = 'hung'
        elif BUG.search(ln):
            kind = 'bug'
        elif WARNING.search(ln) and 'cut here' not in ln:
            kind = 'warning'
        if kind:
            # A lockdep report is also a WARNING: count it once, as lockdep.
            counts[kind] += 1
            excerpts.append({'kind': kind, 'line': i + 1, 'text': '\n'.join(lines[i:i + 12])})
    lockdep_names = ' '.join(e['text'] for e in excerpts if e['kind'] == 'lockdep')
    return counts, excerpts, lockdep_names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--boot', required=True)
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--results', required=True)
    ap.add_argument('--console', required=True)
    ap.add_argument('--expect', nargs='*', default=[])
    ap.add_argument('--expect-lockdep', action='store_true',
                    help='this boot must produce a lockdep report naming vm_lock and mmap_lock')
    ap.add_argument('--timed-out', action='store_true')
    a = ap.parse_args()

    blocks, kmemleak, done = parse_results(a.results)
    suites = []
    for b in blocks:
        p, f, s, failures = parse_tap(b['lines'])
        notes = []
        if b['rc'] is None:
            f += 1
            notes.append('did not finish (crash, hang or timeout)')
        elif b['rc'] != 0 and f == 0:
            f += 1
            notes.append(f'exited with status {b["rc"]}')
        if p + f + s == 0:
            f += 1
            notes.append('reported no test')
        suites.append({'name': b['name'], 'kernel': a.kernel, 'boot': a.boot,
                       'passed': p, 'failed': f, 'skipped': s,
                       'failures': failures + notes})
    seen = {s['name'] for s in suites}
    for name in a.expect:
        if not any(re.fullmatch(name, n) for n in seen):
            suites.append({'name': name, 'kernel': a.kernel, 'boot': a.boot,
                           'passed': 0, 'failed': 1, 'skipped': 0,
                           'failures': ['suite missing from the results']})

    counts, excerpts, lockdep_text = scan_console(a.console)
    problems = []
    expected = {'lockdep': 0}
    if a.expect_lockdep:
        ok = counts['lockdep'] > 0 and 'vm_lock' in lockdep_text and 'mmap_lock' in lockdep_text
        suites.append({'name': 'lockdep_catches_inversion', 'kernel': a.kernel, 'boot': a.boot,
                       'passed': int(ok), 'failed': int(not ok), 'skipped': 0,
                       'failures': [] if ok else ['no lockdep report naming vm_lock and mmap_lock']})
        expected['lockdep'] = counts['lockdep']
        # Each lockdep report carries its own WARNING line; they are expected too.
        counts['lockdep'] = 0
    unexpected = {k: v for k, v in counts.items() if v}
    if unexpected:
        problems.append('console: ' + ', '.join(f'{v} {k}' for k, v in unexpected.items()))
    if kmemleak:
        problems.append(f'kmemleak: {kmemleak} leaks')
    if not done:
        problems.append('the guest did not finish its plan' + (' (timeout)' if a.timed_out else ''))
    if problems:
        suites.append({'name': 'guest_health', 'kernel': a.kernel, 'boot': a.boot,
                       'passed': 0, 'failed': 1, 'skipped': 0, 'failures': problems})
    else:
        suites.append({'name': 'guest_health', 'kernel': a.kernel, 'boot': a.boot,
                       'passed': 1, 'failed': 0, 'skipped': 0, 'failures': []})

    json.dump({'boot': a.boot, 'kernel': a.kernel, 'suites': suites,
               'lockdep_reports': counts['lockdep'], 'expected_lockdep_reports': expected['lockdep'],
               'warnings': counts['warning'], 'bugs': counts['bug'], 'hung_tasks': counts['hung'],
               'kmemleak_leaks': kmemleak or 0, 'plan_finished': done,
               'timed_out': a.timed_out, 'excerpts': excerpts[:20]}, sys.stdout, indent=1)


if __name__ == '__main__':
    main()
