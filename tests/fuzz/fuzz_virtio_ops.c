// SPDX-License-Identifier: GPL-2.0-or-later
/* The steps the virtio device fuzz targets share (fuzz_virtio_ops.h). */
#include "tests/fuzz/fuzz_virtio_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"

static void router(void *opaque, unsigned p, bool level)
{
}

static void sink(void *opaque, uint64_t addr, uint32_t data)
{
}

void fuzz_virtio_env_init(struct fuzz_virtio_env *env, struct guest_mem *mem, uint8_t *ram,
			  size_t ram_size, int devfn)
{
	memset(ram, 0, ram_size);
	memset(mem, 0, sizeof(*mem));
	*env = (struct fuzz_virtio_env){.ram = ram, .ram_size = ram_size, .devfn = devfn};
	env->pio = bus_create("pio", 0x10000);
	env->mmio = bus_create("mmio", 0);
	env->pci = env->pio && env->mmio ? pci_bus_create(env->pio, env->mmio) : NULL;
	if (!env->pci || guest_mem_add(mem, 0, ram_size, ram, false, "ram") != 0) {
		fprintf(stderr, "fuzz: cannot build the machine\n");
		abort();
	}
	pci_bus_set_router(env->pci, router, NULL);
	pci_bus_set_msi_sink(env->pci, sink, NULL);
}

void fuzz_virtio_env_fini(struct fuzz_virtio_env *env)
{
	pci_bus_destroy(env->pci);
	bus_destroy(env->pio);
	bus_destroy(env->mmio);
}

void fuzz_virtio_put(const struct fuzz_virtio_env *env, uint64_t off, const void *p, size_t n)
{
	if (off < env->ram_size && n <= env->ram_size - off)
		memcpy(env->ram + off, p, n);
}

void fuzz_virtio_kick(const struct fuzz_virtio_env *env, uint8_t op, struct input *in)
{
	unsigned q = in_u8(in) % 4;

	if (op & 0x40)
		bus_write(env->mmio, FUZZ_VIRTIO_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + 4 * q, q, 2);
	else
		bus_write(env->pio, FUZZ_VIRTIO_IO_BASE + VIRTIO_PCI_QUEUE_NOTIFY, q, 2);
}

