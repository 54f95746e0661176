// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the virtio PCI transport (devices/virtio/virtio_pci.c) as a
 * hostile guest drives it.  Each input picks a transport (legacy,
 * transitional, modern) and is then a program against a fresh PCI bus
 * holding one virtio function with a fake device of two queues: PCI config
 * writes and reads of any size (the PCI config access capability
 * included), accesses of any size at any offset of the legacy I/O BAR, the
 * MSI-X BAR and the modern BAR, bytes written into the guest memory that
 * holds the rings, config-change interrupts, device completions held back
 * and given later, pauses, resumes and machine resets.
 *
 * The fake device pops chains with the real virtqueue module and pushes
 * them (at once or later).  Checked after every step, abort() on a
 * violation:
 * - the device is kicked only for an existing, ready queue, and never
 *   while paused, between quiesce and resume, or while a guest reset waits;
 * - every iovec of a popped chain lies inside guest RAM;
 * - after a guest or machine reset no queue is set up and the device was
 *   quiesced and reset first (it holds no chain);
 * - the negotiated features are a subset of what was offered, and
 *   FEATURES_OK is never set for features that were not offered;
 * - with MSI-X off, the INTx pin is low after an ISR read that returned 0.
 *
 * Built like the other targets: -fsanitize=fuzzer with -Dfuzz=true, and
 * -DFUZZ_STANDALONE as a runner replaying files, built-in seeds and fixed
 * mutations in every test run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_virtio_pci: %s:%d: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define RAM_SIZE   0x40000u /* 256 KiB; rings and buffers anywhere in it */
#define IO_BASE	   0xc000u
#define MSIX_BASE  0xfe000000u
#define MODERN_BAR 0xfe100000u
#define DEVFN	   PCI_DEVFN(3, 0)
#define NQ	   2
#define MAX_HELD   32
#define CFG_SIZE   16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct held {
	unsigned q;
	uint16_t head;
	uint32_t len;
};

static uint8_t *ram;
static struct guest_mem mem;
static struct virtio_pci *vp;
static bool paused, stopped, hold_mode, in_quiesce, just_reset;
static struct held held[MAX_HELD];
static unsigned nr_held;
static uint8_t config[CFG_SIZE];
static bool pirq[4];
static unsigned long steps, kicks, chains, irqs;

static void fake_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	CHECK(len >= 1 && len <= 8 && off + len <= CFG_SIZE);
	memcpy(buf, config + off, len);
}

static void fake_config_write(void *opaque, unsigned off, const void *buf, unsigned len)
{
	CHECK(len >= 1 && len <= 8 && off + len <= CFG_SIZE);
	memcpy(config + off, buf, len);
}

static bool iov_in_ram(const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;

		if (b < ram || b > ram + RAM_SIZE || iov[i].iov_len > (size_t)(ram + RAM_SIZE - b))
			return false;
	}
	return true;
}

static void fake_notify(void *opaque, unsigned q, struct virtq *vq)
{
	struct virtq_chain c;
	struct iovec iov[8];
	int r;

	CHECK(q < NQ && vq == virtio_pci_queue(vp, q) && virtq_ready(vq));
	CHECK(!paused && !stopped && !in_quiesce);
	kicks++;
	for (unsigned n = 0; n < 64 && (r = virtq_pop(vq, &c, iov, 8)) != 0; n++) {
		if (r == -EPROTO)
			break;
		if (r == 1) {
			CHECK(c.nr_out + c.nr_in <= 8 && iov_in_ram(iov, c.nr_out + c.nr_in));
			chains++;
			if (c.nr_in) {
				uint8_t st = 0;

				virtq_iov_write(iov + c.nr_out, c.nr_in, c.in_len - 1, &st, 1);
			}
		}
		if (hold_mode && nr_held < MAX_HELD) {
			held[nr_held++] = (struct held){q, c.head, c.in_len};
			continue;
		}
		virtq_push(vq, c.head, r == 1 ? c.in_len : 0);
	}
	virtio_pci_queue_done(vp, q);
}

/* Locked (from the program, through virtio_pci_lock). */
static void complete_held(unsigned n)
{
	while (n-- && nr_held) {
		struct held *h = &held[--nr_held];

		virtq_push(virtio_pci_queue(vp, h->q), h->head, h->len);
		virtio_pci_queue_done(vp, h->q);
	}
}

