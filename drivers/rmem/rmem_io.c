// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O path: one blk-mq request becomes one RDMA READ or WRITE (a
 * single ib_rdma_wr whose SGEs are the request's segments) on the DATA
 * connection of (hardware queue, donor).  Everything a request needs is in
 * its PDU, made in init_request: nothing here allocates memory.
 */
#include <linux/blk-mq.h>

#include "rmem.h"

size_t rmem_io_pdu_size(u32 max_sge)
{
	return sizeof(struct rmem_io) +
	       max_sge * (sizeof(struct scatterlist) + sizeof(struct ib_sge));
}

static int rmem_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct rmem_dev *dev = set->driver_data;
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);

	cmd->sge = (struct ib_sge *)&cmd->sgl[dev->max_sge];
	cmd->wait_deadline = 0;
	return 0;
}

static void rmem_io_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct rmem_io *cmd = container_of(wc->wr_cqe, struct rmem_io, cqe);
	struct request *rq = blk_mq_rq_from_pdu(cmd);

	/* Unmapped before completion: the pages are the caller's again. */
	ib_dma_unmap_sg(cmd->ibdev, cmd->sgl, cmd->nents, cmd->dir);
	if (cmd->queue->polled) {
		rmem_stat_inc(&cmd->queue->donor->dev->stats, RMEM_STAT_POLLED);
		rmem_stat_inc(&cmd->queue->donor->stats, RMEM_STAT_POLLED);
	}

	if (likely(wc->status == IB_WC_SUCCESS)) {
		cmd->status = BLK_STS_OK;
	} else if (wc->status == IB_WC_WR_FLUSH_ERR) {
		/*
		 * Recovery flushed it, through no fault of its own: it goes
		 * back to the queue and waits for the donor like a new one.
		 * READ and WRITE are idempotent, so running it again is safe.
		 */
		cmd->status = BLK_STS_AGAIN;
	} else {
		cmd->status = BLK_STS_IOERR;
		pr_warn_ratelimited("rmem: %s: %s at sector %llu failed: %s\n",
				    cmd->queue->donor->dev->name,
				    rq_data_dir(rq) ? "write" : "read",
				    (u64)blk_rq_pos(rq),
				    ib_wc_status_msg(wc->status));
		rmem_donor_error(cmd->queue->donor);
	}
	blk_mq_complete_request(rq);
}

static void rmem_account(struct rmem_stats *s, struct request *rq,
			 blk_status_t status)
{
	if (status != BLK_STS_OK) {
		rmem_stat_inc(s, RMEM_STAT_ERRORS);
		return;
	}
	switch (req_op(rq)) {
	case REQ_OP_READ:
		rmem_stat_inc(s, RMEM_STAT_READS);
		rmem_stat_add(s, RMEM_STAT_READ_BYTES, blk_rq_bytes(rq));
		break;
	case REQ_OP_WRITE:
		rmem_stat_inc(s, RMEM_STAT_WRITES);
		rmem_stat_add(s, RMEM_STAT_WRITE_BYTES, blk_rq_bytes(rq));
		break;
	case REQ_OP_DISCARD:
		rmem_stat_inc(s, RMEM_STAT_DISCARDS);
		break;
	default:
		break;
	}
}

static void rmem_complete_rq(struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_dev *dev = rq->q->queuedata;

	if (cmd->status == BLK_STS_AGAIN) {
		if (!READ_ONCE(dev->deleting) &&
		    (!cmd->wait_deadline ||
		     time_before(jiffies, cmd->wait_deadline))) {
			if (!cmd->wait_deadline)
				cmd->wait_deadline = (jiffies + rmem_io_timeout * HZ) ?: 1;
			rmem_stat_inc(&dev->stats, RMEM_STAT_RETRIES);
			blk_mq_requeue_request(rq, false);
			blk_mq_delay_kick_requeue_list(rq->q, RMEM_WAIT_RETRY_MS);
			return;
		}
		cmd->status = BLK_STS_IOERR;
	}
	cmd->wait_deadline = 0;
	rmem_account(&dev->stats, rq, cmd->status);
	if (cmd->queue)
		rmem_account(&cmd->queue->donor->stats, rq, cmd->status);
	blk_mq_end_request(rq, cmd->status);
}

/* Start @rq and end it at once, for requests that need no RDMA. */
static blk_status_t rmem_end_now(struct rmem_dev *dev, struct request *rq,
				 blk_status_t status)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);

	cmd->wait_deadline = 0;
	cmd->queue = NULL;
	cmd->status = status;
	blk_mq_start_request(rq);
	if (status != BLK_STS_OK) {
		/* blk-mq ends a request whose queue_rq returns an error */
		rmem_account(&dev->stats, rq, status);
		return status;
	}
	rmem_complete_rq(rq);
	return BLK_STS_OK;
}

