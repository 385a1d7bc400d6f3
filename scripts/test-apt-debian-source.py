#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test scripts/apt-debian-source.py on made-up apt trees (APT_ROOT). KTAP."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n'
CASES = [
    # name, {file: text}, expected stdout (None: must fail)
    ('deb822', {'etc/apt/sources.list.d/debian.sources':
                'Types: deb\nURIs: http://archive.example/debian\nSuites: bookworm bookworm-updates\n'
                'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n'
                'Types: deb\nURIs: http://archive.example/debian-security\nSuites: bookworm-security\n'
                'Components: main\n'},
     'http://archive.example/debian /usr/share/keyrings/debian-archive-keyring.gpg'),
    ('one_line', {'etc/apt/sources.list':
                  '# comment\ndeb http://security.example/debian-security bookworm-security main\n'
                  'deb [arch=amd64] http://mirror.example/debian/ bookworm main contrib\n'},
     'http://mirror.example/debian /usr/share/keyrings/debian-archive-keyring.gpg'),
    ('disabled_and_third_party_skipped',
     {'etc/apt/sources.list.d/a.sources':
      'Types: deb\nURIs: http://old.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n',
      'etc/apt/sources.list.d/b.list': 'deb https://vendor.example/apt stable main\n',
      'etc/apt/sources.list.d/c.sources':
      'Types: deb\nURIs: https://new.example/debian\nSuites: bookworm\nComponents: main\n'},
     'https://new.example/debian /usr/share/keyrings/debian-archive-keyring.gpg'),
    ('none_fails', {'etc/apt/sources.list.d/b.list': 'deb https://vendor.example/apt stable main\n'},
     None),
]


def main():
    print('KTAP version 1')
    print(f'1..{len(CASES)}')
    bad = 0
    for i, (name, files, want) in enumerate(CASES, 1):
        with tempfile.TemporaryDirectory() as root:
            for f, text in {'etc/os-release': OS_RELEASE, **files}.items():
                os.makedirs(os.path.dirname(os.path.join(root, f)), exist_ok=True)
                open(os.path.join(root, f), 'w').write(text)
            p = subprocess.run([sys.executable, os.path.join(HERE, 'apt-debian-source.py')],
                               env={**os.environ, 'APT_ROOT': root}, capture_output=True, text=True)
        if want is None:
            ok = p.returncode == 1 and 'no Debian archive' in p.stderr and not p.stdout
        else:
            ok = p.returncode == 0 and p.stdout.strip() == want
        if not ok:
            bad += 1
            print(f'# {name}: rc={p.returncode} out={p.stdout.strip()!r} err={p.stderr.strip()!r}')
        print(f'{"ok" if ok else "not ok"} {i} {name}')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
