// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "devices/block/block.h"

static const char usage[] =
	"Usage: minivmm [OPTIONS]\n"
	"Runs a PC virtual machine on /dev/kvm.\n"
	"\n"
	"Machine:\n"
	"  -m, --memory SIZE      guest RAM, with K/M/G suffix (default 512M, 2M..1T)\n"
	"      --cpus N           number of vCPUs, 1..64 (default 1)\n"
	"      --bios FILE        firmware image, 64 KiB..16 MiB in 64 KiB steps,\n"
	"                         mapped read-only ending at 4 GiB (default:\n"
	"                         " CLI_DEFAULT_BIOS ", SeaBIOS)\n"
	"      --kernel FILE      boot a Linux bzImage directly, without a BIOS\n"
	"      --initrd FILE      initial ramdisk for --kernel\n"
	"      --append STRING    kernel command line for --kernel\n"
	"\n"
	"Drives (PIIX3 IDE):\n"
	"      --disk PATH        a hard disk (raw or qcow2, probed); the first fills\n"
	"                         the primary master, then primary slave, then\n"
	"                         secondary slave (up to 3)\n"
	"      --disk file=PATH[,if=ide][,format=raw|qcow2][,cache=MODE][,readonly=on]\n"
	"             [,snapshot=on]  the same with options; MODE is writeback (default),\n"
	"                         writethrough, none, directsync or unsafe\n"
	"      --cdrom PATH       an ISO image in the CD-ROM drive (secondary master)\n"
	"      --boot [order=]LETTERS[,menu=on|off][,splash-time=MS]\n"
	"                         boot order: c first disk, d CD-ROM (e.g. order=dc);\n"
	"                         menu=on shows SeaBIOS's boot menu (press Esc)\n"
	"\n"
	"Devices:\n"
	"      --rtc localtime|utc  the CMOS clock runs in local time (as Windows\n"
	"                         expects) or UTC (default); base=... also accepted\n"
	"      --debugcon FILE    write what the firmware prints to port 0x402 to FILE\n"
	"      --serial MODE      COM1: stdio (default), file:PATH or none;\n"
	"                         with stdio on a terminal, Ctrl-A x quits\n"
	"      --debug-exit       a write of V to port 0xf4 ends minivmm with\n"
	"                         exit status (V << 1) | 1\n"
	"\n"
	"Behaviour:\n"
	"      --no-reboot        exit with status 0 instead of rebooting\n"
	"      --stats[=json:PATH]  at exit, print VM-exit statistics to stderr\n"
	"                         (or write them as JSON to PATH)\n"
	"  -h, --help             show this help and exit\n"
	"      --version          show the version and exit\n"
	"\n"
	"Exit status: 0 when the guest powers off or resets with --no-reboot, or on\n"
	"SIGINT/SIGTERM; 1 on a runtime error; 2 on a bad command line; (V << 1) | 1\n"
	"when the guest writes V to the debug-exit port.\n";

int cli_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default:
		return -1;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

enum {
	OPT_BIOS = 256, OPT_CPUS, OPT_SERIAL, OPT_DEBUG_EXIT, OPT_NO_REBOOT, OPT_STATS,
	OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_VERSION, OPT_DISK, OPT_CDROM, OPT_BOOT, OPT_RTC,
	OPT_DEBUGCON,
};

