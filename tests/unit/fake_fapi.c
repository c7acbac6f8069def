/* The fake Frontend API and host of fake_fapi.h. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
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

/* --- the fake transport ---------------------------------------------------- */

struct fake F;
char state_dir[64];

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

const struct login_host host = { ask, log_line, clock_now, NULL, NULL };

bool logged(const char *part)
{
	for (size_t i = 0; i < F.n_log; i++)
		if (strstr(F.log[i], part) != NULL)
			return true;
	return false;
}

/* --- set-up ------------------------------------------------------------------ */

void run(const struct step *script, size_t n, const char *const *args, size_t nargs,
	 const char *password, struct login_result *res)
{
	const char *argv[17];
	char sd[128];
	size_t argc = 0;
	snprintf(sd, sizeof sd, "state_dir=%s", state_dir);
	argv[argc++] = "frontend_api=" FAPI;
	argv[argc++] = sd;
	/* The scripts describe a stack with a session stage (one request fewer
	 * than the default end_session=auth); "alice" is no account here, and
	 * the fake answers at once (issue 14); a test's own arguments win. */
	argv[argc++] = "end_session=close";
	argv[argc++] = "local_accounts_only=no";
	argv[argc++] = "signin_rate=64/1";
	argv[argc++] = "attempt_rate=64/1";
	for (size_t i = 0; i < nargs && argc < 17; i++)
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

void codes(const char *a, const char *b, const char *c)
{
	F.codes[0] = a;
	F.codes[1] = b;
	F.codes[2] = c;
	F.n_codes = 3;
}

size_t files_in_state_dir(const char *suffix)
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

int fake_setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof F);
	F.conn.perform = fake_perform;
	snprintf(state_dir, sizeof state_dir, "/tmp/pam_clerk-login.XXXXXX");
	return mkdtemp(state_dir) != NULL ? 0 : -1;
}

int fake_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
	return system(cmd);
}
