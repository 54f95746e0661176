// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/fw_cfg.h"
#include "vmm/device.h"

#include <stdio.h>

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/le.h"

/* Bits of a selector that pick the item; 0x4000 was QEMU's write channel. */
#define FW_CFG_ENTRY_MASK 0x3fff
#define FW_CFG_MAX_ENTRY  (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)

#define FW_CFG_DIR_ENTRY_SIZE 64
#define FW_CFG_DMA_DESC_SIZE  16
#define FW_CFG_ZERO_CHUNK     4096

static const char fw_cfg_dma_signature[8] = "QEMU CFG";

struct fw_cfg_item {
	uint8_t *data; /* NULL when len is 0 */
	uint32_t len;
	bool writable;
	fw_cfg_write_cb *write_cb;
	void *opaque;
};

struct fw_cfg_file {
	char name[FW_CFG_MAX_NAME_LEN + 1];
	struct fw_cfg_item item;
};

struct fw_cfg {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct fw_cfg_item legacy[2][FW_CFG_FILE_FIRST]; /* [arch-local][key] */
	struct fw_cfg_file file[FW_CFG_MAX_FILES];	 /* sorted by name */
	unsigned nr_files;
	uint16_t cur_key;
	uint32_t cur_offset;
	uint64_t dma_addr;
};

/* NULL for keys that name nothing; such keys read as empty items. */
static struct fw_cfg_item *fw_cfg_item_get(struct fw_cfg *fw, uint16_t key)
{
	unsigned idx = key & FW_CFG_ENTRY_MASK;
	bool arch = key & FW_CFG_ARCH_LOCAL;

	if (idx < FW_CFG_FILE_FIRST)
		return &fw->legacy[arch][idx];
	if (!arch && idx - FW_CFG_FILE_FIRST < fw->nr_files)
		return &fw->file[idx - FW_CFG_FILE_FIRST].item;
	return NULL;
}

static int fw_cfg_item_set(struct fw_cfg_item *it, const void *data, size_t len, bool writable)
{
	uint8_t *copy = NULL;

	if (len >= UINT32_MAX)
		return -EINVAL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	free(it->data);
	*it = (struct fw_cfg_item){.data = copy, .len = (uint32_t)len, .writable = writable};
	return 0;
}

/* The directory is rebuilt whenever a file is added; it is never large. */
static int fw_cfg_dir_update(struct fw_cfg *fw)
{
	size_t len = 4 + (size_t)fw->nr_files * FW_CFG_DIR_ENTRY_SIZE;
	struct fw_cfg_item *dir = &fw->legacy[0][FW_CFG_FILE_DIR];
	uint8_t *buf = calloc(1, len);

	if (!buf)
		return -ENOMEM;
	be32_put(buf, fw->nr_files);
	for (unsigned i = 0; i < fw->nr_files; i++) {
		uint8_t *e = buf + 4 + (size_t)i * FW_CFG_DIR_ENTRY_SIZE;

		be32_put(e, fw->file[i].item.len);
		be16_put(e + 4, (uint16_t)(FW_CFG_FILE_FIRST + i));
		memcpy(e + 8, fw->file[i].name, strlen(fw->file[i].name));
	}
	free(dir->data);
	dir->data = buf;
	dir->len = (uint32_t)len;
	return 0;
}

struct fw_cfg *fw_cfg_create(const struct guest_mem *mem)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));
	uint8_t id[4] = {FW_CFG_VERSION | (mem ? FW_CFG_VERSION_DMA : 0), 0, 0, 0};

	if (!fw)
		return NULL;
	fw->mem = mem;
	if (pthread_mutex_init(&fw->lock, NULL)) {
		free(fw);
		return NULL;
	}
	if (fw_cfg_item_set(&fw->legacy[0][FW_CFG_SIGNATURE], "QEMU", 4, false) ||
	    fw_cfg_item_set(&fw->legacy[0][FW_CFG_ID], id, sizeof(id), false) ||
	    fw_cfg_dir_update(fw)) {
		fw_cfg_destroy(fw);
		return NULL;
	}
	return fw;
}

void fw_cfg_destroy(struct fw_cfg *fw)
{
	if (!fw)
		return;
	for (unsigned a = 0; a < 2; a++)
		for (unsigned k = 0; k < FW_CFG_FILE_FIRST; k++)
			free(fw->legacy[a][k].data);
	for (unsigned i = 0; i < fw->nr_files; i++)
		free(fw->file[i].item.data);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
}

void fw_cfg_reset(void *opaque)
{
	struct fw_cfg *fw = opaque;

	pthread_mutex_lock(&fw->lock);
	fw->cur_key = FW_CFG_SIGNATURE;
	fw->cur_offset = 0;
	fw->dma_addr = 0;
	pthread_mutex_unlock(&fw->lock);
}

