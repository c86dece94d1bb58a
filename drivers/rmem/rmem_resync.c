// SPDX-License-Identifier: GPL-2.0
/*
 * Resync: bring stale replicas (a donor that missed writes while away, or
 * a replacement for a lost one) in sync from an in-sync copy, in the
 * background, one chunk at a time: RDMA READ from the source into a
 * buffer, RDMA WRITE from it to the target.  Pages in the zero map are
 * not copied (they read as zeros without asking any donor).
 *
 * Foreground writes keep going to the target while it is copied.  A copy
 * could overwrite a newer write with what it read just before; so each
 * chunk's stale bits are cleared before it is read, the slab's copy_seq
 * is bumped before and after, and the chunk is published as copying: a
 * write whose flight overlapped a copy marks its pages stale again when
 * it completes (rmem_replica_write_done), and they are copied again.
 * The replica is IN_SYNC only once no bit is left, under the slab lock.
 *
 * One work item per device, on the WQ_MEM_RECLAIM queue, under a noio
 * scope; the buffer is made when the device is.
 */
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "rmem.h"

#define RMEM_RESYNC_PAGES	(RMEM_RESYNC_CHUNK >> RMEM_PAGE_SHIFT)

static void rmem_resync_work(struct work_struct *work);

static void rmem_resync_wr_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct rmem_dev *dev = container_of(wc->wr_cqe, struct rmem_dev,
					    resync_cqe);

	dev->resync_status = wc->status == IB_WC_SUCCESS ? 0 : -EIO;
	complete(&dev->resync_done);
}

int rmem_resync_init(struct rmem_dev *dev)
{
	INIT_DELAYED_WORK(&dev->resync_work, rmem_resync_work);
	init_completion(&dev->resync_done);
	dev->resync_cqe.done = rmem_resync_wr_done;
	dev->resync_buf = kmalloc(RMEM_RESYNC_CHUNK, GFP_KERNEL);
	return dev->resync_buf ? 0 : -ENOMEM;
}

/* After the device stopped taking I/O: no copy runs any more. */
void rmem_resync_free(struct rmem_dev *dev)
{
	cancel_delayed_work_sync(&dev->resync_work);
	kfree(dev->resync_buf);
	dev->resync_buf = NULL;
}

void rmem_resync_kick(struct rmem_dev *dev)
{
	if (!READ_ONCE(dev->deleting))
		mod_delayed_work(rmem_wq, &dev->resync_work, 0);
}

u64 rmem_resync_left(struct rmem_dev *dev)
{
	u64 pages = 0;
	unsigned int j;
	u32 i;

	for (i = 0; i < dev->map.nr_slabs; i++)
		for (j = 0; j < dev->map.slabs[i].nr_replicas; j++)
			pages += READ_ONCE(dev->map.slabs[i].r[j].nr_stale);
	return pages << RMEM_PAGE_SHIFT;
}

/*
 * One RDMA READ or WRITE of the resync buffer on @d's first DATA queue
 * (sized for it), waited for.  A request that hangs makes its donor
 * recover, whose drain completes it: the buffer is never reused while a
 * WR may still touch it.
 */
