// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PC board without KVM: the machine a guest sees is a contract (PCI IDs
 * and slots, legacy ports, IRQs), so this test pins it; and the board's
 * life cycle (quiesce, reset, resume, pause) and look-ups.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/fw_cfg.h"
#include "devices/vga.h"
#include "devices/virtio/virtio_balloon.h"
#include "devices/virtio/virtio_net.h"
#include "vmm/net_backend.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/piix4_pm.h"
#include "devices/uart16550.h"
#include "vmm/board.h"
#include "vmm/bus.h"
#include "devices/block/block.h"
#include "devices/virtio/virtio_blk.h"
#include "vmm/cli.h"
#include "vmm/disk_stats.h"
#include "vmm/drives.h"
#include "vmm/guest_mem.h"
#include "vmm/irq_mux.h"
#include "vmm/loop.h"
#include "vmm/machine_events.h"
#include "vmm/memmap.h"

/* No drives here, so IDE never watches a completion fd. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return 0;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

struct machine {
	struct vm_config cfg;
	struct memmap map;
	struct guest_ram ram;
	struct guest_mem mem;
	struct bus *pio, *mmio;
	struct irq_mux isa;
	struct machine_events ev;
	bool level[IRQ_MUX_LINES];
	unsigned resets, exits;
	struct board *board;
	char err[256];
};

static void record_irq(void *opaque, unsigned gsi, bool level)
{
	struct machine *m = opaque;

	if (gsi < IRQ_MUX_LINES)
		m->level[gsi] = level;
}

static void on_reset(void *opaque)
{
	((struct machine *)opaque)->resets++;
}

static void on_exit_(void *opaque, int status)
{
	((struct machine *)opaque)->exits++;
}

/* The NICs' backends of the next machine (cfg->nics), or NULL. */
static struct net_backend *const *next_nics;

static struct machine *machine_new_with(void (*tweak)(struct vm_config *),
					const struct drives *drives)
{
	struct machine *m = calloc(1, sizeof(*m));
	struct dev_ctx ctx;
	struct board_backends be = { .drives = drives, .nics = next_nics };

	assert_non_null(m);
	m->cfg = (struct vm_config){ .memory = 64ULL << 20, .cpus = 2, .boot_menu = -1 };
	if (tweak)
		tweak(&m->cfg);
	assert_int_equal(memmap_plan(&m->map, m->cfg.memory, 0, m->err, sizeof(m->err)), 0);
	assert_int_equal(guest_ram_alloc(&m->ram, &m->map, m->err, sizeof(m->err)), 0);
	guest_ram_describe(&m->ram, &m->mem);
	m->pio = bus_create("pio", 0x10000);
	m->mmio = bus_create("mmio", 0);
	irq_mux_init(&m->isa, record_irq, m);
	m->ev = (struct machine_events){ .reset = on_reset, .exit = on_exit_, .opaque = m };
	ctx = (struct dev_ctx){ .pio = m->pio, .mmio = m->mmio, .mem = &m->mem,
				.isa_irqs = &m->isa, .events = &m->ev, .cfg = &m->cfg,
				.map = &m->map };
	m->board = board_create(&ctx, &be, m->err, sizeof(m->err));
	return m;
}

static struct machine *machine_new(void (*tweak)(struct vm_config *))
{
	return machine_new_with(tweak, NULL);
}

static void machine_free(struct machine *m)
{
	board_destroy(m->board);
	bus_destroy(m->pio);
	bus_destroy(m->mmio);
	irq_mux_destroy(&m->isa);
	guest_ram_free(&m->ram);
	free(m);
}

static uint32_t cfg_read(struct machine *m, unsigned devfn, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	bus_write(m->pio, 0xcf8, 0x80000000u | devfn << 8 | (reg & 0xfc), 4);
	bus_read(m->pio, 0xcfc + (reg & 3), size, &v);
	return (uint32_t)v;
}

