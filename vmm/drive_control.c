// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The drives' control commands (vmm/drive_control.h).  The checks and error
 * texts follow QEMU 7.2's blockdev.c and its QAPI schema (argument types
 * first, then unexpected members; the drive; then the operation), the
 * tray's behaviour lives in devices/atapi.c.
 */
#include "vmm/drive_control.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/block/block.h"
#include "devices/ide.h"
#include "vmm/qmp.h"

#define MAX_DRIVES	 (CLI_MAX_DISKS + CLI_MAX_VIRTIO_DISKS + 1)
#define MAX_BACKING_WALK 64

struct dc_drive {
	char name[16]; /* ide1-cd0, virtio0 */
	char qdev[64]; /* /machine/ide/ide1-cd0, .../peripheral-anon/device[0]/virtio-backend */
	struct ide_channel *ch; /* NULL for a virtio disk */
	unsigned chan, unit;
	bool cdrom;
	struct block_dev **bd; /* the slot in struct drives: the current medium */
	bool read_only;	       /* of the current medium, for read-only-mode retain */
	int cache;	       /* enum block_cache, kept for every new medium */
	unsigned node;	       /* QEMU-like node name "#block%03u" of the medium */
};

struct dc_channel {
	struct drive_control *dc;
	unsigned idx;
};

struct drive_control {
	struct qmp *qmp;
	struct dc_drive drive[MAX_DRIVES];
	unsigned nr;
	struct dc_channel chan[2];
	unsigned next_node;
};

/* ---- the drives ---- */

static void add_drive(struct drive_control *dc, struct ide_channel *const channel[2], unsigned c,
		      unsigned unit, bool cdrom, struct block_dev **bd, const struct cli_drive *cd)
{
	struct dc_drive *d;

	if (!channel[c] || dc->nr == MAX_DRIVES)
		return; /* no IDE: no drive to control */
	d = &dc->drive[dc->nr++];
	snprintf(d->name, sizeof(d->name), "ide%u-%s%u", c, cdrom ? "cd" : "hd", unit);
	snprintf(d->qdev, sizeof(d->qdev), "/machine/ide/ide%u-%s%u", c, cdrom ? "cd" : "hd", unit);
	d->ch = channel[c];
	d->chan = c;
	d->unit = unit;
	d->cdrom = cdrom;
	d->bd = bd;
	d->read_only = *bd ? block_read_only(*bd) : true;
	d->cache = cd->cache;
	d->node = dc->next_node++;
}

/*
 * Virtio disk i as QEMU names a -drive if=virtio: virtio<i>, on the i-th
 * anonymous -device it creates for it (virtio-blk-pci, whose virtio-blk
 * child is the backend's device).  Not removable, no tray.
 */
static void add_virtio_drive(struct drive_control *dc, unsigned i, struct block_dev **bd,
			     const struct cli_drive *cd)
{
	struct dc_drive *d;

	if (dc->nr == MAX_DRIVES)
		return;
	d = &dc->drive[dc->nr++];
	snprintf(d->name, sizeof(d->name), "virtio%u", i);
	snprintf(d->qdev, sizeof(d->qdev), "/machine/peripheral-anon/device[%u]/virtio-backend", i);
	d->bd = bd;
	d->read_only = *bd ? block_read_only(*bd) : true;
	d->cache = cd->cache;
	d->node = dc->next_node++;
}

/* Called by IDE with the channel's mutex held, on any thread. */
static void tray_moved(void *opaque, unsigned unit, bool open)
{
	struct dc_channel *c = opaque;
	struct drive_control *dc = c->dc;

	for (unsigned i = 0; i < dc->nr; i++) {
		const struct dc_drive *d = &dc->drive[i];

		if (d->cdrom && d->chan == c->idx && d->unit == unit) {
			qmp_event(dc->qmp, "DEVICE_TRAY_MOVED",
				  json_pack("{s:s, s:s, s:b}", "device", d->name, "id", d->qdev,
					    "tray-open", open));
			return;
		}
	}
}

