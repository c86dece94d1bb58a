// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl monitor: join the "events" multicast group and print each
 * event until SIGINT or SIGTERM.  Also listens to nlctrl's "notify"
 * group so that unloading rmem.ko ends the monitor instead of leaving it
 * waiting on a family that no longer exists.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <rmem/rmem_netlink.h>

#include "event.h"
#include "nl.h"
#include "print.h"
#include "rmemctl.h"

static const char monitor_help[] =
	"Usage: rmemctl [-j] monitor\n"
	"\n"
	"Print the driver's events as they happen, one line each: time,\n"
	"device, event (donor-lost, donor-back, slab-failed, dev-added,\n"
	"dev-removed, replica-lost, replica-stale, resync-started,\n"
	"resync-done, replica-replaced), then the donor, slab and replica\n"
	"index when the event has them.  With -j, one JSON object per line.\n"
	"Runs until interrupted (SIGINT, SIGTERM).\n";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct monitor {
	int family;
	bool family_gone;
	bool output_failed;
};

static int on_message(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct monitor *m = arg;
	struct rmem_event_info ev;
	struct timespec now;
	char err[96];

	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		struct genlmsghdr *g = nlmsg_data(nlh);
		struct nlattr *tb[CTRL_ATTR_MAX + 1];

		if (!genlmsg_valid_hdr(nlh, 0) || g->cmd != CTRL_CMD_DELFAMILY)
			return NL_OK;
		if (genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL) == 0 &&
		    tb[CTRL_ATTR_FAMILY_ID] &&
		    nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]) == m->family) {
			m->family_gone = true;
			return NL_STOP;
		}
		return NL_OK;
	}
	if (nlh->nlmsg_type != m->family)
		return NL_OK;
	if (genlmsg_valid_hdr(nlh, 0) &&
	    ((struct genlmsghdr *)nlmsg_data(nlh))->cmd != RMEM_CMD_EVENT)
		return NL_OK;
	if (event_parse(nlh, &ev, err, sizeof(err))) {
		/* one bad message is reported, the monitor keeps going */
		fprintf(stderr, "rmemctl: monitor: %s\n", err);
		return NL_OK;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (event_print(&ev, &now)) {
		m->output_failed = true;
		return NL_STOP;
	}
	return NL_OK;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	bool exit_now = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, longopts,
				NULL)) != -1) {
		if (c == '?' || c == ':')
			return usage_error("monitor", "unknown option '%s'",
					   argv[optind - 1]);
		common_opt(c, monitor_help, &exit_now);
		if (exit_now)
			return EXIT_OK;
	}
	if (optind < argc)
		return usage_error("monitor", "unexpected argument '%s'",
				   argv[optind]);
	return -1;
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor m = { .family = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;
	struct rmem_nl nl;
	struct pollfd pfd;
	int ret;

	ret = parse_args(argc, argv);
	if (ret >= 0)
		return ret;
	/* -j may have come after the command name */
	out_init(stdout, opts.json, opts.pretty);

	if (rmem_nl_open(&nl))
		return EXIT_FAIL;
	m.family = nl.family;
	if (rmem_nl_join(&nl, "monitor", RMEM_GENL_NAME, RMEM_GENL_MCAST_EVENTS) ||
	    rmem_nl_join(&nl, "monitor", "nlctrl", "notify")) {
		rmem_nl_close(&nl);
		return EXIT_FAIL;
	}
	/* events are unsolicited: no sequence numbers to match */
	nl_socket_disable_seq_check(nl.sk);
	nl_socket_modify_cb(nl.sk, NL_CB_VALID, NL_CB_CUSTOM, on_message, &m);
	nl_socket_set_nonblocking(nl.sk);
	/* room for a burst (every slab of a dead donor failing at once) */
	nl_socket_set_buffer_size(nl.sk, 1 << 20, 0);

	/*
	 * Signals stay blocked except inside ppoll(), so one arriving
	 * between the check of stop_signal and the wait is not lost.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	pfd.fd = nl_socket_get_fd(nl.sk);
	pfd.events = POLLIN;
	ret = EXIT_OK;
	while (!stop_signal) {
		int n = ppoll(&pfd, 1, NULL, &orig);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "rmemctl: monitor: poll: %s\n",
				strerror(errno));
			ret = EXIT_FAIL;
			break;
		}
		n = nl_recvmsgs_default(nl.sk);
		if (m.output_failed) {
			ret = EXIT_FAIL;
			break;
		}
		if (m.family_gone) {
			fprintf(stderr, "rmemctl: monitor: the rmem kernel module was unloaded\n");
			ret = EXIT_FAIL;
			break;
		}
		if (n == -NLE_NOMEM) {
			/* ENOBUFS: the kernel dropped events we were too slow for */
			fprintf(stderr, "rmemctl: monitor: some events were lost (receive buffer overrun)\n");
		} else if (n < 0 && n != -NLE_AGAIN && n != -NLE_INTR) {
			fprintf(stderr, "rmemctl: monitor: %s\n", nl_geterror(n));
			ret = EXIT_FAIL;
			break;
		}
	}
	rmem_nl_close(&nl);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return ret;
}
