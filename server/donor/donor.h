/* SPDX-License-Identifier: MIT */
/*
 * rmem-donord state.  One epoll loop; everything below is touched only
 * from that loop (the control socket's and the registrar's threads hand
 * work to it or read atomic counters).
 *
 *   donor ─┬─ slab pool (slabs.c): the pinned memory and who holds what
 *          ├─ devices: one per verbs context seen, with the completion
 *          │  channel shared by the CTRL CQs of that context
 *          └─ sessions (session.c), one per connected client id:
 *                 PD ─┬─ MRs of the client's slabs
 *                     └─ connections (conn.c): CTRL (SEND/RECV) and
 *                        DATA (one-sided only), each a cm_id + QP + CQ
 */
#ifndef RMEM_DONOR_H
#define RMEM_DONOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <rmem/rmem_proto.h>

#include "ctrl.h"
#include "slabs.h"

/* What an epoll event points at. */
enum donor_fd_kind {
	DONOR_FD_CM,
	DONOR_FD_COMP,
	DONOR_FD_SIGNAL,
	DONOR_FD_TIMER,
	DONOR_FD_CONTROL,
	DONOR_FD_ASYNC,		/* async events of the listener's device */
	DONOR_FD_RELISTEN,	/* retry timer while the listener is gone */
};

struct donor_fd {
	enum donor_fd_kind kind;
	void *obj;
};

struct donor_dev {
	struct ibv_context *verbs;	/* owned by librdmacm */
	struct ibv_comp_channel *chan;
	struct donor_fd efd;
	uint32_t max_qp_rd_atom;
	struct donor_dev *next;
};

struct conn;

struct session {
	uint8_t client_id[RMEM_CLIENT_ID_LEN];
	struct donor *donor;
	struct donor_dev *dev;
	struct ibv_pd *pd;
	struct conn *conns;
	unsigned int nconns;
	uint64_t last_heard_ms;	/* CTRL message or new connection */
	bool idle_closing;
	struct session *next;
};

struct conn {
	struct rdma_cm_id *id;
	struct session *sess;
	enum rmem_conn_type type;
	uint16_t queue;
	bool established;
	bool disconnecting;
	struct ibv_cq *cq;
	/* CTRL only: RMEM_CTRL_DEPTH receive then RMEM_CTRL_DEPTH send slots */
	uint8_t *bufs;
	struct ibv_mr *buf_mr;
	struct conn *next;	/* in sess->conns */
};

struct donor {
	struct slab_pool pool;
	struct ctrl_env env;
	uint64_t instance_id;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;	/* NULL while re-creating it */
	struct sockaddr_storage listen_addr;
	struct ibv_context *async_ctx;	/* device whose async events we read */
	struct donor_fd async_efd;
	int relisten_fd;
	struct donor_fd relisten_efd;
	unsigned int relisten_tries;
	uint64_t relisten_since_ms;
	const char *relisten_why;
	struct donor_fd cm_efd;
	int epfd;
	int sigfd;
	struct donor_fd sig_efd;
	int timerfd;
	struct donor_fd timer_efd;
	struct ctlsock *ctl;
	struct donor_fd ctl_efd;
	struct donor_dev *devs;
	struct session *sessions;
	unsigned int nsessions;
	unsigned int nconns;
	bool stop;
	int exit_code;
	/* Drop sessions whose client sent nothing for this long; 0 = never. */
	unsigned int idle_timeout_s;
};

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t donor_now_ms(void);

/* session.c */
struct donor_dev *donor_dev_get(struct donor *d, struct ibv_context *verbs);
void donor_devs_destroy(struct donor *d);
struct session *session_find(struct donor *d, const uint8_t *client_id);
/* 32 hex digits of a client id, for logs; a static buffer. */
const char *session_id_hex(const uint8_t *client_id);
struct session *session_create(struct donor *d, const uint8_t *client_id,
			       struct donor_dev *dev);
/* Drop a session with no connections left: MRs and PD go, slabs stay. */
void session_destroy(struct session *sess);
int session_map_slab(void *sess, struct slab *slab);
void session_unmap_slab(void *sess, struct slab *slab);

/* conn.c */
struct conn *conn_create(struct session *sess, struct rdma_cm_id *id,
			 enum rmem_conn_type type, uint16_t queue);
void conn_destroy(struct conn *conn);
void conn_disconnect(struct conn *conn);
void donor_comp_event(struct donor *d, struct donor_dev *dev);

/*
 * fence.c: when @keep is a new CTRL connection, @disconnect every other
 * connection of @sess not already going (conn_disconnect, or a test's
 * stand-in); returns how many.  DATA connections fence nothing.
 */
unsigned int session_fence(struct session *sess, const struct conn *keep,
			   void (*disconnect)(struct conn *conn));

/* Disconnect sessions idle past d->idle_timeout_s (called periodically). */
void donor_reap_idle(struct donor *d);

/* listen.c: the listening id, re-created after a link outage */
int donor_listen(struct donor *d, const struct sockaddr *addr);
void donor_relisten(struct donor *d, const char *why);
void donor_relisten_timer(struct donor *d);
void donor_async_event(struct donor *d);

/* cm.c */
void donor_cm_event(struct donor *d);
void donor_disconnect_all(struct donor *d);

#endif /* RMEM_DONOR_H */
