// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The QMP protocol's own commands and the HMP words of human-monitor-command
 * (vmm/qmp_commands.h).  The texts follow QEMU 7.2's, so that scripts that
 * parse them keep working (tests/guest/qmp_qemu_compare.py checks them
 * against a running QEMU).
 */
#include "vmm/qmp_commands.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "0.0.0"
#endif

json_t *qmp_version_json(void)
{
	int major = 0, minor = 0, micro = 0;

	if (sscanf(MINIVMM_VERSION, "%d.%d.%d", &major, &minor, &micro) < 1)
		major = minor = micro = 0;
	return json_pack("{s:{s:i, s:i, s:i}, s:s}", "qemu", "micro", micro, "minor", minor,
			 "major", major, "package", "minivmm " MINIVMM_VERSION);
}

/* ---- qmp_capabilities, query-commands, query-version, query-name ---- */

int qmp_capabilities_check(json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"enable", NULL};
	json_t *enable, *v;
	size_t i;

	if (qmp_args_only(args, allowed, err) < 0)
		return -1;
	enable = json_object_get(args, "enable");
	if (!enable)
		return 0;
	if (!json_is_array(enable)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for 'enable', expected: array");
		return -1;
	}
	/* QEMU 7.2's texts, 'null' (sic) for a value it does not know. */
	json_array_foreach(enable, i, v)
	{
		if (!json_is_string(v)) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Invalid parameter type for 'enable[%zu]', expected: string",
				      i);
			return -1;
		}
		if (strcmp(json_string_value(v), "oob")) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Parameter 'null' does not accept value '%.200s'",
				      json_string_value(v));
			return -1;
		}
	}
	if (json_array_size(enable) > 0) { /* the only capability QEMU knows: not ours */
		qmp_error_set(err, QMP_ERR_GENERIC, "Capability oob not available");
		return -1;
	}
	return 0;
}

/* After negotiation (the server answers qmp_capabilities itself before). */
static json_t *cmd_qmp_capabilities(void *opaque, json_t *args, struct qmp_error *err)
{
	if (qmp_capabilities_check(args, err) < 0)
		return NULL;
	qmp_error_set(err, QMP_ERR_NOT_FOUND,
		      "Capabilities negotiation is already complete, command ignored");
	return NULL;
}

static json_t *cmd_query_commands(void *opaque, json_t *args, struct qmp_error *err)
{
	struct qmp_commands *c = opaque;
	json_t *list;

	if (qmp_args_only(args, NULL, err) < 0)
		return NULL;
	list = json_array();
	for (size_t i = 0; list && i < qmp_command_count(c->q); i++)
		json_array_append_new(list, json_pack("{s:s}", "name", qmp_command_name(c->q, i)));
	return list;
}

static json_t *cmd_query_version(void *opaque, json_t *args, struct qmp_error *err)
{
	if (qmp_args_only(args, NULL, err) < 0)
		return NULL;
	return qmp_version_json();
}

static json_t *cmd_query_name(void *opaque, json_t *args, struct qmp_error *err)
{
	struct qmp_commands *c = opaque;

	if (qmp_args_only(args, NULL, err) < 0)
		return NULL;
	return c->name ? json_pack("{s:s}", "name", c->name) : json_object();
}

/* ---- HMP ---- */

#define HMP_MAX_ARGS 8

/* One command line, split into words as QEMU's monitor reads them: the
 * command's name (and info's subcommand) as they stand, each argument
 * either up to the next blank or in double quotes with \" \\ \n escapes.
 * An unterminated quoted argument is there but unusable (bad), as QEMU
 * treats it: "filename expected" where one was wanted. */
struct hmp_line {
	const char *text;
	char *word[HMP_MAX_ARGS + 1];
	const char *end[HMP_MAX_ARGS + 1]; /* where each word ends in text */
	int n;
	int bad;       /* index of an unterminated quoted word, or -1 */
	bool too_many; /* more words than word[] holds */
};

