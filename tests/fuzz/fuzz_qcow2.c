// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: open a mutated image (qcow2 or raw, probed) held in a
 * memfd, read it, write and discard a little, flush, and check it.  Backing
 * files are not opened, so a mutated header cannot reach host files.
 *
 * Built with -DFUZZ_STANDALONE it is a plain program that feeds every file of
 * the directories (or files) named on its command line once, so the seed
 * corpus runs in every normal test run; a file it cannot read fails the run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t mix(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < size && i < 512; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_opts o = {.no_backing = true, .l2_cache_bytes = 4096, .workers = 1};
	struct block_check_result res;
	struct block_dev *bd;
	char path[64], err[256];
	uint8_t buf[70000];
	uint64_t h = mix(data, size), vsize;
	int fd = memfd_create("fuzz-image", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (block_open(&bd, path, &o, err, sizeof(err)) == 0) {
		vsize = block_size(bd);
		for (int i = 0; i < 8 && vsize; i++) {
			uint64_t off = (h >> (i * 7)) % vsize;
			size_t n = (size_t)((h >> (i * 3)) % sizeof(buf)) + 1;
			if (n > vsize - off)
				n = (size_t)(vsize - off);
			block_pread(bd, off, buf, n);
			block_pread(bd, (uint64_t)i * 65536 % vsize, buf,
				    vsize - (uint64_t)i * 65536 % vsize < 4096
					    ? (size_t)(vsize - (uint64_t)i * 65536 % vsize)
					    : 4096);
		}
		for (int i = 0; i < 4 && vsize; i++) {
			uint64_t off = (h >> (i * 11)) % vsize;
			size_t n = (size_t)((h >> (i * 5)) % sizeof(buf)) + 1;
			if (n > vsize - off)
				n = (size_t)(vsize - off);
			memset(buf, 0x5a + i, n);
			block_pwrite(bd, off, buf, n);
			block_pread(bd, off, buf, n);
			if (i == 2)
				block_discard(bd, off, n);
		}
		block_flush(bd);
		block_check(bd, BLOCK_REPAIR_NONE, &res, NULL, NULL);
		block_close(bd);
	}
	close(fd);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		fuzz_run_path("fuzz_qcow2", argv[i]);
	printf("ran %lu inputs\n", fuzz_runs());
	if (!fuzz_runs()) {
		fprintf(stderr, "no corpus files found\n");
		return 1;
	}
	return 0;
}
#endif
