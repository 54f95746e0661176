// SPDX-License-Identifier: GPL-2.0-or-later
/* Option parsing: defaults, every option, and one clear line for each kind
 * of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/block.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/cli.h"
#include "vmm/net_slirp.h"

static char out_buf[16384], err_buf[1024];

static enum cli_result parse(struct vm_config *cfg, const char *first, ...)
{
	char *argv[32] = { "minivmm" };
	int argc = 1;
	va_list ap;
	FILE *out = fmemopen(out_buf, sizeof(out_buf), "w");
	FILE *err = fmemopen(err_buf, sizeof(err_buf), "w");
	enum cli_result r;

	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	memset(out_buf, 0, sizeof(out_buf));
	memset(err_buf, 0, sizeof(err_buf));
	r = cli_parse(argc, argv, cfg, out, err);
	fclose(out);
	fclose(err);
	return r;
}

static void test_defaults(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--bios", "fw.bin", NULL), CLI_RUN);
	assert_string_equal(c.bios, "fw.bin");
	assert_int_equal(c.memory, 512ULL << 20);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.serial, SERIAL_STDIO);
	assert_false(c.debug_exit);
	assert_false(c.no_reboot);
	assert_int_equal(c.stats, STATS_OFF);
	assert_null(c.kernel);
}

static void test_all_options(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--bios", "x", "-m", "1G", "--cpus", "64", "--serial",
			       "file:/tmp/log", "--debug-exit", "--no-reboot", "--stats=json:/tmp/s.json",
			       NULL),
			 CLI_RUN);
	assert_int_equal(c.memory, 1ULL << 30);
	assert_int_equal(c.cpus, 64);
	assert_int_equal(c.serial, SERIAL_FILE);
	assert_string_equal(c.serial_path, "/tmp/log");
	assert_true(c.debug_exit);
	assert_true(c.no_reboot);
	assert_int_equal(c.stats, STATS_JSON);
	assert_string_equal(c.stats_path, "/tmp/s.json");

	assert_int_equal(parse(&c, "--kernel", "bz", "--initrd", "i", "--append", "console=ttyS0",
			       "--memory=256M", "--stats", "--serial", "none", NULL),
			 CLI_RUN);
	assert_string_equal(c.kernel, "bz");
	assert_string_equal(c.initrd, "i");
	assert_string_equal(c.append, "console=ttyS0");
	assert_int_equal(c.memory, 256ULL << 20);
	assert_int_equal(c.stats, STATS_TABLE);
	assert_int_equal(c.serial, SERIAL_NONE);
}

static void test_sizes(void **state)
{
	uint64_t v;

	assert_int_equal(cli_parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cli_parse_size("2g", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(cli_parse_size("3MiB", &v), 0);
	assert_int_equal(v, 3ULL << 20);
	assert_int_equal(cli_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cli_parse_size("", &v), -1);
	assert_int_equal(cli_parse_size("-1M", &v), -1);
	assert_int_equal(cli_parse_size("12Q", &v), -1);
	assert_int_equal(cli_parse_size("M", &v), -1);
	assert_int_equal(cli_parse_size("1.5G", &v), -1);
	assert_int_equal(cli_parse_size("99999999999999999999", &v), -1);
	assert_int_equal(cli_parse_size("17179869184G", &v), -1); /* overflows 64 bits */
}

static void expect_error(const char *needle, enum cli_result r)
{
	assert_int_equal(r, CLI_ERROR);
	if (!strstr(err_buf, needle))
		fail_msg("error '%s' does not mention '%s'", err_buf, needle);
	/* exactly one line */
	assert_non_null(strchr(err_buf, '\n'));
	assert_null(strchr(strchr(err_buf, '\n') + 1, '\n'));
}

static void test_errors(void **state)
{
	struct vm_config c;

	expect_error("--memory", parse(&c, "--bios", "x", "--memory", "lots", NULL));
	expect_error("2M..1T", parse(&c, "--bios", "x", "--memory", "1M", NULL));
	expect_error("2M..1T", parse(&c, "--bios", "x", "--memory", "2T", NULL));
	expect_error("--cpus", parse(&c, "--bios", "x", "--cpus", "0", NULL));
	expect_error("--cpus", parse(&c, "--bios", "x", "--cpus", "65", NULL));
	expect_error("--cpus", parse(&c, "--bios", "x", "--cpus", "2x", NULL));
	expect_error("--serial", parse(&c, "--bios", "x", "--serial", "tcp:1", NULL));
	expect_error("--serial", parse(&c, "--bios", "x", "--serial", "file:", NULL));
	expect_error("--stats", parse(&c, "--bios", "x", "--stats=xml", NULL));
	expect_error("unknown option", parse(&c, "--bios", "x", "--frobnicate", NULL));
	expect_error("needs an argument", parse(&c, "--bios", NULL));
	expect_error("unexpected argument", parse(&c, "--bios", "x", "extra", NULL));
	expect_error("need --kernel", parse(&c, "--bios", "x", "--initrd", "i", NULL));
	expect_error("together", parse(&c, "--bios", "x", "--kernel", "k", NULL));
	expect_error("--disk", parse(&c, "--disk", "file=a,if=scsi", NULL));
	expect_error("format=vmdk", parse(&c, "--disk", "file=a,format=vmdk", NULL));
	expect_error("cache=fast", parse(&c, "--disk", "file=a,cache=fast", NULL));
	expect_error("file=PATH is missing", parse(&c, "--disk", "format=raw", NULL));
	expect_error("unknown or bad option", parse(&c, "--disk", "file=a,readonly=maybe", NULL));
	expect_error("at most 3", parse(&c, "--disk", "a", "--disk", "b", "--disk", "c", "--disk",
					"d", NULL));
	expect_error("only one CD-ROM", parse(&c, "--cdrom", "a", "--cdrom", "b", NULL));
	expect_error("letters c (disk), d (CD-ROM) and n", parse(&c, "--boot", "order=a", NULL));
	expect_error("letters c (disk), d (CD-ROM) and n", parse(&c, "--boot", "order=", NULL));
	expect_error("--boot", parse(&c, "--boot", "menu=perhaps", NULL));
	expect_error("--boot", parse(&c, "--boot", "splash-time=99999", NULL));
	expect_error("--rtc", parse(&c, "--rtc", "mars", NULL));
}

static void test_drives_and_boot(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_string_equal(c.bios, CLI_DEFAULT_BIOS);
	assert_true(c.bios_default);
	assert_int_equal(c.nr_disks, 0);
	assert_false(c.has_cdrom);
	assert_int_equal(c.boot_menu, -1);

	assert_int_equal(parse(&c, "--disk", "vm.qcow2", "--disk",
			       "file=b,if=ide,format=raw,cache=none,readonly=on,snapshot=on",
			       "--cdrom", "x,y.iso", "--boot", "order=dc,menu=on,splash-time=500",
			       "--rtc", "localtime", "--debugcon", "log", NULL),
			 CLI_RUN);
	assert_true(c.bios_default);
	assert_int_equal(c.nr_disks, 2);
	assert_string_equal(c.disks[0].path, "vm.qcow2");
	assert_null(c.disks[0].format);
	assert_int_equal(c.disks[0].cache, 0);
	assert_string_equal(c.disks[1].path, "b");
	assert_string_equal(c.disks[1].format, "raw");
	assert_true(c.disks[1].read_only);
	assert_true(c.disks[1].snapshot);
	assert_int_equal(c.disks[1].cache, 2);
	assert_true(c.has_cdrom);
	assert_string_equal(c.cdrom.path, "x,y.iso");
	assert_true(c.cdrom.read_only);
	assert_string_equal(c.boot_order, "dc");
	assert_int_equal(c.boot_menu, 1);
	assert_int_equal(c.boot_menu_timeout_ms, 500);
	assert_true(c.rtc_localtime);
	assert_string_equal(c.debugcon_path, "log");

	assert_int_equal(parse(&c, "--boot", "d", "--disk", "file=cd.iso,media=cdrom", NULL), CLI_RUN);
	assert_string_equal(c.boot_order, "d");
	assert_true(c.has_cdrom);
	assert_string_equal(c.cdrom.path, "cd.iso");
	assert_int_equal(parse(&c, "--rtc", "base=utc", "--boot", "menu=off", NULL), CLI_RUN);
	assert_false(c.rtc_localtime);
	assert_int_equal(c.boot_menu, 0);
}

