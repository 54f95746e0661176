// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Machine assembly and run control.  Everything a VM consists of is created
 * here, in one visible place, from the configuration.
 */
#include "vmm/vm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/port92.h"
#include "devices/reset_control.h"
#include "devices/rtc_cmos.h"
#include "devices/uart16550.h"
#include "vmm/linux_boot.h"
#include "vmm/loop.h"
#include "vmm/pc.h"
#include "vmm/serial_backend.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define RTC_BASE 0x70
#define RTC_IRQ 8
#define DEBUG_EXIT_PORT 0xf4
#define PORT92 0x92

int vm_add_reset_hook(struct vm *vm, void (*fn)(void *), void *opaque)
{
	if (vm->nr_reset_hooks == VM_MAX_RESET_HOOKS)
		return -ENOSPC;
	vm->reset_hooks[vm->nr_reset_hooks++] = (struct vm_reset_hook){ fn, opaque };
	return 0;
}

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

void vm_request_reset(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->reset_pending = true;
	pthread_mutex_unlock(&vm->lock);
	atomic_store(&vm->pause_req, true);
	kick_all(vm);
	wake_main(vm);
}

void vm_request_exit(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->exit_pending) {
		vm->exit_pending = true;
		vm->exit_status = status;
	}
	pthread_mutex_unlock(&vm->lock);
	atomic_store(&vm->pause_req, true);
	kick_all(vm);
	wake_main(vm);
}

void vm_vcpu_park(struct vm *vm, struct vcpu *vcpu)
{
	(void)vcpu;
	pthread_mutex_lock(&vm->lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->cond);
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stop_req))
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->lock);
}

/* Called with vm->lock held: waits until every vCPU is parked or gone. */
static void wait_all_parked(struct vm *vm)
{
	while (vm->parked < vm->nr_vcpus && !vm->exit_pending)
		pthread_cond_wait(&vm->cond, &vm->lock);
}

/* ---- what devices are handed to ask for a reset or an exit ---- */

static void ev_reset(void *opaque)
{
	vm_request_reset(opaque);
}

static void ev_exit(void *opaque, int status)
{
	vm_request_exit(opaque, status);
}

