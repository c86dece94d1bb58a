// SPDX-License-Identifier: MIT
/* registrar_base_url() from server/donor/registrar.c (no network). */
#include <errno.h>
#include <string.h>

#include "registrar.h"
#include "tap.h"

static void good(const char *in, const char *expect)
{
	char out[128] = "";
	int rc = registrar_base_url(in, out, sizeof(out));

	ok(rc == 0 && !strcmp(out, expect), "\"%s\" -> \"%s\" (rc %d, got \"%s\")",
	   in, expect, rc, out);
}

static void bad(const char *in)
{
	char out[128];

	ok(registrar_base_url(in, out, sizeof(out)) == -EINVAL, "\"%s\" refused", in);
}

int main(void)
{
	char small[16];

	good("127.0.0.1:7480", "http://127.0.0.1:7480");
	good("http://127.0.0.1:7480", "http://127.0.0.1:7480");
	good("http://127.0.0.1:7480/", "http://127.0.0.1:7480");
	good("https://ctl.example:443/rmem//", "https://ctl.example:443/rmem");
	good("[::1]:7480", "http://[::1]:7480");
	bad("");
	bad("ftp://127.0.0.1");
	bad("http://");
	bad("http:///");
	bad("http://a b:80");
	ok(registrar_base_url("http://127.0.0.1:7480", small, sizeof(small)) == -EINVAL,
	   "a URL longer than the buffer is refused");
	return tap_done("test_donor_registrar");
}
