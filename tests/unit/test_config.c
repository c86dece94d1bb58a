// SPDX-License-Identifier: MIT
/*
 * Tests of the rmem.conf reader (server/common/config.c): a full good file,
 * defaults, and bad files whose error must name the file and the line.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char dir[256];	/* $TMPDIR/test_config.XXXXXX */
static char path[512];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* Loads @text; returns the load result and leaves the message in @err. */
static int load(const char *text, struct rmem_config *cfg, char *err,
		size_t errlen)
{
	write_file(text);
	err[0] = 0;
	return rmem_config_load(path, cfg, err, errlen);
}

static const char GOOD[] =
	"# rmem cluster\n"
	"[cluster]\n"
	"controller = ctl.example:7480\n"
	"token_file = /etc/rmem/token\n"
	"slab_size = 64M\n"
	"replicas = 2\n"
	"\n"
	"[node]\n"
	"name = node3\n"
	"rdma_addr = 10.77.0.3:7470\n"
	"\n"
	"[zones]\n"
	"node1 = rack1\n"
	"node3 = rack2   ; inline comment\n"
	"\n"
	"[donor]\n"
	"memory = 8G\n"
	"\n"
	"[controller]\n"
	"listen = [::1]:7481\n"
	"db = /var/lib/rmem/c.db\n"
	"log_level = debug\n"
	"heartbeat_interval_ms = 250\n"
	"default_quota = 16G\n"
	"\n"
	"[quotas]\n"
	"00112233445566778899aabbccddeeff = 2G\n";

static void test_good(void)
{
	struct rmem_config cfg;
	char err[512];
	uint8_t id[16], other[16] = { 0 };

	ok(load(GOOD, &cfg, err, sizeof(err)) == 0, "good file loads (%s)", err);
	ok(!strcmp(cfg.controller, "ctl.example:7480"), "controller");
	ok(!strcmp(cfg.token_file, "/etc/rmem/token"), "token_file");
	ok(cfg.slab_size == 64ULL << 20, "slab_size 64M");
	ok(cfg.replicas == 2, "replicas");
	ok(!strcmp(cfg.node_name, "node3"), "node name");
	ok(!strcmp(cfg.zone, "rack2"), "zone taken from [zones] for this node");
	ok(!strcmp(cfg.rdma_addr, "10.77.0.3:7470"), "rdma_addr");
	ok(cfg.donor_memory == 8ULL << 30, "donor memory");
	ok(!strcmp(cfg.listen, "[::1]:7481"), "listen");
	ok(!strcmp(cfg.db_path, "/var/lib/rmem/c.db"), "db");
	ok(!strcmp(cfg.log_level, "debug"), "log_level");
	ok(cfg.heartbeat_interval_ms == 250, "heartbeat interval");
	rmem_config_parse_client_id("00112233445566778899aabbccddeeff", id);
	ok(rmem_config_quota_for(&cfg, id) == 2ULL << 30, "per-client quota");
	ok(rmem_config_quota_for(&cfg, other) == 16ULL << 30,
	   "default quota for others");
	rmem_config_free(&cfg);

	ok(load("[node]\nname = node1\nzone = own\n[zones]\nnode1 = rack1\n",
		&cfg, err, sizeof(err)) == 0 && !strcmp(cfg.zone, "own"),
	   "[node] zone wins over [zones]");
	rmem_config_free(&cfg);

	ok(load("", &cfg, err, sizeof(err)) == 0, "empty file loads");
	ok(cfg.slab_size == 1ULL << 30 && cfg.replicas == 1 &&
	   !strcmp(cfg.listen, "127.0.0.1:7480") &&
	   cfg.heartbeat_interval_ms == 1000 && !cfg.default_quota,
	   "defaults: 1G slabs, 1 replica, 127.0.0.1:7480, 1 s heartbeats");
	rmem_config_free(&cfg);
}