static void quit_from_console(void *opaque)
{
	vm_request_exit(opaque, 0);
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
	vm->serial = serial_backend_open(cfg->serial, cfg->serial_path, vm->loop, err, errlen);
	if (!vm->serial)
		return -1;
	return pc_prepare(vm, err, errlen);
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

static int add_io(struct vm *vm, struct bus *bus, uint64_t base, uint64_t len,
		  const struct bus_ops *ops, void *opaque, const char *name, char *err,
		  size_t errlen)
{
	int ret = bus_register(bus, base, len, ops, opaque, name);

	if (ret < 0) {
		snprintf(err, errlen, "cannot place %s at 0x%llx: %s", name, (unsigned long long)base,
			 strerror(-ret));
		return -1;
	}
	(void)vm;
	return 0;
}

static void uart_reset_hook(void *opaque)
{
	uart16550_reset(opaque);
}

static void rtc_reset_hook(void *opaque)
{
	rtc_cmos_reset(opaque);
}

static void i8042_reset_hook(void *opaque)
{
	i8042_reset(opaque);
}

/* The CMOS fields firmware reads for the machine's shape (seabios-interface.md §5). */
static void rtc_preset(struct rtc_cmos *rtc, const struct vm *vm)
{
	const struct memmap *map = &vm->ram.map;
	uint64_t ext = map->low_size > (16ULL << 20) ? (map->low_size - (16ULL << 20)) >> 16 : 0;
	uint64_t ext_kib = map->low_size > (1ULL << 20) ? (map->low_size - (1ULL << 20)) >> 10 : 0;
	uint64_t high = map->high_size >> 16;

	if (ext_kib > 0xffff)
		ext_kib = 0xffff;
	if (ext > 0xffff)
		ext = 0xffff;
	rtc_cmos_set_byte(rtc, 0x17, (uint8_t)ext_kib);
	rtc_cmos_set_byte(rtc, 0x18, (uint8_t)(ext_kib >> 8));
	rtc_cmos_set_byte(rtc, 0x30, (uint8_t)ext_kib);
	rtc_cmos_set_byte(rtc, 0x31, (uint8_t)(ext_kib >> 8));
	rtc_cmos_set_byte(rtc, 0x34, (uint8_t)ext);
	rtc_cmos_set_byte(rtc, 0x35, (uint8_t)(ext >> 8));
	rtc_cmos_set_byte(rtc, 0x5b, (uint8_t)high);
	rtc_cmos_set_byte(rtc, 0x5c, (uint8_t)(high >> 8));
	rtc_cmos_set_byte(rtc, 0x5d, (uint8_t)(high >> 16));
	rtc_cmos_set_byte(rtc, 0x5f, (uint8_t)(vm->cfg->cpus - 1));
}

static int create_devices(struct vm *vm, char *err, size_t errlen)
{
	struct irq_line rtc_irq, com1_irq, kbd_irq, aux_irq;
	struct machine_events *ev = &vm->events;
	struct uart16550_backend be;
	struct reset_control *rc;
	struct port92 *p92;

	vm->events = (struct machine_events){ .reset = ev_reset, .exit = ev_exit, .opaque = vm };
	irq_mux_init(&vm->isa_irqs, kvm_set_irq, &vm->kvm);
	if (irq_mux_line(&vm->isa_irqs, RTC_IRQ, &rtc_irq) < 0 ||
	    irq_mux_line(&vm->isa_irqs, COM1_IRQ, &com1_irq) < 0 ||
	    irq_mux_line(&vm->isa_irqs, I8042_KBD_IRQ, &kbd_irq) < 0 ||
	    irq_mux_line(&vm->isa_irqs, I8042_AUX_IRQ, &aux_irq) < 0)
		goto nomem;
	vm->pio = bus_create("pio", 0x10000);
	vm->mmio = bus_create("mmio", 0);
	if (!vm->pio || !vm->mmio)
		goto nomem;

	serial_backend_callbacks(vm->serial, &be);
	vm->uart = uart16550_create(&com1_irq, &be, vm->loop);
	if (!vm->uart)
		goto nomem;
	serial_backend_attach(vm->serial, vm->uart, quit_from_console, vm);
	if (add_io(vm, vm->pio, COM1_BASE, 8, &uart16550_bus_ops, vm->uart, "com1", err, errlen) < 0)
		return -1;
	vm_add_reset_hook(vm, uart_reset_hook, vm->uart);

	vm->rtc = rtc_cmos_create(&rtc_irq, vm->loop, vm->cfg->rtc_localtime);
	if (!vm->rtc)
		goto nomem;
	rtc_preset(vm->rtc, vm);
	if (add_io(vm, vm->pio, RTC_BASE, RTC_CMOS_NR_PORTS, &rtc_cmos_bus_ops, vm->rtc, "rtc-cmos",
		   err, errlen) < 0)
		return -1;
	vm_add_reset_hook(vm, rtc_reset_hook, vm->rtc);

	rc = calloc(1, sizeof(*rc));
	p92 = calloc(1, sizeof(*p92));
	vm->reset_control = rc;
	vm->port92 = p92;
	if (!rc || !p92)
		goto nomem;
	reset_control_init(rc, ev);
	port92_init(p92, ev);
	/* 0xcf9 shares its dword with the PCI address port: the host bridge
	 * passes byte accesses there on (vmm/pc.c). */
	if (add_io(vm, vm->pio, PORT92, 1, &port92_bus_ops, p92, "port92", err, errlen) < 0)
		return -1;
	vm_add_reset_hook(vm, reset_control_reset, rc);
	vm->i8042 = i8042_create(&kbd_irq, &aux_irq, ev);
	if (!vm->i8042)
		goto nomem;
	if (add_io(vm, vm->pio, I8042_DATA_PORT, 1, &i8042_data_bus_ops, vm->i8042, "i8042-data",
		   err, errlen) < 0 ||
	    add_io(vm, vm->pio, I8042_CMD_PORT, 1, &i8042_status_bus_ops, vm->i8042, "i8042-cmd",
		   err, errlen) < 0)
		return -1;
	vm_add_reset_hook(vm, i8042_reset_hook, vm->i8042);
	vm_add_reset_hook(vm, port92_reset, p92);

	if (vm->cfg->debug_exit &&
	    add_io(vm, vm->pio, DEBUG_EXIT_PORT, 4, &debug_exit_bus_ops, ev, "debug-exit", err,
		   errlen) < 0)
		return -1;
	return pc_create(vm, err, errlen);
nomem:
	snprintf(err, errlen, "out of memory creating devices");
	return -1;
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
	vm->nr_vcpus = cfg->cpus;
	vm->vcpus = calloc(cfg->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->cpus; i++)
		if (vcpu_init(&vm->vcpus[i], vm, i, err, errlen) < 0)
			return -1;
	guest_ram_load_bios_low(&vm->ram);
	if (cfg->kernel && boot_linux(vm, err, errlen) < 0)
		return VM_ERR_USER;
	return 0;
}

/* ---- the main thread ---- */

static void do_reset(struct vm *vm)
{
	if (kvm_reset_irqchip(&vm->kvm) < 0)
		fprintf(stderr, "minivmm: cannot reset the interrupt controllers: %s\n",
			strerror(errno));
	guest_ram_load_bios_low(&vm->ram);
	for (unsigned i = 0; i < vm->nr_reset_hooks; i++)
		vm->reset_hooks[i].fn(vm->reset_hooks[i].opaque);
	if (vm->cfg->kernel) {
		char err[256];

		if (boot_linux(vm, err, sizeof(err)) < 0) {
			fprintf(stderr, "minivmm: reboot: %s\n", err);
			vm->exit_pending = true;
			vm->exit_status = 1;
			return;
		}
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		atomic_store(&vm->vcpus[i].reset_pending, true);
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

static void on_request(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;
	bool reset;

	(void)events;
	if (read(vm->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&vm->lock);
	if (vm->reset_pending && !vm->exit_pending) {
		if (vm->cfg->no_reboot) {
			vm->exit_pending = true;
			vm->exit_status = 0;
		} else {
			wait_all_parked(vm);
		}
	}
	reset = vm->reset_pending && !vm->exit_pending;
	vm->reset_pending = false;
	if (reset) {
		do_reset(vm);
		if (!vm->exit_pending) {
			atomic_store(&vm->pause_req, false);
			pthread_cond_broadcast(&vm->cond);
		}
	}
	pthread_mutex_unlock(&vm->lock);
	if (vm->exit_pending)
		event_loop_stop(vm->loop);
}

struct signal_watch {
	struct vm *vm;
	int fd;
};

static void signal_ready(void *opaque, uint32_t events)
{
	struct signal_watch *w = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(w->fd, &si, sizeof(si)) != sizeof(si))
		return;
	serial_backend_close(w->vm->serial);
	fprintf(stderr, "minivmm: terminating on signal %u\n", si.ssi_signo);
	vm_request_exit(w->vm, 0);
}

int vm_run(struct vm *vm)
{
	struct signal_watch sw = { .vm = vm };
	sigset_t set;
	int status;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* vCPU threads inherit this */
	sigdelset(&set, SIGUSR1);
	sw.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sw.fd >= 0)
		event_loop_add_fd(vm->loop, sw.fd, EPOLLIN, signal_ready, &sw);
	event_loop_add_fd(vm->loop, vm->event_fd, EPOLLIN, on_request, vm);

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			fprintf(stderr, "minivmm: cannot start vCPU %u\n", i);
			vm_request_exit(vm, 1);
			break;
		}
	}
	event_loop_run(vm->loop);
	stop_vcpus(vm);
	if (sw.fd >= 0)
		close(sw.fd);
	pthread_mutex_lock(&vm->lock);
	status = vm->exit_status;
	pthread_mutex_unlock(&vm->lock);
	return status;
}

