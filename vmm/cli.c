// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command line.  cli_parse() walks argv once with getopt_long and hands
 * each option to the function for its family (machine, drives, boot,
 * devices, behaviour); every bad value ends the parse with one line naming
 * the option.  The files the options name are checked separately
 * (cli_check_files), before anything is opened for writing.
 */
#include "vmm/cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "devices/block/block.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/keymap.h"
#include "vmm/net_slirp.h"

/* Keep in step with options[] and the parse_* functions: test_cli checks
 * that every option here is accepted and every accepted one is here. */
static const char usage[] =
	"Usage: minivmm [OPTIONS]\n"
	"Runs a PC virtual machine on /dev/kvm.\n"
	"\n"
	"Machine:\n"
	"  -m, --memory SIZE      guest RAM in bytes or with a K/M/G/T suffix (KiB, MB\n"
	"                         and the like too), 2M..1T in 4K steps (default 512M)\n"
	"      --cpus N           number of vCPUs, 1..64 (default 1)\n"
	"      --bios FILE        firmware image, 64 KiB..16 MiB in 64 KiB steps,\n"
	"                         mapped read-only ending at 4 GiB (default:\n"
	"                         " CLI_DEFAULT_BIOS ", SeaBIOS)\n"
	"      --kernel FILE      boot a Linux bzImage directly, without a BIOS (so not\n"
	"                         with --bios)\n"
	"      --initrd FILE      initial ramdisk for --kernel\n"
	"      --append STRING    kernel command line for --kernel\n"
	"\n"
	"Drives: up to 3 IDE disks (PIIX3), one IDE CD-ROM and 16 virtio disks\n"
	"      --disk PATH        a hard disk (raw or qcow2, probed), PATH without '='\n"
	"                         (commas in it are kept); the first fills the\n"
	"                         primary master, then primary slave, then secondary\n"
	"                         slave\n"
	"      --disk file=PATH[,media=disk|cdrom][,if=ide][,format=raw|qcow2]\n"
	"             [,cache=MODE][,readonly=on|off][,snapshot=on|off]\n"
	"                         the same with options, each at most once; MODE is\n"
	"                         writeback (default), writethrough, none, directsync\n"
	"                         or unsafe; media=cdrom makes it the CD-ROM drive\n"
	"      --disk file=PATH,if=virtio[,format=,cache=,readonly=,snapshot=]\n"
	"             [,serial=S][,num-queues=N][,transport=T]\n"
	"                         a virtio-blk disk on PCI (slots 03.0 and on, in\n"
	"                         option order); S is its ID, printable ASCII without\n"
	"                         commas, at most 20 bytes (default MINIVMM- and a\n"
	"                         hash of the image's path); N queues, 1..16\n"
	"                         (default one per vCPU, at most 4); T is\n"
	"                         transitional (default), legacy or modern; serial=,\n"
	"                         num-queues= and transport= are for if=virtio only\n"
	"      --cdrom PATH       an ISO image in the CD-ROM drive (secondary master)\n"
	"      --cdrom file=PATH[,...]  the same options as --disk, media=disk makes\n"
	"                         it a hard disk; a CD-ROM is always read-only;\n"
	"                         --cdrom '' or an empty file= gives an empty drive\n"
	"                         (tray closed, no disc) to load a disc into later\n"
	"      --boot [order=]LETTERS[,menu=on|off][,splash-time=MS]\n"
	"                         boot order: c the first --disk (IDE or virtio), d\n"
	"                         the CD-ROM, n the first NIC's option ROM (network\n"
	"                         boot; e.g. order=dc, up to 7 letters;\n"
	"                         once=LETTERS is the same as order);\n"
	"                         menu=on shows SeaBIOS's boot menu (press Esc) for\n"
	"                         MS 0..65535 ms (menu-timeout=MS is the same)\n"
	"\n"
	"Devices:\n"
	"      --rtc [base=]localtime|utc  the CMOS clock runs in local time (as\n"
	"                         Windows expects) or UTC (default)\n"
	"      --debugcon FILE    write what the firmware prints to port 0x402 to FILE\n"
	"      --serial MODE      COM1: stdio (default), file:PATH or none;\n"
	"                         with stdio on a terminal, Ctrl-A x quits\n"
	"      --debug-exit       a write of V to port 0xf4 ends minivmm with\n"
	"                         exit status (V << 1) | 1\n"
	"      --testdev          the fast-path test device (ports 0x520-0x53f, IRQ 5,\n"
	"                         MMIO 0xfef00000), for tests of the KVM fast paths\n"
	"      --balloon          a virtio memory balloon, id balloon0, with the\n"
	"                         defaults below (--balloon virtio, QEMU's old\n"
	"                         -balloon spelling, is the same); at most one\n"
	"                         balloon\n"
	"      --device virtio-balloon[,id=NAME][,transport=legacy|transitional|modern]\n"
	"             [,deflate-on-oom=on|off][,free-page-reporting=on|off]\n"
	"                         the balloon with options: NAME (default balloon0)\n"
	"                         gives its QOM path /machine/peripheral/NAME;\n"
	"                         transitional (default) has both interfaces;\n"
	"                         deflate-on-oom defaults to off,\n"
	"                         free-page-reporting to on (legacy drivers too;\n"
	"                         QEMU's default is off)\n"
	"\n"
	"Network (at most 8 NICs, each a virtio-net on PCI after the disks and the\n"
	"balloon, with a backend of its own; no helper script is ever run):\n"
	"      --net nic[,model=virtio][,macaddr=MAC][,transport=legacy|transitional|modern]\n"
	"             [,netdev=ID][,romfile=[FILE]]\n"
	"                         a virtio NIC (1af4:1000); its backend is the next\n"
	"                         --net tap, or the --net tap,id=ID that netdev=\n"
	"                         names.  MAC: a unicast address; default\n"
	"                         52:54:00:12:34:56 plus the NIC's index, or with\n"
	"                         --name one derived from the name and the index.\n"
	"                         romfile=FILE: its option ROM (default\n"
	"                         " CLI_DEFAULT_NIC_ROM "\n"
	"                         when installed, for network boot with\n"
	"                         --boot order=n; romfile= empty: none)\n"
	"      --net user[,id=ID][,hostfwd=[tcp|udp]:[HOSTADDR]:PORT-[GUESTADDR]:PORT]...\n"
	"             [,restrict=on|off][,net=ADDR[/PREFIX]][,dns=ADDR][,tftp=DIR]\n"
	"             [,bootfile=FILE]\n"
	"                         user-mode networking (libslirp, no privileges):\n"
	"                         QEMU's 10.0.2.0/24, gateway .2, DNS .3, DHCP from\n"
	"                         .15, IPv6 fec0::/64; hostfwd= (any number, up to\n"
	"                         16) forwards a host port to the guest (default\n"
	"                         guest address .15); alone it brings its own NIC\n"
	"      --net tap,ifname=NAME|fd=N[,id=ID][,script=no][,downscript=no]\n"
	"                         the tap NAME (created if missing, which needs\n"
	"                         CAP_NET_ADMIN) or the open tap fd N a manager\n"
	"                         handed over; alone it brings its own virtio NIC.\n"
	"                         Offloads with vnet headers when the kernel has\n"
	"                         them; one queue pair (no multiqueue yet)\n"
	"\n"
	"Display:\n"
	"      --tablet on|off    a USB tablet (QEMU's usb-tablet, absolute pointer) on\n"
	"                         the PIIX3 UHCI controller at 00:01.2 (default on\n"
	"                         with --vnc, else off)\n"
	"      --vga std|none     the display adapter at PCI 00:02.0: std is QEMU's\n"
	"                         standard VGA (1234:1111, Bochs VBE, 16 MiB linear\n"
	"                         framebuffer, SeaVGABIOS in its ROM); none leaves\n"
	"                         02.0 empty.  Default: std with --vnc, else none\n"
	"      --vnc [HOST]:N[,password=on|off]\n"
	"                         a VNC server (RFB, and websockets for noVNC on the\n"
	"                         same port) on port 5900+N, N 0..99; HOST is a\n"
	"                         numeric address, 127.0.0.1 by default; 0.0.0.0:N\n"
	"                         or [::]:N listen on every address; password=on\n"
	"                         lets in only clients that give the password set\n"
	"                         by QMP set_password or change-vnc-password, or\n"
	"                         read from --vnc-password-file (nobody before)\n"
	"      --vnc-password-file FILE  the VNC password: FILE's first line, 1 to 8\n"
	"                         characters (VNC uses only 8; longer is refused);\n"
	"                         implies password=on\n"
	"      --keymap LAYOUT    the guest's keyboard layout, for VNC clients that\n"
	"                         send key symbols: en-us (default), en-gb, de, fr\n"
	"      --screendump-on-exit FILE  when minivmm ends after the VM ran, write\n"
	"                         the screen to FILE (PNG if FILE ends in .png,\n"
	"                         else PPM)\n"
	"\n"
	"KVM fast paths (all on by default):\n"
	"      --no-ioeventfd, --no-irqfd, --no-coalesced-mmio, --no-dirty-log\n"
	"                         turn off a KVM fast path (for comparing exit paths);\n"
	"                         the device falls back to ordinary exits\n"
	"\n"
	"Control:\n"
	"      --qmp unix:PATH[,server=on][,wait=on|off]\n"
	"                         a QMP control socket at PATH (QEMU's spelling),\n"
	"                         created 0600, a stale one replaced; wait=on (the\n"
	"                         default, as in QEMU) holds the VM before its first\n"
	"                         instruction until a client connects; 'server' and\n"
	"                         'nowait' are the old spellings; ',,' is a comma\n"
	"      --name NAME        the VM's name (query-name, the process title)\n"
	"\n"
	"Behaviour:\n"
	"      --no-reboot        exit with status 0 instead of rebooting\n"
	"      --shutdown-timeout SECONDS  on SIGTERM, press the ACPI power button and\n"
	"                         wait this long (0..86400, default 60) for the guest\n"
	"                         to power off, then quit; 0 quits at once\n"
	"      --stats            at exit, print VM-exit statistics to stderr\n"
	"      --stats=json:PATH  at exit, write them as JSON to PATH\n"
	"  -h, --help             show this help and exit\n"
	"      --version          show the version and exit\n"
	"\n"
	"A value follows its option after a space or '=' (--cpus 2, --cpus=2, -m 1G,\n"
	"-m1G).  An option with a value may be given once (--disk and --cdrom once\n"
	"per drive), a switch any number of times; long options are not abbreviated;\n"
	"on|off may also be written yes|no or true|false.  Output files (--serial\n"
	"file:, --debugcon, --stats=json:) are created or truncated only once every\n"
	"option and file has been checked.\n"
	"\n"
	"Signals: SIGTERM presses the power button (see --shutdown-timeout); a second\n"
	"SIGTERM, SIGINT, SIGHUP or SIGQUIT quits at once.  Quitting flushes every disk.\n"
	"\n"
	"Exit status: 0 when the guest powers off or resets with --no-reboot, or on\n"
	"SIGINT/SIGTERM/SIGHUP/SIGQUIT; 1 on a runtime error; 2 on a bad command line\n"
	"or file; (V << 1) | 1 when the guest writes V to the debug-exit port.\n";

