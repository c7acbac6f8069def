/* PAM glue: the only file that talks to libpam. Everything it decides comes
 * from conf.c (settings), clerk.c (the sign-in) and outcome.c (the codes). */
#include "config.h"

#include "authz.h"
#include "bapi.h"
#include "buf.h"
#include "clerk.h"
#include "conf.h"
#include "http.h"
#include "jwks.h"
#include "offline.h"
#include "outcome.h"
#include "sanitize.h"
#include "state.h"

#include <stdbool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define EXPORT	       __attribute__((visibility("default")))
#define DATA_KEY       "pam_clerk/login"
#define IDENTIFIER_MAX 512

/* What authenticate leaves for setcred, acct_mgmt and the session stage
 * in this handle. Copied into children when the host forks; never holds a
 * connection or TLS state (PAM-NOTES 5). */
struct login_data {
	int retval;
	char user[IDENTIFIER_MAX];
	char session_id[FAPI_ID_MAX];
	char *client_token; /* secret: to end the session at close */
	int verified;	    /* claims come from a verified JWT */
	struct jwt_claims claims;
};

static void free_login_data(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	struct login_data *d = data;
	secret_free(d->client_token);
	explicit_bzero(d, sizeof *d);
	free(d);
}

/* Record the result; takes r's client token when the session stage will
 * need it to end the session. */
static void remember(pam_handle_t *pamh, const char *user, int retval, struct clerk_result *r,
		     const struct jwt_claims *claims, bool end_at_close)
{
	struct login_data *d = calloc(1, sizeof *d);
	if (d == NULL)
		return;
	d->retval = retval;
	snprintf(d->user, sizeof d->user, "%s", user ? user : "");
	if (r != NULL && retval == PAM_SUCCESS) {
		snprintf(d->session_id, sizeof d->session_id, "%s", r->session_id);
		if (end_at_close && !r->session_ended) {
			d->client_token = r->client_token;
			r->client_token = NULL;
		}
	}
	if (claims != NULL) {
		d->claims = *claims;
		d->verified = 1;
	}
	if (pam_set_data(pamh, DATA_KEY, d, free_login_data) != PAM_SUCCESS)
		free_login_data(pamh, d, 0);
}

static const struct login_data *recall(pam_handle_t *pamh)
{
	const void *data = NULL;
	if (pam_get_data(pamh, DATA_KEY, &data) != PAM_SUCCESS)
		return NULL;
	return data;
}

/* use_first_pass / try_first_pass may come from the file, which libpam's
 * pam_get_authtok does not read; handle them here as pam_unix does. */
