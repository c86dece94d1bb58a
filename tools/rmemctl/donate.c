// SPDX-License-Identifier: GPL-2.0
/*
 * `rmemctl donate SIZE` and `rmemctl undonate [SIZE]`: lend this host's
 * memory through the local rmem-donord, over its control socket
 * (HTTP/JSON on a unix socket, see rmem-donord(8)).  donate starts the
 * donor when none answers; undonate gives free slabs back to the host
 * and stops the donor once it lends nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctlconf.h"
#include "http.h"
#include "rmemctl.h"
#include "size.h"

#define DONOR_SOCKET_DEFAULT	"/run/rmem/donord.sock"
#define DONOR_PIDFILE		"/run/rmem/donord.pid"
#define DONOR_LOG_DEFAULT	"/var/log/rmem-donord.log"
#define START_TIMEOUT_S		60

static const char donate_help[] =
	"Usage: rmemctl donate SIZE [--socket PATH] [--log FILE] [--donord PROGRAM]\n"
	"Lend SIZE more bytes of this host's RAM (a multiple of the slab size;\n"
	"suffixes K, M, G, T).  If no rmem-donord answers on the control socket,\n"
	"start one with the cluster config (its [node] rdma_addr, [cluster]\n"
	"controller and token_file), detached, logging to FILE (default\n"
	DONOR_LOG_DEFAULT "), pid in " DONOR_PIDFILE ".\n"
	"  --socket PATH     control socket (default " DONOR_SOCKET_DEFAULT ")\n"
	"  --donord PROGRAM  donor daemon to start (default rmem-donord from PATH,\n"
	"                    or $RMEM_DONORD)\n";

static const char undonate_help[] =
	"Usage: rmemctl undonate [SIZE] [--socket PATH]\n"
	"Give up to SIZE (default: all that can go) of the memory the local\n"
	"rmem-donord lends back to this host.  Only slabs no client holds are\n"
	"returned; held slabs stay until their clients migrate away.  When the\n"
	"donor lends nothing any more, it is stopped.\n"
	"  --socket PATH     control socket (default " DONOR_SOCKET_DEFAULT ")\n";

struct donate_args {
	uint64_t size;
	bool have_size;
	const char *socket;
	const char *log;
	const char *donord;
};

static int parse_args(const char *cmd, const char *help, bool need_size,
		      int argc, char **argv, struct donate_args *a)
{
	enum { OPT_SOCKET = 256, OPT_LOG, OPT_DONORD };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "donord", required_argument, NULL, OPT_DONORD },
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool exit_now = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->socket = DONOR_SOCKET_DEFAULT;
	a->log = DONOR_LOG_DEFAULT;
	a->donord = getenv("RMEM_DONORD");
	if (!a->donord || !*a->donord)
		a->donord = "rmem-donord";
	optind = 0;	/* full reset: the global options were parsed with "+" */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "jph", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			a->socket = optarg;
			break;
		case OPT_LOG:
			if (need_size) {
				a->log = optarg;
				break;
			}
			return usage_error(cmd, "unknown option '--log'");
		case OPT_DONORD:
			if (need_size) {
				a->donord = optarg;
				break;
			}
			return usage_error(cmd, "unknown option '--donord'");
		case '?':
			return usage_error(cmd, "unknown option or missing value '%s'",
					   argv[optind - 1]);
		default:
			common_opt(c, help, &exit_now);
			if (exit_now)
				return EXIT_OK;
		}
	}
	if (optind < argc) {
		if (parse_size(argv[optind], &a->size) || !a->size)
			return usage_error(cmd, "invalid SIZE '%s' (e.g. 512M, 4G)",
					   argv[optind]);
		a->have_size = true;
		optind++;
	}
	if (optind < argc)
		return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (need_size && !a->have_size)
		return usage_error(cmd, "missing SIZE");
	return -1;
}

static void donor_peer(const struct donate_args *a, struct http_peer *p)
{
	memset(p, 0, sizeof(*p));
	/* The host part is ignored on a unix socket; curl needs one. */
	snprintf(p->base_url, sizeof(p->base_url), "http://localhost");
	p->unix_path = a->socket;
	p->what = "donor";
}

static uint64_t jget_u64(json_object *o, const char *key)
{
	json_object *v;
	int64_t x;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	x = json_object_get_int64(v);
	return x < 0 ? 0 : (uint64_t)x;
}