static void fake_quiesce(void *opaque)
{
	/* The in-flight requests finish (the transport's lock is not held). */
	in_quiesce = true;
	virtio_pci_lock(vp);
	complete_held(MAX_HELD);
	virtio_pci_unlock(vp);
	in_quiesce = false;
}

static void fake_reset(void *opaque)
{
	CHECK(nr_held == 0);
	just_reset = true;
	memset(config, 0x5a, sizeof(config));
}

static struct virtio_dev_ops fake_ops = {
    .name = "fuzzblk",
    .device_type = 2,
    .class_code = 0x010000,
    .features = (1ULL << 9) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		(1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << 33),
    .num_queues = NQ,
    .queue_max = {16, 8},
    .config_size = CFG_SIZE,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .queue_notify = fake_notify,
    .quiesce = fake_quiesce,
    .reset = fake_reset,
};

static void router(void *opaque, unsigned p, bool level)
{
	pirq[p & 3] = level;
}

static void sink(void *opaque, uint64_t addr, uint32_t data)
{
	irqs++;
}

static void check_reset_state(void)
{
	for (unsigned q = 0; q < NQ; q++)
		CHECK(!virtq_ready(virtio_pci_queue(vp, q)) && virtio_pci_queue(vp, q)->size == 0);
	CHECK(virtio_pci_status(vp) == 0 && virtio_pci_features(vp) == 0);
}

static void check_invariants(void)
{
	uint64_t offered = fake_ops.features | (1ULL << VIRTIO_F_VERSION_1);

	virtio_pci_lock(vp);
	CHECK((virtio_pci_features(vp) & ~offered) == 0);
	if (just_reset)
		check_reset_state();
	just_reset = false;
	virtio_pci_unlock(vp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	struct virtio_pci_config cfg = {.devfn = DEVFN, .id = "vfuzz"};
	struct dev_ctx ctx = {0};
	char err[128];
	unsigned budget = 4096;

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		CHECK(ram);
	}
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	CHECK(guest_mem_add(&mem, 0, RAM_SIZE, ram, false, "ram") == 0);
	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	pci = pci_bus_create(pio, mmio);
	CHECK(pio && mmio && pci);
	pci_bus_set_router(pci, router, NULL);
	pci_bus_set_msi_sink(pci, sink, NULL);
	ctx = (struct dev_ctx){.pio = pio, .mmio = mmio, .pci = pci, .mem = &mem};
	cfg.transport = (enum virtio_transport)(in_u8(&in) % 3);
	paused = stopped = hold_mode = in_quiesce = just_reset = false;
	nr_held = 0;
	memset(pirq, 0, sizeof(pirq));
	for (unsigned i = 0; i < CFG_SIZE; i++)
		config[i] = (uint8_t)i;
	vp = virtio_pci_create(&ctx, &cfg, &fake_ops, NULL, err, sizeof(err));
	CHECK(vp);
	pci_bus_seal(pci);

	while (in.pos < in.len && budget--) {
		uint8_t op = in_u8(&in);
		unsigned sz = 1u << ((op >> 4) & 3); /* 1, 2, 4, 8 */
		uint64_t v, addr;
		unsigned off;

		steps++;
		switch (op & 0xf) {
		case 0: /* config write */
			off = in_u8(&in);
			v = in_u32(&in);
			if (sz == 8)
				sz = 4;
			pci_config_write(pci, DEVFN, off & ~(sz - 1), (uint32_t)v, sz);
			break;
		case 1: /* config read */
			off = in_u8(&in);
			if (sz == 8)
				sz = 4;
			pci_config_read(pci, DEVFN, off & ~(sz - 1), sz);
			break;
		case 2: /* legacy BAR0 */
		case 3:
			off = in_u8(&in) & 0x7f;
			if ((op & 0xf) == 2) {
				bus_write(pio, IO_BASE + off, in_u32(&in), sz > 4 ? 4 : sz);
			} else {
				bus_read(pio, IO_BASE + off, sz > 4 ? 4 : sz, &v);
				if (off == VIRTIO_PCI_ISR && v == 0 &&
				    !pci_msix_enabled(virtio_pci_dev(vp)))
					CHECK(!pirq[2]);
			}
			break;
		case 4: /* modern BAR4 */
		case 5:
			addr = MODERN_BAR + (in_u16(&in) & 0x3fff);
			if ((op & 0xf) == 4)
				bus_write(mmio, addr, in_u64(&in), sz);
			else
				bus_read(mmio, addr, sz, &v);
			break;
		case 6: /* MSI-X BAR1 */
			addr = MSIX_BASE + (in_u16(&in) & 0xfff);
			if (op & 0x40)
				bus_read(mmio, addr, sz, &v);
			else
				bus_write(mmio, addr, in_u32(&in), sz > 4 ? 4 : sz);
			break;
		case 7: /* guest memory */
			off = in_u16(&in) % (RAM_SIZE / 4);
			v = in_u32(&in);
			memcpy(ram + (size_t)off * 4, &v, 4);
			break;
		case 8: /* the usual bring-up in one step */
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, IO_BASE, 4);
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 4, MSIX_BASE, 4);
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 16, MODERN_BAR, 4);
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 20, 0, 4);
			pci_config_write(pci, DEVFN, PCI_COMMAND, 7, 2);
			break;
		case 9: /* completions */
			hold_mode = op & 0x40;
			virtio_pci_lock(vp);
			complete_held(in_u8(&in) % 8);
			virtio_pci_unlock(vp);
			break;
		case 10:
			virtio_pci_lock(vp);
			if (op & 0x40)
				virtio_pci_config_changed(vp);
			else
				virtio_pci_queue_check(vp, in_u8(&in) % 4);
			virtio_pci_unlock(vp);
			break;
		case 11: /* pause / resume */
			if (op & 0x40) {
				virtio_pci_pause(vp);
				paused = true;
			} else {
				paused = stopped = false;
				virtio_pci_resume(vp);
			}
			break;
		case 12: /* machine reset */
			stopped = true;
			virtio_pci_quiesce(vp);
			CHECK(nr_held == 0);
			pci_bus_reset(pci);
			virtio_pci_reset(vp);
			virtio_pci_lock(vp);
			check_reset_state();
			virtio_pci_unlock(vp);
			paused = stopped = false;
			virtio_pci_resume(vp);
			break;
		case 13: /* a legacy PFN for the selected queue somewhere in RAM */
			bus_write(pio, IO_BASE + VIRTIO_PCI_QUEUE_PFN,
				  in_u8(&in) % (RAM_SIZE >> 12), 4);
			break;
		default: /* a kick of queue 0 or 1 on either interface */
			off = in_u8(&in) & 1;
			if (op & 0x40)
				bus_write(mmio, MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + 4 * off, off,
					  2);
			else
				bus_write(pio, IO_BASE + VIRTIO_PCI_QUEUE_NOTIFY, off, 2);
			break;
		}
		check_invariants();
	}
	/* Teardown as a machine would: quiesce first. */
	stopped = true;
	virtio_pci_quiesce(vp);
	CHECK(nr_held == 0);
	virtio_pci_destroy(vp);
	vp = NULL;
	pci_bus_destroy(pci);
	bus_destroy(pio);
	bus_destroy(mmio);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

