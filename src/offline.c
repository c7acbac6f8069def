#include "config.h"

#include "offline.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A record, in full (every field on its own line, in this order, nothing
 * else; numbers in decimal without sign or leading zeros):
 *
 *	pam_clerk offline v1
 *	hash=$y$j9T$<salt>$<hash>
 *	created=<unix time>
 *	expires=<unix time>
 *	failures=<wrong offline passwords since the last good one>
 */
#define MAGIC	       "pam_clerk offline v1\n"
#define RECORD_MAX     512 /* bytes in a record file; a real one is ~150 */
#define HASH_MAX       160 /* bytes of the hash field; yescrypt's is 73 */
#define NUMBER_DIGITS  18  /* < LLONG_MAX, so sums of two never overflow */
#define FAILURES_LIMIT 1000
#define YESCRYPT_BODY  43 /* base64 characters of a yescrypt hash */

struct record {
	char hash[HASH_MAX + 1];
	long long created;
	long long expires;
	long long failures;
};

/* One identifier's entry in state_dir: the directory, and its lock once
 * entry_lock took it. No user text reaches a path: names are hashed. */
struct entry {
	const char *dir;
	int dirfd;
	int lockfd;
	char file[80]; /* <sha256 hex>.offline */
};

/* --- the safe directory: the rules of state.c ---------------------------- */

