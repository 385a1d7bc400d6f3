#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the Debian archive the system's apt already uses: "URI KEYRING".

Reads /etc/apt/sources.list and /etc/apt/sources.list.d/ (one-line *.list
and deb822 *.sources), and picks the first enabled "deb" entry for the
system's own release (VERSION_CODENAME of /etc/os-release) with the main
component: that is the Debian archive, never a security or third-party one.
Its keyring is its Signed-By file, else Debian's archive keyring. Exits 1
with a message naming the files read when there is none.

APT_ROOT (default /) lets the tests point it at another tree.
"""
import glob
import os
import re
import sys

ROOT = os.environ.get('APT_ROOT', '/')
DEFAULT_KEY = '/usr/share/keyrings/debian-archive-keyring.gpg'


def path(p):
    return os.path.join(ROOT, p.lstrip('/'))


def codename():
    try:
        for ln in open(path('/etc/os-release')):
            m = re.match(r'VERSION_CODENAME="?([^"\n]*)', ln)
            if m:
                return m.group(1)
    except OSError:
        pass
    return ''


def one_line(f):
    for ln in open(f, errors='replace'):
        ln = ln.split('#', 1)[0].strip()
        m = re.match(r'^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$', ln)
        if not m:
            continue
        opts = dict(o.split('=', 1) for o in (m.group(1) or '').split() if '=' in o)
        yield {'uris': [m.group(2)], 'suites': [m.group(3)], 'components': m.group(4).split(),
               'signed_by': opts.get('signed-by', ''), 'enabled': True, 'file': f}


def deb822(f):
    text = open(f, errors='replace').read()
    for stanza in re.split(r'\n\s*\n', text):
        fields, key = {}, None
        for ln in stanza.splitlines():
            if ln.startswith('#'):
                continue
            if ln[:1] in (' ', '\t') and key:
                fields[key] += '\n' + ln.strip()
                continue
            if ':' in ln:
                key, _, val = ln.partition(':')
                key = key.strip().lower()
                fields[key] = val.strip()
        if 'deb' not in fields.get('types', '').split():
            continue
        yield {'uris': fields.get('uris', '').split(), 'suites': fields.get('suites', '').split(),
               'components': fields.get('components', '').split(),
               'signed_by': fields.get('signed-by', ''),
               'enabled': fields.get('enabled', 'yes').lower() != 'no', 'file': f}


def main():
    files = [path('/etc/apt/sources.list')]
    files += sorted(glob.glob(path('/etc/apt/sources.list.d/*.list')))
    files += sorted(glob.glob(path('/etc/apt/sources.list.d/*.sources')))
    release = codename()
    read = []
    for f in files:
        if not os.path.isfile(f):
            continue
        read.append(f)
        entries = deb822(f) if f.endswith('.sources') else one_line(f)
        for e in entries:
            if not e['enabled'] or 'main' not in e['components']:
                continue
            if release and release not in e['suites']:
                continue
            key = e['signed_by']
            if not key or '\n' in key or not os.path.isfile(path(key)):
                key = DEFAULT_KEY
            for uri in e['uris']:
                if uri.startswith(('http://', 'https://')):
                    print(uri.rstrip('/'), key)
                    return 0
    print(f'error: no Debian archive for release {release or "(unknown)"} with component main '
          f'in the system\'s apt sources ({", ".join(read) or "none found"}); add the one your '
          f'machine should use (a deb822 .sources file or a "deb URI SUITE main" line)',
          file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
