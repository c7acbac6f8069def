/* The claims an offline record keeps (offline.c): the organization claims of
 * the verified session token of the sign-in that stored it, so that the
 * organization and role rules apply offline as they did online. On disk as
 * ",<org_id>,<org_slug>,<org_role>": visible ASCII, no commas inside. */
#ifndef PAM_CLERK_OFFLINE_CLAIMS_H
#define PAM_CLERK_OFFLINE_CLAIMS_H

#include "jwt.h"

#include <stdbool.h>
#include <stddef.h>

/* Whether s has that form (fields may be empty). */
bool offline_claims_valid(const char *s);

/* c's claims in that form into out; 0, or -1 (out empty) when a claim
 * cannot be kept that way. */
int offline_claims_format(char *out, size_t outsize, const struct jwt_claims *c);

/* The claims from a valid s (the rest of c zeroed). */
void offline_claims_parse(const char *s, struct jwt_claims *c);

#endif
