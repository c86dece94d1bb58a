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

int slab_pool_init(struct slab_pool *pool, uint64_t total, uint64_t slab_size,
		   enum slab_backing backing)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t count;
	int err;

	memset(pool, 0, sizeof(*pool));
	if (!slab_size || slab_size % page || !total || total % slab_size)
		return -EINVAL;
	count = total / slab_size;
	/* Slab ids are u32 and RMEM_SLAB_ANY is reserved. */
	if (count >= RMEM_SLAB_ANY || total > SIZE_MAX)
		return -EINVAL;

	pool->slabs = calloc(count, sizeof(*pool->slabs));
	if (!pool->slabs)
		return -ENOMEM;

	if (backing != SLAB_BACKING_NORMAL) {
		size_t hp = default_hugepage_size();

		pool->map_len = (size_t)((total + hp - 1) / hp * hp);
		pool->base = map_region(pool->map_len, true);
		if (pool->base) {
			pool->hugepages = true;
		} else if (backing == SLAB_BACKING_HUGE) {
			err = -errno;
			goto out_free;
		} else {
			log_info("huge pages unavailable (%s): using normal pages",
				 strerror(errno));
		}
	}
	if (!pool->base) {
		pool->map_len = (size_t)total;
		pool->base = map_region(pool->map_len, false);
		if (!pool->base) {
			err = -errno;
			goto out_free;
		}
	}
	/* Pinned for good: a donor whose lent memory swaps is no donor. */
	if (mlock(pool->base, pool->map_len) < 0) {
		err = -errno;
		goto out_unmap;
	}

	pool->slab_size = slab_size;
	pool->count = (uint32_t)count;
	pool->nfree = pool->count;
	for (uint32_t i = 0; i < pool->count; i++) {
		pool->slabs[i].id = i;
		pool->slabs[i].addr = (uint8_t *)pool->base + (size_t)i * slab_size;
	}
	return 0;

out_unmap:
	munmap(pool->base, pool->map_len);
out_free:
	free(pool->slabs);
	memset(pool, 0, sizeof(*pool));
	return err;
}

void slab_pool_fini(struct slab_pool *pool)
{
	if (pool->base)
		munmap(pool->base, pool->map_len);
	free(pool->slabs);
	memset(pool, 0, sizeof(*pool));
}

int slab_alloc(struct slab_pool *pool, const uint8_t *client_id,
	       uint32_t want, struct slab **out)
{
	struct slab *slab = NULL;

	if (want == RMEM_SLAB_ANY) {
		for (uint32_t i = 0; i < pool->count; i++) {
			if (!pool->slabs[i].assigned) {
				slab = &pool->slabs[i];
				break;
			}
		}
		if (!slab)
			return -ENOSPC;
	} else {
		if (want >= pool->count)
			return -ENOENT;
		slab = &pool->slabs[want];
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
	slab = &pool->slabs[id];
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
		if (pool->slabs[i].assigned &&
		    !memcmp(pool->slabs[i].owner, client_id, RMEM_CLIENT_ID_LEN))
			n++;
	return n;
}
