/* The configuration: one vocabulary of keys, read from pam_clerk.conf and
 * from module arguments, the arguments winning. */
#ifndef PAM_CLERK_CONF_H
#define PAM_CLERK_CONF_H

#include "pacing.h"

#include <stdbool.h>
#include <stddef.h>

#define CONF_URL_MAX 300
/* The longest PAM user name and identifier format accepted. */
#define CONF_USER_MAX 256

/* authorize = account | auth: zero is the default. */
enum conf_authorize { AUTHORIZE_AT_ACCOUNT, AUTHORIZE_AT_AUTH };
/* end_session = auth | close | never: zero is the default. auth, as a caller
 * that runs no session stage (or runs it in another process) would leave
 * the Clerk session live (issue 15). */
enum conf_end_session { END_SESSION_AT_AUTH, END_SESSION_AT_CLOSE, END_SESSION_NEVER };

struct conf {
	char *conf_path; /* the file that was read, or NULL */
	char *publishable_key;
	char *frontend_api_arg;		 /* as configured, before normalising */
	char frontend_api[CONF_URL_MAX]; /* https://host[:port][/path], final */
	char *issuer;			 /* the JWTs' iss, or NULL: see fapi_issuer */
	char *identifier;		 /* format; %u = PAM user */
	char *cafile;
	char *capath;
	char *proxy;
	char *api_version;
	char *factor;			   /* preferred second factor, or NULL */
	char *state_dir;		   /* where client tokens are kept; NULL: none */
	long max_tries;			   /* wrong codes before PAM_MAXTRIES */
	char *jwt_template;		   /* mint the exported token from this template */
	char *jwt_key;			   /* pinned verification key (path or one line) */
	char *organization;		   /* org_... or slug to activate */
	char *allowed_roles;		   /* comma-separated roles, or NULL for any */
	enum conf_authorize authorize;	   /* the stage that applies the rules */
	enum conf_end_session end_session; /* when the Clerk session ends */
	long offline_cache;		   /* hours a cached password is trusted; 0: off */
	long offline_max_failures;	   /* wrong offline passwords before refusal */
	char *secret_key_file;		   /* Backend API key, for users signed in otherwise */
	char *backend_api_arg;
	char backend_api[CONF_URL_MAX]; /* https://api.clerk.com unless set */
	bool export_env;
	bool require_organization;
	long timeout;	      /* seconds, whole request */
	long connect_timeout; /* seconds */
	bool debug;
	bool use_first_pass;
	bool try_first_pass;
	/* web and mail hosts (issue 15) */
	long cached_auth_timeout; /* seconds a recent online success is reused; 0: off */
	/* attack protection (issue 14) */
	bool local_accounts_only;	 /* ask Clerk only about local accounts */
	long fail_limit;		 /* wrong passwords of an identifier ... */
	long fail_window;		 /* ... in this many seconds ... */
	long fail_lock;			 /* ... refuse it locally this long */
	long fail_rhost_limit;		 /* the same for one PAM_RHOST; 0: off */
	struct pacing_rate signin_rate;	 /* the host's sign-in creates at Clerk */
	struct pacing_rate attempt_rate; /* and factor attempts */
};

/* Load defaults, then the file (conf= from argv, or default_path, which may
 * be missing), then argv. Returns 0, or -1 with "where: key: what" in err. */
int conf_load(struct conf *c, int argc, const char **argv, const char *default_path, char *err,
	      size_t errsize);
void conf_free(struct conf *c);

/* 0 when v is a usable identifier format (only %u and %% escapes, at most
 * CONF_USER_MAX characters), else -1. In conf_identifier.c. */
int conf_identifier_format_check(const char *v);

/* Expand the identifier format for a PAM user into out. Returns 0, or -1 with
 * a reason in err (unknown escape, user name unusable, too long). */
int conf_expand_identifier(const char *format, const char *user, char *out, size_t outsize,
			   char *err, size_t errsize);

/* Read the configuration file at path into *text (malloc'd; it may hold a
 * proxy password: secret_free it) under the file rule of conf_file.c.
 * *private is set when group and others cannot read it (the only place for
 * a secret). 0; -1 with the reason in err, *missing set when not found. */
int conf_read_file(const char *path, char **text, int *missing, bool *private, char *err,
		   size_t errsize);

/* The i-th key conf_load accepts, NULL past the last (for the docs tests). */
const char *conf_key_name(size_t i);

/* In conf_file.c: read a configuration file that only root (or the running
 * user) can change; *missing is set for ENOENT, *private when only its owner
 * can read it. 0, or -1 with the reason in err. */
int conf_read_file(const char *path, char **text, int *missing, bool *private, char *err,
		   size_t errsize);

/* attack protection (issue 14), in conf_attack.c: the defaults, and one
 * value of a K_ATTACK key (the field at offset). 0, or -1 with why. */
void conf_attack_defaults(struct conf *c);
int conf_attack_set(struct conf *c, size_t offset, const char *v, char *why, size_t whysize);

#endif
