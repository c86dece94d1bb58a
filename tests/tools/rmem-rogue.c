// SPDX-License-Identifier: MIT
/*
 * rmem-rogue: proves that a donor isolates its clients.
 *
 *  1. Session A (CTRL + DATA) allocates a slab, finds it zeroed, writes a
 *     pattern at both ends with RDMA WRITE and reads it back.
 *  2. Session B (another client id, so another PD on the donor) tries
 *     RDMA READ and RDMA WRITE with A's address and rkey: each must end in
 *     IBV_WC_REM_ACCESS_ERR.  A's QP with B's slab rkey must fail the same.
 *  3. A reads its slab again: the pattern is unchanged.
 *  4. A drops every connection, reconnects with the same client id,
 *     re-opens the slab with SLAB_ATTACH and finds its data intact.
 *  5. Both free their slabs.
 * Output is TAP; exit status 0 only if every step behaved.
 *
 * With --crash instead: a child process connects, allocates a slab,
 * writes it and exits without disconnecting (as a crashed client would);
 * the parent then connects with the same client id, re-attaches the slab
 * and checks the data.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "testclient.h"
#include "../unit/tap.h"

#define CHUNK	(64u * 1024)

struct session {
	const char *name;
	uint8_t id[RMEM_CLIENT_ID_LEN];
	struct ibv_pd *pd;
	struct tc_conn ctrl, data;
	uint32_t seq;
};

static struct sockaddr_storage donor;

static int open_session(struct session *s, const char *name, bool new_id)
{
	struct rmem_cm_req req;
	int rc;

	s->name = name;
	if (new_id)
		tc_random_id(s->id);
	req = tc_req(RMEM_CONN_CTRL, 0, s->id);
	rc = tc_connect(&s->ctrl, (struct sockaddr *)&donor, &req, sizeof(req),
			true, &s->pd);
	if (!ok(rc == 0 && s->ctrl.rep.status == RMEM_CM_OK,
		"session %s: CTRL connection accepted (rc %d)", name, rc))
		return -1;
	diag("donor instance %016" PRIx64 ", slab size %" PRIu64 ", %u/%u slabs free",
	     le64toh(s->ctrl.rep.instance_id), le64toh(s->ctrl.rep.slab_size),
	     le32toh(s->ctrl.rep.free_slabs), le32toh(s->ctrl.rep.total_slabs));
	req = tc_req(RMEM_CONN_DATA, 0, s->id);
	rc = tc_connect(&s->data, (struct sockaddr *)&donor, &req, sizeof(req),
			false, &s->pd);
	if (!ok(rc == 0, "session %s: DATA connection accepted (rc %d)", name, rc))
		return -1;
	return 0;
}

static void close_session(struct session *s, bool keep_pd)
{
	tc_close(&s->data);
	tc_close(&s->ctrl);
	if (!keep_pd && s->pd) {
		ibv_dealloc_pd(s->pd);
		s->pd = NULL;
	}
}

/* A fresh DATA connection of session @s (after a failed one). */
static int new_data(struct session *s, struct tc_conn *c, uint16_t queue)
{
	struct rmem_cm_req req = tc_req(RMEM_CONN_DATA, queue, s->id);

	return tc_connect(c, (struct sockaddr *)&donor, &req, sizeof(req),
			  false, &s->pd);
}

static int ctrl(struct session *s, uint8_t type, uint32_t id, uint32_t gen,
		struct rmem_msg *reply)
{
	struct rmem_msg m = tc_msg(type, ++s->seq, id, gen);

	return tc_ctrl_call(&s->ctrl, &m, sizeof(m), reply);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131u + seed) ^ (i >> 9));
}

/* RDMA op that must succeed; returns true if it did. */
static bool rdma_ok(struct tc_conn *c, enum ibv_wr_opcode op, void *buf,
		    struct ibv_mr *mr, uint64_t raddr, uint32_t rkey)
{
	enum ibv_wc_status st = IBV_WC_GENERAL_ERR;
	int rc = tc_rdma(c, op, buf, CHUNK, mr, raddr, rkey, &st);

	if (rc || st != IBV_WC_SUCCESS)
		diag("%s at 0x%" PRIx64 " rkey 0x%x: rc %d, %s",
		     op == IBV_WR_RDMA_READ ? "READ" : "WRITE", raddr, rkey, rc,
		     rc ? "no completion" : ibv_wc_status_str(st));
	return !rc && st == IBV_WC_SUCCESS;
}

