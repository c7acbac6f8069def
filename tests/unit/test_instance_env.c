/* Unit tests for instance_env.c: the settings `pam-clerk check` reads from
 * GET /v1/environment, and what it makes of missing or mistyped members. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "instance_env.h"

static const char full[] =
	"{\"auth_config\":{\"single_session_mode\":true,"
	"\"native_settings\":{\"api_enabled\":false}},"
	"\"user_settings\":{\"attributes\":{\"password\":{\"enabled\":true}},"
	"\"sign_in\":{\"second_factor\":{\"required\":true}},"
	"\"attack_protection\":{\"user_lockout\":{\"enabled\":true,\"max_attempts\":7,"
	"\"duration_in_minutes\":30},\"enumeration_protection\":{\"enabled\":false}}},"
	"\"maintenance_mode\":false}";

static void test_every_setting_read(void **state)
{
	(void)state;
	struct instance_env e;
	char err[200];
	assert_int_equal(instance_env_parse(full, strlen(full), &e, err, sizeof err), 0);
	assert_int_equal(e.native_api, 0);
	assert_int_equal(e.password_enabled, 1);
	assert_int_equal(e.second_factor_required, 1);
	assert_int_equal(e.single_session, 1);
	assert_int_equal(e.enumeration_protection, 0);
	assert_int_equal(e.lockout_enabled, 1);
	assert_int_equal(e.lockout_attempts, 7);
	assert_int_equal(e.lockout_minutes, 30);
	assert_int_equal(e.maintenance_mode, 0);
}

static void test_missing_or_mistyped_is_unknown(void **state)
{
	(void)state;
	static const char doc[] = "{\"auth_config\":{\"native_settings\":{\"api_enabled\":\"yes\"},"
				  "\"single_session_mode\":1},\"user_settings\":{"
				  "\"attack_protection\":{\"user_lockout\":{\"max_attempts\":-3,"
				  "\"duration_in_minutes\":1.5}}}}";
	struct instance_env e;
	char err[200];
	assert_int_equal(instance_env_parse(doc, strlen(doc), &e, err, sizeof err), 0);
	assert_int_equal(e.native_api, -1);
	assert_int_equal(e.single_session, -1);
	assert_int_equal(e.password_enabled, -1);
	assert_int_equal(e.second_factor_required, -1);
	assert_int_equal(e.lockout_enabled, -1);
	assert_int_equal(e.lockout_attempts, -1);
	assert_int_equal(e.lockout_minutes, -1);
}

static void test_not_an_object_is_refused(void **state)
{
	(void)state;
	struct instance_env e;
	char err[200] = "";
	const char *bad[] = { "[]", "{\"auth_config\":", "{} trailing", "\"x\"", "" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		assert_int_equal(instance_env_parse(bad[i], strlen(bad[i]), &e, err, sizeof err),
				 -1);
		assert_true(err[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_setting_read),
		cmocka_unit_test(test_missing_or_mistyped_is_unknown),
		cmocka_unit_test(test_not_an_object_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
