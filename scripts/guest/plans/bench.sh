# SPDX-License-Identifier: GPL-2.0
# `make bench`: the measurements of one boot (scripts/bench.sh boots the
# stock and the patched kernel with this plan). Results are JSON lines on the
# results channel (fd 3), read by scripts/bench-report.py.
#
# vmalock.args= (comma separated KEY=VALUE) sets the sizes, see bench.sh.
# The module is only loaded when /lib/modules/vmalock.ko is not empty: it
# needs the patched kernel, so the stock boot runs tcp_mmap only.

for a in $PLAN_ARGS; do
	case $a in
	[a-z_]*=[0-9a-z]*) eval "B_${a%%=*}=\${a#*=}" ;;
	esac
done

flavor=stock
[ -s /lib/modules/vmalock.ko ] && flavor=patched
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
acs=$(cat /sys/devices/system/clocksource/clocksource0/available_clocksource 2>/dev/null)
echo "{\"bench\":\"meta\",\"flavor\":\"$flavor\",\"kernel\":\"$(uname -r)\",\"cpus\":$(grep -c ^processor /proc/cpuinfo),\"clocksource\":\"$cs\",\"available_clocksources\":\"$acs\",\"plan_args\":\"$PLAN_ARGS\"}" >&3

# step NAME TIMEOUT CMD...: one measurement; its JSON lines go to fd 3.
step() {
	local name=$1 t=$2 rc s
	shift 2
	say "bench $name: $*"
	s=$(date +%s)
	timeout -s KILL "$t" "$@" >&3 2>/dev/console
	rc=$?
	echo "{\"bench\":\"step\",\"name\":\"$name\",\"rc\":$rc,\"secs\":$(( $(date +%s) - s ))}" >&3
	say "bench $name done, rc=$rc"
}

# 4. TCP zerocopy over loopback: one tcp_mmap server, one time-limited
# client per trial (as suites/tcp_mmap does); the server reports each
# connection when it ends. The first connection is a warm-up.
tcp_mmap_bench() {
	local secs=${B_tcp_secs:-3} n=${B_tcp_trials:-5} i=0 srv cli
	local mss=$((4096 + 12))	# one page of payload per segment
	say "bench tcp_mmap: $n x ${secs}s"
	/tests/bin/tcp_mmap -4 -s -z -M $mss > /tmp/tcp_mmap.server 2>&1 &
	srv=$!
	sleep 1
	while [ $i -le "$n" ]; do
		/tests/bin/vmalock_bench spin "tcp$i-before" >&3
		/tests/bin/tcp_mmap -4 -H 127.0.0.1 -z -M $mss > /tmp/tcp_mmap.client 2>&1 &
		cli=$!
		if [ $i = 0 ]; then sleep 1; else sleep "$secs"; fi
		kill $cli 2>/dev/null
		wait $cli 2>/dev/null
		sleep 1
		/tests/bin/vmalock_bench spin "tcp$i-after" >&3
		i=$((i + 1))
	done
	kill $srv 2>/dev/null
	wait $srv 2>/dev/null
	echo "{\"bench\":\"tcp_mmap_config\",\"trials\":$n,\"secs\":$secs,\"warmup\":1}" >&3
	sed 's/^/# tcp_mmap-server: /' /tmp/tcp_mmap.server >&3
	say "bench tcp_mmap done"
}

tcp_mmap_bench

# 5. ksmd merging a region of identical pages while N threads of the same
# process mmap, mprotect and munmap unrelated regions (no module needed:
# both kernels).
for n in 0 4; do
	step "ksm-$n" 600 /tests/bin/vmalock_bench ksm $n "${B_ksm_trials:-3}" "${B_ksm_pages:-4096}"
done

# 6. What VMAs cost in slab memory: the caches' geometry, then the slabs
# that 10,000 more VMAs take (no module needed: both kernels).
step slab 120 /tests/bin/vmalock_bench slab "${B_slab_trials:-3}" "${B_slab_vmas:-10000}"

# 7. Write faults (both kernels): anonymous, shared file, private COW of a
# file; alone and beside a thread of the same process that mmaps, mprotects
# and munmaps another region, i.e. takes this mm's mmap_lock for write.
for k in anon shared cow; do
	for w in none mprotect; do
		step "fault-$k-$w" 120 /tests/bin/vmalock_bench fault $k $w \
			"${B_fault_trials:-5}" "${B_fault_pages:-8192}"
	done
done

if [ $flavor = patched ]; then
	if insmod /lib/modules/vmalock.ko; then
		B=/tests/bin/vmalock_bench
		step clock 30 $B clock
		step uncontended 300 $B uncontended "${B_unc_trials:-9}" "${B_unc_iters:-20000}"
		for w in hold mprotect; do
			step "latency-$w" 300 $B latency $w "${B_lat_trials:-3}" "${B_lat_ms:-1000}" "${B_lat_readers:-1}"
		done
		step samevma 120 $B samevma "${B_same_trials:-5}" "${B_same_ms:-200}"
		step reclaim-none 120 $B reclaim none 1 "${B_rec_scans:-20}"
		for w in hold mprotect; do
			step "reclaim-$w" 300 $B reclaim $w "${B_rec_trials:-5}" "${B_rec_scans:-20}"
		done
		rmmod vmalock
		# The cost of a call: the helper inline, as its callers use it,
		# and out of line (tools/testing/selftests/vmalock/bench/kmod).
		step lookup-call 300 sh -c "insmod /tests/kmod/vmalock_lookup_bench.ko \
			trials=${B_call_trials:-11} iters=${B_call_iters:-100000} block=${B_call_block:-1000} &&
			dmesg | sed -n 's/.*vmalock_lookup_bench: {/{/p' &&
			rmmod vmalock_lookup_bench"
	else
		echo "{\"bench\":\"error\",\"what\":\"insmod vmalock.ko failed\"}" >&3
	fi
fi

# The clocksource can change during a run (the TSC watchdog under emulation).
echo "{\"bench\":\"meta_end\",\"clocksource\":\"$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)\"}" >&3