struct drive_control *drive_control_new(struct drives *d, const struct vm_config *cfg,
					struct ide_channel *const channel[2], struct qmp *q)
{
	struct drive_control *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return NULL;
	dc->qmp = q;
	dc->next_node = 100;
	/* The disks in command-line order, as QEMU creates the backends of
	 * its -drive options, then the CD-ROM. */
	for (unsigned i = 0, j = 0; i < d->nr_disks || j < d->nr_vdisks;) {
		if (j == d->nr_vdisks ||
		    (i < d->nr_disks && cfg->disks[i].seq < cfg->vdisks[j].seq)) {
			if (i < CLI_MAX_DISKS)
				add_drive(dc, channel, drives_disk_pos[i][0], drives_disk_pos[i][1],
					  false, &d->disk[i], &cfg->disks[i]);
			i++;
		} else {
			if (j < CLI_MAX_VIRTIO_DISKS)
				add_virtio_drive(dc, j, &d->vdisk[j], &cfg->vdisks[j]);
			j++;
		}
	}
	if (d->has_cdrom)
		add_drive(dc, channel, DRIVES_CDROM_CHANNEL, DRIVES_CDROM_UNIT, true, &d->cdrom,
			  &cfg->cdrom);
	for (unsigned c = 0; c < 2; c++) {
		dc->chan[c] = (struct dc_channel){.dc = dc, .idx = c};
		if (channel[c])
			ide_set_tray_notifier(channel[c], tray_moved, &dc->chan[c]);
	}
	return dc;
}

void drive_control_free(struct drive_control *dc)
{
	free(dc);
}

/* ---- the operations, as QEMU's blockdev.c does them ---- */

/* qmp_get_blk(): exactly one of device and id. */
static struct dc_drive *find_drive(struct drive_control *dc, const char *device, const char *id,
				   struct qmp_error *err)
{
	if (!device == !id) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Need exactly one of 'device' and 'id'");
		return NULL;
	}
	for (unsigned i = 0; i < dc->nr; i++) {
		struct dc_drive *d = &dc->drive[i];

		if (!strcmp(device ? d->name : d->qdev, device ? device : id))
			return d;
	}
	qmp_error_set(err, QMP_ERR_DEVICE_NOT_FOUND, "Device '%.200s' not found",
		      device ? device : id);
	return NULL;
}

static int not_removable(const char *label, struct qmp_error *err)
{
	qmp_error_set(err, QMP_ERR_GENERIC, "Device '%.200s' is not removable", label);
	return -ENOTSUP;
}

static int ide_failed(const char *label, int ret, struct qmp_error *err)
{
	qmp_error_set(err, QMP_ERR_GENERIC, "Device '%.200s': %s", label, strerror(-ret));
	return ret;
}

/* do_open_tray(): 0 when the tray is open; -EINPROGRESS when the guest
 * locked it (it was asked to allow the eject), with QEMU's message. */
static int open_tray(struct dc_drive *d, const char *label, bool force, struct qmp_error *err)
{
	int ret;

	if (!d->cdrom)
		return not_removable(label, err);
	ret = ide_cdrom_open_tray(d->ch, d->unit, force);
	if (ret == -EBUSY) {
		qmp_error_set(
		    err, QMP_ERR_GENERIC,
		    "Device '%.200s' is locked and force was not specified, wait for tray "
		    "to open and try again",
		    label);
		return -EINPROGRESS;
	}
	return ret ? ide_failed(label, ret, err) : 0;
}

static int close_tray(struct dc_drive *d, const char *label, struct qmp_error *err)
{
	int ret;

	if (!d->cdrom)
		return not_removable(label, err);
	ret = ide_cdrom_close_tray(d->ch, d->unit);
	return ret ? ide_failed(label, ret, err) : 0;
}

/* Puts bd (NULL: nothing) in the open tray; the old medium is closed. */
static int swap_medium(struct dc_drive *d, const char *label, struct block_dev *bd,
		       struct qmp_error *err)
{
	struct ide_cdrom_state st;
	struct block_dev *old = NULL;
	int ret;

	if (!d->cdrom)
		return not_removable(label, err);
	ret = ide_cdrom_get_state(d->ch, d->unit, &st);
	if (!ret && !st.tray_open) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Tray of device '%.200s' is not open", label);
		return -EBUSY;
	}
	if (!ret)
		ret = ide_cdrom_swap_medium(d->ch, d->unit, bd, &old);
	if (ret)
		return ide_failed(label, ret, err);
	if (old)
		block_close(old);
	*d->bd = bd;
	if (bd)
		d->read_only = block_read_only(bd);
	return 0;
}

int drive_control_eject(struct drive_control *dc, const char *device, const char *id, bool force,
			struct qmp_error *err)
{
	struct dc_drive *d = find_drive(dc, device, id, err);
	const char *label = device ? device : id;

	if (!d || open_tray(d, label, force, err) < 0)
		return -1;
	return swap_medium(d, label, NULL, err) < 0 ? -1 : 0;
}

