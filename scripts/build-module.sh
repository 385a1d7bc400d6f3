#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh KERNEL_BUILD_DIR OUT_DIR
#
# Build the out-of-tree vmalock module against a kernel build directory.
# The sources are copied to OUT_DIR so the checkout stays clean and one
# checkout can build for several kernels. Prints the .ko path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$CACHE/env.sh"

kbuild=${1:?usage: build-module.sh KERNEL_BUILD_DIR OUT_DIR}
out=${2:?usage: build-module.sh KERNEL_BUILD_DIR OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)  # make -C changes directory: M= must be absolute
# Copy only what Kbuild needs; keep the object files of the last build.
(cd "$VMALOCK_TOP" && tar cf - Kbuild rust include) | tar -C "$out" -xf - --touch
# --touch would force rebuilds: restore mtimes from the checkout instead.
(cd "$VMALOCK_TOP" && find Kbuild rust include -type f) | while read -r f; do
	touch -r "$VMALOCK_TOP/$f" "$out/$f"
done
# A warning fails the build, on every kernel config the module is built for
# (the lints check the main config only; the bench config has no KUnit).
make -s -C "$kbuild" M="$out" -j"$JOBS" KRUSTFLAGS=-Dwarnings modules >&2 ||
	die "module build failed"
echo "$out/rust/vmalock.ko"
