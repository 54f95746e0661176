// SPDX-License-Identifier: GPL-2.0-or-later
/* The standalone fuzz runner's plumbing; see standalone.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/standalone.h"

static unsigned long runs;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

unsigned long fuzz_runs(void)
{
	return runs;
}

uint64_t fuzz_rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

void fuzz_rng_seed(uint64_t seed)
{
	/* 0 is xorshift's fixed point: it would give 0 forever. */
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* buf holds exactly len bytes and is the caller's to free. */
static void run_exact(const uint8_t *buf, size_t len)
{
	LLVMFuzzerTestOneInput(buf, len);
	runs++;
}

void fuzz_run_buf(const uint8_t *data, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		abort();
	memcpy(buf, data, len);
	run_exact(buf, len);
	free(buf);
}

static void run_file(const char *prog, const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!fp || fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
		fprintf(stderr, "%s: cannot read %s\n", prog, path);
		exit(1);
	}
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "%s: cannot read %s\n", prog, path);
		exit(1);
	}
	fclose(fp);
	run_exact(buf, (size_t)n);
	free(buf);
}

void fuzz_run_path(const char *prog, const char *path)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		run_file(prog, path);
		return;
	}
	dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "%s: cannot open %s\n", prog, path);
		exit(1);
	}
	while ((d = readdir(dir))) {
		char sub[4096];

		if (d->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
		run_file(prog, sub);
	}
	closedir(dir);
}

static int write_seeds(const struct fuzz_target *t, const char *dir)
{
	struct fuzz_seed s;

	for (unsigned i = 0; i < t->nr_seeds; i++) {
		char path[4096];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s%u.bin", dir, t->seed_prefix, i);
		t->seed_build(i, &s);
		fp = fopen(path, "wb");
		if (!fp || fwrite(s.b, 1, s.len, fp) != s.len || fclose(fp)) {
			fprintf(stderr, "%s: cannot write %s\n", t->name, path);
			return 1;
		}
	}
	return 0;
}

void fuzz_standalone_begin(const struct fuzz_target *t, int argc, char **argv)
{
	struct fuzz_seed s;

	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		exit(write_seeds(t, argv[2]));
	for (int i = 1; i < argc; i++)
		fuzz_run_path(t->name, argv[i]);
	for (unsigned i = 0; i < t->nr_seeds; i++) {
		t->seed_build(i, &s);
		fuzz_run_buf(s.b, s.len);
	}
}

void fuzz_mutate(struct fuzz_seed *s, const uint32_t *interesting, size_t n, size_t max_len)
{
	unsigned edits = 1 + fuzz_rng() % 6;

	if (max_len > FUZZ_SEED_MAX)
		max_len = FUZZ_SEED_MAX;
	for (unsigned k = 0; k < edits && s->len; k++) {
		size_t off = fuzz_rng() % s->len;

		switch (fuzz_rng() % 4) {
		case 0: /* a value that sits on a boundary */
			if (off + 4 <= s->len) {
				uint32_t v = interesting[fuzz_rng() % n];

				memcpy(s->b + off, &v, 4);
			}
			break;
		case 1: /* random bytes appended: new operations */
			while (s->len < max_len && fuzz_rng() % 16)
				s->b[s->len++] = (uint8_t)fuzz_rng();
			break;
		case 2: /* cut short */
			s->len = off;
			break;
		default:
			s->b[off] ^= (uint8_t)(1 + fuzz_rng() % 255);
			break;
		}
	}
}

void fuzz_run_mutations(const struct fuzz_target *t, const uint32_t *interesting, size_t n,
			unsigned count)
{
	static struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		t->seed_build(it % t->nr_seeds, &s);
		fuzz_mutate(&s, interesting, n, FUZZ_SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}
