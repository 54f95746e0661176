// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PC board: the one place where the machine a guest sees is written
 * down (shared/design.md has the picture).  pc_table() lists every device
 * with its address, IRQ or PCI slot; board_create() makes them in that
 * order, links the few that the hardware links, and fills the firmware
 * interface.  The guest-visible shape (IDs, slots, ports, IRQs, ACPI) is a
 * contract: Windows fixes its HAL, IDE and ACPI drivers at install time, so
 * a row that exists is never changed; a new device gets a new row and, on
 * PCI, a new slot (pci_bus_alloc_slot() from 03.0 on, in option order).
 */
#include "vmm/board.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/block/block.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/fw_cfg.h"
#include "devices/i440fx.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "devices/piix4_pm.h"
#include "devices/piix_ide.h"
#include "devices/port92.h"
#include "devices/post_port.h"
#include "devices/reset_control.h"
#include "devices/rtc_cmos.h"
#include "devices/testdev.h"
#include "devices/uart16550.h"
#include "devices/uhci.h"
#include "devices/vga.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_balloon.h"
#include "devices/virtio/virtio_net.h"
#include "vmm/cli.h"
#include "vmm/drives.h"
#include "vmm/fastpath.h"
#include "vmm/pc_firmware.h"

struct board_dev {
	struct board_entry e;
	void *state;
};

struct board {
	struct dev_ctx ctx;
	struct board_dev *dev;
	unsigned nr;
	/* The typed configurations the rows point to. */
	struct uart16550_backend com1;
	struct rtc_cmos_args rtc;
	struct piix_ide_args ide;
	struct virtio_blk_args vblk[CLI_MAX_VIRTIO_DISKS]; /* cfg->vdisks order */
	unsigned vblk_slot[CLI_MAX_VIRTIO_DISKS];	    /* where they land, for bootorder */
	unsigned nic_slot[CLI_MAX_NICS]; /* where the NICs landed, for bootorder */
	bool nic_rom[CLI_MAX_NICS];	 /* ... and whether they carry an option ROM */
	struct virtio_balloon_args balloon;
	struct virtio_net_args nic[CLI_MAX_NICS]; /* cfg->nics order */
	struct uhci_args uhci;
	struct vga_args vga;
};

#define ISA(port_, irq_) .port = (port_), .irq = (irq_), .devfn = -1
#define PCI(slot_, fn_, irq_) .irq = (irq_), .devfn = (int)PCI_DEVFN(slot_, fn_)
/* A device added by an option: the next free slot from 03.0, in table order. */
#define PCI_OPTION .irq = -1, .devfn = -1

