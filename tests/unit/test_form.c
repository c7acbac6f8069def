/* Unit tests for form.c: x-www-form-urlencoded bodies built by form_add. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "form.h"

/* form_add into a fresh buffer, compared with the expected text. */
static void check_one(const char *key, const char *value, const char *expect)
{
	struct buf b;
	buf_init(&b, 64 * 1024);
	assert_int_equal(form_add(&b, key, value), 0);
	assert_string_equal(buf_str(&b), expect);
	assert_int_equal(b.len, strlen(expect));
	buf_wipe(&b);
}

static void test_unreserved_kept(void **state)
{
	(void)state;
	check_one("k", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "k=ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	check_one("k", "abcdefghijklmnopqrstuvwxyz", "k=abcdefghijklmnopqrstuvwxyz");
	check_one("k", "0123456789-._~", "k=0123456789-._~");
}

static void test_specials_escaped(void **state)
{
	(void)state;
	check_one("k", "&", "k=%26");
	check_one("k", "=", "k=%3D");
	check_one("k", "+", "k=%2B");
	check_one("k", "%", "k=%25");
	check_one("k", " ", "k=%20");
	check_one("k", "\"", "k=%22");
	check_one("k", "'", "k=%27");
	check_one("k", "\\", "k=%5C");
	check_one("k", "/", "k=%2F");
	check_one("k", "?", "k=%3F");
	check_one("k", "#", "k=%23");
	check_one("k", "@", "k=%40");
	check_one("k", ":", "k=%3A");
	check_one("k", "a&b=c+d%e f", "k=a%26b%3Dc%2Bd%25e%20f");
	/* Something that looks already encoded is encoded again. */
	check_one("k", "%41", "k=%2541");
}

static void test_controls_escaped(void **state)
{
	(void)state;
	check_one("k", "\n", "k=%0A");
	check_one("k", "\r\t", "k=%0D%09");
	check_one("k", "\x01", "k=%01");
	check_one("k", "\x7f", "k=%7F");
}

static void test_utf8_bytes(void **state)
{
	(void)state;
	check_one("k", "\xc3\xa9", "k=%C3%A9");		      /* é */
	check_one("k", "\xe2\x82\xac", "k=%E2%82%AC");	      /* € */
	check_one("k", "\xf0\x9f\x94\x91", "k=%F0%9F%94%91"); /* key emoji */
	check_one("k", "\xff\x80", "k=%FF%80");
}

static void test_every_byte(void **state)
{
	(void)state;
	static const char hex[] = "0123456789ABCDEF";
	for (unsigned c = 1; c < 256; c++) {
		char in[2] = { (char)c, '\0' };
		char expect[8];
		int unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				 (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
				 c == '~';
		if (unreserved)
			snprintf(expect, sizeof expect, "k=%c", (char)c);
		else
			snprintf(expect, sizeof expect, "k=%%%c%c", hex[c >> 4], hex[c & 15]);
		check_one("k", in, expect);
	}
}

static void test_key_escaped_too(void **state)
{
	(void)state;
	check_one("a b", "c", "a%20b=c");
	check_one("k&x=1", "v", "k%26x%3D1=v");
}

static void test_empty_value_and_key(void **state)
{
	(void)state;
	check_one("password", "", "password=");
	check_one("", "v", "=v");
	check_one("", "", "=");
}

static void test_fields_joined(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(form_add(&b, "strategy", "password"), 0);
	assert_int_equal(form_add(&b, "identifier", "alice@example.com"), 0);
	assert_int_equal(form_add(&b, "password", "s3cret"), 0);
	/* The body of a password sign-in. */
	assert_string_equal(buf_str(&b),
			    "strategy=password&identifier=alice%40example.com&password=s3cret");
	buf_wipe(&b);

	/* Whatever is already in the buffer, even one byte, is followed by '&'. */
	buf_init(&b, 4096);
	assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(form_add(&b, "k", "v"), 0);
	assert_string_equal(buf_str(&b), "x&k=v");
	buf_wipe(&b);
}

static void test_many_fields(void **state)
{
	(void)state;
	struct buf b;
	char expect[2048] = "";
	buf_init(&b, 4096);
	for (int i = 0; i < 50; i++) {
		char key[16], val[16], piece[40];
		snprintf(key, sizeof key, "k%d", i);
		snprintf(val, sizeof val, "v %d", i);
		snprintf(piece, sizeof piece, "%sk%d=v%%20%d", i ? "&" : "", i, i);
		strcat(expect, piece);
		assert_int_equal(form_add(&b, key, val), 0);
	}
	assert_string_equal(buf_str(&b), expect);
	/* No leading or doubled separator. */
	assert_int_not_equal(buf_str(&b)[0], '&');
	assert_null(strstr(buf_str(&b), "&&"));
	buf_wipe(&b);
}

static void test_long_password(void **state)
{
	(void)state;
	char pw[1001];
	struct buf b;

	/* 1,000 unreserved characters pass through unchanged. */
	for (size_t i = 0; i < 1000; i++)
		pw[i] = (char)('a' + (char)(i % 26));
	pw[1000] = '\0';
	buf_init(&b, 64 * 1024);
	assert_int_equal(form_add(&b, "password", pw), 0);
	assert_int_equal(b.len, 9 + 1000);
	assert_int_equal(strncmp(buf_str(&b), "password=", 9), 0);
	assert_string_equal(buf_str(&b) + 9, pw);
	buf_wipe(&b);

	/* 1,000 characters that all need escaping triple in size. */
	memset(pw, '&', 1000);
	buf_init(&b, 64 * 1024);
	assert_int_equal(form_add(&b, "password", pw), 0);
	assert_int_equal(b.len, 9 + 3000);
	for (size_t i = 0; i < 1000; i++)
		assert_memory_equal(buf_str(&b) + 9 + 3 * i, "%26", 3);
	buf_wipe(&b);
}

static void test_cap_refused(void **state)
{
	(void)state;
	struct buf b;

	/* "k=" plus 8 bytes fits in 10 exactly. */
	buf_init(&b, 10);
	assert_int_equal(form_add(&b, "k", "12345678"), 0);
	assert_string_equal(buf_str(&b), "k=12345678");
	/* Another field cannot fit at all. */
	assert_int_equal(form_add(&b, "x", ""), -1);
	buf_wipe(&b);

	/* One byte too many. */
	buf_init(&b, 10);
	assert_int_equal(form_add(&b, "k", "123456789"), -1);
	assert_true(b.len <= 10);
	buf_wipe(&b);

	/* An escape that would cross the cap is not written in part. */
	buf_init(&b, 10);
	assert_int_equal(form_add(&b, "k", "123456 "), -1);
	assert_null(strchr(buf_str(&b), '%'));
	assert_true(b.len <= 10);
	buf_wipe(&b);

	/* A long password against the 64 KiB body cap fapi_sign_in.c uses. */
	static char huge[30000];
	memset(huge, ' ', sizeof huge - 1);
	buf_init(&b, 64 * 1024);
	assert_int_equal(form_add(&b, "password", huge), -1);
	assert_true(b.len <= 64 * 1024);
	buf_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreserved_kept),	    cmocka_unit_test(test_specials_escaped),
		cmocka_unit_test(test_controls_escaped),    cmocka_unit_test(test_utf8_bytes),
		cmocka_unit_test(test_every_byte),	    cmocka_unit_test(test_key_escaped_too),
		cmocka_unit_test(test_empty_value_and_key), cmocka_unit_test(test_fields_joined),
		cmocka_unit_test(test_many_fields),	    cmocka_unit_test(test_long_password),
		cmocka_unit_test(test_cap_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
