// SPDX-License-Identifier: MIT
#include "slabs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

/* Huge page size of the default pool, from /proc/meminfo; 2 MiB if unknown. */
static size_t default_hugepage_size(void)
{
	size_t kib = 2048;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return kib << 10;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %zu kB", &kib) == 1)
			break;
	fclose(f);
	return kib << 10;
}

static void *map_region(size_t len, bool huge)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	void *p;

	if (huge)
		flags |= MAP_HUGETLB;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Room for @n slab pointers and one more mapping; 0 or -ENOMEM. */
static int reserve(struct slab_pool *pool, uint32_t n)
{
	struct slab_map *maps;

	if (n > pool->cap) {
		uint32_t cap = pool->cap ? pool->cap : 16;
		struct slab **slabs;

		while (cap < n)
			cap = cap > UINT32_MAX / 2 ? n : cap * 2;
		slabs = realloc(pool->slabs, (size_t)cap * sizeof(*slabs));
		if (!slabs)
			return -ENOMEM;
		pool->slabs = slabs;
		pool->cap = cap;
	}
	maps = realloc(pool->maps, (pool->nmaps + 1) * sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	pool->maps = maps;
	return 0;
}

/* Map, populate and lock @len bytes per pool->backing; 0 or -errno. */
static int map_locked(struct slab_pool *pool, uint64_t len, struct slab_map *m)
{
	int err;

	memset(m, 0, sizeof(*m));
	if (pool->backing != SLAB_BACKING_NORMAL) {
		size_t hp = default_hugepage_size();

		m->len = (size_t)((len + hp - 1) / hp * hp);
		m->base = map_region(m->len, true);
		if (m->base) {
			m->hugepages = true;
		} else if (pool->backing == SLAB_BACKING_HUGE) {
			return -errno;
		} else if (!pool->nmaps) {
			log_info("huge pages unavailable (%s): using normal pages",
				 strerror(errno));
		}
	}
	if (!m->base) {
		m->len = (size_t)len;
		m->base = map_region(m->len, false);
		if (!m->base)
			return -errno;
	}
	/* Pinned for good: a donor whose lent memory swaps is no donor. */
	if (mlock(m->base, m->len) < 0) {
		err = -errno;
		munmap(m->base, m->len);
		return err;
	}
	return 0;
}

int slab_pool_init(struct slab_pool *pool, uint64_t total, uint64_t slab_size,
		   enum slab_backing backing)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int err;

	memset(pool, 0, sizeof(*pool));
	if (!slab_size || slab_size % page)
		return -EINVAL;
	pool->slab_size = slab_size;
	pool->backing = backing;
	err = slab_pool_grow(pool, total);
	if (err) {
		slab_pool_fini(pool);
		return err;
	}
	pool->hugepages = pool->maps[0].hugepages;
	return 0;
}

void slab_pool_fini(struct slab_pool *pool)
{
	for (uint32_t i = 0; i < pool->nmaps; i++)
		munmap(pool->maps[i].base, pool->maps[i].len);
	for (uint32_t i = 0; i < pool->nslabs; i++)
		free(pool->slabs[i]);
	free(pool->slabs);
	free(pool->maps);
	memset(pool, 0, sizeof(*pool));
}

int slab_pool_grow(struct slab_pool *pool, uint64_t bytes)
{
	uint32_t count = pool->count, revive, fresh;
	uint64_t want;
	struct slab_map m;
	int err;

	if (!bytes || bytes % pool->slab_size)
		return -EINVAL;
	want = bytes / pool->slab_size;
	/* Slab ids are u32 and RMEM_SLAB_ANY is reserved. */
	if (want >= RMEM_SLAB_ANY - count || bytes > SIZE_MAX)
		return -EINVAL;
	revive = pool->nslabs - count;
	if (revive > want)
		revive = (uint32_t)want;
	fresh = (uint32_t)want - revive;

	/* Retired slabs first: lock them again, which faults them in. */
	for (uint32_t i = 0; i < revive; i++) {
		struct slab *s = pool->slabs[count + i];

		if (mlock(s->addr, pool->slab_size) < 0) {
			err = -errno;
			for (uint32_t j = 0; j < i; j++)
				munlock(pool->slabs[count + j]->addr, pool->slab_size);
			return err;
		}
	}
	if (fresh) {
		uint32_t first = pool->nslabs;

		err = reserve(pool, first + fresh);
		if (!err)
			err = map_locked(pool, (uint64_t)fresh * pool->slab_size, &m);
		for (uint32_t i = 0; !err && i < fresh; i++) {
			struct slab *s = calloc(1, sizeof(*s));

			if (!s) {
				for (uint32_t j = 0; j < i; j++)
					free(pool->slabs[first + j]);
				munmap(m.base, m.len);
				err = -ENOMEM;
				break;
			}
			s->id = first + i;
			s->addr = (uint8_t *)m.base + (size_t)i * pool->slab_size;
			pool->slabs[first + i] = s;
		}
		if (err) {
			for (uint32_t j = 0; j < revive; j++)
				munlock(pool->slabs[count + j]->addr, pool->slab_size);
			return err;
		}
		m.first = first;
		m.nslabs = fresh;
		pool->maps[pool->nmaps++] = m;
		pool->nslabs += fresh;
	}
	for (uint32_t i = 0; i < revive; i++) {
		/* dirty stays as it was: a reused slab is still cleared. */
		pool->slabs[count + i]->retired = false;
	}
	pool->nfree += (uint32_t)want;
	pool->count = count + (uint32_t)want;
	return 0;
}

