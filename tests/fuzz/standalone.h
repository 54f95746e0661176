/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runner that a fuzz target becomes when built with -DFUZZ_STANDALONE
 * instead of -fsanitize=fuzzer: it feeds files, built-in seeds and a fixed
 * set of mutations to LLVMFuzzerTestOneInput() so that every normal test
 * run replays them.  The target keeps its seeds, its mutations and its
 * summary; this is only the plumbing they share.
 */
#ifndef MINIVMM_FUZZ_STANDALONE_H
#define MINIVMM_FUZZ_STANDALONE_H

#include <stddef.h>
#include <stdint.h>

/* The largest built-in seed, the same as the libFuzzer runs' -max_len. */
#define FUZZ_SEED_MAX 4096

struct fuzz_seed {
	uint8_t b[FUZZ_SEED_MAX];
	size_t len;
};

struct fuzz_target {
	const char *name;	 /* starts every message, e.g. "fuzz_ide" */
	const char *seed_prefix; /* --write-seeds DIR writes DIR/<seed_prefix><i>.bin */
	unsigned nr_seeds;
	void (*seed_build)(unsigned which, struct fuzz_seed *s);
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The common command line:
 *   PROG [FILE|DIR]...      run each file, then each built-in seed once
 *   PROG --write-seeds DIR  write the built-in seeds as files
 * --write-seeds ends the program (status 0, or 1 if a file cannot be
 * written), as does an unreadable input (status 1); otherwise this returns
 * and the target goes on with its mutations.
 */
void fuzz_standalone_begin(const struct fuzz_target *t, int argc, char **argv);

/* Runs a copy of exactly len bytes, so that ASan sees any read past its end. */
void fuzz_run_buf(const uint8_t *data, size_t len);
/* Runs a file, or every file in a directory (not those starting with '.'). */
void fuzz_run_path(const char *prog, const char *path);
/* Inputs run so far. */
unsigned long fuzz_runs(void);

/* One to six edits of s, the same sequence on every run: a 32-bit value
 * from interesting[0..n) at a random place, random bytes appended (up to
 * max_len), a cut, a flipped byte. */
void fuzz_mutate(struct fuzz_seed *s, const uint32_t *interesting, size_t n, size_t max_len);

/* count inputs: built-in seed (i % t->nr_seeds) with fuzz_mutate()'s edits,
 * each run. */
void fuzz_run_mutations(const struct fuzz_target *t, const uint32_t *interesting, size_t n,
			unsigned count);

/* xorshift64: the same sequence on every run, so the mutations are fixed. */
uint64_t fuzz_rng(void);
void fuzz_rng_seed(uint64_t seed);

#endif