static int rmem_resync_rdma(struct rmem_dev *dev, struct rmem_replica *r,
			    u64 off, u32 len, bool write)
{
	struct rmem_queue *q = &r->donor->data[0];
	enum dma_data_direction dir = write ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	struct ib_rdma_wr wr = {};
	struct ib_device *ibdev;
	struct ib_sge sge;
	int ret = -ENOTCONN;

	reinit_completion(&dev->resync_done);
	spin_lock_bh(&q->post_lock);
	if (!test_bit(RMEM_Q_LIVE, &q->flags)) {
		spin_unlock_bh(&q->post_lock);
		return ret;
	}
	ibdev = q->ibdev;
	sge.addr = ib_dma_map_single(ibdev, dev->resync_buf, len, dir);
	if (ib_dma_mapping_error(ibdev, sge.addr)) {
		spin_unlock_bh(&q->post_lock);
		return -ENOMEM;
	}
	sge.length = len;
	sge.lkey = q->pd->local_dma_lkey;
	wr.wr.wr_cqe = &dev->resync_cqe;
	wr.wr.sg_list = &sge;
	wr.wr.num_sge = 1;
	wr.wr.opcode = write ? IB_WR_RDMA_WRITE : IB_WR_RDMA_READ;
	wr.wr.send_flags = IB_SEND_SIGNALED;
	wr.remote_addr = r->addr + off;
	wr.rkey = r->rkey;
	ret = ib_post_send(q->qp, &wr.wr, NULL);
	spin_unlock_bh(&q->post_lock);

	if (!ret) {
		while (!wait_for_completion_timeout(&dev->resync_done,
				msecs_to_jiffies(RMEM_CTRL_TIMEOUT_MS)))
			rmem_donor_error(r->donor);
		ret = dev->resync_status;
	}
	ib_dma_unmap_single(ibdev, sge.addr, len, dir);
	if (ret && ret != -ENOTCONN)
		rmem_donor_error(r->donor);
	return ret;
}

/*
 * Under slab->lock: pick the next stale run of at most one chunk, drop
 * the zero-map pages from it, clear its bits and publish it as copying.
 * False when @r has no stale page left.
 */
static bool rmem_resync_next(struct rmem_dev *dev, struct rmem_slab *slab,
			     struct rmem_replica *r, u32 *first, u32 *last)
{
	u32 pages = dev->map.pages_per_slab, p, end;

	for (;;) {
		p = find_first_bit(r->stale, pages);
		if (p >= pages)
			return false;
		end = min(p + RMEM_RESYNC_PAGES, pages);
		*first = pages;
		*last = 0;
		for (; p < end; p++) {
			if (!test_bit(p, r->stale))
				continue;
			__clear_bit(p, r->stale);
			r->nr_stale--;
			/* reads as zeros on every replica: nothing to copy */
			if (test_bit(p, slab->zero_map))
				continue;
			*first = min(*first, p);
			*last = p;
		}
		if (*first < pages)
			break;
	}
	slab->copying = true;
	slab->copy_first = *first;
	slab->copy_last = *last;
	slab->copy_seq++;
	return true;
}

/* Copy @r's stale pages from @src; 0 once @r is IN_SYNC. */
static int rmem_resync_replica(struct rmem_dev *dev, struct rmem_slab *slab,
			       unsigned int j, struct rmem_replica *src)
{
	struct rmem_replica *r = &slab->r[j];
	unsigned long flags;
	u32 first, last, len;
	u64 off;
	int ret;

	for (;;) {
		if (READ_ONCE(dev->deleting))
			return -ESHUTDOWN;
		spin_lock_irqsave(&slab->lock, flags);
		if (r->state == RMEM_REPLICA_LOST ||
		    src->state != RMEM_REPLICA_IN_SYNC) {
			spin_unlock_irqrestore(&slab->lock, flags);
			return -EAGAIN;
		}
		if (!rmem_resync_next(dev, slab, r, &first, &last)) {
			WRITE_ONCE(r->state, RMEM_REPLICA_IN_SYNC);
			spin_unlock_irqrestore(&slab->lock, flags);
			return 0;
		}
		spin_unlock_irqrestore(&slab->lock, flags);

		off = (u64)first << RMEM_PAGE_SHIFT;
		len = (last - first + 1) << RMEM_PAGE_SHIFT;
		ret = rmem_resync_rdma(dev, src, off, len, false);
		if (!ret)
			ret = rmem_resync_rdma(dev, r, off, len, true);

		spin_lock_irqsave(&slab->lock, flags);
		slab->copying = false;
		slab->copy_seq++;
		if (ret && r->state != RMEM_REPLICA_LOST)
			rmem_map_mark(&dev->map, r->stale, &r->nr_stale,
				      off, len);
		spin_unlock_irqrestore(&slab->lock, flags);
		if (ret)
			return ret;

		rmem_stat_add(&dev->stats, RMEM_STAT_RESYNC_BYTES, len);
		/* resync_rate MB/s: a chunk of len bytes every len/rate */
		if (rmem_resync_rate)
			usleep_range(len / rmem_resync_rate,
				     len / rmem_resync_rate + 100);
		cond_resched();
	}
}

