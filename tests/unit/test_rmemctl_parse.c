// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl reply decoding: DEV_GET replies and events built with libnl the
 * way the driver builds them (nested lists, u64 counters) must decode
 * into the right struct; malformed replies must be refused, attributes
 * from a newer driver skipped.
 */
#include <errno.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "devinfo.h"
#include "event.h"
#include "rmemctl_tap.h"

#define FAMILY	0x42	/* any id: decoding does not look at it */

static struct nl_msg *new_msg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, 1, FAMILY, 0, 0, cmd, RMEM_GENL_VERSION);
	return msg;
}

static void put_stats(struct nl_msg *msg, int type, uint64_t base)
{
	struct nlattr *st = nla_nest_start(msg, type | NLA_F_NESTED);
	int i;

	nla_put_u8(msg, 250, 1);	/* from a newer driver */
	for (i = RMEM_STAT_READS; i <= RMEM_STAT_MAX; i++)
		nla_put_u64(msg, i, base + (uint64_t)i);
	nla_nest_end(msg, st);
}

static void put_replica(struct nl_msg *msg, uint32_t donor, uint32_t id,
			uint32_t gen, uint8_t state)
{
	struct nlattr *r = nla_nest_start(msg, RMEM_ATTR_REPLICA | NLA_F_NESTED);

	nla_put_u32(msg, RMEM_REPLICA_ATTR_DONOR, donor);
	nla_put_u32(msg, RMEM_REPLICA_ATTR_SLAB_ID, id);
	nla_put_u32(msg, RMEM_REPLICA_ATTR_GENERATION, gen);
	nla_put_u8(msg, RMEM_REPLICA_ATTR_STATE, state);
	/* how far behind a replica is, as the driver reports it */
	if (state == RMEM_REPLICA_STALE || state == RMEM_REPLICA_RESYNCING)
		nla_put_u32(msg, RMEM_REPLICA_ATTR_STALE_PAGES, 1000 + id);
	nla_put_u8(msg, 60, 1);	/* from a newer driver */
	nla_nest_end(msg, r);
}

/* A complete DEV_GET reply: 2 donors, 2 slabs (2 and 1 replicas) */
static struct nl_msg *full_reply(void)
{
	struct nl_msg *msg = new_msg(RMEM_CMD_DEV_GET);
	struct nlattr *list, *d, *s, *reps;
	uint8_t id[RMEM_CLIENT_ID_LEN];

	memset(id, 0x5a, sizeof(id));
	nla_put_string(msg, RMEM_ATTR_DEV_NAME, "rmem7");
	nla_put_u64(msg, RMEM_ATTR_SIZE, 128ull << 20);
	nla_put_u64(msg, RMEM_ATTR_SLAB_SIZE, 64ull << 20);
	nla_put_u8(msg, RMEM_ATTR_STATE, RMEM_DEV_LIVE);
	nla_put_u32(msg, RMEM_ATTR_OPENERS, 2);
	nla_put(msg, RMEM_ATTR_CLIENT_ID, sizeof(id), id);
	nla_put_u32(msg, RMEM_ATTR_REPLICAS, 2);
	nla_put_u64(msg, RMEM_ATTR_RESYNC_LEFT, 12345);
	nla_put_u32(msg, 200, 99);	/* unknown top-level attribute */

