/* SPDX-License-Identifier: GPL-2.0 */
/*
 * attach and detach through the controller: the allocation is asked for
 * (and given back) over HTTP, the device is made over netlink with the
 * slabs and grants the controller chose.
 */
#ifndef RMEMCTL_ATTACH_CTL_H
#define RMEMCTL_ATTACH_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "devinfo.h"
#include "nl.h"

/*
 * attach_via_controller - allocate @size bytes (@replicas copies, 0 =
 * the cluster's default) for a fresh client id and create the device.
 * If the driver refuses, the allocation is released.  Returns an exit
 * status; prints the device like `attach` does.
 */
int attach_via_controller(uint64_t size, unsigned int replicas,
			  const char *name);

/*
 * detach_release - after device @name with client id @client_id is
 * gone, release that client's allocations at the controller (when one
 * is configured).  Returns an exit status.
 */
int detach_release(const char *name, const uint8_t *client_id);

/* dev.c: the warning for a device with one replica per slab */
void attach_warn_single(bool asked);
/* dev.c: the DEV_ADD result as `attach` prints it */
int attach_print(const struct rmem_dev_info *info);
/* dev.c: the driver's errno in the operator's words */
void dev_error(const char *cmd, const struct rmem_nl_error *e,
	       const char *dev, uint64_t size);
/* dev.c: DEV_GET of one device into @info; 0 or -1 after printing why */
int dev_get_one(const char *cmd, const char *name, struct rmem_dev_info *info);

#endif /* RMEMCTL_ATTACH_CTL_H */
