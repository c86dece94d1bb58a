// SPDX-License-Identifier: MIT
/*
 * rmem-abuse: feeds a donor bad connection requests and bad control
 * messages and checks that each gets the documented rejection or error
 * status, that state stays consistent, and that the donor keeps serving.
 * With --token-file it also checks grant enforcement (the donor must run
 * with the same token).  Output is TAP; exit 0 only if all checks pass.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "grant.h"
#include "testclient.h"
#include "token.h"
#include "../unit/tap.h"

static struct sockaddr_storage donor;
static uint8_t token[RMEM_TOKEN_MAX];
static size_t token_len;

struct client {
	uint8_t id[RMEM_CLIENT_ID_LEN];
	struct ibv_pd *pd;
	struct tc_conn ctrl;
	uint32_t seq;
};

static const char *st_name(int rc)
{
	return rc < 0 ? "no reply" : tc_errname(rc);
}

/* Connect with raw private data; returns the reject status, -2 if accepted. */
static int try_connect(const void *priv, uint8_t len, bool ctrl_conn)
{
	struct ibv_pd *pd = NULL;
	struct tc_conn c;
	int rc = tc_connect(&c, (struct sockaddr *)&donor, priv, len, ctrl_conn, &pd);
	int status = rc == 1 ? c.reject_status : rc == 0 ? -2 : -3;

	tc_close(&c);
	if (pd)
		ibv_dealloc_pd(pd);
	return status;
}

static int client_open(struct client *cl)
{
	struct rmem_cm_req req;

	tc_random_id(cl->id);
	req = tc_req(RMEM_CONN_CTRL, 0, cl->id);
	return tc_connect(&cl->ctrl, (struct sockaddr *)&donor, &req, sizeof(req),
			  true, &cl->pd);
}

static void client_close(struct client *cl)
{
	tc_close(&cl->ctrl);
	if (cl->pd)
		ibv_dealloc_pd(cl->pd);
	cl->pd = NULL;
}

static int call(struct client *cl, struct rmem_msg *m, size_t len,
		struct rmem_msg *r)
{
	m->hdr.seq = htole32(++cl->seq);
	return tc_ctrl_call(&cl->ctrl, m, len, r);
}

static int simple(struct client *cl, uint8_t type, uint32_t id, uint32_t gen,
		  struct rmem_msg *r)
{
	struct rmem_msg m = tc_msg(type, 0, id, gen);

	return call(cl, &m, sizeof(m), r);
}

/* ALLOC with a grant for @id made for @grant_client (or no grant if NULL). */
static int alloc_granted(struct client *cl, uint32_t id, const uint8_t *grant_client,
			 uint64_t instance, struct rmem_msg *r)
{
	struct rmem_msg m = tc_msg(RMEM_MSG_SLAB_ALLOC, 0, id, 0);

	if (grant_client)
		rmem_grant_compute(token, token_len, grant_client, instance, id, m.grant);
	return call(cl, &m, sizeof(m), r);
}

/* Any free slab: by RMEM_SLAB_ANY, or with a controller by trying each id. */
static int alloc_one(struct client *cl, struct rmem_msg *r)
{
	uint32_t total = le32toh(cl->ctrl.rep.total_slabs);
	uint64_t inst = le64toh(cl->ctrl.rep.instance_id);
	int rc = ENOSPC;

	if (!token_len)
		return simple(cl, RMEM_MSG_SLAB_ALLOC, RMEM_SLAB_ANY, 0, r);
	for (uint32_t id = 0; id < total; id++) {
		rc = alloc_granted(cl, id, cl->id, inst, r);
		if (rc != ENOSPC)
			break;
	}
	return rc;
}

