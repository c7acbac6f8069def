/* The identifier setting: the check of its format (conf.c) and its
 * expansion for a PAM user (the login core, the account check). */
#include "config.h"

#include "conf.h"

#include <stdio.h>
#include <string.h>

int conf_identifier_format_check(const char *v)
{
	if (strlen(v) > CONF_USER_MAX)
		return -1;
	for (const char *p = v; *p; p++)
		if (*p == '%') {
			if (p[1] != 'u' && p[1] != '%')
				return -1;
			p++;
		}
	return 0;
}

int conf_expand_identifier(const char *format, const char *user, char *out, size_t outsize,
			   char *err, size_t errsize)
{
	size_t ulen = strlen(user);
	if (ulen == 0 || ulen > CONF_USER_MAX) {
		snprintf(err, errsize, "user name is empty or too long");
		return -1;
	}
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errsize, "user name has a control character");
			return -1;
		}
	size_t o = 0;
	for (const char *p = format; *p; p++) {
		const char *piece = p;
		size_t n = 1;
		if (*p == '%') {
			if (p[1] == 'u') {
				piece = user;
				n = ulen;
			} else if (p[1] != '%') {
				snprintf(err, errsize,
					 "identifier format has an unknown %% escape");
				return -1;
			}
			p++;
		}
		if (o + n + 1 > outsize) {
			snprintf(err, errsize, "identifier too long");
			return -1;
		}
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}
