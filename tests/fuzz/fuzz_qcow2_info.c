// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the header-only qcow2 parser behind "minivmm-img info"
 * (qcow2_describe_buf) on mutated cluster-0 bytes.  It must refuse or
 * describe, and what it describes must be self-consistent: abort() (a
 * non-zero exit) when an invariant is violated.
 *
 * Built with -DFUZZ_STANDALONE it replays the files named on its command
 * line (the qcow2 seed corpus), its built-in seeds (headers with each feature
 * minivmm cannot do I/O with) and a fixed set of mutations of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_qcow2_info: invariant violated: %s\n", what);
		abort();
	}
}

static bool terminated(const char *s, size_t n)
{
	return memchr(s, 0, n) != NULL;
}

/* A name the parser returns must be bytes of the input. */
static bool from_input(const char *s, const uint8_t *data, size_t size)
{
	return !s[0] || memmem(data, size, s, strlen(s)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_info info;
	char err[256];
	int ret;

	memset(err, 0x55, sizeof(err));
	ret = qcow2_describe_buf(data, size, &info, err, sizeof(err));
	check(ret == 0 || ret == -EINVAL || ret == -ENOTSUP, "return value");
	if (ret) {
		check(terminated(err, sizeof(err)) && err[0], "an error has a message");
		return 0;
	}
	check(!strcmp(info.format, "qcow2") && info.header_only, "format");
	check(info.version == 2 || info.version == 3, "version");
	check(info.cluster_size >= 512 && info.cluster_size <= (2u << 20) &&
		      !(info.cluster_size & (info.cluster_size - 1)),
	      "cluster size");
	check(info.refcount_bits >= 1 && info.refcount_bits <= 64 &&
		      !(info.refcount_bits & (info.refcount_bits - 1)),
	      "refcount bits");
	check(info.virtual_size <= (1ull << 62), "virtual size");
	check(terminated(info.backing_file, sizeof(info.backing_file)) &&
		      terminated(info.backing_format, sizeof(info.backing_format)) &&
		      terminated(info.data_file, sizeof(info.data_file)) &&
		      terminated(info.compression_type, sizeof(info.compression_type)) &&
		      terminated(info.encryption, sizeof(info.encryption)),
	      "strings terminated");
	check(from_input(info.backing_file, data, size) &&
		      from_input(info.backing_format, data, size) &&
		      from_input(info.data_file, data, size),
	      "names come from the header");
	check(info.version == 2 ? !info.compression_type[0]
				: !strcmp(info.compression_type, "zlib") ||
					  !strcmp(info.compression_type, "zstd"),
	      "compression type");
	check(!info.encryption[0] || !strcmp(info.encryption, "aes") ||
		      !strcmp(info.encryption, "luks"),
	      "encryption");
	check(info.version == 3 || (!info.dirty && !info.extended_l2 && !info.data_file[0] &&
				    !info.lazy_refcounts && info.refcount_bits == 16),
	      "v2 has no v3 features");
	check(!info.nb_snapshots && !info.snapshots, "no snapshot list");
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <assert.h>

#include "tests/fuzz/standalone.h"

#define NR_SEEDS 5
#define SEED_LEN 1024

static_assert(SEED_LEN <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

/* An extension at *pos: type, length, data padded to 8. */
static void ext(uint8_t *b, size_t *pos, uint32_t type, const char *data)
{
	size_t n = strlen(data);

	be32(b + *pos, type);
	be32(b + *pos + 4, (uint32_t)n);
	memcpy(b + *pos + 8, data, n);
	*pos += 8 + ((n + 7) & ~(size_t)7);
}

/*
 * A v3 header of a 1 GiB image with 4 KiB clusters (the fields minivmm
 * parses; the tables need not exist), a backing file, and per seed:
 * 0 LUKS, 1 zstd, 2 an external data file (raw), 3 extended L2, 4 a v2 AES image.
 */
static void seed_build(unsigned which, struct fuzz_seed *s)
{
	uint8_t *b = s->b;
	size_t pos;

	memset(s, 0, sizeof(*s));
	s->len = SEED_LEN;
	be32(b, 0x514649fbu);
	be32(b + 4, which == 4 ? 2 : 3);
	be32(b + 20, 12);
	be64(b + 24, 1ull << 30);
	be32(b + 32, which == 0 ? 2 : which == 4 ? 1 : 0);
	be32(b + 36, 2);
	be64(b + 40, 0x3000);
	be64(b + 48, 0x1000);
	be32(b + 56, 1);
	if (which == 4) {
		pos = 72;
	} else {
		static const uint64_t incompat[] = {0, 1u << 3, 1u << 2, 1u << 4};
		be64(b + 72, incompat[which]);
		be64(b + 88, which == 2 ? 2 : 0);
		be32(b + 96, 4);
		be32(b + 100, 112);
		b[104] = which == 1;
		pos = 112;
		ext(b, &pos, 0xe2792acau, "qcow2");
		if (which == 2)
			ext(b, &pos, 0x44415441u, "data.raw");
		if (which == 0)
			ext(b, &pos, 0x0537be77u, "0123456789abcdef");
		pos += 8; /* the end extension, zeros */
	}
	be64(b + 8, pos);
	be32(b + 16, 9);
	memcpy(b + pos, "base.img", 9 - 1);
	b[pos + 8] = 'x';
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = {0, 1, 2, 3, 7, 8, 9, 21, 22, 72, 104, 112,
					       0x3ff, 0x400, 0xfff, 0x1000, 0x7fffffff, 0xffffffff};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		unsigned edits = 1 + fuzz_rng() % 4;

		seed_build(it % NR_SEEDS, &s);
		for (unsigned k = 0; k < edits && s.len; k++) {
			/* Mostly the header fields and the first extensions. */
			size_t span = fuzz_rng() % 2 && s.len > 160 ? 160 : s.len;
			size_t off = fuzz_rng() % span;

			switch (fuzz_rng() % 3) {
			case 0:
				if (off + 4 <= s.len)
					be32(s.b + off, interesting[fuzz_rng() %
								    (sizeof(interesting) / 4)]);
				break;
			case 1:
				s.b[off] = (uint8_t)fuzz_rng();
				break;
			default: /* truncate */
				s.len = off;
				break;
			}
		}
		fuzz_run_buf(s.b, s.len);
	}
}

int main(int argc, char **argv)
{
	static const struct fuzz_target t = {
		.name = "fuzz_qcow2_info",
		.seed_prefix = "qcow2-info-",
		.nr_seeds = NR_SEEDS,
		.seed_build = seed_build,
	};
	struct block_info info;
	struct fuzz_seed s;

	fuzz_standalone_begin(&t, argc, argv);
	/* The seeds themselves are described, with their feature. */
	for (unsigned i = 0; i < NR_SEEDS; i++) {
		seed_build(i, &s);
		if (qcow2_describe_buf(s.b, s.len, &info, NULL, 0) ||
		    strcmp(info.backing_file, "base.imgx")) {
			fprintf(stderr, "fuzz_qcow2_info: seed %u is not described\n", i);
			return 1;
		}
	}
	fuzz_rng_seed(0x9e3779b97f4a7c15ull);
	run_mutations(20000);
	printf("ran %lu inputs\n", fuzz_runs());
	return 0;
}
#endif
