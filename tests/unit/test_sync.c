/* Unit tests for pam-clerk sync's parts (issue 17): the names useradd
 * accepts (sync_names.c), the uid map that never moves (sync_ids.c) and the
 * files written only when they change (sync_files.c). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sync.h"

static void test_names_useradd_accepts(void **state)
{
	(void)state;
	const char *good[] = { "alice",	   "_svc", "a.b-c_d",
			       "machine$", "x1",   "abcdefghijklmnopqrstuvwxyz012345" /* 32 */ };
	const char *bad[] = { "",
			      "Alice",
			      "1alice",
			      "-rf",
			      "a:b",
			      "a b",
			      "a/b",
			      "a$b",
			      ".",
			      "..",
			      "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */,
			      "ünï",
			      "a\nb",
			      "12345" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(sync_name_ok(good[i]), 1);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(sync_name_ok(bad[i]), 0);
}

static void test_name_from_username_email_or_template(void **state)
{
	(void)state;
	struct sync_user u = { .id = "user_2abc", .username = "alice", .email = "a.smith@x.org" };
	char out[SYNC_NAME_MAX], why[100];
	assert_int_equal(sync_name_of("username", &u, out, sizeof out, why, sizeof why), 0);
	assert_string_equal(out, "alice");
	assert_int_equal(sync_name_of("email", &u, out, sizeof out, why, sizeof why), 0);
	assert_string_equal(out, "a.smith");
	assert_int_equal(sync_name_of("c_%u", &u, out, sizeof out, why, sizeof why), 0);
	assert_string_equal(out, "c_alice");
	/* a Clerk id has capitals and digits in practice: refused as a name */
	struct sync_user v = { .id = "user_2Abc", .username = "", .email = "Bob@x.org" };
	assert_int_equal(sync_name_of("%i", &v, out, sizeof out, why, sizeof why), -1);
	assert_int_equal(sync_name_of("username", &v, out, sizeof out, why, sizeof why), -1);
	assert_string_equal(why, "no username");
	assert_int_equal(sync_name_of("email", &v, out, sizeof out, why, sizeof why), -1);
	assert_string_equal(why, "not a name useradd accepts"); /* capital B */
	assert_int_equal(sync_name_of("%x", &u, out, sizeof out, why, sizeof why), -1);
	struct sync_user w = { .id = "user_w", .username = "w", .email = "" };
	assert_int_equal(sync_name_of("%e", &w, out, sizeof out, why, sizeof why), -1);
}

static void test_expand(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(sync_expand("/home/%u", 'u', "bob", out, sizeof out), 0);
	assert_string_equal(out, "/home/bob");
	assert_int_equal(sync_expand("100%%-%r", 'r', "admin", out, sizeof out), 0);
	assert_string_equal(out, "100%-admin");
	assert_int_equal(sync_expand("%u", 'r', "x", out, sizeof out), -1);
	assert_int_equal(sync_expand("%r%r%r", 'r', "0123456789abc", out, sizeof out), -1);
}

static uid_t taken_uid;
static int taken(uid_t u)
{
	return u == taken_uid;
}

static int tmpdir(char *path)
{
	strcpy(path, "/tmp/test_sync.XXXXXX");
	assert_non_null(mkdtemp(path));
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	return fd;
}

static void test_ids_never_move_and_are_never_reused(void **state)
{
	(void)state;
	char dir[64], err[200];
	int dfd = tmpdir(dir);
	struct sync_ids m;
	uid_t a, b, c, again;
	taken_uid = 200001; /* a local account has it */
	assert_int_equal(sync_ids_load(&m, dfd, 200000, 200005, err, sizeof err), 0);
	assert_int_equal(sync_ids_get(&m, "user_a", taken, &a), 0);
	assert_int_equal(sync_ids_get(&m, "user_b", taken, &b), 0);
	assert_int_equal(a, 200000);
	assert_int_equal(b, 200002);
	assert_int_equal(sync_ids_save(&m, dfd, err, sizeof err), 0);
	sync_ids_free(&m);

	/* next run: user_a is gone from Clerk; its id stays its own */
	taken_uid = 0;
	assert_int_equal(sync_ids_load(&m, dfd, 200000, 200005, err, sizeof err), 0);
	assert_int_equal(sync_ids_get(&m, "user_c", taken, &c), 0);
	assert_int_equal(c, 200001); /* free now, never given before */
	assert_int_equal(sync_ids_get(&m, "user_b", taken, &again), 0);
	assert_int_equal(again, b);
	assert_int_equal(sync_ids_get(&m, "user_a", taken, &again), 0);
	assert_int_equal(again, a);
	uid_t d, e, f;
	assert_int_equal(sync_ids_get(&m, "user_d", taken, &d), 0);
	assert_int_equal(sync_ids_get(&m, "user_e", taken, &e), 0);
	assert_int_equal(sync_ids_get(&m, "user_f", taken, &f), 0);
	assert_int_equal(f, 200005);
	assert_int_equal(sync_ids_get(&m, "user_g", taken, &again), -1); /* range full */
	assert_int_equal(sync_ids_save(&m, dfd, err, sizeof err), 0);
	sync_ids_free(&m);

	/* a narrower range later: old ids are kept, not handed out again */
	assert_int_equal(sync_ids_load(&m, dfd, 200000, 200001, err, sizeof err), 0);
	assert_int_equal(sync_ids_get(&m, "user_f", taken, &again), 0);
	assert_int_equal(again, 200005);
	sync_ids_free(&m);

	/* a damaged map is an error, never a fresh start */
	int fd = openat(dfd, "sync-ids", O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "user_a 200000\ngarbage\n", 22), 22);
	close(fd);
	assert_int_equal(sync_ids_load(&m, dfd, 200000, 200005, err, sizeof err), -1);
	assert_non_null(strstr(err, "sync-ids"));
	sync_ids_free(&m);
	unlinkat(dfd, "sync-ids", 0);
	close(dfd);
	rmdir(dir);
}

static void test_file_written_only_when_changed(void **state)
{
	(void)state;
	char dir[64], err[200];
	int dfd = tmpdir(dir);
	const char *a = "alice:x:200000:200000::/home/alice:/bin/bash\n";
	assert_int_equal(
		sync_file_put(dfd, "passwd", a, strlen(a), 0644, (gid_t)-1, err, sizeof err), 1);
	struct stat st1, st2;
	assert_int_equal(fstatat(dfd, "passwd", &st1, 0), 0);
	assert_int_equal(st1.st_mode & 07777, 0644);
	assert_int_equal(
		sync_file_put(dfd, "passwd", a, strlen(a), 0644, (gid_t)-1, err, sizeof err), 0);
	assert_int_equal(fstatat(dfd, "passwd", &st2, 0), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(sync_file_put(dfd, "passwd", "", 0, 0644, (gid_t)-1, err, sizeof err), 1);
	assert_int_equal(fstatat(dfd, "passwd", &st2, 0), 0);
	assert_int_equal(st2.st_size, 0);
	/* the same text with another mode is a change (shadow's 0640) */
	assert_int_equal(sync_file_put(dfd, "passwd", "", 0, 0600, (gid_t)-1, err, sizeof err), 1);
	assert_int_equal(fstatat(dfd, "passwd", &st2, 0), 0);
	assert_int_equal(st2.st_mode & 07777, 0600);
	unlinkat(dfd, "passwd", 0);
	close(dfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_useradd_accepts),
		cmocka_unit_test(test_name_from_username_email_or_template),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_ids_never_move_and_are_never_reused),
		cmocka_unit_test(test_file_written_only_when_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
