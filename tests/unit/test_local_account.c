/* Unit tests for local_account.c: whether a user name is an account this
 * host has (through NSS), and whether a password is sshd's decoy. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "local_account.h"

/* sshd's decoy for a typed password of len bytes, built independently of
 * the code under test: the 13 bytes \b \n \r DEL I N C O R R E C T, cycled. */
static char *decoy(size_t len)
{
	static const unsigned char junk[13] = { 0x08, 0x0a, 0x0d, 0x7f, 'I', 'N', 'C',
						'O',  'R',  'R',  'E',	'C', 'T' };
	char *s = malloc(len + 1);
	assert_non_null(s);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)junk[i % sizeof junk];
	s[len] = '\0';
	return s;
}

static void test_decoy_of_every_length(void **state)
{
	(void)state;
	/* Shorter than, exactly, just over, and many times the junk's period. */
	const size_t lens[] = { 1, 2, 4, 5, 12, 13, 14, 26, 27, 64, 200, 1000 };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		char *d = decoy(lens[i]);
		assert_int_equal(strlen(d), lens[i]);
		assert_int_equal(sshd_decoy_password(d), 1);
		free(d);
	}
}

static void test_old_sshd_fixed_decoy(void **state)
{
	(void)state;
	/* Releases before fake_password() sent the 13 bytes whatever was typed. */
	assert_int_equal(sshd_decoy_password("\b\n\r\177INCORRECT"), 1);
	assert_int_equal(sshd_decoy_password(SSHD_DECOY), 1);
}

static void test_real_passwords_are_not_decoys(void **state)
{
	(void)state;
	assert_int_equal(sshd_decoy_password("INCORRECT"), 0);
	assert_int_equal(sshd_decoy_password("myINCORRECTpassword"), 0);
	assert_int_equal(sshd_decoy_password("\b\n\rINCORRECT"), 0); /* DEL missing */
	assert_int_equal(sshd_decoy_password("\b\n\r\177incorrect"), 0);
	assert_int_equal(sshd_decoy_password("Sp1ke-Secret-42"), 0);
	assert_int_equal(sshd_decoy_password("\n"), 0);
}

static void test_decoy_with_one_byte_changed(void **state)
{
	(void)state;
	for (size_t pos = 0; pos < 30; pos++) {
		char *d = decoy(30);
		d[pos] = d[pos] == 'x' ? 'y' : 'x';
		assert_int_equal(sshd_decoy_password(d), 0);
		free(d);
	}
	/* A decoy with something of the user's after it. */
	char *d = decoy(13);
	char longer[32];
	snprintf(longer, sizeof longer, "%sxyz", d);
	assert_int_equal(sshd_decoy_password(longer), 0);
	free(d);
}

static void test_empty_is_not_a_decoy(void **state)
{
	(void)state;
	assert_int_equal(sshd_decoy_password(""), 0);
	assert_int_equal(sshd_decoy_password(NULL), 0);
}

static void test_root_is_local(void **state)
{
	(void)state;
	char err[256] = "x";
	assert_int_equal(local_account_lookup("root", err, sizeof err), LOCAL_ACCOUNT_YES);
	assert_string_equal(err, "");
}

static void test_running_user_is_local(void **state)
{
	(void)state;
	char err[256];
	struct passwd *pw = getpwuid(geteuid());
	if (pw == NULL)
		skip();
	char name[256];
	snprintf(name, sizeof name, "%s", pw->pw_name);
	assert_int_equal(local_account_lookup(name, err, sizeof err), LOCAL_ACCOUNT_YES);
}

static void test_random_name_is_not_local(void **state)
{
	(void)state;
	char err[256], name[96];
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(name, sizeof name, "pamclerk-nobody-%d-%08x%08x", (int)getpid(), (unsigned)rand(),
		 (unsigned)rand());
	assert_null(getpwnam(name)); /* the premise */
	assert_int_equal(local_account_lookup(name, err, sizeof err), LOCAL_ACCOUNT_NO);
	assert_int_equal(local_account_lookup("root@example.com", err, sizeof err),
			 LOCAL_ACCOUNT_NO);
}

static void test_odd_names_are_not_local(void **state)
{
	(void)state;
	char err[256];
	char longname[LOCAL_ACCOUNT_NAME_MAX + 2];
	memset(longname, 'r', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(local_account_lookup("", err, sizeof err), LOCAL_ACCOUNT_NO);
	assert_int_equal(local_account_lookup(NULL, err, sizeof err), LOCAL_ACCOUNT_NO);
	assert_int_equal(local_account_lookup(longname, err, sizeof err), LOCAL_ACCOUNT_NO);
	assert_int_equal(local_account_lookup("root\n", err, sizeof err), LOCAL_ACCOUNT_NO);
	assert_int_equal(local_account_lookup("../root", err, sizeof err), LOCAL_ACCOUNT_NO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoy_of_every_length),
		cmocka_unit_test(test_old_sshd_fixed_decoy),
		cmocka_unit_test(test_real_passwords_are_not_decoys),
		cmocka_unit_test(test_decoy_with_one_byte_changed),
		cmocka_unit_test(test_empty_is_not_a_decoy),
		cmocka_unit_test(test_root_is_local),
		cmocka_unit_test(test_running_user_is_local),
		cmocka_unit_test(test_random_name_is_not_local),
		cmocka_unit_test(test_odd_names_are_not_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
