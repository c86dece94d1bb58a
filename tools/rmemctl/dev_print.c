// SPDX-License-Identifier: GPL-2.0
/*
 * struct rmem_dev_info -> print.h: the per-device block of `rmemctl
 * status` in text, or one object of the "devices" array in JSON.  Sizes
 * are human-readable in text and exact bytes in JSON (out_size()).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "devinfo.h"
#include "names.h"
#include "print.h"

/* IPv6 literals get brackets before ":port", as the user typed them */
static bool is_v6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* Counters in UAPI order; byte counters are sizes */
static void print_stats(const char *key, const struct rmem_stats *st)
{
	unsigned int i;

	out_obj_begin(key);
	for (i = RMEM_STAT_READS; i <= RMEM_STAT_MAX; i++) {
		char fmt[48];

		if (!(st->have & (1u << i)) || !stat_key(i))
			continue;
		if (i == RMEM_STAT_READ_BYTES || i == RMEM_STAT_WRITE_BYTES) {
			snprintf(fmt, sizeof(fmt), " %s %%s", stat_label(i));
			out_size(stat_key(i), fmt, st->val[i]);
		} else {
			snprintf(fmt, sizeof(fmt), " %s %%" PRIu64,
				 stat_label(i));
			out_u64(stat_key(i), fmt, st->val[i]);
		}
	}
	out_obj_end();
}

static void print_donor(const struct rmem_donor_info *d, unsigned int idx)
{
	char buf[NAME_BUF_MAX];
	char inst[20];

	out_obj_begin(NULL);
	out_u64("index", "    donor %" PRIu64 ":", idx);
	out_str("addr", is_v6(d->addr) ? " [%s]" : " %s", d->addr);
	out_u64("port", ":%" PRIu64, d->port);
	if (d->state)
		out_str("state", " state %s", donor_state_name(d->state, buf));
	if (d->have_instance) {
		/* an id, not a quantity: hex, and a string so JSON keeps 64 bits */
		snprintf(inst, sizeof(inst), "%016" PRIx64, d->instance);
		out_str("instance", " instance %s", inst);
	}
	if (d->stats.have) {
		out_text("\n        counters:");
		print_stats("stats", &d->stats);
	}
	out_text("\n");
	out_obj_end();
}

/* "ADDR:PORT", "[ADDR]:PORT" for IPv6, or "?" for an index out of range */
static const char *donor_endpoint(const struct rmem_dev_info *info,
				  uint32_t idx, char *buf, size_t len)
{
	const struct rmem_donor_info *d;

	if (idx >= info->nr_donors) {
		snprintf(buf, len, "?");
		return buf;
	}
	d = &info->donors[idx];
	return format_endpoint(d->addr, d->port, buf, len);
}

static void print_replica(const struct rmem_dev_info *info,
			  const struct rmem_replica_info *r, unsigned int slot)
{
	uint64_t pages = dev_info_slab_pages(info);
	char buf[NAME_BUF_MAX], ep[ENDPOINT_MAX];

	out_obj_begin(NULL);
	out_text("        replica %u:", slot);
	/* "donor" stays the index into "donors": scripts follow it there */
	out_u64("donor", " donor %" PRIu64, r->donor);
	donor_endpoint(info, r->donor, ep, sizeof(ep));
	out_str("donor_addr", " (%s)", ep);
	out_u64("slab_id", " slab-id %" PRIu64, r->slab_id);
	out_u64("generation", " gen %" PRIu64, r->generation);
	if (r->state)
		out_str("state", " %s", replica_state_name(r->state, buf));
	if (r->have_stale_pages) {
		bool behind = r->state == RMEM_REPLICA_STALE ||
			      r->state == RMEM_REPLICA_RESYNCING;

		/* text shows it when it says something: JSON always */
		out_u64("stale_pages", behind || r->stale_pages ?
			" stale-pages %" PRIu64 : NULL, r->stale_pages);
		/* progress only means something while it is being caught up */
		if (behind && pages && r->stale_pages <= pages)
			out_text(" (%" PRIu64 "%% synced)",
				 100 * (pages - r->stale_pages) / pages);
	}
	out_text("\n");
	out_obj_end();
}

