#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in L1 (tools/nested-run): minivmm with --vga std --tablet on and a
# control socket, minivmm-ctl beside it (l2_display.sh is the guest side).
#   l1_display.sh MINIVMM MINIVMM-CTL KERNEL INITRD PICTURE-SHA256
# When L2 has drawn its picture and opened its input devices: a screendump
# whose pixels must hash to PICTURE-SHA256 (the picture as RGB), absolute
# pointer events and a button through input-send-event (tablet), a key and
# a chord through sendkey (i8042), relative motion (PS/2 mouse).
# Prints "L1-CHECK ok|FAIL what" lines and ends with "L1-DONE".
set -u
M=$1 C=$2 K=$3 I=$4 SUM=$5
T=/tmp/l1disp
mkdir -p $T
. "$(dirname "$0")/l1lib.sh"
ctl() { out=$($C $T/sock "$@" 2>&1) && ok "$*" || bad "$*: $out"; }
ev() { ctl raw "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":[$1]}}"; }

rm -f $T/sock $T/in
mkfifo $T/in
$M --name l2-display --kernel $K --initrd $I --memory 256M --serial stdio --no-reboot \
	--append "console=ttyS0 quiet vt.global_cursor_default=0" --vga std --tablet on \
	--qmp unix:$T/sock,server=on,wait=off <$T/in >$T/out 2>$T/err &
PID=$!
exec 7>$T/in
n=0
while [ ! -S $T/sock ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
[ -S $T/sock ] || bad "the control socket did not appear"
if wait_for $T/out 'STEP ready' 120; then
	ctl screendump $T/shot.ppm
	head -c 20 $T/shot.ppm | head -2 | tr '\n' ' ' >$T/hdr
	grep -q 'P6 1024 768' $T/hdr && ok "screendump is a 1024x768 PPM" ||
		bad "screendump header: $(cat $T/hdr)"
	got=$(tail -c $((1024 * 768 * 3)) $T/shot.ppm | sha256sum | cut -d' ' -f1)
	[ "$got" = "$(cat $SUM)" ] && ok "the screendump shows L2's picture pixel for pixel" ||
		bad "screendump pixels: sha256 $got, expected $(cat $SUM)"
	ev '{"type":"abs","data":{"axis":"x","value":12345}},{"type":"abs","data":{"axis":"y","value":23456}}'
	sleep 0.3
	ev '{"type":"btn","data":{"down":true,"button":"left"}}'
	sleep 0.3
	ev '{"type":"btn","data":{"down":false,"button":"left"}}'
	ctl sendkey a
	ctl sendkey ctrl-b
	ev '{"type":"rel","data":{"axis":"x","value":7}}'
	sleep 0.5
	echo "input sent" >&7
else
	bad "L2 did not get ready"
fi
n=0
while kill -0 $PID 2>/dev/null && [ $n -lt 300 ]; do sleep 0.2; n=$((n + 1)); done
if kill -0 $PID 2>/dev/null; then
	bad "minivmm still running 60 s after the input"
	kill -9 $PID
fi
wait $PID
st=$?
exec 7>&-
echo "--- L2 console"; cat $T/out
echo "--- minivmm stderr"; cat $T/err
echo "---"
[ $st -eq 0 ] && ok "minivmm exit status 0" || bad "minivmm exit status $st"
grep -q 'VERDICT: PASS' $T/out && ! grep -q 'VERDICT: FAIL' $T/out &&
	ok "L2 VERDICT: PASS" || bad "L2 verdict"
echo "L1-DONE fails=$fails"
[ $fails -eq 0 ]
