#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh VARIANT [patched|stock]
#
# Build the guest kernel VARIANT (tinyconfig, then configs/base.config, the
# selftests' config, configs/FAMILY.config for a variant named FAMILY-* when
# it exists (configs/i386.config for i386-up and i386-smp) and
# configs/VARIANT.config merged in that order: the variant may override the
# others, as configs/bench.config turns the debugging options off) from the
# pinned source, with the patches/ series applied (patched, the default) or
# without (stock). A fragment that turns CONFIG_64BIT off builds ARCH=i386.
#
# Builds are cached under $CACHE/build/FLAVOR-VARIANT, keyed by the source
# version, the patch series, the config fragments and this script: an
# unchanged kernel is never rebuilt, a changed one is rebuilt incrementally.
# Prints the build directory on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$CACHE/env.sh" 2>/dev/null || die "run scripts/install-deps.sh first"

variant=${1:?usage: build-kernel.sh VARIANT [patched|stock]}
flavor=${2:-patched}
frag=$VMALOCK_TOP/configs/$variant.config
# What the selftests need is part of every guest kernel (and checked below).
stconf=$VMALOCK_TOP/tools/testing/selftests/vmalock/config
[ -f "$frag" ] || die "no config variant '$variant' (have: $(cd "$VMALOCK_TOP/configs" && ls *.config | sed 's/\.config$//' | grep -vx base | tr '\n' ' '))"
case $flavor in patched|stock) ;; *) die "flavor must be patched or stock" ;; esac
frags=("$VMALOCK_TOP/configs/base.config" "$stconf")
family=$VMALOCK_TOP/configs/${variant%%-*}.config
[ "$family" != "$frag" ] && [ -f "$family" ] && frags+=("$family")
frags+=("$frag")
arch=x86_64
grep -qx 'CONFIG_64BIT=n' "${frags[@]}" && arch=i386

pristine=$("$VMALOCK_TOP/scripts/fetch-source.sh")
tree=$("$VMALOCK_TOP/scripts/prepare-tree.sh" "$flavor")
# What the series changes, not its commit messages (lib.sh: series_src_hash).
src_hash=$(cat "$tree/.vmalock-src" 2>/dev/null || echo none)

key=$( { echo "$KSRC_VERSION $flavor $src_hash"; cat "${frags[@]}" "$0"; } |
	sha256sum | cut -c1-16)
build=$CACHE/build/$flavor-$variant
if [ "$(cat "$build/.vmalock-key" 2>/dev/null)" = "$key" ] && [ -f "$build/arch/x86/boot/bzImage" ]; then
	log "kernel $flavor-$variant is up to date ($key)"
	echo "$build"
	exit 0
fi

mkdir -p "$build" "$CACHE/ccache"
rm -f "$build/.vmalock-key"
export CCACHE_DIR=$CACHE/ccache CCACHE_MAXSIZE=5G CCACHE_BASEDIR=$CACHE
mk=(make -s -C "$tree" O="$build" ARCH=$arch CC="ccache gcc" -j"$JOBS")

configure() {
	"${mk[@]}" tinyconfig >/dev/null &&
	KCONFIG_CONFIG=$build/.config "$tree/scripts/kconfig/merge_config.sh" -m -O "$build" \
		"$build/.config" "${frags[@]}" >"$build/merge.log" &&
	"${mk[@]}" olddefconfig >/dev/null
}
run_step "configure $flavor-$variant" configure

# Every option the fragments ask for (its last value, as merged) must have
# survived olddefconfig: a silently dropped option would make a test
# meaningless.
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) opt=${line%%=*}
		grep -q "^$opt=[ym]" "$build/.config" && { echo "  $opt is set, wanted off" >&2; bad=1; } ;;
	CONFIG_*=*) grep -qxF "$line" "$build/.config" ||
		{ echo "  wanted $line, got: $(grep "^${line%%=*}=" "$build/.config" || echo unset)" >&2; bad=1; } ;;
	esac
done < <(awk -F= '/^CONFIG_/ { if (!($1 in v)) o[n++] = $1; v[$1] = $0 }
		END { for (i = 0; i < n; i++) print v[o[i]] }' "${frags[@]}")
if [ $bad = 1 ] && [ "$flavor" = patched ]; then
	die "config fragment options were dropped (see above; is a dependency missing?)"
fi

run_step "build $flavor-$variant kernel (cold: ~6 min on 2 cores)" \
	"${mk[@]}" bzImage modules
echo "$key" > "$build/.vmalock-key"
echo "$build"