/* ---- values ---- */

int cli_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	/* strtoull would skip blanks and take a sign: only digits may start */
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default:
		return -1;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static bool on_off(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

/* ---- the option table ---- */

enum {
	OPT_MEMORY = 'm', OPT_HELP = 'h',
	OPT_BIOS = 256, OPT_CPUS, OPT_SERIAL, OPT_DEBUG_EXIT, OPT_NO_REBOOT, OPT_STATS,
	OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_VERSION, OPT_DISK, OPT_CDROM, OPT_BOOT, OPT_RTC,
	OPT_DEBUGCON, OPT_NO_IOEVENTFD, OPT_NO_IRQFD, OPT_NO_COALESCED_MMIO, OPT_NO_DIRTY_LOG,
	OPT_SHUTDOWN_TIMEOUT, OPT_TESTDEV, OPT_QMP, OPT_NAME, OPT_BALLOON, OPT_DEVICE, OPT_TABLET,
	OPT_VGA, OPT_VNC, OPT_VNC_PASSWORD_FILE, OPT_KEYMAP, OPT_SCREENDUMP_ON_EXIT, OPT_NET,
	OPT_END
};

static const struct option options[] = {
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "bios", required_argument, NULL, OPT_BIOS },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "cdrom", required_argument, NULL, OPT_CDROM },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "rtc", required_argument, NULL, OPT_RTC },
	{ "debugcon", required_argument, NULL, OPT_DEBUGCON },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "debug-exit", no_argument, NULL, OPT_DEBUG_EXIT },
	{ "testdev", no_argument, NULL, OPT_TESTDEV },
	{ "vga", required_argument, NULL, OPT_VGA },
	{ "balloon", optional_argument, NULL, OPT_BALLOON },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "net", required_argument, NULL, OPT_NET },
	{ "tablet", required_argument, NULL, OPT_TABLET },
	{ "no-ioeventfd", no_argument, NULL, OPT_NO_IOEVENTFD },
	{ "no-irqfd", no_argument, NULL, OPT_NO_IRQFD },
	{ "no-coalesced-mmio", no_argument, NULL, OPT_NO_COALESCED_MMIO },
	{ "no-dirty-log", no_argument, NULL, OPT_NO_DIRTY_LOG },
	{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "stats", optional_argument, NULL, OPT_STATS },
	{ "vnc", required_argument, NULL, OPT_VNC },
	{ "vnc-password-file", required_argument, NULL, OPT_VNC_PASSWORD_FILE },
	{ "keymap", required_argument, NULL, OPT_KEYMAP },
	{ "screendump-on-exit", required_argument, NULL, OPT_SCREENDUMP_ON_EXIT },
	{ "qmp", required_argument, NULL, OPT_QMP },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* The state of one parse: where the result and the messages go, and which
 * options were seen (to refuse a repeated one). */
/* A --net tap,id=ID (or user,id=ID) waiting for the nic whose netdev=
 * names it. */
struct cli_named_tap {
	char id[32];
	char ifname[CLI_IFNAMSIZ];
	int fd;
	bool user;
	char user_opts[CLI_USER_OPTS];
	bool used;
};

struct parser {
	struct vm_config *cfg;
	FILE *err;
	bool seen[OPT_END];
	struct cli_named_tap taps[CLI_MAX_NICS];
	unsigned nr_taps;
};

/* "--memory" for OPT_MEMORY: how the messages name an option. */
static const char *opt_name(int c)
{
	static char buf[32];

	for (const struct option *o = options; o->name; o++) {
		if (o->val == c) {
			snprintf(buf, sizeof(buf), "--%s", o->name);
			return buf;
		}
	}
	return "?";
}

__attribute__((format(printf, 2, 3))) static int bad(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	fputs("minivmm: ", p->err);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fputc('\n', p->err);
	return -1;
}

/* A file name option: not empty (the file itself is checked later). */
static int set_path(struct parser *p, int c, const char *arg, const char **out)
{
	if (!*arg)
		return bad(p, "%s: the file name is empty", opt_name(c));
	*out = arg;
	return 0;
}

/* ---- machine: --memory, --cpus, --bios, --kernel, --initrd, --append ---- */

static int parse_machine_option(struct parser *p, int c, const char *arg)
{
	struct vm_config *cfg = p->cfg;

	switch (c) {
	case OPT_MEMORY:
		if (cli_parse_size(arg, &cfg->memory) < 0)
			return bad(p, "--memory: '%s' is not a size (examples: 512M, 2G)", arg);
		if (cfg->memory < CLI_MIN_MEMORY || cfg->memory > CLI_MAX_MEMORY)
			return bad(p, "--memory: %s is outside 2M..1T", arg);
		if (cfg->memory % 4096)
			return bad(p, "--memory: %s is not a multiple of 4K", arg);
		return 0;
	case OPT_CPUS:
		if (parse_uint(arg, 1, CLI_MAX_CPUS, &cfg->cpus) < 0)
			return bad(p, "--cpus: '%s' is not a number from 1 to %d", arg, CLI_MAX_CPUS);
		return 0;
	case OPT_BIOS:
		return set_path(p, c, arg, &cfg->bios);
	case OPT_KERNEL:
		return set_path(p, c, arg, &cfg->kernel);
	case OPT_INITRD:
		return set_path(p, c, arg, &cfg->initrd);
	case OPT_APPEND:
		cfg->append = arg; /* an empty command line is a command line */
		return 0;
	}
	return 1;
}

/* ---- drives: --disk, --cdrom ---- */

/* A drive's path and format point into its own spec: a copy must point
 * into the copy's. */
static void drive_copy(struct cli_drive *dst, const struct cli_drive *src)
{
	*dst = *src;
	dst->path = dst->spec + (src->path - src->spec);
	if (src->format)
		dst->format = dst->spec + (src->format - src->spec);
	if (src->serial)
		dst->serial = dst->spec + (src->serial - src->spec);
}

enum drive_key {
	KEY_FILE, KEY_IF, KEY_FORMAT, KEY_CACHE, KEY_READONLY, KEY_SNAPSHOT, KEY_MEDIA,
	KEY_SERIAL, KEY_NUM_QUEUES, KEY_TRANSPORT, KEY_END
};

static const char *const drive_keys[] = {
	[KEY_FILE] = "file", [KEY_IF] = "if", [KEY_FORMAT] = "format", [KEY_CACHE] = "cache",
	[KEY_READONLY] = "readonly", [KEY_SNAPSHOT] = "snapshot", [KEY_MEDIA] = "media",
	[KEY_SERIAL] = "serial", [KEY_NUM_QUEUES] = "num-queues", [KEY_TRANSPORT] = "transport",
};

