/* One request of a sign-in conversation with the Frontend API, with
 * everything native mode needs on every request:
 * the client token, the API version, one share of the login's budget
 * (never a dev browser: native clients have none, FAPI-NOTES section 11); and the reading of an
 * answer into an outcome. Internal to fapi_sign_in.c. */
#ifndef PAM_CLERK_FAPI_REQUEST_H
#define PAM_CLERK_FAPI_REQUEST_H

#include "buf.h"
#include "fapi_sign_in.h"
#include "http.h"
#include "outcome.h"

#include <stdbool.h>
#include <stddef.h>

/* What one sign-in conversation with FAPI carries from request to
 * request: whether Device Trust was asked. */
struct sign_in_ctx {
	const struct fapi_client *c;
	const struct sign_in_params *l;
	struct sign_in_result *r;
	bool trust_asked; /* Clerk made this client prove itself (Device Trust) */
	bool org_active;  /* organization= chosen for a pending session, now active */
};

/* An Authorization answer header: absent, Clerk clearing the client (""
 * or a lone "Bearer"), a token to keep ("Bearer " or not: sent back as it
 * came), or one that cannot be sent back (not visible ASCII). */
enum token_form { TOKEN_ABSENT, TOKEN_CLEARED, TOKEN_OK, TOKEN_MALFORMED };
enum token_form client_token_form(const char *value);

/* One FAPI request. body NULL and method NULL is a GET. Returns the
 * transport outcome (SUCCESS = an HTTP answer arrived). */
enum outcome fapi_request(struct sign_in_ctx *x, const char *method, const char *path,
			  const char *body, size_t body_len, struct http_response *resp);

/* Turn one HTTP answer carrying a sign-in (or an error) into an outcome;
 * x->r->answer holds what it said. */
enum outcome judge_answer(struct sign_in_ctx *x, const struct http_response *resp);

/* POST a sign-in step (once) and judge the answer. */
enum outcome sign_in_step(struct sign_in_ctx *x, const char *path, const struct buf *body);

#endif
