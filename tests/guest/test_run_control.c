// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Run control through the control interface, in-process: a real VM (the
 * same code as the minivmm binary, on /dev/kvm) runs one of our guests on
 * this process's main thread, and a driver thread sends commands with
 * qmp_dispatch() on the loop thread, as the QMP socket server does, and
 * reads what the guest did from guest RAM and from the events.
 *
 *   test_run_control ticks TICKS.BIN      stop/cont against the PIT tick
 *       counter (no progress while paused, no burst of missed ticks after
 *       cont), query-status, query-cpus-fast, query-exit-stats (reset),
 *       system_reset, system_powerdown, quit, the events, every command's
 *       argument checking
 *   test_run_control powerbtn POWERBTN.BIN  system_powerdown while paused:
 *       nothing happens until cont, then the guest sees the button and
 *       powers off: vm_run ends with 0 and SHUTDOWN guest-shutdown
 *   test_run_control guest-reset|no-reboot RESET_CF9.BIN  a guest reset:
 *       RESET guest-reset; with --no-reboot SHUTDOWN guest-reset instead
 *   test_run_control system-reset-no-reboot TICKS.BIN  system_reset with
 *       --no-reboot ends the VM (SHUTDOWN host-qmp-system-reset), as QEMU
 *
 * Exit 0 on success, 1 on a failure (each printed), 77 without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/piix4_pm.h"
#include "vmm/board.h"
#include "vmm/bus.h"
#include "vmm/cli.h"
#include "vmm/loop.h"
#include "vmm/qmp.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_signals.h"

#define VAR_TICKS 0x400 /* firmware/guests/lib.inc */

static struct vm vm;
static int failures;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static json_t *events; /* every event delivered, in order */
static bool vm_done;
static int vm_status;

__attribute__((format(printf, 1, 2))) static void failed(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	failures++;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			failed(__VA_ARGS__);                                                       \
	} while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (long)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static uint32_t guest_ticks(void)
{
	uint32_t v = 0;

	guest_mem_read(&vm.mem, VAR_TICKS, &v, sizeof(v));
	return v;
}

/* ---- commands, run on the loop thread ---- */

struct call {
	const char *name;
	json_t *args;
	json_t *ret;
	struct qmp_error err;
	bool done;
};

static int call_fd = -1;
static struct call *pending;

