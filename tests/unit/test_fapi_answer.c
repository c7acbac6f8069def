/* Unit tests for fapi_answer.c: FAPI's JSON answers read strictly. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fapi_answer.h"

/* --- free() spy: linked with -Wl,--wrap=free ---------------------------- */

void __real_free(void *p);
void __wrap_free(void *p);

static const void *watched;
static size_t watched_len;
static unsigned char freed_copy[4096];
static bool watched_freed;

void __wrap_free(void *p)
{
	if (p != NULL && p == watched) {
		memcpy(freed_copy, p, watched_len);
		watched_freed = true;
		watched = NULL;
	}
	__real_free(p);
}

/* --- answers ------------------------------------------------------------- */

/* A complete 200 sign-in answer, in full, as Clerk sends it. */
#define NOTES_COMPLETE                                                                             \
	"{\"response\": {\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":\"complete\"," \
	"\"identifier\":\"alice@example.com\",\n"                                                  \
	"   \"first_factor_verification\":{\"status\":\"verified\",\"strategy\":\"password\"},\n"  \
	"   \"second_factor_verification\":null,\"created_session_id\":\"sess_1\","                \
	"\"client_trust_state\":\"known\"},\n"                                                     \
	" \"client\": "                                                                            \
	"{\"object\":\"client\",\"id\":\"client_1\",\"last_active_session_id\":\"sess_1\","        \
	"\"sign_in\":null,\n"                                                                      \
	"   \"sessions\":[{\"object\":\"session\",\"id\":\"sess_1\",\"status\":\"active\","        \
	"\"last_active_organization_id\":null,\n"                                                  \
	"      \"last_active_token\":{\"object\":\"token\",\"jwt\":\"eyJ...\"},"                   \
	"\"user\":{\"id\":\"user_1\"}}]}}"

/* Sign-in answers built from raw JSON pieces. */
static char body[256 * 1024];

static const char *sign_in(const char *status, const char *created, const char *sessions)
{
	snprintf(body, sizeof body,
		 "{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":%s,"
		 "\"created_session_id\":%s},"
		 "\"client\":{\"object\":\"client\",\"id\":\"client_1\",\"sessions\":%s},"
		 "\"clerk_trace_id\":\"trace_1\"}",
		 status, created, sessions);
	return body;
}

#define SESSION_1                                                                                  \
	"{\"id\":\"sess_1\",\"status\":\"active\",\"user\":{\"id\":\"user_1\"},"                   \
	"\"last_active_token\":{\"object\":\"token\",\"jwt\":\"jwt_1\"}}"
#define SESSION_2                                                                                  \
	"{\"id\":\"sess_2\",\"status\":\"active\",\"user\":{\"id\":\"user_2\"},"                   \
	"\"last_active_token\":{\"object\":\"token\",\"jwt\":\"jwt_2\"}}"

static struct fapi_answer a;
static char err[256];

static int parse_n(const char *b, size_t len, long status)
{
	err[0] = '\0';
	int rc = fapi_parse_sign_in(b, len, status, &a, err, sizeof err);
	if (rc != 0) {
		/* A failure says why and leaves no secret behind. */
		assert_true(err[0] != '\0');
		assert_null(a.session_jwt);
	}
	return rc;
}

static int parse(const char *b, long status)
{
	return parse_n(b, strlen(b), status);
}

static void expect_ok(const char *b, long status)
{
	int rc = parse(b, status);
	if (rc != 0)
		print_error("parse failed: %s\n", err);
	assert_int_equal(rc, 0);
}

static void expect_bad(const char *b, long status)
{
	int rc = parse(b, status);
	if (rc == 0)
		print_error("accepted: %.300s\n", b);
	assert_int_equal(rc, -1);
}

static void assert_err_has(const char *fragment)
{
	if (strstr(err, fragment) == NULL) {
		print_error("error '%s' lacks '%s'\n", err, fragment);
		fail();
	}
}

static int teardown(void **state)
{
	(void)state;
	fapi_answer_clear(&a);
	return 0;
}

/* --- complete sign-ins --------------------------------------------------- */

static void test_complete_notes_example(void **state)
{
	(void)state;
	expect_ok(NOTES_COMPLETE, 200);
	assert_string_equal(a.sign_in_status, "complete");
	assert_string_equal(a.sign_in_id, "sia_1");
	assert_string_equal(a.session_id, "sess_1");
	assert_string_equal(a.user_id, "user_1");
	assert_non_null(a.session_jwt);
	assert_string_equal(a.session_jwt, "eyJ...");
	assert_string_equal(a.error_code, "");
	assert_string_equal(a.error_message, "");
	assert_string_equal(a.trace_id, "");
	assert_int_equal(a.lockout_seconds, -1);
}

