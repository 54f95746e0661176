// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/drives.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/block/block.h"

const unsigned drives_disk_pos[CLI_MAX_DISKS][2] = { { 0, 0 }, { 0, 1 }, { 1, 1 } };

static int open_drive(const struct cli_drive *d, bool cdrom, struct block_dev **out, char *err,
		      size_t errlen)
{
	const char *opt = cdrom ? "--cdrom" : "--disk";
	struct block_opts o = {
		.format = d->format,
		.read_only = d->read_only || cdrom,
		.snapshot = d->snapshot,
		.cache = (enum block_cache)d->cache,
		.quiet_probe = true, /* warned once every drive has opened */
	};
	char why[256];

	if (block_open(out, d->path, &o, why, sizeof(why)) < 0) {
		/* Name the image when the block layer's reason does not. */
		if (strstr(why, d->path))
			snprintf(err, errlen, "%s: %s", opt, why);
		else
			snprintf(err, errlen, "%s: '%s': %s", opt, d->path, why);
		return -1;
	}
	/* What IDE refuses to attach: name the file rather than "Invalid argument". */
	if (block_size(*out) < (cdrom ? 2048 : 512)) {
		snprintf(err, errlen, "%s: '%s' is %s (%llu bytes; a %s needs at least %u)", opt,
			 d->path, block_size(*out) ? "too small" : "empty",
			 (unsigned long long)block_size(*out), cdrom ? "CD-ROM" : "disk",
			 cdrom ? 2048 : 512);
		block_close(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int drives_open(struct drives *d, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct block_dev *in_order[CLI_MAX_DISKS + CLI_MAX_VIRTIO_DISKS];
	unsigned n = 0;

	memset(d, 0, sizeof(*d));
	/* IDE and virtio disks alike, in the order of their --disk options. */
	while (d->nr_disks < cfg->nr_disks || d->nr_vdisks < cfg->nr_vdisks) {
		bool ide = d->nr_vdisks == cfg->nr_vdisks ||
			   (d->nr_disks < cfg->nr_disks &&
			    cfg->disks[d->nr_disks].seq < cfg->vdisks[d->nr_vdisks].seq);

		if (ide) {
			if (open_drive(&cfg->disks[d->nr_disks], false, &d->disk[d->nr_disks], err,
				       errlen) < 0)
				goto fail;
			in_order[n++] = d->disk[d->nr_disks++];
		} else {
			if (open_drive(&cfg->vdisks[d->nr_vdisks], false, &d->vdisk[d->nr_vdisks],
				       err, errlen) < 0)
				goto fail;
			in_order[n++] = d->vdisk[d->nr_vdisks++];
		}
	}
	if (cfg->has_cdrom) {
		if (*cfg->cdrom.path && open_drive(&cfg->cdrom, true, &d->cdrom, err, errlen) < 0)
			goto fail;
		d->has_cdrom = true;
	}
	/* Only now, so that a start that fails says one thing: what failed. */
	for (unsigned i = 0; i < n; i++)
		block_warn_probed(in_order[i]);
	return 0;
fail:
	drives_close(d);
	return -1;
}

void drives_close(struct drives *d)
{
	for (unsigned i = 0; i < CLI_MAX_DISKS; i++) {
		if (d->disk[i])
			block_close(d->disk[i]);
		d->disk[i] = NULL;
	}
	for (unsigned i = 0; i < CLI_MAX_VIRTIO_DISKS; i++) {
		if (d->vdisk[i])
			block_close(d->vdisk[i]);
		d->vdisk[i] = NULL;
	}
	if (d->cdrom)
		block_close(d->cdrom);
	d->cdrom = NULL;
	d->nr_disks = 0;
	d->nr_vdisks = 0;
	d->has_cdrom = false;
}

int drives_flush(struct drives *d)
{
	struct block_dev *all[CLI_MAX_DISKS + CLI_MAX_VIRTIO_DISKS + 1];
	unsigned n = 0;
	int ret = 0;

	for (unsigned i = 0; i < d->nr_disks; i++)
		all[n++] = d->disk[i];
	for (unsigned i = 0; i < d->nr_vdisks; i++)
		all[n++] = d->vdisk[i];
	all[n++] = d->cdrom;
	for (unsigned i = 0; i < n; i++) {
		int r;

		if (!all[i] || block_read_only(all[i]))
			continue;
		r = block_flush(all[i]);
		if (r < 0) {
			fprintf(stderr, "minivmm: '%s': flush failed: %s\n", block_name(all[i]),
				strerror(-r));
			ret = -1;
		}
	}
	return ret;
}
