/* Unit tests for paced_conn.c: which requests are paced, waiting for a slot,
 * a 429 waited out and sent again, and the 429 handed back (sent or made up)
 * when the login's budget cannot cover the wait. A fake inner transport
 * answers from a script; time is a fake clock that sleeping moves. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "paced_conn.h"

struct fake_clock {
	long long wall, mono;
	long slept;
};

static long long fake_wall(void *ctx)
{
	return ((struct fake_clock *)ctx)->wall;
}

static long long fake_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->mono;
}

static void fake_sleep(void *ctx, long ms)
{
	struct fake_clock *c = ctx;
	c->wall += ms;
	c->mono += ms;
	c->slept += ms;
}

static struct fake_clock fc;
static const struct pacing_clock clk = { fake_wall, fake_mono, fake_sleep, &fc };

/* The fake inner transport: answers the statuses in script, in turn (each
 * with Retry-After: 2 for a 429), and records when each request was sent. */
struct fake_inner {
	struct http_conn base;
	const long *script;
	size_t n, next;
	long long sent_at[32];
	long timeout_ms[32];
};
static struct fake_inner inner;

static enum http_result inner_perform(struct http_conn *self, const struct http_request *req,
				      struct http_response *resp, char *err, size_t errsize)
{
	struct fake_inner *f = (struct fake_inner *)(void *)self;
	(void)err;
	(void)errsize;
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	assert_true(f->next < f->n);
	f->sent_at[f->next] = fc.mono;
	f->timeout_ms[f->next] = req->timeout_ms;
	resp->status = f->script[f->next++];
	if (resp->status == 429)
		resp->retry_after = strdup("2");
	return HTTP_OK;
}

static void inner_free(struct http_conn *self)
{
	(void)self;
}

static char tmpdir[PATH_MAX];
static struct http_conn *conn;

static void start(const long *script, size_t n)
{
	inner = (struct fake_inner){ { inner_perform, inner_free }, script, n, 0, { 0 }, { 0 } };
	struct paced_options opt = { { 5, 10000 }, { 3, 10000 }, &clk, NULL, NULL };
	char err[300];
	conn = paced_conn_new(&inner.base, tmpdir, &opt, err, sizeof err);
	assert_non_null(conn);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/pam_clerk_paced.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	fc = (struct fake_clock){ 1767225600000LL, 1000000, 0 };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	http_conn_free(conn);
	conn = NULL;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static long post(const char *path, long timeout_ms, long *retry_after_s)
{
	char url[300];
	snprintf(url, sizeof url, "https://clerk.example.com%s?_is_native=1", path);
	struct http_request req = { NULL, url, NULL, "a=b", 3, timeout_ms };
	struct http_response resp;
	char err[200];
	assert_int_equal(http_perform(conn, &req, &resp, err, sizeof err), HTTP_OK);
	long st = resp.status;
	if (retry_after_s != NULL)
		*retry_after_s = resp.retry_after ? atol(resp.retry_after) : -1;
	http_response_free(&resp);
	return st;
}

#define CREATE	"/v1/client/sign_ins"
#define ATTEMPT "/v1/client/sign_ins/sia_1/attempt_second_factor"

static void test_sixth_create_waits_its_turn(void **state)
{
	(void)state;
	static const long ok[] = { 200, 200, 200, 200, 200, 200 };
	start(ok, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(post(CREATE, 40000, NULL), 200);
	/* the first five at once; the sixth one window (and the travel margin) later */
	assert_true(inner.sent_at[4] == inner.sent_at[0]);
	assert_true(inner.sent_at[5] - inner.sent_at[0] >= 10000);
	/* its request gets what is left of its budget, not the whole */
	assert_true(inner.timeout_ms[5] <= 40000 - (inner.sent_at[5] - inner.sent_at[4]));
	struct paced_stats s = paced_conn_stats(conn);
	assert_int_equal(s.paced, 6);
	assert_int_equal(s.got_429, 0);
	assert_true(s.waited_ms >= 10000);
}

static void test_attempts_have_their_own_budget(void **state)
{
	(void)state;
	static const long ok[] = { 200, 200, 200, 200, 200 };
	start(ok, 5);
	for (int i = 0; i < 3; i++)
		assert_int_equal(post(ATTEMPT, 40000, NULL), 200);
	assert_int_equal(post(CREATE, 40000, NULL), 200); /* not held up by attempts */
	assert_int_equal(fc.slept, 0);
	assert_int_equal(post(ATTEMPT, 40000, NULL), 200); /* the fourth attempt waits */
	assert_true(fc.slept >= 10000);
}

static void test_other_requests_are_not_paced(void **state)
{
	(void)state;
	static const long ok[] = { 200, 200, 200, 200, 200, 200, 200, 200 };
	start(ok, 8);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
			post("/v1/client/sign_ins/sia_1/prepare_second_factor", 1000, NULL), 200);
	for (int i = 0; i < 4; i++)
		assert_int_equal(post("/v1/client/sessions/sess_1/tokens", 1000, NULL), 200);
	assert_int_equal(paced_conn_stats(conn).paced, 0);
	assert_int_equal(fc.slept, 0);
}

static void test_429_is_waited_out_and_sent_again(void **state)
{
	(void)state;
	static const long script[] = { 429, 200 };
	start(script, 2);
	assert_int_equal(post(CREATE, 10000, NULL), 200);
	assert_int_equal(inner.next, 2);
	assert_true(inner.sent_at[1] - inner.sent_at[0] >= 2000); /* Retry-After: 2 */
	struct paced_stats s = paced_conn_stats(conn);
	assert_int_equal(s.got_429, 1);
	assert_int_equal(s.resent, 1);
}

static void test_429_handed_back_when_the_budget_is_short(void **state)
{
	(void)state;
	static const long script[] = { 429 };
	start(script, 1);
	long ra = 0;
	assert_int_equal(post(CREATE, 1500, &ra), 429); /* a 2 s wait does not fit 1.5 s */
	assert_int_equal(ra, 2);
	assert_int_equal(inner.next, 1);
	/* the host remembers the block: the next login does not send before it ends */
	assert_int_equal(post(CREATE, 1000, &ra), 429);
	assert_int_equal(inner.next, 1);
	assert_true(ra >= 1);
	assert_int_equal(paced_conn_stats(conn).refused, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_sixth_create_waits_its_turn),
		T(test_attempts_have_their_own_budget),
		T(test_other_requests_are_not_paced),
		T(test_429_is_waited_out_and_sent_again),
		T(test_429_handed_back_when_the_budget_is_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
