/* Who may own, change and read pam_clerk.conf (conf_file.c), and where a
 * secret may sit: a group-readable file for a non-root service is read; a
 * secret needs a file group and others cannot read (issue 15). */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "bapi.h"
#include "buf.h"
#include "conf.h"

#define KEY    "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"
#define NOBODY 65534

static char dir[64], path[128], err[512];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pam_clerk-cf.XXXXXX");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/pam_clerk.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static void put(const char *text, mode_t mode)
{
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* conf_read_file's answer: 0 (private in *private) or -1 (err says why). */
static int read_it(bool *private)
{
	char *text = NULL;
	int missing = 0;
	int rc = conf_read_file(path, &text, &missing, private, err, sizeof err);
	free(text);
	return rc;
}

static void test_who_may_read(void **state)
{
	(void)state;
	bool private = false;
	put("publishable_key = " KEY "\n", 0640);
	assert_int_equal(read_it(&private), 0);
	assert_false(private);
	put("publishable_key = " KEY "\n", 0644);
	assert_int_equal(read_it(&private), 0);
	assert_false(private);
	put("publishable_key = " KEY "\n", 0600);
	assert_int_equal(read_it(&private), 0);
	assert_true(private);
	put("publishable_key = " KEY "\n", 0400);
	assert_int_equal(read_it(&private), 0);
	assert_true(private);
}

static void test_who_may_change(void **state)
{
	(void)state;
	bool private;
	static const mode_t writable[] = { 0660, 0620, 0602, 0666 };
	for (size_t i = 0; i < 4; i++) {
		put("publishable_key = " KEY "\n", writable[i]);
		assert_int_equal(read_it(&private), -1);
		assert_non_null(strstr(err, "writable by group or others"));
	}
	char link[160];
	put("publishable_key = " KEY "\n", 0644);
	snprintf(link, sizeof link, "%s/link.conf", dir);
	assert_int_equal(symlink(path, link), 0);
	char *text = NULL;
	int missing;
	assert_int_equal(conf_read_file(link, &text, &missing, &private, err, sizeof err), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(conf_read_file(dir, &text, &missing, &private, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	if (geteuid() == 0) {
		assert_int_equal(chown(path, NOBODY, NOBODY), 0);
		assert_int_equal(read_it(&private), -1);
		assert_non_null(strstr(err, "not owned by root"));
	}
}

/* A secret in a file group or others can read is refused, with no echo. */
static void test_secret_needs_a_private_file(void **state)
{
	(void)state;
	char arg[160];
	struct conf c;
	snprintf(arg, sizeof arg, "conf=%s", path);
	const char *argv[] = { arg };
	put("publishable_key = " KEY "\nproxy = http://svc:s3cret@proxy.example\n", 0640);
	assert_int_equal(conf_load(&c, 1, argv, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "only root can read"));
	assert_null(strstr(err, "s3cret"));
	put("publishable_key = " KEY "\nproxy = http://proxy.example:3128\n", 0640);
	assert_int_equal(conf_load(&c, 1, argv, NULL, err, sizeof err), 0);
	conf_free(&c);
	/* The Backend API key sits in its own file, under the same rule. */
	char key[160], why[300];
	snprintf(key, sizeof key, "%s/secret", dir);
	FILE *f = fopen(key, "w");
	assert_non_null(f);
	fputs("sk_test_abcdefghijklmnopqrstuvwxyz0123456789\n", f);
	fclose(f);
	assert_int_equal(chmod(key, 0640), 0);
	char *sk = bapi_read_secret(key, why, sizeof why);
	assert_null(sk);
	assert_null(strstr(why, "sk_test_"));
	assert_int_equal(chmod(key, 0600), 0);
	sk = bapi_read_secret(key, why, sizeof why);
	assert_non_null(sk);
	secret_free(sk);
}

/* As the service's user: a root-owned file readable by the service's group
 * is read; one only root can read is not (so it cannot hold its settings). */
static void test_non_root_service_reads_through_its_group(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	put("publishable_key = " KEY "\n", 0640);
	assert_int_equal(chown(path, 0, NOBODY), 0);
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			assert_int_equal(chmod(path, 0600), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			bool private;
			if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
				_exit(3);
			int rc = read_it(&private);
			_exit(rc == 0 ? 0 : strstr(err, "Permission denied") ? 1 : 2);
		}
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), round == 0 ? 0 : 1);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_who_may_read),
		T(test_who_may_change),
		T(test_secret_needs_a_private_file),
		T(test_non_root_service_reads_through_its_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
