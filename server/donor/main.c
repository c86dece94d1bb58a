// SPDX-License-Identifier: MIT
/*
 * rmem-donord: lends pinned RAM to rmem clients over RDMA.
 * Options and setup here; protocol in ctrl.c, verbs in session.c/conn.c,
 * rdma_cm in cm.c, memory in slabs.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "ctlsock.h"
#include "donor.h"
#include "log.h"
#include "registrar.h"
#include "size.h"
#include "token.h"

struct options {
	const char *listen;
	uint64_t size;
	uint64_t slab_size;
	enum rmem_log_level level;
	const char *controller;
	const char *token_file;
	const char *advertise;
	const char *zone;
	const char *config;
	const char *control_socket;
	bool have_control_socket;
	unsigned int idle_timeout_s;
	bool have_size;
	bool have_slab_size;
	enum slab_backing backing;
	bool syslog;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: rmem-donord --listen ADDR[:PORT] --size SIZE [OPTIONS]\n"
"Lend SIZE bytes of pinned RAM to rmem clients over RDMA.\n"
"\n"
"  -l, --listen ADDR[:PORT]  address of an RDMA device to listen on\n"
"                            (IPv6 literal in brackets; port %u by default)\n"
"  -s, --size SIZE           memory to lend; a positive multiple of the slab\n"
"                            size (suffixes K, M, G, T: binary)\n"
"  -S, --slab-size SIZE      bytes per slab (default 1G)\n"
"      --hugepages MODE      auto (default), always or never\n"
"  -c, --controller URL      controller to register with (http://HOST:PORT or\n"
"                            HOST:PORT; needs --token-file; allocations then\n"
"                            need a grant)\n"
"  -t, --token-file FILE     cluster token that grants are checked with\n"
"  -a, --advertise ADDR:PORT address clients dial, told to the controller\n"
"                            (default: the --listen address)\n"
"  -z, --zone NAME           failure domain told to the controller\n"
"  -C, --config FILE         cluster config (default " RMEM_CONFIG_DEFAULT_PATH "\n"
"                            if it exists); options override it\n"
"      --control-socket PATH local control endpoint for rmemctl donate and\n"
"                            undonate (default " DONOR_CONTROL_SOCKET_DEFAULT ";\n"
"                            \"none\" to serve none)\n"
"  -L, --log-level LEVEL     debug, info (default), warn or error\n"
"      --idle-timeout SECONDS  disconnect a client that sent nothing for that\n"
"                            long (default 120, 0 = never; slabs are kept)\n"
"      --syslog              log to syslog as well as to stderr\n"
"  -h, --help                this text\n"
"\n"
"Signals: SIGTERM/SIGINT shut down cleanly, SIGHUP logs a status line.\n",
		RMEM_DEFAULT_PORT);
}

static int bad_option(const char *fmt, const char *arg)
{
	fprintf(stderr, "rmem-donord: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'rmem-donord --help'.\n");
	return 2;
}

/*
 * The cluster config file (server/common/config.h) fills what the command
 * line left unset: [node] rdma_addr and zone, [donor] memory, [cluster]
 * slab_size, controller and token_file.  Without --config, a missing file
 * at the default path is fine.
 */