/* RDMA op that must be refused by the donor's HCA with a remote access error. */
static void rdma_refused(struct tc_conn *c, enum ibv_wr_opcode op, void *buf,
			 struct ibv_mr *mr, uint64_t raddr, uint32_t rkey,
			 const char *what)
{
	enum ibv_wc_status st = IBV_WC_SUCCESS;
	int rc = tc_rdma(c, op, buf, CHUNK, mr, raddr, rkey, &st);

	ok(rc == 0 && st == IBV_WC_REM_ACCESS_ERR, "%s: %s", what,
	   rc ? "no completion at all" : ibv_wc_status_str(st));
}

/* Child side of --crash: fill a slab, hand its descriptor up, die. */
static void crash_child(struct session *s, int fd, const uint8_t *pattern)
{
	struct rmem_slab_desc desc;
	struct ibv_mr *mr;
	struct rmem_msg r;
	uint8_t *buf = aligned_alloc(4096, CHUNK);

	if (!buf || open_session(s, "crashing client", false))
		_exit(1);
	mr = ibv_reg_mr(s->pd, buf, CHUNK, IBV_ACCESS_LOCAL_WRITE);
	if (!mr || ctrl(s, RMEM_MSG_SLAB_ALLOC, RMEM_SLAB_ANY, 0, &r) != 0)
		_exit(1);
	desc = r.slab;
	memcpy(buf, pattern, CHUNK);
	if (!rdma_ok(&s->data, IBV_WR_RDMA_WRITE, buf, mr, le64toh(desc.addr), le32toh(desc.rkey)) ||
	    !rdma_ok(&s->data, IBV_WR_RDMA_WRITE, buf, mr,
		     le64toh(desc.addr) + le64toh(desc.length) - CHUNK, le32toh(desc.rkey)))
		_exit(1);
	if (write(fd, &desc, sizeof(desc)) != sizeof(desc))
		_exit(1);
	/* No disconnect, no cleanup: the kernel tears the connections down. */
	_exit(0);
}

static int crash_test(const uint8_t *pattern)
{
	struct session s = { 0 };
	struct rmem_slab_desc desc;
	struct ibv_mr *mr = NULL;
	struct rmem_msg r;
	uint8_t *buf = aligned_alloc(4096, CHUNK);
	int pfd[2], status, rc;
	pid_t pid;

	tc_random_id(s.id);
	if (!buf || pipe(pfd))
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		crash_child(&s, pfd[1], pattern);
	}
	close(pfd[1]);
	rc = (int)read(pfd[0], &desc, sizeof(desc));
	waitpid(pid, &status, 0);
	if (!ok(rc == sizeof(desc) && WIFEXITED(status) && !WEXITSTATUS(status),
		"child allocated and wrote slab %u gen %u, then exited without "
		"disconnecting", le32toh(desc.slab_id), le32toh(desc.generation)))
		goto out;

	/* The donor learns of the dead connections from the kernel's teardown. */
	usleep(500 * 1000);
	if (open_session(&s, "same client id after the crash", false))
		goto out;
	mr = ibv_reg_mr(s.pd, buf, CHUNK, IBV_ACCESS_LOCAL_WRITE);
	rc = ctrl(&s, RMEM_MSG_SLAB_ATTACH, le32toh(desc.slab_id), le32toh(desc.generation), &r);
	ok(rc == 0 && r.slab.addr == desc.addr, "SLAB_ATTACH after the crash -> %s (rkey 0x%x, was 0x%x)",
	   rc < 0 ? "no reply" : tc_errname(rc), le32toh(r.slab.rkey), le32toh(desc.rkey));
	memset(buf, 0, CHUNK);
	ok(mr && rdma_ok(&s.data, IBV_WR_RDMA_READ, buf, mr, le64toh(desc.addr), le32toh(r.slab.rkey)) &&
	   !memcmp(buf, pattern, CHUNK) &&
	   rdma_ok(&s.data, IBV_WR_RDMA_READ, buf, mr,
		   le64toh(desc.addr) + le64toh(desc.length) - CHUNK, le32toh(r.slab.rkey)) &&
	   !memcmp(buf, pattern, CHUNK), "data written before the crash is intact");
	rc = ctrl(&s, RMEM_MSG_SLAB_FREE, le32toh(desc.slab_id), le32toh(desc.generation), &r);
	ok(rc == 0, "SLAB_FREE -> %s", rc < 0 ? "no reply" : tc_errname(rc));