static void test_connects(void)
{
	uint8_t id[RMEM_CLIENT_ID_LEN];
	struct rmem_cm_req req;
	int st;

	tc_random_id(id);
	req = tc_req(RMEM_CONN_CTRL, 0, id);
	req.magic = htole16(0xbeef);
	st = try_connect(&req, sizeof(req), true);
	ok(st == RMEM_CM_BAD_VERSION, "connect with bad magic: rejected BAD_VERSION (%d)", st);

	req = tc_req(RMEM_CONN_CTRL, 0, id);
	req.version = RMEM_PROTO_VERSION + 1;
	st = try_connect(&req, sizeof(req), true);
	ok(st == RMEM_CM_BAD_VERSION, "connect with version %d: rejected BAD_VERSION (%d)",
	   RMEM_PROTO_VERSION + 1, st);

	req = tc_req(RMEM_CONN_CTRL, 0, id);
	req.type = 9;
	st = try_connect(&req, sizeof(req), true);
	ok(st == RMEM_CM_BAD_REQUEST, "connect of unknown type 9: rejected BAD_REQUEST (%d)", st);

	req = tc_req(RMEM_CONN_CTRL, 0, id);
	st = try_connect(&req, 3, true);	/* magic + version, then padding */
	ok(st == RMEM_CM_BAD_REQUEST, "connect with 3 bytes of private data: rejected BAD_REQUEST (%d)", st);

	req = tc_req(RMEM_CONN_CTRL, 0, id);
	st = try_connect(&req, 4, true);	/* ... + type: client id all zeros */
	ok(st == RMEM_CM_BAD_REQUEST, "connect with 4 bytes of private data (zero client id): rejected BAD_REQUEST (%d)", st);

	req = tc_req(RMEM_CONN_CTRL, 0, id);
	req.flags = htole16(1);
	st = try_connect(&req, sizeof(req), true);
	ok(st == RMEM_CM_BAD_REQUEST, "connect with unknown flags: rejected BAD_REQUEST (%d)", st);

	st = try_connect(NULL, 0, true);
	ok(st == RMEM_CM_BAD_VERSION, "connect without private data: rejected BAD_VERSION (%d)", st);

	req = tc_req(RMEM_CONN_DATA, 0, id);
	st = try_connect(&req, sizeof(req), false);
	ok(st == RMEM_CM_NO_SESSION, "DATA before CTRL: rejected NO_SESSION (%d)", st);
}

static void test_messages(struct client *x)
{
	struct rmem_msg m, r;
	int rc;

	m = tc_msg(RMEM_MSG_KEEPALIVE, 0, 0, 0);
	m.hdr.magic = htole16(0x1234);
	rc = call(x, &m, sizeof(m), &r);
	ok(rc == EPROTO && le32toh(r.hdr.seq) == x->seq &&
	   r.hdr.type == (RMEM_MSG_KEEPALIVE | RMEM_MSG_REPLY),
	   "message with bad magic -> %s, seq echoed", st_name(rc));

	m = tc_msg(RMEM_MSG_KEEPALIVE, 0, 0, 0);
	m.hdr.version = 7;
	rc = call(x, &m, sizeof(m), &r);
	ok(rc == EPROTO, "message with version 7 -> %s", st_name(rc));

	m = tc_msg(0x42, 0, 0, 0);
	rc = call(x, &m, sizeof(m), &r);
	ok(rc == EPROTO && r.hdr.type == (0x42 | RMEM_MSG_REPLY),
	   "message of unknown type 0x42 -> %s", st_name(rc));

	m = tc_msg(RMEM_MSG_SLAB_ALLOC | RMEM_MSG_REPLY, 0, RMEM_SLAB_ANY, 0);
	rc = call(x, &m, sizeof(m), &r);
	ok(rc == EPROTO, "a reply sent as a request -> %s", st_name(rc));

	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 0, RMEM_SLAB_ANY, 0);
	rc = call(x, &m, 20, &r);
	ok(rc == EPROTO, "SLAB_ALLOC cut to 20 bytes -> %s", st_name(rc));

	m = tc_msg(RMEM_MSG_KEEPALIVE, 0, 0, 0);
	rc = call(x, &m, 8, &r);
	ok(rc == EPROTO && r.hdr.seq == 0, "8-byte message -> %s", st_name(rc));

	rc = call(x, &m, 0, &r);
	ok(rc == EPROTO, "empty message -> %s", st_name(rc));

	rc = simple(x, RMEM_MSG_KEEPALIVE, 0, 0, &r);
	ok(rc == 0 && r.free_slabs == r.total_slabs && r.total_slabs,
	   "KEEPALIVE after all that -> %s, %u/%u free", st_name(rc),
	   le32toh(r.free_slabs), le32toh(r.total_slabs));

	rc = simple(x, RMEM_MSG_SLAB_ATTACH, 0x7fffffff, 1, &r);
	ok(rc == ENOENT, "ATTACH of unknown slab id -> %s", st_name(rc));
	rc = simple(x, RMEM_MSG_SLAB_FREE, 0x7fffffff, 1, &r);
	ok(rc == ENOENT, "FREE of unknown slab id -> %s", st_name(rc));
	rc = simple(x, RMEM_MSG_SLAB_ATTACH, 0, 1, &r);
	ok(rc == ENOENT, "ATTACH of a slab nobody holds -> %s", st_name(rc));
}

