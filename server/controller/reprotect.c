// SPDX-License-Identifier: MIT
/*
 * Re-protection: a client that lost a replica of a slab (its donor died or
 * stayed unreachable) asks for a replacement, copies the data to it in the
 * background, and reports when it is in sync.  The controller places the
 * new slab by the allocator's rules, keeps when each slot lost its copy,
 * was replaced and was resynced, and exports what that took on /metrics.
 *
 * Same order as every mutation in cluster.c: decide, store and commit in
 * one transaction, then apply in memory; on any error nothing changes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "log.h"

enum replica_state replica_state_of(const struct alloc_place *p,
				    const struct replica_meta *rm)
{
	if (p->lost)
		return REPLICA_LOST;
	if (rm->replaced_at_ms && !rm->resynced_at_ms)
		return REPLICA_RESYNCING;
	return REPLICA_LIVE;
}

const char *replica_state_name(enum replica_state s)
{
	switch (s) {
	case REPLICA_LIVE:	return "live";
	case REPLICA_LOST:	return "lost";
	case REPLICA_RESYNCING:	return "resyncing";
	}
	return "?";
}

void replica_meta_from(struct replica_meta *rm, const struct storage_replica *r)
{
	rm->instance_id = r->instance_id;
	rm->generation = r->generation;
	rm->lost_at_ms = r->lost_at_ms;
	rm->replaced_at_ms = r->replaced_at_ms;
	rm->resynced_at_ms = r->resynced_at_ms;
	rm->resync_bytes = r->resync_bytes;
}

/*
 * A slot whose replacement is still resyncing has been without a full
 * copy since its first loss: that time stays, so that the loss-to-resync
 * time counts the whole episode.  Storage applies the same rule.
 */
static int64_t lost_since(const struct replica_meta *rm, int64_t when_ms)
{
	if (rm->lost_at_ms && rm->replaced_at_ms && !rm->resynced_at_ms)
		return rm->lost_at_ms;
	return when_ms;
}

void reprotect_donor_lost(struct cluster *c, uint32_t donor_id, int64_t when_ms)
{
	for (size_t i = 0; i < allocator_alloc_count(c->alloc); i++) {
		struct alloc_info ai;
		struct alloc_meta *am;

		allocator_alloc_at(c->alloc, i, &ai);
		am = cluster_alloc_meta(c, ai.id);
		for (uint64_t k = 0; k < (uint64_t)ai.nslabs * ai.replicas; k++)
			if (ai.places[k].donor_id == donor_id && !ai.places[k].lost)
				am->reps[k].lost_at_ms =
					lost_since(&am->reps[k], when_ms);
	}
}

int64_t reprotect_loss_time(const struct donor_meta *m)
{
	/* A donor that went silent before it restarted or left lost its
	 * replicas' usefulness when it went silent. */
	if (m->state == STORAGE_DONOR_DOWN && m->down_since_ms)
		return m->down_since_ms;
	return cluster_wall_ms();
}

int reprotect_load_counter(void *arg, const char *name, uint64_t value)
{
	struct cluster *c = arg;

	if (!strcmp(name, "replacements"))
		c->rc.replacements = value;
	else if (!strcmp(name, "resync_bytes"))
		c->rc.resync_bytes = value;
	else if (!strcmp(name, "reprotect_count"))
		c->rc.reprotect_count = value;
	else if (!strcmp(name, "reprotect_ms"))
		c->rc.reprotect_ms = value;
	/* Others are a newer controller's: kept in storage, not shown. */
	return 0;
}

char *reprotect_metrics(struct cluster *c, uint64_t degraded,
			uint64_t resyncing)
{
	char *out = NULL;

	/* Seconds with three decimals from integer ms: no locale, no float. */
	if (asprintf(&out,
		"# HELP rmem_slabs_degraded Slab replicas lost, or replaced and not yet reported resynced.\n"
		"# TYPE rmem_slabs_degraded gauge\n"
		"rmem_slabs_degraded %" PRIu64 "\n"
		"# HELP rmem_resyncs_in_progress Replacement replicas not yet reported resynced.\n"
		"# TYPE rmem_resyncs_in_progress gauge\n"
		"rmem_resyncs_in_progress %" PRIu64 "\n"
		"# HELP rmem_resync_bytes_total Bytes clients reported copied to replacement replicas.\n"
		"# TYPE rmem_resync_bytes_total counter\n"
		"rmem_resync_bytes_total %" PRIu64 "\n"
		"# HELP rmem_reprotect_seconds Time from a replica's loss to its replacement reported resynced.\n"
		"# TYPE rmem_reprotect_seconds summary\n"
		"rmem_reprotect_seconds_sum %" PRIu64 ".%03" PRIu64 "\n"
		"rmem_reprotect_seconds_count %" PRIu64 "\n"
		"# HELP rmem_replacements_total Replicas given a new slab after a loss.\n"
		"# TYPE rmem_replacements_total counter\n"
		"rmem_replacements_total %" PRIu64 "\n",
		degraded, resyncing, c->rc.resync_bytes,
		c->rc.reprotect_ms / 1000, c->rc.reprotect_ms % 1000,
		c->rc.reprotect_count, c->rc.replacements) < 0)
		return NULL;
	return out;
}

