/* Outside JSON parsed one way everywhere: strict, valid UTF-8, nothing after
 * the value, bounded depth and size. */
#ifndef PAM_CLERK_JSON_STRICT_H
#define PAM_CLERK_JSON_STRICT_H

#include <json-c/json.h>
#include <stddef.h>

/* The value of text[0..len) if it is one JSON value of type want
 * (json_type_null: any type), else NULL with a reason in err. */
struct json_object *json_parse_strict(const char *text, size_t len, enum json_type want, char *err,
				      size_t errsize);

/* o's member key when it is a string (else NULL) / true (else false). */
const char *json_str(struct json_object *o, const char *key);
int json_flag(struct json_object *o, const char *key);

#endif
