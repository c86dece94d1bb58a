// SPDX-License-Identifier: GPL-2.0
/*
 * One agent scan: dump every device (DEV_GET) into the reused store,
 * note which replacements came in sync, collect the LOST replicas, then,
 * with the dump finished, ask for each replacement (controller or direct
 * mode) and send REPLICA_REPLACE.  Nothing here waits on the data path:
 * the driver serves I/O from the surviving replicas meanwhile.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <netlink/genl/genl.h>

#include "agent.h"

static struct agent_tracked *tracked_new(struct agent *ag)
{
	unsigned int i;

	for (i = 0; i < AGENT_MAX_TRACKED; i++)
		if (!ag->tracked[i].used)
			return &ag->tracked[i];
	return NULL;
}

/* The slot of a tracked replacement, as this scan's @info shows it */
static void tracked_check(struct agent_tracked *t,
			  const struct rmem_dev_info *info)
{
	const struct rmem_replica_info *r = NULL;
	char ep[ENDPOINT_MAX] = "?";
	unsigned int i;

	t->seen = true;
	for (i = 0; i < info->nr_slabs && !r; i++)
		if (info->slabs[i].index == t->slab &&
		    t->replica < info->slabs[i].nr_replicas)
			r = &info->slabs[i].replicas[t->replica];
	if (r && r->donor < info->nr_donors)
		format_endpoint(info->donors[r->donor].addr,
				info->donors[r->donor].port, ep, sizeof(ep));
	if (r && r->state == RMEM_REPLICA_IN_SYNC && !strcmp(ep, t->ep)) {
		t->done = true;
	} else if (!r || r->state == RMEM_REPLICA_LOST || strcmp(ep, t->ep)) {
		/* gone before it was in sync: a new action starts over */
		agent_log("%s slab %" PRIu32 " replica %" PRIu32 " on %s: %s before its resync was done",
			  t->dev, t->slab, t->replica, t->ep,
			  r && r->state != RMEM_REPLICA_LOST ?
			  "replaced by someone else" : "lost");
		t->used = false;
	}
}

static int scan_reply(struct nlmsghdr *nlh, void *arg, struct rmem_nl_error *e)
{
	struct agent *ag = arg;
	struct rmem_dev_info info;
	unsigned int i, n, missed;

	/* a bad device spoils this scan, not the dump: read on */
	if (dev_info_parse_store(nlh, &info, &ag->store, e->local,
				 sizeof(e->local))) {
		agent_log("scan: %s", e->local);
		e->local[0] = '\0';
		ag->scan_failed = true;
		return 0;
	}
	for (i = 0; i < AGENT_MAX_TRACKED; i++) {
		struct agent_tracked *t = &ag->tracked[i];

		if (!t->used || strcmp(t->dev, info.name))
			continue;
		if (t->done)
			t->seen = true;
		else
			tracked_check(t, &info);
	}
	missed = agent_collect(&info, ag->acts + ag->nr_acts,
			       AGENT_MAX_ACTIONS - ag->nr_acts, &n);
	ag->nr_acts += n;
	if (missed)
		ag->more = true;
	agent_vlog(ag, "scan: %s: %u lost replicas", info.name, n + missed);
	return 0;
}

/* DEV_GET dump into acts[]; 0, or -1 after logging why */
static int scan_dump(struct agent *ag)
{
	struct rmem_nl_error e;
	unsigned int i;

	ag->nr_acts = 0;
	ag->more = false;
	ag->scan_failed = false;
	for (i = 0; i < AGENT_MAX_TRACKED; i++)
		ag->tracked[i].seen = false;
	if (rmem_nl_msg_reset(&ag->req, ag->req_msg, RMEM_CMD_DEV_GET,
			      NLM_F_DUMP)) {
		agent_log("scan: cannot build the request");
		return -1;
	}
	if (rmem_nl_transact(&ag->req, ag->req_msg, ag->req_cb, scan_reply, ag,
			     &e)) {
		agent_log("scan: %s%s%s", e.local[0] ? e.local : strerror(e.err),
			  e.extack[0] ? "; kernel: " : "", e.extack);
		if (!e.from_kernel)
			rmem_nl_close(&ag->req);	/* reopened next scan */
		return -1;
	}
	if (ag->scan_failed)
		return -1;
	/* tracked replacements of devices that are gone are over */
	for (i = 0; i < AGENT_MAX_TRACKED; i++)
		if (ag->tracked[i].used && !ag->tracked[i].seen)
			ag->tracked[i].used = false;
	return 0;
}

