/* Unit tests for sanitize.c: outside strings made safe for syslog and
 * terminals. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "sanitize.h"

static void check(const char *src, const char *expect)
{
	char out[256];
	assert_ptr_equal(sanitize(out, sizeof out, src), out);
	assert_string_equal(out, expect);
}

static bool all_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

static void test_plain_unchanged(void **state)
{
	(void)state;
	check("alice@way.cloud", "alice@way.cloud");
	check(" !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", " !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~");
	check("", "");
}

static void test_null_is_dash(void **state)
{
	(void)state;
	check(NULL, "-");
	char tiny[2];
	assert_string_equal(sanitize(tiny, sizeof tiny, NULL), "-");
}

static void test_control_chars(void **state)
{
	(void)state;
	check("a\nb", "a\\x0ab");
	check("\r\t", "\\x0d\\x09");
	check("\x01\x1f", "\\x01\\x1f");
	check("\x1b[31mred", "\\x1b[31mred");
	/* A forged log line stays on one line. */
	char out[256];
	sanitize(out, sizeof out, "bob\nJan  1 00:00:00 host sshd: Accepted password for root");
	assert_null(strchr(out, '\n'));
	assert_true(all_printable(out));
}

static void test_del_and_high_bytes(void **state)
{
	(void)state;
	check("\x7f", "\\x7f");
	check("\x80", "\\x80");
	check("\xff", "\\xff");
	check("caf\xc3\xa9", "caf\\xc3\\xa9");
}

static void test_backslash_doubled(void **state)
{
	(void)state;
	check("\\", "\\\\");
	check("a\\x41", "a\\\\x41"); /* cannot pass for an escape */
	check("\\\\", "\\\\\\\\");
}

static void test_every_byte_printable(void **state)
{
	(void)state;
	char in[256];
	char out[1100];
	for (int i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	sanitize(out, sizeof out, in);
	assert_true(all_printable(out));
	/* 95 printable bytes, one of them a backslash (2), 160 others (4 each). */
	assert_int_equal(strlen(out), 94 + 2 + 160 * 4);
}

static void test_truncation_marks(void **state)
{
	(void)state;
	char out[8];
	sanitize(out, sizeof out, "abcdefghij");
	assert_string_equal(out, "abcd...");
	sanitize(out, sizeof out, "abcdefg"); /* fits exactly: no mark */
	assert_string_equal(out, "abcdefg");
	sanitize(out, sizeof out, "abcdefgh"); /* one too many */
	assert_string_equal(out, "abcd...");
	sanitize(out, sizeof out, "ab\ncdefgh");
	assert_int_equal(strlen(out), 7);
	assert_string_equal(out + 4, "...");
	assert_true(all_printable(out));
}

static void test_tiny_buffers(void **state)
{
	(void)state;
	char out[4];
	sanitize(out, 1, "abc");
	assert_string_equal(out, "");
	sanitize(out, 2, "abc");
	assert_string_equal(out, "a");
	sanitize(out, 3, "abc");
	assert_string_equal(out, "ab");
	sanitize(out, 4, "abc");
	assert_string_equal(out, "abc");
	sanitize(out, 4, "abcd");
	assert_string_equal(out, "...");
	/* An escape never goes in half. */
	sanitize(out, 3, "\n");
	assert_string_equal(out, "");
	sanitize(out, 4, "a\n");
	assert_true(all_printable(out));
	assert_true(strlen(out) < 4);
}

static void test_never_writes_past_n(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"",
		"a",
		"abcdefghijklmnopqrstuvwxyz",
		"\x01\x02\x03\x04\x05\x06\x07",
		"\\\\\\\\\\\\",
		"x\xff\xfe\xfd\xfc",
		"mixed \\ \n \x7f text \xc3\xa9 end",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		for (size_t n = 1; n <= 48; n++) {
			char out[64];
			memset(out, 'Z', sizeof out);
			sanitize(out, n, inputs[i]);
			assert_true(strlen(out) < n);
			assert_true(all_printable(out));
			for (size_t k = n; k < sizeof out; k++)
				assert_int_equal(out[k], 'Z');
			/* Whatever is cut ends in the mark once there is room for it. */
			char full[256];
			sanitize(full, sizeof full, inputs[i]);
			if (strcmp(out, full) != 0 && n >= 4)
				assert_string_equal(out + strlen(out) - 3, "...");
			if (strlen(full) < n)
				assert_string_equal(out, full);
		}
	}
}

static void test_long_input(void **state)
{
	(void)state;
	static char in[10000];
	char out[128];
	memset(in, '\n', sizeof in - 1);
	sanitize(out, sizeof out, in);
	assert_true(strlen(out) <= sizeof out - 1);
	assert_string_equal(out + strlen(out) - 3, "...");
	assert_true(all_printable(out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_unchanged),
		cmocka_unit_test(test_null_is_dash),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_del_and_high_bytes),
		cmocka_unit_test(test_backslash_doubled),
		cmocka_unit_test(test_every_byte_printable),
		cmocka_unit_test(test_truncation_marks),
		cmocka_unit_test(test_tiny_buffers),
		cmocka_unit_test(test_never_writes_past_n),
		cmocka_unit_test(test_long_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
