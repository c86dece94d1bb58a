// SPDX-License-Identifier: GPL-2.0
/*
 * rmem devices: the list of them, adding one (connect donors, take slabs,
 * build the blk-mq disk) and deleting one (the exact reverse).
 */
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "rmem.h"

DEFINE_MUTEX(rmem_devs_mutex);
DEFINE_IDR(rmem_devs_idr);

static int rmem_open(RMEM_OPEN_ARGS)
{
	struct rmem_dev *dev = RMEM_OPEN_DISK->private_data;
	int ret = 0;

	mutex_lock(&dev->open_lock);
	if (dev->deleting)
		ret = -ENXIO;
	else
		dev->openers++;
	mutex_unlock(&dev->open_lock);
	return ret;
}

static void rmem_release(RMEM_RELEASE_ARGS)
{
	struct rmem_dev *dev = disk->private_data;

	mutex_lock(&dev->open_lock);
	dev->openers--;
	mutex_unlock(&dev->open_lock);
}

static const struct block_device_operations rmem_fops = {
	.owner		= THIS_MODULE,
	.open		= rmem_open,
	.release	= rmem_release,
};

/* Caller holds rmem_devs_mutex. */
struct rmem_dev *rmem_dev_find(const char *name)
{
	struct rmem_dev *dev;
	int id;

	idr_for_each_entry(&rmem_devs_idr, dev, id)
		if (!strcmp(dev->name, name))
			return dev;
	return NULL;
}

/* LIVE only while every slab has every replica in sync and reachable. */
int rmem_dev_state(struct rmem_dev *dev)
{
	u32 i;

	if (READ_ONCE(dev->deleting))
		return RMEM_DEV_DELETING;
	for (i = 0; i < dev->map.nr_slabs; i++)
		if (rmem_slab_state(&dev->map.slabs[i]) != RMEM_SLAB_LIVE)
			return RMEM_DEV_DEGRADED;
	return RMEM_DEV_LIVE;
}

/* Reserve a name and an id; the device stays invisible while adding. */
static int rmem_dev_register(struct rmem_dev *dev, const char *name,
			     struct netlink_ext_ack *extack)
{
	int id, ret = 0;

	mutex_lock(&rmem_devs_mutex);
	id = idr_alloc(&rmem_devs_idr, dev, 0, 0, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto out_unlock;
	}
	dev->id = id;
	if (name[0]) {
		if (rmem_dev_find(name)) {
			NL_SET_ERR_MSG(extack, "a device of that name exists");
			ret = -EEXIST;
			goto out_remove;
		}
		strscpy(dev->name, name, sizeof(dev->name));
	} else {
		int n;
		char cand[RMEM_NAME_MAX];

		/* lowest rmemN that no device (named by hand) already has */
		for (n = 0; ; n++) {
			snprintf(cand, sizeof(cand), "rmem%d", n);
			if (!rmem_dev_find(cand))
				break;
		}
		strscpy(dev->name, cand, sizeof(dev->name));
	}
	goto out_unlock;

out_remove:
	idr_remove(&rmem_devs_idr, id);
out_unlock:
	mutex_unlock(&rmem_devs_mutex);
	return ret;
}

static void rmem_dev_unregister(struct rmem_dev *dev)
{
	mutex_lock(&rmem_devs_mutex);
	idr_remove(&rmem_devs_idr, dev->id);
	mutex_unlock(&rmem_devs_mutex);
}

/* Connect every donor's CTRL queue and agree on the slab size. */
static int rmem_dev_connect_ctrl(struct rmem_dev *dev, struct rmem_dev_cfg *cfg,
				 struct netlink_ext_ack *extack)
{
	unsigned int i;
	int ret;

