/* Unit tests for pacing.c: the host-wide sign-in budget. Time is a fake
 * clock the tests move (sleeping advances it), except in the test across
 * processes, which runs on the real clocks with a short window. Each test
 * gets a fresh state_dir in a private temporary directory. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pacing.h"
#include "state.h"
#include "tmp_tree.h"

static char tmpdir[PATH_MAX];
static char dir[PATH_MAX + 32];
static char record[PATH_MAX + 64];
static char err[512];
static int dirfd_;
static int test_no;

struct fake_clock {
	long long wall, mono;
	long slept; /* total */
	int sleeps;
};

static long long fake_wall(void *ctx)
{
	return ((struct fake_clock *)ctx)->wall;
}

static long long fake_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->mono;
}

static void fake_sleep(void *ctx, long ms)
{
	struct fake_clock *c = ctx;
	assert_true(ms > 0);
	c->wall += ms;
	c->mono += ms;
	c->slept += ms;
	c->sleeps++;
}

static struct fake_clock fc;
static struct pacing_clock clk = { fake_wall, fake_mono, fake_sleep, &fc };

#define WALL0	1767225600000LL /* 2026-01-01T00:00:00Z */
#define CREATE	((struct pacing_rate){ 5, 10000 })
#define ATTEMPT ((struct pacing_rate){ 3, 10000 })
#define FAR	(fc.mono + 60000) /* a login budget that covers any wait here */

static int group_setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/pam_clerk_pacing.XXXXXX", t && *t ? t : "/tmp");
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
	snprintf(record, sizeof record, "%s/pacing", dir);
	dirfd_ = state_dir_open(dir, err, sizeof err);
	if (dirfd_ < 0)
		return -1;
	memset(&fc, 0, sizeof fc);
	fc.wall = WALL0;
	fc.mono = 5000000;
	err[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(dirfd_);
	remove_tree(dir);
	return 0;
}

static enum pacing_result reserve(enum pacing_kind kind, struct pacing_rate rate,
				  long long deadline, long *wait_s)
{
	return pacing_reserve(dirfd_, kind, rate, deadline, &clk, wait_s, err, sizeof err);
}

/* n reservations of kind, step ms apart, none of which may wait. */
static void reserve_now(enum pacing_kind kind, struct pacing_rate rate, int n, long step)
{
	long wait_s = -1;
	for (int i = 0; i < n; i++) {
		if (i > 0)
			fc.wall += step, fc.mono += step;
		assert_int_equal(reserve(kind, rate, FAR, &wait_s), PACING_OK);
		assert_int_equal(wait_s, 0);
	}
	assert_int_equal(fc.sleeps, 0);
}

static void read_record(char *out, size_t size)
{
	FILE *f = fopen(record, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void test_five_in_window_pass(void **state)
{
	(void)state;
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 5, 100);
	assert_string_equal(err, "");
	char text[4096];
	read_record(text, sizeof text);
	/* The format is pinned: wall-clock ms, oldest first. */
	assert_non_null(strstr(text, "create 0 5 1767225600000 1767225600100 1767225600200 "
				     "1767225600300 1767225600400\n"));
	struct stat sb;
	assert_int_equal(stat(record, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_sixth_waits_for_the_oldest_to_leave(void **state)
{
	(void)state;
	long wait_s = -1;
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 5, 100); /* at +0 .. +400 ms */
	fc.wall += 100, fc.mono += 100;			   /* +500 ms */
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
	/* The first request leaves the 10 s window at +10000 ms. */
	assert_int_equal(fc.slept, 9500);
	assert_int_equal(fc.sleeps, 1);
	/* And the seventh waits for the second (+100 ms) to leave. */
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
	assert_int_equal(fc.slept, 9600);
}

static void test_deadline_too_short_refuses_with_seconds(void **state)
{
	(void)state;
	long wait_s = -1;
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 5, 100);
	fc.wall += 100, fc.mono += 100; /* a slot frees in 9.5 s */
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, fc.mono + 9499, &wait_s),
			 PACING_REFUSED);
	assert_int_equal(wait_s, 10); /* rounded up */
	assert_int_equal(fc.sleeps, 0);
	/* The refusal reserved nothing: a login that can wait gets the slot. */
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, fc.mono + 9500, &wait_s), PACING_OK);
	assert_int_equal(fc.slept, 9500);
}

