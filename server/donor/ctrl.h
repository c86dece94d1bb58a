/* SPDX-License-Identifier: MIT */
/*
 * Control messages: turn one received request (struct rmem_msg) into its
 * reply.  Pure protocol logic over the slab pool; the verbs work of making
 * a slab reachable (memory registration in the session PD) is behind
 * @map/@unmap so that this file can be tested without RDMA.
 */
#ifndef RMEM_DONOR_CTRL_H
#define RMEM_DONOR_CTRL_H

#include <stddef.h>
#include <stdint.h>

#include <rmem/rmem_proto.h>

#include "slabs.h"

struct ctrl_env {
	struct slab_pool *pool;
	uint64_t instance_id;
	/* Cluster token; NULL means no controller: grants are not checked. */
	const uint8_t *token;
	size_t token_len;
	/* Register @slab for session @sess: set slab->mr; 0 or -errno. */
	int (*map)(void *sess, struct slab *slab);
	/* Deregister slab->mr and clear it. */
	void (*unmap)(void *sess, struct slab *slab);
};

/* Shortest request the donor accepts, per type (0 for unknown types). */
size_t ctrl_min_len(uint8_t type);

/*
 * Handle request @req of @len bytes from client @client_id on session
 * @sess; fill the whole of @reply.  Never fails: anything wrong with the
 * request becomes a status in the reply.
 */
void ctrl_handle(const struct ctrl_env *env, void *sess,
		 const uint8_t *client_id, const void *req, size_t len,
		 struct rmem_msg *reply);

#endif /* RMEM_DONOR_CTRL_H */