int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	unsigned idx = key & ~FW_CFG_ARCH_LOCAL;
	struct fw_cfg_item *it;
	int ret;

	if (idx >= FW_CFG_FILE_FIRST || key == FW_CFG_SIGNATURE || key == FW_CFG_ID ||
	    key == FW_CFG_FILE_DIR)
		return -EINVAL;
	pthread_mutex_lock(&fw->lock);
	it = fw_cfg_item_get(fw, key);
	ret = it->data ? -EEXIST : fw_cfg_item_set(it, data, len, false);
	pthread_mutex_unlock(&fw->lock);
	return ret;
}

int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t value)
{
	uint8_t b[2];

	le16_put(b, value);
	return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t value)
{
	uint8_t b[4];

	le32_put(b, value);
	return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct fw_cfg *fw, uint16_t key, uint64_t value)
{
	uint8_t b[8];

	le64_put(b, value);
	return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_file_cb(struct fw_cfg *fw, const char *name, const void *data, size_t len,
		       bool writable, fw_cfg_write_cb *write_cb, void *opaque)
{
	size_t nlen = strlen(name);
	struct fw_cfg_file f = {0};
	unsigned pos;
	int ret;

	if (nlen == 0 || nlen > FW_CFG_MAX_NAME_LEN || len >= UINT32_MAX)
		return -EINVAL;
	memcpy(f.name, name, nlen);
	ret = fw_cfg_item_set(&f.item, data, len, writable);
	if (ret)
		return ret;
	f.item.write_cb = write_cb;
	f.item.opaque = opaque;

	pthread_mutex_lock(&fw->lock);
	/* Sorted by strcmp() like QEMU, so that keys match QEMU's for the same files. */
	for (pos = 0; pos < fw->nr_files; pos++) {
		int c = strcmp(name, fw->file[pos].name);

		if (c == 0) {
			ret = -EEXIST;
			goto out;
		}
		if (c < 0)
			break;
	}
	if (fw->nr_files == FW_CFG_MAX_FILES) {
		ret = -ENOSPC;
		goto out;
	}
	memmove(&fw->file[pos + 1], &fw->file[pos], (fw->nr_files - pos) * sizeof(fw->file[0]));
	fw->file[pos] = f;
	fw->nr_files++;
	ret = fw_cfg_dir_update(fw);
	if (ret) {
		fw->nr_files--;
		memmove(&fw->file[pos], &fw->file[pos + 1],
			(fw->nr_files - pos) * sizeof(fw->file[0]));
	}
out:
	pthread_mutex_unlock(&fw->lock);
	if (ret)
		free(f.item.data);
	return ret;
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len,
		    bool writable)
{
	return fw_cfg_add_file_cb(fw, name, data, len, writable, NULL, NULL);
}

int fw_cfg_file_key(struct fw_cfg *fw, const char *name)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&fw->lock);
	for (unsigned i = 0; i < fw->nr_files; i++) {
		if (strcmp(name, fw->file[i].name) == 0) {
			ret = FW_CFG_FILE_FIRST + (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&fw->lock);
	return ret;
}

/* Keys past the last possible item select nothing, as in QEMU. */
static void fw_cfg_select(struct fw_cfg *fw, uint16_t key)
{
	fw->cur_key = key;
	fw->cur_offset = 0;
}

static uint64_t fw_cfg_port_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fw_cfg *fw = opaque;
	struct fw_cfg_item *it;
	uint64_t value = 0;

	/* QEMU accepts only byte reads here, at either port; rep insb is a series of them. */
	if (size != 1)
		return 0;
	pthread_mutex_lock(&fw->lock);
	it = fw_cfg_item_get(fw, fw->cur_key);
	if (it && fw->cur_offset < it->len)
		value = it->data[fw->cur_offset++];
	pthread_mutex_unlock(&fw->lock);
	return value;
}

static void fw_cfg_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct fw_cfg *fw = opaque;

	/* Byte writes to the data port were dropped from QEMU in 2.4. */
	if (size != 2)
		return;
	pthread_mutex_lock(&fw->lock);
	fw_cfg_select(fw, (uint16_t)value);
	pthread_mutex_unlock(&fw->lock);
}

/* Zero-fills guest memory in bounded steps: the length is the guest's. */
static bool fw_cfg_dma_zero(struct fw_cfg *fw, uint64_t addr, uint32_t len)
{
	static const uint8_t zero[FW_CFG_ZERO_CHUNK];

	while (len) {
		uint32_t n = len < sizeof(zero) ? len : sizeof(zero);

		if (guest_mem_write(fw->mem, addr, zero, n))
			return false;
		addr += n;
		len -= n;
	}
	return true;
}

