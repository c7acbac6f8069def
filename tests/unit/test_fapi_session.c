/* Unit tests for issue 12's parsing: a session's status and tasks (in a
 * sign-in answer and in touch's answer), the forms of the client token in
 * an Authorization answer header, and the issuer session tokens must carry. */
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
#include "fapi_request.h"
#include "fapi_url.h"

static char body[8192];
static char err[200];

/* A complete sign-in whose session sess_1 has these status and tasks
 * members (raw JSON, "" for none). */
static const char *complete(const char *members)
{
	snprintf(body, sizeof body,
		 "{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\","
		 "\"status\":\"complete\",\"created_session_id\":\"sess_1\"},"
		 "\"client\":{\"object\":\"client\",\"sessions\":[{\"object\":\"session\","
		 "\"id\":\"sess_1\"%s%s,\"user\":{\"id\":\"user_1\"},"
		 "\"last_active_token\":{\"object\":\"token\",\"jwt\":\"jwt_1\"}}]}}",
		 members[0] ? "," : "", members);
	return body;
}

static int parse(const char *members, struct fapi_answer *a)
{
	const char *b = complete(members);
	err[0] = '\0';
	int rc = fapi_parse_sign_in(b, strlen(b), 200, a, err, sizeof err);
	if (rc != 0)
		assert_true(err[0] != '\0');
	return rc;
}

/* --- the created session's status and tasks ------------------------------ */

static void test_active_session(void **state)
{
	(void)state;
	struct fapi_answer a;
	assert_int_equal(parse("\"status\":\"active\",\"tasks\":[]", &a), 0);
	assert_string_equal(a.session.status, "active");
	assert_int_equal(a.session.tasks, 0);
	assert_false(fapi_session_pending(&a.session));
	assert_string_equal(a.session_jwt, "jwt_1");
	fapi_answer_clear(&a);
	/* tasks null, and no status at all (older answers): not pending. */
	assert_int_equal(parse("\"status\":\"active\",\"tasks\":null", &a), 0);
	assert_false(fapi_session_pending(&a.session));
	fapi_answer_clear(&a);
	assert_int_equal(parse("", &a), 0);
	assert_string_equal(a.session.status, "");
	assert_false(fapi_session_pending(&a.session));
	fapi_answer_clear(&a);
}

static void test_pending_tasks(void **state)
{
	(void)state;
	static const struct {
		const char *key;
		unsigned bit;
	} cases[] = {
		{ "reset-password", FAPI_TASK_RESET_PASSWORD },
		{ "setup-mfa", FAPI_TASK_SETUP_MFA },
		{ "choose-organization", FAPI_TASK_CHOOSE_ORGANIZATION },
		{ "some-future-task", FAPI_TASK_OTHER },
		{ "Reset-Password", FAPI_TASK_OTHER },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char m[200];
		struct fapi_answer a;
		snprintf(m, sizeof m, "\"status\":\"pending\",\"tasks\":[{\"key\":\"%s\"}]",
			 cases[i].key);
		assert_int_equal(parse(m, &a), 0);
		assert_string_equal(a.session.status, "pending");
		assert_int_equal(a.session.tasks, cases[i].bit);
		assert_true(fapi_session_pending(&a.session));
		fapi_answer_clear(&a);
	}
	struct fapi_answer a;
	assert_int_equal(parse("\"status\":\"pending\",\"tasks\":[{\"key\":\"setup-mfa\"},"
			       "{\"key\":\"reset-password\"},{\"key\":\"choose-organization\"}]",
			       &a),
			 0);
	assert_int_equal(a.session.tasks, FAPI_TASK_SETUP_MFA | FAPI_TASK_RESET_PASSWORD |
						  FAPI_TASK_CHOOSE_ORGANIZATION);
	fapi_answer_clear(&a);
}

/* A task makes a session pending whatever its status says, and any status
 * but "active" is not signed in, tasks or not. */
static void test_pending_fails_closed(void **state)
{
	(void)state;
	struct fapi_answer a;
	assert_int_equal(parse("\"status\":\"active\",\"tasks\":[{\"key\":\"setup-mfa\"}]", &a), 0);
	assert_true(fapi_session_pending(&a.session));
	fapi_answer_clear(&a);
	static const char *const statuses[] = { "pending",   "ended",  "expired", "revoked",
						"abandoned", "ACTIVE", "" };
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		char m[100];
		snprintf(m, sizeof m, "\"status\":\"%s\"", statuses[i]);
		assert_int_equal(parse(m, &a), 0);
		/* "" is the one status that reads as absent */
		assert_int_equal(fapi_session_pending(&a.session), statuses[i][0] != '\0');
		fapi_answer_clear(&a);
	}
}

static void test_malformed_tasks(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\"status\":7",
		"\"status\":[\"pending\"]",
		"\"status\":\"a-status-much-longer-than-the-field\"",
		"\"status\":\"pending\",\"tasks\":{\"key\":\"setup-mfa\"}",
		"\"status\":\"pending\",\"tasks\":\"setup-mfa\"",
		"\"status\":\"pending\",\"tasks\":[\"setup-mfa\"]",
		"\"status\":\"pending\",\"tasks\":[{}]",
		"\"status\":\"pending\",\"tasks\":[{\"key\":null}]",
		"\"status\":\"pending\",\"tasks\":[{\"key\":1}]",
		"\"status\":\"pending\",\"tasks\":[null]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fapi_answer a;
		if (parse(bad[i], &a) == 0)
			print_error("accepted: %s\n", bad[i]);
		assert_int_equal(parse(bad[i], &a), -1);
		assert_null(a.session_jwt); /* a failure holds nothing */
		fapi_answer_clear(&a);
	}
}

