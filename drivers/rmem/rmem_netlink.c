// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "rmem" (include/rmem/rmem_netlink.h): DEV_ADD,
 * DEV_DEL, DEV_GET (doit by name, dump of all), REPLICA_REPLACE and the
 * "events" multicast group.  Every attribute is strictly validated
 * against per-operation policies; all but DEV_GET need CAP_NET_ADMIN.
 */
#include <linux/ctype.h>
#include <linux/inet.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <net/genetlink.h>

#include "rmem.h"

static struct genl_family rmem_genl_family;

/* ---- policies ---- */

static const struct nla_policy rmem_donor_in_policy[RMEM_DONOR_ATTR_MAX + 1] = {
	[RMEM_DONOR_ATTR_ADDR]	= { .type = NLA_NUL_STRING,
				    .len = RMEM_ADDR_MAX - 1 },
	[RMEM_DONOR_ATTR_PORT]	= NLA_POLICY_MIN(NLA_U16, 1),
};

static const struct nla_policy rmem_donor_list_policy[RMEM_ATTR_LIST_MAX + 1] = {
	[RMEM_ATTR_DONOR]	= NLA_POLICY_NESTED(rmem_donor_in_policy),
};

static const struct nla_policy rmem_replica_in_policy[RMEM_REPLICA_ATTR_MAX + 1] = {
	[RMEM_REPLICA_ATTR_DONOR]	= NLA_POLICY_MAX(NLA_U32, RMEM_MAX_DONORS - 1),
	[RMEM_REPLICA_ATTR_SLAB_ID]	= { .type = NLA_U32 },
	[RMEM_REPLICA_ATTR_GENERATION]	= { .type = NLA_U32 },
	[RMEM_REPLICA_ATTR_GRANT]	= NLA_POLICY_EXACT_LEN(RMEM_GRANT_LEN),
	[RMEM_REPLICA_ATTR_ADDR]	= { .type = NLA_NUL_STRING,
					    .len = RMEM_ADDR_MAX - 1 },
	[RMEM_REPLICA_ATTR_PORT]	= NLA_POLICY_MIN(NLA_U16, 1),
};

static const struct nla_policy rmem_replica_list_policy[RMEM_ATTR_LIST_MAX + 1] = {
	[RMEM_ATTR_REPLICA]	= NLA_POLICY_NESTED(rmem_replica_in_policy),
};

static const struct nla_policy rmem_slab_in_policy[RMEM_SLAB_ATTR_MAX + 1] = {
	[RMEM_SLAB_ATTR_INDEX]		= { .type = NLA_U32 },
	[RMEM_SLAB_ATTR_REPLICAS]	= NLA_POLICY_NESTED(rmem_replica_list_policy),
};

static const struct nla_policy rmem_slab_list_policy[RMEM_ATTR_LIST_MAX + 1] = {
	[RMEM_ATTR_SLAB]	= NLA_POLICY_NESTED(rmem_slab_in_policy),
};

static const struct nla_policy rmem_dev_add_policy[RMEM_ATTR_MAX + 1] = {
	[RMEM_ATTR_DEV_NAME]	= { .type = NLA_NUL_STRING,
				    .len = RMEM_NAME_MAX - 1 },
	[RMEM_ATTR_SIZE]	= { .type = NLA_U64 },
	[RMEM_ATTR_SLAB_SIZE]	= { .type = NLA_U64 },
	[RMEM_ATTR_DONORS]	= NLA_POLICY_NESTED(rmem_donor_list_policy),
	[RMEM_ATTR_SLABS]	= NLA_POLICY_NESTED(rmem_slab_list_policy),
	[RMEM_ATTR_CLIENT_ID]	= NLA_POLICY_EXACT_LEN(RMEM_CLIENT_ID_LEN),
	[RMEM_ATTR_REPLICAS]	= NLA_POLICY_RANGE(NLA_U32, 1, RMEM_MAX_REPLICAS),
};

static const struct nla_policy rmem_replace_policy[RMEM_ATTR_MAX + 1] = {
	[RMEM_ATTR_DEV_NAME]	= { .type = NLA_NUL_STRING,
				    .len = RMEM_NAME_MAX - 1 },
	[RMEM_ATTR_SLAB_INDEX]	= { .type = NLA_U32 },
	[RMEM_ATTR_REPLICA_INDEX] = NLA_POLICY_MAX(NLA_U32, RMEM_MAX_REPLICAS - 1),
	[RMEM_ATTR_REPLICA_OLD]	= NLA_POLICY_NESTED(rmem_replica_in_policy),
	[RMEM_ATTR_REPLICA_NEW]	= NLA_POLICY_NESTED(rmem_replica_in_policy),
};

