// SPDX-License-Identifier: GPL-2.0
/* block_device_operations.open takes (struct gendisk *, blk_mode_t) (6.5);
 * before, (struct block_device *, fmode_t). */
#include <linux/blkdev.h>

static int rmem_probe_open(struct gendisk *disk, blk_mode_t mode)
{
	return 0;
}

const struct block_device_operations rmem_probe_fops = {
	.open = rmem_probe_open,
};
