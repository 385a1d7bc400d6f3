#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-initramfs.sh OUT.cpio MODULE.ko TESTDIR
#
# A busybox initramfs: /init and the plans from scripts/guest, the module
# in /lib/modules ("-": none, as on the i386 kernels, which build no Rust)
# and the test programs of TESTDIR in /tests (TESTDIR/main, TESTDIR/up:
# the suites run on each kernel). BUSYBOX=PATH picks the busybox binary
# (an i386 one for the i386 guests); the default is the host's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=${1:?} ko=${2:?} tests=${3:?}
bb=${BUSYBOX:-$(command -v busybox)} || die "busybox not found (apt-get install busybox-static)"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || [ -x /bin/busybox ] ||
	die "busybox must be static (busybox-static)"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,lib/modules,tests,guest,proc,sys,dev,tmp,run}
cp "$bb" "$root/bin/busybox"
cp "$VMALOCK_TOP/scripts/guest/init" "$root/init"
cp "$VMALOCK_TOP/scripts/guest/lib.sh" "$root/guest/"
cp -r "$VMALOCK_TOP/scripts/guest/plans" "$root/guest/"
chmod +x "$root/init"
[ "$ko" = - ] || cp "$ko" "$root/lib/modules/"
[ -d "$tests" ] && cp -a "$tests"/. "$root/tests/"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --owner 0:0) > "$out.tmp"
mv "$out.tmp" "$out"
