#include "config.h"

#include "conf.h"

#include "buf.h"
#include "fapi_url.h"
#include "proxy_url.h"
#include "offline.h"
#include "success_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define VALUE_MAX   1024
#define SECONDS_MAX 60

#define DEFAULT_API_VERSION	     "2026-05-12"
#define DEFAULT_TIMEOUT		     10
#define DEFAULT_CONNECT_TIMEOUT	     5
#define DEFAULT_MAX_TRIES	     3
#define MAX_TRIES_MAX		     10
#define DEFAULT_OFFLINE_MAX_FAILURES 5

enum kind {
	K_CONF, /* only as a module argument */
	K_FLAG,
	K_SECONDS,
	K_FILE, /* absolute path of a readable file */
	K_DIR,	/* absolute path of a directory */
	K_KEY,	/* publishable key */
	K_URL,	/* https://host[:port] */
	K_PROXY,
	K_VERSION,    /* YYYY-MM-DD */
	K_IDENTIFIER, /* format with %u */
	K_FACTOR,     /* a second-factor strategy */
	K_TRIES,      /* 1 to MAX_TRIES_MAX */
	K_STATE_DIR,  /* absolute path (created when missing), or none */
	K_NAME,	      /* letters, digits, '_' and '-' */
	K_ROLES,      /* comma-separated names, "org:" prefixes allowed */
	K_PEM,	      /* absolute path of a file, or a key on one line */
	K_AUTHORIZE,  /* auth | account */
	K_END,	      /* close | auth | never */
	K_HOURS,      /* 0 to OFFLINE_MAX_HOURS */
	K_FAILURES,   /* 1 to 100 */
	K_AUTH_CACHE, /* 0 to SUCCESS_CACHE_MAX_SECONDS (issue 15) */
	K_ATTACK,     /* attack protection (issue 14): conf_attack.c */
};

struct key_def {
	const char *name;
	enum kind kind;
	size_t offset;
};

#define AT(field) offsetof(struct conf, field)
static const struct key_def keys[] = {
	{ "conf", K_CONF, AT(conf_path) },
	{ "publishable_key", K_KEY, AT(publishable_key) },
	{ "frontend_api", K_URL, AT(frontend_api_arg) },
	{ "issuer", K_URL, AT(issuer) }, /* issue 12 item 5: iss behind a proxy */
	{ "identifier", K_IDENTIFIER, AT(identifier) },
	{ "cafile", K_FILE, AT(cafile) },
	{ "capath", K_DIR, AT(capath) },
	{ "timeout", K_SECONDS, AT(timeout) },
	{ "connect_timeout", K_SECONDS, AT(connect_timeout) },
	{ "proxy", K_PROXY, AT(proxy) },
	{ "api_version", K_VERSION, AT(api_version) },
	{ "factor", K_FACTOR, AT(factor) },
	{ "max_tries", K_TRIES, AT(max_tries) },
	{ "state_dir", K_STATE_DIR, AT(state_dir) },
	{ "export_env", K_FLAG, AT(export_env) },
	{ "jwt_template", K_NAME, AT(jwt_template) },
	{ "jwt_key", K_PEM, AT(jwt_key) },
	{ "organization", K_NAME, AT(organization) },
	{ "require_organization", K_FLAG, AT(require_organization) },
	{ "allowed_roles", K_ROLES, AT(allowed_roles) },
	{ "authorize", K_AUTHORIZE, AT(authorize) },
	{ "end_session", K_END, AT(end_session) },
	{ "secret_key_file", K_FILE, AT(secret_key_file) },
	{ "backend_api", K_URL, AT(backend_api_arg) },
	{ "offline_cache", K_HOURS, AT(offline_cache) },
	{ "offline_max_failures", K_FAILURES, AT(offline_max_failures) },
	{ "debug", K_FLAG, AT(debug) },
	{ "use_first_pass", K_FLAG, AT(use_first_pass) },
	{ "try_first_pass", K_FLAG, AT(try_first_pass) },
	/* web and mail hosts (issue 15) */
	{ "cached_auth_timeout", K_AUTH_CACHE, AT(cached_auth_timeout) },
	/* attack protection (issue 14) */
	{ "local_accounts_only", K_FLAG, AT(local_accounts_only) },
	{ "fail_limit", K_ATTACK, AT(fail_limit) },
	{ "fail_window", K_ATTACK, AT(fail_window) },
	{ "fail_lock", K_ATTACK, AT(fail_lock) },
	{ "fail_rhost_limit", K_ATTACK, AT(fail_rhost_limit) },
	{ "signin_rate", K_ATTACK, AT(signin_rate) },
	{ "attempt_rate", K_ATTACK, AT(attempt_rate) },
};
#define NKEYS (sizeof keys / sizeof keys[0])