static void print_slab(const struct rmem_dev_info *info,
		       const struct rmem_slab_info *s)
{
	char buf[NAME_BUF_MAX];
	unsigned int i;

	out_obj_begin(NULL);
	out_u64("index", "      slab %" PRIu64 ":", s->index);
	out_str("state", " %s\n", slab_state_name(s->state, buf));
	out_arr_begin("replicas");
	for (i = 0; i < s->nr_replicas; i++)
		print_replica(info, &s->replicas[i], i);
	out_arr_end();
	out_obj_end();
}

/*
 * " behind 2 (37% synced, 96M left)": replicas not in sync yet and how
 * far they have come.  In JSON "resync_left" is the device-wide byte
 * count (the driver's RESYNC_LEFT when it sends one).
 */
static void print_resync(const struct rmem_dev_info *info,
			 const struct slab_summary *sum)
{
	uint64_t left, pct;

	if (!sum->behind)
		return;
	pct = 100 * (sum->behind_pages - sum->stale_pages) / sum->behind_pages;
	/* the driver's own count when it sends one, else from stale pages */
	left = info->have_resync_left ? info->resync_left :
	       sum->stale_pages * RMEM_STALE_PAGE_SIZE;
	out_u64("behind", " behind %" PRIu64, sum->behind);
	out_u64("resync_percent", " (%" PRIu64 "%% synced", pct);
	out_size("resync_left", ", %s left)", left);
}

static void print_slab_summary(const struct rmem_dev_info *info)
{
	struct slab_summary sum;
	unsigned int st;
	char buf[NAME_BUF_MAX];

	dev_info_slab_summary(info, &sum);
	out_obj_begin("slab_summary");
	out_u64("total", "    slabs %" PRIu64 ":", sum.total);
	/* enum order: "live N reconnecting N failed N" stays a prefix */
	for (st = RMEM_SLAB_LIVE; st <= RMEM_SLAB_RESYNCING; st++) {
		char fmt[40];
		const char *name = slab_state_name(st, buf);

		snprintf(fmt, sizeof(fmt), " %s %%" PRIu64, name);
		out_u64(name, fmt, sum.by_state[st]);
	}
	if (sum.by_state[0])
		out_u64("unknown", " unknown %" PRIu64, sum.by_state[0]);
	print_resync(info, &sum);
	out_text("\n");
	out_obj_end();
}

void dev_info_print(const struct rmem_dev_info *info, bool verbose)
{
	char buf[NAME_BUF_MAX];
	char path[RMEM_NAME_MAX + 8];
	unsigned int i;

	snprintf(path, sizeof(path), "/dev/%s", info->name);
	out_obj_begin(NULL);
	out_str("name", "%s:", info->name);
	out_str("path", " %s", path);
	if (info->have_state)
		out_str("state", " state %s", dev_state_name(info->state, buf));
	if (info->have_size)
		out_size("size", " size %s", info->size);
	if (info->have_slab_size)
		out_size("slab_size", " slab-size %s", info->slab_size);
	if (info->have_openers)
		out_u64("openers", " openers %" PRIu64, info->openers);
	if (info->have_replicas)
		out_u64("replicas", " replicas %" PRIu64, info->replicas);
	if (info->have_client_id) {
		char hex[2 * RMEM_CLIENT_ID_LEN + 1];

		for (i = 0; i < RMEM_CLIENT_ID_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", info->client_id[i]);
		out_str("client_id", " client-id %s", hex);
	}
	out_text("\n");

	out_arr_begin("donors");
	for (i = 0; i < info->nr_donors; i++)
		print_donor(&info->donors[i], i);
	out_arr_end();

	if (info->have_slabs) {
		print_slab_summary(info);
		/* scripts get every slab; people ask for them with -v */
		if (verbose || out_is_json()) {
			out_arr_begin("slabs");
			for (i = 0; i < info->nr_slabs; i++)
				print_slab(info, &info->slabs[i]);
			out_arr_end();
		}
	}
	if (info->stats.have) {
		out_text("    counters:");
		print_stats("stats", &info->stats);
		out_text("\n");
	}
	out_obj_end();
}

void dev_list_print(const struct rmem_dev_info *devs, unsigned int nr,
		    bool verbose)
{
	unsigned int i;

	out_arr_begin("devices");
	for (i = 0; i < nr; i++) {
		if (i)
			out_text("\n");
		dev_info_print(&devs[i], verbose);
	}
	out_arr_end();
}
