/* The whole Clerk exchange (src/fapi_sign_in.c, src/fapi_request.c) against a fake transport that
 * answers from the fuzz input: any status, any headers (the client token
 * in Authorization, Retry-After, the trace id), any body, any transport
 * failure; and a fake user who types codes from the input. This reaches
 * every FAPI answer the module reads in context: sign-in, pending
 * sessions, first and second factors, 429 with
 * Retry-After on a code, the stale-client retry, session removal.
 *
 * Input: two bytes of set-up (see below), then records read as the
 * exchange asks for them. An answer is: status byte (>= 0xf0: a transport
 * failure), header bit mask, per header a length byte and the value, a
 * big-endian 16-bit body length and the body. A typed code is: a length
 * byte (0xff: the conversation cannot ask) and the code. Past the end of
 * the input every request is refused and every question unanswered.
 *
 * Promises checked: only a 200 "complete" answer with a session can end
 * in success, and never without the password having been sent first; the
 * password goes nowhere but the two password steps; every request has a
 * clean URL and header lines (no CR/LF from server data), a time budget
 * within the configured one, and sends back only client tokens the server
 * handed out (never a cleared one), never a dev browser's; requests,
 * questions and waits are bounded; Retry-After is
 * read exactly as specified (1-9 digits). */
#include "config.h"

#include "fuzz.h"

#include "buf.h"
#include "fapi_sign_in.h"
#include "http.h"

#include <stdbool.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FAPI_URL     "https://clerk.example.com"
#define PASSWORD     "pw-Secret-1"
#define TIMEOUT_MS   10000L
#define TOKENS_MAX   64
#define REQUESTS_MAX 400

static const long statuses[] = { 200, 200, 200, 200, 422, 422, 400, 401, 403, 404, 429,
				 429, 500, 502, 503, 201, 204, 302, 301, 307, 418, 409,
				 410, 415, 499, 504, 100, 0,   299, 300, 399, 600 };
#define NSTATUSES (sizeof statuses / sizeof statuses[0])

static struct fake {
	const uint8_t *p, *end;
	int in_exchange;
	int requests, asks, sleeps;
	char *tokens[TOKENS_MAX]; /* every client token handed out (or stored) */
	size_t ntokens;
	long last_sign_in_status; /* of the last answer to /v1/client/sign_ins... */
	int last_sign_in_ok;	  /* ...that arrived at all */
	long last_limit_status;	  /* status and Retry-After of the last 429/5xx */
	char last_retry_after[300];
	int last_retry_after_set;
	int password_sent;
	int first_was_create;
} F;

static int take(uint8_t *b)
{
	if (F.p >= F.end)
		return -1;
	*b = *F.p++;
	return 0;
}

static size_t take_n(const uint8_t **out, size_t want)
{
	size_t left = (size_t)(F.end - F.p);
	size_t n = want < left ? want : left;
	*out = F.p;
	F.p += n;
	return n;
}