	dev->max_sge = RMEM_MAX_SGE;
	for (i = 0; i < dev->nr_donors; i++) {
		struct rmem_donor *d = dev->donors[i];
		const struct ib_device_attr *attrs;

		mutex_lock(&d->lock);
		ret = rmem_donor_connect_ctrl(d);
		mutex_unlock(&d->lock);
		if (ret) {
			pr_err("rmem: %s: cannot connect to donor %s port %u: %d\n",
			       dev->name, d->addr_str, d->port, ret);
			NL_SET_ERR_MSG(extack, "cannot connect to a donor (details in kernel log)");
			return ret;
		}

		if (!d->slab_size || d->slab_size % RMEM_SECTOR_SIZE) {
			NL_SET_ERR_MSG(extack, "donor announced an unusable slab size");
			return -EPROTO;
		}
		if (i == 0 && !cfg->slab_size)
			dev->map.slab_size = d->slab_size;
		else if (i == 0)
			dev->map.slab_size = cfg->slab_size;
		if (d->slab_size != dev->map.slab_size) {
			if (cfg->slab_size && i == 0)
				NL_SET_ERR_MSG(extack, "SLAB_SIZE differs from the donor's slab size");
			else
				NL_SET_ERR_MSG(extack, "donors have different slab sizes");
			return -EINVAL;
		}

		attrs = &d->ctrl.ibdev->attrs;
		dev->max_sge = min3(dev->max_sge, (u32)attrs->max_send_sge,
				    (u32)attrs->max_sge_rd);
	}
	if (!dev->max_sge) {
		NL_SET_ERR_MSG(extack, "RDMA device has no scatter/gather entries for RDMA READ");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int rmem_dev_connect_data(struct rmem_dev *dev,
				 struct netlink_ext_ack *extack)
{
	unsigned int i;
	int ret;

	for (i = 0; i < dev->nr_donors; i++) {
		struct rmem_donor *d = dev->donors[i];

		mutex_lock(&d->lock);
		ret = rmem_donor_connect_data(d);
		mutex_unlock(&d->lock);
		if (ret) {
			NL_SET_ERR_MSG(extack, "cannot open data connections to a donor");
			return ret;
		}
	}
	return 0;
}

static void rmem_dev_free_slabs(struct rmem_dev *dev)
{
	u32 i;
	unsigned int j;

	if (!dev->map.slabs)
		return;
	for (i = 0; i < dev->map.nr_slabs; i++) {
		struct rmem_slab *slab = &dev->map.slabs[i];

		for (j = 0; j < slab->nr_replicas; j++) {
			struct rmem_replica *r = &slab->r[j];

			/* lost replicas belong to no one any more; a donor
			 * still connecting (a failed add) gets its slabs back */
			if (r->donor && READ_ONCE(r->state) != RMEM_REPLICA_LOST &&
			    READ_ONCE(r->donor->state) != RMEM_DONOR_DEAD)
				rmem_donor_slab_free(r->donor, r);
		}
		slab->nr_replicas = 0;
	}
}

/* Take one replica's slab on its donor (named by DEV_ADD, or any). */
static int rmem_dev_alloc_replica(struct rmem_dev *dev, struct rmem_slab *slab,
				  unsigned int j, struct rmem_donor *d,
				  const struct rmem_replica_cfg *rc,
				  struct netlink_ext_ack *extack)
{
	struct rmem_replica *r = &slab->r[j];
	int ret;

	r->slab_id = rc ? rc->slab_id : RMEM_SLAB_ANY;
	r->generation = rc ? rc->generation : 0;
	r->has_grant = rc && rc->has_grant;
	if (r->has_grant)
		memcpy(r->grant, rc->grant, RMEM_GRANT_LEN);
	ret = rmem_replica_stale_alloc(&dev->map, r);
	if (!ret)
		ret = rmem_donor_slab_alloc(d, r, dev->map.slab_size);
	if (ret) {
		pr_err("rmem: %s: slab %u replica %u from donor %s: %d\n",
		       dev->name, slab->index, j, d->addr_str, ret);
		if (ret == -ENOSPC)
			NL_SET_ERR_MSG(extack, "donor has no free slab");
		else
			NL_SET_ERR_MSG(extack, "slab allocation on a donor failed");
	}
	return ret;
}

/*
 * Take every slab: the replicas DEV_ADD named, else @cfg->replicas of
 * each on distinct donors, spread round-robin.
 */
static int rmem_dev_alloc_slabs(struct rmem_dev *dev, struct rmem_dev_cfg *cfg,
				struct netlink_ext_ack *extack)
{
	struct rmem_map *map = &dev->map;
	unsigned int j;
	u32 i;
	int ret;

	if (cfg->slab_cfgs && cfg->nr_slab_cfgs != map->nr_slabs) {
		pr_err("rmem: %s: SLABS names %u slabs, the device needs %u\n",
		       dev->name, cfg->nr_slab_cfgs, map->nr_slabs);
		NL_SET_ERR_MSG(extack, "SLABS must name every slab of the device, no more");
		return -EINVAL;
	}

	for (i = 0; i < map->nr_slabs; i++) {
		struct rmem_slab *slab = &map->slabs[i];
		struct rmem_slab_cfg *sc = cfg->slab_cfgs ? &cfg->slab_cfgs[i] : NULL;
		unsigned int nr = sc ? sc->nr_replicas : cfg->replicas;

		if (sc && !sc->set) {
			NL_SET_ERR_MSG(extack, "SLABS must name every slab of the device");
			return -EINVAL;
		}
		for (j = 0; j < nr; j++) {
			struct rmem_donor *d = sc ? dev->donors[sc->r[j].donor] :
				dev->donors[(i + j) % dev->nr_donors];

			ret = rmem_dev_alloc_replica(dev, slab, j, d,
						     sc ? &sc->r[j] : NULL,
						     extack);
			if (ret)
				return ret;
			slab->nr_replicas = j + 1;
		}
	}
	return 0;
}

/* The queue's limits: what the RDMA path can carry in one request. */
static void rmem_dev_limits(const struct rmem_dev *dev, struct queue_limits *lim)
{
	u32 slab_sectors = dev->map.slab_size >> SECTOR_SHIFT;

	memset(lim, 0, sizeof(*lim));
	lim->logical_block_size = RMEM_SECTOR_SIZE;
	lim->physical_block_size = RMEM_SECTOR_SIZE;
	lim->io_min = RMEM_SECTOR_SIZE;
	lim->max_segments = dev->max_sge;
	lim->max_segment_size = UINT_MAX;
	lim->max_hw_sectors = min_t(u32, slab_sectors, 2048);
	/* no request may cross a slab */
	lim->chunk_sectors = slab_sectors;
	lim->max_hw_discard_sectors = min_t(u32, slab_sectors, UINT_MAX >> SECTOR_SHIFT);
	lim->discard_granularity = RMEM_SECTOR_SIZE;
}

static int rmem_dev_create_disk(struct rmem_dev *dev)
{
	struct blk_mq_tag_set *set = &dev->tag_set;
	struct queue_limits lim;
	int ret;

	set->ops = &rmem_mq_ops;
	set->nr_hw_queues = dev->nr_queues;
	/* default, read (shares default's queues) and poll maps */
	if (dev->nr_queues > dev->nr_irq_queues)
		set->nr_maps = HCTX_MAX_TYPES;
	set->queue_depth = rmem_queue_depth;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = rmem_io_pdu_size(dev->max_sge, dev->replicas);
	set->flags = BLK_MQ_F_SHOULD_MERGE;
	set->timeout = rmem_io_timeout * HZ;
	set->driver_data = dev;
	ret = blk_mq_alloc_tag_set(set);
	if (ret)
		return ret;

	rmem_dev_limits(dev, &lim);
	dev->disk = rmem_alloc_disk(set, &lim, dev);
	if (IS_ERR(dev->disk)) {
		ret = PTR_ERR(dev->disk);
		dev->disk = NULL;
		goto out_free_tag_set;
	}
	rmem_set_nonrot(dev->disk->queue);

	dev->disk->fops = &rmem_fops;
	dev->disk->private_data = dev;
	dev->disk->flags |= GENHD_FL_NO_PART;
	strscpy(dev->disk->disk_name, dev->name, DISK_NAME_LEN);
	set_capacity(dev->disk, dev->size >> SECTOR_SHIFT);

	ret = add_disk(dev->disk);
	if (ret)
		goto out_put_disk;
	return 0;

out_put_disk:
	put_disk(dev->disk);
	dev->disk = NULL;
out_free_tag_set:
	blk_mq_free_tag_set(set);
	return ret;
}

static void rmem_dev_destroy_donors(struct rmem_dev *dev)
{
	unsigned int i;

	/* nothing re-issues parked requests or copies any more */
	cancel_work_sync(&dev->unpark_work);
	rmem_resync_free(dev);

	for (i = 0; i < dev->nr_donors; i++)
		rmem_donor_stop(dev->donors[i]);
	rmem_dev_free_slabs(dev);
	for (i = 0; i < dev->nr_donors; i++)
		rmem_donor_destroy(dev->donors[i]);
	dev->nr_donors = 0;
}

struct rmem_dev *rmem_dev_add(struct rmem_dev_cfg *cfg,
			      struct netlink_ext_ack *extack)
{
	struct rmem_dev *dev;
	unsigned int i;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	if (rmem_stats_init(&dev->stats)) {
		kfree(dev);
		return ERR_PTR(-ENOMEM);
	}
	rmem_park_init(dev);
	dev->replicas = cfg->slab_cfgs ? 1 : cfg->replicas;
	for (i = 0; cfg->slab_cfgs && i < cfg->nr_slab_cfgs; i++)
		dev->replicas = max(dev->replicas, cfg->slab_cfgs[i].nr_replicas);
	dev->adding = true;
	dev->size = cfg->size;
	dev->nr_irq_queues = nr_cpu_ids;
	dev->nr_queues = nr_cpu_ids + min(rmem_poll_queues, nr_cpu_ids);
	mutex_init(&dev->open_lock);
	if (cfg->has_client_id)
		memcpy(dev->client_id, cfg->client_id, RMEM_CLIENT_ID_LEN);
	else
		get_random_bytes(dev->client_id, RMEM_CLIENT_ID_LEN);

	ret = rmem_resync_init(dev);
	if (ret)
		goto out_free_dev;
	ret = rmem_dev_register(dev, cfg->name, extack);
	if (ret)
		goto out_free_dev;

	for (i = 0; i < cfg->nr_donors; i++) {
		dev->donors[i] = rmem_donor_create(dev, i, &cfg->donors[i]);
		if (!dev->donors[i]) {
			ret = -ENOMEM;
			goto out_destroy_donors;
		}
		dev->nr_donors++;
	}

	ret = rmem_dev_connect_ctrl(dev, cfg, extack);
	if (ret)
		goto out_destroy_donors;

	ret = rmem_map_init(&dev->map, dev->size, dev->map.slab_size);
	if (ret)
		goto out_destroy_donors;

	ret = rmem_dev_connect_data(dev, extack);
	if (ret)
		goto out_free_map;

	ret = rmem_dev_alloc_slabs(dev, cfg, extack);
	if (ret)
		goto out_free_map;

	ret = rmem_dev_create_disk(dev);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot create the block device");
		goto out_free_map;
	}

	/* From here on, failures are recovered instead of failing the add. */
	for (i = 0; i < dev->nr_donors; i++)
		rmem_donor_arm(dev->donors[i]);

	__module_get(THIS_MODULE);
	mutex_lock(&rmem_devs_mutex);
	dev->adding = false;
	mutex_unlock(&rmem_devs_mutex);

	pr_info("rmem: %s: %llu bytes in %u slabs of %llu bytes over %u donor(s), %u replica(s) each\n",
		dev->name, dev->size, dev->map.nr_slabs, dev->map.slab_size,
		dev->nr_donors, dev->replicas);
	return dev;

out_free_map:
	/* slabs are freed (SLAB_FREE) before the connections go */
	rmem_dev_destroy_donors(dev);
	rmem_map_free(&dev->map);
	goto out_unregister;
out_destroy_donors:
	rmem_dev_destroy_donors(dev);
out_unregister:
	rmem_dev_unregister(dev);
out_free_dev:
	rmem_resync_free(dev);
	rmem_stats_free(&dev->stats);
	kfree(dev);
	return ERR_PTR(ret);
}

int rmem_dev_del(const char *name, struct netlink_ext_ack *extack)
{
	struct rmem_dev *dev;

	mutex_lock(&rmem_devs_mutex);
	dev = rmem_dev_find(name);
	if (!dev || dev->adding) {
		mutex_unlock(&rmem_devs_mutex);
		NL_SET_ERR_MSG(extack, "no such rmem device");
		return -ENODEV;
	}
	mutex_lock(&dev->open_lock);
	if (dev->openers) {
		mutex_unlock(&dev->open_lock);
		mutex_unlock(&rmem_devs_mutex);
		NL_SET_ERR_MSG(extack, "device is open (mounted or used as swap?)");
		return -EBUSY;
	}
	WRITE_ONCE(dev->deleting, true);
	mutex_unlock(&dev->open_lock);
	idr_remove(&rmem_devs_idr, dev->id);
	mutex_unlock(&rmem_devs_mutex);

	/* waits for requests in flight; new ones fail at once */
	del_gendisk(dev->disk);
	rmem_dev_destroy_donors(dev);
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	rmem_map_free(&dev->map);

	rmem_nl_event(dev, RMEM_EVENT_DEV_REMOVED, -1, -1, -1);
	pr_info("rmem: %s: removed\n", dev->name);
	rmem_stats_free(&dev->stats);
	kfree(dev);
	module_put(THIS_MODULE);
	return 0;
}

/*
 * An RDMA device is going away: every donor with a connection on it
 * recovers now (drain and destroy its QPs), so none outlives the device.
 */
void rmem_devs_ib_remove(struct ib_device *ibdev)
{
	struct rmem_dev *dev;
	unsigned int i;
	int id;

	mutex_lock(&rmem_devs_mutex);
	idr_for_each_entry(&rmem_devs_idr, dev, id) {
		for (i = 0; i < dev->nr_donors; i++)
			if (rmem_donor_on_ibdev(dev->donors[i], ibdev))
				rmem_donor_error(dev->donors[i]);
	}
	mutex_unlock(&rmem_devs_mutex);
	flush_workqueue(rmem_wq);
}

/* Connect a donor met at run time and make it LIVE; d->lock not held. */
static int rmem_dev_connect_donor(struct rmem_dev *dev, struct rmem_donor *d,
				  struct netlink_ext_ack *extack)
{
	const struct ib_device_attr *attrs;
	int ret;