const char *conf_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

/* Where a setting came from, for error messages: "file:line" or "argument". */
struct origin {
	const char *file;
	unsigned line;
	bool private; /* a file only its owner can read: the place for a password */
};

__attribute__((format(printf, 5, 6))) static int
fail(char *err, size_t errsize, const struct origin *o, const char *key, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (o->file != NULL)
		snprintf(err, errsize, "%s:%u: key '%s': %s", o->file, o->line, key, what);
	else
		snprintf(err, errsize, "module argument '%s': %s", key, what);
	return -1;
}

static const struct key_def *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

static int parse_flag(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	if (v == NULL) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_small_number(const char *v, long *out)
{
	if (v[0] < '0' || v[0] > '9' || strlen(v) > 3)
		return -1;
	char *end;
	long n = strtol(v, &end, 10);
	if (*end != '\0' || n < 1 || n > SECONDS_MAX)
		return -1;
	*out = n;
	return 0;
}

static int check_version(const char *v)
{
	static const char shape[] = "dddd-dd-dd";
	if (strlen(v) != sizeof shape - 1)
		return -1;
	for (size_t i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != '-')
			return -1;
	return 0;
}

/* The transport tunnels through an http:// proxy with CONNECT (http.c).
 * 0, 1 when it carries credentials, -1 when malformed. */
static int check_proxy(const char *v)
{
	struct http_target t;
	struct buf auth;
	buf_init(&auth, 2048);
	int rc = http_proxy_parse(v, &t, &auth);
	int with_password = auth.len > 0;
	buf_wipe(&auth);
	return rc != 0 ? -1 : with_password;
}

static int set_string(struct conf *c, const struct key_def *k, const char *v)
{
	char **slot = (char **)(void *)((char *)c + k->offset);
	char *copy = strdup(v);
	if (copy == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

/* Validate one key = value and store it. value is NULL for a bare word. */
static int conf_set(struct conf *c, const struct key_def *k, const char *v, const struct origin *o,
		    char *err, size_t errsize)
{
	char why[200] = "";
	struct stat st;

	if (k->kind != K_FLAG && (v == NULL || v[0] == '\0'))
		return fail(err, errsize, o, k->name, "needs a value (%s = ...)", k->name);
	if (v != NULL && strlen(v) > VALUE_MAX)
		return fail(err, errsize, o, k->name, "value longer than %d characters", VALUE_MAX);
	for (const char *p = v; p != NULL && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(err, errsize, o, k->name, "value has a control character");

	switch (k->kind) {
	case K_CONF:
		if (o->file != NULL)
			return fail(err, errsize, o, k->name, "only allowed as a module argument");
		/* Relative would mean relative to whatever directory the host runs in. */
		if (v[0] != '/')
			return fail(err, errsize, o, k->name, "'%s' is not an absolute path", v);
		break;
	case K_FLAG:
		if (parse_flag(v, (bool *)(void *)((char *)c + k->offset)) != 0)
			return fail(err, errsize, o, k->name, "expected yes or no, got '%s'", v);
		return 0;
	case K_SECONDS:
		if (parse_small_number(v, (long *)(void *)((char *)c + k->offset)) != 0)
			return fail(err, errsize, o, k->name,
				    "expected whole seconds from 1 to %d, got '%s'", SECONDS_MAX,
				    v);
		return 0;
	case K_FILE:
		if (v[0] != '/' || stat(v, &st) != 0 || !S_ISREG(st.st_mode))
			return fail(err, errsize, o, k->name,
				    "'%s' is not an existing file (absolute path)", v);
		break;
	case K_DIR:
		if (v[0] != '/' || stat(v, &st) != 0 || !S_ISDIR(st.st_mode))
			return fail(err, errsize, o, k->name,
				    "'%s' is not an existing directory (absolute path)", v);
		break;
	case K_KEY: {
		char url[CONF_URL_MAX];
		/* The key is public, but only its prefix is worth echoing. */
		if (fapi_url_from_key(v, url, sizeof url, why, sizeof why) != 0)
			return fail(err, errsize, o, k->name, "not a Clerk publishable key: %s",
				    why);
		break;
	}
	case K_URL: {
		char url[CONF_URL_MAX];
		if (fapi_url_normalize(v, url, sizeof url, why, sizeof why) != 0)
			return fail(err, errsize, o, k->name, "'%s': %s", v, why);
		break;
	}
	case K_PROXY: {
		int creds = check_proxy(v);
		/* Module arguments sit in world-readable /etc/pam.d files. */
		if (creds == 1 && !o->private)
			return fail(err, errsize, o, k->name,
				    "a proxy password belongs in a configuration file that only "
				    "root can read (chmod 600), not %s",
				    o->file != NULL ? "in a file others can read"
						    : "in a module argument");
		if (creds < 0)
			return fail(err, errsize, o, k->name,
				    "expected http://[user:password@]host[:port] (https:// and "
				    "SOCKS proxies are not supported)");
		break;
	}
	case K_VERSION:
		if (check_version(v) != 0)
			return fail(err, errsize, o, k->name,
				    "expected a date YYYY-MM-DD, got '%s'", v);
		break;
	case K_FACTOR:
		if (strcmp(v, "totp") != 0 && strcmp(v, "phone_code") != 0 &&
		    strcmp(v, "email_code") != 0 && strcmp(v, "backup_code") != 0)
			return fail(
				err, errsize, o, k->name,
				"expected totp, phone_code, email_code or backup_code, got '%s'",
				v);
		break;
	case K_TRIES: {
		long n;
		if (parse_small_number(v, &n) != 0 || n > MAX_TRIES_MAX)
			return fail(err, errsize, o, k->name,
				    "expected a number from 1 to %d, got '%s'", MAX_TRIES_MAX, v);
		*(long *)(void *)((char *)c + k->offset) = n;
		return 0;
	}
	case K_HOURS:
	case K_FAILURES: {
		long max = k->kind == K_HOURS ? OFFLINE_MAX_HOURS : 100,
		     min = k->kind == K_HOURS ? 0 : 1;
		char *end;
		long n = (v[0] >= '0' && v[0] <= '9' && strlen(v) <= 5) ? strtol(v, &end, 10) : -1;
		if (n < min || n > max || *end != '\0')
			return fail(err, errsize, o, k->name,
				    "expected a number from %ld to %ld, got '%s'", min, max, v);
		*(long *)(void *)((char *)c + k->offset) = n;
		return 0;
	}
	case K_AUTH_CACHE: { /* web and mail hosts (issue 15) */
		char *end;
		long n = (v[0] >= '0' && v[0] <= '9' && strlen(v) <= 4) ? strtol(v, &end, 10) : -1;
		if (n < 0 || n > SUCCESS_CACHE_MAX_SECONDS || *end != '\0')
			return fail(err, errsize, o, k->name,
				    "expected seconds from 0 (off) to %ld, got '%s'",
				    SUCCESS_CACHE_MAX_SECONDS, v);
		*(long *)(void *)((char *)c + k->offset) = n;
		return 0;
	}
	case K_ATTACK: {
		char what[200];
		if (conf_attack_set(c, k->offset, v, what, sizeof what) != 0)
			return fail(err, errsize, o, k->name, "%s", what);
		return 0;
	}
	case K_STATE_DIR:
		if (v[0] != '/' && strcmp(v, "none") != 0)
			return fail(err, errsize, o, k->name,
				    "expected an absolute path or none, got '%s'", v);
		break;
	case K_NAME:
	case K_ROLES:
		for (const char *p = v; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
			      (k->kind == K_ROLES && (*p == ',' || *p == ':'))))
				return fail(err, errsize, o, k->name,
					    "only letters, digits, '_' and '-'%s are allowed",
					    k->kind == K_ROLES ? " (and ',' between roles)" : "");
		if (strlen(v) > 128)
			return fail(err, errsize, o, k->name, "longer than 128 characters");
		break;
	case K_PEM:
		if (v[0] == '/' && (stat(v, &st) != 0 || !S_ISREG(st.st_mode)))
			return fail(err, errsize, o, k->name, "'%s' is not an existing file", v);
		break;
	case K_AUTHORIZE:
		if (strcmp(v, "auth") != 0 && strcmp(v, "account") != 0)
			return fail(err, errsize, o, k->name, "expected auth or account, got '%s'",
				    v);
		c->authorize = strcmp(v, "auth") == 0 ? AUTHORIZE_AT_AUTH : AUTHORIZE_AT_ACCOUNT;
		return 0;
	case K_END:
		if (strcmp(v, "close") != 0 && strcmp(v, "auth") != 0 && strcmp(v, "never") != 0)
			return fail(err, errsize, o, k->name,
				    "expected close, auth or never, got '%s'", v);
		c->end_session = strcmp(v, "close") == 0  ? END_SESSION_AT_CLOSE
				 : strcmp(v, "auth") == 0 ? END_SESSION_AT_AUTH
							  : END_SESSION_NEVER;
		return 0;
	case K_IDENTIFIER:
		if (conf_identifier_format_check(v) != 0)
			return fail(err, errsize, o, k->name,
				    "only %%u (the PAM user) and %%%% may follow %%, at most %d "
				    "characters",
				    CONF_USER_MAX);
		break;
	}
	if (set_string(c, k, v) != 0)
		return fail(err, errsize, o, k->name, "out of memory");
	return 0;
}

/* "key", "key=value" (arguments) or "key = value" (file lines). */
static int conf_set_pair(struct conf *c, char *pair, const struct origin *o, char *err,
			 size_t errsize)
{
	char *eq = strchr(pair, '=');
	char *key_end = eq != NULL ? eq : pair + strlen(pair);
	char *value = NULL;
	if (eq != NULL) {
		value = eq + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		char *end = value + strlen(value);
		while (end > value && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
	}
	while (key_end > pair && (key_end[-1] == ' ' || key_end[-1] == '\t'))
		key_end--;
	const struct key_def *k = find_key(pair, (size_t)(key_end - pair));
	if (k == NULL) {
		*key_end = '\0';
		char shown[64];
		snprintf(shown, sizeof shown, "%.40s", pair);
		for (char *p = shown; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		return fail(err, errsize, o, shown, "unknown key");
	}
	return conf_set(c, k, value, o, err, errsize);
}

static int parse_conf_text(struct conf *c, const char *path, bool private, char *text, char *err,
			   size_t errsize)
{
	struct origin o = { path, 0, private };
	char *line = text;
	while (line != NULL && *line != '\0') {
		char *next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		o.line++;
		while (*line == ' ' || *line == '\t')
			line++;
		size_t len = strlen(line);
		while (len > 0 &&
		       (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len > 0 && line[0] != '#' && conf_set_pair(c, line, &o, err, errsize) != 0)
			return -1;
		line = next;
	}
	return 0;
}

static int conf_finish(struct conf *c, char *err, size_t errsize)
{
	char why[200];
	/* Unset, it is 5 s or the whole timeout if that is shorter. */
	if (c->connect_timeout == 0)
		c->connect_timeout =
			c->timeout < DEFAULT_CONNECT_TIMEOUT ? c->timeout : DEFAULT_CONNECT_TIMEOUT;
	if (c->connect_timeout > c->timeout) {
		snprintf(err, errsize, "connect_timeout (%ld s) is longer than timeout (%ld s)",
			 c->connect_timeout, c->timeout);
		return -1;
	}
	if (c->frontend_api_arg != NULL) {
		if (fapi_url_normalize(c->frontend_api_arg, c->frontend_api, sizeof c->frontend_api,
				       why, sizeof why) != 0) {
			snprintf(err, errsize, "frontend_api: %s", why);
			return -1;
		}
	} else if (c->publishable_key != NULL) {
		if (fapi_url_from_key(c->publishable_key, c->frontend_api, sizeof c->frontend_api,
				      why, sizeof why) != 0) {
			snprintf(err, errsize, "publishable_key: %s", why);
			return -1;
		}
	} else {
		snprintf(err, errsize,
			 "no Clerk instance configured: set publishable_key or frontend_api%s%s",
			 c->conf_path ? " in " : "", c->conf_path ? c->conf_path : "");
		return -1;
	}
	if (c->identifier == NULL && (c->identifier = strdup("%u")) == NULL)
		return -1;
	if (c->api_version == NULL && (c->api_version = strdup(DEFAULT_API_VERSION)) == NULL)
		return -1;
	if (c->max_tries == 0)
		c->max_tries = DEFAULT_MAX_TRIES;
	if (c->offline_max_failures == 0)
		c->offline_max_failures = DEFAULT_OFFLINE_MAX_FAILURES;
	if (fapi_url_normalize(c->backend_api_arg ? c->backend_api_arg : "https://api.clerk.com",
			       c->backend_api, sizeof c->backend_api, why, sizeof why) != 0) {
		snprintf(err, errsize, "backend_api: %s", why);
		return -1;
	}
	if (c->require_organization && c->organization == NULL) {
		snprintf(err, errsize,
			 "require_organization needs organization = org_... or a slug");
		return -1;
	}
	if (c->state_dir == NULL && (c->state_dir = strdup(PAM_CLERK_STATE_DIR)) == NULL)
		return -1;
	if (strcmp(c->state_dir, "none") == 0) {
		free(c->state_dir);
		c->state_dir = NULL;
	}
	if (c->offline_cache > 0 && c->state_dir == NULL) {
		snprintf(err, errsize, "offline_cache needs a state_dir (it is none)");
		return -1;
	}
	return 0;
}

int conf_load(struct conf *c, int argc, const char **argv, const char *default_path, char *err,
	      size_t errsize)
{
	memset(c, 0, sizeof *c);
	c->timeout = DEFAULT_TIMEOUT;
	conf_attack_defaults(c); /* attack protection (issue 14) */
	struct origin arg = { NULL, 0, false };
	const char *path = default_path;
	int explicit_path = 0;

	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "conf=", 5) == 0) {
			char *copy = strdup(argv[i]);
			int rc = copy ? conf_set_pair(c, copy, &arg, err, errsize) : -1;
			free(copy);
			if (rc != 0)
				goto fail;
			path = c->conf_path;
			explicit_path = 1;
		}

	if (path != NULL) {
		char *text = NULL;
		int missing = 0;
		bool private = false;
		if (conf_read_file(path, &text, &missing, &private, err, errsize) == 0) {
			int rc = parse_conf_text(c, path, private, text, err, errsize);
			secret_free(text); /* may hold a proxy password */
			if (rc != 0)
				goto fail;
			if (!explicit_path) {
				free(c->conf_path);
				c->conf_path = strdup(path);
			}
		} else if (explicit_path || !missing) {
			goto fail;
		}
	}

	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "conf=", 5) == 0)
			continue;
		char *copy = strdup(argv[i]);
		int rc = copy ? conf_set_pair(c, copy, &arg, err, errsize) : -1;
		free(copy);
		if (rc != 0)
			goto fail;
	}
	if (conf_finish(c, err, errsize) == 0)
		return 0;
fail:
	conf_free(c);
	return -1;
}

void conf_free(struct conf *c)
{
	free(c->conf_path);
	free(c->publishable_key);
	free(c->frontend_api_arg);
	free(c->issuer);
	free(c->identifier);
	free(c->cafile);
	free(c->capath);
	secret_free(c->proxy); /* may hold a proxy password */
	free(c->api_version);
	free(c->factor);
	free(c->state_dir);
	free(c->jwt_template);
	free(c->jwt_key);
	free(c->organization);
	free(c->allowed_roles);
	free(c->secret_key_file);
	free(c->backend_api_arg);
	memset(c, 0, sizeof *c);
}
