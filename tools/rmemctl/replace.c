// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl replace DEV SLAB REPLICA: send one REPLICA_REPLACE by hand.
 * The agent does this by itself; the command is for operators and for
 * tests, which may name a deliberately wrong old replica (--old-*) to
 * see the driver refuse it.  The old replica is read from the device
 * (DEV_GET) so that the usual call needs only the new donor.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <netlink/genl/genl.h>

#include "alloc.h"
#include "attach_ctl.h"
#include "devinfo.h"
#include "nl.h"
#include "print.h"
#include "replica.h"
#include "rmemctl.h"

static const char replace_help[] =
	"Usage: rmemctl replace DEV SLAB REPLICA\n"
	"                       (--donor ADDR[:PORT] | --donor-index N)\n"
	"                       [--slab-id ID] [--generation G] [--grant HEX]\n"
	"                       [--old-donor-index N] [--old-slab-id ID]\n"
	"                       [--old-generation G]\n"
	"\n"
	"Replace replica REPLICA (its slot, 0..2) of slab SLAB of device DEV\n"
	"with a new one on another donor; the driver copies the data over in\n"
	"the background (see: rmemctl status -v DEV).  The old replica is the\n"
	"one the slot holds now unless --old-* say otherwise (the driver\n"
	"refuses a mismatch).  `rmemctl agent` does this by itself.\n"
	"  -d, --donor ADDR[:PORT]  the new donor (added to the device if new)\n"
	"  -i, --donor-index N      or a donor the device has (status: donor N)\n"
	"  -s, --slab-id ID         the donor slab to take (default: any)\n"
	"  -g, --generation G       the slab's generation (from the controller)\n"
	"  -G, --grant HEX          the controller's grant, 64 hex digits\n"
	"      --old-donor-index N, --old-slab-id ID, --old-generation G\n"
	"                           the replica being replaced, as the slot\n"
	"                           should hold it (default: as it does)\n";

/* What the command line asked for; the old_* fields only when given */
struct replace_args {
	struct replica_replace rr;
	bool have_donor, have_index;
	bool have_old_donor, have_old_slab_id, have_old_generation;
};

enum {
	OPT_OLD_DONOR = 256,
	OPT_OLD_SLAB_ID,
	OPT_OLD_GENERATION,
};

/* One option's value; 0, or an exit status */
static int replace_opt(int c, const char *arg, struct replace_args *a)
{
	struct replica_new *w = &a->rr.new;
	char err[ARGS_ERR_MAX];

	switch (c) {
	case 'd':
		if (parse_donor_addr(arg, &w->addr, err, sizeof(err)))
			return usage_error("replace", "--donor: %s", err);
		a->have_donor = true;
		return 0;
	case 'i':
		if (parse_u32(arg, RMEM_MAX_DONORS - 1, &w->donor, err, sizeof(err)))
			return usage_error("replace", "--donor-index: %s", err);
		a->have_index = true;
		return 0;
	case 's':
		if (parse_u32(arg, UINT32_MAX, &w->slab_id, err, sizeof(err)))
			return usage_error("replace", "--slab-id: %s", err);
		return 0;
	case 'g':
		if (parse_u32(arg, UINT32_MAX, &w->generation, err, sizeof(err)))
			return usage_error("replace", "--generation: %s", err);
		w->have_generation = true;
		return 0;
	case 'G':
		if (hex_to_bytes(arg, w->grant, RMEM_GRANT_LEN))
			return usage_error("replace", "--grant: not %d hex digits",
					   2 * RMEM_GRANT_LEN);
		w->have_grant = true;
		return 0;
	case OPT_OLD_DONOR:
		if (parse_u32(arg, UINT32_MAX, &a->rr.old.donor, err, sizeof(err)))
			return usage_error("replace", "--old-donor-index: %s", err);
		a->have_old_donor = true;
		return 0;
	case OPT_OLD_SLAB_ID:
		if (parse_u32(arg, UINT32_MAX, &a->rr.old.slab_id, err, sizeof(err)))
			return usage_error("replace", "--old-slab-id: %s", err);
		a->have_old_slab_id = true;
		return 0;
	case OPT_OLD_GENERATION:
		if (parse_u32(arg, UINT32_MAX, &a->rr.old.generation, err,
			      sizeof(err)))
			return usage_error("replace", "--old-generation: %s", err);
		a->have_old_generation = true;
		return 0;
	}
	return usage_error("replace", "unknown option");
}

/* DEV SLAB REPLICA and the choice of donor; 0 or an exit status */
static int replace_positional(int argc, char **argv, struct replace_args *a)
{
	char err[ARGS_ERR_MAX];

	if (argc - optind < 3)
		return usage_error("replace", "expected DEV SLAB REPLICA");
	if (argc - optind > 3)
		return usage_error("replace", "unexpected argument '%s'",
				   argv[optind + 3]);
	if (parse_dev_name(argv[optind], a->rr.dev, sizeof(a->rr.dev), err,
			   sizeof(err)))
		return usage_error("replace", "%s", err);
	if (parse_u32(argv[optind + 1], UINT32_MAX, &a->rr.slab, err,
		      sizeof(err)))
		return usage_error("replace", "SLAB: %s", err);
	if (parse_u32(argv[optind + 2], RMEM_MAX_REPLICAS - 1, &a->rr.replica,
		      err, sizeof(err)))
		return usage_error("replace", "REPLICA: %s", err);
	if (a->have_donor == a->have_index)
		return usage_error("replace", a->have_donor ?
				   "give --donor or --donor-index, not both" :
				   "--donor or --donor-index is required");
	a->rr.new.by_index = a->have_index;
	return 0;
}

