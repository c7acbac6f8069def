/* The HTTP/1.1 layer of src/http_wire.c: the answer reader over http_parser,
 * and the URL and request building.
 *
 * Input: byte 0 picks a read size (1..128, or a power of two up to 32768);
 * byte 1 is the length L of a URL candidate in the next L bytes; the rest
 * is the server's answer. The answer is fed in pieces of the read size and
 * then closed, and fed again whole to a second reader: both must agree on
 * the result, the error class, the status, the body and the four kept
 * headers (differential against itself: how the bytes arrive must not
 * matter). A reader in head_only mode (a proxy's CONNECT answer) reads it
 * a third time. Promises checked: a result once given stays; a complete
 * answer has a status of 200..599 and is not too big; the body fits
 * HTTP_BODY_MAX; a kept value fits HTTP_HEADER_VALUE_MAX, is trimmed and
 * holds no control byte but HTAB (so no CR, LF or NUL); nothing at all is
 * HTTP_ERR_CONNECT, anything else is not.
 *
 * The URL goes through http_target_parse (as https://, with the scheme
 * added when missing) and http_proxy_parse; what they accept must build a
 * request and a CONNECT whose lines are exactly the expected ones: no CR,
 * LF or space smuggled in from the URL, and the URL is also tried as an
 * extra request header line. */
#include "config.h"

#include "fuzz.h"

#include "buf.h"
#include "http.h"
#include "http_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>

#define NKEPT 4

struct result {
	int rc;
	enum http_result error;
	long status;
	int too_big;
	size_t body_len;
	char *body;
	char *kept[NKEPT];
	size_t header_bytes;
};

static size_t read_size(uint8_t b)
{
	return b < 0x80 ? (size_t)b + 1 : (size_t)1 << (b & 15);
}

static char *copy_or_null(const char *s)
{
	if (s == NULL)
		return NULL;
	char *p = strdup(s);
	FUZZ_CHECK(p != NULL);
	return p;
}

/* Feed the answer in pieces of step bytes (all of it when step is 0),
 * then close; check that a result, once given, stays. */
static void read_answer(const char *a, size_t n, size_t step, bool head_only, struct result *out)
{
	struct http_response resp;
	memset(&resp, 0, sizeof resp);
	buf_init(&resp.body, HTTP_BODY_MAX);
	struct http_reader r;
	http_reader_init(&r, &resp, head_only);
	if (step == 0)
		step = n > 0 ? n : 1;
	int rc = 0;
	size_t done_body = 0;
	enum http_result done_error = HTTP_OK;
	for (size_t off = 0; off < n; off += step) {
		size_t k = n - off < step ? n - off : step;
		int got = http_reader_feed(&r, a + off, k);
		if (rc == 0) {
			rc = got;
			done_body = resp.body.len;
			done_error = r.error;
		}
		/* Whatever follows a result changes nothing. */
		FUZZ_CHECK(got == rc);
		FUZZ_CHECK(r.error == done_error);
		if (rc == 1)
			FUZZ_CHECK(resp.body.len == done_body);
	}
	int closed = http_reader_feed(&r, "", 0);
	if (rc != 0)
		FUZZ_CHECK(closed == rc);
	rc = closed;
	FUZZ_CHECK(rc == 1 || rc == -1);
	FUZZ_CHECK(http_reader_feed(&r, "", 0) == rc);

	memset(out, 0, sizeof *out);
	out->rc = rc;
	out->error = r.error;
	out->status = resp.status;
	out->too_big = resp.too_big;
	out->header_bytes = resp.header_bytes;
	out->body_len = resp.body.len;
	out->body = fuzz_copy((const uint8_t *)buf_str(&resp.body), resp.body.len);
	const char *kept[NKEPT] = { resp.authorization, resp.retry_after, resp.trace_id,
				    resp.db_jwt };
	for (int i = 0; i < NKEPT; i++)
		out->kept[i] = copy_or_null(kept[i]);
	if (rc == -1)
		FUZZ_CHECK(r.why != NULL);
	http_reader_free(&r);
	http_response_free(&resp);
	FUZZ_CHECK(resp.body.data == NULL && resp.authorization == NULL &&
		   resp.retry_after == NULL && resp.trace_id == NULL && resp.db_jwt == NULL);
}