uint32_t slab_pool_shrink(struct slab_pool *pool, uint32_t max_slabs)
{
	uint32_t count = pool->count, n = 0;

	while (n < max_slabs && count > 0 && !pool->slabs[count - 1]->assigned) {
		struct slab *s = pool->slabs[count - 1];

		/* Unlocked and dropped: the host has the memory back. */
		if (munlock(s->addr, pool->slab_size) < 0 ||
		    madvise(s->addr, pool->slab_size, MADV_DONTNEED) < 0)
			log_warn("returning slab %u: %s", s->id, strerror(errno));
		s->retired = true;
		count--;
		n++;
	}
	pool->nfree -= n;
	pool->count = count;

	/* Mappings whose slabs are all retired go as a whole (the last ones). */
	while (pool->nmaps && pool->maps[pool->nmaps - 1].first >= count) {
		struct slab_map *m = &pool->maps[pool->nmaps - 1];

		munmap(m->base, m->len);
		for (uint32_t i = m->first; i < m->first + m->nslabs; i++)
			free(pool->slabs[i]);
		pool->nslabs = m->first;
		pool->nmaps--;
	}
	return n;
}

int slab_alloc(struct slab_pool *pool, const uint8_t *client_id,
	       uint32_t want, struct slab **out)
{
	struct slab *slab = NULL;

	if (want == RMEM_SLAB_ANY) {
		for (uint32_t i = 0; i < pool->count; i++) {
			if (!pool->slabs[i]->assigned) {
				slab = pool->slabs[i];
				break;
			}
		}
		if (!slab)
			return -ENOSPC;
	} else {
		if (want >= pool->count)
			return -ENOENT;
		slab = pool->slabs[want];
		if (slab->assigned)
			return -ENOSPC;
	}

	/*
	 * Fresh anonymous memory is already zero; only a slab that some
	 * client had before needs clearing, and it must never leak.
	 */
	if (slab->dirty)
		memset(slab->addr, 0, pool->slab_size);
	slab->dirty = true;
	slab->assigned = true;
	slab->generation++;
	if (slab->generation == 0)
		slab->generation = 1;	/* 0 means "never handed out" */
	memcpy(slab->owner, client_id, RMEM_CLIENT_ID_LEN);
	slab->mr = NULL;
	pool->nfree--;
	*out = slab;
	return 0;
}

int slab_lookup_owned(struct slab_pool *pool, const uint8_t *client_id,
		      uint32_t id, uint32_t generation, struct slab **out)
{
	struct slab *slab;

	if (id >= pool->count)
		return -ENOENT;
	slab = pool->slabs[id];
	if (!slab->assigned)
		return -ENOENT;
	if (memcmp(slab->owner, client_id, RMEM_CLIENT_ID_LEN))
		return -EPERM;
	if (slab->generation != generation)
		return -ESTALE;
	*out = slab;
	return 0;
}

void slab_release(struct slab_pool *pool, struct slab *slab)
{
	slab->assigned = false;
	memset(slab->owner, 0, sizeof(slab->owner));
	slab->mr = NULL;
	pool->nfree++;
}

uint32_t slab_count_owned(const struct slab_pool *pool,
			  const uint8_t *client_id)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < pool->count; i++)
		if (pool->slabs[i]->assigned &&
		    !memcmp(pool->slabs[i]->owner, client_id, RMEM_CLIENT_ID_LEN))
			n++;
	return n;
}