static void test_complete_with_trace(void **state)
{
	(void)state;
	expect_ok(sign_in("\"complete\"", "\"sess_1\"", "[" SESSION_1 "]"), 200);
	assert_string_equal(a.trace_id, "trace_1");
	assert_string_equal(a.user_id, "user_1");
	assert_string_equal(a.session_jwt, "jwt_1");
}

static void test_complete_picks_created_session(void **state)
{
	(void)state;
	expect_ok(sign_in("\"complete\"", "\"sess_2\"", "[" SESSION_1 "," SESSION_2 "]"), 200);
	assert_string_equal(a.session_id, "sess_2");
	assert_string_equal(a.user_id, "user_2");
	assert_string_equal(a.session_jwt, "jwt_2");
	fapi_answer_clear(&a);
	/* Entries of other shapes before it are passed over. */
	expect_ok(sign_in("\"complete\"", "\"sess_2\"",
			  "[7, null, \"sess_2\", {\"id\":5}, {}, " SESSION_2 "]"),
		  200);
	assert_string_equal(a.user_id, "user_2");
}

static void test_complete_token_null(void **state)
{
	(void)state;
	expect_ok(sign_in("\"complete\"", "\"sess_1\"",
			  "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},"
			  "\"last_active_token\":null}]"),
		  200);
	assert_null(a.session_jwt);
	assert_string_equal(a.user_id, "user_1");
	assert_string_equal(a.session_id, "sess_1");
	fapi_answer_clear(&a);
	/* Absent altogether: the same. */
	expect_ok(sign_in("\"complete\"", "\"sess_1\"",
			  "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"}}]"),
		  200);
	assert_null(a.session_jwt);
	fapi_answer_clear(&a);
	/* A token object whose jwt is null. */
	expect_ok(sign_in("\"complete\"", "\"sess_1\"",
			  "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},"
			  "\"last_active_token\":{\"object\":\"token\",\"jwt\":null}}]"),
		  200);
	assert_null(a.session_jwt);
}

static void test_complete_without_created_session(void **state)
{
	(void)state;
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":\"complete\"},"
		   "\"client\":{\"sessions\":[" SESSION_1 "]}}",
		   200);
	assert_err_has("created_session_id");
	expect_bad(sign_in("\"complete\"", "null", "[" SESSION_1 "]"), 200);
	expect_bad(sign_in("\"complete\"", "1", "[" SESSION_1 "]"), 200);
	expect_bad(sign_in("\"complete\"", "{\"id\":\"sess_1\"}", "[" SESSION_1 "]"), 200);
}

static void test_complete_session_missing(void **state)
{
	(void)state;
	expect_bad(sign_in("\"complete\"", "\"sess_9\"", "[" SESSION_1 "," SESSION_2 "]"), 200);
	assert_err_has("missing");
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "[]"), 200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "null"), 200);
	/* A prefix of the id is not the id. */
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_10\",\"user\":{\"id\":\"user_1\"}}]"),
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_\"", "[" SESSION_1 "]"), 200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_\",\"user\":{\"id\":\"user_1\"}}]"),
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"\",\"user\":{\"id\":\"user_1\"}}]"),
		   200);
	/* No client at all. */
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":\"complete\","
		   "\"created_session_id\":\"sess_1\"}}",
		   200);
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":\"complete\","
		   "\"created_session_id\":\"sess_1\"},\"client\":null}",
		   200);
}

static void test_complete_session_without_user(void **state)
{
	(void)state;
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "[{\"id\":\"sess_1\"}]"), 200);
	assert_err_has("user");
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "[{\"id\":\"sess_1\",\"user\":null}]"),
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "[{\"id\":\"sess_1\",\"user\":{}}]"), 200);
	expect_bad(
		sign_in("\"complete\"", "\"sess_1\"", "[{\"id\":\"sess_1\",\"user\":{\"id\":1}}]"),
		200);
	expect_bad(
		sign_in("\"complete\"", "\"sess_1\"", "[{\"id\":\"sess_1\",\"user\":\"user_1\"}]"),
		200);
}

static void test_unknown_fields_ignored(void **state)
{
	(void)state;
	expect_ok("{\"response\":{\"id\":\"sia_1\",\"status\":\"complete\",\"created_session_id\":"
		  "\"sess_1\",\"future\":{\"a\":[1,2,{\"b\":null}]},\"protect_check\":null},"
		  "\"client\":{\"sessions\":[{\"id\":\"sess_1\",\"tasks\":[],\"user\":{\"id\":"
		  "\"user_1\",\"x\":1},\"last_active_token\":{\"jwt\":\"j\",\"extra\":true}}],"
		  "\"new_field\":1.5},\"meta\":{}}",
		  200);
	assert_string_equal(a.session_jwt, "j");
}

/* --- statuses other than complete ---------------------------------------- */

