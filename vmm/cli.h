/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line, parsed into a plain configuration. */
#ifndef MINIVMM_CLI_H
#define MINIVMM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/accel.h"

#define CLI_MAX_CPUS 64
#define CLI_DEFAULT_MEMORY (512ULL << 20)
#define CLI_MIN_MEMORY (2ULL << 20)
#define CLI_MAX_MEMORY (1ULL << 40)

#define CLI_DEFAULT_BIOS "/usr/share/seabios/bios-256k.bin"
#define CLI_MAX_DISKS 3 /* primary master, primary slave, secondary slave */
#define CLI_MAX_VIRTIO_DISKS 16 /* --disk if=virtio: PCI slots 03.0 and on */
#define CLI_MAX_VIRTIO_SERIAL 20 /* VIRTIO_BLK_ID_BYTES */
#define CLI_MAX_VIRTIO_QUEUES 16 /* VIRTIO_BLK_MAX_QUEUES */
#define CLI_DEFAULT_VIRTIO_QUEUES_MAX 4 /* default: one queue per vCPU, up to this */
#define CLI_DEFAULT_SHUTDOWN_TIMEOUT 60 /* seconds SIGTERM waits for the guest */
#define CLI_MAX_SHUTDOWN_TIMEOUT 86400
#define CLI_MAX_VNC_DISPLAY 99

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };

/* One drive from --disk or --cdrom; path, format and serial point into
 * spec.  seq is the drive's place among all --disk options (IDE and virtio
 * alike, from 0): boot order and the QMP names follow the command line. */
struct cli_drive {
	char spec[1024];
	const char *path;
	const char *format; /* NULL: probe */
	int cache; /* enum block_cache */
	bool read_only;
	bool snapshot;
	unsigned seq;
	/* if=virtio only */
	const char *serial;  /* GET_ID (printable ASCII, <= 20 bytes); NULL: none */
	unsigned num_queues; /* 1..CLI_MAX_VIRTIO_QUEUES (the default filled in) */
	int transport;	     /* enum virtio_transport; transitional by default */
};
enum stats_mode { STATS_OFF, STATS_TABLE, STATS_JSON };

/* --vga: the display adapter at PCI 00:02.0 (devices/vga.h). */
enum vga_kind { VGA_NONE, VGA_STD };
#define CLI_DEFAULT_VGA_BIOS "/usr/share/seabios/vgabios-stdvga.bin"

#define CLI_BALLOON_DEFAULT_ID "balloon0"

/* --balloon / --device virtio-balloon,...: at most one balloon. */
struct cli_balloon {
	bool on;
	char id[64];
	int transport; /* enum virtio_transport: 0 transitional, 1 legacy, 2 modern */
	bool deflate_on_oom;	  /* default off, as QEMU */
	bool free_page_reporting; /* default on */
};

#define CLI_MAX_NICS 8 /* --net nic / --net tap pairs: PCI slots after the balloon */
#define CLI_IFNAMSIZ 16 /* IFNAMSIZ */
#define CLI_ROMFILE_MAX 512
#define CLI_ROM_MAX	(1 << 20) /* a NIC's option ROM, at most */
/* The NIC's option ROM when romfile= is not given (Debian's ipxe-qemu):
 * used when it is installed and the NIC is not modern-only. */
#define CLI_DEFAULT_NIC_ROM "/usr/lib/ipxe/qemu/pxe-virtio.rom"
#define CLI_USER_OPTS 512

/* One virtio NIC and its tap (--net nic,... paired with --net tap,..., or
 * --net tap,... alone). */
struct cli_nic {
	uint8_t mac[6];	 /* given, or derived from --name and the index */
	bool mac_given;
	int transport;	 /* enum virtio_transport; transitional by default */
	char netdev[32]; /* netdev=ID: the --net tap,id=ID it pairs with; "" the next one */
	bool paired;	 /* it has its backend */
	/* the backend: a tap (ifname or a manager's fd), or user-mode */
	bool user;		      /* --net user: libslirp (vmm/net_slirp.h) */
	char user_opts[CLI_USER_OPTS]; /* its options as given, id= left out */
	char ifname[CLI_IFNAMSIZ];
	int fd; /* fd=N, or -1 */
	/* The option ROM: romfile=, CLI_DEFAULT_NIC_ROM (rom_default), or "". */
	char romfile[CLI_ROMFILE_MAX];
	bool rom_default;
};