static void test_ownership(struct client *x, struct client *y)
{
	struct rmem_msg r;
	uint32_t id, gen, total, n = 0;
	int rc;

	rc = alloc_one(x, &r);
	ok(rc == 0, "X allocates a slab -> %s", st_name(rc));
	id = le32toh(r.slab.slab_id);
	gen = le32toh(r.slab.generation);

	rc = simple(x, RMEM_MSG_SLAB_ATTACH, id, gen + 1, &r);
	ok(rc == ESTALE, "X: ATTACH with wrong generation -> %s", st_name(rc));
	rc = simple(x, RMEM_MSG_SLAB_FREE, id, gen + 1, &r);
	ok(rc == ESTALE, "X: FREE with wrong generation -> %s", st_name(rc));
	rc = simple(y, RMEM_MSG_SLAB_FREE, id, gen, &r);
	ok(rc == EPERM, "Y: FREE of X's slab -> %s", st_name(rc));
	rc = simple(y, RMEM_MSG_SLAB_ATTACH, id, gen, &r);
	ok(rc == EPERM, "Y: ATTACH of X's slab -> %s", st_name(rc));
	rc = simple(x, RMEM_MSG_SLAB_ATTACH, id, gen, &r);
	ok(rc == 0 && le32toh(r.slab.slab_id) == id, "X: ATTACH of its own slab -> %s",
	   st_name(rc));
	rc = simple(x, RMEM_MSG_SLAB_FREE, id, gen, &r);
	ok(rc == 0, "X: FREE -> %s", st_name(rc));
	rc = simple(x, RMEM_MSG_SLAB_FREE, id, gen, &r);
	ok(rc == ENOENT, "X: FREE again -> %s", st_name(rc));

	/* Exhaust the donor, check ENOSPC, give everything back. */
	total = le32toh(x->ctrl.rep.total_slabs);
	struct rmem_slab_desc *held = calloc(total + 1, sizeof(*held));

	while (n <= total && (rc = alloc_one(x, &r)) == 0)
		held[n++] = r.slab;
	ok(n == total && rc == ENOSPC, "X allocates all %u slabs, then gets %s",
	   n, st_name(rc));
	rc = simple(y, RMEM_MSG_KEEPALIVE, 0, 0, &r);
	ok(rc == 0 && r.free_slabs == 0, "KEEPALIVE reports 0 free (%u)",
	   le32toh(r.free_slabs));
	for (uint32_t i = 0; i < n; i++)
		rc |= simple(x, RMEM_MSG_SLAB_FREE, le32toh(held[i].slab_id),
			     le32toh(held[i].generation), &r);
	ok(rc == 0 && le32toh(r.free_slabs) == total, "all freed, %u free",
	   le32toh(r.free_slabs));
	free(held);
}

/* RMEM_CTRL_DEPTH requests in a row before reading any reply. */
static void test_burst(struct client *x)
{
	struct rmem_msg m, r;
	bool good = true;

	for (uint32_t i = 0; i < RMEM_CTRL_DEPTH; i++) {
		m = tc_msg(RMEM_MSG_KEEPALIVE, 1000 + i, 0, 0);
		if (i % 3 == 1)
			m.hdr.magic = 0;	/* mix in bad ones */
		if (tc_ctrl_send(&x->ctrl, &m, sizeof(m)))
			good = false;
	}
	for (uint32_t i = 0; i < RMEM_CTRL_DEPTH && good; i++) {
		if (tc_ctrl_recv(&x->ctrl, &r) ||
		    le32toh(r.hdr.seq) != 1000 + i ||
		    le32toh(r.hdr.status) != (i % 3 == 1 ? EPROTO : 0))
			good = false;
	}
	ok(good, "%d pipelined requests get %d replies in order", RMEM_CTRL_DEPTH,
	   RMEM_CTRL_DEPTH);
}