static void result_free(struct result *x)
{
	free(x->body);
	for (int i = 0; i < NKEPT; i++)
		free(x->kept[i]);
}

static void check_promises(const struct result *x, size_t n)
{
	FUZZ_CHECK(x->body_len <= HTTP_BODY_MAX);
	if (x->rc == 1) {
		FUZZ_CHECK(x->status >= 200 && x->status <= 599);
		FUZZ_CHECK(x->error == HTTP_OK);
		FUZZ_CHECK(!x->too_big);
	} else {
		FUZZ_CHECK(x->error == HTTP_ERR_CONNECT || x->error == HTTP_ERR_TOO_BIG ||
			   x->error == HTTP_ERR_PROTOCOL || x->error == HTTP_ERR_INTERNAL);
		FUZZ_CHECK((x->error == HTTP_ERR_CONNECT) == (n == 0));
		FUZZ_CHECK((x->error == HTTP_ERR_TOO_BIG) == (x->too_big != 0));
	}
	for (int i = 0; i < NKEPT; i++) {
		const char *v = x->kept[i];
		if (v == NULL)
			continue;
		size_t len = strlen(v);
		FUZZ_CHECK(len <= HTTP_HEADER_VALUE_MAX);
		for (size_t j = 0; j < len; j++) {
			unsigned char c = (unsigned char)v[j];
			FUZZ_CHECK(c != '\r' && c != '\n');
			FUZZ_CHECK((c >= 0x20 && c != 0x7f) || c == '\t');
		}
		FUZZ_CHECK(len == 0 || (v[0] != ' ' && v[0] != '\t'));
		FUZZ_CHECK(len == 0 || (v[len - 1] != ' ' && v[len - 1] != '\t'));
	}
}

/* a: read in pieces, b: read whole. */
static void same_result(const struct result *a, const struct result *b)
{
	FUZZ_CHECK(a->rc == b->rc);
	FUZZ_CHECK(a->status == b->status);
	/* One exception: an answer both too big and broken further on. Read
	 * in pieces, a header value or the head goes over its cap at the end
	 * of a piece, before the broken byte; read whole, http_parser stops on
	 * that byte before it hands the value over. */
	if (a->error != b->error)
		FUZZ_CHECK(a->error == HTTP_ERR_TOO_BIG && b->error == HTTP_ERR_PROTOCOL);
	else
		FUZZ_CHECK(a->too_big == b->too_big);
	/* A refused answer's body and headers are not looked at (how much of
	 * them was taken before the refusal depends on the reads). */
	if (a->rc != 1)
		return;
	FUZZ_CHECK(a->header_bytes == b->header_bytes);
	for (int i = 0; i < NKEPT; i++) {
		FUZZ_CHECK((a->kept[i] == NULL) == (b->kept[i] == NULL));
		FUZZ_CHECK(a->kept[i] == NULL || strcmp(a->kept[i], b->kept[i]) == 0);
	}
	FUZZ_CHECK(a->body_len == b->body_len);
	FUZZ_CHECK(a->body_len == 0 || memcmp(a->body, b->body, a->body_len) == 0);
}

/* ---- URLs and requests ---------------------------------------------------------------- */

