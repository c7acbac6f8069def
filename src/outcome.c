#include "config.h"

#include "outcome.h"

#include <security/_pam_types.h>
#include <stddef.h>
#include <string.h>

/* THE table. README's return-code table mirrors it, and
 * tests/pam/test_docs.py keeps the two the same. */
static const struct outcome_info outcomes[OUTCOME_COUNT] = {
	[OUTCOME_SUCCESS] = { "success", PAM_SUCCESS, NULL },
	/* Wrong password and unknown identifier look the same: no enumeration. */
	[OUTCOME_BAD_CREDENTIALS] = { "bad_credentials", PAM_AUTH_ERR, NULL },
	[OUTCOME_EMPTY_PASSWORD] = { "empty_password", PAM_AUTH_ERR, NULL },
	[OUTCOME_PASSWORD_COMPROMISED] = { "password_compromised", PAM_AUTH_ERR,
					   "This password was found in a data breach; reset it in "
					   "Clerk." },
	[OUTCOME_LOCKED] = { "locked", PAM_MAXTRIES,
			     "Your Clerk account is locked after too many failed attempts." },
	[OUTCOME_BANNED] = { "banned", PAM_PERM_DENIED,
			     "Your Clerk account is not allowed to sign in." },
	[OUTCOME_RATE_LIMITED] = { "rate_limited", PAM_MAXTRIES,
				   "Too many sign-in attempts; wait a little and try again." },
	[OUTCOME_NEEDS_MORE_FACTORS] = { "needs_more_factors", PAM_CRED_INSUFFICIENT,
					 "Clerk asks for a step that needs a browser "
					 "(new password, bot check or single sign-on)." },
	[OUTCOME_CANNOT_PROMPT] = { "cannot_prompt", PAM_CRED_INSUFFICIENT,
				    "Clerk asks for a verification code, which this login "
				    "cannot prompt for." },
	[OUTCOME_TOO_MANY_CODES] = { "too_many_codes", PAM_MAXTRIES, "Too many wrong codes." },
	/* A pending session with a setup-mfa task (issue 12 item 1). */
	[OUTCOME_MFA_SETUP_REQUIRED] = { "mfa_setup_required", PAM_CRED_INSUFFICIENT,
					 "Clerk requires two-step verification: set up MFA (a "
					 "second factor) in the app first, then sign in again." },
	/* A token that does not verify is an attack or a misconfiguration. */
	[OUTCOME_JWT_INVALID] = { "jwt_invalid", PAM_AUTH_ERR, NULL },
	[OUTCOME_NOT_AUTHORIZED] = { "not_authorized", PAM_AUTH_ERR, NULL },
	/* Clerk unreachable; decided by the offline cache (offline_cache). */
	[OUTCOME_OFFLINE] = { "offline", PAM_SUCCESS,
			      "Clerk cannot be reached: signed in with the cached password." },
	[OUTCOME_OFFLINE_BAD_PASSWORD] = { "offline_bad_password", PAM_AUTH_ERR, NULL },
	[OUTCOME_OFFLINE_LOCKED] = { "offline_locked", PAM_MAXTRIES,
				     "Too many wrong passwords while Clerk cannot be reached." },
	/* A recent online success matched; Clerk not asked (cached_auth_timeout). */
	[OUTCOME_CACHED] = { "cached", PAM_SUCCESS, NULL },
	[OUTCOME_UNKNOWN_STATUS] = { "unknown_status", PAM_AUTH_ERR, NULL },
	[OUTCOME_SESSION_EXISTS] = { "session_exists", PAM_AUTH_ERR, NULL },
	[OUTCOME_REJECTED] = { "rejected", PAM_AUTH_ERR, NULL },
	[OUTCOME_MISCONFIGURED] = { "misconfigured", PAM_SERVICE_ERR, NULL },
	[OUTCOME_NETWORK_ERROR] = { "network_error", PAM_AUTHINFO_UNAVAIL, NULL },
	[OUTCOME_TIMEOUT] = { "timeout", PAM_AUTHINFO_UNAVAIL, NULL },
	[OUTCOME_TLS_ERROR] = { "tls_error", PAM_AUTHINFO_UNAVAIL, NULL },
	[OUTCOME_SERVER_ERROR] = { "server_error", PAM_AUTHINFO_UNAVAIL, NULL },
	[OUTCOME_BAD_RESPONSE] = { "bad_response", PAM_AUTHINFO_UNAVAIL, NULL },
	[OUTCOME_CONFIG_ERROR] = { "config_error", PAM_SERVICE_ERR, NULL },
	[OUTCOME_INTERNAL_ERROR] = { "internal_error", PAM_SYSTEM_ERR, NULL },
	/* Refused on this host without asking Clerk (issue 14). */
	[OUTCOME_TOO_MANY_FAILURES] = { "too_many_failures", PAM_MAXTRIES,
					"Too many failed sign-ins: refused on this host for now." },
};

