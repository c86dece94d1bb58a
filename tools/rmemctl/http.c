// SPDX-License-Identifier: GPL-2.0
/* One HTTP request with a JSON body and a JSON answer, through libcurl. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"

/* The largest answer we accept: every allocation of a big cluster fits */
#define HTTP_MAX_REPLY	(16 * 1024 * 1024)

struct reply_buf {
	char *data;
	size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reply_buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > HTTP_MAX_REPLY)
		return 0;	/* aborts the transfer */
	p = realloc(b->data, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

long http_request(const struct http_peer *p, const char *method,
		  const char *path, json_object *body, json_object **reply,
		  char *err, size_t errlen)
{
	char url[1024], errbuf[CURL_ERROR_SIZE] = "";
	struct reply_buf buf = { NULL, 0 };
	struct curl_slist *hdrs = NULL;
	long status = 0;
	json_object *e;
	CURLcode rc;
	CURL *curl;

	*reply = NULL;
	err[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", p->base_url, path);
	curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return 0;
	}
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (p->auth_header)
		hdrs = curl_slist_append(hdrs, p->auth_header);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (hdrs)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
				 json_object_to_json_string_ext(body,
					JSON_C_TO_STRING_PLAIN));
	if (p->unix_path)
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, p->unix_path);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);

	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s %s: %s", p->what,
			 p->unix_path ? p->unix_path : p->base_url,
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (buf.data)
			*reply = json_tokener_parse(buf.data);
		if (status >= 400)
			snprintf(err, errlen, "%s answered HTTP %ld: %s",
				 p->what, status,
				 *reply && json_object_object_get_ex(*reply, "error", &e) ?
				 json_object_get_string(e) : "(no message)");
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	free(buf.data);
	return status;
}
