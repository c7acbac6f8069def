/* Who may log in once Clerk has said who they are: organization membership
 * and roles, judged on verified JWT claims only. */
#ifndef PAM_CLERK_AUTHZ_H
#define PAM_CLERK_AUTHZ_H

#include "conf.h"
#include "jwt.h"

#include <stddef.h>

/* Whether cfg asks for any organization or role rule at all. */
int authz_has_rules(const struct conf *cfg);

/* 0 when the claims satisfy require_organization and allowed_roles;
 * -1 with the reason (no secrets in it) otherwise. */
int authz_check(const struct conf *cfg, const struct jwt_claims *claims, char *why, size_t n);

#endif
