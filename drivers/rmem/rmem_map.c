// SPDX-License-Identifier: GPL-2.0
/*
 * The device's map: byte offset -> slab -> replicas, and per slab the
 * bitmap of pages that read as zeros (never written, or discarded) so such
 * reads need no round trip to the donor.
 */
#include <linux/bitmap.h>
#include <linux/math64.h>
#include <linux/slab.h>

#include "rmem.h"

int rmem_map_init(struct rmem_map *map, u64 size, u64 slab_size)
{
	u32 i;

	map->slab_size = slab_size;
	map->nr_slabs = div64_u64(size + slab_size - 1, slab_size);
	map->pages_per_slab = div_u64(slab_size, RMEM_SECTOR_SIZE);
	map->slabs = kvcalloc(map->nr_slabs, sizeof(*map->slabs), GFP_KERNEL);
	if (!map->slabs)
		return -ENOMEM;

	for (i = 0; i < map->nr_slabs; i++) {
		struct rmem_slab *slab = &map->slabs[i];

		slab->index = i;
		spin_lock_init(&slab->zlock);
		spin_lock_init(&slab->lock);
		slab->zero_map = bitmap_zalloc(map->pages_per_slab, GFP_KERNEL);
		if (!slab->zero_map) {
			rmem_map_free(map);
			return -ENOMEM;
		}
		/* A fresh slab has no data of ours: it reads as zeros. */
		bitmap_fill(slab->zero_map, map->pages_per_slab);
	}
	return 0;
}

void rmem_map_free(struct rmem_map *map)
{
	u32 i;

	if (!map->slabs)
		return;
	for (i = 0; i < map->nr_slabs; i++) {
		struct rmem_slab *slab = &map->slabs[i];
		unsigned int j;

		bitmap_free(slab->zero_map);
		for (j = 0; j < RMEM_MAX_REPLICAS; j++)
			bitmap_free(slab->r[j].stale);
	}
	kvfree(map->slabs);
	map->slabs = NULL;
}

struct rmem_slab *rmem_map_lookup(struct rmem_map *map, u64 pos, u64 *off)
{
	u64 idx = div64_u64_rem(pos, map->slab_size, off);

	if (unlikely(idx >= map->nr_slabs))
		return NULL;
	return &map->slabs[idx];
}

/* True when every page of [off, off + len) in @slab reads as zeros. */
bool rmem_map_range_zero(struct rmem_map *map, struct rmem_slab *slab,
			 u64 off, u32 len)
{
	unsigned long first = off >> RMEM_PAGE_SHIFT;
	unsigned long last = (off + len - 1) >> RMEM_PAGE_SHIFT;
	unsigned long bit;

	spin_lock(&slab->zlock);
	bit = find_next_zero_bit(slab->zero_map, last + 1, first);
	spin_unlock(&slab->zlock);
	return bit > last;
}

void rmem_map_mark_written(struct rmem_map *map, struct rmem_slab *slab,
			   u64 off, u32 len)
{
	unsigned long first = off >> RMEM_PAGE_SHIFT;
	unsigned long last = (off + len - 1) >> RMEM_PAGE_SHIFT;

	spin_lock(&slab->zlock);
	bitmap_clear(slab->zero_map, first, last - first + 1);
	spin_unlock(&slab->zlock);
}

/* Mark whole pages of [pos, pos + len) as zeros; may span several slabs. */
void rmem_map_discard(struct rmem_map *map, u64 pos, u64 len)
{
	while (len) {
		u64 off;
		struct rmem_slab *slab = rmem_map_lookup(map, pos, &off);
		u64 n = min(len, map->slab_size - off);
		unsigned long first = DIV_ROUND_UP(off, RMEM_SECTOR_SIZE);
		unsigned long end = (off + n) >> RMEM_PAGE_SHIFT;

		if (!slab)
			return;
		if (end > first) {
			spin_lock(&slab->zlock);
			bitmap_set(slab->zero_map, first, end - first);
			spin_unlock(&slab->zlock);
		}
		pos += n;
		len -= n;
	}
}

/* Set the bits of the pages of [off, off + len), counting new ones. */
void rmem_map_mark(struct rmem_map *map, unsigned long *bits, u32 *count,
		   u64 off, u32 len)
{
	unsigned long p = off >> RMEM_PAGE_SHIFT;
	unsigned long last = (off + len - 1) >> RMEM_PAGE_SHIFT;

	for (; p <= last && p < map->pages_per_slab; p++)
		if (!__test_and_set_bit(p, bits))
			(*count)++;
}

/*
 * A slab is as good as its replicas: FAILED with no in-sync copy left,
 * RECONNECTING when no in-sync copy is reachable, LIVE when every copy is
 * in sync and reachable, else DEGRADED (RESYNCING while one is copied).
 */
int rmem_slab_state(const struct rmem_slab *slab)
{
	unsigned int i, insync = 0, up = 0;
	bool resyncing = false;

	for (i = 0; i < slab->nr_replicas; i++) {
		const struct rmem_replica *r = &slab->r[i];
		int s = READ_ONCE(r->state);

		if (s == RMEM_REPLICA_IN_SYNC) {
			insync++;
			if (rmem_donor_live(r->donor))
				up++;
		} else if (s == RMEM_REPLICA_RESYNCING) {
			resyncing = true;
		}
	}
	if (!insync)
		return RMEM_SLAB_FAILED;
	if (!up)
		return RMEM_SLAB_RECONNECTING;
	if (up == slab->nr_replicas)
		return RMEM_SLAB_LIVE;
	return resyncing ? RMEM_SLAB_RESYNCING : RMEM_SLAB_DEGRADED;
}
