// SPDX-License-Identifier: GPL-2.0
/*
 * Control messages on a donor's CTRL connection: SLAB_ALLOC, SLAB_ATTACH,
 * SLAB_FREE and KEEPALIVE are SENDs of struct rmem_msg answered by a
 * reply with the same seq.  One request is in flight per donor; the
 * caller sleeps on a completion until the reply or a timeout.  Buffers
 * are made and DMA-mapped with the queue, never per message.
 */
#include <linux/slab.h>

#include "rmem.h"

static void rmem_ctrl_recv_done(struct ib_cq *cq, struct ib_wc *wc);
static void rmem_ctrl_send_done(struct ib_cq *cq, struct ib_wc *wc);

static int rmem_ctrl_buf_alloc(struct ib_device *ibdev,
			       struct rmem_ctrl_buf *b,
			       enum dma_data_direction dir)
{
	b->buf = kzalloc(RMEM_MSG_SIZE, GFP_NOIO);
	if (!b->buf)
		return -ENOMEM;
	b->dma = ib_dma_map_single(ibdev, b->buf, RMEM_MSG_SIZE, dir);
	if (ib_dma_mapping_error(ibdev, b->dma)) {
		kfree(b->buf);
		b->buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void rmem_ctrl_buf_free(struct ib_device *ibdev,
			       struct rmem_ctrl_buf *b,
			       enum dma_data_direction dir)
{
	if (!b->buf)
		return;
	ib_dma_unmap_single(ibdev, b->dma, RMEM_MSG_SIZE, dir);
	kfree(b->buf);
	b->buf = NULL;
}

int rmem_ctrl_alloc_bufs(struct rmem_queue *q)
{
	int i, ret;

	for (i = 0; i < RMEM_CTRL_DEPTH; i++) {
		ret = rmem_ctrl_buf_alloc(q->ibdev, &q->rx[i], DMA_FROM_DEVICE);
		if (ret)
			goto out_free;
		q->rx[i].cqe.done = rmem_ctrl_recv_done;
	}
	ret = rmem_ctrl_buf_alloc(q->ibdev, &q->tx, DMA_TO_DEVICE);
	if (ret)
		goto out_free;
	q->tx.cqe.done = rmem_ctrl_send_done;
	q->tx_busy = false;
	return 0;

out_free:
	rmem_ctrl_free_bufs(q);
	return ret;
}

void rmem_ctrl_free_bufs(struct rmem_queue *q)
{
	int i;

	if (!q->ibdev)
		return;
	for (i = 0; i < RMEM_CTRL_DEPTH; i++)
		rmem_ctrl_buf_free(q->ibdev, &q->rx[i], DMA_FROM_DEVICE);
	rmem_ctrl_buf_free(q->ibdev, &q->tx, DMA_TO_DEVICE);
}

static int rmem_ctrl_post_recv(struct rmem_queue *q, struct rmem_ctrl_buf *b)
{
	struct ib_sge sge = {
		.addr	= b->dma,
		.length	= RMEM_MSG_SIZE,
		.lkey	= q->pd->local_dma_lkey,
	};
	struct ib_recv_wr wr = {
		.wr_cqe		= &b->cqe,
		.sg_list	= &sge,
		.num_sge	= 1,
	};

	return ib_post_recv(q->qp, &wr, NULL);
}

int rmem_ctrl_post_recvs(struct rmem_queue *q)
{
	int i, ret;

	for (i = 0; i < RMEM_CTRL_DEPTH; i++) {
		ret = rmem_ctrl_post_recv(q, &q->rx[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static void rmem_ctrl_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct rmem_queue *q = cq->cq_context;

	WRITE_ONCE(q->tx_busy, false);
	if (unlikely(wc->status != IB_WC_SUCCESS &&
		     wc->status != IB_WC_WR_FLUSH_ERR)) {
		pr_warn_ratelimited("rmem: %s: ctrl send failed: %s\n",
				    q->donor->addr_str,
				    ib_wc_status_msg(wc->status));
		rmem_donor_error(q->donor);
	}
}

static void rmem_ctrl_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct rmem_queue *q = cq->cq_context;
	struct rmem_donor *d = q->donor;
	struct rmem_ctrl_buf *b = container_of(wc->wr_cqe,
					       struct rmem_ctrl_buf, cqe);
	const struct rmem_msg *msg = b->buf;
	unsigned long flags;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		if (wc->status != IB_WC_WR_FLUSH_ERR) {
			pr_warn_ratelimited("rmem: %s: ctrl recv failed: %s\n",
					    d->addr_str,
					    ib_wc_status_msg(wc->status));
			rmem_donor_error(d);
		}
		return;
	}

	ib_dma_sync_single_for_cpu(q->ibdev, b->dma, RMEM_MSG_SIZE,
				   DMA_FROM_DEVICE);
	rmem_stat_inc(&d->stats, RMEM_STAT_CTRL_MSGS);
	rmem_stat_inc(&d->dev->stats, RMEM_STAT_CTRL_MSGS);

	if (wc->byte_len < sizeof(msg->hdr) ||
	    le16_to_cpu(msg->hdr.magic) != RMEM_PROTO_MAGIC ||
	    msg->hdr.version != RMEM_PROTO_VERSION ||
	    !(msg->hdr.type & RMEM_MSG_REPLY)) {
		pr_warn_ratelimited("rmem: %s: malformed control message\n",
				    d->addr_str);
	} else {
		spin_lock_irqsave(&d->reply_lock, flags);
		if (d->waiting && le32_to_cpu(msg->hdr.seq) == d->wait_seq) {
			memset(&d->reply, 0, sizeof(d->reply));
			memcpy(&d->reply, msg,
			       min_t(u32, wc->byte_len, sizeof(d->reply)));
			d->waiting = false;
			complete(&d->reply_done);
		}
		spin_unlock_irqrestore(&d->reply_lock, flags);
	}

	ib_dma_sync_single_for_device(q->ibdev, b->dma, RMEM_MSG_SIZE,
				      DMA_FROM_DEVICE);
	/* Repost unless teardown began: its drain must see the last WR. */
	spin_lock(&q->post_lock);
	if (test_bit(RMEM_Q_LIVE, &q->flags) && rmem_ctrl_post_recv(q, b))
		rmem_donor_error(d);
	spin_unlock(&q->post_lock);
}

/* Wake a caller waiting for a reply that will never come (teardown). */
void rmem_ctrl_abort(struct rmem_donor *d)
{
	unsigned long flags;

	spin_lock_irqsave(&d->reply_lock, flags);
	if (d->waiting) {
		d->waiting = false;
		memset(&d->reply, 0, sizeof(d->reply));
		d->reply.hdr.status = cpu_to_le32(ECONNRESET);
		complete(&d->reply_done);
	}
	spin_unlock_irqrestore(&d->reply_lock, flags);
}

/*
 * Send @msg as a request of @type and wait for its reply, which replaces
 * @msg.  Returns 0, the donor's status as a negative errno, or a
 * transport error (-ENOTCONN, -ETIMEDOUT, -EIO).
 */
int rmem_ctrl_call(struct rmem_donor *d, u8 type, struct rmem_msg *msg)
{
	struct rmem_queue *q = &d->ctrl;
	struct ib_sge sge;
	struct ib_send_wr wr = {};
	unsigned long flags;
	u32 seq, status;
	int ret;

	mutex_lock(&d->ctrl_mutex);
	seq = ++d->seq;

	msg->hdr.magic = cpu_to_le16(RMEM_PROTO_MAGIC);
	msg->hdr.version = RMEM_PROTO_VERSION;
	msg->hdr.type = type;
	msg->hdr.seq = cpu_to_le32(seq);
	msg->hdr.status = 0;
	msg->hdr.reserved = 0;

	spin_lock_irqsave(&d->reply_lock, flags);
	d->wait_seq = seq;
	d->waiting = true;
	reinit_completion(&d->reply_done);
	spin_unlock_irqrestore(&d->reply_lock, flags);

	spin_lock_bh(&q->post_lock);
	if (!test_bit(RMEM_Q_LIVE, &q->flags)) {
		ret = -ENOTCONN;
	} else if (q->tx_busy) {
		/* the last send never completed: the connection is stuck */
		ret = -EIO;
	} else {
		memcpy(q->tx.buf, msg, sizeof(*msg));
		ib_dma_sync_single_for_device(q->ibdev, q->tx.dma,
					      RMEM_MSG_SIZE, DMA_TO_DEVICE);
		sge.addr = q->tx.dma;
		sge.length = sizeof(*msg);
		sge.lkey = q->pd->local_dma_lkey;
		wr.wr_cqe = &q->tx.cqe;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		wr.opcode = IB_WR_SEND;
		wr.send_flags = IB_SEND_SIGNALED;
		q->tx_busy = true;
		ret = ib_post_send(q->qp, &wr, NULL);
		if (ret)
			q->tx_busy = false;
	}
	spin_unlock_bh(&q->post_lock);

	if (!ret) {
		rmem_stat_inc(&d->stats, RMEM_STAT_CTRL_MSGS);
		rmem_stat_inc(&d->dev->stats, RMEM_STAT_CTRL_MSGS);
		if (!wait_for_completion_timeout(&d->reply_done,
				msecs_to_jiffies(RMEM_CTRL_TIMEOUT_MS)))
			ret = -ETIMEDOUT;
	}

	spin_lock_irqsave(&d->reply_lock, flags);
	if (d->waiting) {
		d->waiting = false;
	} else if (!ret) {
		memcpy(msg, &d->reply, sizeof(*msg));
	}
	spin_unlock_irqrestore(&d->reply_lock, flags);
	mutex_unlock(&d->ctrl_mutex);

	if (ret)
		return ret;
	status = le32_to_cpu(msg->hdr.status);
	if (status)
		return status < 4096 ? -(int)status : -EPROTO;
	if (msg->hdr.type != (type | RMEM_MSG_REPLY))
		return -EPROTO;
	return 0;
}
