#include "config.h"

#include "clerk.h"

#include "buf.h"
#include "form.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define URL_MAX		2048
#define DEV_BROWSER_MAX 4096

/* State that lives for one sign-in: the deadline and the tokens FAPI hands
 * back, each replaced by the newest answer's. */
struct exchange {
	const struct clerk_client *c;
	struct clerk_result *r;
	long long deadline_ms;
	char *db_jwt; /* dev-browser token, NULL until the handshake */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum outcome transport_outcome(enum http_result h)
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

/* Move a secret header value into its slot, wiping what was there. */
static void take_secret(char **slot, char **from)
{
	if (*from == NULL)
		return;
	secret_free(*slot);
	*slot = *from;
	*from = NULL;
}

static long parse_retry_after(const char *v)
{
	if (v == NULL || *v < '0' || *v > '9' || strlen(v) > 9)
		return -1;
	char *end;
	long s = strtol(v, &end, 10);
	return *end == '\0' ? s : -1;
}

/* POST path with body; everything FAPI needs in native mode on every
 * request. Returns the transport outcome (SUCCESS = an HTTP answer). */
static enum outcome fapi_post(struct exchange *x, const char *path, const char *body,
			      size_t body_len, struct http_response *resp)
{
	const struct clerk_client *c = x->c;
	struct clerk_result *r = x->r;
	struct buf url, auth;
	char version[64];
	enum outcome o = OUTCOME_INTERNAL_ERROR;

	buf_init(&url, URL_MAX);
	buf_init(&auth, HTTP_BODY_MAX);
	memset(resp, 0, sizeof *resp);
	long long left = x->deadline_ms - now_ms();
	if (left <= 0) {
		snprintf(r->detail, sizeof r->detail, "time budget used up before %s", path);
		return OUTCOME_TIMEOUT;
	}
	/* Never send Origin: with Authorization it is a 400 (FAPI-NOTES 2). An
	 * empty Authorization ("Name;" in curl) asks for a new client. */
	if (buf_append_str(&url, c->fapi_url) != 0 || buf_append_str(&url, path) != 0 ||
	    buf_append_str(&url, "?_is_native=1") != 0 ||
	    (x->db_jwt != NULL &&
	     (buf_append(&url, "&", 1) != 0 || form_add(&url, "__clerk_db_jwt", x->db_jwt) != 0)) ||
	    (r->client_token != NULL && r->client_token[0] != '\0'
		     ? buf_append_str(&auth, "Authorization: ") != 0 ||
			       buf_append_str(&auth, r->client_token) != 0
		     : buf_append_str(&auth, "Authorization;") != 0)) {
		snprintf(r->detail, sizeof r->detail, "request too large");
		goto out;
	}
	snprintf(version, sizeof version, "Clerk-API-Version: %s", c->api_version);
	const char *headers[] = { version, buf_str(&auth),
				  "Content-Type: application/x-www-form-urlencoded", NULL };
	struct http_options opt = c->http;
	opt.timeout_ms = left < opt.timeout_ms ? (long)left : opt.timeout_ms;
	if (opt.connect_timeout_ms > opt.timeout_ms)
		opt.connect_timeout_ms = opt.timeout_ms;
	struct http_request req = { buf_str(&url), headers, body, body_len };
	char err[256];
	r->requests++;
	enum http_result h = http_perform(&opt, &req, resp, err, sizeof err);
	o = transport_outcome(h);
	if (h != HTTP_OK) {
		snprintf(r->detail, sizeof r->detail, "%s: %.200s", path, err);
		goto out;
	}
	r->http_status = resp->status;
	/* The client token may rotate on any answer: always keep the newest. */
	take_secret(&r->client_token, &resp->authorization);
	take_secret(&x->db_jwt, &resp->db_jwt);
out:
	buf_wipe(&url);
	buf_wipe(&auth);
	return o;
}

/* A development instance may refuse us until we hold a dev-browser token
 * (FAPI-NOTES 3). Returns 0 once one is held. */
static int dev_browser_handshake(struct exchange *x)
{
	struct http_response resp;
	char id[DEV_BROWSER_MAX];
	char err[128];
	int rc = -1;
	enum outcome o = fapi_post(x, "/v1/dev_browser", "", 0, &resp);
	if (o != OUTCOME_SUCCESS) {
		x->r->outcome = o;
	} else if (resp.status != 200 ||
		   fapi_parse_dev_browser(buf_str(&resp.body), resp.body.len, id, sizeof id, err,
					  sizeof err) != 0) {
		snprintf(x->r->detail, sizeof x->r->detail,
			 "dev-browser handshake failed (HTTP %ld)", resp.status);
		x->r->outcome = resp.status >= 500 ? OUTCOME_SERVER_ERROR : OUTCOME_MISCONFIGURED;
	} else {
		secret_free(x->db_jwt);
		x->db_jwt = strdup(id);
		rc = x->db_jwt != NULL ? 0 : -1;
		explicit_bzero(id, sizeof id);
	}
	http_response_free(&resp);
	return rc;
}

/* Turn one HTTP answer to the sign-in POST into an outcome. */
static enum outcome judge_sign_in(struct exchange *x, const struct http_response *resp)
{
	struct clerk_result *r = x->r;
	struct fapi_answer *a = &r->answer;
	long st = resp->status;
	char err[200] = "";