	list = nla_nest_start(msg, RMEM_ATTR_DONORS | NLA_F_NESTED);
	d = nla_nest_start(msg, RMEM_ATTR_DONOR | NLA_F_NESTED);
	nla_put_string(msg, RMEM_DONOR_ATTR_ADDR, "10.77.0.1");
	nla_put_u16(msg, RMEM_DONOR_ATTR_PORT, 7470);
	nla_put_u8(msg, RMEM_DONOR_ATTR_STATE, RMEM_DONOR_LIVE);
	nla_put_u64(msg, RMEM_DONOR_ATTR_INSTANCE, 0x1122334455667788ull);
	put_stats(msg, RMEM_DONOR_ATTR_STATS, 100);
	nla_nest_end(msg, d);
	d = nla_nest_start(msg, RMEM_ATTR_DONOR | NLA_F_NESTED);
	nla_put_string(msg, RMEM_DONOR_ATTR_ADDR, "::1");
	nla_put_u16(msg, RMEM_DONOR_ATTR_PORT, 9000);
	nla_put_u8(msg, RMEM_DONOR_ATTR_STATE, RMEM_DONOR_DEAD);
	nla_nest_end(msg, d);
	nla_nest_end(msg, list);

	list = nla_nest_start(msg, RMEM_ATTR_SLABS | NLA_F_NESTED);
	s = nla_nest_start(msg, RMEM_ATTR_SLAB | NLA_F_NESTED);
	nla_put_u32(msg, RMEM_SLAB_ATTR_INDEX, 0);
	nla_put_u8(msg, RMEM_SLAB_ATTR_STATE, RMEM_SLAB_RESYNCING);
	reps = nla_nest_start(msg, RMEM_SLAB_ATTR_REPLICAS | NLA_F_NESTED);
	put_replica(msg, 0, 4, 2, RMEM_REPLICA_IN_SYNC);
	put_replica(msg, 1, 6, 1, RMEM_REPLICA_RESYNCING);
	nla_nest_end(msg, reps);
	nla_nest_end(msg, s);
	s = nla_nest_start(msg, RMEM_ATTR_SLAB | NLA_F_NESTED);
	nla_put_u32(msg, RMEM_SLAB_ATTR_INDEX, 1);
	nla_put_u8(msg, RMEM_SLAB_ATTR_STATE, RMEM_SLAB_RECONNECTING);
	reps = nla_nest_start(msg, RMEM_SLAB_ATTR_REPLICAS | NLA_F_NESTED);
	put_replica(msg, 0, 5, 9, RMEM_REPLICA_RECONNECTING);
	nla_nest_end(msg, reps);
	nla_nest_end(msg, s);
	nla_nest_end(msg, list);

	put_stats(msg, RMEM_ATTR_STATS, 1000);
	return msg;
}

