// SPDX-License-Identifier: GPL-2.0
/* Which cluster config rmemctl reads, and the controller it names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlconf.h"
#include "rmemctl.h"
#include "token.h"

const char *ctl_config_path(void)
{
	const char *env = getenv("RMEM_CONFIG");

	if (opts.config)
		return opts.config;
	if (env && *env)
		return env;
	return RMEM_CONFIG_DEFAULT_PATH;
}

int ctl_config_load(const char *cmd, struct rmem_config *cfg, bool required)
{
	const char *path = ctl_config_path();
	char err[512];

	/* only the default may be absent: a named file must exist */
	if (!required && !opts.config && !getenv("RMEM_CONFIG") &&
	    access(path, F_OK) != 0) {
		rmem_config_defaults(cfg);
		return 1;
	}
	if (rmem_config_load(path, cfg, err, sizeof(err))) {
		fprintf(stderr, "rmemctl: %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

int ctl_base_url(const char *controller, char *out, size_t len)
{
	int w;

	if (!controller || !*controller || strpbrk(controller, " \t\r\n"))
		return -1;
	if (!strncmp(controller, "http://", 7))
		w = snprintf(out, len, "%s", controller);
	else if (strstr(controller, "://"))
		return -1;	/* no https: the controller speaks plain HTTP */
	else
		w = snprintf(out, len, "http://%s", controller);
	if (w < 0 || (size_t)w >= len)
		return -1;
	while (w > 7 && out[w - 1] == '/')
		out[--w] = '\0';
	return strlen(out) > 7 ? 0 : -1;
}

int ctl_controller(const char *cmd, const struct rmem_config *cfg,
		   struct http_peer *p)
{
	uint8_t tok[RMEM_TOKEN_MAX];
	size_t len, i;
	int loose, ret;

	memset(p, 0, sizeof(*p));
	p->what = "controller";
	if (!cfg->controller[0]) {
		fprintf(stderr, "rmemctl: %s: %s names no controller ([cluster] controller)\n",
			cmd, ctl_config_path());
		return -1;
	}
	if (ctl_base_url(cfg->controller, p->base_url, sizeof(p->base_url))) {
		fprintf(stderr, "rmemctl: %s: bad [cluster] controller '%s' (HOST:PORT)\n",
			cmd, cfg->controller);
		return -1;
	}
	if (!cfg->token_file[0]) {
		fprintf(stderr, "rmemctl: %s: %s names no token file ([cluster] token_file)\n",
			cmd, ctl_config_path());
		return -1;
	}
	ret = rmem_token_load(cfg->token_file, tok, sizeof(tok), &len, &loose);
	if (ret) {
		fprintf(stderr, "rmemctl: %s: cannot read token %s: %s\n", cmd,
			cfg->token_file, strerror(-ret));
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (tok[i] < 0x21 || tok[i] > 0x7e) {
			fprintf(stderr, "rmemctl: %s: token %s holds bytes an HTTP header cannot carry\n",
				cmd, cfg->token_file);
			explicit_bzero(tok, sizeof(tok));
			return -1;
		}
	}
	p->auth_header = malloc(len + 32);
	if (!p->auth_header) {
		explicit_bzero(tok, sizeof(tok));
		fprintf(stderr, "rmemctl: %s: out of memory\n", cmd);
		return -1;
	}
	memcpy(p->auth_header, "Authorization: Bearer ", 22);
	memcpy(p->auth_header + 22, tok, len);
	p->auth_header[22 + len] = '\0';
	explicit_bzero(tok, sizeof(tok));
	return 0;
}

void ctl_peer_free(struct http_peer *p)
{
	if (p->auth_header) {
		explicit_bzero(p->auth_header, strlen(p->auth_header));
		free(p->auth_header);
		p->auth_header = NULL;
	}
}
