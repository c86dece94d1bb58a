// SPDX-License-Identifier: MIT
/*
 * rdma_cm: the listening id and the events of every connection.
 * Pattern: get an event, handle it, ack it, and only then destroy an id
 * that the handler let go (rdma_destroy_id waits for its events' acks).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "donor.h"
#include "log.h"

/* Read requests the donor answers at once on a DATA QP; the client issues
 * up to that many RDMA READs in flight per connection. */
#define DONOR_MAX_RESPONDER	16u

/*
 * Caps on what one peer can make the donor allocate: a client needs one
 * CTRL plus one DATA connection per hardware queue (a few dozen at most).
 */
#define DONOR_MAX_SESSIONS	1024u
#define DONOR_MAX_SESSION_CONNS	256u

static void fill_rep(const struct donor *d, struct rmem_cm_rep *rep,
		     enum rmem_cm_status status)
{
	memset(rep, 0, sizeof(*rep));
	rep->magic = htole16(RMEM_PROTO_MAGIC);
	rep->version = RMEM_PROTO_VERSION;
	rep->status = (uint8_t)status;
	rep->instance_id = htole64(d->instance_id);
	rep->slab_size = htole64(d->pool.slab_size);
	rep->total_slabs = htole32(d->pool.count);
	rep->free_slabs = htole32(d->pool.nfree);
}

static const char *status_name(enum rmem_cm_status st)
{
	switch (st) {
	case RMEM_CM_OK: return "ok";
	case RMEM_CM_BAD_VERSION: return "bad magic or version";
	case RMEM_CM_NO_SESSION: return "DATA connection without a session";
	case RMEM_CM_NO_RESOURCES: return "out of resources";
	case RMEM_CM_BAD_REQUEST: return "malformed request";
	}
	return "?";
}

/* Validate the private data; RMEM_CM_OK and *req filled, or a status. */
static enum rmem_cm_status parse_req(const struct rdma_cm_event *ev,
				     struct rmem_cm_req *req)
{
	/*
	 * Private data arrives padded to the transport's size (56 bytes on
	 * IB/RoCE), so shorter data shows up as trailing zeros and fails the
	 * checks below rather than the length check.
	 */
	if (!ev->param.conn.private_data ||
	    ev->param.conn.private_data_len < sizeof(*req))
		return RMEM_CM_BAD_REQUEST;
	memcpy(req, ev->param.conn.private_data, sizeof(*req));
	if (le16toh(req->magic) != RMEM_PROTO_MAGIC ||
	    req->version != RMEM_PROTO_VERSION)
		return RMEM_CM_BAD_VERSION;
	if (req->type != RMEM_CONN_CTRL && req->type != RMEM_CONN_DATA)
		return RMEM_CM_BAD_REQUEST;
	if (req->flags)
		return RMEM_CM_BAD_REQUEST;	/* none defined in version 1 */
	/* A random 128-bit id is never all zeros; a forgotten one is. */
	for (int i = 0; i < RMEM_CLIENT_ID_LEN; i++)
		if (req->client_id[i])
			return RMEM_CM_OK;
	return RMEM_CM_BAD_REQUEST;
}

static void reject(struct donor *d, struct rdma_cm_id *id,
		   enum rmem_cm_status status)
{
	struct rmem_cm_rep rep;

	fill_rep(d, &rep, status);
	if (rdma_reject(id, &rep, sizeof(rep)))
		log_warn("rdma_reject: %s", strerror(errno));
}

/*
 * A new CTRL connection of a known client: its older connections go to
 * the error state before this one is accepted (fence.c says why).
 */
static void fence_older(struct session *sess, const struct conn *conn,
			const char *peer)
{
	unsigned int n = session_fence(sess, conn, conn_disconnect);

	if (n)
		log_info("session %s: new CTRL connection from %s: %u older "
			 "connection(s) disconnected (QPs to error) before "
			 "accepting it; slabs kept for re-attach",
			 session_id_hex(sess->client_id), peer, n);
}

/*
 * Returns the id to destroy after the ack (on reject), or NULL; a
 * connection whose accept failed is left in *@undo for the same reason.
 */
static struct rdma_cm_id *on_connect_request(struct donor *d,
					     struct rdma_cm_event *ev,
					     struct conn **undo)
{
	struct rdma_cm_id *id = ev->id;
	struct rdma_conn_param cp = { 0 };
	enum rmem_cm_status st;
	struct rmem_cm_req req;
	struct rmem_cm_rep rep;
	struct donor_dev *dev;
	struct session *sess;
	struct conn *conn;
	char peer[80];
	bool new_session = false;

	rmem_format_sockaddr(rdma_get_peer_addr(id), peer, sizeof(peer));
	st = parse_req(ev, &req);
	if (st != RMEM_CM_OK) {
		log_warn("connection from %s rejected: %s", peer, status_name(st));
		reject(d, id, st);
		return id;
	}

