/* Attack protection around one login (issue 14), before and after Clerk is
 * asked: only local accounts and never sshd's decoy password reach Clerk;
 * the local failure budget refuses an identifier (or a remote host) that
 * failed too often, before Clerk locks the user out everywhere; and a
 * local refusal takes as long as one Clerk makes. The PAM-free login core
 * (login.c) calls guard_before, then guard_after with the outcome. */
#ifndef PAM_CLERK_LOGIN_GUARD_H
#define PAM_CLERK_LOGIN_GUARD_H

#include "conf.h"
#include "fail_budget.h"
#include "fapi_sign_in.h"
#include "outcome.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* A local refusal with nothing learnt yet lasts this long from the start of
 * the login: about a refused sign-in at Clerk over a fresh TLS connection. */
#define GUARD_DEFAULT_REFUSAL_MS 400L

struct login_guard {
	int dirfd;	    /* state_dir, or -1: no budget, default timing */
	long long start_ms; /* CLOCK_MONOTONIC, the start of the login */
	struct fail_policy policy;
	bool budgeted; /* the identifier has a budget (a local account) */
	void (*log)(void *ctx, int priority, const char *line);
	void *log_ctx;
};

/* Before any request. OUTCOME_SUCCESS: Clerk may be asked. Otherwise the
 * login is refused here, with that outcome (bad_credentials for a name with
 * no local account or sshd's decoy, as for a wrong password;
 * too_many_failures with *retry_s for the budget), r->detail says why for
 * the administrator, and the call has already taken as long as a refusal
 * by Clerk. */
enum outcome guard_before(struct login_guard *g, const struct conf *cfg, const char *user,
			  const char *identifier, const char *password, const char *rhost,
			  time_t now, struct sign_in_result *r);

/* After Clerk answered (o is the final online outcome): count a refused
 * password, forget the failures on success, learn how long a refusal
 * takes. */
void guard_after(struct login_guard *g, const char *identifier, const char *rhost, time_t now,
		 enum outcome o, const struct sign_in_result *r);

/* Release what guard_before opened; safe after any guard_before. */
void guard_close(struct login_guard *g);

#endif
