/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rmem: a block device whose blocks live in RAM lent by donor machines,
 * reached with one-sided RDMA READ/WRITE.  Shared definitions of the
 * driver's parts: device (rmem_dev.c), I/O path (rmem_io.c), slab map
 * (rmem_map.c), connections (rmem_queue.c), donors (rmem_donor.c),
 * control messages (rmem_ctrl.c) and netlink (rmem_netlink.c).
 */
#ifndef _RMEM_H
#define _RMEM_H

#include <linux/blk-mq.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/percpu.h>
#include <linux/socket.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include <rmem/rmem_proto.h>
#include <rmem/rmem_netlink.h>

#include "rmem_compat.h"

#define RMEM_SECTOR_SIZE	4096
#define RMEM_PAGE_SHIFT		12
/* Upper bound of scatter/gather entries per request (also per WR). */
#define RMEM_MAX_SGE		32
/* Largest device: bounds the per-slab zero bitmaps (32 MiB at 1 TiB). */
#define RMEM_MAX_SIZE		(1ULL << 40)
#define RMEM_MAX_SLABS		65536

#define RMEM_RESOLVE_TIMEOUT_MS	2000
#define RMEM_CONNECT_TIMEOUT_MS	10000
#define RMEM_CTRL_TIMEOUT_MS	3000
#define RMEM_KEEPALIVE_MS	1000
#define RMEM_RECONNECT_MS	2000
/* How often recovery looks whether a port that went down is up again */
#define RMEM_PORT_WAIT_MS	250
/* Bytes resync copies per step (one RDMA READ, then one WRITE) */
#define RMEM_RESYNC_CHUNK	(128 * 1024)
/* rdma_cm ack timeout exponent: 4.096 us << 14 = 67 ms per retry. */
#define RMEM_ACK_TIMEOUT	14

/* Module parameters (rmem_main.c) */
extern unsigned int rmem_io_timeout;
extern unsigned int rmem_queue_depth;
extern unsigned int rmem_poll_queues;
extern unsigned int rmem_donor_timeout;
extern unsigned int rmem_resync_rate;
extern struct workqueue_struct *rmem_wq;

/*
 * Counters are per CPU: the I/O path bumps them on every request, and a
 * shared atomic there would bounce one cache line between all CPUs.
 * Readers (netlink) add the CPUs up.
 */
struct rmem_stats_cpu {
	u64			v[__RMEM_STAT_MAX];
};

struct rmem_stats {
	struct rmem_stats_cpu __percpu *pc;
};

static inline void rmem_stat_add(struct rmem_stats *s, enum rmem_stat i,
				 u64 n)
{
	this_cpu_add(s->pc->v[i], n);
}

static inline void rmem_stat_inc(struct rmem_stats *s, enum rmem_stat i)
{
	this_cpu_inc(s->pc->v[i]);
}

int rmem_stats_init(struct rmem_stats *s);
void rmem_stats_free(struct rmem_stats *s);
u64 rmem_stat_read(struct rmem_stats *s, enum rmem_stat i);

/* Bits in rmem_queue.flags */
enum rmem_queue_flag {
	RMEM_Q_ALLOCATED,	/* cm_id + PD/CQ/QP exist, connected once */
	RMEM_Q_DRAINED,		/* quiesced: QP flushed, CQ no longer polled */
	RMEM_Q_LIVE,		/* posting allowed (under post_lock) */
};

struct rmem_ctrl_buf {
	void			*buf;
	u64			dma;
	struct ib_cqe		cqe;
};

/**
 * struct rmem_queue - one RC connection to a donor
 *
 * The struct lives as long as its donor; connects and teardowns only
 * create and destroy the RDMA objects inside, so the I/O path may look at
 * it at any time and decides under @post_lock whether it may post.
 */
struct rmem_queue {
	struct rmem_donor	*donor;
	enum rmem_conn_type	type;
	u16			index;
	unsigned long		flags;
	spinlock_t		post_lock;
	/*
	 * DATA queues of polled hardware queues have an IB_POLL_DIRECT CQ,
	 * reaped only by rmem_poll() and by the drain in teardown; this
	 * keeps the two (and two pollers) from running on it at once.
	 */
	bool			polled;
	spinlock_t		poll_lock;

	struct rdma_cm_id	*cm_id;
	struct ib_device	*ibdev;
	struct ib_pd		*pd;
	struct ib_cq		*cq;
	struct ib_qp		*qp;

	struct completion	cm_done;
	int			cm_error;
	struct rmem_cm_rep	rep;

	/* CTRL only: receive ring and the single send buffer */
	struct rmem_ctrl_buf	rx[RMEM_CTRL_DEPTH];
	struct rmem_ctrl_buf	tx;
	bool			tx_busy;
};

