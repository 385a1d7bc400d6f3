#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""matrix-report.py: the rows and the verdict of scripts/matrix.sh.

  row      one build's tuxmake output directory -> one JSON line
  summary  all rows -> out/matrix/summary.json, out/matrix/kcidb.json
           (KCIDB I/O schema, validated by kcidb-io), a table, and the
           struct size table (out/matrix/sizes.txt) of the full builds
           that carry sizes; exit 1 on any failed build, new warning or
           missed size goal

A warning is a compiler, linker, modpost or Kconfig line with "warning:"
or "WARNING:" in tuxmake's build.log. Warnings are compared with their
tree and build paths and their line and column numbers removed, so a
warning that only moved is not new.
"""

import argparse
import collections
import datetime
import json
import os
import re
import sys

import sizes_table

ORIGIN = 'vmalock'
WARN_RE = re.compile(r'(warning:|WARNING:)')
POS_RE = re.compile(r':\d+(:\d+)?:')


def normalize(line, paths):
    for p in paths:
        if p:
            line = line.replace(p.rstrip('/') + '/', '')
    line = POS_RE.sub(':', line)
    return line.strip()


def row(args):
    meta = json.load(open(os.path.join(args.dir, 'metadata.json')))
    res = meta['results']
    log = os.path.join(args.dir, 'build.log')
    lines = open(log, errors='replace').read().splitlines() if os.path.exists(log) else []
    build_dir = meta['build']['environment'].get('KCFLAGS', '').partition('=')[2].rstrip('=')
    warnings = [normalize(l, [args.tree, build_dir]) for l in lines if WARN_RE.search(l)
                and not l.startswith('make')]
    errors = [normalize(l, [args.tree, build_dir]) for l in lines if ' error:' in l or
              l.startswith('ERROR:')]
    dropped = []
    dp = os.path.join(args.dir, 'dropped')
    if os.path.exists(dp):
        dropped = open(dp).read().split()
    status = res['status']
    # tuxmake says PASS when it ran no target at all (an option it could
    # not parse, say): only a built kernel is a passing build.
    if res.get('targets', {}).get('kernel', {}).get('status') != 'PASS':
        if status == 'PASS':
            errors.insert(0, 'tuxmake built no kernel (targets: %s; see %s.stderr)' % (
                ', '.join(res.get('targets', {})) or 'none', args.dir))
        status = 'FAIL'
    compiler = meta.get('compiler', {})
    r = {
        'name': args.name,
        'flavor': args.flavor,
        'arch': args.arch,
        'kconfig': args.kconfig,
        'options': args.options.split(),
        'status': status,
        'targets': {t: v['status'] for t, v in res.get('targets', {}).items()},
        'seconds': round(res['duration'].get('build', 0), 1),
        'finished': os.path.getmtime(os.path.join(args.dir, 'metadata.json')),
        'compiler': '%s %s' % (compiler.get('name', 'gcc'),
                               compiler.get('version_full', compiler.get('version', ''))),
        'warnings': warnings,
        'errors': errors[:20],
        'dropped_options': dropped,
        'log': os.path.relpath(log, os.getcwd()),
    }
    sp = os.path.join(args.dir, 'sizes')
    if os.path.exists(sp) and open(sp).read().split():
        vma, mm, l1, bits = map(int, open(sp).read().split())
        r['sizes'] = {'vm_area_struct': vma, 'mm_struct': mm, 'l1_cache_bytes': l1, 'bits': bits}
    r.update(json.loads(args.extra))
    print(json.dumps(r))


def kcidb(rows, series_hash, version):
    checkouts = {}
    builds = []

    def checkout(r):
        if r['flavor'] in ('stock', 'prefix-0-stock'):
            cid, what = '%s:stock-%s' % (ORIGIN, version), 'stock'
        elif 'prefix' in r:
            cid = '%s:prefix-%d-%s' % (ORIGIN, r['prefix'], series_hash)
            what = 'patches 1-%d of %d' % (r['prefix'], r['of'])
        else:
            cid, what = '%s:patched-%s' % (ORIGIN, series_hash), 'the series'
        checkouts.setdefault(cid, {
            'id': cid, 'origin': ORIGIN, 'tree_name': 'debian-linux-%s' % version,
            'valid': True, 'comment': 'Debian linux-source %s, %s' % (version, what),
            'misc': {'series_hash': series_hash}})
        return cid

    for r in rows:
        cid = checkout(r)
        start = datetime.datetime.fromtimestamp(r['finished'] - r['seconds'],
                                                datetime.timezone.utc).isoformat()
        b = {
            'id': '%s:%s-%s-%s' % (ORIGIN, r['flavor'], r['name'], cid.split(':', 1)[1]),
            'checkout_id': cid,
            'origin': ORIGIN,
            'architecture': r['arch'],
            'config_name': ' '.join([r['kconfig']] + r['options']),
            'compiler': r['compiler'],
            'start_time': start,
            'duration': r['seconds'],
            'status': r['verdict'],
            'command': 'tuxmake --runtime null --toolchain gcc --target-arch %s' % r['arch'],
            'misc': {'warnings': len(r['warnings']), 'new_warnings': len(r['new_warnings']),
                     'dropped_options': r['dropped_options']},
        }
        excerpt = '\n'.join(r['errors'] + r['new_warnings'])
        if excerpt:
            b['log_excerpt'] = excerpt[:16000]
        builds.append(b)
    return {'version': {'major': 5, 'minor': 3}, 'checkouts': list(checkouts.values()),
            'builds': builds}


def summary(args):
    rows = [json.loads(l) for l in open(args.rows) if l.strip()]
    # The stock warnings each patched or prefix build is compared with.
    base = {}
    for r in rows:
        if r['flavor'] in ('stock', 'prefix-0-stock'):
            base[(r['name'], r.get('sweep') is not None)] = collections.Counter(r['warnings'])
    failed = []
    for r in rows:
        if r['flavor'] in ('stock', 'prefix-0-stock'):
            r['new_warnings'] = []
            r['verdict'] = r['status']
        else:
            b = base.get((r['name'], r.get('sweep') is not None))
            if b is None:
                r['new_warnings'] = []
                r['verdict'] = 'ERROR'
                failed.append('%s %s: no stock build to compare with' % (r['flavor'], r['name']))
                continue
            new = collections.Counter(r['warnings']) - b
            r['new_warnings'] = sorted(new.elements())
            # Only the whole series must keep every option: a prefix may
            # come before the patch that adds one.
            dropped = r['dropped_options'] if r['flavor'] == 'patched' else []
            r['verdict'] = 'PASS' if (r['status'] == 'PASS' and not r['new_warnings']
                                      and not dropped) else 'FAIL'
            if dropped:
                failed.append('%s %s: options dropped: %s' % (r['flavor'], r['name'], ' '.join(dropped)))
            for w in r['new_warnings']:
                failed.append('%s %s: new warning: %s' % (r['flavor'], r['name'], w))
        if r['status'] != 'PASS':
            failed.append('%s %s: build %s (%s)' % (r['flavor'], r['name'], r['status'], r['log']))
            for e in r['errors'][:5]:
                failed.append('    ' + e)

    out = {'series_hash': args.series_hash, 'source': args.version, 'builds': [
        {k: r[k] for k in ('name', 'arch', 'kconfig', 'options', 'flavor', 'status', 'verdict',
                           'seconds', 'new_warnings', 'dropped_options', 'log')
         if k in r} | {'warnings': len(r['warnings']), **({'prefix': r['prefix']} if 'prefix' in r else {})}
        for r in rows], 'failed': failed}
    full = [r for r in rows if 'sweep' not in r]
    sweeps = collections.OrderedDict()
    for r in rows:
        if 'sweep' in r:
            sweeps.setdefault(r['sweep'], []).append(r)
    out['prefix_sweeps'] = {
        s: {'of': rs[0]['of'], 'built': sum(1 for r in rs if r['verdict'] == 'PASS' and r['prefix'] > 0),
            'new_warnings': sum(len(r['new_warnings']) for r in rs),
            'seconds': round(sum(r['seconds'] for r in rs), 1)}
        for s, rs in sweeps.items()}
    out['seconds'] = round(sum(r['seconds'] for r in rows), 1)
    by = collections.OrderedDict()
    for r in full:
        by.setdefault(r['name'], {})[r['flavor']] = r
    # The struct size table (scripts/sizes_table.py), from the full builds
    # that have sizes in both flavors.
    sizes = collections.OrderedDict()
    for name, d in by.items():
        s, p = d.get('stock'), d.get('patched')
        if s and p and 'sizes' in s and 'sizes' in p:
            sizes[name] = {'options': ' + '.join([s['kconfig']] + s['options']),
                           'stock': dict(s['sizes']), 'patched': dict(p['sizes'])}
    size_lines = []
    if sizes:
        size_lines, missed = sizes_table.table(sizes)
        failed += ['sizes: ' + m for m in missed]
        open(os.path.join(args.out, 'sizes.txt'), 'w').write('\n'.join(size_lines) + '\n')
    out['sizes'] = sizes
    json.dump(out, open(os.path.join(args.out, 'summary.json'), 'w'), indent=1)

    data = kcidb(rows, args.series_hash, args.version)
    import kcidb_io
    kcidb_io.schema.LATEST.validate(data)
    json.dump(data, open(os.path.join(args.out, 'kcidb.json'), 'w'), indent=1)

    fmt = '%-17s %-8s %-7s %6s %5s   %-7s %6s %5s %4s'
    print(fmt % ('config', 'arch', 'stock', 'secs', 'warn', 'patched', 'secs', 'warn', 'new'))
    for name, d in by.items():
        s, p = d.get('stock'), d.get('patched')
        print(fmt % (name, (s or p)['arch'],
                     s['verdict'] if s else '-', s['seconds'] if s else '-',
                     len(s['warnings']) if s else '-',
                     p['verdict'] if p else '-', p['seconds'] if p else '-',
                     len(p['warnings']) if p else '-', len(p['new_warnings']) if p else '-'))
    for s, v in out['prefix_sweeps'].items():
        print('prefixes %-8s %d of %d patch prefixes built, %d new warnings, %.0f s' % (
            s, v['built'], v['of'], v['new_warnings'], v['seconds']))
    print('kcidb: %d checkouts, %d builds in %s (schema v%d.%d, validated by kcidb-io)' % (
        len(data['checkouts']), len(data['builds']), os.path.join(args.out, 'kcidb.json'),
        data['version']['major'], data['version']['minor']))
    if sizes:
        print('\n'.join(size_lines[:len(sizes) + 1]))
        print('sizes: %d configs in %s' % (len(sizes), os.path.join(args.out, 'sizes.txt')))
    for f in failed:
        print('FAIL: ' + f)
    npass = sum(1 for r in rows if r['verdict'] == 'PASS')
    print('%d builds passed, %d failed' % (npass, len(rows) - npass))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('row')
    for o in ('name', 'flavor', 'arch', 'kconfig', 'options', 'dir', 'tree'):
        a.add_argument('--' + o, required=True)
    a.add_argument('--extra', default='{}')
    a = sub.add_parser('summary')
    for o in ('rows', 'out', 'series-hash', 'version'):
        a.add_argument('--' + o, required=True)
    args = ap.parse_args()
    if args.cmd == 'row':
        row(args)
        return 0
    return summary(args)


if __name__ == '__main__':
    sys.exit(main())
