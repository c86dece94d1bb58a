// SPDX-License-Identifier: MIT
#include "testclient.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define SEND_SLOT(i)	(RMEM_CTRL_DEPTH + (i))
#define SLOT_BUF(c, i)	((c)->bufs + (size_t)(i) * RMEM_MSG_SIZE)

void tc_random_id(uint8_t id[RMEM_CLIENT_ID_LEN])
{
	if (getrandom(id, RMEM_CLIENT_ID_LEN, 0) != RMEM_CLIENT_ID_LEN) {
		perror("getrandom");
		exit(2);
	}
}

struct rmem_cm_req tc_req(enum rmem_conn_type type, uint16_t queue,
			  const uint8_t id[RMEM_CLIENT_ID_LEN])
{
	struct rmem_cm_req r;

	memset(&r, 0, sizeof(r));
	r.magic = htole16(RMEM_PROTO_MAGIC);
	r.version = RMEM_PROTO_VERSION;
	r.type = (uint8_t)type;
	r.queue = htole16(queue);
	memcpy(r.client_id, id, RMEM_CLIENT_ID_LEN);
	return r;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for the next CM event on @c; returns it (to be acked) or NULL. */
static struct rdma_cm_event *wait_event(struct tc_conn *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->ec->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return NULL;
	if (rdma_get_cm_event(c->ec, &ev))
		return NULL;
	return ev;
}

static int expect_event(struct tc_conn *c, enum rdma_cm_event_type type)
{
	struct rdma_cm_event *ev = wait_event(c, TC_TIMEOUT_MS);
	int ok;

	if (!ev)
		return -ETIMEDOUT;
	ok = ev->event == type && !ev->status;
	if (!ok)
		fprintf(stderr, "testclient: got %s (status %d), wanted %s\n",
			rdma_event_str(ev->event), ev->status,
			rdma_event_str(type));
	rdma_ack_cm_event(ev);
	return ok ? 0 : -EHOSTUNREACH;
}

static int post_recv(struct tc_conn *c, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)SLOT_BUF(c, slot),
		.length = RMEM_MSG_SIZE,
		.lkey = c->buf_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_recv(c->id->qp, &wr, &bad);
}

int tc_wait_seconds;

static int connect_once(struct tc_conn *c, const struct sockaddr *dst,
			const void *priv, uint8_t priv_len, bool ctrl,
			struct ibv_pd **pd);

int tc_connect(struct tc_conn *c, const struct sockaddr *dst,
	       const void *priv, uint8_t priv_len, bool ctrl,
	       struct ibv_pd **pd)
{
	uint64_t deadline = now_ms() + (uint64_t)tc_wait_seconds * 1000;

	for (;;) {
		int rc = connect_once(c, dst, priv, priv_len, ctrl, pd);

		/*
		 * A reject without rmem data comes from the CM itself: nobody
		 * listens yet (the donor may still be pinning its memory).
		 */
		if (rc != 1 || c->reject_status != -1 || now_ms() >= deadline)
			return rc;
		tc_close(c);
		usleep(500 * 1000);
	}
}

static int connect_once(struct tc_conn *c, const struct sockaddr *dst,
			const void *priv, uint8_t priv_len, bool ctrl,
			struct ibv_pd **pd)
{
	struct ibv_qp_init_attr qpa = { .qp_type = IBV_QPT_RC };
	struct rdma_conn_param cp = { 0 };
	struct ibv_device_attr attr;
	struct rdma_cm_event *ev;
	int err;

	memset(c, 0, sizeof(*c));
	c->reject_status = -1;
	c->ec = rdma_create_event_channel();
	if (!c->ec)
		return -errno;
	if (rdma_create_id(c->ec, &c->id, c, RDMA_PS_TCP))
		return -errno;
	if (rdma_resolve_addr(c->id, NULL, (struct sockaddr *)dst, 2000))
		return -errno;
	err = expect_event(c, RDMA_CM_EVENT_ADDR_RESOLVED);
	if (err)
		return err;
	if (rdma_resolve_route(c->id, 2000))
		return -errno;
	err = expect_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED);
	if (err)
		return err;

	if (!*pd) {
		*pd = ibv_alloc_pd(c->id->verbs);
		if (!*pd)
			return -errno;
	}
	c->pd = *pd;
	c->cq = ibv_create_cq(c->id->verbs, 2 * RMEM_CTRL_DEPTH + 8, NULL, NULL, 0);
	if (!c->cq)
		return -errno;
	qpa.send_cq = c->cq;
	qpa.recv_cq = c->cq;
	qpa.cap.max_send_wr = RMEM_CTRL_DEPTH + 4;
	qpa.cap.max_recv_wr = RMEM_CTRL_DEPTH;
	qpa.cap.max_send_sge = 4;
	qpa.cap.max_recv_sge = 1;
	if (rdma_create_qp(c->id, c->pd, &qpa))
		return -errno;

	if (ctrl) {
		size_t len = 2 * RMEM_CTRL_DEPTH * RMEM_MSG_SIZE;

		c->bufs = calloc(1, len);
		if (!c->bufs)
			return -ENOMEM;
		c->buf_mr = ibv_reg_mr(c->pd, c->bufs, len, IBV_ACCESS_LOCAL_WRITE);
		if (!c->buf_mr)
			return -errno;
		for (unsigned int i = 0; i < RMEM_CTRL_DEPTH; i++)
			if (post_recv(c, i))
				return -EIO;
	}

	if (ibv_query_device(c->id->verbs, &attr))
		return -errno;
	cp.private_data = priv;
	cp.private_data_len = priv_len;
	cp.initiator_depth = (uint8_t)(attr.max_qp_init_rd_atom < 16 ?
				       attr.max_qp_init_rd_atom : 16);
	cp.responder_resources = 0;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (rdma_connect(c->id, &cp))
		return -errno;

	ev = wait_event(c, TC_TIMEOUT_MS);
	if (!ev)
		return -ETIMEDOUT;
	if (ev->param.conn.private_data &&
	    ev->param.conn.private_data_len >= sizeof(c->rep))
		memcpy(&c->rep, ev->param.conn.private_data, sizeof(c->rep));
	switch (ev->event) {
	case RDMA_CM_EVENT_ESTABLISHED:
		c->connected = true;
		err = 0;
		break;
	case RDMA_CM_EVENT_REJECTED:
		if (le16toh(c->rep.magic) == RMEM_PROTO_MAGIC)
			c->reject_status = c->rep.status;
		err = 1;
		break;
	default:
		fprintf(stderr, "testclient: connect got %s (status %d)\n",
			rdma_event_str(ev->event), ev->status);
		err = -ECONNREFUSED;
		break;
	}
	rdma_ack_cm_event(ev);
	return err;
}

