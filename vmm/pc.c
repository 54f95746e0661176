// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PC platform: PCI, chipset functions, fw_cfg and legacy ports.
 */
#include "vmm/pc.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/block.h"
#include "devices/fw_cfg.h"
#include "devices/i440fx.h"
#include "devices/pci.h"
#include "devices/piix_ide.h"
#include "devices/piix3.h"
#include "devices/piix4_pm.h"
#include "devices/reset_control.h"
#include "firmware/acpi.h"
#include "firmware/smbios.h"
#include "vmm/e820.h"
#include "vmm/kvm.h"
#include "vmm/vm.h"

#define DEBUGCON_PORT 0x402
#define POST_PORT     0x80
#define PC_PM_BASE    0x600 /* what SeaBIOS programs when it gets a table-loader */

/* Direct Linux boot: where the tables go when no firmware places them.
 * 0xe0000-0xfffff is RAM Linux's E820 does not offer, and where it scans
 * for the RSDP and the SMBIOS anchor. */
#define DIRECT_ACPI_TABLES  0xe0000
#define DIRECT_ACPI_MAX     0x10000
#define DIRECT_ACPI_RSDP    0xf0000
#define DIRECT_SMBIOS_ANCHOR 0xf0100
#define DIRECT_SMBIOS_TABLES 0xf1000
#define DIRECT_SMBIOS_MAX    0xe000

struct pc {
	struct pci_bus *pci;
	struct i440fx *host;
	struct piix3 *isa;
	struct piix4_pm *pm;
	struct piix_ide *ide;
	struct fw_cfg *fw_cfg;
	FILE *debugcon;
	struct block_dev *disk[CLI_MAX_DISKS];
	struct block_dev *cdrom;
};

/* ---- small legacy ports ---- */

/* SeaBIOS keeps its log on port 0x402 only if a read returns 0xe9
 * (seabios-interface.md §8). */
static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0xe9;
}

static void debugcon_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct pc *pc = opaque;

	(void)offset;
	if (pc->debugcon && size == 1) {
		fputc((int)(value & 0xff), pc->debugcon);
		if (value == '\n')
			fflush(pc->debugcon);
	}
}

static const struct bus_ops debugcon_ops = { .read = debugcon_read, .write = debugcon_write };

/* POST codes: firmware writes them, nobody reads them. */
static void sink_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)value;
	(void)size;
}

static const struct bus_ops post_ops = { .write = sink_write };

/* ---- drives ---- */

static int open_drive(const struct cli_drive *d, bool cdrom, struct block_dev **out, char *err,
		      size_t errlen)
{
	struct block_opts o = {
		.format = d->format,
		.read_only = d->read_only || cdrom,
		.snapshot = d->snapshot,
		.cache = (enum block_cache)d->cache,
	};
	char why[256];
	int ret = block_open(out, d->path, &o, why, sizeof(why));

	if (ret < 0) {
		/* Name the image when the block layer's reason does not. */
		if (strstr(why, d->path))
			snprintf(err, errlen, "%s: %s", cdrom ? "--cdrom" : "--disk", why);
		else
			snprintf(err, errlen, "%s: '%s': %s", cdrom ? "--cdrom" : "--disk", d->path,
				 why);
		return -1;
	}
	/* What IDE refuses to attach: name the file rather than "Invalid argument". */
	if (block_size(*out) < (cdrom ? 2048 : 512)) {
		snprintf(err, errlen, "%s: '%s' is %s (%llu bytes; a %s needs at least %u)",
			 cdrom ? "--cdrom" : "--disk", d->path, block_size(*out) ? "too small" : "empty",
			 (unsigned long long)block_size(*out), cdrom ? "CD-ROM" : "disk",
			 cdrom ? 2048 : 512);
		return -1;
	}
	return 0;
}

int pc_prepare(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct pc *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vm->pc = pc;
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		if (open_drive(&cfg->disks[i], false, &pc->disk[i], err, errlen) < 0)
			return -1;
	if (cfg->has_cdrom && open_drive(&cfg->cdrom, true, &pc->cdrom, err, errlen) < 0)
		return -1;
	return 0;
}

/* The --debugcon file is created only now that every check has passed
 * (cli_check_files checked it); until then port 0x402 output is dropped. */
