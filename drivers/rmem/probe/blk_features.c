// SPDX-License-Identifier: GPL-2.0
/* queue_limits.features with BLK_FEAT_* (6.11): a disk is non-rotational
 * and adds no entropy unless BLK_FEAT_ROTATIONAL / BLK_FEAT_ADD_RANDOM are
 * set; before, drivers set QUEUE_FLAG_NONROT and cleared
 * QUEUE_FLAG_ADD_RANDOM themselves. */
#include <linux/blkdev.h>

struct queue_limits rmem_probe_lim = { .features = BLK_FEAT_ROTATIONAL };