static const struct nla_policy rmem_dev_name_policy[RMEM_ATTR_MAX + 1] = {
	[RMEM_ATTR_DEV_NAME]	= { .type = NLA_NUL_STRING,
				    .len = RMEM_NAME_MAX - 1 },
};

/* ---- replies ---- */

static int rmem_nl_put_stats(struct sk_buff *skb, int attrtype,
			     struct rmem_stats *s)
{
	struct nlattr *nest = nla_nest_start(skb, attrtype);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = RMEM_STAT_READS; i <= RMEM_STAT_MAX; i++)
		if (nla_put_u64_64bit(skb, i, rmem_stat_read(s, i),
				      RMEM_STAT_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int rmem_nl_put_donors(struct sk_buff *skb, struct rmem_dev *dev)
{
	unsigned int i, n = smp_load_acquire(&dev->nr_donors);
	struct nlattr *list, *nest;

	list = nla_nest_start(skb, RMEM_ATTR_DONORS);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		struct rmem_donor *d = dev->donors[i];

		nest = nla_nest_start(skb, RMEM_ATTR_DONOR);
		if (!nest ||
		    nla_put_string(skb, RMEM_DONOR_ATTR_ADDR, d->addr_str) ||
		    nla_put_u16(skb, RMEM_DONOR_ATTR_PORT, d->port) ||
		    nla_put_u8(skb, RMEM_DONOR_ATTR_STATE, READ_ONCE(d->state)) ||
		    nla_put_u64_64bit(skb, RMEM_DONOR_ATTR_INSTANCE,
				      d->instance_id, RMEM_DONOR_ATTR_PAD) ||
		    rmem_nl_put_stats(skb, RMEM_DONOR_ATTR_STATS, &d->stats))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	nla_nest_end(skb, list);
	return 0;
}

static int rmem_nl_put_slab(struct sk_buff *skb, struct rmem_slab *slab)
{
	struct nlattr *nest, *reps, *rep;
	unsigned int j;

	nest = nla_nest_start(skb, RMEM_ATTR_SLAB);
	if (!nest ||
	    nla_put_u32(skb, RMEM_SLAB_ATTR_INDEX, slab->index) ||
	    nla_put_u8(skb, RMEM_SLAB_ATTR_STATE, rmem_slab_state(slab)))
		return -EMSGSIZE;
	reps = nla_nest_start(skb, RMEM_SLAB_ATTR_REPLICAS);
	if (!reps)
		return -EMSGSIZE;
	for (j = 0; j < slab->nr_replicas; j++) {
		struct rmem_replica *r = &slab->r[j];

		rep = nla_nest_start(skb, RMEM_ATTR_REPLICA);
		if (!rep ||
		    nla_put_u32(skb, RMEM_REPLICA_ATTR_DONOR, r->donor->index) ||
		    nla_put_u32(skb, RMEM_REPLICA_ATTR_SLAB_ID, r->slab_id) ||
		    nla_put_u32(skb, RMEM_REPLICA_ATTR_GENERATION,
				r->generation) ||
		    nla_put_u8(skb, RMEM_REPLICA_ATTR_STATE,
			       rmem_replica_state(r)) ||
		    nla_put_u32(skb, RMEM_REPLICA_ATTR_STALE_PAGES,
				READ_ONCE(r->nr_stale)))
			return -EMSGSIZE;
		nla_nest_end(skb, rep);
	}
	nla_nest_end(skb, reps);
	nla_nest_end(skb, nest);
	return 0;
}

static int rmem_nl_put_slabs(struct sk_buff *skb, struct rmem_dev *dev)
{
	struct nlattr *list = nla_nest_start(skb, RMEM_ATTR_SLABS);
	u32 i;

	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < dev->map.nr_slabs; i++)
		if (rmem_nl_put_slab(skb, &dev->map.slabs[i]))
			return -EMSGSIZE;
	/* an attribute's length is 16 bits: a huge map cannot be listed */
	if (skb_tail_pointer(skb) - (unsigned char *)list > U16_MAX) {
		nla_nest_cancel(skb, list);
		return 0;
	}
	nla_nest_end(skb, list);
	return 0;
}

static int rmem_nl_fill_dev(struct sk_buff *skb, struct rmem_dev *dev,
			    u32 portid, u32 seq, int flags, u8 cmd)
{
	void *hdr;
	unsigned int openers;

	hdr = genlmsg_put(skb, portid, seq, &rmem_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;

	mutex_lock(&dev->open_lock);
	openers = dev->openers;
	mutex_unlock(&dev->open_lock);

	if (nla_put_string(skb, RMEM_ATTR_DEV_NAME, dev->name) ||
	    nla_put_u64_64bit(skb, RMEM_ATTR_SIZE, dev->size, RMEM_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, RMEM_ATTR_SLAB_SIZE, dev->map.slab_size,
			      RMEM_ATTR_PAD) ||
	    nla_put_u8(skb, RMEM_ATTR_STATE, rmem_dev_state(dev)) ||
	    nla_put_u32(skb, RMEM_ATTR_OPENERS, openers) ||
	    nla_put(skb, RMEM_ATTR_CLIENT_ID, RMEM_CLIENT_ID_LEN,
		    dev->client_id) ||
	    nla_put_u32(skb, RMEM_ATTR_REPLICAS, dev->replicas) ||
	    nla_put_u64_64bit(skb, RMEM_ATTR_RESYNC_LEFT,
			      rmem_resync_left(dev), RMEM_ATTR_PAD) ||
	    rmem_nl_put_donors(skb, dev) ||
	    rmem_nl_put_slabs(skb, dev) ||
	    rmem_nl_put_stats(skb, RMEM_ATTR_STATS, &dev->stats)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static size_t rmem_nl_dev_size(struct rmem_dev *dev)
{
	/* generous per-donor and per-slab room; the rest fits in a page */
	return NLMSG_GOODSIZE + RMEM_MAX_DONORS * 512 +
	       (size_t)dev->map.nr_slabs * (48 + 56 * dev->replicas);
}

/* Caller holds rmem_devs_mutex, so @dev cannot go away meanwhile. */
static int rmem_nl_reply_dev(struct genl_info *info, struct rmem_dev *dev,
			     u8 cmd)
{
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(rmem_nl_dev_size(dev), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = rmem_nl_fill_dev(msg, dev, info->snd_portid, info->snd_seq, 0,
			       cmd);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* ---- events ---- */

/* From work items and netlink handlers only, never from the I/O path. */
void rmem_nl_event(struct rmem_dev *dev, enum rmem_event ev, s64 donor,
		   s64 slab, s64 replica)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_NOIO);
	if (!msg)
		return;	/* events are advisory; state is in DEV_GET */
	hdr = genlmsg_put(msg, 0, 0, &rmem_genl_family, 0, RMEM_CMD_EVENT);
	if (!hdr ||
	    nla_put_u8(msg, RMEM_ATTR_EVENT, ev) ||
	    nla_put_string(msg, RMEM_ATTR_DEV_NAME, dev->name) ||
	    (donor >= 0 && nla_put_u32(msg, RMEM_ATTR_DONOR_INDEX, donor)) ||
	    (slab >= 0 && nla_put_u32(msg, RMEM_ATTR_SLAB_INDEX, slab)) ||
	    (replica >= 0 &&
	     nla_put_u32(msg, RMEM_ATTR_REPLICA_INDEX, replica))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	/* -ESRCH only says nobody listens */
	genlmsg_multicast(&rmem_genl_family, msg, 0, 0, GFP_NOIO);
}

/* ---- DEV_ADD parsing ---- */

static bool rmem_valid_name(const char *name)
{
	const char *p;

	if (!name[0])
		return false;
	for (p = name; *p; p++)
		if (!isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

/* A donor's address literal (and port, default 7470) into @dc. */
static int rmem_parse_addr(struct nlattr *addr, struct nlattr *port,
			   struct rmem_donor_cfg *dc,
			   struct netlink_ext_ack *extack)
{
	char port_str[8];

	nla_strscpy(dc->addr_str, addr, sizeof(dc->addr_str));
	dc->port = port ? nla_get_u16(port) : RMEM_DEFAULT_PORT;
	snprintf(port_str, sizeof(port_str), "%u", dc->port);
	if (inet_pton_with_scope(&init_net, AF_UNSPEC, dc->addr_str, port_str,
				 &dc->addr)) {
		NL_SET_ERR_MSG_ATTR(extack, addr,
				    "donor address is not an IPv4 or IPv6 literal");
		return -EINVAL;
	}
	return 0;
}

static int rmem_parse_donor(struct nlattr *nla, struct rmem_donor_cfg *dc,
			    struct netlink_ext_ack *extack)
{
	struct nlattr *tb[RMEM_DONOR_ATTR_MAX + 1];
	int ret;

	ret = nla_parse_nested(tb, RMEM_DONOR_ATTR_MAX, nla,
			       rmem_donor_in_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, nla, tb, RMEM_DONOR_ATTR_ADDR))
		return -EINVAL;
	return rmem_parse_addr(tb[RMEM_DONOR_ATTR_ADDR],
			       tb[RMEM_DONOR_ATTR_PORT], dc, extack);
}

static int rmem_parse_donors(struct nlattr *list, struct rmem_dev_cfg *cfg,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *nla;
	int rem, ret;

	nla_for_each_nested(nla, list, rem) {
		if (nla_type(nla) != RMEM_ATTR_DONOR) {
			NL_SET_ERR_MSG_ATTR(extack, nla, "DONORS holds only DONOR entries");
			return -EINVAL;
		}
		if (cfg->nr_donors == RMEM_MAX_DONORS) {
			NL_SET_ERR_MSG_ATTR(extack, nla, "too many donors");
			return -E2BIG;
		}
		ret = rmem_parse_donor(nla, &cfg->donors[cfg->nr_donors],
				       extack);
		if (ret)
			return ret;
		cfg->nr_donors++;
	}
	if (!cfg->nr_donors) {
		NL_SET_ERR_MSG_ATTR(extack, list, "at least one donor is needed");
		return -EINVAL;
	}
	return 0;
}

static int rmem_parse_replica(struct nlattr *nla, struct rmem_dev_cfg *cfg,
			      struct rmem_replica_cfg *rc,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[RMEM_REPLICA_ATTR_MAX + 1];
	int ret;

	ret = nla_parse_nested(tb, RMEM_REPLICA_ATTR_MAX, nla,
			       rmem_replica_in_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, nla, tb, RMEM_REPLICA_ATTR_DONOR) ||
	    NL_REQ_ATTR_CHECK(extack, nla, tb, RMEM_REPLICA_ATTR_SLAB_ID))
		return -EINVAL;

	if (tb[RMEM_REPLICA_ATTR_ADDR] || tb[RMEM_REPLICA_ATTR_PORT]) {
		NL_SET_ERR_MSG_ATTR(extack, nla,
				    "a DEV_ADD replica names its donor by index in DONORS");
		return -EINVAL;
	}
	rc->donor = nla_get_u32(tb[RMEM_REPLICA_ATTR_DONOR]);
	if (rc->donor >= cfg->nr_donors) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_REPLICA_ATTR_DONOR],
				    "replica names a donor not in DONORS");
		return -EINVAL;
	}
	rc->slab_id = nla_get_u32(tb[RMEM_REPLICA_ATTR_SLAB_ID]);
	if (tb[RMEM_REPLICA_ATTR_GENERATION])
		rc->generation = nla_get_u32(tb[RMEM_REPLICA_ATTR_GENERATION]);
	if (tb[RMEM_REPLICA_ATTR_GRANT]) {
		rc->has_grant = true;
		nla_memcpy(rc->grant, tb[RMEM_REPLICA_ATTR_GRANT],
			   RMEM_GRANT_LEN);
	}
	return 0;
}

/* Does a replica of @sc so far live on donor @donor? */
static bool rmem_donor_named(const struct rmem_slab_cfg *sc, u32 donor)
{
	unsigned int j;

	for (j = 0; j < sc->nr_replicas; j++)
		if (sc->r[j].donor == donor)
			return true;
	return false;
}

static int rmem_parse_slab(struct nlattr *nla, struct rmem_dev_cfg *cfg,
			   bool fill, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[RMEM_SLAB_ATTR_MAX + 1];
	struct rmem_slab_cfg *sc;
	struct nlattr *rep;
	u32 index;
	int rem, ret;

	ret = nla_parse_nested(tb, RMEM_SLAB_ATTR_MAX, nla,
			       rmem_slab_in_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, nla, tb, RMEM_SLAB_ATTR_INDEX) ||
	    NL_REQ_ATTR_CHECK(extack, nla, tb, RMEM_SLAB_ATTR_REPLICAS))
		return -EINVAL;
	index = nla_get_u32(tb[RMEM_SLAB_ATTR_INDEX]);
	if (index >= RMEM_MAX_SLABS) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_SLAB_ATTR_INDEX],
				    "slab index too large");
		return -EINVAL;
	}
	if (!fill) {
		cfg->nr_slab_cfgs = max(cfg->nr_slab_cfgs, index + 1);
		return 0;
	}

	sc = &cfg->slab_cfgs[index];
	if (sc->set) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_SLAB_ATTR_INDEX],
				    "slab index given twice");
		return -EINVAL;
	}
	sc->set = true;
	nla_for_each_nested(rep, tb[RMEM_SLAB_ATTR_REPLICAS], rem) {
		if (nla_type(rep) != RMEM_ATTR_REPLICA) {
			NL_SET_ERR_MSG_ATTR(extack, rep, "REPLICAS holds only REPLICA entries");
			return -EINVAL;
		}
		if (sc->nr_replicas == RMEM_MAX_REPLICAS) {
			NL_SET_ERR_MSG_ATTR(extack, rep, "too many replicas for one slab");
			return -E2BIG;
		}
		ret = rmem_parse_replica(rep, cfg, &sc->r[sc->nr_replicas],
					 extack);
		if (ret)
			return ret;
		if (rmem_donor_named(sc, sc->r[sc->nr_replicas].donor)) {
			NL_SET_ERR_MSG_ATTR(extack, rep, "two replicas of one slab on the same donor");
			return -EINVAL;
		}
		sc->nr_replicas++;
	}
	if (!sc->nr_replicas) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_SLAB_ATTR_REPLICAS],
				    "a slab needs a replica");
		return -EINVAL;
	}
	return 0;
}