/*
 * The slab's donor is reconnecting: leave the request queued and look
 * again shortly, but fail it once it has waited io_timeout.
 */
static blk_status_t rmem_wait_or_fail(struct rmem_dev *dev,
				      struct blk_mq_hw_ctx *hctx,
				      struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);

	if (!cmd->wait_deadline) {
		cmd->wait_deadline = (jiffies + rmem_io_timeout * HZ) ?: 1;
		rmem_stat_inc(&dev->stats, RMEM_STAT_RETRIES);
	} else if (time_after(jiffies, cmd->wait_deadline)) {
		rmem_stat_inc(&dev->stats, RMEM_STAT_TIMEOUTS);
		return rmem_end_now(dev, rq, BLK_STS_IOERR);
	}
	blk_mq_delay_run_hw_queue(hctx, RMEM_WAIT_RETRY_MS);
	return BLK_STS_DEV_RESOURCE;
}

static blk_status_t rmem_zero_read(struct rmem_dev *dev, struct request *rq)
{
	struct req_iterator iter;
	struct bio_vec bv;

	rq_for_each_segment(bv, rq, iter)
		memzero_bvec(&bv);
	return rmem_end_now(dev, rq, BLK_STS_OK);
}

static blk_status_t rmem_post(struct rmem_dev *dev, struct blk_mq_hw_ctx *hctx,
			      struct request *rq, struct rmem_slab *slab,
			      u64 off)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	bool is_write = req_op(rq) == REQ_OP_WRITE;
	struct rmem_replica *r = NULL;
	struct rmem_queue *q;
	struct scatterlist *sg;
	int count, i, ret;
	unsigned int j;

	/*
	 * Writes go to replica 0, the only one placed today; reads take the
	 * first live replica.
	 */
	for (j = 0; j < slab->nr_replicas; j++) {
		if (is_write || READ_ONCE(slab->r[j].state) == RMEM_SLAB_LIVE) {
			r = &slab->r[j];
			break;
		}
	}
	if (!r)
		r = &slab->r[0];
	q = &r->donor->data[hctx->queue_num];

	spin_lock_bh(&q->post_lock);
	if (unlikely(!test_bit(RMEM_Q_LIVE, &q->flags) ||
		     READ_ONCE(r->state) != RMEM_SLAB_LIVE)) {
		int state = READ_ONCE(r->state);

		spin_unlock_bh(&q->post_lock);
		if (state == RMEM_SLAB_FAILED ||
		    READ_ONCE(r->donor->state) == RMEM_DONOR_DEAD)
			return rmem_end_now(dev, rq, BLK_STS_IOERR);
		return rmem_wait_or_fail(dev, hctx, rq);
	}

	blk_mq_start_request(rq);
	cmd->queue = q;
	cmd->ibdev = q->ibdev;
	cmd->dir = is_write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;

	/* only the entries this request uses: clearing all max_sge is a
	 * 1 KiB memset per I/O */
	sg_init_table(cmd->sgl, blk_rq_nr_phys_segments(rq));
	cmd->nents = blk_rq_map_sg(rq->q, rq, cmd->sgl);
	count = ib_dma_map_sg(q->ibdev, cmd->sgl, cmd->nents, cmd->dir);
	if (unlikely(!count)) {
		spin_unlock_bh(&q->post_lock);
		cmd->wait_deadline = 0;
		rmem_stat_inc(&dev->stats, RMEM_STAT_ERRORS);
		return BLK_STS_IOERR;
	}

	for_each_sg(cmd->sgl, sg, count, i) {
		cmd->sge[i].addr = sg_dma_address(sg);
		cmd->sge[i].length = sg_dma_len(sg);
		cmd->sge[i].lkey = q->pd->local_dma_lkey;
	}

	cmd->cqe.done = rmem_io_done;
	memset(&cmd->wr, 0, sizeof(cmd->wr));
	cmd->wr.wr.wr_cqe = &cmd->cqe;
	cmd->wr.wr.sg_list = cmd->sge;
	cmd->wr.wr.num_sge = count;
	cmd->wr.wr.opcode = is_write ? IB_WR_RDMA_WRITE : IB_WR_RDMA_READ;
	cmd->wr.wr.send_flags = IB_SEND_SIGNALED;
	cmd->wr.remote_addr = r->addr + off;
	cmd->wr.rkey = r->rkey;

	ret = ib_post_send(q->qp, &cmd->wr.wr, NULL);
	spin_unlock_bh(&q->post_lock);
	if (unlikely(ret)) {
		ib_dma_unmap_sg(q->ibdev, cmd->sgl, cmd->nents, cmd->dir);
		cmd->wait_deadline = 0;
		pr_warn_ratelimited("rmem: %s: post to %s failed: %d\n",
				    dev->name, r->donor->addr_str, ret);
		rmem_stat_inc(&dev->stats, RMEM_STAT_ERRORS);
		rmem_donor_error(r->donor);
		return BLK_STS_IOERR;
	}
	return BLK_STS_OK;
}

