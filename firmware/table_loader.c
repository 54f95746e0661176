// SPDX-License-Identifier: GPL-2.0-or-later
#include "firmware/table_loader.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/le.h"

/* Field offsets inside an entry (after the u32 command at 0). */
#define E_COMMAND     0x00
#define E_FILE	      0x04 /* ALLOCATE file, ADD_POINTER dest, ADD_CHECKSUM file */
#define E_ALLOC_ALIGN 0x3c
#define E_ALLOC_ZONE  0x40
#define E_PTR_SRC     0x3c
#define E_PTR_OFFSET  0x74
#define E_PTR_SIZE    0x78
#define E_CK_OFFSET   0x3c
#define E_CK_START    0x40
#define E_CK_LENGTH   0x44

static_assert(E_FILE + TABLE_LOADER_NAME_SIZE == E_PTR_SRC, "dest name, then src name");
static_assert(E_PTR_SRC + TABLE_LOADER_NAME_SIZE == E_PTR_OFFSET, "src name, then offset");
static_assert(E_PTR_SIZE < TABLE_LOADER_ENTRY_SIZE, "pointer entry fits");

void table_loader_init(struct table_loader *l)
{
	*l = (struct table_loader){0};
}

void table_loader_free(struct table_loader *l)
{
	free(l->buf);
	table_loader_init(l);
}

static uint8_t *new_entry(struct table_loader *l, uint32_t command)
{
	uint8_t *e;

	if (l->err)
		return NULL;
	if (l->len + TABLE_LOADER_ENTRY_SIZE > l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16 * TABLE_LOADER_ENTRY_SIZE;
		uint8_t *p = realloc(l->buf, cap);

		if (!p) {
			l->err = -ENOMEM;
			return NULL;
		}
		l->buf = p;
		l->cap = cap;
	}
	e = l->buf + l->len;
	l->len += TABLE_LOADER_ENTRY_SIZE;
	memset(e, 0, TABLE_LOADER_ENTRY_SIZE);
	le32_put(e + E_COMMAND, command);
	return e;
}

static void put_name(struct table_loader *l, uint8_t *field, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= TABLE_LOADER_NAME_SIZE) {
		l->err = -EINVAL;
		return;
	}
	memcpy(field, name, n);
}

void table_loader_allocate(struct table_loader *l, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = new_entry(l, TABLE_LOADER_ALLOCATE);

	if (!e)
		return;
	if (align == 0 || (align & (align - 1)))
		l->err = -EINVAL;
	put_name(l, e + E_FILE, file);
	le32_put(e + E_ALLOC_ALIGN, align);
	e[E_ALLOC_ZONE] = zone;
}

void table_loader_add_pointer(struct table_loader *l, const char *dest, uint32_t offset,
			      uint8_t size, const char *src)
{
	uint8_t *e = new_entry(l, TABLE_LOADER_ADD_POINTER);

	if (!e)
		return;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		l->err = -EINVAL;
	put_name(l, e + E_FILE, dest);
	put_name(l, e + E_PTR_SRC, src);
	le32_put(e + E_PTR_OFFSET, offset);
	e[E_PTR_SIZE] = size;
}

void table_loader_add_checksum(struct table_loader *l, const char *file, uint32_t offset,
			       uint32_t start, uint32_t length)
{
	uint8_t *e = new_entry(l, TABLE_LOADER_ADD_CHECKSUM);

	if (!e)
		return;
	put_name(l, e + E_FILE, file);
	le32_put(e + E_CK_OFFSET, offset);
	le32_put(e + E_CK_START, start);
	le32_put(e + E_CK_LENGTH, length);
}

int table_loader_finish(struct table_loader *l, uint8_t **script, size_t *len)
{
	int err = l->err;

	if (!err && l->len == 0)
		err = -EINVAL;
	if (err) {
		table_loader_free(l);
		return err;
	}
	*script = l->buf;
	*len = l->len;
	table_loader_init(l);
	return 0;
}

/* ---- executor ---- */

struct run_file {
	const struct table_loader_file *f;
	uint8_t *host; /* the allocated copy in guest RAM, NULL until ALLOCATE */
};

struct run {
	struct run_file *files;
	unsigned nr;
	const struct guest_mem *mem;
};

/* The file a name field refers to; NULL if the field is not a NUL-terminated
 * non-empty string or names no listed file. */
static struct run_file *lookup(struct run *r, const uint8_t *field)
{
	size_t n = strnlen((const char *)field, TABLE_LOADER_NAME_SIZE);

	if (n == 0 || n == TABLE_LOADER_NAME_SIZE)
		return NULL;
	for (unsigned i = 0; i < r->nr; i++) {
		const char *name = r->files[i].f->name;

		if (name && strlen(name) == n && !memcmp(name, field, n))
			return &r->files[i];
	}
	return NULL;
}

