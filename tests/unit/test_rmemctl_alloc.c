// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl's reading of controller allocations (tools/rmemctl/alloc.c):
 * good replies become the donor table and per-replica indexes DEV_ADD
 * needs; malformed ones are refused with a message naming the field.
 */
#include <string.h>

#include "alloc.h"
#include "rmemctl_tap.h"

#define G64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const char good[] =
	"{\"id\": 7, \"client_id\": \"00112233445566778899aabbccddeeff\","
	" \"bytes\": 201326592, \"slab_size\": 67108864, \"replicas\": 1,"
	" \"slabs\": ["
	"  {\"index\": 2, \"replicas\": [{\"donor_id\": 1, \"addr\": \"10.77.0.2:7470\", \"slab_id\": 5, \"state\": \"ok\", \"grant\": \"" G64 "\"}]},"
	"  {\"index\": 0, \"replicas\": [{\"donor_id\": 3, \"addr\": \"10.77.0.3:7470\", \"slab_id\": 0, \"state\": \"ok\", \"grant\": \"" G64 "\"}]},"
	"  {\"index\": 1, \"replicas\": [{\"donor_id\": 1, \"addr\": \"10.77.0.2:7470\", \"slab_id\": 6, \"state\": \"ok\", \"grant\": \"" G64 "\"}]}"
	"]}";

static void test_good(void)
{
	struct donor_addr donors[RMEM_MAX_DONORS];
	json_object *o = json_tokener_parse(good);
	char err[ALLOC_ERR_MAX] = "";
	struct alloc a;
	int n;

	if (!tap_ok(alloc_parse(o, &a, err, sizeof(err)) == 0,
		    "good allocation parses"))
		tap_diag("err '%s'", err);
	tap_ok(a.id == 7 && a.nr_slabs == 3 && a.slab_size == 64 << 20 &&
	       a.client_id[0] == 0x00 && a.client_id[15] == 0xff,
	       "header fields");
	tap_ok(a.slabs[0].r[0].slab_id == 0 && a.slabs[2].r[0].slab_id == 5 &&
	       a.slabs[1].r[0].slab_id == 6, "slabs land at their index");
	tap_ok(a.slabs[0].r[0].have_grant && a.slabs[0].r[0].grant[1] == 0x11,
	       "grant decoded");
	n = alloc_donor_table(&a, donors, err, sizeof(err));
	tap_ok(n == 2, "two distinct donors (got %d)", n);
	tap_ok(!strcmp(donors[0].addr, "10.77.0.3") && donors[0].port == 7470 &&
	       !strcmp(donors[1].addr, "10.77.0.2"),
	       "donors in first-seen slab order");
	tap_ok(a.slabs[0].r[0].donor_idx == 0 && a.slabs[1].r[0].donor_idx == 1 &&
	       a.slabs[2].r[0].donor_idx == 1, "replicas point at their donor");
	alloc_free(&a);
	json_object_put(o);
}

/* @from replaced by @to in the good reply must be refused, saying @needle */
static void bad(const char *from, const char *to, const char *needle)
{
	char text[4096], err[ALLOC_ERR_MAX] = "";
	const char *p = strstr(good, from);
	json_object *o;
	struct alloc a;
	int ret;

	if (!p) {
		tap_ok(0, "test setup: '%s' not in the good reply", from);
		return;
	}
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(p - good), good, to,
		 p + strlen(from));
	o = json_tokener_parse(text);
	ret = alloc_parse(o, &a, err, sizeof(err));
	if (!tap_ok(ret == -1 && strstr(err, needle) && !a.slabs,
		    "refused: %s -> %s (%s)", from, to, needle))
		tap_diag("ret %d err '%s'", ret, err);
	json_object_put(o);
}

int main(void)
{
	struct donor_addr donors[RMEM_MAX_DONORS];
	char err[ALLOC_ERR_MAX];
	struct alloc a = { 0 };
	unsigned int i;
	uint8_t id[16];

	test_good();
	bad("\"index\": 0", "\"index\": 2", "given twice");
	bad("\"index\": 0", "\"index\": 3", "out of range");
	bad("\"bytes\": 201326592", "\"bytes\": 301326592", "do not cover");
	bad("\"slab_size\": 67108864", "\"slab_size\": \"64M\"", "slab_size");
	bad("\"slab_id\": 5", "\"slab_id\": 4294967296", "slab_id");
	bad("\"slab_id\": 5", "\"slab_id\": -1", "slab_id");
	bad("\"10.77.0.3:7470\"", "\"donor.example:7470\"", "addr");
	bad("\"00112233445566778899aabbccddeeff\"", "\"0011\"", "client_id");
	bad("\"grant\": \"" G64 "\"}]},  {\"index\": 0", "\"grant\": \"abc\"}]},  {\"index\": 0", "grant");
	bad("\"replicas\": [{\"donor_id\": 3", "\"replicas\": [], \"x\": [{\"donor_id\": 3", "replicas");
	bad("\"replicas\": 1", "\"replicas\": 4", "replicas");

	tap_ok(alloc_parse(NULL, &a, err, sizeof(err)) == -1, "NULL refused");

	/* 17 donors cannot be one device */
	a.nr_slabs = 17;
	a.slabs = calloc(17, sizeof(*a.slabs));
	for (i = 0; i < 17; i++) {
		a.slabs[i].nr_replicas = 1;
		snprintf(a.slabs[i].r[0].addr.addr, RMEM_ADDR_MAX, "10.0.0.%u", i + 1);
		a.slabs[i].r[0].addr.port = 7470;
	}
	tap_ok(alloc_donor_table(&a, donors, err, sizeof(err)) == -1 &&
	       strstr(err, "more than 16"), "over 16 donors refused");
	alloc_free(&a);

	tap_ok(hex_to_bytes("00112233445566778899AABBCCDDEEFF", id, 16) == 0 &&
	       id[15] == 0xff, "hex upper case");
	tap_ok(hex_to_bytes("0011223344556677889900aabbccddeg", id, 16) == -1,
	       "hex non-digit refused");
	return tap_done();
}
