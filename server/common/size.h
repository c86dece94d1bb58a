/* SPDX-License-Identifier: MIT */
/*
 * Byte sizes on command lines and in config files: "4096", "64K", "256M",
 * "1G", "2T".  Suffixes are binary (K = 1024) and case-insensitive; a
 * trailing "B" or "iB" is accepted ("64MiB", "1GB" both mean 2^n bytes).
 */
#ifndef RMEM_SIZE_H
#define RMEM_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* 0 on success; -EINVAL for malformed text, -ERANGE if over 2^64-1 */
int parse_size(const char *text, uint64_t *out);

/* "1 GiB", "64 MiB", "1536 KiB", "123 B": the largest exact unit */
void format_size(uint64_t bytes, char *buf, size_t len);

#endif /* RMEM_SIZE_H */
