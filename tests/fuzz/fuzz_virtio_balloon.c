// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: virtio-balloon (devices/virtio/virtio_balloon.c) on the real
 * transport, virtqueue module and PCI core, as a hostile guest and a busy
 * control client drive it.  Each input picks the options (transport,
 * reporting, deflate-on-oom, host page size) and is then a program: PCI
 * config accesses, legacy BAR0 and modern BAR4 accesses of any size at any
 * offset, bytes written into a guest RAM that has a hole and a read-only
 * BIOS (where rings, PFN arrays, stats and reports live), kicks of every
 * queue on both interfaces, targets and poll intervals of any value, time
 * passing on a fake clock (the stats timer), pauses, resumes and machine
 * resets.
 *
 * Checked after every step, abort() on a violation:
 * - every range handed to the discard hook is host-page aligned, not empty
 *   and wholly inside one writable RAM region (never the hole, never past
 *   the RAM, never the BIOS);
 * - num_pages never exceeds the RAM in pages, and the actual size reported
 *   never exceeds the RAM;
 * - the poll interval is always 0..UINT32_MAX and QEMU's bad values are
 *   refused with its two errors;
 * - every PFN taken is counted once: inflated, deflated or bad.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_balloon.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/unit/fake_timer.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"
#include "vmm/loop.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_virtio_balloon: %s:%d: %s\n", __FILE__, __LINE__,    \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define RAM_SIZE   0x100000u /* 1 MiB: 0..0x9ffff, the hole, 0xc0000..1 MiB */
#define HOLE_START 0xa0000u
#define HOLE_END   0xc0000u
#define BIOS_GPA   0xffff0000u
#define BIOS_SIZE  0x10000u
#define IO_BASE	   0xc000u
#define MSIX_BASE  0xfe000000u
#define MODERN_BAR 0xfe100000u
#define DEVFN	   PCI_DEVFN(3, 0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Without fast paths the transport watches no fd. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return 0;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

static uint8_t *ram, *bios;
static struct guest_mem mem;
static struct virtio_balloon_args args;
static unsigned long steps, discards, discarded_pages, polls;

static int check_discard(void *opaque, void *hva, size_t len)
{
	uintptr_t a = (uintptr_t)hva, lo = (uintptr_t)ram;
	size_t ps = args.host_page_size;

	CHECK(len > 0 && a % ps == 0 && len % ps == 0);
	/* inside [0, HOLE_START) or [HOLE_END, RAM_SIZE) of ram, never bios */
	CHECK(a >= lo && a + len <= lo + RAM_SIZE);
	CHECK(a + len <= lo + HOLE_START || a >= lo + HOLE_END);
	discards++;
	discarded_pages += len / 4096;
	return 0;
}

