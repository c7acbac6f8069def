/* Unit tests for http_wire.c: the target of a URL, the request bytes, the
 * CONNECT request, and the answer reader over http_parser, whole and in
 * every split. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "http.h"
#include "http_wire.h"

/* ---- http_target_parse ------------------------------------------------------------------ */

static void target_ok(const char *url, const char *host, const char *port, const char *path,
		      bool ip)
{
	struct http_target t;
	memset(&t, 0x55, sizeof t);
	if (http_target_parse(url, "https://", "443", &t) != 0)
		fail_msg("refused: %s", url);
	assert_string_equal(t.host, host);
	assert_string_equal(t.port, port);
	assert_string_equal(t.path, path);
	/* The path points into the URL, at its end. */
	assert_ptr_equal(t.path, url + strlen(url) - strlen(path));
	assert_int_equal(t.ip, ip);
}

static void target_bad(const char *url)
{
	struct http_target t;
	if (http_target_parse(url, "https://", "443", &t) != -1)
		fail_msg("accepted: %s", url);
}

static void test_target_host_port_path(void **state)
{
	(void)state;
	target_ok("https://clerk.example.com:8443/v1/client?_is_native=1&x=%20y",
		  "clerk.example.com", "8443", "/v1/client?_is_native=1&x=%20y", false);
	target_ok("https://clerk.example.com/v1/client", "clerk.example.com", "443", "/v1/client",
		  false);
	target_ok("https://a.b:1/", "a.b", "1", "/", false);
	target_ok("https://a.b:65535", "a.b", "65535", "", false);
}

static void test_target_default_port(void **state)
{
	(void)state;
	target_ok("https://clerk.example.com", "clerk.example.com", "443", "", false);
	target_ok("https://clerk.example.com?q=1", "clerk.example.com", "443", "?q=1", false);
	/* The scheme is matched without case; the host is kept as written. */
	target_ok("HTTPS://Clerk.Example.COM/P", "Clerk.Example.COM", "443", "/P", false);

	struct http_target t;
	assert_int_equal(http_target_parse("http://proxy.lan", "http://", "1080", &t), 0);
	assert_string_equal(t.host, "proxy.lan");
	assert_string_equal(t.port, "1080");
	assert_int_equal(http_target_parse("http://proxy.lan:3128/", "http://", "1080", &t), 0);
	assert_string_equal(t.port, "3128");
	assert_string_equal(t.path, "/");
}

static void test_target_ip_literals(void **state)
{
	(void)state;
	target_ok("https://127.0.0.1/x", "127.0.0.1", "443", "/x", true);
	target_ok("https://127.0.0.1:8443", "127.0.0.1", "8443", "", true);
	target_ok("https://[::1]:8443/p?q", "::1", "8443", "/p?q", true);
	target_ok("https://[2001:db8::42]", "2001:db8::42", "443", "", true);
	target_ok("https://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1", "443", "/", true);
	/* Looks like an address, is a name. */
	target_ok("https://127.0.0.1.nip.io/", "127.0.0.1.nip.io", "443", "/", false);
	target_ok("https://1.2.3/", "1.2.3", "443", "/", false);
}

static void test_target_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		/* user info */
		"https://user@host/", "https://user:pw@host/", "https://host@evil/",
		/* empty host */
		"https://", "https:///path", "https://:443/", "https://?q",
		/* ports */
		"https://host:0/", "https://host:00000/", "https://host:65536/",
		"https://host:99999/", "https://host:123456/", "https://host:/",
		"https://host:abc/", "https://host:-1/", "https://host:443x/", "https://host:44 3/",
		"https://host:+443/",
		/* spaces and control bytes */
		"https://host/a b", "https://host/a\tb", "https://host/a\rb", "https://host/a\nb",
		"https://host/a\x01", "https://host/\x7f", "https://host?a b", "https://ho st/",
		"https://ho\x01st/", "https://host\x7f/",
		/* fragments */
		"https://host/#f", "https://host#f", "https://host/p?q#f", "https://[::1]#f",
		/* brackets */
		"https://[::1/", "https://[::1", "https://::1]/", "https://host]/",
		"https://ho[st/", "https://[]/", "https://[::1]x/", "https://[::1]]/",
		"https://host[::1]/", "https://[a@b]/", "https://[evil.com]/", "https://[1.2.3.4]/",
		/* a port with a leading zero goes into Host: as written */
		"https://host:0443/", "https://host:00443/",
		/* schemes */
		"http://host/", "ftp://host/", "https:/host/", "https:host", "//host/", "host", "",
		" https://host/", "httpss://host/"
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		target_bad(bad[i]);

	struct http_target t;
	assert_int_equal(http_target_parse(NULL, "https://", "443", &t), -1);
}

static void test_target_host_length(void **state)
{
	(void)state;
	char url[600];
	char host[HTTP_HOST_MAX + 2];
	memset(host, 'a', sizeof host);
	host[HTTP_HOST_MAX - 1] = '\0'; /* 255: the longest that fits */
	snprintf(url, sizeof url, "https://%s/x", host);
	target_ok(url, host, "443", "/x", false);
	host[HTTP_HOST_MAX - 1] = 'a';
	host[HTTP_HOST_MAX] = '\0'; /* 256 */
	snprintf(url, sizeof url, "https://%s/x", host);
	target_bad(url);
	snprintf(url, sizeof url, "https://[%s]/x", host);
	target_bad(url);
}

/* ---- http_request_build ----------------------------------------------------------------- */

static struct http_target target_of(const char *url)
{
	struct http_target t;
	if (http_target_parse(url, "https://", "443", &t) != 0)
		fail_msg("refused: %s", url);
	return t;
}

/* The request's bytes (NUL-free for these tests), or NULL when refused. */
static int build(const char *url, const struct http_request *req, const char *ua, struct buf *out,
		 size_t cap)
{
	struct http_target t = target_of(url);
	buf_init(out, cap);
	return http_request_build(out, &t, req, ua);
}

static void test_request_post_exact(void **state)
{
	(void)state;
	static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded",
					       "Authorization;", "X-Spaced:  two  spaces",
					       "X-Semi: a;", NULL };
	struct http_request req = { .url = NULL,
				    .headers = headers,
				    .body = "identifier=a&password=p%40ss",
				    .body_len = 28 };
	struct buf out;
	assert_int_equal(build("https://clerk.example.com/v1/client/sign_ins?_is_native=1", &req,
			       "pam_clerk/1.0", &out, 64 * 1024),
			 0);
	static const char expect[] = "POST /v1/client/sign_ins?_is_native=1 HTTP/1.1\r\n"
				     "Host: clerk.example.com\r\n"
				     "User-Agent: pam_clerk/1.0\r\n"
				     "Accept: application/json\r\n"
				     "Content-Type: application/x-www-form-urlencoded\r\n"
				     "Authorization:\r\n"
				     "X-Spaced:  two  spaces\r\n"
				     "X-Semi: a;\r\n"
				     "Content-Length: 28\r\n"
				     "Connection: close\r\n"
				     "\r\n"
				     "identifier=a&password=p%40ss";
	assert_int_equal(out.len, sizeof expect - 1);
	assert_memory_equal(out.data, expect, sizeof expect - 1);
	buf_wipe(&out);
}

