// SPDX-License-Identifier: GPL-2.0
/*
 * Device commands: attach (DEV_ADD), detach (DEV_DEL), status (DEV_GET).
 * Every argument is checked before the netlink socket is opened, so a
 * typo exits 2 without touching the driver.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <rmem/rmem_netlink.h>

#include "args.h"
#include "attach_ctl.h"
#include "config.h"
#include "devinfo.h"
#include "nl.h"
#include "print.h"
#include "rmemctl.h"

/*
 * Turn the driver's errno into the operator's words.  @dev names the
 * device concerned, @size the size asked for (0 when not relevant).
 */
void dev_error(const char *cmd, const struct rmem_nl_error *e,
		      const char *dev, uint64_t size)
{
	char meaning[160];
	char sz[32];

	if (!e->from_kernel) {
		rmem_nl_print_error(cmd, NULL, e);
		return;
	}
	switch (e->err) {
	case EPERM:
	case EACCES:
		snprintf(meaning, sizeof(meaning),
			 "permission denied: %s needs root (CAP_NET_ADMIN)", cmd);
		break;
	case ENODEV:
		snprintf(meaning, sizeof(meaning), "no such device: %s",
			 dev ? dev : "(unnamed)");
		break;
	case EBUSY:
		snprintf(meaning, sizeof(meaning),
			 "device %s is in use (mounted, open or swapped on)",
			 dev ? dev : "(unnamed)");
		break;
	case EEXIST:
		snprintf(meaning, sizeof(meaning), "device %s already exists",
			 dev ? dev : "(unnamed)");
		break;
	case ENOSPC:
		snprintf(meaning, sizeof(meaning),
			 "size %s is larger than the donors lend (not enough free slabs)",
			 format_size(size, sz, sizeof(sz)));
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case ETIMEDOUT:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
		snprintf(meaning, sizeof(meaning), "donor unreachable: %s",
			 strerror(e->err));
		break;
	case EINVAL:
		snprintf(meaning, sizeof(meaning),
			 "the driver rejected the request as invalid");
		break;
	default:
		snprintf(meaning, sizeof(meaning), "%s", strerror(e->err));
		break;
	}
	rmem_nl_print_error(cmd, meaning, e);
}

/* ---- attach ---------------------------------------------------------- */

/* Sizes the driver accepts are whole 4 KiB blocks (its sector size) */
#define RMEM_BLOCK_SIZE	4096

static const char attach_help[] =
	"Usage: rmemctl attach --size SIZE [--replicas R] [--name NAME]\n"
	"       rmemctl attach --donor ADDR[:PORT] [--donor ...] --size SIZE\n"
	"                      [--replicas R] [--slab-size SIZE] [--name NAME]\n"
	"\n"
	"Create a block device backed by memory the donors lend.  Without\n"
	"--donor, the controller of the cluster config (rmemctl --config,\n"
	"$RMEM_CONFIG or /etc/rmem/rmem.conf) places the slabs and grants them.\n"
	"  -d, --donor ADDR[:PORT]  donor address: IPv4:PORT or [IPv6]:PORT;\n"
	"                           the port defaults to 7470 (up to 16 donors)\n"
	"  -r, --replicas R         copies of each slab, 1..3, each on another\n"
	"                           donor; default 2 with two or more --donor,\n"
	"                           1 with one, the cluster's without --donor\n"
	"  -s, --size SIZE          device size: bytes or K, M, G, T (binary)\n"
	"  -S, --slab-size SIZE     slab size to ask for (default: the donors')\n"
	"  -n, --name NAME          device name (default: next free rmemN)\n"
	"Prints the new device path, e.g. /dev/rmem0.\n";

struct attach_args {
	struct donor_addr donors[RMEM_MAX_DONORS];
	unsigned int nr_donors;
	uint64_t size;
	uint64_t slab_size;
	unsigned int replicas;		/* 0: the default (see attach_help) */
	char name[RMEM_NAME_MAX];
};

