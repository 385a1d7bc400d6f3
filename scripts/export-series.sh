#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# export-series.sh GIT_DIR RANGE: regenerate patches/ from a kernel git tree
# (e.g. `export-series.sh ~/src/linux base..vmalock`), keeping the subject
# and the hand-written text of the current cover letter.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

git_dir=${1:?usage: export-series.sh GIT_DIR RANGE}
range=${2:?usage: export-series.sh GIT_DIR RANGE}
p=$VMALOCK_TOP/patches
old=$(mktemp)
trap 'rm -f "$old"' EXIT
[ -f "$p/0000-cover-letter.patch" ] && cp "$p/0000-cover-letter.patch" "$old"
rm -f "$p"/0*.patch
git -C "$git_dir" format-patch -q --cover-letter --no-signature -o "$p" "$range"
if [ -s "$old" ]; then
	python3 - "$old" "$p/0000-cover-letter.patch" <<'PY'
import re, sys
old, new = (open(f).read() for f in sys.argv[1:])
subj = re.search(r'^Subject: \[PATCH [0-9/]+\] (.*)$', old, re.M).group(1)
# The hand-written text: from the blank line after the headers to the shortlog.
body = re.search(r'\n\n(.*?)\n(?=\S[^\n]* \(\d+\):\n)', old, re.S).group(1)
new = re.sub(r'^(Subject: \[PATCH [0-9/]+\] ).*$', lambda m: m.group(1) + subj, new, count=1, flags=re.M)
new = new.replace('*** BLURB HERE ***', body.rstrip('\n'), 1)
open(sys.argv[2], 'w').write(new)
PY
fi
ls "$p"
