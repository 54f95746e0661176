// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vmm/fastpath.c against a fake host (no /dev/kvm): which path each switch
 * and capability chooses; doorbells by ioeventfd and by exit, with
 * datamatch, moves, a doorbell inside a BAR and BAR following; edge, MSI
 * and INTx interrupt sources on both paths, INTx resampling and route
 * changes; coalesced zones and the ring's drain (order, wrap, bad entries
 * and indices); slots with dirty pages, moves and following a BAR.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/piix3.h"
#include "vmm/fastpath.h"
#include "vmm/loop.h"

/* ---- the fake host ---- */

struct fake {
	struct fastpath_caps caps;
	int refuse; /* every call fails with this errno if set */
	/* the last ioeventfd assigned, and how many are assigned */
	int ioe_fd, ioe_live;
	bool ioe_pio, ioe_dm;
	uint64_t ioe_addr, ioe_val;
	unsigned ioe_len;
	/* irqfds */
	int irq_fd, irq_rfd, irq_live;
	unsigned irq_gsi;
	/* MSI routes and KVM_SIGNAL_MSI */
	int routes, route_sets;
	unsigned next_gsi;
	uint64_t route_addr, msi_addr;
	uint32_t route_data, msi_data;
	int msis;
	int zones;
	/* one slot */
	int slot_live, slot_moves;
	uint64_t slot_gpa, dirty_bits;
	uint32_t slot_flags;
};

static struct fake fk;

static void f_caps(void *o, struct fastpath_caps *c)
{
	*c = fk.caps;
}

static int f_ioeventfd(void *o, int fd, bool pio, uint64_t addr, unsigned len, bool dm,
		       uint64_t data, bool assign)
{
	if (fk.refuse)
		return -fk.refuse;
	if (!assign) {
		assert_int_equal(fd, fk.ioe_fd);
		assert_int_equal(addr, fk.ioe_addr);
		fk.ioe_live--;
		return 0;
	}
	fk.ioe_fd = fd;
	fk.ioe_pio = pio;
	fk.ioe_addr = addr;
	fk.ioe_len = len;
	fk.ioe_dm = dm;
	fk.ioe_val = data;
	fk.ioe_live++;
	return 0;
}

static int f_irqfd(void *o, int fd, unsigned gsi, int rfd, bool assign)
{
	if (fk.refuse)
		return -fk.refuse;
	if (!assign) {
		assert_int_equal(gsi, fk.irq_gsi);
		fk.irq_live--;
		return 0;
	}
	fk.irq_fd = fd;
	fk.irq_rfd = rfd;
	fk.irq_gsi = gsi;
	fk.irq_live++;
	return 0;
}

static int f_route_add(void *o, uint64_t addr, uint32_t data)
{
	fk.routes++;
	fk.route_addr = addr;
	fk.route_data = data;
	return (int)fk.next_gsi++;
}

static int f_route_set(void *o, unsigned gsi, uint64_t addr, uint32_t data)
{
	fk.route_sets++;
	fk.route_addr = addr;
	fk.route_data = data;
	return 0;
}

static int f_route_del(void *o, unsigned gsi)
{
	fk.routes--;
	return 0;
}

static int f_signal_msi(void *o, uint64_t addr, uint32_t data)
{
	fk.msis++;
	fk.msi_addr = addr;
	fk.msi_data = data;
	return 1;
}

static int f_zone(void *o, bool pio, uint64_t addr, uint64_t size, bool assign)
{
	fk.zones += assign ? 1 : -1;
	return 0;
}

static int f_slot_add(void *o, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	fk.slot_live++;
	fk.slot_gpa = gpa;
	fk.slot_flags = flags;
	return 7;
}

static int f_slot_move(void *o, int slot, uint64_t gpa)
{
	assert_int_equal(slot, 7);
	fk.slot_moves++;
	fk.slot_gpa = gpa;
	return 0;
}

static int f_slot_remove(void *o, int slot)
{
	assert_int_equal(slot, 7);
	fk.slot_live--;
	fk.slot_gpa = 0;
	return 0;
}

static int f_slot_log(void *o, int slot, bool on)
{
	fk.slot_flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0;
	return 0;
}

static int f_slot_dirty(void *o, int slot, uint64_t *bitmap, size_t words)
{
	assert_true(fk.slot_flags & KVM_MEM_LOG_DIRTY_PAGES);
	bitmap[0] = fk.dirty_bits;
	fk.dirty_bits = 0;
	return 0;
}

static const struct fastpath_host fake_host = {
    .caps = f_caps,
    .ioeventfd = f_ioeventfd,
    .irqfd = f_irqfd,
    .msi_route_add = f_route_add,
    .msi_route_set = f_route_set,
    .msi_route_del = f_route_del,
    .signal_msi = f_signal_msi,
    .coalesced_zone = f_zone,
    .slot_add = f_slot_add,
    .slot_move = f_slot_move,
    .slot_remove = f_slot_remove,
    .slot_log_dirty = f_slot_log,
    .slot_get_dirty = f_slot_dirty,
};

