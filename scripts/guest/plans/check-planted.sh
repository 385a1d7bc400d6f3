# SPDX-License-Identifier: GPL-2.0
# The pipeline's self-test (scripts/selftest-pipeline.sh): one planted class
# of failure per boot, set by the module's parameters (vmalock.args=), the
# suites to run (vmalock.suites=) and vmalock.plant=hang (never finish).
insmod /lib/modules/vmalock.ko $PLAN_ARGS
kunit_results 'vmalock*'
if [ -n "$SUITES" ] && [ -d "/tests/$SUITES" ]; then
	for t in /tests/$SUITES/*; do
		[ -x "$t" ] && suite "${t##*/}" 300 "$t"
	done
fi
if [ "$PLANT" = hang ]; then
	say "planted hang: sleeping past the deadline"
	sleep 100000
fi
rmmod vmalock