static void test_request_binary_body(void **state)
{
	(void)state;
	static const char body[] = { 'a', '\0', '\r', '\n', 'b' };
	struct http_request req = { .body = body, .body_len = sizeof body };
	struct buf out;
	assert_int_equal(build("https://h/", &req, NULL, &out, 4096), 0);
	static const char head[] = "POST / HTTP/1.1\r\n"
				   "Host: h\r\n"
				   "Accept: application/json\r\n"
				   "Content-Length: 5\r\n"
				   "Connection: close\r\n"
				   "\r\n";
	assert_int_equal(out.len, sizeof head - 1 + sizeof body);
	assert_memory_equal(out.data, head, sizeof head - 1);
	assert_memory_equal(out.data + sizeof head - 1, body, sizeof body);
	buf_wipe(&out);

	/* An empty body is still a POST, with a length of 0. */
	struct http_request empty = { .body = "", .body_len = 0 };
	assert_int_equal(build("https://h/x", &empty, NULL, &out, 4096), 0);
	assert_non_null(strstr(buf_str(&out), "POST /x HTTP/1.1\r\n"));
	assert_non_null(strstr(buf_str(&out), "\r\nContent-Length: 0\r\n"));
	buf_wipe(&out);
}

static void host_line(const char *url, const char *expect)
{
	struct http_request req = { 0 };
	struct buf out;
	assert_int_equal(build(url, &req, NULL, &out, 4096), 0);
	const char *host = strstr(buf_str(&out), "\r\nHost: ");
	assert_non_null(host);
	host += 2;
	size_t n = strcspn(host, "\r");
	char line[400];
	assert_true(n < sizeof line);
	memcpy(line, host, n);
	line[n] = '\0';
	assert_string_equal(line, expect);
	buf_wipe(&out);
}

static void test_request_host_header(void **state)
{
	(void)state;
	host_line("https://clerk.example.com/", "Host: clerk.example.com");
	host_line("https://clerk.example.com:443/", "Host: clerk.example.com");
	host_line("https://clerk.example.com:8443/", "Host: clerk.example.com:8443");
	host_line("https://10.1.2.3:80", "Host: 10.1.2.3:80");
	host_line("https://[::1]/", "Host: [::1]");
	host_line("https://[2001:db8::1]:8443/", "Host: [2001:db8::1]:8443");
}

static void test_request_get_and_delete(void **state)
{
	(void)state;
	static const char *const headers[] = { "Authorization: tok", NULL };
	struct http_request get = { .headers = headers };
	struct buf out;
	assert_int_equal(build("https://h:8443", &get, "ua", &out, 4096), 0);
	static const char expect_get[] = "GET / HTTP/1.1\r\n"
					 "Host: h:8443\r\n"
					 "User-Agent: ua\r\n"
					 "Accept: application/json\r\n"
					 "Authorization: tok\r\n"
					 "Connection: close\r\n"
					 "\r\n";
	assert_string_equal(buf_str(&out), expect_get);
	assert_null(strstr(buf_str(&out), "Content-Length"));
	buf_wipe(&out);

	/* A query without a path gets its "/". */
	assert_int_equal(build("https://h?a=1", &get, NULL, &out, 4096), 0);
	assert_memory_equal(out.data, "GET /?a=1 HTTP/1.1\r\n", 20);
	buf_wipe(&out);

	struct http_request del = { .method = "DELETE", .headers = headers };
	assert_int_equal(build("https://h/v1/client/sessions", &del, NULL, &out, 4096), 0);
	static const char expect_del[] = "DELETE /v1/client/sessions HTTP/1.1\r\n"
					 "Host: h\r\n"
					 "Accept: application/json\r\n"
					 "Authorization: tok\r\n"
					 "Connection: close\r\n"
					 "\r\n";
	assert_string_equal(buf_str(&out), expect_del);
	buf_wipe(&out);

	/* The method given wins over the body's POST. */
	struct http_request put = { .method = "PATCH", .body = "a=1", .body_len = 3 };
	assert_int_equal(build("https://h/x", &put, NULL, &out, 4096), 0);
	assert_memory_equal(out.data, "PATCH /x HTTP/1.1\r\n", 19);
	assert_non_null(strstr(buf_str(&out), "\r\nContent-Length: 3\r\n"));
	buf_wipe(&out);
}

static void build_refused(const struct http_request *req, const char *ua)
{
	struct buf out;
	assert_int_equal(build("https://h/x", req, ua, &out, 64 * 1024), -1);
	buf_wipe(&out);
}

static void test_request_rejects_headers(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"X-A: 1\r\nX-Injected: 2",
		"X-A: 1\nX-Injected: 2",
		"X-A: 1\r",
		"X-A: \n",
		"\r\nX-A: 1",
		"NoColon",
		"Name;value",
		":no-name",
		";",
		"",
		"a",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *headers[] = { "Accept-Language: en", bad[i], NULL };
		struct http_request req = { .headers = headers, .body = "x", .body_len = 1 };
		build_refused(&req, NULL);
	}
	/* A user agent or a method that would break a line. */
	struct http_request req = { 0 };
	build_refused(&req, "ua\r\nX-Injected: 1");
	build_refused(&req, "ua\n");
	static const char *const methods[] = { "GET /evil", "GET\r\n", "G\tET", "" };
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		struct http_request m = { .method = methods[i] };
		build_refused(&m, NULL);
	}
}

static void test_request_cap(void **state)
{
	(void)state;
	static const char *const headers[] = { "Authorization: tok", NULL };
	struct http_request req = { .headers = headers, .body = "0123456789", .body_len = 10 };
	struct buf out;
	assert_int_equal(build("https://h/p", &req, "ua", &out, 64 * 1024), 0);
	size_t exact = out.len;
	buf_wipe(&out);
	assert_int_equal(build("https://h/p", &req, "ua", &out, exact), 0);
	assert_int_equal(out.len, exact);
	buf_wipe(&out);
	/* One byte short: in the body, in the head, at the very start. */
	assert_int_equal(build("https://h/p", &req, "ua", &out, exact - 1), -1);
	buf_wipe(&out);
	assert_int_equal(build("https://h/p", &req, "ua", &out, exact - 20), -1);
	buf_wipe(&out);
	assert_int_equal(build("https://h/p", &req, "ua", &out, 3), -1);
	buf_wipe(&out);
}