#define NR_SEEDS 3

static void put(struct fuzz_seed *s, const void *p, size_t n)
{
	if (s->len + n <= FUZZ_SEED_MAX) {
		memcpy(s->b + s->len, p, n);
		s->len += n;
	}
}

static void op8(struct fuzz_seed *s, uint8_t op, uint8_t a)
{
	put(s, (uint8_t[]){op, a}, 2);
}

static void op1(struct fuzz_seed *s, uint8_t op)
{
	put(s, &op, 1);
}

static void msix_w(struct fuzz_seed *s, uint16_t off, uint32_t v)
{
	put(s, (uint8_t[]){0x20 | 6}, 1);
	put(s, &off, 2);
	put(s, &v, 4);
}

static void io_w(struct fuzz_seed *s, unsigned sz_log, uint8_t off, uint32_t v)
{
	put(s, (uint8_t[]){(uint8_t)(2 | sz_log << 4), off}, 2);
	put(s, &v, 4);
}

static void mm_w(struct fuzz_seed *s, unsigned sz_log, uint16_t off, uint64_t v)
{
	put(s, (uint8_t[]){(uint8_t)(4 | sz_log << 4)}, 1);
	put(s, &off, 2);
	put(s, &v, 8);
}

static void ram_w(struct fuzz_seed *s, uint32_t gpa, uint32_t v)
{
	uint16_t w = (uint16_t)(gpa / 4);

	put(s, (uint8_t[]){7}, 1);
	put(s, &w, 2);
	put(s, &v, 4);
}

/* A legacy queue 0 at PFN 0x10 (16 entries: avail at 0x10100, used at
 * 0x11000) holding one request: a 16-byte header and a status byte. */
