// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One VM: KVM, guest memory, the buses and the board's devices
 * (vmm/board.c), the vCPUs, and run control (reset, pause, exit).
 */
#include "vmm/vm.h"
#include "devices/piix_ide.h"
#include "devices/uart16550.h"
#include "devices/virtio/virtio_balloon.h"
#include "devices/virtio/virtio_net.h"
#include "vmm/board.h"
#include "vmm/disk_stats.h"
#include "vmm/display.h"
#include "vmm/fastpath.h"
#include "vmm/input.h"
#include "vmm/vnc.h"
#include "vmm/balloon_control.h"
#include "vmm/input_control.h"
#include "vmm/net_control.h"
#include "vmm/drive_control.h"
#include "vmm/linux_boot.h"
#include "vmm/loop.h"
#include "vmm/net_backend.h"
#include "vmm/net_slirp.h"
#include "vmm/net_tap.h"
#include "vmm/qmp.h"
#include "vmm/serial_backend.h"
#include "vmm/timer.h"
#include "vmm/vcpu.h"
#include "vmm/vm_control.h"
#include "vmm/vm_signals.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void wake_main(struct vm *vm)
{
	uint64_t one = 1;

	if (write(vm->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("minivmm: eventfd");
}

static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

/* ---- run state and causes ---- */

static const char *const cause_names[] = {
    [VM_CAUSE_NONE] = "none",
    [VM_CAUSE_HOST_ERROR] = "host-error",
    [VM_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [VM_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
    [VM_CAUSE_HOST_SIGNAL] = "host-signal",
    [VM_CAUSE_HOST_UI] = "host-ui",
    [VM_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [VM_CAUSE_GUEST_RESET] = "guest-reset",
    [VM_CAUSE_GUEST_PANIC] = "guest-panic",
};

const char *vm_cause_name(enum vm_shutdown_cause cause)
{
	if ((unsigned)cause < sizeof(cause_names) / sizeof(cause_names[0]) && cause_names[cause])
		return cause_names[cause];
	return "none";
}

bool vm_cause_is_guest(enum vm_shutdown_cause cause)
{
	return cause == VM_CAUSE_GUEST_SHUTDOWN || cause == VM_CAUSE_GUEST_RESET ||
	       cause == VM_CAUSE_GUEST_PANIC;
}

const char *vm_state_name(enum vm_run_state state)
{
	switch (state) {
	case VM_STATE_PRELAUNCH:
		return "prelaunch";
	case VM_STATE_RUNNING:
		return "running";
	case VM_STATE_PAUSED:
		return "paused";
	case VM_STATE_SHUTDOWN:
		return "shutdown";
	}
	return "running";
}

enum vm_run_state vm_state(struct vm *vm)
{
	enum vm_run_state st;

	pthread_mutex_lock(&vm->lock);
	st = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

bool vm_ending(struct vm *vm)
{
	bool ending;

	pthread_mutex_lock(&vm->lock);
	ending = vm->exit_pending;
	pthread_mutex_unlock(&vm->lock);
	return ending;
}

enum vm_shutdown_cause vm_exit_cause(struct vm *vm)
{
	enum vm_shutdown_cause cause;

	pthread_mutex_lock(&vm->lock);
	cause = vm->exit_pending ? vm->exit_cause : VM_CAUSE_NONE;
	pthread_mutex_unlock(&vm->lock);
	return cause;
}

/* {"guest": bool, "reason": "..."}, the data of SHUTDOWN and RESET. */
static json_t *cause_json(enum vm_shutdown_cause cause)
{
	return json_pack("{s:b, s:s}", "guest", vm_cause_is_guest(cause), "reason",
			 vm_cause_name(cause));
}

/* ---- requests from any thread ---- */

void vm_request_reset_cause(struct vm *vm, enum vm_shutdown_cause cause)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->reset_pending)
		vm->reset_cause = cause;
	vm->reset_pending = true;
	pthread_mutex_unlock(&vm->lock);
	atomic_store(&vm->pause_req, true);
	kick_all(vm);
	wake_main(vm);
}

void vm_request_reset(struct vm *vm)
{
	vm_request_reset_cause(vm, VM_CAUSE_GUEST_RESET);
}

void vm_request_shutdown(struct vm *vm, int status, enum vm_shutdown_cause cause)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->exit_pending) {
		vm->exit_pending = true;
		vm->exit_status = status;
		vm->exit_cause = cause;
	}
	pthread_mutex_unlock(&vm->lock);
	atomic_store(&vm->pause_req, true);
	kick_all(vm);
	wake_main(vm);
}

void vm_request_exit(struct vm *vm, int status)
{
	vm_request_shutdown(vm, status, status ? VM_CAUSE_HOST_ERROR : VM_CAUSE_GUEST_SHUTDOWN);
}

void vm_vcpu_park(struct vm *vm, struct vcpu *vcpu)
{
	pthread_mutex_lock(&vm->lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->cond);
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stop_req))
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->lock);
}

