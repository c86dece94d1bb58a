// SPDX-License-Identifier: MIT
#include "ctrl.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "grant.h"
#include "log.h"

size_t ctrl_min_len(uint8_t type)
{
	switch (type) {
	case RMEM_MSG_SLAB_ALLOC:
		return offsetof(struct rmem_msg, grant) + RMEM_GRANT_LEN;
	case RMEM_MSG_SLAB_ATTACH:
	case RMEM_MSG_SLAB_FREE:
		return offsetof(struct rmem_msg, slab) +
		       sizeof(struct rmem_slab_desc);
	case RMEM_MSG_KEEPALIVE:
		return sizeof(struct rmem_msg_hdr);
	default:
		return 0;
	}
}

static void fill_desc(const struct slab_pool *pool, const struct slab *slab,
		      struct rmem_slab_desc *desc)
{
	desc->slab_id = htole32(slab->id);
	desc->generation = htole32(slab->generation);
	desc->addr = htole64((uint64_t)(uintptr_t)slab->addr);
	desc->length = htole64(pool->slab_size);
	desc->rkey = htole32(slab->mr->rkey);
}

static int do_alloc(const struct ctrl_env *env, void *sess,
		    const uint8_t *client_id, const struct rmem_msg *req,
		    struct rmem_msg *reply)
{
	uint32_t want = le32toh(req->slab.slab_id);
	struct slab *slab;
	int err;

	if (env->token) {
		/* With a controller, only the controller hands out slabs. */
		if (want == RMEM_SLAB_ANY) {
			log_warn("SLAB_ALLOC of any slab refused: a controller "
				 "is configured, a grant is needed");
			return EPERM;
		}
		if (!rmem_grant_verify(env->token, env->token_len, client_id,
				       env->instance_id, want, req->grant)) {
			log_warn("SLAB_ALLOC of slab %u refused: bad grant", want);
			return EPERM;
		}
	}

	err = slab_alloc(env->pool, client_id, want, &slab);
	if (err)
		return -err;
	err = env->map(sess, slab);
	if (err) {
		log_error("registering slab %u failed: %s", slab->id,
			  strerror(-err));
		slab_release(env->pool, slab);
		return -err;
	}
	fill_desc(env->pool, slab, &reply->slab);
	log_info("slab %u gen %u allocated, rkey 0x%x", slab->id,
		 slab->generation, slab->mr->rkey);
	return 0;
}

static int do_attach(const struct ctrl_env *env, void *sess,
		     const uint8_t *client_id, const struct rmem_msg *req,
		     struct rmem_msg *reply)
{
	struct slab *slab;
	int err;

	err = slab_lookup_owned(env->pool, client_id,
				le32toh(req->slab.slab_id),
				le32toh(req->slab.generation), &slab);
	if (err)
		return -err;
	/*
	 * Already registered means the client re-joined a session that never
	 * died (one registration per slab per session): the rkey is current.
	 */
	if (!slab->mr) {
		err = env->map(sess, slab);
		if (err) {
			log_error("registering slab %u failed: %s", slab->id,
				  strerror(-err));
			return -err;
		}
	}
	fill_desc(env->pool, slab, &reply->slab);
	log_info("slab %u gen %u attached, rkey 0x%x", slab->id,
		 slab->generation, slab->mr->rkey);
	return 0;
}

static int do_free(const struct ctrl_env *env, void *sess,
		   const uint8_t *client_id, const struct rmem_msg *req)
{
	struct slab *slab;
	int err;

	err = slab_lookup_owned(env->pool, client_id,
				le32toh(req->slab.slab_id),
				le32toh(req->slab.generation), &slab);
	if (err)
		return -err;
	if (slab->mr)
		env->unmap(sess, slab);
	log_info("slab %u gen %u freed", slab->id, slab->generation);
	slab_release(env->pool, slab);
	return 0;
}

void ctrl_handle(const struct ctrl_env *env, void *sess,
		 const uint8_t *client_id, const void *buf, size_t len,
		 struct rmem_msg *reply)
{
	struct rmem_msg req;
	uint8_t type = 0;
	int status;

	memset(reply, 0, sizeof(*reply));
	/* Copy into a zeroed struct: short requests read as zeros, no overrun. */
	memset(&req, 0, sizeof(req));
	memcpy(&req, buf, len < sizeof(req) ? len : sizeof(req));

	if (len >= sizeof(struct rmem_msg_hdr)) {
		type = req.hdr.type;
		reply->hdr.seq = req.hdr.seq;
	}
	reply->hdr.magic = htole16(RMEM_PROTO_MAGIC);
	reply->hdr.version = RMEM_PROTO_VERSION;
	reply->hdr.type = type | RMEM_MSG_REPLY;

	if (len < sizeof(struct rmem_msg_hdr)) {
		log_warn("control message of %zu bytes is too short", len);
		status = EPROTO;
	} else if (le16toh(req.hdr.magic) != RMEM_PROTO_MAGIC ||
		   req.hdr.version != RMEM_PROTO_VERSION) {
		log_warn("control message with magic 0x%04x version %u refused",
			 le16toh(req.hdr.magic), req.hdr.version);
		status = EPROTO;
	} else if (!ctrl_min_len(type)) {
		log_warn("control message of unknown type 0x%02x refused", type);
		status = EPROTO;
	} else if (len < ctrl_min_len(type)) {
		log_warn("control message type %u of %zu bytes is too short",
			 type, len);
		status = EPROTO;
	} else {
		switch (type) {
		case RMEM_MSG_SLAB_ALLOC:
			status = do_alloc(env, sess, client_id, &req, reply);
			break;
		case RMEM_MSG_SLAB_ATTACH:
			status = do_attach(env, sess, client_id, &req, reply);
			break;
		case RMEM_MSG_SLAB_FREE:
			status = do_free(env, sess, client_id, &req);
			break;
		default:	/* RMEM_MSG_KEEPALIVE */
			status = 0;
			break;
		}
	}
	reply->hdr.status = htole32((uint32_t)status);
	reply->free_slabs = htole32(env->pool->nfree);
	reply->total_slabs = htole32(env->pool->count);
}
