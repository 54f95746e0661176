// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * minivmm-ctl: a small QMP client for people who do not want to type JSON.
 * It connects to minivmm's --qmp socket (or any QMP server), negotiates,
 * runs one command and prints its answer readably; "events" follows the
 * event stream instead.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "0.0.0"
#endif

#define REPLY_TIMEOUT_MS 30000
#define MAX_LINE	 (64u << 20) /* a reply larger than this is refused */

static const char usage[] =
    "Usage: minivmm-ctl SOCKET COMMAND [ARGS]\n"
    "Talks to a running minivmm through its QMP socket (--qmp unix:SOCKET).\n"
    "\n"
    "Commands:\n"
    "  status                 print the run state (\"VM status: running\", as QEMU's\n"
    "                         'info status')\n"
    "  powerdown              press the ACPI power button (system_powerdown)\n"
    "  reset                  reset the machine (system_reset)\n"
    "  pause                  stop the guest (stop)\n"
    "  resume                 let it run again (cont)\n"
    "  quit                   end minivmm (quit)\n"
    "  eject [-f] [DRIVE]     open DRIVE's tray and remove the medium (default\n"
    "                         ide1-cd0, the CD-ROM); -f even if the guest locked it\n"
    "  change DRIVE FILE [--format raw|qcow2] [--read-only]\n"
    "                         put image FILE into DRIVE (blockdev-change-medium)\n"
    "  stats [--json] [--reset]\n"
    "                         VM-exit statistics (query-exit-stats) as a table, or\n"
    "                         as minivmm's JSON; --reset zeroes the counters\n"
    "  events                 print each event as it arrives, one line each\n"
    "                         (SECONDS.MICROSECONDS NAME DATA), until minivmm ends\n"
    "                         or Ctrl-C\n"
    "  balloon [SIZE]         set the guest's memory target to SIZE bytes (K/M/G/T\n"
    "                         suffixes, KiB and MB too, as minivmm -m) with\n"
    "                         'balloon'; without SIZE print what the guest has\n"
    "                         (\"balloon: actual=MIB\", as QEMU's 'info balloon')\n"
    "  balloon-stats [--interval SECONDS] [--id ID] [--json]\n"
    "                         the balloon driver's memory statistics and the\n"
    "                         polling interval (qom-get guest-stats); --interval\n"
    "                         sets the interval first (0 stops polling); ID is\n"
    "                         the --device id (default balloon0)\n"
    "  sendkey KEYS [HOLD-MS] press the keys of KEYS together and release them after\n"
    "                         HOLD-MS (default 100), as QEMU's 'sendkey': QEMU's\n"
    "                         key names joined by '-', e.g. ctrl-alt-delete, f2,\n"
    "                         shift-a, or 0xNN scan codes (send-key)\n"
    "  screendump FILE [--format ppm|png]\n"
    "                         write the screen to FILE (screendump; PPM by\n"
    "                         default, as QEMU; a relative FILE is taken from\n"
    "                         the current directory)\n"
    "  raw JSON-COMMAND       send one QMP command, e.g. '{\"execute\":\"query-name\"}',\n"
    "                         and print the reply as JSON\n"
    "\n"
    "Options:\n"
    "  -h, --help             show this help and exit\n"
    "      --version          show the version and exit\n"
    "\n"
    "minivmm-ctl waits at most 30 s for each reply.  Exit status: 0 when the\n"
    "command succeeded, 1 when it failed (no socket, connection refused, an\n"
    "error reply: its class and text are printed), 2 for a bad command line.\n";

static const char *sock_path;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("minivmm-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

__attribute__((format(printf, 1, 2), noreturn)) static void bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("minivmm-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see minivmm-ctl --help)\n", stderr);
	exit(2);
}

/* ---- the connection ---- */

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	unsigned next_id;
};

static void conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: the path is too long for a UNIX socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ECONNREFUSED)
			die("%s: connection refused (is minivmm running with --qmp?)", path);
		die("%s: %s", path, strerror(errno));
	}
}

