/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP producer for host-side unit tests: "ok N - name" or
 * "not ok N - name", the plan "1..N" at the end, then a summary line
 * "NAME: P passed, F failed".  tap_done() returns the exit status.
 */
#ifndef RMEM_TAP_H
#define RMEM_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3)))
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

#define ok(cond, ...)	tap_ok(!!(cond), __VA_ARGS__)

/* A diagnostic line, shown by TAP consumers but not counted. */
#define diag(...)	do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

static inline int tap_done(const char *name)
{
	printf("1..%d\n", tap_count);
	printf("%s: %d passed, %d failed\n", name, tap_count - tap_failed,
	       tap_failed);
	return tap_failed ? 1 : 0;
}

#endif /* RMEM_TAP_H */