static const struct option options[] = {
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "bios", required_argument, NULL, OPT_BIOS },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "debug-exit", no_argument, NULL, OPT_DEBUG_EXIT },
	{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
	{ "stats", optional_argument, NULL, OPT_STATS },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "cdrom", required_argument, NULL, OPT_CDROM },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "rtc", required_argument, NULL, OPT_RTC },
	{ "debugcon", required_argument, NULL, OPT_DEBUGCON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static bool on_off(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

/*
 * "PATH" or "key=value,..." with the keys file, if, format, cache, readonly,
 * snapshot, media.  The drive keeps its own copy of the text (spec) and
 * points into it.  Commas in a plain PATH are not special.
 */
static int parse_drive(const char *opt, const char *spec, struct cli_drive *d, bool *is_cdrom,
		       FILE *err)
{
	char *save = NULL, *arg;

	*d = (struct cli_drive){ .cache = BLOCK_CACHE_WRITEBACK };
	if (strlen(spec) >= sizeof(d->spec)) {
		fprintf(err, "minivmm: %s: argument too long\n", opt);
		return -1;
	}
	strcpy(d->spec, spec);
	arg = d->spec;
	if (!strchr(arg, '=')) {
		d->path = arg;
		return 0;
	}
	for (char *kv = strtok_r(arg, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		bool b;

		if (!v) {
			fprintf(err, "minivmm: %s: '%s' is not key=value\n", opt, kv);
			return -1;
		}
		*v++ = '\0';
		if (!strcmp(kv, "file") && *v) {
			d->path = v;
		} else if (!strcmp(kv, "if")) {
			if (strcmp(v, "ide")) {
				fprintf(err, "minivmm: %s: if=%s is not supported (only if=ide)\n", opt, v);
				return -1;
			}
		} else if (!strcmp(kv, "format")) {
			if (strcmp(v, "raw") && strcmp(v, "qcow2")) {
				fprintf(err, "minivmm: %s: format=%s: not raw or qcow2\n", opt, v);
				return -1;
			}
			d->format = v;
		} else if (!strcmp(kv, "cache")) {
			d->cache = block_cache_parse(v);
			if (d->cache < 0) {
				fprintf(err, "minivmm: %s: cache=%s: not writeback, writethrough, none, "
					     "directsync or unsafe\n", opt, v);
				return -1;
			}
		} else if (!strcmp(kv, "readonly") && on_off(v, &b)) {
			d->read_only = b;
		} else if (!strcmp(kv, "snapshot") && on_off(v, &b)) {
			d->snapshot = b;
		} else if (!strcmp(kv, "media") && (!strcmp(v, "disk") || !strcmp(v, "cdrom"))) {
			*is_cdrom = !strcmp(v, "cdrom");
		} else {
			fprintf(err, "minivmm: %s: unknown or bad option '%s=%s'\n", opt, kv, v);
			return -1;
		}
	}
	if (!d->path) {
		fprintf(err, "minivmm: %s: file=PATH is missing\n", opt);
		return -1;
	}
	return 0;
}

static int parse_boot(char *arg, struct vm_config *cfg, FILE *err)
{
	char *save = NULL;

	for (char *kv = strtok_r(arg, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		const char *order = NULL;
		bool b;

		if (!v) {
			order = kv; /* "--boot d", as QEMU's legacy form */
		} else {
			*v++ = '\0';
			if (!strcmp(kv, "order") || !strcmp(kv, "once")) {
				order = v;
			} else if (!strcmp(kv, "menu") && on_off(v, &b)) {
				cfg->boot_menu = b;
			} else if (!strcmp(kv, "splash-time") || !strcmp(kv, "menu-timeout")) {
				unsigned ms;

				if (parse_uint(v, 0, 65535, &ms) < 0) {
					fprintf(err, "minivmm: --boot: %s=%s is not 0..65535 ms\n", kv, v);
					return -1;
				}
				cfg->boot_menu_timeout_ms = ms;
			} else {
				fprintf(err, "minivmm: --boot: unknown or bad option '%s=%s'\n", kv, v);
				return -1;
			}
		}
		if (order) {
			size_t n = strlen(order);

			if (n == 0 || n >= sizeof(cfg->boot_order) || strspn(order, "cd") != n) {
				fprintf(err, "minivmm: --boot: order '%s': use the letters c (disk) and "
					     "d (CD-ROM)\n", order);
				return -1;
			}
			memcpy(cfg->boot_order, order, n + 1);
		}
	}
	return 0;
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err)
{
	int c;

	*cfg = (struct vm_config){ .memory = CLI_DEFAULT_MEMORY, .cpus = 1, .serial = SERIAL_STDIO,
				   .boot_menu = -1 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:h", options, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (cli_parse_size(optarg, &cfg->memory) < 0) {
				fprintf(err, "minivmm: --memory: '%s' is not a size (examples: 512M, 2G)\n", optarg);
				return CLI_ERROR;
			}
			if (cfg->memory < CLI_MIN_MEMORY || cfg->memory > CLI_MAX_MEMORY) {
				fprintf(err, "minivmm: --memory: %s is outside 2M..1T\n", optarg);
				return CLI_ERROR;
			}
			break;
		case OPT_CPUS:
			if (parse_uint(optarg, 1, CLI_MAX_CPUS, &cfg->cpus) < 0) {
				fprintf(err, "minivmm: --cpus: '%s' is not a number from 1 to %d\n", optarg,
					CLI_MAX_CPUS);
				return CLI_ERROR;
			}
			break;
		case OPT_BIOS: cfg->bios = optarg; break;
		case OPT_KERNEL: cfg->kernel = optarg; break;
		case OPT_INITRD: cfg->initrd = optarg; break;
		case OPT_APPEND: cfg->append = optarg; break;
		case OPT_SERIAL:
			if (!strcmp(optarg, "stdio")) {
				cfg->serial = SERIAL_STDIO;
			} else if (!strcmp(optarg, "none")) {
				cfg->serial = SERIAL_NONE;
			} else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
				cfg->serial = SERIAL_FILE;
				cfg->serial_path = optarg + 5;
			} else {
				fprintf(err, "minivmm: --serial: '%s' is not stdio, file:PATH or none\n", optarg);
				return CLI_ERROR;
			}
			break;
		case OPT_DISK:
		case OPT_CDROM: {
			const char *opt = c == OPT_DISK ? "--disk" : "--cdrom";
			bool is_cdrom = c == OPT_CDROM;
			struct cli_drive *d;

			if (is_cdrom && cfg->has_cdrom) {
				fprintf(err, "minivmm: %s: only one CD-ROM drive\n", opt);
				return CLI_ERROR;
			}
			if (!is_cdrom && cfg->nr_disks == CLI_MAX_DISKS) {
				fprintf(err, "minivmm: --disk: at most %d disks\n", CLI_MAX_DISKS);
				return CLI_ERROR;
			}
			/* Parsed in place, so the pointers into spec stay valid;
			 * media=cdrom moves it to the CD-ROM slot below. */
			d = is_cdrom ? &cfg->cdrom : &cfg->disks[cfg->nr_disks];
			if (parse_drive(opt, optarg, d, &is_cdrom, err) < 0)
				return CLI_ERROR;
			if (is_cdrom && d != &cfg->cdrom) {
				if (cfg->has_cdrom) {
					fprintf(err, "minivmm: %s: only one CD-ROM drive\n", opt);
					return CLI_ERROR;
				}
				if (parse_drive(opt, optarg, &cfg->cdrom, &is_cdrom, err) < 0)
					return CLI_ERROR;
				d = &cfg->cdrom;
			}
			if (is_cdrom) {
				d->read_only = true;
				cfg->has_cdrom = true;
			} else {
				cfg->nr_disks++;
			}
			break;
		}
		case OPT_BOOT: {
			char copy[256];

			if (strlen(optarg) >= sizeof(copy)) {
				fprintf(err, "minivmm: --boot: argument too long\n");
				return CLI_ERROR;
			}
			strcpy(copy, optarg);
			if (parse_boot(copy, cfg, err) < 0)
				return CLI_ERROR;
			break;
		}
		case OPT_RTC:
			if (!strcmp(optarg, "localtime") || !strcmp(optarg, "base=localtime")) {
				cfg->rtc_localtime = true;
			} else if (!strcmp(optarg, "utc") || !strcmp(optarg, "base=utc")) {
				cfg->rtc_localtime = false;
			} else {
				fprintf(err, "minivmm: --rtc: '%s' is not localtime or utc\n", optarg);
				return CLI_ERROR;
			}
			break;
		case OPT_DEBUGCON: cfg->debugcon_path = optarg; break;
		case OPT_DEBUG_EXIT: cfg->debug_exit = true; break;
		case OPT_NO_REBOOT: cfg->no_reboot = true; break;
		case OPT_STATS:
			if (!optarg) {
				cfg->stats = STATS_TABLE;
			} else if (!strncmp(optarg, "json:", 5) && optarg[5]) {
				cfg->stats = STATS_JSON;
				cfg->stats_path = optarg + 5;
			} else {
				fprintf(err, "minivmm: --stats: '%s' is not json:PATH\n", optarg);
				return CLI_ERROR;
			}
			break;
		case 'h':
			fputs(usage, out);
			return CLI_EXIT_OK;
		case OPT_VERSION:
			fprintf(out, "minivmm %s\n", MINIVMM_VERSION);
			return CLI_EXIT_OK;
		case ':':
			fprintf(err, "minivmm: option '%s' needs an argument\n", argv[optind - 1]);
			return CLI_ERROR;
		default:
			fprintf(err, "minivmm: unknown option '%s' (see minivmm --help)\n", argv[optind - 1]);
			return CLI_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(err, "minivmm: unexpected argument '%s' (see minivmm --help)\n", argv[optind]);
		return CLI_ERROR;
	}
	if ((cfg->initrd || cfg->append) && !cfg->kernel) {
		fprintf(err, "minivmm: --initrd and --append need --kernel\n");
		return CLI_ERROR;
	}
	if (cfg->kernel && cfg->bios) {
		fprintf(err, "minivmm: --kernel and --bios can't be used together\n");
		return CLI_ERROR;
	}
	if (!cfg->kernel && !cfg->bios) {
		cfg->bios = CLI_DEFAULT_BIOS;
		cfg->bios_default = true;
	}
	return CLI_RUN;
}
