/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * rmem generic netlink UAPI: how rmemctl drives rmem.ko.
 * Documented in docs/netlink.md.
 *
 * Family RMEM_GENL_NAME, multicast group RMEM_GENL_MCAST_EVENTS.
 * Every command but DEV_GET needs CAP_NET_ADMIN; attributes are strictly
 * validated (unknown attributes are an error).
 *
 * Nesting:
 *
 * [RMEM_ATTR_DEV_NAME]		"rmem0"
 * [RMEM_ATTR_SIZE]		u64 bytes
 * [RMEM_ATTR_SLAB_SIZE]	u64 bytes
 * [RMEM_ATTR_STATE]		u8 enum rmem_dev_state
 * [RMEM_ATTR_OPENERS]		u32
 * [RMEM_ATTR_DONORS]
 *	[RMEM_ATTR_DONOR]		(one per donor, in order)
 *		[RMEM_DONOR_ATTR_ADDR]	string, IPv4 or IPv6 literal
 *		[RMEM_DONOR_ATTR_PORT]	u16
 *		[RMEM_DONOR_ATTR_STATE]	u8 enum rmem_donor_state (reply)
 *		[RMEM_DONOR_ATTR_INSTANCE] u64 (reply)
 *		[RMEM_DONOR_ATTR_STATS]	nested RMEM_STAT_* (reply)
 * [RMEM_ATTR_SLABS]			(reply)
 *	[RMEM_ATTR_SLAB]
 *		[RMEM_SLAB_ATTR_INDEX]	u32
 *		[RMEM_SLAB_ATTR_STATE]	u8 enum rmem_slab_state
 *		[RMEM_SLAB_ATTR_REPLICAS]
 *			[RMEM_ATTR_REPLICA]	(one per replica slot, in order)
 *				[RMEM_REPLICA_ATTR_DONOR]	u32 index in DONORS
 *				[RMEM_REPLICA_ATTR_SLAB_ID]	u32 (RMEM_SLAB_ANY: any)
 *				[RMEM_REPLICA_ATTR_GENERATION]	u32
 *				[RMEM_REPLICA_ATTR_STATE]	u8 enum rmem_replica_state (reply)
 *				[RMEM_REPLICA_ATTR_GRANT]	binary (requests only)
 *				[RMEM_REPLICA_ATTR_STALE_PAGES]	u32 pages it lacks (reply)
 *				[RMEM_REPLICA_ATTR_ADDR]	string (REPLICA_REPLACE's NEW only)
 *				[RMEM_REPLICA_ATTR_PORT]	u16 (REPLICA_REPLACE's NEW only)
 *
 * DEV_ADD may carry RMEM_ATTR_SLABS to name, per slab, the donor slab of
 * each replica (or RMEM_SLAB_ANY) and the controller's grant for it; the
 * replicas of one slab must be on distinct donors.  Without SLABS the
 * driver asks the donors for any free slab, REPLICAS replicas per slab.
 *
 * REPLICA_REPLACE (rmemctl agent) swaps a LOST replica for a new one:
 * DEV_NAME, SLAB_INDEX, REPLICA_INDEX (the slot), REPLICA_OLD (DONOR,
 * SLAB_ID, GENERATION of the lost replica: must match the slot, else
 * ESTALE and nothing changes) and REPLICA_NEW (DONOR index, or ADDR +
 * [PORT] of a donor that is added to DONORS when new; SLAB_ID or
 * RMEM_SLAB_ANY; GENERATION and GRANT from the controller).  The new
 * replica starts STALE and is brought in sync in the background.
 * [RMEM_ATTR_STATS]			(reply) nested RMEM_STAT_*, u64 each
 * [RMEM_ATTR_CLIENT_ID]	binary 16 bytes: the session id presented to
 *				donors; DEV_ADD may set it (the controller's
 *				grants are bound to it), else random
 * [RMEM_ATTR_EVENT]		u8 enum rmem_event (multicast only)
 * [RMEM_ATTR_DONOR_INDEX]	u32 (multicast only)
 * [RMEM_ATTR_SLAB_INDEX]	u32 (events; REPLICA_REPLACE)
 * [RMEM_ATTR_REPLICA_INDEX]	u32 replica slot in its slab (events; REPLICA_REPLACE)
 * [RMEM_ATTR_REPLICA_OLD], [RMEM_ATTR_REPLICA_NEW]
 *				nested rmem_replica_attr (REPLICA_REPLACE)
 * [RMEM_ATTR_RESYNC_LEFT]	u64 bytes still to copy, device-wide (reply)
 * [RMEM_ATTR_REPLICAS]		u32 replicas per slab, 1..3: DEV_ADD without
 *				SLABS places them on distinct donors of DONORS
 *				(default 1); in replies, the device's
 */
#ifndef _UAPI_RMEM_NETLINK_H
#define _UAPI_RMEM_NETLINK_H

#define RMEM_GENL_NAME		"rmem"
#define RMEM_GENL_VERSION	1
#define RMEM_GENL_MCAST_EVENTS	"events"

#define RMEM_NAME_MAX		32	/* including the NUL */
#define RMEM_MAX_DONORS		16
#define RMEM_ADDR_MAX		64	/* longest address literal + NUL */
#define RMEM_MAX_REPLICAS	3	/* copies of one slab */

enum rmem_cmd {
	RMEM_CMD_UNSPEC,
	RMEM_CMD_DEV_ADD,	/* SIZE, DONORS, [SLAB_SIZE], [DEV_NAME] */
	RMEM_CMD_DEV_DEL,	/* DEV_NAME */
	RMEM_CMD_DEV_GET,	/* DEV_NAME (doit) or dump of all */
	RMEM_CMD_EVENT,		/* multicast notification */
	RMEM_CMD_REPLICA_REPLACE, /* DEV_NAME, SLAB_INDEX, REPLICA_INDEX,
				   * REPLICA_OLD, REPLICA_NEW */
	__RMEM_CMD_MAX,
};
#define RMEM_CMD_MAX (__RMEM_CMD_MAX - 1)

enum rmem_attr {
	RMEM_ATTR_UNSPEC,
	RMEM_ATTR_PAD,
	RMEM_ATTR_DEV_NAME,
	RMEM_ATTR_SIZE,
	RMEM_ATTR_SLAB_SIZE,
	RMEM_ATTR_STATE,
	RMEM_ATTR_OPENERS,
	RMEM_ATTR_DONORS,
	RMEM_ATTR_SLABS,
	RMEM_ATTR_STATS,
	RMEM_ATTR_EVENT,
	RMEM_ATTR_DONOR_INDEX,
	RMEM_ATTR_SLAB_INDEX,
	RMEM_ATTR_CLIENT_ID,	/* binary, RMEM_CLIENT_ID_LEN */
	RMEM_ATTR_REPLICA_INDEX,
	RMEM_ATTR_REPLICA_OLD,
	RMEM_ATTR_REPLICA_NEW,
	RMEM_ATTR_RESYNC_LEFT,
	RMEM_ATTR_REPLICAS,
	__RMEM_ATTR_MAX,
};
#define RMEM_ATTR_MAX (__RMEM_ATTR_MAX - 1)

/* The single attribute type inside the list nests */
enum rmem_list_attr {
	RMEM_ATTR_LIST_UNSPEC,
	RMEM_ATTR_DONOR,	/* inside RMEM_ATTR_DONORS */
	RMEM_ATTR_SLAB,		/* inside RMEM_ATTR_SLABS */
	RMEM_ATTR_REPLICA,	/* inside RMEM_SLAB_ATTR_REPLICAS */
	__RMEM_ATTR_LIST_MAX,
};
#define RMEM_ATTR_LIST_MAX (__RMEM_ATTR_LIST_MAX - 1)

enum rmem_donor_attr {
	RMEM_DONOR_ATTR_UNSPEC,
	RMEM_DONOR_ATTR_PAD,
	RMEM_DONOR_ATTR_ADDR,
	RMEM_DONOR_ATTR_PORT,
	RMEM_DONOR_ATTR_STATE,
	RMEM_DONOR_ATTR_INSTANCE,
	RMEM_DONOR_ATTR_STATS,
	__RMEM_DONOR_ATTR_MAX,
};
#define RMEM_DONOR_ATTR_MAX (__RMEM_DONOR_ATTR_MAX - 1)

enum rmem_slab_attr {
	RMEM_SLAB_ATTR_UNSPEC,
	RMEM_SLAB_ATTR_INDEX,
	RMEM_SLAB_ATTR_STATE,
	RMEM_SLAB_ATTR_REPLICAS,
	__RMEM_SLAB_ATTR_MAX,
};
#define RMEM_SLAB_ATTR_MAX (__RMEM_SLAB_ATTR_MAX - 1)

enum rmem_replica_attr {
	RMEM_REPLICA_ATTR_UNSPEC,
	RMEM_REPLICA_ATTR_DONOR,
	RMEM_REPLICA_ATTR_SLAB_ID,
	RMEM_REPLICA_ATTR_GENERATION,
	RMEM_REPLICA_ATTR_STATE,
	RMEM_REPLICA_ATTR_GRANT,	/* binary, RMEM_GRANT_LEN (requests only) */
	RMEM_REPLICA_ATTR_STALE_PAGES,
	RMEM_REPLICA_ATTR_ADDR,
	RMEM_REPLICA_ATTR_PORT,
	__RMEM_REPLICA_ATTR_MAX,
};
#define RMEM_REPLICA_ATTR_MAX (__RMEM_REPLICA_ATTR_MAX - 1)

/* Counters, each a u64 inside RMEM_ATTR_STATS or RMEM_DONOR_ATTR_STATS */
enum rmem_stat {
	RMEM_STAT_UNSPEC,
	RMEM_STAT_PAD,
	RMEM_STAT_READS,
	RMEM_STAT_WRITES,
	RMEM_STAT_READ_BYTES,
	RMEM_STAT_WRITE_BYTES,
	RMEM_STAT_DISCARDS,
	RMEM_STAT_ERRORS,
	RMEM_STAT_RETRIES,
	RMEM_STAT_TIMEOUTS,
	RMEM_STAT_CTRL_MSGS,
	RMEM_STAT_POLLED,	/* completions reaped by polling (poll_queues) */
	RMEM_STAT_PARKED,	/* requests that waited for a donor to return */
	RMEM_STAT_DEGRADED_WRITES, /* writes that left a replica stale */
	RMEM_STAT_RESYNC_BYTES,	/* bytes copied to bring replicas in sync */
	__RMEM_STAT_MAX,
};
#define RMEM_STAT_MAX (__RMEM_STAT_MAX - 1)

enum rmem_dev_state {
	RMEM_DEV_LIVE = 1,	/* every slab has a live replica */
	RMEM_DEV_DEGRADED = 2,	/* some slab is failed or reconnecting */
	RMEM_DEV_DELETING = 3,
};

enum rmem_donor_state {
	RMEM_DONOR_CONNECTING = 1,
	RMEM_DONOR_LIVE = 2,
	RMEM_DONOR_RECONNECTING = 3,
	RMEM_DONOR_DEAD = 4,	/* gave up, or came back as a new instance */
};

/* A slab as a whole: as good as its replicas */
enum rmem_slab_state {
	RMEM_SLAB_LIVE = 1,		/* healthy: every replica in sync */
	RMEM_SLAB_RECONNECTING = 2,	/* no in-sync replica reachable: I/O
					 * waits, then fails after io_timeout */
	RMEM_SLAB_FAILED = 3,		/* no copy of the data left: I/O errors */
	RMEM_SLAB_DEGRADED = 4,		/* served, but some replica is not in sync */
	RMEM_SLAB_RESYNCING = 5,	/* degraded, and a replica is being copied */
};

/* One replica of a slab */
enum rmem_replica_state {
	RMEM_REPLICA_IN_SYNC = 1,	/* has every write: reads and writes */
	RMEM_REPLICA_RECONNECTING = 2,	/* its donor is unreachable; writes
					 * missed meanwhile make it stale */
	RMEM_REPLICA_LOST = 3,		/* its memory is gone: replace it */
	RMEM_REPLICA_STALE = 4,		/* reachable, lacks STALE_PAGES pages */
	RMEM_REPLICA_RESYNCING = 5,	/* stale, and being copied to now */
};

enum rmem_event {
	RMEM_EVENT_DONOR_LOST = 1,
	RMEM_EVENT_DONOR_BACK = 2,
	RMEM_EVENT_SLAB_FAILED = 3,
	RMEM_EVENT_DEV_ADDED = 4,
	RMEM_EVENT_DEV_REMOVED = 5,
	RMEM_EVENT_REPLICA_LOST = 6,	/* DONOR_INDEX, SLAB_INDEX, REPLICA_INDEX */
	RMEM_EVENT_REPLICA_STALE = 7,	/* same */
	RMEM_EVENT_RESYNC_STARTED = 8,	/* same */
	RMEM_EVENT_RESYNC_DONE = 9,	/* same: the replica is in sync */
	RMEM_EVENT_REPLICA_REPLACED = 10, /* same, naming the new replica */
};

#endif /* _UAPI_RMEM_NETLINK_H */
