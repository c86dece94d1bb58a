// SPDX-License-Identifier: GPL-2.0
/*
 * `rmemctl attach --size SIZE` without --donor: the controller places the
 * slabs (POST /v1/allocations), the driver is told exactly which donor
 * slab backs each device slab and the grant for it (RMEM_ATTR_SLABS), and
 * the device presents the client id the grants are bound to.  Whatever
 * fails after the allocation was made releases it, so nothing leaks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "alloc.h"
#include "attach_ctl.h"
#include "ctlconf.h"
#include "print.h"
#include "rmemctl.h"

static int put_slabs(struct nl_msg *msg, const struct alloc *a)
{
	struct nlattr *slabs, *s, *reps, *r;
	unsigned int i, j;

	slabs = nla_nest_start(msg, RMEM_ATTR_SLABS | NLA_F_NESTED);
	if (!slabs)
		return -1;
	for (i = 0; i < a->nr_slabs; i++) {
		const struct alloc_slab *sl = &a->slabs[i];

		s = nla_nest_start(msg, RMEM_ATTR_SLAB | NLA_F_NESTED);
		if (!s || nla_put_u32(msg, RMEM_SLAB_ATTR_INDEX, sl->index))
			return -1;
		reps = nla_nest_start(msg, RMEM_SLAB_ATTR_REPLICAS | NLA_F_NESTED);
		if (!reps)
			return -1;
		for (j = 0; j < sl->nr_replicas; j++) {
			const struct alloc_replica *rp = &sl->r[j];

			r = nla_nest_start(msg, RMEM_ATTR_REPLICA | NLA_F_NESTED);
			if (!r ||
			    nla_put_u32(msg, RMEM_REPLICA_ATTR_DONOR, rp->donor_idx) ||
			    nla_put_u32(msg, RMEM_REPLICA_ATTR_SLAB_ID, rp->slab_id) ||
			    (rp->have_grant &&
			     nla_put(msg, RMEM_REPLICA_ATTR_GRANT, RMEM_GRANT_LEN,
				     rp->grant)))
				return -1;
			nla_nest_end(msg, r);
		}
		nla_nest_end(msg, reps);
		nla_nest_end(msg, s);
	}
	nla_nest_end(msg, slabs);
	return 0;
}

static int put_dev_add(struct nl_msg *msg, uint64_t size, const char *name,
		       const struct alloc *a, const struct donor_addr *donors,
		       unsigned int nr_donors)
{
	struct nlattr *list, *d;
	unsigned int i;

	if (nla_put_u64(msg, RMEM_ATTR_SIZE, size) ||
	    nla_put_u64(msg, RMEM_ATTR_SLAB_SIZE, a->slab_size) ||
	    nla_put(msg, RMEM_ATTR_CLIENT_ID, RMEM_CLIENT_ID_LEN, a->client_id))
		return -1;
	if (name[0] && nla_put_string(msg, RMEM_ATTR_DEV_NAME, name))
		return -1;
	list = nla_nest_start(msg, RMEM_ATTR_DONORS | NLA_F_NESTED);
	if (!list)
		return -1;
	for (i = 0; i < nr_donors; i++) {
		d = nla_nest_start(msg, RMEM_ATTR_DONOR | NLA_F_NESTED);
		if (!d ||
		    nla_put_string(msg, RMEM_DONOR_ATTR_ADDR, donors[i].addr) ||
		    nla_put_u16(msg, RMEM_DONOR_ATTR_PORT, donors[i].port))
			return -1;
		nla_nest_end(msg, d);
	}
	nla_nest_end(msg, list);
	return put_slabs(msg, a);
}

static int add_reply(struct nlmsghdr *nlh, void *arg, struct rmem_nl_error *e)
{
	struct rmem_dev_info *info = arg;

	if (info->name[0])
		return 0;
	return dev_info_parse(nlh, info, e->local, sizeof(e->local));
}

/* DELETE /v1/allocations/ID; 0 or -1 with the reason printed */
static int release(const struct http_peer *p, const char *cmd, uint64_t id)
{
	char path[64], err[HTTP_ERR_MAX];
	json_object *reply;
	long st;

	snprintf(path, sizeof(path), "/v1/allocations/%" PRIu64, id);
	st = http_request(p, "DELETE", path, NULL, &reply, err, sizeof(err));
	json_object_put(reply);
	if (st == 200)
		return 0;
	fprintf(stderr, "rmemctl: %s: could not release allocation %" PRIu64
		" at the controller: %s\n", cmd, id, err);
	return -1;
}

/* The device as the driver made it, or -1 (the caller releases) */
static int dev_add(const struct alloc *a, uint64_t size, const char *name,
		   struct rmem_dev_info *info)
{
	struct donor_addr donors[RMEM_MAX_DONORS];
	char err[ALLOC_ERR_MAX];
	struct rmem_nl_error e;
	struct rmem_nl nl;
	struct nl_msg *msg;
	int n, ret;

	n = alloc_donor_table((struct alloc *)a, donors, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "rmemctl: attach: %s\n", err);
		return -1;
	}
	if (rmem_nl_open(&nl))
		return -1;
	msg = rmem_nl_msg(&nl, RMEM_CMD_DEV_ADD, 0);
	if (!msg || put_dev_add(msg, size, name, a, donors, (unsigned int)n)) {
		nlmsg_free(msg);
		rmem_nl_close(&nl);
		fprintf(stderr, "rmemctl: attach: cannot build the request (out of memory or over the netlink message size)\n");
		return -1;
	}
	ret = rmem_nl_request(&nl, msg, add_reply, info, &e);
	rmem_nl_close(&nl);
	if (ret) {
		dev_error("attach", &e, name[0] ? name : NULL, size);
		return -1;
	}
	if (!info->name[0]) {
		fprintf(stderr, "rmemctl: attach: the driver created a device but did not name it in its reply (see: rmemctl status)\n");
		return -2;	/* made: the allocation is in use, keep it */
	}
	return 0;
}