static void print_lending(const char *what, json_object *st)
{
	uint64_t ss = jget_u64(st, "slab_size"), total = jget_u64(st, "total_slabs");
	char a[32], b[32];

	if (opts.json) {
		puts(json_object_to_json_string_ext(st, opts.pretty ?
			JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN));
		return;
	}
	format_size(total * ss, a, sizeof(a));
	format_size(ss, b, sizeof(b));
	printf("%s: lending %s as %" PRIu64 " slabs of %s (%" PRIu64 " free, %"
	       PRIu64 " assigned), instance %" PRIu64 "\n", what, a, total, b,
	       jget_u64(st, "free_slabs"), jget_u64(st, "assigned_slabs"),
	       jget_u64(st, "instance_id"));
}

/* mkdir -p of @path's parent, one level is all /run/rmem needs. */
static void make_parent(const char *path)
{
	char dir[512], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
}

/*
 * Start rmem-donord detached (own session, log file, no terminal) and
 * wait until its control socket answers.  0 with *@status, or 1.
 */
static int start_donor(const struct donate_args *a, json_object **status)
{
	const char *cfgpath = ctl_config_path();
	struct http_peer p;
	char size[32], sock[600], err[HTTP_ERR_MAX];
	const char *argv[16];
	int n = 0, logfd, wst;
	pid_t pid;
	FILE *f;

	snprintf(size, sizeof(size), "%" PRIu64, a->size);
	snprintf(sock, sizeof(sock), "%s", a->socket);
	argv[n++] = a->donord;
	/* The donor reads listen address, controller and token from it. */
	if (access(cfgpath, F_OK) == 0 || opts.config || getenv("RMEM_CONFIG")) {
		argv[n++] = "--config";
		argv[n++] = cfgpath;
	}
	argv[n++] = "--size";
	argv[n++] = size;
	argv[n++] = "--control-socket";
	argv[n++] = sock;
	argv[n] = NULL;

	make_parent(a->log);
	logfd = open(a->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0) {
		fprintf(stderr, "rmemctl: donate: cannot open log %s: %s\n",
			a->log, strerror(errno));
		return 1;
	}
	make_parent(a->socket);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "rmemctl: donate: fork: %s\n", strerror(errno));
		close(logfd);
		return 1;
	}
	if (pid == 0) {
		int nullfd = open("/dev/null", O_RDONLY);

		setsid();
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* Nothing of ours (a caller's pipe) may keep the donor tied. */
		close_range(3, ~0U, 0);
		execvp(a->donord, (char *const *)argv);
		fprintf(stderr, "rmemctl: cannot run %s: %s\n", a->donord,
			strerror(errno));
		_exit(127);
	}
	close(logfd);
	make_parent(DONOR_PIDFILE);
	f = fopen(DONOR_PIDFILE, "we");
	if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f))
		fprintf(stderr, "rmemctl: donate: warning: cannot write %s\n",
			DONOR_PIDFILE);

	donor_peer(a, &p);
	for (int i = 0; i < START_TIMEOUT_S * 5; i++) {
		long st;
		pid_t w = waitpid(pid, &wst, WNOHANG);

		if (w == pid) {
			fprintf(stderr, "rmemctl: donate: rmem-donord exited (%s %d) "
				"before serving %s; see %s\n",
				WIFEXITED(wst) ? "status" : "signal",
				WIFEXITED(wst) ? WEXITSTATUS(wst) : WTERMSIG(wst),
				a->socket, a->log);
			unlink(DONOR_PIDFILE);
			return 1;
		}
		st = http_request(&p, "GET", "/v1/status", NULL, status, err, sizeof(err));
		if (st == 200 && *status)
			return 0;
		json_object_put(*status);
		*status = NULL;
		usleep(200000);
	}
	fprintf(stderr, "rmemctl: donate: rmem-donord (pid %d) did not answer on %s "
		"within %d s; see %s\n", (int)pid, a->socket, START_TIMEOUT_S, a->log);
	return 1;
}

