// SPDX-License-Identifier: GPL-2.0
/*
 * One donor of a device: its CTRL and DATA connections, slab requests,
 * keep-alive, and what happens when it goes away: recovery (stop posting,
 * drain, mark its slabs RECONNECTING) and background reconnect (same
 * donor instance: re-attach every slab for fresh rkeys; new instance: its
 * slabs are lost and fail for good).
 */
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "rmem.h"

static void rmem_donor_err_work(struct work_struct *work);
static void rmem_donor_reconnect_work(struct work_struct *work);
static void rmem_donor_ka_work(struct work_struct *work);

struct rmem_donor *rmem_donor_create(struct rmem_dev *dev, u32 index,
				     const struct rmem_donor_cfg *cfg)
{
	struct rmem_donor *d;
	unsigned int i;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return NULL;
	d->data = kcalloc(dev->nr_queues, sizeof(*d->data), GFP_KERNEL);
	if (!d->data) {
		kfree(d);
		return NULL;
	}

	d->dev = dev;
	d->index = index;
	strscpy(d->addr_str, cfg->addr_str, sizeof(d->addr_str));
	d->port = cfg->port;
	d->addr = cfg->addr;
	d->state = RMEM_DONOR_CONNECTING;
	mutex_init(&d->lock);
	mutex_init(&d->ctrl_mutex);
	spin_lock_init(&d->reply_lock);
	init_completion(&d->reply_done);
	INIT_WORK(&d->err_work, rmem_donor_err_work);
	INIT_DELAYED_WORK(&d->reconnect_work, rmem_donor_reconnect_work);
	INIT_DELAYED_WORK(&d->ka_work, rmem_donor_ka_work);

	rmem_queue_init(&d->ctrl, d, RMEM_CONN_CTRL, 0);
	for (i = 0; i < dev->nr_queues; i++)
		rmem_queue_init(&d->data[i], d, RMEM_CONN_DATA, i);
	return d;
}

/* Called after rmem_donor_stop(): nothing can queue work any more. */
void rmem_donor_destroy(struct rmem_donor *d)
{
	mutex_lock(&d->lock);
	rmem_donor_teardown(d);
	mutex_unlock(&d->lock);
	/* The teardown's CM events may have queued work; let none survive. */
	cancel_work_sync(&d->err_work);
	cancel_delayed_work_sync(&d->reconnect_work);
	cancel_delayed_work_sync(&d->ka_work);
	kfree(d->data);
	kfree(d);
}

int rmem_donor_connect_ctrl(struct rmem_donor *d)
{
	const struct rmem_cm_rep *rep = &d->ctrl.rep;
	int ret;

	ret = rmem_queue_connect(&d->ctrl);
	if (ret)
		return ret;
	d->instance_id = le64_to_cpu(rep->instance_id);
	d->slab_size = le64_to_cpu(rep->slab_size);
	d->total_slabs = le32_to_cpu(rep->total_slabs);
	d->free_slabs = le32_to_cpu(rep->free_slabs);
	rmem_queue_set_live(&d->ctrl, true);
	return 0;
}

/* DATA connections stay not-LIVE until their slabs' rkeys are known. */
int rmem_donor_connect_data(struct rmem_donor *d)
{
	unsigned int i;
	int ret;

	for (i = 0; i < d->dev->nr_queues; i++) {
		struct rmem_queue *q = &d->data[i];

		if (READ_ONCE(d->stopping))
			return -ESHUTDOWN;
		ret = rmem_queue_connect(q);
		if (ret)
			return ret;
		if (le64_to_cpu(q->rep.instance_id) != d->instance_id)
			return -ESTALE;
	}
	return 0;
}

static void rmem_donor_set_data_live(struct rmem_donor *d, bool live)
{
	unsigned int i;

	for (i = 0; i < d->dev->nr_queues; i++)
		rmem_queue_set_live(&d->data[i], live);
}

/* Caller holds d->lock. */
void rmem_donor_teardown(struct rmem_donor *d)
{
	unsigned int i;

	/* Stop all posting first so no queue outlives the others' drain. */
	rmem_donor_set_data_live(d, false);
	rmem_queue_set_live(&d->ctrl, false);
	rmem_ctrl_abort(d);
	for (i = 0; i < d->dev->nr_queues; i++)
		rmem_queue_teardown(&d->data[i]);
	rmem_queue_teardown(&d->ctrl);
	rmem_ctrl_abort(d);
}

void rmem_donor_arm(struct rmem_donor *d)
{
	mutex_lock(&d->lock);
	rmem_donor_set_data_live(d, true);
	WRITE_ONCE(d->state, RMEM_DONOR_LIVE);
	d->armed = true;
	queue_delayed_work(rmem_wq, &d->ka_work,
			   msecs_to_jiffies(RMEM_KEEPALIVE_MS));
	mutex_unlock(&d->lock);
}

void rmem_donor_stop(struct rmem_donor *d)
{
	mutex_lock(&d->lock);
	WRITE_ONCE(d->stopping, true);
	mutex_unlock(&d->lock);
	cancel_delayed_work_sync(&d->reconnect_work);
	cancel_work_sync(&d->err_work);
	cancel_delayed_work_sync(&d->ka_work);
}

