# SPDX-License-Identifier: GPL-2.0
# Pipeline self-test: the module's planted KUnit failure must be reported.
insmod /lib/modules/vmalock.ko $PLAN_ARGS
kunit_results 'vmalock*'
rmmod vmalock
