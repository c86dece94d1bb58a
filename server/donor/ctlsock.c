// SPDX-License-Identifier: MIT
#include "ctlsock.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "donor.h"
#include "log.h"
#include "size.h"

#define MAX_BODY 4096

enum ctl_op { CTL_STATUS, CTL_GROW, CTL_SHRINK };

/* One request crossing from the MHD thread to the main loop and back. */
struct ctl_req {
	enum ctl_op op;
	uint64_t bytes;
	bool has_bytes;
	/* Answer, filled by the main loop. */
	unsigned int status;
	json_object *reply;
	bool done;
};

struct ctlsock {
	struct donor *d;
	ctlsock_changed_fn changed;
	void *arg;
	struct MHD_Daemon *mhd;
	int evfd;
	char *path;
	pthread_mutex_t lock;	/* guards pending, stopping, req->done */
	pthread_cond_t cond;
	pthread_mutex_t serial;	/* one request in flight */
	struct ctl_req *pending;
	bool stopping;
};

/* Per-connection upload state. */
struct upload {
	char buf[MAX_BODY + 1];
	size_t len;
	bool too_big;
};

static json_object *error_obj(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static json_object *error_obj(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static void add_counts(json_object *o, const struct donor *d)
{
	uint32_t total = d->pool.count, nfree = d->pool.nfree;

	json_object_object_add(o, "instance_id", json_object_new_uint64(d->instance_id));
	json_object_object_add(o, "slab_size", json_object_new_uint64(d->pool.slab_size));
	json_object_object_add(o, "total_slabs", json_object_new_uint64(total));
	json_object_object_add(o, "free_slabs", json_object_new_uint64(nfree));
	json_object_object_add(o, "assigned_slabs", json_object_new_uint64(total - nfree));
	json_object_object_add(o, "total_bytes",
			       json_object_new_uint64((uint64_t)total * d->pool.slab_size));
}

/* Main loop side: the pool is ours here. */
static void run_request(struct ctlsock *c, struct ctl_req *r)
{
	struct donor *d = c->d;
	uint64_t ss = d->pool.slab_size;
	char a[32], b[32];

	if (r->op == CTL_STATUS) {
		r->status = MHD_HTTP_OK;
		r->reply = json_object_new_object();
		add_counts(r->reply, d);
		return;
	}
	format_size(ss, b, sizeof(b));
	if (r->has_bytes && (!r->bytes || r->bytes % ss)) {
		r->status = MHD_HTTP_BAD_REQUEST;
		r->reply = error_obj("bytes (%" PRIu64 ") must be a positive multiple "
				     "of the slab size (%s)", r->bytes, b);
		return;
	}
	if (r->op == CTL_GROW) {
		int err;

		format_size(r->bytes, a, sizeof(a));
		err = slab_pool_grow(&d->pool, r->bytes);
		if (err == -EINVAL) {
			r->status = MHD_HTTP_BAD_REQUEST;
			r->reply = error_obj("cannot lend %s more: too many slabs "
					     "of %s", a, b);
			return;
		}
		if (err) {
			log_warn("control: growing by %s failed: %s", a, strerror(-err));
			r->status = MHD_HTTP_INSUFFICIENT_STORAGE;
			r->reply = error_obj("cannot map and lock %s more: %s", a,
					     strerror(-err));
			return;
		}
		log_info("control: lending %s more, now %u slabs of %s", a,
			 d->pool.count, b);
		r->status = MHD_HTTP_OK;
		r->reply = json_object_new_object();
		json_object_object_add(r->reply, "grown_bytes", json_object_new_uint64(r->bytes));
		add_counts(r->reply, d);
	} else {
		uint64_t want = r->has_bytes ? r->bytes / ss : UINT32_MAX;
		uint32_t n = slab_pool_shrink(&d->pool, want > UINT32_MAX ?
					      UINT32_MAX : (uint32_t)want);

		format_size((uint64_t)n * ss, a, sizeof(a));
		log_info("control: gave %s back to the host, now %u slabs of %s "
			 "(%u assigned)", a, d->pool.count, b,
			 d->pool.count - d->pool.nfree);
		r->status = MHD_HTTP_OK;
		r->reply = json_object_new_object();
		json_object_object_add(r->reply, "returned_bytes",
				       json_object_new_uint64((uint64_t)n * ss));
		json_object_object_add(r->reply, "returned_slabs", json_object_new_uint64(n));
		add_counts(r->reply, d);
		if (!n)
			return;
	}
	if (c->changed)
		c->changed(c->arg);
}

void ctlsock_dispatch(struct ctlsock *c)
{
	uint64_t v;
	struct ctl_req *r;

	if (read(c->evfd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&c->lock);
	r = c->pending;
	c->pending = NULL;
	pthread_mutex_unlock(&c->lock);
	if (!r)
		return;
	run_request(c, r);
	pthread_mutex_lock(&c->lock);
	r->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* MHD thread: hand @r to the main loop and wait for its answer. */
static void submit(struct ctlsock *c, struct ctl_req *r)
{
	uint64_t one = 1;

	pthread_mutex_lock(&c->serial);
	pthread_mutex_lock(&c->lock);
	if (!c->stopping) {
		c->pending = r;
		if (write(c->evfd, &one, sizeof(one)) != sizeof(one))
			c->pending = NULL;
		else
			while (!r->done && !c->stopping)
				pthread_cond_wait(&c->cond, &c->lock);
	}
	if (!r->done) {
		/* Shutting down (or the eventfd failed): never ran. */
		if (c->pending == r)
			c->pending = NULL;
		r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		r->reply = error_obj("the donor is shutting down");
	}
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->serial);
}

static enum MHD_Result send_obj(struct MHD_Connection *conn, unsigned int status,
				json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_MUST_COPY);
	json_object_put(o);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The request body: {} or {"bytes": N}; false and *@err if it is not. */
static bool parse_body(const struct upload *u, struct ctl_req *r, json_object **err)
{
	json_object *o, *v;
	bool ok = true;

	if (u->too_big) {
		*err = error_obj("request body over %d bytes", MAX_BODY);
		return false;
	}
	if (!u->len)
		return true;	/* no body: same as {} */
	o = json_tokener_parse(u->buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		*err = error_obj("the body must be a JSON object");
		ok = false;
	} else if (json_object_object_get_ex(o, "bytes", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) <= 0) {
			*err = error_obj("bytes must be a positive integer");
			ok = false;
		} else {
			r->bytes = json_object_get_uint64(v);
			r->has_bytes = true;
		}
	}
	json_object_put(o);
	return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *data,
			      size_t *data_size, void **con_cls)
{
	struct ctlsock *c = cls;
	struct upload *u = *con_cls;
	struct ctl_req r = { 0 };
	json_object *err = NULL;
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);

	(void)version;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		if (u->len + *data_size > MAX_BODY) {
			u->too_big = true;
		} else {
			memcpy(u->buf + u->len, data, *data_size);
			u->len += *data_size;
			u->buf[u->len] = '\0';
		}
		*data_size = 0;
		return MHD_YES;
	}

	if (!strcmp(url, "/v1/status")) {
		if (strcmp(method, MHD_HTTP_METHOD_GET))
			return send_obj(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					error_obj("use GET on %s", url));
		r.op = CTL_STATUS;
	} else if (!strcmp(url, "/v1/grow") || !strcmp(url, "/v1/shrink")) {
		if (!post)
			return send_obj(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					error_obj("use POST on %s", url));
		r.op = !strcmp(url, "/v1/grow") ? CTL_GROW : CTL_SHRINK;
		if (!parse_body(u, &r, &err))
			return send_obj(conn, MHD_HTTP_BAD_REQUEST, err);
		if (r.op == CTL_GROW && !r.has_bytes)
			return send_obj(conn, MHD_HTTP_BAD_REQUEST,
					error_obj("grow needs {\"bytes\": N}"));
	} else {
		return send_obj(conn, MHD_HTTP_NOT_FOUND,
				error_obj("no such resource %s", url));
	}
	submit(c, &r);
	return send_obj(conn, r.status, r.reply);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

/* A bound, listening AF_UNIX socket at @path, mode 0600; fd or -errno. */
static int bind_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return -EEXIST;
		}
		/* A live socket is another donor's: do not steal it. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return -EADDRINUSE;
		}
		close(fd);
		unlink(path);	/* stale, from a donor that died */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	old = umask(0177);	/* created 0600: only root may steer the donor */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (!err && (chmod(path, 0600) < 0 || listen(fd, 16) < 0))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int ctlsock_start(const char *path, struct donor *d, ctlsock_changed_fn changed,
		  void *arg, struct ctlsock **out, int *evfd)
{
	struct ctlsock *c;
	char *dir, *slash;
	int fd;

	/* The parent directory, e.g. /run/rmem, may not exist yet. */
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int err = -errno;

			free(dir);
			return err;
		}
	}
	free(dir);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->changed = changed;
	c->arg = arg;
	c->path = strdup(path);
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->path || c->evfd < 0) {
		int err = c->path ? -errno : -ENOMEM;

		if (c->evfd >= 0)
			close(c->evfd);
		free(c->path);
		free(c);
		return err;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->serial, NULL);
	pthread_cond_init(&c->cond, NULL);
	fd = bind_socket(path);
	if (fd < 0) {
		close(c->evfd);
		free(c->path);
		free(c);
		return fd;
	}
	c->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				  0, NULL, NULL, handle, c,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
				  MHD_OPTION_CONNECTION_TIMEOUT, 30u,
				  MHD_OPTION_END);
	if (!c->mhd) {
		close(fd);
		unlink(path);
		close(c->evfd);
		free(c->path);
		free(c);
		return -EIO;
	}
	*out = c;
	*evfd = c->evfd;
	return 0;
}

void ctlsock_stop(struct ctlsock *c)
{
	if (!c)
		return;
	/* Release a handler waiting for the loop, which runs no more. */
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	MHD_stop_daemon(c->mhd);	/* closes the listening socket too */
	unlink(c->path);
	close(c->evfd);
	free(c->path);
	free(c);
}
