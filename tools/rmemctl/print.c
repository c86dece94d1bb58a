// SPDX-License-Identifier: GPL-2.0
/* Human text or JSON (through json-c) from one sequence of calls. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <json.h>

#include "args.h"
#include "print.h"

/* Containers nest: root object, devices array, device, donors ... */
#define OUT_DEPTH_MAX	16

static struct {
	FILE *f;
	bool json;
	bool pretty;
	bool failed;		/* out of memory or too deep: record is lost */
	int depth;
	int overflow;		/* containers opened beyond OUT_DEPTH_MAX */
	json_object *stack[OUT_DEPTH_MAX];
} out = { .f = NULL };

void out_init(FILE *f, bool json, bool pretty)
{
	out.f = f;
	out.json = json;
	out.pretty = pretty;
	out.failed = false;
	out.depth = 0;
	out.overflow = 0;
}

bool out_is_json(void)
{
	return out.json;
}

/* Attach @val to the innermost container; takes ownership of @val */
static bool json_add(const char *key, json_object *val)
{
	json_object *top = out.depth > 0 ? out.stack[out.depth - 1] : NULL;
	int err;

	if (!val || !top) {
		json_object_put(val);
		out.failed = true;
		return false;
	}
	if (json_object_is_type(top, json_type_array))
		err = json_object_array_add(top, val);
	else
		err = key ? json_object_object_add(top, key, val) : -1;
	if (err) {
		json_object_put(val);
		out.failed = true;
		return false;
	}
	return true;
}

/*
 * Open container @c.  After a failure the stack still gets an entry (NULL,
 * or an overflow count) so that every *_end() call stays balanced; the
 * record is then reported lost by out_end().
 */
static void json_push(const char *key, json_object *c)
{
	if (out.depth == OUT_DEPTH_MAX) {
		json_object_put(c);
		out.failed = true;
		out.overflow++;
		return;
	}
	/* the parent holds the reference, the stack only borrows it */
	if (out.depth > 0 && !json_add(key, c))
		c = NULL;
	if (!c)
		out.failed = true;
	out.stack[out.depth++] = c;
}

static void json_pop(void)
{
	if (out.overflow)
		out.overflow--;
	else if (out.depth > 0)
		out.depth--;
}

void out_begin(void)
{
	out.failed = false;
	if (!out.json)
		return;
	out.depth = 0;
	out.overflow = 0;
	json_push(NULL, json_object_new_object());
}

int out_end(void)
{
	int ret = 0;

	if (out.json) {
		json_object *root = out.depth > 0 ? out.stack[0] : NULL;
		/* "/dev/rmem0", not json-c's default "\/dev\/rmem0" */
		int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
			    (out.pretty ? JSON_C_TO_STRING_PRETTY |
					  JSON_C_TO_STRING_SPACED :
					  JSON_C_TO_STRING_PLAIN);

		if (out.depth != 1 || out.overflow || !root)
			out.failed = true;
		if (!out.failed) {
			const char *s = json_object_to_json_string_ext(root, flags);

			if (!s)
				out.failed = true;
			else
				fprintf(out.f, "%s\n", s);
		}
		json_object_put(root);
		out.depth = 0;
		out.overflow = 0;
	}
	if (fflush(out.f) || ferror(out.f))
		out.failed = true;
	ret = out.failed ? -1 : 0;
	out.failed = false;
	return ret;
}

static bool json_live(void)
{
	return out.depth > 0 && out.stack[out.depth - 1];
}

void out_obj_begin(const char *key)
{
	if (out.json)
		json_push(key, json_live() ? json_object_new_object() : NULL);
}

void out_obj_end(void)
{
	if (out.json)
		json_pop();
}

void out_arr_begin(const char *key)
{
	if (out.json)
		json_push(key, json_live() ? json_object_new_array() : NULL);
}

void out_arr_end(void)
{
	if (out.json)
		json_pop();
}

void out_str(const char *key, const char *fmt, const char *val)
{
	if (out.json) {
		if (json_live())
			json_add(key, json_object_new_string(val));
	} else if (fmt) {
		fprintf(out.f, fmt, val);
	}
}

void out_u64(const char *key, const char *fmt, uint64_t val)
{
	if (out.json) {
		if (json_live())
			json_add(key, json_object_new_uint64(val));
	} else if (fmt) {
		fprintf(out.f, fmt, val);
	}
}

void out_bool(const char *key, const char *fmt, bool val)
{
	if (out.json) {
		if (json_live())
			json_add(key, json_object_new_boolean(val));
	} else if (fmt) {
		fprintf(out.f, fmt, val ? "yes" : "no");
	}
}

void out_size(const char *key, const char *fmt, uint64_t bytes)
{
	char buf[32];

	if (out.json)
		out_u64(key, NULL, bytes);
	else if (fmt)
		fprintf(out.f, fmt, format_size(bytes, buf, sizeof(buf)));
}

void out_text(const char *fmt, ...)
{
	va_list ap;

	if (out.json)
		return;
	va_start(ap, fmt);
	vfprintf(out.f, fmt, ap);
	va_end(ap);
}
