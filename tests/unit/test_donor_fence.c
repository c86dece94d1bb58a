// SPDX-License-Identifier: MIT
/*
 * The donor's fence (server/donor/fence.c): a new CTRL connection of a
 * client disconnects every older connection of its session, and nothing
 * else.  The connections are plain structs and the disconnect a recorder:
 * what rdma_disconnect() does to a QP (error state) is the verbs
 * library's, checked in a VM (see the comment at the end).
 */
#include <stdlib.h>
#include <string.h>

#include "donor.h"
#include "tap.h"

static struct conn *disconnected[16];
static unsigned int ndisconnected;

/* What conn_disconnect() does to the struct, minus the verbs call. */
static void record_disconnect(struct conn *c)
{
	c->disconnecting = true;
	if (ndisconnected < 16)
		disconnected[ndisconnected++] = c;
}

/* Adds a connection at the head of the list, as conn_create() does. */
static struct conn *add(struct session *s, enum rmem_conn_type type,
			uint16_t queue)
{
	struct conn *c = calloc(1, sizeof(*c));

	c->sess = s;
	c->type = type;
	c->queue = queue;
	c->established = true;
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	return c;
}

static bool was_disconnected(const struct conn *c)
{
	for (unsigned int i = 0; i < ndisconnected; i++)
		if (disconnected[i] == c)
			return true;
	return false;
}

int main(void)
{
	struct session s = { 0 };
	struct conn *old_ctrl, *old_d0, *old_d1, *gone, *new_ctrl, *new_d0, *newer;
	unsigned int n;

	old_ctrl = add(&s, RMEM_CONN_CTRL, 0);
	old_d0 = add(&s, RMEM_CONN_DATA, 0);
	old_d1 = add(&s, RMEM_CONN_DATA, 1);
	gone = add(&s, RMEM_CONN_DATA, 2);
	gone->disconnecting = true;	/* already on its way out */

	new_ctrl = add(&s, RMEM_CONN_CTRL, 0);
	n = session_fence(&s, new_ctrl, record_disconnect);
	ok(n == 3 && ndisconnected == 3, "new CTRL fences the 3 older live connections (%u)", n);
	ok(was_disconnected(old_ctrl) && was_disconnected(old_d0) &&
	   was_disconnected(old_d1), "old CTRL and both old DATA connections disconnected");
	ok(!was_disconnected(gone), "a connection already disconnecting is not disconnected twice");
	ok(!was_disconnected(new_ctrl) && !new_ctrl->disconnecting,
	   "the new CTRL connection itself is kept");
	ok(s.nconns == 5, "the session and its list stay: destroyed on DISCONNECTED events");

	ndisconnected = 0;
	new_d0 = add(&s, RMEM_CONN_DATA, 0);
	n = session_fence(&s, new_d0, record_disconnect);
	ok(n == 0 && ndisconnected == 0,
	   "a DATA connection fences nothing: it joins the newest CTRL's");

	ndisconnected = 0;
	newer = add(&s, RMEM_CONN_CTRL, 0);
	n = session_fence(&s, newer, record_disconnect);
	ok(n == 2 && was_disconnected(new_ctrl) && was_disconnected(new_d0),
	   "a second reconnect fences the first one's CTRL and DATA only");

	ndisconnected = 0;
	n = session_fence(&s, newer, record_disconnect);
	ok(n == 0, "fencing again finds nothing left to disconnect");

	/*
	 * Not checkable here: that rdma_disconnect() put those QPs in the
	 * error state before rdma_accept() of the new one.  A VM test with
	 * Soft-RoCE: client A connects CTRL+DATA, is given a slab; a second
	 * process with A's client id connects CTRL; then an RDMA WRITE posted
	 * on A's old DATA QP must complete in error (or be flushed) and the
	 * slab's bytes, read over the new connection after SLAB_ATTACH, must
	 * be unchanged; the donor log has "older connection(s) disconnected".
	 */
	while (s.conns) {
		struct conn *c = s.conns;

		s.conns = c->next;
		free(c);
	}
	return tap_done("test_donor_fence");
}
