// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The balloon's QMP commands (vmm/balloon_control.h) through qmp_dispatch()
 * on a real balloon device: QEMU 7.2's answers and error texts, as
 * qemu-system-x86_64 7.2 gave them with -device virtio-balloon,id=balloon0
 * and without a balloon (tests/guest/balloon_qemu_compare.py asks both
 * programs the same questions), and BALLOON_CHANGE when the guest writes
 * `actual`.
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

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_balloon.h"
#include "vmm/balloon_control.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"
#include "vmm/loop.h"
#include "vmm/qmp.h"
#include "vmm/qmp_commands.h"

#define RAM_SIZE (256u << 20)
#define IO_BASE	 0xc000u
#define DEVFN	 PCI_DEVFN(3, 0)
#define P	 "/machine/peripheral/balloon0"

static uint8_t *ram;
static struct guest_mem mem;
static struct bus *pio, *mmio;
static struct pci_bus *pci;
static struct event_loop *loop;
static struct virtio_balloon *vb;
static struct balloon_control *bc;
static struct qmp *q;
static struct qmp_commands qc;
static json_t *events;

static int no_discard(void *opaque, void *hva, size_t len)
{
	return 0;
}

static void listen_events(void *opaque, json_t *ev)
{
	json_array_append(events, ev);
}

static void start(bool with_balloon)
{
	static const struct virtio_balloon_args args = {
	    .free_page_reporting = true, .ram_size = RAM_SIZE, .discard = no_discard};
	struct dev_ctx ctx;
	struct board_entry e = {.type = &virtio_balloon_type, .id = "balloon0", .irq = -1,
				.devfn = -1, .arg = &args};
	char err[128];

	/* The device only needs its config and registers here: 1 MiB of RAM
	 * behind a RAM size of 256 MiB is enough. */
	ram = aligned_alloc(4096, 1 << 20);
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guest_mem_add(&mem, 0, 1 << 20, ram, false, "ram"), 0);
	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	pci = pci_bus_create(pio, mmio);
	loop = event_loop_new();
	assert_non_null(loop);
	ctx = (struct dev_ctx){.pio = pio, .mmio = mmio, .pci = pci, .mem = &mem, .loop = loop};
	vb = NULL;
	if (with_balloon) {
		vb = virtio_balloon_type.create(&ctx, &e, err, sizeof(err));
		assert_non_null(vb);
	}
	pci_bus_seal(pci);
	q = qmp_new(NULL);
	assert_non_null(q);
	events = json_array();
	assert_int_equal(qmp_add_listener(q, listen_events, NULL), 0);
	bc = balloon_control_new(vb, with_balloon ? "balloon0" : NULL, q);
	assert_non_null(bc);
	assert_int_equal(balloon_control_register(q, bc), 0);
	assert_int_equal(qmp_commands_register(&qc, q, NULL), 0);
}

