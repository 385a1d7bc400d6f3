#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# prepare-tree.sh patched|stock
#
# stock:   the pristine pinned tree, used read-only.
# patched: $CACHE/tree/patched, a git checkout of the pinned tree with the
#          patches/ series applied. Switching series only rewrites the
#          files that differ, so builds stay incremental.
# Prints the tree's path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pristine=$("$VMALOCK_TOP/scripts/fetch-source.sh")
[ "${1:-}" = stock ] && { echo "$pristine"; exit 0; }
[ "${1:-}" = patched ] || die "usage: prepare-tree.sh patched|stock"

tree=$CACHE/tree/patched
series=$(ls "$VMALOCK_TOP"/patches/0*.patch 2>/dev/null | grep -v '/0000-' || true)
hash=$(cat $series /dev/null | sha256sum | cut -c1-16)
# shellcheck disable=SC2086
src=$(series_src_hash $series)
if [ "$(cat "$tree/.vmalock-series" 2>/dev/null)" = "$hash" ]; then
	echo "$src" > "$tree/.vmalock-src"
	echo "$tree"
	exit 0
fi

g=(git -C "$tree" -c user.name=vmalock -c user.email=vmalock@localhost)
if ! "${g[@]}" rev-parse -q --verify refs/tags/pristine >/dev/null 2>&1; then
	rm -rf "$tree"
	mkdir -p "$(dirname "$tree")"
	run_step "copy pristine tree" cp -a "$pristine" "$tree"
	rm -f "$tree/.unpacked"
	run_step "git-init patched tree" bash -c "
		${g[*]} init -q && ${g[*]} add -f . && ${g[*]} commit -q -m pristine && ${g[*]} tag pristine"
fi
# Apply the series to the pristine tree in a scratch index, then check the
# result out: git rewrites only the files that differ from the previous
# series, so make rebuilds only what the change touches.
idx=$tree/.git/vmalock-index
rm -f "$idx"
GIT_INDEX_FILE=$idx "${g[@]}" read-tree pristine
for p in $series; do
	GIT_INDEX_FILE=$idx "${g[@]}" apply --cached "$p" ||
		die "$(basename "$p") does not apply to $KSRC_PKG $KSRC_VERSION (after the patches before it)"
done
t=$(GIT_INDEX_FILE=$idx "${g[@]}" write-tree)
c=$(echo "series $hash" | "${g[@]}" commit-tree "$t" -p pristine)
rm -f "$idx" "$tree/.vmalock-series" "$tree/.vmalock-src"
"${g[@]}" checkout -q -f "$c"
"${g[@]}" clean -q -fdx
if [ -n "$series" ]; then log "applied $(echo "$series" | wc -w) patches"; fi
echo "$hash" > "$tree/.vmalock-series"
echo "$src" > "$tree/.vmalock-src"
echo "$tree"
