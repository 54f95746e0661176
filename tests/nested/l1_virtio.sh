#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in L1 (tools/nested-run): virtio-blk and virtio-balloon under
# minivmm, driven by L2 Linux's own drivers (l2_virtio.sh), once with the
# modern interface and once with virtio_pci.force_legacy=1.
#   l1_virtio.sh MINIVMM MINIVMM-CTL QEMU-IMG KERNEL INITRD PATTERN W [MODES]
# PATTERN (1 MiB) is written at 4 MiB of both images before the boot; W
# (1 MiB) is what L2 writes at 8 MiB. Per mode one minivmm run: vda = 32 MiB
# raw (num-queues=2), vdb = 80 MiB qcow2 (num-queues=1), a balloon, --cpus 2, 512 MiB; two
# L2 boots (the second after a system_reset sent while L2 writes). Checks
# here: cluster counts around L2's discard, minivmm's RSS around the
# balloon's inflate and deflate, query-balloon and the guest stats against
# L2's /proc/meminfo, the last write L2 reported before the reset, and the
# images after minivmm exits (qemu-img check, the data L2 wrote).
# The balloon has free page reporting off (QEMU's default; minivmm's is
# on), so that the pages L2 touched and freed stay in minivmm's RSS until
# the inflate takes them.
# Prints "L1-CHECK ok|FAIL what", "L1-FIGURE name value" and "L1-DONE".
set -u
# An answer to an L2 that is already gone must not end this script.
trap "" PIPE
M=$1 C=$2 QI=$3 K=$4 I=$5 PAT=$6 W=$7
MODES=${8:-modern legacy}
T=/tmp/l1virtio
mkdir -p $T
. "$(dirname "$0")/l1vmm.sh"
MiB=1048576
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$PID/status; }
# jnum JSON KEY: the first number after "KEY":
jnum() { echo "$1" | tr -d ' \n' | sed -n "s/.*\"$2\":\(-\{0,1\}[0-9]*\).*/\1/p"; }
# Bytes of [start, start+len) that qemu-img map reports as data.
mapped() { # image start len [-U]
	$QI map ${4:-} -f qcow2 --output=json $1 | tr -d ' ' | awk -F'[:,{}]' -v s=$2 -v l=$3 '
		{ st = ""; ln = ""; d = ""
		  for (i = 1; i < NF; i++) {
			if ($i == "\"start\"") st = $(i + 1)
			if ($i == "\"length\"") ln = $(i + 1)
			if ($i == "\"data\"") d = $(i + 1) }
		  if (d != "true" || st == "") next
		  a = st; b = st + ln
		  if (a < s) a = s
		  if (b > s + l) b = s + l
		  if (b > a) n += b - a }
		END { print n + 0 }'
}
clusters() { # image [-U]: allocated clusters per qemu-img check
	jnum "$($QI check ${2:-} -f qcow2 --output=json $1 2>&1)" allocated-clusters
}

want_w=$(sha256sum $W | cut -d' ' -f1)

