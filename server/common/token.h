/* SPDX-License-Identifier: MIT */
/*
 * The cluster token: a secret shared by the controller and every donor,
 * kept in a file.  Its bytes, less trailing whitespace (so that a file
 * written by `echo` or an editor works), are the HMAC key of grants.
 */
#ifndef RMEM_TOKEN_H
#define RMEM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define RMEM_TOKEN_MAX	4096

/*
 * Read the token at @path into @buf (@cap bytes).  0 on success, else
 * -errno: -ENODATA if the file is empty, -EFBIG if over @cap bytes.
 * *@loose is set when group or others may read the file.
 */
int rmem_token_load(const char *path, uint8_t *buf, size_t cap, size_t *len,
		    int *loose);

#endif /* RMEM_TOKEN_H */