void tc_close(struct tc_conn *c)
{
	if (c->connected) {
		rdma_disconnect(c->id);
		/* Wait for our DISCONNECTED so the donor has seen it too. */
		for (;;) {
			struct rdma_cm_event *ev = wait_event(c, 2000);
			enum rdma_cm_event_type t;

			if (!ev)
				break;
			t = ev->event;
			rdma_ack_cm_event(ev);
			if (t == RDMA_CM_EVENT_DISCONNECTED)
				break;
		}
	}
	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->buf_mr)
		ibv_dereg_mr(c->buf_mr);
	free(c->bufs);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	memset(c, 0, sizeof(*c));
}

int tc_wait_disconnect(struct tc_conn *c, int timeout_ms)
{
	struct rdma_cm_event *ev = wait_event(c, timeout_ms);
	enum rdma_cm_event_type t;

	if (!ev)
		return -ETIMEDOUT;
	t = ev->event;
	rdma_ack_cm_event(ev);
	if (t != RDMA_CM_EVENT_DISCONNECTED)
		return -EPROTO;
	c->connected = false;
	return 0;
}

/* Poll @c's CQ for one completion, within TC_TIMEOUT_MS. */
static int poll_one(struct tc_conn *c, struct ibv_wc *wc)
{
	uint64_t deadline = now_ms() + TC_TIMEOUT_MS;

	for (;;) {
		int n = ibv_poll_cq(c->cq, 1, wc);

		if (n < 0)
			return -EIO;
		if (n == 1)
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
}

int tc_ctrl_send(struct tc_conn *c, const void *req, size_t len)
{
	unsigned int slot = SEND_SLOT(c->next_send++ % RMEM_CTRL_DEPTH);
	struct ibv_sge sge = {
		.addr = (uintptr_t)SLOT_BUF(c, slot),
		.length = (uint32_t)len,
		.lkey = c->buf_mr->lkey,
	};
	/* Unsignaled: only receives show up in our CQ, which keeps
	 * tc_ctrl_recv simple; a failed send still completes with an error. */
	struct ibv_send_wr wr = {
		.wr_id = slot,
		.sg_list = &sge,
		.num_sge = len ? 1 : 0,
		.opcode = IBV_WR_SEND,
	};
	struct ibv_send_wr *bad;

	if (len > RMEM_MSG_SIZE)
		return -EINVAL;
	memcpy(SLOT_BUF(c, slot), req, len);
	/* Every 8th send signaled so the send queue drains. */
	if (c->next_send % 8 == 0)
		wr.send_flags = IBV_SEND_SIGNALED;
	return ibv_post_send(c->id->qp, &wr, &bad) ? -EIO : 0;
}

int tc_ctrl_recv(struct tc_conn *c, struct rmem_msg *reply)
{
	struct ibv_wc wc;
	int err;

	for (;;) {
		err = poll_one(c, &wc);
		if (err)
			return err;
		if (wc.status != IBV_WC_SUCCESS) {
			fprintf(stderr, "testclient: CTRL completion %s\n",
				ibv_wc_status_str(wc.status));
			return -EIO;
		}
		if (wc.opcode == IBV_WC_RECV)
			break;
	}
	memset(reply, 0, sizeof(*reply));
	memcpy(reply, SLOT_BUF(c, wc.wr_id),
	       wc.byte_len < sizeof(*reply) ? wc.byte_len : sizeof(*reply));
	return post_recv(c, (unsigned int)wc.wr_id) ? -EIO : 0;
}

int tc_ctrl_call(struct tc_conn *c, const void *req, size_t len,
		 struct rmem_msg *reply)
{
	int err = tc_ctrl_send(c, req, len);

	if (!err)
		err = tc_ctrl_recv(c, reply);
	return err ? err : (int)le32toh(reply->hdr.status);
}

int tc_rdma(struct tc_conn *c, enum ibv_wr_opcode op, void *local,
	    size_t len, struct ibv_mr *mr, uint64_t raddr, uint32_t rkey,
	    enum ibv_wc_status *status)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)local,
		.length = (uint32_t)len,
		.lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 0x5eed,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	};
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int err;

	if (ibv_post_send(c->id->qp, &wr, &bad))
		return -EIO;
	err = poll_one(c, &wc);
	if (err)
		return err;
	*status = wc.status;
	return 0;
}

const char *tc_errname(int status)
{
	switch (status) {
	case 0: return "0";
	case ENOSPC: return "ENOSPC";
	case ENOENT: return "ENOENT";
	case ESTALE: return "ESTALE";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case EPROTO: return "EPROTO";
	case ENOMEM: return "ENOMEM";
	default: return "?";
	}
}