/* Virtio disk i (the i-th --disk if=virtio): row "virtio-blkI" when it exists. */
#define VIRTIO_BLK_ROW(i)                                                                     \
	{ { &virtio_blk_type, "virtio-blk" #i, PCI_OPTION, .arg = &b->vblk[i] },              \
	  (i) < cfg->nr_vdisks }

/* NIC i (the i-th --net nic or lone --net tap): row "netI" when it exists. */
#define VIRTIO_NET_ROW(i)                                                                     \
	{ { &virtio_net_type, "net" #i, PCI_OPTION, .arg = &b->nic[i] }, (i) < cfg->nr_nics }

/*
 * The machine.  Rows are created, quiesced, reset and resumed top to
 * bottom and destroyed bottom to top.  A row whose `when` is false is not
 * on this board.
 */
struct board_row {
	struct board_entry e;
	bool when;
};

static struct board_row *pc_table(struct board *b, const struct board_backends *be,
				  unsigned *nr)
{
	const struct vm_config *cfg = b->ctx.cfg;
	const struct board_row table[] = {
		/* PCI bus 0 */
		{ { &i440fx_type, "i440fx", PCI(0, 0, -1) }, true },
		{ { &piix3_type, "piix3", PCI(1, 0, -1) }, true },
		{ { &piix_ide_type, "ide", PCI(1, 1, -1), .arg = &b->ide }, true },
		/* USB with the tablet on port 1: a PIIX3 function, QEMU's 01.2. */
		{ { &uhci_type, "uhci", PCI(1, 2, -1), .arg = &b->uhci }, cfg->tablet },
		{ { &piix4_pm_type, "pm", PCI(1, 3, PIIX4_PM_SCI_IRQ) }, true },
		/* 02.0 is VGA's (reserved when there is none); devices added by
		 * options take 03.0 and on. */
		{ { &vga_type, "vga", PCI(2, 0, -1), .arg = &b->vga }, cfg->vga == VGA_STD },
		VIRTIO_BLK_ROW(0), VIRTIO_BLK_ROW(1), VIRTIO_BLK_ROW(2), VIRTIO_BLK_ROW(3),
		VIRTIO_BLK_ROW(4), VIRTIO_BLK_ROW(5), VIRTIO_BLK_ROW(6), VIRTIO_BLK_ROW(7),
		VIRTIO_BLK_ROW(8), VIRTIO_BLK_ROW(9), VIRTIO_BLK_ROW(10), VIRTIO_BLK_ROW(11),
		VIRTIO_BLK_ROW(12), VIRTIO_BLK_ROW(13), VIRTIO_BLK_ROW(14), VIRTIO_BLK_ROW(15),

		/* The balloon follows the disks (and any PCI device above it),
		 * so that adding it moves no slot another device had. */
		{ { &virtio_balloon_type, cfg->balloon.id, .irq = -1, .devfn = -1,
		    .arg = &b->balloon }, cfg->balloon.on },
		/* The NICs follow the balloon, so that adding one moves no
		 * slot another device had. */
		VIRTIO_NET_ROW(0), VIRTIO_NET_ROW(1), VIRTIO_NET_ROW(2), VIRTIO_NET_ROW(3),
		VIRTIO_NET_ROW(4), VIRTIO_NET_ROW(5), VIRTIO_NET_ROW(6), VIRTIO_NET_ROW(7),

		/* ISA and legacy ports */
		{ { &reset_control_type, "reset-control", ISA(0xcf9, -1) }, true },
		{ { &port92_type, "port92", ISA(0x92, -1) }, true },
		{ { &i8042_type, "i8042", ISA(I8042_DATA_PORT, I8042_KBD_IRQ) }, true },
		{ { &rtc_cmos_type, "rtc", ISA(0x70, 8), .arg = &b->rtc }, true },
		{ { &uart16550_type, "com1", ISA(0x3f8, 4), .arg = &b->com1 }, true },
		{ { &fw_cfg_type, "fw_cfg", ISA(FW_CFG_PORT_BASE, -1) }, true },
		{ { &post_port_type, "post", ISA(POST_PORT, -1) }, true },
		{ { &debug_exit_type, "debug-exit", ISA(0xf4, -1) }, cfg->debug_exit },
		{ { &debugcon_type, "debugcon", ISA(DEBUGCON_PORT, -1), .arg = be->debugcon },
		  be->debugcon != NULL },
		{ { &testdev_type, "testdev", ISA(TESTDEV_PORT, TESTDEV_IRQ) }, cfg->testdev },
	};
	const size_t n = sizeof(table) / sizeof(table[0]);
	struct board_row *rows = malloc(sizeof(table));

	*nr = 0;
	for (size_t i = 0; rows && i < n; i++)
		if (table[i].when)
			rows[(*nr)++] = table[i];
	return rows;
}

/* The balloon's pages go back to the host: the guest RAM is an anonymous
 * private mapping, which reads as zeroes once discarded (KVM follows
 * through its MMU notifier). */
static int discard_ram(void *opaque, void *hva, size_t len)
{
	(void)opaque;
	return madvise(hva, len, MADV_DONTNEED) < 0 ? -errno : 0;
}

static void place_balloon(struct virtio_balloon_args *a, const struct vm_config *cfg)
{
	long ps = sysconf(_SC_PAGESIZE);

	*a = (struct virtio_balloon_args){
		.transport = (enum virtio_transport)cfg->balloon.transport,
		.deflate_on_oom = cfg->balloon.deflate_on_oom,
		.free_page_reporting = cfg->balloon.free_page_reporting,
		.ram_size = cfg->memory,
		.host_page_size = ps > 0 ? (size_t)ps : 4096,
		.discard = discard_ram,
	};
}

/* romfile=, or the default iPXE ROM when it is installed and the NIC has
 * the transitional ID it is built for (1af4:1000); NULL for none. */
static const char *nic_rom(const struct cli_nic *n)
{
	if (!n->romfile[0])
		return NULL;
	if (n->rom_default &&
	    (n->transport == VIRTIO_TRANSPORT_MODERN || access(n->romfile, R_OK) < 0))
		return NULL;
	return n->romfile;
}

static void place_nics(struct board *b, const struct board_backends *be)
{
	const struct vm_config *cfg = b->ctx.cfg;

	_Static_assert(CLI_MAX_NICS == 8, "one VIRTIO_NET_ROW per NIC");
	for (unsigned i = 0; i < cfg->nr_nics && i < CLI_MAX_NICS; i++) {
		const struct cli_nic *n = &cfg->nics[i];

		b->nic[i] = (struct virtio_net_args){
		    .backend = be->nics ? be->nics[i] : NULL,
		    .transport = (enum virtio_transport)n->transport,
		    .rom_path = nic_rom(n),
		};
		memcpy(b->nic[i].mac, cfg->nics[i].mac, 6);
	}
}

/* --disk fills primary master, primary slave, secondary slave; the CD-ROM
 * is the secondary master, as QEMU's -hda..-hdd and -cdrom. */
static void place_drives(struct piix_ide_args *ide, const struct drives *d)
{
	memset(ide, 0, sizeof(*ide));
	if (!d)
		return;
	for (unsigned i = 0; i < d->nr_disks && i < CLI_MAX_DISKS; i++)
		ide->drive[drives_disk_pos[i][0]][drives_disk_pos[i][1]] = d->disk[i];
	if (d->has_cdrom) {
		ide->drive[DRIVES_CDROM_CHANNEL][DRIVES_CDROM_UNIT] = d->cdrom;
		ide->cdrom[DRIVES_CDROM_CHANNEL][DRIVES_CDROM_UNIT] = true;
	}
}

/* The virtio disks' configurations, and the slots their rows will take:
 * they are the first option rows, so disk i lands on 03.0 + i (the board's
 * unit test checks it). */
static void place_virtio_disks(struct board *b, const struct drives *d)
{
	const struct vm_config *cfg = b->ctx.cfg;

	_Static_assert(CLI_MAX_VIRTIO_DISKS == 16, "one VIRTIO_BLK_ROW per virtio disk");
	_Static_assert(CLI_MAX_VIRTIO_QUEUES == VIRTIO_BLK_MAX_QUEUES, "queues");
	_Static_assert(CLI_MAX_VIRTIO_SERIAL == VIRTIO_BLK_ID_BYTES, "serial");
	for (unsigned i = 0; i < cfg->nr_vdisks && i < CLI_MAX_VIRTIO_DISKS; i++) {
		b->vblk[i] = (struct virtio_blk_args){
			.bd = d && i < d->nr_vdisks ? d->vdisk[i] : NULL,
			.serial = cfg->vdisks[i].serial,
			.num_queues = cfg->vdisks[i].num_queues,
			.transport = (enum virtio_transport)cfg->vdisks[i].transport,
		};
		b->vblk_slot[i] = PCI_SLOT_FIRST_OPTION + i;
	}
}

/* The links the hardware has between devices, made where a reader sees
 * them: the host bridge passes byte accesses at 0xcf9 (inside its address
 * port's dword) to the PIIX3 reset control register. */
static int link_devices(struct board *b, char *err, size_t errlen)
{
	struct i440fx *host = board_find(b, "i440fx", &i440fx_type);
	struct reset_control *rc = board_find(b, "reset-control", &reset_control_type);

	if (!host || !rc) {
		snprintf(err, errlen, "the board lacks its host bridge or reset control");
		return -1;
	}
	i440fx_set_cf9(host, &reset_control_bus_ops, rc);
	return 0;
}

struct board *board_create(const struct dev_ctx *ctx, const struct board_backends *be, char *err,
			   size_t errlen)
{
	struct board *b = calloc(1, sizeof(*b));
	struct pc_firmware_devices fw;
	struct board_row *rows = NULL;
	unsigned nr = 0;

	if (!b) {
		snprintf(err, errlen, "out of memory creating the board");
		return NULL;
	}
	b->ctx = *ctx;
	b->ctx.pci = pci_bus_create(ctx->pio, ctx->mmio);
	if (!b->ctx.pci) {
		snprintf(err, errlen, "out of memory creating PCI bus 0");
		goto fail;
	}
	/* MSIs of PCI functions: KVM_SIGNAL_MSI. */
	if (ctx->fastpath)
		pci_bus_set_msi_sink(b->ctx.pci, fastpath_msi_sink, ctx->fastpath);
	b->com1 = be->com1;
	b->rtc.localtime = ctx->cfg->rtc_localtime;
	place_drives(&b->ide, be->drives);
	place_virtio_disks(b, be->drives);
	place_balloon(&b->balloon, ctx->cfg);
	place_nics(b, be);
	b->uhci.tablet = true;
	b->vga.bios_path = CLI_DEFAULT_VGA_BIOS;

	rows = pc_table(b, be, &nr);
	b->dev = rows ? calloc(nr, sizeof(*b->dev)) : NULL;
	if (!b->dev) {
		snprintf(err, errlen, "out of memory creating the board");
		goto fail;
	}
	for (unsigned i = 0; i < nr; i++) {
		void *state;

		if (board_find(b, rows[i].e.id, NULL)) {
			snprintf(err, errlen, "two devices named '%s' on the board", rows[i].e.id);
			goto fail;
		}
		state = rows[i].e.type->create(&b->ctx, &rows[i].e, err, errlen);
		if (!state)
			goto fail;
		b->dev[b->nr++] = (struct board_dev){ rows[i].e, state };
	}
	/* bootorder names the slots place_virtio_disks() expects: hold it to that. */
	for (unsigned i = 0; i < ctx->cfg->nr_vdisks && i < CLI_MAX_VIRTIO_DISKS; i++) {
		if (pci_config_read(b->ctx.pci, PCI_DEVFN(b->vblk_slot[i], 0), 0, 2) != 0x1af4) {
			snprintf(err, errlen, "virtio-blk%u is not in PCI slot %02x.0", i,
				 b->vblk_slot[i]);
			goto fail;
		}
	}
	/* The NICs' slots, for a network boot order: where each landed. */
	for (unsigned i = 0; i < ctx->cfg->nr_nics && i < CLI_MAX_NICS; i++) {
		char id[16];
		struct virtio_net *vn;

		snprintf(id, sizeof(id), "net%u", i);
		vn = board_find(b, id, &virtio_net_type);
		b->nic_slot[i] =
		    vn ? PCI_SLOT(pci_dev_devfn(virtio_pci_dev(virtio_net_transport(vn)))) : 0;
		b->nic_rom[i] = b->nic[i].rom_path != NULL;
	}
	fw = (struct pc_firmware_devices){
	    .fw_cfg = board_find(b, "fw_cfg", &fw_cfg_type),
	    .rtc = board_find(b, "rtc", &rtc_cmos_type),
	    .ide = board_find(b, "ide", &piix_ide_type),
	    .pm = board_find(b, "pm", &piix4_pm_type),
	    .vblk_slot = b->vblk_slot,
	    .nic_slot = b->nic_slot,
	    .nic_rom = b->nic_rom,
	};
	if (link_devices(b, err, errlen) < 0 || pc_firmware_setup(&fw, &b->ctx, err, errlen) < 0)
		goto fail;
	/* What the config spaces hold now is the power-on state. */
	pci_bus_seal(b->ctx.pci);
	free(rows);
	return b;
fail:
	free(rows);
	board_destroy(b);
	return NULL;
}

void board_destroy(struct board *b)
{
	if (!b)
		return;
	for (unsigned i = b->nr; i-- > 0;)
		if (b->dev[i].e.type->destroy)
			b->dev[i].e.type->destroy(b->dev[i].state);
	free(b->dev);
	pci_bus_destroy(b->ctx.pci);
	free(b);
}

#define FOR_EACH_HOOK(b, hook)                                                                \
	for (unsigned i__ = 0; i__ < (b)->nr; i__++)                                          \
		if ((b)->dev[i__].e.type->hook)                                               \
			(b)->dev[i__].e.type->hook((b)->dev[i__].state)

void board_quiesce(struct board *b)
{
	FOR_EACH_HOOK(b, quiesce);
}

void board_reset(struct board *b)
{
	FOR_EACH_HOOK(b, reset);
	/* Config spaces back to their sealed state; the functions' own reset
	 * hooks (IDE, PM) run from here. */
	pci_bus_reset(b->ctx.pci);
}

void board_resume(struct board *b)
{
	FOR_EACH_HOOK(b, resume);
}

void board_pause(struct board *b)
{
	FOR_EACH_HOOK(b, pause);
}

void *board_find(struct board *b, const char *id, const struct device_type *type)
{
	for (unsigned i = 0; i < b->nr; i++)
		if (!strcmp(b->dev[i].e.id, id) && (!type || b->dev[i].e.type == type))
			return b->dev[i].state;
	return NULL;
}

int board_control(struct board *b, const char *id, const char *command, struct json_t *args,
		  struct json_t **reply, char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->nr; i++) {
		const struct board_dev *d = &b->dev[i];

		if (strcmp(d->e.id, id))
			continue;
		if (!d->e.type->control) {
			snprintf(err, errlen, "device '%s' takes no commands", id);
			return -1;
		}
		return d->e.type->control(d->state, command, args, reply, err, errlen);
	}
	snprintf(err, errlen, "no device '%s'", id);
	return -1;
}

json_t *board_stats_json(struct board *b, bool reset)
{
	json_t *all = json_object();

	for (unsigned i = 0; all && b && i < b->nr; i++) {
		const struct board_dev *d = &b->dev[i];
		json_t *j;

		if (!d->e.type->stats || !(j = d->e.type->stats(d->state, reset)))
			continue;
		json_object_set_new(all, d->e.id, j);
	}
	return all;
}

void board_for_each(struct board *b, void (*fn)(void *opaque, const struct board_entry *e,
						void *state),
		    void *opaque)
{
	for (unsigned i = 0; i < b->nr; i++)
		fn(opaque, &b->dev[i].e, b->dev[i].state);
}
