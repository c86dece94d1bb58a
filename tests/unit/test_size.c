// SPDX-License-Identifier: MIT
/* parse_size() and format_size() from server/common/size.c */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "size.h"
#include "tap.h"

static void good(const char *text, uint64_t expect)
{
	uint64_t v = 12345;
	int rc = parse_size(text, &v);

	ok(rc == 0 && v == expect, "parse_size(\"%s\") == %llu (rc %d, got %llu)",
	   text, (unsigned long long)expect, rc, (unsigned long long)v);
}

static void bad(const char *text, int expect_rc)
{
	uint64_t v = 12345;
	int rc = parse_size(text, &v);

	ok(rc == expect_rc && v == 12345,
	   "parse_size(\"%s\") fails with %d and leaves the output alone (rc %d)",
	   text, expect_rc, rc);
}

static void fmt(uint64_t bytes, const char *expect)
{
	char buf[64];

	format_size(bytes, buf, sizeof(buf));
	ok(!strcmp(buf, expect), "format_size(%llu) == \"%s\" (got \"%s\")",
	   (unsigned long long)bytes, expect, buf);
}

int main(void)
{
	good("0", 0);
	good("4096", 4096);
	good("4096B", 4096);
	good("1K", 1024);
	good("1k", 1024);
	good("64M", 64ULL << 20);
	good("256MiB", 256ULL << 20);
	good("1G", 1ULL << 30);
	good("1gb", 1ULL << 30);
	good("3T", 3ULL << 40);
	good("16777215T", 16777215ULL << 40);
	good("18446744073709551615", UINT64_MAX);

	bad("", -EINVAL);
	bad("G", -EINVAL);
	bad("-1G", -EINVAL);
	bad(" 1G", -EINVAL);
	bad("1G ", -EINVAL);
	bad("1.5G", -EINVAL);
	bad("1X", -EINVAL);
	bad("1GG", -EINVAL);
	bad("1Gi", -EINVAL);
	bad("0x10", -EINVAL);
	bad("1P", -EINVAL);
	bad("16777216T", -ERANGE);
	bad("18446744073709551616", -ERANGE);
	bad("99999999999999999999999", -ERANGE);

	fmt(0, "0 B");
	fmt(123, "123 B");
	fmt(1536, "1536 B");
	fmt(1ULL << 30, "1 GiB");
	fmt(64ULL << 20, "64 MiB");
	fmt(1536ULL << 10, "1536 KiB");
	return tap_done("test_size");
}
