// SPDX-License-Identifier: GPL-2.0
/*
 * One RC connection to a donor through rdma_cm: resolve, create PD/CQ/QP,
 * connect with struct rmem_cm_req, learn struct rmem_cm_rep; and the exact
 * reverse on teardown.  Used for the CTRL connection and for every DATA
 * connection alike; the CTRL one also gets its message buffers here.
 */
#include <linux/inet.h>
#include <linux/netdevice.h>
#include <linux/sched/mm.h>
#include <rdma/ib_cache.h>
#include <linux/slab.h>

#include "rmem.h"

void rmem_queue_init(struct rmem_queue *q, struct rmem_donor *d,
		     enum rmem_conn_type type, u16 index)
{
	q->donor = d;
	q->type = type;
	q->index = index;
	q->polled = type == RMEM_CONN_DATA && index >= d->dev->nr_irq_queues;
	spin_lock_init(&q->post_lock);
	spin_lock_init(&q->poll_lock);
	init_completion(&q->cm_done);
}

static void rmem_qp_event(struct ib_event *ev, void *ctx)
{
	struct rmem_queue *q = ctx;

	switch (ev->event) {
	case IB_EVENT_COMM_EST:
	case IB_EVENT_SQ_DRAINED:
	case IB_EVENT_QP_LAST_WQE_REACHED:
		break;
	default:
		pr_warn_ratelimited("rmem: %s queue %u to %s: QP event %s\n",
				    q->type == RMEM_CONN_CTRL ? "ctrl" : "data",
				    q->index, q->donor->addr_str,
				    ib_event_msg(ev->event));
		rmem_donor_error(q->donor);
	}
}

/* Objects made on ADDR_RESOLVED, in the reverse order of their making. */
static void rmem_queue_destroy_ib(struct rmem_queue *q)
{
	if (q->qp) {
		ib_destroy_qp(q->qp);
		q->qp = NULL;
	}
	if (q->type == RMEM_CONN_CTRL)
		rmem_ctrl_free_bufs(q);
	if (q->cq) {
		ib_free_cq(q->cq);
		q->cq = NULL;
	}
	if (q->pd) {
		ib_dealloc_pd(q->pd);
		q->pd = NULL;
	}
	q->ibdev = NULL;
}

static int rmem_queue_create_ib(struct rmem_queue *q)
{
	struct ib_device *ibdev = q->cm_id->device;
	struct ib_qp_init_attr init = {};
	u32 send_wr, recv_wr, sge;
	int ret;

	if (q->type == RMEM_CONN_CTRL) {
		/* one request in flight, +1 for the drain WR */
		send_wr = 2;
		recv_wr = RMEM_CTRL_DEPTH + 1;
		sge = 1;
	} else {
		/* the donor posts nothing here; 1 receive WR for the drain;
		 * +1 send for the drain, +1 for resync's copy on queue 0 */
		send_wr = rmem_queue_depth + 2;
		recv_wr = 1;
		sge = q->donor->dev->max_sge;
	}

	q->ibdev = ibdev;
	q->pd = ib_alloc_pd(ibdev, 0);
	if (IS_ERR(q->pd)) {
		ret = PTR_ERR(q->pd);
		q->pd = NULL;
		return ret;
	}

	q->cq = ib_alloc_cq(ibdev, q, send_wr + recv_wr,
			    q->index % ibdev->num_comp_vectors,
			    q->polled ? IB_POLL_DIRECT : IB_POLL_SOFTIRQ);
	if (IS_ERR(q->cq)) {
		ret = PTR_ERR(q->cq);
		q->cq = NULL;
		goto out_destroy;
	}

	if (q->type == RMEM_CONN_CTRL) {
		ret = rmem_ctrl_alloc_bufs(q);
		if (ret)
			goto out_destroy;
	}

	init.event_handler = rmem_qp_event;
	init.qp_context = q;
	init.send_cq = q->cq;
	init.recv_cq = q->cq;
	init.sq_sig_type = IB_SIGNAL_REQ_WR;
	init.qp_type = IB_QPT_RC;
	init.cap.max_send_wr = send_wr;
	init.cap.max_recv_wr = recv_wr;
	init.cap.max_send_sge = sge;
	init.cap.max_recv_sge = 1;
	ret = rdma_create_qp(q->cm_id, q->pd, &init);
	if (ret)
		goto out_destroy;
	q->qp = q->cm_id->qp;

	if (q->type == RMEM_CONN_CTRL) {
		/* Receives are up before the donor can send anything. */
		ret = rmem_ctrl_post_recvs(q);
		if (ret)
			goto out_destroy;
	}
	return 0;

out_destroy:
	rmem_queue_destroy_ib(q);
	return ret;
}

