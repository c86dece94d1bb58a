// SPDX-License-Identifier: GPL-2.0
/*
 * rmemctl status output: a device description printed as JSON must parse
 * back (json-c) with exact byte counts and names; the text form must show
 * human sizes.  Also the monitor's event line in both forms.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "devinfo.h"
#include "event.h"
#include "print.h"
#include "rmemctl_tap.h"

static struct rmem_replica_info replicas0[] = {
	{ .donor = 0, .slab_id = 3, .generation = 7, .state = RMEM_SLAB_LIVE },
	{ .donor = 1, .slab_id = 0, .generation = 1, .state = RMEM_SLAB_FAILED },
};
static struct rmem_replica_info replicas1[] = {
	{ .donor = 1, .slab_id = 9, .generation = 2, .state = RMEM_SLAB_RECONNECTING },
};
static struct rmem_slab_info slabs[] = {
	{ .index = 0, .state = RMEM_SLAB_LIVE, .nr_replicas = 2, .replicas = replicas0 },
	{ .index = 1, .state = RMEM_SLAB_RECONNECTING, .nr_replicas = 1, .replicas = replicas1 },
	{ .index = 2, .state = 9, .nr_replicas = 0, .replicas = NULL },
};

static void fill(struct rmem_dev_info *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->name, "rmem0");
	d->have_size = d->have_slab_size = d->have_state = true;
	d->have_openers = d->have_slabs = d->have_client_id = true;
	d->size = 3ull << 30;
	d->slab_size = 64ull << 20;
	d->state = RMEM_DEV_DEGRADED;
	d->openers = 1;
	memset(d->client_id, 0xab, sizeof(d->client_id));
	d->nr_donors = 2;
	strcpy(d->donors[0].addr, "10.77.0.1");
	d->donors[0].port = 7470;
	d->donors[0].state = RMEM_DONOR_LIVE;
	d->donors[0].have_instance = true;
	d->donors[0].instance = 0xfedcba9876543210ull;
	d->donors[0].stats.have = 1u << RMEM_STAT_CTRL_MSGS |
				  1u << RMEM_STAT_READ_BYTES;
	d->donors[0].stats.val[RMEM_STAT_CTRL_MSGS] = 12;
	d->donors[0].stats.val[RMEM_STAT_READ_BYTES] = 1536;
	strcpy(d->donors[1].addr, "fe80::2");
	d->donors[1].port = 7471;
	d->donors[1].state = RMEM_DONOR_RECONNECTING;
	d->nr_slabs = 3;
	d->slabs = slabs;
	d->stats.have = 1u << RMEM_STAT_READS | 1u << RMEM_STAT_WRITES |
			1u << RMEM_STAT_READ_BYTES | 1u << RMEM_STAT_TIMEOUTS;
	d->stats.val[RMEM_STAT_READS] = 10;
	d->stats.val[RMEM_STAT_WRITES] = UINT64_MAX;	/* needs uint64 in JSON */
	d->stats.val[RMEM_STAT_READ_BYTES] = 40960;
	d->stats.val[RMEM_STAT_TIMEOUTS] = 0;
}

/* Print @nr devices to a string in the given mode */
static char *render(struct rmem_dev_info *devs, unsigned int nr, bool json,
		    bool verbose, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	out_init(f, json, false);
	out_begin();
	dev_list_print(devs, nr, verbose);
	*ret = out_end();
	fclose(f);
	return buf;
}

static json_object *get(json_object *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o && *path) {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s",
			 (int)(dot ? (size_t)(dot - path) : strlen(path)), path);
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(key));
		else if (!json_object_object_get_ex(o, key, &o))
			o = NULL;
		path = dot ? dot + 1 : "";
	}
	return o;
}

static void want_str(json_object *root, const char *path, const char *want)
{
	json_object *o = get(root, path);
	const char *got = o && json_object_is_type(o, json_type_string) ?
			  json_object_get_string(o) : NULL;

	if (!tap_ok(got && strcmp(got, want) == 0, "json %s = \"%s\"", path,
		    want))
		tap_diag("got %s", got ? got : "(missing or not a string)");
}

