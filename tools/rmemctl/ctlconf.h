/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cluster config as rmemctl uses it: which file (--config, then
 * $RMEM_CONFIG, then /etc/rmem/rmem.conf), and the controller peer it
 * names (base URL + bearer token from [cluster] token_file).
 */
#ifndef RMEMCTL_CTLCONF_H
#define RMEMCTL_CTLCONF_H

#include <stdbool.h>

#include "config.h"
#include "http.h"

/* The config file rmemctl reads */
const char *ctl_config_path(void);

/*
 * ctl_config_load - read the config.  With @required false, a missing
 * default file is not an error: returns 1 (no cluster configured).
 * 0 on success, -1 after printing why on stderr.
 */
int ctl_config_load(const char *cmd, struct rmem_config *cfg, bool required);

/*
 * ctl_controller - the controller peer from @cfg (needs [cluster]
 * controller and token_file).  0, or -1 after printing why.  Free with
 * ctl_peer_free().
 */
int ctl_controller(const char *cmd, const struct rmem_config *cfg,
		   struct http_peer *p);
void ctl_peer_free(struct http_peer *p);

/* "host:port" or "http://host:port" -> "http://host:port"; 0 or -1 */
int ctl_base_url(const char *controller, char *out, size_t len);

#endif /* RMEMCTL_CTLCONF_H */
