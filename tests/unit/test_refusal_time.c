/* Unit tests for refusal_time.c: the durations of refused sign-ins a local
 * refusal imitates. Each test gets a fresh state_dir. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "refusal_time.h"
#include "state.h"
#include "tmp_tree.h"

static char tmpdir[PATH_MAX];
static char dir[PATH_MAX + 32];
static char record[PATH_MAX + 64];
static char err[512];
static int dirfd_;
static int test_no;

static int group_setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/pam_clerk_refusal.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return remove_tree(tmpdir) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/state%d", tmpdir, ++test_no);
	snprintf(record, sizeof record, "%s/refusal_times", dir);
	dirfd_ = state_dir_open(dir, err, sizeof err);
	err[0] = '\0';
	return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	close(dirfd_);
	remove_tree(dir);
	return 0;
}

static void read_record(char *out, size_t size)
{
	FILE *f = fopen(record, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void test_nothing_known_gives_the_default(void **state)
{
	(void)state;
	assert_int_equal(refusal_time_pick(dirfd_, 777, err, sizeof err), 777);
	assert_string_equal(err, "");
}

static void test_picks_spread_over_what_was_learnt(void **state)
{
	(void)state;
	const long learnt[] = { 310, 450, 620 };
	int seen[3] = { 0, 0, 0 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(refusal_time_learn(dirfd_, learnt[i], err, sizeof err), 0);
	for (int i = 0; i < 300; i++) {
		long ms = refusal_time_pick(dirfd_, 777, err, sizeof err);
		int hit = 0;
		for (int j = 0; j < 3; j++)
			if (ms == learnt[j])
				seen[j]++, hit = 1;
		assert_true(hit);
	}
	/* Each of three values turns up in 300 picks (missing one: ~1e-53). */
	for (int j = 0; j < 3; j++)
		assert_true(seen[j] > 0);
	char text[1024];
	read_record(text, sizeof text);
	assert_string_equal(text, "pam_clerk refusal times v1\n3 310 450 620\n");
}

static void test_only_the_last_samples_are_kept(void **state)
{
	(void)state;
	for (long ms = 100; ms < 100 + 3 * REFUSAL_SAMPLES; ms++)
		assert_int_equal(refusal_time_learn(dirfd_, ms, err, sizeof err), 0);
	for (int i = 0; i < 200; i++) {
		long ms = refusal_time_pick(dirfd_, 0, err, sizeof err);
		assert_true(ms >= 100 + 2 * REFUSAL_SAMPLES && ms < 100 + 3 * REFUSAL_SAMPLES);
	}
	struct stat sb;
	assert_int_equal(stat(record, &sb), 0);
	assert_true(sb.st_size < 40 + 6 * REFUSAL_SAMPLES);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_untypical_durations_are_not_learnt(void **state)
{
	(void)state;
	assert_int_equal(refusal_time_learn(dirfd_, REFUSAL_MIN_MS - 1, err, sizeof err), -1);
	assert_int_equal(refusal_time_learn(dirfd_, REFUSAL_MAX_MS + 1, err, sizeof err), -1);
	assert_int_equal(refusal_time_learn(dirfd_, -5, err, sizeof err), -1);
	assert_int_equal(refusal_time_pick(dirfd_, 777, err, sizeof err), 777);
	assert_int_equal(refusal_time_learn(dirfd_, REFUSAL_MAX_MS, err, sizeof err), 0);
	assert_int_equal(refusal_time_pick(dirfd_, 777, err, sizeof err), REFUSAL_MAX_MS);
}

static void test_corrupt_record_gives_the_default(void **state)
{
	(void)state;
	const char *bad[] = {
		"junk",
		"pam_clerk refusal times v1\n2 300\n",
		"pam_clerk refusal times v1\n1 5\n",	 /* below the range */
		"pam_clerk refusal times v1\n1 99999\n", /* above */
		"pam_clerk refusal times v1\n1  300\n",	 /* two spaces */
		"pam_clerk refusal times v1\n-1\n",
		"pam_clerk refusal times v1\n17 300\n", /* more than kept */
		"pam_clerk refusal times v1\n1 300\nx\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unlink(record);
		int fd = open(record, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		assert_int_equal(refusal_time_pick(dirfd_, 777, err, sizeof err), 777);
		assert_non_null(strstr(err, "corrupt"));
	}
	/* Unsafe: others could have written it. */
	assert_int_equal(refusal_time_learn(dirfd_, 300, err, sizeof err), 0);
	assert_int_equal(chmod(record, 0666), 0);
	assert_int_equal(refusal_time_pick(dirfd_, 777, err, sizeof err), 777);
	assert_non_null(strstr(err, "group or others"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_nothing_known_gives_the_default),
		T(test_picks_spread_over_what_was_learnt),
		T(test_only_the_last_samples_are_kept),
		T(test_untypical_durations_are_not_learnt),
		T(test_corrupt_record_gives_the_default),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
