// SPDX-License-Identifier: MIT
/*
 * rmem-controllerd: the cluster controller.  Reads the cluster config,
 * opens the state database, serves the HTTP API, and marks donors down
 * when their heartbeats stop.  SIGTERM or SIGINT stops it cleanly: the
 * API stops taking requests, the request in progress completes (and its
 * commit with it), and the database is closed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api_http.h"
#include "cluster.h"
#include "config.h"
#include "log.h"
#include "storage.h"
#include "token.h"

#define PROG "rmem-controllerd"

struct options {
	const char	*config;
	bool		config_given;
	const char	*listen;
	const char	*db;
	const char	*token_file;
	const char	*log_level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTIONS]\n"
		"The rmem cluster controller: registers donors, places slabs, issues grants.\n"
		"\n"
		"  -c, --config FILE       cluster config (default " RMEM_CONFIG_DEFAULT_PATH ";\n"
		"                          a missing default file means built-in defaults)\n"
		"  -l, --listen ADDR:PORT  HTTP API address (default [controller] listen,\n"
		"                          else 127.0.0.1:7480)\n"
		"  -d, --db PATH           state database (default [controller] db,\n"
		"                          else /var/lib/rmem/controller.db)\n"
		"  -t, --token-file FILE   cluster token (default [cluster] token_file)\n"
		"  -L, --log-level LEVEL   error, warn, info or debug (default info)\n"
		"  -h, --help              show this help\n"
		"\n"
		"Options override the config file.  See rmem-controllerd(8) and docs/api.md.\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "listen",	required_argument, NULL, 'l' },
		{ "db",		required_argument, NULL, 'd' },
		{ "token-file",	required_argument, NULL, 't' },
		{ "log-level",	required_argument, NULL, 'L' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->config = RMEM_CONFIG_DEFAULT_PATH;
	while ((ch = getopt_long(argc, argv, "c:l:d:t:L:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; o->config_given = true; break;
		case 'l': o->listen = optarg; break;
		case 'd': o->db = optarg; break;
		case 't': o->token_file = optarg; break;
		case 'L': o->log_level = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Heartbeat checker: a thread that wakes a few times per interval. */
struct checker {
	pthread_t	thread;
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	bool		stop;
	struct cluster	*cluster;
	unsigned int	period_ms;
};

static void *checker_main(void *arg)
{
	struct checker *ck = arg;
	struct timespec ts;

	pthread_mutex_lock(&ck->lock);
	while (!ck->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(ck->period_ms % 1000) * 1000000L;
		ts.tv_sec += ck->period_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&ck->cond, &ck->lock, &ts);
		if (ck->stop)
			break;
		pthread_mutex_unlock(&ck->lock);
		cluster_check_heartbeats(ck->cluster);
		pthread_mutex_lock(&ck->lock);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

static int checker_start(struct checker *ck)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&ck->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ck->cond, &attr);
	pthread_condattr_destroy(&attr);
	return pthread_create(&ck->thread, NULL, checker_main, ck);
}

static void checker_stop(struct checker *ck)
{
	pthread_mutex_lock(&ck->lock);
	ck->stop = true;
	pthread_cond_signal(&ck->cond);
	pthread_mutex_unlock(&ck->lock);
	pthread_join(ck->thread, NULL);
	pthread_cond_destroy(&ck->cond);
	pthread_mutex_destroy(&ck->lock);
}

int main(int argc, char **argv)
{
	static uint8_t token[RMEM_TOKEN_MAX];
	struct rmem_config cfg;
	struct options o = { 0 };
	struct cluster_params params;
	struct checker ck = { 0 };
	struct storage *st;
	struct cluster *cluster;
	struct api_server *api;
	enum rmem_log_level level;
	char err[1024];
	size_t token_len = 0;
	sigset_t sigs;
	int loose = 0, sig = 0, rc;

	if (parse_options(argc, argv, &o))
		return 2;

	if (rmem_config_load(o.config, &cfg, err, sizeof(err))) {
		/* Without --config, no file at the default path is fine. */
		if (o.config_given || access(o.config, F_OK) == 0 || errno != ENOENT) {
			fprintf(stderr, PROG ": %s\n", err);
			return 1;
		}
		rmem_config_defaults(&cfg);
	}
	if (o.listen)
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", o.listen);
	if (o.db)
		snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", o.db);
	if (o.token_file)
		snprintf(cfg.token_file, sizeof(cfg.token_file), "%s", o.token_file);
	if (o.log_level)
		snprintf(cfg.log_level, sizeof(cfg.log_level), "%s", o.log_level);
	if (rmem_log_parse_level(cfg.log_level, &level)) {
		fprintf(stderr, PROG ": unknown log level '%s' (error, warn, info, debug)\n",
			cfg.log_level);
		goto out_config;
	}
	rmem_log_init(PROG, level, false);

	if (!cfg.token_file[0]) {
		log_error("no cluster token: give --token-file or [cluster] token_file in %s",
			  o.config);
		goto out_config;
	}
	rc = rmem_token_load(cfg.token_file, token, sizeof(token), &token_len,
			     &loose);
	if (rc) {
		log_error("token file %s: %s", cfg.token_file,
			  rc == -ENODATA ? "empty" : rc == -EFBIG ? "too large"
					 : strerror(-rc));
		goto out_config;
	}
	if (loose)
		log_warn("token file %s is readable by group or others; chmod 600 it",
			 cfg.token_file);

	/* Signals are taken by sigwait() below, in no other thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	st = storage_sqlite_open(cfg.db_path, err, sizeof(err));
	if (!st) {
		log_error("database %s", err);
		goto out_config;
	}
	params = (struct cluster_params){
		.slab_size = cfg.slab_size,
		.default_replicas = cfg.replicas,
		.default_replicas_set = cfg.replicas_set,
		.heartbeat_interval_ms = cfg.heartbeat_interval_ms,
		.config = &cfg,
		.token = token,
		.token_len = token_len,
	};
	if (getrandom(&params.seed, sizeof(params.seed), 0) != sizeof(params.seed))
		params.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	cluster = cluster_open(st, &params, err, sizeof(err));
	if (!cluster) {
		log_error("database %s: %s", cfg.db_path, err);
		goto out_config;
	}

	ck.cluster = cluster;
	ck.period_ms = cfg.heartbeat_interval_ms / 2 ? cfg.heartbeat_interval_ms / 2 : 1;
	if (checker_start(&ck)) {
		log_error("cannot start the heartbeat checker");
		goto out_cluster;
	}
	api = api_start(cluster, cfg.listen, token, token_len, err, sizeof(err));
	if (!api) {
		log_error("%s", err);
		goto out_checker;
	}
	if (cfg.replicas_set)
		log_info("listening on %s; database %s; slab size %" PRIu64
			 "; %u replica(s) by default", cfg.listen, cfg.db_path,
			 cfg.slab_size, cfg.replicas);
	else
		log_info("listening on %s; database %s; slab size %" PRIu64
			 "; 2 replicas by default when two up donors are in "
			 "distinct zones, else 1", cfg.listen, cfg.db_path,
			 cfg.slab_size);

	sigwait(&sigs, &sig);
	log_info("signal %d: shutting down", sig);
	api_stop(api);
	checker_stop(&ck);
	cluster_close(cluster);
	rmem_config_free(&cfg);
	log_info("stopped");
	return 0;

out_checker:
	checker_stop(&ck);
out_cluster:
	cluster_close(cluster);
out_config:
	rmem_config_free(&cfg);
	return 1;
}