static void test_grants(struct client *x, struct client *y)
{
	uint64_t inst = le64toh(x->ctrl.rep.instance_id);
	struct rmem_msg r;
	uint32_t gen;
	int rc;

	rc = simple(x, RMEM_MSG_SLAB_ALLOC, RMEM_SLAB_ANY, 0, &r);
	ok(rc == EPERM, "controller mode: ALLOC of any slab -> %s", st_name(rc));
	rc = alloc_granted(x, 0, NULL, inst, &r);
	ok(rc == EPERM, "controller mode: ALLOC without grant -> %s", st_name(rc));
	rc = alloc_granted(x, 0, y->id, inst, &r);
	ok(rc == EPERM, "ALLOC with Y's grant -> %s", st_name(rc));
	rc = alloc_granted(x, 0, x->id, inst ^ 1, &r);
	ok(rc == EPERM, "ALLOC with a grant for another donor instance -> %s", st_name(rc));
	rc = alloc_granted(x, 0, x->id, inst, &r);
	ok(rc == 0 && r.slab.slab_id == 0, "ALLOC with a valid grant -> %s", st_name(rc));
	gen = le32toh(r.slab.generation);
	rc = alloc_granted(y, 0, y->id, inst, &r);
	ok(rc == ENOSPC, "Y: ALLOC of X's granted slab with its own grant -> %s",
	   st_name(rc));
	rc = simple(x, RMEM_MSG_SLAB_FREE, 0, gen, &r);
	ok(rc == 0, "X frees it -> %s", st_name(rc));
}

/*
 * --await-disconnect: hold a session with a slab, print "# ready", and
 * check that the donor disconnects us (shutdown, idle timeout).
 */
static int await_disconnect(int seconds)
{
	struct client x = { 0 };
	struct tc_conn data = { 0 };
	struct rmem_cm_req req;
	struct rmem_msg r;
	int rc;

	rc = client_open(&x);
	if (!ok(rc == 0, "CTRL connection accepted (rc %d)", rc))
		goto out;
	req = tc_req(RMEM_CONN_DATA, 0, x.id);
	rc = tc_connect(&data, (struct sockaddr *)&donor, &req, sizeof(req), false, &x.pd);
	ok(rc == 0, "DATA connection accepted (rc %d)", rc);
	rc = alloc_one(&x, &r);
	ok(rc == 0, "slab allocated -> %s", st_name(rc));
	printf("# ready\n");
	fflush(stdout);
	rc = tc_wait_disconnect(&x.ctrl, seconds * 1000);
	ok(rc == 0, "the donor disconnects the CTRL connection (rc %d)", rc);
	rc = tc_wait_disconnect(&data, 5000);
	ok(rc == 0, "and the DATA connection (rc %d)", rc);
out:
	tc_close(&data);
	client_close(&x);
	return tap_done("rmem-abuse --await-disconnect");
}

/* Parse 2*@n hex digits into @out; false if @hex is anything else. */
static bool parse_hex(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1 ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return false;
	return true;
}

/*
 * --granted CLIENT_HEX:SLAB_ID:GRANT_HEX: allocate, as that client, the
 * slab a controller granted (checks that controller and donor agree on
 * grants), then free it.
 */
