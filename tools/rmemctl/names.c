// SPDX-License-Identifier: GPL-2.0
/* Enum values of rmem_netlink.h -> the words rmemctl prints. */
#include <stdio.h>

#include <rmem/rmem_netlink.h>

#include "names.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *lookup(const char *const *tbl, size_t n, unsigned int v,
			  char *buf)
{
	if (v < n && tbl[v])
		return tbl[v];
	snprintf(buf, NAME_BUF_MAX, "unknown(%u)", v);
	return buf;
}

static const char *const dev_states[] = {
	[RMEM_DEV_LIVE]		= "live",
	[RMEM_DEV_DEGRADED]	= "degraded",
	[RMEM_DEV_DELETING]	= "deleting",
};

static const char *const donor_states[] = {
	[RMEM_DONOR_CONNECTING]		= "connecting",
	[RMEM_DONOR_LIVE]		= "live",
	[RMEM_DONOR_RECONNECTING]	= "reconnecting",
	[RMEM_DONOR_DEAD]		= "dead",
};

static const char *const slab_states[] = {
	[RMEM_SLAB_LIVE]		= "live",
	[RMEM_SLAB_RECONNECTING]	= "reconnecting",
	[RMEM_SLAB_FAILED]		= "failed",
	[RMEM_SLAB_DEGRADED]		= "degraded",
	[RMEM_SLAB_RESYNCING]		= "resyncing",
};

static const char *const replica_states[] = {
	[RMEM_REPLICA_IN_SYNC]		= "in-sync",
	[RMEM_REPLICA_RECONNECTING]	= "reconnecting",
	[RMEM_REPLICA_LOST]		= "lost",
	[RMEM_REPLICA_STALE]		= "stale",
	[RMEM_REPLICA_RESYNCING]	= "resyncing",
};

static const char *const events[] = {
	[RMEM_EVENT_DONOR_LOST]		= "donor-lost",
	[RMEM_EVENT_DONOR_BACK]		= "donor-back",
	[RMEM_EVENT_SLAB_FAILED]	= "slab-failed",
	[RMEM_EVENT_DEV_ADDED]		= "dev-added",
	[RMEM_EVENT_DEV_REMOVED]	= "dev-removed",
	[RMEM_EVENT_REPLICA_LOST]	= "replica-lost",
	[RMEM_EVENT_REPLICA_STALE]	= "replica-stale",
	[RMEM_EVENT_RESYNC_STARTED]	= "resync-started",
	[RMEM_EVENT_RESYNC_DONE]	= "resync-done",
	[RMEM_EVENT_REPLICA_REPLACED]	= "replica-replaced",
};

const char *dev_state_name(unsigned int v, char *buf)
{
	return lookup(dev_states, ARRAY_SIZE(dev_states), v, buf);
}

const char *donor_state_name(unsigned int v, char *buf)
{
	return lookup(donor_states, ARRAY_SIZE(donor_states), v, buf);
}

const char *slab_state_name(unsigned int v, char *buf)
{
	return lookup(slab_states, ARRAY_SIZE(slab_states), v, buf);
}

const char *replica_state_name(unsigned int v, char *buf)
{
	return lookup(replica_states, ARRAY_SIZE(replica_states), v, buf);
}

const char *event_name(unsigned int v, char *buf)
{
	return lookup(events, ARRAY_SIZE(events), v, buf);
}

static const struct {
	const char *key;	/* JSON */
	const char *label;	/* text */
} stats[] = {
	[RMEM_STAT_READS]	= { "reads", "reads" },
	[RMEM_STAT_WRITES]	= { "writes", "writes" },
	[RMEM_STAT_READ_BYTES]	= { "read_bytes", "read-bytes" },
	[RMEM_STAT_WRITE_BYTES]	= { "write_bytes", "write-bytes" },
	[RMEM_STAT_DISCARDS]	= { "discards", "discards" },
	[RMEM_STAT_ERRORS]	= { "errors", "errors" },
	[RMEM_STAT_RETRIES]	= { "retries", "retries" },
	[RMEM_STAT_TIMEOUTS]	= { "timeouts", "timeouts" },
	[RMEM_STAT_CTRL_MSGS]	= { "ctrl_msgs", "ctrl-msgs" },
	[RMEM_STAT_POLLED]	= { "polled", "polled" },
	[RMEM_STAT_PARKED]	= { "parked", "parked" },
	[RMEM_STAT_DEGRADED_WRITES] = { "degraded_writes", "degraded-writes" },
	[RMEM_STAT_RESYNC_BYTES] = { "resync_bytes", "resync-bytes" },
};

const char *stat_key(unsigned int stat)
{
	return stat < ARRAY_SIZE(stats) ? stats[stat].key : NULL;
}

const char *stat_label(unsigned int stat)
{
	return stat < ARRAY_SIZE(stats) ? stats[stat].label : NULL;
}
