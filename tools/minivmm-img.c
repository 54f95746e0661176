// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * minivmm-img: create, inspect, check, convert and resize disk images, in the
 * words and options qemu-img users know.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
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
		"\n"
		"  create [-f FMT] [-b BACKING [-F BACKING_FMT]] [-o OPTIONS] FILE [SIZE]\n"
		"  info [-f FMT] [--output=human|json] [-U] FILE\n"
		"  check [-f FMT] [-r leaks|all] [--output=human|json] FILE\n"
		"  convert [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [-p] [-t CACHE] SOURCE TARGET\n"
		"  resize [-f FMT] FILE [+]SIZE\n"
		"\n"
		"FMT is qcow2 or raw.  SIZE takes the suffixes k, M, G, T, P, E (powers of 1024).\n"
		"create/convert OPTIONS (-o, comma separated): cluster_size=BYTES,\n"
		"  compat=0.10|1.1, lazy_refcounts=on|off, backing_file=NAME, backing_fmt=FMT\n"
		"check exit status: 0 no errors, 1 check failed, 2 corruptions, 3 leaks only.\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

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
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
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

static int parse_o(const char *arg, struct block_create_opts *c)
{
	char *dup = own(strdup(arg)), *save = NULL;

	if (!dup)
		return -1;

	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		uint64_t v;
		if (!eq) {
			fprintf(stderr, "minivmm-img: invalid option '%s'\n", tok);
			return -1;
		}
		*eq++ = 0;
		if (!strcmp(tok, "cluster_size")) {
			if (parse_size(eq, &v) || v > (2u << 20)) {
				fprintf(stderr, "minivmm-img: invalid cluster_size '%s'\n", eq);
				return -1;
			}
			c->cluster_size = (unsigned)v;
		} else if (!strcmp(tok, "compat")) {
			if (!strcmp(eq, "0.10") || !strcmp(eq, "v2"))
				c->compat = 2;
			else if (!strcmp(eq, "1.1") || !strcmp(eq, "v3"))
				c->compat = 3;
			else {
				fprintf(stderr, "minivmm-img: invalid compat '%s'\n", eq);
				return -1;
			}
		} else if (!strcmp(tok, "lazy_refcounts")) {
			c->lazy_refcounts = !strcmp(eq, "on") || !strcmp(eq, "true");
		} else if (!strcmp(tok, "backing_file")) {
			c->backing_file = eq;
		} else if (!strcmp(tok, "backing_fmt")) {
			c->backing_format = eq;
		} else {
			fprintf(stderr, "minivmm-img: unknown option '%s'\n", tok);
			return -1;
		}
	}
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	struct block_create_opts c = {.format = "raw"};
	char err[512];
	int opt, ret;

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
			if (parse_o(optarg, &c))
				return 1;
			break;
		case 'q':
			break;
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
		fprintf(stderr, "minivmm-img: invalid size '%s'\n", argv[optind + 1]);
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
	{
		char s[32];
		size_str(s, sizeof(s), c.size);
		printf("Formatting '%s', fmt=%s size=%" PRIu64 "%s%s\n", argv[optind], c.format,
		       c.size, c.backing_file ? " backing_file=" : "",
		       c.backing_file ? c.backing_file : "");
	}
	return 0;
}