static void on_call(void *opaque, uint32_t ev)
{
	uint64_t v;
	struct call *c;

	if (read(call_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&mu);
	c = pending;
	pthread_mutex_unlock(&mu);
	if (!c)
		return;
	c->ret = qmp_dispatch(vm.qmp, c->name, c->args, &c->err);
	pthread_mutex_lock(&mu);
	c->done = true;
	pending = NULL;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Runs name with args (JSON text or NULL) on the loop thread; the reply
 * (new reference) or NULL with *err filled. */
static json_t *call(const char *name, const char *args, struct qmp_error *err)
{
	struct call c = {.name = name};
	struct timespec until;
	uint64_t one = 1;

	if (args) {
		c.args = json_loads(args, 0, NULL);
		if (!c.args) {
			failed("bad test JSON %s", args);
			return NULL;
		}
	}
	pthread_mutex_lock(&mu);
	pending = &c;
	pthread_mutex_unlock(&mu);
	if (write(call_fd, &one, sizeof(one)) < 0)
		failed("eventfd: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&mu);
	while (!c.done && pthread_cond_timedwait(&cv, &mu, &until) == 0) {
	}
	if (!c.done)
		pending = NULL;
	pthread_mutex_unlock(&mu);
	json_decref(c.args);
	if (!c.done) {
		failed("%s: no answer within 10 s", name);
		qmp_error_set(err, QMP_ERR_GENERIC, "timeout");
		return NULL;
	}
	*err = c.err;
	return c.ret;
}

/* A command that must answer {} . */
static void call_ok(const char *name, const char *args)
{
	struct qmp_error err;
	json_t *r = call(name, args, &err);

	if (!r)
		failed("%s %s: error %s: %s", name, args ? args : "", err.cls, err.desc);
	else if (!json_is_object(r) || json_object_size(r))
		failed("%s: returned something other than {}", name);
	json_decref(r);
}

/* A command that must fail with that class and text. */
static void call_error(const char *name, const char *args, const char *cls, const char *desc)
{
	struct qmp_error err;
	json_t *r = call(name, args, &err);

	if (r) {
		failed("%s %s: succeeded, expected %s", name, args ? args : "", desc);
		json_decref(r);
		return;
	}
	CHECK(err.cls && !strcmp(err.cls, cls), "%s %s: class %s, expected %s", name,
	      args ? args : "", err.cls, cls);
	CHECK(!strcmp(err.desc, desc), "%s %s: '%s', expected '%s'", name, args ? args : "",
	      err.desc, desc);
}

/* ---- events ---- */

static void record_event(void *opaque, json_t *ev)
{
	pthread_mutex_lock(&mu);
	json_array_append(events, ev);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static size_t event_count(const char *name)
{
	size_t n = 0, i;
	json_t *ev;

	pthread_mutex_lock(&mu);
	json_array_foreach(events, i, ev)
	{
		if (!strcmp(json_string_value(json_object_get(ev, "event")), name))
			n++;
	}
	pthread_mutex_unlock(&mu);
	return n;
}

/* Waits up to timeout s for the n-th (1-based) event of that name; its
 * "data" (borrowed; json_null() if it has none) or NULL. */
static json_t *wait_event(const char *name, size_t n, double timeout)
{
	double end = now_s() + timeout;

	for (;;) {
		size_t seen = 0, i;
		json_t *ev;

		pthread_mutex_lock(&mu);
		json_array_foreach(events, i, ev)
		{
			if (strcmp(json_string_value(json_object_get(ev, "event")), name))
				continue;
			if (++seen == n) {
				json_t *data = json_object_get(ev, "data");

				pthread_mutex_unlock(&mu);
				CHECK(json_is_object(json_object_get(ev, "timestamp")),
				      "%s: no timestamp", name);
				return data ? data : json_null();
			}
		}
		pthread_mutex_unlock(&mu);
		if (now_s() > end) {
			failed("no %s event (#%zu) within %g s", name, n, timeout);
			return NULL;
		}
		sleep_s(0.02);
	}
}

static void check_cause(json_t *data, const char *what, bool guest, const char *reason)
{
	if (!data)
		return;
	CHECK(json_is_boolean(json_object_get(data, "guest")) &&
		  json_is_true(json_object_get(data, "guest")) == guest,
	      "%s: guest is not %s", what, guest ? "true" : "false");
	CHECK(json_is_string(json_object_get(data, "reason")) &&
		  !strcmp(json_string_value(json_object_get(data, "reason")), reason),
	      "%s: reason is not %s", what, reason);
	CHECK(json_object_size(data) == 2, "%s: members other than guest and reason", what);
}

static void check_status(const char *status, bool running)
{
	struct qmp_error err;
	json_t *r = call("query-status", NULL, &err);
	const char *st;

	if (!r) {
		failed("query-status: %s", err.desc);
		return;
	}
	st = json_string_value(json_object_get(r, "status"));
	CHECK(st && !strcmp(st, status), "query-status: status %s, expected %s", st, status);
	CHECK(json_is_boolean(json_object_get(r, "running")) &&
		  json_is_true(json_object_get(r, "running")) == running,
	      "query-status: running is not %d", running);
	CHECK(json_is_false(json_object_get(r, "singlestep")), "query-status: singlestep");
	CHECK(json_object_size(r) == 3, "query-status: %zu members, QEMU 7.2 has 3",
	      json_object_size(r));
	json_decref(r);
}

static bool wait_ticks_above(uint32_t n, double timeout)
{
	double end = now_s() + timeout;

	while (guest_ticks() <= n)
		if (now_s() > end)
			return false;
		else
			sleep_s(0.02);
	return true;
}

static bool wait_vm_done(double timeout)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)timeout;
	pthread_mutex_lock(&mu);
	while (!vm_done && pthread_cond_timedwait(&cv, &mu, &until) == 0) {
	}
	done = vm_done;
	pthread_mutex_unlock(&mu);
	return done;
}

/* ---- the ticks guest ---- */

static void test_arguments(void)
{
	static const char *const no_args[] = {
	    "stop", "cont",	    "system_reset",   "system_powerdown",
	    "quit", "query-status", "query-cpus-fast"};

	for (size_t i = 0; i < sizeof(no_args) / sizeof(no_args[0]); i++)
		call_error(no_args[i], "{\"x\": 1}", QMP_ERR_GENERIC,
			   "Parameter 'x' is unexpected");
	call_error("query-exit-stats", "{\"x\": 1}", QMP_ERR_GENERIC,
		   "Parameter 'x' is unexpected");
	call_error("query-exit-stats", "{\"reset\": 1}", QMP_ERR_GENERIC,
		   "Invalid parameter type for 'reset', expected: boolean");
	call_error("query-exit-stats", "{\"reset\": \"yes\"}", QMP_ERR_GENERIC,
		   "Invalid parameter type for 'reset', expected: boolean");
	/* None of that did anything. */
	check_status("running", true);
	CHECK(event_count("STOP") == 0 && event_count("RESET") == 0 &&
		  event_count("SHUTDOWN") == 0 && event_count("POWERDOWN") == 0,
	      "a refused command sent an event");
}

static void test_stop_cont(void)
{
	uint32_t t1, t2, t3;
	double t_cont, paused_for = 2.0;

	call_ok("stop", NULL);
	wait_event("STOP", 1, 5);
	check_status("paused", false);
	t1 = guest_ticks();
	sleep_s(paused_for);
	t2 = guest_ticks();
	CHECK(t1 == t2, "the guest counted %u ticks while paused", t2 - t1);
	/* A second stop changes nothing and sends no event. */
	call_ok("stop", NULL);
	sleep_s(0.1);
	CHECK(event_count("STOP") == 1, "a second stop sent another STOP");
	CHECK(guest_ticks() == t2, "the guest ran after the second stop");

	call_ok("cont", NULL);
	t_cont = now_s();
	wait_event("RESUME", 1, 5);
	check_status("running", true);
	CHECK(wait_ticks_above(t2 + 5, 10), "no tick within 10 s of cont");
	sleep_s(0.5);
	t3 = guest_ticks();
	/* At 100 Hz (or slower, under the instruction emulator): the ticks of
	 * the pause (200) must not arrive in a burst, as QEMU drops them. */
	CHECK(t3 - t2 <= (uint32_t)((now_s() - t_cont) * 100 + 20),
	      "%u ticks in %.2f s after cont: the pause's ticks came in a burst", t3 - t2,
	      now_s() - t_cont);
	call_ok("cont", NULL);
	sleep_s(0.1);
	CHECK(event_count("RESUME") == 1, "a second cont sent another RESUME");
	printf("stop/cont: %u ticks before, %u after %.1f s paused, %u 0.5 s after cont\n", t1, t2,
	       paused_for, t3);
}

static void test_cpus_fast(void)
{
	struct qmp_error err;
	json_t *r = call("query-cpus-fast", NULL, &err), *cpu, *props;
	char path[64], comm[32] = "";
	int tid;
	FILE *f;

	if (!r) {
		failed("query-cpus-fast: %s", err.desc);
		return;
	}
	CHECK(json_is_array(r) && json_array_size(r) == 1, "query-cpus-fast: not one CPU");
	cpu = json_array_get(r, 0);
	props = json_object_get(cpu, "props");
	CHECK(json_integer_value(json_object_get(cpu, "cpu-index")) == 0, "cpu-index");
	CHECK(!strcmp(json_string_value(json_object_get(cpu, "qom-path")) ?: "",
		      "/machine/unattached/device[0]"),
	      "qom-path");
	CHECK(!strcmp(json_string_value(json_object_get(cpu, "target")) ?: "", "x86_64"), "target");
	CHECK(json_object_size(cpu) == 5, "query-cpus-fast: %zu members, QEMU 7.2 has 5",
	      json_object_size(cpu));
	CHECK(json_is_integer(json_object_get(props, "core-id")) &&
		  json_is_integer(json_object_get(props, "thread-id")) &&
		  json_is_integer(json_object_get(props, "socket-id")) &&
		  json_object_size(props) == 3,
	      "props are not {core-id, thread-id, socket-id}");
	tid = (int)json_integer_value(json_object_get(cpu, "thread-id"));
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	CHECK(!strcmp(comm, "vcpu0\n"), "thread-id %d is not the vCPU thread (comm '%s')", tid,
	      comm);
	json_decref(r);
}

static uint64_t io_exits(json_t *stats)
{
	return (uint64_t)json_integer_value(
	    json_object_get(json_object_get(json_object_get(stats, "exits"), "io"), "count"));
}

static void test_exit_stats(void)
{
	struct qmp_error err;
	json_t *a, *b, *c;
	uint64_t na, nb, nc;

	a = call("query-exit-stats", NULL, &err);
	CHECK(a && json_is_object(json_object_get(a, "exits")) &&
		  json_is_object(json_object_get(a, "pio")) &&
		  json_is_object(json_object_get(a, "mmio")) &&
		  json_is_integer(json_object_get(a, "interrupted")),
	      "query-exit-stats: not --stats=json's document");
	/* COM1, which the guest wrote its first line to, has its row (the PIC
	 * and the PIT are in the kernel: no exits). */
	CHECK(a && json_is_object(json_object_get(json_object_get(a, "pio"), "0x03f8")),
	      "query-exit-stats: no row for port 0x03f8");
	sleep_s(0.5);
	b = call("query-exit-stats", "{\"reset\": true}", &err);
	c = call("query-exit-stats", "{\"reset\": false}", &err);
	na = io_exits(a);
	nb = io_exits(b);
	nc = io_exits(c);
	CHECK(na > 0 && nb > na, "live counts do not grow: %llu then %llu", (unsigned long long)na,
	      (unsigned long long)nb);
	CHECK(nc < nb, "reset: true did not zero the counters (%llu, then %llu)",
	      (unsigned long long)nb, (unsigned long long)nc);
	printf("query-exit-stats: io exits %llu, %llu (reset), %llu\n", (unsigned long long)na,
	       (unsigned long long)nb, (unsigned long long)nc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_reset(void)
{
	uint32_t before = guest_ticks();
	double end;

	call_ok("system_reset", NULL);
	check_cause(wait_event("RESET", 1, 5), "RESET", false, "host-qmp-system-reset");
	/* The guest starts again: its counter restarts from 0. */
	end = now_s() + 10;
	while (guest_ticks() >= before && now_s() < end)
		sleep_s(0.01);
	CHECK(guest_ticks() < before, "the guest did not start again after system_reset");
	CHECK(wait_ticks_above(10, 10), "the guest does not tick after system_reset");
	check_status("running", true);
}

static void test_powerdown_ignored(void)
{
	uint32_t t;

	call_ok("system_powerdown", NULL);
	wait_event("POWERDOWN", 1, 5);
	t = guest_ticks();
	sleep_s(0.3);
	CHECK(guest_ticks() > t, "the ticks guest stopped after system_powerdown");
	CHECK(event_count("SHUTDOWN") == 0, "SHUTDOWN after a button the guest ignores");
}

static void *drive_ticks(void *opaque)
{
	if (!wait_ticks_above(20, 20)) {
		failed("the ticks guest does not tick");
	} else {
		check_status("running", true);
		test_arguments();
		test_stop_cont();
		test_cpus_fast();
		test_exit_stats();
		test_reset();
		test_powerdown_ignored();
	}
	call_ok("quit", NULL);
	if (!wait_vm_done(10)) {
		failed("quit did not end the VM");
		vm_request_shutdown(&vm, 1, VM_CAUSE_HOST_ERROR);
		return NULL;
	}
	check_cause(wait_event("SHUTDOWN", 1, 1), "SHUTDOWN", false, "host-qmp-quit");
	CHECK(vm_status == 0, "quit: vm_run returned %d", vm_status);
	CHECK(event_count("SHUTDOWN") == 1, "more than one SHUTDOWN");
	return NULL;
}

/* ---- the powerbtn guest ---- */

static void *drive_powerbtn(void *opaque)
{
	struct piix4_pm *pm = board_find(vm.board, "pm", &piix4_pm_type);
	double end = now_s() + 20;
	uint64_t en = 0;

	/* Until the guest has set PWRBTN_EN (it clears stale status first). */
	while (pm && now_s() < end) {
		uint16_t base = piix4_pm_io_base(pm);

		if (base && bus_read(vm.pio, base + 2u, 2, &en) >= 0 && (en & 0x100))
			break;
		sleep_s(0.05);
	}
	if (!(en & 0x100)) {
		failed("the guest did not set PWRBTN_EN within 20 s");
		vm_request_shutdown(&vm, 1, VM_CAUSE_HOST_ERROR);
		return NULL;
	}
	call_ok("stop", NULL);
	call_ok("system_powerdown", NULL);
	wait_event("POWERDOWN", 1, 5);
	sleep_s(1);
	CHECK(!wait_vm_done(0), "the guest reacted to the button while paused");
	check_status("paused", false);
	call_ok("cont", NULL);
	if (!wait_vm_done(20)) {
		failed("the guest did not power off within 20 s of cont");
		vm_request_shutdown(&vm, 1, VM_CAUSE_HOST_ERROR);
		return NULL;
	}
	CHECK(vm_status == 0, "S5: vm_run returned %d", vm_status);
	check_cause(wait_event("SHUTDOWN", 1, 1), "SHUTDOWN", true, "guest-shutdown");
	return NULL;
}

/* Before vm_run, on this (the loop's) thread. */
static void check_prelaunch(void)
{
	struct qmp_error e;
	json_t *r = qmp_dispatch(vm.qmp, "query-status", NULL, &e);

	CHECK(r && !strcmp(json_string_value(json_object_get(r, "status")) ?: "", "prelaunch"),
	      "before vm_run: status is not prelaunch");
	CHECK(r && json_is_false(json_object_get(r, "running")), "prelaunch: running");
	json_decref(r);
}

/* ---- the reset_cf9 guest: resets itself once through 0xcf9 ---- */

/* Without --no-reboot: RESET {guest, guest-reset}, then the second boot's
 * debug exit ends the VM with 33 and SHUTDOWN guest-shutdown. */
static void *drive_guest_reset(void *opaque)
{
	if (!wait_vm_done(30)) {
		failed("the reset_cf9 guest did not end within 30 s");
		vm_request_shutdown(&vm, 1, VM_CAUSE_HOST_ERROR);
		return NULL;
	}
	check_cause(wait_event("RESET", 1, 1), "RESET", true, "guest-reset");
	check_cause(wait_event("SHUTDOWN", 1, 1), "SHUTDOWN", true, "guest-shutdown");
	CHECK(event_count("RESET") == 1, "%zu RESET events, expected 1", event_count("RESET"));
	CHECK(vm_status == 33, "debug exit: vm_run returned %d, expected 33", vm_status);
	return NULL;
}

/* With --no-reboot the guest's reset ends the VM with its cause, as QEMU's
 * -no-reboot: SHUTDOWN {guest: true, reason: guest-reset}, no RESET. */
static void *drive_no_reboot(void *opaque)
{
	if (!wait_vm_done(30)) {
		failed("the reset did not end the VM within 30 s");
		vm_request_shutdown(&vm, 1, VM_CAUSE_HOST_ERROR);
		return NULL;
	}
	check_cause(wait_event("SHUTDOWN", 1, 1), "SHUTDOWN", true, "guest-reset");
	CHECK(event_count("RESET") == 0, "a RESET event with --no-reboot");
	CHECK(vm_status == 0, "--no-reboot: vm_run returned %d", vm_status);
	return NULL;
}

/* With --no-reboot system_reset ends the VM too (QEMU 7.2 does the same):
 * SHUTDOWN {guest: false, reason: host-qmp-system-reset}. */
static void *drive_system_reset_no_reboot(void *opaque)
{
	if (!wait_ticks_above(5, 20))
		failed("the ticks guest does not tick");
	call_ok("system_reset", NULL);
	if (!wait_vm_done(10)) {
		failed("system_reset with --no-reboot did not end the VM");
		vm_request_shutdown(&vm, 1, VM_CAUSE_HOST_ERROR);
		return NULL;
	}
	check_cause(wait_event("SHUTDOWN", 1, 1), "SHUTDOWN", false, "host-qmp-system-reset");
	CHECK(event_count("RESET") == 0, "a RESET event with --no-reboot");
	CHECK(vm_status == 0, "vm_run returned %d", vm_status);
	return NULL;
}

static const struct {
	const char *name;
	void *(*driver)(void *);
	const char *extra[2]; /* more minivmm options */
} cases[] = {
    {"ticks", drive_ticks, {NULL}},
    {"powerbtn", drive_powerbtn, {NULL}},
    {"guest-reset", drive_guest_reset, {"--debug-exit"}},
    {"no-reboot", drive_no_reboot, {"--no-reboot"}},
    {"system-reset-no-reboot", drive_system_reset_no_reboot, {"--no-reboot"}},
};

int main(int argc, char **argv)
{
	char mem[] = "32M", serial[] = "file:/dev/null";
	char *args[16] = {"minivmm",  "--bios", argc > 2 ? argv[2] : "", "--memory", mem,
			  "--serial", serial};
	int nargs = 7;
	struct vm_config cfg;
	void *(*driver)(void *) = NULL;
	pthread_t thread;
	char err[512];
	int fd;

	for (size_t i = 0; argc == 3 && i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(argv[1], cases[i].name))
			continue;
		driver = cases[i].driver;
		for (size_t j = 0; j < 2 && cases[i].extra[j]; j++)
			args[nargs++] = (char *)cases[i].extra[j];
	}
	if (!driver) {
		fprintf(stderr, "usage: test_run_control ticks|powerbtn|guest-reset|no-reboot|"
				"system-reset-no-reboot GUEST.BIN\n");
		return 2;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP: /dev/kvm not available (%s)\n", strerror(errno));
		return 77;
	}
	close(fd);
	vm_signals_block();
	events = json_array();
	if (cli_parse(nargs, args, &cfg, stdout, stderr) != CLI_RUN ||
	    cli_check_files(&cfg, err, sizeof(err)) < 0) {
		printf("FAIL: bad configuration\n");
		return 1;
	}
	if (vm_prepare(&vm, &cfg, err, sizeof(err)) < 0 || vm_start(&vm, err, sizeof(err)) < 0) {
		printf("FAIL: cannot start the VM: %s\n", err);
		return 1;
	}
	call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (call_fd < 0 || event_loop_add_fd(vm.loop, call_fd, EPOLLIN, on_call, NULL) < 0 ||
	    qmp_add_listener(vm.qmp, record_event, NULL) < 0) {
		printf("FAIL: cannot set up the driver\n");
		return 1;
	}
	check_prelaunch();
	pthread_create(&thread, NULL, driver, NULL);
	vm_status = vm_run(&vm);
	pthread_mutex_lock(&mu);
	vm_done = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	event_loop_del_fd(vm.loop, call_fd);
	close(call_fd);
	vm_destroy(&vm);
	json_decref(events);
	if (failures) {
		printf("%d failure(s)\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
