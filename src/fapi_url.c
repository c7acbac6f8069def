#include "config.h"

#include "fapi_url.h"

#include "b64.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 253

static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

static int check_port(const char *p, size_t plen, char *err, size_t errsize)
{
	unsigned long port = 0;
	if (plen == 0 || plen > 5) {
		snprintf(err, errsize, "bad port");
		return -1;
	}
	for (size_t i = 0; i < plen; i++) {
		if (p[i] < '0' || p[i] > '9') {
			snprintf(err, errsize, "bad port");
			return -1;
		}
		port = port * 10 + (unsigned long)(p[i] - '0');
	}
	if (port == 0 || port > 65535) {
		snprintf(err, errsize, "port out of range");
		return -1;
	}
	return 0;
}

/* [IPv6]: hex digits, ':' and '.' (an embedded IPv4), at least one ':'. */
static int check_ipv6(const char *a, size_t len, char *err, size_t errsize)
{
	bool colon = false;
	for (size_t i = 0; i < len; i++) {
		char c = a[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == ':' || c == '.')) {
			snprintf(err, errsize, "not an IPv6 literal");
			return -1;
		}
		colon = colon || c == ':';
	}
	if (len < 2 || !colon) {
		snprintf(err, errsize, "not an IPv6 literal");
		return -1;
	}
	return 0;
}

/* host[:port] or [IPv6][:port]: a DNS name (one label, such as localhost,
 * is enough: behind a proxy FAPI may sit anywhere) or IPv4, port 1-65535. */
static int check_authority(const char *a, size_t len, char *err, size_t errsize)
{
	size_t host_len = len;
	if (len > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', len);
		if (close == NULL || check_ipv6(a + 1, (size_t)(close - a - 1), err, errsize) != 0)
			return close == NULL ? (snprintf(err, errsize, "unclosed [IPv6]"), -1) : -1;
		size_t rest = len - (size_t)(close + 1 - a);
		if (rest == 0)
			return 0;
		return close[1] == ':' ? check_port(close + 2, rest - 1, err, errsize)
				       : (snprintf(err, errsize, "bad port"), -1);
	}
	const char *colon = memchr(a, ':', len);
	if (colon != NULL) {
		host_len = (size_t)(colon - a);
		if (check_port(colon + 1, len - host_len - 1, err, errsize) != 0)
			return -1;
	}
	if (host_len == 0 || host_len > HOST_MAX) {
		snprintf(err, errsize, "bad host name length");
		return -1;
	}
	for (size_t i = 0; i < host_len; i++) {
		if (!is_host_char(a[i])) {
			snprintf(err, errsize, "host name has a character outside a-z 0-9 . -");
			return -1;
		}
		if (a[i] == '.' && i > 0 && a[i - 1] == '.') {
			snprintf(err, errsize, "host name with an empty label");
			return -1;
		}
	}
	if (a[0] == '.' || a[0] == '-' || a[host_len - 1] == '.' || a[host_len - 1] == '-') {
		snprintf(err, errsize, "not a host name");
		return -1;
	}
	return 0;
}

/* A path prefix for a proxy (/__clerk): unreserved characters and '/',
 * no empty, "." or ".." segment. */
static int check_path(const char *p, size_t len, char *err, size_t errsize)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		bool seg_start = p[i] == '/';
		if (!(is_host_char(c) || c == '_' || c == '~' || c == '/')) {
			snprintf(err, errsize,
				 "path has a character outside A-Z a-z 0-9 - . _ ~ /");
			return -1;
		}
		if (seg_start) {
			size_t n = strcspn(p + i + 1, "/");
			if (i + 1 + n > len)
				n = len - i - 1;
			if (n == 0 || (n == 1 && p[i + 1] == '.') ||
			    (n == 2 && p[i + 1] == '.' && p[i + 2] == '.')) {
				snprintf(err, errsize, "path with an empty, . or .. segment");
				return -1;
			}
		}
	}
	return 0;
}

int fapi_url_normalize(const char *in, char *url, size_t urlsize, char *err, size_t errsize)
{
	static const char scheme[] = "https://";
	if (strncasecmp(in, "http://", 7) == 0) {
		snprintf(err, errsize, "plain http is not allowed; use https://");
		return -1;
	}
	if (strncasecmp(in, scheme, sizeof scheme - 1) != 0) {
		snprintf(err, errsize, "must start with https://");
		return -1;
	}
	const char *a = in + sizeof scheme - 1;
	size_t len = strlen(a);
	if (len > 0 && a[len - 1] == '/')
		len--;
	if (strcspn(a, "?#@\\") < len) {
		snprintf(err, errsize,
			 "only https://host[:port][/path] is allowed (no query or user)");
		return -1;
	}
	size_t auth_len = strcspn(a, "/");
	if (auth_len > len)
		auth_len = len;
	if (check_authority(a, auth_len, err, errsize) != 0 ||
	    check_path(a + auth_len, len - auth_len, err, errsize) != 0)
		return -1;
	if (sizeof scheme - 1 + len + 1 > urlsize) {
		snprintf(err, errsize, "too long");
		return -1;
	}
	memcpy(url, scheme, sizeof scheme - 1);
	memcpy(url + sizeof scheme - 1, a, len);
	url[sizeof scheme - 1 + len] = '\0';
	return 0;
}

int fapi_issuer(const char *issuer, const char *publishable_key, const char *frontend_api,
		char *out, size_t outsize)
{
	char err[160];
	if (issuer != NULL)
		return fapi_url_normalize(issuer, out, outsize, err, sizeof err);
	if (publishable_key != NULL)
		return fapi_url_from_key(publishable_key, out, outsize, err, sizeof err);
	int n = snprintf(out, outsize, "%s", frontend_api);
	return n >= 0 && (size_t)n < outsize ? 0 : -1;
}

int fapi_url_from_key(const char *key, char *url, size_t urlsize, char *err, size_t errsize)
{
	const char *b64;
	if (strncmp(key, "pk_test_", 8) == 0 || strncmp(key, "pk_live_", 8) == 0) {
		b64 = key + 8;
	} else {
		snprintf(err, errsize, "must start with pk_test_ or pk_live_");
		return -1;
	}
	size_t n = strlen(b64);
	if (n == 0 || n > 4 * ((HOST_MAX + 8) / 3 + 1)) {
		snprintf(err, errsize, "bad length");
		return -1;
	}
	size_t outlen = 0;
	unsigned char *out = b64_decode(b64, n, 0, &outlen);
	if (out == NULL) {
		snprintf(err, errsize, "not base64");
		return -1;
	}
	/* "<host>$": exactly one '$', at the end. */
	char host[HOST_MAX + 16];
	int bad = outlen < 2 || out[outlen - 1] != '$' || memchr(out, '$', outlen - 1) != NULL ||
		  memchr(out, '\0', outlen) != NULL || outlen - 1 >= sizeof host;
	if (!bad) {
		memcpy(host, out, outlen - 1);
		host[outlen - 1] = '\0';
	}
	free(out);
	if (bad) {
		snprintf(err, errsize, "does not decode to a Frontend API host");
		return -1;
	}
	/* The key names Clerk's own FAPI host: a DNS name with a dot, nothing
	 * more (a proxy's path or a local host belongs in frontend_api). */
	if (strcspn(host, "/[") != strlen(host) || strchr(host, '.') == NULL) {
		snprintf(err, errsize, "does not decode to a Frontend API host name");
		return -1;
	}
	char full[sizeof host + 16];
	snprintf(full, sizeof full, "https://%s", host);
	if (fapi_url_normalize(full, url, urlsize, err, errsize) != 0)
		return -1;
	return 0;
}
