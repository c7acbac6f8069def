/* How long a refusal takes. A login refused here without asking Clerk (a
 * user with no local account, the local failure budget) must take as long
 * as one Clerk refuses, or the time tells an attacker which names are
 * accounts and when the budget stepped in. The host keeps the durations of
 * its last REFUSAL_SAMPLES refused sign-ins (wrong password answers) in
 * state_dir ("refusal_times", locked through "refusal_times.lock"); a
 * local refusal lasts as long as one of them, picked at random, so it has
 * the same spread as the real ones. */
#ifndef PAM_CLERK_REFUSAL_TIME_H
#define PAM_CLERK_REFUSAL_TIME_H

#include <stddef.h>

#define REFUSAL_SAMPLES 16
/* Durations outside this range are not typical refusals (a cached
 * connection, a timeout) and are not learnt. */
#define REFUSAL_MIN_MS	     20L
#define REFUSAL_MAX_MS	     10000L
#define REFUSAL_LOCK_WAIT_MS 200L

/* Remember that a sign-in Clerk refused took ms (from the start of the
 * login to the answer). 0; -1 with the reason in err (nothing learnt). */
int refusal_time_learn(int dirfd, long ms, char *err, size_t errsize);

/* How long a local refusal should take, from the start of the login: one of
 * the remembered durations at random, or default_ms when none is known or
 * the record cannot be read (the reason then in err; err[0] is '\0'
 * otherwise). Never fails. */
long refusal_time_pick(int dirfd, long default_ms, char *err, size_t errsize);

#endif