static int open_image(struct block_dev **bd, const char *path, const char *fmt, bool rw,
		      bool no_backing, bool repair)
{
	struct block_opts o = {
		.format = fmt, .read_only = !rw, .no_backing = no_backing, .repair = repair};
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

static int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'O'},
		{"force-share", no_argument, NULL, 'U'},
		{NULL, 0, NULL, 0},
	};
	const char *fmt = NULL, *output = "human";
	struct block_dev *bd;
	struct block_info info;
	uint64_t actual;
	int opt;

	while ((opt = getopt_long(argc, argv, "f:U", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			output = optarg;
			break;
		case 'U':
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1 || (strcmp(output, "human") && strcmp(output, "json"))) {
		usage(stderr);
		return 1;
	}
	if (open_image(&bd, argv[optind], fmt, false, true, false))
		return 1;
	if (block_get_info(bd, &info)) {
		fprintf(stderr, "minivmm-img: could not get information on '%s'\n", argv[optind]);
		block_close(bd);
		return 1;
	}
	{
		struct stat st;
		actual = stat(argv[optind], &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
	}
	if (!strcmp(output, "json")) {
		json_t *o = json_object();
		json_object_set_new(o, "virtual-size", json_integer((json_int_t)info.virtual_size));
		json_object_set_new(o, "filename", json_string(argv[optind]));
		if (info.cluster_size)
			json_object_set_new(o, "cluster-size", json_integer(info.cluster_size));
		json_object_set_new(o, "format", json_string(info.format));
		json_object_set_new(o, "actual-size", json_integer((json_int_t)actual));
		if (!strcmp(info.format, "qcow2"))
			json_object_set_new(o, "dirty-flag", json_boolean(info.dirty));
		if (info.backing_file[0]) {
			json_object_set_new(o, "backing-filename", json_string(info.backing_file));
			if (info.backing_format[0])
				json_object_set_new(o, "backing-filename-format",
						    json_string(info.backing_format));
		}
		if (info.nb_snapshots) {
			json_t *a = json_array();
			for (unsigned i = 0; i < info.nb_snapshots; i++) {
				struct block_snapshot_info *s = &info.snapshots[i];
				json_t *so = json_object();
				json_object_set_new(so, "id", json_string(s->id));
				json_object_set_new(so, "name", json_string(s->name));
				json_object_set_new(so, "vm-state-size",
						    json_integer((json_int_t)s->vm_state_size));
				json_object_set_new(so, "date-sec", json_integer(s->date_sec));
				json_object_set_new(so, "date-nsec", json_integer(s->date_nsec));
				json_object_set_new(
					so, "vm-clock-sec",
					json_integer((json_int_t)(s->vm_clock_nsec / 1000000000)));
				json_object_set_new(
					so, "vm-clock-nsec",
					json_integer((json_int_t)(s->vm_clock_nsec % 1000000000)));
				json_array_append_new(a, so);
			}
			json_object_set_new(o, "snapshots", a);
		}
		if (!strcmp(info.format, "qcow2")) {
			json_t *fs = json_object(), *d = json_object();
			json_object_set_new(d, "compat", json_string(compat_str(info.version)));
			if (info.version == 3) {
				json_object_set_new(d, "compression-type", json_string("zlib"));
				json_object_set_new(d, "lazy-refcounts",
						    json_boolean(info.lazy_refcounts));
				json_object_set_new(d, "corrupt", json_boolean(info.corrupt));
				json_object_set_new(d, "extended-l2", json_false());
			}
			json_object_set_new(d, "refcount-bits", json_integer(info.refcount_bits));
			json_object_set_new(fs, "type", json_string("qcow2"));
			json_object_set_new(fs, "data", d);
			json_object_set_new(o, "format-specific", fs);
		}
		json_dumpf(o, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(o);
	} else {
		char vs[32], as[32];
		size_str(vs, sizeof(vs), info.virtual_size);
		size_str(as, sizeof(as), actual);
		printf("image: %s\n", argv[optind]);
		printf("file format: %s\n", info.format);
		printf("virtual size: %s (%" PRIu64 " bytes)\n", vs, info.virtual_size);
		printf("disk size: %s\n", as);
		if (info.cluster_size)
			printf("cluster_size: %u\n", info.cluster_size);
		if (info.backing_file[0]) {
			printf("backing file: %s\n", info.backing_file);
			if (info.backing_format[0])
				printf("backing file format: %s\n", info.backing_format);
		}
		if (info.nb_snapshots) {
			printf("Snapshot list:\n");
			printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
			       "VM CLOCK", "ICOUNT");
			for (unsigned i = 0; i < info.nb_snapshots; i++) {
				struct block_snapshot_info *s = &info.snapshots[i];
				char date[32], vms[32];
				time_t t = s->date_sec;
				struct tm tm;
				uint64_t ms = s->vm_clock_nsec / 1000000;
				localtime_r(&t, &tm);
				strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
				size_str(vms, sizeof(vms), s->vm_state_size);
				printf("%-9s %-16s %8s %19s %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64
				       ".%03" PRIu64 "%11s\n",
				       s->id, s->name, vms, date, ms / 3600000, ms / 60000 % 60,
				       ms / 1000 % 60, ms % 1000, "");
			}
		}
		if (!strcmp(info.format, "qcow2")) {
			printf("Format specific information:\n");
			printf("    compat: %s\n", compat_str(info.version));
			if (info.version == 3) {
				printf("    compression type: zlib\n");
				printf("    lazy refcounts: %s\n",
				       info.lazy_refcounts ? "true" : "false");
			}
			printf("    refcount bits: %u\n", info.refcount_bits);
			if (info.version == 3) {
				printf("    corrupt: %s\n", info.corrupt ? "true" : "false");
				printf("    extended l2: false\n");
			}
		}
	}
	block_info_free(&info);
	block_close(bd);
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
		{NULL, 0, NULL, 0},
	};
	const char *fmt = NULL, *output = "human";
	enum block_repair repair = BLOCK_REPAIR_NONE;
	struct block_check_result res;
	struct block_dev *bd;
	bool quiet = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "f:r:qU", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
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
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(output, "json"))
		quiet = true;
	if (open_image(&bd, argv[optind], fmt, repair != BLOCK_REPAIR_NONE, true,
		       repair != BLOCK_REPAIR_NONE))
		return 1;
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
		json_object_set_new(o, "format", json_string(fmt ? fmt : "qcow2"));
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

static int cmd_convert(int argc, char **argv)
{
	struct block_create_opts c = {.format = "raw"};
	const char *fmt = NULL;
	struct block_dev *src, *dst;
	struct block_opts dopts = {0};
	bool show = isatty(STDOUT_FILENO);
	char err[512];
	const size_t chunk = 2u << 20;
	uint8_t *buf;
	uint64_t size;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "f:O:o:pt:qU")) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			c.format = optarg;
			break;
		case 'o':
			if (parse_o(optarg, &c))
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
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	if (open_image(&src, argv[optind], fmt, false, false, false))
		return 1;
	size = block_size(src);
	c.size = (size + 511) & ~511ull;
	if (c.backing_file) {
		fprintf(stderr, "minivmm-img: convert does not take a backing file\n");
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
	const char *fmt = NULL, *s;
	struct block_dev *bd;
	uint64_t size, cur;
	bool rel = false;
	int opt, ret;

	while ((opt = getopt(argc, argv, "f:q")) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'q':
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	s = argv[optind + 1];
	if (s[0] == '-') {
		fprintf(stderr, "minivmm-img: shrinking images is not supported\n");
		return 1;
	}
	if (s[0] == '+') {
		rel = true;
		s++;
	}
	if (parse_size(s, &size)) {
		fprintf(stderr, "minivmm-img: invalid size '%s'\n", argv[optind + 1]);
		return 1;
	}
	if (open_image(&bd, argv[optind], fmt, true, true, false))
		return 1;
	cur = block_size(bd);
	if (rel)
		size += cur;
	if (size < cur) {
		fprintf(stderr, "minivmm-img: shrinking images is not supported\n");
		block_close(bd);
		return 1;
	}
	ret = block_truncate(bd, size);
	if (!ret)
		ret = block_flush(bd);
	block_close(bd);
	if (ret) {
		fprintf(stderr, "minivmm-img: could not resize: %s\n", strerror(-ret));
		return 1;
	}
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
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	argc--;
	argv++;
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
