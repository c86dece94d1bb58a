/* SPDX-License-Identifier: MIT */
/*
 * The cluster configuration file, /etc/rmem/rmem.conf, read by every rmem
 * daemon and by rmemctl.  The file is the same on every node except for the
 * [node] section, so one copy can be pushed everywhere and edited once.
 *
 *   [cluster]    controller = HOST:PORT   token_file = PATH
 *                slab_size = SIZE          replicas = N
 *   [node]       name = NAME   zone = LABEL   rdma_addr = ADDR[:PORT]
 *   [zones]      NODE_NAME = LABEL          (zone of nodes without [node] zone)
 *   [donor]      memory = SIZE
 *   [controller] listen = ADDR:PORT   db = PATH   log_level = LEVEL
 *                heartbeat_interval_ms = N   default_quota = SIZE
 *   [quotas]     CLIENT_ID_HEX32 = SIZE
 *
 * SIZE is a number with an optional K/M/G/T suffix (powers of 1024), as
 * parsed by parse_size() of size.h; config.o needs size.o beside it.
 * Unknown sections and keys are errors, so that a typo is caught at start
 * instead of silently running with a default.
 */
#ifndef RMEM_COMMON_CONFIG_H
#define RMEM_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RMEM_CONFIG_DEFAULT_PATH	"/etc/rmem/rmem.conf"
#define RMEM_CONFIG_STR_MAX		256
#define RMEM_CONFIG_PATH_MAX		4096
#define RMEM_CONFIG_MAX_REPLICAS	3

struct rmem_config_quota {
	uint8_t		client_id[16];
	uint64_t	bytes;
};

struct rmem_config_zone {
	char		node[RMEM_CONFIG_STR_MAX];
	char		zone[RMEM_CONFIG_STR_MAX];
};

struct rmem_config {
	/* [cluster] */
	char		controller[RMEM_CONFIG_STR_MAX];	/* HOST:PORT or "" */
	char		token_file[RMEM_CONFIG_PATH_MAX];	/* "" if unset */
	uint64_t	slab_size;				/* bytes */
	unsigned int	replicas;				/* 1..MAX */
	/*
	 * replicas was written in the file: the controller uses it as is;
	 * otherwise it picks 1 or 2 from the donors it has.
	 */
	bool		replicas_set;

	/* [node]; zone is filled from [zones] when [node] has none */
	char		node_name[RMEM_CONFIG_STR_MAX];
	char		zone[RMEM_CONFIG_STR_MAX];
	char		rdma_addr[RMEM_CONFIG_STR_MAX];

	/* [donor] */
	uint64_t	donor_memory;				/* 0 = unset */

	/* [controller] */
	char		listen[RMEM_CONFIG_STR_MAX];
	char		db_path[RMEM_CONFIG_PATH_MAX];
	char		log_level[16];
	unsigned int	heartbeat_interval_ms;
	uint64_t	default_quota;				/* 0 = no limit */

	/* [quotas] and [zones]: owned arrays, freed by rmem_config_free() */
	struct rmem_config_quota *quotas;
	size_t		nquotas;
	struct rmem_config_zone *zones;
	size_t		nzones;
};

/* Fills @cfg with the built-in defaults (no file involved). */
void rmem_config_defaults(struct rmem_config *cfg);

/*
 * Resets @cfg to defaults, then reads @path over them.  Returns 0, or -1
 * with a message naming the file (and the line, for content errors) in @err.
 * On error @cfg holds defaults only, with nothing to free.
 */
int rmem_config_load(const char *path, struct rmem_config *cfg,
		     char *err, size_t errlen);

/* Releases the arrays owned by @cfg; @cfg may be reused after defaults. */
void rmem_config_free(struct rmem_config *cfg);

/* Quota of @client_id: [quotas] entry if any, else default_quota. */
uint64_t rmem_config_quota_for(const struct rmem_config *cfg,
			       const uint8_t client_id[16]);

/* Parses 32 hex digits into 16 bytes.  Returns 0 or -1. */
int rmem_config_parse_client_id(const char *hex, uint8_t out[16]);

#endif /* RMEM_COMMON_CONFIG_H */
