// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/kvm.h"
#include "vmm/memmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
	kvm->vm_fd = kvm->sys_fd = -1;
	kvm->supported_cpuid = NULL;
	kvm->msr_list = NULL;
}

int kvm_map_memory(struct kvm *kvm, uint64_t gpa, uint64_t size, void *hva, bool readonly,
		   char *err, size_t errlen)
{
	struct kvm_userspace_memory_region r = {
		.slot = kvm->next_slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		snprintf(err, errlen, "cannot give %llu MiB at 0x%llx to KVM: %s",
			 (unsigned long long)(size >> 20), (unsigned long long)gpa, strerror(errno));
		return -1;
	}
	kvm->next_slot++;
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