/* ---- http_proxy_parse and http_connect_build -------------------------------------------- */

static void proxy_ok(const char *proxy, const char *host, const char *port, bool ip,
		     const char *auth)
{
	struct http_target t;
	struct buf a;
	buf_init(&a, 4096);
	if (http_proxy_parse(proxy, &t, &a) != 0)
		fail_msg("refused: %s", proxy);
	assert_string_equal(t.host, host);
	assert_string_equal(t.port, port);
	assert_string_equal(t.path, "");
	assert_int_equal(t.ip, ip);
	assert_string_equal(buf_str(&a), auth);
	buf_wipe(&a);
}

static void proxy_bad(const char *proxy)
{
	struct http_target t;
	struct buf a;
	buf_init(&a, 4096);
	if (http_proxy_parse(proxy, &t, &a) != -1)
		fail_msg("accepted: %s", proxy);
	buf_wipe(&a);
}

static void test_proxy_parse(void **state)
{
	(void)state;
	proxy_ok("http://proxy.lan", "proxy.lan", "1080", false, "");
	proxy_ok("HTTP://proxy.lan:3128/", "proxy.lan", "3128", false, "");
	proxy_ok("http://10.0.0.1:8080", "10.0.0.1", "8080", true, "");
	proxy_ok("http://[::1]:8080/", "::1", "8080", true, "");
	proxy_ok("http://user:pa%40ss@proxy:3128", "proxy", "3128", false,
		 "Basic dXNlcjpwYUBzcw==");
	proxy_ok("http://a:@proxy", "proxy", "1080", false, "Basic YTo=");
	/* Decoded CR and LF are base64 in the value: nothing to break a line. */
	proxy_ok("http://u:%0d%0AX@proxy", "proxy", "1080", false, "Basic dToNClg=");

	static const char *const bad[] = {
		"https://proxy",       "socks5h://proxy:1080",
		"proxy:3128",	       "http://",
		"http://:3128",	       "http://proxy/path",
		"http://proxy?x=1",    "http://proxy#f",
		"http://proxy:0",      "http://proxy:65536",
		"http://proxy:x",      "http://user@proxy",
		"http://@proxy",       "http://u:p%4@proxy",
		"http://u:p%zz@proxy", "http://u:p%@proxy",
		"http://pro xy",       "http://pro\x01xy",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		proxy_bad(bad[i]);
}

static void connect_exact(const char *url, const char *auth, const char *expect)
{
	struct http_target t = target_of(url);
	struct buf out;
	buf_init(&out, 1024);
	assert_int_equal(http_connect_build(&out, &t, auth), 0);
	assert_string_equal(buf_str(&out), expect);
	buf_wipe(&out);
}

static void test_connect(void **state)
{
	(void)state;
	connect_exact(
		"https://clerk.example.com/v1/x?y", NULL,
		"CONNECT clerk.example.com:443 HTTP/1.1\r\nHost: clerk.example.com:443\r\n\r\n");
	connect_exact(
		"https://clerk.example.com:8443", NULL,
		"CONNECT clerk.example.com:8443 HTTP/1.1\r\nHost: clerk.example.com:8443\r\n\r\n");
	connect_exact("https://[2001:db8::1]/", NULL,
		      "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n");
	connect_exact("https://10.0.0.1:9/", NULL,
		      "CONNECT 10.0.0.1:9 HTTP/1.1\r\nHost: 10.0.0.1:9\r\n\r\n");
	connect_exact("https://h/", "Basic dXNlcjpwYUBzcw==",
		      "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n"
		      "Proxy-Authorization: Basic dXNlcjpwYUBzcw==\r\n\r\n");

	struct http_target t = target_of("https://clerk.example.com/");
	struct buf out;
	buf_init(&out, 20);
	assert_int_equal(http_connect_build(&out, &t, NULL), -1);
	buf_wipe(&out);
	buf_init(&out, 1024);
	assert_int_equal(http_connect_build(&out, &t, "Basic x\r\nX-Injected: 1"), -1);
	buf_wipe(&out);
	buf_init(&out, 1024);
	assert_int_equal(http_connect_build(&out, &t, "Basic x\n"), -1);
	buf_wipe(&out);
}

/* ---- http_reader_feed ------------------------------------------------------------------- */

struct rd {
	struct http_response resp;
	struct http_reader r;
};

static void rd_init(struct rd *x, bool head_only)
{
	memset(&x->resp, 0, sizeof x->resp);
	buf_init(&x->resp.body, HTTP_BODY_MAX);
	http_reader_init(&x->r, &x->resp, head_only);
}

static int rd_feed_n(struct rd *x, const char *s, size_t n)
{
	return http_reader_feed(&x->r, s, n);
}

static int rd_feed(struct rd *x, const char *s)
{
	return rd_feed_n(x, s, strlen(s));
}

static int rd_eof(struct rd *x)
{
	return http_reader_feed(&x->r, "", 0);
}

static void rd_free(struct rd *x)
{
	http_reader_free(&x->r);
	http_response_free(&x->resp);
}

#define BODY_IS(x, s)                                                                              \
	do {                                                                                       \
		assert_int_equal((x)->resp.body.len, strlen(s));                                   \
		assert_memory_equal(buf_str(&(x)->resp.body), (s), strlen(s));                     \
	} while (0)

/* Whole, then the end of the stream if more was wanted: the final result. */
static int rd_all(struct rd *x, const char *s, size_t n)
{
	int rc = rd_feed_n(x, s, n);
	return rc == 0 ? rd_eof(x) : rc;
}

/* The answer is refused with error e, fed whole (then closed). */
static void refused_n(const char *s, size_t n, enum http_result e)
{
	struct rd x;
	rd_init(&x, false);
	int rc = rd_all(&x, s, n);
	if (rc != -1 || x.r.error != e)
		fail_msg("rc %d error %d (want -1, %d) for: %.*s", rc, (int)x.r.error, (int)e,
			 (int)n, s);
	assert_non_null(x.r.why);
	assert_int_equal(x.resp.too_big, e == HTTP_ERR_TOO_BIG);
	/* Once refused, always refused. */
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), -1);
	assert_int_equal(rd_eof(&x), -1);
	assert_int_equal(x.r.error, e);
	rd_free(&x);
}

#define REFUSED(lit, e) refused_n((lit), sizeof(lit) - 1, (e))

