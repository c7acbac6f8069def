#include "config.h"

#include "fapi_request.h"

#include "buf.h"
#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_MAX 2048

/* Move a secret header value into its slot, wiping what was there. */
static void take_secret(char **slot, char **from)
{
	if (*from == NULL)
		return;
	secret_free(*slot);
	*slot = *from;
	*from = NULL;
}

static bool visible_ascii(const char *s)
{
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

enum token_form client_token_form(const char *v)
{
	if (v == NULL)
		return TOKEN_ABSENT;
	const char *t =
		strncasecmp(v, "Bearer", 6) == 0 && (v[6] == '\0' || v[6] == ' ') ? v + 6 : v;
	while (t != v && *t == ' ')
		t++;
	if (*t == '\0')
		return TOKEN_CLEARED;
	return visible_ascii(t) ? TOKEN_OK : TOKEN_MALFORMED;
}

static long parse_retry_after(const char *v)
{
	if (v == NULL || *v < '0' || *v > '9' || strlen(v) > 9)
		return -1;
	char *end;
	long s = strtol(v, &end, 10);
	return *end == '\0' ? s : -1;
}

/* One FAPI request with everything native mode needs on every request.
 * body NULL and method NULL is a GET. Returns the transport outcome
 * (SUCCESS = an HTTP answer arrived). */
enum outcome fapi_request(struct sign_in_ctx *x, const char *method, const char *path,
			  const char *body, size_t body_len, struct http_response *resp)
{
	const struct fapi_client *c = x->c;
	struct sign_in_result *r = x->r;
	struct buf url, auth;
	char version[64];
	enum outcome o = OUTCOME_INTERNAL_ERROR;

	buf_init(&url, URL_MAX);
	buf_init(&auth, HTTP_BODY_MAX);
	memset(resp, 0, sizeof *resp);
	long left = budget_left_ms(c->budget);
	if (left <= 0) {
		snprintf(r->detail, sizeof r->detail, "time budget used up before %s", path);
		return OUTCOME_TIMEOUT;
	}
	/* Never send Origin: with Authorization Clerk answers 400. An
	 * empty Authorization ("Name;" in http.h) asks for a new client. */
	if (buf_append_str(&url, c->fapi_url) != 0 || buf_append_str(&url, path) != 0 ||
	    buf_append_str(&url, "?_is_native=1") != 0 ||
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
	struct http_request req = { method, buf_str(&url), headers, body, body_len, left };
	char err[256];
	r->requests++;
	enum http_result h = http_perform(c->conn, &req, resp, err, sizeof err);
	o = outcome_from_transport(h);
	if (h != HTTP_OK) {
		snprintf(r->detail, sizeof r->detail, "%s: %.200s", path, err);
		goto out;
	}
	r->http_status = resp->status;
	/* The client token may rotate on any answer: always keep the newest, in
	 * the form it came (with or without "Bearer "), to send back as it is.
	 * Empty or a lone "Bearer": Clerk cleared the client. One we could not
	 * send back as it is (a folded or injected header) makes the whole
	 * answer suspect. */
	switch (client_token_form(resp->authorization)) {
	case TOKEN_ABSENT: break;
	case TOKEN_CLEARED:
		secret_free(r->client_token);
		r->client_token = NULL;
		r->client_cleared = true;
		break;
	case TOKEN_OK: take_secret(&r->client_token, &resp->authorization); break;
	case TOKEN_MALFORMED:
		snprintf(r->detail, sizeof r->detail, "%s: malformed client token in the answer",
			 path);
		o = OUTCOME_BAD_RESPONSE;
		goto out;
	}
out:
	buf_wipe(&url);
	buf_wipe(&auth);
	return o;
}

/* Turn one HTTP answer carrying a sign-in (or an error) into an outcome;
 * r->answer holds what it said. */
enum outcome judge_answer(struct sign_in_ctx *x, const struct http_response *resp)
{
	struct sign_in_result *r = x->r;
	struct fapi_answer *a = &r->answer;
	long st = resp->status;
	char err[200] = "";

	fapi_answer_clear(a);
	r->retry_after = -1; /* only this answer's Retry-After counts */
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

/* POST a sign-in step and judge the answer. Sent once: native clients never
 * hold a dev browser, so a dev_browser_unauthenticated answer is an outcome
 * (misconfigured) like any other, never a reason to repeat the password. */
enum outcome sign_in_step(struct sign_in_ctx *x, const char *path, const struct buf *body)
{
	struct sign_in_result *r = x->r;
	struct http_response resp;
	r->outcome = fapi_request(x, NULL, path, buf_str(body), body->len, &resp);
	if (r->outcome == OUTCOME_SUCCESS)
		r->outcome = judge_answer(x, &resp);
	http_response_free(&resp);
	return r->outcome;
}