static blk_status_t rmem_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct rmem_dev *dev = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u32 len = blk_rq_bytes(rq);
	struct rmem_slab *slab;
	u64 off;

	if (unlikely(READ_ONCE(dev->deleting)))
		return rmem_end_now(dev, rq, BLK_STS_IOERR);

	switch (req_op(rq)) {
	case REQ_OP_DISCARD:
		rmem_map_discard(&dev->map, pos, len);
		return rmem_end_now(dev, rq, BLK_STS_OK);
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		break;
	default:
		return rmem_end_now(dev, rq, BLK_STS_NOTSUPP);
	}

	slab = rmem_map_lookup(&dev->map, pos, &off);
	/* chunk_sectors keeps requests inside one slab */
	if (WARN_ON_ONCE(!slab || !len || off + len > dev->map.slab_size))
		return rmem_end_now(dev, rq, BLK_STS_IOERR);

	if (req_op(rq) == REQ_OP_READ) {
		if (rmem_map_range_zero(&dev->map, slab, off, len) &&
		    rmem_slab_state(slab) != RMEM_SLAB_FAILED)
			return rmem_zero_read(dev, rq);
	} else {
		rmem_map_mark_written(&dev->map, slab, off, len);
	}
	return rmem_post(dev, hctx, rq, slab, off);
}

/*
 * A request outlived io_timeout on the wire.  Completing it here could let
 * a late RDMA land in pages already handed back, so instead recovery
 * drains the connection, which completes the request with an error.
 */
static enum blk_eh_timer_return rmem_timeout(struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_dev *dev = rq->q->queuedata;

	rmem_stat_inc(&dev->stats, RMEM_STAT_TIMEOUTS);
	/* it has waited long enough: when the drain flushes it, it fails */
	cmd->wait_deadline = jiffies ?: 1;
	if (!cmd->queue)
		return BLK_EH_RESET_TIMER;

	rmem_stat_inc(&cmd->queue->donor->stats, RMEM_STAT_TIMEOUTS);
	pr_warn_ratelimited("rmem: %s: request at sector %llu timed out on %s\n",
			    dev->name, (u64)blk_rq_pos(rq),
			    cmd->queue->donor->addr_str);
	rmem_donor_error(cmd->queue->donor);
	return BLK_EH_RESET_TIMER;
}

/*
 * Polled I/O (REQ_POLLED: io_uring IOPOLL, preadv2 RWF_HIPRI) lands on the
 * poll hardware queues, whose DATA connections have IB_POLL_DIRECT CQs:
 * the submitter reaps its completions here, with no interrupt, softirq or
 * wake-up in between.  One hardware queue has a connection per donor.
 */
static int rmem_poll(struct blk_mq_hw_ctx *hctx, struct io_comp_batch *iob)
{
	struct rmem_dev *dev = hctx->queue->queuedata;
	unsigned int i;
	int found = 0;

	for (i = 0; i < dev->nr_donors; i++) {
		struct rmem_queue *q = &dev->donors[i]->data[hctx->queue_num];

		/* Another poller is reaping this CQ: nothing to add. */
		if (!spin_trylock(&q->poll_lock))
			continue;
		if (test_bit(RMEM_Q_ALLOCATED, &q->flags))
			found += ib_process_cq_direct(q->cq, -1);
		spin_unlock(&q->poll_lock);
	}
	return found;
}

/* Interrupt-driven queues first (reads share them), then the polled ones. */
static void rmem_map_queues(struct blk_mq_tag_set *set)
{
	struct rmem_dev *dev = set->driver_data;
	struct blk_mq_queue_map *map = &set->map[HCTX_TYPE_DEFAULT];

	map->nr_queues = dev->nr_irq_queues;
	map->queue_offset = 0;
	blk_mq_map_queues(map);
	if (set->nr_maps <= HCTX_TYPE_POLL)
		return;
	set->map[HCTX_TYPE_READ].nr_queues = 0;
	map = &set->map[HCTX_TYPE_POLL];
	map->nr_queues = dev->nr_queues - dev->nr_irq_queues;
	map->queue_offset = dev->nr_irq_queues;
	blk_mq_map_queues(map);
}

const struct blk_mq_ops rmem_mq_ops = {
	.queue_rq	= rmem_queue_rq,
	.complete	= rmem_complete_rq,
	.timeout	= rmem_timeout,
	.init_request	= rmem_init_request,
	.poll		= rmem_poll,
	.map_queues	= rmem_map_queues,
};
