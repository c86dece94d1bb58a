// SPDX-License-Identifier: MIT
/*
 * Unit and property tests of the controller's slab allocator
 * (server/controller/allocator.c).  The property test drives thousands of
 * random joins, leaves, restarts, heartbeats, allocations, replica
 * replacements and releases from a seeded PRNG and, after every step, checks the allocator against
 * an independent model kept here.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "allocator.h"
#include "tap.h"

static const uint8_t CLIENT_A[16] = { 0xa };
static const uint8_t CLIENT_B[16] = { 0xb };

static void test_basics(void)
{
	struct allocator *a = allocator_new(1);
	struct alloc_place p[8];
	struct alloc_info ai;
	struct alloc_donor_info di;

	ok(allocator_plan(a, CLIENT_A, 1, 1, 0, p) == ALLOC_ENOSPC,
	   "empty cluster: ENOSPC");
	ok(allocator_donor_add(a, 1, "z1", 4) == ALLOC_OK, "add donor 1");
	ok(allocator_donor_add(a, 1, "z1", 4) == ALLOC_EEXIST,
	   "same donor id twice refused");
	ok(allocator_donor_add(a, 2, "", 0) == ALLOC_EINVAL,
	   "zero-capacity donor refused");
	ok(allocator_plan(a, CLIENT_A, 0, 1, 0, p) == ALLOC_EINVAL,
	   "zero slabs refused");
	ok(allocator_plan(a, CLIENT_A, 1, 4, 0, p) == ALLOC_EINVAL,
	   "too many replicas refused");
	ok(allocator_plan(a, CLIENT_A, 5, 1, 0, p) == ALLOC_ENOSPC,
	   "more than capacity: ENOSPC");
	ok(allocator_plan(a, CLIENT_A, 1, 2, 0, p) == ALLOC_EDOMAIN,
	   "2 replicas on one donor: EDOMAIN");

	ok(allocator_plan(a, CLIENT_A, 3, 1, 0, p) == ALLOC_OK, "plan 3 slabs");
	ok(p[0].slab_id == 0 && p[1].slab_id == 1 && p[2].slab_id == 2 &&
	   p[0].donor_id == 1, "lowest slab ids of donor 1");
	allocator_donor_get(a, 1, &di);
	ok(di.used_slabs == 0, "plan changes nothing");
	ok(allocator_commit(a, 10, CLIENT_A, 3 << 20, 3, 1, p) == ALLOC_OK,
	   "commit");
	ok(allocator_commit(a, 11, CLIENT_B, 3 << 20, 3, 1, p) == ALLOC_EBUSY,
	   "same slabs cannot be committed twice");
	ok(allocator_commit(a, 10, CLIENT_B, 1, 1, 1, p) == ALLOC_EEXIST,
	   "same allocation id twice refused");
	allocator_donor_get(a, 1, &di);
	ok(di.used_slabs == 3 && di.available == 1, "3 used, 1 available");
	ok(allocator_client_usage(a, CLIENT_A) == 3, "client usage 3");

	/* A donor that grows or gives back free slabs at the top. */
	ok(allocator_donor_resize(a, 1, 2) == ALLOC_EBUSY,
	   "shrinking below a given-out slab (id 2) refused");
	ok(allocator_donor_resize(a, 1, 0) == ALLOC_EINVAL, "resize to 0 refused");
	ok(allocator_donor_resize(a, 9, 4) == ALLOC_ENOENT, "resize unknown donor");
	ok(allocator_donor_resize(a, 1, 6) == ALLOC_OK &&
	   allocator_donor_set_free(a, 1, 3) == ALLOC_OK &&
	   allocator_plan(a, CLIENT_B, 3, 1, 0, p) == ALLOC_OK &&
	   p[0].slab_id == 3 && p[1].slab_id == 4 && p[2].slab_id == 5,
	   "grown to 6: slabs 3..5 are offered");
	allocator_donor_set_free(a, 1, 6);
	ok(allocator_donor_resize(a, 1, 3) == ALLOC_OK &&
	   allocator_plan(a, CLIENT_B, 1, 1, 0, p) == ALLOC_ENOSPC,
	   "shrunk to the 3 given-out slabs: nothing offered");
	allocator_donor_get(a, 1, &di);
	ok(di.total_slabs == 3 && di.reported_free == 3 && di.used_slabs == 3,
	   "free count cut to the new capacity");
	ok(allocator_donor_resize(a, 1, 4) == ALLOC_OK &&
	   allocator_donor_set_free(a, 1, 1) == ALLOC_OK, "back to 4 slabs");

	ok(allocator_plan(a, CLIENT_B, 1, 1, 0, p) == ALLOC_OK &&
	   p[0].slab_id == 3, "next plan takes slab 3");
	ok(allocator_plan(a, CLIENT_A, 1, 1, 3, p) == ALLOC_EQUOTA,
	   "quota of 3 slabs: 4th refused");

	ok(allocator_donor_set_free(a, 1, 0) == ALLOC_OK &&
	   allocator_plan(a, CLIENT_B, 1, 1, 0, p) == ALLOC_ENOSPC,
	   "donor reporting 0 free is not offered");
	allocator_donor_set_free(a, 1, 4);
	ok(allocator_donor_set_up(a, 1, false) == ALLOC_OK &&
	   allocator_plan(a, CLIENT_B, 1, 1, 0, p) == ALLOC_ENOSPC,
	   "down donor is not offered");
	allocator_donor_set_up(a, 1, true);

	ok(allocator_donor_remove(a, 1) == ALLOC_EBUSY,
	   "donor holding slabs cannot be removed");
	ok(allocator_release(a, 99) == ALLOC_ENOENT, "release unknown id");
	ok(allocator_release(a, 10) == ALLOC_OK, "release");
	allocator_donor_get(a, 1, &di);
	ok(di.used_slabs == 0 && allocator_client_count(a) == 0,
	   "release returns slabs and forgets the client");
	ok(allocator_plan(a, CLIENT_A, 4, 1, 0, p) == ALLOC_OK &&
	   allocator_commit(a, 12, CLIENT_A, 4, 4, 1, p) == ALLOC_OK,
	   "released slabs are reusable: all 4 allocated");

	/* Donor restart: its replicas are lost, its slabs free again. */
	uint32_t nlost = 0;
	ok(allocator_donor_lose(a, 1, &nlost) == ALLOC_OK && nlost == 4,
	   "donor restart loses 4 replicas");
	ok(allocator_get(a, 12, &ai) == ALLOC_OK && ai.places[0].lost &&
	   ai.places[3].lost, "allocation shows them lost");
	ok(allocator_client_usage(a, CLIENT_A) == 4,
	   "lost replicas still count for the client until released");
	ok(allocator_donor_reset(a, 1, "z1", 8) == ALLOC_OK,
	   "restarted donor gets new capacity");
	ok(allocator_plan(a, CLIENT_B, 8, 1, 0, p) == ALLOC_OK,
	   "all 8 new slabs available");
	ok(allocator_release(a, 12) == ALLOC_OK, "release allocation with lost replicas");
	allocator_donor_get(a, 1, &di);
	ok(di.used_slabs == 0, "releasing lost replicas frees nothing twice");
	ok(allocator_donor_remove(a, 1) == ALLOC_OK, "empty donor removed");
	allocator_free(a);
}

