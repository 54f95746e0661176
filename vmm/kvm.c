// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/kvm.h"
#include "vmm/fastpath.h"
#include "vmm/memmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
};

static int init_routes(struct kvm *kvm);

static int check_ext(const struct kvm *kvm, int cap)
{
	int ret = ioctl(kvm->vm_fd >= 0 ? kvm->vm_fd : kvm->sys_fd, KVM_CHECK_EXTENSION, cap);

	return ret > 0 ? ret : 0;
}

static void read_caps(struct kvm *kvm)
{
	struct kvm_caps *c = &kvm->caps;
	int n;

	c->ioeventfd = check_ext(kvm, KVM_CAP_IOEVENTFD);
	c->ioeventfd_any = check_ext(kvm, KVM_CAP_IOEVENTFD_ANY_LENGTH);
	c->irqfd = check_ext(kvm, KVM_CAP_IRQFD);
	c->irqfd_resample = check_ext(kvm, KVM_CAP_IRQFD_RESAMPLE);
	c->signal_msi = check_ext(kvm, KVM_CAP_SIGNAL_MSI);
	n = check_ext(kvm, KVM_CAP_IRQ_ROUTING);
	c->irq_routing = n > KVM_IRQCHIP_GSIS;
	c->nr_gsis = n > KVM_GSIS_MAX ? KVM_GSIS_MAX : (unsigned)n;
	n = check_ext(kvm, KVM_CAP_COALESCED_MMIO);
	c->coalesced_mmio = n > 0;
	c->coalesced_page = (unsigned)n;
	c->coalesced_pio = n > 0 && check_ext(kvm, KVM_CAP_COALESCED_PIO);
	/* The ring must lie inside the mapping of kvm_run. */
	if (c->coalesced_mmio &&
	    (uint64_t)(n + 1) * (uint64_t)sysconf(_SC_PAGESIZE) > (uint64_t)kvm->run_size)
		c->coalesced_mmio = c->coalesced_pio = false;
	n = check_ext(kvm, KVM_CAP_NR_MEMSLOTS);
	c->nr_slots = n <= 0 ? 32 : n > KVM_SLOTS_MAX ? KVM_SLOTS_MAX : (unsigned)n;
}

void kvm_describe_caps(const struct kvm *kvm, FILE *f)
{
	const struct kvm_caps *c = &kvm->caps;

	fprintf(f,
		"ioeventfd %s, ioeventfd any length %s, irqfd %s, irqfd resample %s, "
		"GSI routing %s (%u routes), KVM_SIGNAL_MSI %s, coalesced MMIO %s, coalesced PIO "
		"%s, %u memory slots\n",
		c->ioeventfd ? "yes" : "no", c->ioeventfd_any ? "yes" : "no",
		c->irqfd ? "yes" : "no", c->irqfd_resample ? "yes" : "no",
		c->irq_routing ? "yes" : "no", c->nr_gsis, c->signal_msi ? "yes" : "no",
		c->coalesced_mmio ? "yes" : "no", c->coalesced_pio ? "yes" : "no", c->nr_slots);
}

static struct kvm_cpuid2 *get_supported_cpuid(int sys_fd)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

