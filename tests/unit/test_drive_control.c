// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The drives' QMP commands through qmp_dispatch(), on two real IDE channels
 * with images opened as minivmm opens them (cli_parse, drives_open): a qcow2
 * disk as ide0-hd0 and a CD as ide1-cd0.  The expected texts are QEMU
 * 7.2's (its answers to the same commands, -machine pc -nodefaults with the
 * same drives).  The guest's side (PREVENT ALLOW MEDIUM REMOVAL, START STOP
 * UNIT) is driven through the channel's ports.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/block/block.h"
#include "devices/ide.h"
#include "vmm/cli.h"
#include "vmm/drive_control.h"
#include "vmm/drives.h"
#include "vmm/qmp.h"

#define RAM_SIZE (1u << 20)
#define CD_QDEV	 "/machine/ide/ide1-cd0"

struct fixture {
	char dir[64], disk[96], cd1[96], cd2[96], bad[96], tiny[96];
	uint8_t *ram;
	struct guest_mem mem;
	struct vm_config cfg;
	struct drives drives;
	struct ide_channel *ch[2];
	struct qmp *q;
	struct drive_control *dc;
	json_t *events;
};

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void make_cd(const char *path, unsigned blocks, uint8_t fill)
{
	size_t len = (size_t)blocks * 2048;
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, fill, len);
	write_file(path, buf, len);
	free(buf);
}

