// SPDX-License-Identifier: MIT
#include "registrar.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"

#define HTTP_TIMEOUT_MS		5000L
#define HTTP_MAX_REPLY		(64 * 1024)
#define RETRY_MS		2000u

struct registrar {
	struct registrar_conf conf;
	char *base_url;
	char *auth_header;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool kick;	/* heartbeat before the interval is up */
};

struct reply_buf {
	char *data;
	size_t len;
	bool too_big;
};

int registrar_base_url(const char *controller, char *out, size_t len)
{
	char *host;
	size_t n;
	int w;

	if (!controller || !*controller)
		return -EINVAL;
	if (!strncmp(controller, "http://", 7) || !strncmp(controller, "https://", 8))
		w = snprintf(out, len, "%s", controller);
	else if (!strstr(controller, "://"))
		w = snprintf(out, len, "http://%s", controller);	/* HOST:PORT */
	else
		return -EINVAL;
	if (w < 0 || (size_t)w >= len)
		return -EINVAL;
	host = strstr(out, "://") + 3;
	n = strlen(out);
	while (out + n > host && out[n - 1] == '/')
		out[--n] = '\0';
	/* Something after the scheme, and no blanks that curl would reject. */
	if (!*host || *host == '/' || strpbrk(out, " \t\r\n"))
		return -EINVAL;
	return 0;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reply_buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > HTTP_MAX_REPLY) {
		b->too_big = true;
		return 0;	/* aborts the transfer */
	}
	p = realloc(b->data, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

/*
 * POST @body (a JSON object) to @path.  Returns the HTTP status (0 if no
 * answer) and the parsed reply object in *@reply (NULL if none).
 */
static long post_json(struct registrar *r, const char *path, json_object *body,
		      json_object **reply)
{
	struct reply_buf buf = { 0 };
	struct curl_slist *hdrs = NULL;
	char url[1024], errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *curl;
	CURLcode rc;

	*reply = NULL;
	snprintf(url, sizeof(url), "%s%s", r->base_url, path);
	curl = curl_easy_init();
	if (!curl)
		return 0;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, r->auth_header);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
			 json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);	/* threads + timeouts */
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	/* Never follow redirects: the token must not travel elsewhere. */
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);

	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (buf.data)
			*reply = json_tokener_parse(buf.data);
		if (status >= 400) {
			json_object *e = NULL;

			log_debug("controller %s: HTTP %ld %s", path, status,
				  *reply && json_object_object_get_ex(*reply, "error", &e) ?
				  json_object_get_string(e) : "");
		}
	} else {
		log_debug("controller %s: %s", path, errbuf[0] ? errbuf :
			  curl_easy_strerror(rc));
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	free(buf.data);
	return status;
}

static const char *reply_error(json_object *reply)
{
	json_object *e;

	if (reply && json_object_object_get_ex(reply, "error", &e))
		return json_object_get_string(e);
	return "no answer";
}

/* Register; 0 with *@id and *@interval_ms set, or -1. */
static int do_register(struct registrar *r, uint64_t *id, unsigned int *interval_ms)
{
	json_object *body = json_object_new_object(), *reply = NULL, *v;
	long status;
	int ret = -1;

	json_object_object_add(body, "addr", json_object_new_string(r->conf.advertise));
	json_object_object_add(body, "instance_id",
			       json_object_new_uint64(r->conf.instance_id));
	json_object_object_add(body, "slab_size",
			       json_object_new_uint64(r->conf.slab_size));
	json_object_object_add(body, "total_slabs",
			       json_object_new_uint64(atomic_load(r->conf.total_slabs)));
	if (r->conf.zone && *r->conf.zone)
		json_object_object_add(body, "zone", json_object_new_string(r->conf.zone));

	status = post_json(r, "/v1/donors", body, &reply);
	if ((status == 200 || status == 201) && reply &&
	    json_object_object_get_ex(reply, "id", &v) &&
	    json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0) {
		*id = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(reply, "heartbeat_interval_ms", &v) &&
		    json_object_get_int64(v) > 0 && json_object_get_int64(v) < 3600000)
			*interval_ms = (unsigned int)json_object_get_int64(v);
		json_object_object_get_ex(reply, "lost_slabs", &v);
		log_info("registered with controller %s as donor %" PRIu64
			 " (heartbeat every %u ms%s)", r->base_url, *id, *interval_ms,
			 v && json_object_get_int64(v) ?
				", it marked our previous instance's slabs lost" : "");
		ret = 0;
	} else if (status) {
		log_warn("controller %s refused registration: HTTP %ld: %s",
			 r->base_url, status, reply_error(reply));
	}
	json_object_put(body);
	json_object_put(reply);
	return ret;
}

