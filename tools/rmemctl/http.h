/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rmemctl's HTTP/JSON client (libcurl + json-c): the controller over TCP
 * with the cluster token as bearer, or the local donor over its unix
 * socket.  One request per call; no redirects (the token must not travel).
 */
#ifndef RMEMCTL_HTTP_H
#define RMEMCTL_HTTP_H

#include <stddef.h>

#include <json-c/json.h>

#define HTTP_ERR_MAX	512

struct http_peer {
	char base_url[300];		/* "http://127.0.0.1:7480" */
	char *auth_header;		/* "Authorization: Bearer ..." or NULL */
	const char *unix_path;		/* connect here instead of TCP, or NULL */
	const char *what;		/* "controller", "donor": for messages */
};

/*
 * http_request - @method on @path with @body (NULL for none).  Returns
 * the HTTP status with the parsed reply in *@reply (NULL if the body was
 * not JSON), or 0 when no answer came, with @err saying why.  For 4xx/5xx
 * @err gets the server's {"error": ...} message.
 */
long http_request(const struct http_peer *p, const char *method,
		  const char *path, json_object *body, json_object **reply,
		  char *err, size_t errlen);

#endif /* RMEMCTL_HTTP_H */
