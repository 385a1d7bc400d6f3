#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# struct-sizes.sh: what the series costs in struct vm_area_struct and struct
# mm_struct, stock vs patched, on small configs of every kind of arch the
# series changes (64-bit and 32-bit, UP and SMP, MMU and !MMU).
#
# For each config: tinyconfig + the config's options + debug info, then one
# object (kernel/fork.o, which defines both structs' users) is built with
# the cross compiler and scripts/probe-sizes.sh reads the sizes from its
# DWARF. The table (slab stride, objects per 4 KiB page, the goal) is
# scripts/sizes_table.py's, shared with make matrix, which takes the same
# sizes from its own full builds.
#
# Writes out/sizes/sizes.json and out/sizes/table.txt (the table the cover
# letter carries) and prints the table. SIZES_CONFIGS="name ..." limits the
# configs. Exits non-zero if a build fails or if the goal is missed: no
# vm_area_struct growth on a 64-bit config, at most 8 bytes on a 32-bit one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# name arch cross-prefix options...
CONFIGS=(
	"x86_64-up    x86_64  -                     64BIT"
	"x86_64-smp   x86_64  -                     64BIT SMP"
	"i386-up      i386    -                     64BIT=n"
	"i386-smp     i386    -                     64BIT=n SMP"
	"arm64        arm64   aarch64-linux-gnu-"
	"arm-nommu    arm     arm-linux-gnueabihf-  MMU=n"
	"arm-mmu      arm     arm-linux-gnueabihf-  ARCH_MULTIPLATFORM ARCH_MULTI_V7 ARCH_VIRT MMU"
	"arm-mmu-smp  arm     arm-linux-gnueabihf-  ARCH_MULTIPLATFORM ARCH_MULTI_V7 ARCH_VIRT MMU SMP"
	"ppc32        powerpc powerpc-linux-gnu-    PPC64=n"
	"riscv64      riscv   riscv64-linux-gnu-    64BIT MMU"
	"riscv64-smp  riscv   riscv64-linux-gnu-    64BIT MMU SMP"
)
# Every config gets debug info for pahole and nothing that changes the
# structs beyond what the config itself chose.
COMMON="DEBUG_KERNEL DEBUG_INFO_DWARF5 DEBUG_INFO_REDUCED=n"

"$VMALOCK_TOP/scripts/install-deps.sh" cross >/dev/null
. "$CACHE/env.sh"

stock=$("$VMALOCK_TOP/scripts/prepare-tree.sh" stock)
patched=$("$VMALOCK_TOP/scripts/prepare-tree.sh" patched)
out=$OUT/sizes
mkdir -p "$out" "$CACHE/ccache"
export CCACHE_DIR=$CACHE/ccache CCACHE_MAXSIZE=5G CCACHE_BASEDIR=$CACHE

want=${SIZES_CONFIGS:-}
rows=$out/rows.tsv
: > "$rows"

