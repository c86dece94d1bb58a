// SPDX-License-Identifier: GPL-2.0
/*
 * One donor of a device: its CTRL and DATA connections, slab requests,
 * keep-alive, and what happens when it goes away: recovery (stop posting,
 * drain) and background reconnect (same donor instance: re-attach every
 * slab for fresh rkeys; new instance: its replicas are lost; unreachable
 * for donor_timeout: replicas that have another copy are given up so they
 * can be replaced).
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
	if (!d->data || rmem_stats_init(&d->stats)) {
		kfree(d->data);
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
	rmem_stats_free(&d->stats);
	kfree(d->data);
	kfree(d);
}

int rmem_donor_connect_ctrl(struct rmem_donor *d)
{
	const struct rmem_cm_rep *rep = &d->ctrl.rep;
	int ret;

	/* errors from here on make this attempt void (rmem_donor_arm) */
	d->connect_gen = atomic_read(&d->err_gen);
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

/* Caller holds d->lock: stop posting, flush, send nothing. */
void rmem_donor_quiesce(struct rmem_donor *d)
{
	unsigned int i;

	/* Stop all posting first so no queue outlives the others' drain. */
	rmem_donor_set_data_live(d, false);
	rmem_queue_set_live(&d->ctrl, false);
	rmem_ctrl_abort(d);
	for (i = 0; i < d->dev->nr_queues; i++)
		rmem_queue_quiesce(&d->data[i]);
	rmem_queue_quiesce(&d->ctrl);
	rmem_ctrl_abort(d);
}

/* Caller holds d->lock. */
void rmem_donor_teardown(struct rmem_donor *d)
{
	unsigned int i;

	rmem_donor_quiesce(d);
	for (i = 0; i < d->dev->nr_queues; i++)
		rmem_queue_teardown(&d->data[i]);
	rmem_queue_teardown(&d->ctrl);
}

/*
 * Tear down now if the port is up; else only quiesce, and leave the
 * disconnect (which sends CM messages) to when the port is back.  True
 * when the connections are gone.
 */
static bool rmem_donor_teardown_safe(struct rmem_donor *d)
{
	if (rmem_queue_port_up(&d->ctrl) && rmem_queue_port_up(&d->data[0])) {
		rmem_donor_teardown(d);
		return true;
	}
	rmem_donor_quiesce(d);
	return false;
}

/*
 * The device is added: @d goes LIVE and recovery may run.  An error
 * signalled while it connected (a CM or QP event, a failed post) was
 * not lost: it makes it recover at once.
 */