static bool name_valid(const uint8_t *field)
{
	size_t n = strnlen((const char *)field, TABLE_LOADER_NAME_SIZE);

	return n > 0 && n < TABLE_LOADER_NAME_SIZE;
}

static int run_allocate(struct run *r, const uint8_t *e)
{
	uint32_t align = le32_get(e + E_ALLOC_ALIGN);
	uint8_t zone = e[E_ALLOC_ZONE];
	struct run_file *rf;
	const struct table_loader_file *f;
	uint64_t end;

	if (!name_valid(e + E_FILE) || align == 0 || (align & (align - 1)))
		return -EINVAL;
	rf = lookup(r, e + E_FILE);
	if (!rf || !rf->f->data || rf->f->size == 0)
		return 0; /* SeaBIOS skips what fw_cfg does not have */
	f = rf->f;
	if (rf->host || f->gpa % align)
		return -EINVAL;
	end = f->gpa + f->size;
	if (end < f->gpa)
		return -EINVAL;
	switch (zone) {
	case TABLE_LOADER_ZONE_HIGH:
		/* Pointers to it are 32-bit (RSDT, FADT) */
		if (end > 0x100000000ull)
			return -EINVAL;
		break;
	case TABLE_LOADER_ZONE_FSEG:
		if (f->gpa < TABLE_LOADER_FSEG_START || end > TABLE_LOADER_FSEG_END)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	for (unsigned i = 0; i < r->nr; i++) {
		const struct table_loader_file *o = r->files[i].f;

		if (r->files[i].host && f->gpa < o->gpa + o->size && o->gpa < end)
			return -EINVAL;
	}
	rf->host = guest_mem_ptr(r->mem, f->gpa, f->size, true);
	if (!rf->host)
		return -EFAULT;
	memcpy(rf->host, f->data, f->size);
	return 0;
}

static int run_add_pointer(struct run *r, const uint8_t *e)
{
	struct run_file *dest = lookup(r, e + E_FILE);
	struct run_file *src = lookup(r, e + E_PTR_SRC);
	uint32_t offset = le32_get(e + E_PTR_OFFSET);
	uint8_t size = e[E_PTR_SIZE];
	uint8_t bytes[8] = {0};
	uint64_t value, sum;

	if (!dest || !src || !dest->host || !src->host)
		return -EINVAL;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	if (offset > dest->f->size || size > dest->f->size - offset)
		return -EINVAL;
	memcpy(bytes, dest->host + offset, size);
	value = le64_get(bytes);
	sum = value + src->f->gpa;
	/* A relocated pointer that wraps or does not fit its field would point
	 * somewhere else entirely. */
	if (sum < value || (size < 8 && sum >> (8 * size)))
		return -EINVAL;
	le64_put(bytes, sum);
	memcpy(dest->host + offset, bytes, size);
	return 0;
}

static int run_add_checksum(struct run *r, const uint8_t *e)
{
	struct run_file *rf = lookup(r, e + E_FILE);
	uint32_t offset = le32_get(e + E_CK_OFFSET);
	uint32_t start = le32_get(e + E_CK_START);
	uint32_t length = le32_get(e + E_CK_LENGTH);
	uint8_t sum = 0;

	if (!rf || !rf->host)
		return -EINVAL;
	if (offset >= rf->f->size || start > rf->f->size || length > rf->f->size - start)
		return -EINVAL;
	for (uint32_t i = 0; i < length; i++)
		sum = (uint8_t)(sum + rf->host[start + i]);
	rf->host[offset] = (uint8_t)(rf->host[offset] - sum);
	return 0;
}

int table_loader_run(const uint8_t *script, size_t len, const struct table_loader_file *files,
		     unsigned nr_files, const struct guest_mem *mem)
{
	struct run r = {.nr = nr_files, .mem = mem};
	int err = 0;

	if (!script || len == 0 || len % TABLE_LOADER_ENTRY_SIZE || (nr_files && !files))
		return -EINVAL;
	if (nr_files) {
		r.files = calloc(nr_files, sizeof(*r.files));
		if (!r.files)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < nr_files; i++)
		r.files[i].f = &files[i];

	for (size_t pos = 0; pos < len && !err; pos += TABLE_LOADER_ENTRY_SIZE) {
		const uint8_t *e = script + pos;

		switch (le32_get(e + E_COMMAND)) {
		case TABLE_LOADER_ALLOCATE:
			err = run_allocate(&r, e);
			break;
		case TABLE_LOADER_ADD_POINTER:
			err = run_add_pointer(&r, e);
			break;
		case TABLE_LOADER_ADD_CHECKSUM:
			err = run_add_checksum(&r, e);
			break;
		case TABLE_LOADER_WRITE_POINTER:
			/* Needs a writable fw_cfg file; nothing here produces one. */
			err = -ENOTSUP;
			break;
		default:
			break;
		}
	}
	free(r.files);
	return err;
}