static bool is_ip(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static void check_target(const struct http_target *t, const char *url)
{
	FUZZ_TERMINATED(t->host);
	FUZZ_TERMINATED(t->port);
	FUZZ_CHECK(t->host[0] != '\0');
	for (const char *q = t->host; *q != '\0'; q++)
		FUZZ_CHECK((unsigned char)*q > ' ' && *q != 0x7f);
	size_t pl = strlen(t->port);
	FUZZ_CHECK(pl >= 1 && pl <= 5 && strspn(t->port, "0123456789") == pl);
	long port = strtol(t->port, NULL, 10);
	FUZZ_CHECK(port >= 1 && port <= 65535);
	FUZZ_CHECK(t->ip == is_ip(t->host));
	if (url != NULL) {
		/* The path is the URL's tail. */
		size_t ul = strlen(url), tl = strlen(t->path);
		FUZZ_CHECK(tl <= ul && t->path == url + ul - tl);
	}
	FUZZ_CHECK(t->path[0] == '\0' || t->path[0] == '/' || t->path[0] == '?');
	for (const char *q = t->path; *q != '\0'; q++)
		FUZZ_CHECK((unsigned char)*q > ' ' && *q != 0x7f && *q != '#');
}

/* "host[:port]" as the Host header and CONNECT write it. */
static void authority(const struct http_target *t, bool always_port, char *out, size_t size)
{
	bool v6 = strchr(t->host, ':') != NULL;
	bool port = always_port || strcmp(t->port, "443") != 0;
	int n = snprintf(out, size, "%s%s%s%s%s", v6 ? "[" : "", t->host, v6 ? "]" : "",
			 port ? ":" : "", port ? t->port : "");
	FUZZ_CHECK(n > 0 && (size_t)n < size);
}

/* Every CR is followed by LF and every LF preceded by CR, in the head;
 * the number of lines of the head (the empty line not counted). */
static size_t head_lines(const char *s, size_t head_len)
{
	size_t lines = 0;
	for (size_t i = 0; i < head_len; i++) {
		if (s[i] == '\r')
			FUZZ_CHECK(i + 1 < head_len && s[i + 1] == '\n');
		if (s[i] == '\n') {
			FUZZ_CHECK(i > 0 && s[i - 1] == '\r');
			lines++;
		}
	}
	return lines;
}

static const char *head_end(const struct buf *b)
{
	const char *s = buf_str(b);
	const char *end = NULL;
	for (size_t i = 0; i + 4 <= b->len && end == NULL; i++)
		if (memcmp(s + i, "\r\n\r\n", 4) == 0)
			end = s + i + 4;
	FUZZ_CHECK(end != NULL);
	return end;
}

static void check_request(const struct http_target *t, const char *extra_header)
{
	static const char body[] = "identifier=a&password=b";
	const char *headers[] = { "Content-Type: application/x-www-form-urlencoded",
				  "Authorization;", extra_header, NULL };
	struct http_request req = { .headers = headers, .body = body, .body_len = sizeof body - 1 };
	struct buf out;
	buf_init(&out, HTTP_BODY_MAX + HTTP_HEADERS_MAX);
	int rc = http_request_build(&out, t, &req, "pam_clerk-fuzz");
	if (extra_header != NULL &&
	    (strpbrk(extra_header, "\r\n") != NULL || strchr(extra_header, ':') == NULL)) {
		/* Refused unless it is "Name;" (an empty value). */
		size_t el = strlen(extra_header);
		bool empty_form = el >= 2 && extra_header[el - 1] == ';' &&
				  strpbrk(extra_header, "\r\n:") == NULL;
		if (!empty_form) {
			FUZZ_CHECK(rc == -1);
			buf_wipe(&out);
			return;
		}
	}
	if (extra_header != NULL && (strlen(extra_header) < 2 || extra_header[0] == ':')) {
		FUZZ_CHECK(rc == -1);
		buf_wipe(&out);
		return;
	}
	FUZZ_CHECK(rc == 0);
	const char *s = buf_str(&out);
	const char *end = head_end(&out);
	size_t head_len = (size_t)(end - s);
	/* Request line, Host, User-Agent, Accept, Content-Type, Authorization,
	 * [extra], Content-Length, Connection. */
	FUZZ_CHECK(head_lines(s, head_len) == (extra_header != NULL ? 10u : 9u));
	/* The request line: exactly the path, two spaces. */
	char line[1024];
	int n = snprintf(line, sizeof line,
			 "POST %s%s HTTP/1.1\r\nHost: ", t->path[0] == '/' ? "" : "/", t->path);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof line);
	FUZZ_CHECK(strncmp(s, line, (size_t)n) == 0);
	const char *crlf = strstr(s, "\r\n");
	size_t spaces = 0;
	for (const char *q = s; q < crlf; q++)
		if (*q == ' ')
			spaces++;
	FUZZ_CHECK(spaces == 2);
	char auth[HTTP_HOST_MAX + 16];
	authority(t, false, auth, sizeof auth);
	size_t al = strlen(auth);
	FUZZ_CHECK(strncmp(s + n, auth, al) == 0 && strncmp(s + n + al, "\r\n", 2) == 0);
	/* The body follows the head, as given. */
	FUZZ_CHECK(out.len - head_len == sizeof body - 1);
	FUZZ_CHECK(memcmp(end, body, sizeof body - 1) == 0);
	buf_wipe(&out);
}

