/* Unit tests for fail_budget.c: the local failure budget. Time is passed in
 * (wall seconds), so nothing sleeps. Each test gets a fresh state_dir in a
 * private temporary directory; the tests read and forge the record
 * directly, so they also pin its format. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fail_budget.h"
#include "state.h"
#include "tmp_tree.h"

#define NOW ((time_t)1767225600) /* 2026-01-01T00:00:00Z */
#define ID  "alice"
#define ID2 "bob"

static char tmpdir[PATH_MAX];
static char dir[PATH_MAX + 32];
static char record[PATH_MAX + 64];
static char msg[512];
static int dirfd_;
static int test_no;
static const struct fail_policy policy = { 5, 900, 600, 8, 100 };

static int group_setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/pam_clerk_failures.XXXXXX", t && *t ? t : "/tmp");
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
	snprintf(record, sizeof record, "%s/failures", dir);
	dirfd_ = state_dir_open(dir, msg, sizeof msg);
	msg[0] = '\0';
	return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	close(dirfd_);
	remove_tree(dir);
	return 0;
}

/* The SHA-256 hex of s, computed here independently of state_name. */
static void sha_hex(const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static enum fail_verdict check(const struct fail_policy *p, const char *id, const char *rhost,
			       time_t now, long *retry)
{
	return fail_budget_check(dirfd_, p, id, rhost, now, retry, msg, sizeof msg);
}

static enum fail_verdict fail_at(const struct fail_policy *p, const char *id, const char *rhost,
				 time_t now, long *retry, int *just)
{
	return fail_budget_failure(dirfd_, p, id, rhost, now, retry, just, msg, sizeof msg);
}

/* n failures of id from rhost at now, all still below the limits. */
static void fail_below(const struct fail_policy *p, const char *id, const char *rhost, int n,
		       time_t now)
{
	long retry = -1;
	int just = -1;
	for (int i = 0; i < n; i++) {
		assert_int_equal(fail_at(p, id, rhost, now, &retry, &just), FAIL_BUDGET_ALLOW);
		assert_int_equal(just, 0);
		assert_int_equal(retry, 0);
	}
	assert_int_equal(check(p, id, rhost, now, &retry), FAIL_BUDGET_ALLOW);
}

static size_t read_record(char *out, size_t size)
{
	FILE *f = fopen(record, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
	return n;
}

static int lines(const char *text)
{
	int n = 0;
	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n - 1; /* the magic line */
}

static void write_record(const char *text, mode_t mode)
{
	unlink(record);
	int fd = open(record, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_limit_reached_refuses(void **state)
{
	(void)state;
	long retry = -1;
	int just = -1;
	fail_below(&policy, ID, NULL, 4, NOW);
	assert_int_equal(fail_at(&policy, ID, NULL, NOW + 10, &retry, &just), FAIL_BUDGET_REFUSE);
	assert_int_equal(just, 1); /* logged once, by the caller */
	assert_int_equal(retry, 600);
	assert_int_equal(check(&policy, ID, NULL, NOW + 100, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(retry, 510);
	/* A failure while refused (a concurrent login) does not log again or
	 * lengthen the refusal. */
	assert_int_equal(fail_at(&policy, ID, NULL, NOW + 200, &retry, &just), FAIL_BUDGET_REFUSE);
	assert_int_equal(just, 0);
	assert_int_equal(retry, 410);
	/* Another account is not touched. */
	assert_int_equal(check(&policy, ID2, NULL, NOW + 100, &retry), FAIL_BUDGET_ALLOW);
	/* The refusal ends lock seconds after the failure that reached the
	 * limit, and counting starts afresh. */
	assert_int_equal(check(&policy, ID, NULL, NOW + 609, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(retry, 1);
	assert_int_equal(check(&policy, ID, NULL, NOW + 610, &retry), FAIL_BUDGET_ALLOW);
	fail_below(&policy, ID, NULL, 4, NOW + 610);
	assert_string_equal(msg, "");
}

/* What an admin command sees (pam-clerk status): read only. */
static void test_describe_an_entry(void **state)
{
	(void)state;
	struct fail_entry_info e;
	int n = -1, refused = -1;
	long retry = -1;
	int just = -1;
	assert_int_equal(fail_budget_describe(dirfd_, ID, NOW, &e, &n, &refused, msg, sizeof msg),
			 0);
	fail_below(&policy, ID, NULL, 3, NOW);
	assert_int_equal(
		fail_budget_describe(dirfd_, ID, NOW + 5, &e, &n, &refused, msg, sizeof msg), 1);
	assert_int_equal(e.count, 3);
	assert_int_equal(refused, 0);
	fail_below(&policy, ID, NULL, 1, NOW + 5);
	assert_int_equal(fail_at(&policy, ID, NULL, NOW + 10, &retry, &just), FAIL_BUDGET_REFUSE);
	assert_int_equal(
		fail_budget_describe(dirfd_, ID, NOW + 110, &e, &n, &refused, msg, sizeof msg), 1);
	assert_int_equal(e.count, 5);
	assert_int_equal(e.last, NOW + 10);
	assert_int_equal(e.until, NOW + 110 + 500);
	assert_int_equal(refused, 1);
	/* describing changed nothing: the refusal is the same */
	assert_int_equal(check(&policy, ID, NULL, NOW + 110, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(retry, 500);
	assert_int_equal(fail_budget_describe(dirfd_, ID2, NOW, &e, &n, &refused, msg, sizeof msg),
			 0);
}

static void test_window_expiry(void **state)
{
	(void)state;
	long retry = -1;
	int just = -1;
	fail_below(&policy, ID, NULL, 4, NOW);
	/* window seconds after the first failure the count starts again. */
	fail_below(&policy, ID, NULL, 4, NOW + 900);
	assert_int_equal(fail_at(&policy, ID, NULL, NOW + 1000, &retry, &just), FAIL_BUDGET_REFUSE);
	assert_int_equal(just, 1);
	/* Within the window they add up. */
	fail_below(&policy, ID2, NULL, 2, NOW);
	fail_below(&policy, ID2, NULL, 2, NOW + 899);
	assert_int_equal(fail_at(&policy, ID2, NULL, NOW + 899, &retry, &just), FAIL_BUDGET_REFUSE);
}

static void test_success_resets(void **state)
{
	(void)state;
	long retry = -1;
	int just = -1;
	fail_below(&policy, ID, NULL, 4, NOW);
	fail_below(&policy, ID2, NULL, 1, NOW);
	assert_int_equal(fail_budget_success(dirfd_, &policy, ID, NOW + 1, msg, sizeof msg), 0);
	fail_below(&policy, ID, NULL, 4, NOW + 2);
	assert_int_equal(fail_at(&policy, ID, NULL, NOW + 3, &retry, &just), FAIL_BUDGET_REFUSE);
	/* Only the identifier that signed in is forgotten. */
	char text[4096], key[65];
	read_record(text, sizeof text);
	sha_hex(ID2, key);
	assert_non_null(strstr(text, key));
	/* A success with nothing recorded changes nothing. */
	assert_int_equal(fail_budget_success(dirfd_, &policy, "carol", NOW + 4, msg, sizeof msg),
			 0);
}

static void test_near_lockout_refuses_at_once(void **state)
{
	(void)state;
	long retry = -1;
	int just = -1;
	/* One failure here; Clerk says the account is close to its lockout. */
	fail_below(&policy, ID, NULL, 1, NOW);
	assert_int_equal(
		fail_budget_near_lockout(dirfd_, &policy, ID, NOW + 5, &just, msg, sizeof msg), 0);
	assert_int_equal(just, 1);
	assert_int_equal(check(&policy, ID, NULL, NOW + 6, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(retry, 599);
	/* Said again while refused: no second report, no longer refusal. */
	assert_int_equal(
		fail_budget_near_lockout(dirfd_, &policy, ID, NOW + 10, &just, msg, sizeof msg), 0);
	assert_int_equal(just, 0);
	assert_int_equal(check(&policy, ID, NULL, NOW + 10, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(retry, 595);
	assert_int_equal(check(&policy, ID, NULL, NOW + 605, &retry), FAIL_BUDGET_ALLOW);
	/* With no earlier failure recorded, too; others untouched. */
	assert_int_equal(
		fail_budget_near_lockout(dirfd_, &policy, ID2, NOW, &just, msg, sizeof msg), 0);
	assert_int_equal(just, 1);
	assert_int_equal(check(&policy, ID2, NULL, NOW, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(check(&policy, "carol", NULL, NOW, &retry), FAIL_BUDGET_ALLOW);
}

static void test_rhost_keyed_separately(void **state)
{
	(void)state;
	struct fail_policy p = policy;
	long retry = -1;
	int just = -1;
	p.rhost_limit = 3;
	/* Two accounts guessed from one remote host. */
	fail_below(&p, "u1", "203.0.113.9", 1, NOW);
	fail_below(&p, "u2", "203.0.113.9", 1, NOW);
	assert_int_equal(fail_at(&p, "u3", "203.0.113.9", NOW, &retry, &just), FAIL_BUDGET_REFUSE);
	assert_int_equal(just, 1);
	assert_int_equal(retry, 600);
	/* Any account from that host is refused; from elsewhere, allowed. */
	assert_int_equal(check(&p, "u4", "203.0.113.9", NOW + 1, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(check(&p, "u4", "198.51.100.7", NOW + 1, &retry), FAIL_BUDGET_ALLOW);
	assert_int_equal(check(&p, "u4", NULL, NOW + 1, &retry), FAIL_BUDGET_ALLOW);
	assert_int_equal(check(&p, "u4", "", NOW + 1, &retry), FAIL_BUDGET_ALLOW);
	/* A success of one of those accounts does not clear the host. */
	assert_int_equal(fail_budget_success(dirfd_, &p, "u1", NOW + 2, msg, sizeof msg), 0);
	assert_int_equal(check(&p, "u1", "203.0.113.9", NOW + 2, &retry), FAIL_BUDGET_REFUSE);
	/* The identifier's own count includes failures from every host. */
	fail_below(&p, "v", "198.51.100.1", 2, NOW);
	fail_below(&p, "v", "198.51.100.2", 2, NOW);
	assert_int_equal(fail_at(&p, "v", "198.51.100.3", NOW, &retry, &just), FAIL_BUDGET_REFUSE);
	/* rhost_limit 0: remote hosts are not counted at all. */
	p.rhost_limit = 0;
	assert_int_equal(check(&p, "u4", "203.0.113.9", NOW + 1, &retry), FAIL_BUDGET_ALLOW);
}

static void test_no_user_text_on_disk(void **state)
{
	(void)state;
	char text[4096], key[65], rkey[65], line[256];
	fail_below(&policy, "alice@example.com", "host.example.net", 1, NOW);
	read_record(text, sizeof text);
	assert_null(strstr(text, "alice"));
	assert_null(strstr(text, "example"));
	sha_hex("alice@example.com", key);
	sha_hex("host.example.net", rkey);
	/* The format is pinned: type, key, count, first, last, until. */
	snprintf(line, sizeof line, "i %s 1 1767225600 1767225600 0\n", key);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof line, "r %s 1 1767225600 1767225600 0\n", rkey);
	assert_non_null(strstr(text, line));
	assert_int_equal(strncmp(text, "pam_clerk failures v1\n", 22), 0);
	struct stat sb;
	assert_int_equal(stat(record, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_cap_on_entries(void **state)
{
	(void)state;
	struct fail_policy p = policy;
	char text[16384], id[32], key[65];
	long retry = -1;
	int just = -1;
	p.max_entries = 4;
	p.limit = 2;
	/* One refused account, the oldest of all. */
	fail_below(&p, "locked", NULL, 1, NOW);
	assert_int_equal(fail_at(&p, "locked", NULL, NOW, &retry, &just), FAIL_BUDGET_REFUSE);
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "user%d", i);
		fail_below(&p, id, NULL, 1, NOW + 1 + i);
	}
	read_record(text, sizeof text);
	assert_int_equal(lines(text), 4);
	/* The newest stayed, the refused one was not pushed out. */
	for (int i = 7; i < 10; i++) {
		snprintf(id, sizeof id, "user%d", i);
		sha_hex(id, key);
		assert_non_null(strstr(text, key));
	}
	assert_int_equal(check(&p, "locked", NULL, NOW + 20, &retry), FAIL_BUDGET_REFUSE);
	/* Bounded by the cap with thousands of names, too. */
	p.max_entries = 50;
	for (int i = 0; i < 500; i++) {
		snprintf(id, sizeof id, "many%d", i);
		fail_below(&p, id, "192.0.2.1", 0, NOW);
		assert_int_equal(fail_at(&p, id, NULL, NOW + 30, &retry, &just), FAIL_BUDGET_ALLOW);
	}
	read_record(text, sizeof text);
	assert_int_equal(lines(text), 50);
}

static void test_old_entries_expire(void **state)
{
	(void)state;
	char text[4096];
	fail_below(&policy, ID, NULL, 1, NOW);
	fail_below(&policy, ID2, NULL, 1, NOW + 800);
	fail_below(&policy, "carol", NULL, 1, NOW + 950);
	read_record(text, sizeof text);
	assert_int_equal(lines(text), 2); /* alice's window had passed */
}

static void test_corrupt_record_is_reset(void **state)
{
	(void)state;
	char key[65], good[256];
	long retry = -1;
	int just = -1;
	sha_hex(ID, key);
	const char *whole[] = {
		"garbage\n",
		"pam_clerk failures v1\nx 00 1 2 3 0\n",
		"pam_clerk failures v1\ni ABCDEF 1 2 3 0\n",
	};
	const char *after_key[] = {
		" 0 1767225600 1767225600 0\n",	      /* no count */
		" 5 1767225600 1767225500 0\n",	      /* last before first */
		" 5 1767225600 1767225600 -1\n",      /* negative */
		" 5 1767225600 1767225600 0",	      /* cut short */
		" 5 1767225600 1767225600 0 extra\n", /* more than asked */
		" 5 1767225600\n",		      /* less */
	};
	size_t nwhole = sizeof whole / sizeof whole[0];
	size_t nafter = sizeof after_key / sizeof after_key[0];
	for (size_t i = 0; i < nwhole + nafter; i++) {
		char text[512];
		if (i < nwhole)
			snprintf(text, sizeof text, "%s", whole[i]);
		else
			snprintf(text, sizeof text, "pam_clerk failures v1\ni %s%s", key,
				 after_key[i - nwhole]);
		write_record(text, 0600);
		assert_int_equal(check(&policy, ID, NULL, NOW, &retry), FAIL_BUDGET_ALLOW);
		assert_non_null(strstr(msg, "corrupt"));
		assert_int_equal(access(record, F_OK), -1); /* removed */
	}
	/* A forged refusal in a file others could have written is not obeyed. */
	snprintf(good, sizeof good, "pam_clerk failures v1\ni %s 5 %lld %lld %lld\n", key,
		 (long long)NOW, (long long)NOW, (long long)NOW + 600);
	write_record(good, 0666);
	assert_int_equal(check(&policy, ID, NULL, NOW, &retry), FAIL_BUDGET_ALLOW);
	assert_non_null(strstr(msg, "group or others"));
	/* The same record, ours and private, is obeyed. */
	write_record(good, 0600);
	assert_int_equal(check(&policy, ID, NULL, NOW, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(retry, 600);
	assert_string_equal(msg, "");
	/* A failure on a corrupt record starts a fresh count. */
	write_record("junk", 0600);
	assert_int_equal(fail_at(&policy, ID, NULL, NOW, &retry, &just), FAIL_BUDGET_ALLOW);
	assert_non_null(strstr(msg, "corrupt"));
}

static void test_clock_stepped_back(void **state)
{
	(void)state;
	long retry = -1;
	int just = -1;
	fail_below(&policy, ID, NULL, 4, NOW + 86400);
	assert_int_equal(fail_at(&policy, ID, NULL, NOW + 86400, &retry, &just),
			 FAIL_BUDGET_REFUSE);
	/* A day back: the refusal lasts no longer than lock from now. */
	assert_int_equal(check(&policy, ID, NULL, NOW, &retry), FAIL_BUDGET_REFUSE);
	assert_int_equal(retry, 600);
}

static void test_invalid_policy(void **state)
{
	(void)state;
	long retry = -1;
	int just = -1;
	const struct fail_policy bad[] = {
		{ 0, 900, 600, 8, 100 },    { 5, 0, 600, 8, 100 },
		{ 5, 900, 0, 8, 100 },	    { 5, 900, 600, -1, 100 },
		{ 5, 900, 600, 8, 0 },	    { 1001, 900, 600, 8, 100 },
		{ 5, 900, 600, 8, 100000 }, { 5, FAIL_MAX_PERIOD + 1, 600, 8, 100 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(check(&bad[i], ID, NULL, NOW, &retry), FAIL_BUDGET_ERROR);
		assert_int_equal(fail_at(&bad[i], ID, NULL, NOW, &retry, &just), FAIL_BUDGET_ERROR);
		assert_int_equal(fail_budget_success(dirfd_, &bad[i], ID, NOW, msg, sizeof msg),
				 -1);
	}
	assert_int_equal(check(&policy, NULL, NULL, NOW, &retry), FAIL_BUDGET_ERROR);
	assert_int_equal(access(record, F_OK), -1); /* nothing written */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_limit_reached_refuses),	 T(test_window_expiry),
		T(test_success_resets),		 T(test_near_lockout_refuses_at_once),
		T(test_rhost_keyed_separately),	 T(test_no_user_text_on_disk),
		T(test_cap_on_entries),		 T(test_old_entries_expire),
		T(test_corrupt_record_is_reset), T(test_clock_stepped_back),
		T(test_invalid_policy),		 T(test_describe_an_entry),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
