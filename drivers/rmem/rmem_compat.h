/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences, all in one place, decided by feature probes
 * (the .c files in probe/, compiled into rmem_config.h), never by
 * LINUX_VERSION_CODE: distribution kernels backport block-layer changes,
 * so a version number says little.
 * Tested on 6.1 (Debian 12) and 6.12 (Debian 13, bookworm-backports).
 */
#ifndef _RMEM_COMPAT_H
#define _RMEM_COMPAT_H

#include <linux/blk-mq.h>

#include "rmem_config.h"

/*
 * Allocate a blk-mq disk with limits @lim.  Kernels whose
 * blk_mq_alloc_disk() takes the limits validate and apply them in one go;
 * older ones get them one setter at a time on the new queue.
 */
static inline struct gendisk *rmem_alloc_disk(struct blk_mq_tag_set *set,
					      struct queue_limits *lim,
					      void *data)
{
#ifdef RMEM_HAVE_BLK_MQ_ALLOC_DISK_LIM
	return blk_mq_alloc_disk(set, lim, data);
#else
	struct gendisk *disk = blk_mq_alloc_disk(set, data);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, lim->logical_block_size);
	blk_queue_physical_block_size(q, lim->physical_block_size);
	blk_queue_io_min(q, lim->io_min);
	blk_queue_max_segments(q, lim->max_segments);
	blk_queue_max_segment_size(q, lim->max_segment_size);
	blk_queue_max_hw_sectors(q, lim->max_hw_sectors);
	blk_queue_chunk_sectors(q, lim->chunk_sectors);
	blk_queue_max_discard_sectors(q, lim->max_hw_discard_sectors);
	q->limits.discard_granularity = lim->discard_granularity;
	return disk;
#endif
}

/*
 * RAM behind a NIC: no seek penalty, and no entropy worth feeding the
 * random pool.  With BLK_FEAT_* both are the defaults (a disk must ask to
 * be rotational or to add randomness); before, they were queue flags the
 * driver set after allocation.
 */
static inline void rmem_set_nonrot(struct request_queue *q)
{
#ifndef RMEM_HAVE_BLK_FEATURES
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
#endif
}

#ifdef RMEM_HAVE_BDOPS_OPEN_GENDISK
#define RMEM_OPEN_ARGS		struct gendisk *disk, blk_mode_t mode
#define RMEM_OPEN_DISK		disk
#else
#define RMEM_OPEN_ARGS		struct block_device *bdev, fmode_t mode
#define RMEM_OPEN_DISK		bdev->bd_disk
#endif

#ifdef RMEM_HAVE_BDOPS_RELEASE_GENDISK
#define RMEM_RELEASE_ARGS	struct gendisk *disk
#else
#define RMEM_RELEASE_ARGS	struct gendisk *disk, fmode_t mode
#endif

#endif /* _RMEM_COMPAT_H */