/* The next message, or NULL at EOF.  timeout_ms < 0: wait forever. */
static json_t *conn_read(struct conn *c, int timeout_ms)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		ssize_t n;

		if (nl) {
			size_t line = (size_t)(nl - c->buf);
			json_error_t je;
			json_t *j = json_loadb(c->buf, line, 0, &je);

			memmove(c->buf, nl + 1, c->len - line - 1);
			c->len -= line + 1;
			if (!j || !json_is_object(j))
				die("%s: not a QMP message: %s", sock_path,
				    j ? "not an object" : je.text);
			return j;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 65536;
			char *b;

			if (cap > MAX_LINE)
				die("%s: a message longer than %u bytes", sock_path, MAX_LINE);
			b = realloc(c->buf, cap);
			if (!b)
				die("out of memory");
			c->buf = b;
			c->cap = cap;
		}
		n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			die("%s: no answer within %d s", sock_path, timeout_ms / 1000);
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: %s", sock_path, strerror(errno));
		if (n == 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static void conn_send(struct conn *c, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;

	if (!text)
		die("out of memory");
	len = strlen(text);
	text[len++] = '\n'; /* over the NUL: not a string any more */
	while (off < len) {
		ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: %s", sock_path, strerror(errno));
		off += (size_t)n;
	}
	free(text);
}

/* Sends req (stolen) with an id of ours and returns the whole reply to it
 * (events and other replies skipped), or NULL if the server closed the
 * connection first. */
static json_t *conn_call(struct conn *c, json_t *req)
{
	char id[32];
	json_t *reply;

	snprintf(id, sizeof(id), "minivmm-ctl-%u", ++c->next_id);
	json_object_set_new(req, "id", json_string(id));
	conn_send(c, req);
	while ((reply = conn_read(c, REPLY_TIMEOUT_MS))) {
		if (json_equal(json_object_get(reply, "id"), json_object_get(req, "id")))
			break;
		json_decref(reply);
	}
	json_decref(req);
	return reply;
}

static json_t *request(const char *name, json_t *args)
{
	json_t *req = json_pack("{s:s}", "execute", name);

	if (!req)
		die("out of memory");
	if (args)
		json_object_set_new(req, "arguments", args);
	return req;
}

/* The "return" of a reply, or exit 1 with the error's class and text. */
static json_t *result(const char *what, json_t *reply)
{
	json_t *err, *ret;

	if (!reply)
		die("%s: minivmm closed the connection before answering", what);
	err = json_object_get(reply, "error");
	if (err) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s: %s",
			 json_string_value(json_object_get(err, "class")),
			 json_string_value(json_object_get(err, "desc")));
		json_decref(reply);
		die("%s: %s", what, msg);
	}
	ret = json_object_get(reply, "return");
	if (!ret)
		die("%s: a reply without \"return\"", what);
	json_incref(ret);
	json_decref(reply);
	return ret;
}

static void negotiate(struct conn *c)
{
	json_t *g = conn_read(c, REPLY_TIMEOUT_MS);

	if (!g)
		die("%s: closed before the greeting", sock_path);
	if (!json_object_get(g, "QMP")) {
		json_decref(g);
		die("%s: no QMP greeting", sock_path);
	}
	json_decref(g);
	json_decref(result("qmp_capabilities", conn_call(c, request("qmp_capabilities", NULL))));
}

/* ---- the commands ---- */

static void print_status(json_t *st)
{
	const char *status = json_string_value(json_object_get(st, "status"));
	bool running = json_is_true(json_object_get(st, "running"));

	printf("VM status: %s", running ? "running" : "paused");
	if (!running && status && strcmp(status, "paused"))
		printf(" (%s)", status);
	putchar('\n');
}

