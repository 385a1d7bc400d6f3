# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest plans. Sourced by /init.

# Results channel: the second serial port; the console when there is none.
if [ -c /dev/ttyS1 ] && stty -F /dev/ttyS1 raw 2>/dev/null; then
	exec 3>/dev/ttyS1
else
	exec 3>/dev/console
fi

# Hung tasks must be reported quickly: a test that hangs fails.
echo 15 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
echo 0 > /proc/sys/kernel/hung_task_panic 2>/dev/null

say() {
	echo "vmalock: [$(cut -d' ' -f1 /proc/uptime)] $*" > /dev/console
}

# suite NAME TIMEOUT CMD...: run a TAP/KTAP-producing command as one suite.
suite() {
	local name=$1 t=$2 rc
	shift 2
	say "suite $name: $*"
	echo "# vmalock-suite: $name" >&3
	timeout -s KILL "$t" "$@" >&3 2>&1
	rc=$?
	echo "# vmalock-end: $name rc=$rc" >&3
	say "suite $name done, rc=$rc"
	return 0
}

# kunit_results [GLOB]: report the KUnit suites that have run so far.
kunit_results() {
	local d name
	for d in /sys/kernel/debug/kunit/${1:-*}; do
		[ -f "$d/results" ] || continue
		name=${d##*/}
		echo "# vmalock-kunit: $name" >&3
		cat "$d/results" >&3
		echo "# vmalock-end: $name rc=0" >&3
	done
}

# kmemleak_start / kmemleak_report: forget what boot left behind, then
# report what the plan leaked.
kmemleak_start() {
	[ -w /sys/kernel/debug/kmemleak ] || return 0
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
}

kmemleak_report() {
	local n
	if [ ! -w /sys/kernel/debug/kmemleak ]; then
		echo "# vmalock-kmemleak: unavailable" >&3
		return 0
	fi
	# Objects younger than 5 s are never reported; two scans settle it.
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	n=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
	echo "# vmalock-kmemleak: $n" >&3
	[ "$n" = 0 ] || sed 's/^/# kmemleak: /' /sys/kernel/debug/kmemleak >&3
}
