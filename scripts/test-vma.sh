#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test-vma.sh KERNEL_TREE
#
# The kernel's userspace VMA test suite (tools/testing/vma: mm/vma.c,
# mm/vma_init.c and mm/vma_exec.c built against stubs, with ASan and UBSan)
# built from the patched tree and run on the host, reported as TAP: one
# case per TEST() of its runners. Patch 3 edits the suite's headers, so a
# change that breaks them fails here. Needs liburcu (liburcu-dev).
#
# The build runs in a copy under the cache, keyed by the tree's commit and
# its uncommitted changes: hard links for the sources, real copies of the
# two directories the build writes into, so the tree itself stays clean.
# A tree that is not a git checkout is built afresh every time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$(readlink -f "${1:?}")
[ -f "$tree/tools/testing/vma/Makefile" ] || die "$tree has no tools/testing/vma"
if head=$(git -C "$tree" rev-parse HEAD 2>/dev/null); then
	dirty=$(git -C "$tree" status --porcelain -- mm include tools lib | sha1sum | cut -c1-12)
	work=$CACHE/vma-tests/$head-$dirty
else
	work=$CACHE/vma-tests/unversioned
	rm -rf "$work"
fi
vma=$work/tools/testing/vma

if [ ! -x "$vma/vma" ]; then
	rm -rf "$work"
	mkdir -p "$(dirname "$work")"
	cp -al "$tree" "$work"
	rm -rf "$work/.git" "$work/tools/testing/vma" "$work/tools/testing/shared"
	cp -r "$tree/tools/testing/vma" "$tree/tools/testing/shared" "$work/tools/testing/"
	make -s -C "$vma" -j"$(nproc)" > "$work/build.log" 2>&1 || {
		tail -20 "$work/build.log" >&2
		die "building tools/testing/vma failed (see $work/build.log)"
	}
fi

# The cases: the TEST(name) lines of the runners, in the order they run;
# those under an #if (built only with other flag-word sizes) are counted
# by the summary line only.
mapfile -t cases < <(awk '/^#if/ { d++ } /^#endif/ { d-- }
	!d && match($0, /^[ \t]*TEST\([a-z0-9_]+\);/) {
		s = substr($0, RSTART, RLENGTH); sub(/^[ \t]*TEST\(/, "", s); sub(/\);$/, "", s); print s
	}' "$vma/tests/merge.c" "$vma/tests/mmap.c" "$vma/tests/vma.c")
[ ${#cases[@]} -gt 0 ] || die "no TEST() lines found in $vma/tests"

rc=0
out=$(cd "$vma" && ./vma 2>&1) || rc=$?
# Without its summary line the run stopped early (an ASan abort, a crash):
# no case can be trusted to have passed.
finished=false
[[ $out =~ [0-9]+\ tests\ run,\ [0-9]+\ passed,\ [0-9]+\ failed\. ]] && finished=true
echo "TAP version 13"
echo "1..$((${#cases[@]} + 1))"
n=0
for c in "${cases[@]}"; do
	n=$((n + 1))
	if grep -qx "Test $c FAILED" <<<"$out"; then
		echo "not ok $n $c"
	elif ! $finished; then
		echo "not ok $n $c # the run stopped before its summary"
	else
		echo "ok $n $c"
	fi
done
# The summary: at least these cases run, none failed, and the exit status agrees.
sed 's/^/# /' <<<"$out" | tail -5
if [[ $out =~ ([0-9]+)\ tests\ run,\ ([0-9]+)\ passed,\ 0\ failed\. ]] && [ $rc = 0 ] &&
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" -ge ${#cases[@]} ]; then
	echo "ok $((n + 1)) summary"
else
	echo "not ok $((n + 1)) summary # exit status $rc; want ${#cases[@]} or more tests run, 0 failed"
fi
