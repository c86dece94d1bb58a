// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl agent: watch the driver's events and re-protect slabs whose
 * replicas were lost (agent_scan.c does the work).  It serves swap, so
 * it must keep running when memory is short: memory locked, out of the
 * OOM killer's reach, every buffer of a scan allocated once.  What still
 * allocates: libnl's receive path (a buffer and an nl_msg for each
 * message read), the store growing for a device bigger than any before,
 * and libcurl/json-c for each controller call (only when a replica was
 * lost).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/socket.h>

#include "agent.h"
#include "ctlconf.h"
#include "event.h"
#include "names.h"
#include "rmemctl.h"

static const char agent_help[] =
	"Usage: rmemctl agent [--interval SEC] [--once] [--config FILE] [-v]\n"
	"\n"
	"Re-protect devices without an operator: for every replica the driver\n"
	"reports LOST, ask for a new one and let the driver copy the data to\n"
	"it.  With a controller in the cluster config that allocated the\n"
	"device, the controller places and grants the replica; otherwise a\n"
	"live donor of the device that holds no replica of that slab takes it.\n"
	"Scans on start, on replica-lost, slab-failed, donor-lost and\n"
	"dev-added events, and every --interval seconds.  One line per action\n"
	"on stderr.  Runs until SIGTERM or SIGINT (rmem-agent.service).\n"
	"  -i, --interval SEC  seconds between safety-net scans (default 5)\n"
	"  -1, --once          one scan, then exit: 0 if nothing failed\n"
	"  -c, --config FILE   cluster config (default $RMEM_CONFIG, else\n"
	"                      /etc/rmem/rmem.conf; none: direct mode only)\n"
	"  -v, --verbose       also log events and each scan\n";

/* Static: sized once, in memory mlockall() pins */
static struct agent agent;
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void agent_log(const char *fmt, ...)
{
	va_list ap;

	fputs("agent: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void agent_vlog(const struct agent *ag, const char *fmt, ...)
{
	va_list ap;

	if (!ag->verbose)
		return;
	fputs("agent: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- options ---------------------------------------------------------- */

static int agent_parse_args(int argc, char **argv, struct agent *ag)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, '1' },
		{ "config", required_argument, NULL, 'c' },
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[ARGS_ERR_MAX];
	bool exit_now = false;
	uint32_t v;
	int c;

	ag->interval = AGENT_DEFAULT_INTERVAL;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":i:1c:" COMMON_SHORTOPTS,
				longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_u32(optarg, AGENT_MAX_INTERVAL, &v, err,
				      sizeof(err)))
				return usage_error("agent", "--interval: %s", err);
			if (!v)
				return usage_error("agent", "--interval: must be 1 to %d seconds",
						   AGENT_MAX_INTERVAL);
			ag->interval = v;
			break;
		case '1':
			ag->once = true;
			break;
		case 'c':
			opts.config = optarg;
			break;
		case ':':
			return usage_error("agent", "option '%s' needs a value",
					   argv[optind - 1]);
		case '?':
			return usage_error("agent", "unknown option '%s'",
					   argv[optind - 1]);
		default:
			common_opt(c, agent_help, &exit_now);
			if (exit_now)
				return EXIT_OK;
			break;
		}
	}
	if (optind < argc)
		return usage_error("agent", "unexpected argument '%s'",
				   argv[optind]);
	ag->verbose = opts.verbose;
	return -1;
}

/* ---- setup ------------------------------------------------------------ */

/*
 * Lock memory and leave the OOM killer alone: swap-out may be what the
 * kernel is doing when the agent must act.  Root must get both; without
 * root the agent can still be tried (--once), so only warn.  Without
 * root and with a finite RLIMIT_MEMLOCK, MCL_FUTURE would make later
 * allocations fail at the limit: no locking at all then.
 */