static int rmem_parse_slabs(struct nlattr *list, struct rmem_dev_cfg *cfg,
			    struct netlink_ext_ack *extack)
{
	struct nlattr *nla;
	int rem, ret, pass;

	/* first pass sizes the table, second fills it */
	for (pass = 0; pass < 2; pass++) {
		nla_for_each_nested(nla, list, rem) {
			if (nla_type(nla) != RMEM_ATTR_SLAB) {
				NL_SET_ERR_MSG_ATTR(extack, nla, "SLABS holds only SLAB entries");
				return -EINVAL;
			}
			ret = rmem_parse_slab(nla, cfg, pass, extack);
			if (ret)
				return ret;
		}
		if (!cfg->nr_slab_cfgs) {
			NL_SET_ERR_MSG_ATTR(extack, list, "SLABS is empty");
			return -EINVAL;
		}
		if (!pass) {
			cfg->slab_cfgs = kvcalloc(cfg->nr_slab_cfgs,
						  sizeof(*cfg->slab_cfgs),
						  GFP_KERNEL);
			if (!cfg->slab_cfgs)
				return -ENOMEM;
		}
	}
	return 0;
}

static int rmem_parse_dev_add(struct genl_info *info, struct rmem_dev_cfg *cfg)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **tb = info->attrs;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_SIZE) ||
	    GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_DONORS))
		return -EINVAL;

	cfg->size = nla_get_u64(tb[RMEM_ATTR_SIZE]);
	if (!cfg->size || cfg->size % RMEM_SECTOR_SIZE ||
	    cfg->size > RMEM_MAX_SIZE) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_ATTR_SIZE],
				    "size must be a non-zero multiple of 4096, at most 1 TiB");
		return -EINVAL;
	}
	if (tb[RMEM_ATTR_SLAB_SIZE]) {
		cfg->slab_size = nla_get_u64(tb[RMEM_ATTR_SLAB_SIZE]);
		if (!cfg->slab_size || cfg->slab_size % RMEM_SECTOR_SIZE) {
			NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_ATTR_SLAB_SIZE],
					    "slab size must be a non-zero multiple of 4096");
			return -EINVAL;
		}
	}
	if (tb[RMEM_ATTR_DEV_NAME]) {
		nla_strscpy(cfg->name, tb[RMEM_ATTR_DEV_NAME],
			    sizeof(cfg->name));
		if (!rmem_valid_name(cfg->name)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_ATTR_DEV_NAME],
					    "device name may hold only letters, digits, '-', '_' and '.'");
			return -EINVAL;
		}
	}
	if (tb[RMEM_ATTR_CLIENT_ID]) {
		cfg->has_client_id = true;
		nla_memcpy(cfg->client_id, tb[RMEM_ATTR_CLIENT_ID],
			   RMEM_CLIENT_ID_LEN);
	}

	ret = rmem_parse_donors(tb[RMEM_ATTR_DONORS], cfg, extack);
	if (ret)
		return ret;
	cfg->replicas = 1;
	if (tb[RMEM_ATTR_REPLICAS]) {
		cfg->replicas = nla_get_u32(tb[RMEM_ATTR_REPLICAS]);
		if (tb[RMEM_ATTR_SLABS]) {
			NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_ATTR_REPLICAS],
					    "REPLICAS goes without SLABS (SLABS names every replica)");
			return -EINVAL;
		}
		if (cfg->replicas > cfg->nr_donors) {
			NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_ATTR_REPLICAS],
					    "each replica of a slab needs its own donor: more replicas than donors");
			return -EINVAL;
		}
	}
	if (tb[RMEM_ATTR_SLABS])
		return rmem_parse_slabs(tb[RMEM_ATTR_SLABS], cfg, extack);
	return 0;
}

