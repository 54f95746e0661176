// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the input is a bzImage file, loaded by linux_boot_load() into
 * a 64 MiB fake guest.  It must never crash, and whatever it accepts must
 * make sense (entry state, where things went).
 *
 * Built two ways: with -fsanitize=fuzzer as a libFuzzer target (-Dfuzz=true),
 * and with -DFUZZ_STANDALONE as a corpus runner for the normal test suite:
 *   fuzz_bzimage [FILE|DIR]...      run each file, then built-in seeds and
 *                                   a fixed number of mutations of them
 *   fuzz_bzimage --write-seeds DIR  write the built-in seeds as files
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/linux_boot.h"

#define RAM_SIZE (64ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static struct guest_mem mem;
static struct e820_entry e820[5];
static uint8_t initrd[5000];
static unsigned long accepted; /* loads that succeeded, for the runner's report */

static void fuzz_init(void)
{
	if (ram)
		return;
	/* Never read by the loader, so it is not cleared between inputs. */
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		abort();
	if (guest_mem_add(&mem, 0, 0xa0000, ram, false, "ram-low") ||
	    guest_mem_add(&mem, 0xc0000, RAM_SIZE - 0xc0000, ram + 0xc0000, false, "ram"))
		abort();
	e820[0] = (struct e820_entry){ 0, 0x9fc00, E820_RAM };
	e820[1] = (struct e820_entry){ 0x9fc00, 0x400, E820_RESERVED };
	e820[2] = (struct e820_entry){ 0xf0000, 0x10000, E820_RESERVED };
	e820[3] = (struct e820_entry){ 0x100000, RAM_SIZE - 0x100000, E820_RAM };
	e820[4] = (struct e820_entry){ 0x100000000ULL, 1ULL << 30, E820_RAM }; /* unbacked */
	memset(initrd, 0xa5, sizeof(initrd));
}

#define CHECK(cond)                                                                             \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "fuzz_bzimage: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

