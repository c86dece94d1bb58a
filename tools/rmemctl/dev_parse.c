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
	[RMEM_ATTR_RESYNC_LEFT]	= { .type = NLA_U64 },
	[RMEM_ATTR_REPLICAS]	= { .type = NLA_U32 },
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
	[RMEM_REPLICA_ATTR_STALE_PAGES]	= { .type = NLA_U32 },
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
	[RMEM_STAT_PARKED]	= { .type = NLA_U64 },
	[RMEM_STAT_DEGRADED_WRITES] = { .type = NLA_U64 },
	[RMEM_STAT_RESYNC_BYTES] = { .type = NLA_U64 },
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

/* Replicas of every slab in SLABS: the size of the replica pool */
static unsigned int count_replicas(struct nlattr *slabs)
{
	struct nlattr *slab, *a;
	unsigned int n = 0;
	int rem, rem2;

	nla_for_each_nested(slab, slabs, rem) {
		if (nla_type(slab) != RMEM_ATTR_SLAB)
			continue;
		nla_for_each_nested(a, slab, rem2)
			if (nla_type(a) == RMEM_SLAB_ATTR_REPLICAS)
				n += count_nested(a, RMEM_ATTR_REPLICA);
	}
	return n;
}

/* Fills @s->replicas (room for every replica of @nest) */
static int parse_replicas(struct nlattr *nest, struct rmem_slab_info *s,
			  char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_REPLICA_ATTR_MAX + 1];
	struct nlattr *pos;
	int rem;

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
		if (tb[RMEM_REPLICA_ATTR_STALE_PAGES]) {
			r->have_stale_pages = true;
			r->stale_pages =
				nla_get_u32(tb[RMEM_REPLICA_ATTR_STALE_PAGES]);
		}
		s->nr_replicas++;
	}
	return 0;
}

/* realloc to at least @n elements of @size; the old contents may go */
static int grow(void **p, unsigned int *cap, unsigned int n, size_t size)
{
	void *q;

	if (n <= *cap)
		return 0;
	q = realloc(*p, (size_t)n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Room for @n slabs and @m replicas, from @store or freshly allocated */
static int slab_room(struct rmem_dev_info *info, struct dev_info_store *store,
		     unsigned int n, unsigned int m)
{
	if (store) {
		if (grow((void **)&store->slabs, &store->slab_cap, n,
			 sizeof(*store->slabs)) ||
		    grow((void **)&store->replicas, &store->replica_cap, m,
			 sizeof(*store->replicas)))
			return -ENOMEM;
		info->borrowed = true;
		info->slabs = store->slabs;
		info->replica_pool = store->replicas;
		memset(info->slabs, 0, (size_t)n * sizeof(*info->slabs));
		memset(info->replica_pool, 0, (size_t)m * sizeof(*info->replica_pool));
		return 0;
	}
	info->slabs = calloc(n, sizeof(*info->slabs));
	info->replica_pool = m ? calloc(m, sizeof(*info->replica_pool)) : NULL;
	if (!info->slabs || (m && !info->replica_pool))
		return -ENOMEM;
	return 0;
}

static int parse_slabs(struct nlattr *nest, struct rmem_dev_info *info,
		       struct dev_info_store *store, char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_SLAB_ATTR_MAX + 1];
	unsigned int n = count_nested(nest, RMEM_ATTR_SLAB);
	unsigned int m = count_replicas(nest), used = 0;
	struct nlattr *pos;
	int rem, ret;

	info->have_slabs = true;
	if (!n)
		return 0;
	ret = slab_room(info, store, n, m);
	if (ret)
		return ret;
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
		s->replicas = info->replica_pool + used;
		info->nr_slabs++;
		if (tb[RMEM_SLAB_ATTR_REPLICAS]) {
			ret = parse_replicas(tb[RMEM_SLAB_ATTR_REPLICAS], s,
					     err, errlen);
			if (ret)
				return ret;
		}
		used += s->nr_replicas;
		if (!s->nr_replicas)
			s->replicas = NULL;
	}
	return 0;
}

/* The scalar attributes of a device */
static int parse_scalars(struct nlattr **tb, struct rmem_dev_info *info,
			 char *err, size_t errlen)
{
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
	if (tb[RMEM_ATTR_REPLICAS]) {
		info->have_replicas = true;
		info->replicas = nla_get_u32(tb[RMEM_ATTR_REPLICAS]);
	}
	if (tb[RMEM_ATTR_RESYNC_LEFT]) {
		info->have_resync_left = true;
		info->resync_left = nla_get_u64(tb[RMEM_ATTR_RESYNC_LEFT]);
	}
	return 0;
}

static int parse_dev(struct nlmsghdr *nlh, struct rmem_dev_info *info,
		     struct dev_info_store *store, char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_ATTR_MAX + 1];
	int ret;

	memset(info, 0, sizeof(*info));
	if (genlmsg_parse(nlh, 0, tb, RMEM_ATTR_MAX, dev_policy))
		return bad(err, errlen, "device attributes");
	if (!tb[RMEM_ATTR_DEV_NAME])
		return bad(err, errlen, "device without a name");
	ret = parse_scalars(tb, info, err, errlen);
	if (ret)
		return ret;
	if (tb[RMEM_ATTR_DONORS]) {
		ret = parse_donors(tb[RMEM_ATTR_DONORS], info, err, errlen);
		if (ret)
			goto out_free;
	}
	if (tb[RMEM_ATTR_SLABS]) {
		ret = parse_slabs(tb[RMEM_ATTR_SLABS], info, store, err, errlen);
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

int dev_info_parse(struct nlmsghdr *nlh, struct rmem_dev_info *info,
		   char *err, size_t errlen)
{
	return parse_dev(nlh, info, NULL, err, errlen);
}

int dev_info_parse_store(struct nlmsghdr *nlh, struct rmem_dev_info *info,
			 struct dev_info_store *store, char *err, size_t errlen)
{
	return parse_dev(nlh, info, store, err, errlen);
}

void dev_info_free(struct rmem_dev_info *info)
{
	if (!info->borrowed) {
		free(info->slabs);
		free(info->replica_pool);
	}
	info->slabs = NULL;
	info->replica_pool = NULL;
	info->nr_slabs = 0;
}

void dev_info_store_free(struct dev_info_store *store)
{
	free(store->slabs);
	free(store->replicas);
	memset(store, 0, sizeof(*store));
}

uint64_t dev_info_slab_pages(const struct rmem_dev_info *info)
{
	return info->have_slab_size ? info->slab_size / RMEM_STALE_PAGE_SIZE : 0;
}

/* A replica the driver is still copying to (or will) */
static bool replica_behind(const struct rmem_replica_info *r)
{
	return r->state == RMEM_REPLICA_STALE ||
	       r->state == RMEM_REPLICA_RESYNCING;
}

void dev_info_slab_summary(const struct rmem_dev_info *info,
			   struct slab_summary *sum)
{
	uint64_t pages = dev_info_slab_pages(info);
	unsigned int i, j;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < info->nr_slabs; i++) {
		const struct rmem_slab_info *s = &info->slabs[i];
		unsigned int st = s->state;

		sum->total++;
		sum->by_state[st <= RMEM_SLAB_RESYNCING ? st : 0]++;
		for (j = 0; j < s->nr_replicas; j++) {
			const struct rmem_replica_info *r = &s->replicas[j];

			if (!replica_behind(r) || !pages)
				continue;
			sum->behind++;
			sum->behind_pages += pages;
			/* a driver's count above the slab's size is clamped */
			sum->stale_pages += r->stale_pages < pages ?
					    r->stale_pages : pages;
		}
	}
}
