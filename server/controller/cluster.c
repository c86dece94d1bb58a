// SPDX-License-Identifier: MIT
/*
 * Cluster state of rmem-controllerd; see cluster.h.
 *
 * Order of every mutation: validate, decide (allocator_plan or plain
 * checks), write to storage in one transaction, commit (durable), then
 * apply in memory.  A failure before the commit rolls back and leaves both
 * copies as they were; nothing after the commit can fail for a reason the
 * client caused.
 */
#include "cluster.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allocator.h"
#include "cluster_int.h"
#include "grant.h"
#include "log.h"

int64_t cluster_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cluster_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cluster_set_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

void cluster_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

struct donor_meta *cluster_donor_meta(struct cluster *c, uint32_t id)
{
	for (size_t i = 0; i < c->ndonors; i++)
		if (c->donors[i].id == id)
			return &c->donors[i];
	return NULL;
}

static struct donor_meta *meta_find_addr(struct cluster *c, const char *addr)
{
	for (size_t i = 0; i < c->ndonors; i++)
		if (!strcmp(c->donors[i].addr, addr))
			return &c->donors[i];
	return NULL;
}

static int meta_add(struct cluster *c, const struct donor_meta *m)
{
	struct donor_meta *arr = realloc(c->donors,
					 (c->ndonors + 1) * sizeof(*arr));
	size_t pos = c->ndonors;

	if (!arr)
		return -1;
	c->donors = arr;
	while (pos && arr[pos - 1].id > m->id) {
		arr[pos] = arr[pos - 1];
		pos--;
	}
	arr[pos] = *m;
	c->ndonors++;
	return 0;
}

static void meta_remove(struct cluster *c, uint32_t id)
{
	for (size_t i = 0; i < c->ndonors; i++) {
		if (c->donors[i].id != id)
			continue;
		memmove(&c->donors[i], &c->donors[i + 1],
			(c->ndonors - i - 1) * sizeof(*c->donors));
		c->ndonors--;
		return;
	}
}

struct alloc_meta *cluster_alloc_meta(struct cluster *c, uint64_t id)
{
	size_t lo = 0, hi = c->nallocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->allocs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nallocs && c->allocs[lo].id == id ? &c->allocs[lo] : NULL;
}

/*
 * Ids come from an AUTOINCREMENT column: always larger than any before.
 * Takes @reps (malloc()ed) over, also on failure.
 */
static int ameta_append(struct cluster *c, uint64_t id, int64_t created,
			struct replica_meta *reps)
{
	struct alloc_meta *arr = realloc(c->allocs,
					 (c->nallocs + 1) * sizeof(*arr));

	if (!arr) {
		free(reps);
		return -1;
	}
	c->allocs = arr;
	arr[c->nallocs++] = (struct alloc_meta){ .id = id, .created = created,
						 .reps = reps };
	return 0;
}

static void ameta_remove(struct cluster *c, uint64_t id)
{
	struct alloc_meta *m = cluster_alloc_meta(c, id);

	if (!m)
		return;
	free(m->reps);
	memmove(m, m + 1, (size_t)(&c->allocs[c->nallocs] - (m + 1)) * sizeof(*m));
	c->nallocs--;
}

static struct storage_donor to_storage(const struct donor_meta *m)
{
	struct storage_donor d = {
		.id = m->id,
		.instance_id = m->instance_id,
		.slab_size = m->slab_size,
		.total_slabs = m->total_slabs,
		.state = m->state,
		.registered = m->registered,
		.down_since_ms = m->down_since_ms,
	};

	snprintf(d.addr, sizeof(d.addr), "%s", m->addr);
	snprintf(d.zone, sizeof(d.zone), "%s", m->zone);
	return d;
}

/* ---- loading ---- */

static int load_donor(void *arg, const struct storage_donor *d)
{
	struct cluster *c = arg;
	struct donor_meta m = {
		.id = d->id,
		.instance_id = d->instance_id,
		.slab_size = d->slab_size,
		.total_slabs = d->total_slabs,
		.state = d->state,
		.registered = d->registered,
		.down_since_ms = d->down_since_ms,
		/* A fresh deadline: the controller was away, not the donor. */
		.last_heartbeat_ms = cluster_now_ms(),
	};

	snprintf(m.addr, sizeof(m.addr), "%s", d->addr);
	snprintf(m.zone, sizeof(m.zone), "%s", d->zone);
	if (d->slab_size != c->p.slab_size)
		log_warn("donor %u (%s) has slab size %" PRIu64
			 ", the cluster %" PRIu64 ": it gets no new slabs",
			 d->id, d->addr, d->slab_size, c->p.slab_size);
	if (allocator_donor_add(c->alloc, d->id, d->zone, d->total_slabs) ||
	    meta_add(c, &m))
		return -1;
	allocator_donor_set_up(c->alloc, d->id,
			       d->state == STORAGE_DONOR_UP &&
			       d->slab_size == c->p.slab_size);
	return 0;
}

static int load_alloc(void *arg, const struct storage_alloc *a)
{
	struct cluster *c = arg;
	uint64_t n = (uint64_t)a->nslabs * a->replicas;
	struct alloc_place *places = calloc(n, sizeof(*places));
	struct replica_meta *reps = calloc(n, sizeof(*reps));
	enum alloc_err e;

	if (!places || !reps) {
		free(places);
		free(reps);
		return -1;
	}
	for (uint64_t k = 0; k < n; k++) {
		const struct storage_replica *r = &a->reps[k];
		const struct donor_meta *m = cluster_donor_meta(c, r->donor_id);

		replica_meta_from(&reps[k], r);
		places[k].donor_id = r->donor_id;
		places[k].slab_id = r->slab_id;
		/* Lost if marked so, or bound to a donor run now gone. */
		places[k].lost = r->lost || !m || m->instance_id != r->instance_id;
	}
	e = allocator_commit(c->alloc, a->id, a->client_id, a->bytes,
			     a->nslabs, a->replicas, places);
	free(places);
	if (e) {
		log_error("stored allocation %" PRIu64 " is inconsistent: %s",
			  a->id, alloc_strerror(e));
		free(reps);
		return -1;
	}
	return ameta_append(c, a->id, a->created, reps);
}