static void test_help_tells_every_option(void **state)
{
	static const char *const opts[] = { "--memory", "--cpus", "--bios", "--kernel", "--initrd",
					    "--append", "--serial", "--debug-exit", "--no-reboot",
					    "--stats", "--help", "--version", "--disk",
					    "--cdrom", "--boot", "--rtc", "--debugcon",
					    "--no-ioeventfd", "--no-irqfd", "--no-coalesced-mmio",
					    "--no-dirty-log", "--shutdown-timeout", "media=", "--qmp",
					    "--name" };
	struct vm_config c;

	assert_int_equal(parse(&c, "--help", NULL), CLI_EXIT_OK);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strstr(out_buf, opts[i]))
			fail_msg("--help does not mention %s", opts[i]);
	assert_int_equal(parse(&c, "--version", NULL), CLI_EXIT_OK);
	assert_non_null(strstr(out_buf, "minivmm "));
}


/* SIGTERM's wait: default 60 s, 0 quits at once, a number of seconds up
 * to a day; anything else is a one-line error. */
static void test_shutdown_timeout(void **state)
{
	static const char *const bad[] = { "", "-1", "x", "1.5", " 3", "3s", "86401",
					   "99999999999999999999", "0x10" };
	struct vm_config c;

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_int_equal(c.shutdown_timeout_s, 60);
	assert_int_equal(parse(&c, "--shutdown-timeout", "0", NULL), CLI_RUN);
	assert_int_equal(c.shutdown_timeout_s, 0);
	assert_int_equal(parse(&c, "--shutdown-timeout=86400", NULL), CLI_RUN);
	assert_int_equal(c.shutdown_timeout_s, 86400);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&c, "--shutdown-timeout", bad[i], NULL), CLI_ERROR);
		assert_non_null(strstr(err_buf, "--shutdown-timeout: '"));
		assert_ptr_equal(strchr(err_buf, '\n'), err_buf + strlen(err_buf) - 1);
	}
	assert_int_equal(parse(&c, "--shutdown-timeout", "1", "--shutdown-timeout", "2", NULL),
			 CLI_ERROR);
	assert_non_null(strstr(err_buf, "given twice"));
	assert_int_equal(parse(&c, "--shutdown-timeout", NULL), CLI_ERROR);
}

/* --cdrom '' and an empty file= give an empty CD-ROM drive; a disk cannot
 * be empty, and an empty drive names no file for the file checks. */
static void test_empty_cdrom(void **state)
{
	struct vm_config c;
	char err[256];

	assert_int_equal(parse(&c, "--cdrom", "", NULL), CLI_RUN);
	assert_true(c.has_cdrom);
	assert_string_equal(c.cdrom.path, "");
	assert_int_equal(cli_check_files(&c, err, sizeof(err)), 0);
	assert_int_equal(parse(&c, "--cdrom", "file=", NULL), CLI_RUN);
	assert_true(c.has_cdrom);
	assert_string_equal(c.cdrom.path, "");
	assert_int_equal(parse(&c, "--cdrom", "file=,format=raw", NULL), CLI_RUN);
	assert_string_equal(c.cdrom.path, "");
	assert_int_equal(parse(&c, "--disk", "file=,media=cdrom", NULL), CLI_RUN);
	assert_true(c.has_cdrom);
	assert_int_equal(c.nr_disks, 0);
	expect_error("--disk: the file name is empty", parse(&c, "--disk", "", NULL));
	expect_error("--disk: file= needs a PATH", parse(&c, "--disk", "file=", NULL));
	expect_error("--cdrom: file= needs a PATH", parse(&c, "--cdrom", "file=,media=disk", NULL));
	expect_error("already 'empty'", parse(&c, "--cdrom", "", "--cdrom", "x.iso", NULL));
}

/* media= decides the slot, whichever option named the drive (this crashed:
 * the drive went into the CD slot and was counted as a disk). */
static void test_media(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, "--cdrom", "file=d.img,media=disk", NULL), CLI_RUN);
	assert_int_equal(c.nr_disks, 1);
	assert_false(c.has_cdrom);
	assert_string_equal(c.disks[0].path, "d.img");
	assert_false(c.disks[0].read_only);

	assert_int_equal(parse(&c, "--disk", "a.img", "--cdrom", "file=b.img,format=raw,media=disk",
			       "--disk", "file=c.iso,media=cdrom,format=raw", NULL),
			 CLI_RUN);
	assert_int_equal(c.nr_disks, 2);
	assert_string_equal(c.disks[0].path, "a.img");
	assert_string_equal(c.disks[1].path, "b.img");
	assert_string_equal(c.disks[1].format, "raw");
	assert_true(c.has_cdrom);
	assert_string_equal(c.cdrom.path, "c.iso");
	assert_string_equal(c.cdrom.format, "raw");
	assert_true(c.cdrom.read_only);

	assert_int_equal(parse(&c, "--cdrom", "file=x.iso,media=cdrom", NULL), CLI_RUN);
	assert_true(c.has_cdrom);
	assert_int_equal(c.nr_disks, 0);

	expect_error("at most 3 disks", parse(&c, "--disk", "a", "--disk", "b", "--disk", "c",
					      "--cdrom", "file=d,media=disk", NULL));
	expect_error("only one CD-ROM", parse(&c, "--cdrom", "a", "--disk", "file=b,media=cdrom",
					      NULL));
	expect_error("only one CD-ROM", parse(&c, "--disk", "file=a,media=cdrom", "--disk",
					      "file=b,media=cdrom", NULL));
	expect_error("media=floppy", parse(&c, "--disk", "file=a,media=floppy", NULL));
}

/* --disk if=virtio: its options, defaults and every bad value; the order of
 * all --disk options (seq) whichever their if=. */