/**
 * struct rmem_donor - one donor of a device, with all its connections
 * @lock:	serializes connect, teardown, recovery and reconnect
 * @state:	enum rmem_donor_state, read locklessly
 * @err_gen:	bumped by every error signal, in any state: a connect
 *		that saw it change while it ran must not go LIVE
 * @lost_at:	jiffies when it stopped being LIVE (donor_timeout)
 * @stopping:	the device is going away: no more work is queued
 */
struct rmem_donor {
	struct rmem_dev		*dev;
	u32			index;
	char			addr_str[RMEM_ADDR_MAX];
	u16			port;
	struct sockaddr_storage	addr;

	struct mutex		lock;
	int			state;
	atomic_t		err_gen;
	int			connect_gen;
	unsigned long		lost_at;
	unsigned int		reconnect_tries;
	bool			stopping;

	u64			instance_id;
	u64			slab_size;
	u32			total_slabs;
	u32			free_slabs;

	struct rmem_queue	ctrl;
	struct rmem_queue	*data;		/* dev->nr_queues of them */

	/* One control request in flight at a time (rmem_ctrl.c) */
	struct mutex		ctrl_mutex;
	spinlock_t		reply_lock;
	u32			seq;
	u32			wait_seq;
	bool			waiting;
	struct completion	reply_done;
	struct rmem_msg		reply;

	struct work_struct	err_work;
	struct delayed_work	reconnect_work;
	struct delayed_work	ka_work;

	struct rmem_stats	stats;
};

/**
 * struct rmem_replica - one copy of a slab on a donor
 * @state:	enum rmem_replica_state, but never RECONNECTING: whether the
 *		donor is reachable is the donor's state.  IN_SYNC replicas
 *		serve reads; IN_SYNC, STALE and RESYNCING ones take writes.
 *		Changes under slab->lock; the I/O path reads it locklessly.
 * @stale:	pages this replica lacks, one bit per page (under slab->lock)
 * @epoch:	bumped whenever it stops being IN_SYNC or is replaced
 * @nr_stale:	bits set in @stale
 * @stale_event: a REPLICA_STALE event is owed (sent from resync work)
 *
 * The fields that say where the copy is (@donor .. @rkey) change only
 * while @state is LOST and after an RCU grace period (REPLICA_REPLACE),
 * or while the donor is not LIVE (reconnect gives fresh rkeys): the I/O
 * path never posts with a half-written description.
 */
struct rmem_replica {
	struct rmem_donor	*donor;
	u32			slab_id;
	u32			generation;
	u64			addr;
	u32			rkey;
	int			state;
	u32			epoch;
	bool			has_grant;
	bool			stale_event;
	u8			grant[RMEM_GRANT_LEN];
	unsigned long		*stale;
	u32			nr_stale;
};

/**
 * struct rmem_slab - one slab-sized piece of the device
 * @zero_map:	one bit per 4 KiB page that reads as zeros without asking
 *		the donor: never written since allocation, or discarded
 * @lock:	replica state changes and stale maps; never taken by the I/O
 *		path while every replica is IN_SYNC
 * @copy_seq:	bumped at the start and the end of every resync copy; a
 *		write whose flight saw it change may have raced the copy
 * @copy_first, @copy_last: pages being copied now (when @copying)
 */
struct rmem_slab {
	u32			index;
	unsigned int		nr_replicas;
	struct rmem_replica	r[RMEM_MAX_REPLICAS];
	spinlock_t		zlock;
	unsigned long		*zero_map;
	spinlock_t		lock;
	u32			copy_seq;
	bool			copying;
	u32			copy_first;
	u32			copy_last;
	bool			failed_event;
};

struct rmem_map {
	u64			slab_size;
	u32			nr_slabs;
	u32			pages_per_slab;
	struct rmem_slab	*slabs;
};

/* What DEV_ADD asked for, parsed from netlink (rmem_netlink.c) */
struct rmem_replica_cfg {
	u32			donor;
	u32			slab_id;
	u32			generation;
	bool			has_grant;
	u8			grant[RMEM_GRANT_LEN];
};

struct rmem_slab_cfg {
	bool			set;
	unsigned int		nr_replicas;
	struct rmem_replica_cfg	r[RMEM_MAX_REPLICAS];
};

struct rmem_donor_cfg {
	char			addr_str[RMEM_ADDR_MAX];
	u16			port;
	struct sockaddr_storage	addr;
};

