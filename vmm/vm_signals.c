// SPDX-License-Identifier: GPL-2.0-or-later
/* Signals on the loop thread: SIGTERM powers down, the others quit
 * (vmm/vm_signals.h). */
#include "vmm/vm_signals.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/loop.h"
#include "vmm/serial_backend.h"
#include "vmm/vm.h"

struct vm_signals {
	struct vm *vm;
	unsigned timeout_s;
	int sig_fd, timer_fd;
	bool powering_down; /* a SIGTERM pressed the button */
	bool quitting;	    /* we asked the VM to end */
};

static void handled_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

void vm_signals_block(void)
{
	sigset_t set;

	handled_set(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* The terminal first, so that the message and whatever follows land on a
 * terminal in its normal mode. */
static void quit(struct vm_signals *s)
{
	serial_backend_close(s->vm->serial);
	s->quitting = true;
	vm_request_shutdown(s->vm, 0, VM_CAUSE_HOST_SIGNAL);
}

static void from(const struct signalfd_siginfo *si, char *buf, size_t len)
{
	if (si->ssi_pid)
		snprintf(buf, len, " from pid %u", si->ssi_pid);
	else
		buf[0] = '\0';
}

static void power_down(struct vm_signals *s, const struct signalfd_siginfo *si)
{
	struct itimerspec its = {.it_value = {.tv_sec = s->timeout_s}};
	char why[256], pid[32];

	from(si, pid, sizeof(pid));
	if (vm_powerdown(s->vm, why, sizeof(why)) < 0 ||
	    timerfd_settime(s->timer_fd, 0, &its, NULL) < 0) {
		quit(s);
		fprintf(stderr, "minivmm: terminating on signal %u%s (no power button: %s)\n",
			si->ssi_signo, pid, errno ? strerror(errno) : why);
		return;
	}
	s->powering_down = true;
	fprintf(stderr,
		"minivmm: terminating on signal %u%s: pressed the power button, quitting in %u s "
		"unless the guest powers off first\n",
		si->ssi_signo, pid, s->timeout_s);
}

static void signal_ready(void *opaque, uint32_t events)
{
	struct vm_signals *s = opaque;
	struct signalfd_siginfo si;
	char pid[32];

	while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (s->quitting)
			continue;
		if (si.ssi_signo == SIGTERM && !s->powering_down && s->timeout_s &&
		    !vm_ending(s->vm)) {
			errno = 0;
			power_down(s, &si);
			continue;
		}
		from(&si, pid, sizeof(pid));
		quit(s);
		fprintf(stderr, "minivmm: terminating on signal %u%s\n", si.ssi_signo, pid);
	}
}

static void timeout_expired(void *opaque, uint32_t events)
{
	struct vm_signals *s = opaque;
	uint64_t n;

	if (read(s->timer_fd, &n, sizeof(n)) != sizeof(n) || s->quitting)
		return;
	quit(s);
	fprintf(stderr, "minivmm: the guest did not power off within %u s: quitting\n",
		s->timeout_s);
}

struct vm_signals *vm_signals_watch(struct vm *vm, unsigned shutdown_timeout_s, char *err,
				    size_t errlen)
{
	struct vm_signals *s = calloc(1, sizeof(*s));
	sigset_t set;
	int ret;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->vm = vm;
	s->timeout_s = shutdown_timeout_s;
	handled_set(&set);
	s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->sig_fd < 0 || s->timer_fd < 0) {
		snprintf(err, errlen, "%s: %s", s->sig_fd < 0 ? "signalfd" : "timerfd",
			 strerror(errno));
		goto fail;
	}
	ret = event_loop_add_fd(vm->loop, s->sig_fd, EPOLLIN, signal_ready, s);
	if (ret == 0) {
		ret = event_loop_add_fd(vm->loop, s->timer_fd, EPOLLIN, timeout_expired, s);
		if (ret < 0)
			event_loop_del_fd(vm->loop, s->sig_fd);
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s", strerror(-ret));
		goto fail;
	}
	return s;
fail:
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	free(s);
	return NULL;
}

void vm_signals_free(struct vm_signals *s)
{
	if (!s)
		return;
	event_loop_del_fd(s->vm->loop, s->sig_fd);
	event_loop_del_fd(s->vm->loop, s->timer_fd);
	close(s->sig_fd);
	close(s->timer_fd);
	if (s->powering_down && !s->quitting && vm_exit_cause(s->vm) == VM_CAUSE_GUEST_SHUTDOWN)
		fprintf(stderr, "minivmm: the guest powered off\n");
	free(s);
}