static void test_read_content_length(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n"
				     "Date: Mon, 1 Jan 2024 00:00:00 GMT\r\n"
				     "Content-Type: application/json\r\n"
				     "Authorization: tok_abc\r\n"
				     "Content-Length: 11\r\n"
				     "\r\n"
				     "{\"a\":"),
			 0);
	assert_int_equal(x.resp.status, 200);
	assert_string_equal(x.resp.authorization, "tok_abc");
	assert_int_equal(rd_feed(&x, "\"b\"}\n"), 0);
	assert_int_equal(rd_feed(&x, "x"), 1); /* the 11th byte: complete, no close needed */
	BODY_IS(&x, "{\"a\":\"b\"}\nx");
	assert_null(x.resp.retry_after);
	assert_null(x.resp.trace_id);
	assert_null(x.resp.db_jwt);
	assert_int_equal(x.resp.too_big, 0);
	assert_true(x.resp.header_bytes > 0);
	rd_free(&x);

	/* Content-Length: 0 completes at the end of the head. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 422 Unprocessable\r\nContent-Length: 0\r\n\r\n"), 1);
	assert_int_equal(x.resp.status, 422);
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);

	/* A body of bytes of every value. */
	char answer[300];
	int h = snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n");
	for (int i = 0; i < 256; i++)
		answer[h + i] = (char)i;
	rd_init(&x, false);
	assert_int_equal(rd_feed_n(&x, answer, (size_t)h + 256), 1);
	assert_int_equal(x.resp.body.len, 256);
	assert_memory_equal(x.resp.body.data, answer + h, 256);
	rd_free(&x);
}

static void test_read_chunked(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n"
				     "Transfer-Encoding: chunked\r\n"
				     "X-Clerk-Trace-Id: trace-1\r\n"
				     "\r\n"
				     "5;name=value;q=\"quoted;ext\"\r\n"
				     "hello\r\n"
				     "A\r\n"
				     ", world!!!\r\n"
				     "1;x\r\n"
				     "\n\r\n"
				     "0\r\n"
				     "X-Trailer: t\r\n"
				     "Server-Timing: db;dur=53\r\n"),
			 0);
	assert_int_equal(rd_feed(&x, "\r\n"), 1);
	assert_int_equal(x.resp.status, 200);
	BODY_IS(&x, "hello, world!!!\n");
	assert_string_equal(x.resp.trace_id, "trace-1");
	rd_free(&x);

	/* Upper-case hex, no trailers. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n"),
			 1);
	BODY_IS(&x, "0123456789abcdef0123456789abcde");
	rd_free(&x);
}

static void test_read_close_delimited(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 503 Service Unavailable\r\n"
				     "Retry-After: 30\r\n"
				     "\r\n"
				     "down for"),
			 0);
	assert_int_equal(rd_feed(&x, " maintenance"), 0);
	assert_int_equal(rd_eof(&x), 1);
	assert_int_equal(x.resp.status, 503);
	BODY_IS(&x, "down for maintenance");
	assert_string_equal(x.resp.retry_after, "30");
	/* Closed again: still complete. */
	assert_int_equal(rd_eof(&x), 1);
	rd_free(&x);

	/* HTTP/1.0, no headers at all. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.0 200 OK\r\n\r\n{}"), 0);
	assert_int_equal(rd_eof(&x), 1);
	BODY_IS(&x, "{}");
	rd_free(&x);

	/* Closed right after the head: an empty body. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"), 0);
	assert_int_equal(rd_eof(&x), 1);
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);
}

static void test_read_interim_answers(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 100 Continue\r\n"
				     "Authorization: from-100\r\n"
				     "Retry-After: 100\r\n"
				     "\r\n"),
			 0);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 103 Early Hints\r\n"
				     "Link: </style.css>; rel=preload\r\n"
				     "X-Clerk-Trace-Id: from-103\r\n"
				     "Clerk-Db-Jwt: from-103\r\n"
				     "\r\n"),
			 0);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n"
				     "Clerk-Db-Jwt: final\r\n"
				     "Content-Length: 2\r\n"
				     "\r\n"
				     "ok"),
			 1);
	assert_int_equal(x.resp.status, 200);
	BODY_IS(&x, "ok");
	assert_null(x.resp.authorization);
	assert_null(x.resp.retry_after);
	assert_null(x.resp.trace_id);
	assert_string_equal(x.resp.db_jwt, "final");
	rd_free(&x);

	/* All in one piece, and a 1xx cut off by the close. */
	static const char one[] = "HTTP/1.1 100 Continue\r\nAuthorization: early\r\n\r\n"
				  "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, one), 1);
	assert_int_equal(x.resp.status, 401);
	assert_null(x.resp.authorization);
	rd_free(&x);
	REFUSED("HTTP/1.1 100 Continue\r\n\r\n", HTTP_ERR_PROTOCOL);
}

static void test_read_header_names_any_case(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n"
				     "aUtHoRiZaTiOn: A\r\n"
				     "RETRY-AFTER: 7\r\n"
				     "x-clerk-TRACE-id: T\r\n"
				     "clerk-db-JWT: D\r\n"
				     "Authorization-Extra: no\r\n"
				     "X-Authorization: no\r\n"
				     "Content-Length: 0\r\n\r\n"),
			 1);
	assert_string_equal(x.resp.authorization, "A");
	assert_string_equal(x.resp.retry_after, "7");
	assert_string_equal(x.resp.trace_id, "T");
	assert_string_equal(x.resp.db_jwt, "D");
	rd_free(&x);

	/* Names that only start or end like a kept one, or are much longer. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n"
				     "Authorizatio: no\r\n"
				     "Authorizationn: no\r\n"
				     "Retry-After-Retry-After-Retry-After: no\r\n"
				     "X-Clerk-Trace-Id-X-Clerk-Trace-Id: no\r\n"
				     "Content-Length: 0\r\n\r\n"),
			 1);
	assert_null(x.resp.authorization);
	assert_null(x.resp.retry_after);
	assert_null(x.resp.trace_id);
	rd_free(&x);
}

static void test_read_values_trimmed(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n"
				     "Authorization:    tok  \r\n"
				     "Retry-After:\t5\t \t\r\n"
				     "X-Clerk-Trace-Id:a b  c \r\n"
				     "Clerk-Db-Jwt:\r\n"
				     "Content-Length: 0\r\n\r\n"),
			 1);
	assert_string_equal(x.resp.authorization, "tok");
	assert_string_equal(x.resp.retry_after, "5");
	assert_string_equal(x.resp.trace_id, "a b  c");
	assert_non_null(x.resp.db_jwt);
	assert_string_equal(x.resp.db_jwt, ""); /* present but empty */
	rd_free(&x);
}

