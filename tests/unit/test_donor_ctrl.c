// SPDX-License-Identifier: MIT
/*
 * Control message handling (server/donor/ctrl.c): statuses, malformed
 * input, grants.  The memory registration is replaced by a recorder that
 * hands out fake rkeys; the real one is exercised over Soft-RoCE by
 * tests/tools/rmem-rogue and rmem-abuse.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "ctrl.h"
#include "grant.h"
#include "tap.h"
#include "tc_msg.h"

#define SLAB	(64u * 1024)

static int live_mrs, next_rkey = 0x100, fail_map;

static int fake_map(void *sess, struct slab *slab)
{
	(void)sess;
	if (fail_map)
		return -ENOMEM;
	slab->mr = calloc(1, sizeof(*slab->mr));
	slab->mr->rkey = (uint32_t)next_rkey++;
	live_mrs++;
	return 0;
}

static void fake_unmap(void *sess, struct slab *slab)
{
	(void)sess;
	free(slab->mr);
	slab->mr = NULL;
	live_mrs--;
}

static uint32_t send_msg(const struct ctrl_env *env, const uint8_t *cid,
			 const struct rmem_msg *m, size_t len, struct rmem_msg *r)
{
	ctrl_handle(env, NULL, cid, m, len, r);
	return le32toh(r->hdr.status);
}

int main(void)
{
	static const uint8_t cid_a[16] = { 1, 2, 3 }, cid_b[16] = { 9 };
	static const char token[] = "cluster-secret";
	struct slab_pool pool;
	struct ctrl_env env = { .map = fake_map, .unmap = fake_unmap,
				.instance_id = 0x1122334455667788ULL };
	struct rmem_msg m, r;
	uint32_t st, gen0, gen1;

	if (slab_pool_init(&pool, 3 * SLAB, SLAB, SLAB_BACKING_NORMAL)) {
		ok(0, "slab pool");
		return tap_done("test_donor_ctrl");
	}
	env.pool = &pool;

	m = tc_msg(RMEM_MSG_KEEPALIVE, 7, 0, 0);
	st = send_msg(&env, cid_a, &m, sizeof(struct rmem_msg_hdr), &r);
	ok(st == 0 && r.hdr.type == (RMEM_MSG_KEEPALIVE | RMEM_MSG_REPLY) &&
	   le32toh(r.hdr.seq) == 7 && le16toh(r.hdr.magic) == RMEM_PROTO_MAGIC &&
	   le32toh(r.free_slabs) == 3 && le32toh(r.total_slabs) == 3,
	   "KEEPALIVE (header only) echoes seq, reports 3/3 free");

	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 8, RMEM_SLAB_ANY, 0);
	st = send_msg(&env, cid_a, &m, sizeof(m), &r);
	ok(st == 0 && le32toh(r.slab.slab_id) == 0 &&
	   le32toh(r.slab.generation) == 1 && le32toh(r.slab.rkey) == 0x100 &&
	   le64toh(r.slab.addr) == (uint64_t)(uintptr_t)pool.maps[0].base &&
	   le64toh(r.slab.length) == SLAB && le32toh(r.free_slabs) == 2 &&
	   live_mrs == 1, "ALLOC ANY gives slab 0 gen 1 with an rkey");
	gen0 = le32toh(r.slab.generation);

	m = tc_msg(RMEM_MSG_SLAB_ATTACH, 9, 0, gen0);
	st = send_msg(&env, cid_a, &m, sizeof(m), &r);
	ok(st == 0 && le32toh(r.slab.rkey) == 0x100 && live_mrs == 1,
	   "ATTACH of a still-registered slab keeps its rkey");

	/* The session died: its registrations went with its PD. */
	fake_unmap(NULL, pool.slabs[0]);
	st = send_msg(&env, cid_a, &m, sizeof(m), &r);
	ok(st == 0 && le32toh(r.slab.rkey) == 0x101 && live_mrs == 1 &&
	   le32toh(r.slab.slab_id) == 0 && le32toh(r.slab.generation) == gen0,
	   "ATTACH after the session died registers afresh (new rkey)");

	m = tc_msg(RMEM_MSG_SLAB_ATTACH, 10, 0, gen0 + 1);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == ESTALE, "ATTACH wrong generation: ESTALE");
	m = tc_msg(RMEM_MSG_SLAB_ATTACH, 10, 0, gen0);
	ok(send_msg(&env, cid_b, &m, sizeof(m), &r) == EPERM, "ATTACH of another client's slab: EPERM");
	m = tc_msg(RMEM_MSG_SLAB_ATTACH, 10, 2, 1);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == ENOENT, "ATTACH of a free slab: ENOENT");
	m = tc_msg(RMEM_MSG_SLAB_ATTACH, 10, 12345, 1);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == ENOENT, "ATTACH of an unknown id: ENOENT");
	m = tc_msg(RMEM_MSG_SLAB_FREE, 11, 0, gen0);
	ok(send_msg(&env, cid_b, &m, sizeof(m), &r) == EPERM && pool.nfree == 2,
	   "FREE of another client's slab: EPERM, nothing freed");

	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 12, 2, 0);
	st = send_msg(&env, cid_b, &m, sizeof(m), &r);
	ok(st == 0 && le32toh(r.slab.slab_id) == 2, "ALLOC of a specific slab without controller");
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == ENOSPC, "ALLOC of a taken slab: ENOSPC");
	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 12, 3, 0);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == ENOENT, "ALLOC of an unknown slab id: ENOENT");

	fail_map = 1;
	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 13, RMEM_SLAB_ANY, 0);
	st = send_msg(&env, cid_a, &m, sizeof(m), &r);
	ok(st == ENOMEM && pool.nfree == 1 && !pool.slabs[1]->assigned,
	   "a failed registration undoes the allocation (ENOMEM)");
	fail_map = 0;
	st = send_msg(&env, cid_a, &m, sizeof(m), &r);
	ok(st == 0 && le32toh(r.slab.slab_id) == 1 && pool.nfree == 0, "last slab");
	gen1 = le32toh(r.slab.generation);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == ENOSPC, "exhausted: ENOSPC");

	m = tc_msg(RMEM_MSG_SLAB_FREE, 14, 1, gen1);
	st = send_msg(&env, cid_a, &m, sizeof(m), &r);
	ok(st == 0 && pool.nfree == 1 && le32toh(r.free_slabs) == 1 && live_mrs == 2,
	   "FREE returns the slab and drops its registration");
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == ENOENT, "second FREE: ENOENT");

	/* Malformed requests: every one gets EPROTO and changes nothing. */
	m = tc_msg(RMEM_MSG_KEEPALIVE, 20, 0, 0);
	m.hdr.magic = htole16(0x1234);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPROTO && le32toh(r.hdr.seq) == 20,
	   "bad magic: EPROTO, seq echoed");
	m = tc_msg(RMEM_MSG_KEEPALIVE, 21, 0, 0);
	m.hdr.version = 2;
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPROTO, "bad version: EPROTO");
	m = tc_msg(0x33, 22, 0, 0);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPROTO &&
	   r.hdr.type == (0x33 | RMEM_MSG_REPLY), "unknown type: EPROTO");
	m = tc_msg(RMEM_MSG_KEEPALIVE | RMEM_MSG_REPLY, 23, 0, 0);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPROTO, "a reply sent as request: EPROTO");
	m = tc_msg(RMEM_MSG_SLAB_FREE, 24, 0, gen0);
	ok(send_msg(&env, cid_a, &m, 20, &r) == EPROTO && pool.slabs[0]->assigned,
	   "truncated FREE: EPROTO, slab kept");
	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 25, RMEM_SLAB_ANY, 0);
	ok(send_msg(&env, cid_a, &m, sizeof(m) - 1, &r) == EPROTO && pool.nfree == 1,
	   "truncated ALLOC: EPROTO, nothing allocated");
	ok(send_msg(&env, cid_a, &m, 3, &r) == EPROTO && r.hdr.seq == 0 &&
	   r.hdr.type == RMEM_MSG_REPLY, "3-byte message: EPROTO with seq 0");
	ok(send_msg(&env, cid_a, &m, 0, &r) == EPROTO, "empty message: EPROTO");

	/* With a controller: grants. */
	env.token = (const uint8_t *)token;
	env.token_len = strlen(token);
	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 30, RMEM_SLAB_ANY, 0);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPERM && pool.nfree == 1,
	   "controller mode: ALLOC ANY is EPERM");
	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 31, 1, 0);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPERM, "controller mode: no grant is EPERM");
	rmem_grant_compute(token, strlen(token), cid_b, env.instance_id, 1, m.grant);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPERM,
	   "a grant made for another client is EPERM");
	rmem_grant_compute(token, strlen(token), cid_a, env.instance_id + 1, 1, m.grant);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPERM,
	   "a grant for another donor instance is EPERM");
	rmem_grant_compute(token, strlen(token), cid_a, env.instance_id, 0, m.grant);
	ok(send_msg(&env, cid_a, &m, sizeof(m), &r) == EPERM,
	   "a grant for another slab is EPERM");
	rmem_grant_compute(token, strlen(token), cid_a, env.instance_id, 1, m.grant);
	st = send_msg(&env, cid_a, &m, sizeof(m), &r);
	ok(st == 0 && le32toh(r.slab.slab_id) == 1 && pool.nfree == 0,
	   "a valid grant allocates the granted slab");

	/*
	 * Fuzz: random mixes of valid and broken requests from three clients,
	 * no grants.  After each: a reply of the right shape, and the pool's
	 * books balance (free + assigned == total, one registration per
	 * assigned slab at most, none on free slabs).
	 */
	env.token = NULL;
	env.token_len = 0;
	srandom(12345);
	bool sane = true;
	int ok_replies = 0;
	for (int i = 0; i < 20000 && sane; i++) {
		static const uint8_t cids[3][16] = { { 1, 2, 3 }, { 9 }, { 7, 7 } };
		uint8_t raw[RMEM_MSG_SIZE];
		struct rmem_msg *q = (struct rmem_msg *)raw;
		size_t len = random() % 4 ? sizeof(struct rmem_msg) :
			     (size_t)(random() % (RMEM_MSG_SIZE + 1));
		uint32_t nassigned = 0;

		for (size_t k = 0; k < sizeof(raw); k++)
			raw[k] = (uint8_t)random();
		if (random() % 8) {
			q->hdr.magic = htole16(RMEM_PROTO_MAGIC);
			q->hdr.version = RMEM_PROTO_VERSION;
			q->hdr.type = (uint8_t)(1 + random() % 4);
			q->slab.slab_id = htole32(random() % 5 ? (uint32_t)(random() % 4) :
						  (random() % 2 ? RMEM_SLAB_ANY : (uint32_t)random()));
			q->slab.generation = htole32((uint32_t)(random() % 6));
		}
		fail_map = random() % 50 == 0;
		ctrl_handle(&env, NULL, cids[random() % 3], raw, len, &r);
		fail_map = 0;
		if (le16toh(r.hdr.magic) != RMEM_PROTO_MAGIC || !(r.hdr.type & RMEM_MSG_REPLY) ||
		    le32toh(r.total_slabs) != pool.count)
			sane = false;
		if (r.hdr.status == 0)
			ok_replies++;
		for (uint32_t k = 0; k < pool.count; k++) {
			nassigned += pool.slabs[k]->assigned;
			if (!pool.slabs[k]->assigned && pool.slabs[k]->mr)
				sane = false;
		}
		if (nassigned + pool.nfree != pool.count || live_mrs > (int)nassigned)
			sane = false;
	}
	ok(sane && ok_replies > 1000,
	   "20000 random requests: replies well-formed, books balance (%d succeeded)",
	   ok_replies);

	/* Every registration made is accounted for by a slab still held. */
	int held = 0;
	for (uint32_t i = 0; i < pool.count; i++) {
		if (pool.slabs[i]->mr) {
			held++;
			fake_unmap(NULL, pool.slabs[i]);
		}
	}
	ok(live_mrs == 0, "no registration leaked (%d held at the end)", held);
	slab_pool_fini(&pool);
	return tap_done("test_donor_ctrl");
}