static void on_event(void *opaque, json_t *event)
{
	json_array_append(opaque, event);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct block_create_opts co = {.format = "qcow2", .size = 1 << 20};
	/* A qcow2 header of version 99: refused at open, by the header alone. */
	uint8_t bad[512] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 99};
	char err[256];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_drive_control_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->disk, sizeof(f->disk), "%s/disk.qcow2", f->dir);
	snprintf(f->cd1, sizeof(f->cd1), "%s/one.iso", f->dir);
	snprintf(f->cd2, sizeof(f->cd2), "%s/two.iso", f->dir);
	snprintf(f->bad, sizeof(f->bad), "%s/bad.qcow2", f->dir);
	snprintf(f->tiny, sizeof(f->tiny), "%s/tiny.iso", f->dir);
	assert_int_equal(block_create(f->disk, &co, err, sizeof(err)), 0);
	make_cd(f->cd1, 300, 0x11);
	make_cd(f->cd2, 100, 0x22);
	write_file(f->bad, bad, sizeof(bad));
	write_file(f->tiny, "tiny", 4);

	{
		char *argv[] = {"minivmm", "--disk", f->disk, "--cdrom", f->cd1, NULL};

		assert_int_equal(cli_parse(5, argv, &f->cfg, stdout, stderr), CLI_RUN);
	}
	assert_int_equal(drives_open(&f->drives, &f->cfg, err, sizeof(err)), 0);
	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(guest_mem_add(&f->mem, 0, RAM_SIZE, f->ram, false, "ram"), 0);
	for (unsigned c = 0; c < 2; c++) {
		f->ch[c] = ide_channel_create(NULL, &f->mem, NULL);
		assert_non_null(f->ch[c]);
	}
	assert_int_equal(ide_attach_disk(f->ch[0], 0, f->drives.disk[0]), 0);
	assert_int_equal(ide_attach_cdrom(f->ch[1], 0, f->drives.cdrom), 0);
	f->q = qmp_new(NULL);
	f->events = json_array();
	assert_int_equal(qmp_add_listener(f->q, on_event, f->events), 0);
	f->dc = drive_control_new(&f->drives, &f->cfg, f->ch, f->q);
	assert_non_null(f->dc);
	assert_int_equal(drive_control_register(f->q, f->dc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	for (unsigned c = 0; c < 2; c++)
		ide_channel_destroy(f->ch[c]);
	drive_control_free(f->dc);
	drives_close(&f->drives);
	qmp_free(f->q);
	json_decref(f->events);
	free(f->ram);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* Runs name with args (JSON text, NULL: {}); returns the reply or NULL
 * with err filled. */
static json_t *run(struct fixture *f, const char *name, const char *args, struct qmp_error *err)
{
	json_t *a = args ? json_loads(args, 0, NULL) : json_object();
	json_t *r;

	assert_non_null(a);
	memset(err, 0, sizeof(*err));
	r = qmp_dispatch(f->q, name, a, err);
	json_decref(a);
	return r;
}

static void expect_ok(struct fixture *f, const char *name, const char *args)
{
	struct qmp_error err;
	json_t *r = run(f, name, args, &err);

	if (!r)
		fail_msg("%s %s: %s", name, args ? args : "{}", err.desc);
	assert_true(json_is_object(r));
	assert_int_equal(json_object_size(r), 0);
	json_decref(r);
}

static void expect_err(struct fixture *f, const char *name, const char *args, const char *cls,
		       const char *desc)
{
	struct qmp_error err;
	json_t *r = run(f, name, args, &err);

	if (r)
		fail_msg("%s %s succeeded", name, args ? args : "{}");
	assert_string_equal(err.cls, cls);
	if (strcmp(err.desc, desc))
		fail_msg("%s %s: '%s', expected '%s'", name, args ? args : "{}", err.desc, desc);
}

/* The error text contains needle. */
static void expect_err_has(struct fixture *f, const char *name, const char *args,
			   const char *needle)
{
	struct qmp_error err;
	json_t *r = run(f, name, args, &err);

	if (r)
		fail_msg("%s %s succeeded", name, args);
	assert_string_equal(err.cls, QMP_ERR_GENERIC);
	if (!strstr(err.desc, needle))
		fail_msg("%s %s: '%s' lacks '%s'", name, args, err.desc, needle);
}

/* query-block's entry for device (a new reference). */
static json_t *query(struct fixture *f, const char *device)
{
	struct qmp_error err;
	json_t *list = run(f, "query-block", NULL, &err), *v;
	size_t i;

	assert_non_null(list);
	json_array_foreach(list, i, v)
	{
		if (!strcmp(json_string_value(json_object_get(v, "device")), device)) {
			json_incref(v);
			json_decref(list);
			return v;
		}
	}
	fail_msg("no %s in query-block", device);
	return NULL;
}

static bool member_true(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	assert_true(json_is_boolean(v));
	return json_is_true(v);
}

static const char *inserted_file(struct fixture *f, const char *device)
{
	static char file[256];
	json_t *d = query(f, device), *ins = json_object_get(d, "inserted");

	file[0] = '\0';
	if (ins)
		snprintf(file, sizeof(file), "%s", json_string_value(json_object_get(ins, "file")));
	json_decref(d);
	return ins ? file : NULL;
}

static bool tray_open(struct fixture *f)
{
	json_t *d = query(f, "ide1-cd0");
	bool open = member_true(d, "tray_open");

	json_decref(d);
	return open;
}

/* The DEVICE_TRAY_MOVED events since the last call, as "o" and "c". */
static const char *moves(struct fixture *f)
{
	static char out[16];
	size_t i, n = 0;
	json_t *ev;

	json_array_foreach(f->events, i, ev)
	{
		json_t *data = json_object_get(ev, "data");

		assert_string_equal(json_string_value(json_object_get(ev, "event")),
				    "DEVICE_TRAY_MOVED");
		assert_non_null(json_object_get(ev, "timestamp"));
		assert_string_equal(json_string_value(json_object_get(data, "device")), "ide1-cd0");
		assert_string_equal(json_string_value(json_object_get(data, "id")), CD_QDEV);
		if (n < sizeof(out) - 1)
			out[n++] = member_true(data, "tray-open") ? 'o' : 'c';
	}
	out[n] = '\0';
	json_array_clear(f->events);
	return out;
}

/* One ATAPI packet from the guest to ide1-cd0; returns the status. */
static uint8_t guest_packet(struct fixture *f, uint8_t b0, uint8_t b4)
{
	uint8_t pkt[12] = {b0, 0, 0, 0, b4};
	struct ide_channel *ch = f->ch[1];

	ide_cmd_bus_ops.write(ch, 6, 0xa0, 1);
	ide_cmd_bus_ops.write(ch, 1, 0, 1);
	ide_cmd_bus_ops.write(ch, 4, 0xfe, 1);
	ide_cmd_bus_ops.write(ch, 5, 0xff, 1);
	ide_cmd_bus_ops.write(ch, 7, 0xa0, 1);
	for (unsigned i = 0; i < 12; i += 2)
		ide_cmd_bus_ops.write(ch, 0, pkt[i] | pkt[i + 1] << 8, 2);
	ide_channel_drain(ch);
	return (uint8_t)ide_cmd_bus_ops.read(ch, 7, 1);
}

static void guest_lock(struct fixture *f, bool lock)
{
	/* A new disc's NOT READY and UNIT ATTENTION come first. */
	for (unsigned i = 0; i < 3 && guest_packet(f, 0x00, 0) != 0x50; i++)
		continue;
	assert_int_equal(guest_packet(f, 0x1e, lock), 0x50);
}

/* ---- tests ---- */

/* What QEMU 7.2 answers for the same drives, in the members that are ours. */
static void test_query_block(void **state)
{
	struct fixture *f = *state;
	json_t *hd = query(f, "ide0-hd0"), *cd = query(f, "ide1-cd0");
	json_t *ins = json_object_get(hd, "inserted"), *img = json_object_get(ins, "image");
	json_t *fs = json_object_get(img, "format-specific");
	static const char *const members[] = {"file",
					      "node-name",
					      "ro",
					      "drv",
					      "backing_file_depth",
					      "encrypted",
					      "detect_zeroes",
					      "bps",
					      "bps_rd",
					      "bps_wr",
					      "iops",
					      "iops_rd",
					      "iops_wr",
					      "write_threshold",
					      "cache",
					      "image"};

	assert_string_equal(json_string_value(json_object_get(hd, "qdev")),
			    "/machine/ide/ide0-hd0");
	assert_string_equal(json_string_value(json_object_get(hd, "io-status")), "ok");
	assert_string_equal(json_string_value(json_object_get(hd, "type")), "unknown");
	assert_false(member_true(hd, "removable"));
	assert_false(member_true(hd, "locked"));
	assert_null(json_object_get(hd, "tray_open"));
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (!json_object_get(ins, members[i]))
			fail_msg("inserted lacks %s", members[i]);
	assert_string_equal(json_string_value(json_object_get(ins, "file")), f->disk);
	assert_string_equal(json_string_value(json_object_get(ins, "drv")), "qcow2");
	assert_false(member_true(ins, "ro"));
	assert_int_equal(json_integer_value(json_object_get(ins, "backing_file_depth")), 0);
	assert_true(member_true(json_object_get(ins, "cache"), "writeback"));
	assert_false(member_true(json_object_get(ins, "cache"), "direct"));
	assert_false(member_true(json_object_get(ins, "cache"), "no-flush"));
	assert_int_equal(json_integer_value(json_object_get(img, "virtual-size")), 1 << 20);
	assert_int_equal(json_integer_value(json_object_get(img, "cluster-size")), 65536);
	assert_string_equal(json_string_value(json_object_get(img, "format")), "qcow2");
	assert_false(member_true(img, "dirty-flag"));
	assert_true(json_integer_value(json_object_get(img, "actual-size")) > 0);
	assert_string_equal(json_string_value(json_object_get(fs, "type")), "qcow2");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(fs, "data"), "compat")), "1.1");

	assert_string_equal(json_string_value(json_object_get(cd, "qdev")), CD_QDEV);
	assert_true(member_true(cd, "removable"));
	assert_false(member_true(cd, "tray_open"));
	ins = json_object_get(cd, "inserted");
	assert_true(member_true(ins, "ro"));
	assert_string_equal(json_string_value(json_object_get(ins, "drv")), "raw");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(ins, "image"), "virtual-size")),
	    300 * 2048);
	json_decref(hd);
	json_decref(cd);
	expect_err(f, "query-block", "{\"x\": 1}", QMP_ERR_GENERIC, "Parameter 'x' is unexpected");
	/* The guest's lock shows. */
	guest_lock(f, true);
	cd = query(f, "ide1-cd0");
	assert_true(member_true(cd, "locked"));
	json_decref(cd);
}

