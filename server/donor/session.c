// SPDX-License-Identifier: MIT
/*
 * Devices and sessions.  A session is the donor side of one client id:
 * it owns the protection domain in which that client's QPs live and its
 * slabs are registered, so an rkey of one client is meaningless on the
 * QPs of another.  When the last connection of a session goes, the MRs
 * and the PD go with it, but the slabs stay assigned to the client id
 * (contents intact) until it frees them or the donor exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "donor.h"
#include "log.h"

struct donor_dev *donor_dev_get(struct donor *d, struct ibv_context *verbs)
{
	struct ibv_device_attr attr;
	struct epoll_event ev = { .events = EPOLLIN };
	struct donor_dev *dev;
	int flags;

	for (dev = d->devs; dev; dev = dev->next)
		if (dev->verbs == verbs)
			return dev;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->verbs = verbs;
	if (ibv_query_device(verbs, &attr)) {
		log_error("ibv_query_device(%s): %s",
			  ibv_get_device_name(verbs->device), strerror(errno));
		goto out_free;
	}
	dev->max_qp_rd_atom = (uint32_t)attr.max_qp_rd_atom;

	dev->chan = ibv_create_comp_channel(verbs);
	if (!dev->chan) {
		log_error("ibv_create_comp_channel: %s", strerror(errno));
		goto out_free;
	}
	flags = fcntl(dev->chan->fd, F_GETFL);
	if (flags < 0 || fcntl(dev->chan->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		goto out_chan;
	dev->efd.kind = DONOR_FD_COMP;
	dev->efd.obj = dev;
	ev.data.ptr = &dev->efd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, dev->chan->fd, &ev) < 0) {
		log_error("epoll_ctl(comp channel): %s", strerror(errno));
		goto out_chan;
	}
	dev->next = d->devs;
	d->devs = dev;
	log_info("device %s: max_qp_rd_atom %u",
		 ibv_get_device_name(verbs->device), dev->max_qp_rd_atom);
	return dev;

out_chan:
	ibv_destroy_comp_channel(dev->chan);
out_free:
	free(dev);
	return NULL;
}

void donor_devs_destroy(struct donor *d)
{
	while (d->devs) {
		struct donor_dev *dev = d->devs;

		d->devs = dev->next;
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, dev->chan->fd, NULL);
		if (ibv_destroy_comp_channel(dev->chan))
			log_warn("ibv_destroy_comp_channel: %s", strerror(errno));
		free(dev);
	}
}

struct session *session_find(struct donor *d, const uint8_t *client_id)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (!memcmp(s->client_id, client_id, RMEM_CLIENT_ID_LEN))
			return s;
	return NULL;
}

/* 32 hex digits, for logs: client ids are what an operator greps for. */
const char *session_id_hex(const uint8_t *id)
{
	static char buf[2 * RMEM_CLIENT_ID_LEN + 1];

	for (int i = 0; i < RMEM_CLIENT_ID_LEN; i++) {
		buf[2 * i] = "0123456789abcdef"[id[i] >> 4];
		buf[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
	}
	return buf;
}

struct session *session_create(struct donor *d, const uint8_t *client_id,
			       struct donor_dev *dev)
{
	struct session *sess = calloc(1, sizeof(*sess));

	if (!sess)
		return NULL;
	sess->pd = ibv_alloc_pd(dev->verbs);
	if (!sess->pd) {
		log_error("ibv_alloc_pd: %s", strerror(errno));
		free(sess);
		return NULL;
	}
	memcpy(sess->client_id, client_id, RMEM_CLIENT_ID_LEN);
	sess->last_heard_ms = donor_now_ms();
	sess->donor = d;
	sess->dev = dev;
	sess->next = d->sessions;
	d->sessions = sess;
	d->nsessions++;
	log_info("session %s: created (%u slabs held from before)",
		 session_id_hex(client_id), slab_count_owned(&d->pool, client_id));
	return sess;
}

void session_destroy(struct session *sess)
{
	struct donor *d = sess->donor;
	struct session **pp;
	uint32_t held = 0;

	/* Registrations first: a PD with MRs in it cannot be freed. */
	for (uint32_t i = 0; i < d->pool.count; i++) {
		struct slab *slab = d->pool.slabs[i];

		if (!slab->assigned ||
		    memcmp(slab->owner, sess->client_id, RMEM_CLIENT_ID_LEN))
			continue;
		held++;
		if (slab->mr)
			session_unmap_slab(sess, slab);
	}
	if (ibv_dealloc_pd(sess->pd))
		log_error("ibv_dealloc_pd: %s", strerror(errno));

	for (pp = &d->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == sess) {
			*pp = sess->next;
			break;
		}
	}
	d->nsessions--;
	log_info("session %s: closed, %u slabs kept for it", session_id_hex(sess->client_id),
		 held);
	free(sess);
}

int session_map_slab(void *arg, struct slab *slab)
{
	struct session *sess = arg;

	slab->mr = ibv_reg_mr(sess->pd, slab->addr, sess->donor->pool.slab_size,
			      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
			      IBV_ACCESS_REMOTE_WRITE);
	if (!slab->mr)
		return errno ? -errno : -ENOMEM;
	return 0;
}

void session_unmap_slab(void *arg, struct slab *slab)
{
	(void)arg;
	if (ibv_dereg_mr(slab->mr))
		log_error("ibv_dereg_mr(slab %u): %s", slab->id, strerror(errno));
	slab->mr = NULL;
}

uint64_t donor_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A client whose host died never says goodbye, and the donor sends nothing
 * on its own that would notice: without this its QPs, PD and MRs would stay
 * forever.  Clients send KEEPALIVE every second or so; one silent for the
 * whole timeout is disconnected.  Its slabs stay assigned, as after any
 * disconnect, so a client that was merely slow re-attaches them.
 */
void donor_reap_idle(struct donor *d)
{
	uint64_t now = donor_now_ms();

	if (!d->idle_timeout_s)
		return;
	for (struct session *s = d->sessions; s; s = s->next) {
		if (s->idle_closing ||
		    now - s->last_heard_ms < (uint64_t)d->idle_timeout_s * 1000)
			continue;
		log_warn("session %s: nothing heard for %u s: disconnecting "
			 "(its slabs are kept)", session_id_hex(s->client_id),
			 d->idle_timeout_s);
		s->idle_closing = true;
		for (struct conn *c = s->conns; c; c = c->next)
			conn_disconnect(c);
	}
}