static int rmem_queue_addr_resolved(struct rmem_queue *q)
{
	int ret;

	ret = rmem_queue_create_ib(q);
	if (ret)
		return ret;
	return rdma_resolve_route(q->cm_id, RMEM_RESOLVE_TIMEOUT_MS);
}

static int rmem_queue_route_resolved(struct rmem_queue *q)
{
	struct rmem_dev *dev = q->donor->dev;
	struct rdma_conn_param param = {};
	struct rmem_cm_req req = {};
	int ret;

	/* a REQ sent now would break the device's CM (rmem_queue_port_up) */
	if (!rmem_queue_port_up(q))
		return -ENETDOWN;
	ret = rdma_set_ack_timeout(q->cm_id, RMEM_ACK_TIMEOUT);
	if (ret)
		return ret;

	req.magic = cpu_to_le16(RMEM_PROTO_MAGIC);
	req.version = RMEM_PROTO_VERSION;
	req.type = q->type;
	req.queue = cpu_to_le16(q->index);
	memcpy(req.client_id, dev->client_id, RMEM_CLIENT_ID_LEN);

	param.private_data = &req;
	param.private_data_len = sizeof(req);
	param.flow_control = 1;
	param.retry_count = 7;
	param.rnr_retry_count = 7;
	param.responder_resources = 0;	/* the donor never reads from us */
	if (q->type == RMEM_CONN_DATA)
		param.initiator_depth = min_t(int, 16,
				q->ibdev->attrs.max_qp_init_rd_atom);

	/* Inside the CM handler the _locked variant is required. */
	return rdma_connect_locked(q->cm_id, &param);
}

static int rmem_queue_established(struct rmem_queue *q,
				  struct rdma_cm_event *ev)
{
	const struct rmem_cm_rep *rep = ev->param.conn.private_data;

	if (!rep || ev->param.conn.private_data_len < sizeof(*rep) ||
	    le16_to_cpu(rep->magic) != RMEM_PROTO_MAGIC ||
	    rep->version != RMEM_PROTO_VERSION) {
		pr_err("rmem: %s: accept without valid rmem_cm_rep\n",
		       q->donor->addr_str);
		return -EPROTO;
	}
	if (rep->status != RMEM_CM_OK) {
		pr_err("rmem: %s: accept with status %u\n",
		       q->donor->addr_str, rep->status);
		return -ECONNREFUSED;
	}
	memcpy(&q->rep, rep, sizeof(*rep));
	return 0;
}

static int rmem_queue_rejected(struct rmem_queue *q, struct rdma_cm_event *ev)
{
	const struct rmem_cm_rep *rep;
	u8 len = 0;

	/* NULL unless the donor itself rejected, with private data */
	rep = rdma_consumer_reject_data(q->cm_id, ev, &len);

	if (rep && len >= sizeof(*rep) &&
	    le16_to_cpu(rep->magic) == RMEM_PROTO_MAGIC) {
		pr_err_ratelimited("rmem: %s: connection rejected by donor, status %u\n",
				   q->donor->addr_str, rep->status);
		if (rep->status == RMEM_CM_BAD_VERSION)
			return -EPROTO;
		if (rep->status == RMEM_CM_NO_RESOURCES)
			return -ENOSPC;
		return -ECONNREFUSED;
	}
	/* every 2 s while a donor is away: the reconnect path says so */
	pr_debug("rmem: %s: connection rejected: %s\n", q->donor->addr_str,
		 rdma_reject_msg(q->cm_id, ev->status));
	return -ECONNREFUSED;
}

static int rmem_cm_event(struct rmem_queue *q, struct rdma_cm_event *ev)
{
	int err;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		err = rmem_queue_addr_resolved(q);
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		err = rmem_queue_route_resolved(q);
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		q->cm_error = rmem_queue_established(q, ev);
		complete(&q->cm_done);
		return 0;
	case RDMA_CM_EVENT_REJECTED:
		err = rmem_queue_rejected(q, ev);
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		err = -EHOSTUNREACH;
		break;
	case RDMA_CM_EVENT_CONNECT_ERROR:
		err = -ECONNRESET;
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_ADDR_CHANGE:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		/*
		 * Recovery tears the queue down from a work item; the id
		 * must not be destroyed from inside its own handler.  In
		 * any state: a connect in progress sees the error too.
		 */
		rmem_donor_error(q->donor);
		return 0;
	default:
		return 0;
	}

	if (err) {
		q->cm_error = err;
		complete(&q->cm_done);
	}
	return 0;
}

