#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-venv.sh: print the python of the benchmark's own virtual
# environment, with matplotlib for scripts/bench-report.py's plots,
# creating it first if needed. It lives under the cache, keyed by the
# pinned version; nothing is installed into the system's Python.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MATPLOTLIB=3.9.4
venv=$CACHE/bench-venv/matplotlib-$MATPLOTLIB
if ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
	log "creating $venv (matplotlib $MATPLOTLIB from PyPI) ..."
	rm -rf "$venv"
	python3 -m venv "$venv" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
	"$venv/bin/pip" install -q "matplotlib==$MATPLOTLIB" >&2 ||
		die "pip install matplotlib==$MATPLOTLIB failed"
fi
echo "$venv/bin/python"
