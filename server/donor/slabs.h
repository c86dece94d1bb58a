/* SPDX-License-Identifier: MIT */
/*
 * The donated memory: pinned mappings (one per grow step) cut into equal
 * slabs, and who holds each slab.  Slab ids are always 0..count-1: the pool
 * grows at the top and shrinks only from the top (free slabs above the
 * highest assigned one), so the controller and clients never see a hole.
 * Each struct slab is allocated on its own and never moves while it is in
 * the pool, so a struct slab * held elsewhere stays valid across growth.  A slab belongs to a client id, not to a connection,
 * so it survives the client's connections going away; only SLAB_FREE
 * (or the donor's exit) gives it back.  No verbs here: the memory
 * registration of a slab lives in slab->mr but is made by session.c.
 */
#ifndef RMEM_DONOR_SLABS_H
#define RMEM_DONOR_SLABS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rmem/rmem_proto.h>

struct ibv_mr;

struct slab {
	uint32_t id;
	uint32_t generation;	/* bumped on every allocation; 0 = never */
	bool assigned;
	bool dirty;		/* handed out since mapped: zero before reuse */
	uint8_t owner[RMEM_CLIENT_ID_LEN];
	void *addr;
	struct ibv_mr *mr;	/* in the owner's live session PD, or NULL */
	bool retired;		/* memory given back to the host (id >= count) */
};

enum slab_backing {
	SLAB_BACKING_AUTO,	/* huge pages if the kernel has them, else 4K */
	SLAB_BACKING_HUGE,	/* huge pages or fail */
	SLAB_BACKING_NORMAL,
};

/* One pinned mapping: slabs first..first+nslabs-1. */
struct slab_map {
	void *base;
	size_t len;
	uint32_t first;
	uint32_t nslabs;
	bool hugepages;
};

struct slab_pool {
	uint64_t slab_size;
	enum slab_backing backing;
	/* Slabs lent now; the registrar thread reads count and nfree. */
	_Atomic uint32_t count;
	_Atomic uint32_t nfree;
	bool hugepages;		/* the first mapping's page kind */
	/* slabs[0..nslabs-1]: lent ones, then retired ones still mapped. */
	struct slab **slabs;
	uint32_t nslabs;
	uint32_t cap;
	struct slab_map *maps;
	uint32_t nmaps;
};

/*
 * Map, populate and lock @total bytes as @total / @slab_size slabs.
 * 0 or -errno: -EINVAL if the sizes do not fit (zero, not a multiple of
 * the slab size or of the page size, too many slabs), -ENOMEM/-EAGAIN
 * from mmap/mlock.
 */
int slab_pool_init(struct slab_pool *pool, uint64_t total, uint64_t slab_size,
		   enum slab_backing backing);
void slab_pool_fini(struct slab_pool *pool);

/*
 * Lend @bytes more (a positive multiple of the slab size): retired slabs
 * come back first (locked again; they read as zeros), then a new mapping
 * is made.  0 or -errno (-EINVAL bad size or too many slabs, -ENOMEM /
 * -EAGAIN when the memory cannot be had); on error nothing changed.
 */
int slab_pool_grow(struct slab_pool *pool, uint64_t bytes);

/*
 * Give back to the host up to @max_slabs free slabs from the top (all
 * that can go for UINT32_MAX): whole mappings are unmapped, partly freed
 * ones are madvise(MADV_DONTNEED)ed and unlocked.  A free slab below an
 * assigned one stays (ids have no holes).  Returns how many went.
 */
uint32_t slab_pool_shrink(struct slab_pool *pool, uint32_t max_slabs);

/*
 * Give a slab to @client_id: any free one for RMEM_SLAB_ANY, else exactly
 * @want.  Zeroes it if it ever held data and bumps its generation.
 * 0, -ENOSPC (nothing free / that slab is not free), -ENOENT (no such id).
 */
int slab_alloc(struct slab_pool *pool, const uint8_t *client_id,
	       uint32_t want, struct slab **out);

/*
 * Find slab (@id, @generation) held by @client_id, for ATTACH and FREE.
 * 0, -ENOENT (no such id, or not assigned to anyone), -EPERM (held by
 * another client), -ESTALE (held by this client under another generation).
 */
int slab_lookup_owned(struct slab_pool *pool, const uint8_t *client_id,
		      uint32_t id, uint32_t generation, struct slab **out);

/* Return an assigned slab to the free pool (its MR must be gone). */
void slab_release(struct slab_pool *pool, struct slab *slab);

uint32_t slab_count_owned(const struct slab_pool *pool,
			  const uint8_t *client_id);

#endif /* RMEM_DONOR_SLABS_H */