# build NAME FLAVOR TREE ARCH CROSS OPTS: print "vma mm l1 seconds"
build_one() {
	local name=$1 flavor=$2 tree=$3 arch=$4 cross=$5 opts=$6 b s o frag
	b=$CACHE/build/sizes/$flavor-$name
	s=$(date +%s)
	mkdir -p "$b"
	[ "$cross" = - ] && cross=
	local mk=(make -s -C "$tree" O="$b" ARCH="$arch" CROSS_COMPILE="$cross"
		  CC="ccache ${cross}gcc" -j"$JOBS")
	frag=$b/vmalock-sizes.config
	: > "$frag.new"
	for o in $opts $COMMON; do
		case $o in
		*=*) echo "CONFIG_$o" >> "$frag.new" ;;
		*) echo "CONFIG_$o=y" >> "$frag.new" ;;
		esac
	done
	sed -i 's/=n$/ is not set/; s/^CONFIG_\(.*\) is not set$/# CONFIG_\1 is not set/' "$frag.new"
	if ! cmp -s "$frag.new" "$frag" || [ ! -f "$b/.config" ]; then
		mv "$frag.new" "$frag"
		"${mk[@]}" tinyconfig >/dev/null
		KCONFIG_CONFIG=$b/.config "$tree/scripts/kconfig/merge_config.sh" -m -O "$b" \
			"$b/.config" "$frag" >/dev/null
		"${mk[@]}" olddefconfig >/dev/null
	else
		rm -f "$frag.new"
	fi
	# A silently dropped option would make the row lie about its config.
	for o in $opts; do
		case $o in
		*=n) grep -qx "# CONFIG_${o%=n} is not set" "$b/.config" ||
			! grep -q "^CONFIG_${o%=n}=" "$b/.config" ||
			die "$name/$flavor: CONFIG_${o%=n} is still set" ;;
		*) grep -qx "CONFIG_$o=y" "$b/.config" || die "$name/$flavor: CONFIG_$o did not stick" ;;
		esac
	done
	"${mk[@]}" kernel/fork.o >"$b/build.log" 2>&1 ||
		{ tail -20 "$b/build.log" >&2; die "$name/$flavor: kernel/fork.o does not build"; }
	local r
	r=$("$VMALOCK_TOP/scripts/probe-sizes.sh" "$b" "$cross") || die "$name/$flavor: no sizes"
	echo "$r $(( $(date +%s) - s ))"
}

for c in "${CONFIGS[@]}"; do
	read -r name arch cross opts <<<"$c"
	if [ -n "$want" ] && ! grep -qw -- "$name" <<<"$want"; then continue; fi
	[ "$cross" = - ] || command -v "${cross}gcc" >/dev/null ||
		die "${cross}gcc not found (scripts/install-deps.sh cross installs it)"
	for flavor in stock patched; do
		tree=$stock
		[ $flavor = patched ] && tree=$patched
		r=$(build_one "$name" "$flavor" "$tree" "$arch" "$cross" "$opts")
		log "sizes: $name $flavor: vm_area_struct/mm_struct/L1 $r"
		printf '%s\t%s\t%s\t%s\n' "$name" "$flavor" "$opts" "$r" >> "$rows"
	done
done

PYTHONPATH=$VMALOCK_TOP/scripts python3 - "$rows" "$out" <<'EOF'
import json, sys
from sizes_table import table

rows, out = sys.argv[1], sys.argv[2]
data = {}
for line in open(rows):
    name, flavor, opts, vals = line.rstrip('\n').split('\t')
    vma, mm, l1, bits, secs = map(int, vals.split())
    data.setdefault(name, {'options': 'tinyconfig + ' + (opts or '(nothing)')})[flavor] = {
        'vm_area_struct': vma, 'mm_struct': mm, 'l1_cache_bytes': l1, 'bits': bits,
        'seconds': secs}
lines, failed = table(data)
json.dump({'configs': data, 'failed': failed}, open(out + '/sizes.json', 'w'), indent=1)
open(out + '/table.txt', 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines))
for f in failed:
    print('goal missed: ' + f)
sys.exit(1 if failed else 0)
EOF

# UPDATE_COVER=1: put the table into the cover letter, between its markers.
if [ "${UPDATE_COVER:-}" = 1 ]; then
	python3 - "$out/table.txt" "$VMALOCK_TOP/patches/0000-cover-letter.patch" <<'EOF'
import re, sys
table, cover = open(sys.argv[1]).read(), sys.argv[2]
s = open(cover).read()
# The table runs from its header line ("config", then "vm_area_struct")
# to the first blank line after it.
a = re.search(r'^config +vm_area_struct', s, re.M).start()
b = s.index('\n\n', a) + 1
open(cover, 'w').write(s[:a] + table + s[b:])
EOF
	log "sizes: table written into patches/0000-cover-letter.patch"
fi
