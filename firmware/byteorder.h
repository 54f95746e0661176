/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Little-endian field accessors for the firmware tables (ACPI, SMBIOS, the
 * table-loader script): byte arrays with explicit offsets, no packed structs. */
#ifndef MINIVMM_FIRMWARE_BYTEORDER_H
#define MINIVMM_FIRMWARE_BYTEORDER_H

#include <stddef.h>
#include <stdint.h>

static inline void fw_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void fw_put_le32(uint8_t *p, uint32_t v)
{
	fw_put_le16(p, (uint16_t)v);
	fw_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void fw_put_le64(uint8_t *p, uint64_t v)
{
	fw_put_le32(p, (uint32_t)v);
	fw_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t fw_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t fw_get_le32(const uint8_t *p)
{
	return (uint32_t)fw_get_le16(p) | (uint32_t)fw_get_le16(p + 2) << 16;
}

static inline uint64_t fw_get_le64(const uint8_t *p)
{
	return (uint64_t)fw_get_le32(p) | (uint64_t)fw_get_le32(p + 4) << 32;
}

/* The byte that makes p[0..len) sum to zero, given that it is zero now. */
static inline uint8_t fw_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

#endif
