// SPDX-License-Identifier: GPL-2.0
/*
 * Requests that wait for a donor.  A request none of whose replicas can
 * take it now (every donor that holds its data is reconnecting) is
 * parked on its device, on a list head in its PDU: no allocation, and the
 * hardware queue keeps dispatching everyone else's requests.  When a
 * donor comes back, or a replica's state changes, every parked request
 * is tried again; the blk-mq timer fails one that reaches its deadline.
 *
 * One list per device rather than per donor: with replicas, a request
 * waits for whichever of several donors returns first.  The lock is
 * taken only on this slow path.
 */
#include <linux/blk-mq.h>

#include "rmem.h"

static void rmem_unpark_work(struct work_struct *work)
{
	struct rmem_dev *dev = container_of(work, struct rmem_dev, unpark_work);

	rmem_unpark_all(dev);
}

void rmem_park_init(struct rmem_dev *dev)
{
	spin_lock_init(&dev->park_lock);
	INIT_LIST_HEAD(&dev->parked);
	INIT_WORK(&dev->unpark_work, rmem_unpark_work);
}

/* Read before an attempt: a change by the time it parks means "retry". */
u64 rmem_park_gen(struct rmem_dev *dev)
{
	return READ_ONCE(dev->unpark_gen);
}

/*
 * Park @rq unless the device's donors changed since @gen was read (then
 * the caller tries again at once, so no wake-up is ever missed).
 */
bool rmem_park(struct rmem_dev *dev, struct request *rq, u64 gen)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	bool parked = false;

	spin_lock_irqsave(&dev->park_lock, flags);
	if (dev->unpark_gen == gen) {
		list_add_tail(&cmd->park_node, &dev->parked);
		cmd->parked = true;
		parked = true;
	}
	spin_unlock_irqrestore(&dev->park_lock, flags);
	if (parked)
		rmem_stat_inc(&dev->stats, RMEM_STAT_PARKED);
	return parked;
}

/* Take @rq off the list if it is parked; true when it was (it is ours). */
bool rmem_unpark_one(struct rmem_dev *dev, struct request *rq)
{
	struct rmem_io *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	bool was = false;

	spin_lock_irqsave(&dev->park_lock, flags);
	if (cmd->parked) {
		list_del_init(&cmd->park_node);
		cmd->parked = false;
		was = true;
	}
	spin_unlock_irqrestore(&dev->park_lock, flags);
	return was;
}

/* Try every parked request again (from a work item). */
void rmem_unpark_all(struct rmem_dev *dev)
{
	struct rmem_io *cmd, *next;
	unsigned long flags;
	LIST_HEAD(list);

	spin_lock_irqsave(&dev->park_lock, flags);
	dev->unpark_gen++;
	list_splice_init(&dev->parked, &list);
	list_for_each_entry(cmd, &list, park_node)
		cmd->parked = false;
	spin_unlock_irqrestore(&dev->park_lock, flags);

	list_for_each_entry_safe(cmd, next, &list, park_node) {
		list_del_init(&cmd->park_node);
		cmd->avoid_mask = 0;
		/* completions of other attempts run in softirq; keep ours
		 * from interleaving with them on this CPU */
		local_bh_disable();
		rmem_io_submit(dev, blk_mq_rq_from_pdu(cmd));
		local_bh_enable();
	}
}