static void cfg_write(struct machine *m, unsigned devfn, unsigned reg, uint32_t val,
		      unsigned size)
{
	bus_write(m->pio, 0xcf8, 0x80000000u | devfn << 8 | (reg & 0xfc), 4);
	bus_write(m->pio, 0xcfc + (reg & 3), val, size);
}

/* The contract: what Windows 2003 fixed at install time must never move. */
static void test_pci_ids_and_slots(void **state)
{
	static const struct {
		unsigned slot, fn;
		uint32_t id; /* device << 16 | vendor */
		uint32_t class_rev;
	} expect[] = {
		{ 0, 0, 0x12378086, 0x06000002 }, /* i440FX host bridge, rev 2 */
		{ 1, 0, 0x70008086, 0x06010000 }, /* PIIX3 ISA bridge */
		{ 1, 1, 0x70108086, 0x01018000 }, /* PIIX3 IDE, prog-if 0x80 */
		{ 1, 3, 0x71138086, 0x06800003 }, /* PIIX4 PM, rev 3 */
	};
	struct machine *m = machine_new(NULL);

	assert_non_null(m->board);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		unsigned devfn = PCI_DEVFN(expect[i].slot, expect[i].fn);

		assert_int_equal(cfg_read(m, devfn, 0, 4), expect[i].id);
		assert_int_equal(cfg_read(m, devfn, 8, 4) >> 8, expect[i].class_rev >> 8);
	}
	/* 01.2 (UHCI, only with --tablet on), 02.0 (VGA, later) and 03.0 on are empty. */
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 2), 0, 4), 0xffffffffu);
	for (unsigned slot = 2; slot < 32; slot++)
		assert_int_equal(cfg_read(m, PCI_DEVFN(slot, 0), 0, 4), 0xffffffffu);
	/* Multi-function PIIX3 at slot 1. */
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1) & 0x80, 0x80);
	machine_free(m);
}

static void test_legacy_ports(void **state)
{
	struct machine *m = machine_new(NULL);
	uint64_t v = 0;

	assert_non_null(m->board);
	/* COM1's LSR: transmitter empty. */
	assert_true(bus_read(m->pio, 0x3f8 + 5, 1, &v) >= 0);
	assert_int_equal(v & 0x60, 0x60);
	/* The i8042 status port and the RTC index port are claimed. */
	assert_true(bus_read(m->pio, I8042_CMD_PORT, 1, &v) >= 0);
	assert_true(bus_read(m->pio, 0x71, 1, &v) >= 0);
	/* fw_cfg answers its signature. */
	bus_write(m->pio, FW_CFG_PORT_BASE, FW_CFG_SIGNATURE, 2);
	bus_read(m->pio, FW_CFG_PORT_BASE + 1, 1, &v);
	assert_int_equal(v, 'Q');
	/* Without the options, no debug-exit and no debug console. */
	assert_int_equal(bus_read(m->pio, 0xf4, 1, &v), BUS_UNCLAIMED);
	assert_int_equal(bus_read(m->pio, 0x402, 1, &v), BUS_UNCLAIMED);
	machine_free(m);
}

static void want_debug_exit(struct vm_config *cfg)
{
	cfg->debug_exit = true;
}

static void test_optional_rows(void **state)
{
	struct machine *m = machine_new(want_debug_exit);

	assert_non_null(m->board);
	assert_non_null(board_find(m->board, "debug-exit", NULL));
	bus_write(m->pio, 0xf4, 0x10, 1);
	assert_int_equal(m->exits, 1);
	machine_free(m);
}

static void want_balloon(struct vm_config *cfg)
{
	cfg->balloon = (struct cli_balloon){ .on = true, .free_page_reporting = true };
	strcpy(cfg->balloon.id, "balloon0");
}

static void want_modern_balloon(struct vm_config *cfg)
{
	want_balloon(cfg);
	strcpy(cfg->balloon.id, "mb");
	cfg->balloon.transport = 2;
}

/* --balloon: the transitional balloon in the first option slot (03.0 with
 * no disk rows above it), QEMU's IDs, found by its id; RAM size as the
 * target's reference. */
