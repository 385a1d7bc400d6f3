# SPDX-License-Identifier: GPL-2.0
# Common helpers for the vmalock scripts. Sourced, never executed.

VMALOCK_TOP=${VMALOCK_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CACHE=${VMALOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmalock}
OUT=${VMALOCK_OUT:-$VMALOCK_TOP/out}
JOBS=${JOBS:-$(nproc)}
# The i386 guests' busybox (Debian's busybox-static:i386, fetched by
# scripts/install-deps.sh).
BUSYBOX_I386=$CACHE/i386/busybox

# Pinned kernel source (Debian's linux-source-7.3 from trixie-backports).
KSRC_PKG=linux-source-7.3
KSRC_SUITE=trixie-backports
. "$VMALOCK_TOP/scripts/source.pin"

_t0=${_t0:-$(date +%s)}
export _t0

log() {
	printf '[%4ds] %s\n' "$(( $(date +%s) - _t0 ))" "$*" >&2
}

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# run_step NAME CMD...: run a long command with start/end progress lines.
run_step() {
	local name=$1 s
	shift
	s=$(date +%s)
	log "$name ..."
	"$@" || die "$name failed"
	log "$name done in $(( $(date +%s) - s ))s"
}

# series_src_hash PATCH...: a hash of what the patches change, not of how
# they are described: `git patch-id --verbatim` of each diff, in order.
# Build keys use it, so rewording a commit message rebuilds nothing.
series_src_hash() {
	local p
	for p in "$@"; do git patch-id --verbatim < "$p" | cut -d' ' -f1; done |
		sha256sum | cut -c1-16
}

# PyPI packages of the virtual environments (scripts/venv.sh) of make
# matrix and make bench.
MATRIX_VENV_PKGS="tuxmake==1.30.0 kcidb-io==141"
BENCH_VENV_PKGS="matplotlib==3.9.4"