static int apply_config(struct options *o)
{
	static struct rmem_config cfg;
	const char *path = o->config ? o->config : RMEM_CONFIG_DEFAULT_PATH;
	char err[512];

	if (!o->config && access(path, F_OK) != 0)
		return 0;
	if (rmem_config_load(path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "rmem-donord: %s\n", err);
		return 2;
	}
	if (!o->listen && cfg.rdma_addr[0])
		o->listen = cfg.rdma_addr;
	if (!o->have_size && cfg.donor_memory) {
		o->size = cfg.donor_memory;
		o->have_size = true;
	}
	if (!o->have_slab_size)
		o->slab_size = cfg.slab_size;
	if (!o->controller && cfg.controller[0])
		o->controller = cfg.controller;
	if (!o->token_file && cfg.token_file[0])
		o->token_file = cfg.token_file;
	if (!o->zone && cfg.zone[0])
		o->zone = cfg.zone;
	/* cfg lives on: o points into it for the whole run. */
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_HUGEPAGES = 256, OPT_SYSLOG, OPT_IDLE, OPT_CONTROL };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "slab-size", required_argument, NULL, 'S' },
		{ "hugepages", required_argument, NULL, OPT_HUGEPAGES },
		{ "controller", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "advertise", required_argument, NULL, 'a' },
		{ "zone", required_argument, NULL, 'z' },
		{ "config", required_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "control-socket", required_argument, NULL, OPT_CONTROL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->slab_size = 1ULL << 30;
	o->idle_timeout_s = 120;
	o->level = RMEM_LOG_INFO;
	o->backing = SLAB_BACKING_AUTO;

	while ((c = getopt_long(argc, argv, "l:s:S:c:t:a:z:C:L:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 's':
			if (parse_size(optarg, &o->size))
				return bad_option("invalid --size '%s' (e.g. 512M, 4G)", optarg);
			o->have_size = true;
			break;
		case 'S':
			if (parse_size(optarg, &o->slab_size))
				return bad_option("invalid --slab-size '%s' (e.g. 64M, 1G)", optarg);
			o->have_slab_size = true;
			break;
		case OPT_HUGEPAGES:
			if (!strcmp(optarg, "auto"))
				o->backing = SLAB_BACKING_AUTO;
			else if (!strcmp(optarg, "always"))
				o->backing = SLAB_BACKING_HUGE;
			else if (!strcmp(optarg, "never"))
				o->backing = SLAB_BACKING_NORMAL;
			else
				return bad_option("invalid --hugepages '%s' (auto, always, never)", optarg);
			break;
		case 'c':
			o->controller = optarg;
			break;
		case 't':
			o->token_file = optarg;
			break;
		case 'a':
			o->advertise = optarg;
			break;
		case 'z':
			o->zone = optarg;
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'L':
			if (rmem_log_parse_level(optarg, &o->level))
				return bad_option("invalid --log-level '%s' (debug, info, warn, error)", optarg);
			break;
		case OPT_SYSLOG:
			o->syslog = true;
			break;
		case OPT_CONTROL:
			if (!*optarg)
				return bad_option("%s", "--control-socket needs a path (or none)");
			o->control_socket = optarg;
			o->have_control_socket = true;
			break;
		case OPT_IDLE: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' || v > 86400)
				return bad_option("invalid --idle-timeout '%s' (seconds, 0-86400)", optarg);
			o->idle_timeout_s = (unsigned int)v;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'rmem-donord --help'.\n");
			return 2;
		}
	}
	if (optind < argc)
		return bad_option("unexpected argument '%s'", argv[optind]);
	c = apply_config(o);
	if (c)
		return c;
	if (!o->listen)
		return bad_option("%s", "--listen ADDR[:PORT] is required "
				  "(or [node] rdma_addr in the config file)");
	if (!o->have_size)
		return bad_option("%s", "--size SIZE is required "
				  "(or [donor] memory in the config file)");

	long page = sysconf(_SC_PAGESIZE);
	if (!o->slab_size || o->slab_size % (uint64_t)page) {
		char msg[96];

		snprintf(msg, sizeof(msg), "--slab-size must be a positive multiple of %ld bytes", page);
		return bad_option("%s", msg);
	}
	if (!o->size || o->size % o->slab_size) {
		char a[32], b[32], msg[160];

		format_size(o->size, a, sizeof(a));
		format_size(o->slab_size, b, sizeof(b));
		snprintf(msg, sizeof(msg), "--size (%s) must be a positive multiple of the slab size (%s)", a, b);
		return bad_option("%s", msg);
	}
	if (o->size / o->slab_size >= RMEM_SLAB_ANY)
		return bad_option("%s", "too many slabs: use a larger --slab-size");
	if (o->controller && !o->token_file)
		return bad_option("%s", "--controller needs --token-file (the cluster token)");
	if (o->controller) {
		char url[512];

		if (registrar_base_url(o->controller, url, sizeof(url)))
			return bad_option("invalid --controller '%s' (http://HOST:PORT or HOST:PORT)",
					  o->controller);
	}
	if ((o->advertise || o->zone) && !o->controller)
		return bad_option("%s", "--advertise and --zone only make sense with --controller");
	return 0;
}

/* The donor must not be the process the OOM killer picks: clients' swap
 * lives in it.  Best effort; an unprivileged run just logs. */
static void protect_from_oom(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "-1000", 5) != 5)
		log_warn("cannot set oom_score_adj to -1000: %s", strerror(errno));
	else
		log_debug("oom_score_adj set to -1000");
	if (fd >= 0)
		close(fd);
}

