// SPDX-License-Identifier: MIT
#include "grant.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void rmem_grant_message(const uint8_t client_id[RMEM_CLIENT_ID_LEN],
			uint64_t instance_id, uint32_t slab_id,
			uint8_t msg[RMEM_GRANT_MSG_LEN])
{
	size_t off = sizeof(RMEM_GRANT_LABEL) - 1;

	memcpy(msg, RMEM_GRANT_LABEL, off);
	memcpy(msg + off, client_id, RMEM_CLIENT_ID_LEN);
	off += RMEM_CLIENT_ID_LEN;
	/* Explicit little-endian so that the grant is the same on any host. */
	for (int i = 0; i < 8; i++)
		msg[off++] = (uint8_t)(instance_id >> (8 * i));
	for (int i = 0; i < 4; i++)
		msg[off++] = (uint8_t)(slab_id >> (8 * i));
}

int rmem_grant_compute(const void *token, size_t token_len,
		       const uint8_t client_id[RMEM_CLIENT_ID_LEN],
		       uint64_t instance_id, uint32_t slab_id,
		       uint8_t out[RMEM_GRANT_LEN])
{
	uint8_t msg[RMEM_GRANT_MSG_LEN];
	unsigned int out_len = 0;

	/* An empty key would make every grant forgeable by anyone. */
	if (!token || token_len == 0 || token_len > INT32_MAX)
		return -EINVAL;

	rmem_grant_message(client_id, instance_id, slab_id, msg);
	if (!HMAC(EVP_sha256(), token, (int)token_len, msg, sizeof(msg),
		  out, &out_len) || out_len != RMEM_GRANT_LEN)
		return -EIO;
	return 0;
}

bool rmem_grant_verify(const void *token, size_t token_len,
		       const uint8_t client_id[RMEM_CLIENT_ID_LEN],
		       uint64_t instance_id, uint32_t slab_id,
		       const uint8_t grant[RMEM_GRANT_LEN])
{
	uint8_t expect[RMEM_GRANT_LEN];
	bool ok;

	if (rmem_grant_compute(token, token_len, client_id, instance_id,
			       slab_id, expect))
		return false;
	/* Constant time, so a forger learns nothing from response timing. */
	ok = CRYPTO_memcmp(expect, grant, RMEM_GRANT_LEN) == 0;
	OPENSSL_cleanse(expect, sizeof(expect));
	return ok;
}
