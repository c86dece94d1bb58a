// SPDX-License-Identifier: GPL-2.0
/*
 * rmem module entry: parameters, the work queue every background job runs
 * on, the ib_client that hears about RDMA device removal, and the netlink
 * family through which devices are made.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/genetlink.h>

#include "rmem.h"

unsigned int rmem_io_timeout = 30;
module_param_named(io_timeout, rmem_io_timeout, uint, 0444);
MODULE_PARM_DESC(io_timeout,
		 "Seconds before a request fails (timeout or waiting for a reconnecting donor), default 30");

unsigned int rmem_queue_depth = 64;
module_param_named(queue_depth, rmem_queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth, "Requests per hardware queue (1-1024), default 64");

unsigned int rmem_poll_queues;
module_param_named(poll_queues, rmem_poll_queues, uint, 0444);
MODULE_PARM_DESC(poll_queues,
		 "Hardware queues for polled I/O (io_uring IOPOLL, RWF_HIPRI), whose completions the submitter reaps instead of an interrupt; at most one per CPU, default 0");

unsigned int rmem_donor_timeout = 60;
module_param_named(donor_timeout, rmem_donor_timeout, uint, 0644);
MODULE_PARM_DESC(donor_timeout,
		 "Seconds a donor may stay unreachable before its replicas that have an in-sync copy elsewhere are declared lost and replaced (a last copy is never given up), default 60");

unsigned int rmem_resync_rate = 200;
module_param_named(resync_rate, rmem_resync_rate, uint, 0644);
MODULE_PARM_DESC(resync_rate,
		 "Resync bandwidth limit in MB/s per device (0: unlimited), default 200");

struct workqueue_struct *rmem_wq;

static void rmem_ib_remove_one(struct ib_device *ibdev, void *client_data)
{
	rmem_devs_ib_remove(ibdev);
}

static struct ib_client rmem_ib_client = {
	.name	= "rmem",
	.remove	= rmem_ib_remove_one,
};

static int __init rmem_init(void)
{
	int ret;

	if (!rmem_io_timeout || rmem_io_timeout > 3600) {
		pr_err("rmem: io_timeout must be 1..3600 seconds\n");
		return -EINVAL;
	}
	if (!rmem_donor_timeout) {
		pr_err("rmem: donor_timeout must be at least 1 second\n");
		return -EINVAL;
	}
	if (!rmem_queue_depth || rmem_queue_depth > 1024) {
		pr_err("rmem: queue_depth must be 1..1024\n");
		return -EINVAL;
	}

	/* Recovery and reconnect run while swap may be waiting on us. */
	rmem_wq = alloc_workqueue("rmem", WQ_MEM_RECLAIM, 0);
	if (!rmem_wq)
		return -ENOMEM;

	ret = ib_register_client(&rmem_ib_client);
	if (ret)
		goto out_destroy_wq;

	ret = rmem_nl_init();
	if (ret)
		goto out_unregister_client;

	pr_info("rmem: loaded (io_timeout=%us queue_depth=%u poll_queues=%u donor_timeout=%us resync_rate=%uMB/s)\n",
		rmem_io_timeout, rmem_queue_depth, rmem_poll_queues,
		rmem_donor_timeout, rmem_resync_rate);
	return 0;

out_unregister_client:
	ib_unregister_client(&rmem_ib_client);
out_destroy_wq:
	destroy_workqueue(rmem_wq);
	return ret;
}

static void __exit rmem_exit(void)
{
	/* Every device holds a module reference, so none is left here. */
	rmem_nl_exit();
	ib_unregister_client(&rmem_ib_client);
	destroy_workqueue(rmem_wq);
	idr_destroy(&rmem_devs_idr);
}

module_init(rmem_init);
module_exit(rmem_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("rmem: block device backed by remote memory over RDMA");
MODULE_VERSION(RMEM_VERSION);
MODULE_ALIAS_GENL_FAMILY(RMEM_GENL_NAME);