/* A kept header twice is refused: a bare LF inside a client token makes
 * a second Authorization line (header injection), and there is no way to
 * tell which one is the server's. Unkept headers may repeat. */
static void test_read_repeated_header(void **state)
{
	(void)state;
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: first\r\nRetry-After: 1\r\n"
		"authorization: second\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: half\nAuthorization: injected\r\n"
		"Content-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 429 Too Many\r\nRetry-After: 1\r\nretry-after: 99\r\n"
		"Content-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n"
				     "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
				     "Authorization: only\r\n"
				     "Content-Length: 0\r\n\r\n"),
			 1);
	assert_string_equal(x.resp.authorization, "only");
	rd_free(&x);
}

/* Debian's http_parser is built lenient and does not check "HTTP/". */
static void test_read_protocol_name(void **state)
{
	(void)state;
	REFUSED("HTTZ/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("XTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
}

/* "HTTP/1.1 200 OK\r\n<name>: <n times c>\r\nContent-Length: 2\r\n\r\nok" */
static char *answer_with_value(const char *name, size_t n, char c, size_t *len)
{
	size_t cap = n + 200;
	char *s = malloc(cap);
	assert_non_null(s);
	int h = snprintf(s, cap, "HTTP/1.1 200 OK\r\n%s: ", name);
	memset(s + h, c, n);
	int t = snprintf(s + (size_t)h + n, cap - (size_t)h - n, "\r\nContent-Length: 2\r\n\r\nok");
	*len = (size_t)h + n + (size_t)t;
	return s;
}

static void test_read_kept_value_cap(void **state)
{
	(void)state;
	static const char *const names[] = { "Authorization", "Retry-After", "X-Clerk-Trace-Id",
					     "Clerk-Db-Jwt" };
	for (size_t i = 0; i < 4; i++) {
		size_t len;
		char *s = answer_with_value(names[i], HTTP_HEADER_VALUE_MAX, 'v', &len);
		struct rd x;
		rd_init(&x, false);
		assert_int_equal(rd_feed_n(&x, s, len), 1);
		const char *kept[] = { x.resp.authorization, x.resp.retry_after, x.resp.trace_id,
				       x.resp.db_jwt };
		assert_non_null(kept[i]);
		assert_int_equal(strlen(kept[i]), HTTP_HEADER_VALUE_MAX);
		rd_free(&x);
		free(s);

		s = answer_with_value(names[i], HTTP_HEADER_VALUE_MAX + 1, 'v', &len);
		refused_n(s, len, HTTP_ERR_TOO_BIG);
		free(s);
	}
	/* Another header may be longer: it is not kept. */
	size_t len;
	char *s = answer_with_value("X-Other", 4 * HTTP_HEADER_VALUE_MAX, 'o', &len);
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed_n(&x, s, len), 1);
	BODY_IS(&x, "ok");
	rd_free(&x);
	free(s);
}

/* A head of k lines "X-Pad-<i>: <7000 p>", then Content-Length: 0. */
static char *padded_head(int k, size_t *len)
{
	size_t cap = (size_t)k * 7100 + 100;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t n = (size_t)snprintf(s, cap, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < k; i++) {
		n += (size_t)snprintf(s + n, cap - n, "X-Pad-%d: ", i);
		memset(s + n, 'p', 7000);
		n += 7000;
		n += (size_t)snprintf(s + n, cap - n, "\r\n");
	}
	n += (size_t)snprintf(s + n, cap - n, "Content-Length: 0\r\n\r\n");
	*len = n;
	return s;
}

static void test_read_headers_cap(void **state)
{
	(void)state;
	size_t len;
	char *s = padded_head(8, &len); /* 56 KB */
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed_n(&x, s, len), 1);
	assert_true(x.resp.header_bytes >= 8 * 7000);
	assert_true(x.resp.header_bytes <= HTTP_HEADERS_MAX);
	assert_int_equal(x.resp.too_big, 0);
	rd_free(&x);
	free(s);

	s = padded_head(10, &len); /* 70 KB */
	refused_n(s, len, HTTP_ERR_TOO_BIG);
	free(s);

	/* The 1xx blocks count too. */
	size_t cap = 12 * 7100;
	char *many = malloc(cap);
	assert_non_null(many);
	size_t n = 0;
	for (int i = 0; i < 10; i++) {
		n += (size_t)snprintf(many + n, cap - n, "HTTP/1.1 103 Early Hints\r\nLink: ");
		memset(many + n, 'l', 7000);
		n += 7000;
		n += (size_t)snprintf(many + n, cap - n, "\r\n\r\n");
	}
	n += (size_t)snprintf(many + n, cap - n, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	refused_n(many, n, HTTP_ERR_TOO_BIG);
	free(many);
}

static void test_read_body_cap(void **state)
{
	(void)state;
	/* Announced too long: refused before any byte of the body. */
	struct rd x;
	rd_init(&x, false);
	char head[200];
	snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
		 HTTP_BODY_MAX + 1);
	assert_int_equal(rd_feed(&x, head), -1);
	assert_int_equal(x.r.error, HTTP_ERR_TOO_BIG);
	assert_int_equal(x.resp.too_big, 1);
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n", HTTP_ERR_TOO_BIG);

	/* Exactly the cap is fine. */
	char *body = malloc(HTTP_BODY_MAX);
	assert_non_null(body);
	memset(body, 'b', HTTP_BODY_MAX);
	rd_init(&x, false);
	snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", HTTP_BODY_MAX);
	assert_int_equal(rd_feed(&x, head), 0);
	assert_int_equal(rd_feed_n(&x, body, HTTP_BODY_MAX - 1), 0);
	assert_int_equal(rd_feed_n(&x, body, 1), 1);
	assert_int_equal(x.resp.body.len, HTTP_BODY_MAX);
	rd_free(&x);

	/* Chunked: 16 chunks of 64 KB are the cap; a 17th byte is refused. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(rd_feed(&x, "10000\r\n"), 0);
		assert_int_equal(rd_feed_n(&x, body, 0x10000), 0);
		assert_int_equal(rd_feed(&x, "\r\n"), 0);
	}
	assert_int_equal(rd_feed(&x, "0\r\n\r\n"), 1);
	assert_int_equal(x.resp.body.len, HTTP_BODY_MAX);
	rd_free(&x);

	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(rd_feed(&x, "10000\r\n"), 0);
		assert_int_equal(rd_feed_n(&x, body, 0x10000), 0);
		assert_int_equal(rd_feed(&x, "\r\n"), 0);
	}
	assert_int_equal(rd_feed(&x, "1\r\nX"), -1);
	assert_int_equal(x.r.error, HTTP_ERR_TOO_BIG);
	assert_int_equal(x.resp.too_big, 1);
	assert_true(x.resp.body.len <= HTTP_BODY_MAX);
	rd_free(&x);

	/* One chunk announced huge: refused once the body passes the cap. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "7fffffffffffffff\r\n"),
			 0);
	assert_int_equal(rd_feed_n(&x, body, HTTP_BODY_MAX), 0);
	assert_int_equal(rd_feed_n(&x, body, 1), -1);
	assert_int_equal(x.r.error, HTTP_ERR_TOO_BIG);
	rd_free(&x);

	/* Close-delimited, likewise. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n\r\n"), 0);
	assert_int_equal(rd_feed_n(&x, body, HTTP_BODY_MAX), 0);
	assert_int_equal(rd_feed_n(&x, body, 1), -1);
	assert_int_equal(x.r.error, HTTP_ERR_TOO_BIG);
	rd_free(&x);
	free(body);
}

static void test_read_framing_errors(void **state)
{
	(void)state;
	/* Two lengths, or a length and chunks: which framing is real is unknown. */
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
		"2\r\nhi\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n"
		"2\r\nhi\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nhi!", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhi", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\nhi", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhi",
		HTTP_ERR_PROTOCOL);
	/* Chunk sizes: not hex, negative, spaced, overflowing 64 bits. */
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nhi\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\nhi\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"10000000000000000\r\nhi\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"ffffffffffffffffff\r\nhi\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	/* Chunk data longer than announced. */
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
}

