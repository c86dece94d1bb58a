// SPDX-License-Identifier: GPL-2.0
/* blk_mq_alloc_disk() takes the queue limits (6.9); before, drivers set
 * them with blk_queue_*() after allocating the disk. */
#include <linux/blk-mq.h>

struct gendisk *rmem_probe(struct blk_mq_tag_set *set, struct queue_limits *lim);
struct gendisk *rmem_probe(struct blk_mq_tag_set *set, struct queue_limits *lim)
{
	return blk_mq_alloc_disk(set, lim, NULL);
}