/* A header value as http.c keeps it: one line, trimmed, a C string. */
static char *header_value(const uint8_t *v, size_t n)
{
	size_t len = 0;
	while (len < n && v[len] != '\0' && v[len] != '\n')
		len++;
	size_t start = 0;
	while (start < len && (v[start] == ' ' || v[start] == '\t'))
		start++;
	while (len > start && (v[len - 1] == '\r' || v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	char *s = malloc(len - start + 1);
	FUZZ_CHECK(s != NULL);
	memcpy(s, v + start, len - start);
	s[len - start] = '\0';
	return s;
}

static int known_token(const char *t)
{
	for (size_t i = 0; i < F.ntokens; i++)
		if (strcmp(F.tokens[i], t) == 0)
			return 1;
	return 0;
}

static void remember_token(const char *t)
{
	if (known_token(t))
		return;
	if (F.ntokens < TOKENS_MAX) {
		F.tokens[F.ntokens] = strdup(t);
		FUZZ_CHECK(F.tokens[F.ntokens] != NULL);
		F.ntokens++;
	}
}

static long ref_retry_after(const char *v)
{
	size_t n = v != NULL ? strlen(v) : 0;
	if (n == 0 || n > 9 || strspn(v, "0123456789") != n)
		return -1;
	return strtol(v, NULL, 10);
}

static int form_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("-._~%=&", c) != NULL;
}

static void check_request(const struct http_request *req)
{
	FUZZ_CHECK(req->timeout_ms > 0 && req->timeout_ms <= TIMEOUT_MS);

	const char *url = req->url;
	FUZZ_CHECK(strncmp(url, FAPI_URL "/v1/", sizeof FAPI_URL + 3) == 0);
	FUZZ_CHECK(strstr(url, "?_is_native=1") != NULL);
	for (const char *p = url; *p; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f && *p != '#' && *p != '\\');
	const char *path = url + sizeof FAPI_URL - 1;
	size_t plen = strcspn(path, "?");
	FUZZ_CHECK(plen < 300);
	for (size_t i = 0; i < plen; i++)
		FUZZ_CHECK(fuzz_is_id_char(path[i]) || path[i] == '/');
	FUZZ_CHECK(strstr(path, "//") == NULL || strstr(path, "//") > path + plen);
	/* Native mode has no dev browser: no handshake, no __clerk_db_jwt. */
	FUZZ_CHECK(strstr(url, "__clerk_db_jwt") == NULL);
	FUZZ_CHECK(strncmp(path, "/v1/dev_browser", 15) != 0);

	int auth = 0, version = 0;
	for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
		for (const char *p = *h; *p; p++)
			FUZZ_CHECK(*p >= 0x20 && *p < 0x7f); /* no header injection */
		if (strncmp(*h, "Authorization", 13) == 0) {
			auth++;
			if (strcmp(*h, "Authorization;") != 0) {
				FUZZ_CHECK(strncmp(*h, "Authorization: ", 15) == 0);
				FUZZ_CHECK(known_token(*h + 15));
				/* A cleared client ("" or a lone Bearer) is never sent back. */
				FUZZ_CHECK((*h)[15] != '\0' && strcasecmp(*h + 15, "Bearer") != 0);
			}
		}
		if (strncmp(*h, "Clerk-API-Version: ", 19) == 0)
			version++;
		FUZZ_CHECK(strncasecmp(*h, "Origin", 6) != 0);
	}
	FUZZ_CHECK(auth == 1 && version == 1);

	int create = strncmp(path, "/v1/client/sign_ins?", 20) == 0;
	int first_factor = plen > 21 && strncmp(path + plen - 21, "/attempt_first_factor", 21) == 0;
	if (req->body != NULL) {
		FUZZ_CHECK(strlen(req->body) == req->body_len);
		for (size_t i = 0; i < req->body_len; i++)
			FUZZ_CHECK(form_char(req->body[i]));
		if (strstr(req->body, "password=") != NULL) {
			/* The password goes to the two password steps only. */
			FUZZ_CHECK(create || first_factor);
			FUZZ_CHECK(strstr(req->body, "password=" PASSWORD) != NULL);
			F.password_sent = 1;
		}
	}
	if (F.requests == 1)
		F.first_was_create = create && req->body != NULL && F.password_sent;
}

static enum http_result fake_perform(struct http_conn *self, const struct http_request *req,
				     struct http_response *resp, char *err, size_t errsize)
{
	(void)self;
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	F.requests++;
	FUZZ_CHECK(F.requests <= REQUESTS_MAX);
	check_request(req);

	static const enum http_result fails[] = { HTTP_ERR_CONNECT,  HTTP_ERR_TIMEOUT,
						  HTTP_ERR_TLS,	     HTTP_ERR_TOO_BIG,
						  HTTP_ERR_PROTOCOL, HTTP_ERR_INTERNAL };
	uint8_t s = 0;
	int ended = take(&s) != 0;
	if (ended || s >= 0xf0) {
		if (err != NULL)
			snprintf(err, errsize, "fake failure");
		return ended ? HTTP_ERR_CONNECT : fails[(s - 0xf0) % 6];
	}
	resp->status = s < NSTATUSES ? statuses[s] : (long)(s - NSTATUSES) * 5;
	uint8_t mask = 0;
	take(&mask);
	/* Bit 3 once carried Clerk-Db-Jwt (no dev browser now): ignored. */
	char **slots[] = { &resp->authorization, &resp->retry_after, &resp->trace_id, NULL };
	for (size_t i = 0; i < 4; i++) {
		if (!(mask & (1u << i)))
			continue;
		uint8_t len = 0;
		take(&len);
		const uint8_t *v;
		size_t n = take_n(&v, len);
		if (slots[i] != NULL)
			*slots[i] = header_value(v, n);
	}
	uint8_t hi = 0, lo = 0;
	take(&hi);
	take(&lo);
	const uint8_t *body;
	size_t n = take_n(&body, (size_t)hi << 8 | lo);
	FUZZ_CHECK(buf_append(&resp->body, body, n) == 0);

	if (resp->authorization != NULL)
		remember_token(resp->authorization);
	const char *path = req->url + sizeof FAPI_URL - 1;
	if (strncmp(path, "/v1/client/sign_ins", 19) == 0) {
		F.last_sign_in_status = resp->status;
		F.last_sign_in_ok = 1;
		if (resp->status == 429 || resp->status >= 500) {
			F.last_limit_status = resp->status;
			F.last_retry_after_set = resp->retry_after != NULL;
			snprintf(F.last_retry_after, sizeof F.last_retry_after, "%s",
				 resp->retry_after ? resp->retry_after : "");
		}
	}
	return HTTP_OK;
}