static void legacy_request(struct fuzz_seed *s, bool indirect)
{
	if (indirect) {
		ram_w(s, 0x10000, 0x20000);
		ram_w(s, 0x10008, 32);
		ram_w(s, 0x1000c, VIRTQ_DESC_F_INDIRECT);
		ram_w(s, 0x20000, 0x30000);
		ram_w(s, 0x20008, 16);
		ram_w(s, 0x2000c, VIRTQ_DESC_F_NEXT | 1u << 16);
		ram_w(s, 0x20010, 0x30100);
		ram_w(s, 0x20018, 1);
		ram_w(s, 0x2001c, VIRTQ_DESC_F_WRITE);
	} else {
		ram_w(s, 0x10000, 0x30000);
		ram_w(s, 0x10008, 16);
		ram_w(s, 0x1000c, VIRTQ_DESC_F_NEXT | 1u << 16);
		ram_w(s, 0x10010, 0x30100);
		ram_w(s, 0x10018, 1);
		ram_w(s, 0x1001c, VIRTQ_DESC_F_WRITE);
	}
	ram_w(s, 0x10100, 1u << 16); /* flags 0, idx 1 */
}

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	s->len = 0;
	put(s, (uint8_t[]){(uint8_t)(which == 2 ? 2 : 0)}, 1); /* transport */
	op1(s, 8);
	switch (which) {
	case 0: /* viostor 52: 0 -> DRIVER_OK, PFN, indirect, ISR */
		io_w(s, 0, VIRTIO_PCI_STATUS, 0);
		io_w(s, 2, VIRTIO_PCI_GUEST_FEATURES, 1u << 9);
		op8(s, 13, 0x10);
		legacy_request(s, true);
		io_w(s, 0, VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK);
		io_w(s, 1, VIRTIO_PCI_QUEUE_NOTIFY, 0);
		op8(s, 3, VIRTIO_PCI_ISR);
		op1(s, 0x40 | 10);
		op8(s, 3, VIRTIO_PCI_ISR);
		op8(s, 3, VIRTIO_PCI_ISR);
		break;
	case 1: /* held completions across a pause and a guest reset */
		op8(s, 13, 0x10);
		legacy_request(s, false);
		io_w(s, 0, VIRTIO_PCI_STATUS, 7);
		op8(s, 0x40 | 9, 0);
		op8(s, 14, 0);
		op1(s, 0x40 | 11);
		op8(s, 14, 0);
		op1(s, 11);
		io_w(s, 0, VIRTIO_PCI_STATUS, 0);
		op1(s, 12);
		break;
	default: /* modern: features, queue 0, MSI-X, kick, avail jump */
		put(s, (uint8_t[]){0x10 | 0, 0x42}, 2);
		put(s, &(uint32_t){0x8000}, 4);
		msix_w(s, 0x10, 0xfee00000u);
		msix_w(s, 0x18, 0x41);
		msix_w(s, 0x1c, 0);
		mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 3);
		mm_w(s, 2, VIRTIO_PCI_COMMON_GFSELECT, 1);
		mm_w(s, 2, VIRTIO_PCI_COMMON_GF, 1);
		mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 0xb);
		mm_w(s, 1, VIRTIO_PCI_COMMON_Q_SIZE, 16);
		mm_w(s, 2, VIRTIO_PCI_COMMON_Q_DESCLO, 0x10000);
		mm_w(s, 2, VIRTIO_PCI_COMMON_Q_AVAILLO, 0x10100);
		mm_w(s, 2, VIRTIO_PCI_COMMON_Q_USEDLO, 0x11000);
		mm_w(s, 1, VIRTIO_PCI_COMMON_Q_MSIX, 1);
		mm_w(s, 1, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
		mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 0xf);
		legacy_request(s, false);
		op8(s, 0x40 | 14, 0);
		ram_w(s, 0x10100, 40u << 16);
		op8(s, 0x40 | 14, 0);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = {0,    1,	     4,	     7,	      0xb,	  0xf,
					       0x10, 0x8000, 0xffff, 0x10000, 0xffffffffu};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]), FUZZ_SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
    .name = "fuzz_virtio_pci",
    .seed_prefix = "virtio-pci-seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(20000);
	printf("fuzz_virtio_pci: %lu inputs, %lu steps checked, %lu kicks, %lu chains, %lu MSIs, "
	       "no violation\n",
	       fuzz_runs(), steps, kicks, chains, irqs);
	return 0;
}
#endif
