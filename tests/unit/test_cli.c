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

#include "vmm/cli.h"

static char out_buf[4096], err_buf[1024];

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

	(void)state;
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

	(void)state;
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

	(void)state;
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

	(void)state;
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
	expect_error("--disk", parse(&c, "--disk", "file=a,if=virtio", NULL));
	expect_error("format=vmdk", parse(&c, "--disk", "file=a,format=vmdk", NULL));
	expect_error("cache=fast", parse(&c, "--disk", "file=a,cache=fast", NULL));
	expect_error("file=PATH is missing", parse(&c, "--disk", "format=raw", NULL));
	expect_error("unknown or bad option", parse(&c, "--disk", "file=a,readonly=maybe", NULL));
	expect_error("at most 3", parse(&c, "--disk", "a", "--disk", "b", "--disk", "c", "--disk",
					"d", NULL));
	expect_error("only one CD-ROM", parse(&c, "--cdrom", "a", "--cdrom", "b", NULL));
	expect_error("letters c (disk) and d", parse(&c, "--boot", "order=a", NULL));
	expect_error("letters c (disk) and d", parse(&c, "--boot", "order=", NULL));
	expect_error("--boot", parse(&c, "--boot", "menu=perhaps", NULL));
	expect_error("--boot", parse(&c, "--boot", "splash-time=99999", NULL));
	expect_error("--rtc", parse(&c, "--rtc", "mars", NULL));
}

static void test_drives_and_boot(void **state)
{
	struct vm_config c;

	(void)state;
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
					    "--cdrom", "--boot", "--rtc", "--debugcon" };
	struct vm_config c;

	(void)state;
	assert_int_equal(parse(&c, "--help", NULL), CLI_EXIT_OK);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strstr(out_buf, opts[i]))
			fail_msg("--help does not mention %s", opts[i]);
	assert_int_equal(parse(&c, "--version", NULL), CLI_EXIT_OK);
	assert_non_null(strstr(out_buf, "minivmm "));
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
