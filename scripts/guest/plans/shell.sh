# SPDX-License-Identifier: GPL-2.0
# `make shell`: the module loaded and an interactive shell on the console.
insmod /lib/modules/vmalock.ko $PLAN_ARGS
say "vmalock loaded; tests are in /tests. Exit the shell to power off."
setsid cttyhack sh