	fapi_answer_clear(a);
	int parsed = st >= 300 && st < 400
			     ? -1
			     : fapi_parse_sign_in(buf_str(&resp->body), resp->body.len, st, a, err,
						  sizeof err);
	if (a->trace_id[0] == '\0' && resp->trace_id != NULL)
		snprintf(a->trace_id, sizeof a->trace_id, "%s", resp->trace_id);

	if (st >= 500 || st == 429) {
		/* Whatever the body says, the service is unwell or busy. */
		r->retry_after = parse_retry_after(resp->retry_after);
		snprintf(r->detail, sizeof r->detail, "HTTP %ld", st);
		return st == 429 ? OUTCOME_RATE_LIMITED : OUTCOME_SERVER_ERROR;
	}
	if (st >= 300 && st < 400) {
		snprintf(r->detail, sizeof r->detail, "HTTP %ld redirect, not followed", st);
		return OUTCOME_BAD_RESPONSE;
	}
	if (parsed != 0) {
		snprintf(r->detail, sizeof r->detail, "HTTP %ld: %s", st, err);
		return OUTCOME_BAD_RESPONSE;
	}
	if (st >= 400) {
		snprintf(r->detail, sizeof r->detail, "HTTP %ld %.200s", st, a->error_message);
		return outcome_from_error(a->error_code, st);
	}
	if (st != 200) {
		snprintf(r->detail, sizeof r->detail, "HTTP %ld is not a sign-in answer", st);
		return OUTCOME_BAD_RESPONSE;
	}
	snprintf(r->detail, sizeof r->detail, "sign-in status %s", a->sign_in_status);
	return outcome_from_sign_in_status(a->sign_in_status);
}

enum outcome clerk_sign_in_password(const struct clerk_client *c, const char *identifier,
				    const char *password, struct clerk_result *r)
{
	struct exchange x = { c, r, now_ms() + c->http.timeout_ms, NULL };
	struct buf body;
	bool handshake_done = false;

	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	r->answer.lockout_seconds = -1;
	r->outcome = OUTCOME_INTERNAL_ERROR;
	buf_init(&body, 64 * 1024);
	if (form_add(&body, "strategy", "password") != 0 ||
	    form_add(&body, "identifier", identifier) != 0 ||
	    form_add(&body, "password", password) != 0) {
		snprintf(r->detail, sizeof r->detail, "identifier or password too long");
		r->outcome = OUTCOME_BAD_CREDENTIALS;
		goto out;
	}
	for (;;) {
		struct http_response resp;
		r->outcome = fapi_post(&x, "/v1/client/sign_ins", buf_str(&body), body.len, &resp);
		if (r->outcome == OUTCOME_SUCCESS)
			r->outcome = judge_sign_in(&x, &resp);
		http_response_free(&resp);
		/* Retried only when FAPI refused before looking at the password. */
		if (strcmp(r->answer.error_code, "dev_browser_unauthenticated") != 0 ||
		    handshake_done)
			break;
		handshake_done = true;
		if (dev_browser_handshake(&x) != 0)
			break;
	}
out:
	buf_wipe(&body);
	secret_free(x.db_jwt);
	return r->outcome;
}

void clerk_result_clear(struct clerk_result *r)
{
	fapi_answer_clear(&r->answer);
	secret_free(r->client_token);
	r->client_token = NULL;
}