static int get_password(pam_handle_t *pamh, const struct conf *cfg, const char **pw)
{
	if (cfg->use_first_pass || cfg->try_first_pass) {
		const void *item = NULL;
		if (pam_get_item(pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL) {
			*pw = item;
			return PAM_SUCCESS;
		}
		if (cfg->use_first_pass)
			return PAM_AUTHTOK_RECOVERY_ERR;
	}
	return pam_get_authtok(pamh, PAM_AUTHTOK, pw, NULL);
}

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
static void log_attempt(pam_handle_t *pamh, const struct conf *cfg, const char *user,
			const char *identifier, const struct clerk_result *r)
{
	const struct outcome_info *info = outcome_info(r->outcome);
	char s_user[300], s_id[600], s_code[80], s_trace[200], s_status[100], s_detail[400];
	const char *hint = r->outcome == OUTCOME_MISCONFIGURED
				   ? outcome_admin_hint(r->answer.error_code)
				   : NULL;
	pam_syslog(pamh, log_priority(info->pam_code),
		   "user=%s identifier=%s outcome=%s pam=%s clerk_error=%s http=%ld "
		   "clerk_trace_id=%s status=%s requests=%d factor=%s client=%s%s%s%s",
		   sanitize(s_user, sizeof s_user, user), sanitize(s_id, sizeof s_id, identifier),
		   info->name, pam_code_name(info->pam_code),
		   sanitize(s_code, sizeof s_code,
			    r->answer.error_code[0] ? r->answer.error_code : NULL),
		   r->http_status,
		   sanitize(s_trace, sizeof s_trace,
			    r->answer.trace_id[0] ? r->answer.trace_id : NULL),
		   sanitize(s_status, sizeof s_status,
			    r->answer.sign_in_status[0] ? r->answer.sign_in_status : NULL),
		   r->requests, r->factor[0] ? r->factor : "-",
		   r->stored_token_rejected ? "stale"
		   : r->used_stored_token   ? "stored"
					    : "new",
		   hint ? " fix=\"" : "", hint ? hint : "", hint ? "\"" : "");
	if (cfg->debug && r->detail[0] != '\0')
		pam_syslog(pamh, LOG_DEBUG, "debug: %s",
			   sanitize(s_detail, sizeof s_detail, r->detail));
}

static void tell_user(pam_handle_t *pamh, int flags, const struct clerk_result *r)
{
	const struct outcome_info *info = outcome_info(r->outcome);
	if ((flags & (int)PAM_SILENT) != 0 || info->user_message == NULL)
		return;
	long wait = r->outcome == OUTCOME_LOCKED	 ? r->answer.lockout_seconds
		    : r->outcome == OUTCOME_RATE_LIMITED ? r->retry_after
							 : -1;
	if (wait > 0)
		pam_error(pamh, "%s Try again in %ld minute%s.", info->user_message,
			  (wait + 59) / 60, (wait + 59) / 60 == 1 ? "" : "s");
	else
		pam_error(pamh, "%s", info->user_message);
}

/* The conversation for codes: shown as typed (one-time codes), and a
 * prompt sshd's password mode refuses, so that case fails cleanly. */
static int ask_user(void *ctx, const char *prompt, char **answer)
{
	char *resp = NULL;
	if (pam_prompt(ctx, PAM_PROMPT_ECHO_ON, &resp, "%s", prompt) != PAM_SUCCESS ||
	    resp == NULL) {
		secret_free(resp);
		return -1;
	}
	*answer = resp;
	return 0;
}

/* The connection of one pam_sm_* call: made and freed inside it, never
 * kept across calls or forks. NULL when out of memory. */
static struct http_conn *conn_for(const struct conf *cfg)
{
	struct http_options opt = { .cafile = cfg->cafile,
				    .capath = cfg->capath,
				    .proxy = cfg->proxy,
				    .connect_timeout_ms = cfg->connect_timeout * 1000,
				    .user_agent = "pam_clerk/" PACKAGE_VERSION };
	return http_conn_new(&opt);
}

static struct clerk_client client_for(const struct conf *cfg, struct http_conn *conn)
{
	struct clerk_client c = {
		.fapi_url = cfg->frontend_api,
		.api_version = cfg->api_version,
		.conn = conn,
		.timeout_ms = cfg->timeout * 1000,
	};
	return c;
}

/* Only these need the session JWT; a plain sign-in pays no request for it. */
static bool wants_token(const struct conf *cfg)
{
	return cfg->export_env || cfg->organization != NULL || authz_has_rules(cfg) ||
	       cfg->jwt_template != NULL;
}

/* The JWT later stages will trust: verified before any claim is used. */
static enum outcome verify_session(pam_handle_t *pamh, const struct conf *cfg,
				   struct http_conn *conn, struct clerk_result *r,
				   struct jwt_claims *claims)
{
	/* A JWKS fetch spends what is left of the login's network budget. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long left = r->deadline_ms - ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	long timeout_ms = cfg->timeout * 1000;
	if (left < timeout_ms)
		timeout_ms = left > 0 ? (long)left : 1;
	struct jwks_source src = { cfg->frontend_api, conn, timeout_ms, cfg->state_dir,
				   cfg->jwt_key };
	char why[300] = "", s_why[400];
	if (r->session_jwt == NULL) {
		snprintf(r->detail, sizeof r->detail, "no session token in Clerk's answer");
		return OUTCOME_BAD_RESPONSE;
	}
	int rc = jwks_verify(&src, r->session_jwt, r->session_id, r->user_id, claims, &r->requests,
			     why, sizeof why);
	if (rc == 0)
		return OUTCOME_SUCCESS;
	snprintf(r->detail, sizeof r->detail, "session JWT: %.200s", why);
	if (rc > 0) /* the keys could not be fetched */
		return rc == HTTP_ERR_TIMEOUT	? OUTCOME_TIMEOUT
		       : rc == HTTP_ERR_TLS	? OUTCOME_TLS_ERROR
		       : rc == HTTP_ERR_CONNECT ? OUTCOME_NETWORK_ERROR
						: OUTCOME_BAD_RESPONSE;
	pam_syslog(pamh, LOG_ERR, "session JWT REFUSED for session %s: %s", r->session_id,
		   sanitize(s_why, sizeof s_why, why));
	return OUTCOME_JWT_INVALID;
}

static void export_env(pam_handle_t *pamh, const struct clerk_result *r, const struct jwt_claims *c)
{
	const struct {
		const char *name;
		const char *value;
	} vars[] = {
		{ "CLERK_SESSION_TOKEN", r->session_jwt },
		{ "CLERK_SESSION_ID", r->session_id },
		{ "CLERK_USER_ID", c->sub },
		{ "CLERK_ORG_ID", c->org_id },
		{ "CLERK_ORG_ROLE", c->org_role },
		{ "CLERK_ORG_SLUG", c->org_slug },
	};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		struct buf b;
		buf_init(&b, 64 * 1024);
		if (vars[i].value != NULL && vars[i].value[0] != '\0' &&
		    buf_append_str(&b, vars[i].name) == 0 && buf_append(&b, "=", 1) == 0 &&
		    buf_append_str(&b, vars[i].value) == 0 &&
		    pam_putenv(pamh, b.data) != PAM_SUCCESS)
			pam_syslog(pamh, LOG_ERR, "could not export %s", vars[i].name);
		buf_wipe(&b);
	}
}

