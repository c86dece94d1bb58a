// SPDX-License-Identifier: GPL-2.0
/*
 * The controller's answers the agent acts on, checked field by field:
 * what reaches the kernel (address, slab id, generation, grant) must be
 * well-formed, and a reply for another slot is refused.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "alloc.h"


/* "donor": {"id": N, "addr": "10.77.0.3", "port": 7470} */
static int parse_donor(json_object *obj, struct agent_granted *g, char *err,
		       size_t errlen)
{
	unsigned char bin[sizeof(struct in6_addr)];
	json_object *d;
	const char *addr;
	uint64_t port;
	int af;

	if (!json_object_object_get_ex(obj, "donor", &d) ||
	    !json_object_is_type(d, json_type_object)) {
		snprintf(err, errlen, "\"donor\" missing or not an object");
		return -1;
	}
	if (alloc_json_u64(d, "id", INT64_MAX, &g->donor_id, err, errlen, NULL) ||
	    alloc_json_u64(d, "port", 65535, &port, err, errlen, NULL))
		return -1;
	addr = alloc_json_str(d, "addr");
	if (!addr) {
		snprintf(err, errlen, "\"donor.addr\" missing");
		return -1;
	}
	/* a bare literal: the port comes separately */
	af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (!port || inet_pton(af, addr, bin) != 1 ||
	    !inet_ntop(af, bin, g->addr.addr, sizeof(g->addr.addr))) {
		snprintf(err, errlen, "\"donor\" is not an IP address literal and port: '%s' %" PRIu64,
			 addr, port);
		return -1;
	}
	g->addr.port = (uint16_t)port;
	return 0;
}

int agent_parse_replace_reply(json_object *obj, uint32_t slab,
			      uint32_t replica, struct agent_granted *g,
			      char *err, size_t errlen)
{
	uint64_t s, r, v;
	const char *grant;

	memset(g, 0, sizeof(*g));
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "reply is not a JSON object");
		return -1;
	}
	if (alloc_json_u64(obj, "slab", UINT32_MAX, &s, err, errlen, NULL) ||
	    alloc_json_u64(obj, "replica", UINT32_MAX, &r, err, errlen, NULL))
		return -1;
	if (s != slab || r != replica) {
		snprintf(err, errlen, "reply is for slab %" PRIu64 " replica %"
			 PRIu64 ", not slab %" PRIu32 " replica %" PRIu32,
			 s, r, slab, replica);
		return -1;
	}
	if (parse_donor(obj, g, err, errlen) ||
	    alloc_json_u64(obj, "slab_id", UINT32_MAX, &v, err, errlen, NULL))
		return -1;
	g->slab_id = (uint32_t)v;
	if (alloc_json_u64(obj, "generation", UINT32_MAX, &v, err, errlen, NULL))
		return -1;
	g->generation = (uint32_t)v;
	grant = alloc_json_str(obj, "grant");
	if (hex_to_bytes(grant, g->grant, RMEM_GRANT_LEN)) {
		snprintf(err, errlen, "\"grant\" missing or not %d hex digits",
			 2 * RMEM_GRANT_LEN);
		return -1;
	}
	return 0;
}

int agent_parse_alloc_id(json_object *obj, uint64_t *id, char *err,
			 size_t errlen)
{
	json_object *list, *first;

	if (!obj || !json_object_object_get_ex(obj, "allocations", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "\"allocations\" missing or not an array");
		return -1;
	}
	if (!json_object_array_length(list))
		return 0;
	/* one client id, one allocation: attach makes a fresh id each time */
	first = json_object_array_get_idx(list, 0);
	if (!json_object_is_type(first, json_type_object)) {
		snprintf(err, errlen, "allocation is not an object");
		return -1;
	}
	if (alloc_json_u64(first, "id", INT64_MAX, id, err, errlen, NULL))
		return -1;
	if (!*id) {
		snprintf(err, errlen, "allocation id 0");
		return -1;
	}
	return 1;
}
