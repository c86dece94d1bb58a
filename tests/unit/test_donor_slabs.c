// SPDX-License-Identifier: MIT
/* The donor's slab pool (server/donor/slabs.c) on real pinned memory. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "slabs.h"
#include "tap.h"

#define SLAB	(64u * 1024)

static const uint8_t cid_a[16] = { 0xa };
static const uint8_t cid_b[16] = { 0xb };

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	struct slab_pool pool;
	struct slab *s0, *s1, *s, *x;
	int rc;

	ok(slab_pool_init(&pool, 3 * SLAB + 4096, SLAB, SLAB_BACKING_NORMAL) == -EINVAL,
	   "total not a multiple of the slab size is refused");
	ok(slab_pool_init(&pool, 0, SLAB, SLAB_BACKING_NORMAL) == -EINVAL,
	   "zero total is refused");
	ok(slab_pool_init(&pool, 4 * SLAB, 0, SLAB_BACKING_NORMAL) == -EINVAL,
	   "zero slab size is refused");
	ok(slab_pool_init(&pool, 4 * 1000, 1000, SLAB_BACKING_NORMAL) == -EINVAL,
	   "slab size not a multiple of the page size is refused");

	rc = slab_pool_init(&pool, 4 * SLAB, SLAB, SLAB_BACKING_AUTO);
	ok(rc == 0, "pool of 4 x 64 KiB with automatic backing (rc %d, %s pages)",
	   rc, pool.hugepages ? "huge" : "normal");
	if (rc)
		return tap_done("test_donor_slabs");
	ok(pool.count == 4 && pool.nfree == 4 && pool.slab_size == SLAB,
	   "4 slabs, all free");
	ok((uint8_t *)pool.slabs[3]->addr == (uint8_t *)pool.maps[0].base + 3 * SLAB,
	   "slabs are laid out back to back");

	rc = slab_alloc(&pool, cid_a, RMEM_SLAB_ANY, &s0);
	ok(rc == 0 && s0->id == 0 && s0->generation == 1 && pool.nfree == 3,
	   "first ANY allocation gets slab 0 generation 1");
	ok(all_zero(s0->addr, SLAB), "a fresh slab reads as zeros");
	memset(s0->addr, 0x5a, SLAB);

	rc = slab_alloc(&pool, cid_b, 2, &s1);
	ok(rc == 0 && s1->id == 2 && s1->generation == 1, "specific slab 2 for B");
	ok(slab_alloc(&pool, cid_a, 2, &x) == -ENOSPC,
	   "asking for a slab that is taken gives -ENOSPC");
	ok(slab_alloc(&pool, cid_a, 4, &x) == -ENOENT,
	   "asking for a slab id past the end gives -ENOENT");
	ok(slab_count_owned(&pool, cid_a) == 1 && slab_count_owned(&pool, cid_b) == 1,
	   "ownership counted per client");

	ok(slab_lookup_owned(&pool, cid_a, 0, 1, &s) == 0 && s == s0,
	   "owner finds its slab by id and generation");
	ok(slab_lookup_owned(&pool, cid_a, 0, 2, &s) == -ESTALE,
	   "wrong generation gives -ESTALE");
	ok(slab_lookup_owned(&pool, cid_b, 0, 1, &s) == -EPERM,
	   "another client's slab gives -EPERM");
	ok(slab_lookup_owned(&pool, cid_a, 1, 0, &s) == -ENOENT,
	   "a free slab gives -ENOENT");
	ok(slab_lookup_owned(&pool, cid_a, 99, 1, &s) == -ENOENT,
	   "an unknown id gives -ENOENT");
	ok(slab_lookup_owned(&pool, cid_a, RMEM_SLAB_ANY, 1, &s) == -ENOENT,
	   "RMEM_SLAB_ANY is no slab id");

	slab_release(&pool, s0);
	ok(pool.nfree == 3 && !s0->assigned, "release returns the slab");
	ok(slab_lookup_owned(&pool, cid_a, 0, 1, &s) == -ENOENT,
	   "a released slab is no longer found");

	rc = slab_alloc(&pool, cid_b, RMEM_SLAB_ANY, &s);
	ok(rc == 0 && s == s0 && s->generation == 2,
	   "the slab is handed out again with generation 2");
	ok(all_zero(s->addr, SLAB), "a reused slab was zeroed (no data leaks to B)");
	ok(slab_lookup_owned(&pool, cid_a, 0, 1, &x) == -EPERM,
	   "A's old (id, generation) now names B's slab: -EPERM");
	ok(slab_lookup_owned(&pool, cid_b, 0, 1, &x) == -ESTALE,
	   "B with the old generation gets -ESTALE");

	rc = slab_alloc(&pool, cid_a, RMEM_SLAB_ANY, &x);
	ok(rc == 0 && x->id == 1, "ANY takes the lowest free slab");
	rc = slab_alloc(&pool, cid_a, RMEM_SLAB_ANY, &x);
	ok(rc == 0 && x->id == 3, "and then the next");
	ok(slab_alloc(&pool, cid_a, RMEM_SLAB_ANY, &x) == -ENOSPC && pool.nfree == 0,
	   "an exhausted pool gives -ENOSPC");

	slab_pool_fini(&pool);
	ok(pool.maps == NULL && pool.slabs == NULL, "fini unmaps and forgets");

	rc = slab_pool_init(&pool, 2 * SLAB, SLAB, SLAB_BACKING_NORMAL);
	ok(rc == 0 && !pool.hugepages, "normal backing on request");

	/* Growing and shrinking: ids stay 0..count-1, holders stay valid. */
	rc = slab_alloc(&pool, cid_a, 1, &s0);
	ok(rc == 0 && s0->id == 1, "slab 1 held before growing");
	memset(s0->addr, 0x77, SLAB);
	ok(slab_pool_grow(&pool, SLAB + 1) == -EINVAL && pool.count == 2,
	   "growing by a non-multiple of the slab size is refused");
	rc = slab_pool_grow(&pool, 3 * SLAB);
	ok(rc == 0 && pool.count == 5 && pool.nfree == 4 && pool.nmaps == 2,
	   "grow by 3 slabs: a second mapping, 5 slabs, 4 free (rc %d)", rc);
	ok(pool.slabs[1] == s0 && ((uint8_t *)s0->addr)[SLAB - 1] == 0x77,
	   "a slab held across growth keeps its address and data");
	ok(pool.slabs[4]->id == 4 && all_zero(pool.slabs[4]->addr, SLAB),
	   "new slabs are numbered on and read as zeros");
	rc = slab_alloc(&pool, cid_b, 3, &s1);
	ok(rc == 0, "slab 3 (in the new mapping) handed out");
	ok(slab_pool_shrink(&pool, UINT32_MAX) == 1 && pool.count == 4 &&
	   pool.nfree == 2 && pool.slabs[4]->retired && pool.nmaps == 2,
	   "shrink gives back only the free slab above the highest held one");
	ok(slab_alloc(&pool, cid_b, 4, &x) == -ENOENT &&
	   slab_lookup_owned(&pool, cid_b, 4, 0, &x) == -ENOENT,
	   "a retired slab id is neither handed out nor found");
	slab_release(&pool, s1);
	ok(slab_pool_shrink(&pool, 1) == 1 && pool.count == 3 && pool.nfree == 2,
	   "shrink by at most one slab gives back one");
	ok(slab_pool_shrink(&pool, UINT32_MAX) == 1 && pool.count == 2 &&
	   pool.nmaps == 1 && pool.nslabs == 2,
	   "the whole second mapping is unmapped once all its slabs are back");
	ok(slab_pool_shrink(&pool, UINT32_MAX) == 0 && pool.count == 2,
	   "slab 1 is held: slab 0 below it stays");
	slab_release(&pool, s0);
	ok(slab_pool_shrink(&pool, 1) == 1 && pool.count == 1 && pool.nslabs == 2 &&
	   pool.slabs[1]->retired, "a slab of a partly kept mapping is retired");
	rc = slab_pool_grow(&pool, 2 * SLAB);
	ok(rc == 0 && pool.count == 3 && !pool.slabs[1]->retired &&
	   pool.nmaps == 2 && pool.slabs[2]->id == 2,
	   "growing revives the retired slab before mapping more");
	rc = slab_alloc(&pool, cid_a, 1, &s);
	ok(rc == 0 && all_zero(s->addr, SLAB), "a revived slab reads as zeros");
	slab_pool_fini(&pool);
	return tap_done("test_donor_slabs");
}