/* QEMU's argument checking and error texts, command by command. */
static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	const char *need = "Need exactly one of 'device' and 'id'";

	expect_err(f, "eject", NULL, QMP_ERR_GENERIC, need);
	expect_err(f, "eject", "{\"device\": \"ide1-cd0\", \"id\": \"x\"}", QMP_ERR_GENERIC, need);
	expect_err(f, "eject", "{\"device\": 3}", QMP_ERR_GENERIC,
		   "Invalid parameter type for 'device', expected: string");
	expect_err(f, "eject", "{\"device\": \"ide1-cd0\", \"force\": 1}", QMP_ERR_GENERIC,
		   "Invalid parameter type for 'force', expected: boolean");
	expect_err(f, "eject", "{\"device\": \"ide1-cd0\", \"bogus\": 1}", QMP_ERR_GENERIC,
		   "Parameter 'bogus' is unexpected");
	expect_err(f, "eject", "{\"device\": \"nope\"}", QMP_ERR_DEVICE_NOT_FOUND,
		   "Device 'nope' not found");
	expect_err(f, "eject", "{\"id\": \"nope\"}", QMP_ERR_DEVICE_NOT_FOUND,
		   "Device 'nope' not found");
	expect_err(f, "eject", "{\"device\": \"ide0-hd0\"}", QMP_ERR_GENERIC,
		   "Device 'ide0-hd0' is not removable");
	expect_err(f, "blockdev-open-tray", "{\"device\": \"ide0-hd0\"}", QMP_ERR_GENERIC,
		   "Device 'ide0-hd0' is not removable");
	expect_err(f, "blockdev-open-tray", "{\"device\": \"ide1-cd0\", \"force\": true, \"x\": 1}",
		   QMP_ERR_GENERIC, "Parameter 'x' is unexpected");
	expect_err(f, "blockdev-close-tray", "{\"device\": \"ide0-hd0\"}", QMP_ERR_GENERIC,
		   "Device 'ide0-hd0' is not removable");
	expect_err(f, "blockdev-close-tray", NULL, QMP_ERR_GENERIC, need);
	expect_err(f, "blockdev-close-tray", "{\"id\": \"x\"}", QMP_ERR_DEVICE_NOT_FOUND,
		   "Device 'x' not found");
	expect_err(f, "blockdev-remove-medium", "{\"device\": \"ide1-cd0\"}", QMP_ERR_GENERIC,
		   "Parameter 'id' is missing");
	expect_err(f, "blockdev-remove-medium", "{\"id\": \"x\", \"device\": \"ide1-cd0\"}",
		   QMP_ERR_GENERIC, "Parameter 'device' is unexpected");
	expect_err(f, "blockdev-remove-medium", "{\"id\": \"/machine/ide/ide0-hd0\"}",
		   QMP_ERR_GENERIC, "Device '/machine/ide/ide0-hd0' is not removable");
	expect_err(f, "blockdev-change-medium", "{\"device\": \"ide1-cd0\"}", QMP_ERR_GENERIC,
		   "Parameter 'filename' is missing");
	expect_err(f, "blockdev-change-medium",
		   "{\"device\": \"ide1-cd0\", \"filename\": \"x\", \"read-only-mode\": \"bad\"}",
		   QMP_ERR_GENERIC, "Parameter 'read-only-mode' does not accept value 'bad'");
	expect_err(f, "blockdev-change-medium",
		   "{\"device\": \"ide1-cd0\", \"filename\": \"x\", \"format\": \"foo\"}",
		   QMP_ERR_GENERIC, "Unknown driver 'foo'");
	expect_err(f, "blockdev-change-medium", "{\"device\": \"ide1-cd0\", \"filename\": \"\"}",
		   QMP_ERR_GENERIC, "The 'file' block driver requires a file name");
	expect_err(f, "blockdev-change-medium", "{\"device\": \"nope\", \"filename\": \"x\"}",
		   QMP_ERR_DEVICE_NOT_FOUND, "Device 'nope' not found");
	expect_err(f, "blockdev-change-medium",
		   "{\"device\": \"ide1-cd0\", \"filename\": \"x\", \"force\": \"yes\"}",
		   QMP_ERR_GENERIC, "Invalid parameter type for 'force', expected: boolean");
	/* Nothing moved. */
	assert_string_equal(moves(f), "");
	assert_string_equal(inserted_file(f, "ide1-cd0"), f->cd1);
	assert_false(tray_open(f));
}