/* The keys only a virtio disk takes (IDE makes its own serial number). */
#define VIRTIO_ONLY_KEYS ((1u << KEY_SERIAL) | (1u << KEY_NUM_QUEUES) | (1u << KEY_TRANSPORT))

/* What parse_drive found besides the drive itself. */
struct drive_parse {
	bool is_cdrom; /* in: the option's default; out: as media= says */
	bool is_virtio;
	unsigned seen; /* bit per enum drive_key */
};

/* The spellings of enum virtio_transport (devices/virtio/virtio_pci.c has
 * the same; the command line does not link the devices). */
static int transport_parse(const char *v, int *out)
{
	static const struct {
		const char *name;
		enum virtio_transport t;
	} names[] = {
		{ "transitional", VIRTIO_TRANSPORT_TRANSITIONAL },
		{ "legacy", VIRTIO_TRANSPORT_LEGACY },
		{ "modern", VIRTIO_TRANSPORT_MODERN },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(v, names[i].name)) {
			*out = (int)names[i].t;
			return 0;
		}
	}
	return -1;
}

static int drive_serial(struct parser *p, const char *opt, const char *v, struct cli_drive *d)
{
	if (!*v)
		return bad(p, "%s: serial= is empty (give 1..%d printable ASCII characters, or no "
			      "serial=)", opt, CLI_MAX_VIRTIO_SERIAL);
	/* Printable first: the length message repeats the value. */
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return bad(p, "%s: serial=: only printable ASCII characters are allowed",
				   opt);
	if (strlen(v) > CLI_MAX_VIRTIO_SERIAL)
		return bad(p, "%s: serial=%s is %zu bytes long; at most %d", opt, v, strlen(v),
			   CLI_MAX_VIRTIO_SERIAL);
	d->serial = v;
	return 0;
}

/* One key=value of a drive; 0, or -1 after the message. */
static int drive_key(struct parser *p, const char *opt, char *kv, struct cli_drive *d,
		     struct drive_parse *dp)
{
	char *v = strchr(kv, '=');
	unsigned key;
	bool b;

	if (!v)
		return bad(p, "%s: '%s' is not key=value", opt, kv);
	*v++ = '\0';
	for (key = 0; key < KEY_END; key++)
		if (!strcmp(kv, drive_keys[key]))
			break;
	if (key == KEY_END)
		return bad(p, "%s: unknown option '%s' (file, media, if, format, cache, readonly, "
			      "snapshot, serial, num-queues, transport)", opt, kv);
	if (dp->seen & (1u << key))
		return bad(p, "%s: %s= given twice", opt, kv);
	dp->seen |= 1u << key;
	switch ((enum drive_key)key) {
	case KEY_FILE:
		/* Empty: a CD-ROM drive with no disc (parse_drive_option). */
		d->path = v;
		return 0;
	case KEY_IF:
		if (strcmp(v, "ide") && strcmp(v, "virtio"))
			return bad(p, "%s: if=%s is not supported (if=ide or if=virtio)", opt, v);
		dp->is_virtio = !strcmp(v, "virtio");
		return 0;
	case KEY_FORMAT:
		if (strcmp(v, "raw") && strcmp(v, "qcow2"))
			return bad(p, "%s: format=%s: not raw or qcow2", opt, v);
		d->format = v;
		return 0;
	case KEY_CACHE:
		d->cache = block_cache_parse(v);
		if (d->cache < 0)
			return bad(p, "%s: cache=%s: not writeback, writethrough, none, directsync or "
				      "unsafe", opt, v);
		return 0;
	case KEY_READONLY:
	case KEY_SNAPSHOT:
		if (!on_off(v, &b))
			return bad(p, "%s: unknown or bad option '%s=%s' (use on or off)", opt, kv, v);
		if (key == KEY_READONLY)
			d->read_only = b;
		else
			d->snapshot = b;
		return 0;
	case KEY_MEDIA:
		if (strcmp(v, "disk") && strcmp(v, "cdrom"))
			return bad(p, "%s: media=%s: not disk or cdrom", opt, v);
		dp->is_cdrom = !strcmp(v, "cdrom");
		return 0;
	case KEY_SERIAL:
		return drive_serial(p, opt, v, d);
	case KEY_NUM_QUEUES:
		if (parse_uint(v, 1, CLI_MAX_VIRTIO_QUEUES, &d->num_queues) < 0)
			return bad(p, "%s: num-queues=%s is not a number from 1 to %d", opt, v,
				   CLI_MAX_VIRTIO_QUEUES);
		return 0;
	case KEY_TRANSPORT:
		if (transport_parse(v, &d->transport) < 0)
			return bad(p, "%s: transport=%s: not transitional, legacy or modern", opt,
				   v);
		return 0;
	case KEY_END:
		break;
	}
	return 0;
}

/*
 * "PATH" or "key=value,..." into d, which keeps its own copy of the text
 * (spec) and points into it.  Commas in a plain PATH are not special.
 * dp->is_cdrom comes in as the option's default and leaves as media= says.
 */
static int parse_drive(struct parser *p, const char *opt, const char *spec, struct cli_drive *d,
		       struct drive_parse *dp)
{
	char *save = NULL;

