// SPDX-License-Identifier: GPL-2.0
/* Parsing of sizes, donor addresses and device names; size formatting. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rmem/rmem_proto.h>

#include "args.h"

static const struct {
	char letter;
	unsigned int shift;
} size_units[] = {
	{ 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
};

int parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v = 0;
	unsigned int shift = 0;

	if (!s || !*s) {
		snprintf(err, errlen, "empty size");
		return -1;
	}
	if (!isdigit((unsigned char)*p)) {
		snprintf(err, errlen,
			 "invalid size '%s': expected a number with an optional K, M, G or T suffix",
			 s);
		return -1;
	}
	/* Digits by hand: strtoull accepts signs, spaces and hex we do not want */
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10) {
			snprintf(err, errlen, "size '%s' is too large", s);
			return -1;
		}
		v = v * 10 + d;
	}
	if (*p == '.' || *p == ',') {
		snprintf(err, errlen,
			 "invalid size '%s': fractions are not supported, use a smaller unit (e.g. 1536M for 1.5G)",
			 s);
		return -1;
	}
	if (*p) {
		size_t i;

		for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
			if (toupper((unsigned char)*p) == size_units[i].letter)
				break;
		if (i == sizeof(size_units) / sizeof(size_units[0])) {
			snprintf(err, errlen,
				 "invalid size '%s': unknown unit '%s' (use K, M, G or T, binary multiples)",
				 s, p);
			return -1;
		}
		shift = size_units[i].shift;
		p++;
		/* "KiB" spelled out is the same binary unit */
		if (*p && strcasecmp(p, "iB") != 0) {
			snprintf(err, errlen,
				 "invalid size '%s': unknown unit (use K, M, G or T, binary multiples)",
				 s);
			return -1;
		}
	}
	if (v == 0) {
		snprintf(err, errlen, "size must be greater than zero");
		return -1;
	}
	if (shift && v > (UINT64_MAX >> shift)) {
		snprintf(err, errlen, "size '%s' is too large", s);
		return -1;
	}
	*bytes = v << shift;
	return 0;
}

/* Decimal port 1..65535, nothing else */
static int parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v = 0;
	const char *p;

	if (!*s) {
		snprintf(err, errlen, "missing port after ':'");
		return -1;
	}
	for (p = s; *p; p++) {
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "invalid port '%s': not a number", s);
			return -1;
		}
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			break;
	}
	if (v == 0 || v > 65535) {
		snprintf(err, errlen, "invalid port '%s': must be 1 to 65535", s);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Validate @lit as an @af literal and store its canonical spelling */
static int canon_addr(int af, const char *lit, struct donor_addr *out)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(af, lit, bin) != 1)
		return -1;
	if (!inet_ntop(af, bin, out->addr, sizeof(out->addr)))
		return -1;
	return 0;
}

int parse_donor_addr(const char *s, struct donor_addr *out,
		     char *err, size_t errlen)
{
	char host[RMEM_ADDR_MAX];
	const char *port = NULL;
	const char *colon;
	size_t len;

	if (!s || !*s) {
		snprintf(err, errlen, "empty donor address");
		return -1;
	}
	out->port = RMEM_DEFAULT_PORT;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			snprintf(err, errlen,
				 "invalid donor address '%s': missing ']'", s);
			return -1;
		}
		len = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1]) {
			snprintf(err, errlen,
				 "invalid donor address '%s': expected ':PORT' after ']'",
				 s);
			return -1;
		}
		if (len >= sizeof(host))
			goto bad_v6;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (canon_addr(AF_INET6, host, out))
			goto bad_v6;
	} else if ((colon = strchr(s, ':')) && strchr(colon + 1, ':')) {
		/* Two colons and no brackets: only a whole IPv6 literal fits */
		if (strlen(s) >= sizeof(host) || canon_addr(AF_INET6, s, out)) {
			snprintf(err, errlen,
				 "invalid donor address '%s': not an IPv6 address (write [ADDR]:PORT to give a port)",
				 s);
			return -1;
		}
	} else {
		len = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			port = colon + 1;
		if (len >= sizeof(host) || len == 0)
			goto bad_v4;
		memcpy(host, s, len);
		host[len] = '\0';
		if (canon_addr(AF_INET, host, out))
			goto bad_v4;
	}
	if (port && parse_port(port, &out->port, err, errlen)) {
		/* Name the whole argument too: there may be several --donor */
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " in donor address '%s'", s);
		return -1;
	}
	return 0;

bad_v6:
	snprintf(err, errlen,
		 "invalid donor address '%s': not an IPv6 address literal", s);
	return -1;
bad_v4:
	snprintf(err, errlen,
		 "invalid donor address '%s': expected IPv4:PORT or [IPv6]:PORT (numeric addresses only)",
		 s);
	return -1;
}

int parse_dev_name(const char *s, char *name, size_t namelen,
		   char *err, size_t errlen)
{
	const char *p;
	size_t len;

	if (s && strncmp(s, "/dev/", 5) == 0)
		s += 5;
	if (!s || !*s) {
		snprintf(err, errlen, "empty device name");
		return -1;
	}
	len = strlen(s);
	if (len >= RMEM_NAME_MAX || len >= namelen) {
		snprintf(err, errlen,
			 "device name '%s' is too long (at most %d characters)",
			 s, RMEM_NAME_MAX - 1);
		return -1;
	}
	for (p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' &&
		    *p != '.') {
			snprintf(err, errlen,
				 "invalid device name '%s': use letters, digits, '.', '_' and '-'",
				 s);
			return -1;
		}
	}
	/* the name becomes a /dev entry: never a directory reference */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		snprintf(err, errlen, "invalid device name '%s'", s);
		return -1;
	}
	memcpy(name, s, len + 1);
	return 0;
}

int parse_u32(const char *s, uint32_t max, uint32_t *out, char *err,
	      size_t errlen)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s) {
		snprintf(err, errlen, "empty number");
		return -1;
	}
	for (p = s; *p; p++) {
		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "'%s' is not a number", s);
			return -1;
		}
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max) {
			snprintf(err, errlen, "%s is out of range (0 to %" PRIu32 ")",
				 s, max);
			return -1;
		}
	}
	*out = (uint32_t)v;
	return 0;
}

const char *format_endpoint(const char *addr, uint16_t port, char *buf,
			    size_t buflen)
{
	snprintf(buf, buflen, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr,
		 port);
	return buf;
}

const char *format_size(uint64_t bytes, char *buf, size_t buflen)
{
	static const char units[] = "KMGTPE";
	unsigned int i = 0;
	uint64_t unit = 1024;

	if (bytes < 1024) {
		snprintf(buf, buflen, "%" PRIu64 "B", bytes);
		return buf;
	}
	while (units[i + 1] && bytes / unit >= 1024) {
		unit <<= 10;
		i++;
	}
	if (bytes % unit == 0) {
		snprintf(buf, buflen, "%" PRIu64 "%c", bytes / unit, units[i]);
	} else {
		/* tenths, rounded down; rem < unit <= 2^60 so rem * 10 fits */
		uint64_t whole = bytes / unit;
		uint64_t tenth = (bytes % unit) * 10 / unit;

		snprintf(buf, buflen, "%" PRIu64 ".%" PRIu64 "%c",
			 whole, tenth, units[i]);
	}
	return buf;
}