static const struct fastpath_caps all_caps = {
    true, true, true, true, true, true, true, true, true,
};

/* ---- the machine around it: buses and an event loop on a thread ---- */

struct env {
	struct bus *pio, *mmio;
	struct event_loop *loop;
	pthread_t thread;
	struct fastpath *fp;
};

static struct env env;

static void *loop_thread(void *opaque)
{
	event_loop_run(opaque);
	return NULL;
}

static struct fastpath *start(const struct fastpath_caps *caps, struct vm_accel accel)
{
	memset(&fk, 0, sizeof(fk));
	fk.caps = *caps;
	fk.next_gsi = 24;
	env.pio = bus_create("pio", 0x10000);
	env.mmio = bus_create("mmio", 0);
	env.loop = event_loop_new();
	assert_non_null(env.loop);
	assert_int_equal(pthread_create(&env.thread, NULL, loop_thread, env.loop), 0);
	env.fp = fastpath_new(&fake_host, NULL, &accel, env.loop, env.pio, env.mmio);
	assert_non_null(env.fp);
	return env.fp;
}

static void stop(void)
{
	event_loop_stop(env.loop);
	pthread_join(env.thread, NULL);
	fastpath_free(env.fp);
	event_loop_free(env.loop);
	bus_destroy(env.pio);
	bus_destroy(env.mmio);
}

/* Waits (at most 2 s) for *v to reach want. */
static void wait_for(atomic_ullong *v, unsigned long long want)
{
	for (int i = 0; i < 2000 && atomic_load(v) < want; i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	assert_int_equal(atomic_load(v), want);
}

static void kick(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static uint64_t drain_fd(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- which path ---- */

static void test_paths(void **state)
{
	struct vm_accel off = {false, true, false, true};
	struct fastpath_caps none = {0};
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);

	for (unsigned p = 0; p < FP_NR_PATHS; p++)
		assert_int_equal(fastpath_state(fp, p), FP_ON);
	stop();
	fp = start(&none, off);
	assert_int_equal(fastpath_state(fp, FP_IOEVENTFD), FP_OFF_BY_OPTION);
	assert_int_equal(fastpath_state(fp, FP_IRQFD), FP_OFF_NO_HOST);
	assert_int_equal(fastpath_state(fp, FP_COALESCED_MMIO), FP_OFF_BY_OPTION);
	assert_int_equal(fastpath_state(fp, FP_DIRTY_LOG), FP_OFF_NO_HOST);
	assert_string_equal(fastpath_path_name(FP_COALESCED_MMIO), "coalesced-mmio");
	stop();
}

/* ---- doorbells ---- */

struct bell {
	atomic_ullong calls, count;
	unsigned other_writes;
	uint64_t other_value;
};

static void bell_fn(void *opaque, uint64_t count)
{
	struct bell *b = opaque;

	atomic_fetch_add(&b->count, count);
	atomic_fetch_add(&b->calls, 1);
}

static uint64_t other_read(void *opaque, uint64_t off, unsigned size)
{
	return 0x1234;
}

static void other_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct bell *b = opaque;

	b->other_writes++;
	b->other_value = value;
}

static const struct bus_ops other_ops = {.read = other_read, .write = other_write};

static struct fp_doorbell *add_bell(struct fastpath *fp, struct bell *b, bool pio, uint64_t addr,
				    bool claim)
{
	struct fp_doorbell_spec s = {
		.name = "bell",
		.pio = pio,
		.addr = addr,
		.len = 2,
		.datamatch = true,
		.value = 0xbeef,
		.claim = claim,
		.other = &other_ops,
		.other_opaque = b,
	};
	char err[128];

	return fastpath_doorbell_add(fp, &s, bell_fn, b, err, sizeof(err));
}

static void test_doorbell_ioeventfd(void **state)
{
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);
	struct bell b = {0};
	struct fp_doorbell *d = add_bell(fp, &b, true, 0x600, true);
	uint64_t v;

	assert_non_null(d);
	assert_true(fastpath_doorbell_fast(d));
	assert_int_equal(fk.ioe_live, 1);
	assert_true(fk.ioe_pio && fk.ioe_dm);
	assert_int_equal(fk.ioe_addr, 0x600);
	assert_int_equal(fk.ioe_len, 2);
	assert_int_equal(fk.ioe_val, 0xbeef);
	/* KVM signals three writes at once: one call with count 3. */
	for (int i = 0; i < 3; i++)
		kick(fk.ioe_fd);
	wait_for(&b.count, 3);
	assert_int_equal(atomic_load(&b.calls), 1);
	wait_for((atomic_ullong *)&fastpath_counters(fp)->doorbell_ioeventfd, 3);
	/* A write of another value exits: the other ops get it; reads too. */
	bus_write(env.pio, 0x600, 0x1111, 2);
	assert_int_equal(b.other_writes, 1);
	assert_int_equal(b.other_value, 0x1111);
	bus_read(env.pio, 0x600, 2, &v);
	assert_int_equal(v, 0x1234);
	/* Moved: the old port is free, the ioeventfd went along. */
	assert_int_equal(fastpath_doorbell_move(d, 0x700), 0);
	assert_int_equal(fk.ioe_live, 1);
	assert_int_equal(fk.ioe_addr, 0x700);
	assert_int_equal(bus_write(env.pio, 0x600, 0xbeef, 2), BUS_UNCLAIMED);
	assert_int_equal(fastpath_doorbell_move(d, 0), 0);
	assert_int_equal(fk.ioe_live, 0);
	fastpath_doorbell_free(d);
	stop();
}

