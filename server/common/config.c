// SPDX-License-Identifier: MIT
/*
 * Reader of /etc/rmem/rmem.conf (see config.h for the format), on top of
 * inih.  inih gives no line number to the handler, so the file is fed
 * through our own line reader that counts lines; that lets every error
 * (syntax or value) name the exact line.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "size.h"

struct parse_ctx {
	struct rmem_config *cfg;
	FILE		*file;
	const char	*path;
	int		line;		/* line most recently handed to inih */
	bool		line_too_long;
	int		read_errno;	/* errno of a failed read, 0 if none */
	int		err_line;	/* first error found by us, 0 if none */
	char		err[512];
};

void rmem_config_defaults(struct rmem_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->slab_size = 1ULL << 30;
	cfg->replicas = 1;
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:7480");
	snprintf(cfg->db_path, sizeof(cfg->db_path),
		 "/var/lib/rmem/controller.db");
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
	cfg->heartbeat_interval_ms = 1000;
}

void rmem_config_free(struct rmem_config *cfg)
{
	free(cfg->quotas);
	free(cfg->zones);
	cfg->quotas = NULL;
	cfg->zones = NULL;
	cfg->nquotas = 0;
	cfg->nzones = 0;
}

int rmem_config_parse_client_id(const char *hex, uint8_t out[16])
{
	if (strlen(hex) != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		unsigned int b = 0;

		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];

			b <<= 4;
			if (c >= '0' && c <= '9')
				b |= (unsigned int)(c - '0');
			else if (c >= 'a' && c <= 'f')
				b |= (unsigned int)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				b |= (unsigned int)(c - 'A' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)b;
	}
	return 0;
}

uint64_t rmem_config_quota_for(const struct rmem_config *cfg,
			       const uint8_t client_id[16])
{
	for (size_t i = 0; i < cfg->nquotas; i++)
		if (!memcmp(cfg->quotas[i].client_id, client_id, 16))
			return cfg->quotas[i].bytes;
	return cfg->default_quota;
}

static int fail(struct parse_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	/* Keep the first error only: later ones are often consequences. */
	if (ctx->err_line)
		return 0;
	ctx->err_line = ctx->line;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return 0;
}

static int set_str(struct parse_ctx *ctx, char *dst, size_t size,
		   const char *section, const char *name, const char *value)
{
	if (!*value)
		return fail(ctx, "[%s] %s is empty", section, name);
	if (strlen(value) >= size)
		return fail(ctx, "[%s] %s is too long (at most %zu characters)",
			    section, name, size - 1);
	memcpy(dst, value, strlen(value) + 1);
	return 1;
}

/*
 * HOST:PORT, where HOST is a name, an IPv4 literal or a bracketed IPv6
 * literal, and PORT is 1..65535.  Names are not resolved here: the file is
 * read before the network may be up.
 */
static bool valid_hostport(const char *s, bool port_required)
{
	const char *port = NULL;
	const char *host_end;

	if (*s == '[') {
		host_end = strchr(s, ']');
		if (!host_end || host_end == s + 1)
			return false;
		if (host_end[1] == ':')
			port = host_end + 2;
		else if (host_end[1])
			return false;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon && strchr(s, ':') != colon)
			return false;	/* bare IPv6 needs brackets */
		host_end = colon ? colon : s + strlen(s);
		if (host_end == s)
			return false;
		if (colon)
			port = colon + 1;
	}
	if (!port)
		return !port_required;
	if (!*port || strlen(port) > 5)
		return false;
	for (const char *p = port; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	long v = strtol(port, NULL, 10);
	return v >= 1 && v <= 65535;
}

static int parse_uint(const char *value, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*value))
		return -1;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int handle_cluster(struct parse_ctx *ctx, const char *name,
			  const char *value)
{
	struct rmem_config *cfg = ctx->cfg;
	unsigned long n;

	if (!strcmp(name, "controller")) {
		if (!valid_hostport(value, true))
			return fail(ctx, "[cluster] controller must be HOST:PORT, got '%s'",
				    value);
		return set_str(ctx, cfg->controller, sizeof(cfg->controller),
			       "cluster", name, value);
	}
	if (!strcmp(name, "token_file"))
		return set_str(ctx, cfg->token_file, sizeof(cfg->token_file),
			       "cluster", name, value);
	if (!strcmp(name, "slab_size")) {
		uint64_t v;

		if (parse_size(value, &v) || v < 4096 ||
		    (v & (v - 1)))
			return fail(ctx, "[cluster] slab_size must be a power of two of at least 4K (e.g. 1G), got '%s'",
				    value);
		cfg->slab_size = v;
		return 1;
	}
	if (!strcmp(name, "replicas")) {
		if (parse_uint(value, RMEM_CONFIG_MAX_REPLICAS, &n) || n < 1)
			return fail(ctx, "[cluster] replicas must be 1..%d, got '%s'",
				    RMEM_CONFIG_MAX_REPLICAS, value);
		cfg->replicas = (unsigned int)n;
		cfg->replicas_set = true;
		return 1;
	}
	return fail(ctx, "unknown key '%s' in [cluster]", name);
}

