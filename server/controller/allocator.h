/* SPDX-License-Identifier: MIT */
/*
 * Cluster-wide slab allocator of rmem-controllerd: which donor slab each
 * client allocation gets.  Pure bookkeeping, no I/O and no locking, so it
 * can be unit-tested and property-tested on its own.
 *
 * Placement follows Infiniswap: for each replica of each slab, draw two
 * candidate donors at random, weighted by free slabs, and take the one with
 * more free slabs ("power of two choices").  Replicas of one slab never
 * share a donor nor a zone (a donor with no zone is a zone of its own).
 *
 * Changes are made in two steps so that the caller can persist a decision
 * before it becomes visible: allocator_plan() chooses without changing
 * anything but the random state, allocator_commit() applies a plan (or a
 * placement read back from storage) after checking it is still valid.
 */
#ifndef RMEM_CONTROLLER_ALLOCATOR_H
#define RMEM_CONTROLLER_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALLOC_MAX_REPLICAS	3
#define ALLOC_ZONE_MAX		64

enum alloc_err {
	ALLOC_OK = 0,
	ALLOC_EINVAL,		/* bad argument: zero slabs, bad replica count */
	ALLOC_EEXIST,		/* id already in use */
	ALLOC_ENOENT,		/* unknown donor or allocation */
	ALLOC_EBUSY,		/* slab already given / donor still holds slabs */
	ALLOC_EQUOTA,		/* client would exceed its quota */
	ALLOC_ENOSPC,		/* not enough free slabs in the cluster */
	ALLOC_EDOMAIN,		/* not enough distinct donors/zones for replicas */
	ALLOC_ENOMEM,
};

const char *alloc_strerror(enum alloc_err e);

/* Where one replica of one slab lives. */
struct alloc_place {
	uint32_t	donor_id;
	uint32_t	slab_id;	/* index of the slab on the donor */
	bool		lost;		/* donor restarted or left: data gone */
};

/* A read-only view of an allocation, for listing. */
struct alloc_info {
	uint64_t	id;
	uint8_t		client_id[16];
	uint64_t	bytes;
	uint32_t	nslabs;
	uint32_t	replicas;
	/* nslabs * replicas entries: slab i replica r at [i * replicas + r] */
	const struct alloc_place *places;
};

struct alloc_donor_info {
	uint32_t	id;
	const char	*zone;
	uint32_t	total_slabs;
	uint32_t	used_slabs;	/* given out through this allocator */
	uint32_t	reported_free;	/* last free count the donor reported */
	uint32_t	available;	/* what placement may still use */
	bool		up;
};

struct allocator;

struct allocator *allocator_new(uint64_t seed);
void allocator_free(struct allocator *a);

/* Donors.  A new donor is up and reports all its slabs free. */
enum alloc_err allocator_donor_add(struct allocator *a, uint32_t id,
				   const char *zone, uint32_t total_slabs);
/* Marks every replica on the donor lost and returns its slabs to it. */
enum alloc_err allocator_donor_lose(struct allocator *a, uint32_t id,
				    uint32_t *nlost);
/* A donor must hold no live replica to be removed: lose them first. */
enum alloc_err allocator_donor_remove(struct allocator *a, uint32_t id);
/* New capacity and zone; only for a donor with no live replica. */
enum alloc_err allocator_donor_reset(struct allocator *a, uint32_t id,
				     const char *zone, uint32_t total_slabs);
/*
 * The donor lends @total_slabs now (slab ids 0..total_slabs-1).  Growing
 * always works; shrinking fails with ALLOC_EBUSY while a slab at or above
 * the new end is given out.  The reported free count is cut to fit.
 */
enum alloc_err allocator_donor_resize(struct allocator *a, uint32_t id,
				      uint32_t total_slabs);
enum alloc_err allocator_donor_set_up(struct allocator *a, uint32_t id,
				      bool up);
enum alloc_err allocator_donor_set_free(struct allocator *a, uint32_t id,
					uint32_t reported_free);
enum alloc_err allocator_donor_get(const struct allocator *a, uint32_t id,
				   struct alloc_donor_info *out);
size_t allocator_donor_count(const struct allocator *a);
/* i-th donor in id order, for listing. */
void allocator_donor_at(const struct allocator *a, size_t i,
			struct alloc_donor_info *out);

/*
 * Chooses donors and slabs for @nslabs slabs of @replicas replicas each,
 * for @client_id whose quota is @quota_slabs slab-replicas (0 = no limit).
 * Writes nslabs * replicas entries to @out.  Changes nothing but the random
 * state.
 */
enum alloc_err allocator_plan(struct allocator *a, const uint8_t client_id[16],
			      uint32_t nslabs, uint32_t replicas,
			      uint64_t quota_slabs, struct alloc_place *out);

/*
 * Records allocation @id with the given placement.  Checks every live
 * placement names an existing donor, a slab in range, not already given,
 * and that replicas are on distinct donors and zones.  Nothing changes on
 * error.
 */
enum alloc_err allocator_commit(struct allocator *a, uint64_t id,
				const uint8_t client_id[16], uint64_t bytes,
				uint32_t nslabs, uint32_t replicas,
				const struct alloc_place *places);

/* Returns the allocation's live slabs to their donors and forgets it. */
enum alloc_err allocator_release(struct allocator *a, uint64_t id);

/*
 * Re-protection: a new place for replica @replica of slab @slab of
 * allocation @id, whose copy the client lost.  The new slab is on an up
 * donor with a free slab, in a domain (donor, zone) where no other live
 * replica of that slab is, and not on the replica's current donor unless
 * that copy is already marked lost.  Same power-of-two-choices draw as
 * allocator_plan(); changes nothing but the random state.  Errors:
 * ENOENT no such allocation, EINVAL index out of range, ENOSPC no up
 * donor has a free slab, EDOMAIN free slabs exist but none where the
 * replica may go.
 */
enum alloc_err allocator_plan_replace(struct allocator *a, uint64_t id,
				      uint32_t slab, uint32_t replica,
				      struct alloc_place *out);

/*
 * Moves that replica to @place (from allocator_plan_replace() or read back
 * from storage): the old slab goes back to its donor unless it was lost,
 * the new one is taken.  Checks @place as allocator_commit() does;
 * nothing changes on error.  The client's usage does not change.
 */
enum alloc_err allocator_replace(struct allocator *a, uint64_t id,
				 uint32_t slab, uint32_t replica,
				 const struct alloc_place *place);

enum alloc_err allocator_get(const struct allocator *a, uint64_t id,
			     struct alloc_info *out);
size_t allocator_alloc_count(const struct allocator *a);
/* i-th allocation in id order. */
void allocator_alloc_at(const struct allocator *a, size_t i,
			struct alloc_info *out);

/* Slab-replicas held by @client_id (lost ones included: still held). */
uint64_t allocator_client_usage(const struct allocator *a,
				const uint8_t client_id[16]);
size_t allocator_client_count(const struct allocator *a);

/* Sum of available slabs over up donors; sum of slabs given out. */
uint64_t allocator_total_available(const struct allocator *a);
uint64_t allocator_total_used(const struct allocator *a);

#endif /* RMEM_CONTROLLER_ALLOCATOR_H */