struct bad_case {
	const char *text;
	const char *expect;	/* substring of the message, after "FILE:" */
};

static void test_bad(void)
{
	static const struct bad_case cases[] = {
		{ "[cluster]\nslab_size = 1X\n", ":2: [cluster] slab_size" },
		{ "[cluster]\nslab_size = 3000\n", ":2: [cluster] slab_size" },
		{ "[cluster]\nslab_size = -1G\n", ":2: [cluster] slab_size" },
		{ "[cluster]\nreplicas = 0\n", ":2: [cluster] replicas" },
		{ "[cluster]\nreplicas = 9\n", ":2: [cluster] replicas" },
		{ "[cluster]\n\n\ncolour = blue\n", ":4: unknown key 'colour' in [cluster]" },
		{ "[cluster]\ncontroller = host\n", ":2: [cluster] controller must be HOST:PORT" },
		{ "[cluster]\ncontroller = host:99999\n", ":2: [cluster] controller" },
		{ "[cluster]\ncontroller = ::1:80\n", ":2: [cluster] controller" },
		{ "[cluster]\nthis line has no equals\n", ":2: syntax error" },
		{ "[cluster\nslab_size = 1G\n", ":1: syntax error" },
		{ "[nodes]\nname = a\n", ":2: unknown section [nodes]" },
		{ "name = a\n", ":1: 'name' is outside any [section]" },
		{ "[node]\nname =\n", ":2: [node] name is empty" },
		{ "[controller]\nlog_level = loud\n", ":2: [controller] log_level" },
		{ "[controller]\nheartbeat_interval_ms = 1\n", ":2: [controller] heartbeat_interval_ms" },
		{ "[quotas]\nabc = 1G\n", ":2: [quotas] key must be a client id" },
		{ "[quotas]\n00112233445566778899aabbccddeeff = lots\n", ":2: [quotas]" },
		{ "[zones]\na = r1\na = r2\n", ":3: [zones] node 'a' listed twice" },
		/* A syntax error first, a bad value later: the first is named. */
		{ "[cluster]\noops\nreplicas = 0\n", ":2: syntax error" },
	};
	struct rmem_config cfg;
	char err[512], want[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = load(cases[i].text, &cfg, err, sizeof(err));

		snprintf(want, sizeof(want), "%s%s", path, cases[i].expect);
		ok(r == -1 && !strncmp(err, want, strlen(want)),
		   "bad file %zu: '%s'", i, err);
		ok(cfg.quotas == NULL && cfg.zones == NULL &&
		   cfg.slab_size == 1ULL << 30,
		   "bad file %zu leaves defaults and nothing to free", i);
	}

	/* A line longer than inih's buffer is refused, not split. */
	char longline[1200];
	snprintf(longline, sizeof(longline), "[node]\nname = %0900d\n", 7);
	ok(load(longline, &cfg, err, sizeof(err)) == -1 &&
	   strstr(err, ":2: ") && strstr(err, "too long"),
	   "over-long line refused: '%s'", err);

	ok(rmem_config_load("/nonexistent/rmem.conf", &cfg, err, sizeof(err)) == -1 &&
	   !strcmp(err, "/nonexistent/rmem.conf: cannot open: No such file or directory"),
	   "missing file: '%s'", err);
	if (geteuid() != 0) {
		write_file("[cluster]\n");
		chmod(path, 0);
		ok(rmem_config_load(path, &cfg, err, sizeof(err)) == -1 &&
		   strstr(err, "Permission denied"), "unreadable file: '%s'", err);
		chmod(path, 0600);
	} else {
		diag("running as root: unreadable-file case skipped");
	}
	ok(rmem_config_load(dir, &cfg, err, sizeof(err)) == -1 && strstr(err, dir),
	   "a directory is refused: '%s'", err);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rmem.conf", dir);
	test_good();
	test_bad();
	unlink(path);
	rmdir(dir);
	return tap_done("test_config");
}