static void test_replica_domains(void)
{
	struct allocator *a = allocator_new(7);
	struct alloc_place p[64];

	allocator_donor_add(a, 1, "rack1", 100);
	allocator_donor_add(a, 2, "rack1", 100);
	allocator_donor_add(a, 3, "rack2", 100);
	ok(allocator_plan(a, CLIENT_A, 1, 3, 0, p) == ALLOC_EDOMAIN,
	   "3 replicas over 2 zones: EDOMAIN");
	ok(allocator_plan(a, CLIENT_A, 20, 2, 0, p) == ALLOC_OK,
	   "20 slabs x 2 replicas over 2 zones");
	int bad = 0;
	for (int s = 0; s < 20; s++) {
		uint32_t d0 = p[2 * s].donor_id, d1 = p[2 * s + 1].donor_id;
		bool z0 = d0 == 3, z1 = d1 == 3;

		if (d0 == d1 || z0 == z1)
			bad++;
	}
	ok(!bad, "replicas always on distinct donors and zones");
	ok(allocator_commit(a, 1, CLIENT_A, 20, 20, 2, p) == ALLOC_OK,
	   "commit replicated allocation");
	allocator_donor_add(a, 4, "", 100);
	ok(allocator_plan(a, CLIENT_A, 1, 3, 0, p) == ALLOC_OK,
	   "a donor without zone is a domain of its own");
	/* Hand-made placement putting two replicas in rack1. */
	struct alloc_place two[2] = { { .donor_id = 1, .slab_id = 90 },
				      { .donor_id = 2, .slab_id = 90 } };
	ok(allocator_commit(a, 2, CLIENT_A, 1, 1, 2, two) == ALLOC_EDOMAIN,
	   "commit refuses two replicas in one zone");
	allocator_free(a);
}