static void check_connect(const struct http_target *t, const char *proxy_auth)
{
	struct buf out;
	buf_init(&out, 4096);
	FUZZ_CHECK(http_connect_build(&out, t, proxy_auth) == 0);
	char auth[HTTP_HOST_MAX + 16];
	authority(t, true, auth, sizeof auth);
	char expect[2 * HTTP_HOST_MAX + 2048];
	int n = snprintf(expect, sizeof expect, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n",
			 auth, auth, proxy_auth != NULL ? "Proxy-Authorization: " : "",
			 proxy_auth != NULL ? proxy_auth : "", proxy_auth != NULL ? "\r\n" : "");
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof expect);
	FUZZ_CHECK(out.len == (size_t)n && memcmp(out.data, expect, out.len) == 0);
	FUZZ_CHECK(head_lines(out.data, out.len) == (proxy_auth != NULL ? 4u : 3u));
	buf_wipe(&out);
}

static void fuzz_url(const uint8_t *data, size_t n)
{
	char *url = fuzz_cstr(data, n);
	char *prefixed = malloc(strlen(url) + 9);
	FUZZ_CHECK(prefixed != NULL);
	snprintf(prefixed, strlen(url) + 9, "https://%s", url);

	struct http_target t;
	const char *used = url;
	int rc = http_target_parse(url, "https://", "443", &t);
	if (rc != 0) {
		used = prefixed;
		rc = http_target_parse(prefixed, "https://", "443", &t);
	}
	if (rc == 0) {
		check_target(&t, used);
		check_request(&t, NULL);
		check_request(&t, url); /* the URL's bytes as a header line */
		check_connect(&t, NULL);
	} else {
		FUZZ_CHECK(rc == -1);
	}

	/* As a proxy setting: http://[user:password@]host[:port][/]. */
	memcpy(prefixed, "http://", 7);
	memmove(prefixed + 7, prefixed + 8, strlen(prefixed + 8) + 1);
	const char *proxies[] = { url, prefixed };
	for (int i = 0; i < 2; i++) {
		struct http_target pt;
		struct buf pauth;
		buf_init(&pauth, 4096);
		rc = http_proxy_parse(proxies[i], &pt, &pauth);
		if (rc == 0) {
			check_target(&pt, NULL);
			FUZZ_CHECK(pt.path[0] == '\0');
			const char *a = buf_str(&pauth);
			if (pauth.len > 0) {
				FUZZ_CHECK(strncmp(a, "Basic ", 6) == 0 && pauth.len > 6);
				FUZZ_CHECK(strspn(a + 6,
						  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
						  "uvwxyz0123456789+/=") == pauth.len - 6);
				FUZZ_CHECK((pauth.len - 6) % 4 == 0);
			}
			check_connect(&pt, pauth.len > 0 ? a : NULL);
		} else {
			FUZZ_CHECK(rc == -1);
		}
		buf_wipe(&pauth);
	}
	free(prefixed);
	free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 4 * 1024 * 1024)
		return 0;
	size_t step = read_size(data[0]);
	size_t url_len = data[1];
	if (url_len > size - 2)
		url_len = size - 2;
	fuzz_url(data + 2, url_len);

	size_t n = size - 2 - url_len;
	char *answer = fuzz_copy(data + 2 + url_len, n);
	struct result pieces, whole, head;
	read_answer(answer, n, step, false, &pieces);
	read_answer(answer, n, 0, false, &whole);
	check_promises(&pieces, n);
	check_promises(&whole, n);
	same_result(&pieces, &whole);

	/* A CONNECT answer: complete at the end of a head, never a body. */
	read_answer(answer, n, step, true, &head);
	check_promises(&head, n);
	if (head.rc == 1)
		FUZZ_CHECK(head.body_len == 0);
	if (whole.rc == 1 && whole.status >= 200)
		FUZZ_CHECK(head.rc == 1 && head.status == whole.status);

	result_free(&pieces);
	result_free(&whole);
	result_free(&head);
	free(answer);
	return 0;
}
