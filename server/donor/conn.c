// SPDX-License-Identifier: MIT
/*
 * Connections.  A CTRL connection keeps RMEM_CTRL_DEPTH receives posted
 * and answers each request with one SEND.  Receive slot i is answered from
 * send slot i and is posted again only when that SEND completes, so a
 * reply never waits for a free send buffer and a client that sends faster
 * than we answer is held back by RNR, not by lost messages.
 *
 * A DATA connection is only a QP in the session PD that the client's
 * one-sided READ/WRITE land on: the donor posts nothing there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "donor.h"
#include "log.h"

#define SEND_SLOT(i)	(RMEM_CTRL_DEPTH + (i))
#define SLOT_BUF(c, i)	((c)->bufs + (size_t)(i) * RMEM_MSG_SIZE)

static int post_recv(struct conn *conn, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)SLOT_BUF(conn, slot),
		.length = RMEM_MSG_SIZE,
		.lkey = conn->buf_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_recv(conn->id->qp, &wr, &bad);
}

static int post_reply(struct conn *conn, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)SLOT_BUF(conn, SEND_SLOT(slot)),
		.length = sizeof(struct rmem_msg),
		.lkey = conn->buf_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = SEND_SLOT(slot),
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	};
	struct ibv_send_wr *bad;

	return ibv_post_send(conn->id->qp, &wr, &bad);
}

static int ctrl_setup(struct conn *conn)
{
	size_t len = 2 * RMEM_CTRL_DEPTH * RMEM_MSG_SIZE;

	conn->bufs = aligned_alloc(4096, len);
	if (!conn->bufs)
		return -ENOMEM;
	memset(conn->bufs, 0, len);
	conn->buf_mr = ibv_reg_mr(conn->sess->pd, conn->bufs, len,
				  IBV_ACCESS_LOCAL_WRITE);
	if (!conn->buf_mr)
		return -errno;
	for (unsigned int i = 0; i < RMEM_CTRL_DEPTH; i++) {
		int err = post_recv(conn, i);

		if (err)
			return -err;
	}
	return 0;
}

struct conn *conn_create(struct session *sess, struct rdma_cm_id *id,
			 enum rmem_conn_type type, uint16_t queue)
{
	struct ibv_qp_init_attr qpa = { .qp_type = IBV_QPT_RC };
	struct conn *conn = calloc(1, sizeof(*conn));
	struct donor *d = sess->donor;
	int err;

	if (!conn)
		return NULL;
	conn->id = id;
	conn->sess = sess;
	conn->type = type;
	conn->queue = queue;
	id->context = conn;

	if (type == RMEM_CONN_CTRL) {
		/* Every receive and every send may complete at once. */
		conn->cq = ibv_create_cq(id->verbs, 2 * RMEM_CTRL_DEPTH, conn,
					 sess->dev->chan, 0);
		if (conn->cq && ibv_req_notify_cq(conn->cq, 0)) {
			ibv_destroy_cq(conn->cq);
			conn->cq = NULL;
		}
		qpa.cap.max_send_wr = RMEM_CTRL_DEPTH;
		qpa.cap.max_recv_wr = RMEM_CTRL_DEPTH;
	} else {
		/*
		 * Nothing is ever posted here; the CQ only exists because a QP
		 * must have one.  One-sided operations from the client use the
		 * responder resources negotiated in rdma_accept(), not WRs.
		 */
		conn->cq = ibv_create_cq(id->verbs, 2, conn, NULL, 0);
		qpa.cap.max_send_wr = 1;
		qpa.cap.max_recv_wr = 1;
	}
	if (!conn->cq) {
		log_error("ibv_create_cq: %s", strerror(errno));
		goto out_free;
	}
	qpa.send_cq = conn->cq;
	qpa.recv_cq = conn->cq;
	qpa.cap.max_send_sge = 1;
	qpa.cap.max_recv_sge = 1;
	if (rdma_create_qp(id, sess->pd, &qpa)) {
		log_error("rdma_create_qp: %s", strerror(errno));
		goto out_cq;
	}
	if (type == RMEM_CONN_CTRL) {
		err = ctrl_setup(conn);
		if (err) {
			log_error("control buffers: %s", strerror(-err));
			goto out_qp;
		}
	}

	conn->next = sess->conns;
	sess->conns = conn;
	sess->nconns++;
	sess->last_heard_ms = donor_now_ms();
	sess->idle_closing = false;	/* a new connection: watch it afresh */
	d->nconns++;
	return conn;