static void check_invariants(struct virtio_balloon *vb)
{
	struct virtio_balloon_counters c;
	int64_t iv = virtio_balloon_poll_interval(vb);

	CHECK(virtio_balloon_num_pages(vb) <= RAM_SIZE / 4096);
	CHECK(virtio_balloon_actual_bytes(vb) <= RAM_SIZE);
	CHECK(iv >= 0 && iv <= (int64_t)UINT32_MAX);
	virtio_balloon_get_counters(vb, &c);
	CHECK(c.discarded_bytes == discarded_pages * 4096);
	CHECK(c.discard_errors == 0);
	steps++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	uint8_t opt = in_u8(&in);
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	struct dev_ctx ctx;
	struct board_entry e;
	struct virtio_balloon *vb;
	char err[128];
	unsigned n = 0;

	if (!ram) {
		ram = aligned_alloc(1 << 16, RAM_SIZE);
		bios = aligned_alloc(4096, BIOS_SIZE);
		if (!ram || !bios)
			abort();
	}
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	CHECK(guest_mem_add(&mem, 0, HOLE_START, ram, false, "ram-low") == 0);
	CHECK(guest_mem_add(&mem, HOLE_END, RAM_SIZE - HOLE_END, ram + HOLE_END, false, "ram") ==
	      0);
	CHECK(guest_mem_add(&mem, BIOS_GPA, BIOS_SIZE, bios, true, "bios") == 0);
	args = (struct virtio_balloon_args){
	    .transport = (enum virtio_transport)(opt % 3),
	    .free_page_reporting = !(opt & 4),
	    .deflate_on_oom = opt & 8,
	    .ram_size = RAM_SIZE,
	    .host_page_size = (opt & 0x10) ? 16384 : 4096,
	    .discard = check_discard,
	};
	discarded_pages = 0;
	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	pci = pci_bus_create(pio, mmio);
	if (!pio || !mmio || !pci)
		abort();
	ctx = (struct dev_ctx){.pio = pio, .mmio = mmio, .pci = pci, .mem = &mem};
	e = (struct board_entry){.type = &virtio_balloon_type, .id = "balloon0", .irq = -1,
				 .devfn = -1, .arg = &args};
	vb = virtio_balloon_type.create(&ctx, &e, err, sizeof(err));
	CHECK(vb != NULL);
	pci_bus_seal(pci);

	while (in.pos < in.len && n++ < 2000) {
		uint8_t op = in_u8(&in);
		unsigned sz = 1u << ((op >> 4) & 3), off;
		uint64_t v = 0, addr;
		int64_t iv;
		int ret;

		switch (op & 0xf) {
		case 0: /* PCI config write / read */
			off = in_u8(&in);
			if (sz == 8)
				sz = 4;
			if (op & 0x40)
				pci_config_read(pci, DEVFN, off & ~(sz - 1), sz);
			else
				pci_config_write(pci, DEVFN, off & ~(sz - 1), in_u32(&in), sz);
			break;
		case 1: /* legacy BAR0 */
			off = in_u8(&in) & 0x3f;
			if (op & 0x40)
				bus_read(pio, IO_BASE + off, sz > 4 ? 4 : sz, &v);
			else
				bus_write(pio, IO_BASE + off, in_u32(&in), sz > 4 ? 4 : sz);
			break;
		case 2: /* modern BAR4 */
			addr = MODERN_BAR + (in_u16(&in) & 0x3fff);
			if (op & 0x40)
				bus_read(mmio, addr, sz, &v);
			else
				bus_write(mmio, addr, in_u64(&in), sz);
			break;
		case 3: /* guest memory, 4 bytes anywhere in the RAM */
			off = (unsigned)(in_u32(&in) % (RAM_SIZE / 4));
			v = in_u32(&in);
			memcpy(ram + (size_t)off * 4, &v, 4);
			break;
		case 4: /* bring-up: BARs, I/O + memory + bus master */
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, IO_BASE, 4);
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 4, MSIX_BASE, 4);
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 16, MODERN_BAR, 4);
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 20, 0, 4);
			pci_config_write(pci, DEVFN, PCI_COMMAND, 7, 2);
			break;
		case 5: /* legacy: select queue, PFN */
			bus_write(pio, IO_BASE + VIRTIO_PCI_QUEUE_SEL, in_u8(&in) & 7, 2);
			bus_write(pio, IO_BASE + VIRTIO_PCI_QUEUE_PFN, in_u8(&in) % (RAM_SIZE >> 12),
				  4);
			break;
		case 6: /* the control side: a target */
			virtio_balloon_set_target(vb, in_u64(&in));
			break;
		case 7: /* a poll interval, QEMU's checks */
			iv = (op & 0x40) ? in_u8(&in) % 4 : (int64_t)in_u64(&in);
			ret = virtio_balloon_set_poll_interval(vb, iv);
			CHECK(iv < 0 ? ret == -EINVAL
				     : iv > (int64_t)UINT32_MAX ? ret == -ERANGE : ret == 0);
			break;
		case 8: /* time passes: up to 4 s */
			fake_clock_advance((uint64_t)in_u8(&in) * 16000000ULL);
			break;
		case 9: /* pause / resume */
			if (op & 0x40)
				virtio_balloon_type.pause(vb);
			else
				virtio_balloon_type.resume(vb);
			break;
		case 10: /* machine reset */
			virtio_balloon_type.quiesce(vb);
			pci_bus_reset(pci);
			virtio_balloon_type.reset(vb);
			virtio_balloon_type.resume(vb);
			break;
		case 11: { /* reads of the control side */
			struct virtio_balloon_guest_stats st;

			virtio_balloon_guest_stats(vb, &st);
			break;
		}
		default: /* a kick of queue 0..4 on either interface */
			off = in_u8(&in) % 5;
			if (op & 0x40)
				bus_write(mmio, MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + 4 * off, off, 2);
			else
				bus_write(pio, IO_BASE + VIRTIO_PCI_QUEUE_NOTIFY, off, 2);
			break;
		}
		check_invariants(vb);
	}
	{
		struct virtio_balloon_counters c;

		virtio_balloon_get_counters(vb, &c);
		polls += c.stats_polls;
	}
	virtio_balloon_type.quiesce(vb);
	virtio_balloon_type.destroy(vb);
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

static void io_w(struct fuzz_seed *s, unsigned sz_log, uint8_t off, uint32_t v)
{
	put(s, (uint8_t[]){(uint8_t)(1 | sz_log << 4), off}, 2);
	put(s, &v, 4);
}

static void mm_w(struct fuzz_seed *s, unsigned sz_log, uint16_t off, uint64_t v)
{
	put(s, (uint8_t[]){(uint8_t)(2 | sz_log << 4)}, 1);
	put(s, &off, 2);
	put(s, &v, 8);
}

