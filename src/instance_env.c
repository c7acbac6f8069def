#include "config.h"

#include "instance_env.h"

#include "buf.h"
#include "json_strict.h"

#include <stdio.h>
#include <string.h>

/* The member at a dotted path ("a.b.c"), or NULL. */
static struct json_object *member(struct json_object *o, const char *path)
{
	char part[64];
	while (o != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");
		if (n >= sizeof part || !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		struct json_object *next = NULL;
		if (!json_object_object_get_ex(o, part, &next))
			return NULL;
		o = next;
		path += n + (path[n] == '.');
	}
	return o;
}

static int flag(struct json_object *root, const char *path)
{
	struct json_object *v = member(root, path);
	if (v == NULL || !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v) ? 1 : 0;
}

static long number(struct json_object *root, const char *path)
{
	struct json_object *v = member(root, path);
	if (v == NULL || !json_object_is_type(v, json_type_int))
		return -1;
	int64_t n = json_object_get_int64(v);
	return n < 0 || n > 1000000000 ? -1 : (long)n;
}

int instance_env_parse(const char *json, size_t len, struct instance_env *e, char *err,
		       size_t errsize)
{
	struct json_object *root = json_parse_strict(json, len, json_type_object, err, errsize);
	if (root == NULL)
		return -1;
	const char *lockout = "user_settings.attack_protection.user_lockout.";
	char path[128];
	e->native_api = flag(root, "auth_config.native_settings.api_enabled");
	e->password_enabled = flag(root, "user_settings.attributes.password.enabled");
	e->second_factor_required = flag(root, "user_settings.sign_in.second_factor.required");
	e->single_session = flag(root, "auth_config.single_session_mode");
	e->enumeration_protection =
		flag(root, "user_settings.attack_protection.enumeration_protection.enabled");
	snprintf(path, sizeof path, "%senabled", lockout);
	e->lockout_enabled = flag(root, path);
	snprintf(path, sizeof path, "%smax_attempts", lockout);
	e->lockout_attempts = number(root, path);
	snprintf(path, sizeof path, "%sduration_in_minutes", lockout);
	e->lockout_minutes = number(root, path);
	e->maintenance_mode = flag(root, "maintenance_mode");
	json_object_put(root);
	return 0;
}

int instance_env_fetch(const char *fapi_url, const char *api_version, struct http_conn *conn,
		       long timeout_ms, struct instance_env *e, long *status, char *err,
		       size_t errsize)
{
	char url[512], version[96];
	*status = 0;
	if (conn == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	snprintf(url, sizeof url, "%s/v1/environment?_is_native=1", fapi_url);
	snprintf(version, sizeof version, "Clerk-API-Version: %s", api_version);
	const char *headers[] = { version, NULL };
	struct http_request req = { NULL, url, headers, NULL, 0, timeout_ms };
	struct http_response resp;
	memset(&resp, 0, sizeof resp);
	int rc = -1;
	if (http_perform(conn, &req, &resp, err, errsize) != HTTP_OK)
		goto out;
	*status = resp.status;
	if (resp.status != 200) {
		snprintf(err, errsize, "HTTP %ld", resp.status);
		goto out;
	}
	rc = instance_env_parse(buf_str(&resp.body), resp.body.len, e, err, errsize);
out:
	http_response_free(&resp);
	return rc;
}
