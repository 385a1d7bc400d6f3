#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Scan guest console logs for kernel reports.

    scan-console.py [--expect KIND[:REGEX]]... [--json] LOG...

Prints one line per finding, "LOG:LINE: KIND: first line of the report",
and exits 1 if any finding is unexpected (or an expected one is missing),
0 otherwise. `make check` (scripts/parse-results.py) uses the same code.

--expect KIND[:REGEX] allows exactly one finding of KIND whose report
(its first line and the 60 lines after it) matches REGEX; it is an error
when no such finding exists. Give it once per expected report.

What is recognised is the table KINDS below: every report the kernel's
debugging options print (WARN in both the 7.3 and the old format, BUG,
Oops, panics, refcount and list corruption, lockdep, UBSAN, KFENCE, KCSAN,
kmemleak, RCU stalls, lockups, hung tasks). Matching is not anchored to the
start of a line, and a report whose first words were split over two lines by
another writer on the console (another CPU, or user space writing to
/dev/console) is still found: each line is also matched joined with the next
one, and a match that needs both lines is reported at the first.
"""
import argparse
import json
import re
import sys

# Timestamps ("[   12.345678]") and caller ids ("[    T1]", "[ C0]") are
# removed wherever they appear: an interleaved line can carry several.
PREFIX = re.compile(r'\[\s*\d+\.\d{6}\]\s?|\[\s*[TC]\d+\]\s?')

# What the guest's own scripts write to /dev/console (scripts/guest/lib.sh
# say()): "vmalock: [uptime] ...", to the end of the line.
USER_MSG = re.compile(r'vmalock: \[[\d.]+\] .*$')

# Lockdep titles (kernel/locking/lockdep.c, kernel/rcu/update.c, ...). They
# are WARNINGs too; a line that matches here is counted once, as lockdep.
LOCKDEP = (
    r'WARNING: possible circular locking dependency detected'
    r'|WARNING: possible recursive locking detected'
    r'|WARNING: inconsistent lock state'
    r'|WARNING: suspicious RCU usage'
    r'|WARNING: possible irq lock inversion dependency detected'
    r'|WARNING: (?:HARD|SOFT)IRQ-safe -> (?:HARD|SOFT)IRQ-unsafe lock order detected'
    r'|WARNING: lock held when returning to user space'
    r'|WARNING: bad unlock balance detected'
    r'|WARNING: bad contention detected'
    r'|WARNING: held lock freed'
    r'|WARNING: lock held at task exit time'
    r'|WARNING: Nested lock was not taken'
    r'|WARNING: \S+ still has locks held'
    r'|still has locks held!'
    r'|INFO: trying to register non-static key'
    r'|chain_key collision'
    r'|DEBUG_LOCKS_WARN_ON'
    r'|BUG: MAX_LOCKDEP_\w+ too low'
    r'|BUG: MAX_LOCK_DEPTH too low'
    r'|BUG: looking up invalid subclass'
    r'|BUG: key \S+ has not been registered'
    r'|INFO: lockdep is turned off')

# (kind, pattern), first match wins; order matters where patterns overlap
# (e.g. "BUG: KCSAN:" is kcsan, not bug; "watchdog: BUG: soft lockup" is
# lockup).
KINDS = [
    ('lockdep', LOCKDEP),
    ('kcsan', r'KCSAN: '),
    ('kfence', r'KFENCE: '),
    ('ubsan', r'UBSAN: '),
    ('kmemleak', r'kmemleak: \d+ new suspected memory leaks'
                 r'|kmemleak: Kernel memory leak detector disabled'
                 r'|kmemleak: Cannot (?:allocate|insert)'),
    ('rcu_stall', r'INFO: rcu_\w+ self-detected stall'
                  r'|INFO: rcu_\w+ detected (?:expedited )?stalls'
                  r'|INFO: rcu_tasks\w* detected stalls'
                  r'|rcu_tasks\w* detected stalls on tasks'),
    ('lockup', r'BUG: soft lockup|soft lockup - CPU#\d+ stuck'
               r'|[Hh]ard LOCKUP|BUG: workqueue lockup'),
    ('hung_task', r'INFO: task \S+ blocked (?:in I/O wait )?for more than'
                  r'|blocked (?:in I/O wait )?for more than \d+ seconds'),
    ('refcount', r'refcount_t: '),
    ('list_corruption', r'list_(?:add|del) corruption|list_add double add'),
    ('panic', r'Kernel panic - not syncing'),
    ('kernel_bug', r'kernel BUG at '),
    ('gpf', r'general protection fault'),
    ('oops', r'Oops(?::| -|\s+\d{4})'),
    # SLUB's object reports: "BUG kmalloc-64 (Not tainted): Redzone overwritten".
    ('slub', r'(?<!DE)BUG [\w.:@-]+ \([^)]*\): '),
    ('bug', r'(?<!DE)BUG: '),
    # 7.3: "WARNING: mm/x.c:12 at sym+0x1/0x2, CPU#0: comm/1" or
    # "WARNING: at sym, CPU#0: ..."; before: "WARNING: CPU: 0 PID: 1 at ...".
    ('warning', r'WARNING: '),
    ('cut_here', r'------------\[ cut here \]------------'),
]
KIND_NAMES = [k for k, _ in KINDS]
_COMPILED = [(k, re.compile(p)) for k, p in KINDS]
# A "cut here" line is folded into the report that follows it this closely.
CUT_HERE_WINDOW = 4
REPORT_LINES = 60


def classify(text):
    """Return (kind, match) of the first pattern found in text, or None."""
    for kind, rx in _COMPILED:
        m = rx.search(text)
        if m:
            return kind, m
    return None


def rank(kind):
    return KIND_NAMES.index(kind)


def clean(line):
    return PREFIX.sub('', line.rstrip('\r\n'))


def read_lines(path):
    with open(path, errors='replace') as f:
        return [clean(ln) for ln in f]


def scan_lines(lines):
    """Find the reports in a list of cleaned console lines.

    Returns a list of findings {'kind', 'line' (1-based), 'text', 'report'}.
    """
    found = []
    taken = set()
    for i, ln in enumerate(lines):
        if i in taken:
            continue
        hit = classify(ln)
        if i + 1 < len(lines):
            # A report split over two lines, either right at the break or
            # with our own console messages written into the middle of it:
            # it matches only when the lines are joined. Taken when it is a
            # more specific kind than what the line alone shows (a split
            # lockdep title still shows "WARNING: " alone).
            for head in (ln, USER_MSG.sub('', ln)):
                joined = classify(head + lines[i + 1])
                if (joined and joined[1].start() < len(head) < joined[1].end() and
                        (hit is None or rank(joined[0]) < rank(hit[0]))):
                    hit = joined
                    taken.add(i + 1)
                    break
        if hit is None:
            continue
        kind = hit[0]
        found.append({'kind': kind, 'line': i + 1, 'text': ln.strip()[:200],
                      'report': '\n'.join(lines[i:i + REPORT_LINES])})
    # Fold each "cut here" into the report that follows it.
    out = []
    for n, f in enumerate(found):
        if f['kind'] == 'cut_here':
            nxt = found[n + 1] if n + 1 < len(found) else None
            if nxt and nxt['kind'] != 'cut_here' and nxt['line'] - f['line'] <= CUT_HERE_WINDOW:
                continue
            f['kind'] = 'warning'
        out.append(f)
    return out


def parse_expect(spec):
    kind, _, rx = spec.partition(':')
    if kind not in KIND_NAMES:
        raise ValueError(f'--expect {spec}: unknown kind {kind!r} (kinds: {", ".join(KIND_NAMES)})')
    return {'kind': kind, 'regex': rx, 'rx': re.compile(rx, re.S) if rx else None}


def apply_expectations(findings, expects):
    """Mark expected findings. Returns the expectations that matched nothing."""
    missing = []
    for e in expects:
        for f in findings:
            if f.get('expected') or f['kind'] != e['kind']:
                continue
            if e['rx'] is None or e['rx'].search(f['report']):
                f['expected'] = True
                break
        else:
            missing.append(e)
    for f in findings:
        f.setdefault('expected', False)
    return missing


def scan_file(path, expects=()):
    """Findings of one log (empty when the log does not exist) and the
    expectations that were not met."""
    try:
        lines = read_lines(path)
    except FileNotFoundError:
        lines = []
    findings = scan_lines(lines)
    missing = apply_expectations(findings, list(expects))
    return findings, missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('logs', nargs='+', metavar='LOG')
    ap.add_argument('--expect', action='append', default=[], metavar='KIND[:REGEX]',
                    help='one expected report (repeat for more); applies to each LOG')
    ap.add_argument('--json', action='store_true', help='print the findings as JSON')
    a = ap.parse_args()
    try:
        expects = [parse_expect(s) for s in a.expect]
    except ValueError as e:
        ap.error(str(e))
    bad = 0
    report = []
    for path in a.logs:
        try:
            lines = read_lines(path)
        except OSError as e:
            print(f'{path}: cannot read: {e.strerror}', file=sys.stderr)
            bad += 1
            continue
        findings = scan_lines(lines)
        missing = apply_expectations(findings, [dict(e) for e in expects])
        for f in findings:
            tag = ' (expected)' if f['expected'] else ''
            bad += not f['expected']
            if not a.json:
                print(f'{path}:{f["line"]}: {f["kind"]}{tag}: {f["text"]}')
        for e in missing:
            bad += 1
            if not a.json:
                print(f'{path}: missing expected {e["kind"]}'
                      + (f' matching {e["regex"]!r}' if e['regex'] else ''))
        report.append({'log': path, 'lines': len(lines),
                       'findings': [{k: f[k] for k in ('kind', 'line', 'text', 'expected')}
                                    for f in findings],
                       'missing': [{'kind': e['kind'], 'regex': e['regex']} for e in missing]})
    if a.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