/* --- touch's answer ---------------------------------------------------------- */

static int session(const char *json, const char *want, struct fapi_session_state *s)
{
	err[0] = '\0';
	int rc = fapi_parse_session(json, strlen(json), want, s, err, sizeof err);
	if (rc != 0) {
		assert_true(err[0] != '\0');
		assert_string_equal(s->status, "");
		assert_int_equal(s->tasks, 0);
	}
	return rc;
}

static void test_touch_answer(void **state)
{
	(void)state;
	struct fapi_session_state s;
	static const char active[] = "{\"response\":{\"object\":\"session\",\"id\":\"sess_1\","
				     "\"status\":\"active\",\"tasks\":[]},\"client\":{}}";
	assert_int_equal(session(active, "sess_1", &s), 0);
	assert_string_equal(s.status, "active");
	assert_false(fapi_session_pending(&s));
	assert_int_equal(session(active, NULL, &s), 0);

	static const char pending[] = "{\"response\":{\"id\":\"sess_1\",\"status\":\"pending\","
				      "\"tasks\":[{\"key\":\"choose-organization\"}]}}";
	assert_int_equal(session(pending, "sess_1", &s), 0);
	assert_int_equal(s.tasks, FAPI_TASK_CHOOSE_ORGANIZATION);
	assert_true(fapi_session_pending(&s));
}

static void test_touch_answer_bad(void **state)
{
	(void)state;
	struct fapi_session_state s;
	/* Another session's answer, or one without a status, never reads as active. */
	assert_int_equal(
		session("{\"response\":{\"id\":\"sess_2\",\"status\":\"active\"}}", "sess_1", &s),
		-1);
	assert_non_null(strstr(err, "sess_2"));
	static const char *const bad[] = {
		"{\"response\":{\"id\":\"sess_1\"}}",
		"{\"response\":{\"id\":\"sess_1\",\"status\":null}}",
		"{\"response\":{\"id\":\"sess_1\",\"status\":\"active\",\"tasks\":[1]}}",
		"{\"response\":{\"status\":\"active\"}}",
		"{\"response\":{\"id\":\"sess 1\",\"status\":\"active\"}}",
		"{\"response\":null}",
		"{\"errors\":[{\"code\":\"resource_not_found\"}]}",
		"[]",
		"not json",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (session(bad[i], "sess_1", &s) == 0)
			print_error("accepted: %s\n", bad[i]);
		assert_int_equal(session(bad[i], "sess_1", &s), -1);
	}
}

/* --- the client token's forms ---------------------------------------------- */

static void test_token_forms(void **state)
{
	(void)state;
	assert_int_equal(client_token_form(NULL), TOKEN_ABSENT);
	/* Clerk clearing the client */
	assert_int_equal(client_token_form(""), TOKEN_CLEARED);
	assert_int_equal(client_token_form("Bearer"), TOKEN_CLEARED);
	assert_int_equal(client_token_form("bearer"), TOKEN_CLEARED);
	assert_int_equal(client_token_form("Bearer "), TOKEN_CLEARED);
	/* tokens, with or without the prefix */
	assert_int_equal(client_token_form("eyJhbGciOi.x.y"), TOKEN_OK);
	assert_int_equal(client_token_form("Bearer eyJhbGciOi.x.y"), TOKEN_OK);
	assert_int_equal(client_token_form("Bearerish-token"), TOKEN_OK);
	/* not sendable as they are */
	assert_int_equal(client_token_form("Bearer a b"), TOKEN_MALFORMED);
	assert_int_equal(client_token_form("a b"), TOKEN_MALFORMED);
	assert_int_equal(client_token_form("tok\x01"), TOKEN_MALFORMED);
	assert_int_equal(client_token_form("Bearer tok\x7f"), TOKEN_MALFORMED);
	assert_int_equal(client_token_form("tok\xc3\xa9"), TOKEN_MALFORMED);
}

/* --- the issuer ---------------------------------------------------------------- */

static void test_issuer(void **state)
{
	(void)state;
	char out[300];
	/* pk_test_ + base64("clerk.example.test$") */
	static const char pk[] = "pk_test_Y2xlcmsuZXhhbXBsZS50ZXN0JA";
	assert_int_equal(fapi_issuer(NULL, NULL, "https://clerk.example.com", out, sizeof out), 0);
	assert_string_equal(out, "https://clerk.example.com");
	/* behind a proxy: the key's host, not frontend_api's */
	assert_int_equal(fapi_issuer(NULL, pk, "https://example.com/__clerk", out, sizeof out), 0);
	assert_string_equal(out, "https://clerk.example.test");
	/* issuer wins over both */
	assert_int_equal(fapi_issuer("https://clerk.other.test/", pk, "https://example.com/__clerk",
				     out, sizeof out),
			 0);
	assert_string_equal(out, "https://clerk.other.test");
	assert_int_equal(
		fapi_issuer("http://clerk.other.test", NULL, "https://x.test", out, sizeof out),
		-1);
	assert_int_equal(fapi_issuer(NULL, NULL, "https://clerk.example.com", out, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_active_session),
		cmocka_unit_test(test_pending_tasks),
		cmocka_unit_test(test_pending_fails_closed),
		cmocka_unit_test(test_malformed_tasks),
		cmocka_unit_test(test_touch_answer),
		cmocka_unit_test(test_touch_answer_bad),
		cmocka_unit_test(test_token_forms),
		cmocka_unit_test(test_issuer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
