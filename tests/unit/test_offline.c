/* Unit tests for offline.c: the offline credential cache. Records are kept
 * in a private temporary directory, a fresh state_dir for every test; the
 * tests read and forge record files directly, so they also pin the format.
 * free() is wrapped at link time to prove the password never reaches freed
 * memory. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "offline.h"
#include "tmp_tree.h"

/* What offline_check says of a record's claims (issue 14 tests read it). */
static struct jwt_claims test_claims;
static bool test_has_claims;

#define ID	 "alice@example.com"
#define PASSWORD "Sp1ke-Offline-Secret-42"
#define NOW	 ((time_t)1767225600) /* 2026-01-01T00:00:00Z */
#define HOURS	 24L
#define MAXFAIL	 3

static char tmpdir[PATH_MAX];
static char dir[PATH_MAX + 32];	    /* the state_dir of the current test */
static char record[PATH_MAX + 128]; /* dir/<sha256(ID)>.offline */
static char msg[1024];
static int test_no;

/* --- free() spy: linked with -Wl,--wrap=free ---------------------------- */

void __real_free(void *p);
void __wrap_free(void *p);

static bool spying;
static bool password_freed; /* a freed block held PASSWORD */
static char hash_body[64];  /* and this, when set: a yescrypt hash's last part */
static bool hash_freed;

void __wrap_free(void *p)
{
	if (spying && p != NULL) {
		size_t n = malloc_usable_size(p);
		if (memmem(p, n, PASSWORD, sizeof PASSWORD - 1) != NULL)
			password_freed = true;
		if (hash_body[0] != '\0' && memmem(p, n, hash_body, strlen(hash_body)) != NULL)
			hash_freed = true;
	}
	__real_free(p);
}

/* --- fixtures and helpers ------------------------------------------------ */