static void test_incomplete_statuses(void **state)
{
	(void)state;
	static const char *const statuses[] = {
		"needs_identifier",   "needs_first_factor", "needs_second_factor",
		"needs_client_trust", "needs_new_password", "needs_protect_check",
		"abandoned",	      "some_future_status", "",
	};
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		char b[512];
		/* No created session and no client needed. */
		snprintf(b, sizeof b,
			 "{\"response\":{\"id\":\"sia_7\",\"status\":\"%s\",\"created_session_id\":"
			 "null,"
			 "\"supported_second_factors\":[{\"strategy\":\"totp\"}]},\"client\":null}",
			 statuses[i]);
		expect_ok(b, 200);
		assert_string_equal(a.sign_in_status, statuses[i]);
		assert_string_equal(a.sign_in_id, "sia_7");
		assert_string_equal(a.session_id, "");
		assert_string_equal(a.user_id, "");
		assert_null(a.session_jwt);
		fapi_answer_clear(&a);
	}
	/* A non-complete status never yields a session, even when one is sent. */
	expect_ok(sign_in("\"needs_second_factor\"", "\"sess_1\"", "[" SESSION_1 "]"), 200);
	assert_null(a.session_jwt);
	assert_string_equal(a.user_id, "");
}

/* --- error envelopes ------------------------------------------------------ */

static void test_error_password_incorrect(void **state)
{
	(void)state;
	expect_ok("{\"errors\":[{\"code\":\"form_password_incorrect\",\"message\":\"is incorrect\","
		  "\"long_message\":\"Password is incorrect. Try again, or use another method.\","
		  "\"meta\":{\"param_name\":\"password\"}}],\"meta\":{},"
		  "\"clerk_trace_id\":\"3f2c9a\"}",
		  422);
	assert_string_equal(a.error_code, "form_password_incorrect");
	assert_string_equal(a.error_message,
			    "Password is incorrect. Try again, or use another method.");
	assert_string_equal(a.trace_id, "3f2c9a");
	assert_int_equal(a.lockout_seconds, -1);
	assert_string_equal(a.sign_in_status, "");
	assert_null(a.session_jwt);
}

static void test_error_message_fallback(void **state)
{
	(void)state;
	expect_ok("{\"errors\":[{\"code\":\"user_banned\",\"message\":\"banned\"}]}", 403);
	assert_string_equal(a.error_code, "user_banned");
	assert_string_equal(a.error_message, "banned");
	fapi_answer_clear(&a);
	expect_ok("{\"errors\":[{\"code\":\"user_banned\",\"message\":7,\"long_message\":null}]}",
		  403);
	assert_string_equal(a.error_message, "");
	fapi_answer_clear(&a);
	/* Only the first error counts. */
	expect_ok(
		"{\"errors\":[{\"code\":\"user_locked\"},{\"code\":\"form_password_incorrect\"}]}",
		403);
	assert_string_equal(a.error_code, "user_locked");
}

static void test_error_long_message_cut(void **state)
{
	(void)state;
	static char b[8192];
	int n = snprintf(b, sizeof b, "{\"errors\":[{\"code\":\"x\",\"long_message\":\"");
	memset(b + n, 'm', 5000);
	snprintf(b + n + 5000, sizeof b - (size_t)n - 5000, "\"}]}");
	expect_ok(b, 422);
	assert_int_equal(strlen(a.error_message), sizeof a.error_message - 1);
}

static void test_error_lockout(void **state)
{
	(void)state;
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"long_message\":\"locked\","
		  "\"meta\":{\"lockout_expires_in_seconds\":1800}}],\"clerk_trace_id\":\"t\"}",
		  403);
	assert_string_equal(a.error_code, "user_locked");
	assert_int_equal(a.lockout_seconds, 1800);
	fapi_answer_clear(&a);

	/* In the top-level meta. */
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":{}}],"
		  "\"meta\":{\"lockout_expires_in_seconds\":900}}",
		  403);
	assert_int_equal(a.lockout_seconds, 900);
	fapi_answer_clear(&a);

	/* Both: errors[0].meta first. */
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":{\"lockout_expires_in_seconds\":"
		  "60}}],"
		  "\"meta\":{\"lockout_expires_in_seconds\":900}}",
		  403);
	assert_int_equal(a.lockout_seconds, 60);
	fapi_answer_clear(&a);

	/* Not an integer: ignored. */
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":{\"lockout_expires_in_seconds\":"
		  "\"1800\"}}]}",
		  403);
	assert_int_equal(a.lockout_seconds, -1);
	fapi_answer_clear(&a);
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":{\"lockout_expires_in_seconds\":"
		  "null}}],"
		  "\"meta\":{\"lockout_expires_in_seconds\":[1]}}",
		  403);
	assert_int_equal(a.lockout_seconds, -1);
	fapi_answer_clear(&a);

	/* Out of range: clamped, never negative. */
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":{\"lockout_expires_in_seconds\":"
		  "-5}}]}",
		  403);
	assert_int_equal(a.lockout_seconds, 0);
	fapi_answer_clear(&a);
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":"
		  "{\"lockout_expires_in_seconds\":9223372036854775807}}]}",
		  403);
	assert_true(a.lockout_seconds > 0 && a.lockout_seconds <= 86400L * 366);
	fapi_answer_clear(&a);

	/* meta of the wrong type. */
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":7}],\"meta\":\"x\"}", 403);
	assert_int_equal(a.lockout_seconds, -1);
}

