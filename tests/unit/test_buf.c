/* Unit tests for buf.c: growth, the size cap, and that no copy of a secret
 * is left behind in freed memory (free() is wrapped at link time). */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* --- free() spy: linked with -Wl,--wrap=free ---------------------------- */

void __real_free(void *p);
void __wrap_free(void *p);

static const void *watched;
static size_t watched_len;
static unsigned char freed_copy[8192];
static bool watched_freed;

static void watch(const void *p, size_t len)
{
	assert_true(len <= sizeof freed_copy);
	watched = p;
	watched_len = len;
	watched_freed = false;
	memset(freed_copy, 0xa5, sizeof freed_copy);
}

void __wrap_free(void *p)
{
	if (p != NULL && p == watched) {
		memcpy(freed_copy, p, watched_len);
		watched_freed = true;
		watched = NULL;
	}
	__real_free(p);
}

static void assert_freed_and_zero(void)
{
	assert_true(watched_freed);
	for (size_t i = 0; i < watched_len; i++)
		assert_int_equal(freed_copy[i], 0);
}

/* --- tests ---------------------------------------------------------------- */

static void test_init_empty(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_string_equal(buf_str(&b), "");
	buf_wipe(&b);
}

static void test_append_and_terminate(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(buf_append_str(&b, "def"), 0);
	assert_int_equal(b.len, 6);
	assert_string_equal(buf_str(&b), "abcdef");
	/* Binary data: only n bytes are taken, and the result stays terminated. */
	assert_int_equal(buf_append(&b, "gh\0ij", 2), 0);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_str(&b), "abcdefgh");
	assert_int_equal(b.data[b.len], '\0');
	buf_wipe(&b);
}

static void test_append_nothing(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_append_str(&b, ""), 0);
	assert_string_equal(buf_str(&b), "");
	buf_wipe(&b);
}

static void test_growth_keeps_contents(void **state)
{
	(void)state;
	struct buf b;
	char expect[5001];
	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < 5000; i++) {
		char c = (char)('a' + (char)(i % 26));
		expect[i] = c;
		assert_int_equal(buf_append(&b, &c, 1), 0);
		assert_true(b.cap > b.len);
	}
	expect[5000] = '\0';
	assert_int_equal(b.len, 5000);
	assert_true(b.cap >= 5001);
	assert_string_equal(buf_str(&b), expect);
	buf_wipe(&b);
}

static void test_growth_in_one_big_append(void **state)
{
	(void)state;
	struct buf b;
	static char big[20000];
	memset(big, 'z', sizeof big - 1);
	buf_init(&b, sizeof big);
	assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(buf_append_str(&b, big), 0);
	assert_int_equal(b.len, sizeof big);
	assert_int_equal(buf_str(&b)[0], 'x');
	assert_int_equal(strlen(buf_str(&b)), sizeof big);
	buf_wipe(&b);
}

static void test_max_exact_fits(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(buf_str(&b), "0123456789");
	buf_wipe(&b);
}

static void test_max_refused_and_unchanged(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "01234", 5), 0);
	/* One byte too many: refused, and the buffer is as it was. */
	assert_int_equal(buf_append(&b, "567890", 6), -1);
	assert_int_equal(b.len, 5);
	assert_string_equal(buf_str(&b), "01234");
	assert_int_equal(buf_append(&b, "56789", 5), 0);
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_string_equal(buf_str(&b), "0123456789");
	buf_wipe(&b);
}

static void test_max_overflowing_size(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append_str(&b, "abc"), 0);
	/* n near SIZE_MAX must not wrap around the len + n check. */
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);
	assert_int_equal(buf_append(&b, "x", SIZE_MAX - 2), -1);
	assert_int_equal(b.len, 3);
	assert_string_equal(buf_str(&b), "abc");
	buf_wipe(&b);
}

static void test_max_zero(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "a", 1), -1);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_string_equal(buf_str(&b), "");
	buf_wipe(&b);
}

static void test_wipe_resets_and_reusable(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 50);
	assert_int_equal(buf_append_str(&b, "first"), 0);
	buf_wipe(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 50);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_append_str(&b, "second"), 0);
	assert_string_equal(buf_str(&b), "second");
	buf_wipe(&b);
	buf_wipe(&b); /* twice is harmless */
	assert_null(b.data);
}

static void test_wipe_zeroes_before_free(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1000);
	assert_int_equal(buf_append_str(&b, "password=hunter2"), 0);
	watch(b.data, b.cap);
	buf_wipe(&b);
	assert_freed_and_zero();
}

static void test_growth_zeroes_old_copy(void **state)
{
	(void)state;
	struct buf b;
	char filler[600];
	memset(filler, 'f', sizeof filler - 1);
	filler[sizeof filler - 1] = '\0';
	buf_init(&b, 1 << 16);
	assert_int_equal(buf_append_str(&b, "password=correct%20horse"), 0);
	const char *old = b.data;
	watch(old, b.cap);
	assert_int_equal(buf_append_str(&b, filler), 0);
	/* The buffer moved, and the copy it left behind was wiped. */
	assert_ptr_not_equal(b.data, old);
	assert_freed_and_zero();
	assert_int_equal(strncmp(buf_str(&b), "password=correct%20horse", 24), 0);
	assert_int_equal(b.len, 24 + sizeof filler - 1);
	buf_wipe(&b);
}

static void test_secret_free_zeroes(void **state)
{
	(void)state;
	char *s = strdup("client-token-secret");
	assert_non_null(s);
	watch(s, strlen(s) + 1);
	secret_free(s);
	assert_freed_and_zero();
	secret_free(NULL); /* allowed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_append_nothing),
		cmocka_unit_test(test_growth_keeps_contents),
		cmocka_unit_test(test_growth_in_one_big_append),
		cmocka_unit_test(test_max_exact_fits),
		cmocka_unit_test(test_max_refused_and_unchanged),
		cmocka_unit_test(test_max_overflowing_size),
		cmocka_unit_test(test_max_zero),
		cmocka_unit_test(test_wipe_resets_and_reusable),
		cmocka_unit_test(test_wipe_zeroes_before_free),
		cmocka_unit_test(test_growth_zeroes_old_copy),
		cmocka_unit_test(test_secret_free_zeroes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