struct rmem_dev_cfg {
	char			name[RMEM_NAME_MAX];
	u64			size;
	u64			slab_size;	/* 0: take the donor's */
	bool			has_client_id;
	u8			client_id[RMEM_CLIENT_ID_LEN];
	unsigned int		nr_donors;
	struct rmem_donor_cfg	donors[RMEM_MAX_DONORS];
	unsigned int		replicas;	/* without slab_cfgs */
	u32			nr_slab_cfgs;	/* highest index + 1 */
	struct rmem_slab_cfg	*slab_cfgs;	/* NULL: any free slab */
};

struct rmem_dev {
	int			id;
	char			name[RMEM_NAME_MAX];
	bool			adding;		/* not yet visible */
	u64			size;
	u8			client_id[RMEM_CLIENT_ID_LEN];
	/* hardware queues: nr_irq_queues, then the polled ones */
	unsigned int		nr_queues;
	unsigned int		nr_irq_queues;
	u32			max_sge;

	/* donors only ever get added (REPLICA_REPLACE), under
	 * rmem_devs_mutex, and nr_donors is published after the pointer */
	unsigned int		nr_donors;
	struct rmem_donor	*donors[RMEM_MAX_DONORS];
	struct rmem_map		map;
	unsigned int		replicas;	/* most of any slab */

	/* Requests waiting for a donor to come back (rmem_park.c) */
	spinlock_t		park_lock;
	struct list_head	parked;
	u64			unpark_gen;
	struct work_struct	unpark_work;

	/* Background copy to stale replicas (rmem_resync.c) */
	struct delayed_work	resync_work;
	void			*resync_buf;
	struct ib_cqe		resync_cqe;
	struct completion	resync_done;
	int			resync_status;

	struct blk_mq_tag_set	tag_set;
	struct gendisk		*disk;

	struct mutex		open_lock;
	unsigned int		openers;
	bool			deleting;

	struct rmem_stats	stats;
};

/* One RDMA work request of an I/O: one per replica written */
struct rmem_io_wr {
	struct ib_cqe		cqe;
	struct ib_rdma_wr	wr;
	struct rmem_queue	*queue;
	struct ib_sge		*sge;		/* max_sge of them */
	struct scatterlist	*own_sgl;	/* NULL in w[0] */
	struct ib_device	*own_ibdev;	/* own_sgl mapped for it */
	u8			slot;		/* index in rmem_io.w[] */
	u8			replica;	/* index in slab->r[] */
};

/**
 * struct rmem_io - per-request state (blk-mq PDU), all made at
 * init_request so that the I/O path allocates nothing
 * @deadline:	jiffies when the request fails, however often it waited or
 *		was re-issued: io_timeout after it was first started
 * @pending:	WRs not completed yet (only counted when @nr_wr > 1)
 * @ok_mask, @fail_mask: replicas whose WR succeeded / failed
 * @avoid_mask:	replicas not to try again in this attempt (they failed)
 * @insync_mask, @epoch: replicas in sync when a write was posted, and
 *		every replica's epoch then
 * @copy_seq:	the slab's copy_seq when posted
 * @park_node:	on dev->parked while waiting for a donor (@parked)
 */
struct rmem_io {
	struct rmem_slab	*slab;
	u64			off;
	unsigned long		deadline;
	struct ib_device	*ibdev;		/* mapped against */
	int			nents;
	int			count;		/* mapped entries of sgl */
	enum dma_data_direction	dir;
	blk_status_t		status;
	u8			nr_wr;
	u8			hard_error;
	atomic_t		pending;
	unsigned long		ok_mask;
	unsigned long		fail_mask;
	unsigned long		avoid_mask;
	unsigned long		insync_mask;
	u32			epoch[RMEM_MAX_REPLICAS];
	u32			copy_seq;
	u32			hctx_idx;
	bool			parked;
	struct list_head	park_node;
	struct rmem_io_wr	w[RMEM_MAX_REPLICAS];
	struct scatterlist	sgl[];
};

/* rmem_dev.c */
extern struct mutex rmem_devs_mutex;
extern struct idr rmem_devs_idr;
struct rmem_dev *rmem_dev_add(struct rmem_dev_cfg *cfg,
			      struct netlink_ext_ack *extack);
int rmem_dev_del(const char *name, struct netlink_ext_ack *extack);
struct rmem_dev *rmem_dev_find(const char *name);
struct rmem_donor *rmem_dev_get_donor(struct rmem_dev *dev,
				      const struct rmem_donor_cfg *cfg,
				      struct netlink_ext_ack *extack);
int rmem_dev_replace(struct rmem_dev *dev, u32 slab_idx, u32 slot,
		     struct rmem_donor *d, struct rmem_replica *nr,
		     struct netlink_ext_ack *extack);
