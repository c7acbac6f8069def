#include "config.h"

#include "pacing.h"

#include "buf.h"
#include "record_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD	   "pacing"
#define MAGIC	   "pam_clerk pacing v1\n"
#define RECORD_MAX 8192
/* A record time this far ahead of the wall clock was written before the
 * clock stepped back: it no longer says anything about Clerk's window. */
#define FUTURE_SKEW_MS 1000LL
/* Sleeps a reservation may take before giving up on a clock that does not
 * move (each one waits at least 1 ms, and the deadline bounds them). */
#define MAX_ROUNDS 10000

static const char *const kind_names[PACING_KINDS] = { "create", "attempt" };

struct kind_rec {
	long long blocked_until; /* wall ms; 0: none */
	int n;
	long long t[PACING_MAX_LIMIT]; /* oldest first */
};

struct record {
	struct kind_rec k[PACING_KINDS];
};

static long long sys_wall_ms(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long sys_mono_ms(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sys_sleep_ms(void *ctx, long ms)
{
	(void)ctx;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

const struct pacing_clock *pacing_system_clock(void)
{
	static const struct pacing_clock sys = { sys_wall_ms, sys_mono_ms, sys_sleep_ms, NULL };
	return &sys;
}

/* "<kind> <blocked_until> <n>[ <t>]*\n", times in ascending order. */
static int parse_kind(const char **p, const char *name, struct kind_rec *k)
{
	size_t len = strlen(name);
	long long n;
	if (strncmp(*p, name, len) != 0 || (*p)[len] != ' ')
		return -1;
	*p += len + 1;
	if (record_number(p, ' ', &k->blocked_until) != 0)
		return -1;
	/* The count ends the line when there are no times. */
	const char *s = *p;
	if (record_number(&s, '\n', &n) == 0) {
		*p = s;
		return n == 0 ? (k->n = 0) : -1;
	}
	if (record_number(p, ' ', &n) != 0 || n < 1 || n > PACING_MAX_LIMIT)
		return -1;
	k->n = (int)n;
	for (int i = 0; i < k->n; i++) {
		if (record_number(p, i + 1 < k->n ? ' ' : '\n', &k->t[i]) != 0)
			return -1;
		if (i > 0 && k->t[i] < k->t[i - 1])
			return -1;
	}
	return 0;
}

static int parse(const char *text, size_t len, struct record *r)
{
	memset(r, 0, sizeof *r);
	if (len == 0)
		return 0; /* a new record */
	size_t magic = sizeof MAGIC - 1;
	if (len < magic || memcmp(text, MAGIC, magic) != 0 || strlen(text) != len)
		return -1;
	const char *p = text + magic;
	for (int i = 0; i < PACING_KINDS; i++)
		if (parse_kind(&p, kind_names[i], &r->k[i]) != 0)
			return -1;
	return *p == '\0' ? 0 : -1;
}

static int format(const struct record *r, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s", MAGIC);
	for (int i = 0; i < PACING_KINDS && n < size; i++) {
		const struct kind_rec *k = &r->k[i];
		n += (size_t)snprintf(out + n, size - n, "%s %lld %d", kind_names[i],
				      k->blocked_until, k->n);
		for (int j = 0; j < k->n && n < size; j++)
			n += (size_t)snprintf(out + n, size - n, " %lld", k->t[j]);
		if (n < size)
			n += (size_t)snprintf(out + n, size - n, "\n");
	}
	return n < size ? (int)n : -1;
}

/* Forget what no longer counts at wall time now: times out of the window,
 * times and blocks from before a backward clock step, a block past its end
 * or beyond the longest honoured. */
static void prune(struct kind_rec *k, long long now, long window_ms)
{
	int keep = 0;
	for (int i = 0; i < k->n; i++)
		if (k->t[i] > now - window_ms && k->t[i] <= now + FUTURE_SKEW_MS)
			k->t[keep++] = k->t[i];
	k->n = keep;
	if (k->blocked_until <= now)
		k->blocked_until = 0;
	else if (k->blocked_until > now + PACING_MAX_BLOCK_MS)
		k->blocked_until = now + PACING_MAX_BLOCK_MS;
}

/* Lock and read the record into r; a corrupt one starts empty, and the
 * first such report is kept in err. The lock descriptor, or -1. */
static int load(int dirfd, long wait_ms, struct record *r, char *err, size_t errsize)
{
	char why[256];
	struct buf b;
	buf_init(&b, RECORD_MAX);
	int fd = record_open(dirfd, RECORD, wait_ms, &b, why, sizeof why);
	if (fd >= 0 && parse(buf_str(&b), b.len, r) != 0) {
		memset(r, 0, sizeof *r);
		record_remove(dirfd, RECORD);
		snprintf(why, sizeof why, "%s: corrupt; removed, starting afresh", RECORD);
	}
	buf_wipe(&b);
	if (why[0] != '\0' && (fd < 0 || err[0] == '\0'))
		snprintf(err, errsize, "%s", why);
	return fd;
}

static int save(int dirfd, const struct record *r)
{
	char text[RECORD_MAX];
	int n = format(r, text, sizeof text);
	return n < 0 ? -1 : record_save(dirfd, RECORD, text, (size_t)n);
}

static int valid(enum pacing_kind kind, struct pacing_rate rate)
{
	return (int)kind >= 0 && kind < PACING_KINDS && rate.limit >= 1 &&
	       rate.limit <= PACING_MAX_LIMIT && rate.window_ms >= 1 &&
	       rate.window_ms <= PACING_MAX_WINDOW_MS;
}

/* One look at the record: reserve a slot now (0) or say how long until one
 * frees (> 0); -1 on error. */
static long long try_reserve(int dirfd, enum pacing_kind kind, struct pacing_rate rate,
			     long long deadline_ms, const struct pacing_clock *clk, char *err,
			     size_t errsize)
{
	struct record r;
	long long wait = 0;
	/* Waiting for the record comes out of the login's budget too. */
	long long left = deadline_ms - clk->mono_ms(clk->ctx);
	long lock_wait = left < 0		      ? 0
			 : left < PACING_LOCK_WAIT_MS ? (long)left
						      : PACING_LOCK_WAIT_MS;
	int fd = load(dirfd, lock_wait, &r, err, errsize);
	if (fd < 0)
		return -1;
	long long now = clk->wall_ms(clk->ctx);
	struct kind_rec *k = &r.k[kind];
	prune(k, now, rate.window_ms);
	if (k->blocked_until > now)
		wait = k->blocked_until - now;
	else if (k->n >= rate.limit)
		/* The slot frees when the limit-th newest time leaves the window. */
		wait = k->t[k->n - rate.limit] + rate.window_ms - now;
	if (wait <= 0) {
		wait = 0;
		if (k->n == PACING_MAX_LIMIT) { /* the oldest goes: the record stays small */
			memmove(k->t, k->t + 1, sizeof k->t[0] * (PACING_MAX_LIMIT - 1));
			k->n--;
		}
		/* Ascending even if the clock stepped back within the skew. */
		long long last = k->n > 0 ? k->t[k->n - 1] : 0;
		k->t[k->n++] = now > last ? now : last;
	}
	/* Other kinds are pruned with this window only for the record's size. */
	for (int i = 0; i < PACING_KINDS; i++)
		if (i != (int)kind)
			prune(&r.k[i], now, PACING_MAX_WINDOW_MS);
	if (save(dirfd, &r) != 0 && wait == 0) {
		snprintf(err, errsize, "%s: cannot write", RECORD);
		wait = -1;
	}
	record_close(fd);
	return wait;
}

enum pacing_result pacing_reserve(int dirfd, enum pacing_kind kind, struct pacing_rate rate,
				  long long deadline_ms, const struct pacing_clock *clk,
				  long *wait_s, char *err, size_t errsize)
{
	err[0] = '\0';
	*wait_s = 0;
	if (!valid(kind, rate)) {
		snprintf(err, errsize, "pacing: invalid rate");
		return PACING_ERROR;
	}
	for (int round = 0; round < MAX_ROUNDS; round++) {
		long long wait = try_reserve(dirfd, kind, rate, deadline_ms, clk, err, errsize);
		if (wait < 0)
			return PACING_ERROR;
		if (wait == 0)
			return PACING_OK;
		if (clk->mono_ms(clk->ctx) + wait > deadline_ms) {
			*wait_s = (long)((wait + 999) / 1000);
			return PACING_REFUSED;
		}
		clk->sleep_ms(clk->ctx, (long)wait);
	}
	snprintf(err, errsize, "pacing: the clock does not move; gave up");
	return PACING_ERROR;
}

int pacing_block(int dirfd, enum pacing_kind kind, long retry_after_ms,
		 const struct pacing_clock *clk, char *err, size_t errsize)
{
	struct record r;
	err[0] = '\0';
	if ((int)kind < 0 || kind >= PACING_KINDS || retry_after_ms < 0) {
		snprintf(err, errsize, "pacing: invalid block");
		return -1;
	}
	if (retry_after_ms > PACING_MAX_BLOCK_MS)
		retry_after_ms = PACING_MAX_BLOCK_MS;
	int fd = load(dirfd, PACING_LOCK_WAIT_MS, &r, err, errsize);
	if (fd < 0)
		return -1;
	long long now = clk->wall_ms(clk->ctx);
	for (int i = 0; i < PACING_KINDS; i++)
		prune(&r.k[i], now, PACING_MAX_WINDOW_MS);
	long long until = now + retry_after_ms;
	if (until > r.k[kind].blocked_until)
		r.k[kind].blocked_until = until;
	int rc = save(dirfd, &r);
	if (rc != 0)
		snprintf(err, errsize, "%s: cannot write", RECORD);
	record_close(fd);
	return rc;
}
