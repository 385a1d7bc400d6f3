#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh: `make lint`. The checks a rust-for-linux maintainer runs before
# taking Rust code, on the patched tree and on the module:
#
#  - `make rustfmtcheck` on the patched tree, rustfmt --check on the module
#    (with the tree's .rustfmt.toml);
#  - CLIPPY=1 over rust/ (the kernel crate, its KUnit tests and doctests) and
#    Rust Binder, and over the module;
#  - `make rustdoc` (broken intra-doc links, srctree/ links to missing files).
#
# Any warning or error fails its case. The Rust objects are rebuilt in a copy
# of the main kernel's build directory ($CACHE/build/lint-main), so the
# kernels that make check boots are never touched. Then one planted instance
# per class that can be planted without editing the shared tree (misformatted
# module code, a clippy warning in the module) must be reported.
# KTAP on stdout, logs in $OUT/lint/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$CACHE/env.sh" 2>/dev/null || die "run scripts/install-deps.sh first"

kb=$("$VMALOCK_TOP/scripts/build-kernel.sh" main) || die "building the main kernel failed"
tree=$(readlink -f "$kb/source")
lint=$CACHE/build/lint-main
work=$OUT/lint
rm -rf "$work"
mkdir -p "$work"

if [ "$(cat "$lint/.vmalock-key" 2>/dev/null)" != "$(cat "$kb/.vmalock-key")" ]; then
	rm -rf "$lint"
	run_step "copy the main build directory for the lints" cp -a "$kb" "$lint" >&2
fi
# Clippy reports only what it compiles: rebuild the kernel crate and what
# depends on it (doctests, KUnit tests, Rust Binder).
rm -f "$lint/rust/kernel.o"
mk=(make -C "$tree" O="$lint" ARCH=x86_64 CC="ccache gcc" -j"$JOBS")
export CCACHE_DIR=$CACHE/ccache CCACHE_BASEDIR=$CACHE

n=0 results=()
result() {
	n=$((n + 1))
	results+=("$([ "$1" = 0 ] && echo ok || echo "not ok") $n $2${3:+ # $3}")
}
# Warnings and errors of rustc, clippy and rustdoc, and the srctree/ link
# check of `make rustdoc`. objtool's notes on the pristine tree's doctests
# start with the object name and are not counted.
findings() {
	grep -E '^(warning|error)(\[|:)' "$1" | grep -vE '^warning: [0-9]+ warnings? emitted'
}
# step NAME LOG CMD...: run CMD; the case passes if it succeeds and LOG holds
# no finding.
step() {
	local name=$1 logf=$work/$2 rc=0
	shift 2
	"$@" > "$logf" 2>&1 || rc=$?
	local f
	f=$(findings "$logf" | wc -l)
	if [ $rc != 0 ]; then
		result 1 "$name" "exit status $rc: $logf"
	elif [ "$f" != 0 ]; then
		result 1 "$name" "$f findings: $logf"
	else
		result 0 "$name"
	fi
}

# A scratch copy of the module's sources; PLANT: a shell command run in it.
module_copy() {
	local dir=$1
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$VMALOCK_TOP" && tar cf - Kbuild rust include) | tar -C "$dir" -xf -
}
module_rs() {
	(cd "$VMALOCK_TOP" && git ls-files -- 'rust/*.rs' 2>/dev/null || ls rust/*.rs)
}
rustfmt_check() {
	(cd "$1" && rustfmt --edition 2021 --check --config-path "$tree/.rustfmt.toml" $(module_rs))
}

step rustfmtcheck_tree rustfmt-tree.log "${mk[@]}" -s rustfmtcheck
step rustfmt_module rustfmt-module.log rustfmt_check "$VMALOCK_TOP"
step clippy_kernel_crate_and_binder clippy-tree.log \
	"${mk[@]}" -s CLIPPY=1 rust/ drivers/android/binder/
module_copy "$work/module"
step clippy_module clippy-module.log \
	make -s -C "$lint" M="$work/module" CLIPPY=1 -j"$JOBS" modules
# CLIPPY=1 as above, so that the objects rustdoc needs are not rebuilt.
step rustdoc rustdoc.log "${mk[@]}" -s CLIPPY=1 rustdoc

# planted NAME LOG EXPECT CMD...: CMD must fail or report a finding matching
# EXPECT.
planted() {
	local name=$1 logf=$work/$2 expect=$3
	shift 3
	"$@" > "$logf" 2>&1
	if grep -qE "$expect" "$logf"; then
		result 0 "$name"
	else
		result 1 "$name" "the planted finding /$expect/ was not reported: $logf"
	fi
}
module_copy "$work/planted-fmt"
printf 'fn planted_misformatted( ) -> u32 {1}\n' >> "$work/planted-fmt/rust/pool.rs"
planted planted_misformat_fails_rustfmt planted-rustfmt.log '^Diff in .*pool\.rs' \
	rustfmt_check "$work/planted-fmt"
module_copy "$work/planted-clippy"
printf '\n#[allow(dead_code)]\nfn planted_needless_return() -> u32 {\n    return 1;\n}\n' \
	>> "$work/planted-clippy/rust/pool.rs"
planted planted_warning_fails_clippy planted-clippy.log '^warning: unneeded `return` statement' \
	make -s -C "$lint" M="$work/planted-clippy" CLIPPY=1 -j"$JOBS" modules

echo "KTAP version 1"
echo "1..$n"
printf '%s\n' "${results[@]}"
for r in "${results[@]}"; do
	case $r in "not ok"*) exit 1 ;; esac
done
exit 0