/* ---- operations ---- */

static int rmem_nl_dev_add(struct sk_buff *skb, struct genl_info *info)
{
	struct rmem_dev_cfg *cfg;
	struct rmem_dev *dev;
	int ret;

	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	ret = rmem_parse_dev_add(info, cfg);
	if (ret)
		goto out_free;

	dev = rmem_dev_add(cfg, info->extack);
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto out_free;
	}
	rmem_nl_event(dev, RMEM_EVENT_DEV_ADDED, -1, -1, -1);

	/* the device exists whether or not the reply fits */
	mutex_lock(&rmem_devs_mutex);
	if (rmem_dev_find(cfg->name[0] ? cfg->name : dev->name) == dev)
		rmem_nl_reply_dev(info, dev, RMEM_CMD_DEV_ADD);
	mutex_unlock(&rmem_devs_mutex);
	ret = 0;
out_free:
	kvfree(cfg->slab_cfgs);
	kfree(cfg);
	return ret;
}

static int rmem_nl_dev_del(struct sk_buff *skb, struct genl_info *info)
{
	char name[RMEM_NAME_MAX];

	if (GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_DEV_NAME))
		return -EINVAL;
	nla_strscpy(name, info->attrs[RMEM_ATTR_DEV_NAME], sizeof(name));
	return rmem_dev_del(name, info->extack);
}

