#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# struct-sizes.sh: what the series costs in struct vm_area_struct and struct
# mm_struct, stock vs patched, on small configs of every kind of arch the
# series changes (64-bit and 32-bit, UP and SMP, MMU and !MMU).
#
# For each config: tinyconfig + the config's options + debug info, then one
# object (kernel/fork.o, which defines both structs' users) is built with
# the cross compiler and pahole reads the sizes from its DWARF. The
# vm_area_struct slab cache is SLAB_HWCACHE_ALIGN with an in-object free
# pointer (mm/vma_init.c), so an object takes ALIGN(size, align) bytes of
# slab, align being L1_CACHE_BYTES halved while the object fits in half of
# it (mm/slab_common.c calculate_alignment()); L1_CACHE_BYTES is read from
# the same compiler and config. "per 4K" is how many objects fit in one
# 4 KiB slab page.
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
	# L1_CACHE_BYTES as this compiler and config see it: the size of an
	# array of that many bytes, compiled with the flags kbuild used.
	local cmd
	cmd=$(sed -n 's/^savedcmd_kernel\/fork.o := //p' "$b/kernel/.fork.o.cmd")
	cmd=${cmd%% -c -o *}
	printf '#include <linux/cache.h>\nchar vmalock_l1[L1_CACHE_BYTES];\n' > "$b/l1.c"
	(cd "$b" && eval "$cmd -Wp,-MMD,/dev/null -c -o l1.o l1.c") ||
		die "$name/$flavor: cannot compile the L1_CACHE_BYTES probe"
	local l1
	l1=$("${cross}nm" -S "$b/l1.o" | awk '$4 == "vmalock_l1" { print $2 }')
	[ -n "$l1" ] && l1=$((16#$l1))
	local vma mm
	vma=$(pahole -C vm_area_struct "$b/kernel/fork.o" | sed -n 's/.*\/\* size: \([0-9]*\),.*/\1/p' | tail -1)
	mm=$(pahole -C mm_struct "$b/kernel/fork.o" | sed -n 's/.*\/\* size: \([0-9]*\),.*/\1/p' | tail -1)
	[ -n "$vma" ] && [ -n "$mm" ] && [ -n "$l1" ] ||
		die "$name/$flavor: pahole found no struct sizes in kernel/fork.o"
	echo "$vma $mm $l1 $(( $(date +%s) - s ))"
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

python3 - "$rows" "$out" <<'EOF'
import json, sys

rows, out = sys.argv[1], sys.argv[2]
data = {}
for line in open(rows):
    name, flavor, opts, vals = line.rstrip('\n').split('\t')
    vma, mm, l1, secs = map(int, vals.split())
    data.setdefault(name, {'options': opts})[flavor] = {'vm_area_struct': vma, 'mm_struct': mm,
                                         'l1_cache_bytes': l1, 'seconds': secs}

def stride(size, l1):
    # mm/slab_common.c calculate_alignment() for SLAB_HWCACHE_ALIGN.
    ralign = l1
    while size <= ralign // 2:
        ralign //= 2
    align = max(ralign, 8)
    return (size + align - 1) // align * align

bits = {'x86_64': 64, 'i386': 32, 'arm64': 64, 'arm': 32, 'ppc32': 32, 'riscv64': 64}
failed = []
fmt = '%-12s %-17s %-23s %-13s %s'
lines = [fmt % ('config', 'vm_area_struct', 'slab bytes (per 4K)', 'mm_struct', 'L1')]
for name, d in data.items():
    s, p = d['stock'], d['patched']
    for f in (s, p):
        f['slab_object_bytes'] = stride(f['vm_area_struct'], f['l1_cache_bytes'])
        f['objects_per_4k'] = 4096 // f['slab_object_bytes']
    grow = p['vm_area_struct'] - s['vm_area_struct']
    b = next(v for k, v in bits.items() if name.startswith(k))
    limit = 0 if b == 64 else 8
    d['vm_area_struct_growth'] = grow
    d['goal_bytes'] = limit
    d['goal_met'] = grow <= limit
    if grow > limit:
        failed.append('%s: vm_area_struct grows by %d bytes (goal: at most %d)' % (name, grow, limit))
    lines.append(fmt % (
        name,
        '%d -> %d (%+d)' % (s['vm_area_struct'], p['vm_area_struct'], grow),
        '%d -> %d (%d -> %d)' % (s['slab_object_bytes'], p['slab_object_bytes'],
                                 s['objects_per_4k'], p['objects_per_4k']),
        '%d -> %d' % (s['mm_struct'], p['mm_struct']),
        '%d' % p['l1_cache_bytes']))
for name, d in data.items():
    lines.append('  %s: tinyconfig + %s' % (name, d['options'] or '(nothing)'))
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
import sys
table, cover = open(sys.argv[1]).read(), sys.argv[2]
s = open(cover).read()
# The table runs from its header line to the first blank line after it.
a = s.index('\n' + table.split('\n')[0].split()[0] + ' ' * 7 + 'vm_area_struct') + 1
b = s.index('\n\n', a) + 1
open(cover, 'w').write(s[:a] + table + s[b:])
EOF
	log "sizes: table written into patches/0000-cover-letter.patch"
fi