	*d = (struct cli_drive){ .cache = BLOCK_CACHE_WRITEBACK,
				 .transport = VIRTIO_TRANSPORT_TRANSITIONAL };
	if (strlen(spec) >= sizeof(d->spec))
		return bad(p, "%s: argument too long", opt);
	strcpy(d->spec, spec);
	if (!strchr(d->spec, '=')) {
		d->path = d->spec;
		return 0;
	}
	for (char *kv = strtok_r(d->spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
		if (drive_key(p, opt, kv, d, dp) < 0)
			return -1;
	if (!d->path)
		return bad(p, "%s: file=PATH is missing", opt);
	if (dp->is_virtio && dp->is_cdrom)
		return bad(p, "%s: if=virtio with media=cdrom: a virtio disk is not a CD-ROM (the "
			      "CD-ROM drive is IDE)", opt);
	if (!dp->is_virtio && (dp->seen & VIRTIO_ONLY_KEYS)) {
		for (unsigned key = 0; key < KEY_END; key++)
			if (dp->seen & VIRTIO_ONLY_KEYS & (1u << key))
				return bad(p, "%s: %s= is for if=virtio disks only (not an IDE %s)",
					   opt, drive_keys[key], dp->is_cdrom ? "CD-ROM" : "disk");
	}
	return 0;
}

/* --disk is a disk and --cdrom the CD unless media= says otherwise. */
static int parse_drive_option(struct parser *p, int c, const char *arg)
{
	struct vm_config *cfg = p->cfg;
	const char *opt = opt_name(c);
	struct drive_parse dp = { .is_cdrom = c == OPT_CDROM };
	bool is_cdrom;
	struct cli_drive d;

	if (c != OPT_DISK && c != OPT_CDROM)
		return 1;
	if (parse_drive(p, opt, arg, &d, &dp) < 0)
		return -1;
	is_cdrom = dp.is_cdrom;
	/* Only a CD-ROM drive can be empty (its tray is closed, no disc). */
	if (!*d.path && !is_cdrom)
		return bad(p, strchr(arg, '=') ? "%s: file= needs a PATH" : "%s: the file name is empty",
			   opt);
	if (is_cdrom) {
		if (cfg->has_cdrom)
			return bad(p, "%s: '%s': only one CD-ROM drive (already '%s')", opt, d.path,
				   *cfg->cdrom.path ? cfg->cdrom.path : "empty");
		d.read_only = true;
		drive_copy(&cfg->cdrom, &d);
		cfg->has_cdrom = true;
	} else if (dp.is_virtio) {
		if (cfg->nr_vdisks == CLI_MAX_VIRTIO_DISKS)
			return bad(p, "%s: '%s': at most %d virtio disks", opt, d.path,
				   CLI_MAX_VIRTIO_DISKS);
		d.seq = cfg->nr_disks + cfg->nr_vdisks;
		drive_copy(&cfg->vdisks[cfg->nr_vdisks++], &d);
	} else {
		if (cfg->nr_disks == CLI_MAX_DISKS)
			return bad(p, "%s: '%s': at most %d disks on IDE (up to %d more with "
				      "if=virtio)",
				   opt, d.path, CLI_MAX_DISKS, CLI_MAX_VIRTIO_DISKS);
		d.seq = cfg->nr_disks + cfg->nr_vdisks;
		drive_copy(&cfg->disks[cfg->nr_disks++], &d);
	}
	return 0;
}

/* ---- --boot [order=]LETTERS[,menu=on|off][,splash-time=MS] ---- */

static int boot_order(struct parser *p, const char *order)
{
	size_t n = strlen(order);

	if (n == 0 || n >= sizeof(p->cfg->boot_order) || strspn(order, "cdn") != n)
		return bad(p,
			   "--boot: order '%s': use the letters c (disk), d (CD-ROM) and n "
			   "(network), at most %zu",
			   order, sizeof(p->cfg->boot_order) - 1);
	memcpy(p->cfg->boot_order, order, n + 1);
	return 0;
}

/* Which --boot key kv is (0 order, 1 menu, 2 splash-time), or -1. */
static int boot_key_index(const char *kv)
{
	if (!strcmp(kv, "order") || !strcmp(kv, "once"))
		return 0;
	if (!strcmp(kv, "menu"))
		return 1;
	if (!strcmp(kv, "splash-time") || !strcmp(kv, "menu-timeout"))
		return 2;
	return -1;
}

static int boot_key(struct parser *p, char *kv, unsigned *seen)
{
	static const char *const keys[] = { "order", "menu", "splash-time" };
	char *v = strchr(kv, '=');
	unsigned ms;
	int key;
	bool b;

	if (v) {
		*v++ = '\0';
		key = boot_key_index(kv);
	} else {
		v = kv; /* "--boot d", as QEMU's legacy form */
		key = 0;
	}
	if (key < 0)
		return bad(p, "--boot: unknown option '%s' (order, once, menu, splash-time, "
			      "menu-timeout)", kv);
	if (*seen & (1u << key))
		return bad(p, "--boot: %s given twice", keys[key]);
	*seen |= 1u << key;
	switch (key) {
	case 0:
		return boot_order(p, v);
	case 1:
		if (!on_off(v, &b))
			return bad(p, "--boot: unknown or bad option 'menu=%s' (use on or off)", v);
		p->cfg->boot_menu = b;
		return 0;
	default:
		if (parse_uint(v, 0, 65535, &ms) < 0)
			return bad(p, "--boot: %s=%s is not 0..65535 ms", kv, v);
		p->cfg->boot_menu_timeout_ms = ms;
		return 0;
	}
}

static int parse_boot_option(struct parser *p, int c, const char *arg)
{
	char copy[256], *save = NULL;
	unsigned seen = 0;

	if (c != OPT_BOOT)
		return 1;
	if (strlen(arg) >= sizeof(copy))
		return bad(p, "--boot: argument too long");
	strcpy(copy, arg);
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
		if (boot_key(p, kv, &seen) < 0)
			return -1;
	if (!seen)
		return bad(p, "--boot: '%s' says nothing (use [order=]LETTERS, menu=on|off, "
			      "splash-time=MS)", arg);
	return 0;
}

/* ---- devices: --rtc, --debugcon, --serial, --debug-exit, --testdev, --vga ---- */

static int parse_device_option(struct parser *p, int c, const char *arg)
{
	struct vm_config *cfg = p->cfg;

	switch (c) {
	case OPT_RTC:
		if (!strcmp(arg, "localtime") || !strcmp(arg, "base=localtime"))
			cfg->rtc_localtime = true;
		else if (!strcmp(arg, "utc") || !strcmp(arg, "base=utc"))
			cfg->rtc_localtime = false;
		else
			return bad(p, "--rtc: '%s' is not localtime or utc", arg);
		return 0;
	case OPT_DEBUGCON:
		return set_path(p, c, arg, &cfg->debugcon_path);
	case OPT_SERIAL:
		if (!strcmp(arg, "stdio")) {
			cfg->serial = SERIAL_STDIO;
		} else if (!strcmp(arg, "none")) {
			cfg->serial = SERIAL_NONE;
		} else if (!strncmp(arg, "file:", 5) && arg[5]) {
			cfg->serial = SERIAL_FILE;
			cfg->serial_path = arg + 5;
		} else {
			return bad(p, "--serial: '%s' is not stdio, file:PATH or none", arg);
		}
		return 0;
	case OPT_DEBUG_EXIT:
		cfg->debug_exit = true;
		return 0;
	case OPT_TESTDEV:
		cfg->testdev = true;
		return 0;
	case OPT_TABLET:
		if (!on_off(arg, &cfg->tablet))
			return bad(p, "--tablet: '%s' is not on or off", arg);
		return 0;
	case OPT_VGA:
		if (!strcmp(arg, "std"))
			cfg->vga = VGA_STD;
		else if (!strcmp(arg, "none"))
			cfg->vga = VGA_NONE;
		else
			return bad(p, "--vga: '%s' is not std or none", arg);
		return 0;
	}
	return 1;
}

/* ---- --balloon, --device virtio-balloon,... ---- */

/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
static bool valid_id(const char *id)
{
	if (!isalpha((unsigned char)*id))
		return false;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && !strchr("-._", *id))
			return false;
	return true;
}

static int balloon_key(struct parser *p, char *kv, unsigned *seen)
{
	static const char *const keys[] = { "id", "transport", "deflate-on-oom",
					    "free-page-reporting" };
	struct cli_balloon *bl = &p->cfg->balloon;
	char *v = strchr(kv, '=');
	unsigned key;
	bool b;

	if (!v)
		return bad(p, "--device virtio-balloon: '%s' is not key=value", kv);
	*v++ = '\0';
	for (key = 0; key < sizeof(keys) / sizeof(keys[0]); key++)
		if (!strcmp(kv, keys[key]))
			break;
	if (key == sizeof(keys) / sizeof(keys[0]))
		return bad(p, "--device virtio-balloon: unknown option '%s' (id, transport, "
			      "deflate-on-oom, free-page-reporting)", kv);
	if (*seen & (1u << key))
		return bad(p, "--device virtio-balloon: %s= given twice", kv);
	*seen |= 1u << key;
	switch (key) {
	case 0:
		if (!valid_id(v) || strlen(v) >= sizeof(bl->id))
			return bad(p, "--device virtio-balloon: id=%s: an id is a letter then "
				      "letters, digits, '-', '.' or '_', at most %zu", v,
				   sizeof(bl->id) - 1);
		strcpy(bl->id, v);
		return 0;
	case 1:
		if (!strcmp(v, "transitional"))
			bl->transport = 0;
		else if (!strcmp(v, "legacy"))
			bl->transport = 1;
		else if (!strcmp(v, "modern"))
			bl->transport = 2;
		else
			return bad(p, "--device virtio-balloon: transport=%s: not legacy, "
				      "transitional or modern", v);
		return 0;
	default:
		if (!on_off(v, &b))
			return bad(p, "--device virtio-balloon: unknown or bad option '%s=%s' "
				      "(use on or off)", kv, v);
		if (key == 2)
			bl->deflate_on_oom = b;
		else
			bl->free_page_reporting = b;
		return 0;
	}
}

static int balloon_default(struct parser *p, const char *opt)
{
	struct cli_balloon *bl = &p->cfg->balloon;

	if (bl->on)
		return bad(p, "%s: only one balloon (already '%s')", opt, bl->id);
	*bl = (struct cli_balloon){ .on = true, .free_page_reporting = true };
	strcpy(bl->id, CLI_BALLOON_DEFAULT_ID);
	return 0;
}

static int parse_device(struct parser *p, const char *arg)
{
	char copy[512], *save = NULL, *name, *kv;
	unsigned seen = 0;

	if (strlen(arg) >= sizeof(copy))
		return bad(p, "--device: argument too long");
	strcpy(copy, arg);
	name = strtok_r(copy, ",", &save);
	if (!name || (strcmp(name, "virtio-balloon") && strcmp(name, "virtio-balloon-pci")))
		return bad(p, "--device: unknown device '%s' (known: virtio-balloon)",
			   name ? name : "");
	if (balloon_default(p, "--device virtio-balloon") < 0)
		return -1;
	while ((kv = strtok_r(NULL, ",", &save)))
		if (balloon_key(p, kv, &seen) < 0)
			return -1;
	return 0;
}

static int parse_balloon_option(struct parser *p, int c, const char *arg)
{
	switch (c) {
	case OPT_BALLOON:
		if (arg && strcmp(arg, "virtio"))
			return bad(p, "--balloon: '%s' is not virtio (or give no value)", arg);
		return balloon_default(p, "--balloon");
	case OPT_DEVICE:
		return parse_device(p, arg);
	}
	return 1;
}

/* ---- --net nic,..., --net tap,... ---- */

/* "52:54:00:12:34:56" (or with '-'): 0, or -1 if malformed. */
static int parse_mac(const char *v, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)v[0]) || !isxdigit((unsigned char)v[1]))
			return -1;
		mac[i] = (uint8_t)strtoul((char[]){ v[0], v[1], 0 }, NULL, 16);
		v += 2;
		if (i < 5 && *v != ':' && *v != '-')
			return -1;
		if (i < 5)
			v++;
	}
	return *v ? -1 : 0;
}

/* key=value pairs after the type word, each key once: the value of key i
 * in vals[i] (NULL: not given).  0, or -1 after the message. */
