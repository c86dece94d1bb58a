// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O path.  A read is one RDMA READ from one in-sync replica of its
 * slab; a write is one RDMA WRITE to every replica that takes writes,
 * posted back to back so that R copies cost R work requests, not R round
 * trips.  Each is a single ib_rdma_wr whose SGEs are the request's
 * segments, on the DATA connection of (hardware queue, donor).
 *
 * Faults are survived here: a work request that fails in transport (retry
 * exceeded, flushed by recovery, a queue not live) is tried on another
 * replica or waits, parked, for its donor to come back (rmem_park.c);
 * only a request past its deadline (io_timeout after it first started),
 * a slab with no copy of its data left, or a local programming error
 * ends with an error.  Everything a request needs is in its PDU, made in
 * init_request: nothing here allocates memory, and no lock or shared
 * atomic is taken while every replica is in sync.
 */
#include <linux/blk-mq.h>

#include "rmem.h"

static void rmem_wr_done(struct ib_cq *cq, struct ib_wc *wc);

size_t rmem_io_pdu_size(u32 max_sge, unsigned int replicas)
{
	/* the request's sg list, an SGE array per WR, and an sg list of its
	 * own for each further WR, used when its donor is on another RDMA
	 * device (which maps the pages for itself) */
	return sizeof(struct rmem_io) +
	       (size_t)replicas * max_sge * sizeof(struct scatterlist) +
	       (size_t)replicas * max_sge * sizeof(struct ib_sge);
}

static int rmem_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct rmem_dev *dev = set->driver_data;
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	struct scatterlist *own = &cmd->sgl[dev->max_sge];
	struct ib_sge *sge = (struct ib_sge *)&own[(dev->replicas - 1) *
						   dev->max_sge];
	unsigned int k;

	for (k = 0; k < dev->replicas; k++) {
		cmd->w[k].sge = sge + k * dev->max_sge;
		cmd->w[k].own_sgl = k ? own + (k - 1) * dev->max_sge : NULL;
		cmd->w[k].own_ibdev = NULL;
		cmd->w[k].cqe.done = rmem_wr_done;
		cmd->w[k].slot = k;
	}
	INIT_LIST_HEAD(&cmd->park_node);
	/* blk-mq does not zero the PDU */
	cmd->parked = false;
	cmd->ibdev = NULL;
	cmd->nr_wr = 0;
	return 0;
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

	rmem_account(&dev->stats, rq, cmd->status);
	blk_mq_end_request(rq, cmd->status);
}

/* End a started request through blk-mq's completion path. */
static void rmem_io_end(struct request *rq, blk_status_t status)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);

	cmd->status = status;
	if (likely(!blk_should_fake_timeout(rq->q)))
		blk_mq_complete_request(rq);
}

static bool rmem_io_expired(struct rmem_io *cmd)
{
	return time_after_eq(jiffies, cmd->deadline);
}

/*
 * Nothing could be posted (or every copy failed in transport): wait for a
 * donor, unless the request may not wait any longer.
 */
static void rmem_io_wait(struct rmem_dev *dev, struct request *rq, u64 gen)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);

	if (cmd->hard_error || READ_ONCE(dev->deleting) ||
	    rmem_slab_state(cmd->slab) == RMEM_SLAB_FAILED) {
		rmem_io_end(rq, BLK_STS_IOERR);
		return;
	}
	if (rmem_io_expired(cmd)) {
		rmem_stat_inc(&dev->stats, RMEM_STAT_TIMEOUTS);
		rmem_io_end(rq, BLK_STS_IOERR);
		return;
	}
	if (rmem_park(dev, rq, gen))
		return;
	/* A donor came back meanwhile: try everything again, now. */
	cmd->avoid_mask = 0;
	rmem_io_submit(dev, rq);
}

static void rmem_io_attempt_done(struct rmem_dev *dev, struct request *rq);

