#include "config.h"

#include "fapi_sign_in.h"

#include "buf.h"
#include "fapi_request.h"
#include "form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX	(64 * 1024)
#define CODE_MAX	64
#define STEPS_MAX	6  /* sign-in steps (first factor, second factor, ...) */
#define RETRY_AFTER_MAX 10 /* seconds we will wait out a 429 on a code */

static int build_path(char *out, size_t n, const char *sign_in_id, const char *action)
{
	int w = snprintf(out, n, "/v1/client/sign_ins/%s/%s", sign_in_id, action);
	return w > 0 && (size_t)w < n ? 0 : -1;
}

/* The factor to use: the configured one if offered, else Clerk's default
 * for the user, else the first this module can answer. */
static const struct fapi_factor *choose_factor(const struct fapi_answer *a, const char *preferred)
{
	static const char *const usable[] = { "totp", "phone_code", "email_code", "backup_code" };
	const struct fapi_factor *first = NULL, *dflt = NULL;
	for (size_t i = 0; i < a->n_factors; i++) {
		const struct fapi_factor *f = &a->factors[i];
		int ok = 0;
		for (size_t k = 0; k < sizeof usable / sizeof usable[0]; k++)
			ok = ok || strcmp(f->strategy, usable[k]) == 0;
		if (!ok)
			continue;
		if (preferred != NULL && strcmp(f->strategy, preferred) == 0)
			return f;
		if (first == NULL)
			first = f;
		if (dflt == NULL && f->is_default)
			dflt = f;
	}
	return dflt != NULL ? dflt : first;
}

static int needs_prepare(const struct fapi_factor *f)
{
	return strcmp(f->strategy, "phone_code") == 0 || strcmp(f->strategy, "email_code") == 0;
}

static enum outcome prepare_factor(struct sign_in_ctx *x, const char *sign_in_id,
				   const struct fapi_factor *f)
{
	char path[256];
	struct buf body;
	buf_init(&body, BODY_MAX);
	const char *id_key =
		strcmp(f->strategy, "phone_code") == 0 ? "phone_number_id" : "email_address_id";
	enum outcome o = OUTCOME_INTERNAL_ERROR;
	if (build_path(path, sizeof path, sign_in_id, "prepare_second_factor") == 0 &&
	    form_add(&body, "strategy", f->strategy) == 0 &&
	    (f->id[0] == '\0' || form_add(&body, id_key, f->id) == 0))
		o = sign_in_step(x, path, &body);
	buf_wipe(&body);
	return o;
}

/* What the prompt says, with the news (wrong code, new device) in the
 * prompt itself: sshd shows info messages only at the next prompt. */
