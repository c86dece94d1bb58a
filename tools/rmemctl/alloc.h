/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A controller allocation (docs/api.md, POST/GET /v1/allocations) decoded
 * from json-c into plain C, and turned into what DEV_ADD needs: the
 * distinct donors in first-seen order and, per slab, which of them holds
 * each replica.  Pure functions, no network: host unit tests cover them.
 */
#ifndef RMEMCTL_ALLOC_H
#define RMEMCTL_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <rmem/rmem_netlink.h>
#include <rmem/rmem_proto.h>

#include "args.h"

#define ALLOC_MAX_REPLICAS	3
#define ALLOC_ERR_MAX		256

struct alloc_replica {
	uint64_t donor_id;
	struct donor_addr addr;		/* parsed "IP:PORT" */
	uint32_t slab_id;
	char state[16];			/* "ok", "donor-down", "lost" */
	bool have_grant;
	uint8_t grant[RMEM_GRANT_LEN];
	unsigned int donor_idx;		/* filled by alloc_donor_table() */
};

struct alloc_slab {
	uint32_t index;
	unsigned int nr_replicas;
	struct alloc_replica r[ALLOC_MAX_REPLICAS];
};

struct alloc {
	uint64_t id;
	uint8_t client_id[RMEM_CLIENT_ID_LEN];
	uint64_t bytes;
	uint64_t slab_size;
	unsigned int replicas;
	unsigned int nr_slabs;
	struct alloc_slab *slabs;	/* owned; alloc_free() */
};

/*
 * alloc_parse - one allocation object.  Checks every field the attach
 * path relies on (types, ranges, slab indexes 0..n-1 each once, 64-hex
 * grants).  0, or -1 with @err saying which field was wrong.
 */
int alloc_parse(json_object *obj, struct alloc *a, char *err, size_t errlen);
int alloc_json_u64(json_object *obj, const char *key, uint64_t max,
		   uint64_t *out, char *err, size_t errlen, const char *where);
const char *alloc_json_str(json_object *obj, const char *key);
void alloc_free(struct alloc *a);

/*
 * alloc_donor_table - the distinct donor endpoints of @a, in the order
 * they first appear (slab 0 replica 0 first), into @donors (room for
 * RMEM_MAX_DONORS), and each replica's donor_idx.  Returns the count, or
 * -1 with @err if more than RMEM_MAX_DONORS donors are involved.
 */
int alloc_donor_table(struct alloc *a, struct donor_addr *donors,
		      char *err, size_t errlen);

/* 32 hex digits <-> 16 bytes; hex_to_bytes returns 0 or -1 */
void bytes_to_hex(const uint8_t *b, size_t n, char *out);
int hex_to_bytes(const char *hex, uint8_t *out, size_t n);

#endif /* RMEMCTL_ALLOC_H */