bool fuzz_virtio_op(const struct fuzz_virtio_env *env, uint8_t op, struct input *in)
{
	unsigned sz = 1u << ((op >> 4) & 3); /* 1, 2, 4, 8 */
	unsigned pages = (unsigned)(env->ram_size >> 12);
	uint64_t v, addr;
	unsigned off;

	switch (op & 0xf) {
	case 0: /* PCI config write */
		off = in_u8(in);
		v = in_u32(in);
		if (sz == 8)
			sz = 4;
		pci_config_write(env->pci, env->devfn, off & ~(sz - 1), (uint32_t)v, sz);
		return true;
	case 1: /* legacy BAR0 write */
		off = in_u8(in) & 0x7f;
		bus_write(env->pio, FUZZ_VIRTIO_IO_BASE + off, in_u32(in), sz > 4 ? 4 : sz);
		return true;
	case 2: /* legacy BAR0 read */
		off = in_u8(in) & 0x7f;
		bus_read(env->pio, FUZZ_VIRTIO_IO_BASE + off, sz > 4 ? 4 : sz, &v);
		return true;
	case 3: /* modern BAR4 */
		addr = FUZZ_VIRTIO_MODERN_BAR + (in_u16(in) & 0x3fff);
		if (op & 0x40)
			bus_read(env->mmio, addr, sz, &v);
		else
			bus_write(env->mmio, addr, in_u64(in), sz);
		return true;
	case 4: /* MSI-X BAR1 */
		addr = FUZZ_VIRTIO_MSIX_BASE + (in_u16(in) & 0xfff);
		if (op & 0x40)
			bus_read(env->mmio, addr, sz, &v);
		else
			bus_write(env->mmio, addr, in_u32(in), sz > 4 ? 4 : sz);
		return true;
	case 5: /* guest memory, 4 bytes anywhere */
		off = in_u16(in) % (unsigned)(env->ram_size / 4);
		v = in_u32(in);
		fuzz_virtio_put(env, (uint64_t)off * 4, &v, 4);
		return true;
	case 6: { /* a descriptor: table page, index, buffer, len, flags, next */
		uint8_t d[16];
		uint64_t table = (uint64_t)(in_u8(in) % pages) << 12;
		unsigned idx = in_u8(in);
		uint64_t buf = (uint64_t)in_u16(in) << 2;
		uint32_t len = in_u16(in);
		uint16_t flags = in_u8(in) & 7, next = in_u8(in);

		if (op & 0x40)
			len <<= 4; /* long buffers */
		memcpy(d, &buf, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
		fuzz_virtio_put(env, table + 16ULL * idx, d, 16);
		return true;
	}
	case 8: /* the usual bring-up of the BARs in one step */
		pci_config_write(env->pci, env->devfn, PCI_BASE_ADDRESS_0, FUZZ_VIRTIO_IO_BASE, 4);
		pci_config_write(env->pci, env->devfn, PCI_BASE_ADDRESS_0 + 4,
				 FUZZ_VIRTIO_MSIX_BASE, 4);
		pci_config_write(env->pci, env->devfn, PCI_BASE_ADDRESS_0 + 16,
				 FUZZ_VIRTIO_MODERN_BAR, 4);
		pci_config_write(env->pci, env->devfn, PCI_BASE_ADDRESS_0 + 20, 0, 4);
		pci_config_write(env->pci, env->devfn, PCI_COMMAND, 7, 2);
		return true;
	case 10: { /* avail ring entry and index of a legacy-layout queue */
		uint64_t base = (uint64_t)(in_u8(in) % pages) << 12;
		uint64_t avail = base + 16ULL * 256;
		uint16_t slot = in_u8(in), head = in_u8(in), idx = in_u16(in);

		fuzz_virtio_put(env, avail + 4 + 2ULL * slot, &head, 2);
		fuzz_virtio_put(env, avail + 2, &idx, 2);
		return true;
	}
	case 13: /* a legacy PFN for the selected queue somewhere in RAM */
		bus_write(env->pio, FUZZ_VIRTIO_IO_BASE + VIRTIO_PCI_QUEUE_PFN, in_u8(in) % pages, 4);
		return true;
	case 15:
		fuzz_virtio_kick(env, op, in);
		return true;
	}
	return false;
}

#ifdef FUZZ_STANDALONE
void fvs_put(struct fuzz_seed *s, const void *p, size_t n)
{
	if (s->len + n <= FUZZ_SEED_MAX) {
		memcpy(s->b + s->len, p, n);
		s->len += n;
	}
}

void fvs_op(struct fuzz_seed *s, uint8_t op)
{
	fvs_put(s, &op, 1);
}

void fvs_io_w(struct fuzz_seed *s, unsigned sz_log, uint8_t off, uint32_t v)
{
	fvs_put(s, (uint8_t[]){(uint8_t)(1 | sz_log << 4), off}, 2);
	fvs_put(s, &v, 4);
}

void fvs_mm_w(struct fuzz_seed *s, unsigned sz_log, uint16_t off, uint64_t v)
{
	fvs_put(s, (uint8_t[]){(uint8_t)(3 | sz_log << 4)}, 1);
	fvs_put(s, &off, 2);
	fvs_put(s, &v, 8);
}

void fvs_desc(struct fuzz_seed *s, uint8_t page, uint8_t idx, uint32_t buf, uint16_t len,
	      uint8_t flags, uint8_t next)
{
	uint16_t b = (uint16_t)(buf >> 2);

	fvs_put(s, (uint8_t[]){6, page, idx}, 3);
	fvs_put(s, &b, 2);
	fvs_put(s, &len, 2);
	fvs_put(s, (uint8_t[]){flags, next}, 2);
}

void fvs_avail(struct fuzz_seed *s, uint8_t page, uint8_t slot, uint8_t head, uint16_t idx)
{
	fvs_put(s, (uint8_t[]){10, page, slot, head}, 4);
	fvs_put(s, &idx, 2);
}
#endif
