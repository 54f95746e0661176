// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the input is a program of fw_cfg port accesses (selector
 * writes, data reads, DMA address writes that run descriptors, signature
 * reads, reset) plus writes into a small fake guest RAM, whose initial content
 * also comes from the input.  RAM: 8 KiB at 0, a read-only 4 KiB page right
 * after it, 4 KiB at 0x10000; everything else is a hole.  It must never
 * crash, and what the guest sees must follow the fw_cfg rules checked below.
 *
 * Built two ways, like fuzz_bzimage: with -fsanitize=fuzzer as a libFuzzer
 * target (-Dfuzz=true), and with -DFUZZ_STANDALONE as a runner for the
 * normal test suite:
 *   fuzz_fw_cfg [FILE|DIR]...      run each file, then built-in seeds and a
 *                                  fixed number of mutations of them
 *   fuzz_fw_cfg --write-seeds DIR  write the built-in seeds as files
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "tests/fuzz/fuzz_input.h"

#define RAM0_SIZE 0x2000
#define ROM_BASE  0x2000
#define ROM_SIZE  0x1000
#define RAM2_BASE 0x10000
#define RAM2_SIZE 0x1000
#define WP_SIZE	  8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram0[RAM0_SIZE], rom[ROM_SIZE], ram2[RAM2_SIZE];
static struct guest_mem mem;
static uint8_t wp_init[WP_SIZE];
static unsigned long dma_runs, dma_errors, cb_calls;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_fw_cfg: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Addresses mostly land in or at the edges of RAM; some are arbitrary. */
static uint64_t in_addr(struct input *in)
{
	uint8_t kind = in_u8(in);
	uint16_t off = in_u16(in);

	switch (kind % 6) {
	case 0:
		return off % RAM0_SIZE;
	case 1:
		return ROM_BASE + off % ROM_SIZE;
	case 2:
		return RAM2_BASE + off % RAM2_SIZE;
	case 3:
		return RAM0_SIZE + ROM_SIZE - off % 32; /* straddles the end */
	case 4:
		return in_u64(in);
	default:
		return ~0ULL - off % 256; /* wraps */
	}
}

/* Keys that name something most of the time. */
static uint16_t in_key(struct input *in)
{
	uint16_t k = in_u16(in);

	if (k & 0x8000)
		return k;
	return (uint16_t)(k % (FW_CFG_FILE_FIRST + 8));
}

static void on_write(void *opaque, const uint8_t *d, uint32_t size, uint32_t offset, uint32_t len)
{
	CHECK(size == WP_SIZE);
	CHECK(len > 0 && offset <= size && len <= size - offset);
	CHECK(d != NULL);
	cb_calls++;
}

static struct fw_cfg *fuzz_device(void)
{
	static uint8_t loader[256], big[5000];
	struct fw_cfg *fw;

	if (mem.nr == 0) {
		if (guest_mem_add(&mem, 0, RAM0_SIZE, ram0, false, "ram0") ||
		    guest_mem_add(&mem, ROM_BASE, ROM_SIZE, rom, true, "rom") ||
		    guest_mem_add(&mem, RAM2_BASE, RAM2_SIZE, ram2, false, "ram2"))
			abort();
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i * 31 + 7);
		memset(loader, 0x11, sizeof(loader));
	}
	fw = fw_cfg_create(&mem);
	CHECK(fw != NULL);
	CHECK(fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, 2) == 0);
	CHECK(fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, 4) == 0);
	CHECK(fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, 1) == 0);
	CHECK(fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1) == 0);
	CHECK(fw_cfg_add_file(fw, "bootorder", "/pci@i0cf8/*@5\n", 16, false) == 0);
	CHECK(fw_cfg_add_file(fw, "etc/table-loader", loader, sizeof(loader), false) == 0);
	CHECK(fw_cfg_add_file(fw, "etc/big", big, sizeof(big), false) == 0);
	CHECK(fw_cfg_add_file(fw, "etc/empty", NULL, 0, true) == 0);
	CHECK(fw_cfg_add_file_cb(fw, "etc/wp", wp_init, sizeof(wp_init), true, on_write, NULL) ==
	      0);
	return fw;
}