static int rmem_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct rmem_queue *q = id->context;
	unsigned int noio;
	int err;

	/*
	 * Connect allocates PD, CQ, QP and buffers here, on rdma_cm's work
	 * queue: reclaim must not write to the device being reconnected.
	 */
	noio = memalloc_noio_save();
	err = rmem_cm_event(q, ev);
	memalloc_noio_restore(noio);
	return err;
}

/* Connect @q and wait for the donor's answer; the caller holds donor->lock. */
int rmem_queue_connect(struct rmem_queue *q)
{
	struct rdma_cm_id *id;
	int ret;

	if (WARN_ON_ONCE(test_bit(RMEM_Q_ALLOCATED, &q->flags)))
		return -EBUSY;

	reinit_completion(&q->cm_done);
	q->cm_error = -ETIMEDOUT;
	memset(&q->rep, 0, sizeof(q->rep));

	id = rdma_create_id(&init_net, rmem_cm_handler, q, RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id))
		return PTR_ERR(id);
	q->cm_id = id;

	ret = rdma_resolve_addr(id, NULL, (struct sockaddr *)&q->donor->addr,
				RMEM_RESOLVE_TIMEOUT_MS);
	if (ret)
		goto out_destroy;

	if (!wait_for_completion_timeout(&q->cm_done,
				msecs_to_jiffies(RMEM_CONNECT_TIMEOUT_MS)))
		ret = -ETIMEDOUT;
	else
		ret = q->cm_error;
	if (ret)
		goto out_destroy;

	set_bit(RMEM_Q_ALLOCATED, &q->flags);
	return 0;

out_destroy:
	/* No handler runs after rdma_destroy_id(), so the IB objects are ours. */
	rdma_destroy_id(id);
	q->cm_id = NULL;
	rmem_queue_destroy_ib(q);
	return ret;
}

void rmem_queue_set_live(struct rmem_queue *q, bool live)
{
	spin_lock_bh(&q->post_lock);
	if (live)
		set_bit(RMEM_Q_LIVE, &q->flags);
	else
		clear_bit(RMEM_Q_LIVE, &q->flags);
	spin_unlock_bh(&q->post_lock);
}

/*
 * Is the RDMA port under @q's connection up?  Soft-RoCE puts its QP1 in
 * the error state for good when a CM message (a DREQ, a REQ) is sent
 * while its port is down, and no connection on that device can be made
 * after that: so nothing here sends one while the port is down.
 */
bool rmem_queue_port_up(struct rmem_queue *q)
{
	struct rdma_cm_id *id = q->cm_id;
	struct net_device *ndev;
	enum ib_port_state state;
	bool up;

	if (!id || !id->device)
		return true;
	/* the port state is cached from events, which come late: the
	 * netdev says first that the link went down */
	ndev = dev_get_by_index(&init_net, id->route.addr.dev_addr.bound_dev_if);
	if (ndev) {
		up = netif_running(ndev) && netif_carrier_ok(ndev);
		dev_put(ndev);
		if (!up)
			return false;
	}
	if (ib_get_cached_port_state(id->device, id->port_num, &state))
		return true;
	return state == IB_PORT_ACTIVE;
}

/*
 * Stop posting and drain: every WR still posted completes (with a flush
 * error) and no late RDMA can touch its pages; nothing goes on the wire.
 * The connection itself stays until rmem_queue_teardown().  Idempotent.
 */
void rmem_queue_quiesce(struct rmem_queue *q)
{
	rmem_queue_set_live(q, false);
	if (!test_bit(RMEM_Q_ALLOCATED, &q->flags) ||
	    test_and_set_bit(RMEM_Q_DRAINED, &q->flags))
		return;
	/*
	 * rmem_poll() looks at DRAINED under poll_lock: once we have held
	 * it, no poller is inside the CQ, and none will enter; the drain
	 * below reaps a polled CQ itself.
	 */
	spin_lock(&q->poll_lock);
	spin_unlock(&q->poll_lock);
	ib_drain_qp(q->qp);
}

/* Quiesce, disconnect and destroy the connection.  Idempotent. */
void rmem_queue_teardown(struct rmem_queue *q)
{
	rmem_queue_quiesce(q);
	if (!test_and_clear_bit(RMEM_Q_ALLOCATED, &q->flags))
		return;
	clear_bit(RMEM_Q_DRAINED, &q->flags);
	rdma_disconnect(q->cm_id);
	rdma_destroy_qp(q->cm_id);
	q->qp = NULL;
	rmem_queue_destroy_ib(q);
	rdma_destroy_id(q->cm_id);
	q->cm_id = NULL;
}
