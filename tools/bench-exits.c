// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-exits: what minivmm costs per VM exit and at start-up, measured
 * against references run in the same invocation.
 *
 * 1. Exit cost.  The bench guest (firmware/guests/bench.asm) runs three
 *    phases of N iterations (port writes to 0x3ff, MMIO writes to an
 *    unclaimed address, the same loop writing RAM) separated by marker bytes
 *    on COM1.  The guest runs under a bare KVM_RUN loop in this process
 *    (set up like minivmm: in-kernel irqchip and PIT, the same TSS and
 *    identity-map addresses, the image mapped read-only below 4 GiB and
 *    copied below 1 MiB) and under minivmm (and QEMU when asked), and both
 *    are timed the same way: the time between the marker exits, divided by
 *    N.  For the bare loop a marker is timestamped at its exit; for a VMM
 *    process when its byte arrives on the stdout pipe, which adds one pipe
 *    wake-up (tens of microseconds) to a phase of about a second.
 * 2. Start-up and memory.  The tiny guest sends a byte to COM1 in its third
 *    instruction and debug-exits.  Start-up is the time from fork() to that
 *    byte on the pipe; peak RSS is wait4()'s ru_maxrss of that child.
 *    Compared with QEMU on the same image when QEMU is installed.
 *
 * Nothing here asserts a speed: it prints numbers and ratios (testing.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench_stats.h"

#define NR_MARKS	 4	/* 'A'..'D' */
#define NR_PHASES	 (NR_MARKS - 1)
#define COM1_THR	 0x3f8
#define COM1_LSR	 0x3fd
#define DEBUG_EXIT_PORT	 0xf4
#define TSS_ADDR	 0xfeffd000ULL
#define IDENTITY_MAP	 0xfeffc000ULL
#define LOW_RAM_END	 0xa0000ULL	/* VGA hole up to 0xc0000 */
#define HIGH_RAM_START	 0xc0000ULL
#define BIOS_COPY_MAX	 (128 * 1024)
#define IMAGE_MAX	 (16 * 1024 * 1024)
#define CHILD_TIMEOUT_MS 120000
#define MAX_RUNS	 50

static const char *const phase_names[NR_PHASES] = {
	"port I/O exit (0x3ff)",
	"MMIO exit (unclaimed)",
	"loop only (RAM write)",
};

static const char *const net_names[2] = {
	"port I/O exit, loop subtracted",
	"MMIO exit, loop subtracted",
};

struct phase_times {
	double us_per_iter[NR_PHASES];
};

struct opts {
	const char *minivmm;
	const char *qemu;
	const char *guest;
	const char *tiny;
	const char *memory;
	unsigned long iterations;
	int runs;
	int startup_runs;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint8_t *read_image(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	if (st.st_size < 65536 || st.st_size > IMAGE_MAX || st.st_size % 65536) {
		fprintf(stderr, "%s: size must be a multiple of 64 KiB up to 16 MiB\n", path);
		exit(2);
	}
	*size = (size_t)st.st_size;
	buf = malloc(*size);
	if (!buf)
		die("malloc");
	for (size_t done = 0; done < *size;) {
		ssize_t n = read(fd, buf + done, *size - done);

		if (n <= 0)
			die(path);
		done += (size_t)n;
	}
	close(fd);
	return buf;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G':
	case 'g':
		v <<= 10;
		/* fall through */
	case 'M':
	case 'm':
		v <<= 10;
		/* fall through */
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	default:
		break;
	}
	if (*end || v < 2 * 1024 * 1024 || v > (3ULL << 30)) {
		fprintf(stderr, "bad --memory %s (2M..3G)\n", s);
		exit(2);
	}
	return v;
}

static void set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
}

/* Returns false if the guest did something this loop does not expect. */
static bool bare_handle_io(struct kvm_run *run, double *marks, int *nmarks, bool *done)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	size_t len = (size_t)run->io.size * run->io.count;

	if (run->io.direction == KVM_EXIT_IO_IN) {
		memset(data, 0xff, len);
		if (run->io.port == COM1_LSR)
			memset(data, 0x60, len); /* transmitter empty */
		return true;
	}
	if (run->io.port == COM1_THR) {
		if (*nmarks < NR_MARKS)
			marks[*nmarks] = now_s();
		(*nmarks)++;
	} else if (run->io.port == DEBUG_EXIT_PORT) {
		*done = true;
	}
	return true;
}

