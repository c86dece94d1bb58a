/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RMEM_CMD_REPLICA_REPLACE: swap the LOST replica in one slot of a slab
 * for a new one.  Shared by `rmemctl replace` (an operator's or a test's
 * hand) and `rmemctl agent` (re-protection without one).
 */
#ifndef RMEMCTL_REPLICA_H
#define RMEMCTL_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include <netlink/msg.h>

#include <rmem/rmem_netlink.h>
#include <rmem/rmem_proto.h>

#include "args.h"

/* REPLICA_OLD: the replica the slot holds now; the driver checks it */
struct replica_old {
	uint32_t donor;			/* index in the device's DONORS */
	uint32_t slab_id;
	uint32_t generation;
};

/* REPLICA_NEW: where the new replica goes */
struct replica_new {
	bool by_index;			/* DONOR index, else ADDR + PORT */
	uint32_t donor;
	struct donor_addr addr;
	uint32_t slab_id;		/* RMEM_SLAB_ANY: the donor chooses */
	bool have_generation;
	uint32_t generation;
	bool have_grant;
	uint8_t grant[RMEM_GRANT_LEN];
};

/* What one REPLICA_REPLACE names */
struct replica_replace {
	char dev[RMEM_NAME_MAX];
	uint32_t slab;			/* slab index in the device */
	uint32_t replica;		/* replica slot in the slab */
	struct replica_old old;
	struct replica_new new;
};

/*
 * replica_replace_put - the attributes of @rr into @msg (already headed
 * as RMEM_CMD_REPLICA_REPLACE).  0, or -1 when @msg is full.
 */
int replica_replace_put(struct nl_msg *msg, const struct replica_replace *rr);

#endif /* RMEMCTL_REPLICA_H */