/* One replica per slab: a lost donor takes the data of its slabs along */
void attach_warn_single(bool asked)
{
	fprintf(stderr, "rmemctl: warning: %s: a lost donor loses the data of its slabs; use %s for redundancy\n",
		asked ? "--replicas 1" : "1 replica per slab (the cluster's default)",
		asked ? "2" : "--replicas 2");
}

static int attach_put(struct nl_msg *msg, const struct attach_args *a)
{
	struct nlattr *donors, *d;
	unsigned int i;

	if (nla_put_u64(msg, RMEM_ATTR_SIZE, a->size))
		return -1;
	/*
	 * 1 is the driver's default: leaving it out keeps one-replica
	 * devices attachable by a driver older than RMEM_ATTR_REPLICAS.
	 */
	if (a->replicas > 1 && nla_put_u32(msg, RMEM_ATTR_REPLICAS, a->replicas))
		return -1;
	if (a->slab_size && nla_put_u64(msg, RMEM_ATTR_SLAB_SIZE, a->slab_size))
		return -1;
	if (a->name[0] && nla_put_string(msg, RMEM_ATTR_DEV_NAME, a->name))
		return -1;
	/* the kernel's strict validation wants NLA_F_NESTED on every nest */
	donors = nla_nest_start(msg, RMEM_ATTR_DONORS | NLA_F_NESTED);
	if (!donors)
		return -1;
	for (i = 0; i < a->nr_donors; i++) {
		d = nla_nest_start(msg, RMEM_ATTR_DONOR | NLA_F_NESTED);
		if (!d ||
		    nla_put_string(msg, RMEM_DONOR_ATTR_ADDR, a->donors[i].addr) ||
		    nla_put_u16(msg, RMEM_DONOR_ATTR_PORT, a->donors[i].port))
			return -1;
		nla_nest_end(msg, d);
	}
	nla_nest_end(msg, donors);
	return 0;
}

/* The DEV_ADD reply describes the new device */
static int attach_reply(struct nlmsghdr *nlh, void *arg,
			struct rmem_nl_error *e)
{
	struct rmem_dev_info *info = arg;

	if (info->name[0])
		return 0;	/* only one device is expected */
	return dev_info_parse(nlh, info, e->local, sizeof(e->local));
}

