// SPDX-License-Identifier: GPL-2.0
/* Not a feature: what every supported kernel has.  If this fails to
 * compile, the probe environment is broken (headers, compiler), and no
 * other probe's failure would mean anything. */
#include <linux/blk-mq.h>
#include <net/genetlink.h>
#include <rdma/rdma_cm.h>

int rmem_probe(struct blk_mq_tag_set *set);
int rmem_probe(struct blk_mq_tag_set *set)
{
	return blk_mq_alloc_tag_set(set);
}
