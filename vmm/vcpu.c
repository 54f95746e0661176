// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vCPU set-up (CPUID, MSRs, power-on state) and the run loop: KVM_RUN, one
 * dispatch table for exits, per-exit accounting.
 */
#include "vmm/vcpu.h"
#include "vmm/fastpath.h"
#include "vmm/stats.h"
#include "vmm/timer.h"
#include "vmm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_IA32_CR_PAT       0x277
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102
#define MISC_ENABLE_FAST_STRING 1ULL
#define PAT_POWER_ON          0x0007040600070406ULL

enum vcpu_action { VCPU_CONTINUE, VCPU_STOP };

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

/* Per-vCPU CPUID: the host's supported set with this vCPU's APIC ID and a
 * topology of one package with nr cores, one thread each. */
static struct kvm_cpuid2 *make_cpuid(const struct kvm_cpuid2 *sup, unsigned id, unsigned nr)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	unsigned core_bits = bits_for(nr);

	if (!c)
		return NULL;
	memcpy(c, sup, sz);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) | ((nr > 1 ? nr : 1) << 16);
			if (nr > 1)
				e->edx |= 1U << 28; /* HTT: EBX[23:16] is valid */
			e->ecx |= 1U << 31;	    /* running under a hypervisor */
			break;
		case 4:
			/* Cores per package - 1; caches up to L2 private, L3 shared. */
			e->eax &= 0x3fff;
			e->eax |= (nr - 1) << 26;
			if (((e->eax >> 5) & 7) >= 3)
				e->eax |= (nr - 1) << 14;
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 0 | (1 << 8); /* SMT level */
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = nr;
				e->ecx = 1 | (2 << 8); /* core level */
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			if (nr > 1)
				e->ecx |= 1U << 1; /* CmpLegacy */
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffU) | (core_bits << 12) | (nr - 1);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = (e->ebx & ~0xffffU) | id;
			e->ecx &= ~0x7ffU;
			break;
		}
	}
	return c;
}

static bool msr_supported(const struct kvm_msr_list *list, uint32_t index)
{
	for (unsigned i = 0; i < list->nmsrs; i++)
		if (list->indices[i] == index)
			return true;
	return false;
}

static struct kvm_msrs *make_msrs(const struct kvm_msr_list *list)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING }, { MSR_IA32_CR_PAT, PAT_POWER_ON },
	};
	unsigned n = sizeof(init) / sizeof(init[0]);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

	if (!m)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (msr_supported(list, init[i].index))
			m->entries[m->nmsrs++] = (struct kvm_msr_entry){ .index = init[i].index,
									  .data = init[i].value };
	return m;
}

int vcpu_init(struct vcpu *v, struct vm *vm, unsigned id, char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid;
	int ret;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		snprintf(err, errlen, "cannot create vCPU %u: %s", id, strerror(errno));
		return -1;
	}
	v->run = mmap(NULL, (size_t)vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		snprintf(err, errlen, "cannot map vCPU %u's run area: %s", id, strerror(errno));
		return -1;
	}
	v->coalesced = kvm_coalesced_ring(&vm->kvm, v->run, &v->coalesced_max);
	cpuid = make_cpuid(vm->kvm.supported_cpuid, id, vm->nr_vcpus);
	ret = cpuid ? ioctl(v->fd, KVM_SET_CPUID2, cpuid) : -1;
	free(cpuid);
	if (ret < 0) {
		snprintf(err, errlen, "cannot set vCPU %u's CPUID: %s", id, strerror(errno));
		return -1;
	}
	v->msrs0 = make_msrs(vm->kvm.msr_list);
	if (!v->msrs0 || ioctl(v->fd, KVM_SET_MSRS, v->msrs0) != (int)v->msrs0->nmsrs) {
		snprintf(err, errlen, "cannot initialise vCPU %u's MSRs", id);
		return -1;
	}
	/* KVM creates the vCPU in its power-on state (the BSP at the reset
	 * vector, APs waiting for INIT/SIPI in the in-kernel LAPIC). */
	if (ioctl(v->fd, KVM_GET_REGS, &v->regs0) < 0 || ioctl(v->fd, KVM_GET_SREGS, &v->sregs0) < 0 ||
	    ioctl(v->fd, KVM_GET_FPU, &v->fpu0) < 0 || ioctl(v->fd, KVM_GET_LAPIC, &v->lapic0) < 0 ||
	    ioctl(v->fd, KVM_GET_MP_STATE, &v->mp0) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &v->events0) < 0) {
		snprintf(err, errlen, "cannot read vCPU %u's power-on state: %s", id, strerror(errno));
		return -1;
	}
	v->stats = stats_new();
	if (!v->stats) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm.run_size);
	if (v->fd > 0)
		close(v->fd);
	free(v->msrs0);
	stats_free(v->stats);
	v->run = NULL;
	v->fd = -1;
	v->msrs0 = NULL;
	v->stats = NULL;
}