static void test_error_without_errors_list(void **state)
{
	(void)state;
	expect_bad("{\"meta\":{},\"clerk_trace_id\":\"trace_x\"}", 422);
	assert_err_has("errors");
	assert_string_equal(a.trace_id, "trace_x");
	expect_bad("{\"errors\":{\"code\":\"user_locked\"}}", 403);
	expect_bad("{\"errors\":\"user_locked\"}", 403);
	expect_bad("{\"errors\":null}", 403);
	expect_bad("{\"errors\":[]}", 403);
	expect_bad("{\"errors\":[\"user_locked\"]}", 403);
	expect_bad("{\"errors\":[null]}", 403);
	expect_bad("{\"errors\":[[{\"code\":\"user_locked\"}]]}", 403);
	/* A sign-in object is not an error answer. */
	expect_bad(NOTES_COMPLETE, 422);
	expect_bad(NOTES_COMPLETE, 500);
}

static void test_error_code_not_string(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"{\"errors\":[{\"code\":7}]}",
		"{\"errors\":[{\"code\":null}]}",
		"{\"errors\":[{\"code\":[\"user_locked\"]}]}",
		"{\"errors\":[{\"code\":{\"v\":\"user_locked\"}}]}",
		"{\"errors\":[{\"message\":\"no code\"}]}",
		"{\"errors\":[{}]}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		expect_ok(bodies[i], 422);
		assert_string_equal(a.error_code, "(invalid)");
		fapi_answer_clear(&a);
	}
}

static void test_error_code_odd_characters(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"{\"errors\":[{\"code\":\"Form_Password_Incorrect\"}]}",
		"{\"errors\":[{\"code\":\"user-locked\"}]}",
		"{\"errors\":[{\"code\":\"user locked\"}]}",
		"{\"errors\":[{\"code\":\"user_locked\\n\"}]}",
		"{\"errors\":[{\"code\":\"user_locked\\u001b[2J\"}]}",
		"{\"errors\":[{\"code\":\"user_l\\u00f6cked\"}]}",
		"{\"errors\":[{\"code\":\"user_locked\\u0000x\"}]}",
		"{\"errors\":[{\"code\":\"user_locked%0a\"}]}",
		"{\"errors\":[{\"code\":\"../../etc\"}]}",
		"{\"errors\":[{\"code\":"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		expect_ok(bodies[i], 422);
		if (strcmp(a.error_code, "(invalid)") != 0)
			print_error("%s gave code '%s'\n", bodies[i], a.error_code);
		assert_string_equal(a.error_code, "(invalid)");
		fapi_answer_clear(&a);
	}
	/* snake_case with digits is kept; 63 characters still fit. */
	expect_ok("{\"errors\":[{\"code\":\"error_2fa_required\"}]}", 422);
	assert_string_equal(a.error_code, "error_2fa_required");
	fapi_answer_clear(&a);
	expect_ok("{\"errors\":[{\"code\":"
		  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
		  422);
	assert_int_equal(strlen(a.error_code), 63);
	fapi_answer_clear(&a);
	/* An empty code stays empty ("none"), it is not invented. */
	expect_ok("{\"errors\":[{\"code\":\"\"}]}", 422);
	assert_true(strcmp(a.error_code, "") == 0 || strcmp(a.error_code, "(invalid)") == 0);
}

static void test_success_with_errors(void **state)
{
	(void)state;
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":\"needs_first_factor\"},"
		   "\"errors\":[{\"code\":\"form_password_incorrect\"}]}",
		   200);
	expect_bad(
		"{\"response\":{\"id\":\"sia_1\",\"status\":\"needs_first_factor\"},\"errors\":[]}",
		200);
	/* errors: null is no errors. */
	expect_ok("{\"response\":{\"id\":\"sia_1\",\"status\":\"needs_first_factor\"},\"errors\":"
		  "null}",
		  200);
}

/* --- trace ids ------------------------------------------------------------ */

static void test_trace_id_kept_on_failure(void **state)
{
	(void)state;
	expect_bad("{\"clerk_trace_id\":\"tr_1\",\"response\":7}", 200);
	assert_string_equal(a.trace_id, "tr_1");
	expect_bad("{\"response\":{\"status\":7},\"clerk_trace_id\":\"tr_2\"}", 200);
	assert_string_equal(a.trace_id, "tr_2");
	expect_bad(sign_in("\"complete\"", "\"sess_9\"", "[]"), 200);
	assert_string_equal(a.trace_id, "trace_1");
	expect_bad("{\"errors\":7,\"clerk_trace_id\":\"tr_3\"}", 429);
	assert_string_equal(a.trace_id, "tr_3");
}

