/* The publishable key and frontend_api URL: fapi_url_from_key and
 * fapi_url_normalize. The first byte picks how the rest is presented (raw,
 * behind a pk_test_/pk_live_ prefix, base64-encoded as a real key is, or
 * behind https://), the second the size of the output. Promises: a result
 * is "https://" + a host of [A-Za-z0-9.-] or an [IPv6] literal + optional
 * :port + an optional path of clean segments, it fits, and normalising it
 * again gives the same string; a key's result is a host with a dot only. */
#include "config.h"

#include "fuzz.h"

#include "fapi_url.h"

static void b64(const uint8_t *in, size_t n, char *out, int pad)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = abc[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = abc[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-';
}

static void check_url(const char *url, size_t urlsize)
{
	FUZZ_CHECK(strlen(url) < urlsize);
	FUZZ_CHECK(strncmp(url, "https://", 8) == 0);
	const char *host = url + 8;
	size_t hlen;
	if (host[0] == '[') {
		hlen = strcspn(host, "]") + 1;
		FUZZ_CHECK(host[hlen - 1] == ']' && hlen > 3);
		FUZZ_CHECK(strspn(host + 1, "0123456789abcdefABCDEF:.") == hlen - 2);
		FUZZ_CHECK(memchr(host, ':', hlen) != NULL);
	} else {
		hlen = strcspn(host, ":/");
		FUZZ_CHECK(hlen > 0);
		FUZZ_CHECK(host[0] != '.' && host[0] != '-' && host[hlen - 1] != '.');
		for (size_t i = 0; i < hlen; i++)
			FUZZ_CHECK(host_char(host[i]));
	}
	const char *rest = host + hlen;
	if (rest[0] == ':') {
		const char *port = rest + 1;
		size_t plen = strcspn(port, "/");
		FUZZ_CHECK(plen >= 1 && plen <= 5 && strspn(port, "0123456789") == plen);
		long p = strtol(port, NULL, 10);
		FUZZ_CHECK(p >= 1 && p <= 65535);
		rest = port + plen;
	}
	/* A proxy's path: segments of [A-Za-z0-9._~-], none empty, . or .. */
	FUZZ_CHECK(rest[0] == '\0' || rest[0] == '/');
	while (rest[0] == '/') {
		size_t n = strspn(rest + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789._~-");
		FUZZ_CHECK(n > 0 && strncmp(rest + 1, ".", n) != 0 &&
			   strncmp(rest + 1, "..", n) != 0);
		rest += 1 + n;
		FUZZ_CHECK(rest[0] == '\0' || rest[0] == '/');
	}
	/* Idempotent: the result is itself a valid frontend_api. */
	char again[512], err[200];
	FUZZ_CHECK(fapi_url_normalize(url, again, sizeof again, err, sizeof err) == 0);
	FUZZ_CHECK(strcmp(again, url) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 4096)
		return 0;
	int mode = data[0] % 6;
	size_t urlsize = data[1] == 0 ? 300 : data[1];
	char *s = fuzz_cstr(data + 2, size - 2);
	size_t slen = strlen(s);
	char *in = malloc(4 * slen + 32);
	char *url = malloc(urlsize);
	char err[200] = "";
	FUZZ_CHECK(in != NULL && url != NULL);
	memset(url, 'x', urlsize);
	int rc;
	switch (mode) {
	case 0: rc = fapi_url_from_key(s, url, urlsize, err, sizeof err); break;
	case 1: rc = fapi_url_normalize(s, url, urlsize, err, sizeof err); break;
	case 2:
	case 3:
		/* A real key: the prefix, then base64 of the bytes. */
		memcpy(in, mode == 2 ? "pk_test_" : "pk_live_", 8);
		b64((const uint8_t *)s, slen, in + 8, mode == 2);
		rc = fapi_url_from_key(in, url, urlsize, err, sizeof err);
		if (rc == 0) {
			/* Then the host is what was encoded, minus its '$'. */
			FUZZ_CHECK(slen >= 2 && s[slen - 1] == '$');
			size_t hl = slen - 1;
			FUZZ_CHECK(strlen(url) == 8 + hl && strncmp(url + 8, s, hl) == 0);
		}
		break;
	case 4:
		snprintf(in, 4 * slen + 32, "pk_test_%s", s);
		rc = fapi_url_from_key(in, url, urlsize, err, sizeof err);
		break;
	default:
		snprintf(in, 4 * slen + 32, "https://%s", s);
		rc = fapi_url_normalize(in, url, urlsize, err, sizeof err);
		break;
	}
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0)
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
	if (rc == 0)
		check_url(url, urlsize);
	if (rc == 0 && mode != 1 && mode != 5) /* a key names a plain host */
		FUZZ_CHECK(strchr(url + 8, '/') == NULL && url[8] != '[' &&
			   strchr(url, '.') != NULL);
	free(url);
	free(in);
	free(s);
	return 0;
}
