// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's choices without I/O: which replicas are LOST and, in
 * direct mode (no controller to ask), which donor of the device takes
 * each one.  Fed by a parsed DEV_GET reply, so unit tests need no kernel.
 */
#include <string.h>

#include "agent.h"

void agent_donor_load(const struct rmem_dev_info *info,
		      unsigned int load[RMEM_MAX_DONORS])
{
	unsigned int i, j;

	memset(load, 0, RMEM_MAX_DONORS * sizeof(*load));
	for (i = 0; i < info->nr_slabs; i++) {
		const struct rmem_slab_info *s = &info->slabs[i];

		for (j = 0; j < s->nr_replicas; j++) {
			const struct rmem_replica_info *r = &s->replicas[j];

			/* a lost replica holds no memory any more */
			if (r->state != RMEM_REPLICA_LOST &&
			    r->donor < RMEM_MAX_DONORS)
				load[r->donor]++;
		}
	}
}

/* Whether a replica of @s other than slot @slot is on donor @d */
static bool slab_uses(const struct rmem_slab_info *s, unsigned int slot,
		      unsigned int d)
{
	unsigned int j;

	for (j = 0; j < s->nr_replicas; j++)
		if (j != slot && s->replicas[j].donor == d)
			return true;
	return false;
}

int agent_pick_donor(const struct rmem_dev_info *info,
		     const struct rmem_slab_info *s, unsigned int slot,
		     const unsigned int load[RMEM_MAX_DONORS])
{
	int best = -1;
	unsigned int d;

	for (d = 0; d < info->nr_donors && d < RMEM_MAX_DONORS; d++) {
		if (info->donors[d].state != RMEM_DONOR_LIVE ||
		    slab_uses(s, slot, d))
			continue;
		if (best < 0 || load[d] < load[best])
			best = (int)d;
	}
	return best;
}

static bool has_in_sync(const struct rmem_slab_info *s)
{
	unsigned int j;

	for (j = 0; j < s->nr_replicas; j++)
		if (s->replicas[j].state == RMEM_REPLICA_IN_SYNC)
			return true;
	return false;
}

static void fill_action(const struct rmem_dev_info *info,
			const struct rmem_slab_info *s, unsigned int slot,
			struct agent_action *a)
{
	const struct rmem_replica_info *r = &s->replicas[slot];

	memset(a, 0, sizeof(*a));
	memcpy(a->dev, info->name, sizeof(a->dev));
	a->have_client_id = info->have_client_id;
	memcpy(a->client_id, info->client_id, sizeof(a->client_id));
	a->slab_size = info->slab_size;
	a->slab = s->index;
	a->replica = slot;
	a->old.donor = r->donor;
	a->old.slab_id = r->slab_id;
	a->old.generation = r->generation;
	if (r->donor < info->nr_donors)
		format_endpoint(info->donors[r->donor].addr,
				info->donors[r->donor].port, a->old_ep,
				sizeof(a->old_ep));
	else
		strcpy(a->old_ep, "?");
	a->pick = -1;
}

/*
 * The LOST replicas of one slab into @acts.  @s is the agent's copy:
 * each pick is written into it so that the slab's next LOST slot sees
 * the donor taken.
 */
static unsigned int collect_slab(const struct rmem_dev_info *info,
				 struct rmem_slab_info *s, unsigned int *load,
				 struct agent_action *acts, unsigned int max,
				 unsigned int *n)
{
	unsigned int j, missed = 0;

	for (j = 0; j < s->nr_replicas; j++) {
		struct agent_action *a;

		if (s->replicas[j].state != RMEM_REPLICA_LOST)
			continue;
		if (*n == max) {
			missed++;
			continue;
		}
		a = &acts[(*n)++];
		fill_action(info, s, j, a);
		a->pick = agent_pick_donor(info, s, j, load);
		if (a->pick < 0)
			continue;
		format_endpoint(info->donors[a->pick].addr,
				info->donors[a->pick].port, a->pick_ep,
				sizeof(a->pick_ep));
		load[a->pick]++;
		s->replicas[j].donor = (uint32_t)a->pick;
		s->replicas[j].state = RMEM_REPLICA_STALE;
	}
	return missed;
}

unsigned int agent_collect(const struct rmem_dev_info *info,
			   struct agent_action *acts, unsigned int max,
			   unsigned int *n)
{
	struct rmem_replica_info reps[RMEM_MAX_REPLICAS];
	unsigned int load[RMEM_MAX_DONORS];
	unsigned int i, missed = 0;

	*n = 0;
	if (info->have_state && info->state == RMEM_DEV_DELETING)
		return 0;
	agent_donor_load(info, load);
	for (i = 0; i < info->nr_slabs; i++) {
		struct rmem_slab_info s = info->slabs[i];

		/*
		 * The driver copies a new replica from an in-sync one and
		 * refuses a replacement without (ENODATA): wait until one is
		 * back rather than ask for a slab every scan.  No more slots
		 * than the UAPI's either.
		 */
		if (!has_in_sync(&s) || s.nr_replicas > RMEM_MAX_REPLICAS)
			continue;
		memcpy(reps, s.replicas, s.nr_replicas * sizeof(*reps));
		s.replicas = reps;
		missed += collect_slab(info, &s, load, acts, max, n);
	}
	return missed;
}