static void test_trace_id_odd(void **state)
{
	(void)state;
	expect_ok("{\"errors\":[{\"code\":\"x\"}],\"clerk_trace_id\":7}", 422);
	assert_string_equal(a.trace_id, "");
	fapi_answer_clear(&a);
	char b[512];
	char longid[200];
	memset(longid, 't', 150);
	longid[150] = '\0';
	snprintf(b, sizeof b, "{\"errors\":[{\"code\":\"x\"}],\"clerk_trace_id\":\"%s\"}", longid);
	expect_ok(b, 422);
	assert_true(strlen(a.trace_id) < sizeof a.trace_id);
	fapi_answer_clear(&a);
	expect_ok("{\"errors\":[{\"code\":\"x\"}],\"clerk_trace_id\":\"a\\u0000b\"}", 422);
	assert_null(memchr(a.trace_id, 'b', sizeof a.trace_id));
}

/* --- wrong types ---------------------------------------------------------- */

static void test_wrong_types(void **state)
{
	(void)state;
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":7}}", 200);
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":null}}", 200);
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":[\"complete\"]}}", 200);
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":true}}", 200);
	expect_bad("{\"response\":{\"id\":7,\"status\":\"needs_first_factor\"}}", 200);
	expect_bad("{\"response\":{\"status\":\"needs_first_factor\"}}", 200);
	expect_bad("{\"response\":\"x\"}", 200);
	expect_bad("{\"response\":[]}", 200);
	expect_bad("{\"response\":null}", 200);
	expect_bad("{\"client\":{}}", 200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "{}"), 200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "\"sess_1\""), 200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", "[[" SESSION_1 "]]"), 200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":[\"sess_1\"],\"user\":{\"id\":\"u\"}}]"),
		   200);
	/* client of the wrong type */
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":\"complete\",\"created_session_id\":"
		   "\"sess_1\"},\"client\":[]}",
		   200);
	expect_bad("{\"response\":{\"id\":\"sia_1\",\"status\":\"complete\",\"created_session_id\":"
		   "\"sess_1\"},\"client\":\"x\"}",
		   200);
	/* The root must be an object. */
	expect_bad("[]", 200);
	expect_bad("[" NOTES_COMPLETE "]", 200);
	expect_bad("\"complete\"", 200);
	expect_bad("null", 200);
	expect_bad("7", 200);
	expect_bad("true", 422);
}

/* A token of the wrong type is a malformed answer, not "no token". */
static void test_wrong_token_types(void **state)
{
	(void)state;
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},\"last_active_token\":"
			   "\"x\"}]"),
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},\"last_active_token\":"
			   "[]}]"),
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},"
			   "\"last_active_token\":{\"jwt\":7}}]"),
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},"
			   "\"last_active_token\":{\"jwt\":{\"v\":\"eyJ\"}}}]"),
		   200);
}

/* --- malformed JSON ------------------------------------------------------- */

static void test_truncated_everywhere(void **state)
{
	(void)state;
	const char *full = NOTES_COMPLETE;
	size_t n = strlen(full);
	for (size_t len = 0; len < n; len++) {
		int rc = parse_n(full, len, 200);
		if (rc == 0)
			print_error("accepted the first %zu of %zu bytes\n", len, n);
		assert_int_equal(rc, -1);
		fapi_answer_clear(&a);
	}
	assert_int_equal(parse_n(full, n, 200), 0);
}

static void test_truncated_error(void **state)
{
	(void)state;
	static const char full[] = "{\"errors\":[{\"code\":\"user_locked\",\"meta\":{\"lockout_"
				   "expires_in_seconds\":1800}}]}";
	for (size_t len = 0; len < sizeof full - 1; len++) {
		assert_int_equal(parse_n(full, len, 403), -1);
		fapi_answer_clear(&a);
	}
}

static void test_trailing_data(void **state)
{
	(void)state;
	expect_bad(NOTES_COMPLETE " x", 200);
	expect_bad(NOTES_COMPLETE "{}", 200);
	expect_bad(NOTES_COMPLETE ",", 200);
	expect_bad(NOTES_COMPLETE "}", 200);
	expect_bad(NOTES_COMPLETE NOTES_COMPLETE, 200);
	expect_bad("{\"errors\":[{\"code\":\"x\"}]}]", 422);
	/* A NUL byte inside the stated length is data too. */
	static const char nul[] = "{\"errors\":[{\"code\":\"x\"}]}\0garbage";
	assert_int_equal(parse_n(nul, sizeof nul - 1, 422), -1);
	/* Whitespace around the value is allowed (RFC 8259). */
	expect_ok("  " NOTES_COMPLETE "\r\n", 200);
}