/* Re-protection: a lost replica gets a new slab where it may go. */
static void test_replace(void)
{
	struct allocator *a = allocator_new(11);
	struct alloc_place p[2], np;
	struct alloc_donor_info di;
	struct alloc_info ai;
	uint32_t nlost;

	allocator_donor_add(a, 1, "rack1", 4);
	allocator_donor_add(a, 2, "rack2", 4);
	allocator_donor_add(a, 3, "rack1", 4);
	p[0] = (struct alloc_place){ .donor_id = 1, .slab_id = 0 };
	p[1] = (struct alloc_place){ .donor_id = 2, .slab_id = 0 };
	ok(allocator_commit(a, 5, CLIENT_A, 1, 1, 2, p) == ALLOC_OK,
	   "one slab, replicas on donors 1 (rack1) and 2 (rack2)");

	ok(allocator_plan_replace(a, 6, 0, 0, &np) == ALLOC_ENOENT,
	   "replace in an unknown allocation: ENOENT");
	ok(allocator_plan_replace(a, 5, 1, 0, &np) == ALLOC_EINVAL &&
	   allocator_plan_replace(a, 5, 0, 2, &np) == ALLOC_EINVAL,
	   "slab or replica index out of range: EINVAL");

	/* Replica 1 (rack2) lost with donor 2: rack1 holds replica 0. */
	allocator_donor_lose(a, 2, &nlost);
	allocator_donor_reset(a, 2, "rack2", 4);
	ok(allocator_plan_replace(a, 5, 0, 1, &np) == ALLOC_OK && np.donor_id == 2,
	   "lost replica goes back to the restarted rack2 donor, not rack1");
	ok(allocator_replace(a, 5, 0, 1, &np) == ALLOC_OK, "replace applied");
	allocator_get(a, 5, &ai);
	ok(ai.places[1].donor_id == 2 && !ai.places[1].lost &&
	   allocator_client_usage(a, CLIENT_A) == 2,
	   "replica 1 live again on donor 2; client usage unchanged");
	allocator_donor_get(a, 2, &di);
	ok(di.used_slabs == 1, "new donor counts the slab");

	/* Replica 0 (live on donor 1): rack2 holds replica 1 and donor 1
	 * is the one the client gave up on, so donor 3 (rack1) it is. */
	ok(allocator_plan_replace(a, 5, 0, 0, &np) == ALLOC_OK && np.donor_id == 3,
	   "a live replica moves off its donor, staying out of rack2");
	ok(allocator_replace(a, 5, 0, 0, &np) == ALLOC_OK, "moved");
	allocator_donor_get(a, 1, &di);
	ok(di.used_slabs == 0, "old donor's slab released");

	np = (struct alloc_place){ .donor_id = 2, .slab_id = 3 };
	ok(allocator_replace(a, 5, 0, 0, &np) == ALLOC_EDOMAIN,
	   "replace refuses a second replica on rack2");
	np = (struct alloc_place){ .donor_id = 2, .slab_id = 0 };
	ok(allocator_replace(a, 5, 0, 0, &np) == ALLOC_EBUSY,
	   "replace refuses a slab already given");
	np = (struct alloc_place){ .donor_id = 9, .slab_id = 0 };
	ok(allocator_replace(a, 5, 0, 0, &np) == ALLOC_ENOENT,
	   "replace refuses an unknown donor");

	/* No other rack with free slabs: EDOMAIN; nothing free: ENOSPC. */
	allocator_donor_set_up(a, 1, false);
	ok(allocator_plan_replace(a, 5, 0, 0, &np) == ALLOC_EDOMAIN,
	   "free slabs only beside the other replica: EDOMAIN");
	allocator_donor_set_up(a, 2, false);
	allocator_donor_set_up(a, 3, false);
	ok(allocator_plan_replace(a, 5, 0, 0, &np) == ALLOC_ENOSPC,
	   "no up donor with a free slab: ENOSPC");
	allocator_get(a, 5, &ai);
	ok(ai.places[0].donor_id == 3 && ai.places[1].donor_id == 2,
	   "failed plans changed nothing");
	allocator_free(a);
}

