/* The network budget of one authentication: timeout seconds for all of its
 * network time (every request, retry and wait, the JWKS fetch included).
 * Time the user spends typing a code does not count: the deadline moves by
 * that much. Kept by the login core, spent by every request it makes. */
#ifndef PAM_CLERK_BUDGET_H
#define PAM_CLERK_BUDGET_H

#include <time.h>

struct budget {
	long long deadline_ms; /* CLOCK_MONOTONIC */
	long timeout_ms;       /* the whole budget, and the most one request gets */
};

static inline long long budget_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void budget_start(struct budget *b, long timeout_ms)
{
	b->timeout_ms = timeout_ms;
	b->deadline_ms = budget_clock_ms() + timeout_ms;
}

/* What one request may take now: what is left, at most timeout_ms; 0 or
 * less when the budget is used up. */
static inline long budget_left_ms(const struct budget *b)
{
	long long left = b->deadline_ms - budget_clock_ms();
	return left < b->timeout_ms ? (long)left : b->timeout_ms;
}

/* The user was asked something since paused_at (budget_clock_ms): that time
 * was not network time. */
static inline void budget_resume(struct budget *b, long long paused_at)
{
	b->deadline_ms += budget_clock_ms() - paused_at;
}

#endif