void rmem_donor_arm(struct rmem_donor *d)
{
	mutex_lock(&d->lock);
	rmem_donor_set_data_live(d, true);
	WRITE_ONCE(d->state, RMEM_DONOR_LIVE);
	queue_delayed_work(rmem_wq, &d->ka_work,
			   msecs_to_jiffies(RMEM_KEEPALIVE_MS));
	if (atomic_read(&d->err_gen) != d->connect_gen)
		queue_work(rmem_wq, &d->err_work);
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

/*
 * Any context: something on this donor broke; recover from a work item.
 * Counted in every state, so a connect in progress learns of it too.
 */
void rmem_donor_error(struct rmem_donor *d)
{
	atomic_inc(&d->err_gen);
	if (!READ_ONCE(d->stopping))
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

/*
 * A reply must answer the request: the slab asked for (unless any would
 * do) and its generation (when the request named one).
 */
static bool rmem_reply_names(const struct rmem_slab_desc *desc, u32 slab_id,
			     u32 generation)
{
	if (slab_id != RMEM_SLAB_ANY && le32_to_cpu(desc->slab_id) != slab_id)
		return false;
	return !generation || le32_to_cpu(desc->generation) == generation;
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
	if (!rmem_reply_names(&msg.slab, r->slab_id, r->generation)) {
		pr_err("rmem: %s: SLAB_ALLOC reply names another slab\n",
		       d->addr_str);
		return -EPROTO;
	}

	rmem_replica_from_desc(r, &msg.slab);
	r->donor = d;
	d->free_slabs = le32_to_cpu(msg.free_slabs);
	if (le64_to_cpu(msg.slab.length) < slab_size) {
		pr_err("rmem: %s: donor gave a slab of %llu bytes, need %llu\n",
		       d->addr_str, le64_to_cpu(msg.slab.length), slab_size);
		rmem_donor_slab_free(d, r);
		return -EPROTO;
	}
	WRITE_ONCE(r->state, RMEM_REPLICA_IN_SYNC);
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

static void rmem_donor_err_work(struct work_struct *work)
{
	struct rmem_donor *d = container_of(work, struct rmem_donor, err_work);
	unsigned int noio = memalloc_noio_save();

	mutex_lock(&d->lock);
	/* not yet added, or already recovering: that path sees err_gen */
	if (d->stopping || d->state != RMEM_DONOR_LIVE)
		goto out_unlock;
	pr_warn("rmem: %s: donor %s lost, reconnecting\n", d->dev->name,
		d->addr_str);
	WRITE_ONCE(d->state, RMEM_DONOR_RECONNECTING);
	d->lost_at = jiffies;
	rmem_nl_event(d->dev, RMEM_EVENT_DONOR_LOST, d->index, -1, -1);
	queue_delayed_work(rmem_wq, &d->reconnect_work,
			   msecs_to_jiffies(rmem_donor_teardown_safe(d) ?
					    RMEM_RECONNECT_MS :
					    RMEM_PORT_WAIT_MS));
out_unlock:
	mutex_unlock(&d->lock);
	memalloc_noio_restore(noio);
}

/*
 * Re-open each slab we hold on @d, each reply checked against its
 * request; a slab the donor no longer has for us is lost.  Transport
 * errors abort the attempt.
 */
static int rmem_donor_attach_all(struct rmem_donor *d)
{
	struct rmem_map *map = &d->dev->map;
	unsigned int j;
	u32 i;
	int ret;

	for (i = 0; i < map->nr_slabs; i++) {
		struct rmem_slab *slab = &map->slabs[i];

		for (j = 0; j < slab->nr_replicas; j++) {
			struct rmem_replica *r = &slab->r[j];
			struct rmem_msg msg = {};

			if (r->donor != d ||
			    READ_ONCE(r->state) == RMEM_REPLICA_LOST)
				continue;
			msg.slab.slab_id = cpu_to_le32(r->slab_id);
			msg.slab.generation = cpu_to_le32(r->generation);
			ret = rmem_ctrl_call(d, RMEM_MSG_SLAB_ATTACH, &msg);
			if (!ret && !rmem_reply_names(&msg.slab, r->slab_id,
						      r->generation))
				return -EPROTO;
			if (ret == -ESTALE || ret == -ENOENT || ret == -EPERM ||
			    (!ret && le64_to_cpu(msg.slab.length) <
				     map->slab_size)) {
				pr_err("rmem: %s: slab %u lost on donor %s (%d)\n",
				       d->dev->name, i, d->addr_str, ret);
				rmem_replica_lose(d->dev, slab, j);
				continue;
			}
			if (ret)
				return ret;
			/* not LIVE yet: the I/O path does not read these */
			r->addr = le64_to_cpu(msg.slab.addr);
			r->rkey = le32_to_cpu(msg.slab.rkey);
		}
	}
	return 0;
}

/*
 * One reconnect attempt, under d->lock.  0: LIVE again.  -ESTALE: a new
 * instance id, it restarted and its memory is gone.  Anything else: try
 * again later.
 */
static int rmem_donor_reconnect(struct rmem_donor *d)
{
	u64 old_instance = d->instance_id;
	int ret;

	ret = rmem_donor_connect_ctrl(d);
	if (ret)
		return ret;
	if (d->instance_id != old_instance) {
		pr_err("rmem: %s: donor %s restarted (instance %llx, was %llx): its slabs are lost\n",
		       d->dev->name, d->addr_str, d->instance_id, old_instance);
		d->instance_id = old_instance;
		return -ESTALE;
	}
	ret = rmem_donor_connect_data(d);
	if (!ret)
		ret = rmem_donor_attach_all(d);
	if (ret)
		return ret;
	/* an error signalled since the attempt began: this QP may be dead */
	if (atomic_read(&d->err_gen) != d->connect_gen)
		return -EAGAIN;
	rmem_donor_set_data_live(d, true);
	WRITE_ONCE(d->state, RMEM_DONOR_LIVE);
	queue_delayed_work(rmem_wq, &d->ka_work,
			   msecs_to_jiffies(RMEM_KEEPALIVE_MS));
	return 0;
}

static void rmem_donor_reconnect_work(struct work_struct *work)
{
	struct rmem_donor *d = container_of(to_delayed_work(work),
					    struct rmem_donor, reconnect_work);
	unsigned int noio = memalloc_noio_save();
	bool gone = false, overdue = false;
	int ret;

	mutex_lock(&d->lock);
	if (d->stopping || d->state != RMEM_DONOR_RECONNECTING) {
		mutex_unlock(&d->lock);
		goto out;
	}
	/* connections left while the port was down go first, once it is up */
	if (!rmem_donor_teardown_safe(d)) {
		ret = -ENETDOWN;
		overdue = time_after(jiffies, d->lost_at +
				     rmem_donor_timeout * HZ);
		queue_delayed_work(rmem_wq, &d->reconnect_work,
				   msecs_to_jiffies(RMEM_PORT_WAIT_MS));
		mutex_unlock(&d->lock);
		goto out_gone;
	}
	ret = rmem_donor_reconnect(d);
	if (ret) {
		/* the first failure, then about once a minute */
		if (d->reconnect_tries++ % 30 == 0)
			pr_info("rmem: %s: reconnect to %s failed: %d (attempt %u)\n",
				d->dev->name, d->addr_str, ret,
				d->reconnect_tries);
		rmem_donor_teardown_safe(d);
		/*
		 * Only a new instance proves its memory gone: a listener
		 * that refuses may be one that a link outage broke.
		 */
		gone = ret == -ESTALE;
		overdue = time_after(jiffies, d->lost_at +
				     rmem_donor_timeout * HZ);
		if (gone)
			WRITE_ONCE(d->state, RMEM_DONOR_DEAD);
		else if (!d->stopping)
			queue_delayed_work(rmem_wq, &d->reconnect_work,
					   msecs_to_jiffies(RMEM_RECONNECT_MS));
	}
	mutex_unlock(&d->lock);

out_gone:
	if (gone || overdue) {
		if (gone)
			pr_err("rmem: %s: donor %s is gone (%d): its replicas are lost\n",
			       d->dev->name, d->addr_str, ret);
		rmem_replicas_donor_gone(d, gone);
	} else if (!ret) {
		d->reconnect_tries = 0;
		pr_info("rmem: %s: donor %s back\n", d->dev->name, d->addr_str);
		rmem_nl_event(d->dev, RMEM_EVENT_DONOR_BACK, d->index, -1, -1);
		rmem_replicas_donor_back(d);
	}
out:
	memalloc_noio_restore(noio);
}

static void rmem_donor_ka_work(struct work_struct *work)
{
	struct rmem_donor *d = container_of(to_delayed_work(work),
					    struct rmem_donor, ka_work);
	struct rmem_msg msg = {};
	unsigned int noio;
	int ret;

	if (READ_ONCE(d->state) != RMEM_DONOR_LIVE || READ_ONCE(d->stopping))
		return;

	noio = memalloc_noio_save();
	ret = rmem_ctrl_call(d, RMEM_MSG_KEEPALIVE, &msg);
	memalloc_noio_restore(noio);
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