static void test_virtio_disks(void **state)
{
	struct vm_config c;
	char arg[64];
	char *argv[48] = { "minivmm" };
	int argc = 1;

	assert_int_equal(parse(&c, "--disk", "file=v.img,if=virtio", NULL), CLI_RUN);
	assert_int_equal(c.nr_disks, 0);
	assert_int_equal(c.nr_vdisks, 1);
	assert_string_equal(c.vdisks[0].path, "v.img");
	assert_null(c.vdisks[0].format);
	assert_null(c.vdisks[0].serial);
	assert_int_equal(c.vdisks[0].num_queues, 1); /* one vCPU */
	assert_int_equal(c.vdisks[0].transport, VIRTIO_TRANSPORT_TRANSITIONAL);
	assert_int_equal(c.vdisks[0].cache, BLOCK_CACHE_WRITEBACK);
	assert_int_equal(c.vdisks[0].seq, 0);

	/* default queues: one per vCPU, at most 4; --cpus may come later */
	assert_int_equal(parse(&c, "--disk", "file=v,if=virtio", "--cpus", "3", NULL), CLI_RUN);
	assert_int_equal(c.vdisks[0].num_queues, 3);
	assert_int_equal(parse(&c, "--cpus", "8", "--disk", "file=v,if=virtio", NULL), CLI_RUN);
	assert_int_equal(c.vdisks[0].num_queues, 4);
	assert_int_equal(parse(&c, "--cpus", "8", "--disk", "file=v,if=virtio,num-queues=16", NULL),
			 CLI_RUN);
	assert_int_equal(c.vdisks[0].num_queues, 16);

	assert_int_equal(parse(&c, "--disk",
			       "file=q.qcow2,if=virtio,format=qcow2,cache=none,readonly=on,"
			       "snapshot=on,serial=SER 1-x_Y~,num-queues=2,transport=modern",
			       NULL),
			 CLI_RUN);
	assert_string_equal(c.vdisks[0].path, "q.qcow2");
	assert_string_equal(c.vdisks[0].format, "qcow2");
	assert_int_equal(c.vdisks[0].cache, BLOCK_CACHE_NONE);
	assert_true(c.vdisks[0].read_only);
	assert_true(c.vdisks[0].snapshot);
	assert_string_equal(c.vdisks[0].serial, "SER 1-x_Y~");
	assert_int_equal(c.vdisks[0].num_queues, 2);
	assert_int_equal(c.vdisks[0].transport, VIRTIO_TRANSPORT_MODERN);
	assert_int_equal(parse(&c, "--disk", "file=a,if=virtio,transport=legacy", NULL), CLI_RUN);
	assert_int_equal(c.vdisks[0].transport, VIRTIO_TRANSPORT_LEGACY);
	assert_int_equal(parse(&c, "--disk", "file=a,if=virtio,transport=transitional", NULL),
			 CLI_RUN);
	assert_int_equal(c.vdisks[0].transport, VIRTIO_TRANSPORT_TRANSITIONAL);
	/* exactly 20 bytes */
	assert_int_equal(parse(&c, "--disk", "file=a,if=virtio,serial=12345678901234567890", NULL),
			 CLI_RUN);
	assert_int_equal(strlen(c.vdisks[0].serial), 20);

	/* command-line order across if=: seq, and the pointers into each copy */
	assert_int_equal(parse(&c, "--disk", "file=v0,if=virtio,serial=S0", "--disk", "i0",
			       "--cdrom", "cd.iso", "--disk", "file=v1,if=virtio,format=raw",
			       "--disk", "file=i1,if=ide", NULL),
			 CLI_RUN);
	assert_int_equal(c.nr_vdisks, 2);
	assert_int_equal(c.nr_disks, 2);
	assert_string_equal(c.vdisks[0].path, "v0");
	assert_string_equal(c.vdisks[0].serial, "S0");
	assert_int_equal(c.vdisks[0].seq, 0);
	assert_string_equal(c.disks[0].path, "i0");
	assert_int_equal(c.disks[0].seq, 1);
	assert_string_equal(c.vdisks[1].path, "v1");
	assert_string_equal(c.vdisks[1].format, "raw");
	assert_int_equal(c.vdisks[1].seq, 2);
	assert_string_equal(c.disks[1].path, "i1");
	assert_int_equal(c.disks[1].seq, 3);
	assert_true(c.has_cdrom);

	/* 16 virtio disks besides the 3 IDE ones; a 17th is refused */
	argv[argc++] = "--disk", argv[argc++] = "a";
	argv[argc++] = "--disk", argv[argc++] = "b";
	argv[argc++] = "--disk", argv[argc++] = "c";
	for (unsigned i = 0; i < CLI_MAX_VIRTIO_DISKS; i++) {
		argv[argc++] = "--disk";
		argv[argc++] = strdup((snprintf(arg, sizeof(arg), "file=v%u,if=virtio", i), arg));
	}
	{
		FILE *out = fmemopen(out_buf, sizeof(out_buf), "w");
		FILE *err = fmemopen(err_buf, sizeof(err_buf), "w");

		memset(err_buf, 0, sizeof(err_buf));
		assert_int_equal(cli_parse(argc, argv, &c, out, err), CLI_RUN);
		assert_int_equal(c.nr_disks, 3);
		assert_int_equal(c.nr_vdisks, 16);
		assert_string_equal(c.vdisks[15].path, "v15");
		assert_int_equal(c.vdisks[15].seq, 18);
		argv[argc++] = "--disk";
		argv[argc++] = "file=v16,if=virtio";
		rewind(err);
		assert_int_equal(cli_parse(argc, argv, &c, out, err), CLI_ERROR);
		fclose(out);
		fclose(err);
		assert_non_null(strstr(err_buf, "'v16': at most 16 virtio disks"));
		for (int i = 8; i < argc - 2; i += 2)
			free(argv[i]);
	}

	/* bad values, one clear line each */
	expect_error("if=scsi is not supported (if=ide or if=virtio)",
		     parse(&c, "--disk", "file=a,if=scsi", NULL));
	expect_error("if=VIRTIO is not supported", parse(&c, "--disk", "file=a,if=VIRTIO", NULL));
	expect_error("if=", parse(&c, "--disk", "file=a,if=", NULL));
	expect_error("num-queues=0 is not a number from 1 to 16",
		     parse(&c, "--disk", "file=a,if=virtio,num-queues=0", NULL));
	expect_error("num-queues=17 is not a number from 1 to 16",
		     parse(&c, "--disk", "file=a,if=virtio,num-queues=17", NULL));
	expect_error("num-queues=abc is not a number",
		     parse(&c, "--disk", "file=a,if=virtio,num-queues=abc", NULL));
	expect_error("num-queues=99999999999999999999999 is not",
		     parse(&c, "--disk", "file=a,if=virtio,num-queues=99999999999999999999999",
			   NULL));
	expect_error("num-queues=-1 is not", parse(&c, "--disk", "file=a,if=virtio,num-queues=-1",
						   NULL));
	expect_error("num-queues=2x is not", parse(&c, "--disk", "file=a,if=virtio,num-queues=2x",
						   NULL));
	expect_error("num-queues= is not", parse(&c, "--disk", "file=a,if=virtio,num-queues=",
						 NULL));
	expect_error("transport=foo: not transitional, legacy or modern",
		     parse(&c, "--disk", "file=a,if=virtio,transport=foo", NULL));
	expect_error("transport=: not", parse(&c, "--disk", "file=a,if=virtio,transport=", NULL));
	expect_error("serial=123456789012345678901 is 21 bytes long; at most 20",
		     parse(&c, "--disk", "file=a,if=virtio,serial=123456789012345678901", NULL));
	expect_error("serial= is empty", parse(&c, "--disk", "file=a,if=virtio,serial=", NULL));
	expect_error("only printable ASCII",
		     parse(&c, "--disk", "file=a,if=virtio,serial=a\tb", NULL));
	/* a long one with a newline: one line, not the value */
	expect_error("only printable ASCII",
		     parse(&c, "--disk", "file=a,if=virtio,serial=0123456789\n0123456789xyz",
			   NULL));
	expect_error("only printable ASCII",
		     parse(&c, "--disk", "file=a,if=virtio,serial=caf\xc3\xa9", NULL));
	/* a comma ends the serial: what follows is a (bad) option of its own */
	expect_error("'b' is not key=value", parse(&c, "--disk", "file=a,if=virtio,serial=a,b",
						   NULL));
	expect_error("if= given twice", parse(&c, "--disk", "file=a,if=virtio,if=virtio", NULL));
	expect_error("if= given twice", parse(&c, "--disk", "file=a,if=virtio,if=ide", NULL));
	expect_error("serial= given twice",
		     parse(&c, "--disk", "file=a,if=virtio,serial=x,serial=y", NULL));
	expect_error("num-queues= given twice",
		     parse(&c, "--disk", "file=a,if=virtio,num-queues=1,num-queues=1", NULL));
	expect_error("transport= given twice",
		     parse(&c, "--disk", "file=a,if=virtio,transport=modern,transport=legacy",
			   NULL));
	expect_error("file= given twice", parse(&c, "--disk", "file=a,if=virtio,file=b", NULL));
	/* the virtio-only options with IDE, stated or by default */
	expect_error("--disk: serial= is for if=virtio disks only (not an IDE disk)",
		     parse(&c, "--disk", "file=a,serial=x", NULL));
	expect_error("num-queues= is for if=virtio disks only",
		     parse(&c, "--disk", "file=a,if=ide,num-queues=1", NULL));
	expect_error("transport= is for if=virtio disks only",
		     parse(&c, "--disk", "file=a,transport=modern,if=ide", NULL));
	expect_error("--cdrom: serial= is for if=virtio disks only (not an IDE CD-ROM)",
		     parse(&c, "--cdrom", "file=a,serial=x", NULL));
	expect_error("a virtio disk is not a CD-ROM",
		     parse(&c, "--disk", "file=a,if=virtio,media=cdrom", NULL));
	expect_error("a virtio disk is not a CD-ROM",
		     parse(&c, "--cdrom", "file=a,if=virtio", NULL));
	expect_error("--disk: file= needs a PATH", parse(&c, "--disk", "file=,if=virtio", NULL));
	expect_error("file=PATH is missing", parse(&c, "--disk", "if=virtio", NULL));
	expect_error("unknown option 'queues'", parse(&c, "--disk", "file=a,if=virtio,queues=2",
						      NULL));
	/* a plain PATH is an IDE disk, even one that looks like a virtio spec */
	assert_int_equal(parse(&c, "--disk", "if,virtio", NULL), CLI_RUN);
	assert_int_equal(c.nr_disks, 1);
	assert_int_equal(c.nr_vdisks, 0);
}

