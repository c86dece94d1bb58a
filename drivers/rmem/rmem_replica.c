// SPDX-License-Identifier: GPL-2.0
/*
 * Replica states and what changes them.  A replica is IN_SYNC (has every
 * completed write), STALE (lacks the pages in its stale map; resync will
 * copy them), RESYNCING (stale, being copied to) or LOST (its memory is
 * gone).  Whether its donor is reachable is the donor's state, not the
 * replica's: a short outage with no writes needs no copying at all.
 *
 * The rule that keeps data safe: a write completes only when a replica
 * that was in sync from its post to its completion has it, and every
 * other replica that may lack it is marked stale for its pages first
 * (rmem_replica_write_done).  The I/O path comes here only when that is
 * not plainly so; while every replica is in sync it takes no lock.
 */
#include <linux/bitmap.h>

#include "rmem.h"

/* What an operator sees: LOST, RECONNECTING (donor away), or the state. */
int rmem_replica_state(const struct rmem_replica *r)
{
	int state = READ_ONCE(r->state);

	if (state == RMEM_REPLICA_LOST)
		return state;
	if (!r->donor || !rmem_donor_live(r->donor))
		return RMEM_REPLICA_RECONNECTING;
	return state;
}

/* Can serve a read now. */
bool rmem_replica_up(const struct rmem_replica *r)
{
	return READ_ONCE(r->state) == RMEM_REPLICA_IN_SYNC &&
	       rmem_donor_live(r->donor);
}

int rmem_replica_stale_alloc(struct rmem_map *map, struct rmem_replica *r)
{
	r->stale = bitmap_zalloc(map->pages_per_slab, GFP_KERNEL);
	return r->stale ? 0 : -ENOMEM;
}

static bool rmem_io_overlaps_copy(const struct rmem_slab *slab,
				  const struct rmem_io *cmd, u32 len)
{
	u32 first = cmd->off >> RMEM_PAGE_SHIFT;
	u32 last = (cmd->off + len - 1) >> RMEM_PAGE_SHIFT;

	return slab->copying && first <= slab->copy_last &&
	       last >= slab->copy_first;
}

/* Caller holds slab->lock: @r misses [off, off + len); no longer in sync. */
static bool rmem_replica_mark_stale(struct rmem_map *map,
				    struct rmem_replica *r, u64 off, u32 len)
{
	rmem_map_mark(map, r->stale, &r->nr_stale, off, len);
	if (r->state != RMEM_REPLICA_IN_SYNC)
		return false;
	WRITE_ONCE(r->state, RMEM_REPLICA_STALE);
	WRITE_ONCE(r->epoch, r->epoch + 1);
	r->stale_event = true;
	return true;
}

/*
 * A write's WRs have all completed and it was not plainly clean.  It
 * succeeds when a replica in sync throughout has it; then every other
 * replica that could lack it (failed, not posted, or raced a resync
 * copy of these pages) is marked stale for its pages, before the write
 * completes.  False: no in-sync copy has it, so it must be tried again.
 */
bool rmem_replica_write_done(struct rmem_dev *dev, struct rmem_io *cmd)
{
	struct rmem_slab *slab = cmd->slab;
	u32 len = blk_rq_bytes(blk_mq_rq_from_pdu(cmd));
	unsigned long clean = 0, flags;
	bool raced, degraded = false;
	unsigned int j;

	spin_lock_irqsave(&slab->lock, flags);
	for (j = 0; j < slab->nr_replicas; j++) {
		struct rmem_replica *r = &slab->r[j];

		if (test_bit(j, &cmd->ok_mask) &&
		    test_bit(j, &cmd->insync_mask) &&
		    r->state == RMEM_REPLICA_IN_SYNC &&
		    r->epoch == cmd->epoch[j])
			__set_bit(j, &clean);
	}
	if (!clean) {
		spin_unlock_irqrestore(&slab->lock, flags);
		return false;
	}

	raced = slab->copy_seq != cmd->copy_seq ||
		rmem_io_overlaps_copy(slab, cmd, len);
	for (j = 0; j < slab->nr_replicas; j++) {
		struct rmem_replica *r = &slab->r[j];

		if (test_bit(j, &clean) || r->state == RMEM_REPLICA_LOST)
			continue;
		if (test_bit(j, &cmd->ok_mask) && !raced &&
		    r->epoch == cmd->epoch[j])
			continue;	/* a stale copy that took the write */
		rmem_replica_mark_stale(&dev->map, r, cmd->off, len);
		degraded = true;
	}
	spin_unlock_irqrestore(&slab->lock, flags);

	if (degraded) {
		rmem_stat_inc(&dev->stats, RMEM_STAT_DEGRADED_WRITES);
		rmem_resync_kick(dev);
	}
	return true;
}