/* Power of two choices weighted by free slabs favours the emptier donor. */
static void test_p2c_weighting(void)
{
	struct allocator *a = allocator_new(42);
	struct alloc_place p;
	int big = 0, left = 0;

	allocator_donor_add(a, 1, "", 1000);
	allocator_donor_add(a, 2, "", 100);
	for (int i = 0; i < 2000; i++) {
		allocator_plan(a, CLIENT_A, 1, 1, 0, &p);
		big += p.donor_id == 1;
	}
	diag("donor with 10x free chosen %d/2000", big);
	ok(big > 1900, "donor with 10x the free slabs wins >95%% of placements");
	allocator_free(a);

	a = allocator_new(43);
	allocator_donor_add(a, 1, "", 500);
	allocator_donor_add(a, 2, "", 500);
	for (int i = 0; i < 2000; i++) {
		allocator_plan(a, CLIENT_A, 1, 1, 0, &p);
		left += p.donor_id == 1;
	}
	diag("equal donors: first chosen %d/2000", left);
	ok(left > 800 && left < 1200, "equal donors share placements evenly");

	/* Filling both equal donors one slab at a time keeps them balanced. */
	for (uint64_t id = 1; id <= 600; id++) {
		allocator_plan(a, CLIENT_A, 1, 1, 0, &p);
		allocator_commit(a, id, CLIENT_A, 1, 1, 1, &p);
	}
	struct alloc_donor_info d1, d2;
	allocator_donor_get(a, 1, &d1);
	allocator_donor_get(a, 2, &d2);
	diag("after 600 allocations: %u vs %u used", d1.used_slabs, d2.used_slabs);
	ok(abs((int)d1.used_slabs - (int)d2.used_slabs) <= 10,
	   "power of two choices keeps equal donors within 10 slabs");
	allocator_free(a);
}

/* ---- property test ---- */

#define P_DONORS	24
#define P_CLIENTS	6
#define P_ZONES		4
#define P_STEPS		20000

struct model {
	bool		present[P_DONORS + 1];
	uint32_t	total[P_DONORS + 1];
	char		zone[P_DONORS + 1][8];
	uint64_t	quota[P_CLIENTS];	/* slab-replicas, 0 = none */
	uint64_t	live_ids[4096];
	size_t		nlive;
	uint64_t	next_id;
	uint32_t	next_donor;
	int		replaced;
	int		failures;
};

static uint64_t prng = 0x12345678;