static void hmp_split(struct hmp_line *l, const char *text)
{
	const char *p = text;

	memset(l, 0, sizeof(*l));
	l->text = text;
	l->bad = -1;
	for (;;) {
		bool raw = l->n == 0 || (l->n == 1 && !strcmp(l->word[0], "info"));
		char *w;
		size_t n = 0;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p || l->bad >= 0)
			return;
		if (l->n == HMP_MAX_ARGS + 1) {
			l->too_many = true;
			return;
		}
		w = malloc(strlen(p) + 1);
		if (!w) {
			l->too_many = true;
			return;
		}
		if (*p == '"' && !raw) {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1]) {
					p++;
					w[n++] = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
				} else {
					w[n++] = *p;
				}
			}
			if (*p != '"')
				l->bad = l->n;
			else
				p++;
		} else {
			while (*p && !isspace((unsigned char)*p))
				w[n++] = *p++;
		}
		w[n] = '\0';
		l->word[l->n] = w;
		l->end[l->n] = p;
		l->n++;
	}
}

static void hmp_free(struct hmp_line *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->word[i]);
}

struct hmp_ctx {
	struct qmp_commands *c;
	FILE *out;
	struct hmp_line *line;
	int first;	  /* index of the command's first argument */
	const char *name; /* the command's table name, "stop|s" */
};

struct hmp_cmd {
	const char *name; /* with aliases: "stop|s" */
	const char *params;
	const char *help;
	void (*run)(struct hmp_ctx *h);
	const struct hmp_cmd *sub; /* info: its subcommands */
};

/* "Try \"help WORDS\"": the words typed for the command, as QEMU says it. */
static void hmp_try_help(struct hmp_ctx *h)
{
	const char *start = h->line->text;

	while (isspace((unsigned char)*start))
		start++;
	fprintf(h->out, "Try \"help %.*s\" for more information\n",
		(int)(h->line->end[h->first - 1] - start), start);
}

static void hmp_usage(struct hmp_ctx *h, const char *what)
{
	fprintf(h->out, "%s: %s\n", h->name, what);
	hmp_try_help(h);
}

static int hmp_nargs(struct hmp_ctx *h)
{
	return h->line->n - h->first + h->line->too_many;
}

/* The i-th argument, or NULL when there is none or it is unusable. */
static const char *hmp_arg(struct hmp_ctx *h, int i)
{
	int w = h->first + i;

	return w < h->line->n && w != h->line->bad ? h->line->word[w] : NULL;
}

/* Runs a QMP command; prints "Error: DESC" on failure.  Returns the result
 * (new reference) or NULL. */
static json_t *hmp_qmp(struct hmp_ctx *h, const char *cmd, json_t *args)
{
	struct qmp_error err;
	json_t *ret = qmp_dispatch(h->c->q, cmd, args, &err);

	json_decref(args);
	if (!ret)
		fprintf(h->out, "Error: %s\n", err.desc);
	return ret;
}

static bool hmp_no_args(struct hmp_ctx *h)
{
	if (hmp_nargs(h) == 0)
		return true;
	hmp_usage(h, "extraneous characters at the end of line");
	return false;
}

static void hmp_simple(struct hmp_ctx *h, const char *cmd)
{
	if (hmp_no_args(h))
		json_decref(hmp_qmp(h, cmd, NULL));
}

static void hmp_stop(struct hmp_ctx *h)
{
	hmp_simple(h, "stop");
}

static void hmp_cont(struct hmp_ctx *h)
{
	hmp_simple(h, "cont");
}

static void hmp_quit(struct hmp_ctx *h)
{
	hmp_simple(h, "quit");
}

static void hmp_system_reset(struct hmp_ctx *h)
{
	hmp_simple(h, "system_reset");
}

static void hmp_system_powerdown(struct hmp_ctx *h)
{
	hmp_simple(h, "system_powerdown");
}

/* hostfwd_add [netdev_id] RULE, hostfwd_remove [netdev_id] RULE: QEMU keeps
 * these in HMP only; the QMP side is net_control's x-hostfwd-add/remove. */