static void load_once(const uint8_t *data, size_t size, bool with_extras, bool force32)
{
	struct linux_boot_config cfg = {
		.kernel = data,
		.kernel_size = size,
		.initrd = with_extras ? initrd : NULL,
		.initrd_size = with_extras ? sizeof(initrd) : 0,
		.cmdline = with_extras ? "console=ttyS0 root=/dev/vda" : NULL,
		.e820 = e820,
		.nr_e820 = 5,
		.force_32bit_entry = force32,
	};
	struct linux_boot_entry e;
	char err[160];
	int ret;

	memset(err, 'x', sizeof(err));
	ret = linux_boot_load(&mem, &cfg, &e, err, sizeof(err));
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ENOSPC || ret == -E2BIG || ret == -EFAULT);
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(err[0] == '\0');
	accepted++;
	CHECK(e.rsi == LINUX_BOOT_ZERO_PAGE);
	CHECK(e.kernel_addr == LINUX_BOOT_KERNEL);
	CHECK(e.kernel_size > 0 && e.kernel_size <= size);
	CHECK(e.kernel_addr + e.kernel_size <= RAM_SIZE);
	CHECK(e.runtime_start >= LINUX_BOOT_KERNEL);
	CHECK(e.runtime_start + e.init_size <= RAM_SIZE);
	CHECK(e.rip == (e.long_mode ? LINUX_BOOT_KERNEL + 0x200 : LINUX_BOOT_KERNEL));
	CHECK(!force32 || !e.long_mode);
	CHECK(memcmp(ram + LINUX_BOOT_ZERO_PAGE + 0x202, "HdrS", 4) == 0);
	CHECK(ram[LINUX_BOOT_ZERO_PAGE + 0x1e8] == 5);
	if (with_extras) {
		CHECK(e.initrd_size == sizeof(initrd));
		CHECK(e.initrd_addr % 4096 == 0);
		CHECK(e.initrd_addr >= e.runtime_start + e.init_size);
		CHECK(e.initrd_addr >= e.kernel_addr + e.kernel_size);
		CHECK(e.initrd_addr + e.initrd_size <= RAM_SIZE);
		CHECK(memcmp(ram + e.initrd_addr, initrd, sizeof(initrd)) == 0);
		CHECK(strcmp((char *)ram + LINUX_BOOT_CMDLINE, "console=ttyS0 root=/dev/vda") == 0);
	} else {
		CHECK(e.initrd_addr == 0 && e.initrd_size == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	load_once(data, size, true, false);
	load_once(data, size, false, true);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <assert.h>

#include "tests/fuzz/standalone.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

#define SEED_PAYLOAD 256
#define SEED_SIZE    (2 * 512 + SEED_PAYLOAD)
#define NR_SEEDS     3
static_assert(SEED_SIZE <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

/* Tiny bzImages (setup_sects 1): 0 a 2.15 64-bit relocatable kernel, 1 a
 * 2.06 32-bit one, 2 a 2.10 non-relocatable one with a big init_size. */
static void seed_build(unsigned which, struct fuzz_seed *s)
{
	uint8_t *f = s->b;

	memset(f, 0, SEED_SIZE);
	s->len = SEED_SIZE;
	f[0x1f1] = 1;
	put32(f + 0x1f4, SEED_PAYLOAD / 16);
	put16(f + 0x1fe, 0xaa55);
	f[0x200] = 0xeb;
	f[0x201] = 0x6a;
	memcpy(f + 0x202, "HdrS", 4);
	put16(f + 0x206, 0x020f);
	f[0x211] = 0x01;
	put32(f + 0x214, 0x100000);
	put32(f + 0x22c, 0x7fffffff);
	put32(f + 0x230, 0x200000);
	f[0x234] = 1;
	put16(f + 0x236, 0x3);
	put32(f + 0x238, 2047);
	put64(f + 0x258, 0x1000000);
	put32(f + 0x260, 0x100000);
	for (unsigned i = 0; i < SEED_PAYLOAD; i++)
		f[1024 + i] = (uint8_t)(i * 13);
	if (which == 1) {
		put16(f + 0x206, 0x0206);
		f[0x201] = 0x3a;
		memset(f + 0x23c, 0, 0x30);
	} else if (which == 2) {
		put16(f + 0x206, 0x020a);
		f[0x234] = 0;
		put16(f + 0x236, 0);
		put64(f + 0x258, 0x400000);
		put32(f + 0x260, 0x2000000);
	}
}

/* A fixed sequence of mutations, most of them in the setup header. */
static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000,
						0x7fffffff, 0x80000000, 0xffffffff, 0x100000,
						0x200000, 0x1000000, 0x3ffffff };
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		size_t size = SEED_SIZE;
		unsigned edits = 1 + fuzz_rng() % 4;

		seed_build(it % NR_SEEDS, &s);
		for (unsigned k = 0; k < edits; k++) {
			size_t off =
			    fuzz_rng() % 2 ? 0x1f0 + fuzz_rng() % 0xa0 : fuzz_rng() % SEED_SIZE;

			if (fuzz_rng() % 2 && off + 4 <= SEED_SIZE)
				put32(s.b + off,
				      interesting[fuzz_rng() % (sizeof(interesting) / 4)]);
			else
				s.b[off] ^= (uint8_t)(1 + fuzz_rng() % 255);
		}
		if (fuzz_rng() % 10 == 0)
			size = fuzz_rng() % SEED_SIZE;
		fuzz_run_buf(s.b, size);
	}
}

static const struct fuzz_target target = {
	.name = "fuzz_bzimage",
	.seed_prefix = "seed-",
	.nr_seeds = NR_SEEDS,
	.seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(30000);
	printf("fuzz_bzimage: %lu inputs (%lu of %lu loads accepted), no crash\n", fuzz_runs(),
	       accepted, 2 * fuzz_runs());
	free(ram);
	return 0;
}
#endif
