// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: minivmm [OPTIONS]\n"
	"Runs a PC virtual machine on /dev/kvm.\n"
	"\n"
	"Machine:\n"
	"  -m, --memory SIZE      guest RAM, with K/M/G suffix (default 512M, 2M..1T)\n"
	"      --cpus N           number of vCPUs, 1..64 (default 1)\n"
	"      --bios FILE        firmware image, 64 KiB..16 MiB in 64 KiB steps,\n"
	"                         mapped read-only ending at 4 GiB\n"
	"      --kernel FILE      boot a Linux bzImage directly, without a BIOS\n"
	"      --initrd FILE      initial ramdisk for --kernel\n"
	"      --append STRING    kernel command line for --kernel\n"
	"\n"
	"Devices:\n"
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
	OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_VERSION,
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
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err)
{
	int c;

	*cfg = (struct vm_config){ .memory = CLI_DEFAULT_MEMORY, .cpus = 1, .serial = SERIAL_STDIO };
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
		fprintf(err, "minivmm: nothing to run: give --bios FILE or --kernel FILE\n");
		return CLI_ERROR;
	}
	return CLI_RUN;
}