static void test_doorbell_exit(void **state)
{
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct fastpath *fp;
	struct bell b = {0};
	struct fp_doorbell *d, *d2;

	accel.ioeventfd = false;
	fp = start(&all_caps, accel);
	d = add_bell(fp, &b, false, 0xfe000000, true);
	assert_non_null(d);
	assert_false(fastpath_doorbell_fast(d));
	assert_int_equal(fk.ioe_live, 0);
	/* The doorbell's range is taken: an overlapping one is refused. */
	assert_null(add_bell(fp, &b, false, 0xfe000001, true));
	/* Matching writes ring on the loop thread; a 4-byte write does not
	 * match a 2-byte doorbell. */
	bus_write(env.mmio, 0xfe000000, 0xbeef, 2);
	bus_write(env.mmio, 0xfe000000, 0xbeef, 2);
	wait_for(&b.count, 2);
	bus_write(env.mmio, 0xfe000000, 0xbeef, 1);
	assert_int_equal(b.other_writes, 1);
	assert_int_equal(fastpath_counters(fp)->doorbell_exit, 2);
	assert_int_equal(fastpath_counters(fp)->doorbell_ioeventfd, 0);
	/* Without claim the device passes writes on. */
	d2 = add_bell(fp, &b, false, 0xfd000010, false);
	assert_non_null(d2);
	assert_int_equal(bus_write(env.mmio, 0xfd000010, 0xbeef, 2), BUS_UNCLAIMED);
	assert_false(fastpath_doorbell_write(d2, 0xfd000012, 0xbeef, 2));
	assert_false(fastpath_doorbell_write(d2, 0xfd000010, 0xbeee, 2));
	assert_true(fastpath_doorbell_write(d2, 0xfd000010, 0xbeef, 2));
	wait_for(&b.count, 3);
	fastpath_doorbell_free(d);
	fastpath_doorbell_free(d2);
	stop();
}

static void test_doorbell_refused(void **state)
{
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);
	struct fp_doorbell_spec bad = {.name = "bad", .pio = true, .addr = 0x10, .len = 0};
	struct bell b = {0};
	struct fp_doorbell *d;
	char err[128];

	assert_null(fastpath_doorbell_add(fp, &bad, bell_fn, &b, err, sizeof(err)));
	bad.len = 3;
	assert_null(fastpath_doorbell_add(fp, &bad, bell_fn, &b, err, sizeof(err)));
	/* KVM refuses the ioeventfd: the doorbell works by exit. */
	fk.refuse = EINVAL;
	d = add_bell(fp, &b, true, 0x600, true);
	assert_non_null(d);
	assert_false(fastpath_doorbell_fast(d));
	bus_write(env.pio, 0x600, 0xbeef, 2);
	wait_for(&b.count, 1);
	fk.refuse = 0;
	fastpath_doorbell_free(d);
	stop();
}

/* ---- PCI: BAR following and INTx ---- */

#define TEST_DEVFN PCI_DEVFN(3, 0)

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	return 0;
}

static void bar_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
}

static const struct bus_ops bar_ops = {.read = bar_read, .write = bar_write};

static void isa_set(void *opaque, unsigned gsi, bool level)
{
	(*(unsigned *)opaque)++;
}

static struct pci_dev *add_pci_dev(struct pci_bus *bus)
{
	static const struct pci_dev_info info = {
		.vendor = 0x1af4,
		.device = 0x1000,
		.class_code = 0x020000,
		.irq_pin = 1,
		.name = "test",
	};
	struct pci_dev *dev = pci_dev_add(bus, TEST_DEVFN, &info, NULL, NULL);

	assert_non_null(dev);
	assert_int_equal(pci_dev_set_bar(dev, 0, PCI_BAR_MEM32, false, 0x1000, &bar_ops, NULL), 0);
	assert_int_equal(pci_dev_set_bar(dev, 1, PCI_BAR_MEM32, false, 0x4000, &bar_ops, NULL), 0);
	return dev;
}

