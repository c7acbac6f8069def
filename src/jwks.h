/* Where the keys that verify session JWTs come from: a pinned key
 * (jwt_key), or the instance's JWKS, cached in the process's memory and in
 * state_dir, and fetched again when a token names a kid the cache does not
 * know. */
#ifndef PAM_CLERK_JWKS_H
#define PAM_CLERK_JWKS_H

#include "budget.h"
#include "http.h"
#include "jwt.h"
#include "outcome.h"

#include <stdbool.h>
#include <time.h>

#define JWKS_TTL 600 /* seconds a cached JWKS is trusted without asking */

struct jwks_source {
	const char *fapi_url;
	struct http_conn *conn;
	struct budget *budget; /* the login's: a fetch spends what is left */
	const char *state_dir; /* NULL: no cache */
	const char *pinned;    /* jwt_key, or NULL */
	const char *issuer;    /* the JWTs' iss; NULL: fapi_url (issue 12 item 5) */
};

/* Verify a session JWT at time now with keys from src, refreshing the JWKS
 * once when the token's kid is unknown. *requests counts fetches. Returns
 * OUTCOME_SUCCESS; OUTCOME_JWT_INVALID for a token that does not verify (an
 * attack or a wrong key); OUTCOME_CONFIG_ERROR for an unusable jwt_key; a
 * transport outcome, or OUTCOME_BAD_RESPONSE for a JWKS that is not one,
 * when the keys could not be had. err says why. */
enum outcome jwks_verify(const struct jwks_source *src, const char *jwt, const char *sid,
			 const char *sub, time_t now, struct jwt_claims *claims, int *requests,
			 char *err, size_t errsize);

/* Forget the process's copies (tests; a fetch refills them). */
void jwks_cache_clear(void);

#endif