static uint64_t rnd(void)
{
	prng ^= prng << 13;
	prng ^= prng >> 7;
	prng ^= prng << 17;
	return prng;
}

static void client_id_of(int c, uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = (uint8_t)(c + 1);
}

static int fail(struct model *m, int step, const char *what)
{
	if (m->failures++ < 10)
		diag("step %d: %s", step, what);
	return 1;
}

/* Checks every invariant of the allocator against the model. */
static void check(struct allocator *a, struct model *m, int step)
{
	static uint8_t seen[P_DONORS + 1][256];
	uint32_t used[P_DONORS + 1] = { 0 };
	uint64_t usage[P_CLIENTS] = { 0 };

	memset(seen, 0, sizeof(seen));
	if (allocator_alloc_count(a) != m->nlive)
		fail(m, step, "allocation count differs from model");
	for (size_t i = 0; i < allocator_alloc_count(a); i++) {
		struct alloc_info ai;

		allocator_alloc_at(a, i, &ai);
		usage[ai.client_id[0] - 1] += (uint64_t)ai.nslabs * ai.replicas;
		for (uint32_t s = 0; s < ai.nslabs; s++) {
			for (uint32_t r = 0; r < ai.replicas; r++) {
				const struct alloc_place *p =
					&ai.places[s * ai.replicas + r];

				if (p->lost)
					continue;
				if (p->donor_id > P_DONORS || !m->present[p->donor_id]) {
					fail(m, step, "live slab on absent donor");
					continue;
				}
				if (p->slab_id >= m->total[p->donor_id])
					fail(m, step, "slab id beyond capacity");
				else if (seen[p->donor_id][p->slab_id]++)
					fail(m, step, "slab given twice");
				used[p->donor_id]++;
				for (uint32_t k = 0; k < r; k++) {
					const struct alloc_place *q =
						&ai.places[s * ai.replicas + k];

					if (q->lost)
						continue;
					if (q->donor_id == p->donor_id)
						fail(m, step, "two replicas on one donor");
					else if (m->zone[q->donor_id][0] &&
						 !strcmp(m->zone[q->donor_id],
							 m->zone[p->donor_id]))
						fail(m, step, "two replicas in one zone");
				}
			}
		}
	}
	for (uint32_t d = 1; d <= P_DONORS; d++) {
		struct alloc_donor_info di;

		if (!m->present[d])
			continue;
		if (allocator_donor_get(a, d, &di)) {
			fail(m, step, "donor missing");
			continue;
		}
		if (di.used_slabs != used[d])
			fail(m, step, "donor used count differs from its slabs");
		if (di.used_slabs > di.total_slabs)
			fail(m, step, "capacity exceeded");
	}
	for (int c = 0; c < P_CLIENTS; c++) {
		uint8_t id[16];

		client_id_of(c, id);
		if (allocator_client_usage(a, id) != usage[c])
			fail(m, step, "client usage differs");
		if (m->quota[c] && usage[c] > m->quota[c])
			fail(m, step, "quota exceeded");
	}
}