static void test_lower_limit_counts_the_newest(void **state)
{
	(void)state;
	long wait_s = -1;
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 5, 1000); /* at +0 .. +4000 ms */
	/* Configured down to 3: the slot frees when the third newest (+2000)
	 * leaves the window, at +12000; a budget 1 ms short is told so at once. */
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, ((struct pacing_rate){ 3, 10000 }),
				 fc.mono + 7999, &wait_s),
			 PACING_REFUSED);
	assert_int_equal(wait_s, 8);
	assert_int_equal(fc.sleeps, 0);
	assert_int_equal(
		reserve(PACING_SIGNIN_CREATE, ((struct pacing_rate){ 3, 10000 }), FAR, &wait_s),
		PACING_OK);
	assert_int_equal(fc.slept, 8000);
}

static void test_kinds_are_counted_apart(void **state)
{
	(void)state;
	long wait_s = -1;
	reserve_now(PACING_FACTOR_ATTEMPT, ATTEMPT, 3, 10);
	assert_int_equal(reserve(PACING_FACTOR_ATTEMPT, ATTEMPT, fc.mono + 1000, &wait_s),
			 PACING_REFUSED);
	assert_int_equal(wait_s, 10); /* 9980 ms */
	/* Creates still have their whole budget. */
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 5, 0);
}

static void test_retry_after_is_honoured(void **state)
{
	(void)state;
	long wait_s = -1;
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 1, 0);
	assert_int_equal(pacing_block(dirfd_, PACING_SIGNIN_CREATE, 3000, &clk, err, sizeof err),
			 0);
	/* Below the rate, yet every process waits out Clerk's Retry-After. */
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, fc.mono + 2999, &wait_s),
			 PACING_REFUSED);
	assert_int_equal(wait_s, 3);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
	assert_int_equal(fc.slept, 3000);
	/* A shorter block does not shorten a longer one. */
	assert_int_equal(pacing_block(dirfd_, PACING_FACTOR_ATTEMPT, 8000, &clk, err, sizeof err),
			 0);
	assert_int_equal(pacing_block(dirfd_, PACING_FACTOR_ATTEMPT, 1000, &clk, err, sizeof err),
			 0);
	assert_int_equal(reserve(PACING_FACTOR_ATTEMPT, ATTEMPT, FAR, &wait_s), PACING_OK);
	assert_int_equal(fc.slept, 3000 + 8000);
}

static void test_retry_after_is_capped(void **state)
{
	(void)state;
	long wait_s = -1;
	assert_int_equal(pacing_block(dirfd_, PACING_SIGNIN_CREATE, 100L * 24 * 3600 * 1000, &clk,
				      err, sizeof err),
			 0);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, fc.mono, &wait_s), PACING_REFUSED);
	assert_int_equal(wait_s, PACING_MAX_BLOCK_MS / 1000);
	assert_int_equal(pacing_block(dirfd_, PACING_SIGNIN_CREATE, -1, &clk, err, sizeof err), -1);
}