static int hash_name(const char *identifier, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_Digest(identifier, strlen(identifier), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Only the user running us may own or read anything here, and a record
 * must not be a hard link to some other file. */
static const char *unsafe(const struct stat *st, int want_dir)
{
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return want_dir ? "not a directory" : "not a regular file";
	if (st->st_uid != geteuid())
		return "not owned by the user running the login";
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return want_dir ? "accessible to group or others (want 0700)"
				: "accessible to group or others (want 0600)";
	if (!want_dir && st->st_nlink != 1)
		return "has other hard links";
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Open state_dir, creating it 0700 when create is set. Returns the
 * descriptor, -1 with the reason in msg, or -2 when it does not exist and
 * create is not set. */
static int open_dir(const char *dir, int create, char *msg, size_t msgsize)
{
	struct stat sb;
	const char *why;
	int made = 0;

	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!create)
			return -2;
		if (mkdir(dir, 0700) == 0)
			made = 1;
		/* EEXIST: a concurrent login made it first; open what is there. */
		if (made || errno == EEXIST)
			fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(msg, msgsize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (made)
		(void)fchmod(fd, 0700); /* whatever the umask was */
	why = fstat(fd, &sb) != 0 ? "cannot stat" : unsafe(&sb, 1);
	if (why != NULL) {
		snprintf(msg, msgsize, "%s: %s; not using it", dir, why);
		close(fd);
		return -1;
	}
	return fd;
}

/* Write data to dirfd/file atomically: a reader sees the old file or the new
 * one, never half of one. The file is 0600. Returns 0 or -1 (errno). */
static int write_atomic(int dirfd, const char *file, const char *data, size_t len)
{
	char tmp[128];
	int rc = -1, saved = 0;

	snprintf(tmp, sizeof tmp, "%s.%ld", file, (long)getpid());
	unlinkat(dirfd, tmp, 0);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (done == len && fchmod(fd, 0600) == 0 && fsync(fd) == 0)
		rc = 0;
	saved = errno;
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && renameat(dirfd, tmp, dirfd, file) == 0) {
		fsync(dirfd);
		return 0;
	}
	if (rc == 0)
		saved = errno;
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/* --- entries -------------------------------------------------------------- */

static void entry_close(struct entry *e)
{
	if (e->lockfd >= 0)
		close(e->lockfd); /* releases the flock */
	if (e->dirfd >= 0)
		close(e->dirfd);
	e->lockfd = e->dirfd = -1;
}

/* Returns 0, -1 (msg says why) or -2 (no directory, create not set). */
static int entry_open(struct entry *e, const char *dir, const char *identifier, int create,
		      char *msg, size_t msgsize)
{
	char name[65];

	e->dir = dir;
	e->dirfd = e->lockfd = -1;
	if (dir == NULL || dir[0] == '\0' || identifier == NULL || identifier[0] == '\0') {
		snprintf(msg, msgsize, "no state_dir or no identifier");
		return -1;
	}
	if (hash_name(identifier, name) != 0) {
		snprintf(msg, msgsize, "cannot hash the identifier");
		return -1;
	}
	snprintf(e->file, sizeof e->file, "%s.offline", name);
	int fd = open_dir(dir, create, msg, msgsize);
	if (fd < 0)
		return fd;
	e->dirfd = fd;
	return 0;
}

/* Take the entry's lock, waiting at most wait_ms for a concurrent login of
 * the same identifier. Returns 0 or -1 with the reason in msg. */
static int entry_lock(struct entry *e, long wait_ms, char *msg, size_t msgsize)
{
	char lock[96];
	struct stat sb;
	const char *why;

	snprintf(lock, sizeof lock, "%s.lock", e->file);
	int fd = openat(e->dirfd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			0600);
	if (fd < 0) {
		snprintf(msg, msgsize, "%s/%s: %s", e->dir, lock, strerror(errno));
		return -1;
	}
	why = fstat(fd, &sb) != 0 ? "cannot stat" : unsafe(&sb, 0);
	if (why != NULL) {
		snprintf(msg, msgsize, "%s/%s: %s", e->dir, lock, why);
		close(fd);
		return -1;
	}
	long waited = 0;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= wait_ms) {
			snprintf(msg, msgsize, "%s/%s: busy", e->dir, lock);
			close(fd);
			return -1;
		}
		sleep_ms(20);
		waited += 20;
	}
	e->lockfd = fd;
	return 0;
}

/* --- records -------------------------------------------------------------- */

/* The next line "key=value\n" at *p into out; 0 or -1. */
static int take_line(const char **p, const char *end, const char *key, char *out, size_t outsize)
{
	size_t klen = strlen(key);
	if ((size_t)(end - *p) < klen || memcmp(*p, key, klen) != 0)
		return -1;
	const char *v = *p + klen;
	const char *nl = memchr(v, '\n', (size_t)(end - v));
	if (nl == NULL)
		return -1;
	size_t n = (size_t)(nl - v);
	if (n == 0 || n >= outsize)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	*p = nl + 1;
	return 0;
}

static int parse_number(const char *s, long long *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > NUMBER_DIGITS || (n > 1 && s[0] == '0'))
		return -1;
	long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int is_b64(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '/';
}

/* Length of the run of crypt base64 characters at s. */
static size_t b64_run(const char *s)
{
	size_t n = 0;
	while (is_b64(s[n]))
		n++;
	return n;
}

/* "$y$<params>$<salt>$<43 characters>" and nothing else: the length of
 * <params>, or 0 when h is not a yescrypt hash. */
static size_t yescrypt_params_len(const char *h)
{
	if (strncmp(h, "$y$", 3) != 0)
		return 0;
	const char *p = h + 3;
	size_t params = b64_run(p);
	if (params == 0 || p[params] != '$')
		return 0;
	p += params + 1;
	size_t salt = b64_run(p);
	if (salt == 0 || p[salt] != '$')
		return 0;
	p += salt + 1;
	if (b64_run(p) != YESCRYPT_BODY || p[YESCRYPT_BODY] != '\0')
		return 0;
	return params;
}

/* Whether hash was made with OFFLINE_YESCRYPT_COST: neither weaker nor
 * (a denial of service) far more expensive than what offline_store makes. */
static int params_expected(const char *hash, size_t params)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	if (crypt_gensalt_rn("$y$", OFFLINE_YESCRYPT_COST, NULL, 0, setting, sizeof setting) ==
	    NULL)
		return 0;
	return strlen(setting) > 3 + params && setting[3 + params] == '$' &&
	       memcmp(setting, hash, 3 + params) == 0;
}

