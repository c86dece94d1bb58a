// SPDX-License-Identifier: MIT
/*
 * The listening rdma_cm id, and keeping it alive across link outages.
 *
 * A listening id does not survive its port going down and up: rxe (and
 * RoCE in general) removes the netdev's GIDs on link down and adds them
 * back on link up, and afterwards connection requests to the old
 * listener are rejected (IB_CM_REJ_INVALID_SERVICE_ID) while a listener
 * created after the outage works.  rdma_cm tells the listener nothing,
 * so the donor watches the device's async events and re-creates the
 * listening id (destroy + create + bind + listen on the same address)
 * when the port is active again.  Until the GID is back, bind fails:
 * retry every second from a timer.  Established connections are their
 * own ids and are not touched; their clients reconnect by themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "addr.h"
#include "donor.h"
#include "log.h"

#define RELISTEN_PERIOD_S	1
/* While the address stays away, say so once a minute, not every second. */
#define RELISTEN_WARN_EVERY	60u

static void addr_name(const struct donor *d, char *buf, size_t len)
{
	rmem_format_sockaddr((const struct sockaddr *)&d->listen_addr, buf, len);
}

/* create + bind + listen; on failure no id is left behind. */
static int listen_open(struct donor *d, bool quiet)
{
	char name[80];
	int err;

	addr_name(d, name, sizeof(name));
	if (rdma_create_id(d->ec, &d->listen_id, NULL, RDMA_PS_TCP)) {
		log_error("rdma_create_id: %s", strerror(errno));
		d->listen_id = NULL;
		return -1;
	}
	if (rdma_bind_addr(d->listen_id, (struct sockaddr *)&d->listen_addr)) {
		err = errno;
		if (!quiet)
			log_error("cannot bind %s: %s (is an RDMA device on "
				  "that address?)", name, strerror(err));
		goto fail;
	}
	if (rdma_listen(d->listen_id, 64)) {
		err = errno;
		if (!quiet)
			log_error("rdma_listen on %s: %s", name, strerror(err));
		goto fail;
	}
	return 0;
fail:
	rdma_destroy_id(d->listen_id);
	d->listen_id = NULL;
	errno = err;
	return -1;
}

/*
 * Read the async events of the listener's device.  The context is
 * librdmacm's and stays for the process's life (librdmacm never closes
 * it), so a re-created listener on the same device keeps the same fd.
 */
static void watch_device(struct donor *d)
{
	struct ibv_context *verbs = d->listen_id ? d->listen_id->verbs : NULL;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->async_efd };
	int flags;

	if (!verbs || verbs == d->async_ctx)
		return;		/* wildcard bind: no device; or already watched */
	if (d->async_ctx)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->async_ctx->async_fd, NULL);
	d->async_ctx = NULL;
	flags = fcntl(verbs->async_fd, F_GETFL);
	if (flags < 0 || fcntl(verbs->async_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, verbs->async_fd, &ev) < 0) {
		log_warn("cannot watch async events of %s: %s (the listener "
			 "will not be re-created after a link outage)",
			 ibv_get_device_name(verbs->device), strerror(errno));
		return;
	}
	d->async_efd.kind = DONOR_FD_ASYNC;
	d->async_ctx = verbs;
}

int donor_listen(struct donor *d, const struct sockaddr *addr)
{
	char name[80];

	memcpy(&d->listen_addr, addr, addr->sa_family == AF_INET6 ?
	       sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	d->relisten_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->relisten_efd.kind = DONOR_FD_RELISTEN;
	if (d->relisten_fd < 0 ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->relisten_fd,
		      &(struct epoll_event){ .events = EPOLLIN,
					     .data.ptr = &d->relisten_efd }) < 0) {
		log_error("relisten timer: %s", strerror(errno));
		return -1;
	}
	if (listen_open(d, false))
		return -1;
	addr_name(d, name, sizeof(name));
	log_info("listening on %s%s%s", name,
		 d->listen_id->verbs ? " device " : "",
		 d->listen_id->verbs ?
			ibv_get_device_name(d->listen_id->verbs->device) : "");
	watch_device(d);
	return 0;
}

static void arm_retry(struct donor *d, bool on)
{
	struct itimerspec its = { 0 };

	if (on) {
		its.it_value.tv_sec = RELISTEN_PERIOD_S;
		its.it_interval.tv_sec = RELISTEN_PERIOD_S;
	}
	if (timerfd_settime(d->relisten_fd, 0, &its, NULL))
		log_error("relisten timer: %s", strerror(errno));
}

/* One attempt; on failure the timer keeps trying every second. */
static void relisten_try(struct donor *d)
{
	uint64_t ms = donor_now_ms() - d->relisten_since_ms;
	char name[80];

	addr_name(d, name, sizeof(name));
	if (listen_open(d, true)) {
		if (d->relisten_tries++ % RELISTEN_WARN_EVERY == 0)
			log_warn("cannot listen on %s yet (%s): retrying every "
				 "%d s", name, strerror(errno), RELISTEN_PERIOD_S);
		arm_retry(d, true);
		return;
	}
	arm_retry(d, false);
	log_info("listener re-created on %s after %s (%llu.%03llu s, %u "
		 "retries)", name, d->relisten_why,
		 (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
		 d->relisten_tries);
	d->relisten_tries = 0;
	watch_device(d);
}

/*
 * Drop the listening id and listen again on the same address.  @why is a
 * string literal naming the trigger, for the log.  Only the listener
 * goes: connection ids are separate and keep running.
 */
void donor_relisten(struct donor *d, const char *why)
{
	if (d->listen_id) {
		rdma_destroy_id(d->listen_id);	/* its events are all acked */
		d->listen_id = NULL;
	} else if (d->relisten_tries) {
		return;		/* already retrying from the timer */
	}
	d->relisten_why = why;
	d->relisten_since_ms = donor_now_ms();
	d->relisten_tries = 0;
	relisten_try(d);
}

void donor_relisten_timer(struct donor *d)
{
	uint64_t ticks;

	if (read(d->relisten_fd, &ticks, sizeof(ticks)) <= 0 || d->listen_id)
		return;
	relisten_try(d);
}

/*
 * The device's async events.  PORT_ACTIVE on the listener's port means
 * the link is back: the old listener is dead by then (see the top).
 */
void donor_async_event(struct donor *d)
{
	struct ibv_async_event ev;

	while (d->async_ctx && !ibv_get_async_event(d->async_ctx, &ev)) {
		enum ibv_event_type type = ev.event_type;
		int port = ev.element.port_num;

		ibv_ack_async_event(&ev);
		if (type != IBV_EVENT_PORT_ERR && type != IBV_EVENT_PORT_ACTIVE &&
		    type != IBV_EVENT_GID_CHANGE) {
			log_debug("device %s: async event %s",
				  ibv_get_device_name(d->async_ctx->device),
				  ibv_event_type_str(type));
			continue;
		}
		log_info("device %s port %d: %s",
			 ibv_get_device_name(d->async_ctx->device), port,
			 ibv_event_type_str(type));
		if (type == IBV_EVENT_PORT_ACTIVE &&
		    (!d->listen_id || port == d->listen_id->port_num))
			donor_relisten(d, "port active");
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		log_error("ibv_get_async_event: %s", strerror(errno));
}