struct cluster *cluster_open(struct storage *st,
			     const struct cluster_params *p,
			     char *err, size_t errlen)
{
	struct cluster *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		st->ops->close(st);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->st = st;
	c->p = *p;
	c->alloc = allocator_new(p->seed);
	if (!c->alloc) {
		snprintf(err, errlen, "out of memory");
		goto out_close;
	}
	if (st->ops->load_donors(st, load_donor, c)) {
		snprintf(err, errlen, "loading donors: %s",
			 st->ops->errmsg(st)[0] ? st->ops->errmsg(st)
						: "inconsistent data");
		goto out_close;
	}
	if (st->ops->load_allocs(st, load_alloc, c)) {
		snprintf(err, errlen, "loading allocations: %s",
			 st->ops->errmsg(st)[0] ? st->ops->errmsg(st)
						: "inconsistent data");
		goto out_close;
	}
	if (st->ops->load_counters(st, reprotect_load_counter, c)) {
		snprintf(err, errlen, "loading counters: %s", st->ops->errmsg(st));
		goto out_close;
	}
	log_info("state loaded: %zu donors, %zu allocations, %" PRIu64
		 " slabs in use", c->ndonors, c->nallocs,
		 allocator_total_used(c->alloc));
	return c;

out_close:
	cluster_close(c);
	return NULL;
}

void cluster_close(struct cluster *c)
{
	if (!c)
		return;
	allocator_free(c->alloc);
	c->st->ops->close(c->st);
	free(c->donors);
	for (size_t i = 0; i < c->nallocs; i++)
		free(c->allocs[i].reps);
	free(c->allocs);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---- JSON views ---- */

static const char *state_name(enum storage_donor_state s)
{
	return s == STORAGE_DONOR_UP ? "up" : "down";
}

static json_object *donor_json(struct cluster *c, const struct donor_meta *m)
{
	struct alloc_donor_info di;
	json_object *o = json_object_new_object();

	allocator_donor_get(c->alloc, m->id, &di);
	json_object_object_add(o, "id", json_object_new_int64(m->id));
	json_object_object_add(o, "addr", json_object_new_string(m->addr));
	json_object_object_add(o, "instance_id",
			       json_object_new_uint64(m->instance_id));
	json_object_object_add(o, "zone", json_object_new_string(m->zone));
	json_object_object_add(o, "state",
			       json_object_new_string(state_name(m->state)));
	json_object_object_add(o, "slab_size",
			       json_object_new_uint64(m->slab_size));
	json_object_object_add(o, "total_slabs",
			       json_object_new_int64(m->total_slabs));
	json_object_object_add(o, "free_slabs",
			       json_object_new_int64(di.reported_free));
	json_object_object_add(o, "used_slabs",
			       json_object_new_int64(di.used_slabs));
	json_object_object_add(o, "available_slabs",
			       json_object_new_int64(di.available));
	json_object_object_add(o, "registered",
			       json_object_new_int64(m->registered));
	json_object_object_add(o, "last_heartbeat_ms_ago",
			       json_object_new_int64(cluster_now_ms() - m->last_heartbeat_ms));
	return o;
}

int cluster_grant_hex(struct cluster *c, const uint8_t client_id[16],
		      uint64_t instance_id, uint32_t slab_id,
		      char out[2 * RMEM_GRANT_LEN + 1])
{
	uint8_t g[RMEM_GRANT_LEN];

	if (rmem_grant_compute(c->p.token, c->p.token_len, client_id,
			       instance_id, slab_id, g))
		return -1;
	cluster_hex(g, sizeof(g), out);
	return 0;
}

/* Unix seconds of a time in ms, if there is one: JSON shows seconds. */
static void add_time(json_object *o, const char *key, int64_t ms)
{
	if (ms)
		json_object_object_add(o, key, json_object_new_int64(ms / 1000));
}

static json_object *replica_json(struct cluster *c, const struct alloc_info *ai,
				 const struct alloc_place *p,
				 const struct replica_meta *rm)
{
	const struct donor_meta *m = cluster_donor_meta(c, p->donor_id);
	json_object *rep = json_object_new_object();
	char ghex[2 * RMEM_GRANT_LEN + 1];

	json_object_object_add(rep, "donor_id", json_object_new_int64(p->donor_id));
	json_object_object_add(rep, "addr", json_object_new_string(m ? m->addr : ""));
	json_object_object_add(rep, "slab_id", json_object_new_int64(p->slab_id));
	json_object_object_add(rep, "generation",
			       json_object_new_int64(rm->generation));
	json_object_object_add(rep, "replica_state", json_object_new_string(
		replica_state_name(replica_state_of(p, rm))));
	add_time(rep, "lost_at", rm->lost_at_ms);
	add_time(rep, "replaced_at", rm->replaced_at_ms);
	add_time(rep, "resynced_at", rm->resynced_at_ms);
	if (p->lost || !m) {
		json_object_object_add(rep, "state", json_object_new_string("lost"));
		return rep;
	}
	json_object_object_add(rep, "state", json_object_new_string(
		m->state == STORAGE_DONOR_UP ? "ok" : "donor-down"));
	json_object_object_add(rep, "instance_id",
			       json_object_new_uint64(m->instance_id));
	if (!cluster_grant_hex(c, ai->client_id, m->instance_id, p->slab_id, ghex))
		json_object_object_add(rep, "grant", json_object_new_string(ghex));
	return rep;
}

static json_object *alloc_json(struct cluster *c, const struct alloc_info *ai)
{
	json_object *o = json_object_new_object();
	json_object *slabs = json_object_new_array();
	struct alloc_meta *am = cluster_alloc_meta(c, ai->id);
	char idhex[33];

	cluster_hex(ai->client_id, 16, idhex);
	json_object_object_add(o, "id", json_object_new_uint64(ai->id));
	json_object_object_add(o, "client_id", json_object_new_string(idhex));
	json_object_object_add(o, "bytes", json_object_new_uint64(ai->bytes));
	json_object_object_add(o, "slab_size",
			       json_object_new_uint64(c->p.slab_size));
	json_object_object_add(o, "replicas",
			       json_object_new_int64(ai->replicas));
	json_object_object_add(o, "created", json_object_new_int64(am->created));
	for (uint32_t s = 0; s < ai->nslabs; s++) {
		json_object *slab = json_object_new_object();
		json_object *reps = json_object_new_array();

		json_object_object_add(slab, "index", json_object_new_int64(s));
		for (uint32_t r = 0; r < ai->replicas; r++) {
			size_t k = (size_t)s * ai->replicas + r;

			json_object_array_add(reps, replica_json(c, ai,
					&ai->places[k], &am->reps[k]));
		}
		json_object_object_add(slab, "replicas", reps);
		json_object_array_add(slabs, slab);
	}
	json_object_object_add(o, "slabs", slabs);
	return o;
}

/* ---- donors ---- */

/* Donor addresses go to the kernel as literals: no names, port needed. */
static bool valid_donor_addr(const char *addr)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port;
	unsigned char buf[sizeof(struct in6_addr)];
	int family;
	size_t hlen;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return false;
		hlen = (size_t)(close - addr - 1);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, addr + 1, hlen);
		port = close + 2;
		family = AF_INET6;
	} else {
		const char *colon = strchr(addr, ':');

		if (!colon || strchr(colon + 1, ':'))
			return false;
		hlen = (size_t)(colon - addr);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, addr, hlen);
		port = colon + 1;
		family = AF_INET;
	}
	host[hlen] = 0;
	if (inet_pton(family, host, buf) != 1)
		return false;
	if (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
		return false;
	long v = strtol(port, NULL, 10);
	return v >= 1 && v <= 65535;
}

