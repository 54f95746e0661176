// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * minivmm-img: create, inspect, check, convert and resize disk images, in the
 * words and options qemu-img users know.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/block/block.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: minivmm-img COMMAND [options]\n"
		"       minivmm-img -h|--help | -V|--version\n"
		"\n"
		"  create [-q] [-f FMT] [-b BACKING [-F BACKING_FMT]] [-o OPTIONS] FILE [SIZE]\n"
		"  info [-f FMT] [--output=human|json] [-U] FILE\n"
		"  check [-q] [-f FMT] [-r leaks|all] [--output=human|json] [-U] FILE\n"
		"  convert [-p|-q] [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [-t CACHE] [-U]\n"
		"          SOURCE TARGET\n"
		"  resize [-q] [-f FMT] FILE [+]SIZE\n"
		"\n"
		"Every command also takes -h/--help.\n"
		"  -f, -F, -O FMT  image format: qcow2 or raw (-f probes when not given)\n"
		"  -q              quiet\n"
		"  -p              show progress (convert)\n"
		"  -t CACHE        target cache mode: writeback, writethrough, none, directsync,\n"
		"                  unsafe (convert)\n"
		"  -U, --force-share  open the image even if another process uses it\n"
		"                  (read-only commands and the convert source)\n"
		"SIZE is a number of bytes, a multiple of 512, optionally with one of the\n"
		"  suffixes k, M, G, T, P, E (powers of 1024; also K, m, g, t, p, e; b or B\n"
		"  for bytes).\n"
		"OPTIONS (-o, comma separated; qcow2 only):\n"
		"  cluster_size=SIZE      a power of two from 512 to 2M (default 64k)\n"
		"  compat=0.10|1.1        the qcow2 version, also v2|v3 (default 1.1)\n"
		"  lazy_refcounts=on|off  (compat=1.1 only)\n"
		"  refcount_bits=N        1, 2, 4, 8, 16, 32 or 64 (all but 16 need compat=1.1)\n"
		"  backing_file=NAME, backing_fmt=FMT  as -b and -F (create only)\n"
		"check exit status: 0 no errors, 1 check failed, 2 corruptions, 3 leaks only,\n"
		"  63 the format has no checks.\n");
}

static int cmd_help(void)
{
	usage(stdout);
	return 0;
}

/* Sizes are at most INT64_MAX bytes, as in qemu-img. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 0:
	case 'b':
	case 'B':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	case 'p':
	case 'P':
		shift = 50;
		break;
	case 'e':
	case 'E':
		shift = 60;
		break;
	default:
		return -1;
	}
	if (*end && end[1])
		return -1;
	if (v > ((uint64_t)INT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void bad_size(const char *s)
{
	fprintf(stderr,
		"minivmm-img: invalid size '%s': give a number of bytes from 0 to 8 EiB, "
		"optionally with a suffix k, M, G, T, P or E\n",
		s);
}

/* "1 GiB", "196 KiB", "1.5 MiB" as qemu-img prints sizes. */
static void size_str(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%0.3g %s", d, units[u]);
}

struct create_args {
	struct block_create_opts c;
	char *backing_file, *backing_fmt;
};

/* Strings that -o options point into, freed when the command returns. */
static char *owned[64];
static unsigned nowned;

static char *own(char *s)
{
	if (s && nowned < sizeof(owned) / sizeof(owned[0]))
		owned[nowned++] = s;
	return s;
}

static int parse_on_off(const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "true"))
		*out = true;
	else if (!strcmp(val, "off") || !strcmp(val, "false"))
		*out = false;
	else {
		fprintf(stderr, "minivmm-img: invalid %s '%s' (on or off)\n", key, val);
		return -1;
	}
	return 0;
}

