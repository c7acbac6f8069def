/* The host's sign-in budget at Clerk. Clerk limits every IP to so many
 * sign-in creates and factor attempts per window, and a host is one IP: all
 * its logins share that budget. One record in state_dir ("pacing", locked
 * through "pacing.lock") holds the recent request times of each kind for
 * every process of the host, so that a burst of logins is paced to the
 * limit (a login waits its turn) instead of spending it and getting 429.
 * Times are wall-clock milliseconds, as Clerk counts; the login's own
 * deadline is on the monotonic clock. */
#ifndef PAM_CLERK_PACING_H
#define PAM_CLERK_PACING_H

#include <stddef.h>

enum pacing_kind {
	PACING_SIGNIN_CREATE,  /* POST /v1/client/sign_ins */
	PACING_FACTOR_ATTEMPT, /* attempt_first_factor / attempt_second_factor */
	PACING_KINDS
};

/* At most limit requests of a kind in any window_ms. */
struct pacing_rate {
	int limit;	/* 1..PACING_MAX_LIMIT */
	long window_ms; /* 1..PACING_MAX_WINDOW_MS */
};
#define PACING_MAX_LIMIT     64
#define PACING_MAX_WINDOW_MS (3600L * 1000)
/* The longest Retry-After honoured: a longer one (or a bogus header) cannot
 * stop the host's logins for longer than this. */
#define PACING_MAX_BLOCK_MS (3600L * 1000)
/* Waiting for another process to finish with the record: at most this,
 * and never past the deadline of pacing_reserve. */
#define PACING_LOCK_WAIT_MS 2000L

/* Time, for the tests to control. wall_ms: CLOCK_REALTIME; mono_ms:
 * CLOCK_MONOTONIC (the clock of deadlines); sleep_ms: sleep that long. */
struct pacing_clock {
	long long (*wall_ms)(void *ctx);
	long long (*mono_ms)(void *ctx);
	void (*sleep_ms)(void *ctx, long ms);
	void *ctx;
};
/* The real clocks and nanosleep. */
const struct pacing_clock *pacing_system_clock(void);

/* Ordered so that a zeroed or forgotten result is never PACING_OK. */
enum pacing_result {
	PACING_ERROR,	/* record unusable (state_dir, lock busy), bad rate: reason
			   in err; nothing reserved */
	PACING_REFUSED, /* the wait would pass the deadline: *wait_s says how long
			   until a request would be allowed */
	PACING_OK,	/* a slot is reserved: send the request now */
};

/* Reserve a request of kind under rate in the record kept in dirfd (see
 * state_dir_open). While the window is full, or a Retry-After recorded by
 * pacing_block holds, it sleeps (clk->sleep_ms) until a slot frees, as long
 * as that is before deadline_ms (clk->mono_ms time); if the wait would pass
 * the deadline it returns PACING_REFUSED at once with *wait_s (rounded up,
 * at least 1). A corrupt or unsafe record is reset and reported in err
 * with any result (err[0] is '\0' when there is nothing to log). */
enum pacing_result pacing_reserve(int dirfd, enum pacing_kind kind, struct pacing_rate rate,
				  long long deadline_ms, const struct pacing_clock *clk,
				  long *wait_s, char *err, size_t errsize);

/* Record a 429's Retry-After (retry_after_ms from now, capped at
 * PACING_MAX_BLOCK_MS): no process of the host sends a request of kind
 * before then. 0, or -1 with the reason in err. */
int pacing_block(int dirfd, enum pacing_kind kind, long retry_after_ms,
		 const struct pacing_clock *clk, char *err, size_t errsize);

#endif
