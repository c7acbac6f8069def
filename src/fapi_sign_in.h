/* The Clerk Frontend API client: a password sign-in in native mode
 * (?_is_native=1, the client in Authorization), with the further steps Clerk may ask for
 * (first-factor password, second factors, Device Trust codes); never a dev
 * browser (native clients hold none). PAM-free: the
 * caller supplies how to ask the user. */
#ifndef PAM_CLERK_FAPI_SIGN_IN_H
#define PAM_CLERK_FAPI_SIGN_IN_H

#include "budget.h"
#include "fapi_answer.h"
#include "http.h"
#include "outcome.h"

#include <stdbool.h>

struct fapi_client {
	const char *fapi_url;	 /* https://host[:port] */
	const char *api_version; /* Clerk-API-Version */
	struct http_conn *conn;	 /* the PAM call's connection */
	struct budget *budget;	 /* the network budget every request spends */
};

/* Ask the user; *answer is malloc'd (the caller wipes it). 0, or -1 when
 * the conversation cannot ask (non-interactive, sshd password mode). */
typedef int (*fapi_ask_fn)(void *ctx, const char *prompt, char **answer);

struct sign_in_params {
	const char *identifier;
	const char *password;
	const char *factor;	  /* preferred second-factor strategy, or NULL */
	int max_tries;		  /* wrong codes before giving up */
	bool keep_client;	  /* keep a trusted client reusable: remove its sessions */
	bool want_token;	  /* fetch the session JWT (export, organizations) */
	const char *organization; /* org_... or slug to make active, or NULL */
	const char *jwt_template; /* mint the token from this template, or NULL */
	bool end_now;		  /* end the session right after authentication */
	fapi_ask_fn ask;
	void *ask_ctx;
};

struct sign_in_result {
	enum outcome outcome;
	long http_status; /* of the last answer, 0 if none */
	int requests;	  /* FAPI requests made */
	long retry_after; /* seconds from Retry-After, -1 if none */
	struct fapi_answer answer;
	/* secret: in, a stored client token to reuse (or NULL); out, the
	 * newest one FAPI handed out */
	char *client_token;
	bool used_stored_token;	      /* began with a stored client token */
	bool stored_token_rejected;   /* the stored client was refused and dropped */
	bool client_cleared;	      /* an answer cleared the client (issue 12) */
	bool client_reusable;	      /* signed in and its sessions removed */
	char factor[32];	      /* strategy used for a further step, or "" */
	char session_id[FAPI_ID_MAX]; /* the created session */
	char user_id[FAPI_ID_MAX];
	char *session_jwt;  /* secret: the session token (every decision), or NULL */
	char *template_jwt; /* secret: the jwt_template token (exported), or NULL */
	bool org_refused;   /* the organization could not be activated */
	bool session_ended; /* ended or removed before returning */
	char detail[256];   /* why, for the administrator (raw: sanitise) */
};

/* Prepare r: zero it, with client_token (owned by r from now on) to reuse. */
void sign_in_result_init(struct sign_in_result *r, char *client_token);

/* Sign in; fills r and returns r->outcome. */
enum outcome fapi_sign_in(const struct fapi_client *c, const struct sign_in_params *l,
			  struct sign_in_result *r);

void sign_in_result_clear(struct sign_in_result *r);

/* End a session with the client that holds it (the session stage).
 * Returns 0 when FAPI confirmed it. */
int fapi_end_session(const struct fapi_client *c, const char *client_token, const char *session_id,
		     char *err, size_t errsize);

#endif
