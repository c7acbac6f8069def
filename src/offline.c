#include "config.h"

#include "offline.h"

#include "buf.h"
#include "offline_claims.h"
#include "state.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
 *	claims=,<org_id>,<org_slug>,<org_role>	(optional: the claims of the
 *		verified session token of that sign-in, for the rules)
 */
#define MAGIC	       "pam_clerk offline v1\n"
#define RECORD_MAX     1024 /* bytes in a record file; a real one is ~150 */
#define CLAIMS_MAX     400
#define HASH_MAX       160 /* bytes of the hash field; yescrypt's is 73 */
#define NUMBER_DIGITS  18  /* < LLONG_MAX, so sums of two never overflow */
#define FAILURES_LIMIT 1000
#define YESCRYPT_BODY  43 /* base64 characters of a yescrypt hash */

struct record {
	char hash[HASH_MAX + 1];
	long long created;
	long long expires;
	long long failures;
	char claims[CLAIMS_MAX]; /* ",org_id,org_slug,org_role", or "" for none */
};

/* One identifier's record in state_dir, and its lock once entry_lock took
 * it: the identifier's one lock, which the stored client uses too. */
struct entry {
	const char *dir;
	struct state st;
	char file[80]; /* <sha256 hex>.offline */
};

/* Returns 0, -1 (msg says why) or -2 (no directory, create not set). */
static int entry_open(struct entry *e, const char *dir, const char *identifier, bool create,
		      char *msg, size_t msgsize)
{
	e->dir = dir;
	int rc = state_open(&e->st, dir, identifier, create, msg, msgsize);
	state_file_name(&e->st, ".offline", e->file, sizeof e->file);
	return rc;
}

static int entry_lock(struct entry *e, char *msg, size_t msgsize)
{
	return state_lock(&e->st, STATE_LOCK_WAIT_MS, msg, msgsize);
}

static void entry_close(struct entry *e)
{
	state_close(&e->st);
}

/* Whether a record is there at all: with none, a check or a forget has
 * nothing to wait for (the identifier's lock may be held by a login using
 * its stored client). */
static bool entry_present(const struct entry *e)
{
	struct stat sb;
	return fstatat(e->st.dirfd, e->file, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
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
	if ((size_t)(end - p) > 7 && memcmp(p, "claims=", 7) == 0 &&
	    take_line(&p, end, "claims=", rec->claims, sizeof rec->claims) != 0)
		return "bad claims line";
	if (p != end)
		return "trailing data";
	if (rec->claims[0] != '\0' && !offline_claims_valid(rec->claims))
		return "bad claims line";
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
	int n = snprintf(out, outsize,
			 MAGIC "hash=%s\ncreated=%lld\nexpires=%lld\nfailures=%lld\n%s%s%s",
			 rec->hash, rec->created, rec->expires, rec->failures,
			 rec->claims[0] ? "claims=" : "", rec->claims, rec->claims[0] ? "\n" : "");
	return n > 0 && (size_t)n < outsize ? n : -1;
}

/* Read the entry's record. OFFLINE_OK: loaded into rec. OFFLINE_NONE: there
 * is none. OFFLINE_CORRUPT: why (of whysize) says what is wrong with it
 * (not removed here). */
static enum offline_result read_record(struct entry *e, struct record *rec, char *why,
				       size_t whysize)
{
	struct buf b;
	const char *bad = NULL;

	why[0] = '\0';
	buf_init(&b, RECORD_MAX);
	int rc = state_file_read(e->st.dirfd, e->file, &b, NULL, why, whysize);
	if (rc == 0 && (bad = parse_record(buf_str(&b), b.len, rec)) != NULL)
		snprintf(why, whysize, "%s", bad);
	buf_wipe(&b);
	if (rc == 1)
		return OFFLINE_NONE;
	return rc == 0 && bad == NULL ? OFFLINE_OK : OFFLINE_CORRUPT;
}

static void iso_time(char *out, size_t outsize, long long t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsize, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsize, "@%lld", t);
}

