#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerates the small qcow2 seed corpus (every file < 64 KiB) in
# tests/fuzz/corpus/qcow2 with qemu-img/qemu-io (Debian qemu-utils).
set -eu
out=$(cd "$(dirname "$0")" && pwd)/corpus/qcow2
command -v qemu-img >/dev/null || { echo "qemu-img not found (qemu-utils)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
mk() { # name, options, size, qemu-io commands...
	name=$1 opts=$2 size=$3
	shift 3
	qemu-img create -q -f qcow2 -o "$opts" "$tmp/$name" "$size"
	for c in "$@"; do qemu-io -f qcow2 -c "$c" "$tmp/$name" >/dev/null; done
	cp "$tmp/$name" "$out/$name"
}
mk v3-4k cluster_size=4096 1M "write -P 0x11 0 5000" "write -z 16k 8k"
mk v2-4k compat=0.10,cluster_size=4096 1M "write -P 0x22 4096 9000"
mk v3-512 cluster_size=512 256k "write -P 0x33 1000 3000" "discard 0 512"
mk v3-refcount1 cluster_size=4096,refcount_bits=1 1M "write -P 0x44 0 4096"
mk v3-refcount64 cluster_size=4096,refcount_bits=64 1M "write -P 0x45 8k 4096"
mk v3-lazy cluster_size=4096,lazy_refcounts=on 1M "write -P 0x46 0 4096"
qemu-img create -q -f qcow2 -o cluster_size=4096 "$tmp/base.qcow2" 1M
mk v3-backing cluster_size=4096,backing_file=base.qcow2,backing_fmt=qcow2 1M "write -P 0x47 0 512"
head -c 20000 /dev/urandom > "$tmp/r.raw"
qemu-img convert -q -c -O qcow2 -o cluster_size=4096 "$tmp/r.raw" "$tmp/z"
head -c 16000 "$tmp/z" > "$out/compressed-4k" # first part: header + tables
qemu-img create -q -f qcow2 -o cluster_size=4096 "$tmp/s" 64k
qemu-io -f qcow2 -c "write -P 0x55 0 4k" "$tmp/s" >/dev/null
qemu-img snapshot -c snap1 "$tmp/s"
qemu-io -f qcow2 -c "write -P 0x56 0 4k" "$tmp/s" >/dev/null
cp "$tmp/s" "$out/snapshot-4k"
printf 'not an image at all' > "$out/raw-small"
ls -l "$out"
