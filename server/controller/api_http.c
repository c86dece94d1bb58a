// SPDX-License-Identifier: MIT
/*
 * HTTP front of rmem-controllerd; see api_http.h and docs/api.md.
 *
 * libmicrohttpd runs one internal polling thread, so requests are handled
 * one at a time; the cluster lock only guards against the heartbeat
 * checker.  A reply is queued only after the cluster call returned, and
 * the cluster commits to disk before returning: no acknowledgement ever
 * precedes durability.
 */
#include "api_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "addr.h"
#include "allocator.h"
#include "config.h"
#include "log.h"

/* Request bodies are small objects; anything bigger is a mistake. */
#define API_MAX_BODY		(64 * 1024)
#define API_EVENTS_DEFAULT	100
#define API_EVENTS_MAX		10000

struct api_server {
	struct MHD_Daemon *mhd;
	struct cluster	*cluster;
	uint8_t		token_digest[SHA256_DIGEST_LENGTH];
	atomic_uint_fast64_t errors;
};

struct request {
	char		*body;
	size_t		len;
	bool		too_big;
};

/* ---- replies ---- */

static enum MHD_Result send_text(struct api_server *s,
				 struct MHD_Connection *conn,
				 unsigned int status, const char *type,
				 const char *text, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (status >= 400)
		atomic_fetch_add(&s->errors, 1);
	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"rmem\"");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Sends @obj and drops the reference. */
