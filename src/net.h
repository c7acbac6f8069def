/* TCP with deadlines: a monotonic clock in ms, waiting on a socket, and
 * resolve-then-connect where a silent DNS server cannot hold the caller
 * past its deadline. */
#ifndef PAM_CLERK_NET_H
#define PAM_CLERK_NET_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>

long long net_now_ms(void);

/* Wait for events (POLLIN/POLLOUT) on fd until deadline (net_now_ms time).
 * 1 ready, 0 the deadline passed, -1 error. */
int net_wait(int fd, short events, long long deadline);

/* A non-blocking, close-on-exec TCP socket connected to host:port, tried
 * address by address. numeric: host is an IP literal (no resolver). On
 * failure err gets a short reason (no secret goes in). */
enum http_result net_connect(const char *host, const char *port, bool numeric, long long deadline,
			     int *fd, char *err, size_t errsize);

#endif
