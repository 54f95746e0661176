# SPDX-License-Identifier: GPL-2.0-or-later
# L2 side of the network test (l1_net.sh runs minivmm in L1 with one
# virtio-net NIC on a tap, 1 vCPU, 512 MiB). Linux's own virtio_pci and
# virtio_net drive it; "nettest=modern|legacy" on the command line says
# which transport the guest must be using (legacy: virtio_pci.force_legacy=1).
# L2 is 192.168.77.2, L1's end of the tap 192.168.77.1; with
# netbackend=user (libslirp) L2 takes its address by DHCP and reaches L1's
# loopback as 10.0.2.2, L1 reaches L2 through a hostfwd. Steps: transport
# and MAC, pings both ways (tap), a stream from L1's httpd (L2 hashes it), a
# stream from L2's httpd (L1 hashes it), both at once, link down and up
# by QMP set_link seen in the carrier. L1 answers each "STEP name" with
# one line on the console.
fail() { echo "VERDICT: FAIL $*"; exit 0; }
stty -echo 2>/dev/null
mode=$(sed -n 's/.*nettest=\([a-z]*\).*/\1/p' /proc/cmdline)
reps=$(sed -n 's/.*netreps=\([0-9]*\).*/\1/p' /proc/cmdline)
backend=$(sed -n 's/.*netbackend=\([a-z]*\).*/\1/p' /proc/cmdline)
L1=192.168.77.1
[ "$backend" = user ] && L1=10.0.2.2

step() { # name [data]: tell L1, wait for its line
	echo "STEP $* (t=$(cut -d' ' -f1 /proc/uptime))"
	read -t 600 -r line || fail "no answer from L1 after step $1"
	echo "L1 SAYS: $line"
}

i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth0 ] || fail "no eth0: $(ls /sys/class/net | tr '\n' ' ')"

# VIRTIO_F_VERSION_1 (bit 32 of the negotiated features) is set exactly
# when the modern interface is in use.
f=$(cat /sys/class/net/eth0/device/features)
v1=$(echo "$f" | cut -c33)
echo "net-test: mode $mode, features $f"
if [ "$mode" = legacy ]; then
	[ "$v1" = 0 ] || fail "legacy mode, but VERSION_1 was negotiated"
else
	[ "$v1" = 1 ] || fail "modern mode, but VERSION_1 was not negotiated"
fi
echo "net-test: transport ok ($mode), mac $(cat /sys/class/net/eth0/address)"
step mac "$(cat /sys/class/net/eth0/address)"

ip link set lo up
ip link set eth0 up || fail "ip link set eth0 up"
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] || fail "no carrier on eth0"
if [ "$backend" = user ]; then
	# libslirp's DHCP: the lease applied by udhcpc's script.
	cat >/tmp/dhcp.sh <<'EOF'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add $ip/${mask:-24} dev $interface
[ -n "$router" ] && ip route add default via ${router%% *}
echo "DHCP-LEASE ip=$ip mask=$mask router=$router dns=$dns"
EOF
	chmod +x /tmp/dhcp.sh
	udhcpc -i eth0 -n -q -t 10 -T 3 -s /tmp/dhcp.sh >/tmp/dhcp 2>&1 || fail "no DHCP lease: $(tail -n 3 /tmp/dhcp)"
	grep DHCP-LEASE /tmp/dhcp
	step up "$(ip -4 addr show dev eth0 | sed -n 's/.*inet \([0-9.]*\).*/\1/p')"
	step pinged
else
	ip addr add 192.168.77.2/24 dev eth0 || fail "ip addr add"
	step up
	ping -c 3 -W 5 $L1 >/tmp/ping 2>&1 || fail "L2 cannot ping L1: $(tail -n 2 /tmp/ping)"
	echo "PING-L1 ok: $(grep -c 'bytes from' /tmp/ping) replies"
	step pinged
fi

# A stream from L2 to L1: the blob (4 MiB, shipped in the initramfs) $reps
# times through a CGI script of busybox httpd.
mkdir -p /www/cgi-bin
cp /l2/blob /www/blob
cat >/www/cgi-bin/stream <<EOF
#!/bin/sh
printf 'Content-Type: application/octet-stream\r\n\r\n'
i=0
while [ \$i -lt $reps ]; do cat /www/blob; i=\$((i + 1)); done
EOF
chmod +x /www/cgi-bin/stream
httpd -p 8000 -h /www || fail "httpd"

# L1 to L2, then L2 to L1 (L1 fetches while L2 waits), then both at once.
t0=$(cut -d' ' -f1 /proc/uptime)
rx=$(wget -q -O - http://$L1:8000/cgi-bin/stream | sha256sum | cut -d' ' -f1)
t1=$(cut -d' ' -f1 /proc/uptime)
echo "RX-SUM $rx"
echo "RX-TIME $t0 $t1"
step rx-done "$rx"
step tx-go
step both-go
wget -q -O - http://$L1:8000/cgi-bin/stream | sha256sum | cut -d' ' -f1 >/tmp/both
echo "BOTH-RX-SUM $(cat /tmp/both)"
step both-done "$(cat /tmp/both)"

# The link as QMP set_link says: carrier 0, then 1.
step link-down-go
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "CARRIER after set_link off: $(cat /sys/class/net/eth0/carrier 2>/dev/null)"
step link-up-go
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "CARRIER after set_link on: $(cat /sys/class/net/eth0/carrier 2>/dev/null)"
ping -c 2 -W 5 $L1 >/tmp/ping 2>&1 || fail "no ping to L1 after the link came back: $(tail -n 2 /tmp/ping)"
echo "VERDICT: PASS"