/* Why text is not a record, or NULL when it is one (then in rec). */
static const char *parse_record(const char *text, size_t len, struct record *rec)
{
	const char *p = text, *end = text + len;
	char num[NUMBER_DIGITS + 2];
	size_t magic = sizeof MAGIC - 1;

	if (memchr(text, '\0', len) != NULL)
		return "NUL byte in the file";
	if (len < magic || memcmp(text, MAGIC, magic) != 0)
		return "not a pam_clerk offline record (bad magic)";
	p += magic;
	if (take_line(&p, end, "hash=", rec->hash, sizeof rec->hash) != 0)
		return "bad hash line";
	if (take_line(&p, end, "created=", num, sizeof num) != 0 ||
	    parse_number(num, &rec->created) != 0)
		return "bad created line";
	if (take_line(&p, end, "expires=", num, sizeof num) != 0 ||
	    parse_number(num, &rec->expires) != 0)
		return "bad expires line";
	if (take_line(&p, end, "failures=", num, sizeof num) != 0 ||
	    parse_number(num, &rec->failures) != 0)
		return "bad failures line";
	if (p != end)
		return "trailing data";
	size_t params = yescrypt_params_len(rec->hash);
	if (params == 0)
		return "not a yescrypt hash";
	if (!params_expected(rec->hash, params))
		return "yescrypt parameters differ from the ones this version uses";
	if (rec->created <= 0 || rec->expires <= rec->created)
		return "expiry not after creation";
	if (rec->expires - rec->created > OFFLINE_MAX_HOURS * 3600)
		return "lifetime beyond the longest offline_cache";
	if (rec->failures > FAILURES_LIMIT)
		return "failure count out of range";
	return NULL;
}

static int format_record(char *out, size_t outsize, const struct record *rec)
{
	int n = snprintf(out, outsize, MAGIC "hash=%s\ncreated=%lld\nexpires=%lld\nfailures=%lld\n",
			 rec->hash, rec->created, rec->expires, rec->failures);
	return n > 0 && (size_t)n < outsize ? n : -1;
}

/* Read the entry's record. OFFLINE_OK: loaded into rec. OFFLINE_NONE: there
 * is none. OFFLINE_CORRUPT: *why says what is wrong with it (not removed
 * here). OFFLINE_ERROR: msg says why it could not be read. */
static enum offline_result read_record(struct entry *e, struct record *rec, const char **why,
				       char *msg, size_t msgsize)
{
	char text[RECORD_MAX + 1];
	struct stat sb;
	size_t len = 0;

	*why = NULL;
	int fd = openat(e->dirfd, e->file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return OFFLINE_NONE;
		if (errno == ELOOP) {
			*why = "a symbolic link";
			return OFFLINE_CORRUPT;
		}
		snprintf(msg, msgsize, "%s/%s: %s", e->dir, e->file, strerror(errno));
		return OFFLINE_ERROR;
	}
	if (fstat(fd, &sb) != 0)
		*why = "cannot stat";
	else if ((*why = unsafe(&sb, 0)) == NULL && sb.st_size > RECORD_MAX)
		*why = "too large";
	while (*why == NULL) {
		ssize_t r = read(fd, text + len, sizeof text - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = "unreadable";
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > RECORD_MAX)
			*why = "too large"; /* it grew under us */
	}
	close(fd);
	if (*why == NULL)
		*why = parse_record(text, len, rec);
	explicit_bzero(text, sizeof text);
	return *why == NULL ? OFFLINE_OK : OFFLINE_CORRUPT;
}

static void iso_time(char *out, size_t outsize, long long t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsize, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsize, "@%lld", t);
}

/* yescrypt of password with setting, into hash; 0, or -1 with errno. */
static int hash_password(const char *password, const char *setting, char *hash, size_t hashsize)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	int rc = -1;

	if (cd == NULL)
		return -1;
	const char *h = crypt_rn(password, setting, cd, (int)sizeof *cd);
	int saved = errno;
	if (h != NULL && h[0] != '*' && strlen(h) < hashsize) {
		memcpy(hash, h, strlen(h) + 1);
		rc = 0;
	} else if (h != NULL) {
		saved = EINVAL;
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	errno = saved;
	return rc;
}

/* --- the interface -------------------------------------------------------- */