	mutex_lock(&d->lock);
	ret = rmem_donor_connect_ctrl(d);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot connect to the new donor");
		goto out_teardown;
	}
	attrs = &d->ctrl.ibdev->attrs;
	if (d->slab_size != dev->map.slab_size) {
		NL_SET_ERR_MSG(extack, "the new donor's slab size differs from the device's");
		ret = -EINVAL;
		goto out_teardown;
	}
	if (min((u32)attrs->max_send_sge, (u32)attrs->max_sge_rd) < dev->max_sge) {
		NL_SET_ERR_MSG(extack, "the new donor's RDMA device has too few scatter/gather entries");
		ret = -EOPNOTSUPP;
		goto out_teardown;
	}
	ret = rmem_donor_connect_data(d);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot open data connections to the new donor");
		goto out_teardown;
	}
	mutex_unlock(&d->lock);
	rmem_donor_arm(d);
	return 0;

out_teardown:
	rmem_donor_teardown(d);
	mutex_unlock(&d->lock);
	return ret;
}

/*
 * The donor at @cfg's address for a replacement replica: one the device
 * has (a dead one is connected afresh: a restarted donor is a new one),
 * or a new one, connected and added.  Caller holds rmem_devs_mutex.
 */
struct rmem_donor *rmem_dev_get_donor(struct rmem_dev *dev,
				      const struct rmem_donor_cfg *cfg,
				      struct netlink_ext_ack *extack)
{
	struct rmem_donor *d;
	unsigned int i;
	int ret;

