#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in L1 (tools/nested-run): minivmm with --vga std --tablet on and a
# control socket, minivmm-ctl beside it (l2_display.sh is the guest side).
#   l1_display.sh MINIVMM MINIVMM-CTL VNCCLIENT KERNEL INITRD PICTURE-SHA256
# When L2 has drawn its picture and opened its input devices: a screendump
# whose pixels must hash to PICTURE-SHA256 (the picture as RGB), absolute
# pointer events and a button through input-send-event (tablet), a key and
# a chord through sendkey (i8042), relative motion (PS/2 mouse); and
# through a VNC client (tests/display/vncclient, libvncclient): a client
# connected from the start sees the framebuffer become 1024x768 when bochs
# sets its mode, without reconnecting; a pointer event at (512,384) reaches
# the tablet scaled to 0..32767; extended key events type a line that a
# shell in L2 reads from tty1.
# Prints "L1-CHECK ok|FAIL what" lines and ends with "L1-DONE".
set -u
M=$1 C=$2 V=$3 K=$4 I=$5 SUM=$6
T=/tmp/l1disp
mkdir -p $T
. "$(dirname "$0")/l1lib.sh"
ctl() { out=$($C $T/sock "$@" 2>&1) && ok "$*" || bad "$*: $out"; }
ev() { ctl raw "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":[$1]}}"; }

# The VNC client reaches minivmm over L1's loopback, which L1's init
# leaves down.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
rm -f $T/sock $T/in
mkfifo $T/in
$M --name l2-display --kernel $K --initrd $I --memory 256M --serial stdio --no-reboot \
	--append "console=ttyS0 quiet vt.global_cursor_default=0" --vga std --tablet on --vnc :1 \
	--qmp unix:$T/sock,server=on,wait=off <$T/in >$T/out 2>$T/err &
PID=$!
exec 7>$T/in
n=0
while [ ! -S $T/sock ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
[ -S $T/sock ] || bad "the control socket did not appear"
# A VNC client from the start, until the guest's resolution reaches it.
$V 5901 --retry 20 --wait-size 1024x768 180 >$T/vnc-size 2>&1 &
VPID=$!
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
	sleep 0.3
	out=$($V 5901 --pointer 512,384,0 --pointer 512,384,4 --pointer 512,384,0 2>&1) &&
		ok "VNC pointer events sent: $out" || bad "VNC pointer events: $out"
	out=$($V 5901 --ext vnc42/ 2>&1) && ok "VNC extended key events sent" ||
		bad "VNC extended keys: $out"
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
if wait $VPID; then
	ok "the VNC client saw the size change without reconnecting: $(tr '\n' ' ' <$T/vnc-size)"
else
	bad "VNC size: $(tr '\n' ' ' <$T/vnc-size)"
fi
echo "--- L2 console"; cat $T/out
echo "--- minivmm stderr"; cat $T/err
echo "---"
[ $st -eq 0 ] && ok "minivmm exit status 0" || bad "minivmm exit status $st"
grep -q 'VERDICT: PASS' $T/out && ! grep -q 'VERDICT: FAIL' $T/out &&
	ok "L2 VERDICT: PASS" || bad "L2 verdict"
echo "L1-DONE fails=$fails"
[ $fails -eq 0 ]
