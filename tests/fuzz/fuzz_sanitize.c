/* sanitize(): every outside string passes through it before syslog or a
 * terminal. The first byte picks the output size (1..256, exactly that
 * many bytes of heap). Promises: the output fits, holds only printable
 * ASCII, and unless it was cut (ends in "..."), undoing the escapes gives
 * back the input exactly. */
#include "config.h"

#include "fuzz.h"

#include "sanitize.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = (size_t)data[0] + 1;
	char *src = data[0] == 255 && size == 1 ? NULL : fuzz_cstr(data + 1, size - 1);
	char *dst = malloc(n);
	FUZZ_CHECK(dst != NULL);
	memset(dst, 'x', n);
	FUZZ_CHECK(sanitize(dst, n, src) == dst);
	size_t len = strnlen(dst, n);
	FUZZ_CHECK(len < n);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(dst[i] >= 0x20 && dst[i] < 0x7f);
	if (src == NULL) {
		FUZZ_CHECK(n < 2 || strcmp(dst, "-") == 0);
		free(dst);
		return 0;
	}
	size_t slen = strlen(src);
	if (n >= 4 * slen + 1) {
		/* Room for the worst case: nothing is cut, and undoing the
		 * escapes gives src back. */
		char *back = malloc(slen + 1);
		FUZZ_CHECK(back != NULL);
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			if (dst[i] != '\\') {
				back[o++] = dst[i];
				continue;
			}
			FUZZ_CHECK(i + 1 < len);
			if (dst[i + 1] == '\\') {
				back[o++] = '\\';
				i++;
				continue;
			}
			FUZZ_CHECK(dst[i + 1] == 'x' && i + 3 < len);
			int hi = hexval(dst[i + 2]), lo = hexval(dst[i + 3]);
			FUZZ_CHECK(hi >= 0 && lo >= 0);
			back[o++] = (char)(hi << 4 | lo);
			i += 3;
		}
		FUZZ_CHECK(o == slen && memcmp(back, src, slen) == 0);
		free(back);
	} else {
		/* The whole escape, or a prefix of it (marked "..." when n >= 4). */
		char *full = malloc(4 * slen + 1);
		FUZZ_CHECK(full != NULL);
		sanitize(full, 4 * slen + 1, src);
		if (strcmp(full, dst) != 0) {
			if (n >= 4) {
				FUZZ_CHECK(len >= 3 && strcmp(dst + len - 3, "...") == 0);
				FUZZ_CHECK(strncmp(full, dst, len - 3) == 0);
			} else {
				FUZZ_CHECK(strncmp(full, dst, len) == 0);
			}
		}
		free(full);
	}
	free(dst);
	free(src);
	return 0;
}