static void test_balloon_row(void **state)
{
	struct machine *m = machine_new(want_balloon);
	struct virtio_balloon *vb;

	assert_non_null(m->board);
	vb = board_find(m->board, "balloon0", &virtio_balloon_type);
	assert_non_null(vb);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10021af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), PCI_SUBSYSTEM_VENDOR, 4), 0x00051af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 8, 4) >> 8, 0x00ff00);
	assert_int_equal(virtio_balloon_ram_size(vb), 64ULL << 20);
	assert_int_equal(virtio_balloon_actual_bytes(vb), 64ULL << 20);
	assert_int_equal(cfg_read(m, PCI_DEVFN(4, 0), 0, 4), 0xffffffffu);
	board_quiesce(m->board);
	board_reset(m->board);
	board_resume(m->board);
	machine_free(m);

	m = machine_new(want_modern_balloon);
	assert_non_null(m->board);
	assert_non_null(board_find(m->board, "mb", &virtio_balloon_type));
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10451af4);
	machine_free(m);
}

static void want_two_nics(struct vm_config *cfg)
{
	cfg->nr_nics = 2;
	for (unsigned i = 0; i < 2; i++) {
		cfg->nics[i] = (struct cli_nic){ .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 + i },
						 .paired = true, .fd = -1 };
	}
	cfg->nics[1].transport = 2;
}

static void want_balloon_and_nics(struct vm_config *cfg)
{
	want_balloon(cfg);
	want_two_nics(cfg);
}

/* --net: the NICs come after the balloon (adding one moves no slot), net0
 * transitional 1af4:1000 with subsystem 1af4:0001, net1 modern 1af4:1041. */
static void test_nic_rows(void **state)
{
	struct net_backend *nics[2];
	struct machine *m;
	int sv[2][2];

	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv[i]), 0);
		nics[i] = net_backend_socket(sv[i][0], false);
		assert_non_null(nics[i]);
	}
	next_nics = nics;
	m = machine_new(want_balloon_and_nics);
	assert_non_null(m->board);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10021af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(4, 0), 0, 4), 0x10001af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(4, 0), PCI_SUBSYSTEM_VENDOR, 4), 0x00011af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(4, 0), 8, 4), 0x02000000);
	assert_int_equal(cfg_read(m, PCI_DEVFN(5, 0), 0, 4), 0x10411af4);
	assert_non_null(board_find(m->board, "net0", &virtio_net_type));
	assert_non_null(board_find(m->board, "net1", &virtio_net_type));
	board_quiesce(m->board);
	board_reset(m->board);
	board_resume(m->board);
	machine_free(m);
	m = machine_new(want_two_nics);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10001af4);
	machine_free(m);
	next_nics = NULL;
	for (unsigned i = 0; i < 2; i++) {
		net_backend_close(nics[i]);
		close(sv[i][1]);
	}
}

static void want_tablet_and_balloon(struct vm_config *cfg)
{
	want_balloon(cfg);
	cfg->tablet = true;
}

/* --tablet on: the UHCI is PIIX3 function 01.2 with INTD (no slot of its
 * own, so the option slots do not move); the reset cycle goes through it. */
static void test_tablet_row(void **state)
{
	struct machine *m = machine_new(want_tablet_and_balloon);

	assert_non_null(m->board);
	assert_non_null(board_find(m->board, "uhci", NULL));
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 2), 0, 4), 0x70208086);
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 2), 8, 4), 0x0c030001);
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 2), PCI_INTERRUPT_PIN, 1), 4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10021af4);
	board_quiesce(m->board);
	board_reset(m->board);
	board_resume(m->board);
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 2), 0x6a, 1), 0x01);
	machine_free(m);
}

static void want_vga_and_balloon(struct vm_config *cfg)
{
	want_balloon(cfg);
	cfg->vga = VGA_STD;
}

/* --vga std: QEMU's std VGA in the slot kept for it, with its ROM; the
 * option slots do not move. */
