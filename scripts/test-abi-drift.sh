#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test-abi-drift.sh KERNEL_BUILD_DIR: the module's Rust ABI is generated from
# include/uapi/linux/vmalock.h at build time (rust/Kbuild) and checked there
# against the published layout and command numbers (rust/abi.rs). Build
# scratch copies of the module with one change to the header each, and
# require each build to fail for that reason; the unchanged copy must build.
# KTAP on stdout, build logs in $OUT/abi-drift/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$CACHE/env.sh"

kbuild=${1:?usage: test-abi-drift.sh KERNEL_BUILD_DIR}
work=$OUT/abi-drift
rm -rf "$work"
mkdir -p "$work"

# case NAME SED_SCRIPT EXPECTED_ERROR: apply SED_SCRIPT to the header of a
# scratch copy, build it; EXPECTED_ERROR empty: must build, else the build
# must fail with a message matching it.
n=0 results=()
case_() {
	local name=$1 script=$2 expect=$3 dir=$work/$1 rc
	n=$((n + 1))
	mkdir -p "$dir"
	(cd "$VMALOCK_TOP" && tar cf - Kbuild rust include) | tar -C "$dir" -xf -
	local h=$dir/include/uapi/linux/vmalock.h
	if [ -n "$script" ]; then
		sed -i -e "$script" "$h"
		if cmp -s "$h" "$VMALOCK_TOP/include/uapi/linux/vmalock.h"; then
			results+=("not ok $n $name # the edit did not change the header")
			return
		fi
	fi
	make -s -C "$kbuild" M="$dir" -j"$JOBS" modules > "$dir/build.log" 2>&1
	rc=$?
	if [ -z "$expect" ]; then
		if [ $rc = 0 ]; then
			results+=("ok $n $name")
		else
			results+=("not ok $n $name # the unchanged module did not build: $dir/build.log")
		fi
	elif [ $rc = 0 ]; then
		results+=("not ok $n $name # built, but the header change must fail the build")
	elif grep -qE "$expect" "$dir/build.log"; then
		results+=("ok $n $name")
	else
		results+=("not ok $n $name # failed, but not with /$expect/: $dir/build.log")
	fi
}

case_ unchanged_builds '' ''
# Two __u32 fields swapped: same size, no padding, a silent ABI break.
case_ swapped_fields_fail \
	'/^struct vmalock_lookup {/,/^};/{s/__u32 mode;/__u32 TMP;/;s/__u32 path;/__u32 mode;/;s/__u32 TMP;/__u32 path;/}' \
	'vmalock_lookup: field mode is not at its published offset'
# A narrower field: the next one keeps its offset, behind new padding.
case_ new_padding_fails \
	'/^struct vmalock_reclaim {/,/^};/s/__u32 __reserved;/__u16 __reserved;/' \
	'vmalock_reclaim: field nr_to_scan is not at its published offset'
# A field appended but not listed in rust/abi.rs.
case_ unlisted_field_fails \
	'/^struct vmalock_pages {/,/^};/s/__u64 npages;.*/&\n\t__u64 extra;/' \
	'vmalock_pages: padding or a field not listed'
# A command's direction changed.
case_ changed_command_fails \
	's/_IOR(VMALOCK_IOC_MAGIC, 0x08,/_IOWR(VMALOCK_IOC_MAGIC, 0x08,/' \
	'VMALOCK_IOC_STATS == _IOR::<Stats>'

echo "KTAP version 1"
echo "1..$n"
printf '%s\n' "${results[@]}"
for r in "${results[@]}"; do
	case $r in "not ok"*) exit 1 ;; esac
done
exit 0
