# SPDX-License-Identifier: GPL-2.0-or-later
# L2 side of the virtio tests (l1_virtio.sh runs minivmm in L1 with two
# virtio disks -- vda raw with num-queues=2, vdb qcow2 with 1 -- a balloon, 2 vCPUs
# and 512 MiB). Linux's own virtio_pci, virtio_blk and virtio_balloon drive
# them; "virtiotest=modern|legacy" on the command line says which transport
# the guest must be using (legacy: virtio_pci.force_legacy=1, which l2kit's
# init hands to insmod).
# Boot 1: transport, serials, queues, a known pattern read, writes flushed
# and read back, a discard on qcow2, the balloon (inflate, stats, deflate),
# then numbered O_DIRECT writes until L1 resets the machine. Boot 2 (the
# reset's, told by a marker in vda's first sector) reads every write L1 saw
# completed. L1 answers each "STEP name" with one line on the console.
fail() { echo "VERDICT: FAIL $*"; exit 0; }
stty -echo 2>/dev/null
mode=$(sed -n 's/.*virtiotest=\([a-z]*\).*/\1/p' /proc/cmdline)
MARK=MINIVMM-VIRTIO-RESET-PHASE
MiB=1048576

step() { # name [data]: tell L1, wait for its line
	echo "STEP $* (t=$(cut -d' ' -f1 /proc/uptime))"
	read -t 180 -r line || fail "no answer from L1 after step $1"
	echo "L1 SAYS: $line"
}
memkb() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
# fsync of the device (busybox has no fsync applet; dd conv=fsync fsyncs
# its output even after copying nothing).
flush() { dd if=/dev/null of=/dev/$1 conv=notrunc,fsync 2>/dev/null; }
sha() { dd if=$1 bs=$MiB skip=$2 count=${3:-1} iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1; }

i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] && [ -b /dev/vdb ] || fail "no /dev/vda and /dev/vdb: $(ls /sys/block | tr '\n' ' ')"

# ---- boot 2: after the reset
if [ "$(dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | head -c ${#MARK})" = "$MARK" ]; then
	echo "virtio-test: boot 2 (after the reset)"
	step reset-check
	n=${line%% *}
	case $n in ''|*[!0-9]*) fail "L1 sent no block count: $line" ;; esac
	[ $n -ge 1 ] || fail "L1 saw no completed block before the reset"
	i=1
	while [ $i -le $n ]; do
		got=$(dd if=/dev/vdb bs=4096 skip=$((16384 + i)) count=1 iflag=direct 2>/dev/null | head -c 16)
		[ "$got" = "$(printf 'BLOCK %09d\n' $i)" ] ||
			fail "block $i of $n completed before the reset reads '$got'"
		i=$((i + 1))
	done
	echo "RESET-CHECK ok $n blocks"
	echo "VERDICT: PASS"
	exit 0
fi

# ---- boot 1
# The transport: VIRTIO_F_VERSION_1 (bit 32 of the negotiated features)
# is set exactly when the modern interface is in use.
f=$(cat /sys/block/vda/device/features)
v1=$(echo "$f" | cut -c33)
legacy=$(cat /sys/module/virtio_pci/parameters/force_legacy 2>/dev/null)
echo "virtio-test: mode $mode, force_legacy=$legacy, vda features $f"
if [ "$mode" = legacy ]; then
	[ "$legacy" = Y ] || fail "virtio_pci.force_legacy is '$legacy', not Y"
	[ "$v1" = 0 ] || fail "legacy mode but VERSION_1 negotiated: $f"
else
	[ "$legacy" = N ] || fail "virtio_pci.force_legacy is '$legacy', not N"
	[ "$v1" = 1 ] || fail "modern mode but VERSION_1 not negotiated: $f"
fi
for d in vda vdb; do
	drv=$(basename "$(readlink /sys/block/$d/device/driver)")
	[ "$drv" = virtio_blk ] || fail "$d is driven by '$drv'"
done
echo "virtio-test: transport ok ($mode)"
[ "$(cat /sys/block/vda/serial)" = vraw ] || fail "vda serial '$(cat /sys/block/vda/serial)'"
[ "$(cat /sys/block/vdb/serial)" = vqcow ] || fail "vdb serial '$(cat /sys/block/vdb/serial)'"
[ "$(cat /sys/block/vda/size)" -eq $((32 * 2048)) ] || fail "vda has $(cat /sys/block/vda/size) sectors"
[ "$(cat /sys/block/vdb/size)" -eq $((80 * 2048)) ] || fail "vdb has $(cat /sys/block/vdb/size) sectors"
qa=$(ls /sys/block/vda/mq | wc -l)
qb=$(ls /sys/block/vdb/mq | wc -l)
echo "virtio-test: queues vda $qa vdb $qb, $(grep -c ^processor /proc/cpuinfo) CPUs"
[ $qa -eq 2 ] || fail "vda (num-queues=2) has $qa blk-mq queues"
[ $qb -eq 1 ] || fail "vdb has $qb blk-mq queues"

want=$(cat /l2/pattern.sha256)
for d in vda vdb; do
	got=$(sha /dev/$d 4)
	[ "$got" = "$want" ] || fail "$d: the pattern at 4 MiB reads sha256 $got, expected $want"
