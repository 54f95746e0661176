// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Run control commands (vmm/vm_control.h).  Handlers run on the loop
 * thread, while the vCPUs run.  What they answer was checked against
 * qemu-system-x86_64 7.2 (-machine pc): query-status's members,
 * query-cpus-fast's for a one-socket machine of N cores, the error texts.
 */
#include "vmm/vm_control.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>

#include "vmm/qmp.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static json_t *ok(void)
{
	return json_object();
}

/* For the commands that take no argument at all. */
static bool no_args(json_t *args, struct qmp_error *err)
{
	return qmp_args_only(args, NULL, err) == 0;
}

static json_t *cmd_stop(void *opaque, json_t *args, struct qmp_error *err)
{
	if (!no_args(args, err))
		return NULL;
	vm_pause(opaque);
	return ok();
}

static json_t *cmd_cont(void *opaque, json_t *args, struct qmp_error *err)
{
	if (!no_args(args, err))
		return NULL;
	/* QEMU's answer in its shutdown state (qmp_cont, runstate_needs_reset). */
	if (vm_ending(opaque)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Resetting the Virtual Machine is required");
		return NULL;
	}
	vm_resume(opaque);
	return ok();
}

static json_t *cmd_system_reset(void *opaque, json_t *args, struct qmp_error *err)
{
	if (!no_args(args, err))
		return NULL;
	vm_request_reset_cause(opaque, VM_CAUSE_HOST_QMP_SYSTEM_RESET);
	return ok();
}

static json_t *cmd_system_powerdown(void *opaque, json_t *args, struct qmp_error *err)
{
	char why[256];

	if (!no_args(args, err))
		return NULL;
	if (vm_powerdown(opaque, why, sizeof(why)) < 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "%s", why);
		return NULL;
	}
	return ok();
}

static json_t *cmd_quit(void *opaque, json_t *args, struct qmp_error *err)
{
	if (!no_args(args, err))
		return NULL;
	fprintf(stderr, "minivmm: quitting: 'quit' from a control-socket client\n");
	vm_request_shutdown(opaque, 0, VM_CAUSE_HOST_QMP_QUIT);
	return ok();
}

static json_t *cmd_query_status(void *opaque, json_t *args, struct qmp_error *err)
{
	enum vm_run_state st;

	if (!no_args(args, err))
		return NULL;
	st = vm_state(opaque);
	return json_pack("{s:s, s:b, s:b}", "status", vm_state_name(st), "singlestep", 0, "running",
			 st == VM_STATE_RUNNING);
}

/*
 * One socket of N cores with one thread each, as vcpu.c's CPUID describes
 * it (QEMU 7.2's -smp N gives the same).  QEMU's QOM path of CPU i is
 * /machine/unattached/device[0] for the first and device[i + 1] for the
 * others (the first CPU's APIC takes device[1]).
 */
static json_t *cmd_query_cpus_fast(void *opaque, json_t *args, struct qmp_error *err)
{
	struct vm *vm = opaque;
	json_t *list;

	if (!no_args(args, err))
		return NULL;
	list = json_array();
	for (unsigned i = 0; list && i < vm->nr_vcpus; i++) {
		char path[64];
		json_t *cpu;

		snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i ? i + 1 : 0);
		cpu = json_pack("{s:i, s:i, s:{s:i, s:i, s:i}, s:s, s:s}", "cpu-index", (int)i,
				"thread-id", atomic_load(&vm->vcpus[i].tid), "props", "core-id",
				(int)i, "thread-id", 0, "socket-id", 0, "qom-path", path, "target",
				"x86_64");
		if (!cpu || json_array_append_new(list, cpu) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list)
		qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
	return list;
}

/* Ours: --stats=json's document, live; reset: true zeroes the counters
 * once they are read. */
static json_t *cmd_query_exit_stats(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"reset", NULL};
	bool reset = false;
	json_t *j;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_bool(args, "reset", false, &reset, err) < 0)
		return NULL;
	j = vm_exit_stats_json(opaque, reset);
	if (!j)
		qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
	return j;
}

int vm_control_register(struct vm *vm, struct qmp *q)
{
	static const struct {
		const char *name;
		qmp_command_fn fn;
	} cmds[] = {
	    {"stop", cmd_stop},
	    {"cont", cmd_cont},
	    {"system_reset", cmd_system_reset},
	    {"system_powerdown", cmd_system_powerdown},
	    {"quit", cmd_quit},
	    {"query-status", cmd_query_status},
	    {"query-cpus-fast", cmd_query_cpus_fast},
	    {"query-exit-stats", cmd_query_exit_stats},
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int ret = qmp_register(q, cmds[i].name, cmds[i].fn, vm);

		if (ret < 0)
			return ret;
	}
	return 0;
}