static void test_vga_row(void **state)
{
	struct machine *m;

	if (access(CLI_DEFAULT_VGA_BIOS, R_OK) != 0)
		skip(); /* Debian's seabios package is not installed */
	m = machine_new(want_vga_and_balloon);
	assert_non_null(m->board);
	assert_non_null(board_find(m->board, "vga", &vga_type));
	assert_int_equal(cfg_read(m, PCI_DEVFN(2, 0), 0, 4), 0x11111234);
	assert_int_equal(cfg_read(m, PCI_DEVFN(2, 0), 8, 4), 0x03000002);
	cfg_write(m, PCI_DEVFN(2, 0), PCI_ROM_ADDRESS, 0xfffff800, 4);
	assert_int_not_equal(cfg_read(m, PCI_DEVFN(2, 0), PCI_ROM_ADDRESS, 4), 0);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10021af4);
	machine_free(m);
	m = machine_new(want_balloon);
	assert_int_equal(cfg_read(m, PCI_DEVFN(2, 0), 0, 4), 0xffffffffu);
	machine_free(m);
}

static void test_find(void **state)
{
	struct machine *m = machine_new(NULL);
	char err[128];

	assert_non_null(m->board);
	assert_non_null(board_find(m->board, "com1", &uart16550_type));
	assert_non_null(board_find(m->board, "com1", NULL));
	/* The right id with the wrong type is not a match. */
	assert_null(board_find(m->board, "com1", &fw_cfg_type));
	assert_null(board_find(m->board, "com2", NULL));
	assert_int_equal(board_control(m->board, "nosuch", "x", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nosuch"));
	assert_int_equal(board_control(m->board, "com1", "x", NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "takes no commands"));
	machine_free(m);
}

/* A reset brings every config space and device register back. */
static void test_reset_cycle(void **state)
{
	struct machine *m = machine_new(NULL);
	uint64_t v = 0;

	assert_non_null(m->board);
	cfg_write(m, PCI_DEVFN(1, 0), 0x60, 0x0b, 1); /* PIRQA -> IRQ 11 */
	cfg_write(m, PCI_DEVFN(1, 3), 0x40, 0xb001, 2); /* PMBA */
	cfg_write(m, PCI_DEVFN(1, 3), 0x80, 0x01, 1);	/* PMREGMISC: decode */
	bus_write(m->pio, 0x3f8 + 3, 0x83, 1);		/* COM1 LCR */
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 0), 0x60, 1), 0x0b);
	assert_true(bus_read(m->pio, 0xb000, 2, &v) >= 0);

	board_quiesce(m->board);
	board_reset(m->board);
	board_resume(m->board);

	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 0), 0x60, 1), 0x80); /* disabled */
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 3), 0x40, 2) & 0xffc0, 0);
	assert_int_equal(bus_read(m->pio, 0xb000, 2, &v), BUS_UNCLAIMED);
	bus_read(m->pio, 0x3f8 + 3, 1, &v);
	assert_int_equal(v, 0x00);
	/* Pause and resume leave state alone. */
	cfg_write(m, PCI_DEVFN(1, 0), 0x61, 0x0a, 1);
	board_pause(m->board);
	board_resume(m->board);
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 0), 0x61, 1), 0x0a);
	machine_free(m);
}

static void direct_boot(struct vm_config *cfg)
{
	cfg->kernel = "bzImage"; /* only the board's presets look at it */
}

/* Without firmware the board programs what SeaBIOS would have, and every
 * reset brings it back. */
static void test_direct_boot_presets(void **state)
{
	struct machine *m = machine_new(direct_boot);
	struct piix4_pm *pm;

	assert_non_null(m->board);
	pm = board_find(m->board, "pm", &piix4_pm_type);
	assert_non_null(pm);
	assert_int_equal(piix4_pm_io_base(pm), 0x600);
	/* The ACPI tables are in RAM where Linux scans for the RSDP. */
	assert_memory_equal(m->ram.low + 0xf0000, "RSD PTR ", 8);
	board_quiesce(m->board);
	board_reset(m->board);
	board_resume(m->board);
	assert_int_equal(piix4_pm_io_base(pm), 0x600);
	assert_int_equal(cfg_read(m, PCI_DEVFN(1, 1), 0x41, 1) & 0x80, 0x80); /* IDETIM */
	machine_free(m);
}