static void step_alloc(struct allocator *a, struct model *m, int step)
{
	static struct alloc_place p[16 * ALLOC_MAX_REPLICAS];
	int c = (int)(rnd() % P_CLIENTS);
	uint32_t nslabs = 1 + (uint32_t)(rnd() % 16);
	uint32_t replicas = 1 + (uint32_t)(rnd() % 3);
	uint64_t need = (uint64_t)nslabs * replicas;
	uint64_t avail = allocator_total_available(a);
	uint64_t used_before = allocator_total_used(a);
	uint8_t id[16];
	enum alloc_err e;

	if (rnd() % 2)
		replicas = 1;	/* the common case today */
	need = (uint64_t)nslabs * replicas;
	client_id_of(c, id);
	e = allocator_plan(a, id, nslabs, replicas, m->quota[c], p);
	if (e == ALLOC_OK) {
		if (m->nlive == sizeof(m->live_ids) / sizeof(m->live_ids[0]))
			return;
		e = allocator_commit(a, m->next_id, id, need, nslabs, replicas, p);
		if (e != ALLOC_OK) {
			fail(m, step, "commit of a fresh plan failed");
			return;
		}
		m->live_ids[m->nlive++] = m->next_id++;
		if (allocator_total_used(a) != used_before + need)
			fail(m, step, "commit did not take exactly the planned slabs");
		return;
	}
	if (allocator_total_used(a) != used_before)
		fail(m, step, "failed plan changed state");
	if (e == ALLOC_EQUOTA) {
		if (!m->quota[c] ||
		    allocator_client_usage(a, id) + need <= m->quota[c])
			fail(m, step, "EQUOTA while within quota");
	} else if (e == ALLOC_ENOSPC) {
		/* With one replica any free slab fits: ENOSPC must be true. */
		if (replicas == 1 && avail >= need)
			fail(m, step, "ENOSPC with enough free slabs");
	} else if (e != ALLOC_EDOMAIN) {
		fail(m, step, "unexpected plan error");
	}
}

static void step_release(struct allocator *a, struct model *m, int step)
{
	size_t i;
	uint64_t avail_before = allocator_total_used(a);
	struct alloc_info ai;
	uint64_t live = 0;

	if (!m->nlive)
		return;
	i = rnd() % m->nlive;
	allocator_get(a, m->live_ids[i], &ai);
	for (uint64_t k = 0; k < (uint64_t)ai.nslabs * ai.replicas; k++)
		live += !ai.places[k].lost;
	if (allocator_release(a, m->live_ids[i]) != ALLOC_OK)
		fail(m, step, "release of a live allocation failed");
	if (allocator_total_used(a) != avail_before - live)
		fail(m, step, "release did not return exactly its live slabs");
	if (allocator_release(a, m->live_ids[i]) != ALLOC_ENOENT)
		fail(m, step, "double release accepted");
	m->live_ids[i] = m->live_ids[--m->nlive];
}

/* Could donor @d hold the slot's replica?  Independent of allocator.c. */
static bool model_may_hold(const struct model *m, const struct alloc_info *ai,
			   uint32_t s, uint32_t r, uint32_t d)
{
	for (uint32_t k = 0; k < ai->replicas; k++) {
		const struct alloc_place *q = &ai->places[s * ai->replicas + k];

		if (q->lost)
			continue;
		if (q->donor_id == d)
			return false;
		if (k != r && m->zone[d][0] && !strcmp(m->zone[d], m->zone[q->donor_id]))
			return false;
	}
	return true;
}

static void step_replace(struct allocator *a, struct model *m, int step)
{
	uint64_t used_before = allocator_total_used(a);
	struct alloc_place np, old;
	struct alloc_info ai;
	uint32_t s, r;
	enum alloc_err e;
	bool fits = false;

	if (!m->nlive)
		return;
	allocator_get(a, m->live_ids[rnd() % m->nlive], &ai);
	s = (uint32_t)(rnd() % ai.nslabs);
	r = (uint32_t)(rnd() % ai.replicas);
	old = ai.places[s * ai.replicas + r];
	for (uint32_t d = 1; d <= P_DONORS; d++) {
		struct alloc_donor_info di;

		if (m->present[d] && !allocator_donor_get(a, d, &di) &&
		    di.available && model_may_hold(m, &ai, s, r, d))
			fits = true;
	}
	e = allocator_plan_replace(a, ai.id, s, r, &np);
	if (e != ALLOC_OK) {
		if (fits)
			fail(m, step, "replace refused though a donor fits");
		else if (e == ALLOC_ENOSPC && allocator_total_available(a))
			fail(m, step, "replace ENOSPC with free slabs");
		else if (e != ALLOC_ENOSPC && e != ALLOC_EDOMAIN)
			fail(m, step, "unexpected replace error");
		if (allocator_total_used(a) != used_before)
			fail(m, step, "failed replace plan changed state");
		return;
	}
	if (!fits || !model_may_hold(m, &ai, s, r, np.donor_id))
		fail(m, step, "replace planned a donor that may not hold it");
	if (allocator_replace(a, ai.id, s, r, &np) != ALLOC_OK) {
		fail(m, step, "replace of a fresh plan failed");
		return;
	}
	if (allocator_total_used(a) != used_before + old.lost)
		fail(m, step, "replace did not swap exactly one slab");
	m->replaced++;
}