static struct kvm_msr_list *get_msr_list(int sys_fd)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;

	if (ioctl(sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return NULL;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list)
		return NULL;
	list->nmsrs = probe.nmsrs;
	if (ioctl(sys_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return NULL;
	}
	return list;
}

int kvm_init(struct kvm *kvm, unsigned nr_vcpus, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int ret;

	memset(kvm, 0, sizeof(*kvm));
	pthread_mutex_init(&kvm->lock, NULL);
	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "/dev/kvm does not exist: KVM is not available on this "
					      "host (is the kvm module loaded, or is this a container?)");
		else if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen, "permission denied opening /dev/kvm: add your user to "
					      "the 'kvm' group or run as root");
		else
			snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	ret = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm speaks API version %d, minivmm needs %d", ret,
			 KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, errlen, "this host's KVM lacks %s, which minivmm needs",
				 required_caps[i].name);
			goto fail;
		}
	}
	ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (ret <= 0)
		ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = ret > 0 ? (unsigned)ret : 4;
	if (nr_vcpus > kvm->max_vcpus) {
		snprintf(err, errlen, "this host's KVM supports at most %u vCPUs, %u asked",
			 kvm->max_vcpus, nr_vcpus);
		goto fail;
	}
	kvm->run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		goto fail;
	}
	kvm->supported_cpuid = get_supported_cpuid(kvm->sys_fd);
	kvm->msr_list = get_msr_list(kvm->sys_fd);
	if (!kvm->supported_cpuid || !kvm->msr_list) {
		snprintf(err, errlen, "cannot read KVM's supported CPUID or MSR list: %s",
			 strerror(errno));
		goto fail;
	}

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM failed: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)MEMMAP_TSS) < 0 ||
	    ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ MEMMAP_IDENTITY_MAP }) < 0) {
		snprintf(err, errlen, "cannot place KVM's TSS and identity map: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, errlen, "KVM_CREATE_PIT2 failed: %s", strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < 3; i++) {
		kvm->chip0[i].chip_id = i;
		if (ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &kvm->chip0[i]) < 0) {
			snprintf(err, errlen, "KVM_GET_IRQCHIP failed: %s", strerror(errno));
			goto fail;
		}
	}
	if (ioctl(kvm->vm_fd, KVM_GET_PIT2, &kvm->pit0) < 0) {
		snprintf(err, errlen, "KVM_GET_PIT2 failed: %s", strerror(errno));
		goto fail;
	}
	read_caps(kvm);
	if (init_routes(kvm) < 0) {
		snprintf(err, errlen, "cannot set up KVM's GSI routing: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	kvm_close(kvm);
	return -1;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->supported_cpuid);
	free(kvm->msr_list);
	free(kvm->routes);
	kvm->routes = NULL;
	memset(kvm->slot, 0, sizeof(kvm->slot));
	kvm->vm_fd = kvm->sys_fd = -1;
	kvm->supported_cpuid = NULL;
	kvm->msr_list = NULL;
}

int kvm_map_memory(struct kvm *kvm, uint64_t gpa, uint64_t size, void *hva, bool readonly,
		   char *err, size_t errlen)
{
	int ret = kvm_slot_add(kvm, gpa, size, hva, readonly ? KVM_MEM_READONLY : 0);

	if (ret < 0) {
		snprintf(err, errlen, "cannot give %llu MiB at 0x%llx to KVM: %s",
			 (unsigned long long)(size >> 20), (unsigned long long)gpa, strerror(-ret));
		return -1;
	}
	return 0;
}

void kvm_set_irq(void *opaque, unsigned gsi, bool level)
{
	struct kvm *kvm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		perror("minivmm: KVM_IRQ_LINE");
}

int kvm_reset_irqchip(struct kvm *kvm)
{
	for (unsigned i = 0; i < 3; i++)
		if (ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &kvm->chip0[i]) < 0)
			return -errno;
	if (ioctl(kvm->vm_fd, KVM_SET_PIT2, &kvm->pit0) < 0)
		return -errno;
	return 0;
}

/* ---- memory slots ---- */

