/* SPDX-License-Identifier: MIT */
/*
 * The controller's cluster state: the donor registry, the slab allocator
 * and their durable copy, kept in step under one lock.  Every mutation is
 * decided, stored and committed, and only then applied in memory and
 * acknowledged; on any error nothing changes.
 *
 * Results are JSON objects (json-c) ready for the HTTP layer, which only
 * parses requests and sends replies.
 */
#ifndef RMEM_CONTROLLER_CLUSTER_H
#define RMEM_CONTROLLER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"
#include "storage.h"

/* Missed heartbeats after which a donor is marked down. */
#define CLUSTER_MISSED_HEARTBEATS	5
/* Largest allocation, in slabs: bounds the size of one reply. */
#define CLUSTER_MAX_ALLOC_SLABS		65536
/* Largest donor, in slabs. */
#define CLUSTER_MAX_DONOR_SLABS		(1u << 24)

enum cluster_status {
	CLUSTER_OK = 0,
	CLUSTER_CREATED,	/* OK, and a new object was made */
	CLUSTER_BAD_REQUEST,
	CLUSTER_NOT_FOUND,
	CLUSTER_CONFLICT,	/* clashes with the cluster's state or shape */
	CLUSTER_QUOTA,
	CLUSTER_NO_SPACE,	/* not enough free slabs right now */
	CLUSTER_UNAVAILABLE,	/* no donor can take it now: retry later */
	CLUSTER_INTERNAL,	/* storage failure: nothing was changed */
};

struct cluster_params {
	uint64_t	slab_size;
	unsigned int	default_replicas;
	/* default_replicas came from rmem.conf; else 2 when two up donors
	 * in distinct zones can keep the copies apart, 1 otherwise */
	bool		default_replicas_set;
	unsigned int	heartbeat_interval_ms;
	/* quotas: [quotas] and default_quota; must outlive the cluster */
	const struct rmem_config *config;
	const uint8_t	*token;		/* grant key; must outlive the cluster */
	size_t		token_len;
	uint64_t	seed;		/* placement randomness */
};

struct cluster;

/* Takes ownership of @st; loads and checks the stored state. */
struct cluster *cluster_open(struct storage *st,
			     const struct cluster_params *p,
			     char *err, size_t errlen);
void cluster_close(struct cluster *c);

/*
 * Each call returns a status; on success *@reply gets a new JSON object
 * (caller puts it), on failure @msg gets a message for the client.
 */
enum cluster_status cluster_donor_register(struct cluster *c,
		const char *addr, uint64_t instance_id, uint64_t slab_size,
		uint64_t total_slabs, const char *zone,
		json_object **reply, char *msg, size_t msglen);
/* @total_slabs, if given, is the donor's new capacity (it grew or shrank). */
enum cluster_status cluster_donor_heartbeat(struct cluster *c, uint32_t id,
		uint64_t free_slabs, const uint64_t *total_slabs,
		const uint64_t *instance_id,
		json_object **reply, char *msg, size_t msglen);
enum cluster_status cluster_donor_remove(struct cluster *c, uint32_t id,
		json_object **reply, char *msg, size_t msglen);
enum cluster_status cluster_donor_list(struct cluster *c,
		json_object **reply);
enum cluster_status cluster_donor_get(struct cluster *c, uint32_t id,
		json_object **reply, char *msg, size_t msglen);

/* @replicas 0 means the cluster default. */
enum cluster_status cluster_alloc(struct cluster *c,
		const uint8_t client_id[16], uint64_t bytes,
		unsigned int replicas,
		json_object **reply, char *msg, size_t msglen);
enum cluster_status cluster_release(struct cluster *c, uint64_t id,
		json_object **reply, char *msg, size_t msglen);
/* @client_id NULL: all clients. */
enum cluster_status cluster_alloc_list(struct cluster *c,
		const uint8_t *client_id, json_object **reply);
enum cluster_status cluster_alloc_get(struct cluster *c, uint64_t id,
		json_object **reply, char *msg, size_t msglen);

/*
 * Re-protection (reprotect.c), on the slot (@slab, @replica) of allocation
 * @id.  @generation, if not NULL, is the slot's generation as the client
 * knows it: any other means the client's view is stale (CONFLICT).
 *
 * cluster_replace() gives the slot a new slab on another donor, the old
 * one being given up; cluster_resynced() records the client's report that
 * the new slab holds the data (@bytes copied).
 */
enum cluster_status cluster_replace(struct cluster *c, uint64_t id,
		uint64_t slab, uint64_t replica, const uint64_t *generation,
		json_object **reply, char *msg, size_t msglen);
enum cluster_status cluster_resynced(struct cluster *c, uint64_t id,
		uint64_t slab, uint64_t replica, uint64_t bytes,
		const uint64_t *generation,
		json_object **reply, char *msg, size_t msglen);

enum cluster_status cluster_status(struct cluster *c, json_object **reply);
enum cluster_status cluster_events(struct cluster *c, unsigned int limit,
		json_object **reply, char *msg, size_t msglen);

/* Prometheus text exposition; returns a malloc()ed string. */
char *cluster_metrics(struct cluster *c, uint64_t api_errors);

/*
 * Marks donors whose heartbeats stopped as down.  Called periodically;
 * returns how many donors went down.
 */
unsigned int cluster_check_heartbeats(struct cluster *c);

#endif /* RMEM_CONTROLLER_CLUSTER_H */
