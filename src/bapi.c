#include "config.h"

#include "bapi.h"

#include "buf.h"
#include "form.h"
#include "json_strict.h"
#include "outcome.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX 512

char *bapi_read_secret(const char *path, char *err, size_t errsize)
{
	char buf[SECRET_MAX + 2];
	char why_open[300];
	int fd = state_private_open(AT_FDCWD, path, O_RDONLY, why_open, sizeof why_open);
	if (fd == -2)
		snprintf(err, errsize, "%s: %s", path, strerror(ENOENT));
	else if (fd < 0)
		snprintf(err, errsize, "secret_key_file %s", why_open);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	const char *why = n <= 0 || n > SECRET_MAX ? "empty or too long" : NULL;
	close(fd);
	char *key = NULL;
	if (why == NULL) {
		size_t len = (size_t)n;
		while (len > 0 &&
		       (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
			len--;
		buf[len] = '\0';
		if (strncmp(buf, "sk_", 3) != 0 || strcspn(buf, " \t\r\n") != len)
			why = "does not hold one sk_... key";
		else
			key = strdup(buf);
	}
	explicit_bzero(buf, sizeof buf);
	if (why != NULL)
		snprintf(err, errsize, "secret_key_file %s: %s", path, why);
	return key;
}

static struct json_object *parse(const struct buf *body)
{
	char err[80];
	return json_parse_strict(buf_str(body), body->len, json_type_null, err, sizeof err);
}

/* GET base+path with the secret key; the body in *root on 200. */
static enum bapi_result get(const char *url, struct http_conn *conn, long timeout_ms,
			    const char *key, struct json_object **root, char *err, size_t errsize)
{
	struct buf auth;
	struct http_response resp;
	buf_init(&auth, SECRET_MAX + 64);
	buf_append_str(&auth, "Authorization: Bearer ");
	buf_append_str(&auth, key);
	const char *headers[] = { buf_str(&auth), NULL };
	struct http_request req = { NULL, url, headers, NULL, 0, timeout_ms };
	enum http_result h = http_perform(conn, &req, &resp, err, errsize);
	buf_wipe(&auth);
	enum bapi_result r = BAPI_BAD;
	*root = NULL;
	enum outcome t = outcome_from_transport(h); /* the one mapping */
	if (t == OUTCOME_NETWORK_ERROR || t == OUTCOME_TIMEOUT || t == OUTCOME_TLS_ERROR)
		r = BAPI_UNAVAILABLE;
	else if (t != OUTCOME_SUCCESS)
		r = BAPI_BAD;
	else if (resp.status >= 500 || resp.status == 429)
		r = BAPI_UNAVAILABLE;
	else if (resp.status == 401 || resp.status == 403)
		r = BAPI_REFUSED;
	else if (resp.status == 404)
		r = BAPI_NOT_FOUND;
	else if (resp.status == 200 && (*root = parse(&resp.body)) != NULL)
		r = BAPI_FOUND;
	if (h == HTTP_OK && r != BAPI_FOUND)
		snprintf(err, errsize, "Backend API answered HTTP %ld", resp.status);
	http_response_free(&resp);
	return r;
}

enum bapi_result bapi_lookup(const char *base_url, struct http_conn *conn, long timeout_ms,
			     const char *secret_key, const char *identifier, const char *org,
			     struct bapi_user *u, char *err, size_t errsize)
{
	struct buf url;
	struct json_object *root = NULL;
	memset(u, 0, sizeof *u);
	buf_init(&url, 4096);
	const char *param = strchr(identifier, '@') ? "email_address"
			    : identifier[0] == '+'  ? "phone_number"
						    : "username";
	if (buf_append_str(&url, base_url) != 0 || buf_append_str(&url, "/v1/users?") != 0 ||
	    form_add(&url, param, identifier) != 0) {
		buf_wipe(&url);
		snprintf(err, errsize, "identifier too long");
		return BAPI_BAD;
	}
	enum bapi_result r = get(buf_str(&url), conn, timeout_ms, secret_key, &root, err, errsize);
	buf_wipe(&url);
	if (r != BAPI_FOUND)
		return r;
	struct json_object *user =
		json_object_is_type(root, json_type_array) && json_object_array_length(root) == 1
			? json_object_array_get_idx(root, 0)
			: NULL;
	const char *id =
		user && json_object_is_type(user, json_type_object) ? json_str(user, "id") : NULL;
	if (json_object_is_type(root, json_type_array) && json_object_array_length(root) == 0)
		r = BAPI_NOT_FOUND;
	else if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof u->id ||
		 strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
			 strlen(id))
		r = BAPI_BAD; /* not one user, or not a Clerk id (it goes into a URL path) */
	if (r == BAPI_FOUND) {
		snprintf(u->id, sizeof u->id, "%s", id);
		u->banned = json_flag(user, "banned");
		u->locked = json_flag(user, "locked");
	}
	json_object_put(root);
	if (r != BAPI_FOUND || org == NULL)
		return r;

	char mpath[600];
	snprintf(mpath, sizeof mpath, "%s/v1/users/%s/organization_memberships?limit=100", base_url,
		 u->id);
	r = get(mpath, conn, timeout_ms, secret_key, &root, err, errsize);
	if (r != BAPI_FOUND)
		return r == BAPI_NOT_FOUND ? BAPI_BAD : r;
	struct json_object *data;
	if (!json_object_object_get_ex(root, "data", &data) ||
	    !json_object_is_type(data, json_type_array)) {
		json_object_put(root);
		snprintf(err, errsize, "memberships answer without data[]");
		return BAPI_BAD;
	}
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		struct json_object *m = json_object_array_get_idx(data, i), *o;
		if (!json_object_is_type(m, json_type_object) ||
		    !json_object_object_get_ex(m, "organization", &o) ||
		    !json_object_is_type(o, json_type_object))
			continue;
		const char *oid = json_str(o, "id"), *slug = json_str(o, "slug"),
			   *role = json_str(m, "role");
		if ((oid && strcmp(oid, org) == 0) || (slug && strcmp(slug, org) == 0)) {
			u->in_org = 1;
			if (role != NULL)
				snprintf(u->org_role, sizeof u->org_role, "%s",
					 strncmp(role, "org:", 4) == 0 ? role + 4 : role);
			break;
		}
	}
	json_object_put(root);
	return BAPI_FOUND;
}