static void name_of(const char *identifier, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(identifier, strlen(identifier), md, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int group_setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/pam_clerk_offline.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	umask(022);
	return 0;
}

/* The group's temporary tree is removed by the last test, as an assertion:
 * cmocka reports a failed group teardown but still exits 0. */
static void test_temp_tree_removed(void **state)
{
	(void)state;
	assert_int_equal(remove_tree(tmpdir), 0);
	assert_int_equal(access(tmpdir, F_OK), -1);
}

/* Each test gets a state_dir that does not exist yet. */
static int setup(void **state)
{
	(void)state;
	char name[65];
	snprintf(dir, sizeof dir, "%s/state%d", tmpdir, ++test_no);
	name_of(ID, name);
	snprintf(record, sizeof record, "%s/%s.offline", dir, name);
	msg[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	spying = false;
	chmod(dir, 0700);
	remove_tree(dir);
	return 0;
}

static void assert_msg_has(const char *fragment)
{
	if (strstr(msg, fragment) == NULL) {
		print_error("message '%s' lacks '%s'\n", msg, fragment);
		fail();
	}
}

static void assert_result(enum offline_result got, enum offline_result want)
{
	if (got != want) {
		print_error("got %s, want %s (message: %s)\n", offline_result_name(got),
			    offline_result_name(want), msg);
		fail();
	}
	assert_null(strstr(msg, PASSWORD));
}

static int store(const char *password, long hours, time_t now)
{
	msg[0] = '\0';
	int rc = offline_store(dir, ID, password, hours, now, NULL, msg, sizeof msg);
	assert_null(strstr(msg, PASSWORD));
	return rc;
}

static enum offline_result check(const char *password, time_t now)
{
	msg[0] = '\0';
	return offline_check(dir, ID, password, HOURS, MAXFAIL, now, &test_claims, &test_has_claims,
			     msg, sizeof msg);
}

static void store_ok(void)
{
	if (store(PASSWORD, HOURS, NOW) != 0) {
		print_error("offline_store: %s\n", msg);
		fail();
	}
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The file's bytes as a string (records never hold a NUL). */
static char *slurp(const char *path, size_t *len)
{
	static char text[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, text, sizeof text - 1);
	assert_true(n >= 0);
	close(fd);
	text[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return text;
}

static void write_raw(const char *path, const char *text, size_t n, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The value of "key=" in the record file. */
static const char *field(const char *key, char *out, size_t outsize)
{
	const char *text = slurp(record, NULL);
	char k[32];
	snprintf(k, sizeof k, "\n%s=", key);
	const char *p = strstr(text, k);
	assert_non_null(p);
	p += strlen(k);
	size_t n = strcspn(p, "\n");
	assert_true(n < outsize);
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static long long failures(void)
{
	char v[32];
	return strtoll(field("failures", v, sizeof v), NULL, 10);
}

/* A record as offline_store writes it, with these fields. */
static void forge(const char *hash, const char *created, const char *expires, const char *fails)
{
	char text[1024];
	int n = snprintf(text, sizeof text,
			 "pam_clerk offline v1\nhash=%s\ncreated=%s\nexpires=%s\nfailures=%s\n",
			 hash, created, expires, fails);
	assert_true(n > 0 && (size_t)n < sizeof text);
	write_raw(record, text, (size_t)n, 0600);
}

/* A real yescrypt hash of PASSWORD (made by offline_store). */
static void real_hash(char *out, size_t outsize)
{
	store_ok();
	field("hash", out, outsize);
}

static void expect_corrupt(const char *fragment)
{
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_CORRUPT);
	if (fragment != NULL)
		assert_msg_has(fragment);
	assert_msg_has("removed");
	assert_false(exists(record));
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_NONE);
}

/* --- tests ---------------------------------------------------------------- */

static void test_store_then_check(void **state)
{
	(void)state;
	store_ok();
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_OK);
	assert_msg_has("matches");
	assert_msg_has("2026-01-01T00:00:00Z"); /* when it was stored */
	assert_msg_has("2026-01-02T00:00:00Z"); /* until when */
	/* Checking again works: a success does not use the record up. */
	assert_result(check(PASSWORD, NOW + 120), OFFLINE_OK);
	assert_int_equal(failures(), 0);
}

static void test_record_format(void **state)
{
	(void)state;
	char v[200];
	store_ok();
	const char *text = slurp(record, NULL);
	assert_memory_equal(text, "pam_clerk offline v1\nhash=$y$j9T$", 33);
	assert_string_equal(field("created", v, sizeof v), "1767225600");
	assert_string_equal(field("expires", v, sizeof v), "1767312000");
	assert_string_equal(field("failures", v, sizeof v), "0");
	field("hash", v, sizeof v);
	assert_int_equal(strlen(v), 73);
	/* Nothing else in the file. */
	char want[512];
	snprintf(want, sizeof want,
		 "pam_clerk offline v1\nhash=%s\ncreated=1767225600\nexpires=1767312000\n"
		 "failures=0\n",
		 v);
	assert_string_equal(slurp(record, NULL), want);
}

static void test_file_has_no_password(void **state)
{
	(void)state;
	size_t n;
	store_ok();
	const char *text = slurp(record, &n);
	assert_null(memmem(text, n, PASSWORD, sizeof PASSWORD - 1));
	assert_null(memmem(text, n, ID, sizeof ID - 1)); /* nor the identifier */
	assert_result(check("wrong " PASSWORD, NOW + 1), OFFLINE_WRONG);
	text = slurp(record, &n);
	assert_null(memmem(text, n, PASSWORD, sizeof PASSWORD - 1));
}

static void test_modes(void **state)
{
	(void)state;
	char lock[PATH_MAX + 200];
	struct stat st;
	umask(0); /* the modes must not depend on the caller's umask */
	store_ok();
	umask(022);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(lstat(record, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	/* The identifier's one lock, shared with the stored client. */
	snprintf(lock, sizeof lock, "%.*s.lock", (int)(strlen(record) - strlen(".offline")),
		 record);
	assert_int_equal(lstat(lock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* After a rewrite (a counted failure) too. */
	assert_result(check("nope", NOW + 1), OFFLINE_WRONG);
	assert_int_equal(lstat(record, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_no_leftovers(void **state)
{
	(void)state;
	store_ok();
	assert_result(check("nope", NOW + 1), OFFLINE_WRONG);
	store_ok();
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		files++;
		size_t n = strlen(e->d_name);
		assert_true(n == 64 + 8 ||
			    n == 64 + 5); /* .offline, and the identifier's one .lock */
	}
	closedir(d);
	assert_int_equal(files, 2);
}

static void test_one_file_per_identifier(void **state)
{
	(void)state;
	char name[65], other[PATH_MAX + 128];
	store_ok();
	assert_int_equal(
		offline_store(dir, "bob", "bobs password", HOURS, NOW, NULL, msg, sizeof msg), 0);
	name_of("bob", name);
	snprintf(other, sizeof other, "%s/%s.offline", dir, name);
	assert_true(exists(other));
	assert_int_equal(offline_check(dir, "bob", PASSWORD, HOURS, MAXFAIL, NOW, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_WRONG);
	assert_int_equal(offline_check(dir, "bob", "bobs password", HOURS, MAXFAIL, NOW,
				       &test_claims, &test_has_claims, msg, sizeof msg),
			 OFFLINE_OK);
	assert_result(check(PASSWORD, NOW), OFFLINE_OK);
	assert_int_equal(failures(), 0);
}

static void test_wrong_counts(void **state)
{
	(void)state;
	store_ok();
	assert_result(check("wrong", NOW + 1), OFFLINE_WRONG);
	assert_msg_has("1 of 3");
	assert_int_equal(failures(), 1);
	assert_result(check(PASSWORD "x", NOW + 2), OFFLINE_WRONG);
	assert_int_equal(failures(), 2);
	/* A prefix of the password is wrong too. */
	char prefix[sizeof PASSWORD];
	memcpy(prefix, PASSWORD, sizeof PASSWORD - 2);
	prefix[sizeof PASSWORD - 2] = '\0';
	assert_result(check(prefix, NOW + 3), OFFLINE_WRONG);
	assert_int_equal(failures(), 3);
}

static void test_right_password_resets_count(void **state)
{
	(void)state;
	store_ok();
	assert_result(check("wrong", NOW + 1), OFFLINE_WRONG);
	assert_result(check("wrong", NOW + 2), OFFLINE_WRONG);
	assert_int_equal(failures(), 2);
	assert_result(check(PASSWORD, NOW + 3), OFFLINE_OK);
	assert_msg_has("2 earlier wrong passwords");
	assert_int_equal(failures(), 0);
}

static void test_locked(void **state)
{
	(void)state;
	store_ok();
	for (int i = 0; i < MAXFAIL; i++)
		assert_result(check("wrong", NOW + 1), OFFLINE_WRONG);
	assert_result(check(PASSWORD, NOW + 2), OFFLINE_LOCKED);
	assert_msg_has("until the next online sign-in");
	assert_result(check("wrong", NOW + 3), OFFLINE_LOCKED);
	assert_int_equal(failures(), MAXFAIL); /* no longer counted */
	/* A lower max_failures applies to the record as it is. */
	assert_int_equal(offline_check(dir, ID, PASSWORD, HOURS, 10, NOW + 4, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_OK);
	/* The next online sign-in stores a fresh record. */
	store_ok();
	assert_result(check(PASSWORD, NOW + 5), OFFLINE_OK);
}

static void test_expired(void **state)
{
	(void)state;
	store_ok();
	assert_result(check(PASSWORD, NOW + HOURS * 3600 - 1), OFFLINE_OK);
	assert_result(check(PASSWORD, NOW + HOURS * 3600), OFFLINE_EXPIRED);
	assert_msg_has("expired at 2026-01-02T00:00:00Z");
	assert_false(exists(record));
	assert_result(check(PASSWORD, NOW), OFFLINE_NONE);
}

static void test_shorter_setting_wins(void **state)
{
	(void)state;
	/* Stored under offline_cache=48, checked under offline_cache=1. */
	assert_int_equal(store(PASSWORD, 48, NOW), 0);
	assert_int_equal(offline_check(dir, ID, PASSWORD, 1, MAXFAIL, NOW + 3599, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_OK);
	assert_int_equal(offline_check(dir, ID, PASSWORD, 1, MAXFAIL, NOW + 3600, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_EXPIRED);
	/* offline_cache=0: nothing is good any more. */
	assert_int_equal(store(PASSWORD, 48, NOW), 0);
	assert_int_equal(offline_check(dir, ID, PASSWORD, 0, MAXFAIL, NOW, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_EXPIRED);
	assert_false(exists(record));
	/* A longer setting does not stretch a record. */
	assert_int_equal(store(PASSWORD, 1, NOW), 0);
	assert_int_equal(offline_check(dir, ID, PASSWORD, 48, MAXFAIL, NOW + 3600, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_EXPIRED);
}

static void test_none(void **state)
{
	(void)state;
	/* No state_dir at all: nothing is created by a check. */
	assert_result(check(PASSWORD, NOW), OFFLINE_NONE);
	assert_false(exists(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_result(check(PASSWORD, NOW), OFFLINE_NONE);
	assert_msg_has("no offline record");
	/* Another identifier's record is not this one's. */
	assert_int_equal(offline_store(dir, "bob", PASSWORD, HOURS, NOW, NULL, msg, sizeof msg), 0);
	assert_result(check(PASSWORD, NOW), OFFLINE_NONE);
}

static void test_forget(void **state)
{
	(void)state;
	store_ok();
	assert_int_equal(offline_forget(dir, ID, msg, sizeof msg), 0);
	assert_false(exists(record));
	assert_result(check(PASSWORD, NOW), OFFLINE_NONE);
	/* Nothing to forget is fine, with or without a state_dir. */
	assert_int_equal(offline_forget(dir, ID, msg, sizeof msg), 0);
	remove_tree(dir);
	assert_int_equal(offline_forget(dir, ID, msg, sizeof msg), 0);
	assert_false(exists(dir));
}

static void test_store_refuses(void **state)
{
	(void)state;
	char longpw[600];
	memset(longpw, 'a', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = '\0';
	assert_int_equal(store(PASSWORD, 0, NOW), -1);
	assert_int_equal(store(PASSWORD, OFFLINE_MAX_HOURS + 1, NOW), -1);
	assert_int_equal(store("", HOURS, NOW), -1);
	assert_int_equal(store(longpw, HOURS, NOW), -1);
	assert_int_equal(store(PASSWORD, HOURS, 0), -1);
	assert_int_equal(offline_store(dir, "", PASSWORD, HOURS, NOW, NULL, msg, sizeof msg), -1);
	assert_false(exists(record));
	assert_int_equal(store(PASSWORD, OFFLINE_MAX_HOURS, NOW), 0);
	assert_int_equal(offline_check(dir, ID, PASSWORD, OFFLINE_MAX_HOURS, MAXFAIL,
				       NOW + OFFLINE_MAX_HOURS * 3600 - 1, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_OK);
	assert_result(check("", NOW), OFFLINE_ERROR);
}

/* --- records not to be trusted ------------------------------------------ */

static void test_corrupt_magic(void **state)
{
	(void)state;
	char h[200];
	real_hash(h, sizeof h);
	char text[512];
	int n = snprintf(text, sizeof text,
			 "pam_clerk offline v2\nhash=%s\ncreated=1767225600\nexpires=1767312000\n"
			 "failures=0\n",
			 h);
	write_raw(record, text, (size_t)n, 0600);
	expect_corrupt("bad magic");
	write_raw(record, "", 0, 0600);
	expect_corrupt("bad magic");
	/* A client token file is not an offline record. */
	write_raw(record, "pam_clerk client v1\nabc\n", 24, 0600);
	expect_corrupt("bad magic");
}

static void test_corrupt_truncated(void **state)
{
	(void)state;
	size_t n;
	store_ok();
	char whole[1024];
	const char *text = slurp(record, &n);
	memcpy(whole, text, n + 1);
	/* Every proper prefix is refused: a half-written record never counts. */
	for (size_t cut = 0; cut < n; cut++) {
		write_raw(record, whole, cut, 0600);
		assert_result(check(PASSWORD, NOW + 60), OFFLINE_CORRUPT);
		assert_false(exists(record));
	}
	/* And so is anything after the last line. */
	memcpy(whole + n, "x\n", 3);
	write_raw(record, whole, n + 2, 0600);
	expect_corrupt("trailing data");
}

static void test_corrupt_hash(void **state)
{
	(void)state;
	char h[200], bad[300];
	real_hash(h, sizeof h);
	/* SHA-512 crypt, as in /etc/shadow, is still not what we write. */
	forge("$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc."
	      "eoxqOmSuNp2xS0ktL3nh/",
	      "1767225600", "1767312000", "0");
	expect_corrupt("not a yescrypt hash");
	forge(PASSWORD, "1767225600", "1767312000", "0");
	expect_corrupt("not a yescrypt hash");
	forge("plain", "1767225600", "1767312000", "0");
	expect_corrupt("not a yescrypt hash");
	forge("", "1767225600", "1767312000", "0");
	expect_corrupt("bad hash line");
	/* Cut short, one character too many, a character crypt never writes. */
	snprintf(bad, sizeof bad, "%.*s", (int)strlen(h) - 1, h);
	forge(bad, "1767225600", "1767312000", "0");
	expect_corrupt("not a yescrypt hash");
	snprintf(bad, sizeof bad, "%sA", h);
	forge(bad, "1767225600", "1767312000", "0");
	expect_corrupt("not a yescrypt hash");
	snprintf(bad, sizeof bad, "%s", h);
	bad[20] = '*';
	forge(bad, "1767225600", "1767312000", "0");
	expect_corrupt("not a yescrypt hash");
	/* Well-formed yescrypt, other costs: a cheap one (j75) is not trusted,
	 * nor a huge one (jFT) that would make every check slow. */
	snprintf(bad, sizeof bad, "%s", h);
	memcpy(bad + 3, "j75", 3);
	forge(bad, "1767225600", "1767312000", "0");
	expect_corrupt("yescrypt parameters");
	memcpy(bad + 3, "jFT", 3);
	forge(bad, "1767225600", "1767312000", "0");
	expect_corrupt("yescrypt parameters");
}

static void test_corrupt_numbers(void **state)
{
	(void)state;
	char h[200], far[32];
	real_hash(h, sizeof h);
	static const char *const bad[][4] = {
		/* created, expires, failures, why */
		{ "-5", "1767312000", "0", "bad created line" },
		{ "1767225600", "-1767312000", "0", "bad expires line" },
		{ "1767225600", "1767312000", "-1", "bad failures line" },
		{ "+1767225600", "1767312000", "0", "bad created line" },
		{ "01767225600", "1767312000", "0", "bad created line" },
		{ "1767225600 ", "1767312000", "0", "bad created line" },
		{ "0x10", "1767312000", "0", "bad created line" },
		{ "1767225600", "99999999999999999999", "0", "bad expires line" },
		{ "1767225600", "1767312000", "1001", "failure count" },
		{ "0", "1767312000", "0", "expiry not after creation" },
		{ "1767225600", "1767225600", "0", "expiry not after creation" },
		{ "1767225600", "1767225599", "0", "expiry not after creation" },
		{ "1767225600", "", "0", "bad expires line" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		forge(h, bad[i][0], bad[i][1], bad[i][2]);
		expect_corrupt(bad[i][3]);
	}
	/* A lifetime beyond OFFLINE_MAX_HOURS: not made by offline_store. */
	snprintf(far, sizeof far, "%lld", (long long)NOW + OFFLINE_MAX_HOURS * 3600 + 1);
	forge(h, "1767225600", far, "0");
	expect_corrupt("lifetime beyond");
	snprintf(far, sizeof far, "%lld", (long long)NOW + OFFLINE_MAX_HOURS * 3600);
	forge(h, "1767225600", far, "0");
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_OK);
}

static void test_clock_turned_back(void **state)
{
	(void)state;
	store_ok();
	/* A few minutes of clock skew are tolerated... */
	assert_result(check(PASSWORD, NOW - OFFLINE_CLOCK_SKEW), OFFLINE_OK);
	/* ...a record from the future is not trusted, but kept: the clock is
	 * what is wrong. */
	assert_result(check(PASSWORD, NOW - OFFLINE_CLOCK_SKEW - 1), OFFLINE_ERROR);
	assert_msg_has("created 2026-01-01T00:00:00Z, in the future");
	assert_true(exists(record));
	assert_result(check(PASSWORD, 1), OFFLINE_ERROR);
	assert_result(check(PASSWORD, 0), OFFLINE_ERROR);
	assert_msg_has("clock is not set");
	assert_result(check(PASSWORD, -1), OFFLINE_ERROR);
	assert_int_equal(failures(), 0);
	/* With the clock right again, the record is as good as it was. */
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_OK);
}

static void test_corrupt_layout(void **state)
{
	(void)state;
	char h[200], text[600];
	real_hash(h, sizeof h);
	static const char *const fmt[] = {
		/* fields out of order */
		"pam_clerk offline v1\ncreated=1767225600\nhash=%s\nexpires=1767312000\n"
		"failures=0\n",
		/* CRLF */
		"pam_clerk offline v1\r\nhash=%s\r\ncreated=1767225600\r\nexpires=1767312000\r\n"
		"failures=0\r\n",
		/* no newline at the end */
		"pam_clerk offline v1\nhash=%s\ncreated=1767225600\nexpires=1767312000\nfailures=0",
		/* a field twice */
		"pam_clerk offline v1\nhash=%s\ncreated=1767225600\nexpires=1767312000\n"
		"failures=0\nfailures=0\n",
		/* spaces */
		"pam_clerk offline v1\nhash = %s\ncreated=1767225600\nexpires=1767312000\n"
		"failures=0\n",
		/* a blank line */
		"pam_clerk offline v1\n\nhash=%s\ncreated=1767225600\nexpires=1767312000\n"
		"failures=0\n",
	};
	for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
		/* fmt[i] with h in place of its one "%s". */
		const char *at = strstr(fmt[i], "%s");
		int n = snprintf(text, sizeof text, "%.*s%s%s", (int)(at - fmt[i]), fmt[i], h,
				 at + 2);
		write_raw(record, text, (size_t)n, 0600);
		expect_corrupt(NULL);
	}
}

static void test_corrupt_nul(void **state)
{
	(void)state;
	size_t n;
	char text[1024];
	store_ok();
	memcpy(text, slurp(record, &n), sizeof text);
	/* A NUL at the end, in a number, in the hash. */
	text[n] = '\0';
	write_raw(record, text, n + 1, 0600);
	expect_corrupt("NUL");
	store_ok();
	memcpy(text, slurp(record, &n), sizeof text);
	char *f = strstr(text, "failures=0");
	f[9] = '\0';
	write_raw(record, text, n, 0600);
	expect_corrupt("NUL");
	store_ok();
	memcpy(text, slurp(record, &n), sizeof text);
	text[30] = '\0';
	write_raw(record, text, n, 0600);
	expect_corrupt("NUL");
}

static void test_corrupt_huge(void **state)
{
	(void)state;
	store_ok();
	size_t n = 1 << 20;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'A', n);
	memcpy(big, "pam_clerk offline v1\n", 21);
	write_raw(record, big, n, 0600);
	free(big);
	expect_corrupt("too large");
	/* Just over the limit, well-formed up to it. */
	char h[200], text[1100];
	real_hash(h, sizeof h);
	int m = snprintf(text, sizeof text,
			 "pam_clerk offline v1\nhash=%s\ncreated=1767225600\nexpires=1767312000\n"
			 "failures=0\n",
			 h);
	memset(text + m, '\n', sizeof text - (size_t)m);
	write_raw(record, text, 1025, 0600); /* RECORD_MAX + 1 */
	expect_corrupt("too large");
}

/* --- unsafe files and directories ---------------------------------------- */

static void test_symlink_refused(void **state)
{
	(void)state;
	char target[PATH_MAX + 64];
	size_t n;
	store_ok();
	const char *text = slurp(record, &n);
	snprintf(target, sizeof target, "%s/elsewhere.%d", tmpdir, test_no);
	write_raw(target, text, n, 0600);
	assert_int_equal(unlink(record), 0);
	assert_int_equal(symlink(target, record), 0);
	/* The link is removed, never followed: its target is untouched. */
	expect_corrupt("symbolic link");
	assert_true(exists(target));
	assert_memory_equal(slurp(target, NULL), text, n);
	/* offline_store replaces a link with a file; the target stays as it was. */
	assert_int_equal(symlink(target, record), 0);
	store_ok();
	struct stat st;
	assert_int_equal(lstat(record, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(target);
}

static void test_loose_file_refused(void **state)
{
	(void)state;
	store_ok();
	assert_int_equal(chmod(record, 0644), 0);
	expect_corrupt("group or others");
	store_ok();
	assert_int_equal(chmod(record, 0640), 0);
	expect_corrupt("group or others");
	store_ok();
	assert_int_equal(chmod(record, 0606), 0);
	expect_corrupt("group or others");
}

static void test_hardlink_refused(void **state)
{
	(void)state;
	char other[PATH_MAX + 64];
	store_ok();
	snprintf(other, sizeof other, "%s/hardlink.%d", dir, test_no);
	assert_int_equal(link(record, other), 0);
	expect_corrupt("hard links");
	assert_true(exists(other));
	unlink(other);
}

static void test_other_owner_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	store_ok();
	assert_int_equal(chown(record, 65534, 65534), 0);
	expect_corrupt("not owned");
}

static void test_not_a_file_refused(void **state)
{
	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mkfifo(record, 0600), 0);
	/* A FIFO would block a plain open: refused at once. */
	expect_corrupt("not a regular file");
}

static void test_loose_dir_refused(void **state)
{
	(void)state;
	store_ok();
	static const mode_t modes[] = { 0770, 0750, 0710, 0707, 0701, 0777 };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		assert_int_equal(chmod(dir, modes[i]), 0);
		assert_result(check(PASSWORD, NOW), OFFLINE_ERROR);
		assert_msg_has("accessible to group or others (want 0700)");
		assert_int_equal(store(PASSWORD, HOURS, NOW), -1);
		assert_msg_has("not using it");
		assert_int_equal(offline_forget(dir, ID, msg, sizeof msg), -1);
		/* Nothing in an unsafe directory is touched. */
		assert_true(exists(record));
	}
	assert_int_equal(chmod(dir, 0700), 0);
	assert_result(check(PASSWORD, NOW), OFFLINE_OK);
}

static void test_symlinked_dir_refused(void **state)
{
	(void)state;
	char link_path[PATH_MAX + 64];
	store_ok();
	snprintf(link_path, sizeof link_path, "%s/link.%d", tmpdir, test_no);
	assert_int_equal(symlink(dir, link_path), 0);
	assert_int_equal(offline_check(link_path, ID, PASSWORD, HOURS, MAXFAIL, NOW, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_ERROR);
	assert_int_equal(offline_store(link_path, ID, PASSWORD, HOURS, NOW, NULL, msg, sizeof msg),
			 -1);
	unlink(link_path);
	/* A file where the directory should be. */
	char file[PATH_MAX + 64];
	snprintf(file, sizeof file, "%s/file.%d", tmpdir, test_no);
	write_raw(file, "x", 1, 0600);
	assert_int_equal(offline_store(file, ID, PASSWORD, HOURS, NOW, NULL, msg, sizeof msg), -1);
	assert_int_equal(offline_check(file, ID, PASSWORD, HOURS, MAXFAIL, NOW, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_ERROR);
	unlink(file);
}

static void test_dir_other_owner_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	store_ok();
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_result(check(PASSWORD, NOW), OFFLINE_ERROR);
	assert_msg_has("not owned");
	assert_int_equal(chown(dir, 0, 0), 0);
}

/* --- hashes --------------------------------------------------------------- */

static void test_other_salt_fails(void **state)
{
	(void)state;
	char h[200], setting[CRYPT_GENSALT_OUTPUT_SIZE];
	real_hash(h, sizeof h);
	/* Same parameters, same hash body, another salt: a well-formed record
	 * that does not match. */
	assert_non_null(
		crypt_gensalt_rn("$y$", OFFLINE_YESCRYPT_COST, NULL, 0, setting, sizeof setting));
	const char *body = strrchr(h, '$');
	char forged[300];
	snprintf(forged, sizeof forged, "%s%s", setting, body);
	assert_int_equal(strlen(forged), strlen(h));
	assert_string_not_equal(forged, h);
	forge(forged, "1767225600", "1767312000", "0");
	assert_result(check(PASSWORD, NOW), OFFLINE_WRONG);
	assert_int_equal(failures(), 1);
	/* The same salt and another body does not match either. */
	snprintf(forged, sizeof forged, "%s", h);
	size_t last = strlen(forged) - 2;
	forged[last] = forged[last] == 'A' ? 'B' : 'A';
	forge(forged, "1767225600", "1767312000", "0");
	assert_result(check(PASSWORD, NOW), OFFLINE_WRONG);
}

static void test_hash_of_other_password(void **state)
{
	(void)state;
	char h[200];
	assert_int_equal(store("another password", HOURS, NOW), 0);
	field("hash", h, sizeof h);
	assert_result(check(PASSWORD, NOW), OFFLINE_WRONG);
	/* A record made by hand with crypt(3) is accepted: the format is
	 * plain yescrypt, as in /etc/shadow. */
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof *cd);
	assert_non_null(cd);
	assert_non_null(
		crypt_gensalt_rn("$y$", OFFLINE_YESCRYPT_COST, NULL, 0, setting, sizeof setting));
	const char *mine = crypt_rn(PASSWORD, setting, cd, (int)sizeof *cd);
	assert_non_null(mine);
	forge(mine, "1767225600", "1767312000", "0");
	free(cd);
	assert_result(check(PASSWORD, NOW), OFFLINE_OK);
}

static void test_fresh_salt_each_store(void **state)
{
	(void)state;
	char a[200], b[200];
	store_ok();
	field("hash", a, sizeof a);
	store_ok();
	field("hash", b, sizeof b);
	assert_string_not_equal(a, b);
}

static void test_secrets_not_in_freed_memory(void **state)
{
	(void)state;
	/* crypt_rn's scratch area (struct crypt_data, on the heap) holds the
	 * hash it computed and yescrypt's working state: wiped before free. */
	char pw[64], h[200];
	snprintf(pw, sizeof pw, "%s", PASSWORD);
	password_freed = hash_freed = false;
	hash_body[0] = '\0';
	spying = true;
	assert_int_equal(offline_store(dir, ID, pw, HOURS, NOW, NULL, msg, sizeof msg), 0);
	spying = false;
	field("hash", h, sizeof h);
	snprintf(hash_body, sizeof hash_body, "%s", strrchr(h, '$') + 1);
	spying = true;
	assert_int_equal(offline_check(dir, ID, pw, HOURS, MAXFAIL, NOW, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_OK);
	assert_int_equal(offline_check(dir, ID, "x", HOURS, MAXFAIL, NOW, &test_claims,
				       &test_has_claims, msg, sizeof msg),
			 OFFLINE_WRONG);
	spying = false;
	hash_body[0] = '\0';
	assert_false(password_freed);
	assert_false(hash_freed);
}

static void test_result_names(void **state)
{
	(void)state;
	assert_string_equal(offline_result_name(OFFLINE_OK), "ok");
	assert_string_equal(offline_result_name(OFFLINE_WRONG), "wrong");
	assert_string_equal(offline_result_name(OFFLINE_LOCKED), "locked");
	assert_string_equal(offline_result_name(OFFLINE_EXPIRED), "expired");
	assert_string_equal(offline_result_name(OFFLINE_NONE), "none");
	assert_string_equal(offline_result_name(OFFLINE_CORRUPT), "corrupt");
	assert_string_equal(offline_result_name(OFFLINE_ERROR), "error");
	assert_string_equal(offline_result_name((enum offline_result)99), "error");
	/* A zeroed result is never a success. */
	assert_int_not_equal(OFFLINE_OK, 0);
}

/* --- concurrency ---------------------------------------------------------- */

static pid_t spawn(int (*fn)(int), int arg)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

static void wait_ok(pid_t pid)
{
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int child_wrong(int n)
{
	char m[512];
	for (int i = 0; i < n; i++)
		if (offline_check(dir, ID, "wrong", HOURS, 1000, NOW, &test_claims,
				  &test_has_claims, m, sizeof m) != OFFLINE_WRONG)
			return 1;
	return 0;
}

static int child_store(int n)
{
	char m[512];
	for (int i = 0; i < n; i++)
		if (offline_store(dir, ID, PASSWORD, HOURS, NOW, NULL, m, sizeof m) != 0)
			return 1;
	return 0;
}

static int child_check(int n)
{
	char m[512];
	for (int i = 0; i < n; i++)
		if (offline_check(dir, ID, PASSWORD, HOURS, 1000, NOW, &test_claims,
				  &test_has_claims, m, sizeof m) != OFFLINE_OK)
			return 1;
	return 0;
}

static void test_concurrent_failures_all_counted(void **state)
{
	(void)state;
	store_ok();
	pid_t a = spawn(child_wrong, 4), b = spawn(child_wrong, 4), c = spawn(child_wrong, 4);
	wait_ok(a);
	wait_ok(b);
	wait_ok(c);
	/* Parallel guesses are serialised: not one failure is lost. */
	assert_int_equal(failures(), 12);
}

static void test_concurrent_store_and_check(void **state)
{
	(void)state;
	store_ok();
	/* Readers always see a whole record, old or new. */
	pid_t a = spawn(child_store, 8), b = spawn(child_store, 8), c = spawn(child_check, 8),
	      d = spawn(child_check, 8);
	wait_ok(a);
	wait_ok(b);
	wait_ok(c);
	wait_ok(d);
	assert_result(check(PASSWORD, NOW), OFFLINE_OK);
	test_no_leftovers(state);
}

static void test_concurrent_first_store(void **state)
{
	(void)state;
	/* Two logins create state_dir at the same moment. */
	pid_t a = spawn(child_store, 1), b = spawn(child_store, 1), c = spawn(child_store, 1);
	wait_ok(a);
	wait_ok(b);
	wait_ok(c);
	assert_result(check(PASSWORD, NOW), OFFLINE_OK);
}

/* --- issue 14 item 4, issue 12 item 7 ------------------------------------ */

static double seconds_of_check(const char *id, const char *password)
{
	struct timespec a, b;
	double best = 1e9;
	for (int i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		offline_check(dir, id, password, HOURS, 1000, NOW + 60, &test_claims,
			      &test_has_claims, msg, sizeof msg);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		best = t < best ? t : best;
	}
	return best;
}

static void test_no_record_takes_as_long(void **state)
{
	(void)state;
	store_ok();
	/* the right password: no rewrite of the record (its fsync is I/O, not the hash) */
	double with = seconds_of_check(ID, PASSWORD);
	double without = seconds_of_check("never-signed-in", PASSWORD);
	/* the yescrypt hash is the cost of both: a skipped one would be a clear gap */
	if (without < with * 0.5)
		fail_msg("no record: %.4f s, a record: %.4f s", without, with);
}

static void test_claims_kept_for_the_rules(void **state)
{
	(void)state;
	struct jwt_claims c;
	memset(&c, 0, sizeof c);
	snprintf(c.org_id, sizeof c.org_id, "org_way");
	snprintf(c.org_slug, sizeof c.org_slug, "way");
	snprintf(c.org_role, sizeof c.org_role, "admin");
	assert_int_equal(offline_store(dir, ID, PASSWORD, HOURS, NOW, &c, msg, sizeof msg), 0);
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_OK);
	assert_true(test_has_claims);
	assert_string_equal(test_claims.org_id, "org_way");
	assert_string_equal(test_claims.org_slug, "way");
	assert_string_equal(test_claims.org_role, "admin");
	/* a verified token without an organization: kept as such */
	memset(&c, 0, sizeof c);
	assert_int_equal(offline_store(dir, ID, PASSWORD, HOURS, NOW, &c, msg, sizeof msg), 0);
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_OK);
	assert_true(test_has_claims);
	assert_string_equal(test_claims.org_id, "");
	/* none at all: the rules cannot pass offline */
	store_ok();
	assert_result(check(PASSWORD, NOW + 60), OFFLINE_OK);
	assert_false(test_has_claims);
}

static void test_refused_password_forgets_only_its_own_record(void **state)
{
	(void)state;
	store_ok();
	assert_int_equal(offline_forget_matching(dir, ID, "a stranger's guess", msg, sizeof msg),
			 0);
	assert_true(exists(record));
	assert_int_equal(offline_forget_matching(dir, ID, PASSWORD, msg, sizeof msg), 0);
	assert_false(exists(record));
}

static void test_forget_creates_no_file(void **state)
{
	(void)state;
	assert_int_equal(offline_forget_matching(dir, "never-signed-in", "x", msg, sizeof msg), 0);
	assert_int_equal(offline_forget(dir, "never-signed-in", msg, sizeof msg), 0);
	assert_result(offline_check(dir, "never-signed-in", "x", HOURS, MAXFAIL, NOW, &test_claims,
				    &test_has_claims, msg, sizeof msg),
		      OFFLINE_NONE);
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			assert_true(e->d_name[0] == '.');
		closedir(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_store_then_check),
		T(test_record_format),
		T(test_file_has_no_password),
		T(test_modes),
		T(test_no_leftovers),
		T(test_one_file_per_identifier),
		T(test_wrong_counts),
		T(test_right_password_resets_count),
		T(test_locked),
		T(test_expired),
		T(test_shorter_setting_wins),
		T(test_none),
		T(test_forget),
		T(test_store_refuses),
		T(test_corrupt_magic),
		T(test_corrupt_truncated),
		T(test_corrupt_hash),
		T(test_corrupt_numbers),
		T(test_clock_turned_back),
		T(test_corrupt_layout),
		T(test_corrupt_nul),
		T(test_corrupt_huge),
		T(test_no_record_takes_as_long),
		T(test_claims_kept_for_the_rules),
		T(test_refused_password_forgets_only_its_own_record),
		T(test_forget_creates_no_file),
		T(test_symlink_refused),
		T(test_loose_file_refused),
		T(test_hardlink_refused),
		T(test_other_owner_refused),
		T(test_not_a_file_refused),
		T(test_loose_dir_refused),
		T(test_symlinked_dir_refused),
		T(test_dir_other_owner_refused),
		T(test_other_salt_fails),
		T(test_hash_of_other_password),
		T(test_fresh_salt_each_store),
		T(test_secrets_not_in_freed_memory),
		T(test_result_names),
		T(test_concurrent_failures_all_counted),
		T(test_concurrent_store_and_check),
		T(test_concurrent_first_store),
#undef T
		cmocka_unit_test(test_temp_tree_removed), /* last */
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