static void hmp_hostfwd(struct hmp_ctx *h, bool add)
{
	int n = hmp_nargs(h);
	const char *netdev = n == 2 ? hmp_arg(h, 0) : NULL, *rule = hmp_arg(h, n == 2 ? 1 : 0);
	json_t *args, *ret;

	if (n < 1 || n > 2 || !rule || (n == 2 && !netdev)) {
		hmp_usage(h,
			  n < 1 ? "missing argument" : "extraneous characters at the end of line");
		return;
	}
	args = netdev ? json_pack("{s:s, s:s}", "netdev", netdev, "rule", rule)
		      : json_pack("{s:s}", "rule", rule);
	ret = hmp_qmp(h, add ? "x-hostfwd-add" : "x-hostfwd-remove", args);
	if (ret && !add)
		fprintf(h->out, "host forwarding rule for %s removed\n", rule);
	json_decref(ret);
}

static void hmp_hostfwd_add(struct hmp_ctx *h)
{
	hmp_hostfwd(h, true);
}

static void hmp_hostfwd_remove(struct hmp_ctx *h)
{
	hmp_hostfwd(h, false);
}

/* A leading "-f" (QEMU's '-f' flag argument); -1 after the message for an
 * unknown option. */
static int hmp_flag_f(struct hmp_ctx *h, int *i, bool *force)
{
	const char *a = hmp_arg(h, *i);

	if (!a || a[0] != '-' || !a[1])
		return 0;
	if (strcmp(a, "-f")) {
		fprintf(h->out, "%s: unsupported option -%c\n", h->name, a[1]);
		hmp_try_help(h);
		return -1;
	}
	*force = true;
	(*i)++;
	return 0;
}

static void hmp_eject(struct hmp_ctx *h)
{
	bool force = false;
	int i = 0;

	if (hmp_flag_f(h, &i, &force) < 0)
		return;
	if (!hmp_arg(h, i)) {
		hmp_usage(h, "block device name expected");
		return;
	}
	if (hmp_nargs(h) > i + 1) {
		hmp_usage(h, "extraneous characters at the end of line");
		return;
	}
	json_decref(
	    hmp_qmp(h, "eject", json_pack("{s:s, s:b}", "device", hmp_arg(h, i), "force", force)));
}

/* change DEVICE [-f] FILE [FORMAT [READ-ONLY-MODE]] */
static void hmp_change(struct hmp_ctx *h)
{
	static const char *const modes[] = {"retain", "read-only", "read-write", NULL};
	const char *device = hmp_arg(h, 0), *file, *format, *mode;
	bool force = false;
	int i = 1;
	json_t *args;

	if (!device) {
		hmp_usage(h, "block device name expected");
		return;
	}
	if (hmp_flag_f(h, &i, &force) < 0)
		return;
	file = hmp_arg(h, i);
	if (!file) {
		hmp_usage(h, "filename expected");
		return;
	}
	format = hmp_arg(h, i + 1);
	mode = hmp_arg(h, i + 2);
	if (hmp_nargs(h) > i + 3) {
		hmp_usage(h, "extraneous characters at the end of line");
		return;
	}
	if (mode) {
		int m;

		for (m = 0; modes[m] && strcmp(modes[m], mode); m++)
			;
		if (!modes[m]) {
			fprintf(h->out, "Error: invalid parameter value: %s\n", mode);
			return;
		}
	}
	args = json_pack("{s:s, s:s}", "device", device, "filename", file);
	if (args && format)
		json_object_set_new(args, "format", json_string(format));
	if (args && mode)
		json_object_set_new(args, "read-only-mode", json_string(mode));
	if (args && force)
		json_object_set_new(args, "force", json_true());
	json_decref(hmp_qmp(h, "blockdev-change-medium", args));
}

/*
 * balloon TARGET: megabytes, read as QEMU's monitor reads an 'M' argument
 * (a number in C notation, a leading '-' negates; the arithmetic of QEMU's
 * expressions is not supported: "1+1" is extraneous characters here), the
 * value shifted into bytes with the same 64-bit wrap.
 */
