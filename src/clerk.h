/* The Clerk Frontend API client: a password sign-in in native mode
 * (FAPI-NOTES sections 2-6), with the dev-browser handshake when a
 * development instance demands it. */
#ifndef PAM_CLERK_CLERK_H
#define PAM_CLERK_CLERK_H

#include "fapi_answer.h"
#include "http.h"
#include "outcome.h"

struct clerk_client {
	const char *fapi_url;	  /* https://host[:port] */
	const char *api_version;  /* Clerk-API-Version */
	struct http_options http; /* timeout_ms bounds the whole sign-in */
};

struct clerk_result {
	enum outcome outcome;
	long http_status; /* of the last answer, 0 if none */
	int requests;	  /* FAPI requests made */
	long retry_after; /* seconds from Retry-After, -1 if none */
	struct fapi_answer answer;
	char *client_token; /* secret: the last Authorization FAPI handed out */
	char detail[256];   /* why, for the administrator (raw: sanitise to log) */
};

/* Sign in with identifier + password. Fills r (clear it with
 * clerk_result_clear) and returns r->outcome. */
enum outcome clerk_sign_in_password(const struct clerk_client *c, const char *identifier,
				    const char *password, struct clerk_result *r);

void clerk_result_clear(struct clerk_result *r);

#endif