static void test_follow_bar(void **state)
{
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);
	struct pci_bus *bus = pci_bus_create(env.pio, env.mmio);
	struct pci_dev *dev = add_pci_dev(bus);
	struct bell b = {0};
	struct fp_doorbell *d = add_bell(fp, &b, false, 0, false);
	char err[128];
	struct fp_slot *s = fastpath_slot_new(fp, 0x4000, "fb", err, sizeof(err));

	assert_non_null(d);
	assert_non_null(s);
	assert_int_equal(fastpath_doorbell_follow_bar(d, dev, 0, 0x40), 0);
	assert_int_equal(fastpath_slot_follow_bar(s, dev, 1, 0), 0);
	assert_int_equal(fk.ioe_live, 0); /* BARs not decoded yet */
	assert_int_equal(fk.slot_live, 0);
	pci_config_write(bus, TEST_DEVFN, PCI_BASE_ADDRESS_0, 0xfe000000, 4);
	pci_config_write(bus, TEST_DEVFN, PCI_BASE_ADDRESS_0 + 4, 0xfd000000, 4);
	pci_config_write(bus, TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fk.ioe_live, 1);
	assert_int_equal(fk.ioe_addr, 0xfe000040);
	assert_false(fk.ioe_pio);
	assert_int_equal(fk.slot_live, 1);
	assert_int_equal(fk.slot_gpa, 0xfd000000);
	assert_int_equal(fastpath_slot_gpa(s), 0xfd000000);
	/* The firmware moves BAR 0, then turns decoding off. */
	pci_config_write(bus, TEST_DEVFN, PCI_BASE_ADDRESS_0, 0xfc000000, 4);
	assert_int_equal(fk.ioe_addr, 0xfc000040);
	assert_true(fastpath_doorbell_write(d, 0xfc000040, 0xbeef, 2));
	pci_config_write(bus, TEST_DEVFN, PCI_COMMAND, 0, 2);
	assert_int_equal(fk.ioe_live, 0);
	assert_int_equal(fk.slot_live, 0);
	assert_false(fastpath_doorbell_write(d, 0xfc000040, 0xbeef, 2));
	/* A doorbell with a bus range of its own cannot sit in a BAR. */
	{
		struct fp_doorbell *own = add_bell(fp, &b, false, 0xf0000000, true);

		assert_int_equal(fastpath_doorbell_follow_bar(own, dev, 0, 0), -EINVAL);
		fastpath_doorbell_free(own);
	}
	fastpath_doorbell_free(d);
	fastpath_slot_free(s);
	/* Freed: a BAR move touches nothing. */
	pci_config_write(bus, TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fk.ioe_live, 0);
	pci_bus_destroy(bus);
	stop();
}

struct router {
	int gsi[4];
	unsigned changes;
	bool level[4];
};

static struct router rt;

static int router_gsi(void *opaque, unsigned pirq)
{
	return rt.gsi[pirq & 3];
}

static void router_level(void *opaque, unsigned pirq, bool level)
{
	rt.changes++;
	rt.level[pirq & 3] = level;
}

static void test_intx(void **state)
{
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);
	struct pci_bus *bus = pci_bus_create(env.pio, env.mmio);
	struct pci_dev *dev = add_pci_dev(bus);
	unsigned pirq = (3 + 1 - 2) & 3; /* slot 3, INTA */
	struct fp_intx *x;
	char err[128];
	int efd, rfd;

	memset(&rt, 0, sizeof(rt));
	rt.gsi[pirq] = 11;
	pci_bus_set_router(bus, router_level, NULL);
	pci_bus_set_router_gsi(bus, router_gsi, NULL);
	x = fastpath_intx_attach(fp, dev, err, sizeof(err));
	assert_non_null(x);
	assert_true(fastpath_intx_fast(x));
	assert_int_equal(fk.irq_live, 1);
	assert_int_equal(fk.irq_gsi, 11);
	assert_true(fk.irq_rfd >= 0);
	efd = fk.irq_fd;
	rfd = fk.irq_rfd;
	/* The pin goes to the irqfd, not to the router. */
	pci_set_irq(dev, true);
	assert_int_equal(drain_fd(efd), 1);
	assert_int_equal(rt.changes, 0);
	assert_true(pci_dev_config(dev)[PCI_STATUS] & PCI_STATUS_INTERRUPT);
	/* The guest's EOI while the pin is still up: raised again. */
	kick(rfd);
	wait_for((atomic_ullong *)&fastpath_counters(fp)->intx_resample, 1);
	wait_for((atomic_ullong *)&fastpath_counters(fp)->irq_irqfd, 2);
	assert_int_equal(drain_fd(efd), 1);
	/* Down, then EOI: nothing more. */
	pci_set_irq(dev, false);
	kick(rfd);
	wait_for((atomic_ullong *)&fastpath_counters(fp)->intx_resample, 2);
	assert_int_equal(drain_fd(efd), 0);
	/* The router moves the PIRQ: the irqfd follows, a raised pin is
	 * raised on the new GSI. */
	pci_set_irq(dev, true);
	assert_int_equal(drain_fd(efd), 1);
	rt.gsi[pirq] = 10;
	pci_bus_pirq_route_changed(bus, pirq);
	assert_int_equal(fk.irq_live, 1);
	assert_int_equal(fk.irq_gsi, 10);
	assert_int_equal(drain_fd(efd), 1);
	/* Disabled route: no irqfd. */
	rt.gsi[pirq] = -1;
	pci_bus_pirq_route_changed(bus, pirq);
	assert_int_equal(fk.irq_live, 0);
	/* Detached with the pin up: the router gets it. */
	rt.gsi[pirq] = 10;
	pci_bus_pirq_route_changed(bus, pirq);
	fastpath_intx_detach(x);
	assert_int_equal(fk.irq_live, 0);
	assert_true(rt.level[pirq]);
	pci_bus_destroy(bus);
	stop();
}

