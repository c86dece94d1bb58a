// SPDX-License-Identifier: GPL-2.0
/*
 * Controller allocation JSON -> struct alloc, and the donor table DEV_ADD
 * is built from.  Everything the kernel will be told is checked here, so
 * that a malformed controller reply is an error message and never a
 * half-made device.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void bytes_to_hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	if (!hex || strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * A non-negative JSON integer field; json-c saturates, so max is refused.
 * @where (may be NULL) prefixes the error.  Shared with the agent.
 */
int alloc_json_u64(json_object *obj, const char *key, uint64_t max,
		   uint64_t *out, char *err, size_t errlen, const char *where)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s%s\"%s\" missing or not an integer",
			 where ? where : "", where ? ": " : "", key);
		return -1;
	}
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x > max) {
		snprintf(err, errlen, "%s%s\"%s\" out of range",
			 where ? where : "", where ? ": " : "", key);
		return -1;
	}
	*out = (uint64_t)x;
	return 0;
}

/* A string field, or NULL when missing or not a string */
const char *alloc_json_str(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int parse_replica(json_object *obj, struct alloc_replica *r,
			 char *err, size_t errlen, const char *where)
{
	char perr[ARGS_ERR_MAX];
	const char *s;
	uint64_t v;

	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "%s: not an object", where);
		return -1;
	}
	if (alloc_json_u64(obj, "donor_id", INT64_MAX, &r->donor_id, err, errlen, where) ||
	    alloc_json_u64(obj, "slab_id", UINT32_MAX, &v, err, errlen, where))
		return -1;
	r->slab_id = (uint32_t)v;
	s = alloc_json_str(obj, "addr");
	if (!s) {
		snprintf(err, errlen, "%s: \"addr\" missing", where);
		return -1;
	}
	if (parse_donor_addr(s, &r->addr, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s: addr: %s", where, perr);
		return -1;
	}
	s = alloc_json_str(obj, "state");
	snprintf(r->state, sizeof(r->state), "%s", s ? s : "ok");
	s = alloc_json_str(obj, "grant");
	r->have_grant = false;
	if (s) {
		if (hex_to_bytes(s, r->grant, RMEM_GRANT_LEN)) {
			snprintf(err, errlen, "%s: grant is not %d hex digits",
				 where, 2 * RMEM_GRANT_LEN);
			return -1;
		}
		r->have_grant = true;
	}
	return 0;
}

static int parse_slab(json_object *obj, struct alloc *a, char *err,
		      size_t errlen, unsigned int pos)
{
	char where[64];
	struct alloc_slab *s;
	json_object *reps;
	uint64_t index;
	size_t i, n;

	snprintf(where, sizeof(where), "slabs[%u]", pos);
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "%s: not an object", where);
		return -1;
	}
	if (alloc_json_u64(obj, "index", a->nr_slabs - 1, &index, err, errlen, where))
		return -1;
	s = &a->slabs[index];
	if (s->nr_replicas) {
		snprintf(err, errlen, "%s: slab index %" PRIu64 " given twice",
			 where, index);
		return -1;
	}
	s->index = (uint32_t)index;
	if (!json_object_object_get_ex(obj, "replicas", &reps) ||
	    !json_object_is_type(reps, json_type_array)) {
		snprintf(err, errlen, "%s: \"replicas\" missing", where);
		return -1;
	}
	n = json_object_array_length(reps);
	if (n < 1 || n > ALLOC_MAX_REPLICAS) {
		snprintf(err, errlen, "%s: %zu replicas (1..%d expected)",
			 where, n, ALLOC_MAX_REPLICAS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "slabs[%u].replicas[%zu]", pos, i);
		if (parse_replica(json_object_array_get_idx(reps, i), &s->r[i],
				  err, errlen, where))
			return -1;
	}
	s->nr_replicas = (unsigned int)n;
	return 0;
}

int alloc_parse(json_object *obj, struct alloc *a, char *err, size_t errlen)
{
	json_object *slabs;
	const char *cid;
	uint64_t v;
	size_t i, n;

	memset(a, 0, sizeof(*a));
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "allocation is not a JSON object");
		return -1;
	}
	if (alloc_json_u64(obj, "id", INT64_MAX, &a->id, err, errlen, "allocation") ||
	    alloc_json_u64(obj, "bytes", INT64_MAX, &a->bytes, err, errlen, "allocation") ||
	    alloc_json_u64(obj, "slab_size", INT64_MAX, &a->slab_size, err, errlen,
		    "allocation") ||
	    alloc_json_u64(obj, "replicas", ALLOC_MAX_REPLICAS, &v, err, errlen,
		    "allocation"))
		return -1;
	a->replicas = (unsigned int)v;
	if (!a->slab_size || !a->bytes || !a->replicas) {
		snprintf(err, errlen, "allocation: zero bytes, slab size or replicas");
		return -1;
	}
	cid = alloc_json_str(obj, "client_id");
	if (hex_to_bytes(cid, a->client_id, RMEM_CLIENT_ID_LEN)) {
		snprintf(err, errlen, "allocation: \"client_id\" is not 32 hex digits");
		return -1;
	}
	if (!json_object_object_get_ex(obj, "slabs", &slabs) ||
	    !json_object_is_type(slabs, json_type_array)) {
		snprintf(err, errlen, "allocation: \"slabs\" missing");
		return -1;
	}
	n = json_object_array_length(slabs);
	if (!n || n != (a->bytes + a->slab_size - 1) / a->slab_size) {
		snprintf(err, errlen,
			 "allocation: %zu slabs do not cover %" PRIu64
			 " bytes of %" PRIu64 "-byte slabs", n, a->bytes,
			 a->slab_size);
		return -1;
	}
	a->slabs = calloc(n, sizeof(*a->slabs));
	if (!a->slabs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->nr_slabs = (unsigned int)n;
	for (i = 0; i < n; i++) {
		if (parse_slab(json_object_array_get_idx(slabs, i), a, err,
			       errlen, (unsigned int)i)) {
			alloc_free(a);
			return -1;
		}
	}
	/* n entries with distinct indexes below n: every index is there */
	return 0;
}

void alloc_free(struct alloc *a)
{
	free(a->slabs);
	a->slabs = NULL;
	a->nr_slabs = 0;
}

static bool same_donor(const struct donor_addr *x, const struct donor_addr *y)
{
	return x->port == y->port && strcmp(x->addr, y->addr) == 0;
}

int alloc_donor_table(struct alloc *a, struct donor_addr *donors,
		      char *err, size_t errlen)
{
	unsigned int i, j, k, n = 0;

	for (i = 0; i < a->nr_slabs; i++) {
		for (j = 0; j < a->slabs[i].nr_replicas; j++) {
			struct alloc_replica *r = &a->slabs[i].r[j];

			for (k = 0; k < n; k++)
				if (same_donor(&donors[k], &r->addr))
					break;
			if (k == n) {
				if (n == RMEM_MAX_DONORS) {
					snprintf(err, errlen,
						 "the allocation spans more than %d donors, the most one device can use",
						 RMEM_MAX_DONORS);
					return -1;
				}
				donors[n++] = r->addr;
			}
			r->donor_idx = k;
		}
	}
	return (int)n;
}
