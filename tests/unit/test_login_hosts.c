/* Whole logins for web and mail hosts (issue 15): the default end_session
 * ends the Clerk session at authentication, the Device Trust path still
 * keeps its client, and the success cache answers, never after a further
 * factor and never after a refusal. Uses the fake Frontend API. */
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
#include <time.h>
#include <cmocka.h>

#include "conf.h"
#include "http.h"
#include "login.h"
#include "outcome.h"

#include "fake_fapi.h"

#define END "POST /v1/client/sessions/sess_1/end"

/* A login of user with the module's defaults but for args (run() of
 * fake_fapi.c sets end_session=close for the older scripts). */
static void login(const char *user, const struct step *s, size_t n, const char *arg1,
		  const char *password, struct login_result *res)
{
	char sd[128], err[512];
	struct conf cfg;
	snprintf(sd, sizeof sd, "state_dir=%s", state_dir);
	/* These users are no accounts here, and the fake answers at once. */
	const char *argv[] = { "frontend_api=" FAPI,	 sd,
			       "local_accounts_only=no", "signin_rate=off",
			       "attempt_rate=off",	 arg1 ? arg1 : "debug" };
	assert_int_equal(conf_load(&cfg, 6, argv, "/nonexistent", err, sizeof err), 0);
	F.script = s;
	F.n = n;
	F.next = 0;
	F.asked = 0;
	F.n_log = 0;
	login_run(&cfg, user, password, &F.conn, &host, res);
	conf_free(&cfg);
	assert_int_equal(F.next, F.n);
	assert_int_equal(res->pam_code, outcome_info(res->outcome)->pam_code);
}

static void test_default_ends_the_session_at_auth(void **state)
{
	(void)state;
	static const struct step s[] = { { CREATE, 200, COMPLETE, "client_tok_1", HTTP_OK },
					 { END, 200, CLIENT, NULL, HTTP_OK } };
	struct login_result res;
	login("dflt", s, 2, NULL, PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_true(res.fapi.session_ended);
	/* Nothing for a session stage to end: no client handed on. */
	assert_null(res.client_token);
	assert_string_equal(res.session_id, "sess_1");
	login_result_clear(&res);
}

/* A Device Trust sign-in on a trusted host removes the sessions to keep
 * the client, whatever end_session says: no session is left either. */
static void test_trusted_host_still_keeps_its_client(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_client_trust", "new", EMAIL), "client_trusted",
		  HTTP_OK },
		{ PREPARE, 200, NEEDS("needs_client_trust", "new", EMAIL), NULL, HTTP_OK },
		{ ATTEMPT, 200, COMPLETE, NULL, HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	codes("424242", NULL, NULL);
	struct login_result res;
	login("trusty", s, 4, "cached_auth_timeout=60", PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_true(res.fapi.session_ended);
	assert_int_equal(files_in_state_dir(".token"), 1);
	/* A sign-in that needed a Device Trust code is never cached. */
	assert_int_equal(files_in_state_dir(".success"), 0);
	login_result_clear(&res);
	static const struct step again[] = { { CREATE, 200, COMPLETE, "client_trusted", HTTP_OK },
					     { REMOVE, 200, CLIENT, NULL, HTTP_OK } };
	login("trusty", again, 2, "cached_auth_timeout=60", PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	login_result_clear(&res);
}

static void test_success_cache_answers_then_forgets(void **state)
{
	(void)state;
	static const struct step ok[] = { { CREATE, 200, COMPLETE, NULL, HTTP_OK },
					  { END, 200, CLIENT, NULL, HTTP_OK } };
	static const struct step wrong[] = { { CREATE, 422, ERROR("form_password_incorrect"), NULL,
					       HTTP_OK } };
	struct login_result res;
	login("carol", ok, 2, "cached_auth_timeout=30", PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_int_equal(files_in_state_dir(".success"), 1);
	login_result_clear(&res);
	/* No request at all, and logged as such. */
	login("carol", NULL, 0, "cached_auth_timeout=30", PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_CACHED);
	assert_int_equal(res.pam_code, PAM_SUCCESS);
	assert_non_null(strstr(res.log_line, "outcome=cached pam=PAM_SUCCESS"));
	assert_non_null(strstr(res.log_line, "requests=0"));
	assert_string_equal(res.session_id, "");
	assert_null(res.client_token);
	login_result_clear(&res);
	/* Another password asks Clerk; its refusal forgets the success. */
	login("carol", wrong, 1, "cached_auth_timeout=30", "other password", &res);
	assert_int_equal(res.outcome, OUTCOME_BAD_CREDENTIALS);
	assert_int_equal(files_in_state_dir(".success"), 0);
	login_result_clear(&res);
	login("carol", ok, 2, "cached_auth_timeout=30", PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	login_result_clear(&res);
	/* Off: Clerk is asked every time. */
	login("carol", ok, 2, "cached_auth_timeout=0", PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	login_result_clear(&res);
}

static void test_success_cache_never_after_a_second_factor(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_second_factor", "known", TOTP), NULL, HTTP_OK },
		{ ATTEMPT, 200, COMPLETE, NULL, HTTP_OK },
		{ END, 200, CLIENT, NULL, HTTP_OK },
	};
	struct login_result res;
	for (int i = 0; i < 2; i++) {
		codes("123456", NULL, NULL);
		login("dave", s, 3, "cached_auth_timeout=60", PASSWORD, &res);
		assert_int_equal(res.outcome, OUTCOME_SUCCESS);
		assert_string_equal(res.fapi.factor, "totp");
		login_result_clear(&res);
	}
	assert_int_equal(files_in_state_dir(".success"), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fake_setup, fake_teardown)
	const struct CMUnitTest tests[] = {
		T(test_default_ends_the_session_at_auth),
		T(test_trusted_host_still_keeps_its_client),
		T(test_success_cache_answers_then_forgets),
		T(test_success_cache_never_after_a_second_factor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