static json_int_t ival(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void print_bucket_row(const char *name, json_t *b)
{
	json_int_t n = ival(b, "count"), total = ival(b, "total_ns");

	printf("  %-24s %12lld %12.3f %10.2f %10.2f\n", name, (long long)n, total / 1e6,
	       n ? total / 1e3 / n : 0.0, ival(b, "max_ns") / 1e3);
}

/* The table of query-exit-stats, as minivmm --stats prints its own. */
static void print_stats(json_t *s)
{
	static const char *const parts[] = {"exits", "pio", "mmio"};
	static const char *const titles[] = {"exit reason", "port", "MMIO region"};

	for (int i = 0; i < 3; i++) {
		json_t *part = json_object_get(s, parts[i]), *b;
		const char *key;

		if (!json_is_object(part) || json_object_size(part) == 0)
			continue;
		printf("%-26s %12s %12s %10s %10s\n", titles[i], "count", "total ms", "mean us",
		       "max us");
		json_object_foreach(part, key, b)
		{
			char name[64];
			const char *dev = json_string_value(json_object_get(b, "device"));

			if (i == 1 && dev)
				snprintf(name, sizeof(name), "%s %s", key, dev);
			else
				snprintf(name, sizeof(name), "%s", key);
			print_bucket_row(name, b);
		}
	}
	if (json_object_get(s, "interrupted"))
		printf("KVM_RUN interrupted (kicks): %lld\n", (long long)ival(s, "interrupted"));
}

static void print_event(json_t *ev)
{
	json_t *ts = json_object_get(ev, "timestamp"), *data = json_object_get(ev, "data");
	char *d = data ? json_dumps(data, JSON_COMPACT) : NULL;

	printf("%lld.%06lld %s%s%s\n", (long long)ival(ts, "seconds"),
	       (long long)ival(ts, "microseconds"),
	       json_string_value(json_object_get(ev, "event")) ?: "?", d ? " " : "", d ? d : "");
	free(d);
	fflush(stdout);
}

static int cmd_events(struct conn *c)
{
	json_t *m;

	while ((m = conn_read(c, -1))) {
		if (json_object_get(m, "event"))
			print_event(m);
		json_decref(m);
	}
	return 0;
}

/* A command without arguments and without output. */
static int simple(struct conn *c, const char *word, const char *qmp, int argc)
{
	json_t *reply;

	if (argc)
		bad_usage("%s takes no arguments", word);
	reply = conn_call(c, request(qmp, NULL));
	if (!reply && !strcmp(qmp, "quit"))
		return 0; /* it may go before its reply is out */
	json_decref(result(word, reply));
	return 0;
}

static int cmd_screendump(struct conn *c, int argc, char **argv)
{
	const char *file = NULL, *format = NULL;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			format = argv[i] + 9;
		else if (argv[i][0] == '-')
			bad_usage("screendump: unknown option '%s'", argv[i]);
		else if (file)
			bad_usage("screendump: one FILE only");
		else
			file = argv[i];
	}
	if (!file)
		bad_usage("screendump: FILE is needed");
	if (format && strcmp(format, "ppm") && strcmp(format, "png"))
		bad_usage("screendump: --format %s: not ppm or png", format);
	/* minivmm may run elsewhere: the path as the user meant it */
	if (file[0] != '/') {
		static char abs_path[PATH_MAX];
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(abs_path, sizeof(abs_path), "%s/%s", cwd, file) >= (int)sizeof(abs_path))
			die("screendump: '%s': path too long", file);
		file = abs_path;
	}
	json_decref(result("screendump",
			   conn_call(c, request("screendump",
						format ? json_pack("{s:s, s:s}", "filename", file,
								   "format", format)
						       : json_pack("{s:s}", "filename", file)))));
	return 0;
}

static int cmd_eject(struct conn *c, int argc, char **argv)
{
	const char *drive = NULL;
	bool force = false;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
			force = true;
		else if (argv[i][0] == '-')
			bad_usage("eject: unknown option '%s'", argv[i]);
		else if (drive)
			bad_usage("eject: one DRIVE only");
		else
			drive = argv[i];
	}
	json_decref(result(
	    "eject",
	    conn_call(c, request("eject", json_pack("{s:s, s:b}", "device",
						    drive ? drive : "ide1-cd0", "force", force)))));
	return 0;
}

static int cmd_change(struct conn *c, int argc, char **argv)
{
	const char *pos[2] = {NULL, NULL}, *format = NULL;
	bool read_only = false;
	int npos = 0;
	json_t *args;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--format")) {
			if (++i == argc)
				bad_usage("change: --format needs raw or qcow2");
			format = argv[i];
		} else if (!strncmp(argv[i], "--format=", 9)) {
			format = argv[i] + 9;
		} else if (!strcmp(argv[i], "--read-only")) {
			read_only = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			bad_usage("change: unknown option '%s'", argv[i]);
		} else if (npos == 2) {
			bad_usage("change: unexpected argument '%s'", argv[i]);
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos < 2)
		bad_usage("change: DRIVE and FILE are needed");
	if (format && strcmp(format, "raw") && strcmp(format, "qcow2"))
		bad_usage("change: --format %s: not raw or qcow2", format);
	args = json_pack("{s:s, s:s}", "device", pos[0], "filename", pos[1]);
	if (format)
		json_object_set_new(args, "format", json_string(format));
	if (read_only)
		json_object_set_new(args, "read-only-mode", json_string("read-only"));
	json_decref(result("change", conn_call(c, request("blockdev-change-medium", args))));
	return 0;
}

static int cmd_stats(struct conn *c, int argc, char **argv)
{
	bool as_json = false, reset = false;
	json_t *s;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (!strcmp(argv[i], "--reset"))
			reset = true;
		else
			bad_usage("stats: unknown argument '%s'", argv[i]);
	}
	s = result("stats", conn_call(c, request("query-exit-stats",
						 reset ? json_pack("{s:b}", "reset", 1) : NULL)));
	if (as_json) {
		char *text = json_dumps(s, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (!text)
			die("out of memory");
		puts(text);
		free(text);
	} else {
		print_stats(s);
	}
	json_decref(s);
	return 0;
}

