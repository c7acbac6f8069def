/* Where the keys that verify session JWTs come from: a pinned key
 * (jwt_key), or the instance's JWKS, cached in state_dir and fetched again
 * when a token names a kid the cache does not know. */
#ifndef PAM_CLERK_JWKS_H
#define PAM_CLERK_JWKS_H

#include "http.h"
#include "jwt.h"

#include <stdbool.h>

#define JWKS_TTL 600 /* seconds a cached JWKS is trusted without asking */

struct jwks_source {
	const char *fapi_url;
	struct http_conn *conn;
	long timeout_ms;       /* for the fetch: what is left of the login's budget */
	const char *state_dir; /* NULL: no cache */
	const char *pinned;    /* jwt_key, or NULL */
};

/* Load keys: cached unless refresh (or expired/missing), else fetched.
 * *fetched counts requests made. Returns an outcome-like code: 0 ok,
 * otherwise an http_result (why the fetch failed) or -1 for a bad JWKS. */
int jwks_load(const struct jwks_source *src, bool refresh, struct jwt_keys *keys, int *fetched,
	      char *err, size_t errsize);

/* Verify a session JWT with keys from src, refreshing the JWKS once when
 * the token's kid is unknown. Returns 0 when it verified; an http_result
 * (> 0) when the keys could not be had; -1 when the token is bad. */
int jwks_verify(const struct jwks_source *src, const char *jwt, const char *sid, const char *sub,
		struct jwt_claims *claims, int *requests, char *err, size_t errsize);

#endif
