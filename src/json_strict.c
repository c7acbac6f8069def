#include "config.h"

#include "json_strict.h"

#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 32

struct json_object *json_parse_strict(const char *text, size_t len, enum json_type want, char *err,
				      size_t errsize)
{
	if (len == 0 || len > (size_t)INT32_MAX) {
		snprintf(err, errsize, "empty body");
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH_MAX);
	if (tok == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	const char *why = NULL;
	if (root == NULL || jerr != json_tokener_success)
		why = jerr == json_tokener_continue ? "cut short" : json_tokener_error_desc(jerr);
	else if (json_tokener_get_parse_end(tok) != len)
		why = "data after the value";
	else if (want != json_type_null && !json_object_is_type(root, want))
		why = "not the expected JSON type";
	if (why != NULL) {
		snprintf(err, errsize, "not JSON: %s", why);
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

int json_flag(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}