/* After any transfer whose control word is in writable RAM, it holds 0 or ERROR (BE). */
static void check_control(uint64_t desc_addr)
{
	const uint8_t *c = guest_mem_ptr(&mem, desc_addr, 4, true);

	dma_runs++;
	if (!c)
		return;
	CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0 && c[3] <= FW_CFG_DMA_CTL_ERROR);
	dma_errors += c[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void op_descriptor(struct input *in)
{
	uint64_t at = in_addr(in);
	uint16_t key = in_key(in);
	uint8_t flags = in_u8(in);
	uint32_t length = in_u8(in) & 1 ? in_u32(in) : in_u16(in) % 512;
	uint64_t addr = in_addr(in);
	uint8_t d[16];

	put_be32(d, (uint32_t)key << 16 | (flags & 0x1f));
	put_be32(d + 4, length);
	put_be32(d + 8, (uint32_t)(addr >> 32));
	put_be32(d + 12, (uint32_t)addr);
	/* May fall partly outside RAM: then nothing is written, like a bad guest. */
	guest_mem_write(&mem, at, d, sizeof(d));
}

static void op_trigger(struct fw_cfg *fw, struct input *in)
{
	uint8_t kind = in_u8(in);
	uint64_t addr = in_addr(in);

	switch (kind % 3) {
	case 0:
		fw_cfg_dma_ops.write(fw, 4, __builtin_bswap32((uint32_t)addr), 4);
		/* The high half may be left over from an earlier op 1. */
		break;
	case 1:
		fw_cfg_dma_ops.write(fw, 0, __builtin_bswap32((uint32_t)(addr >> 32)), 4);
		fw_cfg_dma_ops.write(fw, 4, __builtin_bswap32((uint32_t)addr), 4);
		check_control(addr);
		break;
	default:
		fw_cfg_dma_ops.write(fw, 0, __builtin_bswap64(addr), 8);
		check_control(addr);
		break;
	}
}

static void op_poke(struct input *in)
{
	uint16_t off = in_u16(in) % RAM0_SIZE;
	unsigned n = in_u8(in);

	for (unsigned i = 0; i < n && off + i < RAM0_SIZE; i++)
		ram0[off + i] = in_u8(in);
}

static void op_signature_reads(struct fw_cfg *fw, struct input *in)
{
	static const unsigned sizes[] = {1, 2, 4, 8};
	uint8_t b = in_u8(in);
	unsigned size = sizes[b & 3], off = (b >> 2) % (FW_CFG_DMA_SIZE - size + 1);
	uint64_t v = fw_cfg_dma_ops.read(fw, off, size);

	for (unsigned i = 0; i < size; i++)
		CHECK((uint8_t)(v >> (8 * i)) == (uint8_t) "QEMU CFG"[off + i]);
}

static void op_check_signature(struct fw_cfg *fw)
{
	fw_cfg_port_ops.write(fw, 0, FW_CFG_SIGNATURE, 2);
	for (unsigned i = 0; i < 6; i++)
		CHECK(fw_cfg_port_ops.read(fw, 1, 1) == (uint8_t) "QEMU\0\0"[i]);
}

static void op_raw_write(struct fw_cfg *fw, struct input *in)
{
	static const unsigned sizes[] = {1, 2, 4, 8};
	uint8_t b = in_u8(in);
	unsigned size = sizes[b & 3];
	uint64_t value = in_u64(in);

	if (b & 4) {
		if (size <= FW_CFG_PORT_SIZE)
			fw_cfg_port_ops.write(fw, (b >> 3) % (FW_CFG_PORT_SIZE - size + 1), value,
					      size);
	} else {
		unsigned off = (b >> 3) % (FW_CFG_DMA_SIZE - size + 1);

		fw_cfg_dma_ops.write(fw, off, value, size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {.p = data, .len = size};
	struct fw_cfg *fw;

	fw = fuzz_device();
	for (size_t i = 0; i < RAM0_SIZE; i++)
		ram0[i] = size ? data[i % size] : 0;
	memset(rom, 0x5a, sizeof(rom));
	memset(ram2, 0, sizeof(ram2));

	while (in.pos < in.len) {
		uint8_t op = in_u8(&in);

		switch (op % 10) {
		case 0:
			fw_cfg_port_ops.write(fw, 0, in_key(&in), 2);
			break;
		case 1: {
			unsigned n = in_u8(&in);

			for (unsigned i = 0; i < n; i++)
				CHECK(fw_cfg_port_ops.read(fw, i & 1, 1) <= 0xff);
			CHECK(fw_cfg_port_ops.read(fw, 0, 2) == 0);
			break;
		}
		case 2:
		case 3:
			op_descriptor(&in);
			break;
		case 4:
		case 5:
			op_trigger(fw, &in);
			break;
		case 6:
			op_poke(&in);
			break;
		case 7:
			op_signature_reads(fw, &in);
			break;
		case 8:
			if (op & 0x80) {
				fw_cfg_reset(fw);
				CHECK(fw_cfg_port_ops.read(fw, 1, 1) == 'Q');
			} else {
				op_check_signature(fw);
			}
			break;
		default:
			op_raw_write(fw, &in);
			break;
		}
	}
	/* The read-only page is never written by DMA. */
	for (size_t i = 0; i < sizeof(rom); i++)
		CHECK(rom[i] == 0x5a);
	fw_cfg_destroy(fw);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <assert.h>

#include "tests/fuzz/standalone.h"

#define NR_SEEDS 4
#define SEED_MAX 256

static_assert(SEED_MAX <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

static void seed_put(struct fuzz_seed *s, const void *p, size_t n)
{
	if (s->len + n > SEED_MAX)
		abort();
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

static void seed_u8(struct fuzz_seed *s, uint8_t v)
{
	seed_put(s, &v, 1);
}

static void seed_u16(struct fuzz_seed *s, uint16_t v)
{
	seed_u8(s, (uint8_t)v);
	seed_u8(s, (uint8_t)(v >> 8));
}

static void seed_u32(struct fuzz_seed *s, uint32_t v)
{
	seed_u16(s, (uint16_t)v);
	seed_u16(s, (uint16_t)(v >> 16));
}

/* Descriptor at RAM0 offset at (op 2), then a 4+4 trigger at it (op 5, kind 1). */
static void seed_dma(struct fuzz_seed *s, uint16_t at, uint16_t key, uint8_t flags, uint16_t length,
		     uint16_t buf)
{
	seed_u8(s, 2);
	seed_u8(s, 0);
	seed_u16(s, at);
	seed_u16(s, key);
	seed_u8(s, flags);
	seed_u8(s, 0); /* short length */
	seed_u16(s, length);
	seed_u8(s, 0);
	seed_u16(s, buf);
	seed_u8(s, 5);
	seed_u8(s, 1);
	seed_u8(s, 0);
	seed_u16(s, at);
}

/* 0: port reads of signature, ID and the directory (SeaBIOS without DMA);
 * 1: DMA read of the directory and a file; 2: SeaBIOS's WRITE_POINTER into
 * etc/wp (select+skip, write); 3: DMA with bad addresses and huge lengths. */
static void seed_build(unsigned which, struct fuzz_seed *s)
{
	memset(s, 0, sizeof(*s));
	switch (which) {
	case 0:
		seed_u8(s, 8);
		seed_u8(s, 0);
		seed_u16(s, FW_CFG_ID);
		seed_u8(s, 1);
		seed_u8(s, 4);
		seed_u8(s, 0);
		seed_u16(s, FW_CFG_FILE_DIR);
		seed_u8(s, 1);
		seed_u8(s, 200);
		break;
	case 1:
		seed_dma(s, 0x100, FW_CFG_FILE_DIR, FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			 4 + 64 * 5, 0x200);
		seed_dma(s, 0x100, FW_CFG_FILE_FIRST, FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			 16, 0x600);
		seed_u8(s, 7);
		seed_u8(s, 2);
		break;
	case 2:
		seed_u8(s, 6);
		seed_u16(s, 0x300);
		seed_u8(s, 8);
		seed_u32(s, 0x12345678);
		seed_u32(s, 0x9abcdef0);
		seed_dma(s, 0x100, FW_CFG_FILE_FIRST + 4,
			 FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 4, 0);
		seed_dma(s, 0x100, 0, FW_CFG_DMA_CTL_WRITE, 4, 0x300);
		seed_dma(s, 0x100, 0, FW_CFG_DMA_CTL_WRITE, 8, 0x300);
		break;
	default:
		seed_dma(s, RAM0_SIZE - 8, FW_CFG_FILE_FIRST + 1,
			 FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 64, 0x100);
		seed_u8(s, 3);
		seed_u8(s, 0);
		seed_u16(s, 0x100);
		seed_u16(s, FW_CFG_FILE_FIRST + 1);
		seed_u8(s, FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ);
		seed_u8(s, 1);
		seed_u32(s, 0xffffffff);
		seed_u8(s, 0);
		seed_u16(s, 0x1000);
		seed_u8(s, 4);
		seed_u8(s, 2);
		seed_u8(s, 0);
		seed_u16(s, 0x100);
		seed_u8(s, 9);
		seed_u8(s, 0x06);
		seed_u32(s, 0xffffffff);
		seed_u32(s, 0);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = {0,      1,	0x7f,	    0xff,
					       0x100,  0x1000,	0x1ff8,	    0x2000,
					       0xffff, 0x10000, 0x7fffffff, 0xffffffff};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]), SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
	.name = "fuzz_fw_cfg",
	.seed_prefix = "seed-",
	.nr_seeds = NR_SEEDS,
	.seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(30000);
	printf("fuzz_fw_cfg: %lu inputs, %lu DMA transfers checked (%lu with ERROR), "
	       "%lu write callbacks, no crash\n",
	       fuzz_runs(), dma_runs, dma_errors, cb_calls);
	return 0;
}
#endif