static void test_accel(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_true(c.accel.ioeventfd && c.accel.irqfd && c.accel.coalesced_mmio &&
		    c.accel.dirty_log);
	assert_int_equal(parse(&c, "--no-ioeventfd", "--no-dirty-log", NULL), CLI_RUN);
	assert_false(c.accel.ioeventfd);
	assert_true(c.accel.irqfd);
	assert_true(c.accel.coalesced_mmio);
	assert_false(c.accel.dirty_log);
	assert_int_equal(parse(&c, "--no-irqfd", "--no-coalesced-mmio", "--no-irqfd", NULL),
			 CLI_RUN);
	assert_true(c.accel.ioeventfd);
	assert_false(c.accel.irqfd);
	assert_false(c.accel.coalesced_mmio);
	assert_true(c.accel.dirty_log);
	expect_error("--no-ioeventfd takes no value", parse(&c, "--no-ioeventfd=1", NULL));
}

/* Empty, negative, huge and hostile values: one line naming the option. */
static void test_hostile_values(void **state)
{
	struct vm_config c;

	expect_error("--cpus", parse(&c, "--cpus", "0", NULL));
	expect_error("--cpus", parse(&c, "--cpus", "999999", NULL));
	expect_error("--cpus", parse(&c, "--cpus", "-1", NULL));
	expect_error("--cpus", parse(&c, "--cpus", " 2", NULL));
	expect_error("--cpus", parse(&c, "--cpus", "", NULL));
	expect_error("--cpus", parse(&c, "--cpus", "99999999999999999999999", NULL));
	expect_error("--memory", parse(&c, "--memory", "0", NULL));
	expect_error("--memory", parse(&c, "--memory", "1E", NULL));
	expect_error("--memory", parse(&c, "--memory", "", NULL));
	expect_error("--memory", parse(&c, "--memory", " -1", NULL));
	expect_error("--memory: 2049K is not a multiple of 4K",
		     parse(&c, "--memory", "2049K", NULL));
	expect_error("--boot", parse(&c, "--boot", "", NULL));
	expect_error("--boot", parse(&c, "--boot", ",", NULL));
	expect_error("--boot: order 'zz'", parse(&c, "--boot", "order=zz", NULL));
	expect_error("--boot: order", parse(&c, "--boot", "cdcdcdcd", NULL));
	expect_error("--boot: unknown option 'speed'", parse(&c, "--boot", "speed=3", NULL));
	expect_error("--boot: order given twice", parse(&c, "--boot", "order=c,once=d", NULL));
	expect_error("--boot: splash-time=-5", parse(&c, "--boot", "splash-time=-5", NULL));
	expect_error("--bios: the file name is empty", parse(&c, "--bios", "", NULL));
	expect_error("--kernel: the file name is empty", parse(&c, "--kernel", "", NULL));
	expect_error("--initrd: the file name is empty",
		     parse(&c, "--kernel", "k", "--initrd", "", NULL));
	expect_error("--debugcon: the file name is empty", parse(&c, "--debugcon", "", NULL));
	expect_error("--disk: the file name is empty", parse(&c, "--disk", "", NULL));
	/* --cdrom "" is an empty drive (test_empty_cdrom). */
	expect_error("--disk: file= needs a PATH", parse(&c, "--disk", "file=,format=raw", NULL));
	expect_error("--disk: unknown option 'bus'", parse(&c, "--disk", "file=a,bus=0", NULL));
	expect_error("--disk: format= given twice",
		     parse(&c, "--disk", "file=a,format=raw,format=qcow2", NULL));
	expect_error("--disk: 'junk' is not key=value", parse(&c, "--disk", "file=a,junk", NULL));
	expect_error("--stats", parse(&c, "--stats=json:", NULL));
	expect_error("--stats=json:PATH", parse(&c, "--stats", "json:x", NULL));
	expect_error("--rtc", parse(&c, "--rtc", "", NULL));
	expect_error("--serial", parse(&c, "--serial", "", NULL));
	/* a value given twice: which one would win? */
	expect_error("--memory: given twice", parse(&c, "-m", "1G", "--memory", "2G", NULL));
	expect_error("--cpus: given twice", parse(&c, "--cpus", "1", "--cpus", "2", NULL));
	expect_error("--bios: given twice", parse(&c, "--bios", "a", "--bios", "a", NULL));
	expect_error("--serial: given twice", parse(&c, "--serial", "none", "--serial", "stdio",
						   NULL));
	expect_error("--stats: given twice", parse(&c, "--stats=json:a", "--stats", NULL));
	expect_error("--boot: given twice", parse(&c, "--boot", "c", "--boot", "d", NULL));
	/* getopt's abbreviations are not in --help, so they are refused */
	expect_error("unknown option '--mem'", parse(&c, "--mem", "1G", NULL));
	expect_error("unknown option '--no'", parse(&c, "--no", NULL));
	expect_error("unknown option '--cpu=2'", parse(&c, "--cpu=2", NULL));
	/* flags may repeat */
	assert_int_equal(parse(&c, "--no-reboot", "--no-reboot", "--debug-exit", "--debug-exit",
			       NULL),
			 CLI_RUN);
	/* boundaries that are fine */
	assert_int_equal(parse(&c, "--memory", "2M", "--cpus", "64", "--boot", "order=cdcdcdc",
			       NULL),
			 CLI_RUN);
	assert_int_equal(parse(&c, "--memory", "1T", "--append", "", "--kernel", "k", NULL),
			 CLI_RUN);
	assert_string_equal(c.append, "");
}

/* Every "--word" in --help, run through the parser alone (with a valid
 * value where it takes one), must be known; and every value --help spells
 * out must be accepted. */
