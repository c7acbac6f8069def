/* Whole logins against answers only real Clerk gives (issue 12), through the
 * login core with the fake transport of fake_fapi.c: pending sessions, the
 * client token with or without "Bearer " or cleared, a forgotten client. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <security/_pam_types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"
#include "login.h"
#include "outcome.h"

#include "fake_fapi.h"

/* A complete sign-in whose session is pending with one task. */
#define PENDING(task)                                                                              \
	"{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":\"complete\","  \
	"\"created_session_id\":\"sess_1\"},\"client\":{\"object\":\"client\",\"sessions\":[{"     \
	"\"id\":\"sess_1\",\"status\":\"pending\",\"tasks\":[{\"key\":\"" task "\"}],"             \
	"\"user\":{\"id\":\"user_1\"},\"last_active_token\":{\"object\":\"token\","                \
	"\"jwt\":\"jwt_pending\"}}]}}"
#define SESSION(status, tasks)                                                                     \
	"{\"response\":{\"object\":\"session\",\"id\":\"sess_1\",\"status\":\"" status "\","       \
	"\"tasks\":" tasks "},\"client\":{}}"
#define END   "POST /v1/client/sessions/sess_1/end"
#define TOUCH "POST /v1/client/sessions/sess_1/touch"

/* --- pending sessions ------------------------------------------------------------ */

static void test_reset_password_task(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, PENDING("reset-password"), "client_tok_1", HTTP_OK },
		{ END, 200, SESSION("ended", "[]"), NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL, "export_env");
	assert_int_equal(res.outcome, OUTCOME_PASSWORD_COMPROMISED);
	assert_int_equal(res.pam_code, PAM_AUTH_ERR);
	assert_non_null(strstr(res.message, "reset"));
	assert_true(res.fapi.session_ended);
	assert_int_equal(res.n_env, 0); /* no token fetched, none exported */
	assert_null(res.client_token);
	login_result_clear(&res);
}

static void test_setup_mfa_task(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, PENDING("setup-mfa"), "client_tok_1", HTTP_OK },
		{ END, 200, SESSION("ended", "[]"), NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL, "organization=org_1", "end_session=never");
	assert_int_equal(res.outcome, OUTCOME_MFA_SETUP_REQUIRED);
	assert_int_equal(res.pam_code, PAM_CRED_INSUFFICIENT);
	assert_non_null(strstr(res.message, "MFA"));
	assert_non_null(strstr(res.log_line, "outcome=mfa_setup_required"));
	login_result_clear(&res);
}

static void test_choose_organization_without_organization(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, PENDING("choose-organization"), NULL, HTTP_OK },
		{ END, 200, SESSION("ended", "[]"), NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_NOT_AUTHORIZED);
	assert_int_equal(res.pam_code, PAM_AUTH_ERR);
	login_result_clear(&res);
}

/* organization= chosen, yet the session stays pending (or Clerk refuses the
 * organization): still not signed in, and the session is ended. */
static void test_choose_organization_still_pending(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, PENDING("choose-organization"), NULL, HTTP_OK },
		{ TOUCH, 200, SESSION("pending", "[{\"key\":\"choose-organization\"}]"), NULL,
		  HTTP_OK },
		{ END, 200, SESSION("ended", "[]"), NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL, "organization=team");
	assert_int_equal(res.outcome, OUTCOME_NOT_AUTHORIZED);
	assert_non_null(strstr(F.sent_body[1], "active_organization_id=team"));
	login_result_clear(&res);

	static const struct step refused[] = {
		{ CREATE, 200, PENDING("choose-organization"), NULL, HTTP_OK },
		{ TOUCH, 404, ERROR("resource_not_found"), NULL, HTTP_OK },
		{ END, 200, SESSION("ended", "[]"), NULL, HTTP_OK },
	};
	RUN(refused, &res, NULL, "organization=team");
	assert_int_equal(res.outcome, OUTCOME_NOT_AUTHORIZED);
	login_result_clear(&res);
}

static void test_unknown_task_needs_a_browser(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, PENDING("some-future-task"), NULL, HTTP_OK },
		{ END, 200, SESSION("ended", "[]"), NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_NEEDS_MORE_FACTORS);
	login_result_clear(&res);
}

/* --- the client token ------------------------------------------------------------ */

