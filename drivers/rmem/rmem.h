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
/* How often a request waiting for a reconnecting donor looks again. */
#define RMEM_WAIT_RETRY_MS	50
/* rdma_cm ack timeout exponent: 4.096 us << 14 = 67 ms per retry. */
#define RMEM_ACK_TIMEOUT	14

/* Module parameters (rmem_main.c) */
extern unsigned int rmem_io_timeout;
extern unsigned int rmem_queue_depth;
extern unsigned int rmem_poll_queues;
extern struct workqueue_struct *rmem_wq;

struct rmem_stats {
	atomic64_t	v[__RMEM_STAT_MAX];
};

static inline void rmem_stat_add(struct rmem_stats *s, enum rmem_stat i,
				 u64 n)
{
	atomic64_add(n, &s->v[i]);
}

static inline void rmem_stat_inc(struct rmem_stats *s, enum rmem_stat i)
{
	atomic64_inc(&s->v[i]);
}

/* Bits in rmem_queue.flags */
enum rmem_queue_flag {
	RMEM_Q_ALLOCATED,	/* cm_id + PD/CQ/QP exist, connected once */
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
 * @armed:	recovery may run (the device is fully added)
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
	bool			armed;
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
 * @state:	enum rmem_slab_state; LIVE only while @addr/@rkey are valid
 *		on the donor's current connections
 */
struct rmem_replica {
	struct rmem_donor	*donor;
	u32			slab_id;
	u32			generation;
	u64			addr;
	u32			rkey;
	int			state;
	bool			has_grant;
	u8			grant[RMEM_GRANT_LEN];
};

/**
 * struct rmem_slab - one slab-sized piece of the device
 * @zero_map:	one bit per 4 KiB page that reads as zeros without asking
 *		the donor: never written since allocation, or discarded
 */
struct rmem_slab {
	u32			index;
	unsigned int		nr_replicas;
	struct rmem_replica	r[RMEM_MAX_REPLICAS];
	spinlock_t		zlock;
	unsigned long		*zero_map;
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

	unsigned int		nr_donors;
	struct rmem_donor	*donors[RMEM_MAX_DONORS];
	struct rmem_map		map;

	struct blk_mq_tag_set	tag_set;
	struct gendisk		*disk;

	struct mutex		open_lock;
	unsigned int		openers;
	bool			deleting;

	struct rmem_stats	stats;
};

/**
 * struct rmem_io - per-request state (blk-mq PDU), all made at
 * init_request so that the I/O path allocates nothing
 */
struct rmem_io {
	struct rmem_queue	*queue;		/* posted on, for timeouts */
	struct ib_device	*ibdev;		/* mapped against */
	int			nents;
	enum dma_data_direction	dir;
	blk_status_t		status;
	unsigned long		wait_deadline;	/* 0: not waiting */
	struct ib_cqe		cqe;
	struct ib_rdma_wr	wr;
	struct ib_sge		*sge;
	struct scatterlist	sgl[];
};

/* rmem_dev.c */
extern struct mutex rmem_devs_mutex;
extern struct idr rmem_devs_idr;
struct rmem_dev *rmem_dev_add(struct rmem_dev_cfg *cfg,
			      struct netlink_ext_ack *extack);
int rmem_dev_del(const char *name, struct netlink_ext_ack *extack);
struct rmem_dev *rmem_dev_find(const char *name);
int rmem_dev_state(struct rmem_dev *dev);
void rmem_devs_ib_remove(struct ib_device *ibdev);

/* rmem_io.c */
extern const struct blk_mq_ops rmem_mq_ops;
size_t rmem_io_pdu_size(u32 max_sge);

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

/* rmem_queue.c */
void rmem_queue_init(struct rmem_queue *q, struct rmem_donor *d,
		     enum rmem_conn_type type, u16 index);
int rmem_queue_connect(struct rmem_queue *q);
void rmem_queue_set_live(struct rmem_queue *q, bool live);
void rmem_queue_teardown(struct rmem_queue *q);

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
void rmem_donor_arm(struct rmem_donor *d);
void rmem_donor_stop(struct rmem_donor *d);
void rmem_donor_error(struct rmem_donor *d);
int rmem_donor_slab_alloc(struct rmem_donor *d, struct rmem_replica *r,
			  u64 slab_size);
void rmem_donor_slab_free(struct rmem_donor *d, struct rmem_replica *r);
bool rmem_donor_on_ibdev(struct rmem_donor *d, struct ib_device *ibdev);

/* rmem_netlink.c */
int rmem_nl_init(void);
void rmem_nl_exit(void);
void rmem_nl_event(struct rmem_dev *dev, enum rmem_event ev, s64 donor,
		   s64 slab);

#endif /* _RMEM_H */