/* ---- the slot a request names ---- */

struct slot {
	struct alloc_info	ai;
	struct alloc_meta	*am;
	uint32_t		slab, replica;
	const struct alloc_place *place;
	struct replica_meta	*rm;
};

static enum cluster_status find_slot(struct cluster *c, uint64_t id,
		uint64_t slab, uint64_t replica, const uint64_t *generation,
		struct slot *s, char *msg, size_t msglen)
{
	size_t k;

	if (allocator_get(c->alloc, id, &s->ai)) {
		cluster_set_msg(msg, msglen, "no allocation %" PRIu64, id);
		return CLUSTER_NOT_FOUND;
	}
	if (slab >= s->ai.nslabs) {
		cluster_set_msg(msg, msglen, "slab %" PRIu64 " out of range: "
			"allocation %" PRIu64 " has slabs 0..%u", slab, id,
			s->ai.nslabs - 1);
		return CLUSTER_BAD_REQUEST;
	}
	if (replica >= s->ai.replicas) {
		cluster_set_msg(msg, msglen, "replica %" PRIu64 " out of range: "
			"allocation %" PRIu64 " has replicas 0..%u", replica,
			id, s->ai.replicas - 1);
		return CLUSTER_BAD_REQUEST;
	}
	s->slab = (uint32_t)slab;
	s->replica = (uint32_t)replica;
	k = (size_t)s->slab * s->ai.replicas + s->replica;
	s->am = cluster_alloc_meta(c, id);
	s->place = &s->ai.places[k];
	s->rm = &s->am->reps[k];
	if (generation && *generation != s->rm->generation) {
		cluster_set_msg(msg, msglen, "replica %u of slab %u is at "
			"generation %u, not %" PRIu64 ": read the allocation again",
			s->replica, s->slab, s->rm->generation, *generation);
		return CLUSTER_CONFLICT;
	}
	return CLUSTER_OK;
}

/* The slot as storage has it. */
static struct storage_replica slot_storage(const struct slot *s)
{
	return (struct storage_replica){
		.slab_index = s->slab,
		.replica = s->replica,
		.donor_id = s->place->donor_id,
		.slab_id = s->place->slab_id,
		.instance_id = s->rm->instance_id,
		.lost = s->place->lost,
		.generation = s->rm->generation,
		.lost_at_ms = s->rm->lost_at_ms,
		.replaced_at_ms = s->rm->replaced_at_ms,
		.resynced_at_ms = s->rm->resynced_at_ms,
		.resync_bytes = s->rm->resync_bytes,
	};
}

/* ---- replace ---- */

/* Why no donor could take the slot: 503, the client should retry later. */
static enum cluster_status no_donor(struct cluster *c, enum alloc_err e,
				    const struct slot *s, char *msg,
				    size_t msglen)
{
	if (e == ALLOC_ENOMEM) {
		cluster_set_msg(msg, msglen, "out of memory");
		return CLUSTER_INTERNAL;
	}
	if (e == ALLOC_ENOSPC)
		cluster_set_msg(msg, msglen, "no donor can take replica %u of "
			"slab %u now: no up donor has a free slab; retry when "
			"a donor joins, comes back or frees memory",
			s->replica, s->slab);
	else
		cluster_set_msg(msg, msglen, "no donor can take replica %u of "
			"slab %u now: the %" PRIu64 " free slabs are all on "
			"donors or zones that hold the slab's other replicas, or "
			"on donor %u that this replica is moving off; retry when "
			"another donor or zone has memory", s->replica, s->slab,
			allocator_total_available(c->alloc), s->place->donor_id);
	return CLUSTER_UNAVAILABLE;
}

/*
 * When the slot lost its copy: the time already known (a lost replica, or
 * a replacement still resyncing), else since its donor went silent, else
 * now, the client being the first to tell.
 */
static int64_t loss_start(struct cluster *c, const struct slot *s, int64_t now)
{
	const struct donor_meta *m = cluster_donor_meta(c, s->place->donor_id);
	enum replica_state st = replica_state_of(s->place, s->rm);

	if (s->rm->lost_at_ms && st != REPLICA_LIVE)
		return s->rm->lost_at_ms;
	if (m && !s->place->lost && m->state == STORAGE_DONOR_DOWN &&
	    m->down_since_ms)
		return m->down_since_ms;
	return now;
}

