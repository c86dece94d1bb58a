/* SPDX-License-Identifier: MIT */
/*
 * Slab grants: the controller's proof that it gave slab @slab_id of donor
 * run @instance_id to client @client_id.  Controller and donor share the
 * cluster token; the donor recomputes the grant and compares.
 *
 *   grant = HMAC-SHA256(key = token bytes,
 *                       msg = "rmem-grant-v1" || client_id[16] ||
 *                             le64 instance_id || le32 slab_id)
 *
 * The message is 13 + 16 + 8 + 4 = 41 bytes; the label has no NUL.
 */
#ifndef RMEM_GRANT_H
#define RMEM_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rmem/rmem_proto.h>

#define RMEM_GRANT_LABEL	"rmem-grant-v1"
#define RMEM_GRANT_MSG_LEN	(sizeof(RMEM_GRANT_LABEL) - 1 + \
				 RMEM_CLIENT_ID_LEN + 8 + 4)

/* Build the 41-byte message that is MACed (exposed for tests). */
void rmem_grant_message(const uint8_t client_id[RMEM_CLIENT_ID_LEN],
			uint64_t instance_id, uint32_t slab_id,
			uint8_t msg[RMEM_GRANT_MSG_LEN]);

/* 0 on success, -EINVAL on an empty token, -EIO if libcrypto fails */
int rmem_grant_compute(const void *token, size_t token_len,
		       const uint8_t client_id[RMEM_CLIENT_ID_LEN],
		       uint64_t instance_id, uint32_t slab_id,
		       uint8_t out[RMEM_GRANT_LEN]);

/* true only if @grant is the grant for these values (constant time) */
bool rmem_grant_verify(const void *token, size_t token_len,
		       const uint8_t client_id[RMEM_CLIENT_ID_LEN],
		       uint64_t instance_id, uint32_t slab_id,
		       const uint8_t grant[RMEM_GRANT_LEN]);

#endif /* RMEM_GRANT_H */
