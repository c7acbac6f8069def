#include "config.h"

#include "login.h"

#include "authz.h"
#include "budget.h"
#include "buf.h"
#include "fapi_url.h"
#include "jwks.h"
#include "login_guard.h"
#include "offline.h"
#include "paced_conn.h"
#include "sanitize.h"
#include "stored_client.h"
#include "success_cache.h"

#include <security/_pam_types.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static void note(const struct login_host *h, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(const struct login_host *h, int priority, const char *fmt, ...)
{
	char line[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (h->log != NULL)
		h->log(h->ctx, priority, line);
}

struct http_conn *login_conn_new(const struct conf *cfg)
{
	struct http_options opt = { .cafile = cfg->cafile,
				    .capath = cfg->capath,
				    .proxy = cfg->proxy,
				    .connect_timeout_ms = cfg->connect_timeout * 1000,
				    .user_agent = "pam_clerk/" PACKAGE_VERSION };
	return http_conn_new(&opt);
}

bool login_wants_token(const struct conf *cfg)
{
	return cfg->export_env || cfg->organization != NULL || authz_has_rules(cfg) ||
	       cfg->jwt_template != NULL;
}

/* --- the session token ------------------------------------------------- */

/* The JWT later stages will trust: verified before any claim is used, with
 * what is left of the login's network budget. */
static enum outcome verify_session(const struct conf *cfg, struct http_conn *conn,
				   struct budget *budget, const struct login_host *h,
				   struct login_result *res)
{
	struct sign_in_result *r = &res->fapi;
	char issuer[CONF_URL_MAX];
	struct jwks_source src = { cfg->frontend_api, conn,	    budget,
				   cfg->state_dir,    cfg->jwt_key, issuer };
	char why[300] = "", s_why[400];
	if (fapi_issuer(cfg->issuer, cfg->publishable_key, cfg->frontend_api, issuer,
			sizeof issuer) != 0) {
		snprintf(r->detail, sizeof r->detail, "issuer or publishable_key is not usable");
		return OUTCOME_CONFIG_ERROR;
	}
	if (r->session_jwt == NULL) {
		snprintf(r->detail, sizeof r->detail, "no session token in Clerk's answer");
		return OUTCOME_BAD_RESPONSE;
	}
	enum outcome o = jwks_verify(&src, r->session_jwt, r->session_id, r->user_id,
				     h->now(h->ctx), &res->claims, &r->requests, why, sizeof why);
	const char *which = "session JWT";
	/* A jwt_template token is verified on its own terms (signature, iss,
	 * sub = the session's user, time); it has no sid and decides nothing. */
	if (o == OUTCOME_SUCCESS && cfg->jwt_template != NULL) {
		struct jwt_claims tc;
		which = "template JWT";
		if (r->template_jwt == NULL) {
			snprintf(r->detail, sizeof r->detail,
				 "no template token in Clerk's answer");
			return OUTCOME_BAD_RESPONSE;
		}
		o = jwks_verify(&src, r->template_jwt, NULL, r->user_id, h->now(h->ctx), &tc,
				&r->requests, why, sizeof why);
		explicit_bzero(&tc, sizeof tc);
	}
	if (o == OUTCOME_SUCCESS)
		return o;
	if (o == OUTCOME_JWT_INVALID) {
		snprintf(r->detail, sizeof r->detail, "%s: %.200s", which, why);
		note(h, LOG_ERR, "%s REFUSED for session %s: %s", which, r->session_id,
		     sanitize(s_why, sizeof s_why, why));
	} else {
		snprintf(r->detail, sizeof r->detail, "%s keys: %.200s", which, why);
	}
	memset(&res->claims, 0, sizeof res->claims);
	return o;
}

/* --- the offline cache ------------------------------------------------- */

/* offline_cache: keep the password's hash after an online success that
 * needed the password alone (with the claims of a verified token, for the
 * rules); forget it when Clerk says the account is bad or needs more than a
 * password, or refuses the very password the record holds; and only when
 * Clerk cannot be reached at all (never after a 4xx answer) let the cached
 * hash decide. Returns the outcome after that. */
static enum outcome offline_settle(const struct conf *cfg, const char *identifier,
				   const char *password, enum outcome o, const struct login_host *h,
				   struct login_result *res)
{
	const struct sign_in_result *r = &res->fapi;
	char msg[300] = "", s_msg[400];
	time_t now = h->now(h->ctx);
	/* A second factor or a Device Trust code was asked for: a password
	 * alone never stands in for this sign-in. */
	bool more = r->factor[0] != '\0';
	if (cfg->state_dir == NULL)
		return o;
	switch (o) {
	case OUTCOME_SUCCESS:
		if (cfg->offline_cache > 0 && !more &&
		    offline_store(cfg->state_dir, identifier, password, cfg->offline_cache, now,
				  res->verified ? &res->claims : NULL, msg, sizeof msg) != 0)
			note(h, LOG_WARNING, "offline cache not updated: %s",
			     sanitize(s_msg, sizeof s_msg, msg));
		else if (cfg->offline_cache == 0 || more)
			offline_forget(cfg->state_dir, identifier, msg, sizeof msg);
		return o;
	case OUTCOME_BAD_CREDENTIALS:
	case OUTCOME_PASSWORD_COMPROMISED:
	case OUTCOME_REJECTED:
		/* Only the password the record holds is forgotten: a stranger's
		 * guess cannot wipe the user's offline access. */
		if (!more)
			offline_forget_matching(cfg->state_dir, identifier, password, msg,
						sizeof msg);
		return o;
	case OUTCOME_LOCKED:
	case OUTCOME_BANNED:
	case OUTCOME_NOT_AUTHORIZED:
	case OUTCOME_JWT_INVALID:
	case OUTCOME_NEEDS_MORE_FACTORS:
	case OUTCOME_CANNOT_PROMPT:
	case OUTCOME_TOO_MANY_CODES:
		offline_forget(cfg->state_dir, identifier, msg, sizeof msg);
		return o;
	case OUTCOME_NETWORK_ERROR:
	case OUTCOME_TIMEOUT:
	case OUTCOME_SERVER_ERROR: break;
	default: return o;
	}
	if (cfg->offline_cache == 0)
		return o;
	if (more) {
		/* Clerk asked for more than the password before it went away. */
		offline_forget(cfg->state_dir, identifier, msg, sizeof msg);
		note(h, LOG_INFO, "Clerk unreachable (%s) during the %s step; no offline sign-in",
		     outcome_info(o)->name, r->factor);
		return o;
	}
	struct jwt_claims claims;
	bool have_claims = false;
	enum offline_result c = offline_check(cfg->state_dir, identifier, password,
					      cfg->offline_cache, (int)cfg->offline_max_failures,
					      now, &claims, &have_claims, msg, sizeof msg);
	note(h, c == OFFLINE_OK ? LOG_NOTICE : LOG_INFO,
	     "Clerk unreachable (%s); offline cache: %s: %s", outcome_info(o)->name,
	     offline_result_name(c), sanitize(s_msg, sizeof s_msg, msg));
	if (c == OFFLINE_OK && have_claims) {
		res->claims = claims; /* for the account stage's rules */
		res->offline_claims = true;
	}
	char deny[200];
	if (c == OFFLINE_OK && authz_has_rules(cfg) &&
	    (!have_claims || authz_check(cfg, &claims, deny, sizeof deny) != 0)) {
		snprintf(res->fapi.detail, sizeof res->fapi.detail, "offline: %s",
			 have_claims ? deny : "no verified claims in the record (rules need them)");
		return OUTCOME_NOT_AUTHORIZED;
	}
	return c == OFFLINE_OK	     ? OUTCOME_OFFLINE
	       : c == OFFLINE_WRONG  ? OUTCOME_OFFLINE_BAD_PASSWORD
	       : c == OFFLINE_LOCKED ? OUTCOME_OFFLINE_LOCKED
				     : o;
}

/* --- the success cache (web and mail hosts, issue 15) -------------------- */

/* Only a login that needs nothing from Clerk but a yes can be answered
 * from it: a token for later stages needs a sign-in. */
static bool success_cache_on(const struct conf *cfg)
{
	return cfg->cached_auth_timeout > 0 && !login_wants_token(cfg);
}

static bool success_cache_hit(const struct conf *cfg, const char *password,
			      const struct login_host *h, struct login_result *res)
{
	long age = 0;
	if (!success_cache_on(cfg) ||
	    !success_cache_check(cfg->state_dir, cfg->frontend_api, res->identifier, password,
				 cfg->cached_auth_timeout, h->now(h->ctx), &age))
		return false;
	res->fapi.outcome = OUTCOME_CACHED;
	snprintf(res->fapi.detail, sizeof res->fapi.detail,
		 "matches an online success %ld s ago; Clerk not asked", age);
	return true;
}

/* Keep an online success that needed no further factor; forget the
 * identifier once Clerk refuses it. */
static void success_settle(const struct conf *cfg, const char *identifier, const char *password,
			   enum outcome o, const struct login_host *h,
			   const struct sign_in_result *r)
{
	char msg[300] = "", s_msg[400];
	if (o == OUTCOME_SUCCESS && success_cache_on(cfg) && r->factor[0] == '\0' &&
	    success_cache_store(cfg->state_dir, cfg->frontend_api, identifier, password,
				h->now(h->ctx), msg, sizeof msg) != 0 &&
	    geteuid() == 0)
		note(h, LOG_WARNING, "success cache kept in memory only: %s",
		     sanitize(s_msg, sizeof s_msg, msg));
	if (o == OUTCOME_BAD_CREDENTIALS || o == OUTCOME_PASSWORD_COMPROMISED ||
	    o == OUTCOME_LOCKED || o == OUTCOME_BANNED || o == OUTCOME_NOT_AUTHORIZED)
		success_cache_forget(cfg->state_dir, cfg->frontend_api, identifier);
}

/* --- what the host says -------------------------------------------------- */

static int log_priority(int pam_code)
{
	switch (pam_code) {
	case PAM_SUCCESS: return LOG_INFO;
	case PAM_SERVICE_ERR:
	case PAM_SYSTEM_ERR: return LOG_ERR;
	case PAM_AUTHINFO_UNAVAIL: return LOG_WARNING;
	default: return LOG_NOTICE;
	}
}

/* The one log line of an attempt. Every outside string is sanitised. */
static void describe(const struct conf *cfg, const char *user, struct login_result *res)
{
	const struct sign_in_result *r = &res->fapi;
	const struct outcome_info *info = outcome_info(res->outcome);
	char s_user[300], s_id[600], s_code[80], s_trace[200], s_status[100], s_detail[400];
	const char *hint = res->outcome == OUTCOME_MISCONFIGURED
				   ? outcome_admin_hint(r->answer.error_code)
				   : NULL;
	res->log_priority = log_priority(info->pam_code);
	snprintf(res->log_line, sizeof res->log_line,
		 "user=%s identifier=%s outcome=%s pam=%s clerk_error=%s http=%ld "
		 "clerk_trace_id=%s status=%s requests=%d factor=%s client=%s%s%s%s",
		 sanitize(s_user, sizeof s_user, user),
		 sanitize(s_id, sizeof s_id, res->identifier), info->name,
		 pam_code_name(info->pam_code),
		 sanitize(s_code, sizeof s_code,
			  r->answer.error_code[0] ? r->answer.error_code : NULL),
		 r->http_status,
		 sanitize(s_trace, sizeof s_trace,
			  r->answer.trace_id[0] ? r->answer.trace_id : NULL),
		 sanitize(s_status, sizeof s_status,
			  r->answer.sign_in_status[0] ? r->answer.sign_in_status : NULL),
		 r->requests, r->factor[0] ? r->factor : "-",
		 r->stored_token_rejected ? "stale"
		 : r->used_stored_token	  ? "stored"
					  : "new",
		 hint ? " fix=\"" : "", hint ? hint : "", hint ? "\"" : "");
	if (cfg->debug && r->detail[0] != '\0')
		snprintf(res->debug_line, sizeof res->debug_line, "debug: %s",
			 sanitize(s_detail, sizeof s_detail, r->detail));
	long wait =
		res->outcome == OUTCOME_LOCKED ? r->answer.lockout_seconds
		: res->outcome == OUTCOME_RATE_LIMITED || res->outcome == OUTCOME_TOO_MANY_FAILURES
			? r->retry_after
			: -1;
	if (info->user_message != NULL && wait > 0)
		snprintf(res->message, sizeof res->message, "%s Try again in %ld minute%s.",
			 info->user_message, (wait + 59) / 60, (wait + 59) / 60 == 1 ? "" : "s");
	else if (info->user_message != NULL)
		snprintf(res->message, sizeof res->message, "%s", info->user_message);
}

static void add_env(struct login_result *res, const char *name, const char *value)
{
	if (value != NULL && value[0] != '\0' && res->n_env < LOGIN_ENV_MAX)
		res->env[res->n_env++] = (struct login_env){ name, value };
}

/* --- one login, in reading order ----------------------------------------- */

enum outcome login_run(const struct conf *cfg, const char *user, const char *password,
		       struct http_conn *conn, const struct login_host *host,
		       struct login_result *res)
{
	struct sign_in_result *r = &res->fapi;
	char why[128];
	memset(res, 0, sizeof *res);
	sign_in_result_init(r, NULL);

	/* 1. Who signs in, and whether there is anything to ask Clerk. */
	bool asked = false;
	if (conf_expand_identifier(cfg->identifier, user, res->identifier, sizeof res->identifier,
				   why, sizeof why) != 0) {
		r->outcome = OUTCOME_BAD_CREDENTIALS;
		snprintf(r->detail, sizeof r->detail, "%s", why);
		res->identifier[0] = '\0';
	} else if (password == NULL || password[0] == '\0') {
		r->outcome = OUTCOME_EMPTY_PASSWORD;
	} else if (conn == NULL) {
		r->outcome = OUTCOME_INTERNAL_ERROR;
		snprintf(r->detail, sizeof r->detail, "out of memory");
	} else {
		asked = !success_cache_hit(cfg, password, host, res);
	}

	/* 1b. Attack protection (issue 14): only local accounts, never sshd's
	 * decoy, and not past the local failure budget. A refusal here takes
	 * as long as one by Clerk. */
	struct login_guard guard = { .dirfd = -1, .log = host->log, .log_ctx = host->ctx };
	if (asked) {
		enum outcome g = guard_before(&guard, cfg, user, res->identifier, password,
					      host->rhost, host->now(host->ctx), r);
		if (g != OUTCOME_SUCCESS) {
			r->outcome = g;
			asked = false;
		}
	}
	/* The host's sign-in budget at Clerk, shared by all its logins. */
	struct http_conn *paced = NULL;
	if (asked && cfg->state_dir != NULL) {
		struct paced_options po = { cfg->signin_rate, cfg->attempt_rate, NULL, host->log,
					    host->ctx };
		char perr[300] = "", s_perr[400];
		paced = paced_conn_new(conn, cfg->state_dir, &po, perr, sizeof perr);
		if (paced != NULL)
			conn = paced;
		else if (geteuid() == 0) /* others hear it once: stored_client.c */
			note(host, LOG_WARNING, "sign-in pacing off: %s",
			     sanitize(s_perr, sizeof s_perr, perr));
	}

	/* 2. Sign in (with the stored client, when there is one) and keep the
	 * client when it can be reused safely. One network budget covers every
	 * request of the login, the JWKS fetch included. */
	struct budget budget;
	budget_start(&budget, cfg->timeout * 1000);
	if (asked) {
		struct stored_client sc = { .log = host->log, .log_ctx = host->ctx };
		char *stored = stored_client_take(&sc, cfg, res->identifier);
		/* Waiting for the lock was not network time. */
		budget_start(&budget, cfg->timeout * 1000);
		struct fapi_client client = { cfg->frontend_api, cfg->api_version, conn, &budget };
		struct sign_in_params login = {
			.identifier = res->identifier,
			.password = password,
			.factor = cfg->factor,
			.max_tries = (int)cfg->max_tries,
			.keep_client = sc.keep,
			.want_token = login_wants_token(cfg),
			.organization = cfg->organization,
			.jwt_template = cfg->jwt_template,
			.end_now = cfg->end_session == END_SESSION_AT_AUTH,
			.ask = host->ask,
			.ask_ctx = host->ctx,
		};
		sign_in_result_init(r, stored);
		fapi_sign_in(&client, &login, r);
		stored_client_settle(&sc, r);
	}

	/* 3. The session token, verified, and the rules on it when they are
	 * applied at authentication. */
	enum outcome o = r->outcome;
	if (o == OUTCOME_SUCCESS && login_wants_token(cfg)) {
		o = verify_session(cfg, conn, &budget, host, res);
		res->verified = o == OUTCOME_SUCCESS;
		char deny[200];
		if (res->verified && cfg->authorize == AUTHORIZE_AT_AUTH &&
		    authz_check(cfg, &res->claims, deny, sizeof deny) != 0) {
			snprintf(r->detail, sizeof r->detail, "%s", deny);
			o = OUTCOME_NOT_AUTHORIZED;
		}
	}

	/* 4. The offline cache: updated, forgotten, or asked when Clerk cannot
	 * be reached. */
	if (asked) {
		guard_after(&guard, res->identifier, host->rhost, host->now(host->ctx), o, r);
		o = offline_settle(cfg, res->identifier, password, o, host, res);
		success_settle(cfg, res->identifier, password, o, host, r);
	}
	guard_close(&guard);
	if (paced != NULL) {
		struct paced_stats ps = paced_conn_stats(paced);
		if (ps.waited_ms > 0 || ps.got_429 > 0 || ps.refused > 0)
			note(host, LOG_INFO,
			     "sign-in pacing: waited %ld ms; %d 429 answers, %d resent, %d not "
			     "sent",
			     ps.waited_ms, ps.got_429, ps.resent, ps.refused);
		http_conn_free(paced);
	}

	/* 5. The outcome, decided once, and what follows from it. */
	res->outcome = r->outcome = o;
	res->pam_code = outcome_info(o)->pam_code;
	describe(cfg, user, res);
	if (res->pam_code == PAM_SUCCESS) {
		snprintf(res->session_id, sizeof res->session_id, "%s", r->session_id);
		if (cfg->end_session == END_SESSION_AT_CLOSE && !r->session_ended &&
		    r->session_id[0] != '\0') {
			res->client_token = r->client_token;
			r->client_token = NULL;
		}
	}
	if (res->pam_code == PAM_SUCCESS && res->verified && cfg->export_env) {
		/* With jwt_template, the exported token is the template's. */
		add_env(res, "CLERK_SESSION_TOKEN",
			r->template_jwt != NULL ? r->template_jwt : r->session_jwt);
		add_env(res, "CLERK_SESSION_ID", r->session_id);
		add_env(res, "CLERK_USER_ID", res->claims.sub);
		add_env(res, "CLERK_ORG_ID", res->claims.org_id);
		add_env(res, "CLERK_ORG_ROLE", res->claims.org_role);
		add_env(res, "CLERK_ORG_SLUG", res->claims.org_slug);
	}
	return o;
}

void login_result_clear(struct login_result *res)
{
	sign_in_result_clear(&res->fapi);
	secret_free(res->client_token);
	explicit_bzero(res, sizeof *res);
}

int login_end_session(const struct conf *cfg, struct http_conn *conn, const char *client_token,
		      const char *session_id, char *why, size_t whysize)
{
	struct budget budget;
	budget_start(&budget, cfg->timeout * 1000);
	struct fapi_client client = { cfg->frontend_api, cfg->api_version, conn, &budget };
	if (conn == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	return fapi_end_session(&client, client_token, session_id, why, whysize);
}