int vcpu_reset(struct vcpu *v)
{
	struct kvm_vcpu_events ev = v->events0;

	ev.flags = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &v->sregs0) < 0 || ioctl(v->fd, KVM_SET_REGS, &v->regs0) < 0 ||
	    ioctl(v->fd, KVM_SET_FPU, &v->fpu0) < 0 ||
	    ioctl(v->fd, KVM_SET_MSRS, v->msrs0) != (int)v->msrs0->nmsrs ||
	    ioctl(v->fd, KVM_SET_LAPIC, &v->lapic0) < 0 || ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ||
	    ioctl(v->fd, KVM_SET_MP_STATE, &v->mp0) < 0)
		return -errno;
	return 0;
}

/* ---- exit handlers ---- */

static enum vcpu_action handle_io(struct vcpu *v, uint64_t t0)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	int region = BUS_UNCLAIMED;

	/* KVM guarantees data_offset/size/count describe its own page; the
	 * check keeps a confused kernel from making us scribble. */
	if ((size != 1 && size != 2 && size != 4) ||
	    run->io.data_offset + (uint64_t)size * run->io.count > (uint64_t)v->vm->kvm.run_size)
		return VCPU_CONTINUE;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint64_t val = 0;

		if (write) {
			memcpy(&val, data, size);
			region = bus_write(v->vm->pio, run->io.port, val, size);
		} else {
			region = bus_read(v->vm->pio, run->io.port, size, &val);
			memcpy(data, &val, size);
		}
	}
	stats_pio(v->stats, run->io.port, write, region, vm_clock_ns() - t0);
	return VCPU_CONTINUE;
}

static enum vcpu_action handle_mmio(struct vcpu *v, uint64_t t0)
{
	struct kvm_run *run = v->run;
	unsigned len = run->mmio.len;
	int region = BUS_UNCLAIMED;
	uint64_t val = 0;

	if (len != 1 && len != 2 && len != 4 && len != 8) {
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		return VCPU_CONTINUE;
	}
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		region = bus_write(v->vm->mmio, run->mmio.phys_addr, val, len);
	} else {
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		region = bus_read(v->vm->mmio, run->mmio.phys_addr, len, &val);
		memcpy(run->mmio.data, &val, len);
	}
	stats_mmio(v->stats, region, run->mmio.is_write, vm_clock_ns() - t0);
	return VCPU_CONTINUE;
}

static enum vcpu_action handle_continue(struct vcpu *v, uint64_t t0)
{
	return VCPU_CONTINUE;
}

static enum vcpu_action handle_shutdown(struct vcpu *v, uint64_t t0)
{
	/* Triple fault: a PC resets. */
	vm_request_reset(v->vm);
	return VCPU_CONTINUE;
}

static enum vcpu_action handle_system_event(struct vcpu *v, uint64_t t0)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_reset(v->vm);
		break;
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_exit(v->vm, 0);
		break;
	default:
		fprintf(stderr, "minivmm: vCPU %u: system event %u, stopping\n", v->id,
			v->run->system_event.type);
		vm_request_exit(v->vm, 1);
	}
	return VCPU_CONTINUE;
}

static void report_registers(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	fprintf(stderr,
		"minivmm: vCPU %u: rip %016llx rsp %016llx rflags %08llx cs %04x(base %llx) "
		"cr0 %llx cr3 %llx cr4 %llx efer %llx\n",
		v->id, r.rip, r.rsp, r.rflags, s.cs.selector, s.cs.base, s.cr0, s.cr3, s.cr4, s.efer);
}

