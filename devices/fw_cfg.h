/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's firmware configuration device (fw_cfg) on x86 I/O ports, as SeaBIOS
 * and Linux's qemu_fw_cfg driver use it (QEMU docs/specs/fw_cfg.rst).
 *
 * Two bus ranges, laid out as QEMU lays them out:
 *   FW_CFG_PORT_BASE (0x510, 2 bytes): a 16-bit write selects an item and
 *     rewinds it; a 1-byte read at either port returns the next data byte
 *     (0 past the end or for an unknown key).  Other accesses do nothing and
 *     read 0.
 *   FW_CFG_DMA_BASE (0x514, 8 bytes, only if DMA is enabled): the big-endian
 *     DMA descriptor address.  A 4-byte write at offset 0 sets the high half,
 *     a 4-byte write at offset 4 ORs in the low half and runs the transfer, an
 *     8-byte write at offset 0 sets all of it and runs the transfer.  Reads
 *     return the bytes of "QEMU CFG".
 *
 * Items are either numeric (keys below FW_CFG_FILE_FIRST, plus the same range
 * with the architecture bit FW_CFG_ARCH_LOCAL) or named files.  As in QEMU's
 * current machine types, files are kept sorted by name and file i of that
 * order has key FW_CFG_FILE_FIRST + i, so keys shift while files are being
 * added: add everything before the guest runs and look keys up by name.
 * The add functions copy the data.
 *
 * All entry points take the device's own mutex; they may be called from any
 * thread.  A write callback runs with that mutex held and must not call back
 * into this device.
 */
#ifndef MINIVMM_FW_CFG_H
#define MINIVMM_FW_CFG_H

#include "vmm/device.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/guest_mem.h"

#define FW_CFG_PORT_BASE 0x510
#define FW_CFG_PORT_SIZE 2
#define FW_CFG_DMA_BASE	 0x514
#define FW_CFG_DMA_SIZE	 8

/* Numeric keys (the ones the device fills itself are marked). */
#define FW_CFG_SIGNATURE      0x00 /* device: "QEMU" */
#define FW_CFG_ID	      0x01 /* device: LE u32 feature bits */
#define FW_CFG_UUID	      0x02
#define FW_CFG_RAM_SIZE	      0x03
#define FW_CFG_NOGRAPHIC      0x04
#define FW_CFG_NB_CPUS	      0x05
#define FW_CFG_NUMA	      0x0d
#define FW_CFG_BOOT_MENU      0x0e
#define FW_CFG_MAX_CPUS	      0x0f
#define FW_CFG_FILE_DIR	      0x19 /* device: the file directory */
#define FW_CFG_FILE_FIRST     0x20
#define FW_CFG_ARCH_LOCAL     0x8000
#define FW_CFG_ACPI_TABLES    (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE  (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE     (FW_CFG_ARCH_LOCAL + 3)

#define FW_CFG_MAX_FILES    64
#define FW_CFG_MAX_NAME_LEN 55 /* plus the NUL in the 56-byte directory field */

/* FW_CFG_ID bits */
#define FW_CFG_VERSION	   0x01
#define FW_CFG_VERSION_DMA 0x02

/* DMA control bits */
#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10

struct fw_cfg;

/*
 * Called after a guest DMA write of [offset, offset + len) into a writable
 * file.  data/size are the whole file as it is now; valid during the call.
 */
typedef void fw_cfg_write_cb(void *opaque, const uint8_t *data, uint32_t size, uint32_t offset,
			     uint32_t len);

/* mem NULL: no DMA (FW_CFG_ID says so; don't register the DMA range). */
struct fw_cfg *fw_cfg_create(const struct guest_mem *mem);
void fw_cfg_destroy(struct fw_cfg *fw);
/* Selects key 0 at offset 0 and clears the DMA address (machine reset). */
void fw_cfg_reset(void *fw);

/*
 * Numeric items: key below FW_CFG_FILE_FIRST, optionally with
 * FW_CFG_ARCH_LOCAL; the device's own keys 0x00, 0x01 and 0x19 are refused.
 * 0, -EINVAL (bad key or len >= 4 GiB), -EEXIST, -ENOMEM.
 */
int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len);
int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t value); /* little-endian */
int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t value);
int fw_cfg_add_u64(struct fw_cfg *fw, uint16_t key, uint64_t value);

/*
 * Named files.  0, -EINVAL (empty name, longer than FW_CFG_MAX_NAME_LEN or
 * len >= 4 GiB), -EEXIST (same name), -ENOSPC (FW_CFG_MAX_FILES), -ENOMEM.
 * A writable file takes guest DMA writes that stay inside it; write_cb may
 * be NULL.
 */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len,
		    bool writable);
int fw_cfg_add_file_cb(struct fw_cfg *fw, const char *name, const void *data, size_t len,
		       bool writable, fw_cfg_write_cb *write_cb, void *opaque);
/* The key a file has now, or -ENOENT. */
int fw_cfg_file_key(struct fw_cfg *fw, const char *name);

extern const struct bus_ops fw_cfg_port_ops; /* opaque: struct fw_cfg * */
extern const struct bus_ops fw_cfg_dma_ops;  /* opaque: struct fw_cfg * */

/* Board row: claims 0x510-0x511 and the DMA port 0x514. */
extern const struct device_type fw_cfg_type;

#endif
