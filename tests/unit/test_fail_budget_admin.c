/* Unit tests for the failure budget's read-out and reset (fail_budget_describe,
 * fail_budget_forget: pam-clerk status and forget, issue 16), over entries
 * the budget itself recorded. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fail_budget.h"
#include "state.h"

#define NOW ((time_t)1767225600) /* 2026-01-01T00:00:00Z */

static char dir[PATH_MAX];
static char msg[512];
static int dirfd_;
static const struct fail_policy policy = { 3, 900, 600, 0, 100 };

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/pam_clerk_budget_admin.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	chmod(dir, 0700);
	dirfd_ = state_dir_open(dir, msg, sizeof msg);
	return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[PATH_MAX + 32];
	const char *files[] = { "failures", "failures.lock", "failures.tmp" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	close(dirfd_);
	return rmdir(dir);
}

static void fail_once(const char *id, time_t at)
{
	long retry = 0;
	int just = 0;
	fail_budget_failure(dirfd_, &policy, id, NULL, at, &retry, &just, msg, sizeof msg);
}

static void test_describe_counts_and_refusal(void **state)
{
	(void)state;
	struct fail_entry_info info;
	int n = -1, refused = -1;
	assert_int_equal(
		fail_budget_describe(dirfd_, "alice", NOW, &info, &n, &refused, msg, sizeof msg),
		0);
	assert_int_equal(n, 0);
	fail_once("alice", NOW);
	fail_once("alice", NOW + 10);
	fail_once("bob", NOW + 20);
	assert_int_equal(fail_budget_describe(dirfd_, "alice", NOW + 30, &info, &n, &refused, msg,
					      sizeof msg),
			 1);
	assert_int_equal(info.count, 2);
	assert_int_equal(info.first, NOW);
	assert_int_equal(info.last, NOW + 10);
	assert_int_equal(info.until, 0);
	assert_int_equal(n, 2);
	assert_int_equal(refused, 0);
	fail_once("alice", NOW + 40); /* the third: refused for policy.lock */
	assert_int_equal(fail_budget_describe(dirfd_, "alice", NOW + 50, &info, &n, &refused, msg,
					      sizeof msg),
			 1);
	assert_int_equal(info.until, NOW + 40 + policy.lock);
	assert_int_equal(refused, 1);
	/* NULL: only the counts */
	assert_int_equal(
		fail_budget_describe(dirfd_, NULL, NOW + 50, &info, &n, &refused, msg, sizeof msg),
		0);
	assert_int_equal(n, 2);
}

static void test_forget_one_then_all(void **state)
{
	(void)state;
	struct fail_entry_info info;
	int n = 0, refused = 0;
	long retry = 0;
	fail_once("alice", NOW);
	fail_once("alice", NOW + 1);
	fail_once("alice", NOW + 2);
	fail_once("bob", NOW + 3);
	assert_int_equal(
		fail_budget_check(dirfd_, &policy, "alice", NULL, NOW + 5, &retry, msg, sizeof msg),
		FAIL_BUDGET_REFUSE);
	assert_int_equal(fail_budget_forget(dirfd_, "alice", msg, sizeof msg), 0);
	assert_int_equal(
		fail_budget_check(dirfd_, &policy, "alice", NULL, NOW + 5, &retry, msg, sizeof msg),
		FAIL_BUDGET_ALLOW);
	assert_int_equal(
		fail_budget_describe(dirfd_, "bob", NOW + 5, &info, &n, &refused, msg, sizeof msg),
		1);
	assert_int_equal(n, 1);
	assert_int_equal(fail_budget_forget(dirfd_, NULL, msg, sizeof msg), 0);
	assert_int_equal(
		fail_budget_describe(dirfd_, "bob", NOW + 5, &info, &n, &refused, msg, sizeof msg),
		0);
	assert_int_equal(n, 0);
	struct stat st;
	assert_int_equal(fstatat(dirfd_, "failures", &st, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_describe_counts_and_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_one_then_all, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