/* Sign in with the stored client for this identifier, if any, and keep the
 * client afterwards when it can be reused safely. */
static void sign_in(pam_handle_t *pamh, const struct conf *cfg, struct http_conn *conn,
		    const char *identifier, const char *password, struct clerk_result *r)
{
	struct state st = { -1, -1, "" };
	char why[300] = "";
	char *stored = NULL;
	/* A stored client serves one login at a time: a concurrent login of the
	 * same identifier is waited for 5 s at most, past which this one goes on
	 * without it. With nothing stored nothing is locked while the sign-in
	 * runs, so parallel checks of one account do not queue behind each other. */
	long wait_ms = (cfg->timeout < 5 ? cfg->timeout : 5) * 1000;
	bool keep = cfg->state_dir != NULL &&
		    state_open(&st, cfg->state_dir, identifier, why, sizeof why) == 0;
	if (keep && state_stored(&st)) {
		keep = state_lock(&st, wait_ms, why, sizeof why) == 0;
		if (keep)
			stored = state_load(&st, why, sizeof why);
		else
			snprintf(why + strlen(why), sizeof why - strlen(why),
				 "; not using stored state");
	}
	/* Root can always keep state, so a failure then is worth a warning; a
	 * non-root caller (a screen locker) simply goes without. */
	if (why[0] != '\0') {
		char s_why[400];
		pam_syslog(pamh, keep || geteuid() == 0 ? LOG_WARNING : LOG_DEBUG, "state_dir: %s",
			   sanitize(s_why, sizeof s_why, why));
	}
	struct clerk_client client = client_for(cfg, conn);
	struct clerk_login login = {
		.identifier = identifier,
		.password = password,
		.factor = cfg->factor,
		.max_tries = (int)cfg->max_tries,
		.keep_client = keep,
		.ask = ask_user,
		.ask_ctx = pamh,
		.want_token = wants_token(cfg),
		.organization = cfg->organization,
		.jwt_template = cfg->jwt_template,
		.end_now = strcmp(cfg->end_session, "auth") == 0,
	};
	clerk_result_init(r, stored);
	clerk_login(&client, &login, r);
	if (keep) {
		/* A signed-in client is kept only once its sessions are gone; the
		 * same client after a refusal is kept as it is (still trusted). A
		 * login that began without one removes nothing: what is there now
		 * was stored by a concurrent login. */
		bool save = r->client_token != NULL &&
			    (r->outcome == OUTCOME_SUCCESS
				     ? r->client_reusable
				     : r->used_stored_token && !r->stored_token_rejected &&
					       r->http_status != 0);
		bool drop = r->used_stored_token &&
			    (r->stored_token_rejected || r->outcome == OUTCOME_SUCCESS);
		why[0] = '\0';
		if (save && state_lock(&st, wait_ms, why, sizeof why) == 0)
			state_save(&st, r->client_token);
		else if (save)
			pam_syslog(pamh, LOG_WARNING, "state_dir: %s; trusted client not kept",
				   why);
		else if (drop)
			state_drop(&st);
	}
	state_close(&st);
}

