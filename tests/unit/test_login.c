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

#define FAPI	 "https://127.0.0.1:8443"
#define PASSWORD "pw-Secret-1"
#define STEPS	 16

/* --- the fake transport ---------------------------------------------------- */

struct step {
	const char *request; /* "POST /v1/client/sign_ins": method and path expected */
	long status;
	const char *body;
	const char *client_token; /* Authorization the answer carries, or NULL */
	enum http_result fail;	  /* != HTTP_OK: no answer at all */
};

static struct fake {
	struct http_conn conn;
	const struct step *script;
	size_t n, next;
	char sent_auth[STEPS][200]; /* the Authorization each request sent */
	char sent_body[STEPS][600];
	long timeout_ms[STEPS];
	/* the host */
	const char *codes[8];
	size_t n_codes, asked;
	char prompts[8][400];
	char log[16][900];
	size_t n_log;
} F;

static char state_dir[64];

static const char *find_header(const char *const *h, const char *name)
{
	for (; *h != NULL; h++)
		if (strncmp(*h, name, strlen(name)) == 0)
			return *h + strlen(name);
	return NULL;
}

static enum http_result fake_perform(struct http_conn *self, const struct http_request *req,
				     struct http_response *resp, char *err, size_t errsize)
{
	(void)self;
	memset(resp, 0, sizeof *resp);
	if (F.next >= F.n)
		fail_msg("unexpected request %s", req->url);
	size_t i = F.next++;
	const struct step *s = &F.script[i];
	char want[300];
	const char *method = req->method ? req->method : req->body ? "POST" : "GET";
	snprintf(want, sizeof want, "%s %s", method, req->url + strlen(FAPI));
	char *q = strchr(want, '?');
	if (q != NULL)
		*q = '\0';
	assert_string_equal(want, s->request);
	/* Every request spends the one budget: never more than timeout. */
	assert_true(req->timeout_ms > 0 && req->timeout_ms <= 10000);
	F.timeout_ms[i] = req->timeout_ms;
	const char *auth = find_header(req->headers, "Authorization");
	snprintf(F.sent_auth[i], sizeof F.sent_auth[i], "%s", auth ? auth : "(none)");
	snprintf(F.sent_body[i], sizeof F.sent_body[i], "%.*s", (int)req->body_len,
		 req->body ? req->body : "");
	if (s->fail != HTTP_OK) {
		snprintf(err, errsize, "fake failure");
		return s->fail;
	}
	resp->status = s->status;
	buf_init(&resp->body, HTTP_BODY_MAX);
	assert_int_equal(buf_append_str(&resp->body, s->body ? s->body : ""), 0);
	if (s->client_token != NULL)
		resp->authorization = strdup(s->client_token);
	return HTTP_OK;
}

static int ask(void *ctx, const char *prompt, char **answer)
{
	(void)ctx;
	if (F.asked >= 8)
		return -1;
	snprintf(F.prompts[F.asked], sizeof F.prompts[0], "%s", prompt);
	if (F.asked >= F.n_codes || F.codes[F.asked] == NULL) {
		F.asked++;
		return -1;
	}
	*answer = strdup(F.codes[F.asked++]);
	return *answer ? 0 : -1;
}

static void log_line(void *ctx, int priority, const char *line)
{
	(void)ctx;
	(void)priority;
	if (F.n_log < 16)
		snprintf(F.log[F.n_log++], sizeof F.log[0], "%s", line);
}

