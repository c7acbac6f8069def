/* conf_expand_identifier: the identifier format (configuration) with the
 * PAM user name (from whoever connects). Input: format NUL user; the first
 * byte sets the output size. Differential against a reference expansion
 * written here: same acceptance, same result, and it always fits. */
#include "config.h"

#include "fuzz.h"

#include "conf.h"

#define USER_MAX 256

/* Returns the length, or -1 where the module must refuse. */
static long reference(const char *fmt, const char *user, char *out, size_t outsize)
{
	size_t ulen = strlen(user);
	if (ulen == 0 || ulen > USER_MAX)
		return -1;
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	size_t o = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p == '%') {
			if (p[1] == 'u') {
				if (o + ulen + 1 > outsize)
					return -1;
				memcpy(out + o, user, ulen);
				o += ulen;
				p++;
				continue;
			}
			if (p[1] != '%')
				return -1;
			p++;
		}
		if (o + 2 > outsize)
			return -1;
		out[o++] = *p;
	}
	out[o] = '\0';
	return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	size_t outsize = data[0] == 0 ? 512 : data[0];
	char *fmt = fuzz_cstr(data + 1, size - 1);
	size_t flen = strlen(fmt);
	char *user =
		1 + flen < size ? fuzz_cstr(data + 2 + flen, size - 2 - flen) : fuzz_cstr(data, 0);
	char *out = malloc(outsize), *ref = malloc(outsize);
	char err[128];
	FUZZ_CHECK(out != NULL && ref != NULL);
	memset(out, 'x', outsize);
	err[0] = '\0';
	int rc = conf_expand_identifier(fmt, user, out, outsize, err, sizeof err);
	long want = reference(fmt, user, ref, outsize);
	FUZZ_CHECK(rc == (want < 0 ? -1 : 0));
	if (rc == 0) {
		FUZZ_CHECK(strlen(out) == (size_t)want && strcmp(out, ref) == 0);
	} else {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
	}
	free(out);
	free(ref);
	free(fmt);
	free(user);
	return 0;
}
