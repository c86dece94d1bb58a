// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl agent without a kernel: the direct-mode donor choice (live
 * donors only, never a donor the slab already uses, fewest replicas
 * first, none when nothing qualifies), the collection of LOST replicas,
 * the controller's replies (a bad field is a clear error, never a
 * request to the kernel) and the REPLICA_REPLACE message itself.
 */
#include <errno.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "agent.h"
#include "rmemctl_tap.h"

#define IN_SYNC	RMEM_REPLICA_IN_SYNC
#define LOST	RMEM_REPLICA_LOST
#define STALE	RMEM_REPLICA_STALE

/* A device of @nr_donors donors, all live, named 10.77.0.(i+1):7470 */
static void dev_init(struct rmem_dev_info *d, unsigned int nr_donors)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	strcpy(d->name, "rmem0");
	d->have_state = d->have_slab_size = d->have_slabs = true;
	d->state = RMEM_DEV_DEGRADED;
	d->slab_size = 64ull << 20;
	d->nr_donors = nr_donors;
	for (i = 0; i < nr_donors; i++) {
		snprintf(d->donors[i].addr, sizeof(d->donors[i].addr),
			 "10.77.0.%u", i + 1);
		d->donors[i].port = 7470;
		d->donors[i].state = RMEM_DONOR_LIVE;
	}
}

static struct rmem_replica_info reps[16][RMEM_MAX_REPLICAS];
static struct rmem_slab_info slabs[16];

/* Slab @i with replicas on donors @d0, @d1 in states @s0, @s1 */
static void slab2(struct rmem_dev_info *d, unsigned int i, uint32_t d0,
		  uint8_t s0, uint32_t d1, uint8_t s1)
{
	slabs[i].index = i;
	slabs[i].state = s0 == LOST && s1 == LOST ? RMEM_SLAB_FAILED :
			 s0 == LOST || s1 == LOST ? RMEM_SLAB_DEGRADED :
			 RMEM_SLAB_LIVE;
	slabs[i].nr_replicas = 2;
	slabs[i].replicas = reps[i];
	reps[i][0] = (struct rmem_replica_info){ .donor = d0, .slab_id = 10 + i,
						 .generation = 1, .state = s0 };
	reps[i][1] = (struct rmem_replica_info){ .donor = d1, .slab_id = 20 + i,
						 .generation = 2, .state = s1 };
	d->slabs = slabs;
	if (d->nr_slabs <= i)
		d->nr_slabs = i + 1;
}

static void test_pick(void)
{
	unsigned int load[RMEM_MAX_DONORS];
	struct rmem_dev_info d;

	/* donors 0..3; slab 0 on 0 (lost) and 1; donor 2 busier than 3 */
	dev_init(&d, 4);
	d.donors[0].state = RMEM_DONOR_DEAD;
	slab2(&d, 0, 0, LOST, 1, IN_SYNC);
	slab2(&d, 1, 2, IN_SYNC, 1, IN_SYNC);
	slab2(&d, 2, 2, IN_SYNC, 3, IN_SYNC);
	agent_donor_load(&d, load);
	tap_ok(load[0] == 0 && load[1] == 2 && load[2] == 2 && load[3] == 1,
	       "load: lost replicas do not count");
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == 3,
	       "pick: fewest replicas among live donors the slab does not use");

	/* the only other candidate holds the slab's other replica */
	d.donors[3].state = RMEM_DONOR_RECONNECTING;
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == 2,
	       "pick: a reconnecting donor is not live");
	d.donors[2].state = RMEM_DONOR_CONNECTING;
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == -1,
	       "pick: none when only the slab's own donors are live");

	/* the slot's own donor, live again, may take it back */
	d.donors[0].state = RMEM_DONOR_LIVE;
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == 0,
	       "pick: the lost slot's donor, live again, qualifies");

	/* a tie goes to the lowest index */
	dev_init(&d, 4);
	d.nr_slabs = 0;
	slab2(&d, 0, 0, LOST, 1, IN_SYNC);
	agent_donor_load(&d, load);
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == 0,
	       "pick: tie goes to the lowest index (its own donor, load 0)");
	d.donors[0].state = RMEM_DONOR_DEAD;
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == 2,
	       "pick: tie goes to the lowest index");

	/* a replica in any state keeps its donor taken */
	slab2(&d, 0, 0, LOST, 2, STALE);
	d.donors[1].state = RMEM_DONOR_DEAD;
	d.donors[3].state = RMEM_DONOR_DEAD;
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == -1,
	       "pick: a stale replica's donor is taken too");
	dev_init(&d, 1);
	d.nr_slabs = 0;
	slab2(&d, 0, 0, LOST, 0, IN_SYNC);
	d.donors[0].state = RMEM_DONOR_LIVE;
	agent_donor_load(&d, load);
	tap_ok(agent_pick_donor(&d, &slabs[0], 0, load) == -1,
	       "pick: none with a single donor holding the other replica");
}

