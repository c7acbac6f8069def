/* PAM glue: the only file that talks to libpam. It gets the items from
 * libpam, runs the login core (login.c) or the account check (account.c),
 * and logs, talks, exports and records what they decided. */
#include "config.h"

#include "account.h"
#include "buf.h"
#include "conf.h"
#include "http.h"
#include "login.h"
#include "outcome.h"
#include "sanitize.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define EXPORT	 __attribute__((visibility("default")))
#define DATA_KEY "pam_clerk/login"

/* What authenticate leaves for setcred, acct_mgmt and the session stage
 * in this handle. Copied into children when the host forks; never holds a
 * connection or TLS state: a forked child must not share them. */
struct login_data {
	int retval;
	char user[LOGIN_IDENTIFIER_MAX];
	char session_id[FAPI_ID_MAX];
	char *client_token; /* secret: to end the session at close */
	bool verified;	    /* claims come from a verified JWT */
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

/* Record the result for the later stages; takes res's client token. */
static void remember(pam_handle_t *pamh, const char *user, int retval, struct login_result *res)
{
	struct login_data *d = calloc(1, sizeof *d);
	if (d == NULL)
		return;
	d->retval = retval;
	snprintf(d->user, sizeof d->user, "%s", user ? user : "");
	if (res != NULL) {
		snprintf(d->session_id, sizeof d->session_id, "%s", res->session_id);
		d->client_token = res->client_token;
		res->client_token = NULL;
		/* offline: the claims of the last verified sign-in (issue 14) */
		d->verified = res->verified || res->offline_claims;
		if (d->verified)
			d->claims = res->claims;
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

/* --- the host the core talks through ------------------------------------- */

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

static void log_line(void *ctx, int priority, const char *line)
{
	pam_syslog(ctx, priority, "%s", line);
}

static time_t wall_clock(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static void export_env(pam_handle_t *pamh, const struct login_result *res)
{
	for (size_t i = 0; i < res->n_env; i++) {
		struct buf b;
		buf_init(&b, 64 * 1024);
		if (buf_append_str(&b, res->env[i].name) == 0 && buf_append(&b, "=", 1) == 0 &&
		    buf_append_str(&b, res->env[i].value) == 0 &&
		    pam_putenv(pamh, b.data) != PAM_SUCCESS)
			pam_syslog(pamh, LOG_ERR, "could not export %s", res->env[i].name);
		buf_wipe(&b);
	}
}

static int authenticate(pam_handle_t *pamh, int flags, const struct conf *cfg)
{
	const char *user = NULL;
	const char *password = NULL;
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
	const void *rhost = NULL; /* the local failure budget counts per remote host */
	if (pam_get_item(pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	struct login_host host = { ask_user, log_line, wall_clock, pamh, rhost };
	struct http_conn *conn = login_conn_new(cfg);
	struct login_result res;
	login_run(cfg, user, password, conn, &host, &res);
	http_conn_free(conn);
	pam_syslog(pamh, res.log_priority, "%s", res.log_line);
	if (res.debug_line[0] != '\0')
		pam_syslog(pamh, LOG_DEBUG, "%s", res.debug_line);
	if ((flags & (int)PAM_SILENT) == 0 && res.message[0] != '\0')
		pam_error(pamh, "%s", res.message);
	export_env(pamh, &res);
	rc = res.pam_code;
	remember(pamh, user, rc, &res);
	login_result_clear(&res);
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
		remember(pamh, NULL, rc, NULL);
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

/* For a user this module signed in (in this handle): the rules on the
 * verified claims. Anyone else: Clerk's Backend API judges when
 * secret_key_file is set, else they are not ours (PAM_IGNORE). */
EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	const struct login_data *d = recall(pamh);
	const char *user = NULL;
	char s_user[300], s_why[400];
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || user == NULL ||
	    user[0] == '\0')
		return PAM_USER_UNKNOWN;
	bool ours = d != NULL && d->retval == PAM_SUCCESS && strcmp(user, d->user) == 0;
	struct conf cfg;
	if (load_conf(pamh, &cfg, argc, argv) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	struct account_result a;
	if (ours) {
		account_check_claims(&cfg, d->verified, &d->claims, &a);
		if (a.pam_code != PAM_SUCCESS)
			pam_syslog(pamh, LOG_NOTICE, "user=%s account refused: %s",
				   sanitize(s_user, sizeof s_user, user), a.why);
	} else if (cfg.secret_key_file == NULL) {
		a.pam_code = PAM_IGNORE;
	} else {
		struct http_conn *conn = login_conn_new(&cfg);
		account_check_backend(&cfg, conn, user, &a);
		http_conn_free(conn);
		if (a.config_error)
			pam_syslog(pamh, LOG_ERR, "configuration error: %s",
				   sanitize(s_why, sizeof s_why, a.why));
		else if (!a.unnamed)
			pam_syslog(pamh, a.pam_code == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE,
				   "user=%s account (Backend API) pam=%s%s%s",
				   sanitize(s_user, sizeof s_user, user), pam_code_name(a.pam_code),
				   a.why[0] ? ": " : "", sanitize(s_why, sizeof s_why, a.why));
	}
	conf_free(&cfg);
	return a.pam_code;
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
	struct http_conn *conn = login_conn_new(&cfg);
	char why[300], s_why[400];
	if (login_end_session(&cfg, conn, d->client_token, d->session_id, why, sizeof why) == 0)
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