/*
 * The address the controller hands to clients: --advertise, else the
 * listening address, which must then be a specific one.  Always a numeric
 * literal ("10.77.0.1:7470", "[fd00::1]:7470"): it goes to the kernel.
 */
static int advertised_address(const struct options *o,
			      const struct sockaddr_storage *listen,
			      char *out, size_t len)
{
	struct sockaddr_storage ss = *listen;
	socklen_t sslen;

	if (o->advertise &&
	    rmem_parse_hostport(o->advertise, RMEM_DEFAULT_PORT, &ss, &sslen)) {
		log_error("--advertise '%s': expected ADDR[:PORT] or [IPv6][:PORT]",
			  o->advertise);
		return 2;
	}
	if ((ss.ss_family == AF_INET &&
	     ((const struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
	    (ss.ss_family == AF_INET6 &&
	     IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&ss)->sin6_addr))) {
		log_error("listening on a wildcard address: give --advertise with "
			  "the address clients should dial");
		return 2;
	}
	rmem_format_sockaddr((const struct sockaddr *)&ss, out, len);
	return 0;
}

static void log_status(const struct donor *d)
{
	uint32_t detached = 0;
	char sz[32];

	/* Slabs held by clients that have no session right now. */
	for (uint32_t i = 0; i < d->pool.count; i++)
		if (d->pool.slabs[i]->assigned && !d->pool.slabs[i]->mr &&
		    !session_find((struct donor *)d, d->pool.slabs[i]->owner))
			detached++;
	format_size(d->pool.slab_size, sz, sizeof(sz));
	log_info("status: instance %016" PRIx64 ", %u sessions, %u connections, "
		 "slabs of %s: %u total, %u free, %u assigned (%u to "
		 "disconnected clients)", d->instance_id, d->nsessions, d->nconns,
		 sz, d->pool.count, d->pool.nfree, d->pool.count - d->pool.nfree,
		 detached);
}

static int make_signalfd(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, mask, NULL) < 0)
		return -1;
	return signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int add_fd(int epfd, int fd, struct donor_fd *efd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = efd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void on_signal(struct donor *d, int sigfd)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_status(d);
		} else {
			log_info("%s: shutting down", strsignal((int)si.ssi_signo));
			d->stop = true;
		}
	}
}

/*
 * The epoll set: rdma_cm events, signals, and the idle-session timer (the
 * completion channels join as devices show up, in donor_dev_get()).
 */
