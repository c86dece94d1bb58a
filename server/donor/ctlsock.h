/* SPDX-License-Identifier: MIT */
/*
 * The donor's local control endpoint: HTTP/JSON on a unix socket (root
 * only, mode 0600), for `rmemctl donate/undonate`:
 *   GET  /v1/status             instance, slab size, total/free/assigned
 *   POST /v1/grow   {"bytes":N} lend N more bytes
 *   POST /v1/shrink {"bytes":N} give back up to N bytes of free slabs
 *                   ({} = all that can go)
 * libmicrohttpd runs in its own thread; the pool belongs to the main epoll
 * loop, so each request is handed over through an eventfd and its thread
 * waits for the loop's answer.  Only one request is in flight at a time.
 */
#ifndef RMEM_DONOR_CTLSOCK_H
#define RMEM_DONOR_CTLSOCK_H

#include <stdint.h>

#define DONOR_CONTROL_SOCKET_DEFAULT "/run/rmem/donord.sock"

struct donor;
struct ctlsock;

/* Called on the main loop after the pool changed size (heartbeat now). */
typedef void (*ctlsock_changed_fn)(void *arg);

/*
 * Bind @path (replacing a stale socket file), serve it, and return the
 * eventfd the main loop must watch in *@evfd.  0 or -errno.
 */
int ctlsock_start(const char *path, struct donor *d, ctlsock_changed_fn changed,
		  void *arg, struct ctlsock **out, int *evfd);
/* Main loop: the eventfd is readable; run the pending request. */
void ctlsock_dispatch(struct ctlsock *c);
void ctlsock_stop(struct ctlsock *c);

#endif /* RMEM_DONOR_CTLSOCK_H */