/* ---- virtio disks ---- */

static char vdir[64], vimg[3][96];

/* Three --disk options: virtio (transitional), IDE, virtio (modern). */
static void three_disks(struct vm_config *cfg)
{
	char *argv[] = { "minivmm", "--cpus", "2", "--boot", "c", "--disk", NULL, "--disk",
			 vimg[1], "--disk", NULL, NULL };
	char spec0[160], spec2[160];
	uint64_t memory = cfg->memory;

	snprintf(spec0, sizeof(spec0), "file=%s,if=virtio,serial=DISK0", vimg[0]);
	snprintf(spec2, sizeof(spec2), "file=%s,if=virtio,transport=modern,num-queues=3",
		 vimg[2]);
	argv[6] = spec0;
	argv[10] = spec2;
	/* parsed in place: the drives point into their own copies */
	assert_int_equal(cli_parse(11, argv, cfg, stdout, stderr), CLI_RUN);
	cfg->memory = memory ? memory : cfg->memory;
}

static void ide_first(struct vm_config *cfg)
{
	char *argv[] = { "minivmm", "--boot", "order=dc", "--disk", vimg[1], "--disk", NULL,
			 "--cdrom", "", NULL };
	char spec[160];
	uint64_t memory = cfg->memory;

	snprintf(spec, sizeof(spec), "file=%s,if=virtio,transport=legacy", vimg[0]);
	argv[6] = spec;
	assert_int_equal(cli_parse(9, argv, cfg, stdout, stderr), CLI_RUN);
	cfg->memory = memory ? memory : cfg->memory;
}

static int make_images(void **state)
{
	strcpy(vdir, "/tmp/test_board_XXXXXX");
	assert_non_null(mkdtemp(vdir));
	for (unsigned i = 0; i < 3; i++) {
		FILE *f;

		snprintf(vimg[i], sizeof(vimg[i]), "%s/d%u.img", vdir, i);
		f = fopen(vimg[i], "w");
		assert_non_null(f);
		assert_int_equal(ftruncate(fileno(f), (1 + i) << 20), 0);
		fclose(f);
	}
	return 0;
}

static int remove_images(void **state)
{
	for (unsigned i = 0; i < 3; i++)
		unlink(vimg[i]);
	rmdir(vdir);
	return 0;
}

/* The fw_cfg file name through the ports, as SeaBIOS reads it. */
static void read_fw_file(struct machine *m, const char *name, char *buf, size_t len)
{
	struct fw_cfg *fw = board_find(m->board, "fw_cfg", &fw_cfg_type);
	int key = fw ? fw_cfg_file_key(fw, name) : -1;

	memset(buf, 0, len);
	if (key < 0)
		return;
	bus_write(m->pio, FW_CFG_PORT_BASE, (uint64_t)key, 2);
	for (size_t i = 0; i + 1 < len; i++) {
		uint64_t v = 0;

		bus_read(m->pio, FW_CFG_PORT_BASE + 1, 1, &v);
		buf[i] = (char)v;
	}
}

/* Row per virtio disk: ids in option order, slots 03.0, 04.0 in option
 * order whatever IDE disks sit between, nothing after; bootorder c is the
 * first --disk. */
