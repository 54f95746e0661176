/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk requests (virtio 1.x §5.2.6): a pure parser from a popped
 * chain into a typed request, in the manner of Firecracker's
 * Request::parse.  Nothing here touches the disk or the queue.
 *
 * A request is a 16-byte header {le32 type; le32 ioprio; le64 sector} in
 * the device-readable part, then data (readable for OUT, DISCARD and
 * WRITE_ZEROES; writable for IN and GET_ID), then one status byte: the last
 * byte of the device-writable part.  The header may share a buffer with
 * data (ANY_LAYOUT) and data may span buffers.
 *
 * Every check against a hostile guest is here: a chain without a writable
 * byte for the status cannot even be answered (vblk_parse returns
 * -EPROTO: the device fails the queue); anything else wrong is answered
 * with a status, never an assert:
 *   IOERR   no full header, data length not a multiple of 512, a sector
 *           range past the capacity (overflow-safe), buffers in the wrong
 *           direction for the type, a write to a read-only disk, a bad
 *           segment (past the end, too long, too many), a transfer larger
 *           than VBLK_MAX_BYTES;
 *   UNSUPP  an unknown type, DISCARD / WRITE_ZEROES when not allowed
 *           (not negotiated, or a legacy driver), unknown segment flags,
 *           the unmap flag on a DISCARD segment.
 */
#ifndef MINIVMM_VIRTIO_BLK_REQ_H
#define MINIVMM_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Request types (the header's type field) */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_BARRIER	  0x80000000u /* legacy flag, ignored as QEMU does */

/* Status byte */
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* DISCARD / WRITE_ZEROES segment flags */
#define VIRTIO_BLK_WZ_F_UNMAP 1

#define VBLK_SECTOR	  512u
#define VBLK_HDR_SIZE	  16u
#define VBLK_SEG_SIZE	  16u
#define VBLK_ID_BYTES	  20u
#define VBLK_MAX_IOV	  160u /* iovecs of one chain (seg_max 126 + header + status + splits) */
#define VBLK_MAX_SEGS	  16u /* DISCARD / WRITE_ZEROES segments per request */
#define VBLK_MAX_BYTES	  (128u << 20) /* the block layer takes up to 256 MiB */

enum vblk_type {
	VBLK_IN,
	VBLK_OUT,
	VBLK_FLUSH,
	VBLK_GET_ID,
	VBLK_DISCARD,
	VBLK_WRITE_ZEROES,
	VBLK_UNKNOWN,
	VBLK_NR_TYPES,
};

/* What the device allows; from its config and the negotiated features. */
struct vblk_limits {
	uint64_t capacity; /* in 512-byte sectors */
	bool read_only;
	bool discard, write_zeroes; /* negotiated and modern */
	uint32_t max_discard_sectors, max_discard_seg;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
};

struct vblk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct vblk_req {
	enum vblk_type type;
	uint32_t raw_type; /* as the guest wrote it */
	uint64_t sector;
	/* IN / OUT / GET_ID: the data (without header and status) */
	struct iovec data[VBLK_MAX_IOV];
	unsigned nr_data;
	uint64_t len; /* bytes of data */
	/* DISCARD / WRITE_ZEROES */
	struct vblk_seg segs[VBLK_MAX_SEGS];
	unsigned nr_segs;
	/* Where the status goes: the last writable byte (inside guest RAM). */
	uint8_t *status;
	/* VIRTIO_BLK_S_OK: carry it out; else complete at once with it. */
	uint8_t result;
};

/*
 * iov[0, nr_out) readable, iov[nr_out, nr_out + nr_in) writable, as
 * virtq_pop gives them.  0 with req filled (req->result says whether to go
 * on), or -EPROTO when there is no writable byte for the status.
 */
int vblk_parse(const struct iovec *iov, unsigned nr_out, unsigned nr_in,
	       const struct vblk_limits *lim, struct vblk_req *req);

/* A short name for the type ("in", "out", ...). */
const char *vblk_type_name(enum vblk_type t);

#endif