static void hmp_balloon(struct hmp_ctx *h)
{
	const char *w = hmp_arg(h, 0), *digits;
	unsigned long long v;
	int64_t val;
	char *end;

	if (!w) {
		fprintf(h->out, "unexpected end of expression\n");
		hmp_try_help(h);
		return;
	}
	digits = w[0] == '-' ? w + 1 : w;
	if (!isdigit((unsigned char)*digits)) {
		fprintf(h->out, "invalid char '%c' in expression\n", *digits ? *digits : ' ');
		hmp_try_help(h);
		return;
	}
	errno = 0;
	v = strtoull(digits, &end, 0);
	if (*end || hmp_nargs(h) > 1) {
		hmp_usage(h, "extraneous characters at the end of line");
		return;
	}
	val = (int64_t)v;
	if (w[0] == '-')
		val = (int64_t)(0 - (uint64_t)val);
	if (val < 0) {
		fprintf(h->out, "enter a positive value\n");
		hmp_try_help(h);
		return;
	}
	val = (int64_t)((uint64_t)val << 20);
	json_decref(hmp_qmp(h, "balloon", json_pack("{s:I}", "value", (json_int_t)val)));
}

/* info balloon: "balloon: actual=MIB", as QEMU's hmp_info_balloon. */
static void hmp_info_balloon(struct hmp_ctx *h)
{
	json_t *b;

	if (!hmp_no_args(h))
		return;
	b = hmp_qmp(h, "query-balloon", NULL);
	if (b)
		fprintf(h->out, "balloon: actual=%lld\n",
			(long long)(json_integer_value(json_object_get(b, "actual")) >> 20));
	json_decref(b);
}

static void hmp_info_status(struct hmp_ctx *h)
{
	json_t *st;
	const char *status;
	bool running;

	if (!hmp_no_args(h))
		return;
	st = hmp_qmp(h, "query-status", NULL);
	if (!st)
		return;
	running = json_is_true(json_object_get(st, "running"));
	status = json_string_value(json_object_get(st, "status"));
	fprintf(h->out, "VM status: %s%s", running ? "running" : "paused",
		json_is_true(json_object_get(st, "singlestep")) ? " (single step mode)" : "");
	if (!running && status && strcmp(status, "paused"))
		fprintf(h->out, " (%s)", status);
	fputc('\n', h->out);
	json_decref(st);
}

static void hmp_info_name(struct hmp_ctx *h)
{
	json_t *n;

	if (!hmp_no_args(h))
		return;
	n = hmp_qmp(h, "query-name", NULL);
	if (n && json_is_string(json_object_get(n, "name")))
		fprintf(h->out, "%s\n", json_string_value(json_object_get(n, "name")));
	json_decref(n);
}

/* One drive of query-block, printed as QEMU's "info block". */
static void hmp_print_drive(struct hmp_ctx *h, json_t *d)
{
	const char *device = json_string_value(json_object_get(d, "device"));
	const char *qdev = json_string_value(json_object_get(d, "qdev"));
	json_t *ins = json_object_get(d, "inserted");
	json_t *cache = json_object_get(ins, "cache");

	if (!device)
		device = "?";
	if (json_is_object(ins)) {
		const char *node = json_string_value(json_object_get(ins, "node-name"));
		const char *file = json_string_value(json_object_get(ins, "file"));
		const char *drv = json_string_value(json_object_get(ins, "drv"));

		fprintf(h->out, "%s", device);
		if (node)
			fprintf(h->out, " (%s)", node);
		fprintf(h->out, ": %s (%s%s)\n", file ? file : "?", drv ? drv : "?",
			json_is_true(json_object_get(ins, "ro")) ? ", read-only" : "");
	} else {
		fprintf(h->out, "%s: [not inserted]\n", device);
	}
	if (qdev)
		fprintf(h->out, "    Attached to:      %s\n", qdev);
	if (json_is_true(json_object_get(d, "removable")))
		fprintf(h->out, "    Removable device: %slocked, tray %s\n",
			json_is_true(json_object_get(d, "locked")) ? "" : "not ",
			json_is_true(json_object_get(d, "tray_open")) ? "open" : "closed");
	if (json_is_object(cache))
		fprintf(h->out, "    Cache mode:       %s%s%s\n",
			json_is_true(json_object_get(cache, "writeback")) ? "writeback"
									  : "writethrough",
			json_is_true(json_object_get(cache, "direct")) ? ", direct" : "",
			json_is_true(json_object_get(cache, "no-flush")) ? ", ignore flushes" : "");
}

