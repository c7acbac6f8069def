#include "config.h"

#include "login_guard.h"

#include "budget.h"
#include "local_account.h"
#include "refusal_time.h"
#include "sanitize.h"
#include "state.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static void say(const struct login_guard *g, int priority, const char *what, const char *msg)
{
	char line[600], s_msg[400];
	if (g->log == NULL || msg[0] == '\0')
		return;
	snprintf(line, sizeof line, "%s: %s", what, sanitize(s_msg, sizeof s_msg, msg));
	g->log(g->log_ctx, priority, line);
}

/* Sleep until a refusal would have come from Clerk: one of the host's
 * recent refusal times, counted from the start of the login. */
static void refusal_delay(const struct login_guard *g)
{
	char err[200] = "";
	long ms = g->dirfd >= 0
			  ? refusal_time_pick(g->dirfd, GUARD_DEFAULT_REFUSAL_MS, err, sizeof err)
			  : GUARD_DEFAULT_REFUSAL_MS;
	say(g, LOG_WARNING, "refusal times", err);
	long long until = g->start_ms + ms;
	for (long long now = budget_clock_ms(); now < until; now = budget_clock_ms()) {
		long long left = until - now;
		struct timespec ts = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

enum outcome guard_before(struct login_guard *g, const struct conf *cfg, const char *user,
			  const char *identifier, const char *password, const char *rhost,
			  time_t now, struct sign_in_result *r)
{
	char err[300] = "";
	g->start_ms = budget_clock_ms();
	g->budgeted = false;
	g->policy = (struct fail_policy){ (int)cfg->fail_limit, cfg->fail_window, cfg->fail_lock,
					  (int)cfg->fail_rhost_limit, FAIL_MAX_ENTRIES };
	g->dirfd = cfg->state_dir != NULL ? state_dir_open(cfg->state_dir, err, sizeof err) : -1;
	/* A non-root caller hears of it once per process (stored_client.c). */
	if (g->dirfd < 0 && geteuid() == 0)
		say(g, LOG_WARNING, "state_dir unusable, no local failure budget", err);

	/* The decoy is checked first and for every name: it is never sent. */
	int decoy = sshd_decoy_password(password);
	enum local_account local = LOCAL_ACCOUNT_YES;
	if (cfg->local_accounts_only)
		local = local_account_lookup(user, err, sizeof err);
	if (decoy || local != LOCAL_ACCOUNT_YES) {
		snprintf(r->detail, sizeof r->detail, "refused here: %s",
			 decoy			     ? "sshd's stand-in password"
			 : local == LOCAL_ACCOUNT_NO ? "no local account of that name"
						     : "local account lookup failed");
		if (local == LOCAL_ACCOUNT_ERROR)
			say(g, LOG_ERR, "local account lookup", err);
		refusal_delay(g);
		return OUTCOME_BAD_CREDENTIALS;
	}
	if (g->dirfd < 0)
		return OUTCOME_SUCCESS;
	g->budgeted = true;
	long retry = 0;
	err[0] = '\0';
	enum fail_verdict v = fail_budget_check(g->dirfd, &g->policy, identifier, rhost, now,
						&retry, err, sizeof err);
	say(g, LOG_WARNING, "failure budget", err);
	if (v != FAIL_BUDGET_REFUSE)
		return OUTCOME_SUCCESS; /* an unusable record does not stop logins */
	r->retry_after = retry;
	snprintf(r->detail, sizeof r->detail,
		 "refused here: too many failed sign-ins of this identifier or from this "
		 "remote host (for %ld more seconds)",
		 retry);
	refusal_delay(g);
	return OUTCOME_TOO_MANY_FAILURES;
}

/* Clerk refused the password or the codes: what counts toward its lockout. */
static bool counts_as_failure(enum outcome o)
{
	return o == OUTCOME_BAD_CREDENTIALS || o == OUTCOME_TOO_MANY_CODES || o == OUTCOME_REJECTED;
}

void guard_after(struct login_guard *g, const char *identifier, const char *rhost, time_t now,
		 enum outcome o, const struct sign_in_result *r)
{
	char msg[300] = "";
	if (g->dirfd < 0 || !g->budgeted)
		return;
	if (o == OUTCOME_SUCCESS) {
		fail_budget_success(g->dirfd, &g->policy, identifier, now, msg, sizeof msg);
		say(g, LOG_WARNING, "failure budget", msg);
		return;
	}
	if (!counts_as_failure(o))
		return;
	if (o == OUTCOME_BAD_CREDENTIALS &&
	    strcmp(r->answer.error_code, "form_password_incorrect") == 0) {
		char err[200] = "";
		refusal_time_learn(g->dirfd, (long)(budget_clock_ms() - g->start_ms), err,
				   sizeof err);
		say(g, LOG_WARNING, "refusal times", err);
	}
	int just = 0;
	long retry = 0;
	if (strcmp(r->answer.error_code, "account_lockout_warning") == 0) {
		fail_budget_near_lockout(g->dirfd, &g->policy, identifier, now, &just, msg,
					 sizeof msg);
		retry = g->policy.lock;
	} else {
		fail_budget_failure(g->dirfd, &g->policy, identifier, rhost, now, &retry, &just,
				    msg, sizeof msg);
	}
	say(g, LOG_WARNING, "failure budget", msg);
	if (just) {
		char line[200];
		snprintf(line, sizeof line,
			 "too many failed sign-ins: this identifier or remote host is refused "
			 "here for %ld seconds without asking Clerk",
			 retry);
		if (g->log != NULL)
			g->log(g->log_ctx, LOG_WARNING, line);
	}
}

void guard_close(struct login_guard *g)
{
	if (g->dirfd >= 0)
		close(g->dirfd);
	g->dirfd = -1;
}