/* One -o KEY=VALUE; for_create allows the backing file keys. */
static int parse_o_one(const char *key, char *val, struct block_create_opts *c, bool for_create)
{
	uint64_t v;

	if (!strcmp(key, "cluster_size")) {
		if (parse_size(val, &v) || v < 512 || v > (2u << 20) || (v & (v - 1))) {
			fprintf(stderr,
				"minivmm-img: invalid cluster_size '%s': a power of two from 512 "
				"to 2M is needed\n",
				val);
			return -1;
		}
		c->cluster_size = (unsigned)v;
	} else if (!strcmp(key, "compat")) {
		if (!strcmp(val, "0.10") || !strcmp(val, "v2"))
			c->compat = 2;
		else if (!strcmp(val, "1.1") || !strcmp(val, "v3"))
			c->compat = 3;
		else {
			fprintf(stderr, "minivmm-img: invalid compat '%s' (0.10 or 1.1)\n", val);
			return -1;
		}
	} else if (!strcmp(key, "lazy_refcounts")) {
		return parse_on_off(key, val, &c->lazy_refcounts);
	} else if (!strcmp(key, "refcount_bits")) {
		char *end;
		unsigned long b;
		errno = 0;
		b = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] < '0' || val[0] > '9' || b == 0 ||
		    b > 64 || (b & (b - 1))) {
			fprintf(stderr,
				"minivmm-img: invalid refcount_bits '%s' (1, 2, 4, 8, 16, 32 or "
				"64)\n",
				val);
			return -1;
		}
		c->refcount_bits = (unsigned)b;
	} else if (for_create && !strcmp(key, "backing_file")) {
		c->backing_file = val;
	} else if (for_create && !strcmp(key, "backing_fmt")) {
		c->backing_format = val;
	} else {
		fprintf(stderr, "minivmm-img: unknown option '%s' in -o (see --help)\n", key);
		return -1;
	}
	return 0;
}

static int parse_o(const char *arg, struct block_create_opts *c, bool for_create)
{
	char *dup = own(strdup(arg)), *save = NULL;

	if (!dup)
		return -1;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			fprintf(stderr, "minivmm-img: invalid option '%s' in -o (KEY=VALUE)\n",
				tok);
			return -1;
		}
		*eq++ = 0;
		if (parse_o_one(tok, eq, c, for_create))
			return -1;
	}
	return 0;
}

static bool is_help(const char *s)
{
	return !strcmp(s, "-h") || !strcmp(s, "--help");
}

/*
 * getopt would take "-5" for an option: a negative size given where the
 * size goes gets a message about the size instead.  opts_with_arg are the
 * options whose argument is the next word.
 */
static bool negative_size(int argc, char **argv, const char *opts_with_arg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return false;
		if (a[0] == '-' && a[1] && !a[2] && strchr(opts_with_arg, a[1])) {
			i++;
			continue;
		}
		if (a[0] == '-' && a[1] >= '0' && a[1] <= '9') {
			bad_size(a);
			return true;
		}
	}
	return false;
}

static int cmd_create(int argc, char **argv)
{
	struct block_create_opts c = {.format = "raw"};
	uint64_t size;
	bool quiet = false;
	char err[512];
	int opt, ret;

	if (negative_size(argc, argv, "fbFo"))
		return 1;
	while ((opt = getopt(argc, argv, "f:b:F:o:qh")) != -1) {
		switch (opt) {
		case 'f':
			c.format = optarg;
			break;
		case 'b':
			c.backing_file = optarg;
			break;
		case 'F':
			c.backing_format = optarg;
			break;
		case 'o':
			if (parse_o(optarg, &c, true))
				return 1;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cmd_help();
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return 1;
	}
	if (argc - optind == 2 && parse_size(argv[optind + 1], &c.size)) {
		bad_size(argv[optind + 1]);
		return 1;
	}
	if (argc - optind == 1 && !c.backing_file) {
		fprintf(stderr, "minivmm-img: the image size must be specified\n");
		return 1;
	}
	ret = block_create(argv[optind], &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "minivmm-img: %s\n", err);
		return 1;
	}
	size = c.size;
	if (!size && c.backing_file) {
		/* The size came from the backing file: read it back. */
		struct block_opts o = {.format = c.format, .read_only = true, .no_backing = true};
		struct block_dev *bd;
		if (block_open(&bd, argv[optind], &o, err, sizeof(err)) == 0) {
			size = block_size(bd);
			block_close(bd);
		}
	}
	if (!quiet)
		printf("Formatting '%s', fmt=%s size=%" PRIu64 "%s%s%s%s\n", argv[optind],
		       c.format, size, c.backing_file ? " backing_file=" : "",
		       c.backing_file ? c.backing_file : "",
		       c.backing_file && c.backing_format ? " backing_fmt=" : "",
		       c.backing_file && c.backing_format ? c.backing_format : "");
	return 0;
}

