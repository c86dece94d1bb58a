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
#include "names.h"
#include "print.h"
#include "rmemctl_tap.h"

/* 64M slabs: 16384 pages; 4096 stale is 75% synced */
static struct rmem_replica_info replicas0[] = {
	{ .donor = 0, .slab_id = 3, .generation = 7, .state = RMEM_REPLICA_IN_SYNC,
	  .have_stale_pages = true, .stale_pages = 0 },
	{ .donor = 1, .slab_id = 0, .generation = 1, .state = RMEM_REPLICA_STALE,
	  .have_stale_pages = true, .stale_pages = 4096 },
};
static struct rmem_replica_info replicas1[] = {
	{ .donor = 1, .slab_id = 9, .generation = 2, .state = RMEM_REPLICA_RECONNECTING },
	{ .donor = 7, .slab_id = 1, .generation = 3, .state = 99 },
};
static struct rmem_replica_info replicas3[] = {
	{ .donor = 0, .slab_id = 4, .generation = 5, .state = RMEM_REPLICA_IN_SYNC },
	{ .donor = 1, .slab_id = 5, .generation = 6, .state = RMEM_REPLICA_LOST },
};
static struct rmem_slab_info slabs[] = {
	{ .index = 0, .state = RMEM_SLAB_DEGRADED, .nr_replicas = 2, .replicas = replicas0 },
	{ .index = 1, .state = RMEM_SLAB_RECONNECTING, .nr_replicas = 2, .replicas = replicas1 },
	{ .index = 2, .state = 9, .nr_replicas = 0, .replicas = NULL },
	{ .index = 3, .state = RMEM_SLAB_LIVE, .nr_replicas = 2, .replicas = replicas3 },
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
	d->nr_slabs = 4;
	d->slabs = slabs;
	d->have_replicas = true;
	d->replicas = 2;
	d->have_resync_left = true;
	d->resync_left = 256ull << 20;
	d->stats.have = 1u << RMEM_STAT_READS | 1u << RMEM_STAT_WRITES |
			1u << RMEM_STAT_READ_BYTES | 1u << RMEM_STAT_TIMEOUTS |
			1u << RMEM_STAT_PARKED | 1u << RMEM_STAT_DEGRADED_WRITES |
			1u << RMEM_STAT_RESYNC_BYTES;
	d->stats.val[RMEM_STAT_PARKED] = 4;
	d->stats.val[RMEM_STAT_DEGRADED_WRITES] = 5;
	d->stats.val[RMEM_STAT_RESYNC_BYTES] = 6;
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
	want_u64(root, "devices.0.replicas", 2);
	want_u64(root, "devices.0.slab_summary.total", 4);
	want_u64(root, "devices.0.slab_summary.live", 1);
	want_u64(root, "devices.0.slab_summary.reconnecting", 1);
	want_u64(root, "devices.0.slab_summary.failed", 0);
	want_u64(root, "devices.0.slab_summary.degraded", 1);
	want_u64(root, "devices.0.slab_summary.resyncing", 0);
	want_u64(root, "devices.0.slab_summary.unknown", 1);
	want_u64(root, "devices.0.slab_summary.behind", 1);
	want_u64(root, "devices.0.slab_summary.resync_percent", 75);
	want_u64(root, "devices.0.slab_summary.resync_left", 256ull << 20);
	want_u64(root, "devices.0.slabs.0.index", 0);
	want_str(root, "devices.0.slabs.0.state", "degraded");
	want_u64(root, "devices.0.slabs.0.replicas.0.slab_id", 3);
	want_u64(root, "devices.0.slabs.0.replicas.0.generation", 7);
	want_str(root, "devices.0.slabs.0.replicas.0.state", "in-sync");
	want_str(root, "devices.0.slabs.0.replicas.0.donor_addr", "10.77.0.1:7470");
	want_u64(root, "devices.0.slabs.0.replicas.0.stale_pages", 0);
	want_absent(root, "devices.0.slabs.3.replicas.0.stale_pages");
	want_u64(root, "devices.0.slabs.0.replicas.1.donor", 1);
	want_str(root, "devices.0.slabs.0.replicas.1.donor_addr", "[fe80::2]:7471");
	want_str(root, "devices.0.slabs.0.replicas.1.state", "stale");
	want_u64(root, "devices.0.slabs.0.replicas.1.stale_pages", 4096);
	want_str(root, "devices.0.slabs.1.replicas.0.state", "reconnecting");
	want_str(root, "devices.0.slabs.1.replicas.1.state", "unknown(99)");
	want_str(root, "devices.0.slabs.1.replicas.1.donor_addr", "?");
	want_str(root, "devices.0.slabs.2.state", "unknown(9)");
	want_str(root, "devices.0.slabs.3.state", "live");
	want_str(root, "devices.0.slabs.3.replicas.1.state", "lost");
	want_u64(root, "devices.0.stats.parked", 4);
	want_u64(root, "devices.0.stats.degraded_writes", 5);
	want_u64(root, "devices.0.stats.resync_bytes", 6);
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
	want_u64(root, "devices.0.slab_summary.total", 4);
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
	want_text(s, "rmem0: /dev/rmem0 state degraded size 3G slab-size 64M openers 1 replicas 2 client-id");
	want_text(s, "donor 0: 10.77.0.1:7470 state live instance fedcba9876543210");
	want_text(s, "\n        counters: read-bytes 1.5K ctrl-msgs 12\n");
	want_text(s, "donor 1: [fe80::2]:7471 state reconnecting");
	want_text(s, "slabs 4: live 1 reconnecting 1 failed 0 degraded 1 resyncing 0 unknown 1 behind 1 (75% synced, 256M left)\n");
	want_text(s, "\n      slab 0: degraded\n"
		  "        replica 0: donor 0 (10.77.0.1:7470) slab-id 3 gen 7 in-sync\n"
		  "        replica 1: donor 1 ([fe80::2]:7471) slab-id 0 gen 1 stale stale-pages 4096 (75% synced)\n"
		  "      slab 1: reconnecting\n"
		  "        replica 0: donor 1 ([fe80::2]:7471) slab-id 9 gen 2 reconnecting\n"
		  "        replica 1: donor 7 (?) slab-id 1 gen 3 unknown(99)\n");
	want_text(s, "replica 1: donor 1 ([fe80::2]:7471) slab-id 5 gen 6 lost\n");
	want_text(s, "\n    counters: reads 10 writes 18446744073709551615 read-bytes 40K timeouts 0 parked 4 degraded-writes 5 resync-bytes 6\n");
	tap_ok(s && !strchr(s, '{'), "text has no JSON");
	free(s);

