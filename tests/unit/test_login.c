/* Whole logins through the login core (login.c), without libpam and without
 * a network: a fake transport (struct http_conn) answers from a script and
 * checks each request, a fake host types codes and keeps the log lines. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <security/_pam_types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "http.h"
#include "login.h"
#include "outcome.h"

#include "fake_fapi.h"

/* --- whole logins -------------------------------------------------------------- */

static void test_password_alone(void **state)
{
	(void)state;
	static const struct step s[] = { { CREATE, 200, COMPLETE, "client_tok_1", HTTP_OK } };
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_int_equal(res.pam_code, PAM_SUCCESS);
	assert_string_equal(F.sent_auth[0], ";"); /* an empty Authorization: a new client */
	assert_non_null(strstr(F.sent_body[0], "identifier=alice"));
	assert_non_null(strstr(F.sent_body[0], "password=" PASSWORD));
	assert_non_null(strstr(res.log_line, "user=alice identifier=alice outcome=success "
					     "pam=PAM_SUCCESS"));
	assert_non_null(strstr(res.log_line, "requests=1 factor=- client=new"));
	assert_null(strstr(res.log_line, PASSWORD));
	/* end_session=close: the session stage gets the session and its client. */
	assert_string_equal(res.session_id, "sess_1");
	assert_string_equal(res.client_token, "client_tok_1");
	assert_int_equal(res.n_env, 0);
	assert_string_equal(res.message, "");
	assert_int_equal(files_in_state_dir(".token"), 0); /* no Device Trust: nothing kept */
	login_result_clear(&res);
}

static void test_wrong_password(void **state)
{
	(void)state;
	static const struct step s[] = { { CREATE, 422, ERROR("form_password_incorrect"), NULL,
					   HTTP_OK } };
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_BAD_CREDENTIALS);
	assert_int_equal(res.pam_code, PAM_AUTH_ERR);
	assert_non_null(strstr(res.log_line, "clerk_error=form_password_incorrect http=422"));
	assert_null(res.client_token);
	login_result_clear(&res);
}

static void test_first_factor_step(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_first_factor", "known", "null"), NULL, HTTP_OK },
		{ FIRST, 200, COMPLETE, NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_non_null(strstr(F.sent_body[1], "strategy=password"));
	assert_non_null(strstr(F.sent_body[1], "password=" PASSWORD));
	assert_int_equal(F.asked, 0);
	login_result_clear(&res);
}

static void second_factor(const char *list, const char *strategy, bool prepared,
			  const char *prompt_part)
{
	struct step s[] = {
		{ CREATE, 200, NULL, NULL, HTTP_OK },
		{ PREPARE, 200, NULL, NULL, HTTP_OK },
		{ ATTEMPT, 200, COMPLETE, NULL, HTTP_OK },
	};
	char needs[600];
	snprintf(needs, sizeof needs,
		 "{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":"
		 "\"needs_second_factor\",\"client_trust_state\":\"known\","
		 "\"supported_second_factors\":%s},\"client\":null}",
		 list);
	s[0].body = s[1].body = needs;
	if (!prepared)
		s[1] = s[2];
	codes("123 456", NULL, NULL);
	struct login_result res;
	run(s, prepared ? 3 : 2, NULL, 0, PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_int_equal(F.asked, 1);
	assert_non_null(strstr(F.prompts[0], prompt_part));
	char want[100];
	snprintf(want, sizeof want, "strategy=%s&code=123456", strategy);
	assert_string_equal(F.sent_body[prepared ? 2 : 1], want);
	snprintf(want, sizeof want, "factor=%s client=new", strategy);
	assert_non_null(strstr(res.log_line, want));
	login_result_clear(&res);
}

static void test_totp(void **state)
{
	(void)state;
	second_factor(TOTP, "totp", false, "authenticator app code");
}

static void test_phone_code(void **state)
{
	(void)state;
	second_factor(PHONE, "phone_code", true, "code sent by SMS to +1*****0101");
	assert_non_null(strstr(F.sent_body[1], "phone_number_id=idn_p1"));
}

static void test_email_code(void **state)
{
	(void)state;
	second_factor(EMAIL, "email_code", true, "code sent by email to a***@example.com");
	assert_non_null(strstr(F.sent_body[1], "email_address_id=idn_e1"));
}

static void test_backup_code(void **state)
{
	(void)state;
	second_factor(BACKUP, "backup_code", false, "backup code");
}

static void test_wrong_code_then_right(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_second_factor", "known", TOTP), NULL, HTTP_OK },
		{ ATTEMPT, 422, ERROR("form_code_incorrect"), NULL, HTTP_OK },
		{ ATTEMPT, 200, COMPLETE, NULL, HTTP_OK },
	};
	codes("111111", "222222", NULL);
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_int_equal(F.asked, 2);
	assert_non_null(strstr(F.prompts[1], "Wrong code. "));
	assert_string_equal(F.sent_body[2], "strategy=totp&code=222222");
	login_result_clear(&res);
}

static void test_too_many_codes(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_second_factor", "known", TOTP), NULL, HTTP_OK },
		{ ATTEMPT, 422, ERROR("form_code_incorrect"), NULL, HTTP_OK },
		{ ATTEMPT, 422, ERROR("form_code_incorrect"), NULL, HTTP_OK },
	};
	codes("111111", "222222", "333333");
	struct login_result res;
	RUN(s, &res, NULL, "max_tries=2");
	assert_int_equal(res.outcome, OUTCOME_TOO_MANY_CODES);
	assert_int_equal(res.pam_code, PAM_MAXTRIES);
	assert_string_equal(res.message, "Too many wrong codes.");
	login_result_clear(&res);
}

