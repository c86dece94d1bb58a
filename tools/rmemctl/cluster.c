// SPDX-License-Identifier: GPL-2.0
/*
 * Cluster views from the controller: `rmemctl donors`, `rmemctl slabs`
 * and the cluster section of `rmemctl status`.  Everything goes through
 * print.h, so -j gives the same facts as JSON (sizes in bytes).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "args.h"
#include "ctlconf.h"
#include "print.h"
#include "rmemctl.h"

static uint64_t jget_u64(json_object *o, const char *key)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	x = json_object_get_int64(v);
	return x < 0 ? 0 : (uint64_t)x;
}

static const char *jget_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* GET @path from the configured controller: 0 with *@reply, or -1 */
static int controller_get(const char *cmd, const char *path,
			  json_object **reply, bool required, char *err,
			  size_t errlen)
{
	struct rmem_config cfg;
	struct http_peer p;
	long st;
	int ret;

	*reply = NULL;
	ret = ctl_config_load(cmd, &cfg, required);
	if (ret)
		return ret > 0 ? 1 : -1;
	if (!required && !cfg.controller[0]) {
		rmem_config_free(&cfg);
		return 1;
	}
	if (ctl_controller(cmd, &cfg, &p)) {
		rmem_config_free(&cfg);
		return -1;
	}
	st = http_request(&p, "GET", path, NULL, reply, err, errlen);
	ctl_peer_free(&p);
	rmem_config_free(&cfg);
	if (st == 200 && *reply)
		return 0;
	if (st == 200)
		snprintf(err, errlen, "controller answered with malformed JSON");
	json_object_put(*reply);
	*reply = NULL;
	return -1;
}

/* Parses "CMD [-j -p -v -h]" with no arguments; -1 to go on */
static int parse_no_args(const char *cmd, const char *help, int argc,
			 char **argv)
{
	bool exit_now = false;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int c = 0;

		if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			c = 'j';
		else if (!strcmp(a, "-p") || !strcmp(a, "--pretty"))
			c = 'p';
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			c = 'v';
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			c = 'h';
		else if (a[0] == '-')
			return usage_error(cmd, "unknown option '%s'", a);
		else
			return usage_error(cmd, "unexpected argument '%s'", a);
		common_opt(c, help, &exit_now);
		if (exit_now)
			return EXIT_OK;
	}
	return -1;
}

static void print_donor(json_object *d)
{
	uint64_t slab = jget_u64(d, "slab_size");
	const char *zone = jget_str(d, "zone");

	out_obj_begin(NULL);
	out_u64("id", "%4" PRIu64, jget_u64(d, "id"));
	out_str("addr", " %-22s", jget_str(d, "addr"));
	if (zone[0]) {
		out_str("zone", " %-10s", zone);
	} else {
		out_text(" %-10s", "-");
		out_str("zone", NULL, "");
	}
	out_str("state", " %-5s", jget_str(d, "state"));
	out_size("capacity", " %9s", jget_u64(d, "total_slabs") * slab);
	out_size("free", " %9s", jget_u64(d, "available_slabs") * slab);
	out_size("used", " %9s", jget_u64(d, "used_slabs") * slab);
	out_u64("total_slabs", NULL, jget_u64(d, "total_slabs"));
	out_u64("free_slabs", NULL, jget_u64(d, "free_slabs"));
	out_u64("used_slabs", NULL, jget_u64(d, "used_slabs"));
	out_u64("available_slabs", NULL, jget_u64(d, "available_slabs"));
	out_size("slab_size", NULL, slab);
	out_text("\n");
	out_obj_end();
}

static void print_donor_table(json_object *reply)
{
	json_object *list;
	size_t i, n = 0;

	if (json_object_object_get_ex(reply, "donors", &list) &&
	    json_object_is_type(list, json_type_array))
		n = json_object_array_length(list);
	out_text("%4s %-22s %-10s %-5s %9s %9s %9s\n", "ID", "ADDRESS", "ZONE",
		 "STATE", "CAPACITY", "FREE", "USED");
	out_arr_begin("donors");
	for (i = 0; i < n; i++)
		print_donor(json_object_array_get_idx(list, i));
	out_arr_end();
}

static const char donors_help[] =
	"Usage: rmemctl [-j] donors\n"
	"\n"
	"List the donors the controller knows: address, zone, state, memory\n"
	"lent (capacity), still free for placement, and granted to clients.\n";

int cmd_donors(int argc, char **argv)
{
	char err[HTTP_ERR_MAX] = "";
	json_object *reply;
	int ret;

	ret = parse_no_args("donors", donors_help, argc, argv);
	if (ret >= 0)
		return ret;
	out_init(stdout, opts.json, opts.pretty);
	if (controller_get("donors", "/v1/donors", &reply, true, err,
			   sizeof(err))) {
		if (err[0])
			fprintf(stderr, "rmemctl: donors: %s\n", err);
		return EXIT_FAIL;
	}
	out_begin();
	print_donor_table(reply);
	ret = out_end() ? EXIT_FAIL : EXIT_OK;
	json_object_put(reply);
	return ret;
}

