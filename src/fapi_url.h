/* Where the Clerk Frontend API is: from a publishable key or a URL. */
#ifndef PAM_CLERK_FAPI_URL_H
#define PAM_CLERK_FAPI_URL_H

#include <stddef.h>

/* Decode pk_test_/pk_live_ + base64("<host>$") into "https://<host>"
 * (the host is the instance's Frontend API). Returns 0, or -1 with a reason in err. */
int fapi_url_from_key(const char *key, char *url, size_t urlsize, char *err, size_t errsize);

/* Check "https://host[:port][/path][/]" (host: a DNS name, one label
 * included, IPv4 or [IPv6]; path: a proxy's prefix such as /__clerk; no
 * query or credentials) and copy it to url without a trailing slash.
 * Returns 0, or -1 with a reason. */
int fapi_url_normalize(const char *in, char *url, size_t urlsize, char *err, size_t errsize);

/* The iss every session JWT must carry (issue 12 item 5): issuer when set;
 * else the host publishable_key names (behind a proxy, frontend_api is the
 * proxy, not Clerk's host); else frontend_api. Returns 0, or -1. */
int fapi_issuer(const char *issuer, const char *publishable_key, const char *frontend_api,
		char *out, size_t outsize);

#endif