/* An HMP line's output, as QEMU 7.2 printed it (its CR LF compared as LF). */
static void hmp_expect(const char *line, const char *want)
{
	char *out = qmp_hmp_run(&qc, line), *w;

	assert_non_null(out);
	w = out;
	for (char *r = out; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	if (strcmp(out, want))
		fail_msg("%s\n  want %s\n  got  %s", line, want, out);
	free(out);
}

static int teardown(void **state)
{
	qmp_free(q);
	balloon_control_free(bc);
	if (vb)
		virtio_balloon_type.destroy(vb);
	event_loop_free(loop);
	pci_bus_destroy(pci);
	bus_destroy(pio);
	bus_destroy(mmio);
	free(ram);
	json_decref(events);
	return 0;
}

/* Runs "{execute, arguments}" and compares the whole reply, as the wire
 * would carry it ({"return": ...} or {"error": {class, desc}}). */
static void expect(const char *cmd, const char *want)
{
	json_error_t je;
	json_t *req = json_loads(cmd, 0, &je), *args, *ret, *reply, *w;
	struct qmp_error err = {0};

	assert_non_null(req);
	args = json_object_get(req, "arguments");
	if (!args)
		args = json_object();
	else
		json_incref(args);
	ret = qmp_dispatch(q, json_string_value(json_object_get(req, "execute")), args, &err);
	if (ret)
		reply = json_pack("{s:o}", "return", ret);
	else
		reply = json_pack("{s:{s:s, s:s}}", "error", "class", err.cls, "desc", err.desc);
	w = json_loads(want, 0, &je);
	assert_non_null(w);
	if (!json_equal(reply, w)) {
		char *got = json_dumps(reply, JSON_SORT_KEYS);

		fail_msg("%s\n  want %s\n  got  %s", cmd, want, got);
	}
	json_decref(w);
	json_decref(reply);
	json_decref(args);
	json_decref(req);
}

#define NO_BALLOON "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been activated\"}}"
#define NOT_FOUND(p) "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device '" p "' not found\"}}"
#define GENERIC(d) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" d "\"}}"
#define OK "{\"return\": {}}"

static void test_without_balloon(void **state)
{
	start(false);
	expect("{\"execute\":\"query-balloon\"}", NO_BALLOON);
	expect("{\"execute\":\"query-balloon\",\"arguments\":{\"x\":1}}",
	       GENERIC("Parameter 'x' is unexpected"));
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":0}}", NO_BALLOON);
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":-5}}", NO_BALLOON);
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":1073741824}}", NO_BALLOON);
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":\"x\"}}",
	       GENERIC("Invalid parameter type for 'value', expected: integer"));
	expect("{\"execute\":\"balloon\",\"arguments\":{}}", GENERIC("Parameter 'value' is missing"));
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats\"}}",
	       NOT_FOUND(P));
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\",\"value\":2}}",
	       NOT_FOUND(P));
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P "\"}}",
	       GENERIC("Parameter 'property' is missing"));
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats\",\"x\":1}}",
	       GENERIC("Parameter 'x' is unexpected"));
}

static void test_balloon_and_query(void **state)
{
	start(true);
	expect("{\"execute\":\"query-balloon\"}", "{\"return\": {\"actual\": 268435456}}");
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":0}}",
	       GENERIC("Parameter 'target' expects a size"));
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":-5}}",
	       GENERIC("Parameter 'target' expects a size"));
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":1.5}}",
	       GENERIC("Invalid parameter type for 'value', expected: integer"));
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":104857600,\"x\":1}}",
	       GENERIC("Parameter 'x' is unexpected"));
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":104857600}}", OK);
	assert_int_equal(virtio_balloon_num_pages(vb), (RAM_SIZE - 104857600u) >> 12);
	/* more than the RAM: capped, so nothing to give back */
	expect("{\"execute\":\"balloon\",\"arguments\":{\"value\":1099511627776}}", OK);
	assert_int_equal(virtio_balloon_num_pages(vb), 0);
	/* no driver: actual stays the whole RAM */
	expect("{\"execute\":\"query-balloon\"}", "{\"return\": {\"actual\": 268435456}}");
	assert_int_equal(json_array_size(events), 0);
}

/* The guest writes actual (through the legacy register file): an event
 * with RAM minus what it gave, and query-balloon agrees. */
static void test_balloon_change_event(void **state)
{
	json_t *ev;

	start(true);
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, IO_BASE, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
	bus_write(pio, IO_BASE + VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK, 1);
	bus_write(pio, IO_BASE + VIRTIO_PCI_CONFIG_OFF(false) + 4, 25600, 4);
	assert_int_equal(json_array_size(events), 1);
	ev = json_array_get(events, 0);
	assert_string_equal(json_string_value(json_object_get(ev, "event")), "BALLOON_CHANGE");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "data"), "actual")),
			 RAM_SIZE - 25600ull * 4096);
	expect("{\"execute\":\"query-balloon\"}", "{\"return\": {\"actual\": 163577856}}");
	/* the same value again: no event */
	bus_write(pio, IO_BASE + VIRTIO_PCI_CONFIG_OFF(false) + 4, 25600, 4);
	assert_int_equal(json_array_size(events), 1);
}