static void hmp_info_block(struct hmp_ctx *h)
{
	const char *only = hmp_arg(h, 0);
	json_t *list, *d;
	bool first = true;
	size_t i;

	if (hmp_nargs(h) > 1) {
		hmp_usage(h, "extraneous characters at the end of line");
		return;
	}
	if (hmp_nargs(h) == 1 && !only) {
		hmp_usage(h, "block device name expected");
		return;
	}
	list = hmp_qmp(h, "query-block", NULL);
	json_array_foreach(list, i, d)
	{
		const char *device = json_string_value(json_object_get(d, "device"));

		if (only && (!device || strcmp(only, device)))
			continue;
		if (!first)
			fputc('\n', h->out);
		first = false;
		hmp_print_drive(h, d);
	}
	json_decref(list);
}

static void hmp_help(struct hmp_ctx *h);
static void hmp_info(struct hmp_ctx *h);

static const struct hmp_cmd info_cmds[] = {
    {"balloon", "", "show balloon information", hmp_info_balloon, NULL},
    {"block", "[device]", "show info of one block device or all block devices", hmp_info_block,
     NULL},
    {"name", "", "show the current VM name", hmp_info_name, NULL},
    {"status", "", "show the current VM status (running|paused)", hmp_info_status, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct hmp_cmd hmp_cmds[] = {
    {"balloon", "target", "request VM to change its memory allocation (in MB)", hmp_balloon, NULL},
    {"change", "device [-f] filename [format [read-only-mode]]",
     "change a removable medium, optional format, use -f to force the operation", hmp_change, NULL},
    {"cont|c", "", "resume emulation", hmp_cont, NULL},
    {"eject", "[-f] device", "eject a removable medium (use -f to force it)", hmp_eject, NULL},
    {"help|?", "[cmd]", "show the help", hmp_help, NULL},
    {"hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
     "redirect TCP or UDP connections from host to guest (requires -net user)", hmp_hostfwd_add,
     NULL},
    {"hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
     "remove host-to-guest TCP or UDP redirection", hmp_hostfwd_remove, NULL},
    {"info", "[subcommand]", "show various information about the system state", hmp_info,
     info_cmds},
    {"quit|q", "", "quit the emulator", hmp_quit, NULL},
    {"stop|s", "", "stop emulation", hmp_stop, NULL},
    {"system_powerdown", "", "send system power down event", hmp_system_powerdown, NULL},
    {"system_reset", "", "reset the system", hmp_system_reset, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* Does word name this command ("stop|s" answers to stop and s)? */
static bool hmp_matches(const char *names, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = names;;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, word, n))
			return true;
		if (!bar)
			return false;
		p = bar + 1;
	}
}

static const struct hmp_cmd *hmp_find(const struct hmp_cmd *table, const char *word)
{
	for (const struct hmp_cmd *c = table; c->name; c++)
		if (hmp_matches(c->name, word))
			return c;
	return NULL;
}

static void hmp_print_help(FILE *out, const char *prefix, const struct hmp_cmd *table)
{
	for (const struct hmp_cmd *c = table; c->name; c++)
		fprintf(out, "%s%s %s -- %s\n", prefix, c->name, c->params, c->help);
}

/* help [cmd [subcmd]] */
static void hmp_help(struct hmp_ctx *h)
{
	const struct hmp_cmd *c, *sub;
	const char *word = hmp_arg(h, 0), *subword = hmp_arg(h, 1);

	if (!word) {
		if (hmp_nargs(h) == 0) /* an unusable word: nothing, as QEMU */
			hmp_print_help(h->out, "", hmp_cmds);
		return;
	}
	c = hmp_find(hmp_cmds, word);
	if (!c) {
		fprintf(h->out, "unknown command: '%s'\n", word);
		return;
	}
	if (!c->sub) {
		fprintf(h->out, "%s %s -- %s\n", c->name, c->params, c->help);
		return;
	}
	if (!subword) {
		hmp_print_help(h->out, "info ", c->sub);
		return;
	}
	sub = hmp_find(c->sub, subword);
	if (!sub)
		fprintf(h->out, "unknown command: 'info %s'\n", subword);
	else
		fprintf(h->out, "info %s %s -- %s\n", sub->name, sub->params, sub->help);
}

/* info SUBCOMMAND ... */
static void hmp_info(struct hmp_ctx *h)
{
	const char *word = hmp_arg(h, 0);
	const struct hmp_cmd *sub;

	if (!word) {
		hmp_print_help(h->out, "info ", info_cmds);
		return;
	}
	sub = hmp_find(info_cmds, word);
	if (!sub) {
		fprintf(h->out, "unknown command: 'info %s'\n", word);
		return;
	}
	h->first++;
	h->name = sub->name;
	sub->run(h);
}

/* QEMU's monitor writes "\r\n" for every "\n". */
static char *crlf(const char *s, size_t len)
{
	size_t lines = 0;
	char *r, *p;

	for (size_t i = 0; i < len; i++)
		lines += s[i] == '\n';
	r = malloc(len + lines + 1);
	if (!r)
		return NULL;
	p = r;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			*p++ = '\r';
		*p++ = s[i];
	}
	*p = '\0';
	return r;
}