static void ram_w(struct fuzz_seed *s, uint32_t gpa, uint32_t v)
{
	uint32_t w = gpa / 4;

	put(s, (uint8_t[]){3}, 1);
	put(s, &w, 4);
	put(s, &v, 4);
}

static void kick(struct fuzz_seed *s, bool modern, uint8_t q)
{
	put(s, (uint8_t[]){(uint8_t)(12 | (modern ? 0x40 : 0)), q}, 2);
}

/* A one-descriptor chain at descriptor 0 of the ring at desc, avail idx 1. */
static void chain(struct fuzz_seed *s, uint32_t desc, uint32_t avail, uint32_t buf,
		  uint32_t len, bool write)
{
	ram_w(s, desc, buf);
	ram_w(s, desc + 4, 0);
	ram_w(s, desc + 8, len);
	ram_w(s, desc + 12, write ? VIRTQ_DESC_F_WRITE : 0);
	ram_w(s, avail, 1u << 16);
	ram_w(s, avail + 4, 0);
}

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	s->len = 0;
	put(s, (uint8_t[]){(uint8_t)(which == 2 ? 2 : 1)}, 1); /* options */
	put(s, (uint8_t[]){4}, 1);
	switch (which) {
	case 0: /* legacy: inflate a good and a bad PFN, then a stats buffer polled */
		io_w(s, 0, VIRTIO_PCI_STATUS, 3);
		io_w(s, 2, VIRTIO_PCI_GUEST_FEATURES, 1u << VIRTIO_BALLOON_F_STATS_VQ);
		for (uint8_t q = 0; q < 3; q++)
			put(s, (uint8_t[]){5, q, (uint8_t)(0x10 + 4 * q)}, 3);
		io_w(s, 0, VIRTIO_PCI_STATUS, 7);
		ram_w(s, 0x80000, 0x30);
		ram_w(s, 0x80004, 0xa0);
		chain(s, 0x10000, 0x10800, 0x80000, 8, false);
		kick(s, false, 0);
		ram_w(s, 0x90000, VIRTIO_BALLOON_S_MEMFREE | 12345u << 16);
		chain(s, 0x18000, 0x18800, 0x90000, 10, false);
		kick(s, false, 2);
		put(s, (uint8_t[]){7 | 0x40, 1}, 2);
		put(s, (uint8_t[]){8, 0}, 2);
		put(s, (uint8_t[]){8, 200}, 2);
		io_w(s, 2, VIRTIO_PCI_CONFIG_OFF(false) + 4, 16);
		put(s, (uint8_t[]){10}, 1);
		break;
	case 1: /* legacy: a free page report, a target, reset */
		io_w(s, 0, VIRTIO_PCI_STATUS, 3);
		io_w(s, 2, VIRTIO_PCI_GUEST_FEATURES,
		     1u << VIRTIO_BALLOON_F_STATS_VQ | 1u << VIRTIO_BALLOON_F_REPORTING);
		for (uint8_t q = 0; q < 4; q++)
			put(s, (uint8_t[]){5, q, (uint8_t)(0x10 + 4 * q)}, 3);
		io_w(s, 0, VIRTIO_PCI_STATUS, 7);
		chain(s, 0x1c000, 0x1c800, 0xc0000, 0x20000, true);
		kick(s, false, 3);
		put(s, (uint8_t[]){6}, 1);
		put(s, &(uint64_t){RAM_SIZE / 2}, 8);
		io_w(s, 0, VIRTIO_PCI_STATUS, 0);
		break;
	default: /* modern: features, queue 0, a PFN array */
		mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 3);
		mm_w(s, 2, VIRTIO_PCI_COMMON_GFSELECT, 1);
		mm_w(s, 2, VIRTIO_PCI_COMMON_GF, 1);
		mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 0xb);
		mm_w(s, 1, VIRTIO_PCI_COMMON_Q_SIZE, 16);
		mm_w(s, 2, VIRTIO_PCI_COMMON_Q_DESCLO, 0x10000);
		mm_w(s, 2, VIRTIO_PCI_COMMON_Q_AVAILLO, 0x10800);
		mm_w(s, 2, VIRTIO_PCI_COMMON_Q_USEDLO, 0x11000);
		mm_w(s, 1, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
		mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 0xf);
		ram_w(s, 0x80000, 0xc1);
		chain(s, 0x10000, 0x10800, 0x80000, 4, false);
		kick(s, true, 0);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = {0,    1,	     4,	      7,       0xa0,	 0xbf,
					       0xff, 0x100, 0xffff, 0x10000, 0xffffffffu};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]),
			    FUZZ_SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
    .name = "fuzz_virtio_balloon",
    .seed_prefix = "virtio-balloon-seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(20000);
	printf("fuzz_virtio_balloon: %lu inputs, %lu steps checked, %lu discards, %lu stats "
	       "polls, no violation\n",
	       fuzz_runs(), steps, discards, polls);
	return 0;
}
#endif
