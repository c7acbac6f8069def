/* The stored client: the Clerk client token that makes this host a known
 * device (Device Trust), one file per identifier in state_dir
 * ("<name>.token"). A stored client serves one login at a time, so the
 * identifier's lock is held while a login uses it (or writes one). */
#ifndef PAM_CLERK_STORED_CLIENT_H
#define PAM_CLERK_STORED_CLIENT_H

#include "fapi_sign_in.h"
#include "conf.h"
#include "state.h"

#include <stdbool.h>
#include <stddef.h>

/* Log a line (sanitised already) at a syslog priority. */
typedef void (*stored_client_log_fn)(void *ctx, int priority, const char *line);

struct stored_client {
	struct state st;
	bool keep;    /* a client may be kept after this login */
	long wait_ms; /* for the lock */
	stored_client_log_fn log;
	void *log_ctx;
};

/* Before the sign-in: open state_dir for the identifier and, when a client
 * is stored, lock it and load it. Returns the token to reuse (the caller
 * owns it) or NULL; problems are logged. */
char *stored_client_take(struct stored_client *sc, const struct conf *cfg, const char *identifier);

/* After the sign-in: keep, replace or drop the stored client as r says,
 * then unlock and close. */
void stored_client_settle(struct stored_client *sc, const struct sign_in_result *r);

/* The building blocks (need the lock): whether a client file is there,
 * its token (NULL when none, or corrupt or unsafe: then removed, err says
 * why), replace it (0 or -1), remove it. */
bool stored_client_present(const struct state *st);
char *stored_client_load(struct state *st, char *err, size_t errsize);
int stored_client_save(struct state *st, const char *token);
void stored_client_drop(struct state *st);

#endif