static time_t clock_now(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static const struct login_host host = { ask, log_line, clock_now, NULL };

static bool logged(const char *part)
{
	for (size_t i = 0; i < F.n_log; i++)
		if (strstr(F.log[i], part) != NULL)
			return true;
	return false;
}

/* --- FAPI answers ------------------------------------------------------------ */

#define COMPLETE                                                                                   \
	"{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":\"complete\","  \
	"\"created_session_id\":\"sess_1\"},\"client\":{\"object\":\"client\",\"id\":\"client_"    \
	"1\","                                                                                     \
	"\"sessions\":[{\"id\":\"sess_1\",\"status\":\"active\",\"user\":{\"id\":\"user_1\"},"     \
	"\"last_active_token\":{\"object\":\"token\",\"jwt\":\"jwt_1\"}}]}}"
#define NEEDS(status, trust, factors)                                                              \
	"{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":\"" status      \
	"\",\"client_trust_state\":\"" trust "\",\"supported_second_factors\":" factors            \
	"},\"client\":null}"
#define TOTP "[{\"strategy\":\"totp\",\"default\":true}]"
#define PHONE                                                                                      \
	"[{\"strategy\":\"phone_code\",\"safe_identifier\":\"+1*****0101\",\"phone_number_id\":"   \
	"\"idn_p1\"}]"
#define EMAIL                                                                                      \
	"[{\"strategy\":\"email_code\",\"safe_identifier\":\"a***@example.com\",\"email_address_"  \
	"id\":\"idn_e1\"}]"
#define BACKUP	    "[{\"strategy\":\"backup_code\"}]"
#define ERROR(code) "{\"errors\":[{\"code\":\"" code "\",\"message\":\"m\"}]}"
#define CLIENT	    "{\"response\":{},\"client\":null}"

#define CREATE	"POST /v1/client/sign_ins"
#define FIRST	"POST /v1/client/sign_ins/sia_1/attempt_first_factor"
#define PREPARE "POST /v1/client/sign_ins/sia_1/prepare_second_factor"
#define ATTEMPT "POST /v1/client/sign_ins/sia_1/attempt_second_factor"
#define REMOVE	"DELETE /v1/client/sessions"
#define JWKS	"GET /.well-known/jwks.json"

/* --- set-up ------------------------------------------------------------------ */

static void run(const struct step *script, size_t n, const char *const *args, size_t nargs,
		const char *password, struct login_result *res)
{
	const char *argv[12];
	char sd[128];
	size_t argc = 0;
	snprintf(sd, sizeof sd, "state_dir=%s", state_dir);
	argv[argc++] = "frontend_api=" FAPI;
	argv[argc++] = sd;
	for (size_t i = 0; i < nargs && argc < 12; i++)
		argv[argc++] = args[i];
	struct conf cfg;
	char err[512];
	if (conf_load(&cfg, (int)argc, argv, "/nonexistent/pam_clerk.conf", err, sizeof err) != 0)
		fail_msg("conf: %s", err);
	F.script = script;
	F.n = n;
	F.next = 0;
	F.asked = 0;
	F.n_log = 0;
	login_run(&cfg, "alice", password, &F.conn, &host, res);
	conf_free(&cfg);
	assert_int_equal(F.next, F.n); /* every scripted request was made */
	assert_int_equal(res->fapi.requests, (int)n);
	assert_int_equal(res->pam_code, outcome_info(res->outcome)->pam_code);
}

#define RUN(script, res, ...)                                                                      \
	do {                                                                                       \
		static const char *const args_[] = { __VA_ARGS__ };                                \
		run(script, sizeof script / sizeof script[0], args_ + 1,                           \
		    sizeof args_ / sizeof args_[0] - 1, PASSWORD, res);                            \
	} while (0)

static void codes(const char *a, const char *b, const char *c)
{
	F.codes[0] = a;
	F.codes[1] = b;
	F.codes[2] = c;
	F.n_codes = 3;
}

static size_t files_in_state_dir(const char *suffix)
{
	DIR *d = opendir(state_dir);
	size_t n = 0;
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), s = strlen(suffix);
		n += l > s && strcmp(e->d_name + l - s, suffix) == 0;
	}
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof F);
	F.conn.perform = fake_perform;
	snprintf(state_dir, sizeof state_dir, "/tmp/pam_clerk-login.XXXXXX");
	return mkdtemp(state_dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
	return system(cmd);
}

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
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
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