static int rmem_nl_dev_get(struct sk_buff *skb, struct genl_info *info)
{
	char name[RMEM_NAME_MAX];
	struct rmem_dev *dev;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_DEV_NAME))
		return -EINVAL;
	nla_strscpy(name, info->attrs[RMEM_ATTR_DEV_NAME], sizeof(name));

	mutex_lock(&rmem_devs_mutex);
	dev = rmem_dev_find(name);
	if (!dev || dev->adding) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[RMEM_ATTR_DEV_NAME],
				    "no such rmem device");
		ret = -ENODEV;
	} else {
		ret = rmem_nl_reply_dev(info, dev, RMEM_CMD_DEV_GET);
	}
	mutex_unlock(&rmem_devs_mutex);
	return ret;
}

/* cb->args[0]: id of the next device to dump */
static int rmem_nl_dev_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rmem_dev *dev;
	int id = cb->args[0];
	int ret = 0, put = 0;

	mutex_lock(&rmem_devs_mutex);
	for (dev = idr_get_next(&rmem_devs_idr, &id); dev;
	     id++, dev = idr_get_next(&rmem_devs_idr, &id)) {
		if (dev->adding)
			continue;
		ret = rmem_nl_fill_dev(skb, dev, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       RMEM_CMD_DEV_GET);
		if (ret)
			break;
		put++;
	}
	mutex_unlock(&rmem_devs_mutex);
	cb->args[0] = id;
	/* a device too big for an empty message is an error, not the end */
	if (ret && !put)
		return ret;
	return skb->len;
}