/* HTTP status of one heartbeat (0 if the controller did not answer). */
static long do_heartbeat(struct registrar *r, uint64_t id)
{
	json_object *body = json_object_new_object(), *reply = NULL;
	char path[64];
	long status;

	uint32_t total = atomic_load(r->conf.total_slabs);
	uint32_t nfree = atomic_load(r->conf.free_slabs);

	/* Two loads, not one snapshot: never claim more free than total. */
	if (nfree > total)
		nfree = total;
	json_object_object_add(body, "free_slabs", json_object_new_uint64(nfree));
	json_object_object_add(body, "total_slabs", json_object_new_uint64(total));
	json_object_object_add(body, "instance_id",
			       json_object_new_uint64(r->conf.instance_id));
	snprintf(path, sizeof(path), "/v1/donors/%" PRIu64 "/heartbeat", id);
	status = post_json(r, path, body, &reply);
	if (status != 200 && status != 0)
		log_warn("controller heartbeat: HTTP %ld: %s", status,
			 reply_error(reply));
	json_object_put(body);
	json_object_put(reply);
	return status;
}

/* Sleep @ms unless stopped; true if stopped. */
static bool wait_or_stop(struct registrar *r, unsigned int ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop && !r->kick &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
		;
	r->kick = false;
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

static void *registrar_main(void *arg)
{
	struct registrar *r = arg;
	unsigned int interval_ms = 1000, failures = 0;
	bool registered = false;
	uint64_t id = 0;

	do {
		if (!registered) {
			registered = do_register(r, &id, &interval_ms) == 0;
			if (!registered) {
				/* Say it once, then every minute or so. */
				if (failures++ % 30 == 0)
					log_warn("controller %s unreachable or refusing; "
						 "retrying", r->base_url);
				continue;
			}
			failures = 0;
			continue;	/* first heartbeat after one interval */
		}
		long status = do_heartbeat(r, id);

		if (status == 404 || status == 409) {
			log_warn("controller no longer knows this donor instance: "
				 "registering again");
			registered = false;
			continue;
		}
		if (status != 200) {
			if (failures++ % 30 == 0)
				log_warn("controller heartbeat failed; retrying");
		} else if (failures) {
			log_info("controller heartbeats resumed");
			failures = 0;
		}
	} while (!wait_or_stop(r, registered ? interval_ms : RETRY_MS));
	return NULL;
}

int registrar_start(const struct registrar_conf *conf, struct registrar **out)
{
	struct registrar *r;
	pthread_condattr_t ca;
	int err;

	/* The token goes in an HTTP header: printable ASCII only. */
	for (size_t i = 0; i < conf->token_len; i++)
		if (conf->token[i] < 0x21 || conf->token[i] > 0x7e)
			return -EINVAL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->conf = *conf;
	r->base_url = strdup(conf->base_url);
	r->auth_header = malloc(conf->token_len + 32);
	if (!r->base_url || !r->auth_header) {
		err = -ENOMEM;
		goto out_free;
	}
	memcpy(r->auth_header, "Authorization: Bearer ", 22);
	memcpy(r->auth_header + 22, conf->token, conf->token_len);
	r->auth_header[22 + conf->token_len] = '\0';

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		err = -EIO;
		goto out_free;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	err = pthread_create(&r->thread, NULL, registrar_main, r);
	if (err) {
		err = -err;
		curl_global_cleanup();
		goto out_free;
	}
	*out = r;
	return 0;

out_free:
	free(r->auth_header);
	free(r->base_url);
	free(r);
	return err;
}

void registrar_kick(struct registrar *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->kick = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void registrar_stop(struct registrar *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	/* At most one HTTP timeout away. */
	pthread_join(r->thread, NULL);
	curl_global_cleanup();
	explicit_bzero(r->auth_header, strlen(r->auth_header));
	free(r->auth_header);
	free(r->base_url);
	free(r);
}
