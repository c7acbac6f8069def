/* The proxy= setting: "http://[user:password@]host[:port][/]", checked
 * before it is handed to libcurl, which tunnels through it with CONNECT.
 * The configuration uses it to refuse anything else, and to tell whether
 * the value carries a password (which then belongs in a root-only file). */
#ifndef PAM_CLERK_PROXY_URL_H
#define PAM_CLERK_PROXY_URL_H

#include "buf.h"

#include <stdbool.h>

#define HTTP_HOST_MAX 256

struct http_target {
	char host[HTTP_HOST_MAX]; /* without IPv6 brackets */
	char port[6];
	const char *path; /* into the URL: "", or from its '/' or '?' on */
	bool ip;	  /* host is an IPv4 or IPv6 literal */
};

/* Split "<scheme>host[:port][/path]" (scheme like "http://", matched
 * without case). No user info, no fragment. 0, or -1 when malformed. */
int http_target_parse(const char *url, const char *scheme, const char *default_port,
		      struct http_target *t);

/* A proxy setting "http://[user:password@]host[:port][/]" (port 1080 by
 * default, as libcurl's): its target into t, and with credentials the
 * Proxy-Authorization value "Basic <base64 of the %XX-decoded
 * user:password>" into auth (a buf that gets wiped by the caller). 0, or
 * -1 when malformed. */
int http_proxy_parse(const char *proxy, struct http_target *t, struct buf *auth);

#endif