static int set_slot(struct kvm *kvm, unsigned id, const struct kvm_slot *sl)
{
	struct kvm_userspace_memory_region r = {
		.slot = id,
		.flags = sl->flags,
		.guest_phys_addr = sl->gpa,
		.memory_size = sl->used ? sl->size : 0,
		.userspace_addr = (uintptr_t)sl->hva,
	};

	return ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static bool slot_ok(const struct kvm *kvm, int slot)
{
	return slot >= 0 && (unsigned)slot < kvm->caps.nr_slots && kvm->slot[slot].used;
}

int kvm_slot_add(struct kvm *kvm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int ret = -ENOSPC;

	if (!size || (gpa | size | (uintptr_t)hva) & (page - 1) || gpa + size < gpa ||
	    flags & ~(uint32_t)(KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES))
		return -EINVAL;
	pthread_mutex_lock(&kvm->lock);
	for (unsigned i = 0; i < kvm->caps.nr_slots; i++) {
		struct kvm_slot sl = {true, flags, gpa, size, hva};

		if (kvm->slot[i].used)
			continue;
		ret = set_slot(kvm, i, &sl);
		if (ret == 0) {
			kvm->slot[i] = sl;
			ret = (int)i;
		}
		break;
	}
	pthread_mutex_unlock(&kvm->lock);
	return ret;
}

/* Sets slot to a changed copy, keeping the old one if KVM refuses. */
static int change_slot(struct kvm *kvm, int slot, uint64_t gpa, uint32_t flags)
{
	struct kvm_slot sl;
	int ret;

	pthread_mutex_lock(&kvm->lock);
	if (!slot_ok(kvm, slot)) {
		pthread_mutex_unlock(&kvm->lock);
		return -ENOENT;
	}
	sl = kvm->slot[slot];
	sl.gpa = gpa;
	sl.flags = flags;
	ret = (gpa & (uint64_t)(sysconf(_SC_PAGESIZE) - 1)) || gpa + sl.size < gpa
		  ? -EINVAL
		  : set_slot(kvm, (unsigned)slot, &sl);
	if (ret == 0)
		kvm->slot[slot] = sl;
	pthread_mutex_unlock(&kvm->lock);
	return ret;
}

int kvm_slot_move(struct kvm *kvm, int slot, uint64_t gpa)
{
	uint32_t flags;

	pthread_mutex_lock(&kvm->lock);
	flags = slot_ok(kvm, slot) ? kvm->slot[slot].flags : 0;
	pthread_mutex_unlock(&kvm->lock);
	return change_slot(kvm, slot, gpa, flags);
}

int kvm_slot_log_dirty(struct kvm *kvm, int slot, bool on)
{
	uint64_t gpa = 0;
	uint32_t flags = 0;

	pthread_mutex_lock(&kvm->lock);
	if (slot_ok(kvm, slot)) {
		gpa = kvm->slot[slot].gpa;
		flags = kvm->slot[slot].flags & ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES;
		if (on)
			flags |= KVM_MEM_LOG_DIRTY_PAGES;
	}
	pthread_mutex_unlock(&kvm->lock);
	return change_slot(kvm, slot, gpa, flags);
}

int kvm_slot_remove(struct kvm *kvm, int slot)
{
	struct kvm_slot sl;
	int ret;

	pthread_mutex_lock(&kvm->lock);
	if (!slot_ok(kvm, slot)) {
		pthread_mutex_unlock(&kvm->lock);
		return -ENOENT;
	}
	sl = kvm->slot[slot];
	sl.used = false;
	sl.flags = 0;
	ret = set_slot(kvm, (unsigned)slot, &sl);
	if (ret == 0)
		memset(&kvm->slot[slot], 0, sizeof(kvm->slot[slot]));
	pthread_mutex_unlock(&kvm->lock);
	return ret;
}

int kvm_slot_get_dirty(struct kvm *kvm, int slot, uint64_t *bitmap, size_t words)
{
	struct kvm_dirty_log log = {.dirty_bitmap = bitmap};
	int ret = 0;

	pthread_mutex_lock(&kvm->lock);
	if (!slot_ok(kvm, slot))
		ret = -ENOENT;
	else if (!(kvm->slot[slot].flags & KVM_MEM_LOG_DIRTY_PAGES))
		ret = -EINVAL;
	else if (words < kvm_dirty_words(kvm->slot[slot].size))
		ret = -ENOBUFS;
	log.slot = (uint32_t)slot;
	if (ret == 0 && ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		ret = -errno;
	pthread_mutex_unlock(&kvm->lock);
	return ret;
}

/* ---- ioeventfd, irqfd ---- */

int kvm_ioeventfd(struct kvm *kvm, int fd, bool pio, uint64_t addr, unsigned len, bool datamatch,
		  uint64_t data, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch ? data : 0,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		     (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
		     (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if ((len != 0 && len != 1 && len != 2 && len != 4 && len != 8) || (!len && datamatch))
		return -EINVAL;
	if (!kvm->caps.ioeventfd || (!len && !kvm->caps.ioeventfd_any))
		return -ENOSYS;
	return ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int kvm_irqfd(struct kvm *kvm, int fd, unsigned gsi, int resample_fd, bool assign)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (!kvm->caps.irqfd || (resample_fd >= 0 && !kvm->caps.irqfd_resample))
		return -ENOSYS;
	if (assign && resample_fd >= 0) {
		irq.flags |= KVM_IRQFD_FLAG_RESAMPLE;
		irq.resamplefd = (uint32_t)resample_fd;
	}
	return ioctl(kvm->vm_fd, KVM_IRQFD, &irq) < 0 ? -errno : 0;
}

/* ---- GSI routing ---- */

/* The routes KVM sets up for an x86 irqchip (its default routing): GSIs
 * 0-15 to the IOAPIC pin and the PIC pin of the same number, 16-23 to the
 * IOAPIC only.  KVM_SET_GSI_ROUTING replaces the whole table, so they are
 * given again with every MSI route. */
static int init_routes(struct kvm *kvm)
{
	struct kvm_irq_routing *r;

	if (!kvm->caps.irq_routing)
		return 0;
	kvm->routes_cap = 64; /* the 40 irqchip routes and a few MSIs; grows */
	r = calloc(1, sizeof(*r) + kvm->routes_cap * sizeof(r->entries[0]));
	if (!r)
		return -1;
	for (unsigned gsi = 0; gsi < KVM_IRQCHIP_GSIS; gsi++) {
		r->entries[r->nr++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
		};
		if (gsi < 16)
			r->entries[r->nr++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							     : KVM_IRQCHIP_PIC_SLAVE,
					  .pin = gsi % 8},
			};
	}
	kvm->routes = r;
	for (unsigned gsi = 0; gsi < KVM_IRQCHIP_GSIS; gsi++)
		kvm->gsi_used[gsi / 8] |= (uint8_t)(1u << (gsi % 8));
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		return -1;
	return 0;
}

static struct kvm_irq_routing_entry *find_msi_route(struct kvm *kvm, unsigned gsi)
{
	for (unsigned i = 0; i < kvm->routes->nr; i++)
		if (kvm->routes->entries[i].gsi == gsi &&
		    kvm->routes->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &kvm->routes->entries[i];
	return NULL;
}

static void set_msi(struct kvm_irq_routing_entry *e, unsigned gsi, uint64_t addr, uint32_t data)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = {.address_lo = (uint32_t)addr,
		      .address_hi = (uint32_t)(addr >> 32),
		      .data = data},
	};
}

int kvm_msi_route_add(struct kvm *kvm, uint64_t addr, uint32_t data)
{
	int ret = -ENOSPC;

	if (!kvm->routes)
		return -ENOSYS;
	pthread_mutex_lock(&kvm->lock);
	for (unsigned gsi = KVM_IRQCHIP_GSIS; gsi < kvm->caps.nr_gsis; gsi++) {
		if (kvm->gsi_used[gsi / 8] & (1u << (gsi % 8)))
			continue;
		if (kvm->routes->nr == kvm->routes_cap) {
			unsigned cap = kvm->routes_cap * 2;
			struct kvm_irq_routing *r =
				realloc(kvm->routes, sizeof(*r) + cap * sizeof(r->entries[0]));

			if (!r) {
				ret = -ENOMEM;
				break;
			}
			kvm->routes = r;
			kvm->routes_cap = cap;
		}
		set_msi(&kvm->routes->entries[kvm->routes->nr++], gsi, addr, data);
		if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, kvm->routes) < 0) {
			ret = -errno;
			kvm->routes->nr--;
		} else {
			kvm->gsi_used[gsi / 8] |= (uint8_t)(1u << (gsi % 8));
			ret = (int)gsi;
		}
		break;
	}
	pthread_mutex_unlock(&kvm->lock);
	return ret;
}