static int open_event_sources(struct donor *d)
{
	int flags;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		return -1;
	}
	d->ec = rdma_create_event_channel();
	if (!d->ec) {
		log_error("rdma_create_event_channel: %s (is rdma_ucm loaded?)",
			  strerror(errno));
		return -1;
	}
	flags = fcntl(d->ec->fd, F_GETFL);
	if (flags < 0 || fcntl(d->ec->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		log_error("fcntl(rdma_cm channel): %s", strerror(errno));
		return -1;
	}
	d->cm_efd.kind = DONOR_FD_CM;
	d->sig_efd.kind = DONOR_FD_SIGNAL;
	if (add_fd(d->epfd, d->ec->fd, &d->cm_efd) ||
	    add_fd(d->epfd, d->sigfd, &d->sig_efd)) {
		log_error("epoll_ctl: %s", strerror(errno));
		return -1;
	}
	if (d->idle_timeout_s) {
		/* Check four times per timeout: a session lingers at most 25% over. */
		unsigned int period_ms = d->idle_timeout_s * 250;
		struct itimerspec its = {
			.it_interval = { period_ms / 1000, (long)(period_ms % 1000) * 1000000L },
			.it_value = { period_ms / 1000, (long)(period_ms % 1000) * 1000000L },
		};

		d->timer_efd.kind = DONOR_FD_TIMER;
		d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (d->timerfd < 0 || timerfd_settime(d->timerfd, 0, &its, NULL) ||
		    add_fd(d->epfd, d->timerfd, &d->timer_efd)) {
			log_error("timerfd: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void close_event_sources(struct donor *d)
{
	if (d->ec)
		rdma_destroy_event_channel(d->ec);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->relisten_fd >= 0)
		close(d->relisten_fd);
}

static int start_registrar(const struct options *o, struct donor *d,
			   const char *advertise, struct registrar **reg)
{
	char url[512];
	struct registrar_conf conf = {
		.base_url = url,
		.advertise = advertise,
		.zone = o->zone,
		.token = d->env.token,
		.token_len = d->env.token_len,
		.instance_id = d->instance_id,
		.slab_size = d->pool.slab_size,
		.total_slabs = &d->pool.count,
		.free_slabs = &d->pool.nfree,
	};
	int rc;

	registrar_base_url(o->controller, url, sizeof(url));	/* checked */
	rc = registrar_start(&conf, reg);
	if (rc) {
		log_error("cannot start controller registration: %s",
			  rc == -EINVAL ? "the token must be printable ASCII to "
			  "go in an HTTP header" : strerror(-rc));
		return -1;
	}
	log_info("registering with controller %s as %s%s%s", url, advertise,
		 o->zone ? ", zone " : "", o->zone ? o->zone : "");
	return 0;
}

static void pool_changed(void *arg)
{
	registrar_kick(arg);	/* tell the controller the new capacity now */
}

/*
 * The control socket.  The default path is best effort (several donors
 * may share a test machine: the first one gets it); an explicit path
 * must work.
 */
static int start_control(const struct options *o, struct donor *d,
			 struct registrar *reg)
{
	const char *path = o->have_control_socket ? o->control_socket :
			   DONOR_CONTROL_SOCKET_DEFAULT;
	int evfd, rc;

	if (!strcmp(path, "none"))
		return 0;
	rc = ctlsock_start(path, d, pool_changed, reg, &d->ctl, &evfd);
	if (rc) {
		const char *why = rc == -EADDRINUSE ? "another donor serves it" :
				  rc == -EEXIST ? "a file that is no socket is in the way" :
				  strerror(-rc);

		if (!o->have_control_socket) {
			log_warn("no control socket at %s: %s", path, why);
			return 0;
		}
		log_error("control socket %s: %s", path, why);
		return -1;
	}
	d->ctl_efd.kind = DONOR_FD_CONTROL;
	if (add_fd(d->epfd, evfd, &d->ctl_efd)) {
		log_error("epoll_ctl: %s", strerror(errno));
		return -1;
	}
	log_info("control socket %s", path);
	return 0;
}

static int run_loop(struct donor *d)
{
	struct epoll_event evs[16];

	while (!d->stop) {
		int n = epoll_wait(d->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct donor_fd *efd = evs[i].data.ptr;

			switch (efd->kind) {
			case DONOR_FD_CM:
				donor_cm_event(d);
				break;
			case DONOR_FD_COMP:
				donor_comp_event(d, efd->obj);
				break;
			case DONOR_FD_SIGNAL:
				on_signal(d, d->sigfd);
				break;
			case DONOR_FD_CONTROL:
				ctlsock_dispatch(d->ctl);
				break;
			case DONOR_FD_ASYNC:
				donor_async_event(d);
				break;
			case DONOR_FD_RELISTEN:
				donor_relisten_timer(d);
				break;
			case DONOR_FD_TIMER: {
				uint64_t ticks;

				if (read(d->timerfd, &ticks, sizeof(ticks)) > 0)
					donor_reap_idle(d);
				break;
			}
			}
		}
	}
	return d->exit_code;
}

int main(int argc, char **argv)
{
	static uint8_t token[RMEM_TOKEN_MAX];
	struct options o = { 0 };
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct donor d = { .epfd = -1, .sigfd = -1, .timerfd = -1, .relisten_fd = -1 };
	sigset_t mask;
	char a[32], b[32], advertise[80];
	struct registrar *reg = NULL;
	int rc, ret = 1;

	rc = parse_options(argc, argv, &o);
	if (rc)
		return rc;
	rmem_log_init("rmem-donord", o.level, o.syslog);
	/*
	 * Block the signals before the (slow) memory setup so that a SIGTERM
	 * arriving meanwhile waits in the signalfd instead of killing us
	 * halfway.
	 */
	d.sigfd = make_signalfd(&mask);
	if (d.sigfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}

	rc = rmem_parse_hostport(o.listen, RMEM_DEFAULT_PORT, &ss, &sslen);
	if (rc) {
		const char *why = "expected ADDR[:PORT] or [IPv6][:PORT], port 1-65535";

		if (rc == -ENOENT)
			why = "host not found";
		else if (o.listen[0] != '[' && strchr(o.listen, ':') &&
			 strchr(o.listen, ':') != strrchr(o.listen, ':'))
			why = "an IPv6 address needs brackets: [ADDR]:PORT";
		log_error("--listen '%s': %s", o.listen, why);
		return 2;
	}

	if (o.token_file) {
		size_t len;
		int loose;

		rc = rmem_token_load(o.token_file, token, sizeof(token), &len, &loose);
		if (rc) {
			log_error("token file %s: %s", o.token_file,
				  rc == -ENODATA ? "empty" : strerror(-rc));
			return 2;
		}
		if (loose)
			log_warn("token file %s is readable by group or others",
				 o.token_file);
		d.env.token = token;
		d.env.token_len = len;
	}
	if (o.controller) {
		rc = advertised_address(&o, &ss, advertise, sizeof(advertise));
		if (rc)
			return rc;
	}

	/* A new random id per run: clients learn from it that a restarted
	 * donor no longer holds their slabs. */
	do {
		if (getrandom(&d.instance_id, sizeof(d.instance_id), 0) !=
		    sizeof(d.instance_id)) {
			log_error("getrandom: %s", strerror(errno));
			return 1;
		}
	} while (!d.instance_id);

	format_size(o.size, a, sizeof(a));
	format_size(o.slab_size, b, sizeof(b));
	rc = slab_pool_init(&d.pool, o.size, o.slab_size, o.backing);
	if (rc) {
		log_error("cannot map and lock %s: %s", a, strerror(-rc));
		return 1;
	}
	/* The controller's API shows instance ids in decimal: log both. */
	log_info("lending %s as %u slabs of %s on %s pages, instance %016" PRIx64
		 " (%" PRIu64 ")", a, d.pool.count, b,
		 d.pool.hugepages ? "huge" : "normal", d.instance_id, d.instance_id);
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		log_warn("mlockall: %s (the daemon itself may be swapped)",
			 strerror(errno));
	protect_from_oom();

	d.idle_timeout_s = o.idle_timeout_s;
	d.env.pool = &d.pool;
	d.env.instance_id = d.instance_id;
	d.env.map = session_map_slab;
	d.env.unmap = session_unmap_slab;

	if (open_event_sources(&d))
		goto out;
	if (donor_listen(&d, (struct sockaddr *)&ss))
		goto out;
	if (o.controller && start_registrar(&o, &d, advertise, &reg))
		goto out;
	if (start_control(&o, &d, reg))
		goto out;

	ret = run_loop(&d);

out:
	ctlsock_stop(d.ctl);
	registrar_stop(reg);
	if (d.nconns)
		log_info("disconnecting %u clients (%u connections)",
			 d.nsessions, d.nconns);
	donor_disconnect_all(&d);
	log_status(&d);
	if (d.listen_id)
		rdma_destroy_id(d.listen_id);
	donor_devs_destroy(&d);
	close_event_sources(&d);
	slab_pool_fini(&d.pool);
	explicit_bzero(token, sizeof(token));
	log_info("exiting with status %d", ret);
	return ret;
}