static void test_collect(void)
{
	struct agent_action acts[8];
	struct rmem_dev_info d;
	unsigned int n, missed, i;

	/* donor 0 dies: its replicas of slabs 0..3 spread over 2 and 3 */
	dev_init(&d, 4);
	d.nr_slabs = 0;
	d.have_client_id = true;
	memset(d.client_id, 0x11, sizeof(d.client_id));
	d.donors[0].state = RMEM_DONOR_DEAD;
	for (i = 0; i < 4; i++)
		slab2(&d, i, 0, LOST, 1, IN_SYNC);
	missed = agent_collect(&d, acts, 8, &n);
	tap_ok(n == 4 && missed == 0, "collect: four lost replicas");
	tap_ok(acts[0].pick == 2 && acts[1].pick == 3 && acts[2].pick == 2 &&
	       acts[3].pick == 3, "collect: picks spread over the free donors");
	tap_ok(!strcmp(acts[0].dev, "rmem0") && acts[0].slab == 0 &&
	       acts[0].replica == 0 && acts[0].old.donor == 0 &&
	       acts[0].old.slab_id == 10 && acts[0].old.generation == 1 &&
	       acts[0].slab_size == 64ull << 20 && acts[0].have_client_id &&
	       acts[0].client_id[15] == 0x11, "collect: the old replica and device");
	tap_ok(!strcmp(acts[0].old_ep, "10.77.0.1:7470") &&
	       !strcmp(acts[1].pick_ep, "10.77.0.4:7470"),
	       "collect: endpoints for the log");
	tap_ok(slabs[0].replicas[0].donor == 0 &&
	       slabs[0].replicas[0].state == LOST,
	       "collect: the device info is left as it was");

	/* room for two: the rest are counted, not lost */
	missed = agent_collect(&d, acts, 2, &n);
	tap_ok(n == 2 && missed == 2, "collect: overflow is reported");

	/* both replicas of a slab lost: a failed slab has nothing to copy */
	dev_init(&d, 4);
	d.nr_slabs = 0;
	slab2(&d, 0, 0, LOST, 1, LOST);
	missed = agent_collect(&d, acts, 8, &n);
	tap_ok(n == 0 && missed == 0, "collect: a failed slab is skipped");
	slab2(&d, 0, 0, LOST, 1, RMEM_REPLICA_RECONNECTING);
	missed = agent_collect(&d, acts, 8, &n);
	tap_ok(n == 0 && missed == 0,
	       "collect: a slab whose only copy is reconnecting waits");
	slab2(&d, 0, 0, LOST, 1, STALE);
	missed = agent_collect(&d, acts, 8, &n);
	tap_ok(n == 0 && missed == 0,
	       "collect: a slab whose only other copy is stale waits");

	/* two lost slots of a 3-replica slab never share a donor */
	dev_init(&d, 6);
	d.nr_slabs = 0;
	slab2(&d, 0, 0, LOST, 1, LOST);
	slabs[0].state = RMEM_SLAB_DEGRADED;
	slabs[0].nr_replicas = 3;
	reps[0][2] = (struct rmem_replica_info){ .donor = 2, .state = IN_SYNC };
	d.donors[0].state = d.donors[1].state = RMEM_DONOR_DEAD;
	agent_collect(&d, acts, 8, &n);
	tap_ok(n == 2 && acts[0].pick == 3 && acts[1].pick == 4,
	       "collect: two lost slots of a slab get distinct donors");
	tap_ok(acts[1].replica == 1 && acts[1].old.donor == 1,
	       "collect: the second slot names its own old replica");

	/* a device being deleted is left alone */
	d.state = RMEM_DEV_DELETING;
	missed = agent_collect(&d, acts, 8, &n);
	tap_ok(n == 0 && missed == 0, "collect: a deleting device is skipped");

	/* nowhere to go: the action says so */
	dev_init(&d, 2);
	d.nr_slabs = 0;
	d.donors[0].state = RMEM_DONOR_DEAD;
	slab2(&d, 0, 0, LOST, 1, IN_SYNC);
	agent_collect(&d, acts, 8, &n);
	tap_ok(n == 1 && acts[0].pick == -1, "collect: no donor left gives -1");
}