/* One run of the bench guest under a bare KVM_RUN loop. */
static bool bare_run(const uint8_t *image, size_t image_size, uint64_t mem_size, double *marks)
{
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t identity = IDENTITY_MAP;
	size_t copy = image_size < BIOS_COPY_MAX ? image_size : BIOS_COPY_MAX;
	int kvm, vm, vcpu, nmarks = 0, run_size;
	struct kvm_run *run;
	uint8_t *ram, *rom;
	bool done = false, ok = true;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	if (ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
		die("KVM_SET_TSS_ADDR");
	if (ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		die("KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");
	if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		die("KVM_CREATE_PIT2");

	ram = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	rom = mmap(NULL, image_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED || rom == MAP_FAILED)
		die("mmap");
	memcpy(rom, image, image_size);
	memcpy(ram + 0x100000 - copy, image + image_size - copy, copy);
	set_region(vm, 0, 0, 0, LOW_RAM_END, ram);
	set_region(vm, 1, 0, HIGH_RAM_START, mem_size - HIGH_RAM_START, ram + HIGH_RAM_START);
	set_region(vm, 2, KVM_MEM_READONLY, (1ULL << 32) - image_size, image_size, rom);

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size < (int)sizeof(*run))
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");

	/* KVM's reset state is the x86 one: CS 0xf000 based at 0xffff0000,
	 * IP 0xfff0, real mode. */
	while (!done && ok) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			ok = bare_handle_io(run, marks, &nmarks, &done);
			break;
		case KVM_EXIT_MMIO:
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
			break;
		default:
			fprintf(stderr, "bare loop: unexpected exit reason %u\n", run->exit_reason);
			ok = false;
			break;
		}
	}
	munmap(run, (size_t)run_size);
	close(vcpu);
	close(vm);
	close(kvm);
	munmap(rom, image_size);
	munmap(ram, mem_size);
	if (ok && nmarks != NR_MARKS) {
		fprintf(stderr, "bare loop: %d markers, expected %d\n", nmarks, NR_MARKS);
		ok = false;
	}
	return ok;
}

struct child_result {
	double first_byte_s;	/* since fork(), < 0 if none */
	double marks[NR_MARKS];	/* absolute, CLOCK_MONOTONIC */
	int nmarks;
	int status;		/* exit status, -1 if killed or signalled */
	long maxrss_kib;
	char output[256];	/* the beginning of its stdout, for errors */
};

/* Runs argv with stdout on a pipe, timestamping the bytes as they arrive. */
static bool run_child(char *const argv[], struct child_result *res)
{
	struct rusage ru;
	size_t outlen = 0;
	double t0, deadline;
	int pipefd[2], wstatus;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->first_byte_s = -1;
	res->status = -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe2");
	fflush(NULL);
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pipefd[1], 1) < 0)
			_exit(127);
		/* The VMM's own messages are not part of the measurement. */
		dup2(devnull, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	deadline = t0 + CHILD_TIMEOUT_MS / 1000.0;
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		uint8_t buf[4096];
		double t;
		ssize_t n;
		int left = (int)((deadline - now_s()) * 1000);

		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			fprintf(stderr, "%s: no end within %d s, killed\n", argv[0], CHILD_TIMEOUT_MS / 1000);
			kill(pid, SIGKILL);
			break;
		}
		n = read(pipefd[0], buf, sizeof(buf));
		t = now_s();
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (res->first_byte_s < 0)
			res->first_byte_s = t - t0;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= 'A' && buf[i] < 'A' + NR_MARKS && res->nmarks < NR_MARKS &&
			    buf[i] == 'A' + res->nmarks)
				res->marks[res->nmarks++] = t;
			if (outlen < sizeof(res->output) - 1)
				res->output[outlen++] = (char)buf[i];
		}
	}
	close(pipefd[0]);
	if (wait4(pid, &wstatus, 0, &ru) < 0)
		die("wait4");
	res->maxrss_kib = ru.ru_maxrss;
	if (WIFEXITED(wstatus))
		res->status = WEXITSTATUS(wstatus);
	return res->status == 33;
}

static void phases_from_marks(const double *marks, unsigned long n, struct phase_times *pt)
{
	for (int i = 0; i < NR_PHASES; i++)
		pt->us_per_iter[i] = (marks[i + 1] - marks[i]) * 1e6 / (double)n;
}

/* The median for the table; the minimum too, because the noise of a shared
 * host only ever adds time. */
static void summarise_phases(struct phase_times *runs, int n, struct phase_times *med,
			     struct phase_times *min)
{
	double v[MAX_RUNS];

