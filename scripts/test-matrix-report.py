#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test scripts/matrix-report.py on made-up tuxmake output. KTAP.

Each case writes a stock and a patched (or prefix) build directory with
metadata.json and build.log as tuxmake writes them, runs `row` on each
and `summary` on the rows, and checks the verdict: every class of failure
make matrix claims to catch (a failed build, a run that built nothing
though tuxmake says PASS, a new warning, an option the
patched config dropped, a vm_area_struct that grows beyond the goal) must
fail it, and what is not a failure (a stock warning that only moved, an
option a prefix does not have yet, 8 bytes of growth on a 32-bit config)
must not.
Run with the matrix's python (it has kcidb-io).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STOCK_WARN = '/t/stock/mm/memory.c:100:5: warning: unused variable \'x\' [-Wunused-variable]'
MOVED_WARN = '/t/patched/mm/memory.c:123:5: warning: unused variable \'x\' [-Wunused-variable]'
NEW_WARN = '/t/patched/mm/mmap_lock.c:40:1: warning: no previous prototype [-Wmissing-prototypes]'
ERROR = '/t/patched/mm/ksm.c:10:2: error: implicit declaration of function \'foo\''

# name, patched flavor, patched status, patched log lines, dropped, want
# exit[, (stock, patched) sizeof(struct vm_area_struct) on this 32-bit config]
CASES = [
    ('clean', 'patched', 'PASS', [STOCK_WARN.replace('stock', 'patched')], [], 0),
    ('moved_stock_warning_is_not_new', 'patched', 'PASS', [MOVED_WARN], [], 0),
    ('new_warning_fails', 'patched', 'PASS', [MOVED_WARN, NEW_WARN], [], 1),
    ('failed_build_fails', 'patched', 'FAIL', [ERROR], [], 1),
    ('nothing_built_fails', 'patched', 'EMPTY', [], [], 1),
    ('dropped_option_fails', 'patched', 'PASS', [], ['CONFIG_KSM'], 1),
    ('prefix_may_lack_an_option', 'prefix-2', 'PASS', [], ['CONFIG_VMA_LOCK_KUNIT_TEST'], 0),
    ('prefix_new_warning_fails', 'prefix-2', 'PASS', [NEW_WARN], [], 1),
    ('vma_growth_within_goal', 'patched', 'PASS', [], [], 0, (72, 80)),
    ('vma_growth_beyond_goal_fails', 'patched', 'PASS', [], [], 1, (72, 96)),
]


def tuxmake_dir(root, name, status, lines, dropped, vma=None):
    d = os.path.join(root, name)
    os.makedirs(d)
    json.dump({'build': {'environment': {'KCFLAGS': '-ffile-prefix-map=/b/='}},
               'compiler': {'name': 'i686-linux-gnu-gcc', 'version_full': '12.2.0'},
               'results': {'status': 'PASS' if status == 'EMPTY' else status,
                           'duration': {'build': 12.5},
                           'targets': {} if status == 'EMPTY' else
                           {'config': {'status': 'PASS'}, 'kernel': {'status': status}}}},
              open(os.path.join(d, 'metadata.json'), 'w'))
    open(os.path.join(d, 'build.log'), 'w').write(
        'make --silent O=/b ARCH=i386 tinyconfig\n' + ''.join(l + '\n' for l in lines))
    open(os.path.join(d, 'dropped'), 'w').write(''.join(o + '\n' for o in dropped))
    if vma:
        open(os.path.join(d, 'sizes'), 'w').write('%d 424 64 32\n' % vma)
    return d


def row(d, name, flavor, tree, extra):
    return subprocess.run(
        [sys.executable, os.path.join(HERE, 'matrix-report.py'), 'row', '--name', name,
         '--flavor', flavor, '--arch', 'i386', '--kconfig', 'tinyconfig', '--options', '64BIT=n KSM',
         '--dir', d, '--tree', tree, '--extra', json.dumps(extra)],
        check=True, capture_output=True, text=True).stdout


def main():
    print('KTAP version 1')
    print(f'1..{len(CASES)}')
    bad = 0
    for i, (name, flavor, status, lines, dropped, want, *vma) in enumerate(CASES, 1):
        vma = vma[0] if vma else (None, None)
        with tempfile.TemporaryDirectory() as root:
            prefix = flavor.startswith('prefix')
            extra = {'prefix': 2, 'of': 3, 'sweep': 'i386-up'} if prefix else {}
            base = {'prefix': 0, 'of': 3, 'sweep': 'i386-up'} if prefix else {}
            rows = row(tuxmake_dir(root, 's', 'PASS', [STOCK_WARN], [], vma[0]), 'i386-up',
                       'prefix-0-stock' if prefix else 'stock', '/t/stock', base)
            rows += row(tuxmake_dir(root, 'p', status, lines, dropped, vma[1]), 'i386-up', flavor,
                        '/t/patched', extra)
            open(os.path.join(root, 'rows.jsonl'), 'w').write(rows)
            p = subprocess.run([sys.executable, os.path.join(HERE, 'matrix-report.py'), 'summary',
                                '--rows', os.path.join(root, 'rows.jsonl'), '--out', root,
                                '--series-hash', 'abc', '--version', '7.3.4'],
                               capture_output=True, text=True)
            ok = p.returncode == want
            if ok and vma[0]:
                # The size table was written, with the growth.
                t = open(os.path.join(root, 'sizes.txt')).read()
                ok = '%d -> %d' % vma in t
            elif ok:
                # The KCIDB file was validated by the summary; its build
                # status must be the verdict.
                k = json.load(open(os.path.join(root, 'kcidb.json')))
                st = [b['status'] for b in k['builds'] if not b['id'].split(':')[1].startswith(
                    ('stock', 'prefix-0'))]
                ok = st == (['PASS'] if want == 0 else ['FAIL'])
            if not ok:
                bad += 1
                print(f'# {name}: exit {p.returncode}, wanted {want}')
                print('\n'.join('# ' + l for l in (p.stdout + p.stderr).splitlines()))
            print(f'{"ok" if ok else "not ok"} {i} {name}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