static void test_intx_slow(void **state)
{
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct fastpath *fp;
	struct pci_bus *bus;
	struct pci_dev *dev;
	struct fp_intx *x;
	char err[128];

	accel.irqfd = false;
	fp = start(&all_caps, accel);
	bus = pci_bus_create(env.pio, env.mmio);
	dev = add_pci_dev(bus);
	memset(&rt, 0, sizeof(rt));
	rt.gsi[2] = 11;
	pci_bus_set_router(bus, router_level, NULL);
	pci_bus_set_router_gsi(bus, router_gsi, NULL);
	x = fastpath_intx_attach(fp, dev, err, sizeof(err));
	assert_non_null(x);
	assert_false(fastpath_intx_fast(x));
	assert_int_equal(fk.irq_live, 0);
	pci_set_irq(dev, true);
	assert_true(rt.level[2]);
	pci_set_irq(dev, false);
	assert_false(rt.level[2]);
	fastpath_intx_detach(x);
	pci_bus_destroy(bus);
	stop();
}

/* The machine's router: the PIIX3's PIRQ registers, as the firmware
 * programs them, move the irqfd to the ISA IRQ they name. */
static void test_intx_piix3(void **state)
{
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);
	struct pci_bus *bus = pci_bus_create(env.pio, env.mmio);
	unsigned isa_calls = 0;
	struct irq_line line = {isa_set, &isa_calls, 0};
	struct piix3 *router = piix3_create(bus, &line);
	struct pci_dev *dev = add_pci_dev(bus);
	unsigned pirq_reg = PIIX3_PIRQRC + ((3 + 1 - 2) & 3); /* slot 3 INTA: PIRQC */
	char err[128];
	struct fp_intx *x;

	assert_non_null(router);
	x = fastpath_intx_attach(fp, dev, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(fk.irq_live, 0); /* PIRQs start disabled */
	pci_config_write(bus, PCI_DEVFN(1, 0), pirq_reg, 11, 1);
	assert_int_equal(fk.irq_live, 1);
	assert_int_equal(fk.irq_gsi, 11);
	pci_set_irq(dev, true);
	assert_int_equal(drain_fd(fk.irq_fd), 1);
	assert_int_equal(isa_calls, 0); /* the ISA line is not driven */
	pci_config_write(bus, PCI_DEVFN(1, 0), pirq_reg, 10, 1);
	assert_int_equal(fk.irq_gsi, 10);
	assert_int_equal(drain_fd(fk.irq_fd), 1);
	pci_config_write(bus, PCI_DEVFN(1, 0), pirq_reg, 0x80, 1);
	assert_int_equal(fk.irq_live, 0);
	pci_set_irq(dev, false);
	fastpath_intx_detach(x);
	piix3_destroy(router);
	pci_bus_destroy(bus);
	stop();
}

/* MSI-X of a PCI function: an irqfd per vector the guest unmasks, the
 * core's pending bits and KVM_SIGNAL_MSI otherwise. */
