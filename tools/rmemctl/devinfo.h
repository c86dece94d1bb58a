/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the driver reports about one device (a DEV_GET reply), decoded
 * from netlink into plain C so that printing and tests need no socket.
 */
#ifndef RMEMCTL_DEVINFO_H
#define RMEMCTL_DEVINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include <rmem/rmem_netlink.h>
#include <rmem/rmem_proto.h>

/* A counter set: @have bit N set when RMEM_STAT_N was sent */
struct rmem_stats {
	uint32_t have;
	uint64_t val[RMEM_STAT_MAX + 1];
};

struct rmem_replica_info {
	uint32_t donor;			/* index into rmem_dev_info.donors */
	uint32_t slab_id;
	uint32_t generation;
	uint8_t state;			/* enum rmem_replica_state, 0 if unsent */
	bool have_stale_pages;
	uint32_t stale_pages;		/* 4 KiB pages it lacks */
};

struct rmem_slab_info {
	uint32_t index;
	uint8_t state;			/* enum rmem_slab_state */
	unsigned int nr_replicas;
	struct rmem_replica_info *replicas;
};

struct rmem_donor_info {
	char addr[RMEM_ADDR_MAX];
	uint16_t port;
	uint8_t state;			/* enum rmem_donor_state, 0 if unsent */
	bool have_instance;
	uint64_t instance;
	struct rmem_stats stats;
};

struct rmem_dev_info {
	char name[RMEM_NAME_MAX];
	bool have_size, have_slab_size, have_state, have_openers;
	bool have_client_id, have_slabs, have_replicas, have_resync_left;
	uint64_t size;
	uint64_t slab_size;
	uint8_t state;			/* enum rmem_dev_state */
	uint32_t openers;
	uint32_t replicas;		/* replicas per slab */
	uint64_t resync_left;		/* bytes still to copy, device-wide */
	uint8_t client_id[RMEM_CLIENT_ID_LEN];
	unsigned int nr_donors;
	struct rmem_donor_info donors[RMEM_MAX_DONORS];
	unsigned int nr_slabs;
	struct rmem_slab_info *slabs;
	/* every slab's replicas, one array; slabs[i].replicas point into it */
	struct rmem_replica_info *replica_pool;
	bool borrowed;			/* slabs and pool belong to a store */
	struct rmem_stats stats;
};

/*
 * Room for the slabs and replicas of one parsed device, reused from one
 * parse to the next and grown only when a device needs more: the agent
 * scans every few seconds and should not allocate each time.
 */
struct dev_info_store {
	struct rmem_slab_info *slabs;
	unsigned int slab_cap;
	struct rmem_replica_info *replicas;
	unsigned int replica_cap;
};

/*
 * dev_info_parse - decode one generic netlink DEV_GET / DEV_ADD reply.
 * Fills @info (which the caller later passes to dev_info_free()).
 * Returns 0, -ENOMEM, or -EPROTO with @err saying what was malformed.
 */
int dev_info_parse(struct nlmsghdr *nlh, struct rmem_dev_info *info,
		   char *err, size_t errlen);
void dev_info_free(struct rmem_dev_info *info);

/*
 * dev_info_parse_store - the same, with the slabs and replicas placed in
 * @store (grown with realloc when too small).  @info is valid until the
 * next parse into @store; dev_info_free() on it is harmless.
 */
int dev_info_parse_store(struct nlmsghdr *nlh, struct rmem_dev_info *info,
			 struct dev_info_store *store, char *err, size_t errlen);
void dev_info_store_free(struct dev_info_store *store);

/* STALE_PAGES counts pages of this size (slab_size / 4096 per slab) */
#define RMEM_STALE_PAGE_SIZE	4096

/* Pages of 4 KiB in one slab of @info (0 if the slab size is unknown) */
uint64_t dev_info_slab_pages(const struct rmem_dev_info *info);

/*
 * Slab count per enum rmem_slab_state (index 0: unknown states), and how
 * far the replicas that are not in sync (stale, resyncing) have come:
 * @behind replicas lacking @stale_pages of their @behind_pages.
 */
struct slab_summary {
	unsigned int total;
	unsigned int by_state[RMEM_SLAB_RESYNCING + 1];
	unsigned int behind;
	uint64_t stale_pages;
	uint64_t behind_pages;
};
void dev_info_slab_summary(const struct rmem_dev_info *info,
			   struct slab_summary *sum);

/*
 * dev_info_print - one device through print.h: the text block of
 * `rmemctl status` or one element of the JSON "devices" array.
 * Text lists every slab and its replicas only with @verbose; JSON always
 * does (scripts read slab states).
 */
void dev_info_print(const struct rmem_dev_info *info, bool verbose);

/* The "devices" array (JSON) or the device blocks, blank-line separated */
void dev_list_print(const struct rmem_dev_info *devs, unsigned int nr,
		    bool verbose);

#endif /* RMEMCTL_DEVINFO_H */
