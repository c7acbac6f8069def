/* pam-clerk, the administrator's command (pam-clerk.c): its subcommands,
 * one file each, over the module's own configuration and code. */
#ifndef PAM_CLERK_ADMIN_H
#define PAM_CLERK_ADMIN_H

#include "conf.h"

#include <stdbool.h>

/* The exit codes (pam-clerk(8), EXIT STATUS). */
enum admin_exit {
	ADMIN_OK = 0,	   /* done; for check: a login can work */
	ADMIN_PROBLEM = 1, /* check found a problem; token: the sign-in was refused */
	ADMIN_USAGE = 2,   /* bad command line or configuration */
	ADMIN_FAILED = 3,  /* could not do it: state_dir, network, a token not verified */
};

struct admin_opts {
	const char *user; /* the user name as a login gives it, or NULL */
	bool all;	  /* forget --all */
	bool json;	  /* token --json */
	bool password_stdin;
	bool dry_run;		   /* sync --dry-run */
	const char *sync_args[16]; /* sync's own sync_*=value options */
	int nsync;
};

/* admin_check.c: the configuration against the live instance. */
int admin_check(const struct conf *cfg);
/* admin_state.c: what state_dir keeps, shown or forgotten. */
int admin_status(const struct conf *cfg, const struct admin_opts *o);
int admin_forget(const struct conf *cfg, const struct admin_opts *o);
/* admin_token.c: sign in as the module does and print the session token. */
int admin_token(const struct conf *cfg, const struct admin_opts *o);

/* admin_sync.c: the users as accounts for libnss-extrausers (issue 17). */
int admin_sync(const struct conf *cfg, const struct admin_opts *o);

/* The identifier a login of user signs in as (the identifier format
 * applied), in out; 0, or -1 after saying why on stderr. */
int admin_identifier(const struct conf *cfg, const char *user, char *out, size_t outsize);

#endif