#define GRANT64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define GOOD "{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\"," \
	     "\"port\":7472},\"slab_id\":12,\"generation\":4,\"grant\":\"" GRANT64 "\"}"

static void reply_ok(void)
{
	json_object *o = json_tokener_parse(GOOD);
	char err[AGENT_ERR_MAX] = "";
	struct agent_granted g;
	int ret;

	ret = agent_parse_replace_reply(o, 3, 1, &g, err, sizeof(err));
	if (!tap_ok(ret == 0, "replace reply decodes"))
		tap_diag("err '%s'", err);
	tap_ok(g.donor_id == 7 && !strcmp(g.addr.addr, "10.77.0.3") &&
	       g.addr.port == 7472 && g.slab_id == 12 && g.generation == 4 &&
	       g.grant[0] == 0x00 && g.grant[1] == 0x11 && g.grant[31] == 0xff,
	       "replace reply fields");
	json_object_put(o);

	o = json_tokener_parse("{\"slab\":0,\"replica\":0,\"donor\":{\"id\":1,"
			       "\"addr\":\"fd00::3\",\"port\":9000},\"slab_id\":0,"
			       "\"generation\":0,\"grant\":\"" GRANT64 "\"}");
	ret = agent_parse_replace_reply(o, 0, 0, &g, err, sizeof(err));
	tap_ok(ret == 0 && !strcmp(g.addr.addr, "fd00::3") && g.addr.port == 9000,
	       "replace reply with an IPv6 donor");
	json_object_put(o);
}

/* @json for slot 3/1 is refused with @needle in the message */
static void reply_bad(const char *json, const char *needle, const char *what)
{
	json_object *o = json_tokener_parse(json);
	char err[AGENT_ERR_MAX] = "";
	struct agent_granted g;
	int ret;

	ret = agent_parse_replace_reply(o, 3, 1, &g, err, sizeof(err));
	if (!tap_ok(ret == -1 && strstr(err, needle), "replace reply refused: %s",
		    what))
		tap_diag("ret %d err '%s'", ret, err);
	json_object_put(o);
}