/* Any context: something on this donor broke; recover from a work item. */
void rmem_donor_error(struct rmem_donor *d)
{
	if (READ_ONCE(d->armed) && !READ_ONCE(d->stopping))
		queue_work(rmem_wq, &d->err_work);
}

bool rmem_donor_on_ibdev(struct rmem_donor *d, struct ib_device *ibdev)
{
	unsigned int i;

	if (READ_ONCE(d->ctrl.ibdev) == ibdev)
		return true;
	for (i = 0; i < d->dev->nr_queues; i++)
		if (READ_ONCE(d->data[i].ibdev) == ibdev)
			return true;
	return false;
}

static void rmem_replica_from_desc(struct rmem_replica *r,
				   const struct rmem_slab_desc *desc)
{
	r->slab_id = le32_to_cpu(desc->slab_id);
	r->generation = le32_to_cpu(desc->generation);
	r->addr = le64_to_cpu(desc->addr);
	r->rkey = le32_to_cpu(desc->rkey);
}

/*
 * Ask for the slab named in @r (slab_id, generation, grant), or any slab
 * when r->slab_id is RMEM_SLAB_ANY.  On success @r describes it, LIVE.
 */
int rmem_donor_slab_alloc(struct rmem_donor *d, struct rmem_replica *r,
			  u64 slab_size)
{
	struct rmem_msg msg = {};
	int ret;

	msg.slab.slab_id = cpu_to_le32(r->slab_id);
	msg.slab.generation = cpu_to_le32(r->generation);
	if (r->has_grant)
		memcpy(msg.grant, r->grant, RMEM_GRANT_LEN);

	ret = rmem_ctrl_call(d, RMEM_MSG_SLAB_ALLOC, &msg);
	if (ret)
		return ret;

	rmem_replica_from_desc(r, &msg.slab);
	r->donor = d;
	d->free_slabs = le32_to_cpu(msg.free_slabs);
	if (le64_to_cpu(msg.slab.length) < slab_size) {
		pr_err("rmem: %s: donor gave a slab of %llu bytes, need %llu\n",
		       d->addr_str, le64_to_cpu(msg.slab.length), slab_size);
		rmem_donor_slab_free(d, r);
		return -EPROTO;
	}
	WRITE_ONCE(r->state, RMEM_SLAB_LIVE);
	return 0;
}

void rmem_donor_slab_free(struct rmem_donor *d, struct rmem_replica *r)
{
	struct rmem_msg msg = {};
	int ret;

	msg.slab.slab_id = cpu_to_le32(r->slab_id);
	msg.slab.generation = cpu_to_le32(r->generation);
	ret = rmem_ctrl_call(d, RMEM_MSG_SLAB_FREE, &msg);
	if (ret)
		pr_warn("rmem: %s: freeing slab %u gen %u failed: %d\n",
			d->addr_str, r->slab_id, r->generation, ret);
}

/* Set every replica of @d that is in state @from to @to. */
static void rmem_donor_mark_replicas(struct rmem_donor *d, int from, int to,
				     bool send_events)
{
	struct rmem_map *map = &d->dev->map;
	u32 i;
	unsigned int j;

	for (i = 0; i < map->nr_slabs; i++) {
		struct rmem_slab *slab = &map->slabs[i];

		for (j = 0; j < slab->nr_replicas; j++) {
			struct rmem_replica *r = &slab->r[j];

			if (r->donor != d || READ_ONCE(r->state) != from)
				continue;
			WRITE_ONCE(r->state, to);
			if (send_events)
				rmem_nl_event(d->dev, RMEM_EVENT_SLAB_FAILED,
					      d->index, i);
		}
	}
}

static void rmem_donor_err_work(struct work_struct *work)
{
	struct rmem_donor *d = container_of(work, struct rmem_donor, err_work);

	mutex_lock(&d->lock);
	if (!d->armed || d->stopping || d->state != RMEM_DONOR_LIVE) {
		mutex_unlock(&d->lock);
		return;
	}
	pr_warn("rmem: %s: donor %s lost, reconnecting\n", d->dev->name,
		d->addr_str);
	WRITE_ONCE(d->state, RMEM_DONOR_RECONNECTING);
	rmem_donor_mark_replicas(d, RMEM_SLAB_LIVE, RMEM_SLAB_RECONNECTING,
				 false);
	rmem_donor_teardown(d);
	rmem_nl_event(d->dev, RMEM_EVENT_DONOR_LOST, d->index, -1);
	queue_delayed_work(rmem_wq, &d->reconnect_work,
			   msecs_to_jiffies(RMEM_RECONNECT_MS));
	mutex_unlock(&d->lock);
}