static int attach_parse_args(int argc, char **argv, struct attach_args *a)
{
	static const struct option longopts[] = {
		{ "donor", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "slab-size", required_argument, NULL, 'S' },
		{ "name", required_argument, NULL, 'n' },
		{ "replicas", required_argument, NULL, 'r' },
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[ARGS_ERR_MAX];
	bool exit_now = false;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((c = getopt_long(argc, argv, ":d:s:S:n:r:" COMMON_SHORTOPTS,
				longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (a->nr_donors == RMEM_MAX_DONORS)
				return usage_error("attach", "at most %d donors",
						   RMEM_MAX_DONORS);
			if (parse_donor_addr(optarg, &a->donors[a->nr_donors],
					     err, sizeof(err)))
				return usage_error("attach", "%s", err);
			a->nr_donors++;
			break;
		case 's':
			if (parse_size(optarg, &a->size, err, sizeof(err)))
				return usage_error("attach", "--size: %s", err);
			break;
		case 'S':
			if (parse_size(optarg, &a->slab_size, err, sizeof(err)))
				return usage_error("attach", "--slab-size: %s",
						   err);
			break;
		case 'n':
			if (parse_dev_name(optarg, a->name, sizeof(a->name),
					   err, sizeof(err)))
				return usage_error("attach", "--name: %s", err);
			break;
		case 'r':
			if (!strcmp(optarg, "1"))
				a->replicas = 1;
			else if (!strcmp(optarg, "2"))
				a->replicas = 2;
			else if (!strcmp(optarg, "3"))
				a->replicas = 3;
			else
				return usage_error("attach",
						   "--replicas: '%s' is not 1, 2 or 3",
						   optarg);
			break;
		case ':':
			return usage_error("attach", "option '%s' needs a value",
					   argv[optind - 1]);
		case '?':
			return usage_error("attach", "unknown option '%s'",
					   argv[optind - 1]);
		default:
			if (!common_opt(c, attach_help, &exit_now))
				return usage_error("attach", "unknown option");
			if (exit_now)
				return EXIT_OK;
			break;
		}
	}
	if (optind < argc)
		return usage_error("attach", "unexpected argument '%s'",
				   argv[optind]);
	/* each replica of a slab lives on another donor */
	if (a->nr_donors && a->replicas > a->nr_donors)
		return usage_error("attach",
				   "--replicas %u needs at least %u --donor (%u given)",
				   a->replicas, a->replicas, a->nr_donors);
	/* no donors named and no cluster to ask: nothing can back the device */
	if (!a->nr_donors && !opts.config && !getenv("RMEM_CONFIG") &&
	    access(RMEM_CONFIG_DEFAULT_PATH, F_OK) != 0)
		return usage_error("attach",
				   "at least one --donor is required when no cluster config (%s) names a controller",
				   RMEM_CONFIG_DEFAULT_PATH);
	if (!a->nr_donors && a->slab_size)
		return usage_error("attach",
				   "--slab-size needs --donor (the cluster's slab size is used)");
	if (!a->size)
		return usage_error("attach", "--size is required");
	/* the driver's block size; checked here so a typo costs no netlink */
	if (a->size % RMEM_BLOCK_SIZE)
		return usage_error("attach",
				   "--size must be a multiple of %d bytes",
				   RMEM_BLOCK_SIZE);
	if (a->slab_size % RMEM_BLOCK_SIZE)
		return usage_error("attach",
				   "--slab-size must be a multiple of %d bytes",
				   RMEM_BLOCK_SIZE);
	if (a->slab_size && a->slab_size > a->size)
		return usage_error("attach",
				   "--slab-size is larger than --size");
	return -1;	/* parsed: go on */
}

int cmd_attach(int argc, char **argv)
{
	struct rmem_dev_info info = { .name = "" };
	struct rmem_nl_error e;
	struct attach_args a;
	struct rmem_nl nl;
	struct nl_msg *msg;
	int ret;

	ret = attach_parse_args(argc, argv, &a);
	if (ret >= 0)
		return ret;
	/* -j may have come after the command name */
	out_init(stdout, opts.json, opts.pretty);
	if (!a.nr_donors)
		return attach_via_controller(a.size, a.replicas, a.name);
	/*
	 * Asked for, the warning is due; one donor and no --replicas has no
	 * other choice, and its output stays what scripts expect.
	 */
	if (a.replicas == 1)
		attach_warn_single(true);
	if (!a.replicas)
		a.replicas = a.nr_donors >= 2 ? 2 : 1;

	if (rmem_nl_open(&nl))
		return EXIT_FAIL;
	msg = rmem_nl_msg(&nl, RMEM_CMD_DEV_ADD, 0);
	if (!msg || attach_put(msg, &a)) {
		nlmsg_free(msg);
		rmem_nl_close(&nl);
		fprintf(stderr, "rmemctl: attach: cannot build the request: out of memory\n");
		return EXIT_FAIL;
	}
	ret = rmem_nl_request(&nl, msg, attach_reply, &info, &e);
	rmem_nl_close(&nl);
	if (ret) {
		dev_error("attach", &e, a.name[0] ? a.name : NULL, a.size);
		dev_info_free(&info);
		return EXIT_FAIL;
	}
	if (!info.name[0]) {
		fprintf(stderr, "rmemctl: attach: the driver created a device but did not name it in its reply (see: rmemctl status)\n");
		return EXIT_FAIL;
	}
	ret = attach_print(&info);
	dev_info_free(&info);
	return ret;
}

int attach_print(const struct rmem_dev_info *info)
{
	char path[RMEM_NAME_MAX + 8];
	char hex[2 * RMEM_CLIENT_ID_LEN + 1];
	unsigned int i;

	snprintf(path, sizeof(path), "/dev/%s", info->name);
	out_begin();
	out_str("name", NULL, info->name);
	out_str("path", "%s\n", path);
	if (info->have_size)
		out_size("size", NULL, info->size);
	if (info->have_slab_size)
		out_size("slab_size", NULL, info->slab_size);
	if (info->have_replicas)
		out_u64("replicas", NULL, info->replicas);
	if (info->have_client_id) {
		for (i = 0; i < RMEM_CLIENT_ID_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", info->client_id[i]);
		out_str("client_id", NULL, hex);
	}
	return out_end() ? EXIT_FAIL : EXIT_OK;
}

/* ---- detach ---------------------------------------------------------- */

static const char detach_help[] =
	"Usage: rmemctl detach NAME\n"
	"\n"
	"Remove device NAME (rmem0 or /dev/rmem0) and give its slabs back to\n"
	"the donors.  Refused while the device is open, mounted or swapped on.\n";

/* Parses "CMD [options] NAME"; @optional allows no NAME */
static int parse_name_args(const char *cmd, const char *help, int argc,
			   char **argv, char *name, bool optional)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[ARGS_ERR_MAX];
	bool exit_now = false;
	int c;

	name[0] = '\0';
	optind = 0;
	while ((c = getopt_long(argc, argv, ":" COMMON_SHORTOPTS, longopts,
				NULL)) != -1) {
		if (c == '?' || c == ':')
			return usage_error(cmd, "unknown option '%s'",
					   argv[optind - 1]);
		common_opt(c, help, &exit_now);
		if (exit_now)
			return EXIT_OK;
	}
	if (optind == argc) {
		if (optional)
			return -1;
		return usage_error(cmd, "missing device name");
	}
	if (argc - optind > 1)
		return usage_error(cmd, "unexpected argument '%s'",
				   argv[optind + 1]);
	if (parse_dev_name(argv[optind], name, RMEM_NAME_MAX, err, sizeof(err)))
		return usage_error(cmd, "%s", err);
	return -1;
}

static int put_name(struct nl_msg *msg, const char *name)
{
	return nla_put_string(msg, RMEM_ATTR_DEV_NAME, name);
}

int cmd_detach(int argc, char **argv)
{
	struct rmem_dev_info info = { .name = "" };
	uint8_t client_id[RMEM_CLIENT_ID_LEN];
	bool have_client_id = false;
	char name[RMEM_NAME_MAX];
	struct rmem_nl_error e;
	struct rmem_nl nl;
	struct nl_msg *msg;
	int ret;

	ret = parse_name_args("detach", detach_help, argc, argv, name, false);
	if (ret >= 0)
		return ret;

	/* the client id names the device's allocation at the controller */
	if (dev_get_one("detach", name, &info))
		return EXIT_FAIL;
	if (info.have_client_id) {
		memcpy(client_id, info.client_id, sizeof(client_id));
		have_client_id = true;
	}
	dev_info_free(&info);

	if (rmem_nl_open(&nl))
		return EXIT_FAIL;
	msg = rmem_nl_msg(&nl, RMEM_CMD_DEV_DEL, 0);
	if (!msg || put_name(msg, name)) {
		nlmsg_free(msg);
		rmem_nl_close(&nl);
		fprintf(stderr, "rmemctl: detach: cannot build the request: out of memory\n");
		return EXIT_FAIL;
	}
	ret = rmem_nl_request(&nl, msg, NULL, NULL, &e);
	rmem_nl_close(&nl);
	if (ret) {
		dev_error("detach", &e, name, 0);
		return EXIT_FAIL;
	}
	return have_client_id ? detach_release(name, client_id) : EXIT_OK;
}

static int get_one_reply(struct nlmsghdr *nlh, void *arg,
			 struct rmem_nl_error *e)
{
	struct rmem_dev_info *info = arg;

	if (info->name[0])
		return 0;
	return dev_info_parse(nlh, info, e->local, sizeof(e->local));
}

int dev_get_one(const char *cmd, const char *name, struct rmem_dev_info *info)
{
	struct rmem_nl_error e;
	struct rmem_nl nl;
	struct nl_msg *msg;
	int ret;

	memset(info, 0, sizeof(*info));
	if (rmem_nl_open(&nl))
		return -1;
	msg = rmem_nl_msg(&nl, RMEM_CMD_DEV_GET, 0);
	if (!msg || put_name(msg, name)) {
		nlmsg_free(msg);
		rmem_nl_close(&nl);
		fprintf(stderr, "rmemctl: %s: cannot build the request: out of memory\n", cmd);
		return -1;
	}
	ret = rmem_nl_request(&nl, msg, get_one_reply, info, &e);
	rmem_nl_close(&nl);
	if (ret) {
		dev_error(cmd, &e, name, 0);
		dev_info_free(info);
		return -1;
	}
	return 0;
}

/* ---- status ---------------------------------------------------------- */

static const char status_help[] =
	"Usage: rmemctl [-j] status [-v] [NAME]\n"
	"\n"
	"Show every device, or only NAME: state, size, replicas per slab,\n"
	"donors, slabs by state (live, reconnecting, failed, degraded,\n"
	"resyncing) with resync progress, and counters.  -v lists each slab\n"
	"and each replica: donor, slab id, generation, state (in-sync,\n"
	"reconnecting, lost, stale, resyncing), stale pages.  -j prints JSON\n"
	"(an object with a \"devices\" array, every slab included; sizes in\n"
	"bytes).\n";

struct dev_list {
	struct rmem_dev_info *devs;
	unsigned int nr, cap;
};

static int status_reply(struct nlmsghdr *nlh, void *arg,
			struct rmem_nl_error *e)
{
	struct dev_list *l = arg;

	if (l->nr == l->cap) {
		unsigned int cap = l->cap ? 2 * l->cap : 8;
		struct rmem_dev_info *d = realloc(l->devs, cap * sizeof(*d));

		if (!d) {
			snprintf(e->local, sizeof(e->local), "out of memory");
			return -ENOMEM;
		}
		l->devs = d;
		l->cap = cap;
	}
	if (dev_info_parse(nlh, &l->devs[l->nr], e->local, sizeof(e->local)))
		return -EPROTO;
	l->nr++;
	return 0;
}

/* rmem2 before rmem10 */
static int cmp_dev(const void *a, const void *b)
{
	const struct rmem_dev_info *x = a, *y = b;

	return strverscmp(x->name, y->name);
}

int cmd_status(int argc, char **argv)
{
	struct dev_list l = { .devs = NULL };
	char name[RMEM_NAME_MAX];
	struct rmem_nl_error e;
	struct rmem_nl nl;
	struct nl_msg *msg;
	unsigned int i;
	int ret;

	ret = parse_name_args("status", status_help, argc, argv, name, true);
	if (ret >= 0)
		return ret;
	/* -j may have come after the command name */
	out_init(stdout, opts.json, opts.pretty);

	if (rmem_nl_open(&nl))
		return EXIT_FAIL;
	msg = rmem_nl_msg(&nl, RMEM_CMD_DEV_GET, name[0] ? 0 : NLM_F_DUMP);
	if (!msg || (name[0] && put_name(msg, name))) {
		nlmsg_free(msg);
		rmem_nl_close(&nl);
		fprintf(stderr, "rmemctl: status: cannot build the request: out of memory\n");
		return EXIT_FAIL;
	}
	ret = rmem_nl_request(&nl, msg, status_reply, &l, &e);
	rmem_nl_close(&nl);
	if (ret) {
		dev_error("status", &e, name[0] ? name : NULL, 0);
		ret = EXIT_FAIL;
		goto out_free;
	}

	qsort(l.devs, l.nr, sizeof(*l.devs), cmp_dev);
	out_begin();
	dev_list_print(l.devs, l.nr, opts.verbose);
	/* a named device is a local question; the cluster is for the overview */
	if (!name[0])
		status_cluster_print();
	ret = out_end() ? EXIT_FAIL : EXIT_OK;

out_free:
	for (i = 0; i < l.nr; i++)
		dev_info_free(&l.devs[i]);
	free(l.devs);
	return ret;
}
