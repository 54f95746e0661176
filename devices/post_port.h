/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Port 0x80, where firmware writes its POST codes and nobody reads them:
 * claimed so that those writes are not counted as unclaimed exits. */
#ifndef MINIVMM_POST_PORT_H
#define MINIVMM_POST_PORT_H

#include "vmm/device.h"

#define POST_PORT 0x80

/* Board row: .port 0x80. */
extern const struct device_type post_port_type;

#endif