	for (i = 0; i < dev->nr_donors; i++) {
		d = dev->donors[i];
		if (strcmp(d->addr_str, cfg->addr_str) || d->port != cfg->port)
			continue;
		if (READ_ONCE(d->state) != RMEM_DONOR_DEAD)
			return d;
		ret = rmem_dev_connect_donor(dev, d, extack);
		return ret ? ERR_PTR(ret) : d;
	}

	if (dev->nr_donors == RMEM_MAX_DONORS) {
		NL_SET_ERR_MSG(extack, "the device has the most donors it can have");
		return ERR_PTR(-E2BIG);
	}
	d = rmem_donor_create(dev, dev->nr_donors, cfg);
	if (!d)
		return ERR_PTR(-ENOMEM);
	ret = rmem_dev_connect_donor(dev, d, extack);
	if (ret) {
		rmem_donor_stop(d);
		rmem_donor_destroy(d);
		return ERR_PTR(ret);
	}
	dev->donors[dev->nr_donors] = d;
	/* rmem_poll() walks the donors without the mutex */
	smp_store_release(&dev->nr_donors, dev->nr_donors + 1);
	return d;
}

/*
 * Replica @slot of slab @slab_idx, LOST, becomes the slab @nr names on
 * @d: taken on the donor, then published STALE with every page to copy.
 * Caller holds rmem_devs_mutex and has checked the request.
 */