/* Re-open each slab we hold on @d; transport errors abort the attempt. */
static int rmem_donor_attach_all(struct rmem_donor *d)
{
	struct rmem_map *map = &d->dev->map;
	u32 i;
	unsigned int j;
	int ret;

	for (i = 0; i < map->nr_slabs; i++) {
		struct rmem_slab *slab = &map->slabs[i];

		for (j = 0; j < slab->nr_replicas; j++) {
			struct rmem_replica *r = &slab->r[j];
			struct rmem_msg msg = {};

			if (r->donor != d ||
			    READ_ONCE(r->state) == RMEM_SLAB_FAILED)
				continue;
			msg.slab.slab_id = cpu_to_le32(r->slab_id);
			msg.slab.generation = cpu_to_le32(r->generation);
			ret = rmem_ctrl_call(d, RMEM_MSG_SLAB_ATTACH, &msg);
			if (ret == -ESTALE || ret == -ENOENT || ret == -EPERM ||
			    (!ret && le64_to_cpu(msg.slab.length) <
				     map->slab_size)) {
				pr_err("rmem: %s: slab %u lost on donor %s (%d)\n",
				       d->dev->name, i, d->addr_str, ret);
				WRITE_ONCE(r->state, RMEM_SLAB_FAILED);
				rmem_nl_event(d->dev, RMEM_EVENT_SLAB_FAILED,
					      d->index, i);
				continue;
			}
			if (ret)
				return ret;
			rmem_replica_from_desc(r, &msg.slab);
			WRITE_ONCE(r->state, RMEM_SLAB_LIVE);
		}
	}
	return 0;
}

static void rmem_donor_reconnect_work(struct work_struct *work)
{
	struct rmem_donor *d = container_of(to_delayed_work(work),
					    struct rmem_donor, reconnect_work);
	unsigned int noio = memalloc_noio_save();
	u64 old_instance = d->instance_id;
	bool back = false;
	int ret;

	mutex_lock(&d->lock);
	if (d->stopping || d->state != RMEM_DONOR_RECONNECTING)
		goto out_unlock;

	ret = rmem_donor_connect_ctrl(d);
	if (ret)
		goto out_retry;

	if (d->instance_id != old_instance) {
		pr_err("rmem: %s: donor %s restarted (instance %llx, was %llx): its slabs are lost\n",
		       d->dev->name, d->addr_str, d->instance_id, old_instance);
		rmem_donor_teardown(d);
		d->instance_id = old_instance;
		WRITE_ONCE(d->state, RMEM_DONOR_DEAD);
		rmem_donor_mark_replicas(d, RMEM_SLAB_RECONNECTING,
					 RMEM_SLAB_FAILED, true);
		rmem_donor_mark_replicas(d, RMEM_SLAB_LIVE,
					 RMEM_SLAB_FAILED, true);
		goto out_unlock;
	}

	ret = rmem_donor_connect_data(d);
	if (!ret)
		ret = rmem_donor_attach_all(d);
	if (ret)
		goto out_retry;

	rmem_donor_set_data_live(d, true);
	WRITE_ONCE(d->state, RMEM_DONOR_LIVE);
	queue_delayed_work(rmem_wq, &d->ka_work,
			   msecs_to_jiffies(RMEM_KEEPALIVE_MS));
	pr_info("rmem: %s: donor %s back\n", d->dev->name, d->addr_str);
	back = true;
	goto out_unlock;

out_retry:
	pr_debug("rmem: %s: reconnect to %s failed: %d\n", d->dev->name,
		 d->addr_str, ret);
	rmem_donor_teardown(d);
	if (!d->stopping)
		queue_delayed_work(rmem_wq, &d->reconnect_work,
				   msecs_to_jiffies(RMEM_RECONNECT_MS));
out_unlock:
	mutex_unlock(&d->lock);
	if (back)
		rmem_nl_event(d->dev, RMEM_EVENT_DONOR_BACK, d->index, -1);
	/* Waiting requests look again now rather than at their next retry. */
	if (!d->stopping && d->dev->disk)
		blk_mq_run_hw_queues(d->dev->disk->queue, true);
	memalloc_noio_restore(noio);
}

static void rmem_donor_ka_work(struct work_struct *work)
{
	struct rmem_donor *d = container_of(to_delayed_work(work),
					    struct rmem_donor, ka_work);
	struct rmem_msg msg = {};
	int ret;

	if (READ_ONCE(d->state) != RMEM_DONOR_LIVE || READ_ONCE(d->stopping))
		return;

	ret = rmem_ctrl_call(d, RMEM_MSG_KEEPALIVE, &msg);
	if (ret) {
		if (READ_ONCE(d->state) == RMEM_DONOR_LIVE)
			pr_warn("rmem: %s: keep-alive to %s failed: %d\n",
				d->dev->name, d->addr_str, ret);
		rmem_donor_error(d);
		return;
	}
	WRITE_ONCE(d->free_slabs, le32_to_cpu(msg.free_slabs));
	WRITE_ONCE(d->total_slabs, le32_to_cpu(msg.total_slabs));
	if (!READ_ONCE(d->stopping))
		queue_delayed_work(rmem_wq, &d->ka_work,
				   msecs_to_jiffies(RMEM_KEEPALIVE_MS));
}
