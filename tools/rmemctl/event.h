/* SPDX-License-Identifier: GPL-2.0 */
/* One RMEM_CMD_EVENT multicast message, decoded and printed. */
#ifndef RMEMCTL_EVENT_H
#define RMEMCTL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <linux/netlink.h>

#include <rmem/rmem_netlink.h>

struct rmem_event_info {
	char dev[RMEM_NAME_MAX];	/* "" if the event named no device */
	uint8_t event;			/* enum rmem_event */
	bool have_donor, have_slab, have_replica;
	uint32_t donor;
	uint32_t slab;
	uint32_t replica;		/* replica slot in the slab */
};

/* Returns 0, or -EPROTO with @err explaining */
int event_parse(struct nlmsghdr *nlh, struct rmem_event_info *ev,
		char *err, size_t errlen);

/*
 * One record: "TIME DEVICE EVENT [donor N] [slab N] [replica N]" or a JSON object,
 * flushed at once.  Returns -1 if it could not be written.
 */
int event_print(const struct rmem_event_info *ev, const struct timespec *ts);

#endif /* RMEMCTL_EVENT_H */
