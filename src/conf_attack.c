#include "config.h"

#include "conf.h"

#include "fail_budget.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The defaults stay below Clerk's limits: 10 wrong passwords lock a user on
 * every app of the instance; 5 sign-ins and 3 factor attempts per 10 s per
 * IP (a host is one IP). */
void conf_attack_defaults(struct conf *c)
{
	c->local_accounts_only = true;
	c->fail_limit = 5;
	c->fail_window = 900;
	c->fail_lock = 900;
	c->fail_rhost_limit = 10;
	c->signin_rate = (struct pacing_rate){ 5, 10000 };
	c->attempt_rate = (struct pacing_rate){ 3, 10000 };
}

/* A decimal number without sign or leading zeros, min..max; -1 otherwise. */
static long number(const char *v, size_t len, long min, long max)
{
	long n = 0;
	if (len == 0 || len > 9 || (len > 1 && v[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n >= min && n <= max ? n : -1;
}

int conf_attack_set(struct conf *c, size_t offset, const char *v, char *why, size_t whysize)
{
	if (offset == offsetof(struct conf, signin_rate) ||
	    offset == offsetof(struct conf, attempt_rate)) {
		struct pacing_rate *r = (struct pacing_rate *)(void *)((char *)c + offset);
		if (strcmp(v, "off") == 0) {
			/* not paced: a test bed or a proxy that has no such limit */
			*r = (struct pacing_rate){ 0, 0 };
			return 0;
		}
		const char *slash = strchr(v, '/');
		long n = slash ? number(v, (size_t)(slash - v), 1, PACING_MAX_LIMIT) : -1;
		long s =
			slash ? number(slash + 1, strlen(slash + 1), 1, PACING_MAX_WINDOW_MS / 1000)
			      : -1;
		if (n < 0 || s < 0) {
			snprintf(why, whysize,
				 "expected off or N/S: N (1 to %d) requests per S seconds (1 to "
				 "%ld), got '%s'",
				 PACING_MAX_LIMIT, PACING_MAX_WINDOW_MS / 1000, v);
			return -1;
		}
		*r = (struct pacing_rate){ (int)n, s * 1000 };
		return 0;
	}
	bool period = offset == offsetof(struct conf, fail_window) ||
		      offset == offsetof(struct conf, fail_lock);
	long min = offset == offsetof(struct conf, fail_rhost_limit) ? 0 : 1;
	long max = period ? FAIL_MAX_PERIOD : 1000;
	long n = number(v, strlen(v), min, max);
	if (n < 0) {
		snprintf(why, whysize, "expected %s from %ld to %ld, got '%s'",
			 period ? "seconds" : "a number", min, max, v);
		return -1;
	}
	*(long *)(void *)((char *)c + offset) = n;
	return 0;
}
