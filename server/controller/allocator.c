// SPDX-License-Identifier: MIT
/*
 * Slab placement and bookkeeping for rmem-controllerd; see allocator.h.
 * Tables are small (donors: tens; allocations: thousands), so sorted
 * arrays with binary search keep this simple and easy to check.
 */
#include "allocator.h"

#include <stdlib.h>
#include <string.h>

struct donor {
	uint32_t	id;
	char		zone[ALLOC_ZONE_MAX];
	uint32_t	total;
	uint32_t	used;
	uint32_t	reported_free;
	bool		up;
	uint8_t		*taken;		/* taken[slab_id] != 0: given out */
};

struct alloc {
	uint64_t	id;
	uint8_t		client_id[16];
	uint64_t	bytes;
	uint32_t	nslabs;
	uint32_t	replicas;
	struct alloc_place *places;
};

struct client {
	uint8_t		id[16];
	uint64_t	usage;		/* slab-replicas held */
	size_t		nallocs;
};

struct allocator {
	uint64_t	rng;
	struct donor	*donors;	/* sorted by id */
	size_t		ndonors;
	struct alloc	*allocs;	/* sorted by id */
	size_t		nallocs;
	struct client	*clients;	/* unordered */
	size_t		nclients;
};

const char *alloc_strerror(enum alloc_err e)
{
	switch (e) {
	case ALLOC_OK:		return "ok";
	case ALLOC_EINVAL:	return "invalid argument";
	case ALLOC_EEXIST:	return "already exists";
	case ALLOC_ENOENT:	return "no such donor or allocation";
	case ALLOC_EBUSY:	return "slab already given or donor busy";
	case ALLOC_EQUOTA:	return "client quota exceeded";
	case ALLOC_ENOSPC:	return "not enough free slabs in the cluster";
	case ALLOC_EDOMAIN:	return "not enough distinct donors and zones for the replicas";
	case ALLOC_ENOMEM:	return "out of memory";
	}
	return "unknown error";
}

