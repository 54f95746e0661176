// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * minivmm: parse, check every file, prepare and start the VM; only then
 * create the output files, so that a failed start changes no file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/log_name.h"
#include "vmm/qmp_server.h"
#include "vmm/serial_backend.h"
#include "vmm/vm.h"
#include "vmm/vm_signals.h"
#include "vmm/display_control.h"
#include "vmm/keymap.h"
#include "vmm/screendump.h"
#include "vmm/vnc.h"

/* The output files, created or truncated once everything has been checked
 * and the VM is ready but no vCPU runs yet. */
static int start_outputs(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	if (serial_backend_start(vm->serial, err, errlen) < 0 ||
	    vm_start_outputs(vm, err, errlen) < 0)
		return -1;
	/* Written at exit by path; created now, as the others, so that the
	 * run ends with the file there even if the statistics fail. */
	if (cfg->stats == STATS_JSON) {
		int fd = cli_open_output("--stats", cfg->stats_path, err, errlen);

		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* --vnc-password-file: its first line, 1 to VNC_PASSWORD_MAX characters.
 * Longer is refused rather than cut, so that nobody believes a longer
 * password protects more than its first 8 characters. */
static int read_vnc_password(const char *path, char *pw, size_t size, char *err, size_t errlen)
{
	char line[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "--vnc-password-file: '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (!n || n > VNC_PASSWORD_MAX || n >= size) {
		snprintf(err, errlen, "--vnc-password-file: '%s': the first line %s", path,
			 n ? "is longer than VNC's 8 characters" : "is empty");
		memset(line, 0, sizeof(line));
		return -1;
	}
	memcpy(pw, line, n + 1);
	memset(line, 0, sizeof(line));
	return 0;
}

/* The VNC server, before any output file is created: a port in use ends
 * the start with nothing left behind. */
static int start_vnc(struct vm *vm, struct display_control *dc, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	char pw[VNC_PASSWORD_MAX + 1] = "";
	struct vnc_config vc = {
		.host = cfg->vnc_host[0] ? cfg->vnc_host : NULL,
		.display = cfg->vnc_display,
		.password = cfg->vnc_password,
		.keymap = cfg->keymap ? keymap_find(cfg->keymap) : NULL,
	};

	*dc = (struct display_control){ .display = vm->display, .vnc_password = cfg->vnc_password };
	if (cfg->vnc) {
		char why[256];

		if (cfg->vnc_password_file &&
		    read_vnc_password(cfg->vnc_password_file, pw, sizeof(pw), err, errlen) < 0)
			return -1;
		vc.initial_password = pw[0] ? pw : NULL;
		vm->vnc = vnc_new(vm->loop, vm->display, vm->input, &vc, why, sizeof(why));
		memset(pw, 0, sizeof(pw));
		if (!vm->vnc) {
			snprintf(err, errlen, "--vnc: %s", why);
			return -1;
		}
		dc->vnc = vm->vnc;
	}
	if (display_control_register(vm->qmp, dc) < 0) {
		snprintf(err, errlen, "cannot register the display's control commands");
		return -1;
	}
	return 0;
}

/* --screendump-on-exit: PNG by the file's suffix, else PPM. */
static void screendump_on_exit(struct vm *vm)
{
	const char *path = vm->cfg->screendump_on_exit;
	size_t n = path ? strlen(path) : 0;
	char err[512];

	if (!path)
		return;
	if (screendump_write(vm->display, path,
			     n > 4 && !strcasecmp(path + n - 4, ".png") ? SCREENDUMP_PNG
									 : SCREENDUMP_PPM,
			     err, sizeof(err)) < 0)
		fprintf(stderr, "minivmm: --screendump-on-exit: %s\n", err);
}

/* The control socket, last of the outputs: the protocol's commands are
 * registered even without --qmp (the server object owns them). */
static int start_qmp(struct vm *vm, struct qmp_server **qs, char *err, size_t errlen)
{
	*qs = qmp_server_new(vm->qmp, vm->loop, vm->cfg->name);
	if (!*qs) {
		snprintf(err, errlen, "cannot create the QMP server: %s", strerror(errno));
		return -1;
	}
	if (vm->cfg->qmp_path[0])
		return qmp_server_listen(*qs, vm->cfg->qmp_path, err, errlen);
	return 0;
}

/* Direct Linux boot's messages start "kernel: ", "initrd: " or "cmdline: "
 * (vmm/linux_boot.c): say which option and which file they are about. */
static void name_the_file(const struct vm_config *cfg, char *err, size_t errlen)
{
	static const struct { const char *prefix, *opt; } what[] = {
		{ "kernel: ", "--kernel" }, { "initrd: ", "--initrd" }, { "cmdline: ", "--append" },
	};
	char why[512];

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		size_t n = strlen(what[i].prefix);
		const char *path = i == 0 ? cfg->kernel : i == 1 ? cfg->initrd : NULL;

		if (strncmp(err, what[i].prefix, n))
			continue;
		snprintf(why, sizeof(why), "%s", err + n);
		/* cut long paths and reasons short, so the line stays whole */
		if (path)
			snprintf(err, errlen, "%s: '%.200s': %.280s", what[i].opt, path, why);
		else
			snprintf(err, errlen, "%s: %.480s", what[i].opt, why);
		return;
	}
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	struct qmp_server *qs = NULL;
	struct display_control dc;
	char err[512];
	int status;

	/* Before any thread exists (the block layer starts its workers when
	 * the drives open): every thread inherits the mask, so a signal is
	 * never delivered to a thread that would die of it, and the loop
	 * thread reads them all (vmm/vm_signals.h). */
	vm_signals_block();
	switch (cli_parse(argc, argv, &cfg, stdout, stderr)) {
	case CLI_EXIT_OK:
		return 0;
	case CLI_ERROR:
		return 2;
	case CLI_RUN:
		break;
	}
	if (cfg.name) {
		prctl(PR_SET_NAME, cfg.name); /* the kernel keeps the first 15 bytes */
		/* Every stderr line from here on names the VM (a farm's log). */
		if (log_name_install(&stderr, STDERR_FILENO, cfg.name) < 0)
			perror("minivmm: --name on stderr");
	}
	if (cli_check_files(&cfg, err, sizeof(err)) < 0 ||
	    (cfg.qmp_path[0] && qmp_server_check_path(cfg.qmp_path, err, sizeof(err)) < 0)) {
		fprintf(stderr, "minivmm: %s\n", err);
		return 2;
	}
	if (vm_prepare(&vm, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "minivmm: %s\n", err);
		vm_destroy(&vm);
		return 2;
	}
	status = vm_start(&vm, err, sizeof(err));
	if (status < 0) {
		if (status == VM_ERR_USER)
			name_the_file(&cfg, err, sizeof(err));
		fprintf(stderr, "minivmm: %s\n", err);
		vm_destroy(&vm);
		return status == VM_ERR_USER ? 2 : 1;
	}
	if (start_vnc(&vm, &dc, err, sizeof(err)) < 0 || start_outputs(&vm, err, sizeof(err)) < 0 ||
	    start_qmp(&vm, &qs, err, sizeof(err)) < 0) {
		fprintf(stderr, "minivmm: %s\n", err);
		qmp_server_free(qs);
		vm_destroy(&vm);
		return 2;
	}
	/* wait=on: no instruction runs before a client is there */
	status = cfg.qmp_path[0] && cfg.qmp_wait ? qmp_server_wait(qs, err, sizeof(err)) : 0;
	if (status != 0) {
		if (status < 0)
			fprintf(stderr, "minivmm: %s\n", err);
		else
			fprintf(stderr, "minivmm: terminating on signal %d\n", status);
		qmp_server_free(qs);
		vm_destroy(&vm);
		return status < 0 ? 1 : 0;
	}
	status = vm_run(&vm);
	screendump_on_exit(&vm);
	vm_report_stats(&vm);
	qmp_server_free(qs);
	vm_destroy(&vm);
	return status;
}
