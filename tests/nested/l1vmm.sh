# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the L1 scripts that drive minivmm and an L2 test script over
# its console (l1_virtio.sh, l1_net.sh; nested_test.py ships it beside
# them). The caller sets $C (minivmm-ctl), $T (its directory: sock, in,
# out), $PID (minivmm) and $mode or $run (for fig).
#   ok WHAT / bad WHAT   "L1-CHECK ok|FAIL WHAT [t=uptime]"; bad counts in $fails
#   fig NAME VALUE       "L1-FIGURE <mode> NAME VALUE"
#   wait_for FILE PATTERN SECONDS
#                        0 once PATTERN is in FILE; 1 after SECONDS (with the
#                        stall report, stuck) or when minivmm ended without it
#   answer LINE          one line to L2's console (fd 7, minivmm's stdin)
#   qmp JSON             one QMP command through minivmm-ctl raw
#   stepword NAME N      word N of L2's last "STEP NAME ..." line
fails=0
up() { cut -d' ' -f1 /proc/uptime; }
ok() { echo "L1-CHECK ok $* [t=$(up)]"; }
bad() { echo "L1-CHECK FAIL $* [t=$(up)]"; fails=$((fails + 1)); }
fig() { echo "L1-FIGURE ${mode:-${run:-}} $*"; }

# stuck WHAT: when a wait runs out, whose stall it is: the state of
# minivmm's threads and its statistics twice, 5 s apart (exits, the virtio
# queues and where their rings stand: kicks through an ioeventfd make no
# exit, so a guest whose counters move is alive, only slow), and the last
# lines L2 printed.
stuck() {
	echo "--- stuck waiting for '$1' [t=$(up)]: minivmm's threads (state, name):"
	for t in /proc/$PID/task/*; do
		echo "  $(cut -d' ' -f3 $t/stat 2>/dev/null) $(cat $t/comm 2>/dev/null)"
	done
	for i in 1 2; do
		echo "--- statistics ($i of 2):"
		$C $T/sock stats 2>&1 | grep -v "^  0x"
		$C $T/sock stats --json 2>&1
		[ $i = 1 ] && sleep 5
	done
	echo "--- L2's last lines:"
	tail -n 5 $T/out
	echo "---"
}

wait_for() {
	n=0
	while [ $n -lt $(($3 * 5)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 $PID 2>/dev/null || { grep -q "$2" "$1" 2>/dev/null; return; }
		sleep 0.2
		n=$((n + 1))
	done
	stuck "$2"
	return 1
}
answer() { echo "$1" >&7; }
qmp() { $C $T/sock raw "$1" 2>&1; }
stepword() { grep "^STEP $1" $T/out | tail -n 1 | tr -d '\r' | awk -v w=$(($2 + 2)) '{print $w}'; }