struct open_args {
	const char *fmt;
	bool rw, no_backing, repair, force_share;
};

static int open_image(struct block_dev **bd, const char *path, const struct open_args *a)
{
	struct block_opts o = {.format = a->fmt,
			       .read_only = !a->rw,
			       .no_backing = a->no_backing,
			       .repair = a->repair,
			       .force_share = a->force_share};
	char err[512];
	int ret = block_open(bd, path, &o, err, sizeof(err));

	if (ret)
		fprintf(stderr, "minivmm-img: %s\n", err[0] ? err : strerror(-ret));
	return ret;
}

static const char *compat_str(int version)
{
	return version == 2 ? "0.10" : "1.1";
}

static json_t *info_snapshots_json(const struct block_info *info)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < info->nb_snapshots; i++) {
		const struct block_snapshot_info *s = &info->snapshots[i];
		json_t *so = json_object();
		json_object_set_new(so, "id", json_string(s->id));
		json_object_set_new(so, "name", json_string(s->name));
		json_object_set_new(so, "vm-state-size",
				    json_integer((json_int_t)s->vm_state_size));
		json_object_set_new(so, "date-sec", json_integer(s->date_sec));
		json_object_set_new(so, "date-nsec", json_integer(s->date_nsec));
		json_object_set_new(so, "vm-clock-sec",
				    json_integer((json_int_t)(s->vm_clock_nsec / 1000000000)));
		json_object_set_new(so, "vm-clock-nsec",
				    json_integer((json_int_t)(s->vm_clock_nsec % 1000000000)));
		json_array_append_new(a, so);
	}
	return a;
}

/* "format-specific" of qemu-img info, the same keys in the same order. */
static json_t *info_qcow2_json(const struct block_info *info)
{
	json_t *fs = json_object(), *d = json_object();

	json_object_set_new(d, "compat", json_string(compat_str(info->version)));
	if (info->compression_type[0])
		json_object_set_new(d, "compression-type", json_string(info->compression_type));
	if (info->version == 3)
		json_object_set_new(d, "lazy-refcounts", json_boolean(info->lazy_refcounts));
	json_object_set_new(d, "refcount-bits", json_integer(info->refcount_bits));
	if (info->encryption[0]) {
		json_t *e = json_object();
		json_object_set_new(e, "format", json_string(info->encryption));
		json_object_set_new(d, "encrypt", e);
	}
	if (info->data_file[0]) {
		json_object_set_new(d, "data-file", json_string(info->data_file));
		json_object_set_new(d, "data-file-raw", json_boolean(info->data_file_raw));
	}
	if (info->version == 3) {
		json_object_set_new(d, "corrupt", json_boolean(info->corrupt));
		json_object_set_new(d, "extended-l2", json_boolean(info->extended_l2));
	}
	json_object_set_new(fs, "type", json_string("qcow2"));
	json_object_set_new(fs, "data", d);
	return fs;
}

/* The backing file name as the image's readers resolve it (qemu-img's "actual path"). */
static void full_backing(char *out, size_t len, const char *image, const char *backing)
{
	const char *slash = strrchr(image, '/');

	if (backing[0] != '/' && slash)
		snprintf(out, len, "%.*s/%s", (int)(slash - image), image, backing);
	else
		snprintf(out, len, "%s", backing);
}

