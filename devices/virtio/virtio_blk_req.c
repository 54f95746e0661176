// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio-blk request parser; the rules are in virtio_blk_req.h.
 */
#include "devices/virtio/virtio_blk_req.h"

#include <errno.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "vmm/le.h"

const char *vblk_type_name(enum vblk_type t)
{
	static const char *const names[VBLK_NR_TYPES] = {
	    [VBLK_IN] = "in",
	    [VBLK_OUT] = "out",
	    [VBLK_FLUSH] = "flush",
	    [VBLK_GET_ID] = "get-id",
	    [VBLK_DISCARD] = "discard",
	    [VBLK_WRITE_ZEROES] = "write-zeroes",
	    [VBLK_UNKNOWN] = "unknown",
	};

	return (unsigned)t < VBLK_NR_TYPES ? names[t] : "?";
}

static enum vblk_type classify(uint32_t type)
{
	switch (type & ~VIRTIO_BLK_T_BARRIER) {
	case VIRTIO_BLK_T_IN:
		return VBLK_IN;
	case VIRTIO_BLK_T_OUT:
		return VBLK_OUT;
	case VIRTIO_BLK_T_FLUSH:
		return VBLK_FLUSH;
	case VIRTIO_BLK_T_GET_ID:
		return VBLK_GET_ID;
	case VIRTIO_BLK_T_DISCARD:
		return VBLK_DISCARD;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return VBLK_WRITE_ZEROES;
	default:
		return VBLK_UNKNOWN;
	}
}

/* [sector, sector + count) inside the disk, without overflow. */
static bool range_ok(const struct vblk_limits *lim, uint64_t sector, uint64_t count)
{
	return sector <= lim->capacity && count <= lim->capacity - sector;
}

static uint8_t parse_segs(struct virtq_iter *rd, size_t bytes, const struct vblk_limits *lim,
			  struct vblk_req *req)
{
	bool wz = req->type == VBLK_WRITE_ZEROES;
	uint32_t max_sectors = wz ? lim->max_write_zeroes_sectors : lim->max_discard_sectors;
	uint32_t max_seg = wz ? lim->max_write_zeroes_seg : lim->max_discard_seg;
	uint32_t allowed_flags = wz ? VIRTIO_BLK_WZ_F_UNMAP : 0;
	size_t n;

	if (!(wz ? lim->write_zeroes : lim->discard))
		return VIRTIO_BLK_S_UNSUPP;
	if (lim->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (bytes == 0 || bytes % VBLK_SEG_SIZE)
		return VIRTIO_BLK_S_IOERR;
	n = bytes / VBLK_SEG_SIZE;
	if (n > max_seg || n > VBLK_MAX_SEGS)
		return VIRTIO_BLK_S_IOERR;
	for (size_t i = 0; i < n; i++) {
		uint8_t b[VBLK_SEG_SIZE];
		struct vblk_seg *s = &req->segs[i];

		if (!virtq_iter_take(rd, b, sizeof(b)))
			return VIRTIO_BLK_S_IOERR;
		s->sector = le64_get(b);
		s->num_sectors = le32_get(b + 8);
		s->flags = le32_get(b + 12);
		if (s->flags & ~allowed_flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (s->num_sectors > max_sectors || !range_ok(lim, s->sector, s->num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	req->nr_segs = (unsigned)n;
	return VIRTIO_BLK_S_OK;
}

static uint8_t parse_body(const struct iovec *iov, unsigned nr_out, unsigned nr_in,
			  size_t in_data, const struct vblk_limits *lim, struct vblk_req *req)
{
	struct virtq_iter rd, wr;
	uint8_t hdr[VBLK_HDR_SIZE];
	size_t out_data;

	virtq_iter_init(&rd, iov, nr_out);
	virtq_iter_init(&wr, iov + nr_out, nr_in);
	if (!virtq_iter_take(&rd, hdr, sizeof(hdr))) {
		req->type = VBLK_UNKNOWN;
		return VIRTIO_BLK_S_IOERR;
	}
	req->raw_type = le32_get(hdr);
	req->sector = le64_get(hdr + 8);
	req->type = classify(req->raw_type);
	out_data = rd.left;

	switch (req->type) {
	case VBLK_IN:
	case VBLK_OUT: {
		bool in = req->type == VBLK_IN;
		struct virtq_iter *it = in ? &wr : &rd;
		size_t len = in ? in_data : out_data;

		/* Data goes one way only: the other side holds only the header
		 * (reads) or only the status (writes). */
		if ((in && out_data) || (!in && in_data))
			return VIRTIO_BLK_S_IOERR;
		if (!in && lim->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (len % VBLK_SECTOR || len > VBLK_MAX_BYTES)
			return VIRTIO_BLK_S_IOERR;
		if (!range_ok(lim, req->sector, len / VBLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (virtq_iter_slice(it, len, req->data, VBLK_MAX_IOV, &req->nr_data) < 0)
			return VIRTIO_BLK_S_IOERR;
		req->len = len;
		return VIRTIO_BLK_S_OK;
	}
	case VBLK_FLUSH:
		if (out_data || in_data)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VBLK_GET_ID: {
		size_t len = in_data < VBLK_ID_BYTES ? in_data : VBLK_ID_BYTES;

		if (out_data)
			return VIRTIO_BLK_S_IOERR;
		if (virtq_iter_slice(&wr, len, req->data, VBLK_MAX_IOV, &req->nr_data) < 0)
			return VIRTIO_BLK_S_IOERR;
		req->len = len;
		return VIRTIO_BLK_S_OK;
	}
	case VBLK_DISCARD:
	case VBLK_WRITE_ZEROES:
		if (in_data)
			return VIRTIO_BLK_S_IOERR;
		return parse_segs(&rd, out_data, lim, req);
	case VBLK_UNKNOWN:
	case VBLK_NR_TYPES:
		break;
	}
	return VIRTIO_BLK_S_UNSUPP;
}

int vblk_parse(const struct iovec *iov, unsigned nr_out, unsigned nr_in,
	       const struct vblk_limits *lim, struct vblk_req *req)
{
	size_t in_len = 0;
	int last = -1;

	req->type = VBLK_UNKNOWN;
	req->raw_type = 0;
	req->sector = 0;
	req->nr_data = 0;
	req->len = 0;
	req->nr_segs = 0;
	req->status = NULL;
	req->result = VIRTIO_BLK_S_IOERR;

	/* The status byte: the last byte of the last non-empty writable
	 * iovec.  Without one the request cannot be answered at all. */
	for (unsigned i = 0; i < nr_in; i++) {
		size_t l = iov[nr_out + i].iov_len;

		if (l) {
			last = (int)i;
			in_len += l;
		}
	}
	if (last < 0)
		return -EPROTO;
	req->status = (uint8_t *)iov[nr_out + last].iov_base + iov[nr_out + last].iov_len - 1;
	req->result = parse_body(iov, nr_out, nr_in, in_len - 1, lim, req);
	if (req->result != VIRTIO_BLK_S_OK) {
		req->nr_data = 0;
		req->len = 0;
		req->nr_segs = 0;
	}
	return 0;
}