/* offline_cache: keep the password's hash after an online success; forget
 * it when Clerk says the password or the account is bad; and only when
 * Clerk cannot be reached at all (never after a 4xx answer) let the cached
 * hash decide. */
static void use_offline_cache(pam_handle_t *pamh, const struct conf *cfg, const char *identifier,
			      const char *password, struct clerk_result *r)
{
	char msg[300] = "", s_msg[400];
	if (cfg->state_dir == NULL)
		return;
	switch (r->outcome) {
	case OUTCOME_SUCCESS:
		if (cfg->offline_cache > 0 &&
		    offline_store(cfg->state_dir, identifier, password, cfg->offline_cache,
				  time(NULL), msg, sizeof msg) != 0)
			pam_syslog(pamh, LOG_WARNING, "offline cache not updated: %s",
				   sanitize(s_msg, sizeof s_msg, msg));
		else if (cfg->offline_cache == 0)
			offline_forget(cfg->state_dir, identifier, msg, sizeof msg);
		return;
	case OUTCOME_BAD_CREDENTIALS:
	case OUTCOME_PASSWORD_COMPROMISED:
	case OUTCOME_LOCKED:
	case OUTCOME_BANNED: offline_forget(cfg->state_dir, identifier, msg, sizeof msg); return;
	case OUTCOME_NETWORK_ERROR:
	case OUTCOME_TIMEOUT:
	case OUTCOME_SERVER_ERROR: break;
	default: return;
	}
	if (cfg->offline_cache == 0)
		return;
	enum offline_result o =
		offline_check(cfg->state_dir, identifier, password, cfg->offline_cache,
			      (int)cfg->offline_max_failures, time(NULL), msg, sizeof msg);
	pam_syslog(pamh, o == OFFLINE_OK ? LOG_NOTICE : LOG_INFO,
		   "Clerk unreachable (%s); offline cache: %s: %s", outcome_info(r->outcome)->name,
		   offline_result_name(o), sanitize(s_msg, sizeof s_msg, msg));
	if (o == OFFLINE_OK)
		r->outcome = OUTCOME_OFFLINE;
	else if (o == OFFLINE_WRONG)
		r->outcome = OUTCOME_OFFLINE_BAD_PASSWORD;
	else if (o == OFFLINE_LOCKED)
		r->outcome = OUTCOME_OFFLINE_LOCKED;
}

static int authenticate(pam_handle_t *pamh, int flags, const struct conf *cfg)
{
	const char *user = NULL;
	const char *password = NULL;
	char identifier[IDENTIFIER_MAX];
	char why[128];
	struct clerk_result r;
	struct http_conn *conn = NULL;

	clerk_result_init(&r, NULL);
	int rc = pam_get_user(pamh, &user, NULL);
	if (rc != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "no user name: %s", pam_strerror(pamh, rc));
		return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
	}
	/* Ask for the password before judging the user name: no early hint. */
	rc = get_password(pamh, cfg, &password);
	if (rc != PAM_SUCCESS) {
		char s_user[300];
		pam_syslog(pamh, LOG_NOTICE, "user=%s no password: %s",
			   sanitize(s_user, sizeof s_user, user), pam_strerror(pamh, rc));
		return rc;
	}
	if (conf_expand_identifier(cfg->identifier, user, identifier, sizeof identifier, why,
				   sizeof why) != 0) {
		r.outcome = OUTCOME_BAD_CREDENTIALS;
		snprintf(r.detail, sizeof r.detail, "%s", why);
		identifier[0] = '\0';
	} else if (password == NULL || password[0] == '\0') {
		r.outcome = OUTCOME_EMPTY_PASSWORD;
	} else if ((conn = conn_for(cfg)) == NULL) {
		r.outcome = OUTCOME_INTERNAL_ERROR;
		snprintf(r.detail, sizeof r.detail, "out of memory");
	} else {
		sign_in(pamh, cfg, conn, identifier, password, &r);
	}
	struct jwt_claims claims;
	bool verified = false;
	if (r.outcome == OUTCOME_SUCCESS && wants_token(cfg)) {
		r.outcome = verify_session(pamh, cfg, conn, &r, &claims);
		verified = r.outcome == OUTCOME_SUCCESS;
		char deny[200];
		if (verified && strcmp(cfg->authorize, "auth") == 0 &&
		    authz_check(cfg, &claims, deny, sizeof deny) != 0) {
			snprintf(r.detail, sizeof r.detail, "%s", deny);
			r.outcome = OUTCOME_NOT_AUTHORIZED;
		}
	}
	if (identifier[0] != '\0' && password != NULL && password[0] != '\0')
		use_offline_cache(pamh, cfg, identifier, password, &r);
	log_attempt(pamh, cfg, user, identifier, &r);
	tell_user(pamh, flags, &r);
	rc = outcome_info(r.outcome)->pam_code;
	if (rc == PAM_SUCCESS && verified && cfg->export_env)
		export_env(pamh, &r, &claims);
	remember(pamh, user, rc, &r, verified ? &claims : NULL,
		 strcmp(cfg->end_session, "close") == 0);
	clerk_result_clear(&r);
	http_conn_free(conn);
	explicit_bzero(identifier, sizeof identifier);
	return rc;
}

