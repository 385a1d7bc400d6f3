#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tap-cases.sh NAME "COMMAND" [NAME "COMMAND" ...]
#
# Run peer test programs that report through their exit status (or print
# one TAP stream per run) as the cases of one TAP stream: exit status 0 is
# "ok", 4 (KSFT_SKIP) "ok # SKIP", anything else "not ok". The program's
# own output is kept as "# " comments. Each case may run for
# TAP_CASE_TIMEOUT seconds (default 240).
echo "TAP version 13"
echo "1..$(($# / 2))"
n=0
while [ $# -ge 2 ]; do
	name=$1 cmd=$2
	shift 2
	n=$((n + 1))
	# A hung case is killed (TAP_CASE_TIMEOUT seconds) and fails alone.
	timeout -s KILL "${TAP_CASE_TIMEOUT:-240}" sh -c "$cmd" > /tmp/tap-case.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/tap-case.out
	case $rc in
	0) echo "ok $n $name" ;;
	4) echo "ok $n $name # SKIP $(tail -1 /tmp/tap-case.out)" ;;
	*) echo "not ok $n $name # exit status $rc" ;;
	esac
done