int pc_start_outputs(struct vm *vm, char *err, size_t errlen)
{
	const char *path = vm->cfg->debugcon_path;
	int fd;

	if (!path || vm->pc->debugcon)
		return 0;
	fd = cli_open_output("--debugcon", path, err, errlen);
	if (fd < 0)
		return -1;
	vm->pc->debugcon = fdopen(fd, "w");
	if (!vm->pc->debugcon) {
		snprintf(err, errlen, "--debugcon: '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/* ---- fw_cfg ---- */

/* The memory map SeaBIOS takes as the truth (etc/e820): RAM, and the pages
 * KVM keeps for itself; SeaBIOS adds its own reservations. */
static int add_e820(struct pc *pc, const struct memmap *map)
{
	struct e820_entry e[4];
	uint8_t buf[sizeof(e) / sizeof(e[0]) * 20];
	unsigned n = 0;

	e[n++] = (struct e820_entry){ 0, map->low_size, E820_RAM };
	e[n++] = (struct e820_entry){ MEMMAP_IDENTITY_MAP, MEMMAP_KVM_PRIV_END - MEMMAP_IDENTITY_MAP,
				      E820_RESERVED };
	if (map->high_size)
		e[n++] = (struct e820_entry){ MEMMAP_4G, map->high_size, E820_RAM };
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = &buf[i * 20];

		for (unsigned b = 0; b < 8; b++) {
			p[b] = (uint8_t)(e[i].addr >> (8 * b));
			p[8 + b] = (uint8_t)(e[i].size >> (8 * b));
		}
		for (unsigned b = 0; b < 4; b++)
			p[16 + b] = (uint8_t)(e[i].type >> (8 * b));
	}
	return fw_cfg_add_file(pc->fw_cfg, "etc/e820", buf, n * 20, false);
}

/* Open Firmware paths SeaBIOS matches its boot devices against. */
static int add_bootorder(struct pc *pc, const struct vm_config *cfg)
{
	char buf[512];
	size_t len = 0;

	buf[0] = '\0';
	for (const char *l = cfg->boot_order; *l; l++) {
		const char *path = NULL;

		if (*l == 'c' && cfg->nr_disks)
			path = "/pci@i0cf8/ide@1,1/drive@0/disk@0";
		else if (*l == 'd' && cfg->has_cdrom)
			path = "/pci@i0cf8/ide@1,1/drive@1/disk@0";
		if (!path || strstr(buf, path))
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n", path);
	}
	if (!len)
		return 0;
	return fw_cfg_add_file(pc->fw_cfg, "bootorder", buf, len, false);
}

static int setup_fw_cfg(struct vm *vm, struct pc *pc)
{
	const struct vm_config *cfg = vm->cfg;
	int ret = 0;

	pc->fw_cfg = fw_cfg_create(&vm->mem);
	if (!pc->fw_cfg)
		return -ENOMEM;
	ret |= fw_cfg_add_u64(pc->fw_cfg, FW_CFG_RAM_SIZE, vm->ram.map.ram_size);
	ret |= fw_cfg_add_u16(pc->fw_cfg, FW_CFG_NB_CPUS, (uint16_t)cfg->cpus);
	ret |= fw_cfg_add_u16(pc->fw_cfg, FW_CFG_MAX_CPUS, (uint16_t)cfg->cpus);
	/* No display yet: SeaBIOS mirrors its screen on COM1 instead. */
	ret |= fw_cfg_add_u16(pc->fw_cfg, FW_CFG_NOGRAPHIC, 1);
	ret |= fw_cfg_add_u16(pc->fw_cfg, FW_CFG_BOOT_MENU, cfg->boot_menu == 1);
	ret |= fw_cfg_add_u32(pc->fw_cfg, FW_CFG_IRQ0_OVERRIDE, 1);
	if (cfg->boot_menu_timeout_ms) {
		uint16_t ms = (uint16_t)cfg->boot_menu_timeout_ms;
		uint8_t le[2] = { (uint8_t)ms, (uint8_t)(ms >> 8) };

		ret |= fw_cfg_add_file(pc->fw_cfg, "etc/boot-menu-wait", le, 2, false);
	}
	ret |= add_e820(pc, &vm->ram.map);
	ret |= add_bootorder(pc, cfg);
	return ret ? -EINVAL : 0;
}

/* ---- ACPI and SMBIOS ---- */

static int setup_tables(struct vm *vm, struct pc *pc, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	const struct memmap *map = &vm->ram.map;
	struct acpi_config ac = {
		.nr_cpus = cfg->cpus,
		.low_ram_end = map->low_size,
		.pm_base = PC_PM_BASE,
	};
	struct smbios_config sc = {
		.nr_cpus = cfg->cpus,
		.ram_below_4g = map->low_size,
		.ram_above_4g = map->high_size,
	};
	struct acpi_blobs ab = { 0 };
	struct smbios_blobs sb = { 0 };
	unsigned eax = 0, ebx, ecx, edx = 0;
	int ret;

	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
		sc.cpuid_signature = eax;
		sc.cpuid_features = edx;
	}
	ret = acpi_build(&ac, &ab);
	if (ret == 0)
		ret = smbios_build(&sc, &sb);
	if (ret == 0 && !cfg->kernel) {
		ret = acpi_install_fw_cfg(pc->fw_cfg, &ab);
		if (ret == 0)
			ret = smbios_install_fw_cfg(pc->fw_cfg, &sb);
	} else if (ret == 0) {
		if (ab.tables_len > DIRECT_ACPI_MAX || sb.tables_len > DIRECT_SMBIOS_MAX)
			ret = -ENOSPC;
		if (ret == 0)
			ret = acpi_install_direct(&vm->mem, &ab, DIRECT_ACPI_TABLES, DIRECT_ACPI_RSDP);
		if (ret == 0)
			ret = smbios_install_direct(&vm->mem, &sb, DIRECT_SMBIOS_ANCHOR,
						    DIRECT_SMBIOS_TABLES);
	}
	acpi_blobs_free(&ab);
	smbios_blobs_free(&sb);
	if (ret < 0)
		snprintf(err, errlen, "cannot build the ACPI/SMBIOS tables: %s", strerror(-ret));
	return ret < 0 ? -1 : 0;
}

/* ---- IDE ---- */

static int setup_ide(struct vm *vm, struct pc *pc, const struct irq_line *isa_irq, char *err,
		     size_t errlen)
{
	/* --disk fills primary master, primary slave, secondary slave;
	 * the CD-ROM is the secondary master, as QEMU's -hda..-hdd/-cdrom. */
	static const unsigned disk_slot[CLI_MAX_DISKS][2] = { { 0, 0 }, { 0, 1 }, { 1, 1 } };
	int ret = 0;

	pc->ide = piix_ide_create(pc->pci, PCI_DEVFN(1, 1), vm->pio, isa_irq, &vm->mem, vm->loop,
				  err, errlen);
	if (!pc->ide)
		return -1;
	for (unsigned i = 0; i < CLI_MAX_DISKS && ret == 0; i++)
		if (pc->disk[i])
			ret = ide_attach_disk(piix_ide_channel(pc->ide, disk_slot[i][0]),
					      disk_slot[i][1], pc->disk[i]);
	if (ret == 0 && vm->cfg->has_cdrom)
		ret = ide_attach_cdrom(piix_ide_channel(pc->ide, 1), 0, pc->cdrom);
	/* Without a BIOS nobody turns the channels' decoding on. */
	if (vm->cfg->kernel)
		piix_ide_preset_decode(pc->ide);
	if (ret < 0) {
		snprintf(err, errlen, "cannot attach the drives: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

/* ---- assembly ---- */

static void pc_reset(void *opaque)
{
	struct pc *pc = opaque;

	i440fx_reset(pc->host);
	pci_bus_reset(pc->pci);
	fw_cfg_reset(pc->fw_cfg);
}

static int place(struct vm *vm, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name, char *err, size_t errlen)
{
	int ret = bus_register(vm->pio, base, len, ops, opaque, name);

	if (ret < 0) {
		snprintf(err, errlen, "cannot place %s at port 0x%llx: %s", name,
			 (unsigned long long)base, strerror(-ret));
		return -1;
	}
	return 0;
}

int pc_create(struct vm *vm, char *err, size_t errlen)
{
	struct pc *pc = vm->pc;
	struct irq_line isa_irq, ide_irq, sci;

	/* The PIIX3 router, the IDE channels and the SCI each get a source of
	 * their own on the wired-OR ISA lines (the router and IDE name the
	 * IRQ per call). */
	if (irq_mux_line(&vm->isa_irqs, 0, &isa_irq) < 0 ||
	    irq_mux_line(&vm->isa_irqs, 0, &ide_irq) < 0 ||
	    irq_mux_line(&vm->isa_irqs, PIIX4_PM_SCI_IRQ, &sci) < 0)
		goto nomem;
	pc->pci = pci_bus_create(vm->pio, vm->mmio);
	if (!pc->pci)
		goto nomem;
	pc->host = i440fx_create(pc->pci);
	pc->isa = pc->host ? piix3_create(pc->pci, &isa_irq) : NULL;
	if (!pc->isa)
		goto nomem;
	i440fx_set_cf9(pc->host, &reset_control_bus_ops, vm->reset_control);
	if (place(vm, PCI_CONF_ADDR_PORT, 4, &i440fx_conf_addr_ops, pc->host, "pci-conf-addr", err,
		  errlen) < 0 ||
	    place(vm, PCI_CONF_DATA_PORT, 4, &i440fx_conf_data_ops, pc->host, "pci-conf-data", err,
		  errlen) < 0)
		return -1;

	pc->pm = piix4_pm_create(pc->pci, PIIX4_PM_DEVFN, vm->pio, &sci, &vm->events, vm->loop);
	if (!pc->pm)
		goto nomem;
	if (place(vm, PIIX4_PM_APM_PORT, PIIX4_PM_APM_NR_PORTS, &piix4_pm_apm_bus_ops, pc->pm, "apm",
		  err, errlen) < 0 ||
	    place(vm, PIIX4_GPE0_PORT, PIIX4_GPE0_NR_PORTS, &piix4_pm_gpe_bus_ops, pc->pm, "gpe0", err,
		  errlen) < 0)
		return -1;
	/* Without a BIOS nobody programs PMBA; the ACPI tables say 0x600. */
	if (vm->cfg->kernel)
		piix4_pm_preset_pmba(pc->pm, PC_PM_BASE);

	if (setup_ide(vm, pc, &ide_irq, err, errlen) < 0)
		return -1;

	if (setup_fw_cfg(vm, pc) < 0) {
		snprintf(err, errlen, "cannot set up fw_cfg");
		return -1;
	}
	if (setup_tables(vm, pc, err, errlen) < 0)
		return -1;
	if (place(vm, FW_CFG_PORT_BASE, FW_CFG_PORT_SIZE, &fw_cfg_port_ops, pc->fw_cfg, "fw_cfg",
		  err, errlen) < 0 ||
	    place(vm, FW_CFG_DMA_BASE, FW_CFG_DMA_SIZE, &fw_cfg_dma_ops, pc->fw_cfg, "fw_cfg-dma",
		  err, errlen) < 0 ||
	    place(vm, POST_PORT, 1, &post_ops, pc, "post", err, errlen) < 0)
		return -1;
	/* Only when asked for, as in QEMU: SeaBIOS then skips its log. */
	if (vm->cfg->debugcon_path &&
	    place(vm, DEBUGCON_PORT, 1, &debugcon_ops, pc, "debugcon", err, errlen) < 0)
		return -1;

	pci_bus_seal(pc->pci);
	vm_add_reset_hook(vm, pc_reset, pc);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory creating the PC platform");
	return -1;
}

void pc_destroy(struct vm *vm)
{
	struct pc *pc = vm->pc;

	if (!pc)
		return;
	piix_ide_destroy(pc->ide);
	for (unsigned i = 0; i < CLI_MAX_DISKS; i++)
		if (pc->disk[i])
			block_close(pc->disk[i]);
	if (pc->cdrom)
		block_close(pc->cdrom);
	if (pc->debugcon)
		fclose(pc->debugcon);
	if (pc->fw_cfg)
		fw_cfg_destroy(pc->fw_cfg);
	piix4_pm_destroy(pc->pm);
	piix3_destroy(pc->isa);
	i440fx_destroy(pc->host);
	pci_bus_destroy(pc->pci);
	free(pc);
	vm->pc = NULL;
}