static void info_json(const char *name, const struct block_info *info, uint64_t actual)
{
	json_t *o = json_object();

	json_object_set_new(o, "virtual-size", json_integer((json_int_t)info->virtual_size));
	json_object_set_new(o, "filename", json_string(name));
	if (info->cluster_size)
		json_object_set_new(o, "cluster-size", json_integer(info->cluster_size));
	json_object_set_new(o, "format", json_string(info->format));
	json_object_set_new(o, "actual-size", json_integer((json_int_t)actual));
	if (info->encryption[0])
		json_object_set_new(o, "encrypted", json_true());
	if (!strcmp(info->format, "qcow2"))
		json_object_set_new(o, "dirty-flag", json_boolean(info->dirty));
	if (info->backing_file[0]) {
		char full[PATH_MAX];
		full_backing(full, sizeof(full), name, info->backing_file);
		json_object_set_new(o, "full-backing-filename", json_string(full));
		json_object_set_new(o, "backing-filename", json_string(info->backing_file));
		if (info->backing_format[0])
			json_object_set_new(o, "backing-filename-format",
					    json_string(info->backing_format));
	}
	if (info->nb_snapshots)
		json_object_set_new(o, "snapshots", info_snapshots_json(info));
	if (!strcmp(info->format, "qcow2"))
		json_object_set_new(o, "format-specific", info_qcow2_json(info));
	json_dumpf(o, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(o);
}

static void info_snapshots_human(const struct block_info *info)
{
	printf("Snapshot list:\n");
	printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
	       "ICOUNT");
	for (unsigned i = 0; i < info->nb_snapshots; i++) {
		const struct block_snapshot_info *s = &info->snapshots[i];
		char date[32], vms[32];
		time_t t = s->date_sec;
		struct tm tm;
		uint64_t ms = s->vm_clock_nsec / 1000000;
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		size_str(vms, sizeof(vms), s->vm_state_size);
		printf("%-9s %-16s %8s %19s %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64
		       "%11s\n",
		       s->id, s->name, vms, date, ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
		       ms % 1000, "");
	}
}

static void info_qcow2_human(const struct block_info *info)
{
	printf("Format specific information:\n");
	printf("    compat: %s\n", compat_str(info->version));
	if (info->compression_type[0])
		printf("    compression type: %s\n", info->compression_type);
	if (info->version == 3)
		printf("    lazy refcounts: %s\n", info->lazy_refcounts ? "true" : "false");
	printf("    refcount bits: %u\n", info->refcount_bits);
	if (info->encryption[0])
		printf("    encrypt:\n        format: %s\n", info->encryption);
	if (info->data_file[0]) {
		printf("    data file: %s\n", info->data_file);
		printf("    data file raw: %s\n", info->data_file_raw ? "true" : "false");
	}
	if (info->version == 3) {
		printf("    corrupt: %s\n", info->corrupt ? "true" : "false");
		printf("    extended l2: %s\n", info->extended_l2 ? "true" : "false");
	}
}

static void info_human(const char *name, const struct block_info *info, uint64_t actual)
{
	char vs[32], as[32];

	size_str(vs, sizeof(vs), info->virtual_size);
	size_str(as, sizeof(as), actual);
	printf("image: %s\n", name);
	printf("file format: %s\n", info->format);
	printf("virtual size: %s (%" PRIu64 " bytes)\n", vs, info->virtual_size);
	printf("disk size: %s\n", as);
	if (info->encryption[0])
		printf("encrypted: yes\n");
	if (info->cluster_size)
		printf("cluster_size: %u\n", info->cluster_size);
	if (info->backing_file[0]) {
		char full[PATH_MAX];
		full_backing(full, sizeof(full), name, info->backing_file);
		if (strcmp(full, info->backing_file))
			printf("backing file: %s (actual path: %s)\n", info->backing_file, full);
		else
			printf("backing file: %s\n", info->backing_file);
		if (info->backing_format[0])
			printf("backing file format: %s\n", info->backing_format);
	}
	if (info->nb_snapshots)
		info_snapshots_human(info);
	if (!strcmp(info->format, "qcow2"))
		info_qcow2_human(info);
}

/*
 * The facts about an image: from the opened image, or, when minivmm cannot
 * do I/O with it (-ENOTSUP: encryption, zstd, ...), from its header alone.
 */
