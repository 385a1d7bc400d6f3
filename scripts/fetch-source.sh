#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the pinned Debian linux-source-7.3 package with a private apt state
# (the system's apt configuration is never changed), verify its sha256 and
# unpack a pristine tree into $CACHE/src/linux-$KSRC_VERSION.
#
#   fetch-source.sh          fetch, verify, unpack; print the tree's path
#   fetch-source.sh --list   list the versions the archive offers now
set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$CACHE/debs" "$CACHE/src"

apt_opts=(-o "Dir::Etc::SourceList=$APT/sources.list"
	  -o Dir::Etc::SourceParts=/dev/null
	  -o "Dir::State::Lists=$APT/lists"
	  -o "Dir::Cache::Archives=$APT/archives"
	  -o Debug::NoLocking=1
	  -o APT::Sandbox::User=root)

apt_update() {
	# Same archive and keyring as the system's own Debian sources, other
	# suite (scripts/apt-debian-source.py reads them; it fails when none).
	local src uri key
	src=$(python3 "$VMALOCK_TOP/scripts/apt-debian-source.py") || die "cannot fetch $KSRC_PKG"
	read -r uri key <<<"$src"
	echo "deb [signed-by=$key] $uri $KSRC_SUITE main" > "$APT/sources.list"
	apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 ||
		apt-get "${apt_opts[@]}" update ||
		die "apt-get update for $KSRC_SUITE failed"
}

available() {
	apt-cache "${apt_opts[@]}" madison "$KSRC_PKG" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}'
}

if [ "${1:-}" = --list ]; then
	apt_update
	available
	exit 0
fi

tree=$CACHE/src/linux-$KSRC_VERSION
if [ -f "$tree/.unpacked" ]; then
	echo "$tree"
	exit 0
fi

deb=$CACHE/debs/${KSRC_PKG}_${KSRC_VERSION//:/%3a}_all.deb
if [ ! -f "$deb" ]; then
	apt_update
	if ! available | grep -qxF "$KSRC_VERSION"; then
		die "$KSRC_PKG=$KSRC_VERSION is no longer in $KSRC_SUITE. Available: $(available | tr '\n' ' ')
To re-pin: put one of those in scripts/source.pin as KSRC_VERSION, run
scripts/fetch-source.sh once with KSRC_SHA256 empty, and record the sha256 it prints."
	fi
	run_step "download $KSRC_PKG=$KSRC_VERSION" \
		bash -c "cd '$CACHE/debs' && apt-get ${apt_opts[*]} download -qq '$KSRC_PKG=$KSRC_VERSION'"
	got=$(ls -t "$CACHE"/debs/${KSRC_PKG}_*.deb | head -1)
	[ "$got" = "$deb" ] || mv "$got" "$deb"
fi

sum=$(sha256sum "$deb" | cut -d' ' -f1)
if [ -z "${KSRC_SHA256:-}" ]; then
	log "no sha256 pinned; $deb has sha256 $sum: record it in scripts/source.pin"
elif [ "$sum" != "$KSRC_SHA256" ]; then
	rm -f "$deb"
	die "sha256 mismatch for $KSRC_PKG=$KSRC_VERSION: got $sum, pinned $KSRC_SHA256 (download removed)"
fi

tmp=$(mktemp -d "$CACHE/src/unpack.XXXXXX")
run_step "unpack $KSRC_PKG" bash -c "
	dpkg-deb -x '$deb' '$tmp/deb' &&
	tar -C '$tmp' -xf '$tmp'/deb/usr/src/linux-source-*.tar.xz &&
	rm -rf '$tmp/deb'"
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
rm -rf "$tree"
mv "$src" "$tree"
rm -rf "$tmp"
touch "$tree/.unpacked"
echo "$tree"
