/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing of operator input (sizes, donor addresses, device names) and
 * formatting of sizes for humans.  Pure functions, no netlink: everything
 * here is checked before rmemctl talks to the kernel, so that malformed
 * input is a usage error (exit 2) that never reaches the driver.
 */
#ifndef RMEMCTL_ARGS_H
#define RMEMCTL_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include <rmem/rmem_netlink.h>

/* Room for an error explanation filled in by the parsers */
#define ARGS_ERR_MAX	384

/* A donor endpoint as the driver wants it: address literal + port */
struct donor_addr {
	char addr[RMEM_ADDR_MAX];	/* canonical IPv4 or IPv6 literal */
	uint16_t port;
};

/*
 * parse_size - "4096", "64M", "1G", "2TiB" -> bytes (binary multiples).
 * Rejects zero, fractions, negative numbers, unknown suffixes, overflow.
 * Returns 0 or -1 with @err explaining why.
 */
int parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);

/*
 * parse_donor_addr - "10.0.0.1", "10.0.0.1:7470", "[fe80::1]:7470",
 * "[::1]" or a bare IPv6 literal "::1" (no port: a bare IPv6 literal
 * cannot carry one unambiguously).  A missing port means
 * RMEM_DEFAULT_PORT.  Host names are rejected: the driver takes literals.
 */
int parse_donor_addr(const char *s, struct donor_addr *out,
		     char *err, size_t errlen);

/*
 * parse_dev_name - "rmem0" or "/dev/rmem0" -> "rmem0".  Accepts what the
 * driver can name a disk: 1..RMEM_NAME_MAX-1 characters of [A-Za-z0-9._-], not "." or "..".
 */
int parse_dev_name(const char *s, char *name, size_t namelen,
		   char *err, size_t errlen);

/*
 * parse_u32 - a decimal number 0..@max, digits only (no sign, no hex).
 * 0, or -1 with @err explaining why.
 */
int parse_u32(const char *s, uint32_t max, uint32_t *out, char *err,
	      size_t errlen);

/*
 * format_endpoint - "10.0.0.1:7470", or "[fe80::1]:7470" for IPv6, as the
 * operator writes a donor.  Returns @buf.
 */
#define ENDPOINT_MAX	(RMEM_ADDR_MAX + 8)
const char *format_endpoint(const char *addr, uint16_t port, char *buf,
			    size_t buflen);

/*
 * format_size - bytes -> "128M", "1.5G", "512B" for tables.  Exact
 * multiples print without a fraction; others get one decimal, rounded
 * down so that a size is never overstated.
 */
const char *format_size(uint64_t bytes, char *buf, size_t buflen);

#endif /* RMEMCTL_ARGS_H */