static void factor_prompt(char *out, size_t n, const struct fapi_factor *f, int new_device,
			  const char *note)
{
	char where[160];
	const char *s = f->safe_identifier;
	/* Server text reaches a terminal: printable ASCII only. */
	size_t o = 0;
	for (; *s && o + 1 < sizeof where; s++)
		where[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	where[o] = '\0';
	const char *what = strcmp(f->strategy, "totp") == 0	     ? "authenticator app code"
			   : strcmp(f->strategy, "backup_code") == 0 ? "backup code"
			   : strcmp(f->strategy, "phone_code") == 0  ? "code sent by SMS"
								     : "code sent by email";
	snprintf(out, n, "%s%sClerk %s%s%s: ", note,
		 new_device ? "New device: confirm it with the " : "", what, where[0] ? " to " : "",
		 where);
}

/* Codes are short and printable; spaces people type are dropped. */
static int normalize_code(char *code)
{
	size_t o = 0;
	for (const char *p = code; *p; p++) {
		if (*p == ' ' || *p == '-' || *p == '\t')
			continue;
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			return -1;
		code[o++] = *p;
	}
	code[o] = '\0';
	return o > 0 && o < CODE_MAX ? 0 : -1;
}

static enum outcome attempt_code(struct sign_in_ctx *x, const char *path, const char *strategy,
				 const char *code)
{
	struct buf body;
	buf_init(&body, BODY_MAX);
	enum outcome o = OUTCOME_INTERNAL_ERROR;
	if (form_add(&body, "strategy", strategy) == 0 && form_add(&body, "code", code) == 0)
		o = sign_in_step(x, path, &body);
	buf_wipe(&body);
	return o;
}

/* needs_second_factor / needs_client_trust: ask for a code until Clerk
 * takes one, max_tries wrong ones, or something else ends it. */
static enum outcome second_factor(struct sign_in_ctx *x)
{
	struct sign_in_result *r = x->r;
	const struct sign_in_params *l = x->l;
	char sign_in_id[FAPI_ID_MAX], path[256], prompt[400];
	struct fapi_factor f;
	const char *note = "";
	int tries = 0, reprepared = 0;

	const struct fapi_factor *chosen = choose_factor(&r->answer, l->factor);
	if (chosen == NULL) {
		snprintf(r->detail, sizeof r->detail,
			 "%s: no factor this module can ask for is offered",
			 r->answer.sign_in_status);
		return OUTCOME_NEEDS_MORE_FACTORS;
	}
	f = *chosen; /* r->answer is replaced by every answer */
	snprintf(r->factor, sizeof r->factor, "%s", f.strategy);
	snprintf(sign_in_id, sizeof sign_in_id, "%s", r->answer.sign_in_id);
	int new_device = strcmp(r->answer.sign_in_status, "needs_client_trust") == 0 ||
			 strcmp(r->answer.client_trust_state, "new") == 0 ||
			 strcmp(r->answer.client_trust_state, "pending") == 0;
	x->trust_asked = x->trust_asked || new_device;
	if (build_path(path, sizeof path, sign_in_id, "attempt_second_factor") != 0)
		return OUTCOME_BAD_RESPONSE;
	if (needs_prepare(&f) && prepare_factor(x, sign_in_id, &f) != OUTCOME_NEEDS_MORE_FACTORS)
		return r->outcome; /* prepare answers with the same, still unfinished, sign-in */

	for (;;) {
		char *code = NULL;
		long long asked = budget_clock_ms();
		factor_prompt(prompt, sizeof prompt, &f, new_device, note);
		if (l->ask == NULL || l->ask(l->ask_ctx, prompt, &code) != 0 || code == NULL) {
			secret_free(code);
			snprintf(r->detail, sizeof r->detail,
				 "%s code needed, but the conversation cannot ask", f.strategy);
			return OUTCOME_CANNOT_PROMPT;
		}
		/* sshd's password mode answers every hidden prompt with the password. */
		if (strcmp(code, l->password) == 0) {
			secret_free(code);
			snprintf(r->detail, sizeof r->detail,
				 "the conversation answered the code prompt with the password");
			return OUTCOME_CANNOT_PROMPT;
		}
		budget_resume(x->c->budget, asked); /* typing is not network time */
		enum outcome o;
		if (normalize_code(code) != 0) {
			o = OUTCOME_BAD_CREDENTIALS;
			snprintf(r->answer.error_code, sizeof r->answer.error_code,
				 "form_code_incorrect");
		} else {
			o = attempt_code(x, path, f.strategy, code);
			/* A 429 on a code was not judged: wait it out once if it is
			 * short and the budget still has room for the wait. */
			long wait = r->retry_after > 0 ? r->retry_after : 1;
			if (o == OUTCOME_RATE_LIMITED && r->retry_after >= 0 &&
			    r->retry_after <= RETRY_AFTER_MAX &&
			    wait * 1000 < budget_left_ms(x->c->budget)) {
				struct timespec ts = { wait, 0 };
				nanosleep(&ts, NULL);
				o = attempt_code(x, path, f.strategy, code);
			}
		}
		secret_free(code);
		const char *ec = r->answer.error_code;
		if (strcmp(ec, "form_code_incorrect") == 0) {
			if (++tries >= l->max_tries) {
				snprintf(r->detail, sizeof r->detail, "%d wrong %s codes", tries,
					 f.strategy);
				return OUTCOME_TOO_MANY_CODES;
			}
			note = "Wrong code. ";
			continue;
		}
		if (strcmp(ec, "verification_expired") == 0 && needs_prepare(&f) && !reprepared) {
			reprepared = 1;
			if (prepare_factor(x, sign_in_id, &f) != OUTCOME_NEEDS_MORE_FACTORS)
				return r->outcome;
			note = "Code expired; a new one was sent. ";
			continue;
		}
		return o;
	}
}

/* needs_first_factor: the instance wants the password as a separate step. */
static enum outcome first_factor_password(struct sign_in_ctx *x)
{
	char path[256];
	struct buf body;
	buf_init(&body, BODY_MAX);
	enum outcome o = OUTCOME_INTERNAL_ERROR;
	if (build_path(path, sizeof path, x->r->answer.sign_in_id, "attempt_first_factor") == 0 &&
	    form_add(&body, "strategy", "password") == 0 &&
	    form_add(&body, "password", x->l->password) == 0)
		o = sign_in_step(x, path, &body);
	buf_wipe(&body);
	return o;
}

/* Remove the client's sessions (keeping the client and its device trust),
 * so that reusing it can never skip the password: a client with a live
 * session would sign in again without one. */
static int remove_sessions(struct sign_in_ctx *x)
{
	struct http_response resp;
	enum outcome o = fapi_request(x, "DELETE", "/v1/client/sessions", NULL, 0, &resp);
	int ok = o == OUTCOME_SUCCESS && resp.status == 200;
	http_response_free(&resp);
	return ok ? 0 : -1;
}

/* POST path (no body fields but those given) and take the JWT it answers
 * into *slot. */
static enum outcome mint_token(struct sign_in_ctx *x, const char *path, const char *org,
			       char **slot)
{
	struct sign_in_result *r = x->r;
	struct http_response resp;
	struct buf body;
	char err[160];
	buf_init(&body, BODY_MAX);
	if (org != NULL && form_add(&body, "organization_id", org) != 0) {
		buf_wipe(&body);
		return OUTCOME_INTERNAL_ERROR;
	}
	enum outcome o = fapi_request(x, NULL, path, buf_str(&body), body.len, &resp);
	buf_wipe(&body);
	if (o == OUTCOME_SUCCESS && resp.status == 200) {
		char *jwt = fapi_parse_token(buf_str(&resp.body), resp.body.len, err, sizeof err);
		if (jwt == NULL) {
			snprintf(r->detail, sizeof r->detail, "%s: %s", path, err);
			o = OUTCOME_BAD_RESPONSE;
		} else {
			secret_free(*slot);
			*slot = jwt;
		}
	} else if (o == OUTCOME_SUCCESS) {
		o = judge_answer(x, &resp);
		if (o == OUTCOME_SUCCESS || o == OUTCOME_NEEDS_MORE_FACTORS)
			o = OUTCOME_BAD_RESPONSE;
	}
	http_response_free(&resp);
	return o;
}

/* Make org (an id or a slug) the session's active organization; *st gets
 * the session's state after it (when st is not NULL). */
static enum outcome touch_org(struct sign_in_ctx *x, const char *path, const char *org,
			      struct fapi_session_state *st)
{
	char err[160];
	struct http_response resp;
	struct buf body;
	memset(&resp, 0, sizeof resp);
	buf_init(&body, BODY_MAX);
	enum outcome o = OUTCOME_INTERNAL_ERROR;
	if (form_add(&body, "active_organization_id", org) == 0 &&
	    form_add(&body, "intent", "select_org") == 0)
		o = fapi_request(x, NULL, path, buf_str(&body), body.len, &resp);
	buf_wipe(&body);
	if (o == OUTCOME_SUCCESS && resp.status != 200) {
		o = judge_answer(x, &resp);
		if (o == OUTCOME_SUCCESS || o == OUTCOME_NEEDS_MORE_FACTORS)
			o = OUTCOME_BAD_RESPONSE;
	} else if (o == OUTCOME_SUCCESS && st != NULL &&
		   fapi_parse_session(buf_str(&resp.body), resp.body.len, x->r->session_id, st, err,
				      sizeof err) != 0) {
		snprintf(x->r->detail, sizeof x->r->detail, "%s: %s", path, err);
		o = OUTCOME_BAD_RESPONSE;
	}
	http_response_free(&resp);
	return o;
}

/* The session JWT every decision is made on, with the fewest requests: the
 * one in the sign-in answer; one tokens call for an organization id or a
 * missing token; touch first for a slug or a template with an
 * organization. An organization Clerk refuses (not a member) is noted, not
 * fatal: the account stage decides. With jwt_template, the template's token
 * too (it has no sid and only its template's claims: exported, never
 * decisive). */
static enum outcome session_token(struct sign_in_ctx *x)
{
	struct sign_in_result *r = x->r;
	const struct sign_in_params *l = x->l;
	char base[300], path[400];
	snprintf(base, sizeof base, "/v1/client/sessions/%s", r->session_id);
	const char *org = x->org_active ? NULL : l->organization;
	bool by_id = org != NULL && strncmp(org, "org_", 4) == 0;
	enum outcome o = OUTCOME_SUCCESS;

	if (r->answer.session_jwt != NULL) {
		r->session_jwt = r->answer.session_jwt;
		r->answer.session_jwt = NULL;
	}
	if (org != NULL && (!by_id || l->jwt_template != NULL)) {
		snprintf(path, sizeof path, "%s/touch", base);
		o = touch_org(x, path, org, NULL);
		if (o != OUTCOME_SUCCESS && o != OUTCOME_REJECTED && o != OUTCOME_BAD_CREDENTIALS)
			return o;
		r->org_refused = o != OUTCOME_SUCCESS;
		org = NULL; /* active now (or refused): the token follows the session */
	}
	/* The sign-in's own token serves unless an organization changes it. */
	if (l->organization != NULL || r->session_jwt == NULL) {
		snprintf(path, sizeof path, "%s/tokens", base);
		o = mint_token(x, path, org, &r->session_jwt);
		if (org != NULL && (o == OUTCOME_REJECTED || o == OUTCOME_BAD_CREDENTIALS)) {
			r->org_refused = true;
			o = r->session_jwt != NULL ? OUTCOME_SUCCESS
						   : mint_token(x, path, NULL, &r->session_jwt);
		}
	}
	if (o == OUTCOME_SUCCESS && l->jwt_template != NULL) {
		snprintf(path, sizeof path, "%s/tokens/%s", base, l->jwt_template);
		o = mint_token(x, path, NULL, &r->template_jwt);
	}
	return o;
}

/* A complete sign-in whose session is pending (tasks left) is not signed in,
 * whatever the settings: Clerk's own SDKs treat it as signed out. The one
 * task this module can do is choose-organization, with organization= set:
 * it chooses that one, and goes on if the session is then active. */
static enum outcome settle_pending(struct sign_in_ctx *x)
{
	struct sign_in_result *r = x->r;
	const struct fapi_session_state *st = &r->answer.session;
	unsigned t = st->tasks;
	char path[400];
	if (!fapi_session_pending(st))
		return OUTCOME_SUCCESS;
	if (t & FAPI_TASK_RESET_PASSWORD) {
		snprintf(r->detail, sizeof r->detail, "session pending: reset-password task");
		return OUTCOME_PASSWORD_COMPROMISED;
	}
	if (t & FAPI_TASK_SETUP_MFA) {
		snprintf(r->detail, sizeof r->detail, "session pending: setup-mfa task");
		return OUTCOME_MFA_SETUP_REQUIRED;
	}
	if (t != FAPI_TASK_CHOOSE_ORGANIZATION) {
		snprintf(r->detail, sizeof r->detail,
			 "session %.20s with a task this module cannot do", st->status);
		return OUTCOME_NEEDS_MORE_FACTORS;
	}
	if (x->l->organization == NULL) {
		snprintf(r->detail, sizeof r->detail,
			 "session pending: choose-organization task and no organization= set");
		return OUTCOME_NOT_AUTHORIZED;
	}
	struct fapi_session_state after;
	snprintf(path, sizeof path, "/v1/client/sessions/%s/touch", r->session_id);
	enum outcome o = touch_org(x, path, x->l->organization, &after);
	if (o == OUTCOME_SUCCESS && !fapi_session_pending(&after)) {
		x->org_active = true;
		return o;
	}
	if (o == OUTCOME_SUCCESS || o == OUTCOME_REJECTED || o == OUTCOME_BAD_CREDENTIALS) {
		snprintf(r->detail, sizeof r->detail,
			 "session still pending after choosing the organization");
		return OUTCOME_NOT_AUTHORIZED;
	}
	return o;
}

static int end_session(struct sign_in_ctx *x, const char *session_id)
{
	char path[300];
	struct http_response resp;
	snprintf(path, sizeof path, "/v1/client/sessions/%s/end", session_id);
	enum outcome o = fapi_request(x, NULL, path, "", 0, &resp);
	int ok = o == OUTCOME_SUCCESS && resp.status == 200;
	http_response_free(&resp);
	return ok ? 0 : -1;
}

static enum outcome create_sign_in(struct sign_in_ctx *x)
{
	struct buf body;
	buf_init(&body, BODY_MAX);
	enum outcome o;
	if (form_add(&body, "strategy", "password") != 0 ||
	    form_add(&body, "identifier", x->l->identifier) != 0 ||
	    form_add(&body, "password", x->l->password) != 0) {
		snprintf(x->r->detail, sizeof x->r->detail, "identifier or password too long");
		o = OUTCOME_BAD_CREDENTIALS;
	} else {
		o = sign_in_step(x, "/v1/client/sign_ins", &body);
	}
	buf_wipe(&body);
	return o;
}

/* A stored client Clerk no longer knows: any 401 but a dev-browser one
 * (authentication_invalid, signed_out, ...), or a 404 for the client. */
static int is_stale_client(const struct sign_in_result *r)
{
	const char *code = r->answer.error_code;
	if (r->http_status == 401)
		return strcmp(code, "dev_browser_unauthenticated") != 0;
	return r->http_status == 404 &&
	       (strcmp(code, "resource_not_found") == 0 || strcmp(code, "client_not_found") == 0);
}

void sign_in_result_init(struct sign_in_result *r, char *client_token)
{
	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	r->answer.lockout_seconds = -1;
	r->outcome = OUTCOME_INTERNAL_ERROR;
	r->client_token = client_token;
}

enum outcome fapi_sign_in(const struct fapi_client *c, const struct sign_in_params *l,
			  struct sign_in_result *r)
{
	struct sign_in_ctx x = { c, l, r, false, false };
	r->used_stored_token = r->client_token != NULL;

	enum outcome o = create_sign_in(&x);
	/* A stored client Clerk no longer knows: forget it, start afresh once. */
	if (r->used_stored_token && is_stale_client(r)) {
		r->stored_token_rejected = true;
		r->client_cleared = false;
		secret_free(r->client_token);
		r->client_token = NULL;
		o = create_sign_in(&x);
	}
	/* Already signed in on this client is never a success; clear the
	 * client's sessions so the next login can use it again. */
	if (o == OUTCOME_SESSION_EXISTS && r->client_token != NULL)
		remove_sessions(&x);

	for (int step = 0; step < STEPS_MAX && o == OUTCOME_NEEDS_MORE_FACTORS; step++) {
		const char *status = r->answer.sign_in_status;
		if (strcmp(status, "needs_first_factor") == 0)
			o = first_factor_password(&x);
		else if (strcmp(status, "needs_second_factor") == 0 ||
			 strcmp(status, "needs_client_trust") == 0)
			o = second_factor(&x);
		else
			break; /* protect check, new password, SSO: need a browser */
	}
	if (o == OUTCOME_SUCCESS) {
		snprintf(r->session_id, sizeof r->session_id, "%s", r->answer.session_id);
		snprintf(r->user_id, sizeof r->user_id, "%s", r->answer.user_id);
		o = settle_pending(&x);
		/* The pending session this login created is no one's: end it. */
		if (o != OUTCOME_SUCCESS && !r->client_cleared)
			r->session_ended = end_session(&x, r->session_id) == 0;
		else if (l->want_token)
			o = session_token(&x);
	}
	/* A client is worth keeping once it is trusted: it was stored, or it
	 * just passed a Device Trust check. Without Device Trust a fresh client
	 * per login costs nothing, and keeping one would cost a request. */
	bool keeping = l->keep_client && (r->used_stored_token || x.trust_asked);
	/* Clerk cleared the client: nothing left to keep, and the session went
	 * with the client (issue 12 item 3). */
	if (r->client_cleared) {
		keeping = false;
		r->stored_token_rejected = r->stored_token_rejected || r->used_stored_token;
	}
	if (o == OUTCOME_SUCCESS && l->end_now && !keeping && !r->client_cleared)
		r->session_ended = end_session(&x, r->session_id) == 0;
	if (o == OUTCOME_SUCCESS && keeping)
		r->session_ended = r->client_reusable = remove_sessions(&x) == 0;
	r->outcome = o;
	return o;
}

void sign_in_result_clear(struct sign_in_result *r)
{
	fapi_answer_clear(&r->answer);
	secret_free(r->client_token);
	secret_free(r->session_jwt);
	secret_free(r->template_jwt);
	r->client_token = r->session_jwt = r->template_jwt = NULL;
}

int fapi_end_session(const struct fapi_client *c, const char *client_token, const char *session_id,
		     char *err, size_t errsize)
{
	struct sign_in_params none = { 0 };
	struct sign_in_result r;
	char *token = strdup(client_token);
	if (token == NULL)
		return -1;
	sign_in_result_init(&r, token);
	struct sign_in_ctx x = { c, &none, &r, false, false };
	int rc = end_session(&x, session_id);
	if (rc != 0)
		snprintf(err, errsize, "%s", r.detail[0] ? r.detail : "FAPI refused to end it");
	sign_in_result_clear(&r);
	return rc;
}