const struct outcome_info *outcome_info(enum outcome o)
{
	if ((unsigned)o >= OUTCOME_COUNT)
		o = OUTCOME_INTERNAL_ERROR;
	return &outcomes[o];
}

/* Clerk error codes that mean something specific,
 * with what an administrator should change where the code says the
 * configuration (or a proxy) is wrong. */
static const struct {
	const char *code;
	enum outcome outcome;
	const char *admin_hint; /* NULL: nothing for an administrator to fix */
} error_codes[] = {
	{ "form_password_incorrect", OUTCOME_BAD_CREDENTIALS, NULL },
	{ "form_identifier_not_found", OUTCOME_BAD_CREDENTIALS, NULL },
	/* With enumeration protection on, both of the above come as this one. */
	{ "form_password_or_identifier_incorrect", OUTCOME_BAD_CREDENTIALS, NULL },
	/* An account without a password (social or passkey only): the same as a
	 * wrong password, so that no one learns which accounts have one. */
	{ "no_password_set", OUTCOME_BAD_CREDENTIALS, NULL },
	{ "form_password_validation_failed", OUTCOME_BAD_CREDENTIALS, NULL },
	{ "strategy_for_user_invalid", OUTCOME_BAD_CREDENTIALS, NULL },
	{ "account_lockout_warning", OUTCOME_BAD_CREDENTIALS, NULL },
	{ "form_code_incorrect", OUTCOME_BAD_CREDENTIALS, NULL },
	{ "verification_failed", OUTCOME_TOO_MANY_CODES, NULL },
	{ "form_password_pwned", OUTCOME_PASSWORD_COMPROMISED, NULL },
	{ "form_password_compromised", OUTCOME_PASSWORD_COMPROMISED, NULL },
	{ "password_reset_required", OUTCOME_PASSWORD_COMPROMISED, NULL },
	/* POST .../tokens refused to mint: no token we could verify. */
	{ "missing_expired_token", OUTCOME_JWT_INVALID, NULL },
	{ "user_locked", OUTCOME_LOCKED, NULL },
	{ "user_banned", OUTCOME_BANNED, NULL },
	{ "user_deactivated", OUTCOME_BANNED, NULL },
	{ "too_many_requests", OUTCOME_RATE_LIMITED, NULL },
	/* 401s for a client Clerk does not know: with a stored client the login
	 * starts again without it, once (fapi_sign_in.c); else a refusal. */
	{ "authentication_invalid", OUTCOME_REJECTED, NULL },
	{ "signed_out", OUTCOME_REJECTED, NULL },
	{ "session_exists", OUTCOME_SESSION_EXISTS, NULL },
	{ "identifier_already_signed_in", OUTCOME_SESSION_EXISTS, NULL },
	{ "native_api_disabled", OUTCOME_MISCONFIGURED,
	  "enable the Native API in the Clerk Dashboard (Configure > Native applications)" },
	{ "host_invalid", OUTCOME_MISCONFIGURED,
	  "publishable_key or frontend_api does not name a Clerk instance; copy the key from "
	  "the Dashboard" },
	{ "api_version_invalid", OUTCOME_MISCONFIGURED,
	  "set api_version to a version this Clerk instance supports" },
	/* Native clients never hold a dev browser (FAPI-NOTES section 11). */
	{ "dev_browser_unauthenticated", OUTCOME_MISCONFIGURED,
	  "the development instance asks for a dev browser, which native clients never "
	  "hold; check frontend_api names the instance's Frontend API" },
	{ "requires_device_attestation", OUTCOME_MISCONFIGURED,
	  "the instance requires device attestation (Native applications > Attestation), "
	  "which a PAM module cannot give; turn it off for this instance" },
	{ "origin_authorization_headers_conflict", OUTCOME_MISCONFIGURED,
	  "a proxy in front of Clerk adds an Origin header; remove it" },
	{ "request_header_missing", OUTCOME_MISCONFIGURED,
	  "a proxy in front of Clerk strips the Authorization header" },
	{ "authorization_header_format_invalid", OUTCOME_MISCONFIGURED,
	  "a proxy in front of Clerk alters the Authorization header" },
	{ "origin_invalid", OUTCOME_MISCONFIGURED,
	  "a proxy in front of Clerk adds an Origin header; remove it" },
	{ "origin_missing", OUTCOME_MISCONFIGURED,
	  "a proxy in front of Clerk strips the Authorization header" },
};

