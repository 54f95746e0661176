/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balloon over the control interface (vmm/qmp.h), with QEMU 7.2's
 * names, argument checks, answers and error texts:
 *
 *   balloon {value}        the guest's target size in bytes: value <= 0 is
 *                          "Parameter 'target' expects a size", more than
 *                          the RAM is capped to it
 *   query-balloon          {actual}: RAM minus what the guest gave back
 *   qom-get / qom-set      on /machine/peripheral/ID (the balloon's id):
 *                          guest-stats (read-only) {"stats": {"stat-...":
 *                          N...}, "last-update": SECONDS} and
 *                          guest-stats-polling-interval (seconds,
 *                          0..UINT32_MAX, 0 = off)
 *   BALLOON_CHANGE {actual} each time the guest writes a new `actual`
 *
 * Without a balloon, balloon and query-balloon answer DeviceNotActive "No
 * balloon device has been activated" and qom-get/qom-set DeviceNotFound,
 * as QEMU.  One difference: a stat the guest did not give is -1 here,
 * where QEMU prints the same 64 bits unsigned (18446744073709551615):
 * jansson's integers are signed 64-bit.
 *
 * qom-get and qom-set know only the balloon's path for now; a device that
 * needs QOM properties later adds its path here (or this grows a table).
 */
#ifndef MINIVMM_BALLOON_CONTROL_H
#define MINIVMM_BALLOON_CONTROL_H

#include <stdint.h>

struct qmp;
struct virtio_balloon;

#define BALLOON_QOM_PREFIX "/machine/peripheral/"

struct balloon_control;

/* vb may be NULL (no balloon); id is the balloon's device id. */
struct balloon_control *balloon_control_new(struct virtio_balloon *vb, const char *id,
					    struct qmp *q);
void balloon_control_free(struct balloon_control *bc);

/* Registers the four commands; 0 or the error of qmp_register(). */
int balloon_control_register(struct qmp *q, struct balloon_control *bc);

#endif
