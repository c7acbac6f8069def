#include "config.h"

#include "fapi_answer.h"

#include "buf.h"
#include "json_strict.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct json_object *parse_json(const char *body, size_t len, char *err, size_t errsize)
{
	return json_parse_strict(body, len, json_type_object, err, errsize);
}

static struct json_object *member(struct json_object *o, const char *key, enum json_type t)
{
	struct json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

static bool present_not_null(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) && v != NULL;
}

/* An optional member: absent or null gives 0 and *out NULL; present with
 * another type gives -1. */
static int optional(struct json_object *o, const char *key, enum json_type t,
		    struct json_object **out)
{
	struct json_object *v = NULL;
	*out = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, t))
		return -1;
	*out = v;
	return 0;
}

/* Copy a string member; -1 if it is missing, not a string, or too long. */
static int copy_string(struct json_object *o, const char *key, char *out, size_t outsize)
{
	struct json_object *v = member(o, key, json_type_string);
	if (v == NULL)
		return -1;
	size_t n = (size_t)json_object_get_string_len(v);
	if (n >= outsize || memchr(json_object_get_string(v), '\0', n) != NULL)
		return -1;
	memcpy(out, json_object_get_string(v), n + 1);
	return 0;
}

/* Clerk ids (sia_..., sess_..., user_...) go into logs and, later, URL
 * paths: only letters, digits, '_' and '-' are accepted. */
static int copy_id(struct json_object *o, const char *key, char *out, size_t outsize)
{
	if (copy_string(o, key, out, outsize) != 0 || out[0] == '\0')
		return -1;
	for (const char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return -1;
	return 0;
}

/* Error codes are snake_case; anything else is replaced, not trusted. */
static void copy_code(struct json_object *err0, char *out, size_t outsize)
{
	if (copy_string(err0, "code", out, outsize) != 0) {
		snprintf(out, outsize, "(invalid)");
		return;
	}
	for (const char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
			snprintf(out, outsize, "(invalid)");
			return;
		}
}

static void read_lockout(struct json_object *meta, long *out)
{
	struct json_object *v = member(meta, "lockout_expires_in_seconds", json_type_int);
	if (v != NULL && *out < 0) {
		int64_t s = json_object_get_int64(v);
		*out = s < 0 ? 0 : (s > 86400L * 366 ? 86400L * 366 : (long)s);
	}
}

static int parse_error(struct json_object *root, struct fapi_answer *a, char *err, size_t errsize)
{
	struct json_object *errors = member(root, "errors", json_type_array);
	struct json_object *err0 = errors && json_object_array_length(errors) > 0
					   ? json_object_array_get_idx(errors, 0)
					   : NULL;
	if (err0 == NULL || !json_object_is_type(err0, json_type_object)) {
		snprintf(err, errsize, "error answer without an errors[] list");
		return -1;
	}
	copy_code(err0, a->error_code, sizeof a->error_code);
	struct json_object *msg = member(err0, "long_message", json_type_string);
	if (msg == NULL)
		msg = member(err0, "message", json_type_string);
	if (msg != NULL)
		snprintf(a->error_message, sizeof a->error_message, "%s",
			 json_object_get_string(msg));
	read_lockout(member(err0, "meta", json_type_object), &a->lockout_seconds);
	read_lockout(member(root, "meta", json_type_object), &a->lockout_seconds);
	return 0;
}

static int copy_optional_string(struct json_object *o, const char *key, char *out, size_t outsize);

/* A session's status and tasks; -1 when either is malformed. */
static int read_session_state(struct json_object *s, struct fapi_session_state *st)
{
	struct json_object *tasks;
	memset(st, 0, sizeof *st);
	if (copy_optional_string(s, "status", st->status, sizeof st->status) != 0 ||
	    optional(s, "tasks", json_type_array, &tasks) != 0)
		return -1;
	size_t n = tasks ? json_object_array_length(tasks) : 0;
	for (size_t i = 0; i < n; i++) {
		char key[64];
		struct json_object *t = json_object_array_get_idx(tasks, i);
		if (!json_object_is_type(t, json_type_object) ||
		    copy_string(t, "key", key, sizeof key) != 0)
			return -1;
		st->tasks |= strcmp(key, "reset-password") == 0 ? FAPI_TASK_RESET_PASSWORD
			     : strcmp(key, "setup-mfa") == 0	? FAPI_TASK_SETUP_MFA
			     : strcmp(key, "choose-organization") == 0
				     ? FAPI_TASK_CHOOSE_ORGANIZATION
				     : FAPI_TASK_OTHER;
	}
	return 0;
}

int fapi_session_pending(const struct fapi_session_state *s)
{
	return s->tasks != 0 || (s->status[0] != '\0' && strcmp(s->status, "active") != 0);
}

/* The created session in client.sessions: its user id and last JWT. */
static int parse_session(struct json_object *client, struct fapi_answer *a, char *err,
			 size_t errsize)
{
	struct json_object *sessions = member(client, "sessions", json_type_array);
	size_t n = sessions ? json_object_array_length(sessions) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(sessions, i);
		char id[FAPI_ID_MAX];
		if (!json_object_is_type(s, json_type_object) ||
		    copy_id(s, "id", id, sizeof id) != 0 || strcmp(id, a->session_id) != 0)
			continue;
		if (copy_id(member(s, "user", json_type_object), "id", a->user_id,
			    sizeof a->user_id) != 0) {
			snprintf(err, errsize, "session without a user id");
			return -1;
		}
		if (read_session_state(s, &a->session) != 0) {
			snprintf(err, errsize, "session with a malformed status or tasks");
			return -1;
		}
		struct json_object *tok, *jwt;
		if (optional(s, "last_active_token", json_type_object, &tok) != 0 ||
		    optional(tok, "jwt", json_type_string, &jwt) != 0 ||
		    (jwt != NULL && memchr(json_object_get_string(jwt), '\0',
					   (size_t)json_object_get_string_len(jwt)) != NULL)) {
			snprintf(err, errsize, "session with a malformed last_active_token");
			return -1;
		}
		if (jwt != NULL) {
			a->session_jwt = strdup(json_object_get_string(jwt));
			/* json-c's copy is wiped here; ours is wiped by fapi_answer_clear. */
			explicit_bzero((char *)(uintptr_t)json_object_get_string(jwt),
				       (size_t)json_object_get_string_len(jwt));
			if (a->session_jwt == NULL) {
				snprintf(err, errsize, "out of memory");
				return -1;
			}
		}
		return 0;
	}
	snprintf(err, errsize, "created session %s missing from client.sessions", a->session_id);
	return -1;
}