static json_object *register_reply(struct cluster *c,
				   const struct donor_meta *m, uint32_t lost)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(m->id));
	json_object_object_add(o, "instance_id",
			       json_object_new_uint64(m->instance_id));
	json_object_object_add(o, "lost_slabs", json_object_new_int64(lost));
	json_object_object_add(o, "heartbeat_interval_ms",
			       json_object_new_int64(c->p.heartbeat_interval_ms));
	return o;
}

/* Storage failed: undo the transaction and tell the client. */
enum cluster_status cluster_storage_failed(struct cluster *c, const char *what,
					   char *msg, size_t msglen)
{
	const char *why = c->st->ops->errmsg(c->st);

	c->st->ops->rollback(c->st);
	log_error("storage: %s: %s", what, why);
	cluster_set_msg(msg, msglen, "storage error while %s; nothing was changed",
		what);
	return CLUSTER_INTERNAL;
}

/*
 * A donor that grew or gave memory back: new capacity, stored first so
 * that a restarted controller offers the same slabs.  A shrink below a
 * slab this controller granted is refused (409): the donor only gives
 * back free slabs at the top, so that means the two disagree.
 */
static enum cluster_status resize_donor(struct cluster *c, struct donor_meta *m,
		uint64_t total, char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	struct storage_donor sd;
	char text[300];
	enum alloc_err e;

	if (!total || total > CLUSTER_MAX_DONOR_SLABS) {
		cluster_set_msg(msg, msglen, "total_slabs must be 1..%u", CLUSTER_MAX_DONOR_SLABS);
		return CLUSTER_BAD_REQUEST;
	}
	e = allocator_donor_resize(c->alloc, m->id, (uint32_t)total);
	if (e == ALLOC_EBUSY) {
		cluster_set_msg(msg, msglen, "total_slabs %" PRIu64 " would drop slabs that "
			"are granted to clients", total);
		return CLUSTER_CONFLICT;
	}
	if (e != ALLOC_OK) {
		cluster_set_msg(msg, msglen, "cannot resize donor %u", m->id);
		return CLUSTER_INTERNAL;
	}
	sd = to_storage(m);
	sd.total_slabs = (uint32_t)total;
	snprintf(text, sizeof(text), "donor %s now lends %" PRIu64 " slabs (was %u)",
		 m->addr, total, m->total_slabs);
	if (ops->begin(c->st) || ops->donor_update(c->st, &sd) ||
	    ops->event_add(c->st, m->id, "resized", text) || ops->commit(c->st)) {
		/* Put the allocator back: storage is the truth. */
		allocator_donor_resize(c->alloc, m->id, m->total_slabs);
		return cluster_storage_failed(c, "recording the new capacity", msg, msglen);
	}
	log_info("%s", text);
	m->total_slabs = (uint32_t)total;
	return CLUSTER_OK;
}