	s = render(&dev, 1, false, false, &ret);
	tap_ok(s && !strstr(s, "slab 0:"), "text without -v lists no slabs");
	free(s);
}

/* The replica events name donor, slab and replica slot, in that order */
static void test_replica_events(const struct timespec *ts)
{
	static const struct {
		uint8_t event;
		const char *name;
	} evs[] = {
		{ RMEM_EVENT_REPLICA_LOST, "replica-lost" },
		{ RMEM_EVENT_REPLICA_STALE, "replica-stale" },
		{ RMEM_EVENT_RESYNC_STARTED, "resync-started" },
		{ RMEM_EVENT_RESYNC_DONE, "resync-done" },
		{ RMEM_EVENT_REPLICA_REPLACED, "replica-replaced" },
	};
	struct rmem_event_info ev = {
		.dev = "rmem1", .have_donor = true, .donor = 2,
		.have_slab = true, .slab = 3, .have_replica = true, .replica = 1,
	};
	char want[160];
	json_object *root;
	char *buf;
	size_t i, len;
	FILE *f;

	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		buf = NULL;
		f = open_memstream(&buf, &len);
		out_init(f, false, false);
		ev.event = evs[i].event;
		event_print(&ev, ts);
		fclose(f);
		snprintf(want, sizeof(want), "rmem1 %s donor 2 slab 3 replica 1\n",
			 evs[i].name);
		if (!tap_ok(buf && strstr(buf, want), "event line: %s", evs[i].name))
			tap_diag("got '%s'", buf);
		free(buf);
	}
	buf = NULL;
	f = open_memstream(&buf, &len);
	out_init(f, true, false);
	ev.event = RMEM_EVENT_RESYNC_DONE;
	event_print(&ev, ts);
	fclose(f);
	if (!tap_ok(buf && strstr(buf, "\"event\":\"resync-done\",\"donor\":2,\"slab\":3,\"replica\":1"),
		    "JSON event keys in order: event, donor, slab, replica"))
		tap_diag("got '%s'", buf);
	root = json_tokener_parse(buf);
	want_u64(root, "replica", 1);
	json_object_put(root);
	free(buf);
}

/* Every value of each enum has a name; unknown ones print as numbers */
static void test_names(void)
{
	char buf[NAME_BUF_MAX];

	tap_ok(!strcmp(replica_state_name(RMEM_REPLICA_IN_SYNC, buf), "in-sync") &&
	       !strcmp(replica_state_name(RMEM_REPLICA_RECONNECTING, buf), "reconnecting") &&
	       !strcmp(replica_state_name(RMEM_REPLICA_LOST, buf), "lost") &&
	       !strcmp(replica_state_name(RMEM_REPLICA_STALE, buf), "stale") &&
	       !strcmp(replica_state_name(RMEM_REPLICA_RESYNCING, buf), "resyncing"),
	       "replica state names");
	tap_ok(!strcmp(slab_state_name(RMEM_SLAB_LIVE, buf), "live") &&
	       !strcmp(slab_state_name(RMEM_SLAB_RECONNECTING, buf), "reconnecting") &&
	       !strcmp(slab_state_name(RMEM_SLAB_FAILED, buf), "failed") &&
	       !strcmp(slab_state_name(RMEM_SLAB_DEGRADED, buf), "degraded") &&
	       !strcmp(slab_state_name(RMEM_SLAB_RESYNCING, buf), "resyncing"),
	       "slab state names");
	tap_ok(!strcmp(replica_state_name(0, buf), "unknown(0)") &&
	       !strcmp(replica_state_name(255, buf), "unknown(255)"),
	       "unknown replica states print as numbers");
	tap_ok(!strcmp(slab_state_name(6, buf), "unknown(6)"),
	       "unknown slab state prints as a number");
	tap_ok(!strcmp(event_name(RMEM_EVENT_REPLICA_REPLACED + 1, buf), "unknown(11)"),
	       "unknown event prints as a number");
	tap_ok(!strcmp(stat_key(RMEM_STAT_RESYNC_BYTES), "resync_bytes") &&
	       !strcmp(stat_label(RMEM_STAT_DEGRADED_WRITES), "degraded-writes") &&
	       stat_key(RMEM_STAT_MAX + 1) == NULL,
	       "new counter names");
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
	want_absent(root, "replica");
	want_str(root, "time", "2023-11-14T22:13:20.123+0000");
	json_object_put(root);
	root = json_tokener_parse(strchr(buf, '\n') + 1);
	want_str(root, "event", "unknown(77)");
	want_absent(root, "device");
	json_object_put(root);
	free(buf);
	test_replica_events(&ts);
}

int main(void)
{
	test_json();
	test_text();
	test_event();
	test_names();
	return tap_done();
}