/* yescrypt of password with setting, into hash (offline.h). */
int offline_hash_password(const char *password, const char *setting, char *hash, size_t hashsize)
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
		  time_t now, const struct jwt_claims *claims, char *msg, size_t msgsize)
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
	if (entry_open(&e, state_dir, identifier, true, msg, msgsize) != 0)
		return -1;
	memset(&rec, 0, sizeof rec);
	/* The slow part, before the lock: concurrent logins do not queue on it. */
	if (crypt_gensalt_rn("$y$", OFFLINE_YESCRYPT_COST, NULL, 0, setting, sizeof setting) ==
	    NULL) {
		snprintf(msg, msgsize, "yescrypt salt: %s", strerror(errno));
		goto out;
	}
	if (offline_hash_password(password, setting, rec.hash, sizeof rec.hash) != 0) {
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
	if (claims != NULL)
		offline_claims_format(rec.claims, sizeof rec.claims, claims);
	int n = format_record(text, sizeof text, &rec);
	if (n < 0) {
		snprintf(msg, msgsize, "record too long");
		goto out;
	}
	if (entry_lock(&e, msg, msgsize) != 0)
		goto out;
	if (state_file_write(e.st.dirfd, e.file, text, (size_t)n) != 0) {
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
	int ok = n > 0 && state_file_write(e->st.dirfd, e->file, text, (size_t)n) == 0;
	explicit_bzero(text, sizeof text);
	if (ok) {
		*note = "";
		return 0;
	}
	if (unlinkat(e->st.dirfd, e->file, 0) == 0 || errno == ENOENT) {
		*note = "; cannot rewrite the record, removed it";
		return 0;
	}
	*note = "; cannot rewrite or remove the record";
	return -1;
}

static enum offline_result offline_check_record(const char *state_dir, const char *identifier,
						const char *password, long hours, int max_failures,
						time_t now, struct jwt_claims *claims,
						bool *has_claims, char *msg, size_t msgsize);

/* The work of a password check, for an identifier that has no record: an
 * outage answers in the same time whether or not there is one. */
static void hash_for_time(const char *password)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], hash[HASH_MAX + 1];
	if (crypt_gensalt_rn("$y$", OFFLINE_YESCRYPT_COST, NULL, 0, setting, sizeof setting) !=
	    NULL)
		offline_hash_password(password, setting, hash, sizeof hash);
	explicit_bzero(hash, sizeof hash);
}

enum offline_result offline_check(const char *state_dir, const char *identifier,
				  const char *password, long hours, int max_failures, time_t now,
				  struct jwt_claims *claims, bool *has_claims, char *msg,
				  size_t msgsize)
{
	*has_claims = false;
	enum offline_result res =
		offline_check_record(state_dir, identifier, password, hours, max_failures, now,
				     claims, has_claims, msg, msgsize);
	if (res == OFFLINE_NONE)
		hash_for_time(password);
	return res;
}

static enum offline_result offline_check_record(const char *state_dir, const char *identifier,
						const char *password, long hours, int max_failures,
						time_t now, struct jwt_claims *claims,
						bool *has_claims, char *msg, size_t msgsize)
{
	struct entry e;
	struct record rec;
	const char *note = "";
	char why[200];
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
	int o = entry_open(&e, state_dir, identifier, false, msg, msgsize);
	if (o == -2) {
		snprintf(msg, msgsize, "no offline record (no %s)", state_dir);
		return OFFLINE_NONE;
	}
	if (o != 0)
		return OFFLINE_ERROR;
	if (!entry_present(&e)) {
		snprintf(msg, msgsize, "no offline record");
		entry_close(&e);
		return OFFLINE_NONE;
	}
	/* Held through the hash and the rewrite: concurrent guesses are counted
	 * one after the other, never lost. */
	if (entry_lock(&e, msg, msgsize) != 0) {
		res = OFFLINE_ERROR;
		goto out;
	}
	res = read_record(&e, &rec, why, sizeof why);
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
		int gone = unlinkat(e.st.dirfd, e.file, 0) == 0 || errno == ENOENT;
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
		unlinkat(e.st.dirfd, e.file, 0);
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
	if (offline_hash_password(password, rec.hash, hash, sizeof hash) != 0 && errno != ERANGE) {
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
		*has_claims = rec.claims[0] != '\0';
		if (*has_claims)
			offline_claims_parse(rec.claims, claims);
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
	int o = entry_open(&e, state_dir, identifier, false, msg, msgsize);
	if (o == -2)
		return 0;
	if (o != 0)
		return -1;
	if (!entry_present(&e)) {
		entry_close(&e);
		return 0;
	}
	/* Removing needs no lock, but with it a check in progress cannot write
	 * the record back after us. Busy past the wait: remove it anyway. */
	entry_lock(&e, busy, sizeof busy);
	int rc = 0;
	if (unlinkat(e.st.dirfd, e.file, 0) != 0 && errno != ENOENT) {
		snprintf(msg, msgsize, "%s/%s: %s", e.dir, e.file, strerror(errno));
		rc = -1;
	}
	entry_close(&e);
	return rc;
}

int offline_forget_matching(const char *state_dir, const char *identifier, const char *password,
			    char *msg, size_t msgsize)
{
	struct entry e;
	struct record rec;
	char why[200], hash[HASH_MAX + 1] = "";
	msg[0] = '\0';
	int o = entry_open(&e, state_dir, identifier, false, msg, msgsize);
	if (o == -2)
		return 0;
	if (o != 0)
		return -1;
	int rc = 0;
	memset(&rec, 0, sizeof rec);
	if (entry_present(&e) && entry_lock(&e, msg, msgsize) == 0 &&
	    read_record(&e, &rec, why, sizeof why) == OFFLINE_OK && password != NULL &&
	    offline_hash_password(password, rec.hash, hash, sizeof hash) == 0 &&
	    strlen(hash) == strlen(rec.hash) && CRYPTO_memcmp(hash, rec.hash, strlen(hash)) == 0 &&
	    unlinkat(e.st.dirfd, e.file, 0) != 0 && errno != ENOENT) {
		snprintf(msg, msgsize, "%s/%s: %s", e.dir, e.file, strerror(errno));
		rc = -1;
	}
	explicit_bzero(hash, sizeof hash);
	explicit_bzero(&rec, sizeof rec);
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
