/* The host's sign-in budget at Clerk, applied to the transport: a struct
 * http_conn that wraps the real one, so the sign-in flow needs no change.
 * A POST that creates a sign-in (/v1/client/sign_ins) or attempts a factor
 * (.../attempt_first_factor, .../attempt_second_factor) first reserves a
 * slot in the host-wide pacing record (pacing.h), waiting its turn within
 * the request's timeout_ms; a 429 that arrives anyway is recorded for every
 * process of the host (Retry-After) and the request is sent again once it
 * has passed, while the login's budget allows (Clerk refused it before
 * looking at the password or code). This is the one place that waits out
 * a 429: when the wait does not fit the budget, the caller gets a 429
 * answer with the Retry-After that is left (sent, or made up here without
 * sending when the budget cannot even reach a free slot). */
#ifndef PAM_CLERK_PACED_CONN_H
#define PAM_CLERK_PACED_CONN_H

#include "http.h"
#include "pacing.h"

struct paced_options {
	struct pacing_rate signin_rate;	 /* sign-in creates; limit 0: not paced */
	struct pacing_rate attempt_rate; /* factor attempts */
	const struct pacing_clock *clk;	 /* NULL: the system's */
	/* Log a line (nothing secret or from outside in it); may be NULL. */
	void (*log)(void *ctx, int priority, const char *line);
	void *log_ctx;
};

/* What a paced connection did, for the log and the tests. */
struct paced_stats {
	int paced;	/* requests that went through the pacing record */
	long waited_ms; /* time spent waiting for a slot or a Retry-After */
	int got_429;	/* 429 answers Clerk sent */
	int resent;	/* requests sent again after a 429 */
	int refused;	/* requests not sent: no slot within the budget */
};

/* Wrap inner (not owned: free it after the wrapper) with the pacing record
 * in state_dir (opened, and created 0700 when missing). NULL when the
 * directory cannot be used (reason in err) or out of memory: use inner as
 * it is then. */
struct http_conn *paced_conn_new(struct http_conn *inner, const char *state_dir,
				 const struct paced_options *opt, char *err, size_t errsize);

/* The counts so far of a connection paced_conn_new made. */
struct paced_stats paced_conn_stats(const struct http_conn *conn);

#endif