int kvm_msi_route_set(struct kvm *kvm, unsigned gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e, old;
	int ret = 0;

	if (!kvm->routes)
		return -ENOSYS;
	pthread_mutex_lock(&kvm->lock);
	e = find_msi_route(kvm, gsi);
	if (!e) {
		ret = -ENOENT;
	} else {
		old = *e;
		set_msi(e, gsi, addr, data);
		if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, kvm->routes) < 0) {
			ret = -errno;
			*e = old;
		}
	}
	pthread_mutex_unlock(&kvm->lock);
	return ret;
}

int kvm_msi_route_del(struct kvm *kvm, unsigned gsi)
{
	struct kvm_irq_routing_entry *e;
	int ret = 0;

	if (!kvm->routes)
		return -ENOSYS;
	pthread_mutex_lock(&kvm->lock);
	e = find_msi_route(kvm, gsi);
	if (!e) {
		ret = -ENOENT;
	} else {
		*e = kvm->routes->entries[--kvm->routes->nr];
		kvm->gsi_used[gsi / 8] &= (uint8_t) ~(1u << (gsi % 8));
		if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, kvm->routes) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&kvm->lock);
	return ret;
}

int kvm_signal_msi(struct kvm *kvm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};
	int ret;

	if (!kvm->caps.signal_msi)
		return -ENOSYS;
	ret = ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi);
	return ret < 0 ? -errno : ret > 0;
}

/* ---- coalesced MMIO ---- */

int kvm_coalesced_zone(struct kvm *kvm, bool pio, uint64_t addr, uint64_t size, bool assign)
{
	struct kvm_coalesced_mmio_zone z = {.addr = addr, .size = (uint32_t)size, .pio = pio};

	if (!size || size > UINT32_MAX || addr + size < addr)
		return -EINVAL;
	if (!(pio ? kvm->caps.coalesced_pio : kvm->caps.coalesced_mmio))
		return -ENOSYS;
	if (ioctl(kvm->vm_fd, assign ? KVM_REGISTER_COALESCED_MMIO : KVM_UNREGISTER_COALESCED_MMIO,
		  &z) < 0)
		return -errno;
	return 0;
}

