#include "config.h"

#include "proxy_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int http_target_parse(const char *url, const char *scheme, const char *default_port,
		      struct http_target *t)
{
	size_t sl = strlen(scheme);
	if (url == NULL || strncasecmp(url, scheme, sl) != 0)
		return -1;
	const char *p = url + sl;
	size_t n;
	unsigned char addr[sizeof(struct in6_addr)];
	if (*p == '[') {
		const char *end = strchr(p, ']');
		n = end != NULL ? (size_t)(end - p - 1) : 0;
		if (n == 0 || n >= sizeof t->host)
			return -1;
		memcpy(t->host, p + 1, n);
		t->host[n] = '\0';
		if (inet_pton(AF_INET6, t->host, addr) != 1) /* brackets hold IPv6 only */
			return -1;
		p = end + 1;
	} else {
		n = strcspn(p, ":/?#@[]");
		if (n == 0 || n >= sizeof t->host || p[n] == '@' || p[n] == '[' || p[n] == ']')
			return -1;
		memcpy(t->host, p, n);
		p += n;
	}
	t->host[n] = '\0';
	snprintf(t->port, sizeof t->port, "%s", default_port);
	if (*p == ':') {
		n = strspn(p + 1, "0123456789");
		if (n == 0 || n >= sizeof t->port || p[1] == '0' || atoi(p + 1) > 65535)
			return -1;
		memcpy(t->port, p + 1, n);
		t->port[n] = '\0';
		p += 1 + n;
	}
	if (*p != '\0' && *p != '/' && *p != '?')
		return -1;
	/* The path goes into the request line as it is: no space or control byte. */
	for (const char *q = p; *q != '\0'; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f || *q == '#')
			return -1;
	for (const char *q = t->host; *q != '\0'; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return -1;
	t->path = p;
	t->ip = inet_pton(AF_INET, t->host, addr) == 1 || inet_pton(AF_INET6, t->host, addr) == 1;
	return 0;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* "user:password" of a proxy URL, %XX-decoded, as "Basic <base64>". */
static int proxy_basic_auth(const char *userinfo, size_t n, struct buf *auth)
{
	struct buf plain;
	buf_init(&plain, 1024);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char c = userinfo[i];
		if (c == '%') {
			int hi = i + 2 < n ? hex_value(userinfo[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(userinfo[i + 2]) : -1;
			if (lo < 0) {
				rc = -1;
				break;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		rc = buf_append(&plain, &c, 1);
	}
	if (rc == 0 && (plain.len == 0 || memchr(plain.data, ':', plain.len) == NULL))
		rc = -1;
	if (rc == 0) {
		size_t b64_len = 4 * ((plain.len + 2) / 3);
		unsigned char *b64 = malloc(b64_len + 1);
		rc = b64 == NULL ||
				     EVP_EncodeBlock(b64, (const unsigned char *)plain.data,
						     (int)plain.len) != (int)b64_len ||
				     buf_append_str(auth, "Basic ") ||
				     buf_append(auth, b64, b64_len)
			     ? -1
			     : 0;
		if (b64 != NULL)
			explicit_bzero(b64, b64_len);
		free(b64);
	}
	buf_wipe(&plain);
	return rc;
}

int http_proxy_parse(const char *proxy, struct http_target *t, struct buf *auth)
{
	static const char scheme[] = "http://";
	char hostpart[HTTP_HOST_MAX + 16];
	if (strncasecmp(proxy, scheme, sizeof scheme - 1) != 0)
		return -1;
	const char *p = proxy + sizeof scheme - 1, *at = NULL;
	for (const char *q = p; *q != '\0' && *q != '/' && *q != '?' && *q != '#'; q++)
		if (*q == '@')
			at = q;
	if (at != NULL && proxy_basic_auth(p, (size_t)(at - p), auth) != 0)
		return -1;
	if (snprintf(hostpart, sizeof hostpart, "%s%s", scheme, at != NULL ? at + 1 : p) >=
		    (int)sizeof hostpart ||
	    http_target_parse(hostpart, scheme, "1080", t) != 0)
		return -1;
	/* t->path points into hostpart: only "" or "/" may follow the port. */
	bool bare = t->path[0] == '\0' || strcmp(t->path, "/") == 0;
	t->path = "";
	return bare ? 0 : -1;
}