static void step_donor(struct allocator *a, struct model *m, int step)
{
	uint32_t d = 1 + (uint32_t)(rnd() % P_DONORS);
	unsigned int what = (unsigned int)(rnd() % 5);

	if (!m->present[d]) {
		m->total[d] = 1 + (uint32_t)(rnd() % 40);
		if (rnd() % 4)
			snprintf(m->zone[d], sizeof(m->zone[d]), "z%u",
				 (unsigned int)(rnd() % P_ZONES));
		else
			m->zone[d][0] = 0;
		if (allocator_donor_add(a, d, m->zone[d], m->total[d]))
			fail(m, step, "join failed");
		m->present[d] = true;
		return;
	}
	switch (what) {
	case 0:	/* leave */
		allocator_donor_lose(a, d, NULL);
		if (allocator_donor_remove(a, d))
			fail(m, step, "leave failed");
		m->present[d] = false;
		break;
	case 1:	/* restart with a new instance and capacity */
		allocator_donor_lose(a, d, NULL);
		m->total[d] = 1 + (uint32_t)(rnd() % 40);
		if (allocator_donor_reset(a, d, m->zone[d], m->total[d]))
			fail(m, step, "restart failed");
		break;
	case 2:	/* down or up */
		allocator_donor_set_up(a, d, rnd() % 3 != 0);
		break;
	default: {	/* heartbeat with some free count */
		struct alloc_donor_info di;

		allocator_donor_get(a, d, &di);
		allocator_donor_set_free(a, d,
			(uint32_t)(rnd() % (di.total_slabs + 1)));
		if (allocator_donor_set_free(a, d, di.total_slabs + 1) !=
		    ALLOC_EINVAL)
			fail(m, step, "free count above capacity accepted");
		break;
	}
	}
}

static void test_property(void)
{
	struct model *m = calloc(1, sizeof(*m));
	struct allocator *a = allocator_new(2024);
	int allocs_ok = 0;

	m->next_id = 1;
	for (int c = 0; c < P_CLIENTS; c++)
		m->quota[c] = c % 2 ? 20 + 10 * (uint64_t)c : 0;
	for (int step = 0; step < P_STEPS && m->failures < 10; step++) {
		unsigned int op = (unsigned int)(rnd() % 10);
		size_t before = m->nlive;

		if (op < 2)
			step_donor(a, m, step);
		else if (op < 5)
			step_alloc(a, m, step);
		else if (op < 6)
			step_replace(a, m, step);
		else
			step_release(a, m, step);
		allocs_ok += m->nlive > before;
		check(a, m, step);
	}
	diag("%d successful allocations, %d replacements, %zu live at the end",
	     allocs_ok, m->replaced, m->nlive);
	ok(m->replaced > 100, "property run replaced over 100 replicas");
	ok(allocs_ok > 1000, "property run made over 1000 allocations");
	ok(m->failures == 0,
	   "%d random steps: no slab twice, capacity and quota kept, replicas apart",
	   P_STEPS);

	/* Drain: releasing everything returns every slab. */
	while (m->nlive)
		step_release(a, m, P_STEPS);
	ok(allocator_total_used(a) == 0 && allocator_client_count(a) == 0,
	   "after releasing all, nothing is used");
	allocator_free(a);
	free(m);
}

int main(void)
{
	test_basics();
	test_replica_domains();
	test_replace();
	test_p2c_weighting();
	test_property();
	return tap_done("test_allocator");
}
