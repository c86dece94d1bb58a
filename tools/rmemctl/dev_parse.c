// SPDX-License-Identifier: GPL-2.0
/*
 * Decode a device description (DEV_GET / DEV_ADD reply) from netlink
 * attributes into struct rmem_dev_info.  Attributes newer than this
 * header are skipped so that an older rmemctl keeps working with a newer
 * driver; attributes of the wrong size are an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "devinfo.h"

static struct nla_policy dev_policy[RMEM_ATTR_MAX + 1] = {
	[RMEM_ATTR_DEV_NAME]	= { .type = NLA_STRING, .maxlen = RMEM_NAME_MAX },
	[RMEM_ATTR_SIZE]	= { .type = NLA_U64 },
	[RMEM_ATTR_SLAB_SIZE]	= { .type = NLA_U64 },
	[RMEM_ATTR_STATE]	= { .type = NLA_U8 },
	[RMEM_ATTR_OPENERS]	= { .type = NLA_U32 },
	[RMEM_ATTR_DONORS]	= { .type = NLA_NESTED },
	[RMEM_ATTR_SLABS]	= { .type = NLA_NESTED },
	[RMEM_ATTR_STATS]	= { .type = NLA_NESTED },
	[RMEM_ATTR_CLIENT_ID]	= { .type = NLA_UNSPEC,
				    .minlen = RMEM_CLIENT_ID_LEN,
				    .maxlen = RMEM_CLIENT_ID_LEN },
};

static struct nla_policy donor_policy[RMEM_DONOR_ATTR_MAX + 1] = {
	[RMEM_DONOR_ATTR_ADDR]	= { .type = NLA_STRING, .maxlen = RMEM_ADDR_MAX },
	[RMEM_DONOR_ATTR_PORT]	= { .type = NLA_U16 },
	[RMEM_DONOR_ATTR_STATE]	= { .type = NLA_U8 },
	[RMEM_DONOR_ATTR_INSTANCE] = { .type = NLA_U64 },
	[RMEM_DONOR_ATTR_STATS]	= { .type = NLA_NESTED },
};

static struct nla_policy slab_policy[RMEM_SLAB_ATTR_MAX + 1] = {
	[RMEM_SLAB_ATTR_INDEX]	= { .type = NLA_U32 },
	[RMEM_SLAB_ATTR_STATE]	= { .type = NLA_U8 },
	[RMEM_SLAB_ATTR_REPLICAS] = { .type = NLA_NESTED },
};

static struct nla_policy replica_policy[RMEM_REPLICA_ATTR_MAX + 1] = {
	[RMEM_REPLICA_ATTR_DONOR]	= { .type = NLA_U32 },
	[RMEM_REPLICA_ATTR_SLAB_ID]	= { .type = NLA_U32 },
	[RMEM_REPLICA_ATTR_GENERATION]	= { .type = NLA_U32 },
	[RMEM_REPLICA_ATTR_STATE]	= { .type = NLA_U8 },
};

static struct nla_policy stat_policy[RMEM_STAT_MAX + 1] = {
	[RMEM_STAT_READS]	= { .type = NLA_U64 },
	[RMEM_STAT_WRITES]	= { .type = NLA_U64 },
	[RMEM_STAT_READ_BYTES]	= { .type = NLA_U64 },
	[RMEM_STAT_WRITE_BYTES]	= { .type = NLA_U64 },
	[RMEM_STAT_DISCARDS]	= { .type = NLA_U64 },
	[RMEM_STAT_ERRORS]	= { .type = NLA_U64 },
	[RMEM_STAT_RETRIES]	= { .type = NLA_U64 },
	[RMEM_STAT_TIMEOUTS]	= { .type = NLA_U64 },
	[RMEM_STAT_CTRL_MSGS]	= { .type = NLA_U64 },
	[RMEM_STAT_POLLED]	= { .type = NLA_U64 },
};

static int bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "malformed reply from the rmem driver: %s", what);
	return -EPROTO;
}

static int parse_stats(struct nlattr *nest, struct rmem_stats *st,
		       char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_STAT_MAX + 1];
	unsigned int i;

	if (nla_parse_nested(tb, RMEM_STAT_MAX, nest, stat_policy))
		return bad(err, errlen, "counters");
	for (i = RMEM_STAT_READS; i <= RMEM_STAT_MAX; i++) {
		if (!tb[i])
			continue;
		st->have |= 1u << i;
		st->val[i] = nla_get_u64(tb[i]);
	}
	return 0;
}

static int parse_donor(struct nlattr *nest, struct rmem_donor_info *d,
		       char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_DONOR_ATTR_MAX + 1];

	if (nla_parse_nested(tb, RMEM_DONOR_ATTR_MAX, nest, donor_policy))
		return bad(err, errlen, "donor");
	if (!tb[RMEM_DONOR_ATTR_ADDR] || !tb[RMEM_DONOR_ATTR_PORT])
		return bad(err, errlen, "donor without address or port");
	nla_strlcpy(d->addr, tb[RMEM_DONOR_ATTR_ADDR], sizeof(d->addr));
	d->port = nla_get_u16(tb[RMEM_DONOR_ATTR_PORT]);
	if (tb[RMEM_DONOR_ATTR_STATE])
		d->state = nla_get_u8(tb[RMEM_DONOR_ATTR_STATE]);
	if (tb[RMEM_DONOR_ATTR_INSTANCE]) {
		d->have_instance = true;
		d->instance = nla_get_u64(tb[RMEM_DONOR_ATTR_INSTANCE]);
	}
	if (tb[RMEM_DONOR_ATTR_STATS])
		return parse_stats(tb[RMEM_DONOR_ATTR_STATS], &d->stats,
				   err, errlen);
	return 0;
}

static int parse_donors(struct nlattr *nest, struct rmem_dev_info *info,
			char *err, size_t errlen)
{
	struct nlattr *pos;
	int rem, ret;

	nla_for_each_nested(pos, nest, rem) {
		if (nla_type(pos) != RMEM_ATTR_DONOR)
			continue;
		if (info->nr_donors == RMEM_MAX_DONORS)
			return bad(err, errlen, "more than RMEM_MAX_DONORS donors");
		ret = parse_donor(pos, &info->donors[info->nr_donors],
				  err, errlen);
		if (ret)
			return ret;
		info->nr_donors++;
	}
	return 0;
}

static unsigned int count_nested(struct nlattr *nest, int type)
{
	struct nlattr *pos;
	unsigned int n = 0;
	int rem;

	nla_for_each_nested(pos, nest, rem)
		if (nla_type(pos) == type)
			n++;
	return n;
}

static int parse_replicas(struct nlattr *nest, struct rmem_slab_info *s,
			  char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_REPLICA_ATTR_MAX + 1];
	unsigned int n = count_nested(nest, RMEM_ATTR_REPLICA);
	struct nlattr *pos;
	int rem;

	if (!n)
		return 0;
	s->replicas = calloc(n, sizeof(*s->replicas));
	if (!s->replicas)
		return -ENOMEM;
	nla_for_each_nested(pos, nest, rem) {
		struct rmem_replica_info *r = &s->replicas[s->nr_replicas];

		if (nla_type(pos) != RMEM_ATTR_REPLICA)
			continue;
		if (nla_parse_nested(tb, RMEM_REPLICA_ATTR_MAX, pos,
				     replica_policy))
			return bad(err, errlen, "replica");
		if (!tb[RMEM_REPLICA_ATTR_DONOR])
			return bad(err, errlen, "replica without donor");
		r->donor = nla_get_u32(tb[RMEM_REPLICA_ATTR_DONOR]);
		if (tb[RMEM_REPLICA_ATTR_SLAB_ID])
			r->slab_id = nla_get_u32(tb[RMEM_REPLICA_ATTR_SLAB_ID]);
		if (tb[RMEM_REPLICA_ATTR_GENERATION])
			r->generation =
				nla_get_u32(tb[RMEM_REPLICA_ATTR_GENERATION]);
		if (tb[RMEM_REPLICA_ATTR_STATE])
			r->state = nla_get_u8(tb[RMEM_REPLICA_ATTR_STATE]);
		s->nr_replicas++;
	}
	return 0;
}

static int parse_slabs(struct nlattr *nest, struct rmem_dev_info *info,
		       char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_SLAB_ATTR_MAX + 1];
	unsigned int n = count_nested(nest, RMEM_ATTR_SLAB);
	struct nlattr *pos;
	int rem, ret;

	info->have_slabs = true;
	if (!n)
		return 0;
	info->slabs = calloc(n, sizeof(*info->slabs));
	if (!info->slabs)
		return -ENOMEM;
	nla_for_each_nested(pos, nest, rem) {
		struct rmem_slab_info *s = &info->slabs[info->nr_slabs];

		if (nla_type(pos) != RMEM_ATTR_SLAB)
			continue;
		if (nla_parse_nested(tb, RMEM_SLAB_ATTR_MAX, pos, slab_policy))
			return bad(err, errlen, "slab");
		if (!tb[RMEM_SLAB_ATTR_INDEX] || !tb[RMEM_SLAB_ATTR_STATE])
			return bad(err, errlen, "slab without index or state");
		s->index = nla_get_u32(tb[RMEM_SLAB_ATTR_INDEX]);
		s->state = nla_get_u8(tb[RMEM_SLAB_ATTR_STATE]);
		/* counted now so that dev_info_free() sees the replicas */
		info->nr_slabs++;
		if (tb[RMEM_SLAB_ATTR_REPLICAS]) {
			ret = parse_replicas(tb[RMEM_SLAB_ATTR_REPLICAS], s,
					     err, errlen);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int dev_info_parse(struct nlmsghdr *nlh, struct rmem_dev_info *info,
		   char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_ATTR_MAX + 1];
	int ret;

	memset(info, 0, sizeof(*info));
	if (genlmsg_parse(nlh, 0, tb, RMEM_ATTR_MAX, dev_policy))
		return bad(err, errlen, "device attributes");
	if (!tb[RMEM_ATTR_DEV_NAME])
		return bad(err, errlen, "device without a name");
	nla_strlcpy(info->name, tb[RMEM_ATTR_DEV_NAME], sizeof(info->name));
	if (tb[RMEM_ATTR_SIZE]) {
		info->have_size = true;
		info->size = nla_get_u64(tb[RMEM_ATTR_SIZE]);
	}
	if (tb[RMEM_ATTR_SLAB_SIZE]) {
		info->have_slab_size = true;
		info->slab_size = nla_get_u64(tb[RMEM_ATTR_SLAB_SIZE]);
	}
	if (tb[RMEM_ATTR_STATE]) {
		info->have_state = true;
		info->state = nla_get_u8(tb[RMEM_ATTR_STATE]);
	}
	if (tb[RMEM_ATTR_OPENERS]) {
		info->have_openers = true;
		info->openers = nla_get_u32(tb[RMEM_ATTR_OPENERS]);
	}
	if (tb[RMEM_ATTR_CLIENT_ID]) {
		if (nla_len(tb[RMEM_ATTR_CLIENT_ID]) != RMEM_CLIENT_ID_LEN)
			return bad(err, errlen, "client id length");
		info->have_client_id = true;
		memcpy(info->client_id, nla_data(tb[RMEM_ATTR_CLIENT_ID]),
		       RMEM_CLIENT_ID_LEN);
	}
	if (tb[RMEM_ATTR_DONORS]) {
		ret = parse_donors(tb[RMEM_ATTR_DONORS], info, err, errlen);
		if (ret)
			goto out_free;
	}
	if (tb[RMEM_ATTR_SLABS]) {
		ret = parse_slabs(tb[RMEM_ATTR_SLABS], info, err, errlen);
		if (ret)
			goto out_free;
	}
	if (tb[RMEM_ATTR_STATS]) {
		ret = parse_stats(tb[RMEM_ATTR_STATS], &info->stats, err, errlen);
		if (ret)
			goto out_free;
	}
	return 0;

out_free:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	dev_info_free(info);
	return ret;
}

void dev_info_free(struct rmem_dev_info *info)
{
	unsigned int i;

	for (i = 0; i < info->nr_slabs; i++)
		free(info->slabs[i].replicas);
	free(info->slabs);
	info->slabs = NULL;
	info->nr_slabs = 0;
}

void dev_info_slab_summary(const struct rmem_dev_info *info,
			   struct slab_summary *sum)
{
	unsigned int i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < info->nr_slabs; i++) {
		unsigned int st = info->slabs[i].state;

		sum->total++;
		sum->by_state[st <= RMEM_SLAB_FAILED ? st : 0]++;
	}
}