/* --balloon and --device virtio-balloon: defaults as QEMU's (id balloon0,
 * transitional, deflate-on-oom off) but free page reporting on; one
 * balloon at most; unknown devices and options named. */
static void test_balloon(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_false(c.balloon.on);
	assert_int_equal(parse(&c, "--balloon", NULL), CLI_RUN);
	assert_true(c.balloon.on);
	assert_string_equal(c.balloon.id, "balloon0");
	assert_int_equal(c.balloon.transport, 0);
	assert_false(c.balloon.deflate_on_oom);
	assert_true(c.balloon.free_page_reporting);
	/* QEMU's old "-balloon virtio", with a space or '=' */
	assert_int_equal(parse(&c, "--balloon", "virtio", NULL), CLI_RUN);
	assert_true(c.balloon.on);
	assert_int_equal(parse(&c, "--balloon=virtio", NULL), CLI_RUN);
	assert_int_equal(parse(&c, "--balloon=none", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "--balloon"));
	assert_int_equal(parse(&c, "--balloon", "--balloon", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "only one balloon"));

	assert_int_equal(parse(&c, "--device", "virtio-balloon,id=mb,transport=modern,"
			       "deflate-on-oom=on,free-page-reporting=off", NULL), CLI_RUN);
	assert_string_equal(c.balloon.id, "mb");
	assert_int_equal(c.balloon.transport, 2);
	assert_true(c.balloon.deflate_on_oom);
	assert_false(c.balloon.free_page_reporting);
	assert_int_equal(parse(&c, "--device", "virtio-balloon-pci,transport=legacy", NULL),
			 CLI_RUN);
	assert_int_equal(c.balloon.transport, 1);
	assert_string_equal(c.balloon.id, "balloon0");

	assert_int_equal(parse(&c, "--device", "virtio-balloon", "--balloon", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "only one balloon"));
	assert_int_equal(parse(&c, "--device", "e1000", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "unknown device 'e1000' (known: virtio-balloon)"));
	assert_int_equal(parse(&c, "--device", "", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "unknown device"));
	assert_int_equal(parse(&c, "--device", "virtio-balloon,foo=1", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "unknown option 'foo'"));
	assert_int_equal(parse(&c, "--device", "virtio-balloon,id=a,id=b", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "given twice"));
	assert_int_equal(parse(&c, "--device", "virtio-balloon,id=1x", NULL), CLI_ERROR);
	assert_int_equal(parse(&c, "--device", "virtio-balloon,id=a/b", NULL), CLI_ERROR);
	assert_int_equal(parse(&c, "--device", "virtio-balloon,transport=pci", NULL), CLI_ERROR);
	assert_int_equal(parse(&c, "--device", "virtio-balloon,deflate-on-oom=maybe", NULL),
			 CLI_ERROR);
	assert_int_equal(parse(&c, "--device", "virtio-balloon,free-page-reporting", NULL),
			 CLI_ERROR);
	assert_non_null(strstr(err_buf, "not key=value"));
}

static void test_vga_option(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_int_equal(c.vga, VGA_NONE);
	assert_int_equal(parse(&c, "--vga", "std", NULL), CLI_RUN);
	assert_int_equal(c.vga, VGA_STD);
	assert_int_equal(parse(&c, "--vga=none", NULL), CLI_RUN);
	assert_int_equal(c.vga, VGA_NONE);
	assert_int_equal(parse(&c, "--vga", "cirrus", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "not std or none"));
	assert_int_equal(parse(&c, "--vga", "std", "--vga", "none", NULL), CLI_ERROR);
}

/* --vnc [HOST]:N[,password=on|off]: the forms QEMU's -vnc takes for TCP,
 * numeric addresses only; --keymap names a built-in layout. */
static void test_vnc(void **state)
{
	struct vm_config c;

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_false(c.vnc);
	assert_int_equal(parse(&c, "--vnc", ":0", NULL), CLI_RUN);
	assert_true(c.vnc);
	assert_string_equal(c.vnc_host, "");
	assert_int_equal(c.vnc_display, 0);
	assert_false(c.vnc_password);
	assert_int_equal(parse(&c, "--vnc=:99", NULL), CLI_RUN);
	assert_int_equal(c.vnc_display, 99);
	assert_int_equal(parse(&c, "--vnc", "127.0.0.1:7,password=on", NULL), CLI_RUN);
	assert_string_equal(c.vnc_host, "127.0.0.1");
	assert_int_equal(c.vnc_display, 7);
	assert_true(c.vnc_password);
	assert_int_equal(parse(&c, "--vnc", "localhost:1,password", NULL), CLI_RUN);
	assert_true(c.vnc_password);
	assert_int_equal(parse(&c, "--vnc", "[::1]:3", NULL), CLI_RUN);
	assert_string_equal(c.vnc_host, "::1");
	assert_int_equal(c.vnc_display, 3);
	/* every address without a password: allowed, with a warning */
	assert_int_equal(parse(&c, "--vnc", "0.0.0.0:2", NULL), CLI_RUN);
	assert_non_null(strstr(err_buf, "warning"));
	assert_int_equal(parse(&c, "--vnc", "[::]:2,password=on", NULL), CLI_RUN);
	assert_null(strstr(err_buf, "warning"));
	assert_int_equal(parse(&c, "--vnc", "0.0.0.0:2", "--vnc-password-file", "f", NULL),
			 CLI_RUN);
	assert_null(strstr(err_buf, "warning"));
	assert_true(c.vnc_password);
	assert_string_equal(c.vnc_password_file, "f");

	static const char *const refused[] = {
		":100", ":-1", ":", "1", "", "host.example:1", "[::1]3", "[zz]:1", "1.2.3:1",
		":1,password=maybe", ":1,share=on", ":1x", "[::1:1",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (parse(&c, "--vnc", refused[i], NULL) != CLI_ERROR)
			fail_msg("--vnc '%s' was accepted", refused[i]);
		assert_non_null(strstr(err_buf, "--vnc"));
		assert_non_null(strchr(err_buf, '\n'));
		assert_ptr_equal(strchr(err_buf, '\n'), err_buf + strlen(err_buf) - 1);
	}
	assert_int_equal(parse(&c, "--vnc", ":1", "--vnc", ":2", NULL), CLI_ERROR);
	assert_int_equal(parse(&c, "--keymap", "de", NULL), CLI_RUN);
	assert_string_equal(c.keymap, "de");
	assert_int_equal(parse(&c, "--keymap", "xx", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "en-us, en-gb, de, fr"));
	assert_int_equal(parse(&c, "--screendump-on-exit", "", NULL), CLI_ERROR);
	assert_int_equal(parse(&c, "--vnc-password-file", "", NULL), CLI_ERROR);

	/* With a VNC screen the VGA and the tablet come by default; either
	 * can still be turned off. */
	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_int_equal(c.vga, VGA_NONE);
	assert_false(c.tablet);
	assert_int_equal(parse(&c, "--vnc", ":1", NULL), CLI_RUN);
	assert_int_equal(c.vga, VGA_STD);
	assert_true(c.tablet);
	assert_int_equal(parse(&c, "--vnc", ":1", "--vga", "none", "--tablet", "off", NULL),
			 CLI_RUN);
	assert_int_equal(c.vga, VGA_NONE);
	assert_false(c.tablet);
	assert_int_equal(parse(&c, "--tablet", "on", "--vnc", ":1", NULL), CLI_RUN);
	assert_true(c.tablet);
}

