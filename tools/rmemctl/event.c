// SPDX-License-Identifier: GPL-2.0
/* Decode and print the driver's multicast events. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "event.h"
#include "names.h"
#include "print.h"

static struct nla_policy event_policy[RMEM_ATTR_MAX + 1] = {
	[RMEM_ATTR_DEV_NAME]	= { .type = NLA_STRING, .maxlen = RMEM_NAME_MAX },
	[RMEM_ATTR_EVENT]	= { .type = NLA_U8 },
	[RMEM_ATTR_DONOR_INDEX]	= { .type = NLA_U32 },
	[RMEM_ATTR_SLAB_INDEX]	= { .type = NLA_U32 },
	[RMEM_ATTR_REPLICA_INDEX] = { .type = NLA_U32 },
};

int event_parse(struct nlmsghdr *nlh, struct rmem_event_info *ev,
		char *err, size_t errlen)
{
	struct nlattr *tb[RMEM_ATTR_MAX + 1];

	memset(ev, 0, sizeof(*ev));
	if (genlmsg_parse(nlh, 0, tb, RMEM_ATTR_MAX, event_policy) ||
	    !tb[RMEM_ATTR_EVENT]) {
		snprintf(err, errlen, "malformed event from the rmem driver");
		return -EPROTO;
	}
	ev->event = nla_get_u8(tb[RMEM_ATTR_EVENT]);
	if (tb[RMEM_ATTR_DEV_NAME])
		nla_strlcpy(ev->dev, tb[RMEM_ATTR_DEV_NAME], sizeof(ev->dev));
	if (tb[RMEM_ATTR_DONOR_INDEX]) {
		ev->have_donor = true;
		ev->donor = nla_get_u32(tb[RMEM_ATTR_DONOR_INDEX]);
	}
	if (tb[RMEM_ATTR_SLAB_INDEX]) {
		ev->have_slab = true;
		ev->slab = nla_get_u32(tb[RMEM_ATTR_SLAB_INDEX]);
	}
	if (tb[RMEM_ATTR_REPLICA_INDEX]) {
		ev->have_replica = true;
		ev->replica = nla_get_u32(tb[RMEM_ATTR_REPLICA_INDEX]);
	}
	return 0;
}

int event_print(const struct rmem_event_info *ev, const struct timespec *ts)
{
	char when[64], zone[8], buf[NAME_BUF_MAX];
	struct tm tm;

	/* ISO 8601 local time with milliseconds: sortable, unambiguous */
	localtime_r(&ts->tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when),
		 ".%03ld%s", ts->tv_nsec / 1000000, zone);

	out_begin();
	out_str("time", "%s", when);
	if (ev->dev[0])
		out_str("device", " %s", ev->dev);
	else
		out_text(" -");
	out_str("event", " %s", event_name(ev->event, buf));
	if (ev->have_donor)
		out_u64("donor", " donor %" PRIu64, ev->donor);
	if (ev->have_slab)
		out_u64("slab", " slab %" PRIu64, ev->slab);
	if (ev->have_replica)
		out_u64("replica", " replica %" PRIu64, ev->replica);
	out_text("\n");
	return out_end();
}
