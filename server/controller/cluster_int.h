/* SPDX-License-Identifier: MIT */
/*
 * Inside of the cluster state, shared by cluster.c (donors, allocations,
 * status) and reprotect.c (replica replacement, resync reports and their
 * metrics).  Nothing outside those files includes this.
 */
#ifndef RMEM_CONTROLLER_CLUSTER_INT_H
#define RMEM_CONTROLLER_CLUSTER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "allocator.h"
#include "cluster.h"
#include "grant.h"
#include "storage.h"

struct donor_meta {
	uint32_t	id;
	char		addr[STORAGE_ADDR_MAX];
	uint64_t	instance_id;
	uint64_t	slab_size;
	uint32_t	total_slabs;
	char		zone[STORAGE_ZONE_MAX];
	enum storage_donor_state state;
	int64_t		registered;
	int64_t		last_heartbeat_ms;	/* monotonic */
	int64_t		down_since_ms;		/* wall clock; 0 while up */
};

/* What the allocator does not know of a replica: its re-protection. */
struct replica_meta {
	uint64_t	instance_id;		/* donor run it is bound to */
	uint32_t	generation;
	int64_t		lost_at_ms;		/* see struct storage_replica */
	int64_t		replaced_at_ms;
	int64_t		resynced_at_ms;
	uint64_t	resync_bytes;
};

struct alloc_meta {
	uint64_t	id;
	int64_t		created;
	struct replica_meta *reps;	/* nslabs * replicas, slab-major */
};

/* Counters of /metrics, kept in storage (counter_add) across restarts. */
struct reprotect_counters {
	uint64_t	replacements;
	uint64_t	resync_bytes;
	uint64_t	reprotect_count;
	uint64_t	reprotect_ms;
};

struct cluster {
	pthread_mutex_t	lock;
	struct storage	*st;
	struct cluster_params p;
	struct allocator *alloc;
	struct donor_meta *donors;	/* sorted by id, like the allocator's */
	size_t		ndonors;
	struct alloc_meta *allocs;	/* sorted by id */
	size_t		nallocs;
	struct reprotect_counters rc;
};

int64_t cluster_now_ms(void);		/* monotonic */
int64_t cluster_wall_ms(void);		/* unix time */
void cluster_set_msg(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cluster_hex(const uint8_t *in, size_t n, char *out);
struct donor_meta *cluster_donor_meta(struct cluster *c, uint32_t id);
struct alloc_meta *cluster_alloc_meta(struct cluster *c, uint64_t id);
/* The grant of that slab for that client, as 64 hex digits; 0 or -1. */
int cluster_grant_hex(struct cluster *c, const uint8_t client_id[16],
		      uint64_t instance_id, uint32_t slab_id,
		      char out[2 * RMEM_GRANT_LEN + 1]);
/* Rolls the transaction back, logs, and fills @msg; CLUSTER_INTERNAL. */
enum cluster_status cluster_storage_failed(struct cluster *c, const char *what,
					   char *msg, size_t msglen);

/* reprotect.c */
enum replica_state {
	REPLICA_LIVE,
	REPLICA_LOST,
	REPLICA_RESYNCING,	/* replaced, resync not reported yet */
};

enum replica_state replica_state_of(const struct alloc_place *p,
				    const struct replica_meta *rm);
const char *replica_state_name(enum replica_state s);
/* The slot's meta from storage, and back. */
void replica_meta_from(struct replica_meta *rm, const struct storage_replica *r);
/* Mirror of storage's donor_lose_replicas for the replicas in memory. */
void reprotect_donor_lost(struct cluster *c, uint32_t donor_id, int64_t when_ms);
/* When the trouble of the donor's replicas began: now if it is up. */
int64_t reprotect_loss_time(const struct donor_meta *m);
int reprotect_load_counter(void *arg, const char *name, uint64_t value);
/*
 * Prometheus lines of the re-protection metrics, given the replicas now
 * lost or resyncing (@degraded) and resyncing only; malloc()ed.
 */
char *reprotect_metrics(struct cluster *c, uint64_t degraded,
			uint64_t resyncing);

#endif /* RMEM_CONTROLLER_CLUSTER_INT_H */