static void test_help_matches_parser(void **state)
{
	static const char *const with_value[][2] = {
		{ "--memory", "1G" }, { "--cpus", "2" },	   { "--bios", "f" },
		{ "--kernel", "k" },  { "--initrd", "i" },	   { "--append", "a" },
		{ "--disk", "d" },    { "--cdrom", "c" },	   { "--boot", "c" },
		{ "--rtc", "utc" },   { "--debugcon", "log" }, { "--serial", "none" },
		{ "--shutdown-timeout", "5" },
		{ "--qmp", "unix:s" }, { "--name", "vm" }, { "--vga", "std" },
		{ "--device", "virtio-balloon" }, { "--tablet", "on" },
		{ "--vnc", ":1" }, { "--vnc-password-file", "pw" }, { "--keymap", "de" },
		{ "--screendump-on-exit", "s.png" }, { "--net", "tap,ifname=tap0" },
	};
	static const char *const accepted[][2] = {
		{ "--disk", "file=a,media=disk,if=ide,format=raw,cache=writeback,readonly=on,"
			    "snapshot=off" },
		{ "--disk", "file=a,format=qcow2,cache=writethrough,readonly=yes,snapshot=no" },
		{ "--disk", "file=a,cache=none,readonly=true,snapshot=false" },
		{ "--disk", "file=a,cache=directsync,readonly=off,snapshot=on" },
		{ "--disk", "file=a,cache=unsafe,media=cdrom" },
		{ "--disk", "file=a,if=virtio,format=raw,cache=none,readonly=on,snapshot=on,"
			    "serial=S,num-queues=16,transport=transitional" },
		{ "--disk", "file=a,if=virtio,num-queues=1,transport=legacy" },
		{ "--disk", "file=a,if=virtio,transport=modern" },
		{ "--cdrom", "file=a,media=disk,format=raw" }, { "--cdrom", "" }, { "--cdrom", "file=" },
		{ "--boot", "order=dc,menu=on,splash-time=65535" },
		{ "--boot", "once=cd,menu=off,menu-timeout=0" },
		{ "--boot", "dc" },
		{ "--rtc", "localtime" }, { "--rtc", "utc" },
		{ "--rtc", "base=localtime" }, { "--rtc", "base=utc" },
		{ "--serial", "stdio" }, { "--serial", "file:x" }, { "--serial", "none" },
		{ "--memory", "4096K" }, { "--memory", "3MiB" }, { "--memory", "1gb" },
		{ "--memory", "2097152" }, { "-m", "1T" },
		{ "--qmp", "unix:/x,server=on,wait=on" }, { "--qmp", "unix:/x,wait=off" },
		{ "--qmp", "unix:/x,server,nowait" },
		{ "--device", "virtio-balloon,id=b1,transport=legacy,deflate-on-oom=on,"
			      "free-page-reporting=off" },
		{ "--device", "virtio-balloon,transport=transitional" },
		{ "--device", "virtio-balloon,transport=modern" },
		{ "--balloon", "virtio" }, { "--balloon=virtio", NULL },
		{ "--tablet", "on" }, { "--tablet", "off" }, { "--tablet=yes", NULL },
		{ "--vga", "std" }, { "--vga", "none" },
		{ "--vnc", "127.0.0.1:0,password=on" }, { "--vnc", "0.0.0.0:99,password=off" },
		{ "--vnc", "[::]:5" }, { "--keymap", "en-us" }, { "--keymap", "en-gb" },
		{ "--keymap", "fr" },
		{ "--net", "tap,ifname=tap10,script=no,downscript=no" }, { "--net", "tap,fd=9" },
		{ "--net", "user,hostfwd=tcp:127.0.0.1:2222-:22,restrict=off,net=10.0.2.0/24,"
			   "dns=10.0.2.3,tftp=/t,bootfile=b" },
	};
	struct vm_config c;
	char help[sizeof(out_buf)];
	unsigned found = 0;

	assert_int_equal(parse(&c, "--help", NULL), CLI_EXIT_OK);
	memcpy(help, out_buf, sizeof(help));
	for (const char *h = strstr(help, "--"); h; h = strstr(h + 2, "--")) {
		char opt[32];
		size_t n = 2;
		const char *value = NULL;
		enum cli_result r;

		while (n < sizeof(opt) - 1 && (isalnum((unsigned char)h[n]) || h[n] == '-'))
			n++;
		if (n == 2)
			continue;
		memcpy(opt, h, n);
		opt[n] = '\0';
		for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
			if (!strcmp(opt, with_value[i][0]))
				value = with_value[i][1];
		if (!strcmp(opt, "--initrd") || !strcmp(opt, "--append"))
			r = parse(&c, "--kernel", "k", opt, value, NULL);
		else
			r = parse(&c, opt, value, NULL);
		if (r == CLI_ERROR)
			fail_msg("--help names %s, which the parser refuses: %s", opt, err_buf);
		found++;
	}
	assert_true(found >= 30);
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		enum cli_result r = parse(&c, accepted[i][0], accepted[i][1], NULL);

		if (r != CLI_RUN)
			fail_msg("%s %s (as --help says) is refused: %s", accepted[i][0],
				 accepted[i][1], err_buf);
	}
	/* and the sub-options' names are all in the text */
	for (const char *const *w = (const char *const[]){ "file=", "media=disk|cdrom", "if=ide",
							   "format=raw|qcow2", "cache=", "readonly=",
							   "snapshot=", "writeback", "writethrough",
							   "none", "directsync", "unsafe", "yes|no",
							   "true|false", "order=", "once=", "menu=on|off",
							   "splash-time=", "menu-timeout=", "[base=]",
							   "file:PATH", "json:PATH", "stdio",
							   "unix:PATH", "server=on", "wait=on|off",
							   "nowait", "if=virtio", "serial=S",
							   "num-queues=N", "transport=T",
							   "transitional", "legacy", "modern",
							   "nic", "model=virtio", "macaddr=MAC",
							   "netdev=ID", "romfile=", "pxe-virtio.rom",
							   "order=n", "tap,ifname=NAME",
							   "fd=N", "id=ID", "script=no", "downscript=no",
							   "user", "hostfwd=", "restrict=on|off", "net=",
							   "dns=", "tftp=", "bootfile=",
							   NULL };
	     *w; w++)
		if (!strstr(help, *w))
			fail_msg("--help does not mention %s", *w);
}

/* --net: QEMU's old nic/tap pairing, the short form, netdev= pairing,
 * default and given MACs, and every refusal as one line. */
