/* Unit tests for outcome.c: the outcome -> PAM code table (contract
 * section 2) and the mappings from Clerk answers to outcomes. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "outcome.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The contract's table, written out independently of outcome.c. */
static const struct {
	enum outcome o;
	const char *name;
	int pam_code;
	const char *pam_name;
} expected[] = {
	{ OUTCOME_SUCCESS, "success", PAM_SUCCESS, "PAM_SUCCESS" },
	{ OUTCOME_BAD_CREDENTIALS, "bad_credentials", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_EMPTY_PASSWORD, "empty_password", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_PASSWORD_COMPROMISED, "password_compromised", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_LOCKED, "locked", PAM_MAXTRIES, "PAM_MAXTRIES" },
	{ OUTCOME_BANNED, "banned", PAM_PERM_DENIED, "PAM_PERM_DENIED" },
	{ OUTCOME_RATE_LIMITED, "rate_limited", PAM_MAXTRIES, "PAM_MAXTRIES" },
	{ OUTCOME_NEEDS_MORE_FACTORS, "needs_more_factors", PAM_CRED_INSUFFICIENT,
	  "PAM_CRED_INSUFFICIENT" },
	{ OUTCOME_CANNOT_PROMPT, "cannot_prompt", PAM_CRED_INSUFFICIENT, "PAM_CRED_INSUFFICIENT" },
	{ OUTCOME_TOO_MANY_CODES, "too_many_codes", PAM_MAXTRIES, "PAM_MAXTRIES" },
	{ OUTCOME_MFA_SETUP_REQUIRED, "mfa_setup_required", PAM_CRED_INSUFFICIENT,
	  "PAM_CRED_INSUFFICIENT" },
	{ OUTCOME_JWT_INVALID, "jwt_invalid", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_NOT_AUTHORIZED, "not_authorized", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_OFFLINE, "offline", PAM_SUCCESS, "PAM_SUCCESS" },
	{ OUTCOME_OFFLINE_BAD_PASSWORD, "offline_bad_password", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_OFFLINE_LOCKED, "offline_locked", PAM_MAXTRIES, "PAM_MAXTRIES" },
	{ OUTCOME_CACHED, "cached", PAM_SUCCESS, "PAM_SUCCESS" },
	{ OUTCOME_UNKNOWN_STATUS, "unknown_status", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_SESSION_EXISTS, "session_exists", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_REJECTED, "rejected", PAM_AUTH_ERR, "PAM_AUTH_ERR" },
	{ OUTCOME_MISCONFIGURED, "misconfigured", PAM_SERVICE_ERR, "PAM_SERVICE_ERR" },
	{ OUTCOME_NETWORK_ERROR, "network_error", PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL" },
	{ OUTCOME_TIMEOUT, "timeout", PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL" },
	{ OUTCOME_TLS_ERROR, "tls_error", PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL" },
	{ OUTCOME_SERVER_ERROR, "server_error", PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL" },
	{ OUTCOME_BAD_RESPONSE, "bad_response", PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL" },
	{ OUTCOME_CONFIG_ERROR, "config_error", PAM_SERVICE_ERR, "PAM_SERVICE_ERR" },
	{ OUTCOME_INTERNAL_ERROR, "internal_error", PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR" },
	{ OUTCOME_TOO_MANY_FAILURES, "too_many_failures", PAM_MAXTRIES, "PAM_MAXTRIES" },
};

/* Every error code outcome.c names, with the HTTP status of the catalogue
 * and the outcome it must give. */
static const struct {
	const char *code;
	long http;
	enum outcome o;
} codes[] = {
	{ "form_password_incorrect", 422, OUTCOME_BAD_CREDENTIALS },
	{ "form_identifier_not_found", 422, OUTCOME_BAD_CREDENTIALS },
	{ "strategy_for_user_invalid", 400, OUTCOME_BAD_CREDENTIALS },
	{ "account_lockout_warning", 422, OUTCOME_BAD_CREDENTIALS },
	{ "form_password_pwned", 422, OUTCOME_PASSWORD_COMPROMISED },
	{ "form_password_compromised", 422, OUTCOME_PASSWORD_COMPROMISED },
	{ "user_locked", 403, OUTCOME_LOCKED },
	{ "user_banned", 403, OUTCOME_BANNED },
	{ "user_deactivated", 403, OUTCOME_BANNED },
	{ "too_many_requests", 429, OUTCOME_RATE_LIMITED },
	{ "session_exists", 400, OUTCOME_SESSION_EXISTS },
	{ "identifier_already_signed_in", 400, OUTCOME_SESSION_EXISTS },
	{ "native_api_disabled", 400, OUTCOME_MISCONFIGURED },
	{ "host_invalid", 400, OUTCOME_MISCONFIGURED },
	{ "api_version_invalid", 400, OUTCOME_MISCONFIGURED },
	{ "dev_browser_unauthenticated", 401, OUTCOME_MISCONFIGURED },
	{ "origin_authorization_headers_conflict", 400, OUTCOME_MISCONFIGURED },
	{ "request_header_missing", 400, OUTCOME_MISCONFIGURED },
	{ "authorization_header_format_invalid", 401, OUTCOME_MISCONFIGURED },
	{ "origin_invalid", 400, OUTCOME_MISCONFIGURED },
	{ "origin_missing", 400, OUTCOME_MISCONFIGURED },
	{ "form_code_incorrect", 422, OUTCOME_BAD_CREDENTIALS },
	{ "verification_failed", 400, OUTCOME_TOO_MANY_CODES },
	/* issue 12 item 6 */
	{ "form_password_or_identifier_incorrect", 422, OUTCOME_BAD_CREDENTIALS },
	{ "no_password_set", 422, OUTCOME_BAD_CREDENTIALS },
	{ "form_password_validation_failed", 422, OUTCOME_BAD_CREDENTIALS },
	{ "password_reset_required", 422, OUTCOME_PASSWORD_COMPROMISED },
	{ "requires_device_attestation", 400, OUTCOME_MISCONFIGURED },
	{ "missing_expired_token", 422, OUTCOME_JWT_INVALID },
	{ "authentication_invalid", 401, OUTCOME_REJECTED },
	{ "signed_out", 401, OUTCOME_REJECTED },
};

/* Codes from the catalogue that have no special meaning here. */
static const char *const other_codes[] = {
	"form_param_missing",
	"form_param_unknown",
	"form_param_format_invalid",
	"form_param_nil",
	"requires_captcha",
	"captcha_invalid",
	"captcha_missing_token",
	"requires_protect_check",
	"action_blocked",
	"device_blocked",
	"resource_not_found",
	"invalid_action_for_session",
	"action_for_session_not_authorized",
	"verification_expired",
	"resource_locked",
	"verification_code_too_many_requests",
	"(invalid)",
	"",
	"some_future_code",
	"FORM_PASSWORD_INCORRECT",
	"user_locked ",
	" user_locked",
};

static bool printable_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

/* --- the table ----------------------------------------------------------- */

static void test_table_complete(void **state)
{
	(void)state;
	assert_int_equal(N(expected), OUTCOME_COUNT);
	for (size_t i = 0; i < N(expected); i++) {
		const struct outcome_info *info = outcome_info(expected[i].o);
		assert_non_null(info);
		assert_non_null(info->name);
		assert_string_equal(info->name, expected[i].name);
		if (info->pam_code != expected[i].pam_code)
			print_error("%s: %s, expected %s\n", info->name,
				    pam_code_name(info->pam_code), expected[i].pam_name);
		assert_int_equal(info->pam_code, expected[i].pam_code);
		assert_string_equal(pam_code_name(info->pam_code), expected[i].pam_name);
	}
}

static void test_table_fail_closed(void **state)
{
	(void)state;
	for (int o = 0; o < OUTCOME_COUNT; o++) {
		const struct outcome_info *info = outcome_info((enum outcome)o);
		/* The only three ways in: Clerk said complete, or (opt-in, offline_cache)
		 * Clerk was unreachable and the cached password matched, or (opt-in,
		 * cached_auth_timeout) a recent online success matched. */
		if (o == OUTCOME_SUCCESS || o == OUTCOME_OFFLINE || o == OUTCOME_CACHED) {
			assert_int_equal(info->pam_code, PAM_SUCCESS);
			continue;
		}
		if (info->pam_code == PAM_SUCCESS || info->pam_code == PAM_IGNORE)
			print_error("outcome %s would let a login through or fall through\n",
				    info->name);
		assert_int_not_equal(info->pam_code, PAM_SUCCESS);
		assert_int_not_equal(info->pam_code, PAM_IGNORE);
		/* Every code the module returns has a name in the log. */
		assert_string_not_equal(pam_code_name(info->pam_code), "PAM_(other)");
	}
}

static void test_table_names_unique(void **state)
{
	(void)state;
	for (int a = 0; a < OUTCOME_COUNT; a++) {
		const char *na = outcome_info((enum outcome)a)->name;
		assert_true(na[0] != '\0');
		/* outcome=NAME in the log: lower-case words and underscores. */
		for (const char *p = na; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
		for (int b = a + 1; b < OUTCOME_COUNT; b++)
			assert_string_not_equal(na, outcome_info((enum outcome)b)->name);
	}
}

static void test_table_out_of_range(void **state)
{
	(void)state;
	const struct outcome_info *internal = outcome_info(OUTCOME_INTERNAL_ERROR);
	assert_ptr_equal(outcome_info(OUTCOME_COUNT), internal);
	assert_ptr_equal(outcome_info((enum outcome)(OUTCOME_COUNT + 100)), internal);
	assert_ptr_equal(outcome_info((enum outcome)(-1)), internal);
	assert_int_not_equal(internal->pam_code, PAM_SUCCESS);
}

static void test_user_messages(void **state)
{
	(void)state;
	/* A wrong password and an unknown identifier must read the same; the
	 * outcomes that cover them tell the user nothing extra. */
	assert_null(outcome_info(OUTCOME_SUCCESS)->user_message);
	assert_null(outcome_info(OUTCOME_BAD_CREDENTIALS)->user_message);
	assert_null(outcome_info(OUTCOME_EMPTY_PASSWORD)->user_message);
	/* Those the user can act on say so. */
	assert_non_null(outcome_info(OUTCOME_LOCKED)->user_message);
	assert_non_null(outcome_info(OUTCOME_RATE_LIMITED)->user_message);
	assert_non_null(outcome_info(OUTCOME_PASSWORD_COMPROMISED)->user_message);
	for (int o = 0; o < OUTCOME_COUNT; o++) {
		const char *m = outcome_info((enum outcome)o)->user_message;
		if (m == NULL)
			continue;
		assert_true(m[0] != '\0');
		assert_true(strlen(m) < 200);
		assert_true(printable_line(m));
	}
}

/* --- outcome_from_error -------------------------------------------------- */

static void test_error_known_codes(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(codes); i++) {
		enum outcome o = outcome_from_error(codes[i].code, codes[i].http);
		if (o != codes[i].o)
			print_error("%s (HTTP %ld) gave %s\n", codes[i].code, codes[i].http,
				    outcome_info(o)->name);
		assert_int_equal(o, codes[i].o);
		/* The outcome does not depend on which 4xx FAPI picked
		 * (429 aside, which always means rate limited). */
		for (long st = 400; st < 500; st++)
			if (st != 429)
				assert_int_equal(outcome_from_error(codes[i].code, st), codes[i].o);
	}
}

static void test_error_contract_examples(void **state)
{
	(void)state;
	assert_int_equal(outcome_info(outcome_from_error("form_password_incorrect", 422))->pam_code,
			 PAM_AUTH_ERR);
	assert_int_equal(
		outcome_info(outcome_from_error("form_identifier_not_found", 422))->pam_code,
		PAM_AUTH_ERR);
	assert_int_equal(outcome_info(outcome_from_error("user_locked", 403))->pam_code,
			 PAM_MAXTRIES);
	assert_int_equal(outcome_info(outcome_from_error("user_banned", 403))->pam_code,
			 PAM_PERM_DENIED);
	assert_int_equal(outcome_info(outcome_from_error("native_api_disabled", 400))->pam_code,
			 PAM_SERVICE_ERR);
	assert_int_equal(outcome_info(outcome_from_error("too_many_requests", 429))->pam_code,
			 PAM_MAXTRIES);
	assert_int_equal(outcome_info(outcome_from_error(NULL, 503))->pam_code,
			 PAM_AUTHINFO_UNAVAIL);
}

static void test_error_unknown_4xx_rejected(void **state)
{
	(void)state;
	static const long statuses[] = { 400, 401, 403, 404, 409, 418, 422, 499 };
	for (size_t i = 0; i < N(other_codes); i++)
		for (size_t j = 0; j < N(statuses); j++) {
			enum outcome o = outcome_from_error(other_codes[i], statuses[j]);
			if (o != OUTCOME_REJECTED)
				print_error("'%s' (HTTP %ld) gave %s\n", other_codes[i],
					    statuses[j], outcome_info(o)->name);
			assert_int_equal(o, OUTCOME_REJECTED);
		}
	assert_int_equal(outcome_from_error(NULL, 400), OUTCOME_REJECTED);
	assert_int_equal(outcome_from_error(NULL, 422), OUTCOME_REJECTED);
}

static void test_error_5xx_server_error(void **state)
{
	(void)state;
	static const long statuses[] = { 500, 502, 503, 504, 520, 599 };
	for (size_t j = 0; j < N(statuses); j++) {
		assert_int_equal(outcome_from_error(NULL, statuses[j]), OUTCOME_SERVER_ERROR);
		for (size_t i = 0; i < N(codes); i++)
			assert_int_equal(outcome_from_error(codes[i].code, statuses[j]),
					 OUTCOME_SERVER_ERROR);
		for (size_t i = 0; i < N(other_codes); i++)
			assert_int_equal(outcome_from_error(other_codes[i], statuses[j]),
					 OUTCOME_SERVER_ERROR);
	}
}

static void test_error_429_rate_limited(void **state)
{
	(void)state;
	assert_int_equal(outcome_from_error(NULL, 429), OUTCOME_RATE_LIMITED);
	assert_int_equal(outcome_from_error("too_many_requests", 429), OUTCOME_RATE_LIMITED);
	for (size_t i = 0; i < N(codes); i++)
		assert_int_equal(outcome_from_error(codes[i].code, 429), OUTCOME_RATE_LIMITED);
	for (size_t i = 0; i < N(other_codes); i++)
		assert_int_equal(outcome_from_error(other_codes[i], 429), OUTCOME_RATE_LIMITED);
}

static void test_error_non_error_status(void **state)
{
	(void)state;
	/* An unknown code outside 4xx/5xx is not an answer FAPI gives. */
	assert_int_equal(outcome_from_error(NULL, 200), OUTCOME_BAD_RESPONSE);
	assert_int_equal(outcome_from_error(NULL, 0), OUTCOME_BAD_RESPONSE);
	assert_int_equal(outcome_from_error(NULL, 302), OUTCOME_BAD_RESPONSE);
	assert_int_equal(outcome_from_error("some_future_code", 200), OUTCOME_BAD_RESPONSE);
	assert_int_equal(outcome_from_error("some_future_code", 399), OUTCOME_BAD_RESPONSE);
	assert_int_equal(outcome_from_error("", -1), OUTCOME_BAD_RESPONSE);
}

/* Whatever the code and status, an error answer is never a success. */
static void test_error_never_success(void **state)
{
	(void)state;
	for (long st = -1; st < 1000; st++) {
		assert_int_not_equal(outcome_from_error(NULL, st), OUTCOME_SUCCESS);
		for (size_t i = 0; i < N(codes); i++) {
			int pam = outcome_info(outcome_from_error(codes[i].code, st))->pam_code;
			assert_int_not_equal(pam, PAM_SUCCESS);
			assert_int_not_equal(pam, PAM_IGNORE);
		}
		for (size_t i = 0; i < N(other_codes); i++) {
			int pam = outcome_info(outcome_from_error(other_codes[i], st))->pam_code;
			assert_int_not_equal(pam, PAM_SUCCESS);
			assert_int_not_equal(pam, PAM_IGNORE);
		}
	}
}

/* --- outcome_from_sign_in_status ----------------------------------------- */

static void test_status_complete(void **state)
{
	(void)state;
	assert_int_equal(outcome_from_sign_in_status("complete"), OUTCOME_SUCCESS);
}

static void test_status_known_incomplete(void **state)
{
	(void)state;
	/* Every documented status but complete and abandoned. */
	static const char *const st[] = {
		"needs_identifier",   "needs_first_factor", "needs_second_factor",
		"needs_client_trust", "needs_new_password", "needs_protect_check",
	};
	for (size_t i = 0; i < N(st); i++) {
		enum outcome o = outcome_from_sign_in_status(st[i]);
		assert_int_equal(o, OUTCOME_NEEDS_MORE_FACTORS);
		assert_int_equal(outcome_info(o)->pam_code, PAM_CRED_INSUFFICIENT);
	}
	/* An abandoned sign-in is over: refused, not a step to take. */
	assert_int_equal(outcome_from_sign_in_status("abandoned"), OUTCOME_REJECTED);
	assert_int_equal(outcome_info(outcome_from_sign_in_status("abandoned"))->pam_code,
			 PAM_AUTH_ERR);
}

static void test_status_unknown(void **state)
{
	(void)state;
	static const char *const st[] = {
		"",
		"Complete",
		"COMPLETE",
		"complete ",
		" complete",
		"completed",
		"complet",
		"complete\n",
		"active",
		"verified",
		"needs_something_new",
		"needs_second_factor ",
		"NEEDS_FIRST_FACTOR",
		"null",
		"true",
		"(invalid)",
	};
	for (size_t i = 0; i < N(st); i++) {
		enum outcome o = outcome_from_sign_in_status(st[i]);
		if (o != OUTCOME_UNKNOWN_STATUS)
			print_error("status '%s' gave %s\n", st[i], outcome_info(o)->name);
		assert_int_equal(o, OUTCOME_UNKNOWN_STATUS);
		assert_int_equal(outcome_info(o)->pam_code, PAM_AUTH_ERR);
	}
}

static void test_status_null(void **state)
{
	(void)state;
	enum outcome o = outcome_from_sign_in_status(NULL);
	assert_int_equal(o, OUTCOME_BAD_RESPONSE);
	assert_int_equal(outcome_info(o)->pam_code, PAM_AUTHINFO_UNAVAIL);
}

/* --- outcome_admin_hint --------------------------------------------------- */

static void test_admin_hints(void **state)
{
	(void)state;
	/* Every misconfiguration code tells the administrator what to change. */
	for (size_t i = 0; i < N(codes); i++) {
		const char *h = outcome_admin_hint(codes[i].code);
		if (codes[i].o == OUTCOME_MISCONFIGURED) {
			if (h == NULL)
				print_error("no admin hint for %s\n", codes[i].code);
			assert_non_null(h);
			assert_true(strlen(h) > 10);
			assert_true(printable_line(h));
		} else {
			assert_null(h);
		}
	}
	assert_non_null(strstr(outcome_admin_hint("native_api_disabled"), "Native API"));
	assert_non_null(strstr(outcome_admin_hint("api_version_invalid"), "api_version"));
	assert_null(outcome_admin_hint(NULL));
	assert_null(outcome_admin_hint(""));
	assert_null(outcome_admin_hint("form_param_missing"));
	assert_null(outcome_admin_hint("NATIVE_API_DISABLED"));
}

/* --- pam_code_name -------------------------------------------------------- */

static void test_pam_code_names(void **state)
{
	(void)state;
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{ PAM_SUCCESS, "PAM_SUCCESS" },
		{ PAM_AUTH_ERR, "PAM_AUTH_ERR" },
		{ PAM_MAXTRIES, "PAM_MAXTRIES" },
		{ PAM_PERM_DENIED, "PAM_PERM_DENIED" },
		{ PAM_CRED_INSUFFICIENT, "PAM_CRED_INSUFFICIENT" },
		{ PAM_SERVICE_ERR, "PAM_SERVICE_ERR" },
		{ PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL" },
		{ PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR" },
		{ PAM_BUF_ERR, "PAM_BUF_ERR" },
		{ PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN" },
		{ PAM_CONV_ERR, "PAM_CONV_ERR" },
		{ PAM_AUTHTOK_RECOVERY_ERR, "PAM_AUTHTOK_RECOVERY_ERR" },
		{ PAM_AUTHTOK_ERR, "PAM_AUTHTOK_ERR" },
		{ PAM_IGNORE, "PAM_IGNORE" },
		{ PAM_ABORT, "PAM_ABORT" },
		{ PAM_INCOMPLETE, "PAM_INCOMPLETE" },
	};
	for (size_t i = 0; i < N(names); i++)
		assert_string_equal(pam_code_name(names[i].code), names[i].name);
	assert_string_equal(pam_code_name(-1), "PAM_(other)");
	assert_string_equal(pam_code_name(9999), "PAM_(other)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_table_fail_closed),
		cmocka_unit_test(test_table_names_unique),
		cmocka_unit_test(test_table_out_of_range),
		cmocka_unit_test(test_user_messages),
		cmocka_unit_test(test_error_known_codes),
		cmocka_unit_test(test_error_contract_examples),
		cmocka_unit_test(test_error_unknown_4xx_rejected),
		cmocka_unit_test(test_error_5xx_server_error),
		cmocka_unit_test(test_error_429_rate_limited),
		cmocka_unit_test(test_error_non_error_status),
		cmocka_unit_test(test_error_never_success),
		cmocka_unit_test(test_status_complete),
		cmocka_unit_test(test_status_known_incomplete),
		cmocka_unit_test(test_status_unknown),
		cmocka_unit_test(test_status_null),
		cmocka_unit_test(test_admin_hints),
		cmocka_unit_test(test_pam_code_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