static void want_u64(json_object *root, const char *path, uint64_t want)
{
	json_object *o = get(root, path);
	uint64_t got = o && json_object_is_type(o, json_type_int) ?
		       json_object_get_uint64(o) : 0;

	if (!tap_ok(o && json_object_is_type(o, json_type_int) && got == want,
		    "json %s = %" PRIu64, path, want))
		tap_diag("got %s", o ? json_object_to_json_string(o) : "(missing)");
}

static void want_absent(json_object *root, const char *path)
{
	tap_ok(get(root, path) == NULL, "json %s absent", path);
}

static void want_text(const char *text, const char *needle)
{
	char shown[256];
	size_t i, j;

	/* a TAP description must stay on one line */
	for (i = j = 0; needle[i] && j + 3 < sizeof(shown); i++) {
		if (needle[i] == '\n') {
			shown[j++] = '\\';
			shown[j++] = 'n';
		} else {
			shown[j++] = needle[i];
		}
	}
	shown[j] = '\0';
	if (!tap_ok(text && strstr(text, needle), "text has \"%s\"", shown))
		tap_diag("text was:\n%s", text ? text : "(null)");
}

static void test_json(void)
{
	struct rmem_dev_info devs[2];
	json_object *root;
	char *s;
	int ret;

	fill(&devs[0]);
	fill(&devs[1]);
	strcpy(devs[1].name, "rmem1");
	devs[1].have_slabs = false;
	devs[1].nr_slabs = 0;
	devs[1].nr_donors = 1;
	devs[1].have_client_id = false;
	devs[1].stats.have = 0;

	s = render(devs, 2, true, true, &ret);
	tap_ok(ret == 0, "JSON status printed without error");
	tap_ok(s && strchr(s, '\n') == s + strlen(s) - 1,
	       "JSON status is one line");
	root = json_tokener_parse(s);
	if (!tap_ok(root != NULL, "JSON status parses"))
		tap_diag("output: %s", s);
	tap_ok(json_object_array_length(get(root, "devices")) == 2,
	       "two devices");
	want_str(root, "devices.0.name", "rmem0");
	want_str(root, "devices.0.path", "/dev/rmem0");
	want_str(root, "devices.0.state", "degraded");
	want_u64(root, "devices.0.size", 3ull << 30);
	want_u64(root, "devices.0.slab_size", 64ull << 20);
	want_u64(root, "devices.0.openers", 1);
	want_str(root, "devices.0.client_id", "abababababababababababababababab");
	want_u64(root, "devices.0.donors.0.index", 0);
	want_str(root, "devices.0.donors.0.addr", "10.77.0.1");
	want_u64(root, "devices.0.donors.0.port", 7470);
	want_str(root, "devices.0.donors.0.state", "live");
	want_str(root, "devices.0.donors.0.instance", "fedcba9876543210");
	want_u64(root, "devices.0.donors.0.stats.ctrl_msgs", 12);
	want_u64(root, "devices.0.donors.0.stats.read_bytes", 1536);
	want_absent(root, "devices.0.donors.0.stats.reads");
	want_str(root, "devices.0.donors.1.addr", "fe80::2");
	want_str(root, "devices.0.donors.1.state", "reconnecting");
	want_absent(root, "devices.0.donors.1.instance");
	want_u64(root, "devices.0.slab_summary.total", 3);
	want_u64(root, "devices.0.slab_summary.live", 1);
	want_u64(root, "devices.0.slab_summary.reconnecting", 1);
	want_u64(root, "devices.0.slab_summary.failed", 0);
	want_u64(root, "devices.0.slab_summary.unknown", 1);
	want_u64(root, "devices.0.slabs.0.index", 0);
	want_str(root, "devices.0.slabs.0.state", "live");
	want_u64(root, "devices.0.slabs.0.replicas.0.slab_id", 3);
	want_u64(root, "devices.0.slabs.0.replicas.0.generation", 7);
	want_u64(root, "devices.0.slabs.0.replicas.1.donor", 1);
	want_str(root, "devices.0.slabs.0.replicas.1.state", "failed");
	want_str(root, "devices.0.slabs.2.state", "unknown(9)");
	want_u64(root, "devices.0.stats.reads", 10);
	want_u64(root, "devices.0.stats.writes", UINT64_MAX);
	want_u64(root, "devices.0.stats.read_bytes", 40960);
	want_u64(root, "devices.0.stats.timeouts", 0);
	want_absent(root, "devices.0.stats.errors");
	want_str(root, "devices.1.name", "rmem1");
	want_absent(root, "devices.1.slab_summary");
	want_absent(root, "devices.1.slabs");
	want_absent(root, "devices.1.stats");
	want_absent(root, "devices.1.client_id");
	json_object_put(root);
	free(s);

	/* JSON lists slabs even without -v: scripts read their states */
	s = render(devs, 1, true, false, &ret);
	root = json_tokener_parse(s);
	want_u64(root, "devices.0.slab_summary.total", 3);
	want_str(root, "devices.0.slabs.1.state", "reconnecting");
	json_object_put(root);
	free(s);

	/* no devices: still an object with an empty array */
	s = render(devs, 0, true, false, &ret);
	if (!tap_ok(s && strcmp(s, "{\"devices\":[]}\n") == 0,
		    "no devices gives {\"devices\":[]}"))
		tap_diag("got %s", s);
	free(s);
}