static int agent_pin(void)
{
	bool root = geteuid() == 0;
	struct rlimit rl;
	int fd, ok;

	if (!root && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		fprintf(stderr, "rmemctl: agent: warning: not root: memory not locked\n");
	} else if (mlockall(MCL_CURRENT | MCL_FUTURE)) {
		fprintf(stderr, "rmemctl: agent: %smlockall: %s\n",
			root ? "" : "warning: ", strerror(errno));
		if (root)
			return -1;
	}
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ok = fd >= 0 && write(fd, "-1000", 5) == 5;
	if (!ok) {
		fprintf(stderr, "rmemctl: agent: %scannot set oom_score_adj to -1000: %s\n",
			root ? "" : "warning: ", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return ok || !root ? 0 : -1;
}

/* The controller, when the cluster config names one; 0 or -1 */
static int agent_controller(struct agent *ag)
{
	struct rmem_config cfg;
	int ret;

	ret = ctl_config_load("agent", &cfg, false);
	if (ret < 0)
		return -1;
	if (ret > 0 || !cfg.controller[0]) {
		agent_log("no controller configured: direct mode for every device");
		rmem_config_free(&cfg);
		return 0;
	}
	ret = ctl_controller("agent", &cfg, &ag->ctl);
	rmem_config_free(&cfg);
	if (ret)
		return -1;
	ag->have_ctl = true;
	agent_log("controller %s for the devices it allocated", ag->ctl.base_url);
	return 0;
}

/* The request socket and its reused callback set and message buffer */
static int agent_open_req(struct agent *ag)
{
	if (rmem_nl_open(&ag->req))
		return -1;
	ag->req_cb = nl_cb_alloc(NL_CB_DEFAULT);
	ag->req_msg = nlmsg_alloc();
	if (!ag->req_cb || !ag->req_msg) {
		fprintf(stderr, "rmemctl: agent: out of memory\n");
		return -1;
	}
	return 0;
}

static void agent_close(struct agent *ag)
{
	if (ag->req.sk)
		rmem_nl_close(&ag->req);
	if (ag->ev.sk)
		rmem_nl_close(&ag->ev);
	if (ag->req_cb)
		nl_cb_put(ag->req_cb);
	nlmsg_free(ag->req_msg);
	if (ag->have_ctl)
		ctl_peer_free(&ag->ctl);
	dev_info_store_free(&ag->store);
}

/* ---- events ----------------------------------------------------------- */

static void ev_scan(struct agent *ag, const struct rmem_event_info *ev)
{
	(void)ev;
	ag->scan_due = true;
}

static void ev_resync_done(struct agent *ag, const struct rmem_event_info *ev)
{
	if (ev->have_slab && ev->have_replica) {
		agent_resync_done(ag, ev->dev, ev->slab, ev->replica);
		ag->report_due = true;
	}
}

static void ev_dev_removed(struct agent *ag, const struct rmem_event_info *ev)
{
	agent_forget_dev(ag, ev->dev);
}

/* What each event makes the agent do; others are only logged (-v) */
static const struct {
	uint8_t event;
	void (*handle)(struct agent *ag, const struct rmem_event_info *ev);
} ev_handlers[] = {
	{ RMEM_EVENT_REPLICA_LOST,	ev_scan },
	{ RMEM_EVENT_SLAB_FAILED,	ev_scan },
	{ RMEM_EVENT_DONOR_LOST,	ev_scan },
	{ RMEM_EVENT_DEV_ADDED,		ev_scan },
	{ RMEM_EVENT_RESYNC_DONE,	ev_resync_done },
	{ RMEM_EVENT_DEV_REMOVED,	ev_dev_removed },
};

/* nlctrl's DELFAMILY for our family: the module is gone */
static void on_ctrl(struct agent *ag, struct nlmsghdr *nlh)
{
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct nlattr *tb[CTRL_ATTR_MAX + 1];

	if (!genlmsg_valid_hdr(nlh, 0) || g->cmd != CTRL_CMD_DELFAMILY)
		return;
	if (genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL) == 0 &&
	    tb[CTRL_ATTR_FAMILY_ID] &&
	    nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]) == ag->ev.family)
		ag->family_gone = true;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct agent *ag = arg;
	struct rmem_event_info ev;
	char err[96], name[NAME_BUF_MAX];
	size_t i;

	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		on_ctrl(ag, nlh);
		return ag->family_gone ? NL_STOP : NL_OK;
	}
	if (nlh->nlmsg_type != ag->ev.family || !genlmsg_valid_hdr(nlh, 0) ||
	    ((struct genlmsghdr *)nlmsg_data(nlh))->cmd != RMEM_CMD_EVENT)
		return NL_OK;
	if (event_parse(nlh, &ev, err, sizeof(err))) {
		agent_log("%s", err);
		ag->scan_due = true;	/* whatever it was, look */
		return NL_OK;
	}
	agent_vlog(ag, "event %s %s", ev.dev[0] ? ev.dev : "-",
		   event_name(ev.event, name));
	for (i = 0; i < sizeof(ev_handlers) / sizeof(ev_handlers[0]); i++)
		if (ev_handlers[i].event == ev.event)
			ev_handlers[i].handle(ag, &ev);
	return NL_OK;
}