/*
 * DMA-map the request's pages for @ibdev: the request's own sg list for
 * the first device (the usual case: every donor behind one RDMA device),
 * a copy of it in @w for another.  NULL when mapping failed.
 */
static struct scatterlist *rmem_io_map(struct request *rq,
				       struct rmem_io_wr *w,
				       struct ib_device *ibdev, int *count)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);

	if (!cmd->ibdev) {
		/* only the entries this request uses: clearing all max_sge
		 * is a 1 KiB memset per I/O */
		sg_init_table(cmd->sgl, blk_rq_nr_phys_segments(rq));
		cmd->nents = blk_rq_map_sg(rq->q, rq, cmd->sgl);
		cmd->count = ib_dma_map_sg(ibdev, cmd->sgl, cmd->nents,
					   cmd->dir);
		if (unlikely(!cmd->count)) {
			cmd->hard_error = 1;
			return NULL;
		}
		cmd->ibdev = ibdev;
	}
	if (likely(ibdev == cmd->ibdev)) {
		*count = cmd->count;
		return cmd->sgl;
	}
	if (WARN_ON_ONCE(!w->own_sgl))
		return NULL;
	/* mapping rewrites only the DMA fields of each entry */
	memcpy(w->own_sgl, cmd->sgl, cmd->nents * sizeof(*cmd->sgl));
	*count = ib_dma_map_sg(ibdev, w->own_sgl, cmd->nents, cmd->dir);
	if (unlikely(!*count)) {
		cmd->hard_error = 1;
		return NULL;
	}
	w->own_ibdev = ibdev;
	return w->own_sgl;
}

/* Undo every mapping of the attempt (rmem_io_map). */
static void rmem_io_unmap(struct rmem_io *cmd)
{
	unsigned int k;

	for (k = 0; k < cmd->nr_wr; k++) {
		struct rmem_io_wr *w = &cmd->w[k];

		if (w->own_ibdev) {
			ib_dma_unmap_sg(w->own_ibdev, w->own_sgl, cmd->nents,
					cmd->dir);
			w->own_ibdev = NULL;
		}
	}
	if (cmd->ibdev) {
		/* unmapped before completion: the pages are the caller's again */
		ib_dma_unmap_sg(cmd->ibdev, cmd->sgl, cmd->nents, cmd->dir);
		cmd->ibdev = NULL;
	}
}

/*
 * Post the request's WR for replica @j; false when the replica's queue
 * is not live.
 */
static bool rmem_io_post(struct rmem_dev *dev, struct request *rq,
			 unsigned int j, struct rmem_io_wr *w)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_replica *r = &cmd->slab->r[j];
	struct rmem_queue *q = &r->donor->data[cmd->hctx_idx];
	bool is_write = cmd->dir == DMA_TO_DEVICE;
	struct scatterlist *sg, *sgl;
	int i, ret, count;

	spin_lock_bh(&q->post_lock);
	if (unlikely(!test_bit(RMEM_Q_LIVE, &q->flags)))
		goto out_unlock;
	sgl = rmem_io_map(rq, w, q->ibdev, &count);
	if (unlikely(!sgl))
		goto out_unlock;

	for_each_sg(sgl, sg, count, i) {
		w->sge[i].addr = sg_dma_address(sg);
		w->sge[i].length = sg_dma_len(sg);
		w->sge[i].lkey = q->pd->local_dma_lkey;
	}
	w->queue = q;
	w->wr.wr.next = NULL;
	w->wr.wr.wr_cqe = &w->cqe;
	w->wr.wr.sg_list = w->sge;
	w->wr.wr.num_sge = count;
	w->wr.wr.opcode = is_write ? IB_WR_RDMA_WRITE : IB_WR_RDMA_READ;
	w->wr.wr.send_flags = IB_SEND_SIGNALED;
	w->wr.remote_addr = r->addr + cmd->off;
	w->wr.rkey = r->rkey;

	ret = ib_post_send(q->qp, &w->wr.wr, NULL);
	spin_unlock_bh(&q->post_lock);
	if (likely(!ret))
		return true;
	pr_warn_ratelimited("rmem: %s: post to %s failed: %d\n", dev->name,
			    r->donor->addr_str, ret);
	rmem_donor_error(r->donor);
	return false;

