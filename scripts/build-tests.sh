#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-tests.sh KERNEL_BUILD_DIR OUT_DIR
#
# Build the guest's test programs, statically, on the host (for an i386
# kernel with Debian's i686-linux-gnu cross compiler):
#   OUT_DIR/main/*  run on the SMP kernel, OUT_DIR/up/* on the SMP=n one,
#   OUT_DIR/i386/* on the i386 ones;
# the project's selftests (tools/testing/selftests/vmalock) and the peer
# suites from the pinned tree, unmodified, each wrapped to report TAP.
# Prints OUT_DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kb=${1:?} out=${2:?}
tree=$(readlink -f "$kb/source")
[ -d "$tree/tools/testing/selftests" ] || die "cannot find the kernel source of $kb"
arch=x86_64 CC=gcc
if grep -q '^CONFIG_X86_32=y' "$kb/.config"; then
	arch=i386 CC=i686-linux-gnu-gcc
fi
# The programs depend on the arch, the sources and the uapi headers, which
# are the same for every kernel of one tree and arch: they are built once
# per arch, next to OUT_DIR, and OUT_DIR/bin gets hard links to them. (The
# kernels of one check share the patched tree.)
mkdir -p "$out"
bins=$(cd "$out/.." && pwd)/bin-$arch
mkdir -p "$bins"

# uapi headers of this kernel (linux/android/binder.h etc.)
if [ ! -f "$kb/usr/include/linux/mman.h" ] || [ "$kb/.vmalock-key" -nt "$kb/usr/include/linux/mman.h" ]; then
	make -s -C "$tree" O="$kb" ARCH=$arch headers_install >/dev/null
fi

ST=$tree/tools/testing/selftests
CFLAGS=(-static -O2 -g -Wall -D_GNU_SOURCE -isystem "$kb/usr/include"
	-I "$ST" -I "$VMALOCK_TOP/include/uapi")

# cc OUT SRC... [-- LIBS]: compile only when a source is newer.
EXTRA_CFLAGS=()
cc_prog() {
	local o=$1
	shift
	local srcs=() libs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srcs+=("$1"); shift; done
	[ $# -gt 0 ] && { shift; libs=("$@"); }
	local newest
	newest=$(ls -t "${srcs[@]}" "$0" | head -1)
	if [ ! -x "$o" ] || [ "$newest" -nt "$o" ]; then
		"$CC" "${CFLAGS[@]}" "${EXTRA_CFLAGS[@]}" -I "$(dirname "${srcs[0]}")" -o "$o" "${srcs[@]}" "${libs[@]}" 2>"$o.log" ||
			{ cat "$o.log" >&2; die "building $(basename "$o") failed"; }
		rm -f "$o.log"
	fi
}

# Peer suites from the pinned tree. (tcp_mmap and ksm_tests link libcrypto
# and libnuma, which Debian has as x86_64 host libraries only.)
[ $arch = x86_64 ] &&
	cc_prog "$bins/tcp_mmap" "$ST/net/tcp_mmap.c" \
		"$VMALOCK_TOP/tools/testing/selftests/vmalock/peer/linebuf.c" -- -lpthread -lcrypto
cc_prog "$bins/proc-maps-race" "$ST/proc/proc-maps-race.c" -- -lpthread
cc_prog "$bins/merge" "$ST/mm/merge.c" "$ST/mm/vm_util.c" "$ST/mm/hugepage_settings.c" -- -lrt -lpthread -lm
cc_prog "$bins/binderfs_test" "$ST/filesystems/binderfs/binderfs_test.c" -- -lpthread
# selftests/mm suites on the code the series changes (userfaultfd, KSM,
# mremap, mlock, populate, guard regions) and selftests/proc. (selftests/mm/rmap
# builds, but all its cases migrate pages between NUMA nodes: the guests
# have one node, and a suite that only skips fails the run.)
MM=("$ST/mm/vm_util.c" "$ST/mm/hugepage_settings.c")
for t in mremap_test mremap_dontunmap ksm_functional_tests mlock2-tests madv_populate \
	 guard-regions map_fixed_noreplace; do
	cc_prog "$bins/$t" "$ST/mm/$t.c" "${MM[@]}" -- -lrt -lpthread -lm
done
for t in uffd-unit-tests uffd-stress; do
	cc_prog "$bins/$t" "$ST/mm/$t.c" "$ST/mm/uffd-common.c" "${MM[@]}" -- -lrt -lpthread -lm
done
EXTRA_CFLAGS=(-I "$tree")	# ksm_tests includes <include/vdso/time64.h>
[ $arch = x86_64 ] &&
	cc_prog "$bins/ksm_tests" "$ST/mm/ksm_tests.c" "${MM[@]}" -- -lrt -lpthread -lm -lnuma
EXTRA_CFLAGS=()
cc_prog "$bins/proc-pid-vm" "$ST/proc/proc-pid-vm.c"
install -m 0755 "$VMALOCK_TOP/tools/testing/selftests/vmalock/peer/tap-cases.sh" "$bins/"

# Project selftests: warning-free (the peer suites are built as the tree
# has them). They drive the Rust module, which an i386 kernel cannot build.
EXTRA_CFLAGS=(-Werror)
for src in "$VMALOCK_TOP"/tools/testing/selftests/vmalock/*.c; do
	[ -f "$src" ] && [ $arch = x86_64 ] || continue
	case $src in */vmalock_lib.c) continue ;; esac
	extra=()
	[ -f "$VMALOCK_TOP/tools/testing/selftests/vmalock/vmalock_lib.c" ] &&
		extra=("$VMALOCK_TOP/tools/testing/selftests/vmalock/vmalock_lib.c")
	cc_prog "$bins/$(basename "$src" .c)" "$src" "${extra[@]}" -- -lpthread
done
EXTRA_CFLAGS=()
[ -f "$VMALOCK_TOP/samples/vmalock_demo.c" ] && [ $arch = x86_64 ] &&
	cc_prog "$bins/vmalock-demo" "$VMALOCK_TOP/samples/vmalock_demo.c"

rm -rf "$out/bin"
cp -al "$bins" "$out/bin"

# Which suites run on which kernel: tools/testing/selftests/vmalock/suites/
# "# kernels: main up i386" runs a suite in the check boot of those kernels
# (i386: both i386 kernels);
# "# boot: NAME" only in that special boot (e.g. lockdep).
rm -rf "$out"/main "$out"/up "$out"/i386 "$out"/lockdep "$out"/planted
mkdir -p "$out/main" "$out/up" "$out/lockdep"
for w in "$VMALOCK_TOP"/tools/testing/selftests/vmalock/suites/*; do
	[ -f "$w" ] || continue
	kernels=$(sed -n 's/^# kernels: //p;s/^# boot: //p' "$w")
	for k in $kernels; do
		mkdir -p "$out/$k"
		cp "$w" "$out/$k/"
		chmod +x "$out/$k/$(basename "$w")"
	done
done
echo "$out"