static void test_not_json(void **state)
{
	(void)state;
	expect_bad("<html><body>502 Bad Gateway</body></html>", 502);
	expect_bad("Too Many Requests", 429);
	/* Each of these is a valid error answer but for one defect. */
	expect_ok("{\"errors\":[{\"code\":\"x\"}]}", 422);
	fapi_answer_clear(&a);
	expect_bad("{\"errors\":[{'code':'x'}]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\",}]}", 422); /* trailing comma */
	expect_bad("{\"errors\":[{\"code\":\"x\"},]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\"}],}", 422);
	expect_bad("{errors:[{\"code\":\"x\"}]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\"}]} // comment", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\",\"meta\":{\"n\":01}}]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\",\"meta\":{\"n\":0x10}}]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\"}]", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\" \"y\"}]}", 422);
}

static void test_empty_body(void **state)
{
	(void)state;
	assert_int_equal(parse_n("", 0, 200), -1);
	assert_int_equal(parse_n("{}", 0, 200), -1);
	expect_bad(" ", 200);
	expect_bad("\n", 500);
	expect_bad("{}", 200);
	expect_bad("{}", 422);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	expect_bad("{\"errors\":[{\"code\":\"x\",\"long_message\":\"\xff\"}]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\",\"long_message\":\"\xe2\x82\"}]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\",\"long_message\":\"\x80\"}]}", 422);
	expect_bad("{\"errors\":[{\"code\":\"x\",\"long_message\":\"\xf8\x88\x80\x80\x80\"}]}",
		   422);
	expect_bad("{\"response\":{\"id\":\"sia_\xc3\",\"status\":\"needs_first_factor\"}}", 200);
	/* Valid UTF-8 is fine. */
	expect_ok("{\"errors\":[{\"code\":\"x\",\"long_message\":\"Passwort "
		  "\xc3\xbc\xe2\x82\xac\"}]}",
		  422);
	assert_string_equal(a.error_message, "Passwort \xc3\xbc\xe2\x82\xac");
}

static char *nested(size_t depth, const char *prefix, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);
	char *b = malloc(p + 2 * depth + s + 1);
	assert_non_null(b);
	memcpy(b, prefix, p);
	memset(b + p, '[', depth);
	memset(b + p + depth, ']', depth);
	memcpy(b + p + 2 * depth, suffix, s + 1);
	return b;
}

static void test_deep_nesting(void **state)
{
	(void)state;
	/* Hidden in a field nobody reads. */
	char *b = nested(1000, "{\"errors\":[{\"code\":\"x\",\"meta\":{\"deep\":", "}}]}");
	expect_bad(b, 422);
	assert_err_has("JSON");
	free(b);
	b = nested(100000,
		   "{\"response\":{\"id\":\"s\",\"status\":\"needs_first_factor\",\"x\":", "}}");
	expect_bad(b, 200);
	free(b);
	/* Ordinary depth is fine. */
	b = nested(10, "{\"errors\":[{\"code\":\"x\",\"meta\":{\"deep\":", "}}]}");
	expect_ok(b, 422);
	free(b);
	/* Unclosed nesting. */
	b = nested(1000, "", "");
	b[1000] = '\0';
	expect_bad(b, 200);
	free(b);
}

static void test_long_strings(void **state)
{
	(void)state;
	char id[300];
	char b[2048];

	/* FAPI_ID_MAX - 1 characters fit; FAPI_ID_MAX do not. */
	memset(id, 'i', FAPI_ID_MAX - 1);
	id[FAPI_ID_MAX - 1] = '\0';
	snprintf(b, sizeof b, "{\"response\":{\"id\":\"%s\",\"status\":\"needs_first_factor\"}}",
		 id);
	expect_ok(b, 200);
	assert_string_equal(a.sign_in_id, id);
	fapi_answer_clear(&a);
	id[FAPI_ID_MAX - 1] = 'i';
	id[FAPI_ID_MAX] = '\0';
	snprintf(b, sizeof b, "{\"response\":{\"id\":\"%s\",\"status\":\"needs_first_factor\"}}",
		 id);
	expect_bad(b, 200);

	/* The same for the session and the user. */
	char sess[310];
	snprintf(sess, sizeof sess, "\"%s\"", id);
	char sessions[1024];
	snprintf(sessions, sizeof sessions, "[{\"id\":\"%s\",\"user\":{\"id\":\"user_1\"}}]", id);
	expect_bad(sign_in("\"complete\"", sess, sessions), 200);
	snprintf(sessions, sizeof sessions, "[{\"id\":\"sess_1\",\"user\":{\"id\":\"%s\"}}]", id);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"", sessions), 200);

	/* A status longer than any real one. */
	char st[100];
	memset(st, 's', 60);
	st[60] = '\0';
	snprintf(b, sizeof b, "{\"response\":{\"id\":\"sia_1\",\"status\":\"needs_%s\"}}", st);
	expect_bad(b, 200);
}

