/* SPDX-License-Identifier: MIT */
/*
 * Registration with the cluster controller (docs/api.md): POST /v1/donors
 * at start, then POST /v1/donors/{id}/heartbeat with the free slab count
 * every heartbeat_interval_ms; register again when the controller answers
 * 404/409 (it forgot us, or knows another instance).  Runs in its own
 * thread so that a slow or absent controller never delays RDMA work; it
 * only reads the pool's atomic free count.
 */
#ifndef RMEM_DONOR_REGISTRAR_H
#define RMEM_DONOR_REGISTRAR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct registrar_conf {
	const char *base_url;		/* "http://127.0.0.1:7480" */
	const char *advertise;		/* "10.77.0.1:7470", as clients dial */
	const char *zone;		/* NULL or "" for none */
	const uint8_t *token;
	size_t token_len;
	uint64_t instance_id;
	uint64_t slab_size;
	/* Live counts: the pool grows and shrinks under the control socket. */
	const _Atomic uint32_t *total_slabs;
	const _Atomic uint32_t *free_slabs;
};

struct registrar;

/*
 * "host:port" or "http(s)://host:port[/prefix]" -> base URL without a
 * trailing slash, in @out.  0, or -EINVAL.
 */
int registrar_base_url(const char *controller, char *out, size_t len);

/* 0 and *@out, or -errno (-EINVAL: token not usable in an HTTP header). */
int registrar_start(const struct registrar_conf *conf, struct registrar **out);
void registrar_stop(struct registrar *r);
/* Send a heartbeat now (the pool changed size); NULL is fine. */
void registrar_kick(struct registrar *r);

#endif /* RMEM_DONOR_REGISTRAR_H */