/* eject, change, open, remove, close: the tray, the medium, the events. */
static void test_eject_and_change(void **state)
{
	struct fixture *f = *state;
	char args[256];

	expect_ok(f, "eject", "{\"device\": \"ide1-cd0\"}");
	assert_string_equal(moves(f), "o");
	assert_true(tray_open(f));
	assert_null(inserted_file(f, "ide1-cd0"));
	assert_null(f->drives.cdrom);
	/* An open, empty drive: eject again is fine and moves nothing. */
	expect_ok(f, "eject", "{\"device\": \"ide1-cd0\"}");
	assert_string_equal(moves(f), "");

	snprintf(args, sizeof(args), "{\"device\": \"ide1-cd0\", \"filename\": \"%s\"}", f->cd2);
	expect_ok(f, "blockdev-change-medium", args);
	assert_string_equal(moves(f), "c");
	assert_false(tray_open(f));
	assert_string_equal(inserted_file(f, "ide1-cd0"), f->cd2);
	assert_non_null(f->drives.cdrom);
	assert_string_equal(block_name(f->drives.cdrom), f->cd2);
	/* The guest sees the new disc's size. */
	{
		struct ide_cdrom_state st;

		assert_int_equal(ide_cdrom_get_state(f->ch[1], 0, &st), 0);
		assert_ptr_equal(st.bd, f->drives.cdrom);
		assert_int_equal(block_size(st.bd), 100 * 2048);
	}

	/* By id: open, remove, close. */
	expect_ok(f, "blockdev-open-tray", "{\"id\": \"" CD_QDEV "\"}");
	assert_string_equal(moves(f), "o");
	expect_ok(f, "blockdev-open-tray", "{\"device\": \"ide1-cd0\"}");
	assert_string_equal(moves(f), "");
	expect_ok(f, "blockdev-remove-medium", "{\"id\": \"" CD_QDEV "\"}");
	assert_null(inserted_file(f, "ide1-cd0"));
	expect_ok(f, "blockdev-close-tray", "{\"device\": \"ide1-cd0\"}");
	assert_string_equal(moves(f), "c");
	expect_ok(f, "blockdev-close-tray", "{\"device\": \"ide1-cd0\"}");
	assert_string_equal(moves(f), "");
	expect_err(f, "blockdev-remove-medium", "{\"id\": \"" CD_QDEV "\"}", QMP_ERR_GENERIC,
		   "Tray of device '" CD_QDEV "' is not open");
	/* Into an empty, closed drive: open, put in, close. */
	snprintf(args, sizeof(args),
		 "{\"id\": \"" CD_QDEV "\", \"filename\": \"%s\", \"format\": \"raw\"}", f->cd1);
	expect_ok(f, "blockdev-change-medium", args);
	assert_string_equal(moves(f), "oc");
	assert_string_equal(inserted_file(f, "ide1-cd0"), f->cd1);

	/* read-only-mode: read-write, then retain keeps it, read-only. */
	snprintf(args, sizeof(args),
		 "{\"device\": \"ide1-cd0\", \"filename\": \"%s\", \"read-only-mode\": "
		 "\"read-write\"}",
		 f->cd2);
	expect_ok(f, "blockdev-change-medium", args);
	assert_false(block_read_only(f->drives.cdrom));
	snprintf(args, sizeof(args), "{\"device\": \"ide1-cd0\", \"filename\": \"%s\"}", f->cd1);
	expect_ok(f, "blockdev-change-medium", args);
	assert_false(block_read_only(f->drives.cdrom));
	snprintf(args, sizeof(args),
		 "{\"device\": \"ide1-cd0\", \"filename\": \"%s\", \"read-only-mode\": "
		 "\"read-only\"}",
		 f->cd2);
	expect_ok(f, "blockdev-change-medium", args);
	assert_true(block_read_only(f->drives.cdrom));
	assert_string_equal(moves(f), "ocococ");
}