static int agent_open_events(struct agent *ag)
{
	if (rmem_nl_open(&ag->ev))
		return -1;
	if (rmem_nl_join(&ag->ev, "agent", RMEM_GENL_NAME,
			 RMEM_GENL_MCAST_EVENTS) ||
	    rmem_nl_join(&ag->ev, "agent", "nlctrl", "notify"))
		return -1;
	/* events are unsolicited: no sequence numbers to match */
	nl_socket_disable_seq_check(ag->ev.sk);
	nl_socket_modify_cb(ag->ev.sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, ag);
	nl_socket_set_nonblocking(ag->ev.sk);
	/* room for a burst: every replica of a dead donor at once */
	nl_socket_set_buffer_size(ag->ev.sk, 1 << 20, 0);
	return 0;
}

/* Read what the event socket holds; -1 when the agent must stop */
static int agent_read_events(struct agent *ag)
{
	int n = nl_recvmsgs_default(ag->ev.sk);

	if (ag->family_gone) {
		agent_log("the rmem kernel module was unloaded");
		return -1;
	}
	if (n == -NLE_NOMEM) {
		/* ENOBUFS: events were dropped; a scan sees what they said */
		agent_log("some events were lost (receive buffer overrun); scanning");
		ag->scan_due = true;
	} else if (n < 0 && n != -NLE_AGAIN && n != -NLE_INTR) {
		agent_log("events: %s", nl_geterror(n));
		return -1;
	}
	return 0;
}

/* ---- main loop -------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Scan when due (start, an event, the interval), else wait for events.
 * Signals stay blocked except inside ppoll(), so SIGTERM between the
 * check of stop_signal and the wait is not lost.  Returns an exit status.
 */
static int agent_loop(struct agent *ag, const sigset_t *orig)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(ag->ev.sk), .events = POLLIN };
	uint64_t next = 0, now;
	struct timespec ts;

	ag->scan_due = true;
	while (!stop_signal) {
		now = now_ms();
		if (ag->scan_due || now >= next) {
			ag->scan_due = false;
			agent_scan(ag);
			next = now_ms() + (uint64_t)ag->interval * 1000;
			/* more LOST replicas than one scan takes: go on at once */
			if (ag->more && ag->done_ok)
				ag->scan_due = true;
			continue;
		}
		if (ag->report_due) {
			ag->report_due = false;
			agent_report_done(ag);
		}
		ts.tv_sec = (time_t)((next - now) / 1000);
		ts.tv_nsec = (long)((next - now) % 1000) * 1000000;
		if (ppoll(&pfd, 1, &ts, orig) < 0) {
			if (errno == EINTR)
				continue;
			agent_log("poll: %s", strerror(errno));
			return EXIT_FAIL;
		}
		if (pfd.revents && agent_read_events(ag))
			return EXIT_FAIL;
	}
	agent_vlog(ag, "signal %d: exiting", (int)stop_signal);
	return EXIT_OK;
}

static int agent_run(struct agent *ag)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;
	int ret;

	/* the module and the config first: their errors say more */
	if (agent_controller(ag) || agent_open_req(ag) || agent_pin())
		return EXIT_FAIL;
	if (ag->once) {
		agent_scan(ag);
		return ag->failures ? EXIT_FAIL : EXIT_OK;
	}
	if (agent_open_events(ag))
		return EXIT_FAIL;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	agent_log("watching (scan every %u s)", ag->interval);
	ret = agent_loop(ag, &orig);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return ret;
}

int cmd_agent(int argc, char **argv)
{
	struct agent *ag = &agent;
	int ret;

	ret = agent_parse_args(argc, argv, ag);
	if (ret >= 0)
		return ret;
	ret = agent_run(ag);
	agent_close(ag);
	return ret;
}
