/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's ACPI table-loader script ("etc/table-loader", QEMU
 * hw/acpi/bios-linker-loader.c; SeaBIOS src/fw/romfile_loader.c): 128-byte
 * little-endian commands that tell the firmware where to put fw_cfg files,
 * which pointers between them to relocate and which checksums to fix.
 *
 * Two halves: a builder that writes a script, and an executor that runs one
 * into guest memory the way SeaBIOS would (for direct Linux boot, and as the
 * test oracle).  The executor treats the script and the files as untrusted:
 * every name, offset, size and alignment is checked, and a bad command is an
 * error status, never a crash.
 */
#ifndef MINIVMM_TABLE_LOADER_H
#define MINIVMM_TABLE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define TABLE_LOADER_FILE	"etc/table-loader"
#define TABLE_LOADER_ENTRY_SIZE 128
#define TABLE_LOADER_NAME_SIZE	56 /* NUL-terminated: at most 55 characters */

#define TABLE_LOADER_ALLOCATE	   1
#define TABLE_LOADER_ADD_POINTER   2
#define TABLE_LOADER_ADD_CHECKSUM  3
#define TABLE_LOADER_WRITE_POINTER 4

#define TABLE_LOADER_ZONE_HIGH 1 /* anywhere in RAM below 4 GiB */
#define TABLE_LOADER_ZONE_FSEG 2 /* the BIOS area, where the RSDP is searched for */

/* The range the executor accepts for ZONE_FSEG: where OSes scan for the RSDP
 * and the SMBIOS anchor (0xE0000-0xFFFFF). */
#define TABLE_LOADER_FSEG_START 0xe0000
#define TABLE_LOADER_FSEG_END	0x100000

struct table_loader {
	uint8_t *buf;
	size_t len, cap;
	int err; /* first error, reported by table_loader_finish */
};

void table_loader_init(struct table_loader *l);
void table_loader_allocate(struct table_loader *l, const char *file, uint32_t align, uint8_t zone);
/* file dest, bytes [offset, offset + size) += address of file src. */
void table_loader_add_pointer(struct table_loader *l, const char *dest, uint32_t offset,
			      uint8_t size, const char *src);
/* file[offset] -= sum of file[start, start + length). */
void table_loader_add_checksum(struct table_loader *l, const char *file, uint32_t offset,
			       uint32_t start, uint32_t length);
/* Hands over the script (caller frees *script): 0, or the first error
 * (-EINVAL for a bad name or argument, -ENOMEM); nothing is returned then. */
int table_loader_finish(struct table_loader *l, uint8_t **script, size_t *len);
void table_loader_free(struct table_loader *l);

/* A file the executor may ALLOCATE, and the guest address it goes to. */
struct table_loader_file {
	const char *name;
	const uint8_t *data;
	size_t size;
	uint64_t gpa;
};

/*
 * Runs script: ALLOCATE copies a listed file to its gpa (which must meet the
 * command's alignment and zone); ADD_POINTER and ADD_CHECKSUM patch the
 * copies in guest memory.  As in SeaBIOS, unknown commands and ALLOCATEs of
 * unlisted or empty files are skipped.  Returns 0, -EINVAL for a malformed
 * script (bad length, name, offset, size, alignment or zone, a file
 * allocated twice or overlapping another, a pointer that does not fit its
 * field, a reference to a file not allocated), -EFAULT when a file's range is
 * not writable guest RAM, -ENOTSUP for WRITE_POINTER.  On error guest memory
 * may hold a partial result.
 */
int table_loader_run(const uint8_t *script, size_t len, const struct table_loader_file *files,
		     unsigned nr_files, const struct guest_mem *mem);

#endif