/* The guest's lock: refused without force (and the guest asked), force
 * opens; the guest's own eject sends the event too. */
static void test_locked_tray(void **state)
{
	struct fixture *f = *state;
	const char *locked = "Device 'ide1-cd0' is locked and force was not specified, wait for "
			     "tray to open and try again";
	struct ide_cdrom_state st;
	char args[256];

	guest_lock(f, true);
	expect_err(f, "eject", "{\"device\": \"ide1-cd0\"}", QMP_ERR_GENERIC, locked);
	assert_int_equal(ide_cdrom_get_state(f->ch[1], 0, &st), 0);
	assert_true(st.eject_requested);
	assert_false(st.tray_open);
	/* open-tray on a locked tray asks and succeeds, as QEMU's. */
	expect_ok(f, "blockdev-open-tray", "{\"device\": \"ide1-cd0\"}");
	snprintf(args, sizeof(args), "{\"device\": \"ide1-cd0\", \"filename\": \"%s\"}", f->cd2);
	expect_err(f, "blockdev-change-medium", args, QMP_ERR_GENERIC, locked);
	assert_string_equal(moves(f), "");
	assert_string_equal(inserted_file(f, "ide1-cd0"), f->cd1);
	/* The image opened for the refused change was closed again: a
	 * read-write open of it (another user) is not blocked. */
	{
		struct block_opts o = {.format = "raw"};
		struct block_dev *bd;
		char err[256];

		assert_int_equal(block_open(&bd, f->cd2, &o, err, sizeof(err)), 0);
		block_close(bd);
	}

	snprintf(args, sizeof(args),
		 "{\"device\": \"ide1-cd0\", \"filename\": \"%s\", \"force\": true}", f->cd2);
	expect_ok(f, "blockdev-change-medium", args);
	assert_string_equal(moves(f), "oc");
	assert_string_equal(inserted_file(f, "ide1-cd0"), f->cd2);
	guest_lock(f, true);
	expect_ok(f, "eject", "{\"device\": \"ide1-cd0\", \"force\": true}");
	assert_string_equal(moves(f), "o");
	assert_null(inserted_file(f, "ide1-cd0"));

	/* The guest: close (START STOP LoEj Start), open (LoEj). */
	assert_int_equal(guest_packet(f, 0x1b, 0x03), 0x50);
	assert_string_equal(moves(f), "c");
	assert_int_equal(guest_packet(f, 0x1b, 0x02), 0x50);
	assert_string_equal(moves(f), "o");
	assert_true(tray_open(f));
}

static void file_snapshot(const char *path, struct stat *st, uint8_t *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, st), 0);
	memset(buf, 0, len);
	assert_true(read(fd, buf, len) >= 0);
	close(fd);
}

/* A new image that cannot be opened: the drive as it was, the file as it
 * was, no event, and the error says why. */
