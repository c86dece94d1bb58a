// SPDX-License-Identifier: GPL-2.0
/* The attributes of RMEM_CMD_REPLICA_REPLACE (rmem_netlink.h's contract). */
#include <netlink/attr.h>

#include "replica.h"

static int put_old(struct nl_msg *msg, const struct replica_old *o)
{
	/* the kernel's strict validation wants NLA_F_NESTED on every nest */
	struct nlattr *n = nla_nest_start(msg, RMEM_ATTR_REPLICA_OLD | NLA_F_NESTED);

	if (!n ||
	    nla_put_u32(msg, RMEM_REPLICA_ATTR_DONOR, o->donor) ||
	    nla_put_u32(msg, RMEM_REPLICA_ATTR_SLAB_ID, o->slab_id) ||
	    nla_put_u32(msg, RMEM_REPLICA_ATTR_GENERATION, o->generation))
		return -1;
	nla_nest_end(msg, n);
	return 0;
}

static int put_new(struct nl_msg *msg, const struct replica_new *w)
{
	struct nlattr *n = nla_nest_start(msg, RMEM_ATTR_REPLICA_NEW | NLA_F_NESTED);

	if (!n)
		return -1;
	if (w->by_index) {
		if (nla_put_u32(msg, RMEM_REPLICA_ATTR_DONOR, w->donor))
			return -1;
	} else if (nla_put_string(msg, RMEM_REPLICA_ATTR_ADDR, w->addr.addr) ||
		   nla_put_u16(msg, RMEM_REPLICA_ATTR_PORT, w->addr.port)) {
		return -1;
	}
	if (nla_put_u32(msg, RMEM_REPLICA_ATTR_SLAB_ID, w->slab_id))
		return -1;
	if (w->have_generation &&
	    nla_put_u32(msg, RMEM_REPLICA_ATTR_GENERATION, w->generation))
		return -1;
	if (w->have_grant &&
	    nla_put(msg, RMEM_REPLICA_ATTR_GRANT, RMEM_GRANT_LEN, w->grant))
		return -1;
	nla_nest_end(msg, n);
	return 0;
}

int replica_replace_put(struct nl_msg *msg, const struct replica_replace *rr)
{
	if (nla_put_string(msg, RMEM_ATTR_DEV_NAME, rr->dev) ||
	    nla_put_u32(msg, RMEM_ATTR_SLAB_INDEX, rr->slab) ||
	    nla_put_u32(msg, RMEM_ATTR_REPLICA_INDEX, rr->replica))
		return -1;
	if (put_old(msg, &rr->old) || put_new(msg, &rr->new))
		return -1;
	return 0;
}
