// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: virtio-blk (devices/virtio/virtio_blk.c and the request
 * parser virtio_blk_req.c) as a hostile guest drives it, in the manner of
 * cloud-hypervisor's fuzz/fuzz_targets/block.rs.  Each input picks a
 * transport, a queue count and a read-only or writable disk (a small raw
 * image in /tmp behind the real block layer), then is a program against a
 * fresh PCI bus holding the real device: PCI config accesses, accesses of
 * any size to the legacy I/O BAR, the MSI-X BAR and the modern BAR, bytes,
 * descriptors and request headers written into the guest memory that holds
 * the rings and buffers, kicks, completions (the block layer drained),
 * legacy PFN writes (the queue reset under requests in flight), pauses,
 * resumes and machine resets.
 *
 * Checked, abort() on a violation (ASan and UBSan do the rest):
 * - the image keeps its size, and a read-only disk its contents;
 * - after a drain nothing is left in flight: the queues' in-flight counts
 *   of the virtqueue module are 0 for every ready queue;
 * - after a machine reset no queue is set up and the status is 0.
 *
 * Built like the other targets: -fsanitize=fuzzer with -Dfuzz=true, and
 * -DFUZZ_STANDALONE as a runner replaying built-in seeds and fixed
 * mutations in every test run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/block.h"
#include "devices/pci.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_blk_req.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_virtio_ops.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_virtio_blk: %s:%d: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define RAM_SIZE   0x40000u /* 256 KiB: rings and buffers anywhere in it */
#define DEVFN	   PCI_DEVFN(3, 0)
#define IMG_SIZE   (64u << 10) /* 128 sectors */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static struct guest_mem mem;
static struct block_dev *disk_rw, *disk_ro;
static uint32_t ro_crc;
static unsigned long steps, kicks, drains, requests, answered;

static uint32_t image_sum(struct block_dev *bd)
{
	static uint8_t buf[IMG_SIZE];
	uint32_t h = 2166136261u;

	CHECK(block_pread(bd, 0, buf, IMG_SIZE) == 0);
	for (unsigned i = 0; i < IMG_SIZE; i++)
		h = (h ^ buf[i]) * 16777619u;
	return h;
}

/* Once per process: one image, opened writable and (a second image)
 * read-only; the files are unlinked at once, the descriptors stay. */
static void open_disks(void)
{
	struct block_create_opts co = {.format = "raw", .size = IMG_SIZE};
	struct block_opts rw = {.format = "raw"}, ro = {.format = "raw", .read_only = true};
	char path[2][64], err[256];

	for (unsigned i = 0; i < 2; i++) {
		int fd;

		snprintf(path[i], sizeof(path[i]), "/tmp/fuzz_virtio_blk.XXXXXX");
		fd = mkstemp(path[i]);
		CHECK(fd >= 0);
		close(fd);
		CHECK(block_create(path[i], &co, err, sizeof(err)) == 0);
	}
	CHECK(block_open(&disk_rw, path[0], &rw, err, sizeof(err)) == 0);
	CHECK(block_open(&disk_ro, path[1], &ro, err, sizeof(err)) == 0);
	unlink(path[0]);
	unlink(path[1]);
	ro_crc = image_sum(disk_ro);
}

static void check_drained(struct virtio_pci *vp, unsigned nq)
{
	virtio_pci_lock(vp);
	for (unsigned q = 0; q < nq; q++) {
		struct virtq *vq = virtio_pci_queue(vp, q);

		CHECK(!virtq_ready(vq) || vq->inflight == 0);
	}
	virtio_pci_unlock(vp);
}