struct net_slirp_opts;
/* --net user's options (as in cli_nic.user_opts, edited in place: the
 * strings point into it) into o; 0, or -1 with a line in err. */
int cli_net_user_opts(char *text, struct net_slirp_opts *o, char *err, size_t errlen);

struct vm_config {
	const char *bios;
	uint64_t memory;
	unsigned cpus;
	enum serial_mode serial;
	const char *serial_path;
	bool debug_exit;
	bool testdev; /* --testdev: devices/testdev.h */
	bool no_reboot;
	enum stats_mode stats;
	const char *stats_path;
	const char *kernel, *initrd, *append;
	bool bios_default; /* bios is CLI_DEFAULT_BIOS because none was given */
	struct cli_drive disks[CLI_MAX_DISKS]; /* --disk if=ide, in command-line order */
	unsigned nr_disks;
	struct cli_drive vdisks[CLI_MAX_VIRTIO_DISKS]; /* --disk if=virtio, in order */
	unsigned nr_vdisks;
	struct cli_drive cdrom; /* with has_cdrom; path "": an empty drive */
	bool has_cdrom;
	char boot_order[8]; /* letters c (the first --disk, IDE or virtio) and d (CD), in
			     * order; "" = firmware default */
	int boot_menu; /* -1 unset, 0 off, 1 on */
	unsigned boot_menu_timeout_ms; /* 0: firmware default */
	bool rtc_localtime;
	const char *debugcon_path; /* SeaBIOS debug port 0x402 log */
	struct vm_accel accel; /* --no-ioeventfd and friends; default all on */
	unsigned shutdown_timeout_s; /* --shutdown-timeout: SIGTERM's wait, 0 = none */
	char qmp_path[108];    /* --qmp unix:PATH (sun_path's size); "" none */
	bool qmp_wait;	       /* wait=on: no instruction runs before a client */
	const char *name;      /* --name: query-name, the process title */
	struct cli_balloon balloon;
	bool tablet; /* --tablet on: the UHCI at 00:01.2 with the USB tablet */
	enum vga_kind vga; /* --vga std|none; default none */
	/* --vnc [HOST]:N[,password=on|off] */
	bool vnc;
	char vnc_host[64];	 /* a numeric address as given ("" for ":N": 127.0.0.1) */
	unsigned vnc_display;	 /* port 5900 + N, N 0..CLI_MAX_VNC_DISPLAY */
	bool vnc_password;	 /* password=on or --vnc-password-file */
	const char *vnc_password_file; /* its first line is the initial password */
	const char *keymap;	 /* --keymap: the guest's layout (vmm/keymap.h); NULL en-us */
	const char *screendump_on_exit; /* --screendump-on-exit FILE (PPM, or PNG by suffix) */
	struct cli_nic nics[CLI_MAX_NICS]; /* in command-line order */
	unsigned nr_nics;
};

enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_ERROR };

/* Parses argv into cfg (defaults first).  --help and --version print to out
 * and give CLI_EXIT_OK; a bad option prints one line naming the problem to
 * err and gives CLI_ERROR (exit status 2). */
enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err);

/* "512M", "2G", "1048576", "64K": bytes, or -1 on a malformed or
 * overflowing size. */
int cli_parse_size(const char *s, uint64_t *bytes);

/*
 * The files the configuration names, checked before anything is started,
 * so that a failed start changes no file: inputs (--bios, --kernel,
 * --initrd) exist, are regular and readable, and --kernel has a bzImage
 * header; outputs (--serial file:, --debugcon, --stats=json:) can be
 * written (an existing file is opened without truncating it, a new one is
 * neither created nor left behind) and name no input and no other output.
 * Gives 0, or -1 with one line naming the option and the file in err.
 */
int cli_check_files(const struct vm_config *cfg, char *err, size_t errlen);

/* The output half of that check, for one file. */
int cli_check_output(const char *opt, const char *path, char *err, size_t errlen);

/* The real open of an output file at start: created or truncated.  Gives a
 * file descriptor (O_CLOEXEC), or -1 with a line naming opt and path. */
int cli_open_output(const char *opt, const char *path, char *err, size_t errlen);

#endif