int offline_store(const char *state_dir, const char *identifier, const char *password, long hours,
		  time_t now, char *msg, size_t msgsize)
{
	struct entry e;
	struct record rec;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char text[RECORD_MAX + 1];
	int rc = -1;

	msg[0] = '\0';
	if (hours < 1 || hours > OFFLINE_MAX_HOURS) {
		snprintf(msg, msgsize, "offline_cache must be 1 to %ld hours", OFFLINE_MAX_HOURS);
		return -1;
	}
	if (password == NULL || password[0] == '\0' ||
	    strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE) {
		snprintf(msg, msgsize, "password empty or longer than %d bytes; not cached",
			 CRYPT_MAX_PASSPHRASE_SIZE - 1);
		return -1;
	}
	if ((long long)now <= 0) {
		snprintf(msg, msgsize, "the clock is not set; not cached");
		return -1;
	}
	if (entry_open(&e, state_dir, identifier, 1, msg, msgsize) != 0)
		return -1;
	memset(&rec, 0, sizeof rec);
	/* The slow part, before the lock: concurrent logins do not queue on it. */
	if (crypt_gensalt_rn("$y$", OFFLINE_YESCRYPT_COST, NULL, 0, setting, sizeof setting) ==
	    NULL) {
		snprintf(msg, msgsize, "yescrypt salt: %s", strerror(errno));
		goto out;
	}
	if (hash_password(password, setting, rec.hash, sizeof rec.hash) != 0) {
		snprintf(msg, msgsize, "yescrypt: %s", strerror(errno));
		goto out;
	}
	size_t params = yescrypt_params_len(rec.hash);
	if (params == 0 || !params_expected(rec.hash, params)) {
		snprintf(msg, msgsize, "yescrypt gave an unexpected hash format");
		goto out;
	}
	rec.created = (long long)now;
	rec.expires = rec.created + hours * 3600;
	rec.failures = 0;
	int n = format_record(text, sizeof text, &rec);
	if (n < 0) {
		snprintf(msg, msgsize, "record too long");
		goto out;
	}
	if (entry_lock(&e, OFFLINE_LOCK_WAIT_MS, msg, msgsize) != 0)
		goto out;
	if (write_atomic(e.dirfd, e.file, text, (size_t)n) != 0) {
		snprintf(msg, msgsize, "%s/%s: %s", e.dir, e.file, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(text, sizeof text);
	explicit_bzero(&rec, sizeof rec);
	explicit_bzero(setting, sizeof setting);
	entry_close(&e);
	return rc;
}

/* Replace the record with rec, or remove it when that fails: a failure
 * count that cannot be kept must not turn into unlimited guesses. */
static int rewrite_or_remove(struct entry *e, const struct record *rec, const char **note)
{
	char text[RECORD_MAX + 1];
	int n = format_record(text, sizeof text, rec);
	int ok = n > 0 && write_atomic(e->dirfd, e->file, text, (size_t)n) == 0;
	explicit_bzero(text, sizeof text);
	if (ok) {
		*note = "";
		return 0;
	}
	if (unlinkat(e->dirfd, e->file, 0) == 0 || errno == ENOENT) {
		*note = "; cannot rewrite the record, removed it";
		return 0;
	}
	*note = "; cannot rewrite or remove the record";
	return -1;
}

enum offline_result offline_check(const char *state_dir, const char *identifier,
				  const char *password, long hours, int max_failures, time_t now,
				  char *msg, size_t msgsize)
{
	struct entry e;
	struct record rec;
	const char *why = NULL, *note = "";
	char hash[HASH_MAX + 1];
	char t1[32], t2[32];
	enum offline_result res;

	msg[0] = '\0';
	memset(&rec, 0, sizeof rec);
	hash[0] = '\0';
	if (password == NULL || password[0] == '\0') {
		snprintf(msg, msgsize, "empty password");
		return OFFLINE_ERROR;
	}
	if ((long long)now <= 0) {
		snprintf(msg, msgsize, "the clock is not set");
		return OFFLINE_ERROR;
	}
	int o = entry_open(&e, state_dir, identifier, 0, msg, msgsize);
	if (o == -2) {
		snprintf(msg, msgsize, "no offline record (no %s)", state_dir);
		return OFFLINE_NONE;
	}
	if (o != 0)
		return OFFLINE_ERROR;
	/* Held through the hash and the rewrite: concurrent guesses are counted
	 * one after the other, never lost. */
	if (entry_lock(&e, OFFLINE_LOCK_WAIT_MS, msg, msgsize) != 0) {
		res = OFFLINE_ERROR;
		goto out;
	}
	res = read_record(&e, &rec, &why, msg, msgsize);
	if (res == OFFLINE_NONE) {
		snprintf(msg, msgsize, "no offline record");
		goto out;
	}
	if (res == OFFLINE_OK && rec.created > (long long)now + OFFLINE_CLOCK_SKEW) {
		/* The clock, not the record, is wrong (a laptop offline with a
		 * dead RTC): without a clock there is no expiry, so no trust;
		 * but the record stays for when the clock is right again. */
		iso_time(t1, sizeof t1, rec.created);
		snprintf(msg, msgsize,
			 "offline record created %s, in the future: the clock is wrong; not "
			 "trusted",
			 t1);
		res = OFFLINE_ERROR;
		goto out;
	}
	if (res == OFFLINE_CORRUPT) {
		int gone = unlinkat(e.dirfd, e.file, 0) == 0 || errno == ENOENT;
		snprintf(msg, msgsize, "offline record %s/%s: %s; %s", e.dir, e.file, why,
			 gone ? "removed, not trusted" : "not trusted, and cannot remove it");
		goto out;
	}
	if (res != OFFLINE_OK)
		goto out;

	long h = hours < 0 ? 0 : hours > OFFLINE_MAX_HOURS ? OFFLINE_MAX_HOURS : hours;
	long long expires = rec.created + h * 3600;
	if (rec.expires < expires)
		expires = rec.expires;
	iso_time(t1, sizeof t1, rec.created);
	iso_time(t2, sizeof t2, expires);
	if ((long long)now >= expires) {
		unlinkat(e.dirfd, e.file, 0);
		snprintf(msg, msgsize, "offline record from %s expired at %s; removed", t1, t2);
		res = OFFLINE_EXPIRED;
		goto out;
	}
	if (rec.failures >= max_failures) {
		snprintf(msg, msgsize,
			 "offline record locked after %lld wrong passwords; refused until the "
			 "next online sign-in",
			 rec.failures);
		res = OFFLINE_LOCKED;
		goto out;
	}
	if (hash_password(password, rec.hash, hash, sizeof hash) != 0 && errno != ERANGE) {
		snprintf(msg, msgsize, "yescrypt: %s", strerror(errno));
		res = OFFLINE_ERROR;
		goto out;
	}
	/* The lengths are not secret (every yescrypt hash here has the same);
	 * the bytes are compared in constant time. */
	size_t len = strlen(rec.hash);
	if (strlen(hash) == len && CRYPTO_memcmp(hash, rec.hash, len) == 0) {
		long long had = rec.failures;
		if (had > 0) {
			rec.failures = 0;
			rewrite_or_remove(&e, &rec, &note);
		}
		snprintf(msg, msgsize,
			 "offline record from %s matches (valid until %s; %lld earlier wrong "
			 "passwords%s)",
			 t1, t2, had, note);
		res = OFFLINE_OK;
		goto out;
	}
	rec.failures++;
	if (rewrite_or_remove(&e, &rec, &note) != 0)
		res = OFFLINE_ERROR; /* the failure could not be counted */
	else
		res = OFFLINE_WRONG;
	snprintf(msg, msgsize, "wrong offline password (%lld of %d)%s", rec.failures, max_failures,
		 note);
out:
	explicit_bzero(hash, sizeof hash);
	explicit_bzero(&rec, sizeof rec);
	entry_close(&e);
	return res;
}

int offline_forget(const char *state_dir, const char *identifier, char *msg, size_t msgsize)
{
	struct entry e;
	char busy[200] = "";

	msg[0] = '\0';
	int o = entry_open(&e, state_dir, identifier, 0, msg, msgsize);
	if (o == -2)
		return 0;
	if (o != 0)
		return -1;
	/* Removing needs no lock, but with it a check in progress cannot write
	 * the record back after us. Busy past the wait: remove it anyway. */
	entry_lock(&e, OFFLINE_LOCK_WAIT_MS, busy, sizeof busy);
	int rc = 0;
	if (unlinkat(e.dirfd, e.file, 0) != 0 && errno != ENOENT) {
		snprintf(msg, msgsize, "%s/%s: %s", e.dir, e.file, strerror(errno));
		rc = -1;
	}
	entry_close(&e);
	return rc;
}

const char *offline_result_name(enum offline_result r)
{
	switch (r) {
	case OFFLINE_OK: return "ok";
	case OFFLINE_WRONG: return "wrong";
	case OFFLINE_LOCKED: return "locked";
	case OFFLINE_EXPIRED: return "expired";
	case OFFLINE_NONE: return "none";
	case OFFLINE_CORRUPT: return "corrupt";
	case OFFLINE_ERROR: return "error";
	}
	return "error";
}