static int net_keys(struct parser *p, const char *opt, char *rest, const char *const *keys,
		    unsigned nkeys, const char *known, char **vals)
{
	char *save = NULL, *kv;

	for (unsigned i = 0; i < nkeys; i++)
		vals[i] = NULL;
	for (kv = strtok_r(rest, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		unsigned k;

		if (!v)
			return bad(p, "%s: '%s' is not key=value", opt, kv);
		*v++ = '\0';
		for (k = 0; k < nkeys; k++)
			if (!strcmp(kv, keys[k]))
				break;
		if (k == nkeys)
			return bad(p, "%s: unknown option '%s' (%s)", opt, kv, known);
		if (vals[k])
			return bad(p, "%s: %s= given twice", opt, kv);
		vals[k] = v;
	}
	return 0;
}

static struct cli_nic *nic_add(struct parser *p, const char *opt)
{
	struct vm_config *cfg = p->cfg;
	struct cli_nic *n;

	if (cfg->nr_nics == CLI_MAX_NICS) {
		bad(p, "%s: at most %d NICs", opt, CLI_MAX_NICS);
		return NULL;
	}
	n = &cfg->nics[cfg->nr_nics++];
	*n = (struct cli_nic){ .fd = -1, .romfile = CLI_DEFAULT_NIC_ROM, .rom_default = true };
	return n;
}

static int parse_net_nic(struct parser *p, char *rest)
{
	static const char *const keys[] = { "model", "macaddr", "transport", "netdev", "romfile" };
	const char *opt = "--net nic";
	char *v[5];
	struct cli_nic *n;

	if (net_keys(p, opt, rest, keys, 5, "model, macaddr, transport, netdev, romfile", v) < 0)
		return -1;
	if (v[0] && strcmp(v[0], "virtio") && strcmp(v[0], "virtio-net-pci"))
		return bad(p, "%s: model=%s: only virtio", opt, v[0]);
	if (v[4] && strlen(v[4]) >= sizeof(n->romfile))
		return bad(p, "%s: romfile=: a path of at most %zu bytes", opt,
			   sizeof(n->romfile) - 1);
	n = nic_add(p, opt);
	if (!n)
		return -1;
	if (v[4]) {
		strcpy(n->romfile, v[4]);
		n->rom_default = false;
	}
	if (v[1]) {
		if (parse_mac(v[1], n->mac) < 0)
			return bad(p, "%s: macaddr=%s: not a MAC address like 52:54:00:12:34:56",
				   opt, v[1]);
		if (n->mac[0] & 1)
			return bad(p, "%s: macaddr=%s is a multicast address (the first byte must "
				      "be even)", opt, v[1]);
		if (!(n->mac[0] | n->mac[1] | n->mac[2] | n->mac[3] | n->mac[4] | n->mac[5]))
			return bad(p, "%s: macaddr=%s: the zero address is not a NIC's", opt, v[1]);
		n->mac_given = true;
	}
	if (v[2] && transport_parse(v[2], &n->transport) < 0)
		return bad(p, "%s: transport=%s: not legacy, transitional or modern", opt, v[2]);
	if (v[3]) {
		if (!valid_id(v[3]) || strlen(v[3]) >= sizeof(n->netdev))
			return bad(p, "%s: netdev=%s: an id is a letter then letters, digits, '-', "
				      "'.' or '_', at most %zu", opt, v[3], sizeof(n->netdev) - 1);
		strcpy(n->netdev, v[3]);
	}
	return 0;
}

/* The backend for the first nic still without one (QEMU's old pairing), or
 * a nic of its own. */
static struct cli_nic *nic_for_backend(struct parser *p, const char *opt)
{
	for (unsigned i = 0; i < p->cfg->nr_nics; i++)
		if (!p->cfg->nics[i].paired && !p->cfg->nics[i].netdev[0])
			return &p->cfg->nics[i];
	return nic_add(p, opt);
}

static int parse_net_tap(struct parser *p, char *rest)
{
	static const char *const keys[] = { "ifname", "fd", "id", "script", "downscript" };
	const char *opt = "--net tap";
	char ifname[CLI_IFNAMSIZ] = "";
	unsigned fdv = 0;
	int fd = -1;
	char *v[5];
	struct cli_nic *n = NULL;

	if (net_keys(p, opt, rest, keys, 5, "ifname, fd, id, script, downscript", v) < 0)
		return -1;
	for (unsigned i = 3; i < 5; i++)
		if (v[i] && strcmp(v[i], "no"))
			return bad(p, "%s: %s=%s: minivmm never runs helper scripts (as root); set "
				      "the tap up beforehand and give %s=no or nothing", opt,
				   keys[i], v[i], keys[i]);
	if (!v[0] == !v[1])
		return bad(p, "%s: give ifname=NAME or fd=N (one of them)", opt);
	if (v[0]) {
		if (!*v[0] || strlen(v[0]) >= CLI_IFNAMSIZ || strchr(v[0], '/') ||
		    !strcmp(v[0], ".") || !strcmp(v[0], ".."))
			return bad(p, "%s: ifname=%s: an interface name is 1 to %d bytes without "
				      "'/'", opt, v[0], CLI_IFNAMSIZ - 1);
		strcpy(ifname, v[0]);
	} else {
		if (parse_uint(v[1], 0, INT32_MAX, &fdv) < 0)
			return bad(p, "%s: fd=%s: not a file descriptor number", opt, v[1]);
		fd = (int)fdv;
		if (fd <= 2)
			return bad(p, "%s: fd=%d is standard input, output or error, not a tap", opt,
				   fd);
	}
	if (v[2]) {
		struct cli_named_tap *t;

		if (!valid_id(v[2]) || strlen(v[2]) >= sizeof(t->id))
			return bad(p, "%s: id=%s: an id is a letter then letters, digits, '-', '.' "
				      "or '_', at most %zu", opt, v[2], sizeof(t->id) - 1);
		for (unsigned i = 0; i < p->nr_taps; i++)
			if (!strcmp(p->taps[i].id, v[2]))
				return bad(p, "%s: id=%s given to two taps", opt, v[2]);
		if (p->nr_taps == CLI_MAX_NICS)
			return bad(p, "%s: at most %d taps", opt, CLI_MAX_NICS);
		t = &p->taps[p->nr_taps++];
		*t = (struct cli_named_tap){ .fd = fd };
		strcpy(t->id, v[2]);
		strcpy(t->ifname, ifname);
		return 0;
	}
	/* QEMU's old pairing: the first nic before it still without a backend. */
	n = nic_for_backend(p, opt);
	if (!n)
		return -1;
	n->paired = true;
	n->fd = fd;
	strcpy(n->ifname, ifname);
	return 0;
}

static const char *const user_keys[] = { "hostfwd", "restrict", "net", "dns", "tftp",
					 "bootfile", "ipv6" };
#define USER_KEYS_TEXT "id, hostfwd, restrict, net, dns, tftp, bootfile, ipv6"

int cli_net_user_opts(char *text, struct net_slirp_opts *o, char *err, size_t errlen)
{
	char *save = NULL, *kv;

	*o = (struct net_slirp_opts){ 0 };
	for (kv = strtok_r(text, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		unsigned k;
		bool b;

		if (!v) {
			snprintf(err, errlen, "--net user: '%s' is not key=value", kv);
			return -1;
		}
		*v++ = '\0';
		for (k = 0; k < sizeof(user_keys) / sizeof(user_keys[0]); k++)
			if (!strcmp(kv, user_keys[k]))
				break;
		switch (k) {
		case 0:
			if (o->nr_hostfwd == NET_SLIRP_MAX_HOSTFWD) {
				snprintf(err, errlen, "--net user: at most %d hostfwd=",
					 NET_SLIRP_MAX_HOSTFWD);
				return -1;
			}
			o->hostfwd[o->nr_hostfwd++] = v;
			continue;
		case 1:
		case 6:
			if (!on_off(v, &b)) {
				snprintf(err, errlen, "--net user: %s=%s: use on or off", kv, v);
				return -1;
			}
			if (k == 1)
				o->restrict_on = b;
			else if (!b) {
				snprintf(err, errlen, "--net user: ipv6=off is not supported (IPv6 is "
						      "always on, as QEMU's default)");
				return -1;
			}
			continue;
		}
		if (k == sizeof(user_keys) / sizeof(user_keys[0])) {
			snprintf(err, errlen, "--net user: unknown option '%s' (" USER_KEYS_TEXT ")",
				 kv);
			return -1;
		}
		{
			const char **dst[] = { [2] = &o->net, [3] = &o->dns, [4] = &o->tftp,
					       [5] = &o->bootfile };

			if (*dst[k]) {
				snprintf(err, errlen, "--net user: %s= given twice", kv);
				return -1;
			}
			*dst[k] = v;
		}
	}
	return 0;
}

static int parse_net_user(struct parser *p, char *rest)
{
	char opts[CLI_USER_OPTS] = "", check[CLI_USER_OPTS], why[256], *save = NULL, *kv;
	const char *id = NULL;
	struct net_slirp_opts o;
	struct cli_nic *n;

	/* id= is the pairing's; the rest is the backend's, kept as text */
	for (kv = strtok_r(rest, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "id=", 3)) {
			if (id)
				return bad(p, "--net user: id= given twice");
			id = kv + 3;
			continue;
		}
		if (strlen(opts) + strlen(kv) + 2 > sizeof(opts))
			return bad(p, "--net user: options too long");
		if (opts[0])
			strcat(opts, ",");
		strcat(opts, kv);
	}
	strcpy(check, opts);
	if (cli_net_user_opts(check, &o, why, sizeof(why)) < 0)
		return bad(p, "%s", why);
	if (id) {
		struct cli_named_tap *t;

		if (!valid_id(id) || strlen(id) >= sizeof(t->id))
			return bad(p, "--net user: id=%s: an id is a letter then letters, digits, "
				      "'-', '.' or '_', at most %zu", id, sizeof(t->id) - 1);
		for (unsigned i = 0; i < p->nr_taps; i++)
			if (!strcmp(p->taps[i].id, id))
				return bad(p, "--net user: id=%s given to two backends", id);
		if (p->nr_taps == CLI_MAX_NICS)
			return bad(p, "--net user: at most %d backends", CLI_MAX_NICS);
		t = &p->taps[p->nr_taps++];
		*t = (struct cli_named_tap){ .fd = -1, .user = true };
		strcpy(t->id, id);
		strcpy(t->user_opts, opts);
		return 0;
	}
	n = nic_for_backend(p, "--net user");
	if (!n)
		return -1;
	n->paired = true;
	n->user = true;
	strcpy(n->user_opts, opts);
	return 0;
}

static int parse_net_option(struct parser *p, int c, const char *arg)
{
	char copy[512], *type, *rest;

	if (c != OPT_NET)
		return 1;
	if (strlen(arg) >= sizeof(copy))
		return bad(p, "--net: argument too long");
	strcpy(copy, arg);
	type = copy;
	rest = strchr(copy, ',');
	if (rest)
		*rest++ = '\0';
	else
		rest = copy + strlen(copy);
	if (!strcmp(type, "nic"))
		return parse_net_nic(p, rest);
	if (!strcmp(type, "tap"))
		return parse_net_tap(p, rest);
	if (!strcmp(type, "user"))
		return parse_net_user(p, rest);
	return bad(p, "--net: '%s' is not nic, tap or user", type);
}

/* 32-bit FNV-1a: a default MAC from --name that stays the same across
 * restarts (no randomness, no host state). */
static uint32_t fnv1a(const char *s, unsigned idx)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	return (h ^ (uint8_t)idx) * 16777619u;
}