/* splitmix64: small, seedable, good enough to spread placements. */
static uint64_t rng_next(struct allocator *a)
{
	uint64_t z = (a->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct allocator *allocator_new(uint64_t seed)
{
	struct allocator *a = calloc(1, sizeof(*a));

	if (a)
		a->rng = seed;
	return a;
}

void allocator_free(struct allocator *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->ndonors; i++)
		free(a->donors[i].taken);
	for (size_t i = 0; i < a->nallocs; i++)
		free(a->allocs[i].places);
	free(a->donors);
	free(a->allocs);
	free(a->clients);
	free(a);
}

static size_t donor_pos(const struct allocator *a, uint32_t id)
{
	size_t lo = 0, hi = a->ndonors;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->donors[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct donor *donor_find(const struct allocator *a, uint32_t id)
{
	size_t pos = donor_pos(a, id);

	if (pos < a->ndonors && a->donors[pos].id == id)
		return &a->donors[pos];
	return NULL;
}

static size_t alloc_pos(const struct allocator *a, uint64_t id)
{
	size_t lo = 0, hi = a->nallocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->allocs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct alloc *alloc_find(const struct allocator *a, uint64_t id)
{
	size_t pos = alloc_pos(a, id);

	if (pos < a->nallocs && a->allocs[pos].id == id)
		return &a->allocs[pos];
	return NULL;
}

static struct client *client_find(const struct allocator *a,
				  const uint8_t id[16])
{
	for (size_t i = 0; i < a->nclients; i++)
		if (!memcmp(a->clients[i].id, id, 16))
			return &a->clients[i];
	return NULL;
}

static uint32_t donor_available(const struct donor *d)
{
	uint32_t unused = d->total - d->used;

	if (!d->up)
		return 0;
	/*
	 * The donor's own count also drops for slabs taken without the
	 * controller, and ours drops at once for slabs granted but not yet
	 * claimed: offer only what both agree is free.
	 */
	return unused < d->reported_free ? unused : d->reported_free;
}

static void fill_donor_info(const struct donor *d, struct alloc_donor_info *out)
{
	out->id = d->id;
	out->zone = d->zone;
	out->total_slabs = d->total;
	out->used_slabs = d->used;
	out->reported_free = d->reported_free;
	out->available = donor_available(d);
	out->up = d->up;
}

enum alloc_err allocator_donor_add(struct allocator *a, uint32_t id,
				   const char *zone, uint32_t total_slabs)
{
	size_t pos = donor_pos(a, id);
	struct donor *arr, d = { .id = id, .total = total_slabs,
				 .reported_free = total_slabs, .up = true };

	if (pos < a->ndonors && a->donors[pos].id == id)
		return ALLOC_EEXIST;
	if (!zone)
		zone = "";
	if (strlen(zone) >= sizeof(d.zone) || !total_slabs)
		return ALLOC_EINVAL;
	strcpy(d.zone, zone);
	d.taken = calloc(total_slabs, 1);
	if (!d.taken)
		return ALLOC_ENOMEM;
	arr = realloc(a->donors, (a->ndonors + 1) * sizeof(*arr));
	if (!arr) {
		free(d.taken);
		return ALLOC_ENOMEM;
	}
	a->donors = arr;
	memmove(&arr[pos + 1], &arr[pos], (a->ndonors - pos) * sizeof(*arr));
	arr[pos] = d;
	a->ndonors++;
	return ALLOC_OK;
}

enum alloc_err allocator_donor_lose(struct allocator *a, uint32_t id,
				    uint32_t *nlost)
{
	struct donor *d = donor_find(a, id);
	uint32_t n = 0;

	if (!d)
		return ALLOC_ENOENT;
	for (size_t i = 0; i < a->nallocs; i++) {
		struct alloc *al = &a->allocs[i];

		for (uint32_t k = 0; k < al->nslabs * al->replicas; k++) {
			struct alloc_place *p = &al->places[k];

			if (p->donor_id == id && !p->lost) {
				p->lost = true;
				d->taken[p->slab_id] = 0;
				n++;
			}
		}
	}
	d->used = 0;
	if (nlost)
		*nlost = n;
	return ALLOC_OK;
}

enum alloc_err allocator_donor_remove(struct allocator *a, uint32_t id)
{
	size_t pos = donor_pos(a, id);

	if (pos >= a->ndonors || a->donors[pos].id != id)
		return ALLOC_ENOENT;
	if (a->donors[pos].used)
		return ALLOC_EBUSY;
	free(a->donors[pos].taken);
	memmove(&a->donors[pos], &a->donors[pos + 1],
		(a->ndonors - pos - 1) * sizeof(*a->donors));
	a->ndonors--;
	return ALLOC_OK;
}

enum alloc_err allocator_donor_reset(struct allocator *a, uint32_t id,
				     const char *zone, uint32_t total_slabs)
{
	struct donor *d = donor_find(a, id);
	uint8_t *taken;

	if (!d)
		return ALLOC_ENOENT;
	if (d->used)
		return ALLOC_EBUSY;
	if (!zone)
		zone = "";
	if (strlen(zone) >= sizeof(d->zone) || !total_slabs)
		return ALLOC_EINVAL;
	taken = calloc(total_slabs, 1);
	if (!taken)
		return ALLOC_ENOMEM;
	free(d->taken);
	d->taken = taken;
	d->total = total_slabs;
	d->reported_free = total_slabs;
	strcpy(d->zone, zone);
	return ALLOC_OK;
}

enum alloc_err allocator_donor_resize(struct allocator *a, uint32_t id,
				      uint32_t total_slabs)
{
	struct donor *d = donor_find(a, id);
	uint8_t *taken;

	if (!d)
		return ALLOC_ENOENT;
	if (!total_slabs)
		return ALLOC_EINVAL;
	/* Slabs past the new end went back to the donor's host: none held. */
	for (uint32_t i = total_slabs; i < d->total; i++)
		if (d->taken[i])
			return ALLOC_EBUSY;
	taken = realloc(d->taken, total_slabs);
	if (!taken)
		return ALLOC_ENOMEM;
	if (total_slabs > d->total)
		memset(taken + d->total, 0, total_slabs - d->total);
	d->taken = taken;
	d->total = total_slabs;
	if (d->reported_free > total_slabs)
		d->reported_free = total_slabs;
	return ALLOC_OK;
}

enum alloc_err allocator_donor_set_up(struct allocator *a, uint32_t id,
				      bool up)
{
	struct donor *d = donor_find(a, id);

	if (!d)
		return ALLOC_ENOENT;
	d->up = up;
	return ALLOC_OK;
}

enum alloc_err allocator_donor_set_free(struct allocator *a, uint32_t id,
					uint32_t reported_free)
{
	struct donor *d = donor_find(a, id);

	if (!d)
		return ALLOC_ENOENT;
	if (reported_free > d->total)
		return ALLOC_EINVAL;
	d->reported_free = reported_free;
	return ALLOC_OK;
}

enum alloc_err allocator_donor_get(const struct allocator *a, uint32_t id,
				   struct alloc_donor_info *out)
{
	const struct donor *d = donor_find(a, id);

	if (!d)
		return ALLOC_ENOENT;
	fill_donor_info(d, out);
	return ALLOC_OK;
}

size_t allocator_donor_count(const struct allocator *a)
{
	return a->ndonors;
}

void allocator_donor_at(const struct allocator *a, size_t i,
			struct alloc_donor_info *out)
{
	fill_donor_info(&a->donors[i], out);
}

/* Two donors are one failure domain if they are one donor or share a zone. */
static bool same_domain(const struct donor *x, const struct donor *y)
{
	return x == y || (x->zone[0] && !strcmp(x->zone, y->zone));
}

static size_t count_domains(const struct allocator *a, const uint32_t *avail)
{
	size_t n = 0;

	for (size_t i = 0; i < a->ndonors; i++) {
		bool seen = false;

		if (!avail[i])
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = avail[j] && same_domain(&a->donors[i], &a->donors[j]);
		if (!seen)
			n++;
	}
	return n;
}

/* Weighted draw among eligible donors, skipping @skip (SIZE_MAX: none). */
static size_t weighted_pick(struct allocator *a, const uint32_t *avail,
			    const bool *eligible, size_t skip)
{
	uint64_t sum = 0, r;

	for (size_t i = 0; i < a->ndonors; i++)
		if (eligible[i] && i != skip)
			sum += avail[i];
	if (!sum)
		return SIZE_MAX;
	r = rng_next(a) % sum;
	for (size_t i = 0; i < a->ndonors; i++) {
		if (!eligible[i] || i == skip)
			continue;
		if (r < avail[i])
			return i;
		r -= avail[i];
	}
	return SIZE_MAX;	/* not reached: r < sum */
}

/*
 * Power of two choices: two weighted draws among the eligible donors, the
 * one with more available slabs wins.  SIZE_MAX if none is eligible.
 */
static size_t p2c_pick(struct allocator *a, const uint32_t *avail,
		       const bool *eligible)
{
	size_t c1 = weighted_pick(a, avail, eligible, SIZE_MAX), c2;

	if (c1 == SIZE_MAX)
		return SIZE_MAX;
	c2 = weighted_pick(a, avail, eligible, c1);
	return (c2 != SIZE_MAX && avail[c2] > avail[c1]) ? c2 : c1;
}

/* Lowest slab id of @d not given out; avail > 0 guarantees one. */
static uint32_t lowest_free(const struct donor *d)
{
	uint32_t i = 0;

	while (i < d->total && d->taken[i])
		i++;
	return i;
}

enum alloc_err allocator_plan(struct allocator *a, const uint8_t client_id[16],
			      uint32_t nslabs, uint32_t replicas,
			      uint64_t quota_slabs, struct alloc_place *out)
{
	uint64_t need = (uint64_t)nslabs * replicas, total = 0;
	enum alloc_err ret = ALLOC_OK;
	uint32_t *avail = NULL;
	bool *eligible = NULL;
	size_t *chosen = NULL;

	if (!nslabs || replicas < 1 || replicas > ALLOC_MAX_REPLICAS)
		return ALLOC_EINVAL;
	if (quota_slabs &&
	    allocator_client_usage(a, client_id) + need > quota_slabs)
		return ALLOC_EQUOTA;
	if (!a->ndonors)
		return ALLOC_ENOSPC;

	avail = calloc(a->ndonors, sizeof(*avail));
	eligible = calloc(a->ndonors, sizeof(*eligible));
	chosen = calloc(a->ndonors, sizeof(*chosen));
	if (!avail || !eligible || !chosen) {
		ret = ALLOC_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < a->ndonors; i++) {
		avail[i] = donor_available(&a->donors[i]);
		total += avail[i];
	}
	if (total < need) {
		ret = ALLOC_ENOSPC;
		goto out_free;
	}
	if (count_domains(a, avail) < replicas) {
		ret = ALLOC_EDOMAIN;
		goto out_free;
	}

	for (uint32_t s = 0; s < nslabs; s++) {
		for (uint32_t r = 0; r < replicas; r++) {
			size_t pick;

			for (size_t i = 0; i < a->ndonors; i++) {
				eligible[i] = avail[i] > 0;
				for (uint32_t k = 0; k < r && eligible[i]; k++)
					eligible[i] = !same_domain(&a->donors[i],
						&a->donors[chosen[k]]);
			}
			pick = p2c_pick(a, avail, eligible);
			if (pick == SIZE_MAX) {
				/* Enough slabs in total, but not spread widely
				 * enough to keep the replicas apart. */
				ret = replicas > 1 ? ALLOC_EDOMAIN : ALLOC_ENOSPC;
				goto out_free;
			}
			avail[pick]--;
			chosen[r] = pick;
			out[(size_t)s * replicas + r] = (struct alloc_place){
				.donor_id = a->donors[pick].id,
			};
		}
	}

	/* Slab ids: the lowest free indices of each donor, in plan order. */
	for (size_t i = 0; i < a->ndonors; i++) {
		const struct donor *d = &a->donors[i];
		uint32_t cursor = 0;

		for (uint64_t k = 0; k < need; k++) {
			if (out[k].donor_id != d->id)
				continue;
			while (cursor < d->total && d->taken[cursor])
				cursor++;
			/* avail <= total - used guarantees a free index. */
			out[k].slab_id = cursor++;
		}
	}
out_free:
	free(avail);
	free(eligible);
	free(chosen);
	return ret;
}

/* Checks that @places can be applied; see allocator_commit(). */
static enum alloc_err check_places(const struct allocator *a, uint32_t nslabs,
				   uint32_t replicas,
				   const struct alloc_place *places)
{
	uint64_t n = (uint64_t)nslabs * replicas;

	for (uint64_t k = 0; k < n; k++) {
		const struct alloc_place *p = &places[k];
		const struct donor *d;

		if (p->lost)
			continue;
		d = donor_find(a, p->donor_id);
		if (!d || p->slab_id >= d->total)
			return ALLOC_ENOENT;
		if (d->taken[p->slab_id])
			return ALLOC_EBUSY;
		/* Same slab twice within this very placement? */
		for (uint64_t j = 0; j < k; j++)
			if (!places[j].lost && places[j].donor_id == p->donor_id &&
			    places[j].slab_id == p->slab_id)
				return ALLOC_EBUSY;
		/* Replicas of one slab in distinct domains. */
		uint64_t first = k - k % replicas;
		for (uint64_t j = first; j < k; j++) {
			const struct donor *o;

			if (places[j].lost)
				continue;
			o = donor_find(a, places[j].donor_id);
			if (o && same_domain(d, o))
				return ALLOC_EDOMAIN;
		}
	}
	return ALLOC_OK;
}

enum alloc_err allocator_commit(struct allocator *a, uint64_t id,
				const uint8_t client_id[16], uint64_t bytes,
				uint32_t nslabs, uint32_t replicas,
				const struct alloc_place *places)
{
	uint64_t n = (uint64_t)nslabs * replicas;
	size_t pos = alloc_pos(a, id);
	struct client *c = client_find(a, client_id);
	struct alloc *arr, al;
	enum alloc_err ret;

	if (!nslabs || replicas < 1 || replicas > ALLOC_MAX_REPLICAS)
		return ALLOC_EINVAL;
	if (pos < a->nallocs && a->allocs[pos].id == id)
		return ALLOC_EEXIST;
	ret = check_places(a, nslabs, replicas, places);
	if (ret)
		return ret;

	al = (struct alloc){ .id = id, .bytes = bytes, .nslabs = nslabs,
			     .replicas = replicas };
	memcpy(al.client_id, client_id, 16);
	al.places = malloc(n * sizeof(*al.places));
	if (!al.places)
		return ALLOC_ENOMEM;
	memcpy(al.places, places, n * sizeof(*al.places));
	if (!c) {
		struct client *carr = realloc(a->clients,
				(a->nclients + 1) * sizeof(*carr));

		if (!carr) {
			free(al.places);
			return ALLOC_ENOMEM;
		}
		a->clients = carr;
		c = &carr[a->nclients++];
		memset(c, 0, sizeof(*c));
		memcpy(c->id, client_id, 16);
	}
	arr = realloc(a->allocs, (a->nallocs + 1) * sizeof(*arr));
	if (!arr) {
		/* Leave no empty client behind. */
		if (!c->nallocs)
			*c = a->clients[--a->nclients];
		free(al.places);
		return ALLOC_ENOMEM;
	}
	a->allocs = arr;
	memmove(&arr[pos + 1], &arr[pos], (a->nallocs - pos) * sizeof(*arr));
	arr[pos] = al;
	a->nallocs++;

	for (uint64_t k = 0; k < n; k++) {
		struct donor *d;

		if (places[k].lost)
			continue;
		d = donor_find(a, places[k].donor_id);
		d->taken[places[k].slab_id] = 1;
		d->used++;
	}
	c->usage += n;
	c->nallocs++;
	return ALLOC_OK;
}

enum alloc_err allocator_release(struct allocator *a, uint64_t id)
{
	size_t pos = alloc_pos(a, id);
	struct alloc *al;
	struct client *c;
	uint64_t n;

	if (pos >= a->nallocs || a->allocs[pos].id != id)
		return ALLOC_ENOENT;
	al = &a->allocs[pos];
	n = (uint64_t)al->nslabs * al->replicas;
	for (uint64_t k = 0; k < n; k++) {
		struct donor *d;

		if (al->places[k].lost)
			continue;
		d = donor_find(a, al->places[k].donor_id);
		d->taken[al->places[k].slab_id] = 0;
		d->used--;
	}
	c = client_find(a, al->client_id);
	c->usage -= n;
	if (!--c->nallocs)
		*c = a->clients[--a->nclients];
	free(al->places);
	memmove(&a->allocs[pos], &a->allocs[pos + 1],
		(a->nallocs - pos - 1) * sizeof(*a->allocs));
	a->nallocs--;
	return ALLOC_OK;
}

/*
 * May @d hold replica @replica of slab @slab of @al?  Not if it shares a
 * domain with another live replica of that slab, nor if it is the donor
 * the replica is on now and that copy is not lost: the client gave up on
 * that donor, and two copies of a slab on one donor protect nothing.
 */
static bool replace_allowed(const struct allocator *a, const struct alloc *al,
			    uint32_t slab, uint32_t replica,
			    const struct donor *d)
{
	const struct alloc_place *row = &al->places[(size_t)slab * al->replicas];

	for (uint32_t r = 0; r < al->replicas; r++) {
		const struct donor *o;

		if (row[r].lost)
			continue;
		o = donor_find(a, row[r].donor_id);
		if (!o)
			continue;
		if (r == replica ? o == d : same_domain(o, d))
			return false;
	}
	return true;
}

enum alloc_err allocator_plan_replace(struct allocator *a, uint64_t id,
				      uint32_t slab, uint32_t replica,
				      struct alloc_place *out)
{
	const struct alloc *al = alloc_find(a, id);
	enum alloc_err ret = ALLOC_OK;
	uint32_t *avail;
	bool *eligible, any_free = false;
	size_t pick;

	if (!al)
		return ALLOC_ENOENT;
	if (slab >= al->nslabs || replica >= al->replicas)
		return ALLOC_EINVAL;
	if (!a->ndonors)
		return ALLOC_ENOSPC;
	avail = calloc(a->ndonors, sizeof(*avail));
	eligible = calloc(a->ndonors, sizeof(*eligible));
	if (!avail || !eligible) {
		ret = ALLOC_ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < a->ndonors; i++) {
		avail[i] = donor_available(&a->donors[i]);
		any_free |= avail[i] > 0;
		eligible[i] = avail[i] > 0 &&
			replace_allowed(a, al, slab, replica, &a->donors[i]);
	}
	pick = p2c_pick(a, avail, eligible);
	if (pick == SIZE_MAX) {
		ret = any_free ? ALLOC_EDOMAIN : ALLOC_ENOSPC;
		goto out_free;
	}
	*out = (struct alloc_place){
		.donor_id = a->donors[pick].id,
		.slab_id = lowest_free(&a->donors[pick]),
	};
out_free:
	free(avail);
	free(eligible);
	return ret;
}

enum alloc_err allocator_replace(struct allocator *a, uint64_t id,
				 uint32_t slab, uint32_t replica,
				 const struct alloc_place *place)
{
	struct alloc *al = alloc_find(a, id);
	struct alloc_place *old;
	struct donor *d, *od;

	if (!al)
		return ALLOC_ENOENT;
	if (slab >= al->nslabs || replica >= al->replicas || place->lost)
		return ALLOC_EINVAL;
	d = donor_find(a, place->donor_id);
	if (!d || place->slab_id >= d->total)
		return ALLOC_ENOENT;
	if (d->taken[place->slab_id])
		return ALLOC_EBUSY;
	if (!replace_allowed(a, al, slab, replica, d))
		return ALLOC_EDOMAIN;

	old = &al->places[(size_t)slab * al->replicas + replica];
	od = old->lost ? NULL : donor_find(a, old->donor_id);
	if (od) {
		od->taken[old->slab_id] = 0;
		od->used--;
	}
	*old = *place;
	d->taken[place->slab_id] = 1;
	d->used++;
	/* The client holds as many slab-replicas as before: usage unchanged. */
	return ALLOC_OK;
}

static void fill_alloc_info(const struct alloc *al, struct alloc_info *out)
{
	out->id = al->id;
	memcpy(out->client_id, al->client_id, 16);
	out->bytes = al->bytes;
	out->nslabs = al->nslabs;
	out->replicas = al->replicas;
	out->places = al->places;
}

enum alloc_err allocator_get(const struct allocator *a, uint64_t id,
			     struct alloc_info *out)
{
	const struct alloc *al = alloc_find(a, id);

	if (!al)
		return ALLOC_ENOENT;
	fill_alloc_info(al, out);
	return ALLOC_OK;
}

size_t allocator_alloc_count(const struct allocator *a)
{
	return a->nallocs;
}

void allocator_alloc_at(const struct allocator *a, size_t i,
			struct alloc_info *out)
{
	fill_alloc_info(&a->allocs[i], out);
}

uint64_t allocator_client_usage(const struct allocator *a,
				const uint8_t client_id[16])
{
	const struct client *c = client_find(a, client_id);

	return c ? c->usage : 0;
}

size_t allocator_client_count(const struct allocator *a)
{
	return a->nclients;
}

uint64_t allocator_total_available(const struct allocator *a)
{
	uint64_t n = 0;

	for (size_t i = 0; i < a->ndonors; i++)
		n += donor_available(&a->donors[i]);
	return n;
}

uint64_t allocator_total_used(const struct allocator *a)
{
	uint64_t n = 0;

	for (size_t i = 0; i < a->ndonors; i++)
		n += a->donors[i].used;
	return n;
}
