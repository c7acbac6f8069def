/* Every way a sign-in can end, and the one table that turns each into a
 * PAM return code, a log name and what the user is told. */
#ifndef PAM_CLERK_OUTCOME_H
#define PAM_CLERK_OUTCOME_H

#include "http.h"

enum outcome {
	OUTCOME_SUCCESS,
	OUTCOME_BAD_CREDENTIALS,
	OUTCOME_EMPTY_PASSWORD,
	OUTCOME_PASSWORD_COMPROMISED,
	OUTCOME_LOCKED,
	OUTCOME_BANNED,
	OUTCOME_RATE_LIMITED,
	OUTCOME_NEEDS_MORE_FACTORS,
	OUTCOME_CANNOT_PROMPT,
	OUTCOME_TOO_MANY_CODES,
	OUTCOME_MFA_SETUP_REQUIRED,
	OUTCOME_JWT_INVALID,
	OUTCOME_NOT_AUTHORIZED,
	OUTCOME_OFFLINE,
	OUTCOME_OFFLINE_BAD_PASSWORD,
	OUTCOME_OFFLINE_LOCKED,
	OUTCOME_CACHED, /* a recent online success matched (cached_auth_timeout) */
	OUTCOME_UNKNOWN_STATUS,
	OUTCOME_SESSION_EXISTS,
	OUTCOME_REJECTED,
	OUTCOME_MISCONFIGURED,
	OUTCOME_NETWORK_ERROR,
	OUTCOME_TIMEOUT,
	OUTCOME_TLS_ERROR,
	OUTCOME_SERVER_ERROR,
	OUTCOME_BAD_RESPONSE,
	OUTCOME_CONFIG_ERROR,
	OUTCOME_INTERNAL_ERROR,
	OUTCOME_TOO_MANY_FAILURES, /* the local failure budget (issue 14) */
	OUTCOME_COUNT
};

struct outcome_info {
	const char *name;	  /* outcome=NAME in the log */
	int pam_code;		  /* what pam_sm_authenticate returns */
	const char *user_message; /* shown to the user, or NULL for none */
};

const struct outcome_info *outcome_info(enum outcome o);

/* The outcome of a Clerk error answer: its first error code and HTTP status. */
enum outcome outcome_from_error(const char *code, long http_status);

/* The outcome of a sign-in answered with 200 and this status. */
enum outcome outcome_from_sign_in_status(const char *status);

/* What an administrator should change after a misconfiguration error code,
 * or NULL (from the same table as outcome_from_error). */
const char *outcome_admin_hint(const char *code);

/* The outcome of a request that got no HTTP answer (HTTP_OK: SUCCESS). */
enum outcome outcome_from_transport(enum http_result h);

/* "PAM_AUTH_ERR" and so on, for the log. */
const char *pam_code_name(int pam_code);

#endif
