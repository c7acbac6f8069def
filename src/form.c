#include "config.h"

#include "form.h"

#include <stdbool.h>

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int form_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p)) {
			if (buf_append(b, p, 1) != 0)
				return -1;
		} else {
			char enc[3] = { '%', hex[*p >> 4], hex[*p & 0x0f] };
			if (buf_append(b, enc, sizeof enc) != 0)
				return -1;
		}
	}
	return 0;
}

int form_add(struct buf *b, const char *key, const char *value)
{
	if (b->len > 0 && buf_append(b, "&", 1) != 0)
		return -1;
	if (form_escape(b, key) != 0 || buf_append(b, "=", 1) != 0)
		return -1;
	return form_escape(b, value);
}