/* One REPLICA_REPLACE in the reused request buffer; 0 or -1 logged */
static int send_replace(struct agent *ag, const struct replica_replace *rr,
			const char *ep)
{
	struct rmem_nl_error e;

	if (!ag->req.sk) {
		agent_log("%s slab %" PRIu32 " replica %" PRIu32 ": netlink socket reset after an error; retrying at the next scan",
			  rr->dev, rr->slab, rr->replica);
		return -1;
	}
	if (rmem_nl_msg_reset(&ag->req, ag->req_msg, RMEM_CMD_REPLICA_REPLACE,
			      0) ||
	    replica_replace_put(ag->req_msg, rr)) {
		agent_log("%s slab %" PRIu32 " replica %" PRIu32 ": cannot build the request",
			  rr->dev, rr->slab, rr->replica);
		return -1;
	}
	if (rmem_nl_transact(&ag->req, ag->req_msg, ag->req_cb, NULL, NULL,
			     &e) == 0)
		return 0;
	if (!e.from_kernel)
		rmem_nl_close(&ag->req);	/* reopened next scan */
	agent_log("%s slab %" PRIu32 " replica %" PRIu32 ": replacing on %s failed: %s%s%s",
		  rr->dev, rr->slab, rr->replica, ep,
		  e.local[0] ? e.local : strerror(e.err),
		  e.extack[0] ? "; kernel: " : "", e.extack);
	return -1;
}

/* Remember a replacement until its resync is done */
static void track(struct agent *ag, struct agent_tracked *t,
		  const struct agent_action *a, uint64_t alloc_id,
		  uint32_t generation, const char *ep)
{
	size_t n;

	memset(t, 0, sizeof(*t));
	t->used = true;
	t->seen = true;
	memcpy(t->dev, a->dev, sizeof(t->dev));
	t->slab = a->slab;
	t->replica = a->replica;
	t->alloc_id = alloc_id;
	t->generation = generation;
	t->slab_size = a->slab_size;
	n = strnlen(ep, sizeof(t->ep) - 1);
	memcpy(t->ep, ep, n);
	t->ep[n] = '\0';
	ag->done_ok++;
}

/* Whether slot @a was already logged as having nowhere to go */
static bool noted(struct agent *ag, const struct agent_action *a)
{
	struct agent_noted *free_slot = NULL;
	unsigned int i;

	for (i = 0; i < AGENT_MAX_NOTED; i++) {
		struct agent_noted *n = &ag->noted[i];

		if (!n->used) {
			if (!free_slot)
				free_slot = n;
			continue;
		}
		if (n->slab == a->slab && n->replica == a->replica &&
		    !strcmp(n->dev, a->dev)) {
			n->seen = true;
			return true;
		}
	}
	if (free_slot) {
		free_slot->used = free_slot->seen = true;
		memcpy(free_slot->dev, a->dev, sizeof(free_slot->dev));
		free_slot->slab = a->slab;
		free_slot->replica = a->replica;
	}
	return false;
}

/* Direct mode: a donor of the device itself, chosen by agent_collect() */
static void act_direct(struct agent *ag, const struct agent_action *a,
		       struct agent_tracked *t)
{
	struct replica_replace rr = { .slab = a->slab, .replica = a->replica };