/* The new medium, opened as drives.c opens one at start-up. */
static struct block_dev *open_medium(const struct dc_drive *d, const char *filename,
				     const char *format, bool read_only, struct qmp_error *err)
{
	struct block_opts o = {
	    .format = format,
	    .read_only = read_only,
	    .cache = (enum block_cache)d->cache,
	};
	struct block_dev *bd;
	char why[400];

	if (!*filename) {
		qmp_error_set(err, QMP_ERR_GENERIC, "The 'file' block driver requires a file name");
		return NULL;
	}
	if (format && strcmp(format, "raw") && strcmp(format, "qcow2")) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Unknown driver '%.200s'", format);
		return NULL;
	}
	if (block_open(&bd, filename, &o, why, sizeof(why)) < 0) {
		/* QEMU's capital: "Could not open 'x': No such file or directory" */
		if (!strncmp(why, "could not ", 10))
			why[0] = 'C';
		if (strstr(why, filename))
			qmp_error_set(err, QMP_ERR_GENERIC, "%s", why);
		else
			qmp_error_set(err, QMP_ERR_GENERIC, "Could not open '%.200s': %s", filename,
				      why);
		return NULL;
	}
	/* What IDE cannot attach: say so rather than "Invalid argument". */
	if (d->cdrom && block_size(bd) < 2048) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "'%.200s' is %s (%llu bytes; a CD-ROM needs at least 2048)", filename,
			      block_size(bd) ? "too small" : "empty",
			      (unsigned long long)block_size(bd));
		block_close(bd);
		return NULL;
	}
	return bd;
}

static int parse_read_only_mode(const char *mode, const struct dc_drive *d, bool *ro,
				struct qmp_error *err)
{
	if (!mode || !strcmp(mode, "retain"))
		*ro = d->read_only;
	else if (!strcmp(mode, "read-only"))
		*ro = true;
	else if (!strcmp(mode, "read-write"))
		*ro = false;
	else {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Parameter 'read-only-mode' does not accept value '%.200s'", mode);
		return -1;
	}
	return 0;
}

int drive_control_change(struct drive_control *dc, const char *device, const char *id,
			 const char *filename, const char *format, bool force,
			 const char *read_only_mode, struct qmp_error *err)
{
	struct dc_drive *d = find_drive(dc, device, id, err);
	const char *label = device ? device : id;
	struct block_dev *bd;
	bool ro;

	if (!d || parse_read_only_mode(read_only_mode, d, &ro, err) < 0)
		return -1;
	/* The image first, as QEMU: a bad one changes nothing, not even the tray. */
	bd = open_medium(d, filename, format, ro, err);
	if (!bd)
		return -1;
	if (open_tray(d, label, force, err) < 0 || swap_medium(d, label, bd, err) < 0) {
		block_close(bd);
		return -1;
	}
	d->node = dc->next_node++;
	return close_tray(d, label, err) < 0 ? -1 : 0;
}

/* ---- query-block ---- */

static json_t *cache_json(int cache)
{
	bool wb = cache != BLOCK_CACHE_WRITETHROUGH && cache != BLOCK_CACHE_DIRECTSYNC;
	bool direct = cache == BLOCK_CACHE_NONE || cache == BLOCK_CACHE_DIRECTSYNC;

	return json_pack("{s:b, s:b, s:b}", "writeback", wb, "direct", direct, "no-flush",
			 cache == BLOCK_CACHE_UNSAFE);
}

/* A backing file name as the image holds it, resolved against the image's
 * directory (QEMU's full-backing-filename). */
