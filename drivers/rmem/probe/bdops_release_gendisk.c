// SPDX-License-Identifier: GPL-2.0
/* block_device_operations.release takes only the gendisk (6.5); before, it
 * also took the fmode_t the device was opened with. */
#include <linux/blkdev.h>

static void rmem_probe_release(struct gendisk *disk)
{
}

const struct block_device_operations rmem_probe_fops = {
	.release = rmem_probe_release,
};
