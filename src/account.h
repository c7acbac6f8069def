/* The account stage's decision, without libpam: the organization and role
 * rules on the claims of a login this module made, or, for a user who
 * signed in another way (an ssh key), what Clerk's Backend API says. */
#ifndef PAM_CLERK_ACCOUNT_H
#define PAM_CLERK_ACCOUNT_H

#include "conf.h"
#include "http.h"
#include "jwt.h"

#include <stdbool.h>
#include <stddef.h>

struct account_result {
	int pam_code;
	bool config_error; /* the secret key could not be read: why says so */
	bool unnamed;	   /* the user name makes no identifier: nothing to log */
	char why[300];	   /* for the log (raw: sanitise), "" when nothing to say */
};

/* For a login this module made in this handle: claims, when verified, must
 * satisfy the rules (a rule without a verified token refuses). */
void account_check_claims(const struct conf *cfg, bool verified, const struct jwt_claims *claims,
			  struct account_result *out);

/* For anyone else, with secret_key_file set: banned, locked, missing and
 * non-member users are refused; Clerk unreachable is PAM_AUTHINFO_UNAVAIL. */
void account_check_backend(const struct conf *cfg, struct http_conn *conn, const char *user,
			   struct account_result *out);

#endif
