/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rmemctl agent: re-protection without an operator.  When a replica of a
 * slab is LOST (its donor died or restarted), the agent asks for a new
 * one: from the controller when the device's client id has an allocation
 * there (it places the replica and grants it), else on another live donor
 * of the device itself.  The driver then copies the data over.
 *
 * The agent runs on the memory-reclaim path of swap: its memory is locked
 * and every buffer a scan needs is sized once and reused.  The pieces
 * here without I/O (the donor choice, the controller's replies) are pure
 * functions so host unit tests cover them.
 */
#ifndef RMEMCTL_AGENT_H
#define RMEMCTL_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "args.h"
#include "devinfo.h"
#include "http.h"
#include "nl.h"
#include "replica.h"

#define AGENT_DEFAULT_INTERVAL	5	/* seconds between safety-net scans */
#define AGENT_MAX_INTERVAL	86400
#define AGENT_MAX_ACTIONS	64	/* replacements per scan; more: rescan */
#define AGENT_MAX_TRACKED	1024	/* replacements waiting for their resync */
#define AGENT_MAX_NOTED		1024	/* slabs already logged as stuck */
#define AGENT_ERR_MAX		512

/* A LOST replica a scan found, with where direct mode would put it */
struct agent_action {
	char dev[RMEM_NAME_MAX];
	bool have_client_id;
	uint8_t client_id[RMEM_CLIENT_ID_LEN];
	uint64_t slab_size;
	uint32_t slab;			/* slab index */
	uint32_t replica;		/* replica slot */
	struct replica_old old;
	char old_ep[ENDPOINT_MAX];	/* the lost replica's donor, or "?" */
	int pick;			/* direct mode: donor index, or -1 */
	char pick_ep[ENDPOINT_MAX];
};

/*
 * agent_donor_load - per donor index, the replicas of @info on it that
 * still hold or will hold data (every state but LOST).
 */
void agent_donor_load(const struct rmem_dev_info *info,
		      unsigned int load[RMEM_MAX_DONORS]);

/*
 * agent_pick_donor - direct mode's donor for slot @slot of slab @s: LIVE,
 * holding no other replica of @s (in any state; the slot's own donor may
 * serve again if it is live), and of those the one with the lowest
 * @load, the lowest index on a tie.  -1 when no donor qualifies.
 */
int agent_pick_donor(const struct rmem_dev_info *info,
		     const struct rmem_slab_info *s, unsigned int slot,
		     const unsigned int load[RMEM_MAX_DONORS]);

/*
 * agent_collect - an action for each LOST replica of @info, into @acts
 * (room for @max; *@n of them used).  Picks made for earlier actions
 * count as load and as taken donors of their slab, so the replacements
 * of one dead donor spread out and never share a slab's donor.  Skips a
 * device being deleted and slabs without an in-sync replica (nothing to
 * resync from: failed, or waiting for a reconnecting donor).
 * Returns how many LOST replicas did not fit.
 */
unsigned int agent_collect(const struct rmem_dev_info *info,
			   struct agent_action *acts, unsigned int max,
			   unsigned int *n);

/* The controller's replacement replica (POST .../replace) */
struct agent_granted {
	uint64_t donor_id;
	struct donor_addr addr;
	uint32_t slab_id;
	uint32_t generation;
	uint8_t grant[RMEM_GRANT_LEN];
};

/*
 * agent_parse_replace_reply - check and decode the controller's
 * {"slab":I,"replica":J,"donor":{"id":N,"addr":"A","port":P},
 *  "slab_id":N,"generation":N,"grant":"64 hex"} for slot @slab/@replica.
 * 0, or -1 with @err naming the bad field.
 */
int agent_parse_replace_reply(json_object *obj, uint32_t slab,
			      uint32_t replica, struct agent_granted *g,
			      char *err, size_t errlen);

/*
 * agent_parse_alloc_id - the id of the first allocation in
 * GET /v1/allocations?client_id=HEX's {"allocations": [...]}.
 * 1 with *@id, 0 when the list is empty, -1 with @err when malformed.
 */
int agent_parse_alloc_id(json_object *obj, uint64_t *id, char *err,
			 size_t errlen);

/* agent_ctl.c: the controller's side; each 0 (or 1), or -1 with @err */
int agent_ctl_lookup(const struct http_peer *p, const uint8_t *client_id,
		     uint64_t *id, char *err, size_t errlen);
int agent_ctl_replace(const struct http_peer *p, uint64_t id, uint32_t slab,
		      uint32_t replica, struct agent_granted *g, char *err,
		      size_t errlen);
/*
 * agent_ctl_resynced - the resync of a replacement with @generation is
 * done.  The HTTP status (200 done; 404, 409: the controller no longer
 * expects it), or 0 when no answer came; @err says why when not 200.
 */
long agent_ctl_resynced(const struct http_peer *p, uint64_t id, uint32_t slab,
			uint32_t replica, uint32_t generation, uint64_t bytes,
			char *err, size_t errlen);

/* A replacement the agent made, until its resync is done and reported */
struct agent_tracked {
	bool used;
	bool done;			/* in sync: report, then forget */
	bool seen;			/* its device was in the last scan */
	char dev[RMEM_NAME_MAX];
	uint32_t slab, replica;
	uint64_t alloc_id;		/* 0: direct mode, nothing to report */
	uint32_t generation;		/* the controller's, for the report */
	uint64_t slab_size;
	char ep[ENDPOINT_MAX];		/* the new replica's donor */
};

/* A slab logged as having no donor to go to (logged once) */
struct agent_noted {
	bool used, seen;
	char dev[RMEM_NAME_MAX];
	uint32_t slab, replica;
};

/* The agent's whole state: sized once, locked in memory */
struct agent {
	unsigned int interval;
	bool once;
	bool verbose;

	struct rmem_nl req;		/* DEV_GET dumps, REPLICA_REPLACE */
	struct nl_cb *req_cb;
	struct nl_msg *req_msg;		/* one buffer for every request */
	struct rmem_nl ev;		/* the "events" group */
	bool family_gone;
	bool scan_due;
	bool report_due;		/* a RESYNC_DONE came in */

	bool have_ctl;
	struct http_peer ctl;

	/* one scan */
	struct dev_info_store store;
	struct agent_action acts[AGENT_MAX_ACTIONS];
	unsigned int nr_acts;
	bool more;			/* LOST replicas beyond acts[] */
	bool scan_failed;		/* a device could not be read */
	unsigned int failures;		/* what went wrong (--once's status) */
	unsigned int done_ok;		/* replacements made */

	struct agent_tracked tracked[AGENT_MAX_TRACKED];
	struct agent_noted noted[AGENT_MAX_NOTED];
};

/* agent.c: "agent: ..." on stderr; agent_vlog only with --verbose */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void agent_vlog(const struct agent *ag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* agent_scan.c: one scan (dump, replacements, resync reports) */
void agent_scan(struct agent *ag);
/* agent_scan.c: report and forget the replacements found in sync */
void agent_report_done(struct agent *ag);
/* agent_scan.c: a RESYNC_DONE event for slot @slab/@replica of @dev */
void agent_resync_done(struct agent *ag, const char *dev, uint32_t slab,
		       uint32_t replica);
/* agent_scan.c: forget what was tracked for a removed device */
void agent_forget_dev(struct agent *ag, const char *dev);

#endif /* RMEMCTL_AGENT_H */
