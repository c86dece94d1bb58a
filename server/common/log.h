/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging for the rmem daemons: one line per event, with a
 * timestamp and the level, to stderr and optionally to syslog.
 */
#ifndef RMEM_LOG_H
#define RMEM_LOG_H

#include <stdbool.h>

enum rmem_log_level {
	RMEM_LOG_DEBUG = 0,
	RMEM_LOG_INFO,
	RMEM_LOG_WARN,
	RMEM_LOG_ERROR,
};

/* "debug", "info", "warn"/"warning", "error"; 0 or -1 if unknown */
int rmem_log_parse_level(const char *name, enum rmem_log_level *out);
const char *rmem_log_level_name(enum rmem_log_level level);

/* ident names the program in syslog; messages below @level are dropped */
void rmem_log_init(const char *ident, enum rmem_log_level level,
		   bool use_syslog);
void rmem_log_set_level(enum rmem_log_level level);
bool rmem_log_enabled(enum rmem_log_level level);

void rmem_log(enum rmem_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...)	rmem_log(RMEM_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	rmem_log(RMEM_LOG_INFO, __VA_ARGS__)
#define log_warn(...)	rmem_log(RMEM_LOG_WARN, __VA_ARGS__)
#define log_error(...)	rmem_log(RMEM_LOG_ERROR, __VA_ARGS__)

#endif /* RMEM_LOG_H */
