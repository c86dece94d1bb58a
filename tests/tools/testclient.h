/* SPDX-License-Identifier: MIT */
/*
 * A small synchronous userspace rmem client for tests: connects CTRL and
 * DATA connections to a donor with any private data (good or bad), sends
 * control messages (well-formed or not) and issues one-sided RDMA.
 * Deliberately simple (blocking, one operation at a time): it checks the
 * donor, it is not a model for the kernel client.
 */
#ifndef RMEM_TESTCLIENT_H
#define RMEM_TESTCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <rmem/rmem_proto.h>

#include "tc_msg.h"

#define TC_TIMEOUT_MS	10000

struct tc_conn {
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_cq *cq;
	struct ibv_pd *pd;	/* borrowed from the caller */
	bool connected;
	struct rmem_cm_rep rep;	/* donor's accept or reject data */
	int reject_status;	/* rep.status of a reject, -1 if none came */
	/* CTRL: RMEM_CTRL_DEPTH receive slots then one send slot per depth */
	uint8_t *bufs;
	struct ibv_mr *buf_mr;
	uint32_t next_send;
};

/*
 * How long tc_connect keeps retrying while nothing listens at the donor's
 * address (the donor may still be starting); 0 = no retry.
 */
extern int tc_wait_seconds;

/* Random 16-byte client id from getrandom. */
void tc_random_id(uint8_t id[RMEM_CLIENT_ID_LEN]);

/* A well-formed rmem_cm_req. */
struct rmem_cm_req tc_req(enum rmem_conn_type type, uint16_t queue,
			  const uint8_t id[RMEM_CLIENT_ID_LEN]);

/*
 * Connect to @dst with @priv (@priv_len bytes) as private data.  *@pd is
 * allocated on the route's device if NULL.  @ctrl posts receive buffers.
 * Returns 0 when accepted, 1 when rejected (reject_status set), -errno
 * on a local failure or time-out.
 */
int tc_connect(struct tc_conn *c, const struct sockaddr *dst,
	       const void *priv, uint8_t priv_len, bool ctrl,
	       struct ibv_pd **pd);
void tc_close(struct tc_conn *c);

/* Wait for the donor to disconnect @c: 0, -ETIMEDOUT, or -EPROTO if
 * another CM event came first. */
int tc_wait_disconnect(struct tc_conn *c, int timeout_ms);


/* Send @len bytes of @req; 0 once queued, -errno on failure. */
int tc_ctrl_send(struct tc_conn *c, const void *req, size_t len);
/* Wait for the next reply; 0, or -ETIMEDOUT / -EIO (error completion). */
int tc_ctrl_recv(struct tc_conn *c, struct rmem_msg *reply);
/* tc_ctrl_send + tc_ctrl_recv; returns reply status (>= 0) or -errno. */
int tc_ctrl_call(struct tc_conn *c, const void *req, size_t len,
		 struct rmem_msg *reply);

/*
 * One RDMA READ or WRITE of @len bytes between @local (in @mr) and
 * @raddr/@rkey.  Returns 0 with the completion status in *@status, or
 * -ETIMEDOUT when none came.
 */
int tc_rdma(struct tc_conn *c, enum ibv_wr_opcode op, void *local,
	    size_t len, struct ibv_mr *mr, uint64_t raddr, uint32_t rkey,
	    enum ibv_wc_status *status);

/* "ENOSPC" etc. for the statuses the protocol uses. */
const char *tc_errname(int status);

#endif /* RMEM_TESTCLIENT_H */
