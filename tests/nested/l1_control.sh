#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in L1 (tools/nested-run): minivmm with a control socket and, beside
# it, minivmm-ctl as a user's script would use it.
#   l1_control.sh MINIVMM MINIVMM-CTL KERNEL INITRD DISC1 DISC2
# Part 1 (control=cd): the CD is mounted in L2 (tray locked), eject without
# force must be refused, with force... not tried (it would pull the disc
# from a mounted file system); after L2 unmounts, `change` puts in the second
# disc, which L2 reads; then `powerdown` must power L2 off: status 0, a
# POWERDOWN and a SHUTDOWN event.  Part 2 (control=button): SIGTERM to
# minivmm presses the button too and L2 powers off: status 0.
# Prints "L1-CHECK ok|FAIL what" lines and ends with "L1-DONE".
set -u
M=$1 C=$2 K=$3 I=$4 D1=$5 D2=$6
T=/tmp/l1ctl
mkdir -p $T
. "$(dirname "$0")/l1lib.sh"

start_vm() { # mode
	mode=$1
	rm -f $T/sock $T/in
	mkfifo $T/in
	$M --name l2-$mode --kernel $K --initrd $I --memory 256M --serial stdio \
		--append "console=ttyS0 quiet control=$mode" --cdrom $D1 \
		--qmp unix:$T/sock,server=on,wait=off <$T/in >$T/out-$mode 2>$T/err-$mode &
	PID=$!
	exec 7>$T/in
	n=0
	while [ ! -S $T/sock ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ -S $T/sock ] || bad "$mode: the control socket did not appear"
	$C $T/sock events >$T/events-$mode 2>&1 &
	EVPID=$!
}

finish_vm() { # mode, seconds
	n=0
	while kill -0 $PID 2>/dev/null && [ $n -lt $(($2 * 5)) ]; do sleep 0.2; n=$((n + 1)); done
	if kill -0 $PID 2>/dev/null; then
		bad "$1: minivmm still running after $2 s"
		kill -9 $PID
	fi
	wait $PID
	st=$?
	exec 7>&-
	sleep 0.5
	kill $EVPID 2>/dev/null
	wait $EVPID 2>/dev/null
	echo "--- L2 console ($1)"; cat $T/out-$1
	echo "--- minivmm stderr ($1)"; cat $T/err-$1
	echo "--- events ($1)"; cat $T/events-$1
	echo "---"
}

answer() { echo "$1" >&7; }

# ---- part 1: the CD, then the power button through the socket
start_vm cd
if wait_for $T/out-cd 'STEP cd1-mounted' 90; then
	out=$($C $T/sock eject ide1-cd0 2>&1); st=$?
	if [ $st -ne 0 ] && echo "$out" | grep -qi 'locked'; then
		ok "eject of the locked tray without force refused: $out"
	else
		bad "eject of a locked tray without force: status $st: $out"
	fi
	$C $T/sock status >$T/status 2>&1
	grep -q running $T/status && ok "status: $(cat $T/status)" || bad "status: $(cat $T/status)"
	answer "eject tried"
else
	bad "L2 did not mount the first disc"
fi
if wait_for $T/out-cd 'STEP cd1-unmounted' 60; then
	out=$($C $T/sock change ide1-cd0 $D2 2>&1); st=$?
	[ $st -eq 0 ] && ok "change ide1-cd0 to the second disc" || bad "change: status $st: $out"
	answer "changed"
fi
if wait_for $T/out-cd 'POWER-READY' 60; then
	out=$($C $T/sock powerdown 2>&1); st=$?
	[ $st -eq 0 ] && ok "powerdown sent" || bad "powerdown: status $st: $out"
fi
finish_vm cd 60
[ $st -eq 0 ] && ok "part 1: minivmm exit status 0" || bad "part 1: minivmm exit status $st"
grep -q 'VERDICT: PASS' $T/out-cd && ! grep -q 'VERDICT: FAIL' $T/out-cd &&
	ok "part 1: L2 VERDICT: PASS" || bad "part 1: L2 verdict"
grep -q 'power button pressed' $T/out-cd && ok "part 1: L2's acpid saw the button" ||
	bad "part 1: L2 did not see the power button"
grep -q 'POWERDOWN' $T/events-cd && ok "part 1: POWERDOWN event" || bad "part 1: no POWERDOWN event"
grep -q 'SHUTDOWN' $T/events-cd && ok "part 1: SHUTDOWN event" || bad "part 1: no SHUTDOWN event"
grep -q 'DEVICE_TRAY_MOVED' $T/events-cd && ok "part 1: DEVICE_TRAY_MOVED events" ||
	bad "part 1: no DEVICE_TRAY_MOVED event"

# ---- part 2: SIGTERM presses the button
start_vm button
if wait_for $T/out-button 'POWER-READY' 90; then
	kill -TERM $PID
	ok "SIGTERM sent"
else
	bad "part 2: L2 did not get ready"
fi
finish_vm button 60
[ $st -eq 0 ] && ok "part 2: minivmm exit status 0 after SIGTERM" ||
	bad "part 2: minivmm exit status $st after SIGTERM"
grep -q 'power button pressed' $T/out-button && ok "part 2: L2 powered off on SIGTERM's button" ||
	bad "part 2: L2 did not see the power button"
grep -q 'SHUTDOWN' $T/events-button && ok "part 2: SHUTDOWN event" || bad "part 2: no SHUTDOWN event"
echo "L1-DONE fails=$fails"
[ $fails -eq 0 ]