#define ALL_ABSENT                                                                           \
	"{\"stat-swap-in\": -1, \"stat-swap-out\": -1, \"stat-major-faults\": -1, "          \
	"\"stat-minor-faults\": -1, \"stat-free-memory\": -1, \"stat-total-memory\": -1, "   \
	"\"stat-available-memory\": -1, \"stat-disk-caches\": -1, "                         \
	"\"stat-htlb-pgalloc\": -1, \"stat-htlb-pgfail\": -1}"

static void test_qom(void **state)
{
	start(true);
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats\"}}",
	       "{\"return\": {\"stats\": " ALL_ABSENT ", \"last-update\": 0}}");
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\"}}",
	       "{\"return\": 0}");
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"nope\"}}",
	       GENERIC("Property 'virtio-balloon-pci.nope' not found"));
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "x\",\"property\":\"guest-stats\"}}",
	       NOT_FOUND(P "x"));
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"property\":\"guest-stats\"}}",
	       GENERIC("Parameter 'path' is missing"));
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":5,\"property\":\"guest-stats\"}}",
	       GENERIC("Invalid parameter type for 'path', expected: string"));
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\",\"value\":-1}}",
	       GENERIC("timer value must be greater than zero"));
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\",\"value\":8589934592}}",
	       GENERIC("timer value is too big"));
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\",\"value\":\"a\"}}",
	       GENERIC("Invalid parameter type for 'guest-stats-polling-interval', expected: "
		       "integer"));
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\",\"value\":4294967295}}",
	       OK);
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\",\"value\":2}}",
	       OK);
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\"}}",
	       "{\"return\": 2}");
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats\",\"value\":2}}",
	       GENERIC("Property 'virtio-balloon-device.guest-stats' is not writable"));
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\"}}",
	       GENERIC("Parameter 'value' is missing"));
	expect("{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\",\"value\":0}}",
	       OK);
	expect("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"" P
	       "\",\"property\":\"guest-stats-polling-interval\"}}",
	       "{\"return\": 0}");
}

#define TRY(w) "Try \"help " w "\" for more information\n"

static void test_hmp(void **state)
{
	start(true);
	hmp_expect("help balloon",
		   "balloon target -- request VM to change its memory allocation (in MB)\n");
	hmp_expect("help info balloon", "info balloon  -- show balloon information\n");
	hmp_expect("info balloon", "balloon: actual=256\n");
	hmp_expect("info balloon x", "balloon: extraneous characters at the end of line\n"
				     TRY("info balloon"));
	hmp_expect("balloon", "unexpected end of expression\n" TRY("balloon"));
	hmp_expect("balloon 100", "");
	assert_int_equal(virtio_balloon_num_pages(vb), (256 - 100) * 256);
	hmp_expect("balloon 0x10", "");
	assert_int_equal(virtio_balloon_num_pages(vb), (256 - 16) * 256);
	hmp_expect("balloon 0", "Error: Parameter 'target' expects a size\n");
	hmp_expect("balloon -0", "Error: Parameter 'target' expects a size\n");
	hmp_expect("balloon -1", "enter a positive value\n" TRY("balloon"));
	hmp_expect("balloon 18446744073709551615", "enter a positive value\n" TRY("balloon"));
	hmp_expect("balloon 99999999999999", "Error: Parameter 'target' expects a size\n");
	hmp_expect("balloon x", "invalid char 'x' in expression\n" TRY("balloon"));
	hmp_expect("balloon 1G", "balloon: extraneous characters at the end of line\n"
				 TRY("balloon"));
	hmp_expect("balloon 100 200", "balloon: extraneous characters at the end of line\n"
				      TRY("balloon"));
}

static void test_hmp_without_balloon(void **state)
{
	start(false);
	hmp_expect("info balloon", "Error: No balloon device has been activated\n");
	hmp_expect("balloon 100", "Error: No balloon device has been activated\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_without_balloon, teardown),
	    cmocka_unit_test_teardown(test_balloon_and_query, teardown),
	    cmocka_unit_test_teardown(test_balloon_change_event, teardown),
	    cmocka_unit_test_teardown(test_qom, teardown),
	    cmocka_unit_test_teardown(test_hmp, teardown),
	    cmocka_unit_test_teardown(test_hmp_without_balloon, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