out_unlock:
	spin_unlock_bh(&q->post_lock);
	return false;
}

/* Read from one in-sync replica, starting from one chosen per queue. */
static bool rmem_io_submit_read(struct rmem_dev *dev, struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_slab *slab = cmd->slab;
	unsigned int nr = slab->nr_replicas, k;

	cmd->nr_wr = 1;
	for (k = 0; k < nr; k++) {
		unsigned int j = (cmd->hctx_idx + k) % nr;
		struct rmem_replica *r = &slab->r[j];

		if (test_bit(j, &cmd->avoid_mask) ||
		    READ_ONCE(r->state) != RMEM_REPLICA_IN_SYNC ||
		    !rmem_donor_live(r->donor))
			continue;
		cmd->w[0].replica = j;
		cmd->w[0].queue = NULL;
		if (rmem_io_post(dev, rq, j, &cmd->w[0]))
			return true;
		/* the next copy may be behind another RDMA device */
		rmem_io_unmap(cmd);
		__set_bit(j, &cmd->avoid_mask);
		if (cmd->hard_error)
			break;
	}
	return false;
}

/*
 * Write to every replica that takes writes (in sync, stale or resyncing),
 * remembering which were in sync and every replica's epoch: the
 * completion needs them to tell a clean copy from one that may have
 * missed the data.  False when no WR went out at all.
 */
static bool rmem_io_submit_write(struct rmem_dev *dev, struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_slab *slab = cmd->slab;
	unsigned int nr = slab->nr_replicas, j, n = 0, posted = 0;
	u8 targets[RMEM_MAX_REPLICAS];

	cmd->copy_seq = READ_ONCE(slab->copy_seq);
	cmd->insync_mask = 0;
	for (j = 0; j < nr; j++) {
		struct rmem_replica *r = &slab->r[j];
		/* pairs with the release that publishes a replaced replica */
		int state = smp_load_acquire(&r->state);

		cmd->epoch[j] = READ_ONCE(r->epoch);
		if (state == RMEM_REPLICA_LOST || test_bit(j, &cmd->avoid_mask))
			continue;
		if (state == RMEM_REPLICA_IN_SYNC)
			__set_bit(j, &cmd->insync_mask);
		targets[n++] = j;
	}
	cmd->nr_wr = n;
	if (n > 1)
		atomic_set(&cmd->pending, n);

	for (j = 0; j < n; j++) {
		struct rmem_io_wr *w = &cmd->w[j];

		w->replica = targets[j];
		w->queue = NULL;
		if (rmem_io_post(dev, rq, targets[j], w)) {
			posted++;
			continue;
		}
		/* settle the WR that never went out, as if it failed */
		set_bit(targets[j], &cmd->fail_mask);
		if (n > 1 && !atomic_dec_and_test(&cmd->pending))
			continue;
		/* the last to settle: the others completed already */
		if (!posted)
			return false;
		rmem_io_attempt_done(dev, rq);
		return true;
	}
	return posted;
}

/*
 * Start one attempt of @rq: post, or wait for a donor.  Runs in
 * queue_rq, in completion context (a retry on another replica) and from
 * the unpark work; never sleeps.
 */
void rmem_io_submit(struct rmem_dev *dev, struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	u64 gen = rmem_park_gen(dev);
	bool posted;

	cmd->ibdev = NULL;
	cmd->ok_mask = 0;
	cmd->fail_mask = 0;
	if (cmd->dir == DMA_TO_DEVICE)
		posted = rmem_io_submit_write(dev, rq);
	else
		posted = rmem_io_submit_read(dev, rq);
	if (posted)
		return;
	rmem_io_unmap(cmd);
	rmem_io_wait(dev, rq, gen);
}

