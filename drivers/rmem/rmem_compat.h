/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version shims, all in one place.  The driver is written against
 * 6.1 (Debian 12); newer kernels changed the calls below.
 */
#ifndef _RMEM_COMPAT_H
#define _RMEM_COMPAT_H

#include <linux/version.h>
#include <linux/blk-mq.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
/* 6.9 gained a queue_limits argument; the driver sets limits afterwards. */
#define rmem_alloc_disk(set, data)	blk_mq_alloc_disk(set, NULL, data)
#else
#define rmem_alloc_disk(set, data)	blk_mq_alloc_disk(set, data)
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define RMEM_OPEN_ARGS		struct gendisk *disk, blk_mode_t mode
#define RMEM_OPEN_DISK		disk
#define RMEM_RELEASE_ARGS	struct gendisk *disk
#else
#define RMEM_OPEN_ARGS		struct block_device *bdev, fmode_t mode
#define RMEM_OPEN_DISK		bdev->bd_disk
#define RMEM_RELEASE_ARGS	struct gendisk *disk, fmode_t mode
#endif

#endif /* _RMEM_COMPAT_H */