int rmem_dev_state(struct rmem_dev *dev);
void rmem_devs_ib_remove(struct ib_device *ibdev);

/* rmem_io.c */
extern const struct blk_mq_ops rmem_mq_ops;
size_t rmem_io_pdu_size(u32 max_sge, unsigned int replicas);
void rmem_io_submit(struct rmem_dev *dev, struct request *rq);

/* rmem_park.c */
void rmem_park_init(struct rmem_dev *dev);
bool rmem_park(struct rmem_dev *dev, struct request *rq, u64 gen);
u64 rmem_park_gen(struct rmem_dev *dev);
bool rmem_unpark_one(struct rmem_dev *dev, struct request *rq);
void rmem_unpark_all(struct rmem_dev *dev);

/* rmem_replica.c */
int rmem_replica_state(const struct rmem_replica *r);
bool rmem_replica_up(const struct rmem_replica *r);
bool rmem_replica_write_done(struct rmem_dev *dev, struct rmem_io *cmd);
void rmem_replicas_donor_back(struct rmem_donor *d);
void rmem_replicas_donor_gone(struct rmem_donor *d, bool all);
void rmem_replica_lose(struct rmem_dev *dev, struct rmem_slab *slab,
		       unsigned int j);
int rmem_replica_stale_alloc(struct rmem_map *map, struct rmem_replica *r);

/* rmem_resync.c */
int rmem_resync_init(struct rmem_dev *dev);
void rmem_resync_free(struct rmem_dev *dev);
void rmem_resync_kick(struct rmem_dev *dev);
u64 rmem_resync_left(struct rmem_dev *dev);

/* rmem_map.c */
int rmem_map_init(struct rmem_map *map, u64 size, u64 slab_size);
void rmem_map_free(struct rmem_map *map);
struct rmem_slab *rmem_map_lookup(struct rmem_map *map, u64 pos, u64 *off);
bool rmem_map_range_zero(struct rmem_map *map, struct rmem_slab *slab,
			 u64 off, u32 len);
void rmem_map_mark_written(struct rmem_map *map, struct rmem_slab *slab,
			   u64 off, u32 len);
void rmem_map_discard(struct rmem_map *map, u64 pos, u64 len);
int rmem_slab_state(const struct rmem_slab *slab);
void rmem_map_mark(struct rmem_map *map, unsigned long *bits, u32 *count,
		   u64 off, u32 len);

/* rmem_queue.c */
void rmem_queue_init(struct rmem_queue *q, struct rmem_donor *d,
		     enum rmem_conn_type type, u16 index);
int rmem_queue_connect(struct rmem_queue *q);
void rmem_queue_set_live(struct rmem_queue *q, bool live);
void rmem_queue_quiesce(struct rmem_queue *q);
void rmem_queue_teardown(struct rmem_queue *q);
bool rmem_queue_port_up(struct rmem_queue *q);

/* rmem_ctrl.c */
int rmem_ctrl_alloc_bufs(struct rmem_queue *q);
void rmem_ctrl_free_bufs(struct rmem_queue *q);
int rmem_ctrl_post_recvs(struct rmem_queue *q);
void rmem_ctrl_abort(struct rmem_donor *d);
int rmem_ctrl_call(struct rmem_donor *d, u8 type, struct rmem_msg *msg);

/* rmem_donor.c */
struct rmem_donor *rmem_donor_create(struct rmem_dev *dev, u32 index,
				     const struct rmem_donor_cfg *cfg);
void rmem_donor_destroy(struct rmem_donor *d);
int rmem_donor_connect_ctrl(struct rmem_donor *d);
int rmem_donor_connect_data(struct rmem_donor *d);
void rmem_donor_teardown(struct rmem_donor *d);
void rmem_donor_quiesce(struct rmem_donor *d);
void rmem_donor_arm(struct rmem_donor *d);
void rmem_donor_stop(struct rmem_donor *d);
void rmem_donor_error(struct rmem_donor *d);
int rmem_donor_slab_alloc(struct rmem_donor *d, struct rmem_replica *r,
			  u64 slab_size);
void rmem_donor_slab_free(struct rmem_donor *d, struct rmem_replica *r);
bool rmem_donor_on_ibdev(struct rmem_donor *d, struct ib_device *ibdev);
static inline bool rmem_donor_live(const struct rmem_donor *d)
{
	return READ_ONCE(d->state) == RMEM_DONOR_LIVE;
}

/* rmem_netlink.c */
int rmem_nl_init(void);
void rmem_nl_exit(void);
void rmem_nl_event(struct rmem_dev *dev, enum rmem_event ev, s64 donor,
		   s64 slab, s64 replica);

#endif /* _RMEM_H */
