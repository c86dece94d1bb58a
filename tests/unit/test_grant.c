// SPDX-License-Identifier: MIT
/*
 * Grants from server/common/grant.c.  The known answers were computed
 * outside this code, with OpenSSL's command line over the same bytes:
 *   printf 'rmem-grant-v1\x00\x01...\x0f\xef\xcd\xab\x89\x67\x45\x23\x01\x07\x00\x00\x00' |
 *     openssl dgst -sha256 -hmac 'correct horse battery staple'
 * so a mistake in the message layout (byte order, label) shows up here.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grant.h"
#include "tap.h"

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

int main(void)
{
	static const char token1[] = "correct horse battery staple";
	uint8_t cid1[16], cid2[16], expect[32], got[32], msg[RMEM_GRANT_MSG_LEN];
	int rc;

	for (int i = 0; i < 16; i++) {
		cid1[i] = (uint8_t)i;
		cid2[i] = (uint8_t)(0xff - 0x11 * i);
	}

	ok(RMEM_GRANT_MSG_LEN == 41, "grant message is 41 bytes");
	rmem_grant_message(cid1, 0x0123456789abcdefULL, 7, msg);
	ok(!memcmp(msg, "rmem-grant-v1", 13) && !memcmp(msg + 13, cid1, 16) &&
	   msg[29] == 0xef && msg[36] == 0x01 && msg[37] == 0x07 && msg[40] == 0,
	   "grant message layout: label, client id, le64 instance, le32 slab");

	from_hex("098d11f5b9358d5c615a96aa932f22943a78669f7eb06f6c0c1f174a6d2523ac",
		 expect, 32);
	rc = rmem_grant_compute(token1, strlen(token1), cid1,
				0x0123456789abcdefULL, 7, got);
	ok(rc == 0 && !memcmp(got, expect, 32), "known answer 1 (openssl dgst)");
	ok(rmem_grant_verify(token1, strlen(token1), cid1, 0x0123456789abcdefULL,
			     7, expect), "verify accepts known answer 1");

	from_hex("4ebab7f5f8dfb76e1089625cd21e44720c02abf1dd84cc9e5070259beaafcf22",
		 expect, 32);
	rc = rmem_grant_compute("k", 1, cid2, 0x8000000000000001ULL,
				0xfffffffeu, got);
	ok(rc == 0 && !memcmp(got, expect, 32),
	   "known answer 2 (high bits set, one-byte token)");

	/* Tamper tests: every input is bound into the MAC. */
	rmem_grant_compute(token1, strlen(token1), cid1, 42, 3, got);
	ok(rmem_grant_verify(token1, strlen(token1), cid1, 42, 3, got),
	   "verify accepts its own grant");
	ok(!rmem_grant_verify(token1, strlen(token1), cid1, 42, 4, got),
	   "verify refuses another slab id");
	ok(!rmem_grant_verify(token1, strlen(token1), cid1, 43, 3, got),
	   "verify refuses another donor instance");
	ok(!rmem_grant_verify(token1, strlen(token1), cid2, 42, 3, got),
	   "verify refuses another client id");
	ok(!rmem_grant_verify("correct horse battery stapl", 27, cid1, 42, 3, got),
	   "verify refuses another token");
	for (int byte = 0; byte < 32; byte += 31) {
		uint8_t bad[32];

		memcpy(bad, got, 32);
		bad[byte] ^= 0x01;
		ok(!rmem_grant_verify(token1, strlen(token1), cid1, 42, 3, bad),
		   "verify refuses a grant with one bit flipped in byte %d", byte);
	}
	memset(expect, 0, 32);
	ok(!rmem_grant_verify(token1, strlen(token1), cid1, 42, 3, expect),
	   "verify refuses an all-zero grant");
	ok(rmem_grant_compute("", 0, cid1, 42, 3, got) != 0,
	   "compute refuses an empty token");
	ok(!rmem_grant_verify("", 0, cid1, 42, 3, got),
	   "verify refuses everything with an empty token");
	return tap_done("test_grant");
}