static enum vcpu_action handle_fail_entry(struct vcpu *v, uint64_t t0)
{
	fprintf(stderr, "minivmm: vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)\n",
		v->id, (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
	report_registers(v);
	vm_request_exit(v->vm, 1);
	return VCPU_STOP;
}

static enum vcpu_action handle_internal_error(struct vcpu *v, uint64_t t0)
{
	struct kvm_run *run = v->run;

	fprintf(stderr, "minivmm: vCPU %u: KVM internal error, suberror %u%s\n", v->id,
		run->internal.suberror,
		run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)" : "");
	for (unsigned i = 0; i < run->internal.ndata && i < 16; i++)
		fprintf(stderr, "minivmm:   data[%u] = 0x%llx\n", i,
			(unsigned long long)run->internal.data[i]);
	report_registers(v);
	vm_request_exit(v->vm, 1);
	return VCPU_STOP;
}

typedef enum vcpu_action (*exit_handler)(struct vcpu *v, uint64_t t0);

static const exit_handler exit_handlers[] = {
	[KVM_EXIT_IO] = handle_io,
	[KVM_EXIT_MMIO] = handle_mmio,
	[KVM_EXIT_HLT] = handle_continue, /* only without an in-kernel LAPIC */
	[KVM_EXIT_INTR] = handle_continue,
	[KVM_EXIT_IRQ_WINDOW_OPEN] = handle_continue,
	[KVM_EXIT_SHUTDOWN] = handle_shutdown,
	[KVM_EXIT_FAIL_ENTRY] = handle_fail_entry,
	[KVM_EXIT_INTERNAL_ERROR] = handle_internal_error,
	[KVM_EXIT_SYSTEM_EVENT] = handle_system_event,
};

static void *vcpu_thread(void *opaque)
{
	struct vcpu *v = opaque;
	struct vm *vm = v->vm;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	atomic_store(&v->tid, (int)gettid());
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		unsigned reason;
		uint64_t t0;
		enum vcpu_action act;

		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (atomic_load(&vm->stop_req))
			break;
		if (atomic_load(&vm->pause_req)) {
			/* Posted writes reach their device before the machine stops. */
			fastpath_coalesced_drain(vm->fastpath, v->coalesced, v->coalesced_max);
			vm_vcpu_park(vm, v);
			continue;
		}
		if (atomic_exchange(&v->reset_pending, false) && vcpu_reset(v) < 0) {
			fprintf(stderr, "minivmm: vCPU %u: reset failed: %s\n", v->id, strerror(errno));
			vm_request_exit(vm, 1);
			break;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				stats_interrupted(v->stats);
				continue;
			}
			fprintf(stderr, "minivmm: vCPU %u: KVM_RUN failed: %s\n", v->id, strerror(errno));
			report_registers(v);
			vm_request_exit(vm, 1);
			break;
		}
		t0 = vm_clock_ns();
		reason = v->run->exit_reason;
		/* Writes the guest posted to coalesced zones happened before this
		 * exit's access: dispatch them first, in order. */
		if (reason == KVM_EXIT_IO || reason == KVM_EXIT_MMIO)
			fastpath_coalesced_drain(vm->fastpath, v->coalesced, v->coalesced_max);
		if (reason < sizeof(exit_handlers) / sizeof(exit_handlers[0]) && exit_handlers[reason]) {
			act = exit_handlers[reason](v, t0);
		} else {
			fprintf(stderr, "minivmm: vCPU %u: unexpected exit reason %u (%s), stopping\n",
				v->id, reason, stats_reason_name(reason));
			report_registers(v);
			vm_request_exit(vm, 1);
			act = VCPU_STOP;
		}
		stats_exit(v->stats, reason, vm_clock_ns() - t0);
		if (act == VCPU_STOP)
			break;
	}
	return NULL;
}

static void kick_signal(int sig)
{
}

static void install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = kick_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

int vcpu_start(struct vcpu *v)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int ret;

	pthread_once(&once, install_kick_handler);
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret)
		return -ret;
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, SIGUSR1);
}
