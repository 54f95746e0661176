// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fast-path wrappers of vmm/kvm.c against the local /dev/kvm, with a
 * few real-mode instructions run by one vCPU: an ioeventfd fires on the
 * guest's write (and only with its value); an irqfd raises the line (read
 * back from the PIC with KVM_GET_IRQCHIP); the dirty log names the page the
 * guest wrote; a slot moved keeps its memory, a removed one is gone and its
 * id comes back; MSI routes; the coalesced ring holds the guest's writes in
 * order.  Exits 77 without a usable /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/kvm.h"

#define RAM_SIZE  0x10000 /* below the slots the tests add */
#define CODE_ADDR 0x1000

struct machine {
	struct kvm kvm;
	uint8_t *ram;
	int vcpu;
	struct kvm_run *run;
};

static int setup(void **state)
{
	static struct machine m;
	char err[256];
	struct kvm_sregs s;

	memset(&m, 0, sizeof(m));
	if (kvm_init(&m.kvm, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvm_init: %s\n", err);
		return -1;
	}
	m.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m.ram == MAP_FAILED ||
	    kvm_map_memory(&m.kvm, 0, RAM_SIZE, m.ram, false, err, sizeof(err)) < 0)
		return -1;
	m.vcpu = ioctl(m.kvm.vm_fd, KVM_CREATE_VCPU, 0UL);
	if (m.vcpu < 0)
		return -1;
	m.run = mmap(NULL, (size_t)m.kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, m.vcpu, 0);
	if (m.run == MAP_FAILED || ioctl(m.vcpu, KVM_GET_SREGS, &s) < 0)
		return -1;
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(m.vcpu, KVM_SET_SREGS, &s) < 0)
		return -1;
	*state = &m;
	return 0;
}

static int teardown(void **state)
{
	struct machine *m = *state;

	munmap(m->run, (size_t)m->kvm.run_size);
	close(m->vcpu);
	kvm_close(&m->kvm);
	munmap(m->ram, RAM_SIZE);
	return 0;
}

/* Runs code (at CODE_ADDR, real mode, DS = 0) until it exits to us. */
static unsigned run_code(struct machine *m, const uint8_t *code, size_t len)
{
	struct kvm_regs r = {.rip = CODE_ADDR, .rflags = 2};

	/* Let KVM finish an access the last run left to us (an MMIO read). */
	m->run->immediate_exit = 1;
	ioctl(m->vcpu, KVM_RUN, 0);
	m->run->immediate_exit = 0;
	memcpy(m->ram + CODE_ADDR, code, len);
	assert_int_equal(ioctl(m->vcpu, KVM_SET_REGS, &r), 0);
	for (;;) {
		assert_int_equal(ioctl(m->vcpu, KVM_RUN, 0), 0);
		if (m->run->exit_reason != KVM_EXIT_INTR)
			return m->run->exit_reason;
	}
}

static void assert_io_exit(struct machine *m, unsigned exit, uint16_t port)
{
	assert_int_equal(exit, KVM_EXIT_IO);
	assert_int_equal(m->run->io.port, port);
}