static int replace_parse_args(int argc, char **argv, struct replace_args *a)
{
	static const struct option longopts[] = {
		{ "donor", required_argument, NULL, 'd' },
		{ "donor-index", required_argument, NULL, 'i' },
		{ "slab-id", required_argument, NULL, 's' },
		{ "generation", required_argument, NULL, 'g' },
		{ "grant", required_argument, NULL, 'G' },
		{ "old-donor-index", required_argument, NULL, OPT_OLD_DONOR },
		{ "old-slab-id", required_argument, NULL, OPT_OLD_SLAB_ID },
		{ "old-generation", required_argument, NULL, OPT_OLD_GENERATION },
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	bool exit_now = false;
	int c, ret;

	memset(a, 0, sizeof(*a));
	a->rr.new.slab_id = RMEM_SLAB_ANY;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":d:i:s:g:G:" COMMON_SHORTOPTS,
				longopts, NULL)) != -1) {
		if (c == ':')
			return usage_error("replace", "option '%s' needs a value",
					   argv[optind - 1]);
		if (c == '?')
			return usage_error("replace", "unknown option '%s'",
					   argv[optind - 1]);
		if (common_opt(c, replace_help, &exit_now)) {
			if (exit_now)
				return EXIT_OK;
			continue;
		}
		ret = replace_opt(c, optarg, a);
		if (ret)
			return ret;
	}
	ret = replace_positional(argc, argv, a);
	return ret ? ret : -1;
}

/*
 * REPLICA_OLD from the slot as the device reports it, under what the
 * command line overrides.  0, or -1 after saying why.
 */
static int fill_old(struct replace_args *a)
{
	struct replica_old *o = &a->rr.old;
	const struct rmem_replica_info *r = NULL;
	struct rmem_dev_info info;
	unsigned int i;

	if (a->have_old_donor && a->have_old_slab_id && a->have_old_generation)
		return 0;	/* all given: the slot need not even exist */
	if (dev_get_one("replace", a->rr.dev, &info))
		return -1;
	for (i = 0; i < info.nr_slabs; i++) {
		const struct rmem_slab_info *s = &info.slabs[i];

		if (s->index == a->rr.slab && a->rr.replica < s->nr_replicas)
			r = &s->replicas[a->rr.replica];
	}
	if (!r) {
		fprintf(stderr, "rmemctl: replace: %s has no replica %" PRIu32
			" in slab %" PRIu32 " (see: rmemctl status -v %s)\n",
			a->rr.dev, a->rr.replica, a->rr.slab, a->rr.dev);
		dev_info_free(&info);
		return -1;
	}
	if (!a->have_old_donor)
		o->donor = r->donor;
	if (!a->have_old_slab_id)
		o->slab_id = r->slab_id;
	if (!a->have_old_generation)
		o->generation = r->generation;
	dev_info_free(&info);
	return 0;
}

/* The errnos REPLICA_REPLACE adds to those of the other commands */
static void replace_error(const struct rmem_nl_error *e, const char *dev)
{
	const char *meaning = NULL;

	if (e->from_kernel) {
		switch (e->err) {
		case ESTALE:
			meaning = "the slot does not hold the old replica named (it changed meanwhile): read status again";
			break;
		case ENOSPC:
			meaning = "the new donor has no free slab to give";
			break;
		case EEXIST:
			meaning = "the new donor already holds a replica of this slab";
			break;
		case EBUSY:
			meaning = "only a lost replica can be replaced";
			break;
		case ENODATA:
			meaning = "the slab has no in-sync replica left to copy from";
			break;
		case EHOSTDOWN:
			meaning = "the new donor is not connected";
			break;
		}
	}
	if (meaning)
		rmem_nl_print_error("replace", meaning, e);
	else
		dev_error("replace", e, dev, 0);
}

int cmd_replace(int argc, char **argv)
{
	struct replace_args a;
	struct rmem_nl_error e;
	struct rmem_nl nl;
	struct nl_msg *msg;
	int ret;

	ret = replace_parse_args(argc, argv, &a);
	if (ret >= 0)
		return ret;
	/* -j may have come after the command name */
	out_init(stdout, opts.json, opts.pretty);
	if (fill_old(&a))
		return EXIT_FAIL;
	if (rmem_nl_open(&nl))
		return EXIT_FAIL;
	msg = rmem_nl_msg(&nl, RMEM_CMD_REPLICA_REPLACE, 0);
	if (!msg || replica_replace_put(msg, &a.rr)) {
		nlmsg_free(msg);
		rmem_nl_close(&nl);
		fprintf(stderr, "rmemctl: replace: cannot build the request: out of memory\n");
		return EXIT_FAIL;
	}
	ret = rmem_nl_request(&nl, msg, NULL, NULL, &e);
	rmem_nl_close(&nl);
	if (ret) {
		replace_error(&e, a.rr.dev);
		return EXIT_FAIL;
	}
	out_begin();
	out_str("device", "%s", a.rr.dev);
	out_u64("slab", " slab %" PRIu64, a.rr.slab);
	out_u64("replica", " replica %" PRIu64, a.rr.replica);
	out_bool("replaced", NULL, true);
	out_text(": replaced; the new replica is brought in sync in the background\n");
	return out_end() ? EXIT_FAIL : EXIT_OK;
}