static void trust_this_host(const char *token)
{
	const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_client_trust", "new", EMAIL), token, HTTP_OK },
		{ PREPARE, 200, NEEDS("needs_client_trust", "new", EMAIL), NULL, HTTP_OK },
		{ ATTEMPT, 200, COMPLETE, NULL, HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	codes("424242", NULL, NULL);
	struct login_result res;
	run(s, 4, NULL, 0, PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_int_equal(files_in_state_dir(".token"), 1);
	login_result_clear(&res);
}

static void test_bearer_token_sent_back_as_it_came(void **state)
{
	(void)state;
	trust_this_host("Bearer client_trusted");
	/* every request of that login sent it back verbatim */
	assert_string_equal(F.sent_auth[1], ": Bearer client_trusted");
	assert_string_equal(F.sent_auth[3], ": Bearer client_trusted");
	static const struct step s[] = {
		{ CREATE, 200, COMPLETE, "Bearer client_rotated", HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_string_equal(F.sent_auth[0], ": Bearer client_trusted");
	assert_string_equal(F.sent_auth[1], ": Bearer client_rotated");
	assert_non_null(strstr(res.log_line, "client=stored"));
	login_result_clear(&res);
}

static void cleared(const char *value)
{
	trust_this_host("client_trusted");
	const struct step s[] = { { CREATE, 200, COMPLETE, value, HTTP_OK } };
	struct login_result res;
	run(s, 1, NULL, 0, PASSWORD, &res);
	/* signed in, but nothing of the cleared client is kept or sent again */
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_true(res.fapi.client_cleared);
	assert_null(res.client_token);
	assert_int_equal(files_in_state_dir(".token"), 0);
	login_result_clear(&res);
	/* the next login starts without a client */
	static const struct step next[] = { { CREATE, 200, COMPLETE, NULL, HTTP_OK } };
	run(next, 1, NULL, 0, PASSWORD, &res);
	assert_string_equal(F.sent_auth[0], ";");
	login_result_clear(&res);
}

static void test_cleared_client_empty(void **state)
{
	(void)state;
	cleared("");
}

static void test_cleared_client_lone_bearer(void **state)
{
	(void)state;
	cleared("Bearer");
}

static void test_malformed_token_is_a_bad_response(void **state)
{
	(void)state;
	static const struct step s[] = { { CREATE, 200, COMPLETE, "Bearer a b", HTTP_OK } };
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_BAD_RESPONSE);
	login_result_clear(&res);
}

/* --- a client Clerk forgot ----------------------------------------------------- */

static void test_forgotten_client_replaced_once(void **state)
{
	(void)state;
	trust_this_host("client_trusted");
	static const struct step s[] = {
		{ CREATE, 404, ERROR("resource_not_found"), NULL, HTTP_OK },
		{ CREATE, 200, COMPLETE, "client_new", HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_string_equal(F.sent_auth[0], ": client_trusted");
	assert_string_equal(F.sent_auth[1], ";");
	assert_non_null(strstr(res.log_line, "client=stale"));
	login_result_clear(&res);

	/* forgotten again, and again: one restart, no more; nothing kept */
	static const struct step twice[] = {
		{ CREATE, 404, ERROR("resource_not_found"), NULL, HTTP_OK },
		{ CREATE, 404, ERROR("resource_not_found"), NULL, HTTP_OK },
	};
	RUN(twice, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_REJECTED);
	assert_int_equal(files_in_state_dir(".token"), 0);
	login_result_clear(&res);
}

/* Any 401 but a dev-browser one drops the stored client; that one is a
 * misconfiguration, with no handshake and no second sign-in. */
static void test_which_answers_mean_a_stale_client(void **state)
{
	(void)state;
	trust_this_host("client_trusted");
	static const struct step s[] = {
		{ CREATE, 401, ERROR("some_new_401_code"), NULL, HTTP_OK },
		{ CREATE, 200, COMPLETE, "client_new", HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	login_result_clear(&res);
	static const struct step dev[] = {
		{ CREATE, 401, ERROR("dev_browser_unauthenticated"), NULL, HTTP_OK },
	};
	RUN(dev, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_MISCONFIGURED);
	assert_int_equal(res.fapi.requests, 1);
	assert_non_null(strstr(res.log_line, "fix=\""));
	login_result_clear(&res);
	/* a 404 for something else than the client is no reason to start again */
	static const struct step other[] = {
		{ CREATE, 404, ERROR("form_identifier_not_found"), NULL, HTTP_OK },
	};
	RUN(other, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_BAD_CREDENTIALS);
	assert_int_equal(res.fapi.requests, 1);
	login_result_clear(&res);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fake_setup, fake_teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset_password_task),
		T(test_setup_mfa_task),
		T(test_choose_organization_without_organization),
		T(test_choose_organization_still_pending),
		T(test_unknown_task_needs_a_browser),
		T(test_bearer_token_sent_back_as_it_came),
		T(test_cleared_client_empty),
		T(test_cleared_client_lone_bearer),
		T(test_malformed_token_is_a_bad_response),
		T(test_forgotten_client_replaced_once),
		T(test_which_answers_mean_a_stale_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
