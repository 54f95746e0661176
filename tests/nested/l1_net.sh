#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in L1 (tools/nested-run): minivmm boots an L2 Linux with one
# virtio-net NIC on a tap; L1 is 192.168.77.1 on the tap, L2 192.168.77.2.
# Per run (modern; legacy with virtio_pci.force_legacy=1; modern again with
# --no-ioeventfd --no-irqfd): pings both ways, BLOB x REPS streamed from
# L1's busybox httpd to L2 and from L2's to L1 and then both at once, each
# stream's SHA-256 checked against the one expected, the tap's packet
# counters watched every 0.2 s during the streams (the longest time they
# stood still is the stall figure: more than 1 s fails), QMP set_link
# off/on seen as the guest's carrier. Prints "L1-CHECK ok|FAIL ...",
# "L1-FIGURE ...", then "L1-DONE fails=N"; exits 0 if nothing failed.
#
#   l1_net.sh MINIVMM CTL KERNEL INITRD BLOB REPS SHA256 RUNS...
# RUNS: modern, legacy, nofast (modern with both fast paths off), user
# (modern on --net user: DHCP from libslirp, L1's httpd as 10.0.2.2, L2's
# through hostfwd=tcp:127.0.0.1:2222-:8000; no pings, no tap counters),
# pxe (the user run with L2 booted by SeaBIOS and the NIC's iPXE ROM over
# libslirp's TFTP: --boot order=n, tftp=, bootfile= an iPXE script).
set -u
M=$1 C=$2 K=$3 I=$4 BLOB=$5 REPS=$6 WANT=$7
shift 7
T=/tmp/l1net
mkdir -p $T/www/cgi-bin
. "$(dirname "$0")/l1vmm.sh"
trap "" PIPE
ip link set lo up 2>/dev/null

# The stream L2 fetches: BLOB x REPS through a CGI script of busybox httpd.
cp $BLOB $T/www/blob
cat >$T/www/cgi-bin/stream <<EOF
#!/bin/sh
printf 'Content-Type: application/octet-stream\r\n\r\n'
i=0
while [ \$i -lt $REPS ]; do cat $T/www/blob; i=\$((i + 1)); done
EOF
chmod +x $T/www/cgi-bin/stream
busybox httpd -p 8000 -h $T/www 2>/dev/null ||
	httpd -p 8000 -h $T/www || echo "L1-NOTE httpd did not start"
pkts() { echo $(($(cat /sys/class/net/$TAP/statistics/rx_packets) + $(cat /sys/class/net/$TAP/statistics/tx_packets))); }

# watch_start / watch_stop: the longest stretch (ms) in which the tap's
# packet counters did not move while $T/watching exists.
watch_start() {
	[ -n "$TAP" ] || return 0
	touch $T/watching
	(
		last=$(pkts) since=$(up) worst=0
		while [ -e $T/watching ]; do
			sleep 0.2
			now=$(up) p=$(pkts)
			if [ "$p" != "$last" ]; then
				last=$p since=$now
			else
				gap=$(awk -v a=$since -v b=$now 'BEGIN { printf "%d", (b - a) * 1000 }')
				[ $gap -gt $worst ] && worst=$gap
			fi
		done
		echo $worst >$T/worst
	) &
	WATCH=$!
}
watch_stop() { # what: the figure and the check
	[ -n "$TAP" ] || return 0
	rm -f $T/watching
	wait $WATCH
	w=$(cat $T/worst 2>/dev/null || echo 99999)
	fig "longest-stall-ms $1 $w"
	[ $w -le 1000 ] && ok "$run: no stall over 1 s during $1 (longest ${w} ms)" ||
		bad "$run: the traffic stood still for ${w} ms during $1"
}

# fetch URL: the SHA-256 of what wget got, and its seconds in $T/secs.
fetch() {
	t0=$(up)
	wget -q -O - "$1" 2>$T/wgeterr | sha256sum | cut -d' ' -f1
	awk -v a=$t0 -v b=$(up) 'BEGIN { printf "%.1f\n", b - a }' >$T/secs
}
mibps() { awk -v n=$REPS -v s=$(cat $T/secs) -v z=$(wc -c <$BLOB) 'BEGIN { printf "%.1f", (s > 0 ? n * z / 1048576 / s : 0) }'; }