/* "512M", "2G", "1048576", "64KiB": as minivmm's cli_parse_size(). */
static int parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int cmd_balloon(struct conn *c, int argc, char **argv)
{
	uint64_t size;
	json_t *r;

	if (argc > 1)
		bad_usage("balloon: one SIZE at most");
	if (argc == 0) {
		r = result("balloon", conn_call(c, request("query-balloon", NULL)));
		printf("balloon: actual=%lld\n",
		       (long long)(json_integer_value(json_object_get(r, "actual")) >> 20));
		json_decref(r);
		return 0;
	}
	if (parse_size(argv[0], &size) < 0 || size > INT64_MAX)
		bad_usage("balloon: '%s' is not a size (examples: 512M, 1G)", argv[0]);
	json_decref(result("balloon", conn_call(c, request("balloon",
							    json_pack("{s:I}", "value",
								      (json_int_t)size)))));
	return 0;
}

/* sendkey ctrl-alt-delete [HOLD]: names (or 0xNN) joined by '-'. */
static int cmd_sendkey(struct conn *c, int argc, char **argv)
{
	json_t *keys = json_array(), *args;
	char *copy, *save = NULL;

	if (argc < 1 || argc > 2)
		bad_usage("sendkey: KEYS [HOLD-MS]");
	copy = strdup(argv[0]);
	if (!copy || !keys)
		die("out of memory");
	for (char *k = strtok_r(copy, "-", &save); k; k = strtok_r(NULL, "-", &save)) {
		char *end;
		unsigned long n = strtoul(k, &end, 16);

		if (!strncmp(k, "0x", 2) && k[2] && !*end)
			json_array_append_new(keys, json_pack("{s:s, s:I}", "type", "number", "data",
							      (json_int_t)n));
		else
			json_array_append_new(keys, json_pack("{s:s, s:s}", "type", "qcode", "data", k));
	}
	free(copy);
	if (json_array_size(keys) == 0)
		bad_usage("sendkey: no key in '%s'", argv[0]);
	args = json_pack("{s:o}", "keys", keys);
	if (argc == 2) {
		char *end;
		long ms = strtol(argv[1], &end, 10);

		if (!*argv[1] || *end || ms < 0 || ms > 60000)
			bad_usage("sendkey: HOLD-MS '%s' is not 0..60000", argv[1]);
		json_object_set_new(args, "hold-time", json_integer(ms));
	}
	json_decref(result("sendkey", conn_call(c, request("send-key", args))));
	return 0;
}

/* The stats in QEMU's order with their names, -1 (not given) as "-". */
static void print_balloon_stats(json_t *st, json_int_t interval)
{
	static const char *const names[] = {
	    "stat-swap-in",	     "stat-swap-out",	  "stat-major-faults",
	    "stat-minor-faults",     "stat-free-memory",  "stat-total-memory",
	    "stat-available-memory", "stat-disk-caches", "stat-htlb-pgalloc",
	    "stat-htlb-pgfail",
	};
	json_t *stats = json_object_get(st, "stats");
	json_int_t last = json_integer_value(json_object_get(st, "last-update"));

	printf("polling interval: %lld s%s\n", (long long)interval, interval ? "" : " (off)");
	if (last) {
		time_t t = (time_t)last;
		char when[64];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
		printf("last update: %lld (%s)\n", (long long)last, when);
	} else {
		printf("last update: never\n");
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *v = json_object_get(stats, names[i]);

		if (!v || (json_is_integer(v) && json_integer_value(v) == -1))
			printf("  %-22s -\n", names[i]);
		else
			printf("  %-22s %lld\n", names[i], (long long)json_integer_value(v));
	}
}

static int cmd_balloon_stats(struct conn *c, int argc, char **argv)
{
	const char *id = "balloon0", *interval = NULL;
	bool as_json = false;
	char path[256];
	json_t *st, *iv;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
			interval = argv[++i];
		else if (!strcmp(argv[i], "--id") && i + 1 < argc)
			id = argv[++i];
		else
			bad_usage("balloon-stats: unknown argument '%s'", argv[i]);
	}
	snprintf(path, sizeof(path), "/machine/peripheral/%s", id);
	if (interval) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(interval, &end, 10);
		if (!isdigit((unsigned char)*interval) || *end || errno)
			bad_usage("balloon-stats: --interval %s: not a number of seconds", interval);
		json_decref(result("balloon-stats",
				   conn_call(c, request("qom-set",
							json_pack("{s:s, s:s, s:I}", "path", path,
								  "property",
								  "guest-stats-polling-interval",
								  "value", (json_int_t)n)))));
	}
	st = result("balloon-stats",
		    conn_call(c, request("qom-get", json_pack("{s:s, s:s}", "path", path,
							      "property", "guest-stats"))));
	iv = result("balloon-stats",
		    conn_call(c, request("qom-get", json_pack("{s:s, s:s}", "path", path,
							      "property",
							      "guest-stats-polling-interval"))));
	if (as_json) {
		char *text;

		json_object_set(st, "guest-stats-polling-interval", iv);
		text = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text)
			die("out of memory");
		puts(text);
		free(text);
	} else {
		print_balloon_stats(st, json_integer_value(iv));
	}
	json_decref(st);
	json_decref(iv);
	return 0;
}