/* "10.0.0.5:7470" or "[fe80::1]:7470" (checked at registration). */
static json_object *donor_addr_json(const struct donor_meta *m)
{
	json_object *o = json_object_new_object();
	const char *colon = strrchr(m->addr, ':');
	size_t hlen = colon ? (size_t)(colon - m->addr) : strlen(m->addr);
	const char *host = m->addr;
	char buf[STORAGE_ADDR_MAX];

	if (host[0] == '[' && hlen >= 2) {
		host++;
		hlen -= 2;
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)hlen, host);
	json_object_object_add(o, "id", json_object_new_int64(m->id));
	json_object_object_add(o, "addr", json_object_new_string(buf));
	json_object_object_add(o, "port",
			       json_object_new_int64(colon ? atoi(colon + 1) : 0));
	json_object_object_add(o, "instance_id",
			       json_object_new_uint64(m->instance_id));
	return o;
}

static json_object *replace_reply(struct cluster *c, const struct slot *s,
				  const struct storage_replica *r,
				  const struct donor_meta *m)
{
	json_object *o = json_object_new_object();
	char ghex[2 * RMEM_GRANT_LEN + 1] = "";

	cluster_grant_hex(c, s->ai.client_id, r->instance_id, r->slab_id, ghex);
	json_object_object_add(o, "slab", json_object_new_int64(s->slab));
	json_object_object_add(o, "replica", json_object_new_int64(s->replica));
	json_object_object_add(o, "donor", donor_addr_json(m));
	json_object_object_add(o, "slab_id", json_object_new_int64(r->slab_id));
	json_object_object_add(o, "generation",
			       json_object_new_int64(r->generation));
	json_object_object_add(o, "grant", json_object_new_string(ghex));
	return o;
}

static enum cluster_status replace_locked(struct cluster *c, struct slot *s,
		json_object **reply, char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	struct storage_replica old = slot_storage(s), nr;
	int64_t now = cluster_wall_ms();
	const struct donor_meta *m;
	struct alloc_place np;
	enum alloc_err e;
	char text[256];

	e = allocator_plan_replace(c->alloc, s->ai.id, s->slab, s->replica, &np);
	if (e)
		return no_donor(c, e, s, msg, msglen);
	m = cluster_donor_meta(c, np.donor_id);
	nr = old;
	nr.donor_id = np.donor_id;
	nr.slab_id = np.slab_id;
	nr.instance_id = m->instance_id;
	nr.lost = false;
	nr.generation = old.generation + 1;
	nr.lost_at_ms = loss_start(c, s, now);
	nr.replaced_at_ms = now;
	nr.resynced_at_ms = 0;
	nr.resync_bytes = 0;
	snprintf(text, sizeof(text), "allocation %" PRIu64 " slab %u replica %u:"
		 " donor %u slab %u replaced by donor %u slab %u (generation %u)",
		 s->ai.id, s->slab, s->replica, old.donor_id, old.slab_id,
		 nr.donor_id, nr.slab_id, nr.generation);
	if (ops->begin(c->st) ||
	    ops->replica_retire(c->st, s->ai.id, &old, now, "replaced") ||
	    ops->replica_update(c->st, s->ai.id, &nr) ||
	    ops->counter_add(c->st, "replacements", 1) ||
	    ops->event_add(c->st, nr.donor_id, "replaced", text) ||
	    ops->commit(c->st))
		return cluster_storage_failed(c, "replacing the replica", msg,
					      msglen);
	/* The plan was made under this lock: it still fits. */
	e = allocator_replace(c->alloc, s->ai.id, s->slab, s->replica, &np);
	if (e)
		log_error("replacement stored but not applied (%s): restart "
			  "the controller", alloc_strerror(e));
	replica_meta_from(s->rm, &nr);
	c->rc.replacements++;
	log_info("%s", text);
	*reply = replace_reply(c, s, &nr, m);
	return CLUSTER_OK;
}

