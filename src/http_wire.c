#include "config.h"

#include "http_wire.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- URLs --------------------------------------------------------------- */

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

/* ---- requests ----------------------------------------------------------- */

static int append_authority(struct buf *out, const struct http_target *t, bool always_port)
{
	bool v6 = strchr(t->host, ':') != NULL;
	bool port = always_port || strcmp(t->port, "443") != 0;
	return buf_append_str(out, v6 ? "[" : "") || buf_append_str(out, t->host) ||
	       buf_append_str(out, v6 ? "]" : "") || buf_append_str(out, port ? ":" : "") ||
	       buf_append_str(out, port ? t->port : "");
}

int http_request_build(struct buf *out, const struct http_target *t, const struct http_request *req,
		       const char *user_agent)
{
	const char *method = req->method != NULL ? req->method : req->body != NULL ? "POST" : "GET";
	if (method[0] == '\0' || strpbrk(method, " \t\r\n") != NULL)
		return -1;
	bool bad = buf_append_str(out, method) || buf_append_str(out, " ") ||
		   buf_append_str(out, t->path[0] == '/' ? "" : "/") ||
		   buf_append_str(out, t->path) || buf_append_str(out, " HTTP/1.1\r\nHost: ") ||
		   append_authority(out, t, false) || buf_append_str(out, "\r\n");
	if (user_agent != NULL)
		bad = bad || strpbrk(user_agent, "\r\n") != NULL ||
		      buf_append_str(out, "User-Agent: ") || buf_append_str(out, user_agent) ||
		      buf_append_str(out, "\r\n");
	bad = bad || buf_append_str(out, "Accept: application/json\r\n");
	for (const char *const *h = req->headers; !bad && h != NULL && *h != NULL; h++) {
		size_t hl = strlen(*h);
		if (hl < 2 || strpbrk(*h, "\r\n") != NULL || (*h)[0] == ':')
			return -1;
		if ((*h)[hl - 1] == ';' && memchr(*h, ':', hl) == NULL)
			bad = buf_append(out, *h, hl - 1) || buf_append_str(out, ":\r\n");
		else if (memchr(*h, ':', hl) != NULL)
			bad = buf_append(out, *h, hl) || buf_append_str(out, "\r\n");
		else
			return -1;
	}
	if (req->body != NULL) {
		char cl[48];
		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", req->body_len);
		bad = bad || buf_append_str(out, cl);
	}
	bad = bad || buf_append_str(out, "Connection: close\r\n\r\n") ||
	      (req->body != NULL && buf_append(out, req->body, req->body_len));
	return bad ? -1 : 0;
}