out_qp:
	/* QP first: receives may already be posted into the buffers. */
	rdma_destroy_qp(id);
	if (conn->buf_mr)
		ibv_dereg_mr(conn->buf_mr);
	free(conn->bufs);
out_cq:
	ibv_destroy_cq(conn->cq);
out_free:
	id->context = NULL;
	free(conn);
	return NULL;
}

void conn_disconnect(struct conn *conn)
{
	if (conn->disconnecting)
		return;
	conn->disconnecting = true;
	/* Completes with RDMA_CM_EVENT_DISCONNECTED, which destroys us. */
	if (rdma_disconnect(conn->id) && errno != EINVAL)
		log_debug("rdma_disconnect: %s", strerror(errno));
}

/* Tear the connection down and destroy its cm_id (its events are acked). */
void conn_destroy(struct conn *conn)
{
	struct session *sess = conn->sess;
	struct donor *d = sess->donor;
	struct conn **pp;

	rdma_destroy_qp(conn->id);
	if (ibv_destroy_cq(conn->cq))
		log_error("ibv_destroy_cq: %s", strerror(errno));
	if (conn->buf_mr && ibv_dereg_mr(conn->buf_mr))
		log_error("ibv_dereg_mr(ctrl buffers): %s", strerror(errno));
	free(conn->bufs);
	rdma_destroy_id(conn->id);

	for (pp = &sess->conns; *pp; pp = &(*pp)->next) {
		if (*pp == conn) {
			*pp = conn->next;
			break;
		}
	}
	sess->nconns--;
	d->nconns--;
	log_debug("%s connection (queue %u) destroyed",
		  conn->type == RMEM_CONN_CTRL ? "CTRL" : "DATA", conn->queue);
	free(conn);
	if (!sess->nconns)
		session_destroy(sess);
}

static void handle_wc(struct conn *conn, const struct ibv_wc *wc)
{
	unsigned int slot;

	if (wc->status != IBV_WC_SUCCESS) {
		/* Flushes are the normal end of a QP; anything else is not. */
		if (wc->status != IBV_WC_WR_FLUSH_ERR)
			log_warn("CTRL completion error: %s (wr %llu)",
				 ibv_wc_status_str(wc->status),
				 (unsigned long long)wc->wr_id);
		conn_disconnect(conn);
		return;
	}
	if (conn->disconnecting)
		return;

	if (wc->wr_id < RMEM_CTRL_DEPTH) {
		slot = (unsigned int)wc->wr_id;
		conn->sess->last_heard_ms = donor_now_ms();
		ctrl_handle(&conn->sess->donor->env, conn->sess,
			    conn->sess->client_id, SLOT_BUF(conn, slot),
			    wc->byte_len,
			    (struct rmem_msg *)SLOT_BUF(conn, SEND_SLOT(slot)));
		if (post_reply(conn, slot)) {
			log_error("posting a CTRL reply failed: disconnecting");
			conn_disconnect(conn);
		}
	} else {
		slot = (unsigned int)wc->wr_id - RMEM_CTRL_DEPTH;
		if (post_recv(conn, slot)) {
			log_error("re-posting a CTRL receive failed: disconnecting");
			conn_disconnect(conn);
		}
	}
}

void donor_comp_event(struct donor *d, struct donor_dev *dev)
{
	struct ibv_cq *cq;
	void *ctx;

	(void)d;
	/* The channel fd is non-blocking: drain every pending notification. */
	while (!ibv_get_cq_event(dev->chan, &cq, &ctx)) {
		struct conn *conn = ctx;
		struct ibv_wc wc[RMEM_CTRL_DEPTH];
		int n;

		ibv_ack_cq_events(cq, 1);
		/* Re-arm before polling so nothing completes unnoticed. */
		if (ibv_req_notify_cq(cq, 0))
			log_error("ibv_req_notify_cq: %s", strerror(errno));
		while ((n = ibv_poll_cq(cq, RMEM_CTRL_DEPTH, wc)) > 0)
			for (int i = 0; i < n; i++)
				handle_wc(conn, &wc[i]);
		if (n < 0)
			log_error("ibv_poll_cq failed");
	}
}