	for (int p = 0; p < NR_PHASES; p++) {
		for (int i = 0; i < n; i++)
			v[i] = runs[i].us_per_iter[p];
		med->us_per_iter[p] = bench_median(v, n);
		min->us_per_iter[p] = v[0]; /* sorted by bench_median() */
	}
}

static bool vmm_phases(char *const argv[], const char *who, unsigned long n, struct phase_times *pt)
{
	struct child_result res;

	if (!run_child(argv, &res) || res.nmarks != NR_MARKS) {
		fprintf(stderr, "%s: exit status %d, %d of %d markers, output \"%s\"\n", who, res.status,
			res.nmarks, NR_MARKS, res.output);
		return false;
	}
	phases_from_marks(res.marks, n, pt);
	return true;
}

static void print_ratio(double a, double b)
{
	if (b > 0)
		printf(" %8.3f", a / b);
	else
		printf(" %8s", "-");
}

static int bench_exits(const struct opts *o, bool have_qemu)
{
	struct phase_times bare[MAX_RUNS], mini[MAX_RUNS], qemu[MAX_RUNS], mb, mm, mq, nb, nm, nq;
	uint64_t mem_size = parse_size(o->memory);
	size_t image_size;
	uint8_t *image = read_image(o->guest, &image_size);
	char *mini_argv[] = { (char *)o->minivmm, "--bios", (char *)o->guest, "--debug-exit",
			      "--memory", (char *)o->memory, "--serial", "stdio", NULL };
	char *qemu_argv[] = { (char *)o->qemu, "-accel", "kvm", "-bios", (char *)o->guest, "-m",
			      (char *)o->memory, "-nographic", "-no-reboot", "-device",
			      "isa-debug-exit,iobase=0xf4,iosize=1", NULL };

	/* Interleaved, so that drift in the host affects all alike. */
	for (int r = 0; r < o->runs; r++) {
		double marks[NR_MARKS];

		if (!bare_run(image, image_size, mem_size, marks))
			return 1;
		phases_from_marks(marks, o->iterations, &bare[r]);
		if (!vmm_phases(mini_argv, "minivmm", o->iterations, &mini[r]))
			return 1;
		if (have_qemu && !vmm_phases(qemu_argv, "qemu", o->iterations, &qemu[r]))
			have_qemu = false;
	}
	free(image);
	summarise_phases(bare, o->runs, &mb, &nb);
	summarise_phases(mini, o->runs, &mm, &nm);
	if (have_qemu)
		summarise_phases(qemu, o->runs, &mq, &nq);

	printf("VM-exit cost: %lu iterations per phase, median of %d runs, microseconds per iteration\n"
	       "(last column: ratio of the fastest runs)\n",
	       o->iterations, o->runs);
	printf("  %-30s %10s %10s %10s %8s %8s\n", "phase", "bare KVM", "minivmm",
	       have_qemu ? "QEMU" : "", "mini/bare", "(of min)");
	for (int p = 0; p < NR_PHASES; p++) {
		printf("  %-30s %10.3f %10.3f", phase_names[p], mb.us_per_iter[p], mm.us_per_iter[p]);
		if (have_qemu)
			printf(" %10.3f", mq.us_per_iter[p]);
		else
			printf(" %10s", "");
		print_ratio(mm.us_per_iter[p], mb.us_per_iter[p]);
		print_ratio(nm.us_per_iter[p], nb.us_per_iter[p]);
		printf("%s\n", p < 2 ? "   (target <= 1.05)" : "");
	}
	/* The same loop without the exit: what an exit alone costs. */
	for (int p = 0; p < 2; p++) {
		double b = mb.us_per_iter[p] - mb.us_per_iter[2];
		double m = mm.us_per_iter[p] - mm.us_per_iter[2];

		printf("  %-30s %10.3f %10.3f", net_names[p], b, m);
		if (have_qemu)
			printf(" %10.3f", mq.us_per_iter[p] - mq.us_per_iter[2]);
		else
			printf(" %10s", "");
		print_ratio(m, b);
		print_ratio(nm.us_per_iter[p] - nm.us_per_iter[2], nb.us_per_iter[p] - nb.us_per_iter[2]);
		printf("\n");
	}
	return 0;
}

