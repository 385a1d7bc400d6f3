#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# probe-sizes.sh BUILD_DIR CROSS_COMPILE
#
# Print "VMA MM L1 BITS" for a kernel build directory whose kernel/fork.o
# was compiled with debug info: sizeof(struct vm_area_struct) and
# sizeof(struct mm_struct) as pahole reads them from its DWARF,
# L1_CACHE_BYTES as the same compiler, flags and config see it (the size of
# an array of that many bytes) and 64 or 32 (CONFIG_64BIT). Used by
# scripts/struct-sizes.sh and scripts/matrix.sh. CROSS_COMPILE: the
# build's prefix ("" for the host compiler), for nm.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

b=${1:?usage: probe-sizes.sh BUILD_DIR CROSS_COMPILE} cross=${2-}
[ -f "$b/kernel/.fork.o.cmd" ] || die "$b: no kernel/fork.o"
cmd=$(sed -n 's/^savedcmd_kernel\/fork.o := //p' "$b/kernel/.fork.o.cmd")
cmd=${cmd%% -c -o *}
printf '#include <linux/cache.h>\nchar vmalock_l1[L1_CACHE_BYTES];\n' > "$b/l1.c"
(cd "$b" && eval "$cmd -Wp,-MMD,/dev/null -c -o l1.o l1.c") ||
	die "$b: cannot compile the L1_CACHE_BYTES probe"
l1=$("${cross}nm" -S "$b/l1.o" | awk '$4 == "vmalock_l1" { print $2 }')
[ -n "$l1" ] && l1=$((16#$l1))
rm -f "$b/l1.c" "$b/l1.o"
size() {
	pahole -C "$1" "$b/kernel/fork.o" | sed -n 's/.*\/\* size: \([0-9]*\),.*/\1/p' | tail -1
}
vma=$(size vm_area_struct)
mm=$(size mm_struct)
[ -n "$vma" ] && [ -n "$mm" ] && [ -n "$l1" ] ||
	die "$b: pahole found no struct sizes in kernel/fork.o (no debug info?)"
bits=32
grep -q '^CONFIG_64BIT=y' "$b/.config" && bits=64
echo "$vma $mm $l1 $bits"