/* ---- REPLICA_REPLACE ---- */

struct rmem_replace_req {
	u32			slab;
	u32			slot;
	u32			old_donor;
	u32			old_slab_id;
	u32			old_generation;
	bool			new_by_index;
	u32			new_donor;
	struct rmem_donor_cfg	new_addr;
	struct rmem_replica	nr;
};

static int rmem_parse_replace(struct genl_info *info,
			      struct rmem_replace_req *req)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *old[RMEM_REPLICA_ATTR_MAX + 1];
	struct nlattr *new[RMEM_REPLICA_ATTR_MAX + 1];
	struct nlattr **tb = info->attrs;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_DEV_NAME) ||
	    GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_SLAB_INDEX) ||
	    GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_REPLICA_INDEX) ||
	    GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_REPLICA_OLD) ||
	    GENL_REQ_ATTR_CHECK(info, RMEM_ATTR_REPLICA_NEW))
		return -EINVAL;
	req->slab = nla_get_u32(tb[RMEM_ATTR_SLAB_INDEX]);
	req->slot = nla_get_u32(tb[RMEM_ATTR_REPLICA_INDEX]);

	ret = nla_parse_nested(old, RMEM_REPLICA_ATTR_MAX,
			       tb[RMEM_ATTR_REPLICA_OLD], rmem_replica_in_policy,
			       extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, tb[RMEM_ATTR_REPLICA_OLD], old,
			      RMEM_REPLICA_ATTR_DONOR) ||
	    NL_REQ_ATTR_CHECK(extack, tb[RMEM_ATTR_REPLICA_OLD], old,
			      RMEM_REPLICA_ATTR_SLAB_ID) ||
	    NL_REQ_ATTR_CHECK(extack, tb[RMEM_ATTR_REPLICA_OLD], old,
			      RMEM_REPLICA_ATTR_GENERATION))
		return -EINVAL;
	req->old_donor = nla_get_u32(old[RMEM_REPLICA_ATTR_DONOR]);
	req->old_slab_id = nla_get_u32(old[RMEM_REPLICA_ATTR_SLAB_ID]);
	req->old_generation = nla_get_u32(old[RMEM_REPLICA_ATTR_GENERATION]);

	ret = nla_parse_nested(new, RMEM_REPLICA_ATTR_MAX,
			       tb[RMEM_ATTR_REPLICA_NEW], rmem_replica_in_policy,
			       extack);
	if (ret)
		return ret;
	if (!new[RMEM_REPLICA_ATTR_DONOR] == !new[RMEM_REPLICA_ATTR_ADDR]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RMEM_ATTR_REPLICA_NEW],
				    "REPLICA_NEW names its donor by DONOR index or by ADDR, one of them");
		return -EINVAL;
	}
	if (new[RMEM_REPLICA_ATTR_DONOR]) {
		req->new_by_index = true;
		req->new_donor = nla_get_u32(new[RMEM_REPLICA_ATTR_DONOR]);
	} else {
		ret = rmem_parse_addr(new[RMEM_REPLICA_ATTR_ADDR],
				      new[RMEM_REPLICA_ATTR_PORT],
				      &req->new_addr, extack);
		if (ret)
			return ret;
	}
	req->nr.slab_id = new[RMEM_REPLICA_ATTR_SLAB_ID] ?
		nla_get_u32(new[RMEM_REPLICA_ATTR_SLAB_ID]) : RMEM_SLAB_ANY;
	if (new[RMEM_REPLICA_ATTR_GENERATION])
		req->nr.generation = nla_get_u32(new[RMEM_REPLICA_ATTR_GENERATION]);
	if (new[RMEM_REPLICA_ATTR_GRANT]) {
		req->nr.has_grant = true;
		nla_memcpy(req->nr.grant, new[RMEM_REPLICA_ATTR_GRANT],
			   RMEM_GRANT_LEN);
	}
	return 0;
}