static enum MHD_Result send_json(struct api_server *s,
				 struct MHD_Connection *conn,
				 unsigned int status, json_object *obj,
				 const char *allow)
{
	char *text = NULL;
	enum MHD_Result ret;

	if (asprintf(&text, "%s\n", json_object_to_json_string_ext(obj,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0) {
		json_object_put(obj);
		return MHD_NO;
	}
	json_object_put(obj);
	ret = send_text(s, conn, status, "application/json", text, allow);
	free(text);
	return ret;
}

static enum MHD_Result send_error(struct api_server *s,
				  struct MHD_Connection *conn,
				  unsigned int status, const char *msg,
				  const char *allow)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	log_debug("reply %u: %s", status, msg);
	return send_json(s, conn, status, o, allow);
}

static unsigned int http_status(enum cluster_status st)
{
	switch (st) {
	case CLUSTER_OK:		return MHD_HTTP_OK;
	case CLUSTER_CREATED:		return MHD_HTTP_CREATED;
	case CLUSTER_BAD_REQUEST:	return MHD_HTTP_BAD_REQUEST;
	case CLUSTER_NOT_FOUND:		return MHD_HTTP_NOT_FOUND;
	case CLUSTER_CONFLICT:		return MHD_HTTP_CONFLICT;
	case CLUSTER_QUOTA:		return MHD_HTTP_FORBIDDEN;
	case CLUSTER_NO_SPACE:		return MHD_HTTP_INSUFFICIENT_STORAGE;
	case CLUSTER_UNAVAILABLE:	return MHD_HTTP_SERVICE_UNAVAILABLE;
	case CLUSTER_INTERNAL:		break;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static enum MHD_Result send_result(struct api_server *s,
				   struct MHD_Connection *conn,
				   enum cluster_status st, json_object *reply,
				   const char *msg)
{
	if (st == CLUSTER_OK || st == CLUSTER_CREATED)
		return send_json(s, conn, http_status(st), reply, NULL);
	return send_error(s, conn, http_status(st), msg, NULL);
}

/* ---- request parsing ---- */

/* Parses the body as one JSON object; NULL with a message otherwise. */
static json_object *parse_body(const struct request *req, char *msg,
			       size_t msglen)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;

	if (!req->len) {
		snprintf(msg, msglen, "request body must be a JSON object");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	obj = json_tokener_parse_ex(tok, req->body, (int)req->len);
	jerr = json_tokener_get_error(tok);
	if (!obj || jerr != json_tokener_success) {
		snprintf(msg, msglen, "malformed JSON: %s",
			 jerr == json_tokener_continue ? "unexpected end of input"
						       : json_tokener_error_desc(jerr));
		json_object_put(obj);
		obj = NULL;
	} else if (json_tokener_get_parse_end(tok) != req->len &&
		   req->body[json_tokener_get_parse_end(tok) +
			     strspn(req->body + json_tokener_get_parse_end(tok),
				    " \t\r\n")] != 0) {
		snprintf(msg, msglen, "malformed JSON: trailing data after the object");
		json_object_put(obj);
		obj = NULL;
	} else if (!json_object_is_type(obj, json_type_object)) {
		snprintf(msg, msglen, "request body must be a JSON object");
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/*
 * An unsigned integer field.  Returns 1 if present and valid, 0 if absent
 * (and not @required), -1 with a message otherwise.
 */
static int get_u64(json_object *obj, const char *key, bool required,
		   uint64_t *out, char *msg, size_t msglen)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		snprintf(msg, msglen, "missing field '%s'", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(msg, msglen, "'%s' must be an integer", key);
		return -1;
	}
	if (json_object_get_int64(v) < 0) {
		snprintf(msg, msglen, "'%s' must not be negative", key);
		return -1;
	}
	*out = json_object_get_uint64(v);
	/*
	 * json-c saturates numbers beyond 64 bits to UINT64_MAX, so that
	 * value cannot be told from an overflow: refuse it.
	 */
	if (*out == UINT64_MAX) {
		snprintf(msg, msglen, "'%s' is too large", key);
		return -1;
	}
	return 1;
}

static int get_str(json_object *obj, const char *key, bool required,
		   const char **out, char *msg, size_t msglen)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		snprintf(msg, msglen, "missing field '%s'", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(msg, msglen, "'%s' must be a string", key);
		return -1;
	}
	*out = json_object_get_string(v);
	return 1;
}

/* A decimal id in a path: digits only, no sign, no leading zeros. */
static bool parse_id(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!len || len > 20 || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return v > 0;
}

/* ---- authentication ---- */

static bool authorized(struct api_server *s, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	uint8_t digest[SHA256_DIGEST_LENGTH];

	if (!h || strncasecmp(h, "Bearer ", 7))
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	/*
	 * Compare digests, not tokens: equal lengths for CRYPTO_memcmp, and
	 * the time taken tells nothing about the token's length or bytes.
	 */
	SHA256((const unsigned char *)h, strlen(h), digest);
	return CRYPTO_memcmp(digest, s->token_digest, sizeof(digest)) == 0;
}

/* ---- handlers ---- */

static enum MHD_Result donors_post(struct api_server *s,
				   struct MHD_Connection *conn,
				   const struct request *req)
{
	char msg[512];
	json_object *body = parse_body(req, msg, sizeof(msg)), *reply = NULL;
	const char *addr = NULL, *zone = "";
	uint64_t instance_id = 0, slab_size = 0, total = 0;
	enum cluster_status st;

	if (!body)
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	if (get_str(body, "addr", true, &addr, msg, sizeof(msg)) < 0 ||
	    get_u64(body, "instance_id", true, &instance_id, msg, sizeof(msg)) < 0 ||
	    (!instance_id && snprintf(msg, sizeof(msg), "'instance_id' must not be 0")) ||
	    get_u64(body, "slab_size", true, &slab_size, msg, sizeof(msg)) < 0 ||
	    get_u64(body, "total_slabs", true, &total, msg, sizeof(msg)) < 0 ||
	    get_str(body, "zone", false, &zone, msg, sizeof(msg)) < 0) {
		json_object_put(body);
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	st = cluster_donor_register(s->cluster, addr, instance_id, slab_size,
				    total, zone, &reply, msg, sizeof(msg));
	json_object_put(body);
	return send_result(s, conn, st, reply, msg);
}

static enum MHD_Result heartbeat_post(struct api_server *s,
				      struct MHD_Connection *conn,
				      const struct request *req, uint32_t id)
{
	char msg[512];
	json_object *body = parse_body(req, msg, sizeof(msg)), *reply = NULL;
	uint64_t free_slabs = 0, instance_id = 0, total_slabs = 0;
	enum cluster_status st;
	int has_instance, has_total;

	if (!body)
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	if (get_u64(body, "free_slabs", true, &free_slabs, msg, sizeof(msg)) < 0 ||
	    (has_instance = get_u64(body, "instance_id", false, &instance_id,
				    msg, sizeof(msg))) < 0 ||
	    (has_total = get_u64(body, "total_slabs", false, &total_slabs,
				 msg, sizeof(msg))) < 0) {
		json_object_put(body);
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	json_object_put(body);
	st = cluster_donor_heartbeat(s->cluster, id, free_slabs,
				     has_total ? &total_slabs : NULL,
				     has_instance ? &instance_id : NULL,
				     &reply, msg, sizeof(msg));
	return send_result(s, conn, st, reply, msg);
}

static enum MHD_Result allocations_post(struct api_server *s,
					struct MHD_Connection *conn,
					const struct request *req)
{
	char msg[512];
	json_object *body = parse_body(req, msg, sizeof(msg)), *reply = NULL;
	const char *client_hex = NULL;
	uint8_t client_id[16];
	uint64_t bytes = 0, replicas = 0;
	enum cluster_status st;
	int has_replicas = 0;

	if (!body)
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	if (get_str(body, "client_id", true, &client_hex, msg, sizeof(msg)) < 0 ||
	    get_u64(body, "bytes", true, &bytes, msg, sizeof(msg)) < 0 ||
	    (has_replicas = get_u64(body, "replicas", false, &replicas, msg,
				    sizeof(msg))) < 0) {
		json_object_put(body);
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	if (rmem_config_parse_client_id(client_hex, client_id)) {
		json_object_put(body);
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST,
				  "'client_id' must be 32 hex digits", NULL);
	}
	json_object_put(body);
	/* Absent means the cluster default; an explicit 0 is a mistake. */
	if (has_replicas && (replicas < 1 || replicas > ALLOC_MAX_REPLICAS)) {
		snprintf(msg, sizeof(msg), "'replicas' must be 1..%d",
			 ALLOC_MAX_REPLICAS);
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	st = cluster_alloc(s->cluster, client_id, bytes,
			   (unsigned int)replicas,
			   &reply, msg, sizeof(msg));
	return send_result(s, conn, st, reply, msg);
}

/*
 * The slot a re-protection request names, {"slab": I, "replica": J} and
 * an optional "generation"; 0, or -1 with a message.
 */
static int get_slot(json_object *body, uint64_t *slab, uint64_t *replica,
		    uint64_t *generation, int *has_generation,
		    char *msg, size_t msglen)
{
	if (get_u64(body, "slab", true, slab, msg, msglen) < 0 ||
	    get_u64(body, "replica", true, replica, msg, msglen) < 0)
		return -1;
	*has_generation = get_u64(body, "generation", false, generation,
				  msg, msglen);
	return *has_generation < 0 ? -1 : 0;
}

static enum MHD_Result replace_post(struct api_server *s,
				    struct MHD_Connection *conn,
				    const struct request *req, uint64_t id)
{
	char msg[512];
	json_object *body = parse_body(req, msg, sizeof(msg)), *reply = NULL;
	uint64_t slab = 0, replica = 0, generation = 0;
	enum cluster_status st;
	int has_gen = 0;

	if (!body)
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	if (get_slot(body, &slab, &replica, &generation, &has_gen, msg,
		     sizeof(msg))) {
		json_object_put(body);
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	json_object_put(body);
	st = cluster_replace(s->cluster, id, slab, replica,
			     has_gen ? &generation : NULL, &reply, msg,
			     sizeof(msg));
	return send_result(s, conn, st, reply, msg);
}

static enum MHD_Result resynced_post(struct api_server *s,
				     struct MHD_Connection *conn,
				     const struct request *req, uint64_t id)
{
	char msg[512];
	json_object *body = parse_body(req, msg, sizeof(msg)), *reply = NULL;
	uint64_t slab = 0, replica = 0, generation = 0, bytes = 0;
	enum cluster_status st;
	int has_gen = 0;

	if (!body)
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	if (get_slot(body, &slab, &replica, &generation, &has_gen, msg,
		     sizeof(msg)) ||
	    get_u64(body, "bytes", true, &bytes, msg, sizeof(msg)) < 0) {
		json_object_put(body);
		return send_error(s, conn, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	json_object_put(body);
	st = cluster_resynced(s->cluster, id, slab, replica, bytes,
			      has_gen ? &generation : NULL, &reply, msg,
			      sizeof(msg));
	return send_result(s, conn, st, reply, msg);
}

/* /allocations/{id}[/replace|/resynced]; @p is what follows the slash. */
static enum MHD_Result route_allocation(struct api_server *s,
					struct MHD_Connection *conn,
					const char *method, const char *p,
					const struct request *req)
{
	const char *slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);
	json_object *reply = NULL;
	enum cluster_status st;
	char msg[512];
	uint64_t id;

	if (!parse_id(p, len, INT64_MAX, &id)) {
		snprintf(msg, sizeof(msg), "no allocation '%.*s'", (int)len, p);
		return send_error(s, conn, MHD_HTTP_NOT_FOUND, msg, NULL);
	}
	if (slash && (!strcmp(slash, "/replace") || !strcmp(slash, "/resynced"))) {
		if (strcmp(method, "POST"))
			return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "use POST", "POST");
		if (!strcmp(slash, "/replace"))
			return replace_post(s, conn, req, id);
		return resynced_post(s, conn, req, id);
	}
	if (slash)
		return send_error(s, conn, MHD_HTTP_NOT_FOUND,
				  "no such resource", NULL);
	if (!strcmp(method, "GET"))
		st = cluster_alloc_get(s->cluster, id, &reply, msg, sizeof(msg));
	else if (!strcmp(method, "DELETE"))
		st = cluster_release(s->cluster, id, &reply, msg, sizeof(msg));
	else
		return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "use GET or DELETE", "GET, DELETE");
	return send_result(s, conn, st, reply, msg);
}

static const char *query(struct MHD_Connection *conn, const char *key)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Routes /v1/...; @path is what follows "/v1". */
static enum MHD_Result route_v1(struct api_server *s,
				struct MHD_Connection *conn,
				const char *method, const char *path,
				const struct request *req)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	bool del = !strcmp(method, "DELETE");
	json_object *reply = NULL;
	enum cluster_status st;
	char msg[512];
	uint64_t id;

	if (!strcmp(path, "/donors")) {
		if (post)
			return donors_post(s, conn, req);
		if (get) {
			st = cluster_donor_list(s->cluster, &reply);
			return send_result(s, conn, st, reply, "");
		}
		return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "use GET or POST", "GET, POST");
	}
	if (!strncmp(path, "/donors/", 8)) {
		const char *p = path + 8, *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!parse_id(p, len, UINT32_MAX, &id)) {
			snprintf(msg, sizeof(msg), "no donor '%.*s'", (int)len, p);
			return send_error(s, conn, MHD_HTTP_NOT_FOUND, msg, NULL);
		}
		if (slash && !strcmp(slash, "/heartbeat")) {
			if (post)
				return heartbeat_post(s, conn, req, (uint32_t)id);
			return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "use POST", "POST");
		}
		if (slash)
			return send_error(s, conn, MHD_HTTP_NOT_FOUND,
					  "no such resource", NULL);
		if (get)
			st = cluster_donor_get(s->cluster, (uint32_t)id, &reply,
					       msg, sizeof(msg));
		else if (del)
			st = cluster_donor_remove(s->cluster, (uint32_t)id,
						  &reply, msg, sizeof(msg));
		else
			return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "use GET or DELETE", "GET, DELETE");
		return send_result(s, conn, st, reply, msg);
	}
	if (!strcmp(path, "/allocations")) {
		if (post)
			return allocations_post(s, conn, req);
		if (get) {
			const char *c = query(conn, "client_id");
			uint8_t client_id[16];

			if (c && rmem_config_parse_client_id(c, client_id))
				return send_error(s, conn, MHD_HTTP_BAD_REQUEST,
						  "client_id must be 32 hex digits",
						  NULL);
			st = cluster_alloc_list(s->cluster, c ? client_id : NULL,
						&reply);
			return send_result(s, conn, st, reply, "");
		}
		return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "use GET or POST", "GET, POST");
	}
	if (!strncmp(path, "/allocations/", 13))
		return route_allocation(s, conn, method, path + 13, req);
	if (!strcmp(path, "/status")) {
		if (!get)
			return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "use GET", "GET");
		st = cluster_status(s->cluster, &reply);
		return send_result(s, conn, st, reply, "");
	}
	if (!strcmp(path, "/events")) {
		const char *l = query(conn, "limit");
		uint64_t limit = API_EVENTS_DEFAULT;

		if (!get)
			return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "use GET", "GET");
		if (l && !parse_id(l, strlen(l), API_EVENTS_MAX, &limit))
			return send_error(s, conn, MHD_HTTP_BAD_REQUEST,
					  "limit must be 1..10000", NULL);
		st = cluster_events(s->cluster, (unsigned int)limit, &reply,
				    msg, sizeof(msg));
		return send_result(s, conn, st, reply, msg);
	}
	return send_error(s, conn, MHD_HTTP_NOT_FOUND, "no such resource", NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct request *req = *con_cls;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!req->too_big && req->len + *upload_data_size <= API_MAX_BODY) {
			char *b = realloc(req->body, req->len + *upload_data_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + req->len, upload_data, *upload_data_size);
			req->body = b;
			req->len += *upload_data_size;
			req->body[req->len] = 0;
		} else {
			req->too_big = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	log_debug("%s %s", method, url);
	if (!strcmp(url, "/metrics")) {
		char *text;
		enum MHD_Result ret;

		if (strcmp(method, "GET"))
			return send_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "use GET", "GET");
		text = cluster_metrics(s->cluster, atomic_load(&s->errors));
		if (!text)
			return MHD_NO;
		ret = send_text(s, conn, MHD_HTTP_OK,
				"text/plain; version=0.0.4; charset=utf-8",
				text, NULL);
		free(text);
		return ret;
	}
	if (strncmp(url, "/v1/", 4))
		return send_error(s, conn, MHD_HTTP_NOT_FOUND,
				  "no such resource (the API lives under /v1/)",
				  NULL);
	if (!authorized(s, conn))
		return send_error(s, conn, MHD_HTTP_UNAUTHORIZED,
				  "missing or wrong bearer token", NULL);
	if (req->too_big)
		return send_error(s, conn, MHD_HTTP_CONTENT_TOO_LARGE,
				  "request body too large", NULL);
	return route_v1(s, conn, method, url + 3, req);
}

static void request_done(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req) {
		free(req->body);
		free(req);
		*con_cls = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = 0;
	log_warn("http: %s", buf);
}

struct api_server *api_start(struct cluster *c, const char *listen,
			     const uint8_t *token, size_t token_len,
			     char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct api_server *s;
	int rc;

	rc = rmem_parse_hostport(listen, 7480, &ss, &sslen);
	if (rc) {
		snprintf(err, errlen, "listen address '%s': %s", listen,
			 rc == -ENOENT ? "host not found" : "expected ADDR:PORT");
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cluster = c;
	SHA256(token, token_len, s->token_digest);
	atomic_init(&s->errors, 0);
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
			/* first, so that MHD logs nothing on its own */
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_NOTIFY_COMPLETED, request_done, s,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
			MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, errlen, "cannot listen on %s (address in use or not local?)",
			 listen);
		free(s);
		return NULL;
	}
	return s;
}

void api_stop(struct api_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