static void test_read_not_http11(void **state)
{
	(void)state;
	REFUSED("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 101 Switching Protocols\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/2 200\r\ncontent-length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.10 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("<html><body>hello</body></html>", HTTP_ERR_PROTOCOL);
	REFUSED("{\"response\":{}}", HTTP_ERR_PROTOCOL);
	REFUSED("http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", HTTP_ERR_PROTOCOL);
	/* Status codes out of 100..599. */
	REFUSED("HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 600 High\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 1000 Higher\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 2 Short\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
}

static void test_read_eof(void **state)
{
	(void)state;
	/* Nothing at all: the server went away, as if never reached. */
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_eof(&x), -1);
	assert_int_equal(x.r.error, HTTP_ERR_CONNECT);
	assert_int_equal(x.resp.status, 0);
	rd_free(&x);
	/* Empty reads before it change nothing. */
	rd_init(&x, false);
	assert_int_equal(rd_feed_n(&x, "HTTP", 0), -1); /* n == 0 is the close */
	assert_int_equal(x.r.error, HTTP_ERR_CONNECT);
	rd_free(&x);

	/* Cut short anywhere else is broken HTTP. */
	REFUSED("H", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 O", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Le", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhi", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n",
		HTTP_ERR_PROTOCOL);
}

static void test_read_ignores_what_follows(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
				     "HTTP/1.1 500 Oops\r\nAuthorization: evil\r\n"
				     "Content-Length: 4\r\n\r\nevil"),
			 1);
	assert_int_equal(x.resp.status, 200);
	BODY_IS(&x, "ok");
	assert_null(x.resp.authorization);
	assert_int_equal(rd_feed(&x, "more bytes"), 1);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\n\r\n"), 1);
	assert_int_equal(rd_eof(&x), 1);
	assert_int_equal(x.resp.status, 200);
	BODY_IS(&x, "ok");
	assert_null(x.resp.authorization);
	assert_int_equal(x.r.error, HTTP_OK);
	rd_free(&x);

	/* Garbage after a chunked answer. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "2\r\nok\r\n0\r\n\r\n\x01\x02garbage"),
			 1);
	BODY_IS(&x, "ok");
	rd_free(&x);
}

static void test_read_bad_header_bytes(void **state)
{
	(void)state;
	/* A CR alone, NUL or DEL inside a header value (kept or not), and bad
	 * bytes in a name: never part of a value that is sent back. */
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: tok\rX-Injected: 1\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: tok\r\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nX-Other: a\rb\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: to\0k\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nX-Other: a\0\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: tok\x7f\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: tok\x01\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthori\0zation: tok\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthori\rzation: tok\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);

	/* A bare LF ends a line: no LF ever stays in a value. */
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\nAuthorization: tok\nX-A: b\n"
				     "Content-Length: 2\n\nok"),
			 1);
	assert_string_equal(x.resp.authorization, "tok");
	BODY_IS(&x, "ok");
	rd_free(&x);

	/* Bytes of 0x80 and up are kept as they are (the client checks them). */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nAuthorization: t\xc3\xa9\xff\r\n"
				     "Content-Length: 0\r\n\r\n"),
			 1);
	assert_string_equal(x.resp.authorization, "t\xc3\xa9\xff");
	rd_free(&x);
}

static void test_read_head_only(void **state)
{
	(void)state;
	/* A CONNECT answer: complete at the end of its head, whatever it says
	 * about a body; what follows belongs to the tunnel. */
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n"
				 "Proxy-Agent: squid\r\n"
				 "\r\n";
	struct rd x;
	rd_init(&x, true);
	for (size_t i = 0; i + 1 < sizeof ok - 1; i++)
		assert_int_equal(rd_feed_n(&x, ok + i, 1), 0);
	assert_int_equal(rd_feed_n(&x, ok + sizeof ok - 2, 1), 1);
	assert_int_equal(x.resp.status, 200);
	assert_int_equal(rd_feed(&x, "\x16\x03\x03\x00\x10"), 1);
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);

	rd_init(&x, true);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 100 Continue\r\n\r\n"
				     "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n\x16\x03"),
			 1);
	assert_int_equal(x.resp.status, 200);
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);

	rd_init(&x, true);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 407 Proxy Authentication Required\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n"),
			 1);
	assert_int_equal(x.resp.status, 407);
	rd_free(&x);

	/* Without head_only, the same 200 with no length reads to the close. */
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, ok), 0);
	rd_free(&x);
}

static void test_read_no_body_statuses(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 204 No Content\r\nAuthorization: t\r\n\r\n"), 1);
	assert_int_equal(x.resp.status, 204);
	assert_string_equal(x.resp.authorization, "t");
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);

	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 304 Not Modified\r\n\r\n"), 1);
	assert_int_equal(x.resp.status, 304);
	rd_free(&x);
}

static void test_read_trailers_not_kept(void **state)
{
	(void)state;
	/* Trailer fields never stand in for the head's, last or not. */
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x,
				 "HTTP/1.1 200 OK\r\nAuthorization: head\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
				 "Authorization: trailer\r\nRetry-After: 99\r\nX-Last: 1\r\n\r\n"),
			 1);
	assert_string_equal(x.resp.authorization, "head");
	assert_null(x.resp.retry_after);
	BODY_IS(&x, "ok");
	rd_free(&x);

	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "0\r\nClerk-Db-Jwt: trailer\r\n\r\n"),
			 1);
	assert_null(x.resp.db_jwt);
	rd_free(&x);
}

