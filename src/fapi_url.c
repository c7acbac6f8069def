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

/* host[:port]: DNS name or IPv4 characters, a dot somewhere, port 1-65535. */
static int check_authority(const char *a, size_t len, char *err, size_t errsize)
{
	size_t host_len = len;
	const char *colon = memchr(a, ':', len);
	if (colon != NULL) {
		host_len = (size_t)(colon - a);
		size_t plen = len - host_len - 1;
		if (plen == 0 || plen > 5) {
			snprintf(err, errsize, "bad port");
			return -1;
		}
		unsigned long port = 0;
		for (size_t i = 0; i < plen; i++) {
			char c = colon[1 + i];
			if (c < '0' || c > '9') {
				snprintf(err, errsize, "bad port");
				return -1;
			}
			port = port * 10 + (unsigned long)(c - '0');
		}
		if (port == 0 || port > 65535) {
			snprintf(err, errsize, "port out of range");
			return -1;
		}
	}
	if (host_len == 0 || host_len > HOST_MAX) {
		snprintf(err, errsize, "bad host name length");
		return -1;
	}
	bool dot = false;
	for (size_t i = 0; i < host_len; i++) {
		if (!is_host_char(a[i])) {
			snprintf(err, errsize, "host name has a character outside a-z 0-9 . -");
			return -1;
		}
		dot = dot || a[i] == '.';
	}
	if (!dot || a[0] == '.' || a[0] == '-' || a[host_len - 1] == '.') {
		snprintf(err, errsize, "not a fully qualified host name");
		return -1;
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
	if (strcspn(a, "/?#@") < len) {
		snprintf(err, errsize,
			 "only https://host[:port] is allowed (no path, query or user)");
		return -1;
	}
	if (check_authority(a, len, err, errsize) != 0)
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
	char full[sizeof host + 16];
	snprintf(full, sizeof full, "https://%s", host);
	if (fapi_url_normalize(full, url, urlsize, err, errsize) != 0)
		return -1;
	return 0;
}