/* Returns the MSI-X capability's offset. */
static unsigned msix_setup(struct pci_bus *bus, struct pci_dev **devp)
{
	static const struct pci_dev_info info = {
		.vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000, .name = "msix",
	};
	struct pci_dev *dev = pci_dev_add(bus, TEST_DEVFN, &info, NULL, NULL);
	int cap;

	assert_non_null(dev);
	assert_int_equal(pci_dev_set_bar(dev, 0, PCI_BAR_MEM32, false, 0x1000, &bar_ops, NULL), 0);
	cap = pci_dev_add_msix(dev, 4, 0, 0, 0, 0x800);
	assert_true(cap > 0);
	pci_bus_set_msi_sink(bus, fastpath_msi_sink, env.fp);
	pci_config_write(bus, TEST_DEVFN, PCI_BASE_ADDRESS_0, 0xfe000000, 4);
	pci_config_write(bus, TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	*devp = dev;
	return (unsigned)cap;
}

static void msix_entry(unsigned v, uint32_t data, bool masked)
{
	bus_write(env.mmio, 0xfe000000 + 16 * v, 0xfee00000, 4);
	bus_write(env.mmio, 0xfe000000 + 16 * v + 4, 0, 4);
	bus_write(env.mmio, 0xfe000000 + 16 * v + 8, data, 4);
	bus_write(env.mmio, 0xfe000000 + 16 * v + 12, masked ? 1 : 0, 4);
}

static void test_msix(void **state)
{
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);
	struct pci_bus *bus = pci_bus_create(env.pio, env.mmio);
	struct pci_dev *dev;
	struct fp_msi *m;
	char err[128];
	uint64_t pba;
	unsigned cap = msix_setup(bus, &dev);

	m = fastpath_msi_attach(fp, dev, err, sizeof(err));
	assert_non_null(m);
	/* Not enabled yet: the core says so. */
	assert_int_equal(fastpath_msi_notify(m, true, 0), -ENODEV);
	pci_config_write(bus, TEST_DEVFN, cap + 2, 0x8000, 2); /* MSI-X enable */
	msix_entry(1, 0x4041, false);
	assert_int_equal(fk.routes, 1);
	assert_int_equal(fk.route_data, 0x4041);
	assert_int_equal(fk.irq_live, 1);
	assert_int_equal(fastpath_msi_notify(m, true, 1), 1); /* by the irqfd */
	assert_int_equal(drain_fd(fk.irq_fd), 1);
	assert_int_equal(fk.msis, 0);
	/* A new message: the route follows. */
	bus_write(env.mmio, 0xfe000000 + 16 + 8, 0x4042, 4);
	assert_int_equal(fk.route_data, 0x4042);
	/* Masked: pending in the PBA, sent by the core at unmask. */
	bus_write(env.mmio, 0xfe000000 + 16 + 12, 1, 4);
	assert_int_equal(fastpath_msi_notify(m, true, 1), 0);
	assert_int_equal(drain_fd(fk.irq_fd), 0);
	bus_read(env.mmio, 0xfe000800, 8, &pba);
	assert_int_equal(pba, 1u << 1);
	bus_write(env.mmio, 0xfe000000 + 16 + 12, 0, 4);
	assert_int_equal(fk.msis, 1);
	assert_int_equal(fk.msi_data, 0x4042);
	/* A vector never unmasked has no route: the core sends it. */
	assert_int_equal(fastpath_msi_notify(m, true, 2), 0);
	bus_read(env.mmio, 0xfe000800, 8, &pba);
	assert_int_equal(pba, 1u << 2);
	/* Bus mastering off: dropped, as the core does. */
	pci_config_write(bus, TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fastpath_msi_notify(m, true, 1), 0);
	assert_int_equal(drain_fd(fk.irq_fd), 0);
	assert_int_equal(fk.msis, 1);
	assert_int_equal(fastpath_msi_notify(m, true, 4), -EINVAL);
	fastpath_msi_detach(m);
	assert_int_equal(fk.routes, 0);
	assert_int_equal(fk.irq_live, 0);
	pci_bus_destroy(bus);
	stop();
}

static void test_msix_slow(void **state)
{
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct fastpath *fp;
	struct pci_bus *bus;
	struct pci_dev *dev;
	struct fp_msi *m;
	char err[128];
	unsigned cap;

	accel.irqfd = false;
	fp = start(&all_caps, accel);
	bus = pci_bus_create(env.pio, env.mmio);
	cap = msix_setup(bus, &dev);
	m = fastpath_msi_attach(fp, dev, err, sizeof(err));
	pci_config_write(bus, TEST_DEVFN, cap + 2, 0x8000, 2);
	msix_entry(0, 0x4051, false);
	assert_int_equal(fk.routes, 0);
	assert_int_equal(fastpath_msi_notify(m, true, 0), 0);
	assert_int_equal(fk.msis, 1);
	assert_int_equal(fk.msi_data, 0x4051);
	fastpath_msi_detach(m);
	pci_bus_destroy(bus);
	stop();
}

/* ---- edge and MSI sources ---- */

struct line_rec {
	unsigned ups, downs, gsi;
};

static void line_set(void *opaque, unsigned gsi, bool level)
{
	struct line_rec *r = opaque;

	r->gsi = gsi;
	if (level)
		r->ups++;
	else
		r->downs++;
}

static void test_irq_gsi(void **state)
{
	struct line_rec rec = {0};
	struct irq_line line = {line_set, &rec, 5};
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct fastpath *fp = start(&all_caps, accel);
	char err[128];
	struct fp_irq *irq = fastpath_irq_gsi(fp, &line, "irq", err, sizeof(err));

	assert_non_null(irq);
	assert_true(fastpath_irq_fast(irq));
	assert_int_equal(fk.irq_gsi, 5);
	assert_int_equal(fk.irq_rfd, -1);
	fastpath_irq_pulse(irq);
	fastpath_irq_pulse(irq);
	assert_int_equal(drain_fd(fk.irq_fd), 2);
	assert_int_equal(rec.ups, 0);
	fastpath_irq_free(irq);
	assert_int_equal(fk.irq_live, 0);
	stop();

	accel.irqfd = false;
	fp = start(&all_caps, accel);
	irq = fastpath_irq_gsi(fp, &line, "irq", err, sizeof(err));
	assert_false(fastpath_irq_fast(irq));
	fastpath_irq_pulse(irq);
	assert_int_equal(rec.ups, 1);
	assert_int_equal(rec.downs, 1);
	assert_int_equal(rec.gsi, 5);
	assert_int_equal(fastpath_counters(fp)->irq_line, 1);
	fastpath_irq_free(irq);
	stop();
}