static void test_replace_reply(void)
{
	reply_ok();
	reply_bad("[1,2]", "not a JSON object", "an array");
	reply_bad("\"x\"", "not a JSON object", "a string");
	reply_bad("{\"replica\":1}", "\"slab\"", "no slab");
	reply_bad("{\"slab\":3,\"replica\":2,\"donor\":{}}", "not slab 3 replica 1",
		  "another slot");
	reply_bad("{\"slab\":3,\"replica\":1,\"slab_id\":1}", "\"donor\"", "no donor");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"port\":7472}}",
		  "donor.addr", "donor without addr");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\"}}",
		  "\"port\"", "donor without port");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":0}}",
		  "not an IP address literal and port", "port 0");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":70000}}",
		  "\"port\" out of range", "port 70000");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"donor3\",\"port\":7470}}",
		  "not an IP address literal", "host name");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3:7470\",\"port\":7470}}",
		  "not an IP address literal", "address with a port in it");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"generation\":4,\"grant\":\"" GRANT64 "\"}", "\"slab_id\"", "no slab_id");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"slab_id\":-1,\"generation\":4,\"grant\":\"" GRANT64 "\"}",
		  "\"slab_id\" out of range", "negative slab_id");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"slab_id\":12,\"grant\":\"" GRANT64 "\"}", "\"generation\"", "no generation");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"slab_id\":12,\"generation\":\"4\",\"grant\":\"" GRANT64 "\"}",
		  "\"generation\" missing or not an integer", "generation as a string");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"slab_id\":12,\"generation\":4}", "\"grant\" missing or not 64 hex digits",
		  "no grant");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"slab_id\":12,\"generation\":4,\"grant\":\"0011\"}",
		  "not 64 hex digits", "short grant");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"slab_id\":12,\"generation\":4,\"grant\":\"zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
		  "not 64 hex digits", "grant with non-hex digits");
	reply_bad("{\"slab\":3,\"replica\":1,\"donor\":{\"id\":7,\"addr\":\"10.77.0.3\",\"port\":7472},"
		  "\"slab_id\":12,\"generation\":4,\"grant\":7}",
		  "not 64 hex digits", "grant as a number");
}

static void alloc_case(const char *json, int want, uint64_t want_id,
		       const char *what)
{
	json_object *o = json_tokener_parse(json);
	char err[AGENT_ERR_MAX] = "";
	uint64_t id = 0;
	int ret = agent_parse_alloc_id(o, &id, err, sizeof(err));

	if (!tap_ok(ret == want && (want != 1 || id == want_id) &&
		    (want != -1 || err[0]), "allocation lookup: %s", what))
		tap_diag("ret %d id %llu err '%s'", ret, (unsigned long long)id, err);
	json_object_put(o);
}

static void test_alloc_id(void)
{
	alloc_case("{\"allocations\":[{\"id\":7,\"slabs\":[]}]}", 1, 7, "found");
	alloc_case("{\"allocations\":[]}", 0, 0, "none: direct mode");
	alloc_case("{}", -1, 0, "no list");
	alloc_case("{\"allocations\":{}}", -1, 0, "list not an array");
	alloc_case("{\"allocations\":[{\"slabs\":[]}]}", -1, 0, "no id");
	alloc_case("{\"allocations\":[{\"id\":0}]}", -1, 0, "id 0");
	alloc_case("{\"allocations\":[3]}", -1, 0, "not an object");
}

