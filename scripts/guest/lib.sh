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
	local n scans=0
	if [ ! -e /sys/kernel/debug/kmemleak ]; then
		echo "# vmalock-kmemleak: unavailable" >&3
		return 0
	fi
	# Objects younger than 5 s are never reported; two scans settle it.
	# A scan that fails (kmemleak disabled itself: EPERM) is not counted.
	# Each scan runs in a subshell: kmemleak abandons a scan, silently,
	# when the writer has a signal pending, and this shell (PID 1) catches
	# SIGCHLD.
	sleep 6
	(echo scan 2>/dev/null > /sys/kernel/debug/kmemleak) && scans=$((scans + 1))
	(echo scan 2>/dev/null > /sys/kernel/debug/kmemleak) && scans=$((scans + 1))
	n=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak 2>/dev/null)
	echo "# vmalock-kmemleak: ${n:-0} scans=$scans" >&3
	[ "${n:-0}" = 0 ] || sed 's/^/# kmemleak: /' /sys/kernel/debug/kmemleak >&3
}

# health_report: what the kernel itself says at the end of the plan: its
# taint mask, whether lockdep is still on (debug_locks) and whether kmemleak
# still takes commands (a write fails with EPERM once it disabled itself),
# how many CPUs are online (an SMP guest that started one CPU tests
# nothing SMP), and the clocksource (jiffies would make every timed test
# and timeout coarse).
health_report() {
	local dl=na kl=absent cs
	[ -r /proc/lockdep_stats ] &&
		dl=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats)
	if [ -e /sys/kernel/debug/kmemleak ]; then
		# "scan=600" is the default period: a no-op when kmemleak is on.
		if echo scan=600 2>/dev/null > /sys/kernel/debug/kmemleak; then kl=on; else kl=off; fi
	fi
	cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
	echo "# vmalock-health: tainted=$(cat /proc/sys/kernel/tainted) debug_locks=${dl:-na} kmemleak=$kl cpus=$(grep -c '^processor' /proc/cpuinfo) clocksource=${cs:-none}" >&3
}