/* Called with vm->lock held: waits until every vCPU is parked or gone.
 * vCPUs not started yet (a stop before vm_run) park as they start. */
static void wait_all_parked(struct vm *vm)
{
	unsigned started = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		started += vm->vcpus[i].started;
	while (vm->parked < started && !vm->exit_pending)
		pthread_cond_wait(&vm->cond, &vm->lock);
}

/* ---- what devices are handed to ask for a reset or an exit ---- */

static void ev_reset(void *opaque)
{
	vm_request_reset(opaque);
}

/* S5 and the debug-exit port: the guest ends the VM. */
static void ev_exit(void *opaque, int status)
{
	vm_request_shutdown(opaque, status, VM_CAUSE_GUEST_SHUTDOWN);
}

/* Ctrl-A x: QEMU's mux calls qmp_quit() for it. */
static void quit_from_console(void *opaque)
{
	vm_request_shutdown(opaque, 0, VM_CAUSE_HOST_QMP_QUIT);
}

/* ---- direct Linux boot ---- */

static int load_file(const char *what, const char *path, uint8_t **data, size_t *size, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "rb");
	long len;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", what, path, strerror(errno));
		fclose(f);
		return -1;
	}
	*data = malloc(len ? (size_t)len : 1);
	if (!*data || fread(*data, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, errlen, "%s: cannot read '%s'", what, path);
		free(*data);
		*data = NULL;
		fclose(f);
		return -1;
	}
	fclose(f);
	*size = (size_t)len;
	return 0;
}

static void to_kvm_segment(struct kvm_segment *k, const struct linux_boot_segment *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector, .type = s->type,
		.present = s->present, .dpl = s->dpl, .db = s->db, .s = s->s, .l = s->l, .g = s->g,
		.avl = s->avl,
	};
}