static int alloc_granted_by_controller(const char *spec)
{
	struct client x = { 0 };
	struct rmem_cm_req req;
	struct rmem_msg m, r;
	char cid[33], grant[65];
	unsigned int slab;
	int rc;

	if (sscanf(spec, "%32[0-9a-fA-F]:%u:%64[0-9a-fA-F]", cid, &slab, grant) != 3 ||
	    !parse_hex(cid, x.id, RMEM_CLIENT_ID_LEN)) {
		fprintf(stderr, "rmem-abuse: bad --granted '%s'\n", spec);
		return 2;
	}
	m = tc_msg(RMEM_MSG_SLAB_ALLOC, 0, slab, 0);
	if (!parse_hex(grant, m.grant, RMEM_GRANT_LEN)) {
		fprintf(stderr, "rmem-abuse: bad grant in '%s'\n", spec);
		return 2;
	}
	req = tc_req(RMEM_CONN_CTRL, 0, x.id);
	rc = tc_connect(&x.ctrl, (struct sockaddr *)&donor, &req, sizeof(req), true, &x.pd);
	if (!ok(rc == 0, "CTRL connection as client %s (rc %d)", cid, rc))
		goto out;
	rc = call(&x, &m, sizeof(m), &r);
	ok(rc == 0 && le32toh(r.slab.slab_id) == slab,
	   "ALLOC of slab %u with the controller's grant -> %s", slab, st_name(rc));
	if (rc == 0) {
		rc = simple(&x, RMEM_MSG_SLAB_FREE, slab, le32toh(r.slab.generation), &r);
		ok(rc == 0, "FREE -> %s", st_name(rc));
	}
	m.grant[0] ^= 1;
	rc = call(&x, &m, sizeof(m), &r);
	ok(rc == EPERM, "the same grant with one bit flipped -> %s", st_name(rc));
out:
	client_close(&x);
	return tap_done("rmem-abuse --granted");
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: rmem-abuse --donor ADDR[:PORT] [--token-file FILE] [--wait SECONDS]\n"
		"       rmem-abuse --donor ADDR[:PORT] --await-disconnect SECONDS\n"
		"       rmem-abuse --donor ADDR[:PORT] --granted CLIENT_HEX:SLAB_ID:GRANT_HEX\n"
		"Sends malformed connection requests and control messages to an\n"
		"rmem donor and checks the replies.  With --token-file (the donor's\n"
		"cluster token) also checks grant enforcement.\n"
		"--wait: seconds to keep retrying while nothing listens (default 120).\n"
		"--await-disconnect: hold a slab, print '# ready', and expect the donor\n"
		"to disconnect us within SECONDS (stop it with SIGTERM meanwhile).\n"
		"--granted: allocate and free a slab a controller granted that client.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "donor", required_argument, NULL, 'd' },
		{ "token-file", required_argument, NULL, 't' },
		{ "wait", required_argument, NULL, 'w' },
		{ "await-disconnect", required_argument, NULL, 'A' },
		{ "granted", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *donor_arg = NULL, *token_file = NULL, *granted = NULL;
	struct client x = { 0 }, y = { 0 }, z = { 0 };
	struct rmem_msg r;
	socklen_t sslen;
	int c, rc, loose, disconnect_wait = 0;

	tc_wait_seconds = 120;
	while ((c = getopt_long(argc, argv, "d:t:w:A:G:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': donor_arg = optarg; break;
		case 't': token_file = optarg; break;
		case 'A': disconnect_wait = atoi(optarg); break;
		case 'G': granted = optarg; break;
		case 'w': tc_wait_seconds = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!donor_arg || optind < argc || tc_wait_seconds < 0) {
		usage(stderr);
		return 2;
	}
	if (rmem_parse_hostport(donor_arg, RMEM_DEFAULT_PORT, &donor, &sslen)) {
		fprintf(stderr, "rmem-abuse: bad --donor '%s'\n", donor_arg);
		return 2;
	}
	if (token_file && rmem_token_load(token_file, token, sizeof(token),
					  &token_len, &loose)) {
		fprintf(stderr, "rmem-abuse: cannot read token file %s\n", token_file);
		return 2;
	}

	if (disconnect_wait > 0)
		return await_disconnect(disconnect_wait);
	if (granted)
		return alloc_granted_by_controller(granted);

	test_connects();

	rc = client_open(&x);
	if (!ok(rc == 0, "client X: CTRL connection accepted (rc %d)", rc))
		goto out;
	rc = client_open(&y);
	if (!ok(rc == 0, "client Y: CTRL connection accepted (rc %d)", rc))
		goto out;
	test_messages(x.ctrl.connected ? &x : &y);
	test_burst(&x);
	test_ownership(&x, &y);
	if (token_len)
		test_grants(&x, &y);

	client_close(&x);
	client_close(&y);
	rc = client_open(&z);
	ok(rc == 0, "a new client still connects after all that (rc %d)", rc);
	if (rc == 0) {
		rc = simple(&z, RMEM_MSG_KEEPALIVE, 0, 0, &r);
		ok(rc == 0 && r.free_slabs == r.total_slabs,
		   "and gets KEEPALIVE replies: %u/%u free", le32toh(r.free_slabs),
		   le32toh(r.total_slabs));
	}
out:
	client_close(&x);
	client_close(&y);
	client_close(&z);
	return tap_done("rmem-abuse");
}