/* Is the request about the slot as it is: LOST, and as the caller saw it? */
static int rmem_check_replace(struct rmem_dev *dev, struct rmem_replace_req *req,
			      struct netlink_ext_ack *extack)
{
	struct rmem_slab *slab;
	struct rmem_replica *r;
	unsigned int k;

	if (req->slab >= dev->map.nr_slabs) {
		NL_SET_ERR_MSG(extack, "no such slab in the device");
		return -EINVAL;
	}
	slab = &dev->map.slabs[req->slab];
	if (req->slot >= slab->nr_replicas) {
		NL_SET_ERR_MSG(extack, "no such replica slot in the slab");
		return -EINVAL;
	}
	r = &slab->r[req->slot];
	if (r->donor->index != req->old_donor ||
	    r->slab_id != req->old_slab_id ||
	    r->generation != req->old_generation) {
		NL_SET_ERR_MSG(extack, "REPLICA_OLD does not match the replica in that slot (donor, slab id or generation)");
		return -ESTALE;
	}
	if (READ_ONCE(r->state) != RMEM_REPLICA_LOST) {
		NL_SET_ERR_MSG(extack, "only a lost replica can be replaced");
		return -EBUSY;
	}
	for (k = 0; k < slab->nr_replicas; k++)
		if (READ_ONCE(slab->r[k].state) == RMEM_REPLICA_IN_SYNC)
			return 0;
	NL_SET_ERR_MSG(extack, "the slab has no in-sync copy left to copy from");
	return -ENODATA;
}

