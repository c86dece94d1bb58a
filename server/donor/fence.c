// SPDX-License-Identifier: MIT
/*
 * Fencing a client's old connections.  A client that re-attaches (its
 * host lost the link, or rmem.ko restarted the device) opens a new CTRL
 * connection while the donor may still hold QPs of the old one: a WRITE
 * delayed in the fabric on such a QP could land in a slab after the
 * client re-attached and wrote newer data there.  rdma_disconnect() moves
 * a QP to the error state at once, so nothing that arrives on it later is
 * executed; the donor does that to every older connection of the session
 * before it accepts the new CTRL one.  The session, its PD, MRs and slabs
 * stay: the client re-attaches them over the new connections.
 */
#include "donor.h"

unsigned int session_fence(struct session *sess, const struct conn *keep,
			   void (*disconnect)(struct conn *conn))
{
	unsigned int n = 0;

	if (keep->type != RMEM_CONN_CTRL)
		return 0;	/* DATA connections join the newest CTRL's */
	for (struct conn *c = sess->conns; c; c = c->next) {
		if (c == keep || c->disconnecting)
			continue;
		disconnect(c);
		n++;
	}
	return n;
}