static void test_irq_msi(void **state)
{
	struct fastpath_caps no_routing = all_caps;
	struct fastpath *fp = start(&all_caps, VM_ACCEL_DEFAULT);
	char err[128];
	struct fp_irq *irq = fastpath_irq_msi(fp, "msi", err, sizeof(err));

	assert_non_null(irq);
	/* Masked from the start: nothing goes out, no route yet. */
	fastpath_irq_pulse(irq);
	assert_int_equal(fk.routes, 0);
	assert_int_equal(fastpath_irq_set_msi(irq, 0xfee00000, 0x41, false), 0);
	assert_int_equal(fk.routes, 1);
	assert_int_equal(fk.irq_gsi, 24);
	assert_int_equal(fk.route_data, 0x41);
	fastpath_irq_pulse(irq);
	assert_int_equal(drain_fd(fk.irq_fd), 1);
	assert_int_equal(fastpath_irq_set_msi(irq, 0xfee01000, 0x42, false), 0);
	assert_int_equal(fk.route_sets, 1);
	assert_int_equal(fk.route_addr, 0xfee01000);
	assert_int_equal(fastpath_irq_set_msi(irq, 0xfee01000, 0x42, true), 0);
	fastpath_irq_pulse(irq);
	assert_int_equal(drain_fd(fk.irq_fd), 0);
	assert_int_equal(fk.msis, 0);
	fastpath_irq_free(irq);
	assert_int_equal(fk.routes, 0);
	assert_int_equal(fk.irq_live, 0);
	stop();

	/* Without GSI routing: KVM_SIGNAL_MSI, as the PCI core's sink does. */
	no_routing.irq_routing = false;
	fp = start(&no_routing, VM_ACCEL_DEFAULT);
	irq = fastpath_irq_msi(fp, "msi", err, sizeof(err));
	assert_false(fastpath_irq_fast(irq));
	assert_int_equal(fastpath_irq_set_msi(irq, 0xfee00000, 0x51, false), 0);
	fastpath_irq_pulse(irq);
	assert_int_equal(fk.msis, 1);
	assert_int_equal(fk.msi_data, 0x51);
	fastpath_msi_sink(fp, 0xfee00000, 0x52);
	assert_int_equal(fk.msis, 2);
	assert_int_equal(fastpath_counters(fp)->msi_signal, 2);
	fastpath_irq_free(irq);
	stop();
}

/* ---- coalesced zones and the ring ---- */

struct window {
	unsigned n;
	uint64_t addr[16], value[16];
	unsigned size[16];
};

static void window_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct window *w = opaque;

	if (w->n < 16) {
		w->addr[w->n] = off;
		w->value[w->n] = value;
		w->size[w->n] = size;
	}
	w->n++;
}

static const struct bus_ops window_ops = {.write = window_write};

static void put(struct kvm_coalesced_mmio_ring *ring, unsigned max, uint64_t addr, uint32_t len,
		uint64_t value, bool pio)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = addr;
	e->len = len;
	e->pio = pio;
	memcpy(e->data, &value, sizeof(value));
	ring->last = (ring->last + 1) % max;
}

static void test_coalesced(void **state)
{
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct fastpath *fp = start(&all_caps, accel);
	struct window w = {0}, wp = {0};
	char err[128];
	struct fp_zone *z = fastpath_zone_add(fp, false, 0xfe000000, 0x100, err, sizeof(err));
	unsigned max =
	    (4096 - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio);
	struct kvm_coalesced_mmio_ring *ring = calloc(1, 4096);

	assert_non_null(z);
	assert_true(fastpath_zone_fast(z));
	assert_int_equal(fk.zones, 1);
	assert_null(fastpath_zone_add(fp, false, ~0ULL, 2, err, sizeof(err)));
	assert_true(bus_register(env.mmio, 0xfe000000, 0x100, &window_ops, &w, "w") >= 0);
	assert_true(bus_register(env.pio, 0x700, 8, &window_ops, &wp, "wp") >= 0);

	/* In order, across the end of the ring; a bad length is skipped. */
	ring->first = ring->last = max - 2;
	put(ring, max, 0xfe000000, 4, 0x11111111, false);
	put(ring, max, 0xfe000004, 2, 0x2222, false);
	put(ring, max, 0x701, 1, 0x33, true);
	put(ring, max, 0xfe000000, 3, 0x44, false);
	put(ring, max, 0xfe000000, 8, 0x5555555555555555ULL, false);
	assert_int_equal(fastpath_coalesced_drain(fp, ring, max), 5);
	assert_int_equal(ring->first, ring->last);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.addr[0], 0);
	assert_int_equal(w.value[0], 0x11111111);
	assert_int_equal(w.addr[1], 4);
	assert_int_equal(w.size[1], 2);
	assert_int_equal(w.value[2], 0x5555555555555555ULL);
	assert_int_equal(wp.n, 1);
	assert_int_equal(wp.addr[0], 1);
	assert_int_equal(wp.value[0], 0x33);
	assert_int_equal(fastpath_counters(fp)->coalesced, 5);
	/* Empty, NULL: nothing.  Indices beyond the ring: dropped. */
	assert_int_equal(fastpath_coalesced_drain(fp, ring, max), 0);
	assert_int_equal(fastpath_coalesced_drain(fp, NULL, max), 0);
	ring->first = max + 5;
	ring->last = 3;
	assert_int_equal(fastpath_coalesced_drain(fp, ring, max), 0);
	assert_int_equal(ring->first, 3);
	assert_int_equal(w.n, 3);
	fastpath_zone_free(z);
	assert_int_equal(fk.zones, 0);
	stop();

	accel.coalesced_mmio = false;
	fp = start(&all_caps, accel);
	z = fastpath_zone_add(fp, false, 0xfe000000, 0x100, err, sizeof(err));
	assert_false(fastpath_zone_fast(z));
	assert_int_equal(fk.zones, 0);
	fastpath_zone_free(z);
	stop();
	free(ring);
}