/* After every option: named taps to their nics, every nic with a backend,
 * default MACs, no MAC twice. */
static int net_finish(struct parser *p)
{
	struct vm_config *cfg = p->cfg;

	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		struct cli_nic *n = &cfg->nics[i];

		if (!n->netdev[0])
			continue;
		for (unsigned t = 0; t < p->nr_taps && !n->paired; t++) {
			if (strcmp(p->taps[t].id, n->netdev))
				continue;
			if (p->taps[t].used)
				return bad(p, "--net nic,netdev=%s: that tap is another nic's already",
					   n->netdev);
			p->taps[t].used = true;
			n->paired = true;
			n->fd = p->taps[t].fd;
			strcpy(n->ifname, p->taps[t].ifname);
			n->user = p->taps[t].user;
			strcpy(n->user_opts, p->taps[t].user_opts);
		}
		if (!n->paired)
			return bad(p, "--net nic,netdev=%s: no --net tap,id=%s or --net user,id=%s",
				   n->netdev, n->netdev, n->netdev);
	}
	for (unsigned t = 0; t < p->nr_taps; t++)
		if (!p->taps[t].used)
			return bad(p, "--net %s,id=%s: no --net nic,netdev=%s uses it",
				   p->taps[t].user ? "user" : "tap", p->taps[t].id, p->taps[t].id);
	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		struct cli_nic *n = &cfg->nics[i];

		if (!n->paired)
			return bad(p, "--net nic (NIC %u): no backend; follow it with --net "
				      "tap,ifname=NAME", i);
		if (n->mac_given)
			continue;
		if (cfg->name) {
			uint32_t h = fnv1a(cfg->name, i);

			memcpy(n->mac, (const uint8_t[]){ 0x52, 0x54, 0x00, (uint8_t)(h >> 16),
							  (uint8_t)(h >> 8), (uint8_t)h }, 6);
		} else {
			/* QEMU's default, one up per NIC. */
			memcpy(n->mac, (const uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34,
							  (uint8_t)(0x56 + i) }, 6);
		}
	}
	for (unsigned i = 0; i < cfg->nr_nics; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(cfg->nics[i].mac, cfg->nics[j].mac, 6))
				return bad(p, "--net: NICs %u and %u both have MAC "
					      "%02x:%02x:%02x:%02x:%02x:%02x (give macaddr=)", j, i,
					   cfg->nics[i].mac[0], cfg->nics[i].mac[1],
					   cfg->nics[i].mac[2], cfg->nics[i].mac[3],
					   cfg->nics[i].mac[4], cfg->nics[i].mac[5]);
	return 0;
}

/* ---- behaviour: the fast-path switches, --no-reboot, --stats ---- */

static int parse_behaviour_option(struct parser *p, int c, const char *arg)
{
	struct vm_config *cfg = p->cfg;

	switch (c) {
	case OPT_NO_IOEVENTFD:
		cfg->accel.ioeventfd = false;
		return 0;
	case OPT_NO_IRQFD:
		cfg->accel.irqfd = false;
		return 0;
	case OPT_NO_COALESCED_MMIO:
		cfg->accel.coalesced_mmio = false;
		return 0;
	case OPT_NO_DIRTY_LOG:
		cfg->accel.dirty_log = false;
		return 0;
	case OPT_NO_REBOOT:
		cfg->no_reboot = true;
		return 0;
	case OPT_SHUTDOWN_TIMEOUT:
		if (parse_uint(arg, 0, CLI_MAX_SHUTDOWN_TIMEOUT, &cfg->shutdown_timeout_s) < 0)
			return bad(p, "--shutdown-timeout: '%s' is not a number of seconds from 0 to %d",
				   arg, CLI_MAX_SHUTDOWN_TIMEOUT);
		return 0;
	case OPT_STATS:
		if (!arg) {
			cfg->stats = STATS_TABLE;
		} else if (!strncmp(arg, "json:", 5) && arg[5]) {
			cfg->stats = STATS_JSON;
			cfg->stats_path = arg + 5;
		} else {
			return bad(p, "--stats: '%s' is not json:PATH", arg);
		}
		return 0;
	}
	return 1;
}

/* ---- control: --qmp unix:PATH[,server=on|off][,wait=on|off], --name ---- */

/* One option of --qmp after the path: server=, wait=, or the old bare
 * "server", "nowait" and "wait" of QEMU. */
static int qmp_key(struct parser *p, const char *kv)
{
	const char *v = strchr(kv, '=');
	size_t n = v ? (size_t)(v - kv) : strlen(kv);
	bool b = true;

	if (strcmp(kv, "nowait") && !(n == 4 && !strncmp(kv, "wait", 4)) &&
	    !(n == 6 && !strncmp(kv, "server", 6)))
		return bad(p, "--qmp: unknown option '%s' (server=on, wait=on|off)", kv);
	if (v && !on_off(v + 1, &b))
		return bad(p, "--qmp: unknown or bad option '%s' (use on or off)", kv);
	if (!strcmp(kv, "nowait")) {
		p->cfg->qmp_wait = false;
		return 0;
	}
	if (n == 4 && !strncmp(kv, "wait", 4)) {
		p->cfg->qmp_wait = b;
		return 0;
	}
	if (!b)
		return bad(p, "--qmp: server=off is not supported: minivmm listens on the socket "
			      "(server=on)");
	return 0;
}

static int parse_qmp(struct parser *p, const char *arg)
{
	char *path = p->cfg->qmp_path, opts[256];
	size_t n = 0, o = 0;
	const char *s;

	if (strncmp(arg, "unix:", 5))
		return bad(p, "--qmp: '%s': only unix:PATH[,server=on][,wait=on|off] is supported",
			   arg);
	/* The path ends at the first single comma; ",," is a comma in it. */
	for (s = arg + 5; *s && !(s[0] == ',' && s[1] != ','); s++) {
		if (s[0] == ',')
			s++;
		if (n + 1 >= sizeof(p->cfg->qmp_path))
			return bad(p, "--qmp: the path is too long for a UNIX socket (at most %zu "
				      "bytes)", sizeof(p->cfg->qmp_path) - 1);
		path[n++] = *s;
	}
	path[n] = '\0';
	if (!n)
		return bad(p, "--qmp: the socket path is empty (unix:PATH)");
	p->cfg->qmp_wait = true; /* QEMU's default */
	if (!*s)
		return 0;
	if (strlen(s + 1) >= sizeof(opts))
		return bad(p, "--qmp: argument too long");
	strcpy(opts, s + 1);
	for (char *save = NULL, *kv = strtok_r(opts, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save), o++)
		if (qmp_key(p, kv) < 0)
			return -1;
	if (!o)
		return bad(p, "--qmp: '%s': an empty option", arg);
	return 0;
}