static const uint32_t types[] = {VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT,
				 VIRTIO_BLK_T_FLUSH,   VIRTIO_BLK_T_GET_ID,
				 VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
				 2,		       VIRTIO_BLK_T_IN | VIRTIO_BLK_T_BARRIER};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	struct dev_ctx ctx;
	struct virtio_blk_args a = {0};
	struct fuzz_virtio_env env;
	struct board_entry e = {.type = &virtio_blk_type, .id = "vfuzz", .devfn = DEVFN, .irq = -1};
	struct virtio_blk *vb;
	struct virtio_pci *vp;
	struct block_dev *bd;
	char err[128];
	unsigned budget = 4096, nq;
	uint8_t mode;

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		CHECK(ram);
		open_disks();
	}
	fuzz_virtio_env_init(&env, &mem, ram, RAM_SIZE, DEVFN);
	pio = env.pio;
	mmio = env.mmio;
	pci = env.pci;
	ctx = (struct dev_ctx){.pio = pio, .mmio = mmio, .pci = pci, .mem = &mem};

	mode = in_u8(&in);
	bd = mode & 0x80 ? disk_ro : disk_rw;
	nq = 1 + (mode >> 2) % 3;
	a = (struct virtio_blk_args){.bd = bd,
				     .serial = mode & 0x40 ? "fuzz-serial" : NULL,
				     .num_queues = nq,
				     .transport = (enum virtio_transport)(mode % 3)};
	e.arg = &a;
	vb = virtio_blk_type.create(&ctx, &e, err, sizeof(err));
	CHECK(vb);
	vp = virtio_blk_transport(vb);
	pci_bus_seal(pci);

	while (in.pos < in.len && budget--) {
		uint8_t op = in_u8(&in);

		steps++;
		if ((op & 0xf) >= 14)
			kicks++;
		if ((op & 0xf) == 14) {
			fuzz_virtio_kick(&env, op, &in); /* 14 and 15 both kick */
			continue;
		}
		if (fuzz_virtio_op(&env, op, &in))
			continue;
		switch (op & 0xf) {
		case 7: { /* a request header: where, type, sector */
			uint8_t h[16];
			uint64_t where = (uint64_t)in_u16(&in) << 2;
			uint32_t type = op & 0x40 ? in_u32(&in) : types[in_u8(&in) & 7];
			uint64_t sector = op & 0x80 ? in_u64(&in) : in_u8(&in);

			memcpy(h, &type, 4);
			memset(h + 4, 0, 4);
			memcpy(h + 8, &sector, 8);
			fuzz_virtio_put(&env, where, h, 16);
			break;
		}
		case 9: /* completions: some, or all */
			if (op & 0x40) {
				block_complete(bd);
			} else {
				block_drain(bd);
				drains++;
				check_drained(vp, nq);
			}
			break;
		case 11: /* pause / resume */
			if (op & 0x40) {
				virtio_blk_type.pause(vb);
			} else {
				virtio_blk_type.resume(vb);
			}
			break;
		case 12: /* machine reset */
			virtio_blk_type.quiesce(vb);
			check_drained(vp, nq);
			pci_bus_reset(pci);
			virtio_blk_type.reset(vb);
			virtio_pci_lock(vp);
			for (unsigned q = 0; q < nq; q++)
				CHECK(virtio_pci_queue(vp, q)->size == 0);
			CHECK(virtio_pci_status(vp) == 0);
			virtio_pci_unlock(vp);
			virtio_blk_type.resume(vb);
			break;
		}
	}
	/* Teardown as a machine would: quiesce first. */
	virtio_blk_type.quiesce(vb);
	check_drained(vp, nq);
	{
		struct virtio_blk_stats st;

		virtio_blk_get_stats(vb, &st);
		CHECK(st.num_queues == nq);
		for (unsigned q = 0; q < nq; q++) {
			for (unsigned t = 0; t < VIRTIO_BLK_STAT_TYPES; t++)
				requests += st.q[q].requests[t];
			for (unsigned b = 0; b < VIRTIO_BLK_LAT_BUCKETS; b++)
				answered += st.q[q].latency[b];
		}
	}
	virtio_blk_type.destroy(vb);
	fuzz_virtio_env_fini(&env);
	CHECK(block_size(bd) == IMG_SIZE);
	if (bd == disk_ro)
		CHECK(image_sum(disk_ro) == ro_crc);
	return 0;
}

#ifdef FUZZ_STANDALONE

#define NR_SEEDS 4

static void hdr(struct fuzz_seed *s, uint32_t where, uint8_t type_idx, uint8_t sector)
{
	uint16_t w = (uint16_t)(where >> 2);

	fvs_put(s, (uint8_t[]){7}, 1);
	fvs_put(s, &w, 2);
	fvs_put(s, (uint8_t[]){type_idx, sector}, 2);
}

/* Queue 0 at PFN 0x10 (256 entries, legacy layout): request i uses
 * descriptors 3i..3i+2, header at 0x20000 + 32i, data at 0x30000 + 0x400 i,
 * status at 0x20010 + 32i. */
