/* SPDX-License-Identifier: MIT */
/*
 * The controller's HTTP/JSON API (docs/api.md) on libmicrohttpd: routing,
 * bearer-token check, request parsing and replies.  The cluster state does
 * the work; this file only translates.
 */
#ifndef RMEM_CONTROLLER_API_HTTP_H
#define RMEM_CONTROLLER_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

struct api_server;

/*
 * Listens on @listen ("ADDR:PORT") and serves until api_stop().  @token
 * must outlive the server.  Returns NULL with a message in @err.
 */
struct api_server *api_start(struct cluster *c, const char *listen,
			     const uint8_t *token, size_t token_len,
			     char *err, size_t errlen);
void api_stop(struct api_server *s);

#endif /* RMEM_CONTROLLER_API_HTTP_H */