static const char slabs_help[] =
	"Usage: rmemctl [-j] slabs\n"
	"\n"
	"List the controller's allocations: which client holds which slabs,\n"
	"on which donor (address and slab id), and each replica's state.\n";

static void print_allocation(json_object *al)
{
	json_object *slabs, *reps;
	size_t i, j, n = 0, m;

	out_obj_begin(NULL);
	out_u64("id", "allocation %" PRIu64, jget_u64(al, "id"));
	out_str("client_id", " client %s", jget_str(al, "client_id"));
	out_size("bytes", " size %s", jget_u64(al, "bytes"));
	out_size("slab_size", " slab %s", jget_u64(al, "slab_size"));
	out_u64("replicas", " replicas %" PRIu64 "\n", jget_u64(al, "replicas"));
	if (json_object_object_get_ex(al, "slabs", &slabs) &&
	    json_object_is_type(slabs, json_type_array))
		n = json_object_array_length(slabs);
	out_arr_begin("slabs");
	for (i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(slabs, i);

		out_obj_begin(NULL);
		out_u64("index", "  slab %" PRIu64 ":", jget_u64(s, "index"));
		m = 0;
		if (json_object_object_get_ex(s, "replicas", &reps) &&
		    json_object_is_type(reps, json_type_array))
			m = json_object_array_length(reps);
		out_arr_begin("replicas");
		for (j = 0; j < m; j++) {
			json_object *r = json_object_array_get_idx(reps, j);

			/* grants are secrets of the client: not printed */
			out_obj_begin(NULL);
			out_u64("donor_id", " donor %" PRIu64, jget_u64(r, "donor_id"));
			out_str("addr", " %s", jget_str(r, "addr"));
			out_u64("slab_id", " slab-id %" PRIu64, jget_u64(r, "slab_id"));
			out_str("state", " %s", jget_str(r, "state"));
			out_obj_end();
		}
		out_arr_end();
		out_text("\n");
		out_obj_end();
	}
	out_arr_end();
	out_obj_end();
}

int cmd_slabs(int argc, char **argv)
{
	char err[HTTP_ERR_MAX] = "";
	json_object *reply, *list;
	size_t i, n = 0;
	int ret;

	ret = parse_no_args("slabs", slabs_help, argc, argv);
	if (ret >= 0)
		return ret;
	out_init(stdout, opts.json, opts.pretty);
	if (controller_get("slabs", "/v1/allocations", &reply, true, err,
			   sizeof(err))) {
		if (err[0])
			fprintf(stderr, "rmemctl: slabs: %s\n", err);
		return EXIT_FAIL;
	}
	if (json_object_object_get_ex(reply, "allocations", &list) &&
	    json_object_is_type(list, json_type_array))
		n = json_object_array_length(list);
	out_begin();
	if (!n)
		out_text("no allocations\n");
	out_arr_begin("allocations");
	for (i = 0; i < n; i++)
		print_allocation(json_object_array_get_idx(list, i));
	out_arr_end();
	ret = out_end() ? EXIT_FAIL : EXIT_OK;
	json_object_put(reply);
	return ret;
}

void status_cluster_print(void)
{
	char err[HTTP_ERR_MAX] = "";
	json_object *st = NULL, *donors = NULL, *v;
	uint64_t slab;
	int ret;

	ret = controller_get("status", "/v1/status", &st, false, err,
			     sizeof(err));
	if (ret > 0)
		return;		/* no controller configured: local view only */
	out_text("\n");
	out_obj_begin("cluster");
	if (ret == 0)
		ret = controller_get("status", "/v1/donors", &donors, false,
				     err, sizeof(err));
	if (ret) {
		/* the local report stands; the cluster part says what failed */
		out_str("error", "cluster: unavailable: %s\n",
			err[0] ? err : "see above");
		out_obj_end();
		json_object_put(st);
		return;
	}
	slab = jget_u64(st, "slab_size");
	out_text("cluster:");
	if (json_object_object_get_ex(st, "donors", &v)) {
		out_u64("donors_up", " donors %" PRIu64 " up", jget_u64(v, "up"));
		out_u64("donors_down", ", %" PRIu64 " down", jget_u64(v, "down"));
	}
	out_size("slab_size", NULL, slab);
	if (json_object_object_get_ex(st, "slabs", &v)) {
		out_size("total_bytes", "; memory %s", jget_u64(v, "total") * slab);
		out_size("used_bytes", ", used %s", jget_u64(v, "used") * slab);
		out_size("free_bytes", ", free %s", jget_u64(st, "free_bytes"));
		out_u64("lost_slabs", NULL, jget_u64(v, "lost"));
	}
	out_u64("clients", "; clients %" PRIu64, jget_u64(st, "clients"));
	out_u64("allocations", ", allocations %" PRIu64 "\n",
		jget_u64(st, "allocations"));
	print_donor_table(donors);
	out_obj_end();
	json_object_put(st);
	json_object_put(donors);
}