static void test_corrupt_record_is_reset(void **state)
{
	(void)state;
	const char *bad[] = {
		"garbage",
		"pam_clerk pacing v1\ncreate 0 2 5\nattempt 0 0\n",	 /* count lies */
		"pam_clerk pacing v1\ncreate 0 2 9 5\nattempt 0 0\n",	 /* not sorted */
		"pam_clerk pacing v1\ncreate 0 0\n",			 /* a kind missing */
		"pam_clerk pacing v1\ncreate 0 99 1\nattempt 0 0\n",	 /* too many */
		"pam_clerk pacing v1\ncreate -1 0\nattempt 0 0\n",	 /* negative */
		"pam_clerk pacing v1\ncreate 0 0\nattempt 0 0\nextra\n", /* trailing */
		"pam_clerk pacing v1\ncreate 99999999999999999999 0\nattempt 0 0\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long wait_s = -1;
		unlink(record);
		int fd = open(record, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
		assert_non_null(strstr(err, "corrupt"));
		char text[4096];
		read_record(text, sizeof text);
		assert_non_null(strstr(text, "pam_clerk pacing v1\ncreate 0 1 "));
	}
	/* A well-formed record is no cause for a report. */
	long wait_s = -1;
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
	assert_string_equal(err, "");
}

static void test_unsafe_files_are_replaced(void **state)
{
	(void)state;
	long wait_s = -1;
	char target[PATH_MAX + 64], lock[PATH_MAX + 64], text[4096];
	snprintf(target, sizeof target, "%s/target", tmpdir);
	FILE *f = fopen(target, "w");
	assert_non_null(f);
	fputs("not ours to touch\n", f);
	fclose(f);
	/* The record a symbolic link, the lock a symbolic link too. */
	assert_int_equal(symlink(target, record), 0);
	snprintf(lock, sizeof lock, "%s/pacing.lock", dir);
	assert_int_equal(symlink(target, lock), 0);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
	assert_true(err[0] != '\0');
	struct stat sb;
	assert_int_equal(lstat(record, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(lstat(lock, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	f = fopen(target, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof text, f));
	fclose(f);
	assert_string_equal(text, "not ours to touch\n");
	unlink(target);
	/* A record others may read is not trusted either. */
	assert_int_equal(chmod(record, 0644), 0);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
	assert_non_null(strstr(err, "group or others"));
	assert_int_equal(stat(record, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	read_record(text, sizeof text);
	assert_non_null(strstr(text, "create 0 1 ")); /* what it held was dropped */
}

static void test_clock_stepped_back(void **state)
{
	(void)state;
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 5, 0);
	/* Times now in the future say nothing about Clerk's window. */
	fc.wall -= 60000;
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 5, 0);
}

static void test_invalid_rate(void **state)
{
	(void)state;
	long wait_s = -1;
	struct pacing_rate bad[] = { { 0, 10000 },
				     { 5, 0 },
				     { PACING_MAX_LIMIT + 1, 10000 },
				     { 5, PACING_MAX_WINDOW_MS + 1 },
				     { -1, 10000 } };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(reserve(PACING_SIGNIN_CREATE, bad[i], FAR, &wait_s), PACING_ERROR);
	assert_int_equal(reserve((enum pacing_kind)7, CREATE, FAR, &wait_s), PACING_ERROR);
	assert_int_equal(reserve(PACING_KINDS, CREATE, FAR, &wait_s), PACING_ERROR);
}

static void test_record_stays_small(void **state)
{
	(void)state;
	struct pacing_rate many = { PACING_MAX_LIMIT, PACING_MAX_WINDOW_MS };
	for (int i = 0; i < 3 * PACING_MAX_LIMIT; i++) {
		long wait_s = -1;
		fc.wall += PACING_MAX_WINDOW_MS / PACING_MAX_LIMIT + 1;
		assert_int_equal(reserve(PACING_SIGNIN_CREATE, many, FAR, &wait_s), PACING_OK);
		assert_int_equal(reserve(PACING_FACTOR_ATTEMPT, many, FAR, &wait_s), PACING_OK);
	}
	struct stat sb;
	assert_int_equal(stat(record, &sb), 0);
	assert_true(sb.st_size < 2 * (PACING_MAX_LIMIT + 4) * 16);
}

static void test_busy_record_is_an_error(void **state)
{
	(void)state;
	long wait_s = -1;
	char lock[PATH_MAX + 64];
	reserve_now(PACING_SIGNIN_CREATE, CREATE, 1, 0);
	/* Another process holds the record longer than anyone should. */
	snprintf(lock, sizeof lock, "%s/pacing.lock", dir);
	int fd = open(lock, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_ERROR);
	assert_non_null(strstr(err, "busy"));
	/* A login with 300 ms left waits no longer than that for the record. */
	const struct pacing_clock *sys = pacing_system_clock();
	long long t0 = sys->mono_ms(NULL);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, fc.mono + 300, &wait_s),
			 PACING_ERROR);
	long long took = sys->mono_ms(NULL) - t0;
	assert_true(took >= 280 && took < 1500);
	close(fd);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_OK);
}

static void test_unwritable_record_is_an_error(void **state)
{
	(void)state;
	long wait_s = -1;
	char inside[PATH_MAX + 128];
	/* Something that is neither removable nor replaceable in its place. */
	assert_int_equal(mkdir(record, 0700), 0);
	snprintf(inside, sizeof inside, "%s/x", record);
	assert_int_equal(mkdir(inside, 0700), 0);
	assert_int_equal(reserve(PACING_SIGNIN_CREATE, CREATE, FAR, &wait_s), PACING_ERROR);
	assert_true(err[0] != '\0');
	assert_int_equal(pacing_block(dirfd_, PACING_SIGNIN_CREATE, 1000, &clk, err, sizeof err),
			 -1);
}

/* --- across processes, on the real clocks -------------------------------- */

struct spy_clock {
	long long last_wall; /* the time the reservation was taken at */
};

static long long spy_wall(void *ctx)
{
	struct spy_clock *s = ctx;
	s->last_wall = pacing_system_clock()->wall_ms(NULL);
	return s->last_wall;
}

static long long sys_mono(void *ctx)
{
	(void)ctx;
	return pacing_system_clock()->mono_ms(NULL);
}

static void sys_sleep(void *ctx, long ms)
{
	(void)ctx;
	pacing_system_clock()->sleep_ms(NULL, ms);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static void test_processes_share_the_budget(void **state)
{
	(void)state;
	enum { CHILDREN = 6 };
	const struct pacing_rate rate = { 2, 600 };
	int fds[2];
	pid_t pids[CHILDREN];
	assert_int_equal(pipe(fds), 0);
	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct spy_clock spy = { 0 };
			struct pacing_clock real = { spy_wall, sys_mono, sys_sleep, &spy };
			char e[256];
			long w;
			enum pacing_result r =
				pacing_reserve(dirfd_, PACING_SIGNIN_CREATE, rate,
					       sys_mono(NULL) + 10000, &real, &w, e, sizeof e);
			long long out = r == PACING_OK ? spy.last_wall : -1;
			_exit(write(fds[1], &out, sizeof out) == sizeof out ? 0 : 1);
		}
	}
	close(fds[1]);
	long long t[CHILDREN];
	for (int i = 0; i < CHILDREN; i++)
		assert_int_equal(read(fds[0], &t[i], sizeof t[i]), (ssize_t)sizeof t[i]);
	close(fds[0]);
	for (int i = 0; i < CHILDREN; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_true(t[i] > 0); /* every login got its turn */
	}
	/* Never more than 2 in any 600 ms: the 3rd newest is 600 ms older. */
	qsort(t, CHILDREN, sizeof t[0], cmp_ll);
	for (int i = 2; i < CHILDREN; i++)
		assert_true(t[i] - t[i - 2] >= 600);
	/* Six logins at 2 per 600 ms: the last waited at least 1.2 s. */
	assert_true(t[CHILDREN - 1] - t[0] >= 1200);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_five_in_window_pass),
		T(test_sixth_waits_for_the_oldest_to_leave),
		T(test_deadline_too_short_refuses_with_seconds),
		T(test_lower_limit_counts_the_newest),
		T(test_kinds_are_counted_apart),
		T(test_retry_after_is_honoured),
		T(test_retry_after_is_capped),
		T(test_corrupt_record_is_reset),
		T(test_unsafe_files_are_replaced),
		T(test_clock_stepped_back),
		T(test_invalid_rate),
		T(test_record_stays_small),
		T(test_busy_record_is_an_error),
		T(test_unwritable_record_is_an_error),
		T(test_processes_share_the_budget),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