/* The message as the driver sees it: nested OLD and NEW */
static void test_replace_msg(void)
{
	struct replica_replace rr = { .dev = "rmem0", .slab = 3, .replica = 1,
		.old = { .donor = 0, .slab_id = 13, .generation = 2 } };
	struct nlattr *tb[RMEM_ATTR_MAX + 1], *o[RMEM_REPLICA_ATTR_MAX + 1],
		      *w[RMEM_REPLICA_ATTR_MAX + 1];
	struct nl_msg *msg = nlmsg_alloc();

	rr.new.by_index = true;
	rr.new.donor = 2;
	rr.new.slab_id = RMEM_SLAB_ANY;
	genlmsg_put(msg, 0, 1, 0x42, 0, 0, RMEM_CMD_REPLICA_REPLACE, 1);
	tap_ok(replica_replace_put(msg, &rr) == 0, "REPLICA_REPLACE builds");
	genlmsg_parse(nlmsg_hdr(msg), 0, tb, RMEM_ATTR_MAX, NULL);
	nla_parse_nested(o, RMEM_REPLICA_ATTR_MAX, tb[RMEM_ATTR_REPLICA_OLD], NULL);
	nla_parse_nested(w, RMEM_REPLICA_ATTR_MAX, tb[RMEM_ATTR_REPLICA_NEW], NULL);
	tap_ok(!strcmp(nla_get_string(tb[RMEM_ATTR_DEV_NAME]), "rmem0") &&
	       nla_get_u32(tb[RMEM_ATTR_SLAB_INDEX]) == 3 &&
	       nla_get_u32(tb[RMEM_ATTR_REPLICA_INDEX]) == 1, "slot attributes");
	tap_ok((nla_type(tb[RMEM_ATTR_REPLICA_OLD]) == RMEM_ATTR_REPLICA_OLD) &&
	       (tb[RMEM_ATTR_REPLICA_OLD]->nla_type & NLA_F_NESTED) &&
	       (tb[RMEM_ATTR_REPLICA_NEW]->nla_type & NLA_F_NESTED),
	       "OLD and NEW are flagged nests");
	tap_ok(nla_get_u32(o[RMEM_REPLICA_ATTR_DONOR]) == 0 &&
	       nla_get_u32(o[RMEM_REPLICA_ATTR_SLAB_ID]) == 13 &&
	       nla_get_u32(o[RMEM_REPLICA_ATTR_GENERATION]) == 2, "OLD");
	tap_ok(nla_get_u32(w[RMEM_REPLICA_ATTR_DONOR]) == 2 &&
	       nla_get_u32(w[RMEM_REPLICA_ATTR_SLAB_ID]) == RMEM_SLAB_ANY &&
	       !w[RMEM_REPLICA_ATTR_ADDR] && !w[RMEM_REPLICA_ATTR_GENERATION] &&
	       !w[RMEM_REPLICA_ATTR_GRANT], "NEW by donor index, any slab");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	rr.new.by_index = false;
	strcpy(rr.new.addr.addr, "10.77.0.3");
	rr.new.addr.port = 7472;
	rr.new.slab_id = 12;
	rr.new.have_generation = rr.new.have_grant = true;
	rr.new.generation = 4;
	memset(rr.new.grant, 0xab, sizeof(rr.new.grant));
	genlmsg_put(msg, 0, 1, 0x42, 0, 0, RMEM_CMD_REPLICA_REPLACE, 1);
	replica_replace_put(msg, &rr);
	genlmsg_parse(nlmsg_hdr(msg), 0, tb, RMEM_ATTR_MAX, NULL);
	nla_parse_nested(w, RMEM_REPLICA_ATTR_MAX, tb[RMEM_ATTR_REPLICA_NEW], NULL);
	tap_ok(!w[RMEM_REPLICA_ATTR_DONOR] &&
	       !strcmp(nla_get_string(w[RMEM_REPLICA_ATTR_ADDR]), "10.77.0.3") &&
	       nla_get_u16(w[RMEM_REPLICA_ATTR_PORT]) == 7472 &&
	       nla_get_u32(w[RMEM_REPLICA_ATTR_SLAB_ID]) == 12 &&
	       nla_get_u32(w[RMEM_REPLICA_ATTR_GENERATION]) == 4 &&
	       nla_len(w[RMEM_REPLICA_ATTR_GRANT]) == RMEM_GRANT_LEN &&
	       ((uint8_t *)nla_data(w[RMEM_REPLICA_ATTR_GRANT]))[31] == 0xab,
	       "NEW by address with the controller's slab, generation, grant");
	nlmsg_free(msg);
}

int main(void)
{
	test_pick();
	test_collect();
	test_replace_reply();
	test_alloc_id();
	test_replace_msg();
	return tap_done();
}
