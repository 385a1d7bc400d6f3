# SPDX-License-Identifier: GPL-2.0
# A boot of its own: the module with allow_unsafe=1 does the v1 pattern
# (faulting user access under a VMA read lock); lockdep must report the
# vm_lock -> mmap_lock inversion. Lockdep reports once per boot, hence the
# separate boot; the host requires the report (lockdep_catches_inversion).
insmod /lib/modules/vmalock.ko $PLAN_ARGS
for t in /tests/lockdep/*; do
	[ -x "$t" ] && suite "${t##*/}" 300 "$t"
done
rmmod vmalock