static void test_virtio_disk_rows(void **state)
{
	struct vm_config cfg = { 0 };
	struct drives d;
	struct machine *m;
	char err[256], boot[256];

	three_disks(&cfg);
	if (drives_open(&d, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	m = machine_new_with(three_disks, &d);
	if (!m->board)
		fail_msg("board: %s", m->err);
	assert_non_null(board_find(m->board, "virtio-blk0", &virtio_blk_type));
	assert_non_null(board_find(m->board, "virtio-blk1", &virtio_blk_type));
	assert_null(board_find(m->board, "virtio-blk2", NULL));
	/* 03.0 transitional 1af4:1001 (subsystem 1af4:0002), 04.0 modern 1af4:1042 */
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10011af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0x2c, 4), 0x00021af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(4, 0), 0, 4), 0x10421af4);
	/* class: mass storage, SCSI */
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 8, 4) >> 8, 0x010000);
	for (unsigned slot = 5; slot < 32; slot++)
		assert_int_equal(cfg_read(m, PCI_DEVFN(slot, 0), 0, 4), 0xffffffffu);
	assert_int_equal(cfg_read(m, PCI_DEVFN(2, 0), 0, 4), 0xffffffffu); /* VGA's */
	read_fw_file(m, "bootorder", boot, sizeof(boot));
	assert_string_equal(boot, "/pci@i0cf8/scsi@3/disk@0,0\n");
	/* the life cycle with them on the board: a reset clears what firmware
	 * programmed, the IDs stay */
	cfg_write(m, PCI_DEVFN(3, 0), 0x10, 0xc001, 4); /* BAR0 (I/O) */
	cfg_write(m, PCI_DEVFN(3, 0), 4, 0x0007, 2);	/* I/O, memory, bus master */
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 4, 2) & 7, 7);
	board_pause(m->board);
	board_resume(m->board);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 4, 2) & 7, 7);
	board_quiesce(m->board);
	board_reset(m->board);
	board_resume(m->board);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 4, 2) & 7, 0);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10011af4);
	assert_int_equal(cfg_read(m, PCI_DEVFN(4, 0), 0, 4), 0x10421af4);
	/* --stats: one entry per virtio disk, in board order, nothing done yet */
	{
		json_t *st = disk_stats_json(m->board), *e;

		assert_int_equal(json_array_size(st), 2);
		e = json_array_get(st, 0);
		assert_string_equal(json_string_value(json_object_get(e, "id")), "virtio-blk0");
		assert_int_equal(json_integer_value(json_object_get(e, "queues")), 2);
		assert_int_equal(json_integer_value(json_object_get(
					 json_object_get(e, "requests"), "in")),
				 0);
		e = json_array_get(st, 1);
		assert_string_equal(json_string_value(json_object_get(e, "id")), "virtio-blk1");
		assert_int_equal(json_integer_value(json_object_get(e, "queues")), 3);
		assert_int_equal(json_array_size(json_object_get(e, "per_queue")), 3);
		json_decref(st);
	}
	machine_free(m);
	drives_close(&d);

	ide_first(&cfg);
	if (drives_open(&d, &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	m = machine_new_with(ide_first, &d);
	if (!m->board)
		fail_msg("board: %s", m->err);
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0x10011af4); /* legacy: 1001 too */
	assert_int_equal(cfg_read(m, PCI_DEVFN(4, 0), 0, 4), 0xffffffffu);
	read_fw_file(m, "bootorder", boot, sizeof(boot));
	assert_string_equal(boot, "/pci@i0cf8/ide@1,1/drive@1/disk@0\n"
				  "/pci@i0cf8/ide@1,1/drive@0/disk@0\n");
	machine_free(m);
	drives_close(&d);

	/* without virtio disks: no rows, 03.0 stays empty */
	m = machine_new(NULL);
	assert_non_null(m->board);
	assert_null(board_find(m->board, "virtio-blk0", NULL));
	assert_int_equal(cfg_read(m, PCI_DEVFN(3, 0), 0, 4), 0xffffffffu);
	{
		json_t *st = disk_stats_json(m->board);

		assert_int_equal(json_array_size(st), 0);
		json_decref(st);
	}
	machine_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_ids_and_slots),
		cmocka_unit_test(test_legacy_ports),
		cmocka_unit_test(test_optional_rows),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_balloon_row),
		cmocka_unit_test(test_nic_rows),
		cmocka_unit_test(test_tablet_row),
		cmocka_unit_test(test_vga_row),
		cmocka_unit_test(test_reset_cycle),
		cmocka_unit_test(test_direct_boot_presets),
		cmocka_unit_test_setup_teardown(test_virtio_disk_rows, make_images, remove_images),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