	dev = donor_dev_get(d, id->verbs);
	if (!dev) {
		reject(d, id, RMEM_CM_NO_RESOURCES);
		return id;
	}
	sess = session_find(d, req.client_id);
	if (req.type == RMEM_CONN_DATA && !sess) {
		log_warn("DATA connection from %s rejected: no CTRL connection "
			 "for that client", peer);
		reject(d, id, RMEM_CM_NO_SESSION);
		return id;
	}
	if ((sess && sess->nconns >= DONOR_MAX_SESSION_CONNS) ||
	    (!sess && d->nsessions >= DONOR_MAX_SESSIONS)) {
		log_warn("connection from %s rejected: too many %s", peer,
			 sess ? "connections in its session" : "sessions");
		reject(d, id, RMEM_CM_NO_RESOURCES);
		return id;
	}
	if (sess && sess->dev != dev) {
		/* A PD lives on one device; its QPs must too. */
		log_warn("connection from %s on another RDMA device than its "
			 "session: rejected", peer);
		reject(d, id, RMEM_CM_NO_RESOURCES);
		return id;
	}
	if (!sess) {
		sess = session_create(d, req.client_id, dev);
		if (!sess) {
			reject(d, id, RMEM_CM_NO_RESOURCES);
			return id;
		}
		new_session = true;
	}

	conn = conn_create(sess, id, (enum rmem_conn_type)req.type,
			   le16toh(req.queue));
	if (!conn) {
		if (new_session)
			session_destroy(sess);
		reject(d, id, RMEM_CM_NO_RESOURCES);
		return id;
	}
	fence_older(sess, conn, peer);

	fill_rep(d, &rep, RMEM_CM_OK);
	cp.private_data = &rep;
	cp.private_data_len = sizeof(rep);
	cp.responder_resources = (uint8_t)(dev->max_qp_rd_atom < DONOR_MAX_RESPONDER ?
					   dev->max_qp_rd_atom : DONOR_MAX_RESPONDER);
	/* No need to answer more reads than the client will have in flight. */
	if (ev->param.conn.initiator_depth &&
	    ev->param.conn.initiator_depth < cp.responder_resources)
		cp.responder_resources = ev->param.conn.initiator_depth;
	cp.initiator_depth = 0;		/* the donor never reads remotely */
	cp.rnr_retry_count = 7;		/* 7 = retry forever */
	if (rdma_accept(id, &cp)) {
		log_error("rdma_accept from %s: %s", peer, strerror(errno));
		/* conn_destroy destroys the id, so only after the ack. */
		*undo = conn;
		return NULL;
	}
	log_info("%s connection from %s (queue %u) accepted, responder "
		 "resources %u", req.type == RMEM_CONN_CTRL ? "CTRL" : "DATA",
		 peer, le16toh(req.queue), cp.responder_resources);
	return NULL;
}

void donor_cm_event(struct donor *d)
{
	struct rdma_cm_event *ev;

	/* The event channel fd is non-blocking: take every queued event. */
	while (!rdma_get_cm_event(d->ec, &ev)) {
		struct rdma_cm_id *destroy_id = NULL;
		struct conn *conn = ev->id->context;
		struct conn *destroy_conn = NULL;
		bool relisten = false;

		if (ev->id == d->listen_id &&
		    ev->event != RDMA_CM_EVENT_CONNECT_REQUEST)
			log_info("listener: cm event %s (status %d)",
				 rdma_event_str(ev->event), ev->status);
		else
			log_debug("cm event %s (status %d)",
				  rdma_event_str(ev->event), ev->status);
		switch (ev->event) {
		case RDMA_CM_EVENT_CONNECT_REQUEST:
			destroy_id = on_connect_request(d, ev, &destroy_conn);
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			if (conn)
				conn->established = true;
			/* Fenced while it was still connecting: tell the
			 * peer now, so that it goes (its QP is in error). */
			if (conn && conn->disconnecting)
				rdma_disconnect(conn->id);
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
		case RDMA_CM_EVENT_REJECTED:
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
			if (conn) {
				if (ev->event != RDMA_CM_EVENT_DISCONNECTED)
					log_warn("connection failed: %s",
						 rdma_event_str(ev->event));
				destroy_conn = conn;
			}
			break;
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			if (ev->id == d->listen_id) {
				log_error("RDMA device of the listening address "
					  "removed: shutting down");
				d->stop = true;
				d->exit_code = 1;
			} else if (conn) {
				destroy_conn = conn;
			}
			break;
		case RDMA_CM_EVENT_ADDR_CHANGE:
			log_warn("address change reported by rdma_cm");
			relisten = ev->id == d->listen_id;
			break;
		case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		default:
			break;
		}
		rdma_ack_cm_event(ev);
		if (destroy_conn) {
			/* Tell the peer first if it does not know yet. */
			if (destroy_conn->established && !destroy_conn->disconnecting)
				rdma_disconnect(destroy_conn->id);
			conn_destroy(destroy_conn);
		}
		if (destroy_id)
			rdma_destroy_id(destroy_id);
		/* After the ack: destroying the listener waits for it. */
		if (relisten)
			donor_relisten(d, "address change");
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		log_error("rdma_get_cm_event: %s", strerror(errno));
}

void donor_disconnect_all(struct donor *d)
{
	for (struct session *s = d->sessions; s; s = s->next)
		for (struct conn *c = s->conns; c; c = c->next)
			conn_disconnect(c);
	while (d->sessions)
		conn_destroy(d->sessions->conns);
}
