/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a fuzz input as a stream of little-endian integers: past the end
 * every read yields 0, so a program of any length is well-formed.
 */
#ifndef MINIVMM_FUZZ_INPUT_H
#define MINIVMM_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t len, pos;
};

static inline uint8_t in_u8(struct input *in)
{
	return in->pos < in->len ? in->p[in->pos++] : 0;
}

/* Separate statements because operand order is unspecified. */
static inline uint16_t in_u16(struct input *in)
{
	uint16_t lo = in_u8(in);

	return (uint16_t)(lo | in_u8(in) << 8);
}

static inline uint32_t in_u32(struct input *in)
{
	uint32_t lo = in_u16(in);

	return lo | (uint32_t)in_u16(in) << 16;
}

static inline uint64_t in_u64(struct input *in)
{
	uint64_t lo = in_u32(in);

	return lo | (uint64_t)in_u32(in) << 32;
}

#endif