/* True when another replica than @j is in sync on a live donor. */
static bool rmem_slab_has_other_copy(struct rmem_slab *slab, unsigned int j)
{
	unsigned int k;

	for (k = 0; k < slab->nr_replicas; k++)
		if (k != j && rmem_replica_up(&slab->r[k]))
			return true;
	return false;
}

static bool rmem_slab_has_in_sync(struct rmem_slab *slab)
{
	unsigned int k;

	for (k = 0; k < slab->nr_replicas; k++)
		if (READ_ONCE(slab->r[k].state) == RMEM_REPLICA_IN_SYNC)
			return true;
	return false;
}

/*
 * Replica @j of @slab is gone for good.  From process context (it sends
 * events): the last in-sync copy going fails the slab.
 */
void rmem_replica_lose(struct rmem_dev *dev, struct rmem_slab *slab,
		       unsigned int j)
{
	struct rmem_replica *r = &slab->r[j];
	unsigned long flags;
	bool failed;

	spin_lock_irqsave(&slab->lock, flags);
	if (r->state == RMEM_REPLICA_LOST) {
		spin_unlock_irqrestore(&slab->lock, flags);
		return;
	}
	WRITE_ONCE(r->state, RMEM_REPLICA_LOST);
	WRITE_ONCE(r->epoch, r->epoch + 1);
	bitmap_zero(r->stale, dev->map.pages_per_slab);
	r->nr_stale = 0;
	failed = !rmem_slab_has_in_sync(slab) && !slab->failed_event;
	if (failed)
		slab->failed_event = true;
	spin_unlock_irqrestore(&slab->lock, flags);

	pr_warn("rmem: %s: slab %u replica %u on %s lost%s\n", dev->name,
		slab->index, j, r->donor->addr_str,
		failed ? ": no copy of its data is left" : "");
	rmem_nl_event(dev, RMEM_EVENT_REPLICA_LOST, r->donor->index,
		      slab->index, j);
	if (failed)
		rmem_nl_event(dev, RMEM_EVENT_SLAB_FAILED, r->donor->index,
			      slab->index, j);
}

/*
 * Donor @d is gone.  @all: its memory is gone (restart, no listener):
 * every replica on it is lost.  Otherwise it has been unreachable for
 * donor_timeout: only replicas with another in-sync copy on a live donor
 * are given up (re-protection can start); a last copy is kept, since the
 * donor may yet return with it.
 */
void rmem_replicas_donor_gone(struct rmem_donor *d, bool all)
{
	struct rmem_map *map = &d->dev->map;
	unsigned int j;
	u32 i;

	for (i = 0; i < map->nr_slabs; i++) {
		struct rmem_slab *slab = &map->slabs[i];

		for (j = 0; j < slab->nr_replicas; j++) {
			struct rmem_replica *r = &slab->r[j];

			if (r->donor != d ||
			    READ_ONCE(r->state) == RMEM_REPLICA_LOST)
				continue;
			if (all || rmem_slab_has_other_copy(slab, j))
				rmem_replica_lose(d->dev, slab, j);
		}
	}
	/* requests waiting on what is now lost fail instead of waiting */
	queue_work(rmem_wq, &d->dev->unpark_work);
}

/* @d is LIVE again: waiting requests go, stale replicas on it resync. */
void rmem_replicas_donor_back(struct rmem_donor *d)
{
	queue_work(rmem_wq, &d->dev->unpark_work);
	rmem_resync_kick(d->dev);
}
