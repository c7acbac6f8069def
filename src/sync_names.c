/* Account names for synced users: taken from a Clerk key and accepted only
 * when useradd would accept them, so nothing odd reaches passwd. */
#include "config.h"

#include "sync.h"

#include <stdio.h>
#include <string.h>

int sync_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= SYNC_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return 0; /* also: not all digits, never "-..." (an option) */
	for (size_t i = 1; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			  c == '-' || c == '.' || (c == '$' && i == n - 1);
		if (!ok)
			return 0;
	}
	return 1;
}

int sync_expand(const char *tmpl, char c, const char *value, char *out, size_t size)
{
	size_t o = 0;
	for (const char *p = tmpl; *p; p++) {
		const char *add = p;
		size_t len = 1;
		if (*p == '%') {
			p++;
			if (*p == c) {
				add = value;
				len = strlen(value);
			} else if (*p != '%') {
				return -1;
			}
		}
		if (o + len >= size)
			return -1;
		memcpy(out + o, add, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

static int local_part(const struct sync_user *u, char *out, size_t size)
{
	const char *at = strrchr(u->email, '@');
	size_t len = at ? (size_t)(at - u->email) : 0;
	if (len == 0 || len >= size)
		return -1;
	memcpy(out, u->email, len);
	out[len] = '\0';
	return 0;
}

int sync_name_of(const char *how, const struct sync_user *u, char *out, size_t size, char *why,
		 size_t whysize)
{
	char local[sizeof u->email];
	bool have_local = local_part(u, local, sizeof local) == 0;
	if (strcmp(how, "username") == 0)
		how = "%u";
	else if (strcmp(how, "email") == 0)
		how = "%e";
	size_t o = 0;
	for (const char *p = how; *p; p++) {
		char one[2] = { *p, '\0' };
		const char *add = one;
		if (*p == '%') {
			p++;
			add = *p == 'u'	  ? u->username
			      : *p == 'e' ? (have_local ? local : "")
			      : *p == 'i' ? u->id
			      : *p == '%' ? "%"
					  : NULL;
			if (add == NULL || add[0] == '\0') {
				snprintf(why, whysize, "%s",
					 add ? (*p == 'u' ? "no username" : "no email address")
					     : "unknown %-escape in sync_name");
				return -1;
			}
		}
		size_t len = strlen(add);
		if (o + len >= size) {
			snprintf(why, whysize, "name too long");
			return -1;
		}
		memcpy(out + o, add, len);
		o += len;
	}
	out[o] = '\0';
	if (!sync_name_ok(out)) {
		snprintf(why, whysize, "not a name useradd accepts");
		return -1;
	}
	return 0;
}
