// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's calls to the controller (docs/api.md): which allocation a
 * device's client id holds, a replacement for one lost replica, and the
 * report that its resync is done.  libcurl and json-c allocate for each
 * call; these run only when a replica was lost, never per event.
 */
#include <inttypes.h>
#include <stdio.h>

#include "agent.h"
#include "alloc.h"

int agent_ctl_lookup(const struct http_peer *p, const uint8_t *client_id,
		     uint64_t *id, char *err, size_t errlen)
{
	char hex[2 * RMEM_CLIENT_ID_LEN + 1], path[96];
	json_object *reply;
	long st;
	int ret;

	bytes_to_hex(client_id, RMEM_CLIENT_ID_LEN, hex);
	snprintf(path, sizeof(path), "/v1/allocations?client_id=%s", hex);
	st = http_request(p, "GET", path, NULL, &reply, err, errlen);
	if (st != 200) {
		if (!err[0])
			snprintf(err, errlen, "controller answered HTTP %ld", st);
		json_object_put(reply);
		return -1;
	}
	ret = agent_parse_alloc_id(reply, id, err, errlen);
	json_object_put(reply);
	return ret;
}

/*
 * POST @path with {"slab": @slab, "replica": @replica} and, for the
 * resync report (@report), "generation" and "bytes" too.
 */
static long post_slot(const struct http_peer *p, const char *path,
		      uint32_t slab, uint32_t replica, bool report,
		      uint32_t generation, uint64_t bytes,
		      json_object **reply, char *err, size_t errlen)
{
	json_object *body = json_object_new_object();
	long st;

	if (!body ||
	    json_object_object_add(body, "slab", json_object_new_uint64(slab)) ||
	    json_object_object_add(body, "replica",
				   json_object_new_uint64(replica)) ||
	    (report &&
	     (json_object_object_add(body, "generation",
				     json_object_new_uint64(generation)) ||
	      json_object_object_add(body, "bytes",
				     json_object_new_uint64(bytes))))) {
		json_object_put(body);
		*reply = NULL;
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	st = http_request(p, "POST", path, body, reply, err, errlen);
	json_object_put(body);
	if (st && st != 200 && !err[0])
		snprintf(err, errlen, "controller answered HTTP %ld", st);
	return st;
}

int agent_ctl_replace(const struct http_peer *p, uint64_t id, uint32_t slab,
		      uint32_t replica, struct agent_granted *g, char *err,
		      size_t errlen)
{
	json_object *reply;
	char path[64], perr[AGENT_ERR_MAX];
	long st;

	snprintf(path, sizeof(path), "/v1/allocations/%" PRIu64 "/replace", id);
	st = post_slot(p, path, slab, replica, false, 0, 0, &reply, err,
		       errlen);
	if (st != 200) {
		json_object_put(reply);
		return -1;
	}
	if (agent_parse_replace_reply(reply, slab, replica, g, perr,
				      sizeof(perr))) {
		snprintf(err, errlen, "malformed replacement from the controller: %s",
			 perr);
		json_object_put(reply);
		return -1;
	}
	json_object_put(reply);
	return 0;
}

long agent_ctl_resynced(const struct http_peer *p, uint64_t id, uint32_t slab,
			uint32_t replica, uint32_t generation, uint64_t bytes,
			char *err, size_t errlen)
{
	json_object *reply;
	char path[64];
	long st;

	/* the generation names this replacement, not a later one */
	snprintf(path, sizeof(path), "/v1/allocations/%" PRIu64 "/resynced", id);
	st = post_slot(p, path, slab, replica, true, generation, bytes, &reply,
		       err, errlen);
	json_object_put(reply);
	return st;
}