static void test_huge_jwt(void **state)
{
	(void)state;
	static char jwt[100001];
	static char sessions[100200];
	memset(jwt, 'J', sizeof jwt - 1);
	snprintf(sessions, sizeof sessions,
		 "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},\"last_active_token\":{\"jwt\":"
		 "\"%s\"}}]",
		 jwt);
	expect_ok(sign_in("\"complete\"", "\"sess_1\"", sessions), 200);
	assert_non_null(a.session_jwt);
	assert_int_equal(strlen(a.session_jwt), sizeof jwt - 1);
}

static void test_nul_in_strings(void **state)
{
	(void)state;
	/* "complete" followed by a hidden tail must not read as complete. */
	expect_bad(sign_in("\"complete\\u0000x\"", "\"sess_1\"", "[" SESSION_1 "]"), 200);
	expect_bad(sign_in("\"needs_first_factor\\u0000\"", "null", "[]"), 200);
	expect_bad("{\"response\":{\"id\":\"sia\\u0000_1\",\"status\":\"needs_first_factor\"}}",
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\\u0000\"", "[" SESSION_1 "]"), 200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_1\\u0000\",\"user\":{\"id\":\"user_1\"}}]"),
		   200);
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\\u0000admin\"}}]"),
		   200);
}

/* A JWT cut short at a NUL would be a different token: refuse it. */
static void test_nul_in_jwt(void **state)
{
	(void)state;
	expect_bad(sign_in("\"complete\"", "\"sess_1\"",
			   "[{\"id\":\"sess_1\",\"user\":{\"id\":\"user_1\"},"
			   "\"last_active_token\":{\"jwt\":\"eyJ\\u0000.evil\"}}]"),
		   200);
}

static void test_escapes_decoded(void **state)
{
	(void)state;
	expect_ok("{\"response\":{\"id\":\"sia\\u005f1\",\"status\":\"needs_\\u0066irst_factor\"}}",
		  200);
	assert_string_equal(a.sign_in_id, "sia_1");
	assert_string_equal(a.sign_in_status, "needs_first_factor");
}

/* --- clearing -------------------------------------------------------------- */

static void test_clear(void **state)
{
	(void)state;
	expect_ok(NOTES_COMPLETE, 200);
	assert_non_null(a.session_jwt);
	char *jwt = a.session_jwt;
	size_t n = strlen(jwt) + 1;
	watched = jwt;
	watched_len = n;
	watched_freed = false;
	memset(freed_copy, 0xa5, sizeof freed_copy);
	fapi_answer_clear(&a);
	/* The token's memory was wiped before it went back to malloc. */
	assert_true(watched_freed);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(freed_copy[i], 0);
	assert_null(a.session_jwt);
	assert_string_equal(a.sign_in_status, "");
	assert_string_equal(a.session_id, "");
	assert_string_equal(a.user_id, "");
	assert_int_equal(a.lockout_seconds, -1);
	fapi_answer_clear(&a); /* twice is harmless */
	assert_null(a.session_jwt);
}

static void test_parse_resets_fields(void **state)
{
	(void)state;
	expect_ok("{\"errors\":[{\"code\":\"user_locked\",\"meta\":{\"lockout_expires_in_seconds\":"
		  "5}}],"
		  "\"clerk_trace_id\":\"t1\"}",
		  403);
	fapi_answer_clear(&a);
	expect_ok("{\"response\":{\"id\":\"sia_1\",\"status\":\"needs_first_factor\"}}", 200);
	assert_string_equal(a.error_code, "");
	assert_string_equal(a.trace_id, "");
	assert_int_equal(a.lockout_seconds, -1);
}

/* --- second factors ------------------------------------------------------ */

static const char *factors(const char *list, const char *trust)
{
	snprintf(body, sizeof body,
		 "{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\","
		 "\"status\":\"needs_second_factor\",\"client_trust_state\":%s,"
		 "\"supported_second_factors\":%s},\"client\":null}",
		 trust, list);
	return body;
}

static void test_factors_parsed(void **state)
{
	(void)state;
	expect_ok(factors("[{\"strategy\":\"totp\",\"default\":true},"
			  "{\"strategy\":\"phone_code\",\"safe_identifier\":\"+1*****0101\","
			  "\"phone_number_id\":\"idn_p1\",\"primary\":true},"
			  "{\"strategy\":\"email_code\",\"safe_identifier\":null,"
			  "\"email_address_id\":\"idn_e1\"}]",
			  "\"new\""),
		  200);
	assert_string_equal(a.sign_in_status, "needs_second_factor");
	assert_string_equal(a.client_trust_state, "new");
	assert_int_equal(a.n_factors, 3);
	assert_string_equal(a.factors[0].strategy, "totp");
	assert_true(a.factors[0].is_default);
	assert_string_equal(a.factors[0].id, "");
	assert_string_equal(a.factors[1].safe_identifier, "+1*****0101");
	assert_string_equal(a.factors[1].id, "idn_p1");
	assert_true(a.factors[1].primary);
	assert_false(a.factors[1].is_default);
	assert_string_equal(a.factors[2].id, "idn_e1");
	assert_string_equal(a.factors[2].safe_identifier, "");
}