out:
	if (mr)
		ibv_dereg_mr(mr);
	close_session(&s, false);
	free(buf);
	if (!tap_count)
		ok(0, "nothing ran");
	return tap_done("rmem-rogue --crash");
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: rmem-rogue --donor ADDR[:PORT] [--wait SECONDS] [--crash]\n"
		"Checks that one client's rkey opens nothing for another client\n"
		"of an rmem donor, and that slabs survive a client reconnect.\n"
		"--wait: seconds to keep retrying while nothing listens (default 120).\n"
		"--crash: check instead that a slab survives its client's crash.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "donor", required_argument, NULL, 'd' },
		{ "wait", required_argument, NULL, 'w' },
		{ "crash", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct session a = { 0 }, b = { 0 };
	struct tc_conn b2 = { 0 }, a2 = { 0 };
	struct rmem_msg r;
	struct rmem_slab_desc sa, sb;
	struct ibv_mr *mra = NULL, *mrb = NULL;
	uint8_t *bufa, *bufb, *pattern;
	const char *donor_arg = NULL;
	socklen_t sslen;
	uint64_t addr_a, len_a;
	uint32_t rkey_a;
	bool crash_mode = false;
	int c, rc;

	tc_wait_seconds = 120;
	while ((c = getopt_long(argc, argv, "d:w:Ch", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': donor_arg = optarg; break;
		case 'C': crash_mode = true; break;
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
		fprintf(stderr, "rmem-rogue: bad --donor '%s'\n", donor_arg);
		return 2;
	}

	bufa = aligned_alloc(4096, 2 * CHUNK);
	bufb = aligned_alloc(4096, 2 * CHUNK);
	pattern = malloc(CHUNK);
	if (!bufa || !bufb || !pattern)
		return 2;
	fill(pattern, CHUNK, 0xa5);
	if (crash_mode) {
		free(bufa);
		free(bufb);
		rc = crash_test(pattern);
		free(pattern);
		return rc;
	}

	/* 1. A allocates, writes, reads back. */
	if (open_session(&a, "A", true))
		goto out;
	mra = ibv_reg_mr(a.pd, bufa, 2 * CHUNK, IBV_ACCESS_LOCAL_WRITE);
	rc = ctrl(&a, RMEM_MSG_SLAB_ALLOC, RMEM_SLAB_ANY, 0, &r);
	if (!ok(mra && rc == 0, "A: SLAB_ALLOC any -> %s", rc < 0 ? "no reply" : tc_errname(rc)))
		goto out;
	sa = r.slab;
	addr_a = le64toh(sa.addr);
	len_a = le64toh(sa.length);
	rkey_a = le32toh(sa.rkey);
	diag("A holds slab %u gen %u at 0x%" PRIx64 " len %" PRIu64 " rkey 0x%x",
	     le32toh(sa.slab_id), le32toh(sa.generation), addr_a, len_a, rkey_a);
	if (!ok(len_a >= 2 * CHUNK, "slab is big enough for the test"))
		goto out;

	memset(bufa, 0xff, CHUNK);
	ok(rdma_ok(&a.data, IBV_WR_RDMA_READ, bufa, mra, addr_a, rkey_a) &&
	   bufa[0] == 0 && !memcmp(bufa, bufa + 1, CHUNK - 1),
	   "A: a new slab reads back as zeros");
	memcpy(bufa, pattern, CHUNK);
	ok(rdma_ok(&a.data, IBV_WR_RDMA_WRITE, bufa, mra, addr_a, rkey_a) &&
	   rdma_ok(&a.data, IBV_WR_RDMA_WRITE, bufa, mra, addr_a + len_a - CHUNK, rkey_a),
	   "A: RDMA WRITE of the pattern at the start and the end of the slab");
	memset(bufa, 0, CHUNK);
	ok(rdma_ok(&a.data, IBV_WR_RDMA_READ, bufa, mra, addr_a + len_a - CHUNK, rkey_a) &&
	   !memcmp(bufa, pattern, CHUNK), "A: RDMA READ returns the pattern");

	/* 2. B cannot touch it. */
	if (open_session(&b, "B", true))
		goto out;
	mrb = ibv_reg_mr(b.pd, bufb, 2 * CHUNK, IBV_ACCESS_LOCAL_WRITE);
	if (!ok(mrb != NULL, "B: local buffer registered"))
		goto out;
	rdma_refused(&b.data, IBV_WR_RDMA_READ, bufb, mrb, addr_a, rkey_a,
		     "B: RDMA READ with A's rkey is refused");
	rc = new_data(&b, &b2, 1);
	if (!ok(rc == 0, "B: second DATA connection (the first is in error now)"))
		goto out;
	memset(bufb, 0xee, CHUNK);
	rdma_refused(&b2, IBV_WR_RDMA_WRITE, bufb, mrb, addr_a, rkey_a,
		     "B: RDMA WRITE with A's rkey is refused");
	tc_close(&b2);

	/* And the other way round: B's own slab, A's QP. */
	rc = ctrl(&b, RMEM_MSG_SLAB_ALLOC, RMEM_SLAB_ANY, 0, &r);
	ok(rc == 0, "B: SLAB_ALLOC any -> %s", rc < 0 ? "no reply" : tc_errname(rc));
	sb = r.slab;
	rc = new_data(&b, &b2, 2);
	ok(rc == 0 && rdma_ok(&b2, IBV_WR_RDMA_WRITE, bufb, mrb, le64toh(sb.addr),
			      le32toh(sb.rkey)), "B: writes its own slab");
	tc_close(&b2);
	rc = new_data(&a, &a2, 1);
	if (rc == 0)
		rdma_refused(&a2, IBV_WR_RDMA_READ, bufa, mra, le64toh(sb.addr),
			     le32toh(sb.rkey), "A: RDMA READ with B's rkey is refused");
	else
		ok(0, "A: second DATA connection (rc %d)", rc);
	tc_close(&a2);

	/* 3. A's data is untouched. */
	memset(bufa, 0, 2 * CHUNK);
	ok(rdma_ok(&a.data, IBV_WR_RDMA_READ, bufa, mra, addr_a, rkey_a) &&
	   !memcmp(bufa, pattern, CHUNK), "A: pattern unchanged after B's attempts");

	/* 4. A reconnects and re-opens the slab. */
	ibv_dereg_mr(mra);
	mra = NULL;
	close_session(&a, false);
	/* Let the donor process the disconnects so the session really goes. */
	usleep(300 * 1000);
	if (open_session(&a, "A (reconnected, same client id)", false))
		goto out;
	mra = ibv_reg_mr(a.pd, bufa, 2 * CHUNK, IBV_ACCESS_LOCAL_WRITE);
	rc = ctrl(&a, RMEM_MSG_SLAB_ATTACH, le32toh(sa.slab_id),
		  le32toh(sa.generation) + 1, &r);
	ok(rc == ESTALE, "A: SLAB_ATTACH with the wrong generation -> %s",
	   rc < 0 ? "no reply" : tc_errname(rc));
	rc = ctrl(&a, RMEM_MSG_SLAB_ATTACH, le32toh(sa.slab_id),
		  le32toh(sa.generation), &r);
	ok(rc == 0 && le64toh(r.slab.addr) == addr_a && r.slab.generation == sa.generation,
	   "A: SLAB_ATTACH -> %s, rkey 0x%x (was 0x%x)",
	   rc < 0 ? "no reply" : tc_errname(rc), le32toh(r.slab.rkey), rkey_a);
	memset(bufa, 0, 2 * CHUNK);
	ok(mra && rdma_ok(&a.data, IBV_WR_RDMA_READ, bufa, mra, addr_a, le32toh(r.slab.rkey)) &&
	   !memcmp(bufa, pattern, CHUNK) &&
	   rdma_ok(&a.data, IBV_WR_RDMA_READ, bufa, mra, addr_a + len_a - CHUNK,
		   le32toh(r.slab.rkey)) && !memcmp(bufa, pattern, CHUNK),
	   "A: data survived the reconnect");
	/* The old session's registration went with its PD. */
	if (le32toh(r.slab.rkey) != rkey_a) {
		rc = new_data(&a, &a2, 3);
		if (rc == 0)
			rdma_refused(&a2, IBV_WR_RDMA_READ, bufa, mra, addr_a, rkey_a,
				     "A: the rkey from before the reconnect is dead");
		else
			ok(0, "A: extra DATA connection (rc %d)", rc);
		tc_close(&a2);
	} else {
		ok(1, "# SKIP the device reused the old rkey value");
	}
	rc = ctrl(&b, RMEM_MSG_SLAB_ATTACH, le32toh(sa.slab_id), le32toh(sa.generation), &r);
	ok(rc == EPERM, "B: SLAB_ATTACH of A's slab -> %s", rc < 0 ? "no reply" : tc_errname(rc));

	/* 5. Clean up. */
	rc = ctrl(&a, RMEM_MSG_SLAB_FREE, le32toh(sa.slab_id), le32toh(sa.generation), &r);
	ok(rc == 0, "A: SLAB_FREE -> %s", rc < 0 ? "no reply" : tc_errname(rc));
	rc = ctrl(&b, RMEM_MSG_SLAB_FREE, le32toh(sb.slab_id), le32toh(sb.generation), &r);
	ok(rc == 0, "B: SLAB_FREE -> %s", rc < 0 ? "no reply" : tc_errname(rc));
	rc = ctrl(&b, RMEM_MSG_KEEPALIVE, 0, 0, &r);
	ok(rc == 0 && r.free_slabs == r.total_slabs,
	   "KEEPALIVE: %u/%u slabs free again", le32toh(r.free_slabs),
	   le32toh(r.total_slabs));

out:
	if (mra)
		ibv_dereg_mr(mra);
	if (mrb)
		ibv_dereg_mr(mrb);
	close_session(&a, false);
	close_session(&b, false);
	free(bufa);
	free(bufb);
	free(pattern);
	if (!tap_count)
		ok(0, "nothing ran");
	return tap_done("rmem-rogue");
}