static int load_conf(pam_handle_t *pamh, struct conf *cfg, int argc, const char **argv)
{
	char err[512];
	/* OpenSSL set up before any libcrypto call could do it on its own and
	 * read a caller's OPENSSL_CONF (http.c); a failure shows at the request. */
	(void)http_global_init();
	if (conf_load(cfg, argc, argv, PAM_CLERK_DEFAULT_CONF, err, sizeof err) != 0) {
		const struct outcome_info *info = outcome_info(OUTCOME_CONFIG_ERROR);
		char s_err[600];
		pam_syslog(pamh, LOG_ERR, "outcome=%s pam=%s configuration error: %s", info->name,
			   pam_code_name(info->pam_code), sanitize(s_err, sizeof s_err, err));
		return info->pam_code;
	}
	if (cfg->debug) {
		char s_url[400], s_path[400];
		pam_syslog(pamh, LOG_DEBUG,
			   "debug: config=%s frontend_api=%s api_version=%s timeout=%lds "
			   "connect_timeout=%lds proxy=%s",
			   sanitize(s_path, sizeof s_path, cfg->conf_path),
			   sanitize(s_url, sizeof s_url, cfg->frontend_api), cfg->api_version,
			   cfg->timeout, cfg->connect_timeout, cfg->proxy ? "set" : "none");
	}
	return PAM_SUCCESS;
}

EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct conf cfg;
	int rc = load_conf(pamh, &cfg, argc, argv);
	if (rc != PAM_SUCCESS) {
		remember(pamh, NULL, rc, NULL, NULL, false);
		return rc;
	}
	rc = authenticate(pamh, flags, &cfg);
	conf_free(&cfg);
	return rc;
}

/* Replays what authenticate returned in this handle. With no record, as
 * when sshd's keyboard-interactive mode authenticated in another process,
 * there is nothing to set up: PAM_SUCCESS, as pam_unix answers. */
EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	(void)argc;
	(void)argv;
	const struct login_data *d = recall(pamh);
	return d != NULL ? d->retval : PAM_SUCCESS;
}

/* acct_mgmt for a user pam_clerk did not sign in: look them up in the
 * Backend API; banned, locked, missing and non-member users are refused. */