static int handle_node(struct parse_ctx *ctx, const char *name,
		       const char *value)
{
	struct rmem_config *cfg = ctx->cfg;

	if (!strcmp(name, "name"))
		return set_str(ctx, cfg->node_name, sizeof(cfg->node_name),
			       "node", name, value);
	if (!strcmp(name, "zone"))
		return set_str(ctx, cfg->zone, sizeof(cfg->zone),
			       "node", name, value);
	if (!strcmp(name, "rdma_addr")) {
		if (!valid_hostport(value, false))
			return fail(ctx, "[node] rdma_addr must be ADDR or ADDR:PORT, got '%s'",
				    value);
		return set_str(ctx, cfg->rdma_addr, sizeof(cfg->rdma_addr),
			       "node", name, value);
	}
	return fail(ctx, "unknown key '%s' in [node]", name);
}

static int handle_zones(struct parse_ctx *ctx, const char *name,
			const char *value)
{
	struct rmem_config *cfg = ctx->cfg;
	struct rmem_config_zone *z;

	if (strlen(name) >= sizeof(z->node) || strlen(value) >= sizeof(z->zone))
		return fail(ctx, "[zones] entry too long");
	if (!*value)
		return fail(ctx, "[zones] %s has an empty zone", name);
	for (size_t i = 0; i < cfg->nzones; i++)
		if (!strcmp(cfg->zones[i].node, name))
			return fail(ctx, "[zones] node '%s' listed twice", name);
	z = realloc(cfg->zones, (cfg->nzones + 1) * sizeof(*z));
	if (!z)
		return fail(ctx, "out of memory");
	cfg->zones = z;
	z = &cfg->zones[cfg->nzones++];
	snprintf(z->node, sizeof(z->node), "%s", name);
	snprintf(z->zone, sizeof(z->zone), "%s", value);
	return 1;
}

static int handle_donor(struct parse_ctx *ctx, const char *name,
			const char *value)
{
	if (!strcmp(name, "memory")) {
		if (parse_size(value, &ctx->cfg->donor_memory) ||
		    !ctx->cfg->donor_memory)
			return fail(ctx, "[donor] memory must be a size such as 8G, got '%s'",
				    value);
		return 1;
	}
	return fail(ctx, "unknown key '%s' in [donor]", name);
}

static int handle_controller(struct parse_ctx *ctx, const char *name,
			     const char *value)
{
	struct rmem_config *cfg = ctx->cfg;
	unsigned long n;

	if (!strcmp(name, "listen")) {
		if (!valid_hostport(value, true))
			return fail(ctx, "[controller] listen must be ADDR:PORT, got '%s'",
				    value);
		return set_str(ctx, cfg->listen, sizeof(cfg->listen),
			       "controller", name, value);
	}
	if (!strcmp(name, "db"))
		return set_str(ctx, cfg->db_path, sizeof(cfg->db_path),
			       "controller", name, value);
	if (!strcmp(name, "log_level")) {
		static const char *const levels[] = {
			"error", "warn", "info", "debug" };

		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (!strcmp(value, levels[i]))
				return set_str(ctx, cfg->log_level,
					       sizeof(cfg->log_level),
					       "controller", name, value);
		return fail(ctx, "[controller] log_level must be error, warn, info or debug, got '%s'",
			    value);
	}
	if (!strcmp(name, "heartbeat_interval_ms")) {
		if (parse_uint(value, 60000, &n) || n < 10)
			return fail(ctx, "[controller] heartbeat_interval_ms must be 10..60000, got '%s'",
				    value);
		cfg->heartbeat_interval_ms = (unsigned int)n;
		return 1;
	}
	if (!strcmp(name, "default_quota")) {
		if (parse_size(value, &cfg->default_quota))
			return fail(ctx, "[controller] default_quota must be a size (0 = no limit), got '%s'",
				    value);
		return 1;
	}
	return fail(ctx, "unknown key '%s' in [controller]", name);
}

