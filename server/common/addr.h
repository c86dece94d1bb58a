/* SPDX-License-Identifier: MIT */
/*
 * "HOST:PORT" endpoints as typed by people: "10.77.0.1:7470",
 * "[fe80::1%fab0]:7470", "[::1]", "10.77.0.1" (default port), "host:7470".
 * An IPv6 literal needs brackets when a port follows.
 */
#ifndef RMEM_ADDR_H
#define RMEM_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Resolve @text into @ss.  0 on success; -EINVAL for bad syntax or port,
 * -ENOENT if the host does not resolve.  Host names resolve through
 * getaddrinfo (numeric literals never leave the process).
 */
int rmem_parse_hostport(const char *text, uint16_t default_port,
			struct sockaddr_storage *ss, socklen_t *sslen);

/* "10.77.0.1:7470" / "[::1]:7470" */
void rmem_format_sockaddr(const struct sockaddr *sa, char *buf, size_t len);

#endif /* RMEM_ADDR_H */