static void test_full(void)
{
	struct nl_msg *msg = full_reply();
	struct rmem_dev_info info;
	struct slab_summary sum;
	char err[128] = "";
	int ret;

	ret = dev_info_parse(nlmsg_hdr(msg), &info, err, sizeof(err));
	if (!tap_ok(ret == 0, "full DEV_GET reply decodes"))
		tap_diag("ret %d: %s", ret, err);
	tap_ok(strcmp(info.name, "rmem7") == 0, "name");
	tap_ok(info.have_size && info.size == 128ull << 20, "size");
	tap_ok(info.have_slab_size && info.slab_size == 64ull << 20, "slab size");
	tap_ok(info.have_state && info.state == RMEM_DEV_LIVE, "state");
	tap_ok(info.have_openers && info.openers == 2, "openers");
	tap_ok(info.have_client_id && info.client_id[0] == 0x5a &&
	       info.client_id[15] == 0x5a, "client id");
	tap_ok(info.nr_donors == 2, "two donors");
	tap_ok(strcmp(info.donors[0].addr, "10.77.0.1") == 0 &&
	       info.donors[0].port == 7470 &&
	       info.donors[0].state == RMEM_DONOR_LIVE, "donor 0 address and state");
	tap_ok(info.donors[0].have_instance &&
	       info.donors[0].instance == 0x1122334455667788ull, "donor 0 instance");
	tap_ok(info.donors[0].stats.val[RMEM_STAT_READS] == 100 + RMEM_STAT_READS &&
	       info.donors[0].stats.val[RMEM_STAT_CTRL_MSGS] == 100 + RMEM_STAT_CTRL_MSGS &&
	       (info.donors[0].stats.have & (1u << RMEM_STAT_TIMEOUTS)),
	       "donor 0 counters");
	tap_ok(strcmp(info.donors[1].addr, "::1") == 0 &&
	       info.donors[1].port == 9000 && !info.donors[1].have_instance &&
	       info.donors[1].stats.have == 0, "donor 1 without instance/counters");
	tap_ok(info.have_slabs && info.nr_slabs == 2, "two slabs");
	tap_ok(info.have_replicas && info.replicas == 2, "replicas per slab");
	tap_ok(info.have_resync_left && info.resync_left == 12345, "resync left");
	tap_ok(info.slabs[0].nr_replicas == 2 &&
	       info.slabs[0].replicas[1].donor == 1 &&
	       info.slabs[0].replicas[1].slab_id == 6 &&
	       info.slabs[0].replicas[1].state == RMEM_REPLICA_RESYNCING,
	       "slab 0 replicas");
	tap_ok(info.slabs[0].replicas[1].have_stale_pages &&
	       info.slabs[0].replicas[1].stale_pages == 1006 &&
	       !info.slabs[0].replicas[0].have_stale_pages, "stale pages");
	tap_ok(info.slabs[1].index == 1 && info.slabs[1].nr_replicas == 1 &&
	       info.slabs[1].replicas[0].generation == 9, "slab 1 replica");
	tap_ok(info.stats.val[RMEM_STAT_WRITE_BYTES] == 1000 + RMEM_STAT_WRITE_BYTES,
	       "device counters");
	dev_info_slab_summary(&info, &sum);
	tap_ok(sum.total == 2 && sum.by_state[RMEM_SLAB_RESYNCING] == 1 &&
	       sum.by_state[RMEM_SLAB_RECONNECTING] == 1 &&
	       sum.by_state[RMEM_SLAB_LIVE] == 0, "slab summary");
	tap_ok(sum.behind == 1 && sum.stale_pages == 1006 &&
	       sum.behind_pages == 16384, "resync progress: 1006 of 16384 pages");
	dev_info_free(&info);
	nlmsg_free(msg);
}

/* The agent's parse: into a reused store, no allocation once it fits */
static void test_store(void)
{
	struct dev_info_store store = { .slabs = NULL };
	struct nl_msg *msg = full_reply();
	struct rmem_dev_info info;
	struct rmem_slab_info *slabs;
	char err[128] = "";
	int ret;

	ret = dev_info_parse_store(nlmsg_hdr(msg), &info, &store, err,
				   sizeof(err));
	if (!tap_ok(ret == 0 && info.nr_slabs == 2, "store: reply decodes"))
		tap_diag("ret %d: %s", ret, err);
	tap_ok(info.slabs == store.slabs && store.slab_cap == 2 &&
	       store.replica_cap == 3 &&
	       info.slabs[1].replicas == store.replicas + 2,
	       "store: slabs and replicas live in the store");
	slabs = store.slabs;
	dev_info_free(&info);	/* harmless: the store owns them */
	ret = dev_info_parse_store(nlmsg_hdr(msg), &info, &store, err,
				   sizeof(err));
	tap_ok(ret == 0 && store.slabs == slabs &&
	       info.slabs[0].replicas[1].stale_pages == 1006,
	       "store: second parse reuses the same memory");
	dev_info_store_free(&store);
	nlmsg_free(msg);
}

/* Each builder adds one defect to an otherwise minimal reply */
static void bad_case(const char *what, void (*add)(struct nl_msg *),
		     bool with_name)
{
	struct nl_msg *msg = new_msg(RMEM_CMD_DEV_GET);
	struct rmem_dev_info info;
	char err[128] = "";
	int ret;

	if (with_name)
		nla_put_string(msg, RMEM_ATTR_DEV_NAME, "rmem0");
	add(msg);
	ret = dev_info_parse(nlmsg_hdr(msg), &info, err, sizeof(err));
	if (!tap_ok(ret == -EPROTO && strstr(err, "malformed"),
		    "refused: %s", what))
		tap_diag("ret %d err '%s'", ret, err);
	nlmsg_free(msg);
}