run_mode() {
	mode=$1
	append="console=ttyS0 quiet virtiotest=$mode"
	[ $mode = legacy ] && append="$append virtio_pci.force_legacy=1"
	rm -f $T/raw.img $T/q.qcow2 $T/qsrc $T/sock $T/in $T/out $T/err
	dd if=/dev/zero of=$T/raw.img bs=$MiB count=32 2>/dev/null
	dd if=$PAT of=$T/raw.img bs=$MiB seek=4 conv=notrunc 2>/dev/null
	dd if=/dev/zero of=$T/qsrc bs=$MiB count=0 seek=80 2>/dev/null
	dd if=$PAT of=$T/qsrc bs=$MiB seek=4 conv=notrunc 2>/dev/null
	$QI convert -f raw -O qcow2 $T/qsrc $T/q.qcow2 || bad "$mode: qemu-img convert"
	rm -f $T/qsrc
	mkfifo $T/in
	echo "--- $mode: $M --kernel K --initrd I --append '$append' --memory 512M --cpus 2 ..."
	t_start=$(cut -d' ' -f1 /proc/uptime)
	$M --name l2-virtio-$mode --kernel $K --initrd $I --append "$append" \
		--memory 512M --cpus 2 --serial stdio \
		--disk file=$T/raw.img,if=virtio,format=raw,serial=vraw,num-queues=2 \
		--disk file=$T/q.qcow2,if=virtio,format=qcow2,serial=vqcow,num-queues=1 \
		--device virtio-balloon,id=balloon0,free-page-reporting=off \
		--qmp unix:$T/sock,server=on,wait=off <$T/in >$T/out 2>$T/err &
	PID=$!
	exec 7>$T/in
	n=0
	while [ ! -S $T/sock ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ -S $T/sock ] || bad "$mode: the control socket did not appear"
	qmp '{"execute":"qom-set","arguments":{"path":"/machine/peripheral/balloon0","property":"guest-stats-polling-interval","value":1}}' >$T/qomset
	grep -q '"return"' $T/qomset && ok "$mode: guest-stats-polling-interval set" ||
		bad "$mode: qom-set guest-stats-polling-interval: $(cat $T/qomset)"

	# -- discard (which a device may offer to modern drivers only)
	nodiscard=
	if ! wait_for $T/out 'STEP discard-before' 150; then
		bad "$mode: L2 did not reach the discard"
	elif grep -q 'STEP discard-before skip' $T/out; then
		nodiscard=1
		fig "discard offered-to-legacy-driver 0"
		ok "$mode: no discard offered through the legacy interface (checked as such)"
		answer "no discard"
	else
		c0=$(clusters $T/q.qcow2 -U)
		m0=$(mapped $T/q.qcow2 $((12 * MiB)) $((4 * MiB)) -U)
		fig "clusters-before-discard $c0"
		fig "mapped-before-discard $m0"
		[ "$m0" = $((4 * MiB)) ] && ok "$mode: the 4 MiB L2 wrote are allocated in the qcow2 ($c0 clusters)" ||
			bad "$mode: before the discard $m0 of 4 MiB mapped ($c0 clusters)"
		answer "counted $c0"
	fi
	if [ -n "$nodiscard" ]; then
		wait_for $T/out 'STEP discard-after' 60 && answer "no discard"
	elif wait_for $T/out 'STEP discard-after' 60; then
		c1=$(clusters $T/q.qcow2 -U)
		m1=$(mapped $T/q.qcow2 $((12 * MiB)) $((4 * MiB)) -U)
		fig "clusters-after-discard $c1"
		fig "mapped-after-discard $m1"
		[ -n "$c0" ] && [ -n "$c1" ] && [ $((c0 - c1)) -ge 64 ] && [ "$m1" = 0 ] &&
			ok "$mode: blkdiscard freed $((c0 - c1)) clusters (4 MiB: 64 of 64 KiB), range unmapped" ||
			bad "$mode: blkdiscard: clusters $c0 -> $c1, $m1 bytes of the range still mapped"
		answer "counted $c1"
	fi

	# -- balloon
	if wait_for $T/out 'STEP touched' 120; then
		r0=$(rss_kb)
		fig "rss-touched-kb $r0"
		q=$(qmp '{"execute":"query-balloon"}')
		fig "query-balloon-before $(jnum "$q" actual)"
		[ "$(jnum "$q" actual)" = $((512 * MiB)) ] && ok "$mode: query-balloon actual 512 MiB before" ||
			bad "$mode: query-balloon before the inflate: $q"
		t_infl=$(cut -d' ' -f1 /proc/uptime)
		qmp "{\"execute\":\"balloon\",\"arguments\":{\"value\":$((256 * MiB))}}" >$T/bal
		grep -q '"return"' $T/bal || bad "$mode: balloon 256 MiB: $(cat $T/bal)"
		n=0
		while [ $n -lt 150 ]; do
			q=$(qmp '{"execute":"query-balloon"}')
			[ "$(jnum "$q" actual)" = $((256 * MiB)) ] && break
			sleep 0.2
			n=$((n + 1))
		done
		t_done=$(cut -d' ' -f1 /proc/uptime)
		[ "$(jnum "$q" actual)" = $((256 * MiB)) ] &&
			ok "$mode: query-balloon actual 256 MiB after the inflate ($(echo "$t_infl $t_done" | awk '{printf "%.1f", $2 - $1}') s)" ||
			bad "$mode: query-balloon after the inflate: $q"
		sleep 1
		r1=$(rss_kb)
		fig "rss-inflated-kb $r1"
		[ $((r0 - r1)) -ge $((200 * 1024)) ] &&
			ok "$mode: the inflate lowered minivmm's RSS by $(((r0 - r1) / 1024)) MiB ($((r0 / 1024)) -> $((r1 / 1024)) MiB)" ||
			bad "$mode: the inflate lowered minivmm's RSS by only $(((r0 - r1) / 1024)) MiB ($((r0 / 1024)) -> $((r1 / 1024)) MiB)"
		answer "inflated"
	else
		bad "$mode: L2 did not touch its memory"
	fi
	if wait_for $T/out 'STEP inflated' 60; then
		t0=$(stepword inflated 1) t1=$(stepword inflated 2)
		q=$(qmp '{"execute":"query-balloon"}')
		a=$(jnum "$q" actual)
		# The guest's MemTotal fell by the balloon's size (512 MiB - actual).
		d=$(( (t0 - t1) * 1024 - (512 * MiB - a) ))
		fig "memtotal-drop-minus-balloon-bytes $d"
		[ ${d#-} -le 8192 ] && ok "$mode: L2's MemTotal fell by $(((t0 - t1) / 1024)) MiB, query-balloon says $(((512 * MiB - a) / MiB)) MiB ballooned (diff $d bytes)" ||
			bad "$mode: L2's MemTotal $t0 -> $t1 kB, query-balloon actual $a"
		sleep 2.5 # a fresh stats update (polling every second)
		qmp '{"execute":"qom-get","arguments":{"path":"/machine/peripheral/balloon0","property":"guest-stats"}}' >$T/stats
		answer "stats taken"
	fi
	if wait_for $T/out '^MEMINFO' 30; then
		set -- $(grep '^MEMINFO' $T/out | tail -n 1 | tr -d '\r')
		gt=$(jnum "$(cat $T/stats)" stat-total-memory)
		gf=$(jnum "$(cat $T/stats)" stat-free-memory)
		echo "guest stats: $(tr -d '\n' <$T/stats | head -c 600)"
		fig "stats-total-minus-memtotal-bytes $((gt - $2 * 1024))"
		fig "stats-free-minus-memfree-bytes $((gf - $3 * 1024))"
		dt=$((gt - $2 * 1024)) df=$((gf - $3 * 1024))
		[ -n "$gt" ] && [ ${dt#-} -le 8192 ] && ok "$mode: guest stat-total-memory $gt = MemTotal $2 kB (diff $dt)" ||
			bad "$mode: guest stat-total-memory '$gt' vs MemTotal $2 kB"
		# MemFree moves between the guest's last stats update (at most a
		# second before the qom-get) and its reading of /proc/meminfo, and
		# both read a counter that per-CPU deltas reach once a second.
		[ -n "$gf" ] && [ ${df#-} -le $((256 * 4096)) ] && ok "$mode: guest stat-free-memory $gf ~ MemFree $3 kB (diff $df)" ||
			bad "$mode: guest stat-free-memory '$gf' vs MemFree $3 kB"
		qmp "{\"execute\":\"balloon\",\"arguments\":{\"value\":$((512 * MiB))}}" >$T/bal
		n=0
		while [ $n -lt 150 ]; do
			q=$(qmp '{"execute":"query-balloon"}')
			[ "$(jnum "$q" actual)" = $((512 * MiB)) ] && break
			sleep 0.2
			n=$((n + 1))
		done
		[ "$(jnum "$q" actual)" = $((512 * MiB)) ] && ok "$mode: query-balloon actual 512 MiB after the deflate" ||
			bad "$mode: query-balloon after the deflate: $q"
		answer "deflated"
	fi
	if wait_for $T/out 'STEP retouched' 90; then
		r2=$(rss_kb)
		fig "rss-retouched-kb $r2"
		[ $((r2 - r1)) -ge $((200 * 1024)) ] &&
			ok "$mode: after the deflate L2 used the memory again: RSS $((r1 / 1024)) -> $((r2 / 1024)) MiB" ||
			bad "$mode: after the deflate RSS $((r1 / 1024)) -> $((r2 / 1024)) MiB only"
		answer "ok"
	else
		bad "$mode: L2 did not get its memory back (no retouch)"
	fi

	# -- reset during heavy I/O
	if wait_for $T/out 'STEP reset-go' 60; then
		answer "go"
		if wait_for $T/out '^WROTE 40' 120; then
			out=$($C $T/sock reset 2>&1) && ok "$mode: system_reset sent during the writes" ||
				bad "$mode: reset: $out"
		else
			bad "$mode: L2 did not write 40 blocks"
		fi
	fi
	rebooted=
	if wait_for $T/out 'STEP reset-check' 120; then
		rebooted=1
	else
		# An L2 kernel that stops before init after a reset with 2 vCPUs
		# has been seen now and then under QEMU TCG's emulated SVM (also
		# with QEMU as the L2 VMM, and in minivmm-isolinux's reboot).
		# Show whether minivmm still answers and the vCPUs still exit,
		# then reset once more: the completed writes must survive both.
		echo "L1-NOTE $mode: no second boot 120 s after the reset; status: $($C $T/sock status 2>&1)"
		e1=$(qmp '{"execute":"query-exit-stats"}' | tr -d ' \n' | grep -o '"count":[0-9]*' | head -1)
		sleep 5
		e2=$(qmp '{"execute":"query-exit-stats"}' | tr -d ' \n' | grep -o '"count":[0-9]*' | head -1)
		echo "L1-NOTE $mode: first exit reason's count 5 s apart: $e1 -> $e2"
		out=$($C $T/sock reset 2>&1) && echo "L1-NOTE $mode: a second system_reset sent" ||
			bad "$mode: the second reset: $out"
		wait_for $T/out 'STEP reset-check' 150 && rebooted=1
	fi
	if [ -n "$rebooted" ]; then
		# Whole lines only: the reset can cut one ("WROTE l2-init: ...").
		last=$(sed -n '1,/STEP reset-check/p' $T/out | tr -d '\r' | grep -E '^WROTE [0-9]+$' | tail -n 1 | cut -d' ' -f2)
		fig "last-block-before-reset $last"
		answer "${last:-0}"
	else
		bad "$mode: no second boot after the reset (nor after a second one)"
	fi

	n=0
	while kill -0 $PID 2>/dev/null && [ $n -lt 300 ]; do sleep 0.2; n=$((n + 1)); done
	kill -0 $PID 2>/dev/null && { bad "$mode: minivmm still running"; kill -9 $PID; }
	wait $PID
	st=$?
	exec 7>&-
	t_end=$(cut -d' ' -f1 /proc/uptime)
	fig "seconds $(echo "$t_start $t_end" | awk '{printf "%.1f", $2 - $1}')"
	echo "--- L2 console ($mode)"; cat $T/out
	echo "--- minivmm stderr ($mode)"; cat $T/err
	echo "---"
	[ $st -eq 0 ] && ok "$mode: minivmm exit status 0" || bad "$mode: minivmm exit status $st"
	grep -q 'VERDICT: PASS' $T/out && ! grep -q 'VERDICT: FAIL' $T/out &&
		ok "$mode: L2 VERDICT: PASS" || bad "$mode: L2 verdict: $(grep VERDICT $T/out | tr -d '\r')"
	grep -q "transport ok ($mode)" $T/out && ok "$mode: L2 saw the $mode transport" ||
		bad "$mode: L2 did not confirm the $mode transport"
	grep -q '^RESET-CHECK ok' $T/out && ok "$mode: $(grep '^RESET-CHECK' $T/out | tr -d '\r') completed before the reset read back" ||
		bad "$mode: the blocks written before the reset were not all read back"

	# -- the images after minivmm
	out=$($QI check -f qcow2 $T/q.qcow2 2>&1); cst=$?
	[ $cst -eq 0 ] && echo "$out" | grep -q 'No errors were found' && ! echo "$out" | grep -qi 'leaked' &&
		ok "$mode: qemu-img check clean: $(echo "$out" | tr '\n' ' ')" ||
		bad "$mode: qemu-img check status $cst: $(echo "$out" | tr '\n' ' ')"
	got=$(dd if=$T/raw.img bs=$MiB skip=8 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want_w" ] && ok "$mode: L2's write is in the raw image" || bad "$mode: raw image at 8 MiB: $got"
	$QI convert -f qcow2 -O raw $T/q.qcow2 $T/q.raw
	got=$(dd if=$T/q.raw bs=$MiB skip=8 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want_w" ] && ok "$mode: L2's write is in the qcow2 image" || bad "$mode: qcow2 image at 8 MiB: $got"
	m2=$(mapped $T/q.qcow2 $((12 * MiB)) $((4 * MiB)))
	fig "clusters-at-exit $(clusters $T/q.qcow2)"
	if [ -n "$nodiscard" ]; then
		[ "$m2" = $((4 * MiB)) ] && ok "$mode: the undiscarded range is still allocated at exit" ||
			bad "$mode: $m2 bytes of the (not discarded) range allocated at exit"
	else
		[ "$m2" = 0 ] && ok "$mode: the discarded range is unallocated at exit" ||
			bad "$mode: $m2 bytes of the discarded range allocated at exit"
	fi
	i=1 badblk=0
	while [ $i -le ${last:-0} ]; do
		got=$(dd if=$T/q.raw bs=4096 skip=$((16384 + i)) count=1 2>/dev/null | head -c 16)
		[ "$got" = "$(printf 'BLOCK %09d\n' $i)" ] || badblk=$((badblk + 1))
		i=$((i + 1))
	done
	[ -n "${last:-}" ] && [ $badblk -eq 0 ] && ok "$mode: all ${last} blocks completed before the reset are in the image" ||
		bad "$mode: $badblk of ${last:-?} blocks completed before the reset missing from the image"
	rm -f $T/q.raw
}

for mode in $MODES; do
	run_mode $mode
done
echo "L1-DONE fails=$fails"
[ $fails -eq 0 ]
