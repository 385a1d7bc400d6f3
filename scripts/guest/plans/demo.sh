# SPDX-License-Identifier: GPL-2.0
# `make run`: load the module and show it at work.
say "loading vmalock.ko"
insmod /lib/modules/vmalock.ko && say "loaded: $(ls -l /dev/vmalock)"
/tests/bin/vmalock-demo > /dev/console 2>&1
say "demo exit status $?"
rmmod vmalock && say "unloaded"