/* An in-sync replica on a live donor to copy from, or NULL. */
static struct rmem_replica *rmem_resync_source(struct rmem_slab *slab)
{
	unsigned int k;

	for (k = 0; k < slab->nr_replicas; k++)
		if (rmem_replica_up(&slab->r[k]))
			return &slab->r[k];
	return NULL;
}

/* Resync one stale replica (events, state); false if it must wait. */
static bool rmem_resync_one(struct rmem_dev *dev, struct rmem_slab *slab,
			    unsigned int j)
{
	struct rmem_replica *r = &slab->r[j];
	struct rmem_replica *src = rmem_resync_source(slab);
	unsigned long flags;
	unsigned long t0 = jiffies;
	int ret;

	if (!src || !rmem_donor_live(r->donor))
		return false;
	spin_lock_irqsave(&slab->lock, flags);
	if (r->state == RMEM_REPLICA_STALE)
		WRITE_ONCE(r->state, RMEM_REPLICA_RESYNCING);
	spin_unlock_irqrestore(&slab->lock, flags);
	rmem_nl_event(dev, RMEM_EVENT_RESYNC_STARTED, r->donor->index,
		      slab->index, j);

	ret = rmem_resync_replica(dev, slab, j, src);
	if (!ret) {
		pr_info("rmem: %s: slab %u replica %u on %s in sync (%u ms)\n",
			dev->name, slab->index, j, r->donor->addr_str,
			jiffies_to_msecs(jiffies - t0));
		rmem_nl_event(dev, RMEM_EVENT_RESYNC_DONE, r->donor->index,
			      slab->index, j);
		return true;
	}
	spin_lock_irqsave(&slab->lock, flags);
	if (r->state == RMEM_REPLICA_RESYNCING)
		WRITE_ONCE(r->state, RMEM_REPLICA_STALE);
	spin_unlock_irqrestore(&slab->lock, flags);
	return false;
}

/* Owed REPLICA_STALE events (the I/O path cannot send them). */
static void rmem_resync_stale_events(struct rmem_dev *dev,
				     struct rmem_slab *slab)
{
	unsigned long flags;
	unsigned int j;

	for (j = 0; j < slab->nr_replicas; j++) {
		struct rmem_replica *r = &slab->r[j];
		bool owed;

		spin_lock_irqsave(&slab->lock, flags);
		owed = r->stale_event;
		r->stale_event = false;
		spin_unlock_irqrestore(&slab->lock, flags);
		if (owed)
			rmem_nl_event(dev, RMEM_EVENT_REPLICA_STALE,
				      r->donor->index, slab->index, j);
	}
}

static void rmem_resync_work(struct work_struct *work)
{
	struct rmem_dev *dev = container_of(to_delayed_work(work),
					    struct rmem_dev, resync_work);
	unsigned int noio = memalloc_noio_save();
	bool waiting = false;
	unsigned int j;
	u32 i;

	for (i = 0; i < dev->map.nr_slabs && !READ_ONCE(dev->deleting); i++) {
		struct rmem_slab *slab = &dev->map.slabs[i];

		rmem_resync_stale_events(dev, slab);
		for (j = 0; j < slab->nr_replicas; j++) {
			int state = READ_ONCE(slab->r[j].state);

			if (state != RMEM_REPLICA_STALE &&
			    state != RMEM_REPLICA_RESYNCING)
				continue;
			if (!rmem_resync_one(dev, slab, j))
				waiting = true;
		}
	}
	/* a donor coming back kicks us; this is the safety net */
	if (waiting && !READ_ONCE(dev->deleting))
		queue_delayed_work(rmem_wq, &dev->resync_work, HZ);
	memalloc_noio_restore(noio);
}