/* Puts the BSP into the state linux_boot_load() describes. */
static int set_linux_entry(struct vcpu *v, const struct linux_boot_entry *e)
{
	struct kvm_sregs s;
	struct kvm_regs r = { .rip = e->rip, .rsi = e->rsi, .rsp = e->rsp, .rflags = e->rflags };

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	to_kvm_segment(&s.cs, &e->cs);
	to_kvm_segment(&s.ds, &e->ds);
	s.es = s.fs = s.gs = s.ss = s.ds;
	to_kvm_segment(&s.tr, &e->tr);
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	s.gdt.base = e->gdt_base;
	s.gdt.limit = e->gdt_limit;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = e->cr0;
	s.cr3 = e->cr3;
	s.cr4 = e->cr4;
	s.efer = e->efer;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0 || ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

static int boot_linux(struct vm *vm, char *err, size_t errlen)
{
	struct e820_entry e820[E820_MAX_ENTRIES];
	struct linux_boot_config lc = { 0 };
	struct linux_boot_entry entry;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_size = 0, initrd_size = 0;
	int ret = -1;

	if (load_file("--kernel", vm->cfg->kernel, &kernel, &kernel_size, err, errlen) < 0)
		return -1;
	if (vm->cfg->initrd &&
	    load_file("--initrd", vm->cfg->initrd, &initrd, &initrd_size, err, errlen) < 0)
		goto out;
	lc.kernel = kernel;
	lc.kernel_size = kernel_size;
	lc.initrd = initrd;
	lc.initrd_size = initrd_size;
	lc.cmdline = vm->cfg->append;
	lc.e820 = e820;
	lc.nr_e820 = memmap_e820(&vm->ram.map, e820, E820_MAX_ENTRIES);
	if (linux_boot_load(&vm->mem, &lc, &entry, err, errlen) < 0)
		goto out;
	/* The BSP is still in its power-on state: capture the boot state as
	 * the state to return to on reset, so a reboot starts Linux again. */
	if (set_linux_entry(&vm->vcpus[0], &entry) < 0 ||
	    ioctl(vm->vcpus[0].fd, KVM_GET_REGS, &vm->vcpus[0].regs0) < 0 ||
	    ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &vm->vcpus[0].sregs0) < 0) {
		snprintf(err, errlen, "cannot set the boot CPU state: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(kernel);
	free(initrd);
	return ret;
}

/* ---- creation ---- */

/* Every NIC's tap, before anything runs: a name that cannot be opened, a
 * tap in use, a handed-over fd that is not a tap is a start-up error. */
static int open_nics(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->cfg->nr_nics; i++) {
		const struct cli_nic *n = &vm->cfg->nics[i];
		char why[256];

		if (n->user) {
			char text[CLI_USER_OPTS];
			struct net_slirp_opts o;

			strcpy(text, n->user_opts);
			if (cli_net_user_opts(text, &o, err, errlen) < 0)
				return -1;
			vm->nics[i] = net_slirp_open(vm->loop, &o, err, errlen);
			if (!vm->nics[i])
				return -1;
			continue;
		}
		vm->nics[i] = n->fd >= 0 ? net_tap_from_fd(n->fd, why, sizeof(why))
					 : net_tap_open(n->ifname, why, sizeof(why));
		if (!vm->nics[i]) {
			snprintf(err, errlen, "--net: %s", why);
			return -1;
		}
	}
	return 0;
}

static int read_bios(const struct vm_config *cfg, uint8_t **data, size_t *size, char *err,
		     size_t errlen)
{
	const char *path = cfg->bios;

	if (cfg->bios_default && access(path, R_OK) < 0) {
		snprintf(err, errlen,
			 "no firmware: %s: %s (install Debian's 'seabios' package, or give --bios "
			 "FILE or --kernel FILE)",
			 path, strerror(errno));
		return -1;
	}
	if (load_file("--bios", path, data, size, err, errlen) < 0)
		return -1;
	if (*size < MEMMAP_BIOS_MIN || *size > MEMMAP_BIOS_MAX || *size % MEMMAP_BIOS_MIN) {
		snprintf(err, errlen,
			 "--bios: '%s' is %zu bytes; a firmware image must be 64 KiB to 16 MiB, "
			 "a multiple of 64 KiB",
			 path, *size);
		free(*data);
		*data = NULL;
		return -1;
	}
	return 0;
}

/* Things the user got wrong: checked before anything is started. */
int vm_prepare(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct memmap map;
	uint8_t *bios = NULL;
	size_t bios_size = 0;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->event_fd = -1;
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	if (cfg->bios && read_bios(cfg, &bios, &bios_size, err, errlen) < 0)
		return -1;
	if (memmap_plan(&map, cfg->memory, bios_size, err, errlen) < 0 ||
	    guest_ram_alloc(&vm->ram, &map, err, errlen) < 0) {
		free(bios);
		return -1;
	}
	if (bios) {
		memcpy(vm->ram.bios, bios, bios_size);
		free(bios);
	}
	guest_ram_describe(&vm->ram, &vm->mem);
	vm->loop = event_loop_new();
	if (!vm->loop) {
		snprintf(err, errlen, "cannot create the event loop: %s", strerror(errno));
		return -1;
	}
	vm->qmp = qmp_new(vm->loop);
	if (!vm->qmp) {
		snprintf(err, errlen, "cannot create the control interface: %s", strerror(errno));
		return -1;
	}
	vm->serial = serial_backend_open(cfg->serial, cfg->serial_path, vm->loop, err, errlen);
	if (!vm->serial)
		return -1;
	if (drives_open(&vm->drives, cfg, err, errlen) < 0)
		return -1;
	return open_nics(vm, err, errlen);
}

static int map_guest_memory(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->mem.nr; i++) {
		const struct guest_mem_region *r = &vm->mem.region[i];

		if (kvm_map_memory(&vm->kvm, r->gpa, r->size, r->hva, r->readonly, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Keys the keyboard had no room for go in on this timer (vmm/input.h). */
static void input_retry_fired(void *opaque)
{
	input_retry_keys(opaque);
}

static void input_retry_arm(void *opaque, unsigned ms)
{
	vm_timer_mod(opaque, vm_clock_ns() + ms * 1000000ull);
}

static int create_devices(struct vm *vm, char *err, size_t errlen)
{
	struct board_backends be = {
		.drives = &vm->drives,
		.nics = vm->nics,
		.debugcon = vm->cfg->debugcon_path ? &vm->debugcon : NULL,
	};
	struct uart16550 *com1;
	struct dev_ctx ctx;

	vm->events = (struct machine_events){ .reset = ev_reset, .exit = ev_exit, .opaque = vm };
	irq_mux_init(&vm->isa_irqs, kvm_set_irq, &vm->kvm);
	vm->pio = bus_create("pio", 0x10000);
	vm->mmio = bus_create("mmio", 0);
	if (!vm->pio || !vm->mmio) {
		snprintf(err, errlen, "out of memory creating the buses");
		return -1;
	}
	vm->fastpath = fastpath_new(&kvm_fastpath_host, &vm->kvm, &vm->cfg->accel, vm->loop,
				    vm->pio, vm->mmio);
	if (!vm->fastpath) {
		snprintf(err, errlen, "out of memory creating the fast paths");
		return -1;
	}
	vm->display = display_new();
	vm->input = input_new();
	vm->input_retry = vm_timer_new(vm->loop, input_retry_fired, vm->input);
	if (!vm->display || !vm->input || !vm->input_retry) {
		snprintf(err, errlen, "out of memory creating the display and input");
		return -1;
	}
	input_set_retry(vm->input, input_retry_arm, vm->input_retry);
	ctx = (struct dev_ctx){
		.pio = vm->pio,
		.mmio = vm->mmio,
		.mem = &vm->mem,
		.loop = vm->loop,
		.isa_irqs = &vm->isa_irqs,
		.events = &vm->events,
		.cfg = vm->cfg,
		.map = &vm->ram.map,
		.fastpath = vm->fastpath,
		.display = vm->display,
		.input = vm->input,
	};
	serial_backend_callbacks(vm->serial, &be.com1);
	vm->board = board_create(&ctx, &be, err, errlen);
	if (!vm->board)
		return -1;
	/* The host's console answers COM1 (and its quit key ends the VM). */
	com1 = board_find(vm->board, "com1", &uart16550_type);
	if (com1)
		serial_backend_attach(vm->serial, com1, quit_from_console, vm);
	return 0;
}

/* The drives' commands (query-block, eject, ...), on the board's IDE. */
static int register_drive_control(struct vm *vm, char *err, size_t errlen)
{
	struct piix_ide *ide = board_find(vm->board, "ide", &piix_ide_type);
	struct ide_channel *ch[2] = { ide ? piix_ide_channel(ide, 0) : NULL,
				      ide ? piix_ide_channel(ide, 1) : NULL };

	vm->drive_control = drive_control_new(&vm->drives, vm->cfg, ch, vm->qmp);
	if (!vm->drive_control || drive_control_register(vm->qmp, vm->drive_control) < 0) {
		snprintf(err, errlen, "cannot register the drives' control commands");
		return -1;
	}
	return 0;
}

/* The balloon's commands (balloon, query-balloon, qom-get/qom-set), answered
 * as QEMU does also when there is no balloon. */
static int register_balloon_control(struct vm *vm, char *err, size_t errlen)
{
	const char *id = vm->cfg->balloon.on ? vm->cfg->balloon.id : NULL;
	struct virtio_balloon *vb = id ? board_find(vm->board, id, &virtio_balloon_type) : NULL;

	vm->balloon_control = balloon_control_new(vb, id, vm->qmp);
	if (!vm->balloon_control || balloon_control_register(vm->qmp, vm->balloon_control) < 0) {
		snprintf(err, errlen, "cannot register the balloon's control commands");
		return -1;
	}
	return 0;
}

/* Before the display converts the guest's memory: writes still posted in
 * the coalesced ring (one ring for the VM, seen through vCPU 0) reach the
 * VGA first. */
static void display_sync(void *opaque)
{
	struct vm *vm = opaque;

	if (vm->vcpus && vm->nr_vcpus)
		fastpath_coalesced_drain(vm->fastpath, vm->vcpus[0].coalesced,
					 vm->vcpus[0].coalesced_max);
}

/* Keys and pointer events from the control socket (send-key,
 * input-send-event) into the same router as the VNC server's. */
static int register_input_control(struct vm *vm, char *err, size_t errlen)
{
	vm->input_control = input_control_new(vm->input, vm->loop);
	if (!vm->input_control || input_control_register(vm->qmp, vm->input_control) < 0) {
		snprintf(err, errlen, "cannot register the input commands");
		return -1;
	}
	return 0;
}

/* set_link and query-rx-filter on the NICs, by row id (net0, ...) or by
 * the id= of their --net tap. */
static int register_net_control(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	vm->net_control = net_control_new();
	for (unsigned i = 0; vm->net_control && i < cfg->nr_nics; i++) {
		char id[16];
		struct virtio_net *vn;

		snprintf(id, sizeof(id), "net%u", i);
		vn = board_find(vm->board, id, &virtio_net_type);
		if (vn &&
		    net_control_add(vm->net_control, vn, id, cfg->nics[i].netdev, vm->nics[i]) < 0)
			break;
	}
	if (!vm->net_control || net_control_register(vm->qmp, vm->net_control) < 0) {
		snprintf(err, errlen, "cannot register the network commands");
		return -1;
	}
	return 0;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	if (kvm_init(&vm->kvm, cfg->cpus, err, errlen) < 0)
		return -1;
	if (map_guest_memory(vm, err, errlen) < 0)
		return -1;
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->event_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	if (create_devices(vm, err, errlen) < 0)
		return -1;
	if (register_drive_control(vm, err, errlen) < 0)
		return -1;
	if (register_balloon_control(vm, err, errlen) < 0)
		return -1;
	if (register_input_control(vm, err, errlen) < 0)
		return -1;
	if (register_net_control(vm, err, errlen) < 0)
		return -1;
	vm->nr_vcpus = cfg->cpus;
	vm->vcpus = calloc(cfg->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->cpus; i++)
		if (vcpu_init(&vm->vcpus[i], vm, i, err, errlen) < 0)
			return -1;
	display_set_sync(vm->display, display_sync, vm);
	guest_ram_load_bios_low(&vm->ram);
	if (cfg->kernel && boot_linux(vm, err, errlen) < 0)
		return VM_ERR_USER;
	if (vm_control_register(vm, vm->qmp) < 0) {
		snprintf(err, errlen, "cannot register the run control commands");
		return -1;
	}
	return 0;
}

/* ---- the main thread ---- */

/* With every vCPU parked: no device touches guest RAM from the quiesce on,
 * so the BIOS copy and a reloaded kernel cannot be overwritten by a request
 * the old guest started. */
static void do_reset(struct vm *vm)
{
	/* Keys a viewer holds go up in the old machine, so that the new one
	 * starts with none held (and no Ctrl stays stuck). */
	input_release_all(vm->input);
	board_quiesce(vm->board);
	if (kvm_reset_irqchip(&vm->kvm) < 0)
		fprintf(stderr, "minivmm: cannot reset the interrupt controllers: %s\n",
			strerror(errno));
	/* Paused: the PIT state vm_resume() puts back is the reset one. */
	if (vm->paused && kvm_pit_freeze(&vm->kvm) < 0)
		fprintf(stderr, "minivmm: cannot save the PIT: %s\n", strerror(errno));
	guest_ram_load_bios_low(&vm->ram);
	board_reset(vm->board);
	if (vm->cfg->kernel) {
		char err[256];

		if (boot_linux(vm, err, sizeof(err)) < 0) {
			fprintf(stderr, "minivmm: reboot: %s\n", err);
			vm->exit_pending = true;
			vm->exit_status = 1;
			vm->exit_cause = VM_CAUSE_HOST_ERROR;
			return;
		}
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		atomic_store(&vm->vcpus[i].reset_pending, true);
	/* Undoes the quiesce; a VM paused before the reset stays paused (its
	 * own pause is undone by vm_resume()), as in QEMU. */
	board_resume(vm->board);
}

static void stop_vcpus(struct vm *vm)
{
	atomic_store(&vm->stop_req, true);
	pthread_mutex_lock(&vm->lock);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
}

/* The VM ends: the SHUTDOWN event reaches the listeners (the control
 * socket's clients) before the loop stops. */
static void end_vm(struct vm *vm)
{
	enum vm_shutdown_cause cause;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STATE_SHUTDOWN) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vm->state = VM_STATE_SHUTDOWN;
	cause = vm->exit_cause;
	pthread_mutex_unlock(&vm->lock);
	qmp_event(vm->qmp, "SHUTDOWN", cause_json(cause));
	qmp_flush_events(vm->qmp);
	event_loop_stop(vm->loop);
}

static void on_request(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	enum vm_shutdown_cause cause;
	uint64_t v;
	bool reset, ending;

	if (read(vm->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&vm->lock);
	if (vm->reset_pending && !vm->exit_pending) {
		if (vm->cfg->no_reboot) {
			/* As QEMU's -no-reboot: the reset's cause ends the VM. */
			vm->exit_pending = true;
			vm->exit_status = 0;
			vm->exit_cause = vm->reset_cause;
		} else {
			wait_all_parked(vm);
		}
	}
	reset = vm->reset_pending && !vm->exit_pending;
	cause = vm->reset_cause;
	vm->reset_pending = false;
	if (reset) {
		do_reset(vm);
		if (!vm->exit_pending && !vm->paused) {
			atomic_store(&vm->pause_req, false);
			pthread_cond_broadcast(&vm->cond);
		}
	}
	ending = vm->exit_pending;
	pthread_mutex_unlock(&vm->lock);
	if (reset && !ending)
		qmp_event(vm->qmp, "RESET", cause_json(cause));
	if (ending)
		end_vm(vm);
}

int vm_start_outputs(struct vm *vm, char *err, size_t errlen)
{
	const char *path = vm->cfg->debugcon_path;
	int fd;

	if (!path || vm->debugcon)
		return 0;
	fd = cli_open_output("--debugcon", path, err, errlen);
	if (fd < 0)
		return -1;
	vm->debugcon = fdopen(fd, "w");
	if (!vm->debugcon) {
		snprintf(err, errlen, "--debugcon: '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->paused || vm->exit_pending) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vm->paused = true;
	atomic_store(&vm->pause_req, true);
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	pthread_mutex_lock(&vm->lock);
	wait_all_parked(vm);
	pthread_mutex_unlock(&vm->lock);
	board_pause(vm->board);
	/* Device timers stop too: an RTC tick or a PM timer overflow would
	 * raise an interrupt in a stopped machine. */
	event_loop_hold_timers(vm->loop, true);
	input_set_running(vm->input, false);
	/* So do the kernel's: the PIT would otherwise owe the guest every tick
	 * of the pause and deliver them in a burst on resume, and a guest's
	 * kvmclock would jump by the pause (QEMU stops both). */
	if (kvm_pit_freeze(&vm->kvm) < 0 || kvm_clock_freeze(&vm->kvm) < 0)
		fprintf(stderr, "minivmm: stop: cannot save the PIT or the KVM clock: %s\n",
			strerror(errno));
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_STATE_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	qmp_event(vm->qmp, "STOP", NULL);
}

void vm_resume(struct vm *vm)
{
	bool started = false;

	pthread_mutex_lock(&vm->lock);
	if (!vm->paused || vm->exit_pending) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	pthread_mutex_unlock(&vm->lock);
	if (kvm_pit_thaw(&vm->kvm) < 0 || kvm_clock_thaw(&vm->kvm) < 0)
		fprintf(stderr, "minivmm: cont: cannot restore the PIT or the KVM clock: %s\n",
			strerror(errno));
	event_loop_hold_timers(vm->loop, false);
	board_resume(vm->board);
	input_set_running(vm->input, true);
	pthread_mutex_lock(&vm->lock);
	vm->paused = false;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		started |= vm->vcpus[i].started;
	vm->state = started ? VM_STATE_RUNNING : VM_STATE_PRELAUNCH;
	if (!vm->reset_pending && !vm->exit_pending) {
		atomic_store(&vm->pause_req, false);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	qmp_event(vm->qmp, "RESUME", NULL);
}

bool vm_paused(struct vm *vm)
{
	bool p;

	pthread_mutex_lock(&vm->lock);
	p = vm->paused;
	pthread_mutex_unlock(&vm->lock);
	return p;
}

/* ---- the power button, statistics ---- */

int vm_powerdown(struct vm *vm, char *err, size_t errlen)
{
	json_t *reply = NULL;

	if (board_control(vm->board, "pm", "powerdown", NULL, &reply, err, errlen) < 0)
		return -1;
	json_decref(reply);
	qmp_event(vm->qmp, "POWERDOWN", NULL);
	return 0;
}

json_t *vm_exit_stats_json(struct vm *vm, bool reset)
{
	struct exit_stats *all = stats_new();
	json_t *j;

	if (!all)
		return NULL;
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].stats)
			stats_take(all, vm->vcpus[i].stats, reset);
	j = stats_json(all, vm->pio, vm->mmio, vm->fastpath);
	/* The disks' counters since start (reset leaves them). */
	if (j && vm->board)
		json_object_set_new(j, "virtio-blk", disk_stats_json(vm->board));
	stats_free(all);
	if (j && vm->board)
		json_object_set_new(j, "devices", board_stats_json(vm->board, reset));
	if (j && vm->vnc)
		json_object_set_new(j, "vnc", vnc_stats_json(vm->vnc, reset));
	return j;
}

/* ---- the main loop ---- */

/* Once no vCPU runs: every request in flight finishes (IDE waits for its
 * block requests), then every writable image is flushed, so that what the
 * guest wrote is on the disk whichever way minivmm ends. */
static void flush_drives(struct vm *vm)
{
	if (vm->board)
		board_quiesce(vm->board);
	drives_flush(&vm->drives);
}

int vm_run(struct vm *vm)
{
	int status, ret;
	char err[256];

	/* main() blocked the signals before any thread existed (the block
	 * layer's workers start in vm_prepare); again here for other callers:
	 * vCPU threads inherit the mask and unblock only their kick signal. */
	vm_signals_block();
	vm->signals = vm_signals_watch(vm, vm->cfg->shutdown_timeout_s, err, sizeof(err));
	ret = vm->signals ? event_loop_add_fd(vm->loop, vm->event_fd, EPOLLIN, on_request, vm) : -1;
	if (ret < 0) {
		fprintf(stderr, "minivmm: cannot watch signals and requests: %s\n",
			vm->signals ? strerror(-ret) : err);
		vm_signals_free(vm->signals);
		vm->signals = NULL;
		return 1;
	}

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			fprintf(stderr, "minivmm: cannot start vCPU %u\n", i);
			vm_request_exit(vm, 1);
			break;
		}
	}
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STATE_PRELAUNCH && !vm->paused)
		vm->state = VM_STATE_RUNNING;
	input_set_running(vm->input, !vm->paused);
	pthread_mutex_unlock(&vm->lock);
	event_loop_run(vm->loop);
	input_set_running(vm->input, false);
	stop_vcpus(vm);
	event_loop_del_fd(vm->loop, vm->event_fd);
	vm_signals_free(vm->signals);
	vm->signals = NULL;
	flush_drives(vm);
	qmp_flush_events(vm->qmp);
	pthread_mutex_lock(&vm->lock);
	status = vm->exit_status;
	pthread_mutex_unlock(&vm->lock);
	return status;
}

void vm_report_stats(struct vm *vm)
{
	json_t *devices;

	if (vm->cfg->stats == STATS_OFF || !vm->vcpus)
		return;
	if (vm->cfg->stats == STATS_TABLE) {
		struct exit_stats *all = stats_new();

		if (!all)
			return;
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].stats)
				stats_take(all, vm->vcpus[i].stats, false);
		stats_print_table(all, vm->pio, vm->mmio, vm->fastpath, stderr);
		stats_free(all);
		if (vm->board)
			disk_stats_print(vm->board, stderr);
		devices = vm->board ? board_stats_json(vm->board, false) : NULL;
		if (devices)
			stats_print_devices(devices, stderr);
		json_decref(devices);
		if (vm->vnc) {
			json_t *v = vnc_stats_json(vm->vnc, false);
			char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

			if (text)
				fprintf(stderr, "vnc: %s\n", text);
			free(text);
			json_decref(v);
		}
		return;
	}
	/* --stats=json:FILE: what query-exit-stats answers. */
	devices = vm_exit_stats_json(vm, false);
	if (!devices || json_dump_file(devices, vm->cfg->stats_path, JSON_INDENT(2) | JSON_SORT_KEYS))
		fprintf(stderr, "minivmm: cannot write statistics to '%s'\n", vm->cfg->stats_path);
	json_decref(devices);
}

void vm_destroy(struct vm *vm)
{
	/* The viewer first: it uses the display and the input router. */
	vnc_free(vm->vnc);
	vm->vnc = NULL;
	serial_backend_close(vm->serial);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	board_destroy(vm->board);
	fastpath_free(vm->fastpath);
	display_free(vm->display);
	vm_timer_free(vm->input_retry);
	input_free(vm->input);
	drive_control_free(vm->drive_control);
	balloon_control_free(vm->balloon_control);
	input_control_free(vm->input_control);
	net_control_free(vm->net_control);
	drives_close(&vm->drives);
	for (unsigned i = 0; i < CLI_MAX_NICS; i++)
		net_backend_close(vm->nics[i]); /* after the board: the NICs use them */
	if (vm->debugcon)
		fclose(vm->debugcon);
	bus_destroy(vm->pio);
	bus_destroy(vm->mmio);
	if (vm->isa_irqs.sink)
		irq_mux_destroy(&vm->isa_irqs);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	kvm_close(&vm->kvm);
	guest_ram_free(&vm->ram);
	serial_backend_free(vm->serial);
	qmp_free(vm->qmp);
	event_loop_free(vm->loop);
}