done
echo "virtio-test: pattern read on vda and vdb"

wsum=$(sha256sum /l2/w.bin | cut -d' ' -f1)
for d in vda vdb; do
	dd if=/l2/w.bin of=/dev/$d bs=$MiB seek=8 oflag=direct conv=fsync 2>/tmp/dd.err ||
		fail "write to $d: $(cat /tmp/dd.err)"
	got=$(sha /dev/$d 8)
	[ "$got" = "$wsum" ] || fail "$d: read back after the write: $got, expected $wsum"
done
sync
echo "virtio-test: write, flush and read back on vda and vdb"

# Discard on qcow2: 4 MiB of data at 12 MiB, flushed; L1 counts clusters.
i=0
while [ $i -lt 4 ]; do
	dd if=/l2/w.bin of=/dev/vdb bs=$MiB seek=$((12 + i)) oflag=direct 2>/dev/null || fail "write vdb at $((12 + i)) MiB"
	i=$((i + 1))
done
# fsync on the device sends a FLUSH (sync alone need not): the qcow2
# metadata is in the image file from then on.
flush vdb || fail "fsync /dev/vdb"
dmax=$(cat /sys/block/vdb/queue/discard_max_bytes)
echo "virtio-test: discard_max_bytes $dmax granularity $(cat /sys/block/vdb/queue/discard_granularity)"
if [ "$dmax" = 0 ] && [ "$mode" = legacy ]; then
	# DISCARD is a virtio 1.1 feature: a device may offer it to modern
	# drivers only (QEMU offers it to both).
	echo "virtio-test: no discard through the legacy interface"
	step discard-before skip
	step discard-after skip
else
	[ "$dmax" != 0 ] || fail "vdb offers no discard (discard_max_bytes 0)"
	step discard-before
	d0=$(cut -d' ' -f1 /proc/uptime)
	blkdiscard -o $((12 * MiB)) -l $((4 * MiB)) /dev/vdb 2>/tmp/bd.err || fail "blkdiscard: $(cat /tmp/bd.err)"
	d1=$(cut -d' ' -f1 /proc/uptime)
	flush vdb || fail "fsync /dev/vdb after the discard"
	echo "virtio-test: blkdiscard of 4 MiB took $(echo "$d0 $d1" | awk '{printf "%.2f", $2 - $1}') s, the flush $(echo "$d1 $(cut -d' ' -f1 /proc/uptime)" | awk '{printf "%.2f", $2 - $1}') s"
	step discard-after
fi

# ---- balloon: touch nearly all free memory (a tmpfs file, then removed),
# L1 inflates by 256 MiB, checks its RSS, then the guest stats, deflates.
[ -d /sys/bus/virtio/drivers/virtio_balloon ] || fail "no virtio_balloon driver"
ls /sys/bus/virtio/drivers/virtio_balloon | grep -q virtio || fail "virtio_balloon bound to no device"
touch_mem() {
	mkdir -p /mnt/fill
	mount -t tmpfs -o size=95% tmpfs /mnt/fill
	n=$(( $(memkb MemAvailable) / 1024 - 40 ))
	dd if=/dev/zero of=/mnt/fill/f bs=$MiB count=$n 2>/dev/null
	rm -f /mnt/fill/f
	umount /mnt/fill
	echo "virtio-test: touched $n MiB"
}
t0=$(memkb MemTotal)
touch_mem
step touched $t0
i=0
while [ $i -lt 300 ] && [ $(( (t0 - $(memkb MemTotal)) / 1024 )) -lt 256 ]; do sleep 0.1; i=$((i + 1)); done
t1=$(memkb MemTotal)
step inflated $t0 $t1
echo "MEMINFO $(memkb MemTotal) $(memkb MemFree)"
step meminfo
i=0
while [ $i -lt 300 ] && [ $(memkb MemTotal) -lt $t0 ]; do sleep 0.1; i=$((i + 1)); done
t2=$(memkb MemTotal)
[ $t2 -eq $t0 ] || fail "MemTotal $t2 kB after the deflate, $t0 kB before the inflate"
touch_mem
step retouched $t2

# ---- reset during heavy I/O: numbered 4 KiB blocks at 64 MiB on vdb,
# each written O_DIRECT and flushed; "WROTE n" once block n completed.
printf '%s' "$MARK" | dd of=/dev/vda bs=512 count=1 conv=sync oflag=direct 2>/dev/null || fail "marker write"
sync
( while :; do dd if=/dev/zero of=/dev/vdb bs=$MiB seek=40 count=16 oflag=direct 2>/dev/null; done ) &
( while :; do dd if=/dev/vda of=/dev/null bs=$MiB count=32 iflag=direct 2>/dev/null; done ) &
step reset-go
i=1
while [ $i -le 2000 ]; do
	printf 'BLOCK %09d\n' $i | dd of=/dev/vdb bs=4096 seek=$((16384 + i)) count=1 conv=sync,fsync oflag=direct 2>/dev/null ||
		fail "block $i write"
	echo "WROTE $i"
	i=$((i + 1))
done
fail "no reset after 2000 blocks"