static int cmd_raw(struct conn *c, int argc, char **argv)
{
	json_error_t je;
	json_t *req, *reply, *their_id;
	char *text;
	int ret;

	if (argc != 1)
		bad_usage("raw: one JSON-COMMAND (quote it)");
	req = json_loads(argv[0], 0, &je);
	if (!req || !json_is_object(req)) {
		json_decref(req);
		bad_usage("raw: not a JSON object: %s", req ? argv[0] : je.text);
	}
	their_id = json_object_get(req, "id");
	json_incref(their_id);
	reply = conn_call(c, req);
	if (!reply)
		die("raw: minivmm closed the connection before answering");
	/* their own id back, or none */
	if (their_id)
		json_object_set(reply, "id", their_id);
	else
		json_object_del(reply, "id");
	json_decref(their_id);
	text = json_dumps(reply, JSON_COMPACT);
	puts(text ? text : "");
	free(text);
	ret = json_object_get(reply, "error") ? 1 : 0;
	json_decref(reply);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *word, *qmp;
	} simple_cmds[] = {
	    {"powerdown", "system_powerdown"},
	    {"reset", "system_reset"},
	    {"pause", "stop"},
	    {"resume", "cont"},
	    {"quit", "quit"},
	};
	const char *cmd;
	struct conn c;
	int ret;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("minivmm-ctl %s\n", MINIVMM_VERSION);
		return 0;
	}
	if (argc > 1 && argv[1][0] == '-' && argv[1][1])
		bad_usage("unknown option '%s'", argv[1]);
	if (argc < 3)
		bad_usage(argc < 2 ? "SOCKET and COMMAND are needed" : "COMMAND is needed");
	sock_path = argv[1];
	cmd = argv[2];
	argc -= 3;
	argv += 3;
	/* refuse an unknown command before connecting */
	{
		static const char *const known[] = {"status", "powerdown", "reset", "pause",
						    "resume", "quit",	   "eject", "change",
						    "stats",  "events",	   "raw",   "balloon",
						    "balloon-stats", "screendump", "sendkey"};
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(cmd, known[i]))
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			bad_usage("unknown command '%s'", cmd);
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	conn_open(&c, sock_path);
	negotiate(&c);
	if (!strcmp(cmd, "status")) {
		json_t *st;

		if (argc)
			bad_usage("status takes no arguments");
		st = result("status", conn_call(&c, request("query-status", NULL)));
		print_status(st);
		json_decref(st);
		ret = 0;
	} else if (!strcmp(cmd, "eject")) {
		ret = cmd_eject(&c, argc, argv);
	} else if (!strcmp(cmd, "change")) {
		ret = cmd_change(&c, argc, argv);
	} else if (!strcmp(cmd, "stats")) {
		ret = cmd_stats(&c, argc, argv);
	} else if (!strcmp(cmd, "events")) {
		if (argc)
			bad_usage("events takes no arguments");
		ret = cmd_events(&c);
	} else if (!strcmp(cmd, "raw")) {
		ret = cmd_raw(&c, argc, argv);
	} else if (!strcmp(cmd, "balloon")) {
		ret = cmd_balloon(&c, argc, argv);
	} else if (!strcmp(cmd, "screendump")) {
		ret = cmd_screendump(&c, argc, argv);
	} else if (!strcmp(cmd, "balloon-stats")) {
		ret = cmd_balloon_stats(&c, argc, argv);
	} else if (!strcmp(cmd, "sendkey")) {
		ret = cmd_sendkey(&c, argc, argv);
	} else {
		ret = 1;
		for (size_t i = 0; i < sizeof(simple_cmds) / sizeof(simple_cmds[0]); i++)
			if (!strcmp(cmd, simple_cmds[i].word))
				ret = simple(&c, cmd, simple_cmds[i].qmp, argc);
	}
	close(c.fd);
	free(c.buf);
	return ret;
}