int cmd_donate(int argc, char **argv)
{
	struct donate_args a;
	struct http_peer p;
	json_object *body, *reply = NULL;
	char err[HTTP_ERR_MAX];
	long st;
	int ret = parse_args("donate", donate_help, true, argc, argv, &a);

	if (ret >= 0)
		return ret;
	donor_peer(&a, &p);
	body = json_object_new_object();
	json_object_object_add(body, "bytes", json_object_new_uint64(a.size));
	st = http_request(&p, "POST", "/v1/grow", body, &reply, err, sizeof(err));
	json_object_put(body);
	if (st == 0) {
		/* No donor here yet: start one that lends SIZE. */
		ret = start_donor(&a, &reply);
		if (!ret)
			print_lending("started rmem-donord", reply);
		json_object_put(reply);
		return ret ? EXIT_FAIL : EXIT_OK;
	}
	if (st != 200) {
		fprintf(stderr, "rmemctl: donate: %s\n", err);
		json_object_put(reply);
		return EXIT_FAIL;
	}
	print_lending("grown", reply);
	json_object_put(reply);
	return EXIT_OK;
}

/* The donor lends nothing now: stop it (SIGTERM) and wait for it to go. */
static int stop_donor(const struct donate_args *a, uint64_t instance)
{
	struct http_peer p;
	json_object *st = NULL;
	char err[HTTP_ERR_MAX];
	int pid = 0;
	FILE *f = fopen(DONOR_PIDFILE, "re");

	if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 1) {
		if (f)
			fclose(f);
		printf("the donor lends nothing now; no %s: stop it yourself\n",
		       DONOR_PIDFILE);
		return EXIT_OK;
	}
	fclose(f);
	if (kill(pid, SIGTERM) < 0) {
		fprintf(stderr, "rmemctl: undonate: cannot stop rmem-donord pid %d: %s\n",
			pid, strerror(errno));
		return EXIT_FAIL;
	}
	donor_peer(a, &p);
	for (int i = 0; i < 150; i++) {
		/* Gone once the socket stops answering for that instance. */
		if (http_request(&p, "GET", "/v1/status", NULL, &st, err, sizeof(err)) != 200 ||
		    jget_u64(st, "instance_id") != instance) {
			json_object_put(st);
			unlink(DONOR_PIDFILE);
			printf("rmem-donord (pid %d) stopped\n", pid);
			return EXIT_OK;
		}
		json_object_put(st);
		st = NULL;
		usleep(200000);
	}
	fprintf(stderr, "rmemctl: undonate: rmem-donord pid %d still answers after 30 s\n", pid);
	return EXIT_FAIL;
}

int cmd_undonate(int argc, char **argv)
{
	struct donate_args a;
	struct http_peer p;
	json_object *body, *reply = NULL;
	char err[HTTP_ERR_MAX], r[32], l[32];
	uint64_t ss, assigned, total;
	long st;
	int ret = parse_args("undonate", undonate_help, false, argc, argv, &a);

	if (ret >= 0)
		return ret;
	donor_peer(&a, &p);
	body = json_object_new_object();
	if (a.have_size)
		json_object_object_add(body, "bytes", json_object_new_uint64(a.size));
	st = http_request(&p, "POST", "/v1/shrink", body, &reply, err, sizeof(err));
	json_object_put(body);
	if (st == 0) {
		fprintf(stderr, "rmemctl: undonate: no rmem-donord answers on %s "
			"(%s)\n", a.socket, err);
		return EXIT_FAIL;
	}
	if (st != 200) {
		fprintf(stderr, "rmemctl: undonate: %s\n", err);
		json_object_put(reply);
		return EXIT_FAIL;
	}
	ss = jget_u64(reply, "slab_size");
	total = jget_u64(reply, "total_slabs");
	assigned = jget_u64(reply, "assigned_slabs");
	if (opts.json) {
		print_lending("", reply);
	} else {
		format_size(jget_u64(reply, "returned_bytes"), r, sizeof(r));
		format_size(total * ss, l, sizeof(l));
		printf("returned %s to the host; still lending %s (%" PRIu64 " slabs)\n",
		       jget_u64(reply, "returned_bytes") ? r : "nothing", l, total);
		if (assigned)
			printf("%" PRIu64 " assigned slabs wait for their clients to "
			       "migrate away (rmemctl detach on the clients)\n", assigned);
	}
	ret = EXIT_OK;
	if (!total)
		ret = stop_donor(&a, jget_u64(reply, "instance_id"));
	json_object_put(reply);
	return ret;
}
