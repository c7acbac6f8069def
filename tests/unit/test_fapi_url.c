/* Unit tests for fapi_url.c: the Frontend API base URL from a publishable
 * key or from a configured URL. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fapi_url.h"

#define URL_SIZE 300

/* A base64 encoder of its own, so the tests do not share the code under test. */
static void b64(const char *in, size_t n, char *out, size_t outsize, int padded)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)(unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)(unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		char q[4] = { abc[(v >> 18) & 63], abc[(v >> 12) & 63],
			      i + 1 < n ? abc[(v >> 6) & 63] : '=', i + 2 < n ? abc[v & 63] : '=' };
		for (int k = 0; k < 4; k++)
			if (q[k] != '=' || padded) {
				assert_true(o + 1 < outsize);
				out[o++] = q[k];
			}
	}
	out[o] = '\0';
}

/* "pk_test_" + base64(decoded). */
static void make_key(const char *prefix, const char *decoded, size_t n, char *key, size_t keysize,
		     int padded)
{
	size_t p = strlen(prefix);
	assert_true(p < keysize);
	memcpy(key, prefix, p);
	b64(decoded, n, key + p, keysize - p, padded);
}

static void key_ok(const char *key, const char *expect)
{
	char url[URL_SIZE];
	char err[200] = "";
	int rc = fapi_url_from_key(key, url, sizeof url, err, sizeof err);
	if (rc != 0)
		print_error("key %s refused: %s\n", key, err);
	assert_int_equal(rc, 0);
	assert_string_equal(url, expect);
}

/* Refused, with a reason that contains want (when not NULL). */
static void key_bad(const char *key, const char *want)
{
	char url[URL_SIZE] = "untouched";
	char err[200] = "";
	int rc = fapi_url_from_key(key, url, sizeof url, err, sizeof err);
	if (rc == 0)
		print_error("key %s accepted as %s\n", key, url);
	assert_int_equal(rc, -1);
	assert_true(err[0] != '\0');
	if (want != NULL && strstr(err, want) == NULL) {
		print_error("key %s: reason '%s' lacks '%s'\n", key, err, want);
		fail();
	}
}

static void url_ok(const char *in, const char *expect)
{
	char url[URL_SIZE];
	char err[200] = "";
	int rc = fapi_url_normalize(in, url, sizeof url, err, sizeof err);
	if (rc != 0)
		print_error("url %s refused: %s\n", in, err);
	assert_int_equal(rc, 0);
	assert_string_equal(url, expect);
}

static void url_bad(const char *in, const char *want)
{
	char url[URL_SIZE];
	char err[200] = "";
	int rc = fapi_url_normalize(in, url, sizeof url, err, sizeof err);
	if (rc == 0)
		print_error("url %s accepted as %s\n", in, url);
	assert_int_equal(rc, -1);
	assert_true(err[0] != '\0');
	if (want != NULL && strstr(err, want) == NULL) {
		print_error("url %s: reason '%s' lacks '%s'\n", in, err, want);
		fail();
	}
}

/* --- publishable keys ---------------------------------------------------- */

static void test_key_notes_examples(void **state)
{
	(void)state;
	key_ok("pk_test_ZXhhbXBsZS1kZXN0aW5lZC1jYW1lbC0xMy5jbGVyay5hY2NvdW50cy5kZXYk",
	       "https://example-destined-camel-13.clerk.accounts.dev");
	key_ok("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "https://clerk.example.com");
}

static void test_key_padding(void **state)
{
	(void)state;
	/* "clerk.foo.io$" needs two '=', "clerk.foo.dev$" one. */
	key_ok("pk_live_Y2xlcmsuZm9vLmlvJA==", "https://clerk.foo.io");
	key_ok("pk_live_Y2xlcmsuZm9vLmlvJA", "https://clerk.foo.io");
	key_ok("pk_live_Y2xlcmsuZm9vLmlvJA=", "https://clerk.foo.io");
	key_ok("pk_test_Y2xlcmsuZm9vLmRldiQ=", "https://clerk.foo.dev");
	key_ok("pk_test_Y2xlcmsuZm9vLmRldiQ", "https://clerk.foo.dev");
}

static void test_key_generated(void **state)
{
	(void)state;
	static const char *const hosts[] = {
		"a.b",
		"ab.cd",
		"abc.de",
		"clerk.way.cloud",
		"x-y-z.clerk.accounts.dev",
		"clerk.sub.domain.example.co.uk",
		"127.0.0.1",
	};
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
		char dec[300], key[500], expect[300];
		snprintf(dec, sizeof dec, "%s$", hosts[i]);
		snprintf(expect, sizeof expect, "https://%s", hosts[i]);
		for (int padded = 0; padded < 2; padded++) {
			make_key("pk_test_", dec, strlen(dec), key, sizeof key, padded);
			key_ok(key, expect);
			make_key("pk_live_", dec, strlen(dec), key, sizeof key, padded);
			key_ok(key, expect);
		}
	}
}

