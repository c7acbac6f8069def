/* The account stage's decision (account.c) without libpam: the rules on a
 * login's claims, and the Backend API lookup through a fake transport. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "account.h"
#include "buf.h"
#include "conf.h"
#include "http.h"

#define BAPI "https://127.0.0.1:8444"

static struct {
	struct http_conn conn;
	long status;
	const char *body;
	enum http_result fail;
	int requests;
	char url[600];
	char auth[200];
} F;

static char dir[64], key_path[128], key_arg[160];

static enum http_result fake_perform(struct http_conn *self, const struct http_request *req,
				     struct http_response *resp, char *err, size_t errsize)
{
	(void)self;
	memset(resp, 0, sizeof *resp);
	F.requests++;
	snprintf(F.url, sizeof F.url, "%s", req->url);
	snprintf(F.auth, sizeof F.auth, "%s", req->headers[0] ? req->headers[0] : "");
	if (F.fail != HTTP_OK) {
		snprintf(err, errsize, "fake failure");
		return F.fail;
	}
	resp->status = F.status;
	buf_init(&resp->body, HTTP_BODY_MAX);
	assert_int_equal(buf_append_str(&resp->body, F.body), 0);
	return HTTP_OK;
}

static void load(struct conf *cfg, const char *extra)
{
	const char *argv[] = { "frontend_api=https://127.0.0.1:8443", "backend_api=" BAPI, key_arg,
			       "organization=org_ops", extra };
	char err[300];
	if (conf_load(cfg, extra ? 5 : 4, argv, "/nonexistent", err, sizeof err) != 0)
		fail_msg("conf: %s", err);
}

static void backend(const char *extra, const char *user, struct account_result *a)
{
	struct conf cfg;
	load(&cfg, extra);
	account_check_backend(&cfg, &F.conn, user, a);
	conf_free(&cfg);
}

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof F);
	F.conn.perform = fake_perform;
	snprintf(dir, sizeof dir, "/tmp/pam_clerk-account.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(key_path, sizeof key_path, "%s/sk", dir);
	snprintf(key_arg, sizeof key_arg, "secret_key_file=%s", key_path);
	FILE *f = fopen(key_path, "w");
	if (f == NULL)
		return -1;
	fputs("sk_test_secret\n", f);
	fclose(f);
	return chmod(key_path, 0600);
}

static int teardown(void **state)
{
	(void)state;
	unlink(key_path);
	return rmdir(dir);
}

static void test_claims_without_rules(void **state)
{
	(void)state;
	struct conf cfg;
	struct account_result a;
	load(&cfg, NULL);
	account_check_claims(&cfg, false, NULL, &a);
	assert_int_equal(a.pam_code, PAM_SUCCESS);
	conf_free(&cfg);
}

static void test_claims_with_rules(void **state)
{
	(void)state;
	struct conf cfg;
	struct account_result a;
	struct jwt_claims c;
	memset(&c, 0, sizeof c);
	load(&cfg, "require_organization");
	account_check_claims(&cfg, false, &c, &a);
	assert_int_equal(a.pam_code, PAM_PERM_DENIED);
	assert_non_null(strstr(a.why, "no verified session token"));
	account_check_claims(&cfg, true, &c, &a);
	assert_int_equal(a.pam_code, PAM_PERM_DENIED);
	assert_non_null(strstr(a.why, "not a member"));
	snprintf(c.org_id, sizeof c.org_id, "org_ops");
	account_check_claims(&cfg, true, &c, &a);
	assert_int_equal(a.pam_code, PAM_SUCCESS);
	conf_free(&cfg);
	assert_int_equal(F.requests, 0);
}

static void test_backend_found(void **state)
{
	(void)state;
	struct account_result a;
	F.status = 200;
	F.body = "[{\"id\":\"user_1\",\"banned\":false,\"locked\":false}]";
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_SUCCESS);
	assert_int_equal(F.requests, 1);
	assert_int_equal(strncmp(F.url, BAPI "/v1/users?", strlen(BAPI "/v1/users?")), 0);
	assert_non_null(strstr(F.url, "username=alice"));
	assert_string_equal(F.auth, "Authorization: Bearer sk_test_secret");
}

static void test_backend_banned_locked_missing(void **state)
{
	(void)state;
	struct account_result a;
	F.status = 200;
	F.body = "[{\"id\":\"user_1\",\"banned\":true}]";
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_PERM_DENIED);
	assert_string_equal(a.why, "banned in Clerk");
	F.body = "[{\"id\":\"user_1\",\"locked\":true}]";
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_PERM_DENIED);
	assert_string_equal(a.why, "locked in Clerk");
	F.body = "[]";
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_USER_UNKNOWN);
	assert_string_equal(a.why, "no such Clerk user");
}

static void test_backend_unreachable_or_refusing(void **state)
{
	(void)state;
	struct account_result a;
	F.fail = HTTP_ERR_CONNECT;
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_AUTHINFO_UNAVAIL);
	F.fail = HTTP_OK;
	F.status = 401;
	F.body = "{}";
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_SERVICE_ERR);
	F.status = 503;
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_AUTHINFO_UNAVAIL);
	backend(NULL, "alice", &a);
	struct conf cfg;
	load(&cfg, NULL);
	account_check_backend(&cfg, NULL, "alice", &a); /* no connection: out of memory */
	assert_int_equal(a.pam_code, PAM_AUTHINFO_UNAVAIL);
	conf_free(&cfg);
}

static void test_backend_key_file_must_be_private(void **state)
{
	(void)state;
	struct account_result a;
	assert_int_equal(chmod(key_path, 0644), 0);
	backend(NULL, "alice", &a);
	assert_int_equal(a.pam_code, PAM_SERVICE_ERR);
	assert_true(a.config_error);
	assert_non_null(strstr(a.why, "group or others"));
	assert_null(strstr(a.why, "sk_test_secret"));
	assert_int_equal(F.requests, 0);
}

static void test_backend_unusable_user_name(void **state)
{
	(void)state;
	struct account_result a;
	backend(NULL, "bad\nname", &a);
	assert_int_equal(a.pam_code, PAM_USER_UNKNOWN);
	assert_true(a.unnamed);
	assert_int_equal(F.requests, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_claims_without_rules),
		T(test_claims_with_rules),
		T(test_backend_found),
		T(test_backend_banned_locked_missing),
		T(test_backend_unreachable_or_refusing),
		T(test_backend_key_file_must_be_private),
		T(test_backend_unusable_user_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