int http_connect_build(struct buf *out, const struct http_target *dst, const char *proxy_auth)
{
	if (proxy_auth != NULL && strpbrk(proxy_auth, "\r\n") != NULL)
		return -1;
	bool bad = buf_append_str(out, "CONNECT ") || append_authority(out, dst, true) ||
		   buf_append_str(out, " HTTP/1.1\r\nHost: ") || append_authority(out, dst, true) ||
		   buf_append_str(out, "\r\n");
	if (proxy_auth != NULL)
		bad = bad || buf_append_str(out, "Proxy-Authorization: ") ||
		      buf_append_str(out, proxy_auth) || buf_append_str(out, "\r\n");
	return bad || buf_append_str(out, "\r\n") ? -1 : 0;
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

/* ---- answers ------------------------------------------------------------ */

/* The response headers the Clerk client reads; the rest are skipped. */
static const struct {
	const char *name;
	size_t off;
} kept[] = {
	{ "authorization", offsetof(struct http_response, authorization) },
	{ "retry-after", offsetof(struct http_response, retry_after) },
	{ "x-clerk-trace-id", offsetof(struct http_response, trace_id) },
	{ "clerk-db-jwt", offsetof(struct http_response, db_jwt) },
};
#define NKEPT (sizeof kept / sizeof kept[0])

static char **kept_slot(struct http_response *resp, size_t i)
{
	return (char **)(void *)((char *)resp + kept[i].off);
}

static void clear_kept(struct http_response *resp)
{
	for (size_t i = 0; i < NKEPT; i++) {
		secret_free(*kept_slot(resp, i));
		*kept_slot(resp, i) = NULL;
	}
}

static int stop(struct http_reader *r, enum http_result e, const char *why)
{
	if (r->why == NULL) {
		r->error = e;
		r->why = why;
	}
	if (e == HTTP_ERR_TOO_BIG)
		r->resp->too_big = 1;
	return -1; /* stops http_parser in any callback */
}

static int count_head(struct http_reader *r, size_t n)
{
	r->head_bytes += n;
	r->resp->header_bytes = r->head_bytes;
	return r->head_bytes > HTTP_HEADERS_MAX ? stop(r, HTTP_ERR_TOO_BIG, "headers too large")
						: 0;
}

/* The value read so far belongs to a kept header: store it, trimmed. */
static int end_header(struct http_reader *r)
{
	if (r->in_value && r->slot >= 0) {
		const char *v = buf_str(&r->value);
		size_t n = r->value.len;
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		char *copy = malloc(n + 1);
		if (copy == NULL)
			return stop(r, HTTP_ERR_INTERNAL, "out of memory");
		memcpy(copy, v, n);
		copy[n] = '\0';
		char **slot = kept_slot(r->resp, (size_t)r->slot);
		if (*slot != NULL) { /* two client tokens: one was injected (a bare LF) */
			secret_free(copy);
			return stop(r, HTTP_ERR_PROTOCOL, "a header repeated");
		}
		*slot = copy;
	}
	buf_wipe(&r->value);
	r->in_value = false;
	r->slot = -1;
	r->name_len = 0;
	r->name_long = false;
	return 0;
}

static struct http_reader *reader_of(http_parser *p)
{
	return p->data;
}

static int on_message_begin(http_parser *p)
{
	struct http_reader *r = reader_of(p);
	clear_kept(r->resp); /* a new header block, after a 1xx */
	end_header(r);
	/* Each block counts, so an endless run of bare 1xx lines hits the cap. */
	return count_head(r, 16);
}

static int on_status(http_parser *p, const char *at, size_t n)
{
	(void)at;
	return count_head(reader_of(p), n);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_reader *r = reader_of(p);
	if (count_head(r, n) != 0 || (r->in_value && end_header(r) != 0))
		return -1;
	if (r->final) /* trailers after a chunked body: never kept */
		return 0;
	if (r->name_len + n >= sizeof r->name) {
		r->name_long = true; /* longer than any kept name */
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		r->name[r->name_len++] =
			(char)((at[i] >= 'A' && at[i] <= 'Z') ? at[i] + 32 : at[i]);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_reader *r = reader_of(p);
	/* ": " and CRLF once per field, however its pieces arrived. */
	if (count_head(r, n + (r->in_value ? 0 : 4)) != 0)
		return -1;
	/* http_parser checks every byte of a value but the first. */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)at[i] < 0x20 && at[i] != '\t') || at[i] == 0x7f)
			return stop(r, HTTP_ERR_PROTOCOL, "control byte in a header");
	if (!r->in_value) {
		r->in_value = true;
		r->slot = -1;
		for (size_t i = 0; i < NKEPT && !r->name_long && !r->final; i++)
			if (strlen(kept[i].name) == r->name_len &&
			    memcmp(kept[i].name, r->name, r->name_len) == 0)
				r->slot = (int)i;
		buf_init(&r->value, HTTP_HEADER_VALUE_MAX);
	}
	if (r->slot >= 0 && buf_append(&r->value, at, n) != 0)
		return stop(r, HTTP_ERR_TOO_BIG, "header too large");
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_reader *r = reader_of(p);
	if (end_header(r) != 0)
		return -1;
	unsigned status = p->status_code;
	if (p->http_major != 1 || status < 100 || status > 599 || status == 101)
		return stop(r, HTTP_ERR_PROTOCOL, "not an HTTP/1.x answer");
	r->final = status >= 200;
	if (!r->final)
		return 1; /* a 1xx has no body, whatever its headers say */
	r->resp->status = (long)status;
	if (r->head_only || status == 204 || status == 304)
		return 1; /* no body follows: http_parser must not wait for one */
	if (p->content_length != ULLONG_MAX && p->content_length > HTTP_BODY_MAX)
		return stop(r, HTTP_ERR_TOO_BIG, "answer too large");
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct http_reader *r = reader_of(p);
	if (!r->final)
		return stop(r, HTTP_ERR_PROTOCOL, "a body on a 1xx answer");
	if (buf_append(&r->resp->body, at, n) != 0)
		return stop(r, HTTP_ERR_TOO_BIG, "answer too large");
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_reader *r = reader_of(p);
	if (r->final) {
		r->done = true;
		http_parser_pause(p, 1); /* anything after the answer is not read */
	}
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void http_reader_init(struct http_reader *r, struct http_response *resp, bool head_only)
{
	memset(r, 0, sizeof *r);
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
	r->resp = resp;
	r->head_only = head_only;
	r->slot = -1;
	buf_init(&r->value, HTTP_HEADER_VALUE_MAX);
}

int http_reader_feed(struct http_reader *r, const char *data, size_t n)
{
	if (r->done)
		return 1;
	if (r->why != NULL)
		return -1;
	/* Debian builds http_parser lenient: it does not check the letters of
	 * "HTTP/" itself. */
	for (size_t i = 0; i < n && r->prefix_len < 5; i++)
		if (data[i] != "HTTP/"[r->prefix_len++])
			return stop(r, HTTP_ERR_PROTOCOL, "not an HTTP answer");
	r->started = r->started || n > 0;
	size_t used = http_parser_execute(&r->parser, &settings, data, n);
	if (r->done)
		return 1;
	if (r->why != NULL)
		return -1;
	if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK || r->parser.upgrade || used != n)
		return stop(r, HTTP_ERR_PROTOCOL, "broken HTTP answer");
	if (n == 0) /* closed before the answer was complete */
		return r->started ? stop(r, HTTP_ERR_PROTOCOL, "answer cut short")
				  : stop(r, HTTP_ERR_CONNECT, "closed before an answer");
	return 0;
}

void http_response_free(struct http_response *resp)
{
	buf_wipe(&resp->body);
	secret_free(resp->authorization);
	secret_free(resp->retry_after);
	secret_free(resp->trace_id);
	secret_free(resp->db_jwt);
	resp->authorization = resp->retry_after = resp->trace_id = resp->db_jwt = NULL;
	resp->status = 0;
}

void http_reader_free(struct http_reader *r)
{
	buf_wipe(&r->value);
	explicit_bzero(r->name, sizeof r->name);
}
