# SPDX-License-Identifier: GPL-2.0
# `make check` on the SMP kernel with Rust Binder.
kmemleak_start
# The built-in KUnit suites ran during boot.
kunit_results

insmod /lib/modules/vmalock.ko $PLAN_ARGS
kunit_results 'vmalock*'
for t in /tests/main/*; do
	[ -x "$t" ] && suite "${t##*/}" 300 "$t"
done
rmmod vmalock
kmemleak_report