static bool startup_runs(char *const argv[], const char *who, int runs, double *ms, double *rss_mib)
{
	double t[MAX_RUNS];
	long rss = 0;

	for (int r = 0; r < runs; r++) {
		struct child_result res;

		if (!run_child(argv, &res) || res.first_byte_s < 0) {
			fprintf(stderr, "%s: exit status %d, output \"%s\"\n", who, res.status, res.output);
			return false;
		}
		t[r] = res.first_byte_s * 1e3;
		if (res.maxrss_kib > rss)
			rss = res.maxrss_kib;
	}
	*ms = bench_median(t, runs);
	*rss_mib = (double)rss / 1024.0;
	return true;
}

static int bench_startup(const struct opts *o, bool have_qemu)
{
	char *mini_argv[] = { (char *)o->minivmm, "--bios", (char *)o->tiny, "--debug-exit",
			      "--memory", (char *)o->memory, NULL };
	char *qemu_argv[] = { (char *)o->qemu, "-accel", "kvm", "-bios", (char *)o->tiny, "-m",
			      (char *)o->memory, "-nographic", "-no-reboot", "-device",
			      "isa-debug-exit,iobase=0xf4,iosize=1", NULL };
	double mini_ms, mini_rss, qemu_ms = 0, qemu_rss = 0;

	if (!startup_runs(mini_argv, "minivmm", o->startup_runs, &mini_ms, &mini_rss))
		return 1;
	if (have_qemu && !startup_runs(qemu_argv, "qemu", o->startup_runs, &qemu_ms, &qemu_rss))
		have_qemu = false;

	printf("\nStart-up (fork to the guest's first COM1 byte, median of %d runs) and peak RSS (max)\n",
	       o->startup_runs);
	printf("  %-30s %10s %10s %8s\n", "", "minivmm", have_qemu ? "QEMU" : "", "minivmm/QEMU");
	printf("  %-30s %10.2f", "start-up ms", mini_ms);
	if (have_qemu) {
		printf(" %10.2f", qemu_ms);
		print_ratio(mini_ms, qemu_ms);
	}
	printf("   (target <= 0.20)\n");
	printf("  %-30s %10.1f", "peak RSS MiB", mini_rss);
	if (have_qemu) {
		printf(" %10.1f", qemu_rss);
		print_ratio(mini_rss, qemu_rss);
	}
	printf("   (target <= 0.25)\n");
	if (!have_qemu)
		printf("  (QEMU not run: no ratios)\n");
	return 0;
}

static bool qemu_usable(const char *qemu)
{
	if (!qemu || !strcmp(qemu, "none"))
		return false;
	if (strchr(qemu, '/'))
		return access(qemu, X_OK) == 0;
	for (const char *p = getenv("PATH"); p && *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char path[4096];

		snprintf(path, sizeof(path), "%.*s/%s", (int)len, p, qemu);
		if (access(path, X_OK) == 0)
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench-exits --minivmm PATH --guest bench.bin --tiny tiny.bin\n"
		"                   [--qemu PATH|none] [--runs N] [--startup-runs N]\n"
		"                   [--iterations N] [--memory SIZE]\n"
		"Prints microseconds per VM exit for a bare KVM_RUN loop and minivmm\n"
		"(and QEMU), start-up time and peak RSS of minivmm against QEMU.\n"
		"--iterations must match BENCH_ITERATIONS in bench.asm (100000).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "minivmm", required_argument, NULL, 'm' },
		{ "qemu", required_argument, NULL, 'q' },
		{ "guest", required_argument, NULL, 'g' },
		{ "tiny", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "startup-runs", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "memory", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.qemu = "qemu-system-x86_64",
		.memory = "128M",
		.iterations = 100000,
		.runs = 5,
		.startup_runs = 5,
	};
	bool have_qemu;
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.minivmm = optarg;
			break;
		case 'q':
			o.qemu = optarg;
			break;
		case 'g':
			o.guest = optarg;
			break;
		case 't':
			o.tiny = optarg;
			break;
		case 'r':
			o.runs = atoi(optarg);
			break;
		case 's':
			o.startup_runs = atoi(optarg);
			break;
		case 'n':
			o.iterations = strtoul(optarg, NULL, 0);
			break;
		case 'M':
			o.memory = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.minivmm || !o.guest || !o.tiny || o.runs < 1 || o.runs > MAX_RUNS ||
	    o.startup_runs < 1 || o.startup_runs > MAX_RUNS || !o.iterations || optind != argc) {
		usage(stderr);
		return 2;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP: /dev/kvm not available (%s)\n", strerror(errno));
		return 77;
	}
	close(fd);
	have_qemu = qemu_usable(o.qemu);
	if (bench_exits(&o, have_qemu))
		return 1;
	return bench_startup(&o, have_qemu);
}
