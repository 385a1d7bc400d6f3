#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""check-kcidb.py OUTDIR BOOTDIR...: make check's results in KCIDB I/O.

Reads the boots' boot.json and kernel.json (as summarize.py does) and
writes OUTDIR/kcidb.json: one checkout (the pinned source with the
series), one build per kernel the suites ran on ("host" for the suites
that run on the build host), one test per suite and boot, its status
FAIL if a case failed, PASS if one passed, SKIP if all were skipped.
The file is validated against the latest schema with kcidb-io, so it can
be submitted to KernelCI unchanged. Run with make matrix's python.
"""
import datetime
import glob
import hashlib
import json
import os
import sys

import kcidb_io

ORIGIN = 'vmalock'
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def series_hash():
    # As scripts/prepare-tree.sh keys the patched tree, and KCIDB's
    # patchset_hash (sha256 of the patches' newline-terminated sha256s).
    h, ph = hashlib.sha256(), hashlib.sha256()
    for p in sorted(glob.glob(os.path.join(TOP, 'patches', '0*.patch'))):
        if not os.path.basename(p).startswith('0000-'):
            text = open(p, 'rb').read()
            h.update(text)
            ph.update(hashlib.sha256(text).hexdigest().encode() + b'\n')
    return h.hexdigest()[:16], ph.hexdigest()


def main():
    outdir, bootdirs = sys.argv[1], sys.argv[2:]
    sh, patchset = series_hash()
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    checkout = {'id': f'{ORIGIN}:patched-{sh}', 'origin': ORIGIN, 'valid': True,
                'comment': 'pinned Debian linux-source with patches/ applied',
                'patchset_hash': patchset, 'misc': {'series_hash': sh}}
    builds, tests, seen = {}, [], {}
    for d in bootdirs:
        b = json.load(open(os.path.join(d, 'boot.json')))
        kj = os.path.join(d, 'kernel.json')
        k = json.load(open(kj)) if os.path.exists(kj) else {'name': b.get('kernel', 'host')}
        bid = f'{ORIGIN}:{k["name"]}-{sh}'
        if bid not in builds:
            builds[bid] = {'id': bid, 'checkout_id': checkout['id'], 'origin': ORIGIN,
                           'architecture': k.get('arch', 'x86_64'), 'status': 'PASS',
                           'config_name': k['name'],
                           'comment': ('build host (no kernel)' if k['name'] == 'host' else
                                       f'guest kernel {k["name"]} {k.get("version", "")}'),
                           'misc': {'smp': k.get('smp')} if 'smp' in k else {}}
        for s in b['suites']:
            status = 'FAIL' if s['failed'] else 'PASS' if s['passed'] else 'SKIP'
            tid = f'{ORIGIN}:{b["boot"]}-{s["name"]}-{sh}'
            seen[tid] = seen.get(tid, 0) + 1
            if seen[tid] > 1:
                tid += f'-{seen[tid]}'
            t = {'id': tid, 'build_id': bid, 'origin': ORIGIN,
                 'path': f'vmalock.{b["boot"]}.{s["name"]}', 'status': status, 'start_time': now,
                 'environment': {'comment': f'QEMU TCG boot "{b["boot"]}"'
                                 if k['name'] != 'host' else 'build host'},
                 'misc': {'passed': s['passed'], 'failed': s['failed'], 'skipped': s['skipped']}}
            if s.get('failures'):
                t['log_excerpt'] = '\n'.join(s['failures'])[:16000]
            tests.append(t)
    data = {'version': {'major': kcidb_io.schema.LATEST.major,
                        'minor': kcidb_io.schema.LATEST.minor},
            'checkouts': [checkout], 'builds': list(builds.values()), 'tests': tests}
    kcidb_io.schema.LATEST.validate(data)
    path = os.path.join(outdir, 'kcidb.json')
    json.dump(data, open(path, 'w'), indent=1)
    print(f'kcidb: {len(builds)} builds, {len(tests)} tests in {path} '
          f'(schema v{data["version"]["major"]}.{data["version"]["minor"]}, validated by kcidb-io)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