static void test_bad_image(void **state)
{
	struct fixture *f = *state;
	struct stat before, after;
	uint8_t b0[512], b1[512];
	char args[256];

	file_snapshot(f->bad, &before, b0, sizeof(b0));
	snprintf(args, sizeof(args), "{\"device\": \"ide1-cd0\", \"filename\": \"%s\"}", f->bad);
	expect_err_has(f, "blockdev-change-medium", args, "version 99");
	snprintf(args, sizeof(args),
		 "{\"device\": \"ide1-cd0\", \"filename\": \"%s\", \"format\": \"qcow2\"}", f->bad);
	expect_err_has(f, "blockdev-change-medium", args, "version 99");
	file_snapshot(f->bad, &after, b1, sizeof(b1));
	assert_memory_equal(b0, b1, sizeof(b0));
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);

	/* A raw file that carries a qcow2 signature is refused as raw too. */
	snprintf(args, sizeof(args),
		 "{\"device\": \"ide1-cd0\", \"filename\": \"%s\", \"format\": \"raw\"}", f->tiny);
	expect_err_has(f, "blockdev-change-medium", args, "too small");
	snprintf(args, sizeof(args), "{\"device\": \"ide1-cd0\", \"filename\": \"%s/none.iso\"}",
		 f->dir);
	expect_err_has(f, "blockdev-change-medium", args, "none.iso");
	snprintf(args, sizeof(args), "{\"device\": \"ide1-cd0\", \"filename\": \"%s\"}", f->dir);
	expect_err_has(f, "blockdev-change-medium", args, f->dir);
	/* The disk the machine writes: its lock refuses a second user. */
	snprintf(args, sizeof(args),
		 "{\"device\": \"ide1-cd0\", \"filename\": \"%s\", \"read-only-mode\": "
		 "\"read-write\"}",
		 f->disk);
	expect_err_has(f, "blockdev-change-medium", args, "lock");
	/* A disk's medium cannot change (the image is opened, then refused). */
	snprintf(args, sizeof(args), "{\"device\": \"ide0-hd0\", \"filename\": \"%s\"}", f->cd2);
	expect_err(f, "blockdev-change-medium", args, QMP_ERR_GENERIC,
		   "Device 'ide0-hd0' is not removable");

	assert_string_equal(moves(f), "");
	assert_false(tray_open(f));
	assert_string_equal(inserted_file(f, "ide1-cd0"), f->cd1);
	assert_string_equal(inserted_file(f, "ide0-hd0"), f->disk);
	/* And the guest still reads the old disc. */
	assert_int_equal(guest_packet(f, 0x00, 0), 0x50);
}

/* drive_control_new with an empty CD-ROM drive (--cdrom ''). */
static void test_empty_drive(void **state)
{
	struct fixture *f = *state;
	struct vm_config cfg;
	struct drives d;
	struct ide_channel *ch[2];
	struct drive_control *dc;
	struct qmp *q = qmp_new(NULL);
	char *argv[] = {"minivmm", "--cdrom", "", NULL}, err[256], args[256];
	struct qmp_error qe;
	json_t *r, *args_obj;

	assert_int_equal(cli_parse(3, argv, &cfg, stdout, stderr), CLI_RUN);
	assert_int_equal(drives_open(&d, &cfg, err, sizeof(err)), 0);
	assert_true(d.has_cdrom);
	assert_null(d.cdrom);
	ch[0] = ide_channel_create(NULL, &f->mem, NULL);
	ch[1] = ide_channel_create(NULL, &f->mem, NULL);
	assert_int_equal(ide_attach_cdrom(ch[1], 0, NULL), 0);
	dc = drive_control_new(&d, &cfg, ch, q);
	assert_int_equal(drive_control_register(q, dc), 0);
	assert_int_equal(drive_control_register(q, dc), -EEXIST);
	args_obj = json_object();
	r = qmp_dispatch(q, "query-block", args_obj, &qe);
	json_decref(args_obj);
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "device")),
			    "ide1-cd0");
	assert_null(json_object_get(json_array_get(r, 0), "inserted"));
	assert_false(json_is_true(json_object_get(json_array_get(r, 0), "tray_open")));
	json_decref(r);
	assert_int_equal(drive_control_change(dc, "ide1-cd0", NULL, f->cd2, NULL, false, NULL, &qe),
			 0);
	assert_string_equal(block_name(d.cdrom), f->cd2);
	snprintf(args, sizeof(args), "%s", "ide0-hd0");
	assert_int_equal(drive_control_eject(dc, args, NULL, false, &qe), -1);
	assert_string_equal(qe.cls, QMP_ERR_DEVICE_NOT_FOUND);
	ide_channel_destroy(ch[0]);
	ide_channel_destroy(ch[1]);
	drive_control_free(dc);
	drives_close(&d);
	qmp_free(q);
}