enum cluster_status cluster_replace(struct cluster *c, uint64_t id,
		uint64_t slab, uint64_t replica, const uint64_t *generation,
		json_object **reply, char *msg, size_t msglen)
{
	enum cluster_status ret;
	struct slot s;

	pthread_mutex_lock(&c->lock);
	ret = find_slot(c, id, slab, replica, generation, &s, msg, msglen);
	if (ret == CLUSTER_OK)
		ret = replace_locked(c, &s, reply, msg, msglen);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- resynced ---- */

static json_object *resynced_reply(const struct slot *s)
{
	json_object *o = json_object_new_object();
	int64_t from = s->rm->lost_at_ms ? s->rm->lost_at_ms
					 : s->rm->replaced_at_ms;
	int64_t ms = s->rm->resynced_at_ms - from;
	char secs[32];

	snprintf(secs, sizeof(secs), "%" PRId64 ".%03" PRId64,
		 (ms > 0 ? ms : 0) / 1000, (ms > 0 ? ms : 0) % 1000);
	json_object_object_add(o, "slab", json_object_new_int64(s->slab));
	json_object_object_add(o, "replica", json_object_new_int64(s->replica));
	json_object_object_add(o, "generation",
			       json_object_new_int64(s->rm->generation));
	json_object_object_add(o, "replica_state", json_object_new_string(
		replica_state_name(replica_state_of(s->place, s->rm))));
	json_object_object_add(o, "resync_bytes",
			       json_object_new_uint64(s->rm->resync_bytes));
	json_object_object_add(o, "reprotect_seconds",
			       json_object_new_double_s((double)(ms > 0 ? ms : 0) / 1000,
							secs));
	return o;
}

/* Refuses a report about a slot that has no replacement in progress. */
static enum cluster_status check_resyncing(const struct slot *s, char *msg,
					   size_t msglen)
{
	if (s->place->lost) {
		cluster_set_msg(msg, msglen, "replica %u of slab %u is lost: "
			"replace it first", s->replica, s->slab);
		return CLUSTER_CONFLICT;
	}
	if (!s->rm->replaced_at_ms) {
		cluster_set_msg(msg, msglen, "replica %u of slab %u was never "
			"replaced: there is no resync to report", s->replica,
			s->slab);
		return CLUSTER_CONFLICT;
	}
	return CLUSTER_OK;
}

static enum cluster_status resynced_locked(struct cluster *c, struct slot *s,
		uint64_t bytes, json_object **reply, char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	struct storage_replica nr = slot_storage(s);
	int64_t now = cluster_wall_ms(), from, ms;
	enum cluster_status ret;
	char text[256];

	ret = check_resyncing(s, msg, msglen);
	if (ret != CLUSTER_OK)
		return ret;
	if (s->rm->resynced_at_ms) {
		/* A retried report (its reply was lost): already counted. */
		*reply = resynced_reply(s);
		return CLUSTER_OK;
	}
	from = s->rm->lost_at_ms ? s->rm->lost_at_ms : s->rm->replaced_at_ms;
	ms = now > from ? now - from : 0;	/* the wall clock may step */
	nr.resynced_at_ms = from + ms;
	nr.resync_bytes = bytes;
	snprintf(text, sizeof(text), "allocation %" PRIu64 " slab %u replica %u"
		 " (generation %u) resynced: %" PRIu64 " bytes, %" PRId64
		 " ms after the loss", s->ai.id, s->slab, s->replica,
		 nr.generation, bytes, ms);
	if (ops->begin(c->st) ||
	    ops->replica_update(c->st, s->ai.id, &nr) ||
	    ops->counter_add(c->st, "resync_bytes", bytes) ||
	    ops->counter_add(c->st, "reprotect_count", 1) ||
	    ops->counter_add(c->st, "reprotect_ms", (uint64_t)ms) ||
	    ops->event_add(c->st, nr.donor_id, "resynced", text) ||
	    ops->commit(c->st))
		return cluster_storage_failed(c, "recording the resync", msg,
					      msglen);
	replica_meta_from(s->rm, &nr);
	c->rc.resync_bytes += bytes;
	c->rc.reprotect_count++;
	c->rc.reprotect_ms += (uint64_t)ms;
	log_info("%s", text);
	*reply = resynced_reply(s);
	return CLUSTER_OK;
}

enum cluster_status cluster_resynced(struct cluster *c, uint64_t id,
		uint64_t slab, uint64_t replica, uint64_t bytes,
		const uint64_t *generation,
		json_object **reply, char *msg, size_t msglen)
{
	enum cluster_status ret;
	struct slot s;

	if (bytes > c->p.slab_size) {
		cluster_set_msg(msg, msglen, "bytes %" PRIu64 " is more than "
			"the slab size %" PRIu64, bytes, c->p.slab_size);
		return CLUSTER_BAD_REQUEST;
	}
	pthread_mutex_lock(&c->lock);
	ret = find_slot(c, id, slab, replica, generation, &s, msg, msglen);
	if (ret == CLUSTER_OK)
		ret = resynced_locked(c, &s, bytes, reply, msg, msglen);
	pthread_mutex_unlock(&c->lock);
	return ret;
}