static void test_net(void **state)
{
	static const char *const refused[][2] = {
		{ "nic,model=e1000", "only virtio" },
		{ "nic,macaddr=52:54:00:12:34", "not a MAC address" },
		{ "nic,macaddr=52:54:00:12:34:5g", "not a MAC address" },
		{ "nic,macaddr=52:54:00:12:34:56:78", "not a MAC address" },
		{ "nic,macaddr=01:00:5e:00:00:01", "multicast" },
		{ "nic,macaddr=00:00:00:00:00:00", "zero address" },
		{ "nic,transport=pci", "transport=pci" },
		{ "nic,speed=1000", "unknown option 'speed'" },
		{ "nic,macaddr", "not key=value" },
		{ "tap,ifname=tap0,script=/etc/qemu-ifup", "never runs helper scripts" },
		{ "tap,ifname=tap0,downscript=/etc/qemu-ifdown", "never runs helper scripts" },
		{ "tap", "ifname=NAME or fd=N" },
		{ "tap,ifname=a,fd=5", "ifname=NAME or fd=N" },
		{ "tap,ifname=", "interface name" },
		{ "tap,ifname=abcdefghijklmnopq", "interface name" },
		{ "tap,fd=x", "not a file descriptor" },
		{ "tap,fd=1", "standard" },
		{ "tap,ifname=t,ifname=u", "given twice" },
		{ "tap,vhost=on", "unknown option 'vhost'" },
		{ "user,smb=/srv", "unknown option 'smb'" },
		{ "user,restrict=maybe", "use on or off" },
		{ "user,ipv6=off", "not supported" },
		{ "user,net=10.0.0.0/8,net=10.0.0.0/16", "given twice" },
		{ "user,id=u1,id=u2", "id= given twice" },
		{ "user,hostfwd", "not key=value" },
		{ "bridge,br=br0", "not nic, tap or user" },
		{ "nic", "no backend" },
	};
	struct vm_config c;

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_int_equal(c.nr_nics, 0);
	/* The users' guides: a nic, then its tap. */
	assert_int_equal(parse(&c, "--net", "nic,model=virtio,macaddr=52:54:00:ab:cd:ef", "--net",
			       "tap,ifname=tap10,script=no", NULL),
			 CLI_RUN);
	assert_int_equal(c.nr_nics, 1);
	assert_memory_equal(c.nics[0].mac, "\x52\x54\x00\xab\xcd\xef", 6);
	assert_string_equal(c.nics[0].ifname, "tap10");
	assert_int_equal(c.nics[0].fd, -1);
	assert_int_equal(c.nics[0].transport, 0);
	/* The short form, twice: QEMU's default MAC, one up per NIC. */
	assert_int_equal(parse(&c, "--net", "tap,ifname=tap1", "--net=tap,fd=7", NULL), CLI_RUN);
	assert_int_equal(c.nr_nics, 2);
	assert_memory_equal(c.nics[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_memory_equal(c.nics[1].mac, "\x52\x54\x00\x12\x34\x57", 6);
	assert_int_equal(c.nics[1].fd, 7);
	/* The option ROM: Debian's iPXE by default, romfile= names another or
	 * none; --boot order=n boots it. */
	assert_string_equal(c.nics[0].romfile, CLI_DEFAULT_NIC_ROM);
	assert_true(c.nics[0].rom_default);
	assert_int_equal(parse(&c, "--net", "nic,romfile=/srv/my.rom", "--net", "tap,ifname=a",
			       "--net", "nic,romfile=", "--net", "tap,ifname=b", "--boot", "order=nc",
			       NULL),
			 CLI_RUN);
	assert_string_equal(c.nics[0].romfile, "/srv/my.rom");
	assert_false(c.nics[0].rom_default);
	assert_string_equal(c.nics[1].romfile, "");
	assert_string_equal(c.boot_order, "nc");
	{
		char longrom[CLI_ROMFILE_MAX + 16];

		memset(longrom, 'a', sizeof(longrom) - 1);
		longrom[sizeof(longrom) - 1] = '\0';
		memcpy(longrom, "nic,romfile=", 12);
		expect_error("--net", parse(&c, "--net", longrom, NULL));
	}
	/* Two nics then two taps: in order. */
	assert_int_equal(parse(&c, "--net", "nic,transport=legacy", "--net", "nic,transport=modern",
			       "--net", "tap,ifname=a", "--net", "tap,ifname=b", NULL),
			 CLI_RUN);
	assert_string_equal(c.nics[0].ifname, "a");
	assert_int_equal(c.nics[0].transport, 1);
	assert_string_equal(c.nics[1].ifname, "b");
	assert_int_equal(c.nics[1].transport, 2);
	/* id=/netdev= pairing, in any order. */
	assert_int_equal(parse(&c, "--net", "tap,ifname=x,id=n1", "--net", "nic,netdev=n1", NULL),
			 CLI_RUN);
	assert_int_equal(c.nr_nics, 1);
	assert_string_equal(c.nics[0].ifname, "x");
	assert_int_equal(parse(&c, "--net", "nic,netdev=n2", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "no --net tap,id=n2"));
	assert_int_equal(parse(&c, "--net", "tap,ifname=x,id=n1", NULL), CLI_ERROR);
	assert_non_null(strstr(err_buf, "no --net nic,netdev=n1"));
	/* --net user: alone, paired, named; several hostfwd= */
	assert_int_equal(parse(&c, "--net", "user,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp::5353-"
			       ":53,restrict=on,net=10.1.0.0/16,dns=10.1.0.3,tftp=/srv/tftp,"
			       "bootfile=pxelinux.0", NULL),
			 CLI_RUN);
	assert_int_equal(c.nr_nics, 1);
	assert_true(c.nics[0].user);
	{
		struct net_slirp_opts o;
		char text[CLI_USER_OPTS], why[256];

		strcpy(text, c.nics[0].user_opts);
		assert_int_equal(cli_net_user_opts(text, &o, why, sizeof(why)), 0);
		assert_int_equal(o.nr_hostfwd, 2);
		assert_string_equal(o.hostfwd[1], "udp::5353-:53");
		assert_true(o.restrict_on);
		assert_string_equal(o.net, "10.1.0.0/16");
		assert_string_equal(o.tftp, "/srv/tftp");
		assert_string_equal(o.bootfile, "pxelinux.0");
	}
	assert_int_equal(parse(&c, "--net", "nic,macaddr=52:54:00:00:00:01", "--net", "user", "--net",
			       "user,id=u", "--net", "nic,netdev=u", NULL),
			 CLI_RUN);
	assert_int_equal(c.nr_nics, 2);
	assert_true(c.nics[0].user && c.nics[1].user);
	assert_memory_equal(c.nics[0].mac, "\x52\x54\x00\x00\x00\x01", 6);
	/* A MAC from --name: the same each time, another per index and name,
	 * unicast and locally administered. */
	{
		uint8_t a[6], b[6];

		assert_int_equal(parse(&c, "--name", "web1", "--net", "tap,ifname=a", "--net",
				       "tap,ifname=b", NULL),
				 CLI_RUN);
		memcpy(a, c.nics[0].mac, 6);
		memcpy(b, c.nics[1].mac, 6);
		assert_memory_not_equal(a, b, 6);
		assert_int_equal(a[0] & 1, 0);
		assert_int_equal(a[0] & 2, 2);
		assert_int_equal(parse(&c, "--net", "tap,ifname=a", "--name", "web1", NULL), CLI_RUN);
		assert_memory_equal(c.nics[0].mac, a, 6);
		assert_int_equal(parse(&c, "--name", "web2", "--net", "tap,ifname=a", NULL), CLI_RUN);
		assert_memory_not_equal(c.nics[0].mac, a, 6);
	}
	/* The same MAC twice. */
	assert_int_equal(parse(&c, "--net", "nic,macaddr=52:54:00:12:34:57", "--net",
			       "tap,ifname=a", "--net", "tap,ifname=b", NULL),
			 CLI_ERROR);
	assert_non_null(strstr(err_buf, "both have MAC 52:54:00:12:34:57"));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (parse(&c, "--net", refused[i][0], NULL) != CLI_ERROR)
			fail_msg("--net %s accepted", refused[i][0]);
		if (!strstr(err_buf, refused[i][1]))
			fail_msg("--net %s: '%s' lacks '%s'", refused[i][0], err_buf,
				 refused[i][1]);
		/* one line */
		assert_ptr_equal(strchr(err_buf, '\n'), err_buf + strlen(err_buf) - 1);
	}
	{
		const char *argv[2 * CLI_MAX_NICS + 3];
		static char bufs[CLI_MAX_NICS + 1][32];
		unsigned n = 0;

		for (unsigned i = 0; i <= CLI_MAX_NICS; i++) {
			snprintf(bufs[i], sizeof(bufs[i]), "tap,ifname=t%u", i);
			argv[n++] = "--net";
			argv[n++] = bufs[i];
		}
		argv[n] = NULL;
		assert_int_equal(parse(&c, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5],
				       argv[6], argv[7], argv[8], argv[9], argv[10], argv[11],
				       argv[12], argv[13], argv[14], argv[15], argv[16], argv[17],
				       NULL),
				 CLI_ERROR);
		assert_non_null(strstr(err_buf, "at most 8 NICs"));
	}
}