do_run() {
	run=$1
	n=$(($2 + 0))
	TAP=tapnet$n
	mac=52:54:00:12:34:5$n
	extra=
	append="console=ttyS0 quiet nettest=modern netreps=$REPS"
	nic="--net nic,model=virtio,macaddr=$mac --net tap,ifname=$TAP,script=no"
	case $run in
	legacy) append="console=ttyS0 quiet nettest=legacy netreps=$REPS virtio_pci.force_legacy=1"
		# the short form, and the MAC minivmm derives
		nic="--net tap,ifname=$TAP"; mac= ;;
	nofast) extra="--no-ioeventfd --no-irqfd" ;;
	user) append="console=ttyS0 quiet nettest=modern netreps=$REPS netbackend=user"
		TAP= mac=
		nic="--net user,hostfwd=tcp:127.0.0.1:2222-:8000" ;;
	pxe) # the user run, but SeaBIOS runs the NIC's iPXE ROM (--boot
		# order=n), which takes its address by DHCP and loads an iPXE
		# script, the kernel and the initramfs by TFTP from libslirp
		append="console=ttyS0 quiet nettest=modern netreps=$REPS netbackend=user"
		TAP= mac=
		mkdir -p $T/tftp
		cp $K $T/tftp/vmlinuz
		cp $I $T/tftp/initrd
		printf '#!ipxe\nkernel tftp://10.0.2.2/vmlinuz %s\ninitrd tftp://10.0.2.2/initrd\nboot\n' \
			"$append" >$T/tftp/boot.ipxe
		nic="--net user,hostfwd=tcp:127.0.0.1:2222-:8000,tftp=$T/tftp,bootfile=boot.ipxe" ;;
	esac
	# How L2 starts: the kernel directly, or (pxe) SeaBIOS and iPXE.
	if [ $run = pxe ]; then
		set -- --boot order=n
	else
		set -- --kernel $K --initrd $I --append "$append"
	fi
	l2=http://192.168.77.2:8000
	case $run in user|pxe) l2=http://127.0.0.1:2222 ;; esac
	rm -f $T/sock $T/in $T/out $T/err $T/stats.json
	mkfifo $T/in
	echo "--- $run: $M --kernel K --initrd I --append '$append' --memory 512M $nic $extra ..."
	t_start=$(up)
	$M --name l2-net-$run "$@" --memory 512M --serial stdio $nic $extra --stats=json:$T/stats.json \
		--qmp unix:$T/sock,server=on,wait=off <$T/in >$T/out 2>$T/err &
	PID=$!
	exec 7>$T/in
	i=0
	while [ -n "$TAP" ] && [ ! -e /sys/class/net/$TAP ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if [ -z "$TAP" ]; then
		:
	elif [ -e /sys/class/net/$TAP ]; then
		ip addr add 192.168.77.1/24 dev $TAP && ip link set $TAP up &&
			ok "$run: minivmm made tap $TAP, L1 is 192.168.77.1 on it" ||
			bad "$run: cannot configure $TAP"
	else
		bad "$run: minivmm made no $TAP: $(cat $T/err)"
	fi

	# iPXE's DHCP and TFTP of the kernel come first in the pxe run.
	if wait_for $T/out 'STEP mac' $([ $run = pxe ] && echo 500 || echo 150); then
		got=$(stepword mac 1)
		if [ -n "$mac" ]; then
			[ "$got" = "$mac" ] && ok "$run: the guest's MAC is macaddr= ($got)" ||
				bad "$run: the guest's MAC is $got, not $mac"
		else
			case $got in
			52:54:00:*) ok "$run: a derived MAC $got" ;;
			*) bad "$run: derived MAC $got" ;;
			esac
		fi
		answer ok
	else
		bad "$run: L2 did not reach its NIC"
	fi
	wait_for $T/out 'STEP up' 60 && answer ok
	if [ $run = pxe ]; then
		grep -q 'iPXE' $T/out && ok "$run: iPXE from the NIC's ROM ran ($(grep -o 'iPXE [0-9][^ ]*' $T/out | head -n 1 | cut -d "$(printf '\033')" -f1))" ||
			bad "$run: no iPXE on the console"
		grep -q 'boot.ipxe' $T/out && ok "$run: iPXE loaded boot.ipxe by TFTP" || echo "L1-NOTE $run: iPXE did not name boot.ipxe"
	fi
	if [ $run = user ] || [ $run = pxe ]; then
		got=$(stepword up 1)
		case $got in
		10.0.2.1[5-9]|10.0.2.[2-9][0-9]) ok "$run: L2 took $got by DHCP from libslirp" ;;
		*) bad "$run: L2's DHCP address is '$got'" ;;
		esac
		wait_for $T/out 'STEP pinged' 60 && answer ok
	elif wait_for $T/out 'STEP pinged' 60; then
		ok "$run: $(grep '^PING-L1' $T/out | tr -d '\r')"
		ping -c 3 -W 5 192.168.77.2 >$T/ping 2>&1 &&
			ok "$run: L1 pings L2 ($(grep -c 'bytes from' $T/ping) replies)" ||
			bad "$run: L1 cannot ping L2: $(tail -n 2 $T/ping)"
		answer ok
	fi

	# L1 -> L2 (L2 hashes it)
	watch_start
	if wait_for $T/out 'STEP rx-done' 900; then
		watch_stop "L1 to L2"
		got=$(stepword rx-done 1)
		[ "$got" = "$WANT" ] && ok "$run: L2 received the stream intact ($REPS x 4 MiB)" ||
			bad "$run: L2's hash of the stream is $got"
		fig "l1-to-l2-seconds $(grep '^RX-TIME' $T/out | tr -d '\r' | awk '{ printf "%.1f", $3 - $2 }')"
		answer ok
	else
		watch_stop "L1 to L2"
	fi
	# L2 -> L1 (L1 hashes it)
	if wait_for $T/out 'STEP tx-go' 60; then
		watch_start
		got=$(fetch $l2/cgi-bin/stream)
		watch_stop "L2 to L1"
		fig "l2-to-l1-seconds $(cat $T/secs) ($(mibps) MiB/s)"
		[ "$got" = "$WANT" ] && ok "$run: L1 received L2's stream intact" ||
			bad "$run: L1's hash of L2's stream is $got ($(cat $T/wgeterr))"
		answer ok
	fi
	# both ways at once
	if wait_for $T/out 'STEP both-go' 60; then
		watch_start
		(fetch $l2/cgi-bin/stream >$T/bothsum) &
		BG=$!
		answer go
		wait $BG
		if wait_for $T/out 'STEP both-done' 900; then
			watch_stop "both ways at once"
			got=$(stepword both-done 1)
			[ "$got" = "$WANT" ] && [ "$(cat $T/bothsum)" = "$WANT" ] &&
				ok "$run: both streams intact when they ran at once" ||
				bad "$run: at once: L2 got $got, L1 got $(cat $T/bothsum)"
			answer ok
		else
			watch_stop "both ways at once"
		fi
	fi
	# the link
	if wait_for $T/out 'STEP link-down-go' 60; then
		out=$(qmp '{"execute":"set_link","arguments":{"name":"net0","up":false}}')
		echo "$out" | grep -q '"return"' && ok "$run: set_link off" || bad "$run: set_link off: $out"
		answer ok
	fi
	if wait_for $T/out 'STEP link-up-go' 60; then
		grep -q '^CARRIER after set_link off: 0' $T/out && ok "$run: the guest saw the link go down" ||
			bad "$run: $(grep '^CARRIER after set_link off' $T/out | tr -d '\r')"
		out=$(qmp '{"execute":"set_link","arguments":{"name":"net0","up":true}}')
		echo "$out" | grep -q '"return"' && ok "$run: set_link on" || bad "$run: set_link on: $out"
		answer ok
	fi
	wait_for $T/out 'VERDICT' 120
	grep -q '^CARRIER after set_link on: 1' $T/out && ok "$run: the guest saw the link come back" ||
		bad "$run: $(grep '^CARRIER after set_link on' $T/out | tr -d '\r')"
	n=0
	while kill -0 $PID 2>/dev/null && [ $n -lt 300 ]; do sleep 0.2; n=$((n + 1)); done
	kill -0 $PID 2>/dev/null && { bad "$run: minivmm still running after the verdict"; kill -9 $PID; }
	wait $PID
	st=$?
	exec 7>&-
	fig "seconds $(awk -v a=$t_start -v b=$(up) 'BEGIN { printf "%.1f", b - a }')"
	echo "--- L2 console ($run)"
	cat $T/out
	echo "--- minivmm stderr ($run)"
	cat $T/err
	echo "---"
	[ $st = 0 ] && ok "$run: minivmm exit status 0" || bad "$run: minivmm exit status $st"
	v=$(grep '^VERDICT' $T/out | tr -d '\r')
	[ "$v" = "VERDICT: PASS" ] && ok "$run: L2 $v" || bad "$run: L2 verdict: ${v:-none}"
	if [ -s $T/stats.json ]; then
		s=$(tr -d ' \n' <$T/stats.json)
		empty=$(echo "$s" | sed -n 's/.*"ring_empty":\([0-9]*\).*/\1/p')
		fig "rx-ring-empty ${empty:-?}"
		echo "STATSJSON $run $s" | cut -c1-4000
	fi
	[ -n "$TAP" ] && ip link del $TAP 2>/dev/null
}

idx=0
for r in "$@"; do
	do_run $r $idx
	idx=$((idx + 1))
done
echo "L1-DONE fails=$fails"
[ $fails = 0 ]