static uint64_t read_counter(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_caps(void **state)
{
	struct machine *m = *state;

	kvm_describe_caps(&m->kvm, stderr);
	assert_true(m->kvm.caps.nr_slots >= 32);
}

/* out 0x520 (value 1: no match, exits), out 0x520 (0x600d: the eventfd,
 * no exit), out 0x80. */
static void test_ioeventfd(void **state)
{
	static const uint8_t code[] = {
	    0xba, 0x20, 0x05,			/* mov dx, 0x520 */
	    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
	    0x66, 0xef,				/* out dx, eax */
	    0x66, 0xb8, 0x0d, 0x60, 0x00, 0x00, /* mov eax, 0x600d */
	    0x66, 0xef,				/* out dx, eax */
	    0xe6, 0x80,				/* out 0x80, al */
	    0xeb, 0xfe,				/* jmp $ */
	};
	struct machine *m = *state;
	int fd = eventfd(0, EFD_NONBLOCK);

	if (!m->kvm.caps.ioeventfd)
		skip();
	assert_true(fd >= 0);
	assert_int_equal(kvm_ioeventfd(&m->kvm, fd, true, 0x520, 4, true, 0x600d, true), 0);
	assert_int_equal(kvm_ioeventfd(&m->kvm, fd, true, 0x520, 3, false, 0, true), -EINVAL);
	assert_io_exit(m, run_code(m, code, sizeof(code)), 0x520);
	assert_int_equal(read_counter(fd), 0);
	assert_int_equal(ioctl(m->vcpu, KVM_RUN, 0), 0);
	assert_io_exit(m, m->run->exit_reason, 0x80);
	assert_int_equal(read_counter(fd), 1);
	/* Deassigned: the matching write exits again. */
	assert_int_equal(kvm_ioeventfd(&m->kvm, fd, true, 0x520, 4, true, 0x600d, false), 0);
	assert_io_exit(m, run_code(m, code, sizeof(code)), 0x520);
	assert_int_equal(ioctl(m->vcpu, KVM_RUN, 0), 0);
	assert_io_exit(m, m->run->exit_reason, 0x520);
	close(fd);
}

/* MMIO, any length, no datamatch: a byte and a word write to 0xd0008 both
 * signal; a write next to it exits. */
static void test_ioeventfd_mmio(void **state)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0xd0,	      /* mov ax, 0xd000 */
		0x8e, 0xd8,		      /* mov ds, ax */
		0xc6, 0x06, 0x08, 0x00, 0x01, /* mov byte [8], 1 */
		0xc7, 0x06, 0x08, 0x00, 0x34, 0x12, /* mov word [8], 0x1234 */
		0xc6, 0x06, 0x0c, 0x00, 0x02, /* mov byte [0xc], 2 */
		0xeb, 0xfe,
	};
	struct machine *m = *state;
	int fd = eventfd(0, EFD_NONBLOCK);

	if (!m->kvm.caps.ioeventfd || !m->kvm.caps.ioeventfd_any)
		skip();
	assert_int_equal(kvm_ioeventfd(&m->kvm, fd, false, 0xd0008, 0, true, 1, true), -EINVAL);
	assert_int_equal(kvm_ioeventfd(&m->kvm, fd, false, 0xd0008, 0, false, 0, true), 0);
	assert_int_equal(run_code(m, code, sizeof(code)), KVM_EXIT_MMIO);
	assert_int_equal(m->run->mmio.phys_addr, 0xd000c);
	assert_int_equal(read_counter(fd), 2);
	assert_int_equal(kvm_ioeventfd(&m->kvm, fd, false, 0xd0008, 0, false, 0, false), 0);
	close(fd);
}

static bool pic_irr(struct machine *m, unsigned irq)
{
	struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_PIC_MASTER};

	assert_int_equal(ioctl(m->kvm.vm_fd, KVM_GET_IRQCHIP, &chip), 0);
	return chip.chip.pic.irr & (1u << irq);
}