static void resolve_backing(const char *image, const char *backing, char *out, size_t len)
{
	char dir[1024];

	if (backing[0] == '/') {
		snprintf(out, len, "%s", backing);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", image);
	snprintf(out, len, "%s/%s", dirname(dir), backing);
}

/* How many images lie below the top one: read from their headers. */
static unsigned backing_depth(const char *image, const char *backing)
{
	char cur[1024], next[1024];
	unsigned depth = 0;

	snprintf(cur, sizeof(cur), "%s", image);
	snprintf(next, sizeof(next), "%s", backing);
	while (*next && depth < MAX_BACKING_WALK) {
		struct block_info info;
		char path[1024], err[128];

		depth++;
		resolve_backing(cur, next, path, sizeof(path));
		if (block_describe(path, NULL, &info, err, sizeof(err)) < 0)
			break; /* raw (or unreadable): the end of the chain */
		snprintf(cur, sizeof(cur), "%s", path);
		snprintf(next, sizeof(next), "%s", info.backing_file);
		block_info_free(&info);
	}
	return depth;
}

static json_t *image_json(struct block_dev *bd, const struct block_info *info)
{
	const char *file = block_name(bd);
	json_t *img =
	    json_pack("{s:s, s:s, s:I, s:b}", "filename", file, "format", info->format,
		      "virtual-size", (json_int_t)info->virtual_size, "dirty-flag", info->dirty);
	struct stat st;

	if (!img)
		return NULL;
	if (stat(file, &st) == 0)
		json_object_set_new(img, "actual-size",
				    json_integer((json_int_t)st.st_blocks * 512));
	if (!strcmp(info->format, "qcow2")) {
		json_t *data = json_pack("{s:s, s:s, s:i}", "compat",
					 info->version == 2 ? "0.10" : "1.1", "compression-type",
					 *info->compression_type ? info->compression_type : "zlib",
					 "refcount-bits", (int)info->refcount_bits);

		if (data && info->version != 2) {
			json_object_set_new(data, "lazy-refcounts",
					    json_boolean(info->lazy_refcounts));
			json_object_set_new(data, "corrupt", json_boolean(info->corrupt));
			json_object_set_new(data, "extended-l2", json_boolean(info->extended_l2));
		}
		json_object_set_new(img, "cluster-size", json_integer(info->cluster_size));
		json_object_set_new(img, "format-specific",
				    json_pack("{s:s, s:o}", "type", "qcow2", "data", data));
	}
	if (*info->backing_file) {
		char full[2048];

		resolve_backing(file, info->backing_file, full, sizeof(full));
		json_object_set_new(img, "backing-filename", json_string(info->backing_file));
		json_object_set_new(img, "full-backing-filename", json_string(full));
		if (*info->backing_format)
			json_object_set_new(img, "backing-filename-format",
					    json_string(info->backing_format));
	}
	return img;
}

static json_t *inserted_json(const struct dc_drive *d)
{
	struct block_dev *bd = *d->bd;
	struct block_info info;
	char node[16];
	json_t *ins;

	if (block_get_info(bd, &info) < 0) {
		memset(&info, 0, sizeof(info));
		snprintf(info.format, sizeof(info.format), "%s", block_format(bd));
		info.virtual_size = block_size(bd);
	}
	snprintf(node, sizeof(node), "#block%03u", d->node);
	ins = json_pack("{s:s, s:s, s:b, s:s, s:i, s:b, s:s, s:o, s:o}", "file", block_name(bd),
			"node-name", node, "ro", block_read_only(bd), "drv", info.format,
			"backing_file_depth", (int)backing_depth(block_name(bd), info.backing_file),
			"encrypted", false, "detect_zeroes", "off", "cache", cache_json(d->cache),
			"image", image_json(bd, &info));
	/* No I/O throttling here: QEMU reports its limits as zeros then. */
	static const char *const zeros[] = {"bps",     "bps_rd",  "bps_wr",	    "iops",
					    "iops_rd", "iops_wr", "write_threshold"};
	for (size_t i = 0; ins && i < sizeof(zeros) / sizeof(zeros[0]); i++)
		json_object_set_new(ins, zeros[i], json_integer(0));
	if (ins && *info.backing_file) {
		char full[2048];

		/* QEMU gives the resolved name here, the stored one in image. */
		resolve_backing(block_name(bd), info.backing_file, full, sizeof(full));
		json_object_set_new(ins, "backing_file", json_string(full));
	}
	block_info_free(&info);
	return ins;
}

static json_t *drive_json(const struct dc_drive *d)
{
	struct ide_cdrom_state st = {.bd = *d->bd};
	json_t *o;

	if (d->cdrom && ide_cdrom_get_state(d->ch, d->unit, &st) < 0)
		return NULL;
	o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "device", d->name, "qdev", d->qdev,
		      "locked", st.locked, "removable", d->cdrom, "io-status", "ok", "type",
		      "unknown");
	if (o && d->cdrom)
		json_object_set_new(o, "tray_open", json_boolean(st.tray_open));
	if (o && *d->bd)
		json_object_set_new(o, "inserted", inserted_json(d));
	return o;
}

/* ---- the QMP commands ---- */

