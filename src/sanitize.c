#include "config.h"

#include "sanitize.h"

#include <string.h>

char *sanitize(char *dst, size_t n, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	if (src == NULL)
		src = "-";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char enc[4];
		size_t k;
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			enc[0] = (char)*p;
			k = 1;
		} else if (*p == '\\') {
			enc[0] = '\\';
			enc[1] = '\\';
			k = 2;
		} else {
			enc[0] = '\\';
			enc[1] = 'x';
			enc[2] = hex[*p >> 4];
			enc[3] = hex[*p & 0x0f];
			k = 4;
		}
		if (o + k + 1 > n) {
			/* Mark the cut; n < 4 cannot hold the mark, keep what fits. */
			if (n >= 4) {
				o = o < n - 4 ? o : n - 4;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, enc, k);
		o += k;
	}
	dst[o] = '\0';
	return dst;
}