enum outcome outcome_from_error(const char *code, long http_status)
{
	if (http_status >= 500)
		return OUTCOME_SERVER_ERROR;
	if (http_status == 429)
		return OUTCOME_RATE_LIMITED;
	if (code != NULL)
		for (size_t i = 0; i < sizeof error_codes / sizeof error_codes[0]; i++)
			if (strcmp(code, error_codes[i].code) == 0)
				return error_codes[i].outcome;
	if (http_status >= 400 && http_status < 500)
		return OUTCOME_REJECTED;
	return OUTCOME_BAD_RESPONSE;
}

/* The sign-in statuses Clerk documents; all but "complete" need a step this
 * module does not take yet. Anything else is unknown: fail closed. */
static const char *const known_incomplete[] = {
	"needs_identifier",   "needs_first_factor", "needs_second_factor",
	"needs_client_trust", "needs_new_password", "needs_protect_check",
};

enum outcome outcome_from_sign_in_status(const char *status)
{
	if (status == NULL)
		return OUTCOME_BAD_RESPONSE;
	if (strcmp(status, "complete") == 0)
		return OUTCOME_SUCCESS;
	if (strcmp(status, "abandoned") == 0)
		return OUTCOME_REJECTED;
	for (size_t i = 0; i < sizeof known_incomplete / sizeof known_incomplete[0]; i++)
		if (strcmp(status, known_incomplete[i]) == 0)
			return OUTCOME_NEEDS_MORE_FACTORS;
	return OUTCOME_UNKNOWN_STATUS;
}

const char *outcome_admin_hint(const char *code)
{
	if (code != NULL)
		for (size_t i = 0; i < sizeof error_codes / sizeof error_codes[0]; i++)
			if (strcmp(code, error_codes[i].code) == 0)
				return error_codes[i].admin_hint;
	return NULL;
}

/* The one mapping of a transport failure to an outcome: every request of a
 * login (FAPI, the JWKS, the Backend API) goes through it. */
enum outcome outcome_from_transport(enum http_result h)
{
	switch (h) {
	case HTTP_OK: return OUTCOME_SUCCESS;
	case HTTP_ERR_CONNECT: return OUTCOME_NETWORK_ERROR;
	case HTTP_ERR_TIMEOUT: return OUTCOME_TIMEOUT;
	case HTTP_ERR_TLS: return OUTCOME_TLS_ERROR;
	case HTTP_ERR_TOO_BIG:
	case HTTP_ERR_PROTOCOL: return OUTCOME_BAD_RESPONSE;
	case HTTP_ERR_INTERNAL: break;
	}
	return OUTCOME_INTERNAL_ERROR;
}

const char *pam_code_name(int pam_code)
{
	switch (pam_code) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_MAXTRIES: return "PAM_MAXTRIES";
	case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
	case PAM_CRED_INSUFFICIENT: return "PAM_CRED_INSUFFICIENT";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
	case PAM_BUF_ERR: return "PAM_BUF_ERR";
	case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
	case PAM_CONV_ERR: return "PAM_CONV_ERR";
	case PAM_AUTHTOK_RECOVERY_ERR: return "PAM_AUTHTOK_RECOVERY_ERR";
	case PAM_AUTHTOK_ERR: return "PAM_AUTHTOK_ERR";
	case PAM_IGNORE: return "PAM_IGNORE";
	case PAM_ABORT: return "PAM_ABORT";
	case PAM_INCOMPLETE: return "PAM_INCOMPLETE";
	default: return "PAM_(other)";
	}
}
