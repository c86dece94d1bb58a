/* SPDX-License-Identifier: MIT */
/*
 * Durable state of rmem-controllerd behind a small ops table, so the
 * cluster logic does not depend on one database.  The implementation in
 * use is SQLite (storage_sqlite.c).
 *
 * Every change the API acknowledges is made between begin() and commit(),
 * and commit() returns only once the change is on stable storage: the
 * controller replies to a client only after that, so a crash at any moment
 * loses no acknowledged change.  Heartbeat times and free counts are soft
 * state and are not stored: after a restart every donor gets a fresh
 * heartbeat deadline.
 */
#ifndef RMEM_CONTROLLER_STORAGE_H
#define RMEM_CONTROLLER_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_ADDR_MAX	256
#define STORAGE_ZONE_MAX	64

enum storage_donor_state {
	STORAGE_DONOR_UP = 0,
	STORAGE_DONOR_DOWN = 1,
};

struct storage_donor {
	uint32_t	id;		/* assigned by donor_insert() */
	char		addr[STORAGE_ADDR_MAX];
	uint64_t	instance_id;
	uint64_t	slab_size;
	uint32_t	total_slabs;
	char		zone[STORAGE_ZONE_MAX];
	enum storage_donor_state state;
	int64_t		registered;	/* unix seconds */
	/* Unix ms it was marked down, 0 while up: when its replicas'
	 * trouble began, if they turn out lost. */
	int64_t		down_since_ms;
};

struct storage_replica {
	uint32_t	slab_index;	/* which slab of the allocation */
	uint32_t	replica;	/* which copy of that slab */
	uint32_t	donor_id;
	uint32_t	slab_id;	/* slab index on the donor */
	uint64_t	instance_id;	/* donor run the grant is bound to */
	bool		lost;
	/*
	 * Re-protection.  generation is 1 at allocation and goes up by one
	 * each time the slot gets a new slab.  Times are unix ms, 0 if none:
	 * lost_at_ms when the slot lost its copy (kept while the replacement
	 * resyncs, so that loss -> resynced can be measured), replaced_at_ms
	 * the last replacement, resynced_at_ms the client's report that the
	 * replacement holds the data (resync_bytes copied).
	 */
	uint32_t	generation;
	int64_t		lost_at_ms;
	int64_t		replaced_at_ms;
	int64_t		resynced_at_ms;
	uint64_t	resync_bytes;
};

struct storage_alloc {
	uint64_t	id;		/* assigned by alloc_insert() */
	uint8_t		client_id[16];
	uint64_t	bytes;
	uint32_t	nslabs;
	uint32_t	replicas;
	int64_t		created;	/* unix seconds */
	/* nslabs * replicas entries, slab-major */
	struct storage_replica *reps;
};

struct storage_event {
	uint64_t	id;
	int64_t		time;		/* unix seconds */
	uint32_t	donor_id;	/* 0 if none */
	char		kind[32];
	char		message[256];
};

struct storage;

struct storage_ops {
	int (*begin)(struct storage *st);
	/* Durable when it returns 0. */
	int (*commit)(struct storage *st);
	void (*rollback)(struct storage *st);

	int (*donor_insert)(struct storage *st, struct storage_donor *d);
	/* Rewrites every field but id. */
	int (*donor_update)(struct storage *st, const struct storage_donor *d);
	int (*donor_delete)(struct storage *st, uint32_t id);
	/*
	 * Marks every live replica on the donor lost at @when_ms (a slot
	 * whose replacement is still resyncing keeps its earlier loss
	 * time); *@n gets the count.
	 */
	int (*donor_lose_replicas)(struct storage *st, uint32_t donor_id,
				   int64_t when_ms, uint32_t *n);

	/* Stores the allocation and its replicas; assigns a->id. */
	int (*alloc_insert)(struct storage *st, struct storage_alloc *a);
	int (*alloc_delete)(struct storage *st, uint64_t id);
	/* Rewrites the slot (@r->slab_index, @r->replica) of allocation @id. */
	int (*replica_update)(struct storage *st, uint64_t id,
			      const struct storage_replica *r);
	/* Keeps @r, a slab the slot no longer uses, in the history. */
	int (*replica_retire)(struct storage *st, uint64_t id,
			      const struct storage_replica *r,
			      int64_t at_ms, const char *why);
	/* Durable counters for /metrics: adds @delta to counter @name. */
	int (*counter_add)(struct storage *st, const char *name,
			   uint64_t delta);

	int (*event_add)(struct storage *st, uint32_t donor_id,
			 const char *kind, const char *message);

	/* Loading at start; callbacks return 0 to go on. */
	int (*load_donors)(struct storage *st,
			   int (*cb)(void *arg, const struct storage_donor *d),
			   void *arg);
	int (*load_allocs)(struct storage *st,
			   int (*cb)(void *arg, const struct storage_alloc *a),
			   void *arg);
	int (*load_counters)(struct storage *st,
			     int (*cb)(void *arg, const char *name,
				       uint64_t value),
			     void *arg);
	/* The @limit most recent events, oldest first. */
	int (*list_events)(struct storage *st, unsigned int limit,
			   int (*cb)(void *arg, const struct storage_event *e),
			   void *arg);

	/* Last error message, for logs and error replies. */
	const char *(*errmsg)(struct storage *st);
	void (*close)(struct storage *st);
};

struct storage {
	const struct storage_ops *ops;
};

/* Opens (creating if needed) the SQLite database at @path. */
struct storage *storage_sqlite_open(const char *path, char *err,
				    size_t errlen);

#endif /* RMEM_CONTROLLER_STORAGE_H */
