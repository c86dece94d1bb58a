/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP producer for rmemctl's host-side unit tests: "ok N - ..."
 * or "not ok N - ...", a plan at the end, and exit status 1 if any test
 * failed.
 */
#ifndef RMEMCTL_TAP_H
#define RMEMCTL_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3)))
static int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	return cond;
}

/* "# ..." diagnostic, shown by TAP harnesses next to a failure */
__attribute__((format(printf, 1, 2)))
static void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* RMEMCTL_TAP_H */