/* True when the write reached every replica, each in sync throughout. */
static bool rmem_io_write_clean(struct rmem_io *cmd)
{
	struct rmem_slab *slab = cmd->slab;
	unsigned int j;

	if (READ_ONCE(slab->copy_seq) != cmd->copy_seq)
		return false;
	for (j = 0; j < slab->nr_replicas; j++) {
		struct rmem_replica *r = &slab->r[j];

		if (!test_bit(j, &cmd->ok_mask) ||
		    !test_bit(j, &cmd->insync_mask) ||
		    READ_ONCE(r->state) != RMEM_REPLICA_IN_SYNC ||
		    READ_ONCE(r->epoch) != cmd->epoch[j])
			return false;
	}
	return true;
}

/* Every WR of this attempt has completed (or never went out). */
static void rmem_io_attempt_done(struct rmem_dev *dev, struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);

	rmem_io_unmap(cmd);

	if (cmd->dir == DMA_FROM_DEVICE) {
		if (likely(cmd->ok_mask)) {
			rmem_io_end(rq, BLK_STS_OK);
			return;
		}
	} else if (likely(rmem_io_write_clean(cmd)) ||
		   rmem_replica_write_done(dev, cmd)) {
		rmem_io_end(rq, BLK_STS_OK);
		return;
	}

	/* No copy took it: another replica, or wait for a donor. */
	rmem_stat_inc(&dev->stats, RMEM_STAT_RETRIES);
	cmd->avoid_mask |= cmd->fail_mask;
	if (cmd->hard_error || rmem_io_expired(cmd) ||
	    READ_ONCE(dev->deleting)) {
		rmem_io_wait(dev, rq, 0);
		return;
	}
	rmem_io_submit(dev, rq);
}

/*
 * Errors that say nothing about the donor's health: ours, for good.  Not
 * LOC_QP_OP_ERR: Soft-RoCE reports a send it could not put on a link
 * that is down with it.
 */
static bool rmem_wc_local_error(enum ib_wc_status status)
{
	switch (status) {
	case IB_WC_LOC_LEN_ERR:
	case IB_WC_LOC_PROT_ERR:
	case IB_WC_REM_INV_REQ_ERR:
		return true;
	default:
		return false;
	}
}

static void rmem_wr_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct rmem_io_wr *w = container_of(wc->wr_cqe, struct rmem_io_wr, cqe);
	struct rmem_io *cmd = container_of(w - w->slot, struct rmem_io, w[0]);
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct rmem_donor *d = w->queue->donor;

	if (w->queue->polled)
		rmem_stat_inc(&d->dev->stats, RMEM_STAT_POLLED);

	if (likely(wc->status == IB_WC_SUCCESS)) {
		rmem_account(&d->stats, rq, BLK_STS_OK);
		set_bit(w->replica, &cmd->ok_mask);
	} else {
		set_bit(w->replica, &cmd->fail_mask);
		if (rmem_wc_local_error(wc->status))
			cmd->hard_error = 1;
		if (wc->status != IB_WC_WR_FLUSH_ERR) {
			rmem_stat_inc(&d->stats, RMEM_STAT_ERRORS);
			pr_warn_ratelimited("rmem: %s: %s at sector %llu on %s failed: %s\n",
					    d->dev->name,
					    rq_data_dir(rq) ? "write" : "read",
					    (u64)blk_rq_pos(rq), d->addr_str,
					    ib_wc_status_msg(wc->status));
			/* recovery flushes the rest of this connection */
			rmem_donor_error(d);
		}
	}
	if (cmd->nr_wr > 1 && !atomic_dec_and_test(&cmd->pending))
		return;
	rmem_io_attempt_done(d->dev, rq);
}

static blk_status_t rmem_zero_read(struct request *rq)
{
	struct req_iterator iter;
	struct bio_vec bv;

	rq_for_each_segment(bv, rq, iter)
		memzero_bvec(&bv);
	return BLK_STS_OK;
}

