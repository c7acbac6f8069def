/* The Clerk Backend API, read-only: in the account stage, what Clerk says
 * of a user who logged in another way (an ssh key) and so never passed
 * through pam_clerk's sign-in. Needs the instance's secret key. */
#ifndef PAM_CLERK_BAPI_H
#define PAM_CLERK_BAPI_H

#include "http.h"

#include <stddef.h>

struct bapi_user {
	char id[128];
	int banned;
	int locked;
	int in_org;	   /* member of the organization asked about */
	char org_role[64]; /* without "org:" */
};

enum bapi_result {
	BAPI_FOUND,
	BAPI_NOT_FOUND,
	BAPI_UNAVAILABLE, /* network, TLS, 5xx, 429: could not ask */
	BAPI_REFUSED,	  /* 401/403: the secret key is wrong */
	BAPI_BAD,	  /* an answer that is not the Backend API's */
};

/* Find identifier (email, +phone or username) and, when org is not NULL,
 * its membership there (org id or slug). */
enum bapi_result bapi_lookup(const char *base_url, struct http_conn *conn, long timeout_ms,
			     const char *secret_key, const char *identifier, const char *org,
			     struct bapi_user *u, char *err, size_t errsize);

/* Read the secret key from a root-only file (wipe with secret_free). */
char *bapi_read_secret(const char *path, char *err, size_t errsize);

#endif