static void test_text(void)
{
	struct rmem_dev_info dev;
	char *s;
	int ret;

	fill(&dev);
	s = render(&dev, 1, false, true, &ret);
	tap_ok(ret == 0, "text status printed without error");
	want_text(s, "rmem0: /dev/rmem0 state degraded size 3G slab-size 64M openers 1");
	want_text(s, "donor 0: 10.77.0.1:7470 state live instance fedcba9876543210");
	want_text(s, "\n        counters: read-bytes 1.5K ctrl-msgs 12\n");
	want_text(s, "donor 1: [fe80::2]:7471 state reconnecting");
	want_text(s, "slabs 3: live 1 reconnecting 1 failed 0 unknown 1");
	want_text(s, "slab 0: live  donor 0 (10.77.0.1:7470) slab-id 3 gen 7 live  donor 1 ([fe80::2]:7471) slab-id 0 gen 1 failed");
	want_text(s, "\n    counters: reads 10 writes 18446744073709551615 read-bytes 40K timeouts 0\n");
	tap_ok(s && !strchr(s, '{'), "text has no JSON");
	free(s);

	s = render(&dev, 1, false, false, &ret);
	tap_ok(s && !strstr(s, "slab 0:"), "text without -v lists no slabs");
	free(s);
}

static void test_event(void)
{
	struct rmem_event_info ev = {
		.dev = "rmem3", .event = RMEM_EVENT_DONOR_LOST,
		.have_donor = true, .donor = 2,
	};
	struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = 123456789 };
	json_object *root;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	setenv("TZ", "UTC", 1);
	out_init(f, false, false);
	event_print(&ev, &ts);
	fflush(f);
	if (!tap_ok(strcmp(buf, "2023-11-14T22:13:20.123+0000 rmem3 donor-lost donor 2\n") == 0,
		    "event text line"))
		tap_diag("got '%s'", buf);
	fclose(f);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	out_init(f, true, false);
	ev.event = RMEM_EVENT_SLAB_FAILED;
	ev.have_slab = true;
	ev.slab = 5;
	event_print(&ev, &ts);
	ev.dev[0] = '\0';
	ev.event = 77;
	ev.have_donor = ev.have_slab = false;
	event_print(&ev, &ts);
	fclose(f);
	root = json_tokener_parse(buf);
	want_str(root, "event", "slab-failed");
	want_str(root, "device", "rmem3");
	want_u64(root, "donor", 2);
	want_u64(root, "slab", 5);
	want_str(root, "time", "2023-11-14T22:13:20.123+0000");
	json_object_put(root);
	root = json_tokener_parse(strchr(buf, '\n') + 1);
	want_str(root, "event", "unknown(77)");
	want_absent(root, "device");
	json_object_put(root);
	free(buf);
}

int main(void)
{
	test_json();
	test_text();
	test_event();
	return tap_done();
}
