// SPDX-License-Identifier: MIT
/* rmem_parse_hostport() from server/common/addr.c (numeric inputs only). */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

static void good(const char *text, const char *expect)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char buf[128] = "";
	int rc = rmem_parse_hostport(text, 7470, &ss, &len);

	if (!rc)
		rmem_format_sockaddr((struct sockaddr *)&ss, buf, sizeof(buf));
	ok(rc == 0 && !strcmp(buf, expect), "\"%s\" -> %s (rc %d, got %s)",
	   text, expect, rc, buf);
}

static void bad(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = rmem_parse_hostport(text, 7470, &ss, &len);

	ok(rc == -EINVAL, "\"%s\" is refused with -EINVAL (rc %d)", text, rc);
}

int main(void)
{
	good("10.77.0.1:7470", "10.77.0.1:7470");
	good("10.77.0.1", "10.77.0.1:7470");
	good("0.0.0.0:1", "0.0.0.0:1");
	good("[::1]:9000", "[::1]:9000");
	good("[::]", "[::]:7470");
	good("[fd00::1]:65535", "[fd00::1]:65535");

	bad("");
	bad(":7470");
	bad("::1");
	bad("[::1");
	bad("[]:7470");
	bad("[::1]x");
	bad("[::1]:");
	bad("10.77.0.1:");
	bad("10.77.0.1:0");
	bad("10.77.0.1:65536");
	bad("10.77.0.1:-1");
	bad("10.77.0.1:74x");
	bad("[10.77.0.1]:7470");
	return tap_done("test_addr");
}