static void test_read_interim_with_length(void **state)
{
	(void)state;
	/* RFC 9112 section 6.3: a 1xx ends with its head, whatever it says;
	 * nothing after it is its body. */
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n"
				     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
			 1);
	assert_int_equal(x.resp.status, 200);
	BODY_IS(&x, "ok");
	rd_free(&x);

	rd_init(&x, false);
	assert_int_equal(rd_feed(&x,
				 "HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
			 1);
	BODY_IS(&x, "ok");
	rd_free(&x);

	/* What would have been its body is taken as the next answer: garbage. */
	REFUSED("HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nhello"
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		HTTP_ERR_PROTOCOL);

	/* In head_only mode too: no byte of a 1xx lands in the body. */
	rd_init(&x, true);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 100 Continue\r\nContent-Length: 2\r\n\r\n"
				     "HTTP/1.1 200 OK\r\n\r\n"),
			 1);
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);
}

/* ---- split invariance ------------------------------------------------------------------- */

struct outcome {
	int rc;
	enum http_result error;
	long status;
	int too_big;
	struct buf body;
	char *kept[4];
	size_t header_bytes;
};

static char *dup_or_null(const char *s)
{
	if (s == NULL)
		return NULL;
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

/* Feed the answer cut at the given points (ascending), stop at the first
 * result, close when more is wanted. */
static void read_cut(const char *s, size_t n, const size_t *cuts, size_t ncuts, bool head_only,
		     struct outcome *o)
{
	struct rd x;
	rd_init(&x, head_only);
	int rc = 0;
	size_t from = 0;
	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : n;
		rc = rd_feed_n(&x, s + from, to - from);
		if (to - from == 0 && rc == 0)
			fail_msg("an empty piece must be taken as the close");
		from = to;
	}
	if (rc == 0)
		rc = rd_eof(&x);
	memset(o, 0, sizeof *o);
	o->rc = rc;
	o->error = x.r.error;
	o->status = x.resp.status;
	o->too_big = x.resp.too_big;
	o->header_bytes = x.resp.header_bytes;
	buf_init(&o->body, HTTP_BODY_MAX);
	assert_int_equal(buf_append(&o->body, buf_str(&x.resp.body), x.resp.body.len), 0);
	o->kept[0] = dup_or_null(x.resp.authorization);
	o->kept[1] = dup_or_null(x.resp.retry_after);
	o->kept[2] = dup_or_null(x.resp.trace_id);
	o->kept[3] = dup_or_null(x.resp.db_jwt);
	rd_free(&x);
}

static void outcome_free(struct outcome *o)
{
	buf_wipe(&o->body);
	for (int i = 0; i < 4; i++)
		free(o->kept[i]);
}

static void same_outcome(const struct outcome *a, const struct outcome *b, const char *what,
			 bool header_bytes)
{
	if (a->rc != b->rc || a->error != b->error || a->status != b->status ||
	    a->too_big != b->too_big)
		fail_msg("%s: rc %d/%d error %d/%d status %ld/%ld too_big %d/%d", what, a->rc,
			 b->rc, (int)a->error, (int)b->error, a->status, b->status, a->too_big,
			 b->too_big);
	if (a->body.len != b->body.len ||
	    memcmp(buf_str(&a->body), buf_str(&b->body), a->body.len) != 0)
		fail_msg("%s: bodies differ (%zu/%zu bytes)", what, a->body.len, b->body.len);
	for (int i = 0; i < 4; i++) {
		if ((a->kept[i] == NULL) != (b->kept[i] == NULL) ||
		    (a->kept[i] != NULL && strcmp(a->kept[i], b->kept[i]) != 0))
			fail_msg("%s: kept header %d differs: [%s] / [%s]", what, i,
				 a->kept[i] ? a->kept[i] : "(none)",
				 b->kept[i] ? b->kept[i] : "(none)");
	}
	if (header_bytes && a->header_bytes != b->header_bytes)
		fail_msg("%s: header_bytes %zu / %zu", what, a->header_bytes, b->header_bytes);
}

/* Whole, one byte at a time, and in two pieces at every cut (every
 * stride-th cut for long answers): the same outcome. */
static void split_invariant(const char *s, size_t n, bool head_only, size_t stride,
			    bool header_bytes)
{
	struct outcome whole, other;
	read_cut(s, n, NULL, 0, head_only, &whole);

	size_t *cuts = malloc((n > 0 ? n : 1) * sizeof *cuts);
	assert_non_null(cuts);
	for (size_t i = 1; i < n; i++)
		cuts[i - 1] = i;
	read_cut(s, n, cuts, n > 0 ? n - 1 : 0, head_only, &other);
	same_outcome(&whole, &other, "byte by byte", header_bytes);
	outcome_free(&other);
	free(cuts);

	for (size_t cut = 1; cut < n; cut += stride) {
		read_cut(s, n, &cut, 1, head_only, &other);
		char what[64];
		snprintf(what, sizeof what, "cut at %zu of %zu", cut, n);
		same_outcome(&whole, &other, what, header_bytes);
		outcome_free(&other);
	}
	/* Three pieces, around the middle. */
	for (size_t a = n / 3; n > 8 && a < n / 3 + 4; a++) {
		size_t three[2] = { a, a + (n - a) / 2 };
		read_cut(s, n, three, 2, head_only, &other);
		same_outcome(&whole, &other, "three pieces", header_bytes);
		outcome_free(&other);
	}
	outcome_free(&whole);
}

#define SPLIT_INVARIANT(lit, head_only)                                                            \
	split_invariant((lit), sizeof(lit) - 1, (head_only), 1, false)

