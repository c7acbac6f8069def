#include "config.h"

#include "paced_conn.h"

#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* Added to each window: a slot is reserved when the request leaves, but
 * Clerk counts it when it arrives, and travel times differ (a new TLS
 * connection, a slow hop): without it the sixth sign-in could arrive
 * within Clerk's window of the first. */
#define TRAVEL_MARGIN_MS 1000L

/* Retry-After when a 429 has none (or one that is not whole seconds). */
#define DEFAULT_BLOCK_MS 1000L

struct paced_conn {
	struct http_conn base; /* first: the wrapper is a struct http_conn */
	struct http_conn *inner;
	int dirfd;
	struct paced_options opt;
	struct paced_stats stats;
};

/* Which budget a request spends, or -1 for none: only POSTs to these paths
 * (the query string aside) count at Clerk. */
static int request_kind(const struct http_request *req)
{
	if (req->body == NULL || (req->method != NULL && strcmp(req->method, "POST") != 0))
		return -1;
	const char *u = req->url, *scheme = strstr(u, "://");
	const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
	if (path == NULL)
		return -1;
	size_t len = strcspn(path, "?#");
	static const char create[] = "/v1/client/sign_ins";
	static const char *const attempts[] = { "/attempt_first_factor", "/attempt_second_factor" };
	if (len == sizeof create - 1 && strncmp(path, create, len) == 0)
		return PACING_SIGNIN_CREATE;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(attempts[i]);
		if (len > sizeof create + n && strncmp(path, create, sizeof create - 1) == 0 &&
		    path[sizeof create - 1] == '/' && strncmp(path + len - n, attempts[i], n) == 0)
			return PACING_FACTOR_ATTEMPT;
	}
	return -1;
}

static void say(struct paced_conn *p, int priority, const char *what, const char *err)
{
	char line[400];
	if (p->opt.log == NULL || err[0] == '\0')
		return;
	snprintf(line, sizeof line, "sign-in pacing: %s: %s", what, err);
	p->opt.log(p->opt.log_ctx, priority, line);
}

/* Retry-After in ms: whole seconds, or DEFAULT_BLOCK_MS. */
static long retry_after_ms(const char *v)
{
	if (v == NULL || v[0] < '0' || v[0] > '9' || strlen(v) > 6)
		return DEFAULT_BLOCK_MS;
	char *end;
	long s = strtol(v, &end, 10);
	return *end == '\0' && s > 0 ? s * 1000 : DEFAULT_BLOCK_MS;
}

/* A 429 made here: the budget cannot reach a slot, so the request is not
 * sent; Retry-After says when one frees. */
static enum http_result refuse(struct http_response *resp, long wait_s)
{
	char v[24];
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	snprintf(v, sizeof v, "%ld", wait_s > 0 ? wait_s : 1);
	resp->retry_after = strdup(v);
	if (resp->retry_after == NULL)
		return HTTP_ERR_INTERNAL;
	resp->status = 429;
	return HTTP_OK;
}

static enum http_result paced_perform(struct http_conn *self, const struct http_request *req,
				      struct http_response *resp, char *err, size_t errsize)
{
	struct paced_conn *p = (struct paced_conn *)(void *)self;
	const struct pacing_clock *clk = p->opt.clk;
	int kind = request_kind(req);
	if (kind < 0)
		return http_perform(p->inner, req, resp, err, errsize);
	struct pacing_rate rate =
		kind == PACING_SIGNIN_CREATE ? p->opt.signin_rate : p->opt.attempt_rate;
	if (rate.window_ms <= PACING_MAX_WINDOW_MS - TRAVEL_MARGIN_MS)
		rate.window_ms += TRAVEL_MARGIN_MS;
	long long deadline = clk->mono_ms(clk->ctx) + req->timeout_ms;
	p->stats.paced++;
	for (;;) {
		char why[300] = "";
		long wait_s = 0;
		long long before = clk->mono_ms(clk->ctx);
		enum pacing_result pr = pacing_reserve(p->dirfd, (enum pacing_kind)kind, rate,
						       deadline, clk, &wait_s, why, sizeof why);
		long long now = clk->mono_ms(clk->ctx);
		p->stats.waited_ms += (long)(now - before);
		/* An unusable record must not stop logins: the request goes
		 * unpaced, and Clerk's 429 is still waited out below. */
		say(p, pr == PACING_ERROR ? LOG_WARNING : LOG_NOTICE, "record", why);
		if (pr == PACING_REFUSED) {
			p->stats.refused++;
			return refuse(resp, wait_s);
		}
		struct http_request sub = *req;
		sub.timeout_ms = (long)(deadline - now);
		if (sub.timeout_ms <= 0) {
			memset(resp, 0, sizeof *resp);
			buf_init(&resp->body, HTTP_BODY_MAX);
			if (err != NULL && errsize > 0)
				snprintf(err, errsize, "no time left after waiting for a slot");
			return HTTP_ERR_TIMEOUT;
		}
		enum http_result hr = http_perform(p->inner, &sub, resp, err, errsize);
		if (hr != HTTP_OK || resp->status != 429)
			return hr;
		p->stats.got_429++;
		long block = retry_after_ms(resp->retry_after);
		why[0] = '\0';
		pacing_block(p->dirfd, (enum pacing_kind)kind, block, clk, why, sizeof why);
		say(p, LOG_WARNING, "recording a 429", why);
		if (clk->mono_ms(clk->ctx) + block >= deadline)
			return hr; /* the wait does not fit: the caller sees the 429 */
		http_response_free(resp);
		p->stats.resent++;
	}
}

static void paced_free(struct http_conn *self)
{
	struct paced_conn *p = (struct paced_conn *)(void *)self;
	close(p->dirfd);
	free(p);
}

struct http_conn *paced_conn_new(struct http_conn *inner, const char *state_dir,
				 const struct paced_options *opt, char *err, size_t errsize)
{
	if (inner == NULL || state_dir == NULL) {
		snprintf(err, errsize, "no connection or no state_dir");
		return NULL;
	}
	struct paced_conn *p = calloc(1, sizeof *p);
	if (p == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	p->dirfd = state_dir_open(state_dir, err, errsize);
	if (p->dirfd < 0) {
		free(p);
		return NULL;
	}
	p->base.perform = paced_perform;
	p->base.free = paced_free;
	p->inner = inner;
	p->opt = *opt;
	if (p->opt.clk == NULL)
		p->opt.clk = pacing_system_clock();
	return &p->base;
}

struct paced_stats paced_conn_stats(const struct http_conn *conn)
{
	const struct paced_conn *p = (const struct paced_conn *)(const void *)conn;
	return p->stats;
}
