/* pam-clerk check: the configuration, read as the module reads it, tested
 * against the live instance with the module's transport settings. Each
 * finding is one line, "ok:", "info:", "warning:" or "problem:"; a problem
 * means a login cannot work. Never sends a password: only public
 * documents (/v1/environment, the JWKS) and, with secret_key_file, one
 * Backend API lookup of a user that cannot exist. */
#include "config.h"

#include "admin.h"
#include "bapi.h"
#include "buf.h"
#include "http.h"
#include "instance_env.h"
#include "jwt.h"
#include "login.h"
#include "sanitize.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct report {
	int problems;
};

static void say(struct report *r, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct report *r, const char *kind, const char *fmt, ...)
{
	char line[700], s_line[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (strcmp(kind, "problem") == 0)
		r->problems++;
	printf("%s: %s\n", kind, sanitize(s_line, sizeof s_line, line));
}

static void check_state_dir(struct report *r, const struct conf *cfg)
{
	struct stat st;
	if (cfg->state_dir == NULL) {
		say(r, "info",
		    "no state_dir: every login is a new device to Clerk (with Device Trust, a "
		    "code at every login); no offline cache");
		return;
	}
	if (lstat(cfg->state_dir, &st) != 0) {
		say(r, "info", "state_dir %s does not exist yet; the first login creates it (0700)",
		    cfg->state_dir);
		return;
	}
	if (!S_ISDIR(st.st_mode) || (st.st_mode & 077) != 0 ||
	    (st.st_uid != 0 && st.st_uid != geteuid()))
		say(r, "problem",
		    "state_dir %s must be a directory owned by root (or the login's user) with "
		    "mode 0700",
		    cfg->state_dir);
	else
		say(r, "ok", "state_dir %s is private", cfg->state_dir);
}

static void on_off(struct report *r, int v, const char *what)
{
	if (v >= 0)
		say(r, "info", "%s: %s", what, v ? "on" : "off");
}

/* The instance's settings that decide whether and how a login works. */
static void check_settings(struct report *r, const struct conf *cfg, const struct instance_env *e)
{
	if (e->native_api == 0)
		say(r, "problem",
		    "the Native API is off: every sign-in fails with native_api_disabled; switch "
		    "it on in the Clerk Dashboard (Configure > Native applications)");
	else if (e->native_api == 1)
		say(r, "ok", "the Native API is on");
	else
		say(r, "warning", "the instance does not say whether the Native API is on");
	if (e->password_enabled == 0)
		say(r, "problem",
		    "password sign-in is off: switch on Password in the Clerk Dashboard "
		    "(User & authentication)");
	else if (e->password_enabled == 1)
		say(r, "ok", "password sign-in is on");
	if (e->maintenance_mode == 1)
		say(r, "problem",
		    "the instance is in maintenance mode: sign-ins fail until it ends");
	if (e->second_factor_required == 1)
		say(r, "info",
		    "a second factor is required: users without one cannot finish a login (Clerk "
		    "asks them to set one up first); users with one are asked a code%s",
		    cfg->state_dir ? " unless this host is a known device" : "");
	else if (e->second_factor_required == 0)
		say(r, "info", "a second factor is not required (users who set one up are asked)");
	say(r, "info", "Device Trust is not shown by /v1/environment: %s",
	    cfg->state_dir ? "state_dir keeps this host's client, so it stays a known device"
			   : "without state_dir each login is a new device and, with Device "
			     "Trust on, is asked a code");
	if (e->single_session >= 0)
		say(r, "info", "single-session mode: %s%s", e->single_session ? "on" : "off",
		    e->single_session ? " (a user has one session per client; the module ends "
					"or reuses it)"
				      : "");
	on_off(r, e->enumeration_protection,
	       "enumeration protection (a wrong password and an unknown user look alike)");
}

/* Clerk's lockout next to what one login of this module may spend. */
static void check_lockout(struct report *r, const struct conf *cfg, const struct instance_env *e)
{
	/* A wrong password ends the login; a right one may be followed by
	 * max_tries wrong codes. */
	long per_login = cfg->max_tries;
	if (e->lockout_enabled == 0) {
		say(r, "warning",
		    "Clerk's user lockout is off: nothing stops password guessing at the instance");
		return;
	}
	if (e->lockout_attempts < 0) {
		say(r, "warning", "the instance does not say its lockout threshold");
		return;
	}
	say(r, "info", "Clerk locks a user after %ld failed attempts for %ld minutes, on every app",
	    e->lockout_attempts, e->lockout_minutes);
	if (per_login >= e->lockout_attempts)
		say(r, "warning",
		    "one login may spend %ld failures (max_tries=%ld wrong codes), enough for "
		    "Clerk to lock the user (threshold %ld): set max_tries to at most %ld",
		    per_login, cfg->max_tries, e->lockout_attempts,
		    e->lockout_attempts > 1 ? e->lockout_attempts - 1 : 1);
	else
		say(r, "ok",
		    "one login spends at most %ld failures, below Clerk's threshold of %ld",
		    per_login, e->lockout_attempts);
	if (cfg->state_dir == NULL) {
		say(r, "warning",
		    "state_dir=none: no local failure budget, so repeated wrong passwords reach "
		    "Clerk until it locks the user");
	} else if (cfg->fail_limit >= e->lockout_attempts) {
		say(r, "warning",
		    "the local failure budget lets %ld wrong passwords reach Clerk in %ld s, "
		    "enough for Clerk to lock the user (threshold %ld): set fail_limit to at "
		    "most %ld",
		    cfg->fail_limit, cfg->fail_window, e->lockout_attempts,
		    e->lockout_attempts > 2 ? e->lockout_attempts / 2 : 1);
	} else {
		say(r, "ok",
		    "the local failure budget refuses an identifier here after %ld wrong passwords "
		    "in %ld s (for %ld s), below Clerk's threshold of %ld",
		    cfg->fail_limit, cfg->fail_window, cfg->fail_lock, e->lockout_attempts);
	}
}

static int get(struct http_conn *conn, const char *url, long timeout_ms, struct buf *body,
	       char *err, size_t errsize)
{
	struct http_request req = { NULL, url, NULL, NULL, 0, timeout_ms };
	struct http_response resp;
	memset(&resp, 0, sizeof resp);
	int rc = -1;
	if (http_perform(conn, &req, &resp, err, errsize) != HTTP_OK)
		goto out;
	if (resp.status != 200) {
		snprintf(err, errsize, "HTTP %ld", resp.status);
		goto out;
	}
	rc = buf_append(body, resp.body.data ? resp.body.data : "", resp.body.len);
	if (rc != 0)
		snprintf(err, errsize, "too large");
out:
	http_response_free(&resp);
	return rc;
}

static void check_keys(struct report *r, const struct conf *cfg, struct http_conn *conn)
{
	char url[512], err[300];
	struct buf doc;
	struct jwt_keys jwks = { 0 }, pinned = { 0 };
	const char *kind = login_wants_token(cfg) ? "problem" : "warning";
	snprintf(url, sizeof url, "%s/.well-known/jwks.json", cfg->frontend_api);
	buf_init(&doc, HTTP_BODY_MAX);
	int have = get(conn, url, cfg->timeout * 1000, &doc, err, sizeof err) == 0 &&
		   jwt_keys_from_jwks(&jwks, buf_str(&doc), doc.len, err, sizeof err) == 0;
	buf_wipe(&doc);
	if (cfg->jwt_key != NULL) {
		if (jwt_keys_from_pem(&pinned, cfg->jwt_key, err, sizeof err) != 0) {
			say(r, "problem", "jwt_key is not a usable public key: %s", err);
		} else if (!have) {
			say(r, "warning",
			    "jwt_key is set, but the JWKS could not be read to compare: %s", err);
		} else {
			bool match = false;
			for (size_t i = 0; i < jwks.n && !match; i++)
				match = EVP_PKEY_eq(pinned.key[0].pkey, jwks.key[i].pkey) == 1;
			if (match)
				say(r, "ok", "jwt_key matches a key of the instance's JWKS");
			else
				say(r, "problem",
				    "jwt_key is none of the instance's keys: session tokens will "
				    "not "
				    "verify; copy the PEM public key from the Dashboard (API "
				    "keys)");
		}
	} else if (have) {
		say(r, "ok", "the JWKS (%s) gives %zu key(s) to verify session tokens", url,
		    jwks.n);
	} else {
		say(r, kind, "the JWKS %s cannot be used: %s", url, err);
	}
	jwt_keys_free(&jwks);
	jwt_keys_free(&pinned);
}

static void check_backend(struct report *r, const struct conf *cfg, struct http_conn *conn)
{
	char err[300];
	char *secret = bapi_read_secret(cfg->secret_key_file, err, sizeof err);
	if (secret == NULL) {
		say(r, "problem", "secret_key_file: %s", err);
		return;
	}
	struct bapi_user u;
	memset(&u, 0, sizeof u);
	enum bapi_result b =
		bapi_lookup(cfg->backend_api, conn, cfg->timeout * 1000, secret,
			    "pam-clerk-check@example.invalid", NULL, &u, err, sizeof err);
	secret_free(secret);
	switch (b) {
	case BAPI_FOUND:
	case BAPI_NOT_FOUND:
		say(r, "ok", "the Backend API %s accepts the secret key", cfg->backend_api);
		break;
	case BAPI_REFUSED:
		say(r, "problem", "the Backend API refuses the secret key in %s: %s",
		    cfg->secret_key_file, err);
		break;
	case BAPI_UNAVAILABLE:
		say(r, "problem", "the Backend API %s cannot be reached: %s", cfg->backend_api,
		    err);
		break;
	case BAPI_BAD:
		say(r, "problem", "%s does not answer as the Backend API: %s", cfg->backend_api,
		    err);
		break;
	}
}

int admin_check(const struct conf *cfg)
{
	struct report r = { 0 };
	say(&r, "ok", "configuration %s: valid",
	    cfg->conf_path ? cfg->conf_path : "(arguments only)");
	check_state_dir(&r, cfg);

	struct http_conn *conn = login_conn_new(cfg);
	struct instance_env e;
	long status = 0;
	char err[300];
	if (instance_env_fetch(cfg->frontend_api, cfg->api_version, conn, cfg->timeout * 1000, &e,
			       &status, err, sizeof err) != 0) {
		if (status == 0)
			say(&r, "problem",
			    "the Frontend API %s cannot be reached: %s (check frontend_api or "
			    "publishable_key, cafile/capath, proxy, the firewall)",
			    cfg->frontend_api, err);
		else
			say(&r, "problem",
			    "%s/v1/environment does not answer as Clerk's Frontend API: %s (check "
			    "frontend_api, proxy)",
			    cfg->frontend_api, err);
	} else {
		say(&r, "ok", "the Frontend API %s answers (TLS verified)", cfg->frontend_api);
		check_settings(&r, cfg, &e);
		check_lockout(&r, cfg, &e);
		check_keys(&r, cfg, conn);
	}
	if (cfg->secret_key_file != NULL)
		check_backend(&r, cfg, conn);
	http_conn_free(conn);
	if (r.problems == 0)
		printf("result: a login can work\n");
	else
		printf("result: %d problem%s: a login cannot work until %s fixed\n", r.problems,
		       r.problems == 1 ? "" : "s", r.problems == 1 ? "it is" : "they are");
	return r.problems == 0 ? ADMIN_OK : ADMIN_PROBLEM;
}