static void test_key_wrong_prefix(void **state)
{
	(void)state;
	key_bad("sk_test_Y2xlcmsuZXhhbXBsZS5jb20k", "pk_");
	key_bad("pk_prod_Y2xlcmsuZXhhbXBsZS5jb20k", "pk_");
	key_bad("PK_LIVE_Y2xlcmsuZXhhbXBsZS5jb20k", "pk_");
	key_bad("pk_liveY2xlcmsuZXhhbXBsZS5jb20k", "pk_");
	key_bad("Y2xlcmsuZXhhbXBsZS5jb20k", "pk_");
	key_bad(" pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "pk_");
	key_bad("", NULL);
	key_bad("pk_test_", NULL);
	key_bad("pk_live_", NULL);
}

static void test_key_dollar_rules(void **state)
{
	(void)state;
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20=", NULL);     /* no '$' */
	key_bad("pk_live_Y2xlcmsuZXhhJG1wbGUuY29tJA==", NULL); /* two '$' */
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20kJA==", NULL); /* "$$" */
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20keA==", NULL); /* '$' not at the end */
	key_bad("pk_live_JA==", NULL);			       /* only "$" */
}

static void test_key_host_rules(void **state)
{
	(void)state;
	key_bad("pk_live_bG9jYWxob3N0JA==", NULL);	       /* localhost: no dot */
	key_bad("pk_live_LmV4YW1wbGUuY29tJA==", NULL);	       /* leading dot */
	key_bad("pk_live_Y2xlcmtfeC5leGFtcGxlLmNvbSQ=", NULL); /* underscore */
	/* What follows the host must not become a path, a query or a user. */
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20vZXZpbCQ=", NULL);	       /* /evil */
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20/eCQ=", NULL);		       /* ?x */
	key_bad("pk_live_ZXZpbC5leGFtcGxlQGNsZXJrLmV4YW1wbGUuY29tJA==", NULL); /* user@ */
}

static void test_key_nul_inside(void **state)
{
	(void)state;
	key_bad("pk_live_Y2xlcmsALmV4YW1wbGUuY29tJA==", NULL); /* "clerk\0.example.com$" */
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20AJA==", NULL); /* "clerk.example.com\0$" */
	key_bad("pk_live_AAAA", NULL);
}

static void test_key_bad_base64(void **state)
{
	(void)state;
	key_bad("pk_live_!!!!", NULL);
	key_bad("pk_live_Y2xl*msuZXhhbXBsZS5jb20k", NULL);
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k\n", NULL);
	key_bad("pk_live_Y2xlcmsuZXhhbXBsZS5jb20kA", NULL); /* 4n+1 characters */
	key_bad("pk_live_Y2xlcmsuZm9vLmlvJA===", NULL);	    /* too much padding */
	key_bad("pk_live_Y2xl=msuZXhhbXBsZS5jb20k", NULL);  /* '=' inside */
}

/* Padding alone decodes to fewer bytes than there are '=' characters; the
 * length arithmetic must not wrap (it read before the output buffer). */
static void test_key_only_padding(void **state)
{
	(void)state;
	key_bad("pk_live_====", "base64");
	key_bad("pk_test_========", "base64");
	key_bad("pk_live_==", "base64");
	key_bad("pk_live_AA======", "base64");
}

static void test_key_long_hosts(void **state)
{
	(void)state;
	char host[400], dec[408], key[700], expect[416];
	/* 253 characters: the longest DNS name. */
	memset(host, 0, sizeof host);
	memset(host, 'a', 63);
	host[63] = '.';
	memset(host + 64, 'b', 63);
	host[127] = '.';
	memset(host + 128, 'c', 63);
	host[191] = '.';
	memset(host + 192, 'd', 61);
	assert_int_equal(strlen(host), 253);
	snprintf(dec, sizeof dec, "%s$", host);
	snprintf(expect, sizeof expect, "https://%s", host);
	make_key("pk_live_", dec, strlen(dec), key, sizeof key, 1);
	key_ok(key, expect);
	make_key("pk_live_", dec, strlen(dec), key, sizeof key, 0);
	key_ok(key, expect);

	/* 254 and far more: refused without overflowing anything. */
	host[253] = 'd';
	snprintf(dec, sizeof dec, "%s$", host);
	make_key("pk_live_", dec, strlen(dec), key, sizeof key, 1);
	key_bad(key, NULL);
	memset(host, 'x', 380);
	host[10] = '.';
	host[380] = '\0';
	snprintf(dec, sizeof dec, "%s$", host);
	make_key("pk_live_", dec, strlen(dec), key, sizeof key, 1);
	key_bad(key, NULL);

	/* A very long key that is not even base64 of a host. */
	static char huge[20000];
	memcpy(huge, "pk_live_", 8);
	memset(huge + 8, 'Q', sizeof huge - 9);
	key_bad(huge, NULL);
}

static void test_key_small_url_buffer(void **state)
{
	(void)state;
	char url[10];
	char err[200] = "";
	assert_int_equal(fapi_url_from_key("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", url, sizeof url, err,
					   sizeof err),
			 -1);
	assert_true(err[0] != '\0');
	/* Exactly large enough. */
	char fit[sizeof "https://clerk.example.com"];
	assert_int_equal(fapi_url_from_key("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", fit, sizeof fit, err,
					   sizeof err),
			 0);
	assert_string_equal(fit, "https://clerk.example.com");
}

/* --- frontend_api URLs --------------------------------------------------- */

static void test_url_valid(void **state)
{
	(void)state;
	url_ok("https://clerk.example.com", "https://clerk.example.com");
	url_ok("https://clerk.example.com/", "https://clerk.example.com");
	url_ok("https://example-destined-camel-13.clerk.accounts.dev",
	       "https://example-destined-camel-13.clerk.accounts.dev");
	url_ok("https://127.0.0.1:8443", "https://127.0.0.1:8443");
	url_ok("https://127.0.0.1:8443/", "https://127.0.0.1:8443");
	url_ok("https://clerk.example.com:1", "https://clerk.example.com:1");
	url_ok("https://clerk.example.com:65535", "https://clerk.example.com:65535");
	url_ok("https://clerk.example.com:443", "https://clerk.example.com:443");
}

static void test_url_scheme_case(void **state)
{
	(void)state;
	url_ok("HTTPS://clerk.example.com", "https://clerk.example.com");
	url_ok("Https://clerk.example.com/", "https://clerk.example.com");
}

static void test_url_http_refused(void **state)
{
	(void)state;
	url_bad("http://clerk.example.com", "https");
	url_bad("HTTP://clerk.example.com", "https");
	url_bad("http://127.0.0.1:8080", "https");
}

static void test_url_other_schemes(void **state)
{
	(void)state;
	url_bad("clerk.example.com", "https://");
	url_bad("ftp://clerk.example.com", "https://");
	url_bad("https:/clerk.example.com", "https://");
	url_bad("httpss://clerk.example.com", "https://");
	url_bad(" https://clerk.example.com", "https://");
	url_bad("", "https://");
}

static void test_url_path_query_user(void **state)
{
	(void)state;
	url_bad("https://clerk.example.com//", NULL);
	url_bad("https://clerk.example.com/a//b", "segment");
	url_bad("https://clerk.example.com/a/../b", "segment");
	url_bad("https://clerk.example.com/./b", "segment");
	url_bad("https://clerk.example.com/a b", "path");
	url_bad("https://clerk.example.com/a%2f", "path");
	url_bad("https://clerk.example.com?x=1", NULL);
	url_bad("https://clerk.example.com/?x=1", NULL);
	url_bad("https://clerk.example.com/__clerk?x=1", NULL);
	url_bad("https://clerk.example.com#frag", NULL);
	url_bad("https://user@clerk.example.com", NULL);
	url_bad("https://user:pw@clerk.example.com", NULL);
	url_bad("https://evil.example@clerk.example.com", NULL);
	url_bad("https://evil.example\\@clerk.example.com", NULL);
}

/* Behind a Clerk proxy FAPI sits under a path (issue 12 item 5). */
static void test_url_proxy_path(void **state)
{
	(void)state;
	url_ok("https://example.com/__clerk", "https://example.com/__clerk");
	url_ok("https://example.com/__clerk/", "https://example.com/__clerk");
	url_ok("https://example.com:8443/a/b-c/d_e.f~g", "https://example.com:8443/a/b-c/d_e.f~g");
	url_ok("https://clerk.example.com/v1", "https://clerk.example.com/v1");
}

static void test_url_ports(void **state)
{
	(void)state;
	url_bad("https://clerk.example.com:0", "port");
	url_bad("https://clerk.example.com:65536", "port");
	url_bad("https://clerk.example.com:99999", "port");
	url_bad("https://clerk.example.com:123456", "port");
	url_bad("https://clerk.example.com:abc", "port");
	url_bad("https://clerk.example.com:", "port");
	url_bad("https://clerk.example.com:-1", "port");
	url_bad("https://clerk.example.com:+443", "port");
	url_bad("https://clerk.example.com:44 3", "port");
	url_bad("https://clerk.example.com:443:443", "port");
	url_bad("https://clerk.example.com:/", "port");
}

static void test_url_hosts(void **state)
{
	(void)state;
	url_bad("https://", NULL);
	url_bad("https:///", NULL);
	url_bad("https://:443", NULL);
	url_bad("https://.example.com", NULL);
	url_bad("https://example.com.", NULL);
	url_bad("https://example..com", NULL);
	url_bad("https://-clerk.example.com", NULL);
	url_bad("https://clerk-", NULL);
	url_bad("https://clerk_x.example.com", NULL);
	url_bad("https://clerk example.com", NULL);
	url_bad("https://clerk.example.com ", NULL);
	url_bad("https://clerk.example.com\n", NULL);
	url_bad("https://cl\xc3\xa9rk.example.com", NULL);
	url_bad("https://[::1", "IPv6");
	url_bad("https://[]", "IPv6");
	url_bad("https://[1.2.3.4]", "IPv6");
	url_bad("https://[fe80::1%25eth0]", "IPv6");
	url_bad("https://[::g]", "IPv6");
	url_bad("https://[::1]x", "port");
	url_bad("https://[::1]:0", "port");
}

/* A single-label or localhost host and an IPv6 literal (issue 12 item 5). */
static void test_url_local_hosts(void **state)
{
	(void)state;
	url_ok("https://localhost", "https://localhost");
	url_ok("https://localhost:8443/", "https://localhost:8443");
	url_ok("https://clerk", "https://clerk");
	url_ok("https://[::1]", "https://[::1]");
	url_ok("https://[::1]:443", "https://[::1]:443");
	url_ok("https://[2001:db8::7]:8443/__clerk", "https://[2001:db8::7]:8443/__clerk");
	url_ok("https://[::ffff:192.0.2.1]", "https://[::ffff:192.0.2.1]");
}

static void test_url_long(void **state)
{
	(void)state;
	char in[600], expect[600];
	char host[300];
	memset(host, 'a', 253);
	host[100] = '.';
	host[253] = '\0';
	snprintf(in, sizeof in, "https://%s", host);
	url_ok(in, in);
	snprintf(in, sizeof in, "https://%s:65535/", host);
	snprintf(expect, sizeof expect, "https://%s:65535", host);
	url_ok(in, expect);
	host[253] = 'a';
	host[254] = '\0';
	snprintf(in, sizeof in, "https://%s", host);
	url_bad(in, NULL);

	/* Output buffer one byte short, then just right. */
	char url[sizeof "https://clerk.example.com"];
	char err[200];
	assert_int_equal(fapi_url_normalize("https://clerk.example.com/", url, sizeof url - 1, err,
					    sizeof err),
			 -1);
	assert_int_equal(
		fapi_url_normalize("https://clerk.example.com/", url, sizeof url, err, sizeof err),
		0);
	assert_string_equal(url, "https://clerk.example.com");
}

static void test_err_truncated_safely(void **state)
{
	(void)state;
	char url[URL_SIZE];
	char err[8];
	memset(err, 'Z', sizeof err);
	assert_int_equal(fapi_url_normalize("http://x.y", url, sizeof url, err, sizeof err), -1);
	assert_true(memchr(err, '\0', sizeof err) != NULL);
	memset(err, 'Z', sizeof err);
	assert_int_equal(fapi_url_from_key("nope", url, sizeof url, err, sizeof err), -1);
	assert_true(memchr(err, '\0', sizeof err) != NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_notes_examples),
		cmocka_unit_test(test_key_padding),
		cmocka_unit_test(test_key_generated),
		cmocka_unit_test(test_key_wrong_prefix),
		cmocka_unit_test(test_key_dollar_rules),
		cmocka_unit_test(test_key_host_rules),
		cmocka_unit_test(test_key_nul_inside),
		cmocka_unit_test(test_key_bad_base64),
		cmocka_unit_test(test_key_only_padding),
		cmocka_unit_test(test_key_long_hosts),
		cmocka_unit_test(test_key_small_url_buffer),
		cmocka_unit_test(test_url_valid),
		cmocka_unit_test(test_url_scheme_case),
		cmocka_unit_test(test_url_http_refused),
		cmocka_unit_test(test_url_other_schemes),
		cmocka_unit_test(test_url_path_query_user),
		cmocka_unit_test(test_url_ports),
		cmocka_unit_test(test_url_hosts),
		cmocka_unit_test(test_url_local_hosts),
		cmocka_unit_test(test_url_proxy_path),
		cmocka_unit_test(test_url_long),
		cmocka_unit_test(test_err_truncated_safely),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
