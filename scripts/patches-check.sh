#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# patches-check.sh: every patch of patches/ applies, in order, to the
# pinned source (git am), carries a Signed-off-by, and passes the pinned
# tree's scripts/checkpatch.pl --strict with no error, warning or check.
#
# One warning is accepted: "Non-standard signature: Originally-by:".
# checkpatch only knows the tags of submitting-patches.rst, but
# Originally-by: is the kernel's established way (hundreds of commits) to
# credit the author of a design a patch keeps, which the v1 author's work
# is here; Co-developed-by: would need his Signed-off-by, Suggested-by:
# would say less than he did.
#
# checkpatch also looks up the commit of each Fixes: tag in the git
# history around the patch, and warns "Unknown commit id" when it cannot:
# the pinned source is a Debian tarball with no history. That warning is
# accepted only for the ids in FIXES_IDS, each checked by hand against
# the upstream history: eafedbc7c050 is "rust_binder: add Rust Binder
# driver" (v6.18). Any other checkpatch output fails.
ACCEPTED='WARNING: Non-standard signature: Originally-by:'
FIXES_IDS='eafedbc7c050'
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=$(ls "$VMALOCK_TOP"/patches/0*.patch 2>/dev/null | grep -v '/0000-' || true)
[ -n "$series" ] || die "no patches in patches/"
tree=$("$VMALOCK_TOP/scripts/prepare-tree.sh" patched)
pristine=$("$VMALOCK_TOP/scripts/fetch-source.sh")
log "all $(echo "$series" | wc -w) patches apply to $KSRC_PKG $KSRC_VERSION"

pass=0 fail=0
for p in $series; do
	name=$(basename "$p")
	problems=""
	grep -q '^Signed-off-by: ' "$p" || problems="no Signed-off-by"
	rc=0
	all=$(perl "$pristine/scripts/checkpatch.pl" --strict --no-tree --terse --showfile "$p" 2>&1) ||
		rc=$?
	out=$(echo "$all" | grep -vF "$ACCEPTED" || true)
	explained=$(grep -cF "$ACCEPTED" <<<"$all" || true)
	for id in $FIXES_IDS; do
		unknown="WARNING: Unknown commit id '$id', maybe rebased or not pulled?"
		# Only for an id that the patch names in a Fixes: tag.
		grep -q "^Fixes: $id " "$p" || continue
		explained=$((explained + $(grep -cF "$unknown" <<<"$out" || true)))
		out=$(echo "$out" | grep -vF "$unknown" || true)
	done
	# A finding left, or a non-zero exit that no accepted warning explains.
	if echo "$out" | grep -qE '(ERROR|WARNING|CHECK):' ||
	   { [ "$rc" -ne 0 ] && [ "$explained" -eq 0 ]; }; then
		problems="$problems${problems:+; }checkpatch"
	fi
	if [ -z "$problems" ]; then
		pass=$((pass + 1))
		echo "ok    $name"
	else
		fail=$((fail + 1))
		echo "FAIL  $name: $problems"
		echo "$out" | grep -E '(ERROR|WARNING|CHECK):' | sed 's/^/      /'
	fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