/* --qmp unix:PATH[,server=on|off][,wait=on|off] in QEMU's spellings, and
 * --name. */
static void test_qmp_and_name(void **state)
{
	struct vm_config c;
	char long_path[200];

	assert_int_equal(parse(&c, NULL), CLI_RUN);
	assert_string_equal(c.qmp_path, "");
	assert_null(c.name);
	assert_int_equal(parse(&c, "--qmp", "unix:/run/vm.sock", NULL), CLI_RUN);
	assert_string_equal(c.qmp_path, "/run/vm.sock");
	assert_true(c.qmp_wait); /* QEMU's default */
	assert_int_equal(parse(&c, "--qmp", "unix:/a,server=on,wait=off", NULL), CLI_RUN);
	assert_string_equal(c.qmp_path, "/a");
	assert_false(c.qmp_wait);
	assert_int_equal(parse(&c, "--qmp", "unix:/a,server,nowait", NULL), CLI_RUN);
	assert_false(c.qmp_wait);
	assert_int_equal(parse(&c, "--qmp", "unix:/a,nowait,wait", NULL), CLI_RUN);
	assert_true(c.qmp_wait);
	assert_int_equal(parse(&c, "--qmp=unix:/a,,b,wait=no", NULL), CLI_RUN);
	assert_string_equal(c.qmp_path, "/a,b");
	assert_false(c.qmp_wait);
	expect_error("--qmp: server=off is not supported",
		     parse(&c, "--qmp", "unix:/a,server=off", NULL));
	expect_error("--qmp: 'tcp:1:2': only unix:PATH", parse(&c, "--qmp", "tcp:1:2", NULL));
	expect_error("--qmp: the socket path is empty", parse(&c, "--qmp", "unix:", NULL));
	expect_error("--qmp: the socket path is empty", parse(&c, "--qmp", "unix:,wait=off", NULL));
	expect_error("--qmp: unknown option 'mode=x'", parse(&c, "--qmp", "unix:/a,mode=x", NULL));
	expect_error("--qmp: unknown or bad option 'wait=maybe'",
		     parse(&c, "--qmp", "unix:/a,wait=maybe", NULL));
	expect_error("--qmp: 'unix:/a,': an empty option", parse(&c, "--qmp", "unix:/a,", NULL));
	memset(long_path, 'p', sizeof(long_path));
	memcpy(long_path, "unix:/", 6);
	long_path[5 + 108] = '\0'; /* 108 bytes of path: one too many */
	expect_error("--qmp: the path is too long", parse(&c, "--qmp", long_path, NULL));
	long_path[5 + 107] = '\0';
	assert_int_equal(parse(&c, "--qmp", long_path, NULL), CLI_RUN);
	expect_error("--qmp: given twice",
		     parse(&c, "--qmp", "unix:/a", "--qmp", "unix:/b", NULL));

	assert_int_equal(parse(&c, "--name", "win1", NULL), CLI_RUN);
	assert_string_equal(c.name, "win1");
	expect_error("--name: the name is empty", parse(&c, "--name", "", NULL));
	expect_error("--name: control characters", parse(&c, "--name", "a\nb", NULL));
	expect_error("--name: given twice", parse(&c, "--name", "a", "--name", "b", NULL));
}

static char tmpdir[64];

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool file_is(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return !strcmp(buf, text);
}

static void expect_check_error(const struct vm_config *c, const char *needle)
{
	char err[512] = "";

	assert_int_equal(cli_check_files(c, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("'%s' does not mention '%s'", err, needle);
	assert_null(strchr(err, '\n'));
}

/* The check before start: no output file is created or truncated. */
static void test_check_files(void **state)
{
	char log[128], other[128], sub[128], kernel[128], missing[128], err[512];
	struct vm_config c;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cli.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	tmp_path(log, sizeof(log), "log");
	tmp_path(other, sizeof(other), "other");
	tmp_path(sub, sizeof(sub), "no/such/dir/x");
	tmp_path(kernel, sizeof(kernel), "kernel");
	tmp_path(missing, sizeof(missing), "missing");
	write_file(log, "keep me");
	write_file(kernel, "junk");

	/* outputs that can be written, existing or not: nothing changes */
	assert_int_equal(parse(&c, "--serial", "file:log", "--debugcon", "dbg", NULL), CLI_RUN);
	c.serial_path = log;
	c.debugcon_path = other;
	c.bios_default = false;
	c.bios = kernel; /* a readable regular file */
	assert_int_equal(cli_check_files(&c, err, sizeof(err)), 0);
	assert_true(file_is(log, "keep me"));
	assert_int_equal(access(other, F_OK), -1);

	c.debugcon_path = tmpdir;
	expect_check_error(&c, "--debugcon: '/tmp/test_cli.");
	expect_check_error(&c, "is a directory");
	c.debugcon_path = sub;
	expect_check_error(&c, "--debugcon: cannot create");
	c.debugcon_path = "/proc/minivmm-test";
	expect_check_error(&c, "--debugcon: cannot create '/proc/minivmm-test'");
	assert_int_equal(access("/proc/minivmm-test", F_OK), -1);
	c.debugcon_path = log;
	expect_check_error(&c, "also the file of");
	c.debugcon_path = "/dev/null";
	c.stats = STATS_JSON;
	c.stats_path = "/dev/null"; /* a device may take two outputs */
	assert_int_equal(cli_check_files(&c, err, sizeof(err)), 0);
	c.stats = STATS_OFF;

	/* inputs */
	c.bios = tmpdir;
	expect_check_error(&c, "--bios: '/tmp/test_cli.");
	expect_check_error(&c, "is a directory");
	c.bios = missing;
	expect_check_error(&c, "--bios: cannot open");
	c.bios = "/dev/null";
	expect_check_error(&c, "is not a regular file");
	c.bios = NULL;
	c.kernel = kernel;
	expect_check_error(&c, "--kernel: '");
	expect_check_error(&c, "' is not a Linux bzImage (no 'HdrS' header)");
	c.kernel = tmpdir;
	expect_check_error(&c, "--kernel: '/tmp/test_cli.");
	expect_check_error(&c, "is a directory");

	/* an output that is also a drive would overwrite it */
	assert_int_equal(parse(&c, "--disk", log, "--serial", "none", NULL), CLI_RUN);
	c.debugcon_path = log;
	expect_check_error(&c, "--debugcon: '");
	expect_check_error(&c, "is also the file of --disk; it would be overwritten");
	assert_true(file_is(log, "keep me"));

	/* the real open at start truncates */
	{
		int fd = cli_open_output("--serial", log, err, sizeof(err));

		assert_true(fd >= 0);
		close(fd);
		assert_true(file_is(log, ""));
		assert_int_equal(cli_open_output("--serial", sub, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "--serial: cannot open '"));
	}
	unlink(log);
	unlink(kernel);
	assert_int_equal(rmdir(tmpdir), 0); /* nothing else was left behind */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_help_tells_every_option),
		cmocka_unit_test(test_drives_and_boot),
		cmocka_unit_test(test_media),
		cmocka_unit_test(test_virtio_disks),
		cmocka_unit_test(test_shutdown_timeout),
		cmocka_unit_test(test_empty_cdrom),
		cmocka_unit_test(test_accel),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_vga_option),
		cmocka_unit_test(test_help_matches_parser),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_vnc),
		cmocka_unit_test(test_qmp_and_name),
		cmocka_unit_test(test_check_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