static void add_nothing(struct nl_msg *msg) { (void)msg; }
static void add_short_size(struct nl_msg *msg)
{
	nla_put_u32(msg, RMEM_ATTR_SIZE, 1);
}
static void add_short_client_id(struct nl_msg *msg)
{
	nla_put(msg, RMEM_ATTR_CLIENT_ID, 4, "abcd");
}
static void add_donor_without_port(struct nl_msg *msg)
{
	struct nlattr *l = nla_nest_start(msg, RMEM_ATTR_DONORS | NLA_F_NESTED);
	struct nlattr *d = nla_nest_start(msg, RMEM_ATTR_DONOR | NLA_F_NESTED);

	nla_put_string(msg, RMEM_DONOR_ATTR_ADDR, "10.0.0.1");
	nla_nest_end(msg, d);
	nla_nest_end(msg, l);
}
static void add_too_many_donors(struct nl_msg *msg)
{
	struct nlattr *l = nla_nest_start(msg, RMEM_ATTR_DONORS | NLA_F_NESTED);
	int i;

	for (i = 0; i <= RMEM_MAX_DONORS; i++) {
		struct nlattr *d = nla_nest_start(msg, RMEM_ATTR_DONOR | NLA_F_NESTED);

		nla_put_string(msg, RMEM_DONOR_ATTR_ADDR, "10.0.0.1");
		nla_put_u16(msg, RMEM_DONOR_ATTR_PORT, 7470);
		nla_nest_end(msg, d);
	}
	nla_nest_end(msg, l);
}
static void add_slab_bad_replica(struct nl_msg *msg)
{
	struct nlattr *l = nla_nest_start(msg, RMEM_ATTR_SLABS | NLA_F_NESTED);
	struct nlattr *s = nla_nest_start(msg, RMEM_ATTR_SLAB | NLA_F_NESTED);
	struct nlattr *r, *rep;

	nla_put_u32(msg, RMEM_SLAB_ATTR_INDEX, 0);
	nla_put_u8(msg, RMEM_SLAB_ATTR_STATE, RMEM_SLAB_LIVE);
	r = nla_nest_start(msg, RMEM_SLAB_ATTR_REPLICAS | NLA_F_NESTED);
	rep = nla_nest_start(msg, RMEM_ATTR_REPLICA | NLA_F_NESTED);
	nla_put_u32(msg, RMEM_REPLICA_ATTR_SLAB_ID, 1);	/* no donor */
	nla_nest_end(msg, rep);
	nla_nest_end(msg, r);
	nla_nest_end(msg, s);
	nla_nest_end(msg, l);
}
static void add_short_stale_pages(struct nl_msg *msg)
{
	struct nlattr *l = nla_nest_start(msg, RMEM_ATTR_SLABS | NLA_F_NESTED);
	struct nlattr *s = nla_nest_start(msg, RMEM_ATTR_SLAB | NLA_F_NESTED);
	struct nlattr *r, *rep;

	nla_put_u32(msg, RMEM_SLAB_ATTR_INDEX, 0);
	nla_put_u8(msg, RMEM_SLAB_ATTR_STATE, RMEM_SLAB_DEGRADED);
	r = nla_nest_start(msg, RMEM_SLAB_ATTR_REPLICAS | NLA_F_NESTED);
	rep = nla_nest_start(msg, RMEM_ATTR_REPLICA | NLA_F_NESTED);
	nla_put_u32(msg, RMEM_REPLICA_ATTR_DONOR, 0);
	nla_put_u8(msg, RMEM_REPLICA_ATTR_STALE_PAGES, 1);
	nla_nest_end(msg, rep);
	nla_nest_end(msg, r);
	nla_nest_end(msg, s);
	nla_nest_end(msg, l);
}
static void add_short_replicas(struct nl_msg *msg)
{
	nla_put_u8(msg, RMEM_ATTR_REPLICAS, 2);
}
static void add_short_resync_left(struct nl_msg *msg)
{
	nla_put_u32(msg, RMEM_ATTR_RESYNC_LEFT, 2);
}
static void add_unterminated_name(struct nl_msg *msg)
{
	nla_put(msg, RMEM_ATTR_DEV_NAME, 5, "rmem0");
}