/* Copy an optional string member that may be absent or null; -1 when it
 * has another type or does not fit. */
static int copy_optional_string(struct json_object *o, const char *key, char *out, size_t outsize)
{
	struct json_object *v;
	out[0] = '\0';
	if (optional(o, key, json_type_string, &v) != 0)
		return -1;
	return v == NULL ? 0 : copy_string(o, key, out, outsize);
}

static int optional_bool(struct json_object *o, const char *key, int *out)
{
	struct json_object *v;
	if (optional(o, key, json_type_boolean, &v) != 0)
		return -1;
	*out = v != NULL && json_object_get_boolean(v);
	return 0;
}

/* supported_second_factors: what the user may answer with. Entries past
 * FAPI_FACTORS_MAX are ignored; a malformed one fails the whole answer. */
static int parse_factors(struct json_object *si, struct fapi_answer *a, char *err, size_t errsize)
{
	struct json_object *list;
	if (optional(si, "supported_second_factors", json_type_array, &list) != 0)
		goto bad;
	size_t n = list ? json_object_array_length(list) : 0;
	for (size_t i = 0; i < n && a->n_factors < FAPI_FACTORS_MAX; i++) {
		struct json_object *f = json_object_array_get_idx(list, i);
		struct fapi_factor *out = &a->factors[a->n_factors];
		char phone[FAPI_ID_MAX], email[FAPI_ID_MAX];
		if (!json_object_is_type(f, json_type_object) ||
		    copy_string(f, "strategy", out->strategy, sizeof out->strategy) != 0 ||
		    copy_optional_string(f, "safe_identifier", out->safe_identifier,
					 sizeof out->safe_identifier) != 0 ||
		    copy_optional_string(f, "phone_number_id", phone, sizeof phone) != 0 ||
		    copy_optional_string(f, "email_address_id", email, sizeof email) != 0 ||
		    optional_bool(f, "default", &out->is_default) != 0 ||
		    optional_bool(f, "primary", &out->primary) != 0)
			goto bad;
		snprintf(out->id, sizeof out->id, "%s", phone[0] ? phone : email);
		for (const char *p = out->id; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
				goto bad;
		a->n_factors++;
	}
	return 0;
bad:
	snprintf(err, errsize, "malformed supported_second_factors");
	return -1;
}

static int parse_success(struct json_object *root, struct fapi_answer *a, char *err, size_t errsize)
{
	struct json_object *si = member(root, "response", json_type_object);
	if (si == NULL) {
		snprintf(err, errsize, "answer without a response object");
		return -1;
	}
	if (copy_string(si, "status", a->sign_in_status, sizeof a->sign_in_status) != 0) {
		snprintf(err, errsize, "sign-in without a usable status");
		return -1;
	}
	if (copy_id(si, "id", a->sign_in_id, sizeof a->sign_in_id) != 0) {
		snprintf(err, errsize, "sign-in without a usable id");
		return -1;
	}
	if (copy_optional_string(si, "client_trust_state", a->client_trust_state,
				 sizeof a->client_trust_state) != 0) {
		snprintf(err, errsize, "sign-in with a malformed client_trust_state");
		return -1;
	}
	if (strcmp(a->sign_in_status, "complete") != 0)
		return parse_factors(si, a, err, errsize);
	if (copy_id(si, "created_session_id", a->session_id, sizeof a->session_id) != 0) {
		snprintf(err, errsize, "complete sign-in without created_session_id");
		return -1;
	}
	struct json_object *client = member(root, "client", json_type_object);
	if (client == NULL) {
		snprintf(err, errsize, "complete sign-in without a client");
		return -1;
	}
	return parse_session(client, a, err, errsize);
}

int fapi_parse_sign_in(const char *body, size_t len, long http_status, struct fapi_answer *a,
		       char *err, size_t errsize)
{
	memset(a, 0, sizeof *a);
	a->lockout_seconds = -1;
	struct json_object *root = parse_json(body, len, err, errsize);
	if (root == NULL)
		return -1;
	/* Taken before anything else, so even an odd answer can be traced. */
	copy_string(root, "clerk_trace_id", a->trace_id, sizeof a->trace_id);
	int rc;
	if (http_status >= 200 && http_status < 300)
		rc = present_not_null(root, "errors")
			     ? (snprintf(err, errsize, "success with errors"), -1)
			     : parse_success(root, a, err, errsize);
	else
		rc = parse_error(root, a, err, errsize);
	json_object_put(root);
	if (rc != 0) {
		secret_free(a->session_jwt);
		a->session_jwt = NULL;
	}
	return rc;
}

char *fapi_parse_token(const char *body, size_t len, char *err, size_t errsize)
{
	struct json_object *root = parse_json(body, len, err, errsize);
	if (root == NULL)
		return NULL;
	struct json_object *jwt = member(root, "jwt", json_type_string);
	char *out = NULL;
	if (jwt == NULL || json_object_get_string_len(jwt) == 0 ||
	    memchr(json_object_get_string(jwt), '\0', (size_t)json_object_get_string_len(jwt)))
		snprintf(err, errsize, "token answer without a usable jwt");
	else if ((out = strdup(json_object_get_string(jwt))) != NULL)
		explicit_bzero((char *)(uintptr_t)json_object_get_string(jwt),
			       (size_t)json_object_get_string_len(jwt));
	json_object_put(root);
	return out;
}

int fapi_parse_session(const char *body, size_t len, const char *session_id,
		       struct fapi_session_state *s, char *err, size_t errsize)
{
	memset(s, 0, sizeof *s);
	struct json_object *root = parse_json(body, len, err, errsize);
	if (root == NULL)
		return -1;
	struct json_object *sess = member(root, "response", json_type_object);
	char id[FAPI_ID_MAX];
	int rc = -1;
	if (sess == NULL || copy_id(sess, "id", id, sizeof id) != 0)
		snprintf(err, errsize, "session answer without a session id");
	else if (session_id != NULL && strcmp(id, session_id) != 0)
		snprintf(err, errsize, "answer for session %s, not %s", id, session_id);
	else if (read_session_state(sess, s) != 0 || s->status[0] == '\0')
		snprintf(err, errsize, "session with a malformed status or tasks");
	else
		rc = 0;
	json_object_put(root);
	if (rc != 0)
		memset(s, 0, sizeof *s);
	return rc;
}

void fapi_answer_clear(struct fapi_answer *a)
{
	secret_free(a->session_jwt);
	memset(a, 0, sizeof *a);
	a->lockout_seconds = -1;
}