/* ---- slots ---- */

static void test_slot(void **state)
{
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct fastpath *fp = start(&all_caps, accel);
	uint64_t bitmap[2];
	char err[128];
	struct fp_slot *s = fastpath_slot_new(fp, 0x5000, "fb", err, sizeof(err));

	assert_non_null(s);
	assert_null(fastpath_slot_new(fp, 0x1001, "bad", err, sizeof(err)));
	memset(fastpath_slot_hva(s), 0xaa, 0x5000);
	assert_int_equal(fastpath_slot_map(s, 0x123), -EINVAL);
	assert_int_equal(fastpath_slot_map(s, 0xfd000000), 0);
	assert_int_equal(fk.slot_live, 1);
	assert_int_equal(fk.slot_flags, KVM_MEM_LOG_DIRTY_PAGES);
	assert_true(fastpath_slot_fast(s));
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 0), -ENOBUFS);
	/* First query after mapping: everything (five pages). */
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 2), 5);
	assert_int_equal(bitmap[0], 0x1f);
	assert_int_equal(bitmap[1], 0);
	/* Then what KVM logged, without bits past the slot's end. */
	fk.dirty_bits = 0x3c | (1ULL << 40);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 3);
	assert_int_equal(bitmap[0], 0x1c);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 0);
	/* A move reports everything once more. */
	assert_int_equal(fastpath_slot_map(s, 0xfc000000), 0);
	assert_int_equal(fk.slot_moves, 1);
	assert_int_equal(fk.slot_gpa, 0xfc000000);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 5);
	/* Logging off for this slot: every page, every time. */
	assert_int_equal(fastpath_slot_log(s, false), 0);
	assert_int_equal(fk.slot_flags, 0);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 5);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 5);
	assert_int_equal(fastpath_slot_log(s, true), 0);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 5);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 0);
	assert_int_equal(fastpath_slot_map(s, 0), 0);
	assert_int_equal(fk.slot_live, 0);
	assert_int_equal(((uint8_t *)fastpath_slot_hva(s))[0x4fff], 0xaa);
	fastpath_slot_free(s);
	stop();

	accel.dirty_log = false;
	fp = start(&all_caps, accel);
	s = fastpath_slot_new(fp, 0x2000, "fb", err, sizeof(err));
	assert_int_equal(fastpath_slot_map(s, 0xfd000000), 0);
	assert_int_equal(fk.slot_flags, 0);
	assert_false(fastpath_slot_fast(s));
	fk.dirty_bits = 0;
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 2);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 2);
	assert_int_equal(bitmap[0], 3);
	fastpath_slot_free(s);
	assert_int_equal(fk.slot_live, 0);
	stop();
}

static void test_no_host(void **state)
{
	struct fastpath *fp = fastpath_new(NULL, NULL, &VM_ACCEL_DEFAULT, NULL, NULL, NULL);
	char err[128];
	struct fp_slot *s = fastpath_slot_new(fp, 0x1000, "fb", err, sizeof(err));
	uint64_t bitmap[1];
	FILE *f = fopen("/dev/null", "w");

	for (unsigned p = 0; p < FP_NR_PATHS; p++)
		assert_int_equal(fastpath_state(fp, p), FP_OFF_NO_HOST);
	assert_int_equal(fastpath_slot_map(s, 0x1000), -ENOSYS);
	assert_int_equal(fastpath_slot_dirty(s, bitmap, 1), 1);
	fastpath_msi_sink(fp, 0xfee00000, 0x30); /* dropped, logged */
	fastpath_print(fp, f);
	fclose(f);
	fastpath_slot_free(s);
	fastpath_free(fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_doorbell_ioeventfd),
		cmocka_unit_test(test_doorbell_exit),
		cmocka_unit_test(test_doorbell_refused),
		cmocka_unit_test(test_follow_bar),
		cmocka_unit_test(test_intx),
		cmocka_unit_test(test_intx_slow),
		cmocka_unit_test(test_intx_piix3),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_msix_slow),
		cmocka_unit_test(test_irq_gsi),
		cmocka_unit_test(test_irq_msi),
		cmocka_unit_test(test_coalesced),
		cmocka_unit_test(test_slot),
		cmocka_unit_test(test_no_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