/* Requests that need no RDMA: end them here, once started. */
static blk_status_t rmem_end_now(struct request *rq, blk_status_t status)
{
	blk_mq_start_request(rq);
	rmem_io_end(rq, status);
	return BLK_STS_OK;
}

static blk_status_t rmem_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct rmem_dev *dev = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u32 len = blk_rq_bytes(rq);
	struct rmem_slab *slab;

	if (unlikely(READ_ONCE(dev->deleting)))
		return rmem_end_now(rq, BLK_STS_IOERR);

	switch (req_op(rq)) {
	case REQ_OP_DISCARD:
		rmem_map_discard(&dev->map, pos, len);
		return rmem_end_now(rq, BLK_STS_OK);
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		break;
	default:
		return rmem_end_now(rq, BLK_STS_NOTSUPP);
	}

	slab = rmem_map_lookup(&dev->map, pos, &cmd->off);
	/* chunk_sectors keeps requests inside one slab */
	if (WARN_ON_ONCE(!slab || !len ||
			 cmd->off + len > dev->map.slab_size))
		return rmem_end_now(rq, BLK_STS_IOERR);

	if (req_op(rq) == REQ_OP_READ) {
		/* never written or discarded: zeros, unless the slab's data
		 * is lost (then the read fails like any other) */
		if (rmem_map_range_zero(&dev->map, slab, cmd->off, len) &&
		    rmem_slab_state(slab) != RMEM_SLAB_FAILED)
			return rmem_end_now(rq, rmem_zero_read(rq));
		cmd->dir = DMA_FROM_DEVICE;
	} else {
		rmem_map_mark_written(&dev->map, slab, cmd->off, len);
		cmd->dir = DMA_TO_DEVICE;
	}

	cmd->slab = slab;
	cmd->hctx_idx = hctx->queue_num;
	cmd->hard_error = 0;
	cmd->avoid_mask = 0;
	/* the blk-mq timer fires exactly at the deadline: requests are
	 * started once, however often they wait or are re-issued */
	rq->timeout = rmem_io_timeout * HZ;
	blk_mq_start_request(rq);
	cmd->deadline = jiffies + rq->timeout;
	rmem_io_submit(dev, rq);
	return BLK_STS_OK;
}

/*
 * A request reached its deadline.  A parked one fails now.  One on the
 * wire cannot be completed here, since a late RDMA could land in pages
 * already handed back: recovery drains its connections instead, and the
 * flushed request, past its deadline, fails.
 */
static enum blk_eh_timer_return rmem_timeout(struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	struct rmem_dev *dev = rq->q->queuedata;
	unsigned int k;

	rmem_stat_inc(&dev->stats, RMEM_STAT_TIMEOUTS);
	if (rmem_unpark_one(dev, rq)) {
		rmem_io_end(rq, BLK_STS_IOERR);
		return BLK_EH_DONE;
	}
	for (k = 0; k < cmd->nr_wr; k++) {
		struct rmem_io_wr *w = &cmd->w[k];

		if (w->queue && !test_bit(w->replica, &cmd->ok_mask) &&
		    !test_bit(w->replica, &cmd->fail_mask)) {
			pr_warn_ratelimited("rmem: %s: request at sector %llu timed out on %s\n",
					    dev->name, (u64)blk_rq_pos(rq),
					    w->queue->donor->addr_str);
			rmem_stat_inc(&w->queue->donor->stats,
				      RMEM_STAT_TIMEOUTS);
			rmem_donor_error(w->queue->donor);
		}
	}
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
	unsigned int i, n = smp_load_acquire(&dev->nr_donors);
	int found = 0;

	for (i = 0; i < n; i++) {
		struct rmem_queue *q = &dev->donors[i]->data[hctx->queue_num];

		/* Another poller is reaping this CQ: nothing to add. */
		if (!spin_trylock(&q->poll_lock))
			continue;
		if (test_bit(RMEM_Q_ALLOCATED, &q->flags) &&
		    !test_bit(RMEM_Q_DRAINED, &q->flags))
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