char *qmp_hmp_run(struct qmp_commands *c, const char *text)
{
	struct hmp_line line;
	struct hmp_ctx h = {.c = c, .line = &line, .first = 1};
	const struct hmp_cmd *cmd;
	char *buf = NULL, *ret;
	size_t size = 0;

	h.out = open_memstream(&buf, &size);
	if (!h.out)
		return NULL;
	hmp_split(&line, text);
	if (line.n == 0) {
		/* an empty line does nothing */
	} else if (!(cmd = hmp_find(hmp_cmds, line.word[0]))) {
		fprintf(h.out, "unknown command: '%s'\n", line.word[0]);
	} else {
		h.name = cmd->name;
		cmd->run(&h);
	}
	hmp_free(&line);
	if (fclose(h.out) != 0) {
		free(buf);
		return NULL;
	}
	ret = crlf(buf, size);
	free(buf);
	return ret;
}

static json_t *cmd_human_monitor_command(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"command-line", "cpu-index", NULL};
	const char *line = NULL;
	json_t *cpu = json_object_get(args, "cpu-index");
	char *out;
	json_t *ret;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "command-line", true, &line, err) < 0)
		return NULL;
	/* Accepted for QEMU's clients; no HMP word here depends on a CPU. */
	if (cpu && !json_is_integer(cpu)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for 'cpu-index', expected: integer");
		return NULL;
	}
	out = qmp_hmp_run(opaque, line);
	if (!out) {
		qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
		return NULL;
	}
	ret = json_string(out);
	free(out);
	if (!ret) /* the command line held bytes that are not UTF-8 */
		qmp_error_set(err, QMP_ERR_GENERIC, "the monitor's output is not valid UTF-8");
	return ret;
}

int qmp_commands_register(struct qmp_commands *c, struct qmp *q, const char *name)
{
	static const struct {
		const char *name;
		qmp_command_fn fn;
	} cmds[] = {
	    {"qmp_capabilities", cmd_qmp_capabilities},
	    {"query-commands", cmd_query_commands},
	    {"query-version", cmd_query_version},
	    {"query-name", cmd_query_name},
	    {"human-monitor-command", cmd_human_monitor_command},
	};

	c->q = q;
	c->name = name;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int ret = qmp_register(q, cmds[i].name, cmds[i].fn, c);

		if (ret < 0)
			return ret;
	}
	return 0;
}
