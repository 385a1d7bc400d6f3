#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Parse one guest boot: the results channel and the console log.

parse-results.py --boot NAME --kernel NAME --results FILE --console FILE
                 --ktree KERNEL_SOURCE [--config KERNEL_.config]
                 [--expect SUITE ...] [--expect-report KIND:REGEX ...]
                 [--allowlist FILE] [--timed-out]
Writes a JSON object for the boot on stdout.

Results blocks (see scripts/guest/lib.sh):
  # vmalock-suite: NAME   TAP/KTAP of a userspace program, then
  # vmalock-end: NAME rc=N
  # vmalock-kunit: NAME   a KUnit suite's debugfs results, then the end line
  # vmalock-kmemleak: N scans=N
  # vmalock-health: tainted=N debug_locks=N|na kmemleak=on|off|absent cpus=N clocksource=NAME
  # vmalock-done          the plan ran to its end

Each block is parsed with the kernel tree's own KTAP parser
(tools/testing/kunit/kunit_parser.py), which also reads the kselftest
harness' TAP: plans are checked, a suite with fewer results than its plan
or without its result line is a crash. Every leaf result counts as one
case. A skip (or TODO) fails unless the allowlist names it.

The boot fails (case guest_health) on any console finding of
scripts/scan-console.py that --expect-report does not allow, on a missing
expected report, on kmemleak leaks, on a kernel that tainted itself beyond
what loading our module and running KUnit sets, on a detector that switched
itself off (debug_locks 0 on a lockdep kernel, kmemleak disabled or not
scanned) and on a plan that did not finish.
"""
import argparse
import fnmatch
import importlib.util
import io
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Taint bits (include/linux/panic.h) and their letters (kernel/panic.c).
TAINT_LETTERS = 'PFSRMBUDAWCIOELKXTNJ'
# Bits that this project's boots set by design, and only those:
#  O (12) TAINT_OOT_MODULE: vmalock.ko is an out-of-tree module;
#  E (13) TAINT_UNSIGNED_MODULE: it is not signed (only with MODULE_SIG);
#  N (18) TAINT_TEST: KUnit sets it whenever a suite runs.
TAINT_ALLOWED = (1 << 12) | (1 << 13) | (1 << 18)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


scan = load('scan_console', os.path.join(HERE, 'scan-console.py'))


def taint_letters(mask):
    return ''.join(c for i, c in enumerate(TAINT_LETTERS) if mask & (1 << i))


class Allowlist:
    """Skips that may happen: BOOT SUITE CASE REASON (glob patterns)."""

    def __init__(self, path):
        self.entries = []
        if not path:
            return
        for n, raw in enumerate(open(path), 1):
            ln = raw.strip()
            if not ln or ln.startswith('#'):
                continue
            parts = ln.split(None, 3)
            if len(parts) < 4:
                raise SystemExit(f'{path}:{n}: want BOOT SUITE CASE REASON')
            self.entries.append({'boot': parts[0], 'suite': parts[1], 'case': parts[2],
                                 'reason': parts[3], 'used': 0})

    def reason(self, boot, suite, case):
        for e in self.entries:
            if (fnmatch.fnmatchcase(boot, e['boot']) and fnmatch.fnmatchcase(suite, e['suite'])
                    and fnmatch.fnmatchcase(case, e['case'])):
                e['used'] += 1
                return e['reason']
        return None


def parse_results(path):
    suites = []
    kmemleak = None
    kmemleak_scans = None
    health = None
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
        m = re.match(r'^# vmalock-kmemleak: (\S+)(?: scans=(\d+))?', ln)
        if m:
            kmemleak = int(m.group(1)) if m.group(1).isdigit() else m.group(1)
            kmemleak_scans = int(m.group(2)) if m.group(2) else None
            continue
        m = re.match(r'^# vmalock-health: (.*)', ln)
        if m:
            health = dict(kv.split('=', 1) for kv in m.group(1).split() if '=' in kv)
            continue
        if ln.startswith('# vmalock-done'):
            done = True
            continue
        if cur is not None:
            cur['lines'].append(ln)
    return suites, kmemleak, kmemleak_scans, health, done


def leaves(test, path, number=0):
    """(name, status, skip_reason) of every leaf result under test. A result
    line without a description ("ok 6 # SKIP reason", as ksft_test_result_skip()
    prints it) is named by its skip reason, or else by its number."""
    if not test.subtests:
        name = test.name or test.skip_reason or f'#{number}'
        yield '.'.join(path + [name]), test.status, test.skip_reason
        return
    for n, t in enumerate(test.subtests, 1):
        yield from leaves(t, path + ([test.name] if test.name and test.name != 'main' else []),
                          n)


def parse_block(kp, printer_mod, block):
    """Parse one block with kunit_parser. Returns (cases, errors), cases a
    list of (name, status, reason) where status is pass/fail/skip/todo."""
    out = io.StringIO()
    printer = printer_mod.Printer(print=True, output=out)
    lines = [ln + '\n' for ln in block['lines']]
    test = kp.parse_run_tests(lines, printer)
    errors = [re.sub(r'\x1b\[[0-9;]*m', '', ln).strip()
              for ln in out.getvalue().splitlines() if '[ERROR]' in ln]
    todo = set()
    for ln in block['lines']:
        m = re.match(r'^\s*(?:ok|not ok) \d+ (?:- )?(.*?)\s*#\s*TODO\b', ln)
        if m:
            todo.add(m.group(1))
    S = kp.TestStatus
    cases = []
    for name, status, reason in leaves(test, []):
        if any(name.endswith(t) for t in todo):
            cases.append((name, 'todo', 'TODO'))
        elif status == S.SUCCESS:
            cases.append((name, 'pass', ''))
        elif status == S.SKIPPED:
            cases.append((name, 'skip', reason))
        elif status == S.FAILURE:
            cases.append((name, 'fail', ''))
        else:
            cases.append((name, 'fail', status.name.lower()))
    if test.status == S.FAILURE_TO_PARSE_TESTS:
        errors.append('no KTAP/TAP output')
    return cases, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--boot', required=True)
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--results', required=True)
    ap.add_argument('--console')
    ap.add_argument('--host', action='store_true',
                    help='host-side suites: no console, no guest health')
    ap.add_argument('--ktree', required=True, help='kernel source tree (for kunit_parser)')
    ap.add_argument('--config', help="the kernel's .config: which detectors must be alive")
    ap.add_argument('--expect', nargs='*', default=[], help='suites that must report')
    ap.add_argument('--expect-report', action='append', default=[], metavar='KIND:REGEX',
                    help='a console report this boot must produce (see scan-console.py)')
    ap.add_argument('--allowlist', help='the skips that may happen')
    ap.add_argument('--cpus', type=int,
                    help='CPUs the guest must have online (its vCPUs; 1 on an SMP=n kernel)')
    ap.add_argument('--timed-out', action='store_true')
    a = ap.parse_args()

    sys.path.insert(0, os.path.join(a.ktree, 'tools/testing/kunit'))
    import kunit_parser as kp
    import kunit_printer

    allow = Allowlist(a.allowlist)
    config = {}
    if a.config:
        for ln in open(a.config):
            m = re.match(r'^(CONFIG_\w+)=(.*)', ln)
            if m:
                config[m.group(1)] = m.group(2)

    blocks, kmemleak, kmemleak_scans, health, done = parse_results(a.results)
    suites = []
    for b in blocks:
        cases, errors = parse_block(kp, kunit_printer, b)
        p = f = s = 0
        failures, skips = [], []
        for name, st, reason in cases:
            if st == 'pass':
                p += 1
            elif st in ('skip', 'todo'):
                why = allow.reason(a.boot, b['name'], name)
                if why is not None:
                    s += 1
                    skips.append({'case': name, 'reason': why, 'reported': reason})
                else:
                    f += 1
                    failures.append(f'{name} ({st} not on the allowlist: {reason or "no reason"})')
            else:
                f += 1
                failures.append(name + (f' ({reason})' if reason else ''))
        notes = []
        if errors:
            f += 1
            notes.append('KTAP: ' + '; '.join(errors)[:300])
        if b['rc'] is None:
            f += 1
            notes.append('did not finish (crash, hang or timeout)')
        elif b['rc'] != 0 and not failures:
            f += 1
            notes.append(f'exited with status {b["rc"]}')
        if p + f + s == 0:
            f += 1
            notes.append('reported no test')
        suites.append({'name': b['name'], 'kernel': a.kernel, 'boot': a.boot,
                       'passed': p, 'failed': f, 'skipped': s,
                       'failures': failures + notes, 'skips': skips})
    for name in a.expect:
        got = [x for x in suites if re.fullmatch(name, x['name'])]
        if not got:
            suites.append({'name': name, 'kernel': a.kernel, 'boot': a.boot,
                           'passed': 0, 'failed': 1, 'skipped': 0,
                           'failures': ['suite missing from the results'], 'skips': []})
        elif not any(x['passed'] for x in got) and not any(x['failed'] for x in got):
            got[0]['failed'] += 1
            got[0]['failures'].append('expected suite ran no case (all skipped)')

    if a.host:
        json.dump({'boot': a.boot, 'kernel': a.kernel, 'suites': suites, 'findings': {},
                   'unused_allowlist': [e for e in allow.entries if not e['used']]},
                  sys.stdout, indent=1)
        return
    expects = [scan.parse_expect(e) for e in a.expect_report]
    findings, missing = scan.scan_file(a.console, expects)
    problems = []
    unexpected = [x for x in findings if not x['expected']]
    for x in unexpected[:10]:
        problems.append(f'console:{x["line"]}: {x["kind"]}: {x["text"][:120]}')
    if len(unexpected) > 10:
        problems.append(f'... {len(unexpected) - 10} more console findings')
    if expects:
        # One case per expected report (the lockdep boot: lockdep's
        # vm_lock/mmap_lock cycle); anything else on the console is still
        # a guest_health failure.
        suites.append({'name': 'expected_reports', 'kernel': a.kernel, 'boot': a.boot,
                       'passed': len(expects) - len(missing), 'failed': len(missing),
                       'skipped': 0, 'skips': [],
                       'failures': [f'no {e["kind"]} report matching {e["regex"]!r}'
                                    for e in missing]})

    # The detectors this check relies on must be built in at all.
    for opt in ('CONFIG_BUG', 'CONFIG_PRINTK'):
        if config and config.get(opt) != 'y':
            problems.append(f'config: {opt} is off: its reports cannot appear')
    if isinstance(kmemleak, int) and kmemleak:
        problems.append(f'kmemleak: {kmemleak} leaks')
    want_kmemleak = config.get('CONFIG_DEBUG_KMEMLEAK') == 'y'
    want_lockdep = config.get('CONFIG_LOCKDEP') == 'y'
    if want_kmemleak and done:
        if not isinstance(kmemleak, int):
            problems.append(f'kmemleak: no leak report ({kmemleak})')
        elif not kmemleak_scans:
            problems.append('kmemleak: no scan completed')
    if done:
        if health is None:
            problems.append('health: the guest reported no health line')
        else:
            t = int(health.get('tainted', '0'))
            if t & ~TAINT_ALLOWED:
                problems.append(f'health: kernel tainted {taint_letters(t & ~TAINT_ALLOWED)} '
                                f'(mask {t}; allowed only {taint_letters(TAINT_ALLOWED)})')
            # Lockdep turns itself off after its first report: only an
            # expected lockdep report may do that.
            lockdep_expected = any(x['expected'] and x['kind'] == 'lockdep' for x in findings)
            if want_lockdep and health.get('debug_locks') != '1' and not lockdep_expected:
                problems.append(f'health: lockdep switched itself off (debug_locks={health.get("debug_locks")})')
            if want_kmemleak and health.get('kmemleak') != 'on':
                problems.append(f'health: kmemleak is {health.get("kmemleak")}')
            if a.cpus is not None and health.get('cpus') != str(a.cpus):
                problems.append(f'health: {health.get("cpus")} CPUs online, want {a.cpus} '
                                '(the vCPUs the guest was given)')
            # pit: the i386 fallback once the TSC failed its calibration.
            if health.get('clocksource', 'none') in ('none', 'jiffies', 'refined-jiffies', 'pit'):
                problems.append(f'health: clocksource is {health.get("clocksource", "none")}, '
                                'the TSC was not calibrated')
    if not done:
        problems.append('the guest did not finish its plan' + (' (timeout)' if a.timed_out else ''))
    suites.append({'name': 'guest_health', 'kernel': a.kernel, 'boot': a.boot,
                   'passed': int(not problems), 'failed': int(bool(problems)), 'skipped': 0,
                   'failures': problems, 'skips': []})

    kinds = {}
    for x in unexpected:
        kinds[x['kind']] = kinds.get(x['kind'], 0) + 1
    json.dump({'boot': a.boot, 'kernel': a.kernel, 'suites': suites,
               'findings': kinds,
               'expected_findings': [{'kind': x['kind'], 'line': x['line'], 'text': x['text']}
                                     for x in findings if x['expected']],
               'lockdep_reports': kinds.get('lockdep', 0),
               'expected_lockdep_reports': sum(x['expected'] and x['kind'] == 'lockdep'
                                               for x in findings),
               'warnings': kinds.get('warning', 0),
               'kmemleak_leaks': kmemleak if isinstance(kmemleak, int) else 0,
               'health': health, 'plan_finished': done, 'timed_out': a.timed_out,
               'unused_allowlist': [e for e in allow.entries if not e['used']],
               'excerpts': [{'kind': x['kind'], 'line': x['line'], 'text': x['report'][:2000]}
                            for x in unexpected[:10]]},
              sys.stdout, indent=1)


if __name__ == '__main__':
    main()