	if (a->pick < 0) {
		if (!noted(ag, a))
			agent_log("%s slab %" PRIu32 " replica %" PRIu32 " lost on %s: no live donor of the device without a replica of this slab; retrying at each scan",
				  a->dev, a->slab, a->replica, a->old_ep);
		ag->failures++;
		return;
	}
	memcpy(rr.dev, a->dev, sizeof(rr.dev));
	rr.old = a->old;
	rr.new.by_index = true;
	rr.new.donor = (uint32_t)a->pick;
	rr.new.slab_id = RMEM_SLAB_ANY;
	agent_log("%s slab %" PRIu32 " replica %" PRIu32 " lost on %s: replacing on %s",
		  a->dev, a->slab, a->replica, a->old_ep, a->pick_ep);
	if (send_replace(ag, &rr, a->pick_ep)) {
		ag->failures++;
		return;
	}
	track(ag, t, a, 0, 0, a->pick_ep);
}

/* Controller mode: the controller places and grants the new replica */
static void act_controller(struct agent *ag, const struct agent_action *a,
			   uint64_t alloc_id, struct agent_tracked *t)
{
	struct replica_replace rr = { .slab = a->slab, .replica = a->replica };
	char err[AGENT_ERR_MAX], ep[ENDPOINT_MAX];
	struct agent_granted g;

	if (agent_ctl_replace(&ag->ctl, alloc_id, a->slab, a->replica, &g, err,
			      sizeof(err))) {
		/* the same refusal every scan is said once (again with -v) */
		if (!noted(ag, a))
			agent_log("%s slab %" PRIu32 " replica %" PRIu32 " lost on %s: no replacement from the controller: %s; retrying at each scan",
				  a->dev, a->slab, a->replica, a->old_ep, err);
		else
			agent_vlog(ag, "%s slab %" PRIu32 " replica %" PRIu32 ": controller: %s",
				   a->dev, a->slab, a->replica, err);
		ag->failures++;
		return;
	}
	format_endpoint(g.addr.addr, g.addr.port, ep, sizeof(ep));
	memcpy(rr.dev, a->dev, sizeof(rr.dev));
	rr.old = a->old;
	rr.new.addr = g.addr;
	rr.new.slab_id = g.slab_id;
	/*
	 * The controller's generation counts replacements of the slot; the
	 * driver's names the donor's hand-out of the slab, which the donor
	 * reports itself: the driver is not told the controller's.
	 */
	rr.new.have_grant = true;
	memcpy(rr.new.grant, g.grant, sizeof(rr.new.grant));
	agent_log("%s slab %" PRIu32 " replica %" PRIu32 " lost on %s: replacing on %s (controller allocation %" PRIu64 ", slab-id %" PRIu32 ")",
		  a->dev, a->slab, a->replica, a->old_ep, ep, alloc_id,
		  g.slab_id);
	if (send_replace(ag, &rr, ep)) {
		ag->failures++;
		return;
	}
	track(ag, t, a, alloc_id, g.generation, ep);
}

/* The controller's allocation of one client id, asked once per scan */
struct lookup {
	uint8_t client_id[RMEM_CLIENT_ID_LEN];
	int result;			/* 1 found, 0 none, -1 error */
	uint64_t id;
};

/* 1: controller mode with *@id, 0: direct mode, -1: skip (logged) */
static int choose_mode(struct agent *ag, const struct agent_action *a,
		       struct lookup *cache, unsigned int *nr, uint64_t *id)
{
	char err[AGENT_ERR_MAX] = "";
	struct lookup *l;
	unsigned int i;

	if (!ag->have_ctl || !a->have_client_id)
		return 0;
	for (i = 0; i < *nr; i++) {
		if (!memcmp(cache[i].client_id, a->client_id,
			    RMEM_CLIENT_ID_LEN)) {
			*id = cache[i].id;
			return cache[i].result;
		}
	}
	/* one entry per action at most: @cache has AGENT_MAX_ACTIONS */
	l = &cache[(*nr)++];
	memcpy(l->client_id, a->client_id, RMEM_CLIENT_ID_LEN);
	l->id = 0;
	l->result = agent_ctl_lookup(&ag->ctl, a->client_id, &l->id, err,
				     sizeof(err));
	if (l->result < 0)
		agent_log("%s: cannot look up its allocation at the controller: %s; retrying at the next scan",
			  a->dev, err);
	else
		agent_vlog(ag, "%s: %s", a->dev, l->result ?
			   "allocated by the controller" :
			   "no allocation at the controller: direct mode");
	*id = l->id;
	return l->result;
}