static void test_factors_absent_or_null(void **state)
{
	(void)state;
	expect_ok(factors("null", "null"), 200);
	assert_int_equal(a.n_factors, 0);
	assert_string_equal(a.client_trust_state, "");
	expect_ok(factors("[]", "\"known\""), 200);
	assert_int_equal(a.n_factors, 0);
}

static void test_factors_capped(void **state)
{
	(void)state;
	char list[2048] = "[";
	for (int i = 0; i < 12; i++)
		strcat(list, i ? ",{\"strategy\":\"totp\"}" : "{\"strategy\":\"totp\"}");
	strcat(list, "]");
	expect_ok(factors(list, "null"), 200);
	assert_int_equal(a.n_factors, FAPI_FACTORS_MAX);
}

static void test_factors_malformed(void **state)
{
	(void)state;
	static const char *const lists[] = {
		"{}",
		"[7]",
		"[{}]",
		"[{\"strategy\":7}]",
		"[{\"strategy\":\"totp\",\"default\":\"yes\"}]",
		"[{\"strategy\":\"phone_code\",\"phone_number_id\":\"../../x\"}]",
		"[{\"strategy\":\"phone_code\",\"phone_number_id\":5}]",
		"[{\"strategy\":\"email_code\",\"safe_identifier\":[]}]",
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		if (parse(factors(lists[i], "null"), 200) == 0)
			print_error("accepted: %s\n", lists[i]);
		assert_int_equal(parse(factors(lists[i], "null"), 200), -1);
	}
	assert_int_equal(parse(factors("[]", "7"), 200), -1);
	assert_int_equal(parse(factors("[]", "\"a-very-long-trust-state\""), 200), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_complete_notes_example, teardown),
		cmocka_unit_test_teardown(test_factors_parsed, teardown),
		cmocka_unit_test_teardown(test_factors_absent_or_null, teardown),
		cmocka_unit_test_teardown(test_factors_capped, teardown),
		cmocka_unit_test_teardown(test_factors_malformed, teardown),
		cmocka_unit_test_teardown(test_complete_with_trace, teardown),
		cmocka_unit_test_teardown(test_complete_picks_created_session, teardown),
		cmocka_unit_test_teardown(test_complete_token_null, teardown),
		cmocka_unit_test_teardown(test_complete_without_created_session, teardown),
		cmocka_unit_test_teardown(test_complete_session_missing, teardown),
		cmocka_unit_test_teardown(test_complete_session_without_user, teardown),
		cmocka_unit_test_teardown(test_unknown_fields_ignored, teardown),
		cmocka_unit_test_teardown(test_incomplete_statuses, teardown),
		cmocka_unit_test_teardown(test_error_password_incorrect, teardown),
		cmocka_unit_test_teardown(test_error_message_fallback, teardown),
		cmocka_unit_test_teardown(test_error_long_message_cut, teardown),
		cmocka_unit_test_teardown(test_error_lockout, teardown),
		cmocka_unit_test_teardown(test_error_without_errors_list, teardown),
		cmocka_unit_test_teardown(test_error_code_not_string, teardown),
		cmocka_unit_test_teardown(test_error_code_odd_characters, teardown),
		cmocka_unit_test_teardown(test_success_with_errors, teardown),
		cmocka_unit_test_teardown(test_trace_id_kept_on_failure, teardown),
		cmocka_unit_test_teardown(test_trace_id_odd, teardown),
		cmocka_unit_test_teardown(test_wrong_types, teardown),
		cmocka_unit_test_teardown(test_wrong_token_types, teardown),
		cmocka_unit_test_teardown(test_truncated_everywhere, teardown),
		cmocka_unit_test_teardown(test_truncated_error, teardown),
		cmocka_unit_test_teardown(test_trailing_data, teardown),
		cmocka_unit_test_teardown(test_not_json, teardown),
		cmocka_unit_test_teardown(test_empty_body, teardown),
		cmocka_unit_test_teardown(test_invalid_utf8, teardown),
		cmocka_unit_test_teardown(test_deep_nesting, teardown),
		cmocka_unit_test_teardown(test_long_strings, teardown),
		cmocka_unit_test_teardown(test_huge_jwt, teardown),
		cmocka_unit_test_teardown(test_nul_in_strings, teardown),
		cmocka_unit_test_teardown(test_nul_in_jwt, teardown),
		cmocka_unit_test_teardown(test_escapes_decoded, teardown),
		cmocka_unit_test_teardown(test_clear, teardown),
		cmocka_unit_test_teardown(test_parse_resets_fields, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
