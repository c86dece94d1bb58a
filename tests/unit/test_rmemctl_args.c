// SPDX-License-Identifier: GPL-2.0
/* rmemctl input parsing: sizes, donor addresses, device names, formatting */
#include <inttypes.h>
#include <string.h>

#include <rmem/rmem_proto.h>

#include "args.h"
#include "rmemctl_tap.h"

static void size_ok(const char *s, uint64_t want)
{
	char err[ARGS_ERR_MAX] = "";
	uint64_t v = 0;
	int ret = parse_size(s, &v, err, sizeof(err));

	if (!tap_ok(ret == 0 && v == want, "size '%s' = %" PRIu64, s, want))
		tap_diag("got ret %d value %" PRIu64 " err '%s'", ret, v, err);
}

/* rejected, and the message mentions @needle */
static void size_bad(const char *s, const char *needle)
{
	char err[ARGS_ERR_MAX] = "";
	uint64_t v = 12345;
	int ret = parse_size(s, &v, err, sizeof(err));

	if (!tap_ok(ret == -1 && v == 12345 && strstr(err, needle),
		    "size '%s' rejected (%s)", s ? s : "(null)", needle))
		tap_diag("got ret %d value %" PRIu64 " err '%s'", ret, v, err);
}

static void addr_ok(const char *s, const char *addr, uint16_t port)
{
	char err[ARGS_ERR_MAX] = "";
	struct donor_addr d = { .addr = "" };
	int ret = parse_donor_addr(s, &d, err, sizeof(err));

	if (!tap_ok(ret == 0 && strcmp(d.addr, addr) == 0 && d.port == port,
		    "address '%s' = %s port %u", s, addr, port))
		tap_diag("got ret %d '%s' %u err '%s'", ret, d.addr, d.port, err);
}

static void addr_bad(const char *s, const char *needle)
{
	char err[ARGS_ERR_MAX] = "";
	struct donor_addr d = { .addr = "" };
	int ret = parse_donor_addr(s, &d, err, sizeof(err));

	if (!tap_ok(ret == -1 && strstr(err, needle),
		    "address '%s' rejected (%s)", s, needle))
		tap_diag("got ret %d '%s' %u err '%s'", ret, d.addr, d.port, err);
}

static void name_case(const char *s, const char *want)
{
	char err[ARGS_ERR_MAX] = "", name[RMEM_NAME_MAX] = "";
	int ret = parse_dev_name(s, name, sizeof(name), err, sizeof(err));

	if (want) {
		if (!tap_ok(ret == 0 && strcmp(name, want) == 0,
			    "device name '%s' = %s", s, want))
			tap_diag("got ret %d '%s' err '%s'", ret, name, err);
	} else {
		if (!tap_ok(ret == -1 && err[0], "device name '%s' rejected", s))
			tap_diag("got ret %d '%s'", ret, name);
	}
}

static void fmt_case(uint64_t bytes, const char *want)
{
	char buf[32];

	format_size(bytes, buf, sizeof(buf));
	if (!tap_ok(strcmp(buf, want) == 0, "format %" PRIu64 " = %s",
		    bytes, want))
		tap_diag("got '%s'", buf);
}

static void u32_case(const char *s, uint32_t max, int want_ret,
		     uint32_t want, const char *needle)
{
	char err[ARGS_ERR_MAX] = "";
	uint32_t v = 77;
	int ret = parse_u32(s, max, &v, err, sizeof(err));

	if (!tap_ok(ret == want_ret &&
		    (ret ? v == 77 && strstr(err, needle) != NULL : v == want),
		    "u32 '%s' (max %" PRIu32 ") %s", s ? s : "(null)", max,
		    ret ? needle : "ok"))
		tap_diag("got ret %d value %" PRIu32 " err '%s'", ret, v, err);
}

static void test_u32_endpoint(void)
{
	char buf[ENDPOINT_MAX];

	u32_case("0", 2, 0, 0, NULL);
	u32_case("2", 2, 0, 2, NULL);
	u32_case("4294967295", UINT32_MAX, 0, UINT32_MAX, NULL);
	u32_case("3", 2, -1, 0, "3 is out of range (0 to 2)");
	u32_case("4294967296", UINT32_MAX, -1, 0, "out of range");
	u32_case("99999999999999999999999", UINT32_MAX, -1, 0, "out of range");
	u32_case("-1", 5, -1, 0, "not a number");
	u32_case("0x10", 100, -1, 0, "not a number");
	u32_case(" 1", 5, -1, 0, "not a number");
	u32_case("", 5, -1, 0, "empty");
	u32_case(NULL, 5, -1, 0, "empty");
	tap_ok(!strcmp(format_endpoint("10.0.0.1", 7470, buf, sizeof(buf)),
		       "10.0.0.1:7470"), "endpoint IPv4");
	tap_ok(!strcmp(format_endpoint("fe80::1", 9, buf, sizeof(buf)),
		       "[fe80::1]:9"), "endpoint IPv6 in brackets");
}