static void request3(struct fuzz_seed *s, uint8_t i, uint8_t type_idx, uint8_t sector,
		     uint16_t len, bool data_write)
{
	uint8_t d = (uint8_t)(3 * i);

	hdr(s, 0x20000 + 32u * i, type_idx, sector);
	fvs_desc(s, 0x10, d, 0x20000 + 32u * i, 16, VIRTQ_DESC_F_NEXT, (uint8_t)(d + 1));
	fvs_desc(s, 0x10, (uint8_t)(d + 1), 0x30000 + 0x400u * i, len,
	     VIRTQ_DESC_F_NEXT | (data_write ? VIRTQ_DESC_F_WRITE : 0), (uint8_t)(d + 2));
	fvs_desc(s, 0x10, (uint8_t)(d + 2), 0x20010 + 32u * i, 1, VIRTQ_DESC_F_WRITE, 0);
	fvs_avail(s, 0x10, i, d, (uint16_t)(i + 1));
}

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	s->len = 0;
	/* mode: transport, queues, disk */
	fvs_op(s, which == 2 ? 2 : which == 3 ? 0x80 : 0);
	fvs_op(s, 8);
	switch (which) {
	case 0: /* viostor 52 on legacy: WCACHE, PFN, GET_ID, IN, OUT, FLUSH */
	case 3: /* the same on the read-only disk */
		fvs_io_w(s, 0, VIRTIO_PCI_STATUS, 0);
		fvs_io_w(s, 2, VIRTIO_PCI_GUEST_FEATURES, 1u << 9);
		fvs_put(s, (uint8_t[]){13, 0x10}, 2);
		fvs_io_w(s, 0, VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK);
		request3(s, 0, 3, 0, 20, true);
		request3(s, 1, 0, 4, 1024, true);
		request3(s, 2, 1, 8, 512, false);
		request3(s, 3, 2, 0, 0, false);
		fvs_io_w(s, 1, VIRTIO_PCI_QUEUE_NOTIFY, 0);
		fvs_op(s, 9);
		fvs_io_w(s, 0, VIRTIO_PCI_ISR, 0);
		break;
	case 1: /* in flight across a PFN rewrite, a guest reset, a machine reset */
		fvs_io_w(s, 2, VIRTIO_PCI_GUEST_FEATURES, 0);
		fvs_put(s, (uint8_t[]){13, 0x10}, 2);
		fvs_io_w(s, 0, VIRTIO_PCI_STATUS, 7);
		request3(s, 0, 0, 1, 512, true);
		request3(s, 1, 1, 127, 1024, false); /* past the end */
		fvs_io_w(s, 1, VIRTIO_PCI_QUEUE_NOTIFY, 0);
		fvs_put(s, (uint8_t[]){13, 0x10}, 2);
		fvs_op(s, 0x40 | 9);
		fvs_op(s, 0x40 | 11);
		fvs_op(s, 11);
		fvs_io_w(s, 0, VIRTIO_PCI_STATUS, 0);
		fvs_op(s, 12);
		break;
	default: /* modern: DISCARD and WRITE_ZEROES, queue 0 at 0x10000 */
		fvs_mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 3);
		fvs_mm_w(s, 2, VIRTIO_PCI_COMMON_GFSELECT, 0);
		fvs_mm_w(s, 2, VIRTIO_PCI_COMMON_GF, (1u << 9) | (1u << 13) | (1u << 14) | (1u << 29));
		fvs_mm_w(s, 2, VIRTIO_PCI_COMMON_GFSELECT, 1);
		fvs_mm_w(s, 2, VIRTIO_PCI_COMMON_GF, 1);
		fvs_mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 0xb);
		fvs_mm_w(s, 2, VIRTIO_PCI_COMMON_Q_DESCLO, 0x10000);
		fvs_mm_w(s, 2, VIRTIO_PCI_COMMON_Q_AVAILLO, 0x11000);
		fvs_mm_w(s, 2, VIRTIO_PCI_COMMON_Q_USEDLO, 0x12000);
		fvs_mm_w(s, 1, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
		fvs_mm_w(s, 0, VIRTIO_PCI_COMMON_STATUS, 0xf);
		hdr(s, 0x20000, 4, 0);
		fvs_desc(s, 0x10, 0, 0x20000, 16, VIRTQ_DESC_F_NEXT, 1);
		fvs_desc(s, 0x10, 1, 0x30000, 16, VIRTQ_DESC_F_NEXT, 2);
		fvs_desc(s, 0x10, 2, 0x20010, 1, VIRTQ_DESC_F_WRITE, 0);
		/* one segment: sector 2, 3 sectors */
		fvs_put(s, (uint8_t[]){5}, 1);
		fvs_put(s, &(uint16_t){0x30000 / 4}, 2);
		fvs_put(s, &(uint32_t){2}, 4);
		fvs_put(s, (uint8_t[]){5}, 1);
		fvs_put(s, &(uint16_t){0x30008 / 4}, 2);
		fvs_put(s, &(uint32_t){3}, 4);
		/* avail at 0x11000 (not the legacy spot): ring[0] = 0, idx 1 */
		fvs_put(s, (uint8_t[]){5}, 1);
		fvs_put(s, &(uint16_t){0x11000 / 4}, 2);
		fvs_put(s, &(uint32_t){1u << 16}, 4);
		fvs_put(s, (uint8_t[]){0x40 | 14, 0}, 2);
		fvs_op(s, 9);
		break;
	}
}

/* Values the mutations plant. */
static const uint32_t interesting[] = {
	0, 1, 2, 4, 7, 8, 0xb, 0xd, 0xf, 0x10, 0x80, 0x200, 0xffff, 0x10000, 0x7f, 128, 0x1000,
	0xffffffffu
};

static const struct fuzz_target target = {
    .name = "fuzz_virtio_blk",
    .seed_prefix = "virtio-blk-seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	fuzz_run_mutations(&target, interesting, sizeof(interesting) / sizeof(interesting[0]),
			   4000);
	printf("fuzz_virtio_blk: %lu inputs, %lu steps, %lu kicks, %lu drains checked, "
	       "%lu requests, %lu answered, no violation\n",
	       fuzz_runs(), steps, kicks, drains, requests, answered);
	return 0;
}
#endif
