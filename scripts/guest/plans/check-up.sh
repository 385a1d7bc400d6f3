# SPDX-License-Identifier: GPL-2.0
# `make check` on the SMP=n kernel with the C binder.
kmemleak_start
kunit_results
insmod /lib/modules/vmalock.ko
kunit_results 'vmalock*'
for t in /tests/up/*; do
	[ -x "$t" ] && suite "${t##*/}" 300 "$t"
done
rmmod vmalock
kmemleak_report
