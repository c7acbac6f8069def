/* Unit tests for conf_identifier.c: the identifier format expanded for a
 * PAM user name (which comes from whoever connects). */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "conf.h"

static char err[1024];

static void assert_err_has(const char *fragment)
{
	if (strstr(err, fragment) == NULL) {
		print_error("error '%s' lacks '%s'\n", err, fragment);
		fail();
	}
}

/* --- conf_expand_identifier ---------------------------------------------- */

static int expand(const char *format, const char *user, char *out, size_t outsize)
{
	err[0] = '\0';
	return conf_expand_identifier(format, user, out, outsize, err, sizeof err);
}

static void test_expand_ok(void **state)
{
	(void)state;
	char out[600];
	assert_int_equal(expand("%u", "alice", out, sizeof out), 0);
	assert_string_equal(out, "alice");
	assert_int_equal(expand("%u@way.cloud", "alice", out, sizeof out), 0);
	assert_string_equal(out, "alice@way.cloud");
	assert_int_equal(expand("%%u", "alice", out, sizeof out), 0);
	assert_string_equal(out, "%u");
	assert_int_equal(expand("100%%", "alice", out, sizeof out), 0);
	assert_string_equal(out, "100%");
	assert_int_equal(expand("%u+%u", "bob", out, sizeof out), 0);
	assert_string_equal(out, "bob+bob");
	assert_int_equal(expand("fixed", "bob", out, sizeof out), 0);
	assert_string_equal(out, "fixed");
	assert_int_equal(expand("", "bob", out, sizeof out), 0);
	assert_string_equal(out, "");
	/* The user name is inserted, never read as a format. */
	assert_int_equal(expand("%u", "%u%%", out, sizeof out), 0);
	assert_string_equal(out, "%u%%");
	/* UTF-8 user names pass unchanged. */
	assert_int_equal(expand("%u", "j\xc3\xb6rg", out, sizeof out), 0);
	assert_string_equal(out, "j\xc3\xb6rg");
}

static void test_expand_bad_format(void **state)
{
	(void)state;
	char out[100];
	assert_int_equal(expand("%s", "alice", out, sizeof out), -1);
	assert_err_has("escape");
	assert_int_equal(expand("%U", "alice", out, sizeof out), -1);
	assert_int_equal(expand("%u%", "alice", out, sizeof out), -1);
	assert_int_equal(expand("%", "alice", out, sizeof out), -1);
}

static void test_expand_bad_user(void **state)
{
	(void)state;
	char out[600];
	assert_int_equal(expand("%u", "", out, sizeof out), -1);
	assert_err_has("empty");
	assert_int_equal(expand("%u", "ali\nce", out, sizeof out), -1);
	assert_err_has("control");
	assert_int_equal(expand("%u", "ali\rce", out, sizeof out), -1);
	assert_int_equal(expand("%u", "\x1b[2J", out, sizeof out), -1);
	assert_int_equal(expand("%u", "del\x7f", out, sizeof out), -1);
	assert_int_equal(expand("%u", "tab\there", out, sizeof out), -1);
	/* Also when the format does not use the user name at all. */
	assert_int_equal(expand("fixed", "", out, sizeof out), -1);

	char user[300];
	memset(user, 'u', 256);
	user[256] = '\0';
	assert_int_equal(expand("%u", user, out, sizeof out), 0);
	assert_string_equal(out, user);
	user[256] = 'u';
	user[257] = '\0';
	assert_int_equal(expand("%u", user, out, sizeof out), -1);
	assert_err_has("too long");
}

static void test_expand_output_size(void **state)
{
	(void)state;
	char out[16];
	memset(out, 'Z', sizeof out);
	/* "alice@way.cloud" is 15 characters: fits 16 exactly, not 15. */
	assert_int_equal(expand("%u@way.cloud", "alice", out, 16), 0);
	assert_string_equal(out, "alice@way.cloud");
	memset(out, 'Z', sizeof out);
	assert_int_equal(expand("%u@way.cloud", "alice", out, 15), -1);
	assert_err_has("too long");
	assert_int_equal(out[15], 'Z');
	assert_int_equal(expand("%u", "alice", out, 5), -1);
	assert_int_equal(expand("%u", "alice", out, 6), 0);
	assert_string_equal(out, "alice");
	assert_int_equal(expand("%%%%", "alice", out, 3), 0);
	assert_string_equal(out, "%%");
	assert_int_equal(expand("%%%%", "alice", out, 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_ok),
		cmocka_unit_test(test_expand_bad_format),
		cmocka_unit_test(test_expand_bad_user),
		cmocka_unit_test(test_expand_output_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
