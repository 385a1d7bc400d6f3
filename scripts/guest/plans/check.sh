# SPDX-License-Identifier: GPL-2.0
# `make check` on one kernel: the built-in KUnit suites (they ran during
# boot), the module's KUnit suite, then every selftest wrapper of this
# kernel (/tests/$SUITES: main, up or i386). /init adds the kmemleak scan
# and the health report. The i386 kernels have no module (no Rust): the
# host expects no vmalock_module suite from them.
kunit_results

ko=/lib/modules/vmalock.ko
if [ -f $ko ]; then
	insmod $ko $PLAN_ARGS
	kunit_results 'vmalock*'
fi
for t in /tests/$SUITES/*; do
	[ -x "$t" ] && suite "${t##*/}" 600 "$t"
done
[ -f $ko ] && rmmod vmalock