static int account_from_backend(pam_handle_t *pamh, const struct conf *cfg, const char *user)
{
	char identifier[IDENTIFIER_MAX], why[300] = "", s_user[300], s_why[400];
	struct bapi_user u;
	int rc;
	if (conf_expand_identifier(cfg->identifier, user, identifier, sizeof identifier, why,
				   sizeof why) != 0)
		return PAM_USER_UNKNOWN;
	char *key = bapi_read_secret(cfg->secret_key_file, why, sizeof why);
	if (key == NULL) {
		pam_syslog(pamh, LOG_ERR, "configuration error: %s",
			   sanitize(s_why, sizeof s_why, why));
		return PAM_SERVICE_ERR;
	}
	struct http_conn *conn = conn_for(cfg);
	enum bapi_result b =
		conn == NULL
			? BAPI_UNAVAILABLE
			: bapi_lookup(cfg->backend_api, conn, cfg->timeout * 1000, key, identifier,
				      authz_has_rules(cfg) ? cfg->organization : NULL, &u, why,
				      sizeof why);
	http_conn_free(conn);
	secret_free(key);
	if (b == BAPI_FOUND && (u.banned || u.locked)) {
		snprintf(why, sizeof why, "%s in Clerk", u.banned ? "banned" : "locked");
		rc = PAM_PERM_DENIED;
	} else if (b == BAPI_FOUND) {
		struct jwt_claims c;
		memset(&c, 0, sizeof c);
		if (u.in_org && cfg->organization != NULL) {
			snprintf(c.org_id, sizeof c.org_id, "%s", cfg->organization);
			snprintf(c.org_slug, sizeof c.org_slug, "%s", cfg->organization);
			snprintf(c.org_role, sizeof c.org_role, "%s", u.org_role);
		}
		rc = authz_check(cfg, &c, why, sizeof why) == 0 ? PAM_SUCCESS : PAM_PERM_DENIED;
	} else {
		rc = b == BAPI_NOT_FOUND ? PAM_USER_UNKNOWN
		     : b == BAPI_REFUSED ? PAM_SERVICE_ERR
					 : PAM_AUTHINFO_UNAVAIL;
		if (b == BAPI_NOT_FOUND)
			snprintf(why, sizeof why, "no such Clerk user");
	}
	pam_syslog(pamh, rc == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE,
		   "user=%s account (Backend API) pam=%s%s%s",
		   sanitize(s_user, sizeof s_user, user), pam_code_name(rc), why[0] ? ": " : "",
		   sanitize(s_why, sizeof s_why, why));
	explicit_bzero(identifier, sizeof identifier);
	return rc;
}

/* For a user this module signed in (in this handle): the organization and
 * role rules on the verified claims. Anyone else is not ours (PAM_IGNORE). */
EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	const struct login_data *d = recall(pamh);
	const char *user = NULL;
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || user == NULL ||
	    user[0] == '\0')
		return PAM_USER_UNKNOWN;
	bool ours = d != NULL && d->retval == PAM_SUCCESS && strcmp(user, d->user) == 0;
	struct conf cfg;
	if (load_conf(pamh, &cfg, argc, argv) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	if (!ours) {
		/* Signed in another way: Clerk's Backend API judges, or nobody. */
		int rc = cfg.secret_key_file ? account_from_backend(pamh, &cfg, user) : PAM_IGNORE;
		conf_free(&cfg);
		return rc;
	}
	int rc = PAM_SUCCESS;
	char why[200], s_user[300];
	if (authz_has_rules(&cfg)) {
		if (!d->verified)
			snprintf(why, sizeof why, "no verified session token (rules need one)");
		if (!d->verified || authz_check(&cfg, &d->claims, why, sizeof why) != 0) {
			pam_syslog(pamh, LOG_NOTICE, "user=%s account refused: %s",
				   sanitize(s_user, sizeof s_user, user), why);
			rc = PAM_PERM_DENIED;
		}
	}
	conf_free(&cfg);
	return rc;
}

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/* end_session=close: the Clerk session this login created ends with the
 * PAM session, so a host's logins do not pile up in the user's account. */
EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	const struct login_data *d = recall(pamh);
	if (d == NULL || d->client_token == NULL || d->session_id[0] == '\0')
		return PAM_SUCCESS;
	struct conf cfg;
	if (load_conf(pamh, &cfg, argc, argv) != PAM_SUCCESS)
		return PAM_SUCCESS; /* logged; closing must not fail the logout */
	struct http_conn *conn = conn_for(&cfg);
	struct clerk_client client = client_for(&cfg, conn);
	char why[300] = "out of memory", s_why[400];
	if (conn != NULL &&
	    clerk_end_session(&client, d->client_token, d->session_id, why, sizeof why) == 0)
		pam_syslog(pamh, LOG_INFO, "session %s ended", d->session_id);
	else
		pam_syslog(pamh, LOG_WARNING, "session %s not ended: %s", d->session_id,
			   sanitize(s_why, sizeof s_why, why));
	http_conn_free(conn);
	conf_free(&cfg);
	return PAM_SUCCESS;
}

/* Passwords are changed in Clerk, not through PAM: not ours. */
EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}