static void test_cannot_prompt(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_second_factor", "known", TOTP), NULL, HTTP_OK },
	};
	codes(NULL, NULL, NULL);
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_CANNOT_PROMPT);
	assert_int_equal(res.pam_code, PAM_CRED_INSUFFICIENT);
	assert_true(res.message[0] != '\0');
	login_result_clear(&res);
}

/* Device Trust: a new device proves itself with a code once; the client is
 * kept (its sessions removed) and the next login sends it back, password
 * only. */
static void trust_this_host(void)
{
	static const struct step s[] = {
		{ CREATE, 200, NEEDS("needs_client_trust", "new", EMAIL), "client_trusted",
		  HTTP_OK },
		{ PREPARE, 200, NEEDS("needs_client_trust", "new", EMAIL), NULL, HTTP_OK },
		{ ATTEMPT, 200, COMPLETE, NULL, HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	codes("424242", NULL, NULL);
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_non_null(strstr(F.prompts[0], "New device"));
	assert_int_equal(files_in_state_dir(".token"), 1);
	assert_null(res.client_token); /* its sessions are gone already */
	login_result_clear(&res);
}

static void test_device_trust_then_stored_client(void **state)
{
	(void)state;
	trust_this_host();
	static const struct step s[] = {
		{ CREATE, 200, COMPLETE, NULL, HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_string_equal(F.sent_auth[0], ": client_trusted");
	assert_int_equal(F.asked, 0);
	assert_non_null(strstr(res.log_line, "client=stored"));
	assert_int_equal(files_in_state_dir(".token"), 1);
	login_result_clear(&res);
}

static void test_stale_stored_client(void **state)
{
	(void)state;
	trust_this_host();
	static const struct step s[] = {
		{ CREATE, 401, ERROR("authentication_invalid"), NULL, HTTP_OK },
		{ CREATE, 200, COMPLETE, "client_new", HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL);
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_string_equal(F.sent_auth[0], ": client_trusted");
	assert_string_equal(F.sent_auth[1], ";"); /* afresh, without it */
	assert_non_null(strstr(res.log_line, "client=stale"));
	login_result_clear(&res);
	/* The stale client is gone; the new one (sessions removed) took its place. */
	static const struct step next[] = {
		{ CREATE, 200, COMPLETE, NULL, HTTP_OK },
		{ REMOVE, 200, CLIENT, NULL, HTTP_OK },
	};
	RUN(next, &res, NULL);
	assert_string_equal(F.sent_auth[0], ": client_new");
	assert_int_equal(files_in_state_dir(".token"), 1);
	login_result_clear(&res);
}

/* offline_cache: kept after an online success, used only when Clerk cannot
 * be reached, never after a 4xx answer (which forgets it). */
static void test_offline_cache(void **state)
{
	(void)state;
	static const struct step ok[] = { { CREATE, 200, COMPLETE, NULL, HTTP_OK } };
	static const struct step down[] = { { CREATE, 0, NULL, NULL, HTTP_ERR_CONNECT } };
	static const struct step wrong[] = { { CREATE, 422, ERROR("form_password_incorrect"), NULL,
					       HTTP_OK } };
	struct login_result res;
	RUN(ok, &res, NULL, "offline_cache=1");
	assert_int_equal(res.outcome, OUTCOME_SUCCESS);
	assert_int_equal(files_in_state_dir(".offline"), 1);
	login_result_clear(&res);

	RUN(down, &res, NULL, "offline_cache=1");
	assert_int_equal(res.outcome, OUTCOME_OFFLINE);
	assert_int_equal(res.pam_code, PAM_SUCCESS);
	assert_true(logged("Clerk unreachable (network_error); offline cache: ok"));
	assert_string_equal(res.session_id, "");
	assert_null(res.client_token);
	login_result_clear(&res);

	run(down, 1, (const char *const[]){ "offline_cache=1" }, 1, "not-the-password", &res);
	assert_int_equal(res.outcome, OUTCOME_OFFLINE_BAD_PASSWORD);
	assert_int_equal(res.pam_code, PAM_AUTH_ERR);
	login_result_clear(&res);

	RUN(wrong, &res, NULL, "offline_cache=1");
	assert_int_equal(res.outcome, OUTCOME_BAD_CREDENTIALS);
	assert_int_equal(files_in_state_dir(".offline"), 0);
	login_result_clear(&res);

	RUN(down, &res, NULL, "offline_cache=1");
	assert_int_equal(res.outcome, OUTCOME_NETWORK_ERROR);
	assert_int_equal(res.pam_code, PAM_AUTHINFO_UNAVAIL);
	login_result_clear(&res);
}

static void test_transport_failures_map_once(void **state)
{
	(void)state;
	static const struct {
		enum http_result h;
		enum outcome o;
	} cases[] = {
		{ HTTP_ERR_CONNECT, OUTCOME_NETWORK_ERROR },
		{ HTTP_ERR_TIMEOUT, OUTCOME_TIMEOUT },
		{ HTTP_ERR_TLS, OUTCOME_TLS_ERROR },
		{ HTTP_ERR_TOO_BIG, OUTCOME_BAD_RESPONSE },
		{ HTTP_ERR_PROTOCOL, OUTCOME_BAD_RESPONSE },
		{ HTTP_ERR_INTERNAL, OUTCOME_INTERNAL_ERROR },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct step s[] = { { CREATE, 0, NULL, NULL, cases[i].h } };
		struct login_result res;
		run(s, 1, NULL, 0, PASSWORD, &res);
		assert_int_equal(res.outcome, cases[i].o);
		assert_int_equal(outcome_from_transport(cases[i].h), cases[i].o);
		login_result_clear(&res);
	}
}

/* A JWKS that is not one is Clerk's (or a proxy's) fault: unavailable, not
 * a refused token. */
static void test_malformed_jwks_is_not_an_attack(void **state)
{
	(void)state;
	static const struct step s[] = {
		{ CREATE, 200, COMPLETE, NULL, HTTP_OK },
		{ JWKS, 200, "{\"keys\":\"none\"}", NULL, HTTP_OK },
	};
	struct login_result res;
	RUN(s, &res, NULL, "export_env", "end_session=never");
	assert_int_equal(res.outcome, OUTCOME_BAD_RESPONSE);
	assert_int_equal(res.pam_code, PAM_AUTHINFO_UNAVAIL);
	assert_false(logged("REFUSED"));
	assert_int_equal(res.n_env, 0);
	login_result_clear(&res);
}

/* A token that does not verify under the pinned key is refused, and says so. */
static void test_unverified_token_refused(void **state)
{
	(void)state;
	char path[128], arg[160];
	snprintf(path, sizeof path, "%s/key.pem", state_dir);
	EVP_PKEY *k = EVP_RSA_gen(2048);
	FILE *f = fopen(path, "w");
	assert_non_null(k);
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
	snprintf(arg, sizeof arg, "jwt_key=%s", path);
	static const struct step s[] = { { CREATE, 200, COMPLETE, NULL, HTTP_OK } };
	const char *args[] = { "export_env", arg };
	struct login_result res;
	run(s, 1, args, 2, PASSWORD, &res);
	assert_int_equal(res.outcome, OUTCOME_JWT_INVALID);
	assert_int_equal(res.pam_code, PAM_AUTH_ERR);
	assert_true(logged("session JWT REFUSED for session sess_1"));
	assert_false(res.verified);
	assert_int_equal(res.n_env, 0);
	login_result_clear(&res);
}

static void test_nothing_to_ask(void **state)
{
	(void)state;
	struct login_result res;
	run(NULL, 0, NULL, 0, "", &res);
	assert_int_equal(res.outcome, OUTCOME_EMPTY_PASSWORD);
	login_result_clear(&res);

	const char *args[] = { "identifier=%u@example.com" };
	struct conf cfg;
	char err[200], sd[128];
	snprintf(sd, sizeof sd, "state_dir=%s", state_dir);
	const char *argv[] = { "frontend_api=" FAPI, sd, args[0] };
	assert_int_equal(conf_load(&cfg, 3, argv, "/nonexistent", err, sizeof err), 0);
	login_run(&cfg, "bad\nname", PASSWORD, &F.conn, &host, &res);
	assert_int_equal(res.outcome, OUTCOME_BAD_CREDENTIALS);
	assert_int_equal(res.fapi.requests, 0);
	login_result_clear(&res);
	login_run(&cfg, "alice", PASSWORD, NULL, &host, &res); /* no connection: out of memory */
	assert_int_equal(res.outcome, OUTCOME_INTERNAL_ERROR);
	assert_int_equal(res.pam_code, PAM_SYSTEM_ERR);
	login_result_clear(&res);
	conf_free(&cfg);
	assert_int_equal(F.next, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fake_setup, fake_teardown)
	const struct CMUnitTest tests[] = {
		T(test_password_alone),
		T(test_wrong_password),
		T(test_first_factor_step),
		T(test_totp),
		T(test_phone_code),
		T(test_email_code),
		T(test_backup_code),
		T(test_wrong_code_then_right),
		T(test_too_many_codes),
		T(test_cannot_prompt),
		T(test_device_trust_then_stored_client),
		T(test_stale_stored_client),
		T(test_offline_cache),
		T(test_transport_failures_map_once),
		T(test_malformed_jwks_is_not_an_attack),
		T(test_unverified_token_refused),
		T(test_nothing_to_ask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
