#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test scripts/parse-results.py on made-up results channels. KTAP.

    test-parse-results.py KERNEL_SOURCE

Each case is a results log and what the parser must make of one suite: a
KUnit suite cut short, a result line missing, an unlisted skip, a TODO, a
whole-suite skip, a suite that never ended, a clean one, an allowlisted
skip, skips without a description (matched by their reason), and a guest
whose health line counts fewer CPUs online than it was given vCPUs, and
guests whose clocksource is jiffies, the PIT or unknown.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def kunit(name, body, rc=0):
    return (f'# vmalock-kunit: {name}\nKTAP version 1\n1..1\n    KTAP version 1\n'
            f'    # Subtest: {name}\n{body}' + (f'# vmalock-end: {name} rc={rc}\n' if rc is not None else ''))


def tap(name, body, rc=0):
    return f'# vmalock-suite: {name}\nTAP version 13\n{body}# vmalock-end: {name} rc={rc}\n'


OK3 = '    1..3\n    ok 1 a\n    ok 2 b\n    ok 3 c\nok 1 s\n'
HEALTH = '# vmalock-health: tainted=0 debug_locks=1 kmemleak=on cpus={} clocksource={}\n'
# name, log, suite, (passed, failed, skipped)
CASES = [
    ('clean_kunit', kunit('s', OK3), 's', (3, 0, 0)),
    ('kunit_cut_short', kunit('s', '    1..3\n    ok 1 a\n    ok 2 b\n'), 's', None),
    ('kunit_case_failed', kunit('s', '    1..2\n    ok 1 a\n    not ok 2 b\nnot ok 1 s\n'), 's', (1, 1, 0)),
    ('kunit_never_ended', kunit('s', '    1..2\n    ok 1 a\n', rc=None), 's', None),
    ('whole_suite_skip', '# vmalock-kunit: s\nKTAP version 1\n1..1\nok 1 s # SKIP off\n'
                         '# vmalock-end: s rc=0\n', 's', None),
    ('tap_clean', tap('t', '1..2\nok 1 x.a\nok 2 x.b\n'), 't', (2, 0, 0)),
    ('tap_plan_short', tap('t', '1..3\nok 1 x.a\nok 2 x.b\n'), 't', None),
    ('tap_unlisted_skip', tap('t', '1..2\nok 1 x.a\nok 2 x.b # SKIP why\n'), 't', None),
    ('tap_todo', tap('t', '1..2\nok 1 x.a\nnot ok 2 x.b # TODO later\n'), 't', None),
    ('tap_listed_skip', tap('t', '1..2\nok 1 x.a\nok 2 x.listed # SKIP why\n'), 't', (1, 0, 1)),
    ('tap_exit_status', tap('t', '1..1\nok 1 x.a\n', rc=1), 't', None),
    # ksft_test_result_skip() lines carry no description: named by the reason.
    ('tap_nameless_listed_skip', tap('t', '1..2\nok 1 x.a\nok 2 # SKIP on hugetlb (none)\n'),
     't', (1, 0, 1)),
    ('tap_nameless_unlisted_skip', tap('t', '1..2\nok 1 x.a\nok 2 # SKIP on shmem\n'), 't', None),
    ('tap_no_output', tap('t', ''), 't', None),
    # Guest cases (a console, a health line): name, log, suite, want, arguments.
    ('health_cpus_online', HEALTH.format(2, 'tsc'), 'guest_health', (1, 0, 0), ['--cpus', '2']),
    ('health_cpus_missing', HEALTH.format(1, 'tsc'), 'guest_health', None, ['--cpus', '2']),
    ('health_clocksource_jiffies', HEALTH.format(1, 'jiffies'), 'guest_health', None, ['--cpus', '1']),
    ('health_clocksource_unknown', HEALTH.format(1, 'none'), 'guest_health', None, ['--cpus', '1']),
    ('health_clocksource_pit', HEALTH.format(1, 'pit'), 'guest_health', None, ['--cpus', '1']),
]


def main():
    ktree = sys.argv[1]
    print('KTAP version 1')
    print(f'1..{len(CASES)}')
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        allow = os.path.join(tmp, 'skips')
        open(allow, 'w').write('b\tt\tx.listed\ta test of the allowlist\n'
                               'b\tt\t*on?hugetlb*\ta nameless skip, matched by its reason\n')
        console = os.path.join(tmp, 'console.log')
        open(console, 'w').write('[    0.000000] Linux version 7.3\n')
        for i, (name, log, suite, want, *guest) in enumerate(CASES, 1):
            res = os.path.join(tmp, 'results.log')
            open(res, 'w').write(log + '# vmalock-done\n')
            mode = ['--console', console] + guest[0] if guest else ['--host', '--expect', suite]
            p = subprocess.run([sys.executable, os.path.join(HERE, 'parse-results.py'), *mode,
                                '--boot', 'b', '--kernel', 'k', '--results', res,
                                '--ktree', ktree, '--allowlist', allow],
                               capture_output=True, text=True)
            got = None
            if p.returncode == 0:
                s = next(x for x in json.loads(p.stdout)['suites'] if x['name'] == suite)
                got = (s['passed'], s['failed'], s['skipped'])
            ok = got is not None and (got == want if want else got[1] > 0)
            if not ok:
                bad += 1
                print(f'# {name}: want {want or "failed > 0"}, got {got} {p.stderr.strip()[-300:]}')
            print(f'{"ok" if ok else "not ok"} {i} {name}')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
