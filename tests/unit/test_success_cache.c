/* The success cache (success_cache.c): in memory, in state_dir, expiry,
 * a wrong password, forgetting, one Frontend API's successes not another's. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "success_cache.h"

#define URL  "https://clerk.example.com"
#define URL2 "https://other.example.com"
#define PW   "pw-Secret-1"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pam_clerk-sc.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

/* The one file of suffix in dir (its name into out), or 0 files. */
static size_t files(const char *suffix, char *out, size_t outsize)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), s = strlen(suffix);
		if (l > s && strcmp(e->d_name + l - s, suffix) == 0) {
			n++;
			if (out != NULL)
				snprintf(out, outsize, "%s/%s", dir, e->d_name);
		}
	}
	closedir(d);
	return n;
}

static bool check(const char *sd, const char *url, const char *id, const char *pw, long secs,
		  time_t now)
{
	long age = -1;
	bool hit = success_cache_check(sd, url, id, pw, secs, now, &age);
	if (hit)
		assert_true(age >= 0 && age < secs);
	return hit;
}

static void test_memory_only(void **state)
{
	(void)state;
	char msg[200] = "";
	time_t now = 1800000000;
	assert_false(check(NULL, URL, "mem1", PW, 60, now));
	assert_int_equal(success_cache_store(NULL, URL, "mem1", PW, now, msg, sizeof msg), 0);
	assert_true(check(NULL, URL, "mem1", PW, 60, now + 59));
	assert_false(check(NULL, URL, "mem1", PW, 60, now + 60));    /* expired */
	assert_false(check(NULL, URL, "mem1", PW "x", 60, now + 1)); /* wrong password */
	assert_false(check(NULL, URL, "mem1", "", 60, now + 1));
	assert_false(check(NULL, URL2, "mem1", PW, 60, now + 1));   /* another instance */
	assert_false(check(NULL, URL, "mem2", PW, 60, now + 1));    /* another identifier */
	assert_false(check(NULL, URL, "mem1", PW, 0, now + 1));	    /* off */
	assert_false(check(NULL, URL, "mem1", PW, 601, now + 1));   /* past the cap */
	assert_false(check(NULL, URL, "mem1", PW, 60, now - 3600)); /* from the future */
	success_cache_forget(NULL, URL, "mem1");
	assert_false(check(NULL, URL, "mem1", PW, 60, now + 1));
}

static void test_state_dir_file(void **state)
{
	(void)state;
	char msg[200] = "", path[200];
	time_t now = 1800000000;
	assert_int_equal(success_cache_store(dir, URL, "file1", PW, now, msg, sizeof msg), 0);
	assert_int_equal(files(".success", path, sizeof path), 1);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	FILE *f = fopen(path, "r");
	char text[1024] = "";
	assert_non_null(f);
	size_t got = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	assert_true(got > 0);
	assert_null(strstr(text, PW));
	assert_non_null(strstr(text, "$y$"));
	assert_true(check(dir, URL, "file1", PW, 60, now + 10));
	/* A refusal seen by another process removes the file: this process's
	 * memory no longer answers while state_dir can be used. */
	assert_int_equal(unlink(path), 0);
	assert_false(check(dir, URL, "file1", PW, 60, now + 10));
	/* A record of another instance under the same identifier is not used. */
	assert_int_equal(success_cache_store(dir, URL2, "file1", PW, now, msg, sizeof msg), 0);
	assert_false(check(dir, URL, "file1", PW, 60, now + 10));
	assert_true(check(dir, URL2, "file1", PW, 60, now + 10));
	success_cache_forget(dir, URL2, "file1");
	assert_int_equal(files(".success", NULL, 0), 0);
	assert_false(check(dir, URL2, "file1", PW, 60, now + 10));
}

static void test_corrupt_file_is_no_match(void **state)
{
	(void)state;
	char msg[200] = "", path[200];
	time_t now = 1800000000;
	assert_int_equal(success_cache_store(dir, URL, "bad1", PW, now, msg, sizeof msg), 0);
	assert_int_equal(files(".success", path, sizeof path), 1);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("pam_clerk success v1\nnot a key\n", f);
	fclose(f);
	assert_false(check(dir, URL, "bad1", PW, 60, now + 1));
	/* A file others may read is not trusted either (state.c's rule). */
	assert_int_equal(success_cache_store(dir, URL, "bad1", PW, now, msg, sizeof msg), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_false(check(dir, URL, "bad1", PW, 60, now + 1));
}

/* state_dir that cannot be used: memory answers. */
static void test_unusable_state_dir_uses_memory(void **state)
{
	(void)state;
	char msg[200] = "", sub[128];
	time_t now = 1800000000;
	snprintf(sub, sizeof sub, "%s/file-not-dir", dir);
	FILE *f = fopen(sub, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_not_equal(success_cache_store(sub, URL, "mem3", PW, now, msg, sizeof msg), 0);
	assert_true(msg[0] != '\0');
	assert_true(check(sub, URL, "mem3", PW, 60, now + 1));
}

static void test_many_identifiers_stay_bounded(void **state)
{
	(void)state;
	char msg[200] = "", id[32];
	time_t now = 1800000000;
	for (int i = 0; i < SUCCESS_CACHE_SLOTS + 8; i++) {
		snprintf(id, sizeof id, "many%d", i);
		assert_int_equal(success_cache_store(NULL, URL, id, PW, now + i, msg, sizeof msg),
				 0);
	}
	/* The oldest went; the newest are there. */
	assert_false(check(NULL, URL, "many0", PW, 600, now + 100));
	snprintf(id, sizeof id, "many%d", SUCCESS_CACHE_SLOTS + 7);
	assert_true(check(NULL, URL, id, PW, 600, now + 100));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_memory_only),
		T(test_state_dir_file),
		T(test_corrupt_file_is_no_match),
		T(test_unusable_state_dir_uses_memory),
		T(test_many_identifiers_stay_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