static void run_actions(struct agent *ag)
{
	struct lookup cache[AGENT_MAX_ACTIONS];
	unsigned int i, nr = 0;

	for (i = 0; i < ag->nr_acts; i++) {
		const struct agent_action *a = &ag->acts[i];
		struct agent_tracked *t = tracked_new(ag);
		uint64_t id = 0;
		int mode;

		if (!t) {
			agent_log("%s slab %" PRIu32 " replica %" PRIu32 ": %d replacements wait for their resync already; retrying at the next scan",
				  a->dev, a->slab, a->replica, AGENT_MAX_TRACKED);
			ag->failures++;
			continue;
		}
		mode = choose_mode(ag, a, cache, &nr, &id);
		if (mode < 0)
			ag->failures++;
		else if (mode)
			act_controller(ag, a, id, t);
		else
			act_direct(ag, a, t);
	}
}

void agent_scan(struct agent *ag)
{
	unsigned int i;

	ag->failures = 0;
	ag->done_ok = 0;
	/* after a local failure the socket may hold the rest of a reply */
	if (!ag->req.sk && rmem_nl_open(&ag->req)) {
		ag->failures++;
		return;
	}
	for (i = 0; i < AGENT_MAX_NOTED; i++)
		ag->noted[i].seen = false;
	if (scan_dump(ag)) {
		ag->failures++;
		return;
	}
	run_actions(ag);
	/* slabs no longer stuck may be logged again when they are */
	for (i = 0; i < AGENT_MAX_NOTED; i++)
		if (!ag->noted[i].seen)
			ag->noted[i].used = false;
	agent_report_done(ag);
}

/* Tell the controller; true when the entry is settled (told, or moot) */
static bool report_ctl(struct agent *ag, struct agent_tracked *t)
{
	char err[AGENT_ERR_MAX] = "";
	long st;

	st = agent_ctl_resynced(&ag->ctl, t->alloc_id, t->slab, t->replica,
				t->generation, t->slab_size, err, sizeof(err));
	if (st == 200)
		return true;
	if (st == 404 || st == 409) {
		/* the allocation is gone, or the slot moved on since */
		agent_log("%s slab %" PRIu32 " replica %" PRIu32 " on %s: resync done; the controller no longer expects it: %s",
			  t->dev, t->slab, t->replica, t->ep, err);
		t->used = false;
		return false;
	}
	agent_log("%s slab %" PRIu32 " replica %" PRIu32 " on %s: resync done; telling the controller failed: %s; retrying at the next scan",
		  t->dev, t->slab, t->replica, t->ep, err);
	ag->failures++;
	return false;
}

void agent_report_done(struct agent *ag)
{
	unsigned int i;

	for (i = 0; i < AGENT_MAX_TRACKED; i++) {
		struct agent_tracked *t = &ag->tracked[i];

		if (!t->used || !t->done)
			continue;
		if (t->alloc_id && !report_ctl(ag, t))
			continue;
		agent_log("%s slab %" PRIu32 " replica %" PRIu32 " on %s: resync done",
			  t->dev, t->slab, t->replica, t->ep);
		t->used = false;
	}
}

void agent_resync_done(struct agent *ag, const char *dev, uint32_t slab,
		       uint32_t replica)
{
	unsigned int i;

	for (i = 0; i < AGENT_MAX_TRACKED; i++) {
		struct agent_tracked *t = &ag->tracked[i];

		if (t->used && !t->done && t->slab == slab &&
		    t->replica == replica && !strcmp(t->dev, dev))
			t->done = true;
	}
}

void agent_forget_dev(struct agent *ag, const char *dev)
{
	unsigned int i;

	for (i = 0; i < AGENT_MAX_TRACKED; i++)
		if (ag->tracked[i].used && !strcmp(ag->tracked[i].dev, dev))
			ag->tracked[i].used = false;
}