/* The new replica's donor: not one that holds another copy of the slab. */
static struct rmem_donor *rmem_replace_donor(struct rmem_dev *dev,
					     struct rmem_replace_req *req,
					     struct netlink_ext_ack *extack)
{
	struct rmem_slab *slab = &dev->map.slabs[req->slab];
	struct rmem_donor *d;
	unsigned int k;

	if (!req->new_by_index) {
		d = rmem_dev_get_donor(dev, &req->new_addr, extack);
		if (IS_ERR(d))
			return d;
	} else if (req->new_donor >= dev->nr_donors) {
		NL_SET_ERR_MSG(extack, "REPLICA_NEW names a donor not in DONORS");
		return ERR_PTR(-EINVAL);
	} else {
		d = dev->donors[req->new_donor];
		if (!rmem_donor_live(d)) {
			NL_SET_ERR_MSG(extack, "that donor is not connected");
			return ERR_PTR(-EHOSTDOWN);
		}
	}
	for (k = 0; k < slab->nr_replicas; k++) {
		if (k != req->slot && slab->r[k].donor == d &&
		    READ_ONCE(slab->r[k].state) != RMEM_REPLICA_LOST) {
			NL_SET_ERR_MSG(extack, "that donor already holds a replica of this slab");
			return ERR_PTR(-EINVAL);
		}
	}
	return d;
}

static int rmem_nl_replica_replace(struct sk_buff *skb, struct genl_info *info)
{
	struct rmem_replace_req *req;
	char name[RMEM_NAME_MAX];
	struct rmem_donor *d;
	struct rmem_dev *dev;
	unsigned int noio;
	int ret;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	ret = rmem_parse_replace(info, req);
	if (ret)
		goto out_free;
	nla_strscpy(name, info->attrs[RMEM_ATTR_DEV_NAME], sizeof(name));

	/* the agent runs while swap may be waiting on this very device */
	noio = memalloc_noio_save();
	mutex_lock(&rmem_devs_mutex);
	dev = rmem_dev_find(name);
	if (!dev || dev->adding || READ_ONCE(dev->deleting)) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[RMEM_ATTR_DEV_NAME],
				    "no such rmem device");
		ret = -ENODEV;
		goto out_unlock;
	}
	ret = rmem_check_replace(dev, req, info->extack);
	if (ret)
		goto out_unlock;
	d = rmem_replace_donor(dev, req, info->extack);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		goto out_unlock;
	}
	ret = rmem_dev_replace(dev, req->slab, req->slot, d, &req->nr,
			       info->extack);
out_unlock:
	mutex_unlock(&rmem_devs_mutex);
	memalloc_noio_restore(noio);
out_free:
	kfree(req);
	return ret;
}

static const struct genl_ops rmem_genl_ops[] = {
	{
		.cmd	= RMEM_CMD_DEV_ADD,
		.doit	= rmem_nl_dev_add,
		.policy	= rmem_dev_add_policy,
		.maxattr = RMEM_ATTR_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= RMEM_CMD_DEV_DEL,
		.doit	= rmem_nl_dev_del,
		.policy	= rmem_dev_name_policy,
		.maxattr = RMEM_ATTR_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= RMEM_CMD_REPLICA_REPLACE,
		.doit	= rmem_nl_replica_replace,
		.policy	= rmem_replace_policy,
		.maxattr = RMEM_ATTR_MAX,
		.flags	= GENL_ADMIN_PERM,
	},
	{
		.cmd	= RMEM_CMD_DEV_GET,
		.doit	= rmem_nl_dev_get,
		.dumpit	= rmem_nl_dev_dump,
		.policy	= rmem_dev_name_policy,
		.maxattr = RMEM_ATTR_MAX,
	},
};

static const struct genl_multicast_group rmem_genl_mcgrps[] = {
	{ .name = RMEM_GENL_MCAST_EVENTS },
};

static struct genl_family rmem_genl_family __ro_after_init = {
	.name		= RMEM_GENL_NAME,
	.version	= RMEM_GENL_VERSION,
	.module		= THIS_MODULE,
	/* DEV_ADD waits on the network; other families must not wait too */
	.parallel_ops	= true,
	.ops		= rmem_genl_ops,
	.n_ops		= ARRAY_SIZE(rmem_genl_ops),
	.mcgrps		= rmem_genl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(rmem_genl_mcgrps),
};

int rmem_nl_init(void)
{
	return genl_register_family(&rmem_genl_family);
}

void rmem_nl_exit(void)
{
	genl_unregister_family(&rmem_genl_family);
}