int main(void)
{
	char big[64];

	test_u32_endpoint();

	size_ok("4096", 4096);
	size_ok("1", 1);
	size_ok("1K", 1024);
	size_ok("64M", 64ull << 20);
	size_ok("64m", 64ull << 20);
	size_ok("1G", 1ull << 30);
	size_ok("2GiB", 2ull << 30);
	size_ok("3T", 3ull << 40);
	size_ok("16777215T", 16777215ull << 40);	/* largest that fits */
	size_ok("18446744073709551615", UINT64_MAX);
	size_bad("0", "greater than zero");
	size_bad("0G", "greater than zero");
	size_bad("1.5G", "fractions are not supported");
	size_bad("99999999T", "too large");
	size_bad("16777216T", "too large");
	size_bad("18446744073709551616", "too large");
	size_bad("", "empty");
	size_bad(NULL, "empty");
	size_bad("abc", "invalid size");
	size_bad("-1G", "invalid size");
	size_bad(" 1G", "invalid size");
	size_bad("+1G", "invalid size");
	size_bad("0x10", "unknown unit");
	size_bad("1GB", "unknown unit");
	size_bad("1P", "unknown unit");
	size_bad("1G ", "unknown unit");
	size_bad("12Q", "unknown unit");

	addr_ok("10.77.0.1:7470", "10.77.0.1", 7470);
	addr_ok("10.77.0.1:1", "10.77.0.1", 1);
	addr_ok("10.77.0.1:65535", "10.77.0.1", 65535);
	addr_ok("10.77.0.1", "10.77.0.1", RMEM_DEFAULT_PORT);
	addr_ok("[fe80::1]:9000", "fe80::1", 9000);
	addr_ok("[::1]", "::1", RMEM_DEFAULT_PORT);
	addr_ok("[2001:DB8:0:0::1]:7471", "2001:db8::1", 7471);
	addr_ok("2001:db8::2", "2001:db8::2", RMEM_DEFAULT_PORT);
	addr_bad("10.77.0.1:0", "must be 1 to 65535");
	addr_bad("10.77.0.1:70000", "must be 1 to 65535");
	addr_bad("10.77.0.1:99999999999999999999", "must be 1 to 65535");
	addr_bad("10.77.0.1:abc", "not a number");
	addr_bad("10.77.0.1:-1", "not a number");
	addr_bad("10.77.0.1:", "missing port");
	addr_bad("[::1]:0", "must be 1 to 65535");
	addr_bad("[::1]:", "missing port");
	addr_bad("[::1", "missing ']'");
	addr_bad("[::1]7470", "expected ':PORT'");
	addr_bad("[10.0.0.1]:7470", "not an IPv6");
	addr_bad("fe80::1:7470x", "not an IPv6");
	addr_bad("donor.example:7470", "numeric addresses only");
	addr_bad("10.77.0.256", "numeric addresses only");
	addr_bad("10.77.0", "numeric addresses only");
	addr_bad(":7470", "numeric addresses only");
	addr_bad("", "empty");
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	addr_bad(big, "numeric addresses only");

	name_case("rmem0", "rmem0");
	name_case("/dev/rmem12", "rmem12");
	name_case("swap_a-1", "swap_a-1");
	name_case("swap.0", "swap.0");
	name_case("..", NULL);
	name_case("/dev/.", NULL);
	name_case("", NULL);
	name_case("/dev/", NULL);
	name_case("rmem/0", NULL);
	name_case("../rmem0", NULL);
	name_case("rmem 0", NULL);
	name_case("r23456789012345678901234567890123", NULL);

	fmt_case(0, "0B");
	fmt_case(512, "512B");
	fmt_case(1024, "1K");
	fmt_case(1536, "1.5K");
	fmt_case(2047, "1.9K");
	fmt_case(128ull << 20, "128M");
	fmt_case(1536ull << 20, "1.5G");
	fmt_case(1ull << 40, "1T");
	fmt_case(UINT64_MAX, "15.9E");

	return tap_done();
}