struct kvm_coalesced_mmio_ring *kvm_coalesced_ring(const struct kvm *kvm, void *run, unsigned *max)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!kvm->caps.coalesced_mmio || !run)
		return NULL;
	*max = (unsigned)(((size_t)page - sizeof(struct kvm_coalesced_mmio_ring)) /
			  sizeof(struct kvm_coalesced_mmio));
	return (struct kvm_coalesced_mmio_ring *)((uint8_t *)run +
						  (size_t)kvm->caps.coalesced_page * (size_t)page);
}

/* ---- the fast-path layer's host ---- */

static void host_caps(void *opaque, struct fastpath_caps *c)
{
	const struct kvm_caps *k = &((struct kvm *)opaque)->caps;

	*c = (struct fastpath_caps){
		.ioeventfd = k->ioeventfd,
		.ioeventfd_any_len = k->ioeventfd_any,
		.irqfd = k->irqfd,
		.irqfd_resample = k->irqfd_resample,
		.irq_routing = k->irq_routing,
		.signal_msi = k->signal_msi,
		.coalesced_mmio = k->coalesced_mmio,
		.coalesced_pio = k->coalesced_pio,
		.dirty_log = true, /* KVM_GET_DIRTY_LOG is part of the base API */
	};
}

static int host_ioeventfd(void *o, int fd, bool pio, uint64_t addr, unsigned len, bool dm,
			  uint64_t data, bool assign)
{
	return kvm_ioeventfd(o, fd, pio, addr, len, dm, data, assign);
}

static int host_irqfd(void *o, int fd, unsigned gsi, int resample_fd, bool assign)
{
	return kvm_irqfd(o, fd, gsi, resample_fd, assign);
}

static int host_msi_route_add(void *o, uint64_t addr, uint32_t data)
{
	return kvm_msi_route_add(o, addr, data);
}

static int host_msi_route_set(void *o, unsigned gsi, uint64_t addr, uint32_t data)
{
	return kvm_msi_route_set(o, gsi, addr, data);
}

static int host_msi_route_del(void *o, unsigned gsi)
{
	return kvm_msi_route_del(o, gsi);
}

static int host_signal_msi(void *o, uint64_t addr, uint32_t data)
{
	return kvm_signal_msi(o, addr, data);
}

static int host_coalesced_zone(void *o, bool pio, uint64_t addr, uint64_t size, bool assign)
{
	return kvm_coalesced_zone(o, pio, addr, size, assign);
}

static int host_slot_add(void *o, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	return kvm_slot_add(o, gpa, size, hva, flags);
}

static int host_slot_move(void *o, int slot, uint64_t gpa)
{
	return kvm_slot_move(o, slot, gpa);
}

static int host_slot_remove(void *o, int slot)
{
	return kvm_slot_remove(o, slot);
}

static int host_slot_log_dirty(void *o, int slot, bool on)
{
	return kvm_slot_log_dirty(o, slot, on);
}

static int host_slot_get_dirty(void *o, int slot, uint64_t *bitmap, size_t words)
{
	return kvm_slot_get_dirty(o, slot, bitmap, words);
}

const struct fastpath_host kvm_fastpath_host = {
	.caps = host_caps,
	.ioeventfd = host_ioeventfd,
	.irqfd = host_irqfd,
	.msi_route_add = host_msi_route_add,
	.msi_route_set = host_msi_route_set,
	.msi_route_del = host_msi_route_del,
	.signal_msi = host_signal_msi,
	.coalesced_zone = host_coalesced_zone,
	.slot_add = host_slot_add,
	.slot_move = host_slot_move,
	.slot_remove = host_slot_remove,
	.slot_log_dirty = host_slot_log_dirty,
	.slot_get_dirty = host_slot_get_dirty,
};

int kvm_pit_freeze(struct kvm *kvm)
{
	return ioctl(kvm->vm_fd, KVM_GET_PIT2, &kvm->pit_frozen) < 0 ? -1 : 0;
}

int kvm_pit_thaw(struct kvm *kvm)
{
	return ioctl(kvm->vm_fd, KVM_SET_PIT2, &kvm->pit_frozen) < 0 ? -1 : 0;
}

int kvm_clock_freeze(struct kvm *kvm)
{
	kvm->clock_is_frozen = false;
	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK) <= 0)
		return 0;
	if (ioctl(kvm->vm_fd, KVM_GET_CLOCK, &kvm->clock_frozen) < 0)
		return -1;
	kvm->clock_is_frozen = true;
	return 0;
}

int kvm_clock_thaw(struct kvm *kvm)
{
	struct kvm_clock_data data = { .clock = kvm->clock_frozen.clock };

	if (!kvm->clock_is_frozen)
		return 0;
	kvm->clock_is_frozen = false;
	return ioctl(kvm->vm_fd, KVM_SET_CLOCK, &data) < 0 ? -1 : 0;
}
