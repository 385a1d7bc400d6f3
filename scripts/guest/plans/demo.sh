# SPDX-License-Identifier: GPL-2.0
# `make run`: load the module and show it at work.
say "loading vmalock.ko"
insmod /lib/modules/vmalock.ko && say "loaded: $(ls -l /dev/vmalock)"
if [ -x /tests/vmalock-demo ]; then
	/tests/vmalock-demo > /dev/console 2>&1
fi
rmmod vmalock && say "unloaded"