/* Virtio disks: QEMU's names (virtio0, virtio1 in command-line order, among
 * the IDE drives in the order of their options), their images, and not
 * removable. */
static void test_virtio_disks(void **state)
{
	struct fixture *f = *state;
	struct vm_config cfg;
	struct drives d;
	struct ide_channel *ch[2];
	struct drive_control *dc;
	struct qmp *q = qmp_new(NULL), *saved = f->q;
	char v0[128], v1[128], i0[128], cd[128], spec0[256], spec1[256], err[256];
	char *argv[] = {"minivmm", "--disk", spec0, "--disk", i0, "--disk", spec1,
			"--cdrom", cd, NULL};
	static const char *const names[] = {"virtio0", "ide0-hd0", "virtio1", "ide1-cd0"};
	static uint8_t zero[65536];
	struct qmp_error qe;
	json_t *r, *v, *ins, *img;
	struct stat before, after;
	size_t i;

	snprintf(v0, sizeof(v0), "%s/v0.img", f->dir);
	snprintf(v1, sizeof(v1), "%s/v1.img", f->dir);
	write_file(v0, zero, sizeof(zero));
	write_file(v1, zero, 4096);
	/* the fixture's drives are open (and locked) already: images of our own */
	snprintf(i0, sizeof(i0), "%s/i0.img", f->dir);
	snprintf(cd, sizeof(cd), "%s/cd.iso", f->dir);
	write_file(i0, zero, sizeof(zero));
	make_cd(cd, 10, 0x33);
	snprintf(spec0, sizeof(spec0), "file=%s,if=virtio,serial=V0", v0);
	snprintf(spec1, sizeof(spec1), "file=%s,if=virtio,format=raw,readonly=on,cache=none", v1);
	assert_int_equal(cli_parse(9, argv, &cfg, stdout, stderr), CLI_RUN);
	assert_int_equal(drives_open(&d, &cfg, err, sizeof(err)), 0);
	assert_int_equal(d.nr_vdisks, 2);
	assert_int_equal(d.nr_disks, 1);
	for (unsigned c = 0; c < 2; c++)
		assert_non_null(ch[c] = ide_channel_create(NULL, &f->mem, NULL));
	assert_int_equal(ide_attach_disk(ch[0], 0, d.disk[0]), 0);
	assert_int_equal(ide_attach_cdrom(ch[1], 0, d.cdrom), 0);
	dc = drive_control_new(&d, &cfg, ch, q);
	assert_non_null(dc);
	assert_int_equal(drive_control_register(q, dc), 0);
	f->q = q;

	r = run(f, "query-block", NULL, &qe);
	assert_int_equal(json_array_size(r), 4);
	json_array_foreach(r, i, v)
		assert_string_equal(json_string_value(json_object_get(v, "device")), names[i]);
	json_decref(r);

	v = query(f, "virtio0");
	assert_string_equal(json_string_value(json_object_get(v, "qdev")),
			    "/machine/peripheral-anon/device[0]/virtio-backend");
	assert_false(member_true(v, "removable"));
	assert_false(member_true(v, "locked"));
	assert_null(json_object_get(v, "tray_open"));
	assert_string_equal(json_string_value(json_object_get(v, "io-status")), "ok");
	ins = json_object_get(v, "inserted");
	assert_non_null(ins);
	assert_string_equal(json_string_value(json_object_get(ins, "file")), v0);
	assert_string_equal(json_string_value(json_object_get(ins, "drv")), "raw");
	assert_false(member_true(ins, "ro"));
	assert_true(member_true(json_object_get(ins, "cache"), "writeback"));
	img = json_object_get(ins, "image");
	assert_int_equal(json_integer_value(json_object_get(img, "virtual-size")), sizeof(zero));
	json_decref(v);

	v = query(f, "virtio1");
	assert_string_equal(json_string_value(json_object_get(v, "qdev")),
			    "/machine/peripheral-anon/device[1]/virtio-backend");
	ins = json_object_get(v, "inserted");
	assert_string_equal(json_string_value(json_object_get(ins, "file")), v1);
	assert_true(member_true(ins, "ro"));
	assert_true(member_true(json_object_get(ins, "cache"), "direct"));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(ins, "image"), "virtual-size")),
	    4096);
	json_decref(v);

	/* no tray: every medium command is refused as QEMU refuses it, and the
	 * image stays */
	assert_int_equal(stat(v0, &before), 0);
	expect_err(f, "eject", "{\"device\": \"virtio0\"}", QMP_ERR_GENERIC,
		   "Device 'virtio0' is not removable");
	expect_err(f, "eject", "{\"id\": \"/machine/peripheral-anon/device[1]/virtio-backend\"}",
		   QMP_ERR_GENERIC,
		   "Device '/machine/peripheral-anon/device[1]/virtio-backend' is not removable");
	expect_err(f, "blockdev-open-tray", "{\"device\": \"virtio1\"}", QMP_ERR_GENERIC,
		   "Device 'virtio1' is not removable");
	expect_err(f, "blockdev-close-tray", "{\"device\": \"virtio0\"}", QMP_ERR_GENERIC,
		   "Device 'virtio0' is not removable");
	expect_err(f, "blockdev-remove-medium",
		   "{\"id\": \"/machine/peripheral-anon/device[0]/virtio-backend\"}",
		   QMP_ERR_GENERIC,
		   "Device '/machine/peripheral-anon/device[0]/virtio-backend' is not removable");
	snprintf(err, sizeof(err), "{\"device\": \"virtio0\", \"filename\": \"%s\"}", f->cd2);
	expect_err(f, "blockdev-change-medium", err, QMP_ERR_GENERIC,
		   "Device 'virtio0' is not removable");
	expect_err(f, "eject", "{\"device\": \"virtio2\"}", QMP_ERR_DEVICE_NOT_FOUND,
		   "Device 'virtio2' not found");
	assert_string_equal(inserted_file(f, "virtio0"), v0);
	assert_int_equal(stat(v0, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(before.st_mtime, after.st_mtime);

	f->q = saved;
	for (unsigned c = 0; c < 2; c++)
		ide_channel_destroy(ch[c]);
	drive_control_free(dc);
	drives_close(&d);
	qmp_free(q);
}

/* ---- transcript mode, for the comparison with QEMU 7.2 ---- */

static void print_event(void *opaque, json_t *event)
{
	json_t *copy = json_deep_copy(event);

	json_object_del(copy, "timestamp");
	json_dumpf(copy, stdout, JSON_SORT_KEYS | JSON_COMPACT);
	putchar('\n');
	json_decref(copy);
}

/*
 * test_drive_control --transcript MINIVMM-OPTIONS...: the drives of those
 * options on two IDE channels, then one QMP command per line of stdin
 * ({"execute": ..., "arguments": ...}), each answered on stdout as QEMU
 * answers it on its QMP socket (events, without timestamps, before the
 * reply).  tests/guest/qmp_block_test.py runs the same lines through QEMU.
 */
static int transcript(int argc, char **argv)
{
	static struct vm_config cfg;
	static struct drives d;
	static uint8_t ram[4096];
	struct guest_mem mem = {0};
	struct ide_channel *ch[2];
	struct drive_control *dc;
	struct qmp *q = qmp_new(NULL);
	char err[512], line[65536];

	if (cli_parse(argc, argv, &cfg, stdout, stderr) != CLI_RUN)
		return 2;
	if (drives_open(&d, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (guest_mem_add(&mem, 0, sizeof(ram), ram, false, "ram") < 0)
		return 1;
	for (unsigned c = 0; c < 2; c++)
		if (!(ch[c] = ide_channel_create(NULL, &mem, NULL)))
			return 1;
	for (unsigned i = 0; i < d.nr_disks; i++)
		if (ide_attach_disk(ch[drives_disk_pos[i][0]], drives_disk_pos[i][1], d.disk[i]) <
		    0)
			return 1;
	if (d.has_cdrom &&
	    ide_attach_cdrom(ch[DRIVES_CDROM_CHANNEL], DRIVES_CDROM_UNIT, d.cdrom) < 0)
		return 1;
	dc = drive_control_new(&d, &cfg, ch, q);
	if (!dc || drive_control_register(q, dc) < 0 || qmp_add_listener(q, print_event, NULL) < 0)
		return 1;
	while (fgets(line, sizeof(line), stdin)) {
		json_t *cmd = json_loads(line, 0, NULL), *args, *ret, *reply;
		struct qmp_error qe = {0};

		if (!cmd)
			continue;
		args = json_object_get(cmd, "arguments");
		args = args ? json_incref(args) : json_object();
		ret =
		    qmp_dispatch(q, json_string_value(json_object_get(cmd, "execute")), args, &qe);
		reply =
		    ret ? json_pack("{s:o}", "return", ret)
			: json_pack("{s:{s:s, s:s}}", "error", "class", qe.cls, "desc", qe.desc);
		json_dumpf(reply, stdout, JSON_SORT_KEYS | JSON_COMPACT);
		putchar('\n');
		fflush(stdout);
		json_decref(reply);
		json_decref(args);
		json_decref(cmd);
	}
	for (unsigned c = 0; c < 2; c++)
		ide_channel_destroy(ch[c]);
	drive_control_free(dc);
	drives_close(&d);
	qmp_free(q);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--transcript"))
		return transcript(argc - 1, argv + 1);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_query_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eject_and_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_locked_tray, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_drive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_virtio_disks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