/* The module waits out a short 429 on a code; here no time passes, but
 * the wait asked for is checked. Everyone else (libFuzzer) really sleeps. */
int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (!F.in_exchange)
		return (int)syscall(SYS_nanosleep, req, rem);
	F.sleeps++;
	FUZZ_CHECK(req->tv_sec >= 0 && req->tv_sec <= 10 && req->tv_nsec == 0);
	FUZZ_CHECK(F.last_sign_in_status == 429);
	return 0;
}

static int ask(void *ctx, const char *prompt, char **answer)
{
	(void)ctx;
	F.asks++;
	FUZZ_CHECK(prompt != NULL && strlen(prompt) < 400);
	for (const char *p = prompt; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f); /* server text reaches a terminal */
	uint8_t len;
	if (take(&len) != 0 || len == 0xff)
		return -1;
	const uint8_t *v;
	size_t n = take_n(&v, len % 40);
	*answer = malloc(n + 1);
	FUZZ_CHECK(*answer != NULL);
	memcpy(*answer, v, n);
	(*answer)[n] = '\0';
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const factors[] = { NULL, "totp", "phone_code", "email_code",
					       "backup_code" };
	if (size < 2 || size > 256 * 1024)
		return 0;
	memset(&F, 0, sizeof F);
	F.p = data + 2;
	F.end = data + size;

	/* Set-up. Byte 0: stored client token (bit 0), keep the client (1),
	 * a conversation that can ask (2), preferred factor (3-5), fetch the
	 * session token (6), end the session at once (7). Byte 1: max_tries
	 * (bits 0-3), organization none/by id/by slug (4-5), template (6). */
	uint8_t setup = data[0], more = data[1];
	static const char *const orgs[] = { NULL, "org_abc123", "my-team", NULL };
	struct http_conn conn = { fake_perform, NULL };
	struct budget budget;
	budget_start(&budget, TIMEOUT_MS);
	struct fapi_client c = {
		.fapi_url = FAPI_URL,
		.api_version = "2026-05-12",
		.conn = &conn,
		.budget = &budget,
	};
	struct sign_in_params l = {
		.identifier = "alice@example.com",
		.password = PASSWORD,
		.factor = factors[(setup >> 3) % 5],
		.max_tries = 1 + (more & 15) % 10,
		.keep_client = (setup & 2) != 0,
		.want_token = (setup & 64) != 0,
		.organization = orgs[(more >> 4) & 3],
		.jwt_template = (more & 64) ? "pam" : NULL,
		.end_now = (setup & 128) != 0,
		.ask = (setup & 4) ? ask : NULL,
		.ask_ctx = NULL,
	};
	char *stored = NULL;
	if (setup & 1) {
		stored = strdup("client_stored.token-1");
		FUZZ_CHECK(stored != NULL);
		remember_token(stored);
	}
	struct sign_in_result r;
	sign_in_result_init(&r, stored);
	F.in_exchange = 1;
	enum outcome o = fapi_sign_in(&c, &l, &r);
	F.in_exchange = 0;

	FUZZ_CHECK(o == r.outcome && (int)o >= 0 && o < OUTCOME_COUNT);
	FUZZ_CHECK(outcome_info(o) != NULL);
	FUZZ_CHECK(r.requests == F.requests && r.requests >= 1);
	FUZZ_CHECK(F.first_was_create);
	FUZZ_CHECK(F.asks <= 6 * (l.max_tries + 2));
	FUZZ_TERMINATED(r.detail);
	FUZZ_TERMINATED(r.factor);
	if (o == OUTCOME_SUCCESS) {
		FUZZ_CHECK(F.password_sent);
		FUZZ_CHECK(r.session_id[0] != '\0' && r.user_id[0] != '\0');
		for (const char *p = r.session_id; *p; p++)
			FUZZ_CHECK(fuzz_is_id_char(*p));
		FUZZ_CHECK(F.last_sign_in_ok && F.last_sign_in_status == 200);
		FUZZ_CHECK(!l.want_token || r.session_jwt != NULL);
	}
	if (o == OUTCOME_RATE_LIMITED && F.last_sign_in_status == 429)
		FUZZ_CHECK(r.retry_after == ref_retry_after(F.last_retry_after));
	if (r.client_token != NULL)
		FUZZ_CHECK(known_token(r.client_token));
	if (r.client_reusable)
		FUZZ_CHECK(o == OUTCOME_SUCCESS && l.keep_client);

	sign_in_result_clear(&r);
	FUZZ_CHECK(r.client_token == NULL && r.session_jwt == NULL && r.answer.session_jwt == NULL);
	for (size_t i = 0; i < F.ntokens; i++)
		free(F.tokens[i]);
	return 0;
}