int rmem_dev_replace(struct rmem_dev *dev, u32 slab_idx, u32 slot,
		     struct rmem_donor *d, struct rmem_replica *nr,
		     struct netlink_ext_ack *extack)
{
	struct rmem_slab *slab = &dev->map.slabs[slab_idx];
	struct rmem_replica *r = &slab->r[slot];
	unsigned long flags;
	int ret;

	ret = rmem_donor_slab_alloc(d, nr, dev->map.slab_size);
	if (ret) {
		if (ret == -ENOSPC)
			NL_SET_ERR_MSG(extack, "donor has no free slab");
		else if (ret == -EPERM)
			NL_SET_ERR_MSG(extack, "donor refused the grant");
		else
			NL_SET_ERR_MSG(extack, "slab allocation on the donor failed");
		return ret;
	}
	/*
	 * The slot has been LOST since before this call: every I/O path
	 * user that saw it otherwise (under RCU or with bottom halves off)
	 * is done once a grace period passes.
	 */
	synchronize_rcu();
	spin_lock_irqsave(&slab->lock, flags);
	r->donor = d;
	r->slab_id = nr->slab_id;
	r->generation = nr->generation;
	r->addr = nr->addr;
	r->rkey = nr->rkey;
	r->has_grant = nr->has_grant;
	memcpy(r->grant, nr->grant, RMEM_GRANT_LEN);
	bitmap_fill(r->stale, dev->map.pages_per_slab);
	r->nr_stale = dev->map.pages_per_slab;
	WRITE_ONCE(r->epoch, r->epoch + 1);
	smp_store_release(&r->state, RMEM_REPLICA_STALE);
	slab->failed_event = false;
	spin_unlock_irqrestore(&slab->lock, flags);

	pr_info("rmem: %s: slab %u replica %u replaced by slab %u gen %u on %s\n",
		dev->name, slab_idx, slot, r->slab_id, r->generation,
		d->addr_str);
	rmem_nl_event(dev, RMEM_EVENT_REPLICA_REPLACED, d->index, slab_idx,
		      slot);
	rmem_resync_kick(dev);
	return 0;
}