enum cluster_status cluster_donor_register(struct cluster *c,
		const char *addr, uint64_t instance_id, uint64_t slab_size,
		uint64_t total_slabs, const char *zone,
		json_object **reply, char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	enum cluster_status ret;
	struct donor_meta *m, nm;
	struct storage_donor sd;
	uint32_t lost = 0;
	char text[512];
	int64_t when;

	if (!valid_donor_addr(addr) || strlen(addr) >= STORAGE_ADDR_MAX) {
		cluster_set_msg(msg, msglen, "addr must be IPV4:PORT or [IPV6]:PORT, got '%s'",
			addr);
		return CLUSTER_BAD_REQUEST;
	}
	if (strlen(zone) >= STORAGE_ZONE_MAX || strlen(zone) >= ALLOC_ZONE_MAX) {
		cluster_set_msg(msg, msglen, "zone is longer than %d characters",
			ALLOC_ZONE_MAX - 1);
		return CLUSTER_BAD_REQUEST;
	}
	if (slab_size != c->p.slab_size) {
		cluster_set_msg(msg, msglen, "slab_size %" PRIu64
			" differs from the cluster's slab size %" PRIu64,
			slab_size, c->p.slab_size);
		return CLUSTER_CONFLICT;
	}
	if (!total_slabs || total_slabs > CLUSTER_MAX_DONOR_SLABS) {
		cluster_set_msg(msg, msglen, "total_slabs must be 1..%u", CLUSTER_MAX_DONOR_SLABS);
		return CLUSTER_BAD_REQUEST;
	}

	pthread_mutex_lock(&c->lock);
	m = meta_find_addr(c, addr);
	if (m && m->instance_id == instance_id) {
		/* The same run registering again (e.g. after a lost reply). */
		if (strcmp(m->zone, zone)) {
			cluster_set_msg(msg, msglen, "donor %s is registered with instance %"
				PRIu64 " and another zone; a changed donor needs a new instance_id",
				addr, instance_id);
			ret = CLUSTER_CONFLICT;
			goto out_unlock;
		}
		/* It may have grown or shrunk while we did not hear it. */
		if (m->total_slabs != total_slabs) {
			ret = resize_donor(c, m, total_slabs, msg, msglen);
			if (ret != CLUSTER_OK)
				goto out_unlock;
		}
		if (m->state != STORAGE_DONOR_UP) {
			sd = to_storage(m);
			sd.state = STORAGE_DONOR_UP;
			sd.down_since_ms = 0;
			snprintf(text, sizeof(text), "donor %s registered again", addr);
			if (ops->begin(c->st) || ops->donor_update(c->st, &sd) ||
			    ops->event_add(c->st, m->id, "up", text) ||
			    ops->commit(c->st)) {
				ret = cluster_storage_failed(c, "marking the donor up", msg, msglen);
				goto out_unlock;
			}
			m->state = STORAGE_DONOR_UP;
			m->down_since_ms = 0;
			allocator_donor_set_up(c->alloc, m->id, true);
		}
		m->last_heartbeat_ms = cluster_now_ms();
		*reply = register_reply(c, m, 0);
		ret = CLUSTER_OK;
		goto out_unlock;
	}
	if (m) {
		/* A new run of a known donor: what it held is gone. */
		nm = *m;
		nm.instance_id = instance_id;
		nm.slab_size = slab_size;
		nm.total_slabs = (uint32_t)total_slabs;
		snprintf(nm.zone, sizeof(nm.zone), "%s", zone);
		nm.state = STORAGE_DONOR_UP;
		nm.registered = time(NULL);
		nm.down_since_ms = 0;
		when = reprotect_loss_time(m);
		sd = to_storage(&nm);
		if (ops->begin(c->st) ||
		    ops->donor_lose_replicas(c->st, m->id, when, &lost) ||
		    ops->donor_update(c->st, &sd)) {
			ret = cluster_storage_failed(c, "re-registering the donor", msg, msglen);
			goto out_unlock;
		}
		snprintf(text, sizeof(text),
			 "donor %s restarted (instance %" PRIu64 " -> %" PRIu64
			 "): %u slab replicas lost", addr, m->instance_id,
			 instance_id, lost);
		if (ops->event_add(c->st, m->id, "restarted", text) ||
		    ops->commit(c->st)) {
			ret = cluster_storage_failed(c, "re-registering the donor", msg, msglen);
			goto out_unlock;
		}
		log_warn("%s", text);
		reprotect_donor_lost(c, m->id, when);
		allocator_donor_lose(c->alloc, m->id, NULL);
		allocator_donor_reset(c->alloc, m->id, zone, (uint32_t)total_slabs);
		allocator_donor_set_up(c->alloc, m->id, true);
		nm.last_heartbeat_ms = cluster_now_ms();
		*m = nm;
		*reply = register_reply(c, m, lost);
		ret = CLUSTER_OK;
		goto out_unlock;
	}

	memset(&nm, 0, sizeof(nm));
	snprintf(nm.addr, sizeof(nm.addr), "%s", addr);
	nm.instance_id = instance_id;
	nm.slab_size = slab_size;
	nm.total_slabs = (uint32_t)total_slabs;
	snprintf(nm.zone, sizeof(nm.zone), "%s", zone);
	nm.state = STORAGE_DONOR_UP;
	nm.registered = time(NULL);
	sd = to_storage(&nm);
	if (ops->begin(c->st) || ops->donor_insert(c->st, &sd)) {
		ret = cluster_storage_failed(c, "registering the donor", msg, msglen);
		goto out_unlock;
	}
	nm.id = sd.id;
	snprintf(text, sizeof(text), "donor %s registered: %" PRIu64
		 " slabs of %" PRIu64 " bytes, zone '%s'", addr, total_slabs,
		 slab_size, zone);
	if (ops->event_add(c->st, nm.id, "registered", text) ||
	    ops->commit(c->st)) {
		ret = cluster_storage_failed(c, "registering the donor", msg, msglen);
		goto out_unlock;
	}
	nm.last_heartbeat_ms = cluster_now_ms();
	if (allocator_donor_add(c->alloc, nm.id, zone, nm.total_slabs) ||
	    meta_add(c, &nm)) {
		/* Stored but not in memory: a restart will pick it up. */
		log_error("out of memory adding donor %u", nm.id);
		cluster_set_msg(msg, msglen, "out of memory");
		ret = CLUSTER_INTERNAL;
		goto out_unlock;
	}
	log_info("%s", text);
	*reply = register_reply(c, cluster_donor_meta(c, nm.id), 0);
	ret = CLUSTER_CREATED;
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

enum cluster_status cluster_donor_heartbeat(struct cluster *c, uint32_t id,
		uint64_t free_slabs, const uint64_t *total_slabs,
		const uint64_t *instance_id,
		json_object **reply, char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	enum cluster_status ret = CLUSTER_OK;
	struct donor_meta *m;
	char text[300];

	pthread_mutex_lock(&c->lock);
	m = cluster_donor_meta(c, id);
	if (!m) {
		cluster_set_msg(msg, msglen, "no donor %u", id);
		ret = CLUSTER_NOT_FOUND;
		goto out_unlock;
	}
	if (instance_id && *instance_id != m->instance_id) {
		cluster_set_msg(msg, msglen, "donor %u is registered with instance %" PRIu64
			", not %" PRIu64 ": register again", id, m->instance_id,
			*instance_id);
		ret = CLUSTER_CONFLICT;
		goto out_unlock;
	}
	if (total_slabs && *total_slabs != m->total_slabs) {
		ret = resize_donor(c, m, *total_slabs, msg, msglen);
		if (ret != CLUSTER_OK)
			goto out_unlock;
	}
	if (free_slabs > m->total_slabs) {
		cluster_set_msg(msg, msglen, "free_slabs %" PRIu64 " exceeds total_slabs %u",
			free_slabs, m->total_slabs);
		ret = CLUSTER_BAD_REQUEST;
		goto out_unlock;
	}
	if (m->state != STORAGE_DONOR_UP) {
		struct storage_donor sd = to_storage(m);

		sd.state = STORAGE_DONOR_UP;
		sd.down_since_ms = 0;
		snprintf(text, sizeof(text), "donor %s is back: heartbeat received",
			 m->addr);
		if (ops->begin(c->st) || ops->donor_update(c->st, &sd) ||
		    ops->event_add(c->st, id, "up", text) || ops->commit(c->st)) {
			ret = cluster_storage_failed(c, "marking the donor up", msg, msglen);
			goto out_unlock;
		}
		log_info("%s", text);
		m->state = STORAGE_DONOR_UP;
		m->down_since_ms = 0;
		allocator_donor_set_up(c->alloc, id,
				       m->slab_size == c->p.slab_size);
	}
	m->last_heartbeat_ms = cluster_now_ms();
	allocator_donor_set_free(c->alloc, id, (uint32_t)free_slabs);
	*reply = json_object_new_object();
	json_object_object_add(*reply, "id", json_object_new_int64(id));
	json_object_object_add(*reply, "state",
			       json_object_new_string(state_name(m->state)));
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

enum cluster_status cluster_donor_remove(struct cluster *c, uint32_t id,
		json_object **reply, char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	enum cluster_status ret = CLUSTER_OK;
	struct donor_meta *m;
	uint32_t lost = 0;
	char text[400];

	pthread_mutex_lock(&c->lock);
	m = cluster_donor_meta(c, id);
	if (!m) {
		cluster_set_msg(msg, msglen, "no donor %u", id);
		ret = CLUSTER_NOT_FOUND;
		goto out_unlock;
	}
	if (ops->begin(c->st) ||
	    ops->donor_lose_replicas(c->st, id, reprotect_loss_time(m), &lost) ||
	    ops->donor_delete(c->st, id)) {
		ret = cluster_storage_failed(c, "removing the donor", msg, msglen);
		goto out_unlock;
	}
	snprintf(text, sizeof(text), "donor %s removed: %u slab replicas lost",
		 m->addr, lost);
	if (ops->event_add(c->st, id, "removed", text) || ops->commit(c->st)) {
		ret = cluster_storage_failed(c, "removing the donor", msg, msglen);
		goto out_unlock;
	}
	log_info("%s", text);
	reprotect_donor_lost(c, id, reprotect_loss_time(m));
	allocator_donor_lose(c->alloc, id, NULL);
	allocator_donor_remove(c->alloc, id);
	meta_remove(c, id);
	*reply = json_object_new_object();
	json_object_object_add(*reply, "id", json_object_new_int64(id));
	json_object_object_add(*reply, "lost_slabs", json_object_new_int64(lost));
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

enum cluster_status cluster_donor_list(struct cluster *c, json_object **reply)
{
	json_object *arr = json_object_new_array();

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->ndonors; i++)
		json_object_array_add(arr, donor_json(c, &c->donors[i]));
	pthread_mutex_unlock(&c->lock);
	*reply = json_object_new_object();
	json_object_object_add(*reply, "donors", arr);
	return CLUSTER_OK;
}

enum cluster_status cluster_donor_get(struct cluster *c, uint32_t id,
		json_object **reply, char *msg, size_t msglen)
{
	enum cluster_status ret = CLUSTER_OK;
	struct donor_meta *m;

	pthread_mutex_lock(&c->lock);
	m = cluster_donor_meta(c, id);
	if (m) {
		*reply = donor_json(c, m);
	} else {
		cluster_set_msg(msg, msglen, "no donor %u", id);
		ret = CLUSTER_NOT_FOUND;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- allocations ---- */

static enum cluster_status plan_error(struct cluster *c, enum alloc_err e,
				      uint64_t nslabs, unsigned int replicas,
				      uint64_t quota, const uint8_t *client,
				      char *msg, size_t msglen)
{
	switch (e) {
	case ALLOC_EQUOTA:
		cluster_set_msg(msg, msglen, "quota exceeded: the client holds %" PRIu64
			" bytes, asks for %" PRIu64 " more, quota is %" PRIu64,
			allocator_client_usage(c->alloc, client) * c->p.slab_size,
			nslabs * replicas * c->p.slab_size, quota);
		return CLUSTER_QUOTA;
	case ALLOC_ENOSPC:
		cluster_set_msg(msg, msglen, "not enough free memory in the cluster: %"
			PRIu64 " slabs of %" PRIu64 " bytes needed, %" PRIu64
			" free", nslabs * replicas, c->p.slab_size,
			allocator_total_available(c->alloc));
		return CLUSTER_NO_SPACE;
	case ALLOC_EDOMAIN:
		cluster_set_msg(msg, msglen, "cannot place %u replicas of each slab on "
			"distinct donors and zones with the free memory there is",
			replicas);
		return CLUSTER_CONFLICT;
	case ALLOC_ENOMEM:
		cluster_set_msg(msg, msglen, "out of memory");
		return CLUSTER_INTERNAL;
	default:
		cluster_set_msg(msg, msglen, "%s", alloc_strerror(e));
		return CLUSTER_BAD_REQUEST;
	}
}

/*
 * Replicas of an allocation that names none.  A number in rmem.conf is
 * used as is; without one, a cluster that can keep two copies apart (two
 * up donors in distinct zones) keeps two, so that losing one donor loses
 * no data, and a smaller one keeps one.
 */
static unsigned int default_replicas(struct cluster *c)
{
	struct alloc_donor_info first, di;
	bool have_first = false;

	if (c->p.default_replicas_set)
		return c->p.default_replicas;
	for (size_t i = 0; i < allocator_donor_count(c->alloc); i++) {
		allocator_donor_at(c->alloc, i, &di);
		if (!di.up)
			continue;
		if (!have_first) {
			first = di;
			have_first = true;
		} else if (!first.zone[0] || strcmp(first.zone, di.zone)) {
			return 2;
		}
	}
	return 1;
}

/* Under the lock: plan, store, apply.  See cluster_alloc(). */
static enum cluster_status alloc_locked(struct cluster *c,
		const uint8_t client_id[16], uint64_t bytes, uint64_t nslabs,
		unsigned int replicas, json_object **reply,
		char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	uint64_t quota = rmem_config_quota_for(c->p.config, client_id);
	uint64_t quota_slabs = quota / c->p.slab_size, n = nslabs * replicas;
	struct alloc_place *places = calloc(n, sizeof(*places));
	struct replica_meta *rms = calloc(n, sizeof(*rms));
	struct storage_alloc sa = { .reps = calloc(n, sizeof(*sa.reps)) };
	enum cluster_status ret = CLUSTER_INTERNAL;
	struct alloc_info ai;
	enum alloc_err e;

	if (!places || !rms || !sa.reps) {
		cluster_set_msg(msg, msglen, "out of memory");
		goto out_free;
	}
	if (quota && !quota_slabs)	/* quota below one slab: 0 means none */
		e = ALLOC_EQUOTA;
	else
		e = allocator_plan(c->alloc, client_id, (uint32_t)nslabs,
				   replicas, quota_slabs, places);
	if (e) {
		ret = plan_error(c, e, nslabs, replicas, quota, client_id, msg,
				 msglen);
		goto out_free;
	}
	memcpy(sa.client_id, client_id, 16);
	sa.bytes = bytes;
	sa.nslabs = (uint32_t)nslabs;
	sa.replicas = replicas;
	sa.created = time(NULL);
	for (uint64_t k = 0; k < n; k++) {
		const struct donor_meta *m = cluster_donor_meta(c, places[k].donor_id);

		sa.reps[k] = (struct storage_replica){
			.slab_index = (uint32_t)(k / replicas),
			.replica = (uint32_t)(k % replicas),
			.donor_id = places[k].donor_id,
			.slab_id = places[k].slab_id,
			.instance_id = m->instance_id,
			.generation = 1,
		};
		replica_meta_from(&rms[k], &sa.reps[k]);
	}
	if (ops->begin(c->st) || ops->alloc_insert(c->st, &sa) ||
	    ops->commit(c->st)) {
		ret = cluster_storage_failed(c, "storing the allocation", msg, msglen);
		goto out_free;
	}
	e = allocator_commit(c->alloc, sa.id, client_id, bytes,
			     (uint32_t)nslabs, replicas, places);
	if (e || ameta_append(c, sa.id, sa.created, rms)) {
		/* Cannot happen short of ENOMEM; undo the stored copy. */
		log_error("allocation %" PRIu64 " stored but not applied: %s",
			  sa.id, e ? alloc_strerror(e) : "out of memory");
		if (!e)
			allocator_release(c->alloc, sa.id);
		if (ops->begin(c->st) || ops->alloc_delete(c->st, sa.id) ||
		    ops->commit(c->st))
			ops->rollback(c->st);
		cluster_set_msg(msg, msglen, "internal error; nothing was allocated");
		rms = e ? rms : NULL;	/* ameta_append() took it */
		goto out_free;
	}
	rms = NULL;
	allocator_get(c->alloc, sa.id, &ai);
	*reply = alloc_json(c, &ai);
	log_debug("allocation %" PRIu64 ": %" PRIu64 " slabs x %u", sa.id,
		  nslabs, replicas);
	ret = CLUSTER_CREATED;
out_free:
	free(places);
	free(rms);
	free(sa.reps);
	return ret;
}

enum cluster_status cluster_alloc(struct cluster *c,
		const uint8_t client_id[16], uint64_t bytes,
		unsigned int replicas,
		json_object **reply, char *msg, size_t msglen)
{
	enum cluster_status ret;
	uint64_t nslabs;

	if (replicas > ALLOC_MAX_REPLICAS) {
		cluster_set_msg(msg, msglen, "replicas must be 1..%d", ALLOC_MAX_REPLICAS);
		return CLUSTER_BAD_REQUEST;
	}
	if (!bytes) {
		cluster_set_msg(msg, msglen, "bytes must be positive");
		return CLUSTER_BAD_REQUEST;
	}
	nslabs = bytes / c->p.slab_size + (bytes % c->p.slab_size != 0);
	if (nslabs > CLUSTER_MAX_ALLOC_SLABS) {
		cluster_set_msg(msg, msglen, "bytes %" PRIu64 " is too large: at most %u slabs of %"
			PRIu64 " bytes per allocation", bytes,
			CLUSTER_MAX_ALLOC_SLABS, c->p.slab_size);
		return CLUSTER_BAD_REQUEST;
	}
	pthread_mutex_lock(&c->lock);
	if (!replicas)
		replicas = default_replicas(c);
	ret = alloc_locked(c, client_id, bytes, nslabs, replicas, reply, msg,
			   msglen);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

enum cluster_status cluster_release(struct cluster *c, uint64_t id,
		json_object **reply, char *msg, size_t msglen)
{
	const struct storage_ops *ops = c->st->ops;
	enum cluster_status ret = CLUSTER_OK;
	struct alloc_info ai;

	pthread_mutex_lock(&c->lock);
	if (allocator_get(c->alloc, id, &ai)) {
		cluster_set_msg(msg, msglen, "no allocation %" PRIu64, id);
		ret = CLUSTER_NOT_FOUND;
		goto out_unlock;
	}
	if (ops->begin(c->st) || ops->alloc_delete(c->st, id) ||
	    ops->commit(c->st)) {
		ret = cluster_storage_failed(c, "releasing the allocation", msg, msglen);
		goto out_unlock;
	}
	allocator_release(c->alloc, id);
	ameta_remove(c, id);
	*reply = json_object_new_object();
	json_object_object_add(*reply, "id", json_object_new_uint64(id));
	json_object_object_add(*reply, "released", json_object_new_boolean(1));
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

enum cluster_status cluster_alloc_list(struct cluster *c,
		const uint8_t *client_id, json_object **reply)
{
	json_object *arr = json_object_new_array();

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < allocator_alloc_count(c->alloc); i++) {
		struct alloc_info ai;

		allocator_alloc_at(c->alloc, i, &ai);
		if (client_id && memcmp(ai.client_id, client_id, 16))
			continue;
		json_object_array_add(arr, alloc_json(c, &ai));
	}
	pthread_mutex_unlock(&c->lock);
	*reply = json_object_new_object();
	json_object_object_add(*reply, "allocations", arr);
	return CLUSTER_OK;
}

enum cluster_status cluster_alloc_get(struct cluster *c, uint64_t id,
		json_object **reply, char *msg, size_t msglen)
{
	enum cluster_status ret = CLUSTER_OK;
	struct alloc_info ai;

	pthread_mutex_lock(&c->lock);
	if (allocator_get(c->alloc, id, &ai)) {
		cluster_set_msg(msg, msglen, "no allocation %" PRIu64, id);
		ret = CLUSTER_NOT_FOUND;
	} else {
		*reply = alloc_json(c, &ai);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- summary, events, metrics ---- */

struct totals {
	unsigned int	up, down, default_replicas;
	uint64_t	total_slabs, used, available, lost;
	uint64_t	degraded, resyncing;	/* replicas lost or resyncing */
	size_t		clients, allocs;
};

static void count(struct cluster *c, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < c->ndonors; i++) {
		if (c->donors[i].state == STORAGE_DONOR_UP)
			t->up++;
		else
			t->down++;
		t->total_slabs += c->donors[i].total_slabs;
	}
	t->used = allocator_total_used(c->alloc);
	t->available = allocator_total_available(c->alloc);
	t->clients = allocator_client_count(c->alloc);
	t->allocs = allocator_alloc_count(c->alloc);
	t->default_replicas = default_replicas(c);
	for (size_t i = 0; i < t->allocs; i++) {
		struct alloc_info ai;
		const struct alloc_meta *am;

		allocator_alloc_at(c->alloc, i, &ai);
		am = cluster_alloc_meta(c, ai.id);
		for (uint64_t k = 0; k < (uint64_t)ai.nslabs * ai.replicas; k++) {
			enum replica_state rs = replica_state_of(&ai.places[k],
								 &am->reps[k]);

			t->lost += ai.places[k].lost;
			t->degraded += rs != REPLICA_LIVE;
			t->resyncing += rs == REPLICA_RESYNCING;
		}
	}
}

enum cluster_status cluster_status(struct cluster *c, json_object **reply)
{
	json_object *o = json_object_new_object();
	json_object *donors = json_object_new_object();
	json_object *slabs = json_object_new_object();
	struct totals t;

	pthread_mutex_lock(&c->lock);
	count(c, &t);
	pthread_mutex_unlock(&c->lock);
	json_object_object_add(donors, "up", json_object_new_int64(t.up));
	json_object_object_add(donors, "down", json_object_new_int64(t.down));
	json_object_object_add(o, "donors", donors);
	json_object_object_add(slabs, "total", json_object_new_uint64(t.total_slabs));
	json_object_object_add(slabs, "used", json_object_new_uint64(t.used));
	json_object_object_add(slabs, "free", json_object_new_uint64(t.available));
	json_object_object_add(slabs, "lost", json_object_new_uint64(t.lost));
	json_object_object_add(o, "slabs", slabs);
	json_object_object_add(o, "slab_size", json_object_new_uint64(c->p.slab_size));
	json_object_object_add(o, "free_bytes",
			       json_object_new_uint64(t.available * c->p.slab_size));
	json_object_object_add(o, "clients", json_object_new_uint64(t.clients));
	json_object_object_add(o, "allocations", json_object_new_uint64(t.allocs));
	json_object_object_add(o, "default_replicas",
			       json_object_new_int64(t.default_replicas));
	json_object_object_add(o, "heartbeat_interval_ms",
			       json_object_new_int64(c->p.heartbeat_interval_ms));
	*reply = o;
	return CLUSTER_OK;
}

static int add_event(void *arg, const struct storage_event *e)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_uint64(e->id));
	json_object_object_add(o, "time", json_object_new_int64(e->time));
	json_object_object_add(o, "donor_id", json_object_new_int64(e->donor_id));
	json_object_object_add(o, "kind", json_object_new_string(e->kind));
	json_object_object_add(o, "message", json_object_new_string(e->message));
	json_object_array_add(arg, o);
	return 0;
}

enum cluster_status cluster_events(struct cluster *c, unsigned int limit,
		json_object **reply, char *msg, size_t msglen)
{
	json_object *arr = json_object_new_array();
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = c->st->ops->list_events(c->st, limit, add_event, arr);
	if (rc)
		log_error("storage: listing events: %s", c->st->ops->errmsg(c->st));
	pthread_mutex_unlock(&c->lock);
	if (rc) {
		json_object_put(arr);
		cluster_set_msg(msg, msglen, "storage error while listing events");
		return CLUSTER_INTERNAL;
	}
	*reply = json_object_new_object();
	json_object_object_add(*reply, "events", arr);
	return CLUSTER_OK;
}

char *cluster_metrics(struct cluster *c, uint64_t api_errors)
{
	struct totals t;
	char *out = NULL, *more;
	int rc;

	pthread_mutex_lock(&c->lock);
	count(c, &t);
	more = reprotect_metrics(c, t.degraded, t.resyncing);
	pthread_mutex_unlock(&c->lock);
	if (!more)
		return NULL;
	rc = asprintf(&out,
		"# HELP rmem_donors Registered donors by state.\n"
		"# TYPE rmem_donors gauge\n"
		"rmem_donors{state=\"up\"} %u\n"
		"rmem_donors{state=\"down\"} %u\n"
		"# HELP rmem_slab_size_bytes Cluster slab size.\n"
		"# TYPE rmem_slab_size_bytes gauge\n"
		"rmem_slab_size_bytes %" PRIu64 "\n"
		"# HELP rmem_slabs_total Slabs donors lend in all.\n"
		"# TYPE rmem_slabs_total gauge\n"
		"rmem_slabs_total %" PRIu64 "\n"
		"# HELP rmem_slabs_free Slabs that can be allocated now (up donors).\n"
		"# TYPE rmem_slabs_free gauge\n"
		"rmem_slabs_free %" PRIu64 "\n"
		"# HELP rmem_slabs_used Slabs given to clients.\n"
		"# TYPE rmem_slabs_used gauge\n"
		"rmem_slabs_used %" PRIu64 "\n"
		"# HELP rmem_slabs_lost Slab replicas lost with their donor, not yet released.\n"
		"# TYPE rmem_slabs_lost gauge\n"
		"rmem_slabs_lost %" PRIu64 "\n"
		"# HELP rmem_clients Clients holding allocations.\n"
		"# TYPE rmem_clients gauge\n"
		"rmem_clients %zu\n"
		"# HELP rmem_allocations Live allocations.\n"
		"# TYPE rmem_allocations gauge\n"
		"rmem_allocations %zu\n"
		"# HELP rmem_api_errors_total API requests answered with an error.\n"
		"# TYPE rmem_api_errors_total counter\n"
		"rmem_api_errors_total %" PRIu64 "\n%s",
		t.up, t.down, c->p.slab_size, t.total_slabs, t.available,
		t.used, t.lost, t.clients, t.allocs, api_errors, more);
	free(more);
	return rc < 0 ? NULL : out;
}

unsigned int cluster_check_heartbeats(struct cluster *c)
{
	const struct storage_ops *ops = c->st->ops;
	int64_t deadline = (int64_t)c->p.heartbeat_interval_ms *
			   CLUSTER_MISSED_HEARTBEATS;
	int64_t now = cluster_now_ms();
	unsigned int n = 0;
	char text[400];

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->ndonors; i++) {
		struct donor_meta *m = &c->donors[i];
		struct storage_donor sd;

		if (m->state != STORAGE_DONOR_UP ||
		    now - m->last_heartbeat_ms <= deadline)
			continue;
		sd = to_storage(m);
		sd.state = STORAGE_DONOR_DOWN;
		sd.down_since_ms = cluster_wall_ms();
		snprintf(text, sizeof(text),
			 "donor %s down: no heartbeat for %" PRId64 " ms (%d missed)",
			 m->addr, now - m->last_heartbeat_ms,
			 CLUSTER_MISSED_HEARTBEATS);
		if (ops->begin(c->st) || ops->donor_update(c->st, &sd) ||
		    ops->event_add(c->st, m->id, "down", text) ||
		    ops->commit(c->st)) {
			/* Try again on the next tick. */
			log_error("storage: marking donor %u down: %s", m->id,
				  ops->errmsg(c->st));
			ops->rollback(c->st);
			continue;
		}
		log_warn("%s", text);
		m->state = STORAGE_DONOR_DOWN;
		m->down_since_ms = sd.down_since_ms;
		allocator_donor_set_up(c->alloc, m->id, false);
		n++;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}
