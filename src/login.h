/* The login core: one function decides one password login, from the PAM
 * user name to the final outcome, without libpam. The PAM glue (pam_clerk.c)
 * gets the items from libpam, runs login_run, and then logs, talks, exports
 * and records what the result says; a test drives the same function with a
 * fake transport (struct http_conn) and a fake host. */
#ifndef PAM_CLERK_LOGIN_H
#define PAM_CLERK_LOGIN_H

#include "fapi_sign_in.h"
#include "conf.h"
#include "http.h"
#include "jwt.h"
#include "outcome.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Expanded identifiers are at most this long (the format and the user name
 * are at most CONF_USER_MAX each). */
#define LOGIN_IDENTIFIER_MAX (2 * CONF_USER_MAX)
#define LOGIN_ENV_MAX	     6

/* What only the host can do. */
struct login_host {
	/* Ask the user, shown as typed (one-time codes). *answer is malloc'd
	 * and wiped by the core; 0, or -1 when the conversation cannot ask. */
	int (*ask)(void *ctx, const char *prompt, char **answer);
	/* Log a line at a syslog priority; every outside string in it is
	 * sanitised already. */
	void (*log)(void *ctx, int priority, const char *line);
	/* The wall clock (offline records, token expiry). */
	time_t (*now)(void *ctx);
	void *ctx;
	/* PAM_RHOST, or NULL: the local failure budget counts per remote host
	 * too (issue 14). */
	const char *rhost;
};

struct login_env {
	const char *name;
	const char *value; /* points into the result; may be a secret */
};

struct login_result {
	enum outcome outcome;
	int pam_code; /* what pam_sm_authenticate returns */
	/* The one log line of the attempt, and a debug line when debug is set
	 * (empty otherwise). */
	int log_priority;
	char log_line[1600];
	char debug_line[512];
	char message[300]; /* for the user, "" for nothing to say */
	/* What to put in the PAM environment: only after a verified success
	 * with export_env. */
	struct login_env env[LOGIN_ENV_MAX];
	size_t n_env;
	/* What later stages need. */
	char session_id[FAPI_ID_MAX];
	char *client_token;  /* secret: ends the session at close, or NULL */
	bool verified;	     /* claims come from a verified session JWT */
	bool offline_claims; /* offline: claims from the last verified sign-in's record */
	struct jwt_claims claims;
	char identifier[LOGIN_IDENTIFIER_MAX];
	struct sign_in_result fapi; /* what the Frontend API said (for tests and logs) */
};

/* Decide the login of PAM user user with password over conn (NULL: out of
 * memory), the one connection of this PAM call. Fills res (clear it with
 * login_result_clear) and returns res->outcome. */
enum outcome login_run(const struct conf *cfg, const char *user, const char *password,
		       struct http_conn *conn, const struct login_host *host,
		       struct login_result *res);

void login_result_clear(struct login_result *res);

/* The session stage: end the Clerk session a login created, with the client
 * that holds it, over conn (NULL: out of memory). 0 when FAPI confirmed it,
 * or -1 with the reason in why. */
int login_end_session(const struct conf *cfg, struct http_conn *conn, const char *client_token,
		      const char *session_id, char *why, size_t whysize);

/* The connection of one PAM call (or one command), with cfg's transport
 * settings: made and freed inside that call, never kept across calls or
 * forks. NULL when out of memory. */
struct http_conn *login_conn_new(const struct conf *cfg);

/* Whether cfg needs the session JWT (export, organizations, roles, a
 * template); a plain sign-in pays no request for it. */
bool login_wants_token(const struct conf *cfg);

#endif