static int parse_control_option(struct parser *p, int c, const char *arg)
{
	switch (c) {
	case OPT_QMP:
		return parse_qmp(p, arg);
	case OPT_NAME:
		if (!*arg)
			return bad(p, "--name: the name is empty");
		if (strlen(arg) > 256)
			return bad(p, "--name: longer than 256 bytes");
		for (const char *s = arg; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				return bad(p, "--name: control characters are not allowed");
		p->cfg->name = arg;
		return 0;
	}
	return 1;
}

/* ---- display: --vnc, --vnc-password-file, --keymap, --screendump-on-exit ---- */

/* The address part of --vnc: ":N", "HOST:N" or "[IPV6]:N". */
static int vnc_address(struct parser *p, const char *arg, size_t len)
{
	struct vm_config *cfg = p->cfg;
	char addr[128], *colon, *host = addr;
	unsigned char buf[sizeof(struct in6_addr)];

	if (len >= sizeof(addr))
		return bad(p, "--vnc: '%s': the address is too long", arg);
	memcpy(addr, arg, len);
	addr[len] = '\0';
	if (addr[0] == '[') {
		char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return bad(p, "--vnc: '%s' is not [IPV6]:N", arg);
		*end = '\0';
		host = addr + 1;
		colon = end + 1;
		if (inet_pton(AF_INET6, host, buf) != 1)
			return bad(p, "--vnc: '%s' is not an IPv6 address", host);
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return bad(p, "--vnc: '%s' is not [HOST]:N (e.g. :1 for port 5901)", arg);
		*colon = '\0';
		if (*host && strcmp(host, "localhost") && inet_pton(AF_INET, host, buf) != 1)
			return bad(p, "--vnc: '%s' is not a numeric IPv4 address ([IPV6] in "
				      "brackets)", host);
	}
	if (parse_uint(colon + 1, 0, CLI_MAX_VNC_DISPLAY, &cfg->vnc_display) < 0)
		return bad(p, "--vnc: display '%s' is not a number from 0 to %d (port 5900+N)",
			   colon + 1, CLI_MAX_VNC_DISPLAY);
	strcpy(cfg->vnc_host, host);
	return 0;
}

static int parse_vnc(struct parser *p, const char *arg)
{
	const char *comma = strchr(arg, ',');
	char opts[128];

	if (vnc_address(p, arg, comma ? (size_t)(comma - arg) : strlen(arg)) < 0)
		return -1;
	p->cfg->vnc = true;
	if (!comma)
		return 0;
	if (strlen(comma + 1) >= sizeof(opts))
		return bad(p, "--vnc: argument too long");
	strcpy(opts, comma + 1);
	for (char *save = NULL, *kv = strtok_r(opts, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		bool b = true;

		/* "password" alone is QEMU's older spelling of password=on */
		if (strncmp(kv, "password", 8) || (kv[8] && (kv[8] != '=' || !on_off(kv + 9, &b))))
			return bad(p, "--vnc: unknown or bad option '%s' (password=on|off)", kv);
		p->cfg->vnc_password |= b;
	}
	return 0;
}

static int parse_display_option(struct parser *p, int c, const char *arg)
{
	struct vm_config *cfg = p->cfg;

	switch (c) {
	case OPT_VNC:
		return parse_vnc(p, arg);
	case OPT_VNC_PASSWORD_FILE:
		cfg->vnc_password = true;
		return set_path(p, c, arg, &cfg->vnc_password_file);
	case OPT_KEYMAP:
		if (!keymap_find(arg))
			return bad(p, "--keymap: unknown layout '%s' (known: %s)", arg,
				   keymap_names());
		cfg->keymap = arg;
		return 0;
	case OPT_SCREENDUMP_ON_EXIT:
		return set_path(p, c, arg, &cfg->screendump_on_exit);
	}
	return 1;
}

/* ---- the whole line ---- */

/* getopt_long takes any unambiguous prefix ("--mem"); we take only the
 * names --help lists.  arg is the argv element that held the option. */
static bool spelled_out(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(arg, "--", 2) && !strncmp(arg + 2, name, n) &&
	       (arg[2 + n] == '\0' || arg[2 + n] == '=');
}

static int check_combinations(struct parser *p)
{
	struct vm_config *cfg = p->cfg;

	if ((cfg->initrd || cfg->append) && !cfg->kernel)
		return bad(p, "--initrd and --append need --kernel");
	if (cfg->kernel && cfg->bios)
		return bad(p, "--kernel and --bios can't be used together");
	if (!cfg->kernel && !cfg->bios) {
		cfg->bios = CLI_DEFAULT_BIOS;
		cfg->bios_default = true;
	}
	/* Listening everywhere with nothing to keep anyone out. */
	if (cfg->vnc && !cfg->vnc_password &&
	    (!strcmp(cfg->vnc_host, "0.0.0.0") || !strcmp(cfg->vnc_host, "::")))
		fprintf(p->err, "minivmm: warning: --vnc %s%s%s:%u: every address, and no password "
				"(add ,password=on)\n",
			strchr(cfg->vnc_host, ':') ? "[" : "", cfg->vnc_host,
			strchr(cfg->vnc_host, ':') ? "]" : "", cfg->vnc_display);
	if (net_finish(p) < 0)
		return -1;
	/* Known only now: the vCPU count gives the default queue count. */
	for (unsigned i = 0; i < cfg->nr_vdisks; i++)
		if (!cfg->vdisks[i].num_queues)
			cfg->vdisks[i].num_queues = cfg->cpus < CLI_DEFAULT_VIRTIO_QUEUES_MAX
							    ? cfg->cpus
							    : CLI_DEFAULT_VIRTIO_QUEUES_MAX;
	return 0;
}

/* Each takes the options of its family: 0 done, -1 refused (after the
 * message), 1 not one of mine. */
static int (*const families[])(struct parser *p, int c, const char *arg) = {
	parse_machine_option, parse_drive_option, parse_boot_option, parse_device_option,
	parse_behaviour_option, parse_control_option, parse_balloon_option, parse_display_option,
	parse_net_option,
};

/* "--no-reboot=1": an unknown option, or a flag given a value? */
static void unknown_option(struct parser *p, const char *arg)
{
	const char *eq = strchr(arg, '=');

	for (const struct option *o = options; eq && !strncmp(arg, "--", 2) && o->name; o++) {
		if (o->has_arg == no_argument && strlen(o->name) == (size_t)(eq - arg - 2) &&
		    !strncmp(arg + 2, o->name, strlen(o->name))) {
			bad(p, "--%s takes no value ('%s')", o->name, arg);
			return;
		}
	}
	bad(p, "unknown option '%s' (see minivmm --help)", arg);
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err)
{
	struct parser p = { .cfg = cfg, .err = err };
	int c, longindex;

	*cfg = (struct vm_config){ .memory = CLI_DEFAULT_MEMORY, .cpus = 1, .serial = SERIAL_STDIO,
				   .boot_menu = -1, .accel = VM_ACCEL_DEFAULT,
				   .shutdown_timeout_s = CLI_DEFAULT_SHUTDOWN_TIMEOUT };
	optind = 0; /* glibc: start afresh, forgetting any earlier parse's state */
	opterr = 0;
	for (;;) {
		int cur = optind ? optind : 1, ret;

		longindex = -1;
		c = getopt_long(argc, argv, "+:m:h", options, &longindex);
		if (c == -1)
			break;
		if (c == ':') {
			bad(&p, "option '%s' needs an argument", argv[optind - 1]);
			return CLI_ERROR;
		}
		if (c == '?' || (longindex >= 0 && !spelled_out(argv[cur], options[longindex].name))) {
			unknown_option(&p, argv[cur]);
			return CLI_ERROR;
		}
		if (c == OPT_HELP) {
			fputs(usage, out);
			return CLI_EXIT_OK;
		}
		if (c == OPT_VERSION) {
			fprintf(out, "minivmm %s\n", MINIVMM_VERSION);
			return CLI_EXIT_OK;
		}
		/* A value given twice is a mistake one way or the other; flags
		 * may repeat, and --disk/--cdrom add a drive each. */
		/* "--balloon virtio" with a space: QEMU's "-balloon virtio". */
		if (c == OPT_BALLOON && !optarg && optind < argc && !strcmp(argv[optind], "virtio"))
			optarg = argv[optind++];
		if ((optarg || c == OPT_STATS) && c != OPT_DISK && c != OPT_CDROM &&
		    c != OPT_DEVICE && c != OPT_BALLOON && c != OPT_NET && p.seen[c]) {
			bad(&p, "%s: given twice (give it once)", opt_name(c));
			return CLI_ERROR;
		}
		p.seen[c] = true;
		ret = 1;
		for (size_t i = 0; ret > 0 && i < sizeof(families) / sizeof(families[0]); i++)
			ret = families[i](&p, c, optarg);
		if (ret != 0)
			return CLI_ERROR;
	}
	if (optind < argc) {
		if (!strncmp(argv[optind], "json:", 5))
			bad(&p, "unexpected argument '%s' (--stats takes it as --stats=json:PATH)",
			    argv[optind]);
		else
			bad(&p, "unexpected argument '%s' (see minivmm --help)", argv[optind]);
		return CLI_ERROR;
	}
	/* The defaults of --vga and --tablet, the one place they are decided:
	 * a VM with a VNC screen gets QEMU's std VGA and the tablet (so the
	 * two pointers agree), one without stays as before (SeaBIOS on COM1). */
	if (cfg->vnc && !p.seen[OPT_VGA])
		cfg->vga = VGA_STD;
	if (cfg->vnc && !p.seen[OPT_TABLET])
		cfg->tablet = true;
	return check_combinations(&p) < 0 ? CLI_ERROR : CLI_RUN;
}

/* ---- the files ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* An input file: there, a regular file (not a directory), readable. */
static int check_input(const char *opt, const char *path, struct stat *st, char *err,
		       size_t errlen)
{
	int fd;

	if (stat(path, st) < 0)
		return fail(err, errlen, "%s: cannot open '%s': %s", opt, path, strerror(errno));
	if (S_ISDIR(st->st_mode))
		return fail(err, errlen, "%s: '%s' is a directory", opt, path);
	if (!S_ISREG(st->st_mode))
		return fail(err, errlen, "%s: '%s' is not a regular file", opt, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "%s: cannot read '%s': %s", opt, path, strerror(errno));
	close(fd);
	return 0;
}

/* The Linux x86 boot protocol's setup header: "HdrS" at 0x202. */
static int check_bzimage(const char *path, char *err, size_t errlen)
{
	uint8_t hdr[0x206];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(err, errlen, "--kernel: cannot read '%s': %s", path, strerror(errno));
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n < 0)
		return fail(err, errlen, "--kernel: cannot read '%s': %s", path, strerror(errno));
	if ((size_t)n < sizeof(hdr) || memcmp(hdr + 0x202, "HdrS", 4))
		return fail(err, errlen, "--kernel: '%s' is not a Linux bzImage (no 'HdrS' header)",
			    path);
	return 0;
}

/* An option ROM: 512 bytes to CLI_ROM_MAX, starting 55 AA. */
static int check_option_rom(const char *path, const struct stat *st, char *err, size_t errlen)
{
	uint8_t sig[2];
	ssize_t n;
	int fd;

	if (st->st_size < 512 || st->st_size > CLI_ROM_MAX)
		return fail(err, errlen,
			    "--net nic: romfile=%s: an option ROM is 512 bytes to %d KiB", path,
			    CLI_ROM_MAX >> 10);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "--net nic: romfile=%s: %s", path, strerror(errno));
	n = pread(fd, sig, 2, 0);
	close(fd);
	if (n != 2 || sig[0] != 0x55 || sig[1] != 0xaa)
		return fail(err, errlen,
			    "--net nic: romfile=%s is not an option ROM (no 55 AA "
			    "signature)",
			    path);
	return 0;
}

