/* The local failure budget: wrong passwords are counted on this host so
 * that it stops asking Clerk well before Clerk locks the user out on every
 * app of the instance (10 failures by default), and so that one remote host
 * cannot spend the host's sign-in budget on guesses. One host-wide record in
 * state_dir ("failures", locked through "failures.lock") holds an entry per
 * identifier and per remote host (PAM_RHOST), keyed by the SHA-256 of the
 * name (state_name): no user text on disk.
 *
 * An entry counts failures from its first one; once window seconds have
 * passed since then, a new count starts. The failure that brings the count
 * to the limit refuses further logins of that identifier (or from that
 * remote host) for lock seconds from that moment, without asking Clerk;
 * when the refusal ends the entry is gone and counting starts afresh. A
 * success removes the identifier's entry (not the remote host's: a user who
 * signs in cannot clear what their host did to other accounts).
 *
 * So at most limit failures of an identifier reach Clerk from this host
 * per window (and none while refused). Clerk's own count need not decay
 * with time (the emulator keeps it until a success or a lockout), and
 * other hosts add to it: when Clerk warns that the account is close to
 * its lockout, fail_budget_near_lockout refuses it here at once.
 *
 * The caller records failures only for accounts this host has
 * (local_account.h): a name that is not local is refused before any count,
 * so guessed names never reach the record. Entries expire as above, and
 * the record never holds more than max_entries (the least recently failed
 * unrefused entries go first). */
#ifndef PAM_CLERK_FAIL_BUDGET_H
#define PAM_CLERK_FAIL_BUDGET_H

#include <stddef.h>
#include <time.h>

struct fail_policy {
	int limit;	 /* failures of an identifier before it is refused, 1..1000 */
	long window;	 /* seconds over which failures are counted, 1..FAIL_MAX_PERIOD */
	long lock;	 /* seconds a refusal lasts, 1..FAIL_MAX_PERIOD */
	int rhost_limit; /* failures from one remote host, 1..1000; 0: not counted */
	int max_entries; /* entries the record holds at most, 1..FAIL_MAX_ENTRIES */
};
#define FAIL_MAX_PERIOD		 (7L * 24 * 3600)
#define FAIL_MAX_ENTRIES	 10000
#define FAIL_BUDGET_LOCK_WAIT_MS 2000L

/* Ordered so that a zeroed or forgotten result is never FAIL_BUDGET_ALLOW. */
enum fail_verdict {
	FAIL_BUDGET_ERROR,  /* record unusable, bad policy: reason in msg */
	FAIL_BUDGET_REFUSE, /* refused locally for *retry_s more seconds */
	FAIL_BUDGET_ALLOW,  /* below the limits: Clerk may be asked */
};

/* Whether identifier (and rhost, when not NULL or empty) may try now, at
 * wall time now. Reads only. A corrupt or unsafe record is removed and
 * reported in msg with any verdict (msg[0] is '\0' when there is nothing to
 * log). */
enum fail_verdict fail_budget_check(int dirfd, const struct fail_policy *p, const char *identifier,
				    const char *rhost, time_t now, long *retry_s, char *msg,
				    size_t msgsize);

/* Count a wrong password for identifier (and rhost). FAIL_BUDGET_REFUSE
 * when the identifier or the remote host is now refused, with *retry_s;
 * *just_refused is 1 when this very failure reached a limit (log it once),
 * else 0. */
enum fail_verdict fail_budget_failure(int dirfd, const struct fail_policy *p,
				      const char *identifier, const char *rhost, time_t now,
				      long *retry_s, int *just_refused, char *msg, size_t msgsize);

/* Clerk warned that identifier is close to its instance-wide lockout
 * (422 account_lockout_warning: failures from other hosts and apps count
 * there too): refuse it locally for lock seconds from now, whatever this
 * host counted. Call it instead of fail_budget_failure for that answer.
 * *just_refused as for fail_budget_failure. 0, or -1 with the reason in
 * msg. */
int fail_budget_near_lockout(int dirfd, const struct fail_policy *p, const char *identifier,
			     time_t now, int *just_refused, char *msg, size_t msgsize);

/* A successful sign-in: forget identifier's failures. 0, or -1 with the
 * reason in msg. */
int fail_budget_success(int dirfd, const struct fail_policy *p, const char *identifier, time_t now,
			char *msg, size_t msgsize);

/* What the record holds for identifier at wall time now, for an admin
 * command (pam-clerk status): read only, nothing changed or expired on
 * disk. */
struct fail_budget_entry {
	int found;	 /* 1: an entry that has not expired; 0: none */
	long long count; /* failures counted */
	long long first; /* the first of them, and the last (unix time) */
	long long last;
	long refused_for; /* seconds the identifier is still refused; 0: not */
};

/* 0 (out filled, found 0 when there is no entry), or -1 with the reason in
 * msg. */
int fail_budget_describe(int dirfd, const struct fail_policy *p, const char *identifier, time_t now,
			 struct fail_budget_entry *out, char *msg, size_t msgsize);

#endif
