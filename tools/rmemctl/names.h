/* SPDX-License-Identifier: GPL-2.0 */
/* Names for the enums of the rmem netlink UAPI, as rmemctl prints them. */
#ifndef RMEMCTL_NAMES_H
#define RMEMCTL_NAMES_H

#include <stddef.h>

/*
 * Each returns a static name, or "unknown(N)" written into @buf for
 * values a newer driver may send; @buf needs NAME_BUF_MAX bytes.
 */
#define NAME_BUF_MAX	24

const char *dev_state_name(unsigned int v, char *buf);
const char *donor_state_name(unsigned int v, char *buf);
const char *slab_state_name(unsigned int v, char *buf);
const char *replica_state_name(unsigned int v, char *buf);
const char *event_name(unsigned int v, char *buf);

/* JSON key and text label of RMEM_STAT_* @stat, NULL if not a counter */
const char *stat_key(unsigned int stat);
const char *stat_label(unsigned int stat);

#endif /* RMEMCTL_NAMES_H */