static void test_split_invariance(void **state)
{
	(void)state;
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nAuthorization: tok_abc  \r\nRetry-After: 3\r\n"
			"X-Clerk-Trace-Id: tr\r\nClerk-Db-Jwt: db\r\nContent-Length: 11\r\n\r\n"
			"{\"a\":\"b\"}\nx",
			false);
	SPLIT_INVARIANT(
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Clerk-Trace-Id: t\r\n\r\n"
		"5;name=value;q=\"quoted;ext\"\r\nhello\r\nA\r\n, world!!!\r\n0\r\n"
		"X-Trailer: t\r\n\r\n",
		false);
	SPLIT_INVARIANT("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\n\r\ndown", false);
	SPLIT_INVARIANT("HTTP/1.1 100 Continue\r\nAuthorization: from-100\r\n\r\n"
			"HTTP/1.1 103 Early Hints\r\nClerk-Db-Jwt: from-103\r\n\r\n"
			"HTTP/1.1 200 OK\r\nClerk-Db-Jwt: final\r\nContent-Length: 2\r\n\r\nok",
			false);
	SPLIT_INVARIANT("HTTP/1.1 204 No Content\r\nAUTHORIZATION: t\r\n\r\n", false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 X\r\n\r\n",
			false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\nauthorization:\ta \nContent-Length: 2\n\nok", false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nAuthorization: a\r\nauthorization: b\r\n"
			"Content-Length: 0\r\n\r\n",
			false);
	SPLIT_INVARIANT("HTTP/1.1 200 Connection established\r\nContent-Length: 9\r\n\r\n\x16\x03",
			true);
	SPLIT_INVARIANT("HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n"
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			false);
	SPLIT_INVARIANT(
		"HTTP/1.1 200 OK\r\nAuthorization: head\r\nTransfer-Encoding: chunked\r\n\r\n"
		"2\r\nok\r\n0\r\nAuthorization: trailer\r\nRetry-After: 99\r\n\r\n",
		false);
	/* Broken ones fail the same way. */
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!",
			false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
			"2\r\nhi\r\n0\r\n\r\n",
			false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n", false);
	SPLIT_INVARIANT("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", false);
	SPLIT_INVARIANT("HTTP/2.0 200 OK\r\n\r\n", false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi", false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nAuthorization: to\0k\r\n\r\n", false);
	SPLIT_INVARIANT("HTTP/1.1 200 OK\r\nAuthorization: tok\rX: 1\r\n\r\n", false);
	SPLIT_INVARIANT("", false);

	/* Over the caps: a kept value, the body. */
	size_t len;
	char *s = answer_with_value("Authorization", HTTP_HEADER_VALUE_MAX + 1, 'v', &len);
	split_invariant(s, len, false, 97, false);
	free(s);
	s = answer_with_value("Authorization", HTTP_HEADER_VALUE_MAX, 'v', &len);
	split_invariant(s, len, false, 97, false);
	free(s);
	char head[100];
	int h = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nab",
			 HTTP_BODY_MAX + 1);
	split_invariant(head, (size_t)h, false, 1, false);
}

/* ---- found by the fuzzer and the review, fixed -------------------------------------------- */

/* The header count (and so the HTTP_HEADERS_MAX verdict) must not depend
 * on how the bytes arrived: a name split over two reads makes two
 * callbacks, and proxy_tunnel feeds one byte at a time. */
static void test_header_count_split_invariant(void **state)
{
	(void)state;
	/* 21 KB of header names: fine whole, refused byte by byte. */
	size_t cap = 600 * 40 + 100, n = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	n += (size_t)snprintf(s, cap, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 600; i++)
		n += (size_t)snprintf(s + n, cap - n, "X-Aaaaaaaaaaaaaaaaaaaaaaaaa%03d: 1\r\n", i);
	n += (size_t)snprintf(s + n, cap - n, "Content-Length: 0\r\n\r\n");
	split_invariant(s, n, false, 4099, false);
	free(s);
	/* And the count itself. */
	static const char small[] =
		"HTTP/1.1 200 OK\r\nAuthorization: tok\r\nContent-Length: 0\r\n\r\n";
	split_invariant(small, sizeof small - 1, false, 1, true);
}

/* RFC 9112 section 6.3: a 204 or 304 answer ends with its head, whatever
 * Content-Length or Transfer-Encoding say (http_parser alone waits for a
 * body, and the close then makes it "cut short"). */
static void test_no_body_statuses_with_length(void **state)
{
	(void)state;
	struct rd x;
	rd_init(&x, false);
	assert_int_equal(rd_feed(&x, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), 1);
	assert_int_equal(x.resp.status, 204);
	assert_int_equal(x.resp.body.len, 0);
	rd_free(&x);

	rd_init(&x, false);
	assert_int_equal(
		rd_feed(&x, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"), 1);
	rd_free(&x);
}

/* http_parser 2.9.4 checks every byte of a header value but the first: a
 * NUL, control byte or DEL right after "Name:" (and its spaces) must still
 * be refused. A NUL would hide the rest of a kept value (the C string ends
 * there, and secret_free wipes only up to it). */
static void test_control_byte_first_in_value(void **state)
{
	(void)state;
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization: \0secret\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nAuthorization:\0secret\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nX-Clerk-Trace-Id: \x1b[31mred\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nRetry-After: \x7f"
		"5\r\nContent-Length: 0\r\n\r\n",
		HTTP_ERR_PROTOCOL);
	REFUSED("HTTP/1.1 200 OK\r\nX-Other: \0\r\nContent-Length: 0\r\n\r\n", HTTP_ERR_PROTOCOL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_host_port_path),
		cmocka_unit_test(test_target_default_port),
		cmocka_unit_test(test_target_ip_literals),
		cmocka_unit_test(test_target_rejects),
		cmocka_unit_test(test_target_host_length),
		cmocka_unit_test(test_request_post_exact),
		cmocka_unit_test(test_request_binary_body),
		cmocka_unit_test(test_request_host_header),
		cmocka_unit_test(test_request_get_and_delete),
		cmocka_unit_test(test_request_rejects_headers),
		cmocka_unit_test(test_request_cap),
		cmocka_unit_test(test_proxy_parse),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_read_content_length),
		cmocka_unit_test(test_read_chunked),
		cmocka_unit_test(test_read_close_delimited),
		cmocka_unit_test(test_read_interim_answers),
		cmocka_unit_test(test_read_header_names_any_case),
		cmocka_unit_test(test_read_values_trimmed),
		cmocka_unit_test(test_read_repeated_header),
		cmocka_unit_test(test_read_protocol_name),
		cmocka_unit_test(test_read_kept_value_cap),
		cmocka_unit_test(test_read_headers_cap),
		cmocka_unit_test(test_read_body_cap),
		cmocka_unit_test(test_read_framing_errors),
		cmocka_unit_test(test_read_not_http11),
		cmocka_unit_test(test_read_eof),
		cmocka_unit_test(test_read_ignores_what_follows),
		cmocka_unit_test(test_read_bad_header_bytes),
		cmocka_unit_test(test_read_head_only),
		cmocka_unit_test(test_read_no_body_statuses),
		cmocka_unit_test(test_read_trailers_not_kept),
		cmocka_unit_test(test_read_interim_with_length),
		cmocka_unit_test(test_split_invariance),
		cmocka_unit_test(test_header_count_split_invariant),
		cmocka_unit_test(test_no_body_statuses_with_length),
		cmocka_unit_test(test_control_byte_first_in_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