/* irqfd injection runs on a kernel worker: wait for it a little. */
static bool wait_irr(struct machine *m, unsigned irq)
{
	for (int i = 0; i < 1000; i++) {
		if (pic_irr(m, irq))
			return true;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return false;
}

static void test_irqfd(void **state)
{
	struct machine *m = *state;
	int fd = eventfd(0, EFD_NONBLOCK), rfd = eventfd(0, EFD_NONBLOCK);
	uint64_t one = 1;

	if (!m->kvm.caps.irqfd)
		skip();
	assert_int_equal(kvm_reset_irqchip(&m->kvm), 0);
	assert_false(pic_irr(m, 5));
	assert_int_equal(kvm_irqfd(&m->kvm, fd, 5, -1, true), 0);
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	assert_true(wait_irr(m, 5));
	assert_int_equal(kvm_irqfd(&m->kvm, fd, 5, -1, false), 0);
	/* A level line with a resample fd, on IRQ 7. */
	if (m->kvm.caps.irqfd_resample) {
		assert_false(pic_irr(m, 7));
		assert_int_equal(kvm_irqfd(&m->kvm, fd, 7, rfd, true), 0);
		assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
		assert_true(wait_irr(m, 7));
		assert_int_equal(kvm_irqfd(&m->kvm, fd, 7, rfd, false), 0);
	}
	close(fd);
	close(rfd);
}

/*
 * A level line through an irqfd with a resample fd, end to end: the guest
 * programs the PIC (IRQ 7 level-triggered through ELCR, vector 0x0f) and
 * halts; the host raises the line through the irqfd; the guest's ISR sends
 * EOI, and KVM lowers the line and signals the resample fd.
 *
 *	cli; xor ax, ax; mov ds, ax; mov ss, ax; mov sp, 0xff0
 *	mov word [0x3c], isr; mov word [0x3e], 0
 *	ICW1-4: 0x11, 0x08, 0x04, 0x01; OCW1 0x7f; ELCR 0x4d0 = 0x80
 *	out 0x80, al; sti; .wait: hlt; jmp .wait
 * isr:	mov al, 0x20; out 0x20, al; out 0x81, al; iret
 */
static void test_irqfd_resample_eoi(void **state)
{
	static const uint8_t code[] = {
		0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0xf0, 0x0f, 0xc7, 0x06, 0x3c,
		0x00, 0x36, 0x10, 0xc7, 0x06, 0x3e, 0x00, 0x00, 0x00, 0xb0, 0x11, 0xe6, 0x20,
		0xb0, 0x08, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21, 0xb0,
		0x7f, 0xe6, 0x21, 0xba, 0xd0, 0x04, 0xb0, 0x80, 0xee, 0xe6, 0x80, 0xfb, 0xf4,
		0xeb, 0xfd, 0xb0, 0x20, 0xe6, 0x20, 0xe6, 0x81, 0xcf,
	};
	struct machine *m = *state;
	int fd = eventfd(0, EFD_NONBLOCK), rfd = eventfd(0, EFD_NONBLOCK);
	uint64_t one = 1;

	if (!m->kvm.caps.irqfd || !m->kvm.caps.irqfd_resample)
		skip();
	assert_int_equal(kvm_reset_irqchip(&m->kvm), 0);
	assert_int_equal(kvm_irqfd(&m->kvm, fd, 7, rfd, true), 0);
	assert_io_exit(m, run_code(m, code, sizeof(code)), 0x80);
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	do
		assert_int_equal(ioctl(m->vcpu, KVM_RUN, 0), 0);
	while (m->run->exit_reason == KVM_EXIT_INTR);
	assert_io_exit(m, m->run->exit_reason, 0x81);
	assert_int_equal(read_counter(rfd), 1);
	assert_false(pic_irr(m, 7)); /* lowered at the EOI */
	assert_int_equal(kvm_irqfd(&m->kvm, fd, 7, rfd, false), 0);
	assert_int_equal(kvm_reset_irqchip(&m->kvm), 0);
	close(fd);
	close(rfd);
}

/* DS = 0x1000; mov byte [0x2000], 0x5a; out 0x80; mov al, [ds:0x2000]
 * (after the slot moved: DS = 0x2000); out 0x81. */
static void test_slots_and_dirty_log(void **state)
{
	static const uint8_t write_code[] = {
	    0xb8, 0x00, 0x10,		  /* mov ax, 0x1000 */
	    0x8e, 0xd8,			  /* mov ds, ax */
	    0xc6, 0x06, 0x00, 0x20, 0x5a, /* mov byte [0x2000], 0x5a */
	    0xe6, 0x80,			  /* out 0x80, al */
	    0xeb, 0xfe,
	};
	static const uint8_t read_code[] = {
	    0xb8, 0x00, 0x20, /* mov ax, 0x2000 */
	    0x8e, 0xd8,	      /* mov ds, ax */
	    0xa0, 0x00, 0x20, /* mov al, [0x2000] */
	    0xe6, 0x81,	      /* out 0x81, al */
	    0xeb, 0xfe,
	};
	struct machine *m = *state;
	uint8_t *mem =
	    mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t bitmap[1] = {0};
	int slot, again;

	assert_true(mem != MAP_FAILED);
	slot = kvm_slot_add(&m->kvm, 0x10000, 0x4000, mem, KVM_MEM_LOG_DIRTY_PAGES);
	assert_true(slot > 0);
	assert_int_equal(kvm_slot_add(&m->kvm, 0x10001, 0x4000, mem, 0), -EINVAL);
	assert_int_equal(kvm_slot_get_dirty(&m->kvm, slot, bitmap, 1), 0);
	assert_io_exit(m, run_code(m, write_code, sizeof(write_code)), 0x80);
	assert_int_equal(mem[0x2000], 0x5a);
	assert_int_equal(kvm_slot_get_dirty(&m->kvm, slot, bitmap, 1), 0);
	assert_int_equal(bitmap[0], 1u << 2);
	/* Read again: clear. */
	assert_int_equal(kvm_slot_get_dirty(&m->kvm, slot, bitmap, 1), 0);
	assert_int_equal(bitmap[0], 0);
	/* Logging off: no bitmap to read. */
	assert_int_equal(kvm_slot_log_dirty(&m->kvm, slot, false), 0);
	assert_int_equal(kvm_slot_get_dirty(&m->kvm, slot, bitmap, 1), -EINVAL);

	/* Moved to 0x20000 the guest finds the byte there. */
	assert_int_equal(kvm_slot_move(&m->kvm, slot, 0x20000), 0);
	assert_io_exit(m, run_code(m, read_code, sizeof(read_code)), 0x81);
	assert_int_equal(*((uint8_t *)m->run + m->run->io.data_offset), 0x5a);

	/* Removed: the read is MMIO; the id is the next one handed out. */
	assert_int_equal(kvm_slot_remove(&m->kvm, slot), 0);
	assert_int_equal(kvm_slot_remove(&m->kvm, slot), -ENOENT);
	assert_int_equal(run_code(m, read_code, sizeof(read_code)), KVM_EXIT_MMIO);
	assert_int_equal(m->run->mmio.phys_addr, 0x22000);
	again = kvm_slot_add(&m->kvm, 0x30000, 0x4000, mem, 0);
	assert_int_equal(again, slot);
	assert_int_equal(kvm_slot_remove(&m->kvm, again), 0);
	munmap(mem, 0x4000);
}

static void test_msi_routes(void **state)
{
	struct machine *m = *state;
	int gsi, gsi2;

	if (!m->kvm.caps.irq_routing)
		skip();
	gsi = kvm_msi_route_add(&m->kvm, 0xfee00000, 0x4030);
	assert_true(gsi >= KVM_IRQCHIP_GSIS);
	gsi2 = kvm_msi_route_add(&m->kvm, 0xfee00000, 0x4031);
	assert_true(gsi2 > gsi);
	assert_int_equal(kvm_msi_route_set(&m->kvm, (unsigned)gsi, 0xfee01000, 0x4032), 0);
	assert_int_equal(kvm_msi_route_set(&m->kvm, 3, 0xfee01000, 0x4032), -ENOENT);
	assert_int_equal(kvm_msi_route_del(&m->kvm, (unsigned)gsi), 0);
	assert_int_equal(kvm_msi_route_add(&m->kvm, 0xfee00000, 0x4033), gsi);
	assert_int_equal(kvm_msi_route_del(&m->kvm, (unsigned)gsi), 0);
	assert_int_equal(kvm_msi_route_del(&m->kvm, (unsigned)gsi2), 0);
	/* More routes than the table first has room for. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(kvm_msi_route_add(&m->kvm, 0xfee00000, 0x4000 + (uint32_t)i),
				 KVM_IRQCHIP_GSIS + i);
	for (int i = 0; i < 100; i++)
		assert_int_equal(kvm_msi_route_del(&m->kvm, (unsigned)(KVM_IRQCHIP_GSIS + i)), 0);
	/* The irqchip routes stay: an irqfd on GSI 5 still works. */
	if (m->kvm.caps.signal_msi)
		assert_true(kvm_signal_msi(&m->kvm, 0xfee00000, 0x4030) >= 0);
}

/* Four byte writes to 0xd0000 (no RAM there: MMIO), then out 0x80. */
static void test_coalesced_ring(void **state)
{
	static const uint8_t code[] = {
	    0xb8, 0x00, 0xd0,		  /* mov ax, 0xd000 */
	    0x8e, 0xd8,			  /* mov ds, ax */
	    0xc6, 0x06, 0x00, 0x00, 0x11, /* mov byte [0], 0x11 */
	    0xc6, 0x06, 0x01, 0x00, 0x22, /* mov byte [1], 0x22 */
	    0xc6, 0x06, 0x00, 0x00, 0x33, /* mov byte [0], 0x33 */
	    0xe6, 0x80,			  /* out 0x80, al */
	    0xeb, 0xfe,
	};
	static const uint8_t want[][2] = {{0, 0x11}, {1, 0x22}, {0, 0x33}};
	struct machine *m = *state;
	struct kvm_coalesced_mmio_ring *ring;
	unsigned max = 0;

	if (!m->kvm.caps.coalesced_mmio)
		skip();
	ring = kvm_coalesced_ring(&m->kvm, m->run, &max);
	assert_non_null(ring);
	assert_true(max > 100);
	assert_int_equal(kvm_coalesced_zone(&m->kvm, false, 0xd0000, 0x1000, true), 0);
	assert_io_exit(m, run_code(m, code, sizeof(code)), 0x80);
	assert_int_equal((ring->last - ring->first + max) % max, 3);
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[(ring->first + i) % max];

		assert_int_equal(e->phys_addr, 0xd0000 + want[i][0]);
		assert_int_equal(e->len, 1);
		assert_int_equal(e->data[0], want[i][1]);
	}
	ring->first = ring->last;
	assert_int_equal(kvm_coalesced_zone(&m->kvm, false, 0xd0000, 0x1000, false), 0);
	assert_int_equal(run_code(m, code, sizeof(code)), KVM_EXIT_MMIO);
	assert_int_equal(ring->first, ring->last);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_ioeventfd),
		cmocka_unit_test(test_ioeventfd_mmio),
		cmocka_unit_test(test_irqfd),
		cmocka_unit_test(test_irqfd_resample_eoi),
		cmocka_unit_test(test_slots_and_dirty_log),
		cmocka_unit_test(test_msi_routes),
		cmocka_unit_test(test_coalesced_ring),
	};
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("SKIP: /dev/kvm not available (%s)\n", strerror(errno));
		return 77;
	}
	close(fd);
	return cmocka_run_group_tests(tests, setup, teardown);
}
