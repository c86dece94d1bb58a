// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU counters of devices and donors (rmem.h): bumped without a
 * shared cache line on the I/O path, summed when netlink reads them.
 */
#include <linux/percpu.h>

#include "rmem.h"

int rmem_stats_init(struct rmem_stats *s)
{
	s->pc = alloc_percpu(struct rmem_stats_cpu);
	return s->pc ? 0 : -ENOMEM;
}

void rmem_stats_free(struct rmem_stats *s)
{
	free_percpu(s->pc);
	s->pc = NULL;
}

u64 rmem_stat_read(struct rmem_stats *s, enum rmem_stat i)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(s->pc, cpu)->v[i];
	return sum;
}