static void test_event(void)
{
	struct nl_msg *msg = new_msg(RMEM_CMD_EVENT);
	struct rmem_event_info ev;
	char err[96] = "";
	int ret;

	nla_put_string(msg, RMEM_ATTR_DEV_NAME, "rmem2");
	nla_put_u8(msg, RMEM_ATTR_EVENT, RMEM_EVENT_SLAB_FAILED);
	nla_put_u32(msg, RMEM_ATTR_SLAB_INDEX, 17);
	ret = event_parse(nlmsg_hdr(msg), &ev, err, sizeof(err));
	tap_ok(ret == 0 && strcmp(ev.dev, "rmem2") == 0 &&
	       ev.event == RMEM_EVENT_SLAB_FAILED && ev.have_slab &&
	       ev.slab == 17 && !ev.have_donor && !ev.have_replica,
	       "event decodes");
	nlmsg_free(msg);

	msg = new_msg(RMEM_CMD_EVENT);
	nla_put_string(msg, RMEM_ATTR_DEV_NAME, "rmem2");
	nla_put_u8(msg, RMEM_ATTR_EVENT, RMEM_EVENT_REPLICA_LOST);
	nla_put_u32(msg, RMEM_ATTR_DONOR_INDEX, 1);
	nla_put_u32(msg, RMEM_ATTR_SLAB_INDEX, 3);
	nla_put_u32(msg, RMEM_ATTR_REPLICA_INDEX, 2);
	ret = event_parse(nlmsg_hdr(msg), &ev, err, sizeof(err));
	tap_ok(ret == 0 && ev.event == RMEM_EVENT_REPLICA_LOST &&
	       ev.have_donor && ev.donor == 1 && ev.have_slab && ev.slab == 3 &&
	       ev.have_replica && ev.replica == 2, "replica event decodes");
	nlmsg_free(msg);

	msg = new_msg(RMEM_CMD_EVENT);
	nla_put_u8(msg, RMEM_ATTR_EVENT, RMEM_EVENT_RESYNC_DONE);
	nla_put_u16(msg, RMEM_ATTR_REPLICA_INDEX, 2);
	ret = event_parse(nlmsg_hdr(msg), &ev, err, sizeof(err));
	tap_ok(ret == -EPROTO, "event with a short replica index refused");
	nlmsg_free(msg);

	msg = new_msg(RMEM_CMD_EVENT);
	nla_put_string(msg, RMEM_ATTR_DEV_NAME, "rmem2");
	ret = event_parse(nlmsg_hdr(msg), &ev, err, sizeof(err));
	tap_ok(ret == -EPROTO, "event without RMEM_ATTR_EVENT refused");
	nlmsg_free(msg);
}

int main(void)
{
	test_full();
	test_store();
	bad_case("no device name", add_nothing, false);
	bad_case("unterminated device name", add_unterminated_name, false);
	bad_case("u32 where u64 is due", add_short_size, true);
	bad_case("4-byte client id", add_short_client_id, true);
	bad_case("donor without port", add_donor_without_port, true);
	bad_case("more than 16 donors", add_too_many_donors, true);
	bad_case("replica without donor", add_slab_bad_replica, true);
	bad_case("u8 stale pages", add_short_stale_pages, true);
	bad_case("u8 replicas per slab", add_short_replicas, true);
	bad_case("u32 resync left", add_short_resync_left, true);
	test_event();
	return tap_done();
}