static int handle_quotas(struct parse_ctx *ctx, const char *name,
			 const char *value)
{
	struct rmem_config *cfg = ctx->cfg;
	struct rmem_config_quota q, *arr;

	if (rmem_config_parse_client_id(name, q.client_id))
		return fail(ctx, "[quotas] key must be a client id of 32 hex digits, got '%s'",
			    name);
	if (parse_size(value, &q.bytes))
		return fail(ctx, "[quotas] %s must be a size such as 4G, got '%s'",
			    name, value);
	for (size_t i = 0; i < cfg->nquotas; i++)
		if (!memcmp(cfg->quotas[i].client_id, q.client_id, 16))
			return fail(ctx, "[quotas] client %s listed twice", name);
	arr = realloc(cfg->quotas, (cfg->nquotas + 1) * sizeof(*arr));
	if (!arr)
		return fail(ctx, "out of memory");
	cfg->quotas = arr;
	cfg->quotas[cfg->nquotas++] = q;
	return 1;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse_ctx *ctx = user;

	if (ctx->line_too_long)
		return fail(ctx, "line too long");
	if (!*section)
		return fail(ctx, "'%s' is outside any [section]", name);
	if (!strcmp(section, "cluster"))
		return handle_cluster(ctx, name, value);
	if (!strcmp(section, "node"))
		return handle_node(ctx, name, value);
	if (!strcmp(section, "zones"))
		return handle_zones(ctx, name, value);
	if (!strcmp(section, "donor"))
		return handle_donor(ctx, name, value);
	if (!strcmp(section, "controller"))
		return handle_controller(ctx, name, value);
	if (!strcmp(section, "quotas"))
		return handle_quotas(ctx, name, value);
	return fail(ctx, "unknown section [%s]", section);
}

/* fgets() that counts lines, so errors can name them. */
static char *line_reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	char *s = fgets(str, num, ctx->file);
	size_t len;

	if (!s) {
		if (ferror(ctx->file))
			ctx->read_errno = errno;
		return NULL;
	}
	ctx->line++;
	len = strlen(s);
	/*
	 * A line longer than inih's buffer would be split and its tail read
	 * as another line; refuse it rather than guess.
	 */
	if (len == (size_t)num - 1 && s[len - 1] != '\n' && !feof(ctx->file)) {
		ctx->line_too_long = true;
		if (!ctx->err_line) {
			ctx->err_line = ctx->line;
			snprintf(ctx->err, sizeof(ctx->err),
				 "line too long (at most %d characters)",
				 num - 2);
		}
		/* Skip the rest of the long line. */
		int c;
		while ((c = fgetc(ctx->file)) != EOF && c != '\n')
			;
	} else {
		ctx->line_too_long = false;
	}
	return s;
}

/* [node] zone wins; else the node's line in [zones], wherever it was. */
static void fill_zone(struct rmem_config *cfg)
{
	if (!cfg->zone[0] && cfg->node_name[0]) {
		for (size_t i = 0; i < cfg->nzones; i++)
			if (!strcmp(cfg->zones[i].node, cfg->node_name))
				snprintf(cfg->zone, sizeof(cfg->zone), "%s",
					 cfg->zones[i].zone);
	}
}

int rmem_config_load(const char *path, struct rmem_config *cfg,
		     char *err, size_t errlen)
{
	struct parse_ctx ctx = { .cfg = cfg, .path = path };
	int ret;

	rmem_config_defaults(cfg);
	ctx.file = fopen(path, "r");
	if (!ctx.file) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	ret = ini_parse_stream(line_reader, &ctx, handler, &ctx);
	if (!ret && ferror(ctx.file)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(ctx.read_errno ? ctx.read_errno : EIO));
		ret = -1;
	}
	fclose(ctx.file);
	if (ret == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
	} else if (ret > 0) {
		/*
		 * inih reports the first line it disliked; if that is the line
		 * where we found a bad value, our message says more.  Else it
		 * is a syntax error inih found by itself (no '=', no ']').
		 */
		if (ctx.err_line == ret)
			snprintf(err, errlen, "%s:%d: %s", path, ret, ctx.err);
		else
			snprintf(err, errlen,
				 "%s:%d: syntax error: expected '[section]' or 'key = value'",
				 path, ret);
	} else if (!ret && ctx.err_line) {
		/* Our own error on a line inih accepted (line too long). */
		snprintf(err, errlen, "%s:%d: %s", path, ctx.err_line, ctx.err);
		ret = ctx.err_line;
	}
	if (ret) {
		rmem_config_free(cfg);
		rmem_config_defaults(cfg);
		return -1;
	}
	fill_zone(cfg);
	return 0;
}