static void fw_cfg_dma_run(struct fw_cfg *fw, uint64_t desc_addr)
{
	uint8_t desc[FW_CFG_DMA_DESC_SIZE], status[4];
	uint32_t control, length, error = 0;
	struct fw_cfg_item *it;
	uint64_t addr;
	enum { DMA_NONE, DMA_READ, DMA_WRITE, DMA_SKIP } op;

	if (guest_mem_read(fw->mem, desc_addr, desc, sizeof(desc))) {
		/* Best effort, as in QEMU: the control word may still be in RAM. */
		be32_put(status, FW_CFG_DMA_CTL_ERROR);
		guest_mem_write(fw->mem, desc_addr, status, sizeof(status));
		return;
	}
	control = be32_get(desc);
	length = be32_get(desc + 4);
	addr = be64_get(desc + 8);

	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(fw, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_CTL_READ)
		op = DMA_READ;
	else if (control & FW_CFG_DMA_CTL_WRITE)
		op = DMA_WRITE;
	else if (control & FW_CFG_DMA_CTL_SKIP)
		op = DMA_SKIP;
	else
		op = DMA_NONE;
	if (op == DMA_NONE)
		length = 0;

	it = fw_cfg_item_get(fw, fw->cur_key);
	/* At most two rounds: the part inside the item, then the part past its end. */
	while (length && !error) {
		uint32_t n = length;

		if (!it || fw->cur_offset >= it->len) {
			/* Past the end: reads give zeros, writes fail, the offset stays. */
			if (op == DMA_READ && !fw_cfg_dma_zero(fw, addr, n))
				error = FW_CFG_DMA_CTL_ERROR;
			else if (op == DMA_WRITE)
				error = FW_CFG_DMA_CTL_ERROR;
		} else {
			uint8_t *p = it->data + fw->cur_offset;

			if (n > it->len - fw->cur_offset)
				n = it->len - fw->cur_offset;
			if (op == DMA_READ) {
				if (guest_mem_write(fw->mem, addr, p, n))
					error = FW_CFG_DMA_CTL_ERROR;
			} else if (op == DMA_WRITE) {
				/* A write that would cross the end is dropped whole. */
				if (!it->writable || n != length ||
				    guest_mem_read(fw->mem, addr, p, n))
					error = FW_CFG_DMA_CTL_ERROR;
				else if (it->write_cb)
					it->write_cb(it->opaque, it->data, it->len, fw->cur_offset,
						     n);
			}
			fw->cur_offset += n;
		}
		addr += n;
		length -= n;
	}

	be32_put(status, error);
	guest_mem_write(fw->mem, desc_addr, status, sizeof(status));
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t offset, unsigned size)
{
	uint64_t value = 0;

	/* The signature as bytes in port order, whatever the width. */
	for (unsigned i = 0; i < size && offset + i < sizeof(fw_cfg_dma_signature); i++)
		value |= (uint64_t)(uint8_t)fw_cfg_dma_signature[offset + i] << (8 * i);
	return value;
}

static void fw_cfg_dma_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct fw_cfg *fw = opaque;
	bool run = false;

	if (!fw->mem)
		return;
	/* The register is big-endian: the guest writes byte-swapped values. */
	pthread_mutex_lock(&fw->lock);
	if (size == 4 && offset == 0) {
		fw->dma_addr = (uint64_t)__builtin_bswap32((uint32_t)value) << 32;
	} else if (size == 4 && offset == 4) {
		fw->dma_addr |= __builtin_bswap32((uint32_t)value);
		run = true;
	} else if (size == 8 && offset == 0) {
		fw->dma_addr = __builtin_bswap64(value);
		run = true;
	}
	if (run) {
		uint64_t desc_addr = fw->dma_addr;

		fw->dma_addr = 0;
		fw_cfg_dma_run(fw, desc_addr);
	}
	pthread_mutex_unlock(&fw->lock);
}

const struct bus_ops fw_cfg_port_ops = {
    .read = fw_cfg_port_read,
    .write = fw_cfg_port_write,
};

const struct bus_ops fw_cfg_dma_ops = {
    .read = fw_cfg_dma_read,
    .write = fw_cfg_dma_write,
};

static_assert(FW_CFG_MAX_ENTRY <= FW_CFG_ENTRY_MASK, "file keys fit in a selector");
static_assert(sizeof(fw_cfg_dma_signature) == FW_CFG_DMA_SIZE, "one signature byte per port");

/* ---- the board's view: the items are the board's business ---- */

static void *fw_cfg_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
			       char *err, size_t errlen)
{
	struct fw_cfg *fw = fw_cfg_create(ctx->mem);

	if (!fw) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	if (dev_claim(ctx->pio, FW_CFG_PORT_BASE, FW_CFG_PORT_SIZE, &fw_cfg_port_ops, fw, e->id,
		      err, errlen) < 0 ||
	    dev_claim(ctx->pio, FW_CFG_DMA_BASE, FW_CFG_DMA_SIZE, &fw_cfg_dma_ops, fw, "fw_cfg-dma",
		      err, errlen) < 0) {
		fw_cfg_destroy(fw);
		return NULL;
	}
	return fw;
}

static void fw_cfg_dev_destroy(void *state)
{
	fw_cfg_destroy(state);
}

const struct device_type fw_cfg_type = {
	.name = "fw_cfg",
	.create = fw_cfg_dev_create,
	.reset = fw_cfg_reset,
	.destroy = fw_cfg_dev_destroy,
};
