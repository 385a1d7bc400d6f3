#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [shell]: `make run` / `make shell`. Build the main kernel, the
# module and the demo client, boot the guest and show the module at work
# (or give an interactive shell with the module loaded).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$VMALOCK_TOP/scripts/install-deps.sh"
kb=$("$VMALOCK_TOP/scripts/build-kernel.sh" main)
ko=$("$VMALOCK_TOP/scripts/build-module.sh" "$kb" "$OUT/module/main")
tests=$("$VMALOCK_TOP/scripts/build-tests.sh" "$kb" "$OUT/tests/main")
"$VMALOCK_TOP/scripts/build-initramfs.sh" "$OUT/initramfs-main.cpio" "$ko" "$tests"

if [ "${1:-}" = shell ]; then
	log "booting; the console is this terminal (Ctrl-A X quits QEMU)"
	exec qemu-system-x86_64 -accel "${ACCEL:-tcg}" -cpu max -m 2G -smp 2 \
		-nographic -no-reboot -serial mon:stdio -serial null \
		-kernel "$kb/arch/x86/boot/bzImage" -initrd "$OUT/initramfs-main.cpio" \
		-append "console=ttyS0 panic=-1 vmalock.plan=shell kunit.enable=0 ${ARGS:+vmalock.args=$ARGS}"
fi

d=$OUT/run
run_step "boot the guest (TCG)" "$VMALOCK_TOP/scripts/boot.sh" "$kb/arch/x86/boot/bzImage" \
	"$OUT/initramfs-main.cpio" demo "$d" 600 "kunit.filter_glob=vmalock*"
echo
echo "=== guest output ($d/console.log) ==="
tr -d '\r' < "$d/console.log" > "$d/console.txt"
sed -n '/^vmalock: .* loading vmalock.ko/,/^vmalock: .* unloaded/p' "$d/console.txt" |
	grep -v '^\[ *[0-9.]*\]     \(#\|KTAP\)' || true
[ -e "$d/timed-out" ] && die "the guest timed out (see $d/console.log)"
grep -q '^vmalock: .* demo exit status 0$' "$d/console.txt" ||
	die "the demo failed (see $d/console.log)"
grep -q '^vmalock: .* unloaded$' "$d/console.txt" || die "the module did not unload (see $d/console.log)"
log "demo passed; full console log: $d/console.log"