/* device and id, both optional strings, in the schema's order. */
static int arg_drive(json_t *args, const char **device, const char **id, struct qmp_error *err)
{
	*device = *id = NULL;
	if (qmp_arg_string(args, "device", false, device, err) < 0 ||
	    qmp_arg_string(args, "id", false, id, err) < 0)
		return -1;
	return 0;
}

static json_t *ok_or_null(int ret)
{
	return ret < 0 ? NULL : json_object();
}

static json_t *cmd_query_block(void *opaque, json_t *args, struct qmp_error *err)
{
	struct drive_control *dc = opaque;
	static const char *const allowed[] = {NULL};
	json_t *list;

	if (qmp_args_only(args, allowed, err) < 0)
		return NULL;
	list = json_array();
	for (unsigned i = 0; list && i < dc->nr; i++)
		json_array_append_new(list, drive_json(&dc->drive[i]));
	return list;
}

static json_t *cmd_eject(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"device", "id", "force", NULL};
	const char *device, *id;
	bool force = false;

	if (arg_drive(args, &device, &id, err) < 0 ||
	    qmp_arg_bool(args, "force", false, &force, err) < 0 ||
	    qmp_args_only(args, allowed, err) < 0)
		return NULL;
	return ok_or_null(drive_control_eject(opaque, device, id, force, err));
}

static json_t *cmd_change_medium(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"device",		"id", "filename", "format", "force",
					      "read-only-mode", NULL};
	const char *device, *id, *filename = NULL, *format = NULL, *mode = NULL;
	bool force = false;

	if (arg_drive(args, &device, &id, err) < 0 ||
	    qmp_arg_string(args, "filename", true, &filename, err) < 0 ||
	    qmp_arg_string(args, "format", false, &format, err) < 0 ||
	    qmp_arg_bool(args, "force", false, &force, err) < 0 ||
	    qmp_arg_string(args, "read-only-mode", false, &mode, err) < 0)
		return NULL;
	/* An enum's value is checked where the schema visits it. */
	if (mode && strcmp(mode, "retain") && strcmp(mode, "read-only") &&
	    strcmp(mode, "read-write")) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Parameter 'read-only-mode' does not accept value '%.200s'", mode);
		return NULL;
	}
	if (qmp_args_only(args, allowed, err) < 0)
		return NULL;
	return ok_or_null(
	    drive_control_change(opaque, device, id, filename, format, force, mode, err));
}

static json_t *cmd_open_tray(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"device", "id", "force", NULL};
	const char *device, *id;
	struct dc_drive *d;
	bool force = false;
	int ret;

	if (arg_drive(args, &device, &id, err) < 0 ||
	    qmp_arg_bool(args, "force", false, &force, err) < 0 ||
	    qmp_args_only(args, allowed, err) < 0)
		return NULL;
	d = find_drive(opaque, device, id, err);
	if (!d)
		return NULL;
	/* A locked tray: the guest has been asked; that is a success here. */
	ret = open_tray(d, device ? device : id, force, err);
	if (ret == -EINPROGRESS) {
		err->cls = NULL;
		ret = 0;
	}
	return ok_or_null(ret);
}

static json_t *cmd_close_tray(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"device", "id", NULL};
	const char *device, *id;
	struct dc_drive *d;

	if (arg_drive(args, &device, &id, err) < 0 || qmp_args_only(args, allowed, err) < 0)
		return NULL;
	d = find_drive(opaque, device, id, err);
	if (!d)
		return NULL;
	return ok_or_null(close_tray(d, device ? device : id, err));
}

static json_t *cmd_remove_medium(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"id", NULL};
	const char *id = NULL;
	struct dc_drive *d;

	if (qmp_arg_string(args, "id", true, &id, err) < 0 || qmp_args_only(args, allowed, err) < 0)
		return NULL;
	d = find_drive(opaque, NULL, id, err);
	if (!d)
		return NULL;
	return ok_or_null(swap_medium(d, id, NULL, err));
}

int drive_control_register(struct qmp *q, struct drive_control *dc)
{
	static const struct {
		const char *name;
		qmp_command_fn fn;
	} cmds[] = {
	    {"query-block", cmd_query_block},
	    {"eject", cmd_eject},
	    {"blockdev-change-medium", cmd_change_medium},
	    {"blockdev-open-tray", cmd_open_tray},
	    {"blockdev-close-tray", cmd_close_tray},
	    {"blockdev-remove-medium", cmd_remove_medium},
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int ret = qmp_register(q, cmds[i].name, cmds[i].fn, dc);

		if (ret < 0)
			return ret;
	}
	return 0;
}