int attach_via_controller(uint64_t size, unsigned int replicas,
			  const char *name)
{
	struct rmem_dev_info info = { .name = "" };
	char err[HTTP_ERR_MAX], hex[2 * RMEM_CLIENT_ID_LEN + 1];
	uint8_t client_id[RMEM_CLIENT_ID_LEN];
	json_object *body, *reply = NULL;
	struct rmem_config cfg;
	struct http_peer p;
	struct alloc a;
	int ret = EXIT_FAIL;
	long st;

	if (ctl_config_load("attach", &cfg, true))
		return EXIT_FAIL;
	if (ctl_controller("attach", &cfg, &p)) {
		rmem_config_free(&cfg);
		return EXIT_FAIL;
	}
	if (getrandom(client_id, sizeof(client_id), 0) != sizeof(client_id)) {
		fprintf(stderr, "rmemctl: attach: getrandom: %s\n", strerror(errno));
		goto out_peer;
	}
	bytes_to_hex(client_id, sizeof(client_id), hex);

	body = json_object_new_object();
	json_object_object_add(body, "client_id", json_object_new_string(hex));
	json_object_object_add(body, "bytes", json_object_new_uint64(size));
	if (replicas)
		json_object_object_add(body, "replicas",
				       json_object_new_uint64(replicas));
	st = http_request(&p, "POST", "/v1/allocations", body, &reply, err,
			  sizeof(err));
	json_object_put(body);
	if (st != 201) {
		fprintf(stderr, "rmemctl: attach: %s\n",
			st ? err : err[0] ? err : "no answer from the controller");
		if (st == 507)
			fprintf(stderr, "rmemctl: attach: the cluster has less free memory than %" PRIu64 " bytes (see: rmemctl donors)\n",
				size);
		json_object_put(reply);
		goto out_peer;
	}
	if (alloc_parse(reply, &a, err, sizeof(err))) {
		uint64_t id;
		json_object *v;

		fprintf(stderr, "rmemctl: attach: malformed allocation from the controller: %s\n",
			err);
		/* give it back if we can at least tell which it was */
		if (json_object_object_get_ex(reply, "id", &v) &&
		    (id = (uint64_t)json_object_get_int64(v)) > 0)
			release(&p, "attach", id);
		json_object_put(reply);
		goto out_peer;
	}
	json_object_put(reply);
	if (memcmp(a.client_id, client_id, sizeof(client_id))) {
		fprintf(stderr, "rmemctl: attach: the controller answered for another client id\n");
		release(&p, "attach", a.id);
		goto out_alloc;
	}

	/* asked for or the cluster's default: either way one copy */
	if (a.replicas == 1)
		attach_warn_single(replicas == 1);
	switch (dev_add(&a, size, name, &info)) {
	case 0:
		ret = attach_print(&info);
		break;
	case -2:
		break;
	default:
		if (!release(&p, "attach", a.id))
			fprintf(stderr, "rmemctl: attach: allocation %" PRIu64 " released at the controller\n",
				a.id);
		break;
	}
	dev_info_free(&info);
out_alloc:
	alloc_free(&a);
out_peer:
	ctl_peer_free(&p);
	rmem_config_free(&cfg);
	return ret;
}

int detach_release(const char *name, const uint8_t *client_id)
{
	char err[HTTP_ERR_MAX], hex[2 * RMEM_CLIENT_ID_LEN + 1], path[96];
	json_object *reply = NULL, *list, *v;
	struct rmem_config cfg;
	struct http_peer p;
	int ret = EXIT_OK;
	size_t i, n;
	long st;

	/* no cluster config, or one without a controller: nothing to release */
	ret = ctl_config_load("detach", &cfg, false);
	if (ret)
		return ret < 0 ? EXIT_FAIL : EXIT_OK;
	if (!cfg.controller[0]) {
		rmem_config_free(&cfg);
		return EXIT_OK;
	}
	if (ctl_controller("detach", &cfg, &p)) {
		rmem_config_free(&cfg);
		return EXIT_FAIL;
	}
	bytes_to_hex(client_id, RMEM_CLIENT_ID_LEN, hex);
	snprintf(path, sizeof(path), "/v1/allocations?client_id=%s", hex);
	st = http_request(&p, "GET", path, NULL, &reply, err, sizeof(err));
	if (st != 200 || !json_object_object_get_ex(reply, "allocations", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		fprintf(stderr, "rmemctl: detach: %s removed, but its allocation could not be looked up: %s\n",
			name, err[0] ? err : "malformed answer");
		ret = EXIT_FAIL;
		goto out;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		json_object *al = json_object_array_get_idx(list, i);

		if (!json_object_object_get_ex(al, "id", &v) ||
		    json_object_get_int64(v) <= 0 ||
		    release(&p, "detach", (uint64_t)json_object_get_int64(v)))
			ret = EXIT_FAIL;
	}
out:
	json_object_put(reply);
	ctl_peer_free(&p);
	rmem_config_free(&cfg);
	return ret;
}
