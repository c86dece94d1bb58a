// SPDX-License-Identifier: MIT
/*
 * Leveled logging: "2026-11-21T21:02:28.123Z INFO message" on stderr,
 * and the same message at the matching priority in syslog if asked.
 * The timestamp is UTC so that logs of several hosts line up.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static enum rmem_log_level log_level = RMEM_LOG_INFO;
static bool log_syslog;

static const char *const level_names[] = {
	[RMEM_LOG_DEBUG] = "debug",
	[RMEM_LOG_INFO] = "info",
	[RMEM_LOG_WARN] = "warn",
	[RMEM_LOG_ERROR] = "error",
};

static const int level_prio[] = {
	[RMEM_LOG_DEBUG] = LOG_DEBUG,
	[RMEM_LOG_INFO] = LOG_INFO,
	[RMEM_LOG_WARN] = LOG_WARNING,
	[RMEM_LOG_ERROR] = LOG_ERR,
};

int rmem_log_parse_level(const char *name, enum rmem_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum rmem_log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(name, "warning")) {
		*out = RMEM_LOG_WARN;
		return 0;
	}
	return -1;
}

const char *rmem_log_level_name(enum rmem_log_level level)
{
	if ((unsigned int)level > RMEM_LOG_ERROR)
		return "?";
	return level_names[level];
}

void rmem_log_init(const char *ident, enum rmem_log_level level,
		   bool use_syslog)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void rmem_log_set_level(enum rmem_log_level level)
{
	log_level = level;
}

bool rmem_log_enabled(enum rmem_log_level level)
{
	return level >= log_level;
}

void rmem_log(enum rmem_log_level level, const char *fmt, ...)
{
	/* Logging must not change errno: callers log and then report it. */
	int saved_errno = errno;
	char msg[1024];
	char stamp[40];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (!rmem_log_enabled(level))
		return;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000L,
		rmem_log_level_name(level), msg);

	if (log_syslog)
		syslog(level_prio[level], "%s", msg);
	errno = saved_errno;
}