static int get_info(const char *path, const struct open_args *a, struct block_info *info)
{
	struct block_opts o = {.format = a->fmt, .read_only = true, .no_backing = true,
			       .force_share = a->force_share};
	struct block_dev *bd;
	char err[512], derr[512];
	int ret;

	ret = block_open(&bd, path, &o, err, sizeof(err));
	if (ret == 0) {
		ret = block_get_info(bd, info);
		block_close(bd);
		if (ret)
			fprintf(stderr, "minivmm-img: could not get information on '%s'\n", path);
		return ret;
	}
	if (ret == -ENOTSUP && block_describe(path, a->fmt, info, derr, sizeof(derr)) == 0)
		return 0;
	fprintf(stderr, "minivmm-img: %s\n", err[0] ? err : strerror(-ret));
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'O'},
		{"force-share", no_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct open_args a = {.no_backing = true};
	const char *output = "human";
	struct block_info info;
	struct stat st;
	uint64_t actual;
	int opt;

	while ((opt = getopt_long(argc, argv, "f:Uh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			a.fmt = optarg;
			break;
		case 'O':
			output = optarg;
			break;
		case 'U':
			a.force_share = true;
			break;
		case 'h':
			return cmd_help();
		default:
			usage(stderr);
			return 1;
		}
	}
	if (strcmp(output, "human") && strcmp(output, "json")) {
		fprintf(stderr, "minivmm-img: --output must be human or json, not '%s'\n", output);
		return 1;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (get_info(argv[optind], &a, &info))
		return 1;
	actual = stat(argv[optind], &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
	if (!strcmp(output, "json"))
		info_json(argv[optind], &info, actual);
	else
		info_human(argv[optind], &info, actual);
	block_info_free(&info);
	return 0;
}

static void check_report(void *opaque, const char *msg)
{
	bool *quiet = opaque;
	if (!*quiet)
		fprintf(stderr, "%s\n", msg);
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'O'},
		{"force-share", no_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *output = "human";
	struct open_args a = {.no_backing = true};
	char format[16];
	enum block_repair repair = BLOCK_REPAIR_NONE;
	struct block_check_result res;
	struct block_dev *bd;
	bool quiet = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "f:r:qUh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			a.fmt = optarg;
			break;
		case 'r':
			if (!strcmp(optarg, "leaks"))
				repair = BLOCK_REPAIR_LEAKS;
			else if (!strcmp(optarg, "all"))
				repair = BLOCK_REPAIR_ALL;
			else {
				fprintf(stderr, "minivmm-img: invalid -r '%s' (leaks or all)\n",
					optarg);
				return 1;
			}
			break;
		case 'O':
			output = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'U':
			a.force_share = true;
			break;
		case 'h':
			return cmd_help();
		default:
			usage(stderr);
			return 1;
		}
	}
	if (strcmp(output, "human") && strcmp(output, "json")) {
		fprintf(stderr, "minivmm-img: --output must be human or json, not '%s'\n", output);
		return 1;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (repair != BLOCK_REPAIR_NONE && a.force_share) {
		fprintf(stderr, "minivmm-img: -U cannot be used with -r: a repair writes to the "
				"image\n");
		return 1;
	}
	if (!strcmp(output, "json"))
		quiet = true;
	a.rw = a.repair = repair != BLOCK_REPAIR_NONE;
	if (open_image(&bd, argv[optind], &a))
		return 1;
	snprintf(format, sizeof(format), "%s", block_format(bd));
	ret = block_check(bd, repair, &res, check_report, &quiet);
	if (ret == -ENOTSUP) {
		fprintf(stderr, "minivmm-img: this image format does not support checks\n");
		block_close(bd);
		return 63;
	}
	if (ret) {
		fprintf(stderr, "minivmm-img: check failed: %s\n", strerror(-ret));
		block_close(bd);
		return 1;
	}
	if (repair != BLOCK_REPAIR_NONE && (res.leaks_fixed || res.corruptions_fixed)) {
		struct block_check_result fixed = res;
		if (!quiet)
			printf("The following inconsistencies were found and repaired:\n\n"
			       "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n"
			       "Double checking the fixed image now...\n",
			       fixed.leaks_fixed, fixed.corruptions_fixed);
		ret = block_check(bd, BLOCK_REPAIR_NONE, &res, check_report, &quiet);
		if (ret) {
			block_close(bd);
			return 1;
		}
	}
	block_close(bd);
	if (!strcmp(output, "json")) {
		json_t *o = json_object();
		json_object_set_new(o, "image-end-offset",
				    json_integer((json_int_t)res.image_end_offset));
		json_object_set_new(o, "total-clusters",
				    json_integer((json_int_t)res.total_clusters));
		json_object_set_new(o, "check-errors", json_integer((json_int_t)res.check_errors));
		json_object_set_new(o, "leaks", json_integer((json_int_t)res.leaks));
		json_object_set_new(o, "corruptions", json_integer((json_int_t)res.corruptions));
		json_object_set_new(o, "filename", json_string(argv[optind]));
		json_object_set_new(o, "format", json_string(format));
		json_dumpf(o, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(o);
	} else if (!quiet) {
		if (!res.corruptions && !res.leaks && !res.check_errors)
			printf("No errors were found on the image.\n");
		if (res.corruptions)
			printf("\n%" PRIu64 " errors were found on the image.\n"
			       "Data may be corrupted, or further writes to the image may "
			       "corrupt it.\n",
			       res.corruptions);
		if (res.leaks)
			printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
			       "This means waste of disk space, but no harm to data.\n",
			       res.leaks);
		if (res.check_errors)
			printf("\n%" PRIu64 " internal errors have occurred during the check.\n",
			       res.check_errors);
		printf("Image end offset: %" PRIu64 "\n", res.image_end_offset);
	}
	if (res.check_errors)
		return 1;
	if (res.corruptions)
		return 2;
	if (res.leaks)
		return 3;
	return 0;
}

static void progress(bool show, uint64_t done, uint64_t total)
{
	const int width = 50;
	double pct = total ? 100.0 * (double)done / (double)total : 100.0;
	int fill = (int)(pct / 100 * width);

	if (!show)
		return;
	printf("\r    [");
	for (int i = 0; i < width; i++)
		putchar(i < fill ? '=' : (i == fill ? '>' : ' '));
	printf("] %6.2f%%", pct);
	fflush(stdout);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Creating the target truncates it: refuse when it is the source image
 * itself (also through a symbolic or hard link) or a file of its backing
 * chain, as qemu-img does, instead of destroying the data we are to copy.
 */
static bool target_in_chain(const struct block_dev *src, const char *src_name,
			    const char *target)
{
	struct stat st;
	int depth;

	if (stat(target, &st) < 0)
		return false; /* a new file cannot be any of them */
	depth = block_chain_find(src, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (depth == 0)
		fprintf(stderr, "minivmm-img: the target '%s' is the source image '%s'; refusing "
				"to overwrite it\n", target, src_name);
	else if (depth > 0)
		fprintf(stderr, "minivmm-img: the target '%s' is image %d of the backing chain of "
				"the source '%s'; refusing to overwrite it\n", target, depth,
			src_name);
	return depth >= 0;
}

static int cmd_convert(int argc, char **argv)
{
	struct block_create_opts c = {.format = "raw"};
	struct open_args sa = {0};
	struct block_dev *src, *dst;
	struct block_opts dopts = {0};
	bool show = isatty(STDOUT_FILENO);
	char err[512];
	const size_t chunk = 2u << 20;
	uint8_t *buf;
	uint64_t size;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "f:O:o:pt:qUh")) != -1) {
		switch (opt) {
		case 'f':
			sa.fmt = optarg;
			break;
		case 'O':
			c.format = optarg;
			break;
		case 'o':
			if (parse_o(optarg, &c, false))
				return 1;
			break;
		case 'p':
			show = true;
			break;
		case 'q':
			show = false;
			break;
		case 't': {
			int cm = block_cache_parse(optarg);
			if (cm < 0) {
				fprintf(stderr, "minivmm-img: invalid cache mode '%s'\n", optarg);
				return 1;
			}
			dopts.cache = (enum block_cache)cm;
			break;
		}
		case 'U':
			sa.force_share = true;
			break;
		case 'h':
			return cmd_help();
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	if (open_image(&src, argv[optind], &sa))
		return 1;
	size = block_size(src);
	c.size = (size + 511) & ~511ull;
	if (target_in_chain(src, argv[optind], argv[optind + 1])) {
		block_close(src);
		return 1;
	}
	ret = block_create(argv[optind + 1], &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "minivmm-img: %s\n", err);
		block_close(src);
		return 1;
	}
	dopts.format = c.format;
	ret = block_open(&dst, argv[optind + 1], &dopts, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "minivmm-img: %s\n", err);
		block_close(src);
		return 1;
	}
	buf = malloc(chunk);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	progress(show, 0, size);
	for (uint64_t pos = 0; pos < size && !ret;) {
		uint64_t n = size - pos < chunk ? size - pos : chunk;
		bool zero = false;
		uint64_t pnum = n;

		ret = block_status(src, pos, n, &zero, &pnum);
		if (ret)
			break;
		if (!zero) {
			ret = block_pread(src, pos, buf, pnum);
			if (!ret && !all_zero(buf, pnum))
				ret = block_pwrite(dst, pos, buf, pnum);
		}
		pos += pnum;
		progress(show, pos, size);
	}
	if (!ret)
		ret = block_flush(dst);
	if (show)
		printf("\n");
out:
	free(buf);
	if (ret)
		fprintf(stderr, "minivmm-img: error while converting: %s\n", strerror(-ret));
	block_close(dst);
	block_close(src);
	return ret ? 1 : 0;
}

static int cmd_resize(int argc, char **argv)
{
	struct open_args a = {.rw = true, .no_backing = true};
	const char *s, *arg = NULL;
	struct block_dev *bd;
	uint64_t size, cur;
	bool rel = false, quiet = false;
	int opt, ret;

	/* As qemu-img does: a last word "-1G" is the size, not options for getopt. */
	if (argc > 2 && argv[argc - 1][0] == '-' && argv[argc - 1][1] >= '0' &&
	    argv[argc - 1][1] <= '9')
		arg = argv[--argc];
	while ((opt = getopt(argc, argv, "f:qh")) != -1) {
		switch (opt) {
		case 'f':
			a.fmt = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cmd_help();
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != (arg ? 1 : 2)) {
		usage(stderr);
		return 1;
	}
	s = arg ? arg : argv[optind + 1];
	if (s[0] == '-') {
		fprintf(stderr, "minivmm-img: shrinking images is not supported\n");
		return 1;
	}
	if (s[0] == '+') {
		rel = true;
		s++;
	}
	if (parse_size(s, &size)) {
		bad_size(s);
		return 1;
	}
	if (open_image(&bd, argv[optind], &a))
		return 1;
	cur = block_size(bd);
	if (rel && size > (uint64_t)INT64_MAX - cur) {
		bad_size(argv[optind + 1]);
		block_close(bd);
		return 1;
	}
	if (rel)
		size += cur;
	if (size < cur) {
		fprintf(stderr, "minivmm-img: shrinking images is not supported\n");
		block_close(bd);
		return 1;
	}
	if (size % 512 && !strcmp(block_format(bd), "qcow2")) {
		fprintf(stderr, "minivmm-img: the new size must be a multiple of 512 (%" PRIu64
				" is not)\n", size);
		block_close(bd);
		return 1;
	}
	ret = block_truncate(bd, size);
	if (!ret)
		ret = block_flush(bd);
	block_close(bd);
	if (ret) {
		fprintf(stderr, "minivmm-img: could not resize '%s': %s\n", argv[optind],
			strerror(-ret));
		return 1;
	}
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (is_help(argv[1]) || !strcmp(argv[1], "help"))
		return cmd_help();
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("minivmm-img version " MINIVMM_VERSION "\n");
		return 0;
	}
	argc--;
	argv++;
	if (argc > 1 && is_help(argv[1])) /* "create --help" as "create -h" */
		return cmd_help();
	if (!strcmp(argv[0], "create"))
		ret = cmd_create(argc, argv);
	else if (!strcmp(argv[0], "info"))
		ret = cmd_info(argc, argv);
	else if (!strcmp(argv[0], "check"))
		ret = cmd_check(argc, argv);
	else if (!strcmp(argv[0], "convert"))
		ret = cmd_convert(argc, argv);
	else if (!strcmp(argv[0], "resize"))
		ret = cmd_resize(argc, argv);
	else {
		fprintf(stderr, "minivmm-img: unknown command '%s'\n", argv[0]);
		usage(stderr);
		ret = 1;
	}
	while (nowned)
		free(owned[--nowned]);
	return ret;
}