void vm_report_stats(struct vm *vm)
{
	struct exit_stats *all;

	if (vm->cfg->stats == STATS_OFF || !vm->vcpus)
		return;
	all = stats_new();
	if (!all)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].stats)
			stats_merge(all, vm->vcpus[i].stats);
	if (vm->cfg->stats == STATS_TABLE)
		stats_print_table(all, vm->pio, vm->mmio, stderr);
	else if (stats_write_json(all, vm->pio, vm->mmio, vm->cfg->stats_path) < 0)
		fprintf(stderr, "minivmm: cannot write statistics to '%s'\n", vm->cfg->stats_path);
	stats_free(all);
}

void vm_destroy(struct vm *vm)
{
	serial_backend_close(vm->serial);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	if (vm->uart)
		uart16550_destroy(vm->uart);
	if (vm->rtc)
		rtc_cmos_destroy(vm->rtc);
	i8042_destroy(vm->i8042);
	pc_destroy(vm);
	free(vm->reset_control);
	free(vm->port92);
	bus_destroy(vm->pio);
	bus_destroy(vm->mmio);
	if (vm->isa_irqs.sink)
		irq_mux_destroy(&vm->isa_irqs);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	kvm_close(&vm->kvm);
	guest_ram_free(&vm->ram);
	serial_backend_free(vm->serial);
	event_loop_free(vm->loop);
}
