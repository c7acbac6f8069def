/* Unit tests for proxy_url.c: the checks of a proxy= setting before libcurl
 * gets it (URL target, %XX-decoded credentials as a Basic value). */
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
#include "proxy_url.h"

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

/* ---- http_proxy_parse ------------------------------------------------------------------- */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_host_port_path),
		cmocka_unit_test(test_target_default_port),
		cmocka_unit_test(test_target_ip_literals),
		cmocka_unit_test(test_target_rejects),
		cmocka_unit_test(test_target_host_length),
		cmocka_unit_test(test_proxy_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
