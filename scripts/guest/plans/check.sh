# SPDX-License-Identifier: GPL-2.0
# `make check` on one kernel: the built-in KUnit suites (they ran during
# boot), the module's KUnit suite, then every selftest wrapper of this
# kernel (/tests/$SUITES: main or up). /init adds the kmemleak scan and
# the health report.
kunit_results

insmod /lib/modules/vmalock.ko $PLAN_ARGS
kunit_results 'vmalock*'
for t in /tests/$SUITES/*; do
	[ -x "$t" ] && suite "${t##*/}" 600 "$t"
done
rmmod vmalock