int cli_check_output(const char *opt, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int fd;

	if (!*path)
		return fail(err, errlen, "%s: the file name is empty", opt);
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return fail(err, errlen, "%s: '%s' is a directory", opt, path);
		if (S_ISFIFO(st.st_mode))
			return 0; /* opening it would wait for a reader */
		/* Opened for writing without O_TRUNC: the file stays as it is. */
		fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return fail(err, errlen, "%s: cannot write '%s': %s", opt, path,
				    strerror(errno));
		close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return fail(err, errlen, "%s: cannot write '%s': %s", opt, path, strerror(errno));
	if (strlen(path) >= sizeof(dir))
		return fail(err, errlen, "%s: '%s': %s", opt, path, strerror(ENAMETOOLONG));
	strcpy(dir, path);
	/* An unnamed file in the directory proves that we may create one
	 * there, and vanishes on close. */
	fd = open(dirname(dir), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return fail(err, errlen, "%s: cannot create '%s': %s", opt, path, strerror(errno));
	/* No O_TMPFILE on this file system (/proc, some network ones): create
	 * the file itself, as nobody else's, and remove it again. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(err, errlen, "%s: cannot create '%s': %s", opt, path, strerror(errno));
	close(fd);
	unlink(path);
	return 0;
}

int cli_open_output(const char *opt, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC, 0644);

	if (fd < 0)
		fail(err, errlen, "%s: cannot open '%s': %s", opt, path, strerror(errno));
	return fd;
}

/* A file the configuration names, for finding one named twice. */
struct named_file {
	const char *opt, *path;
	bool output, exists;
	struct stat st;
};

static bool same_file(const struct named_file *a, const struct named_file *b)
{
	/* /dev/null and terminals may well take two outputs */
	if (a->exists && b->exists)
		return S_ISREG(a->st.st_mode) && a->st.st_dev == b->st.st_dev &&
		       a->st.st_ino == b->st.st_ino;
	return !strcmp(a->path, b->path);
}

int cli_check_files(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct named_file f[CLI_MAX_DISKS + CLI_MAX_VIRTIO_DISKS + 9];
	unsigned n = 0;

	/* The default firmware's absence gets its own advice (vm.c). */
	if (cfg->bios && !cfg->bios_default)
		f[n++] = (struct named_file){ .opt = "--bios", .path = cfg->bios };
	if (cfg->kernel)
		f[n++] = (struct named_file){ .opt = "--kernel", .path = cfg->kernel };
	if (cfg->initrd)
		f[n++] = (struct named_file){ .opt = "--initrd", .path = cfg->initrd };
	if (cfg->vnc_password_file)
		f[n++] = (struct named_file){ .opt = "--vnc-password-file",
					      .path = cfg->vnc_password_file };
	for (unsigned i = 0; i < n; i++) {
		if (check_input(f[i].opt, f[i].path, &f[i].st, err, errlen) < 0)
			return -1;
		f[i].exists = true;
	}
	if (cfg->kernel && check_bzimage(cfg->kernel, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		const struct cli_nic *nic = &cfg->nics[i];
		struct stat st;

		if (nic->rom_default || !nic->romfile[0])
			continue;
		if (check_input("--net nic: romfile=", nic->romfile, &st, err, errlen) < 0 ||
		    check_option_rom(nic->romfile, &st, err, errlen) < 0)
			return -1;
	}
	/* Drives: the block layer says what is wrong with them; here they
	 * only must not be an output too. */
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		f[n++] = (struct named_file){ .opt = "--disk", .path = cfg->disks[i].path };
	for (unsigned i = 0; i < cfg->nr_vdisks; i++)
		f[n++] = (struct named_file){ .opt = "--disk", .path = cfg->vdisks[i].path };
	if (cfg->has_cdrom && *cfg->cdrom.path)
		f[n++] = (struct named_file){ .opt = "--cdrom", .path = cfg->cdrom.path };
	for (unsigned i = 0; i < n; i++)
		if (!f[i].exists)
			f[i].exists = stat(f[i].path, &f[i].st) == 0;

	if (cfg->serial == SERIAL_FILE)
		f[n++] = (struct named_file){ .opt = "--serial", .path = cfg->serial_path,
					      .output = true };
	if (cfg->debugcon_path)
		f[n++] = (struct named_file){ .opt = "--debugcon", .path = cfg->debugcon_path,
					      .output = true };
	if (cfg->stats == STATS_JSON)
		f[n++] = (struct named_file){ .opt = "--stats", .path = cfg->stats_path,
					      .output = true };
	if (cfg->screendump_on_exit)
		f[n++] = (struct named_file){ .opt = "--screendump-on-exit",
					      .path = cfg->screendump_on_exit, .output = true };
	for (unsigned i = 0; i < n; i++) {
		if (!f[i].output)
			continue;
		if (cli_check_output(f[i].opt, f[i].path, err, errlen) < 0)
			return -1;
		f[i].exists = stat(f[i].path, &f[i].st) == 0;
		for (unsigned j = 0; j < i; j++)
			if (same_file(&f[i], &f[j]))
				return fail(err, errlen, "%s: '%s' is also the file of %s; %s",
					    f[i].opt, f[i].path, f[j].opt,
					    f[j].output ? "give each output its own file"
							: "it would be overwritten");
	}
	return 0;
}
