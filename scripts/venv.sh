#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# venv.sh NAME SPEC...: print the python of a virtual environment that has
# the pinned PyPI packages SPEC... (e.g. matplotlib==3.9.4), creating it
# first if needed. Environments live under the cache, keyed by NAME and
# the specs; nothing is installed into the system's Python.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: venv.sh NAME SPEC...}
shift
[ $# -gt 0 ] || die "usage: venv.sh NAME SPEC..."
venv=$CACHE/venv/$name-$(echo "$*" | sha256sum | cut -c1-12)
if [ ! -f "$venv/.complete" ]; then
	log "creating $venv ($* from PyPI) ..."
	rm -rf "$venv"
	python3 -m venv "$venv" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
	"$venv/bin/pip" install -q "$@" >&2 || die "pip install $* failed"
	touch "$venv/.complete"
fi
echo "$venv/bin/python"
