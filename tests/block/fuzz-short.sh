#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A short, bounded libFuzzer run of the qcow2 target under ASan and UBSan,
# in its own clang build directory.  usage: fuzz-short.sh [SECONDS] [BUILDDIR]
# For a long campaign, see the README ("Fuzzing the block layer").
set -eu
secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-/tmp/build-fuzz-qcow2}
command -v clang >/dev/null || { echo "SKIP: clang not found"; exit 77; }
if [ ! -d "$build" ]; then
	CC=clang CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
	LDFLAGS="-fsanitize=address,undefined" \
		meson setup "$build" "$src" -Dfuzz=true -Dtests=true >/dev/null
fi
ninja -C "$build" tests/fuzz/fuzz_qcow2_libfuzzer >/dev/null
mkdir -p "$build/corpus-qcow2"
cd "$build"
exec ./tests/fuzz/fuzz_qcow2_libfuzzer -max_total_time="$secs" -max_len=65536 \
	-rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$build/qcow2-" corpus-qcow2 "$src/tests/fuzz/corpus/qcow2"
