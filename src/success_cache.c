#include "config.h"

#include "success_cache.h"

#include "buf.h"
#include "offline.h"
#include "state.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_MAX   160 /* the sscanf width below is one less */
#define FILE_MAX   1024
#define SUFFIX	   ".success"
#define MAGIC	   "pam_clerk success v1\n"
#define CLOCK_SKEW 5 /* a file's time may run a little ahead of ours */

/* An identifier at one Frontend API: the hex SHA-256 of "url\nidentifier". */
static int entry_key(const char *fapi_url, const char *identifier, char key[65])
{
	char both[1400];
	int n = snprintf(both, sizeof both, "%s\n%s", fapi_url, identifier);
	if (n < 0 || (size_t)n >= sizeof both)
		return -1;
	return state_name(both, key);
}

static bool hash_matches(const char *password, const char *hash)
{
	char again[HASH_MAX];
	size_t len = strlen(hash);
	if (len == 0 || offline_hash_password(password, hash, again, sizeof again) != 0)
		return false;
	bool same = strlen(again) == len && CRYPTO_memcmp(again, hash, len) == 0;
	explicit_bzero(again, sizeof again);
	return same;
}

static bool fresh(time_t at, time_t now, long seconds)
{
	return now - at > -CLOCK_SKEW && now - at < seconds;
}

/* --- in the process ---------------------------------------------------------- */

static struct slot {
	char key[65];
	char hash[HASH_MAX];
	time_t at;
} slots[SUCCESS_CACHE_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of key, or (take) a free or the oldest one. Lock held. */
static struct slot *slot_for(const char *key, bool take)
{
	struct slot *oldest = &slots[0];
	for (size_t i = 0; i < SUCCESS_CACHE_SLOTS; i++) {
		if (strcmp(slots[i].key, key) == 0)
			return &slots[i];
		if (slots[i].at < oldest->at)
			oldest = &slots[i];
	}
	return take ? oldest : NULL;
}

/* The hash and time kept for key, copied out (hashing runs unlocked). */
static bool mem_get(const char *key, char hash[HASH_MAX], time_t *at)
{
	pthread_mutex_lock(&slots_lock);
	struct slot *s = slot_for(key, false);
	if (s != NULL) {
		memcpy(hash, s->hash, HASH_MAX);
		*at = s->at;
	}
	pthread_mutex_unlock(&slots_lock);
	return s != NULL;
}

static void mem_put(const char *key, const char *hash, time_t at)
{
	pthread_mutex_lock(&slots_lock);
	struct slot *s = slot_for(key, true);
	snprintf(s->key, sizeof s->key, "%s", key);
	snprintf(s->hash, sizeof s->hash, "%s", hash);
	s->at = at;
	pthread_mutex_unlock(&slots_lock);
}

static void mem_forget(const char *key)
{
	pthread_mutex_lock(&slots_lock);
	struct slot *s = slot_for(key, false);
	if (s != NULL)
		explicit_bzero(s, sizeof *s);
	pthread_mutex_unlock(&slots_lock);
}

/* --- in state_dir: "<sha256(identifier)>.success" ------------------------------ */

/* The record: MAGIC, the key, the time, the hash, one per line. 1 when
 * found, 0 when missing or unusable, -1 when state_dir cannot be used. */
static int file_get(const char *state_dir, const char *identifier, const char *key,
		    char hash[HASH_MAX], time_t *at)
{
	struct state st;
	char name[80], why[200], k[65] = "";
	long long t = 0;
	bool ok = false;
	if (state_open(&st, state_dir, identifier, false, why, sizeof why) != 0)
		return -1;
	struct buf b;
	buf_init(&b, FILE_MAX);
	state_file_name(&st, SUFFIX, name, sizeof name);
	if (state_file_read(st.dirfd, name, &b, NULL, why, sizeof why) == 0) {
		const char *text = buf_str(&b);
		size_t m = sizeof MAGIC - 1;
		/* 159: HASH_MAX - 1 */
		ok = b.len > m && memcmp(text, MAGIC, m) == 0 &&
		     sscanf(text + m, "%64[0-9a-f]\n%lld\n%159[^\n]\n", k, &t, hash) == 3 &&
		     strcmp(k, key) == 0;
	}
	buf_wipe(&b);
	state_close(&st);
	*at = (time_t)t;
	return ok ? 1 : 0;
}

static int file_put(const char *state_dir, const char *identifier, const char *key,
		    const char *hash, time_t at, char *msg, size_t msgsize)
{
	struct state st;
	char name[80], text[FILE_MAX];
	if (state_open(&st, state_dir, identifier, true, msg, msgsize) != 0)
		return -1;
	state_file_name(&st, SUFFIX, name, sizeof name);
	int n = snprintf(text, sizeof text, MAGIC "%s\n%lld\n%s\n", key, (long long)at, hash);
	int rc = n > 0 && (size_t)n < sizeof text
			 ? state_file_write(st.dirfd, name, text, (size_t)n)
			 : -1;
	if (rc != 0)
		snprintf(msg, msgsize, "cannot write to %s", state_dir);
	explicit_bzero(text, sizeof text);
	state_close(&st);
	return rc;
}

static void file_forget(const char *state_dir, const char *identifier)
{
	struct state st;
	char name[80], why[200];
	if (state_open(&st, state_dir, identifier, false, why, sizeof why) != 0)
		return;
	state_file_name(&st, SUFFIX, name, sizeof name);
	unlinkat(st.dirfd, name, 0);
	state_close(&st);
}

/* --- the interface ------------------------------------------------------------ */

bool success_cache_check(const char *state_dir, const char *fapi_url, const char *identifier,
			 const char *password, long seconds, time_t now, long *age)
{
	char key[65], hash[HASH_MAX] = "";
	time_t at = 0;
	bool match = false;
	if (seconds <= 0 || seconds > SUCCESS_CACHE_MAX_SECONDS ||
	    entry_key(fapi_url, identifier, key) != 0)
		return false;
	/* state_dir, when it can be used, decides for every process of the host
	 * (a refusal seen by one removes the file); else the process's memory. */
	int in_file = state_dir != NULL ? file_get(state_dir, identifier, key, hash, &at) : -1;
	if (in_file < 0 && !mem_get(key, hash, &at))
		hash[0] = '\0';
	if (in_file != 0 && hash[0] != '\0' && fresh(at, now, seconds))
		match = hash_matches(password, hash);
	explicit_bzero(hash, sizeof hash);
	if (match)
		*age = (long)(now - at);
	return match;
}

int success_cache_store(const char *state_dir, const char *fapi_url, const char *identifier,
			const char *password, time_t now, char *msg, size_t msgsize)
{
	char key[65], setting[CRYPT_GENSALT_OUTPUT_SIZE], hash[HASH_MAX];
	if (entry_key(fapi_url, identifier, key) != 0) {
		snprintf(msg, msgsize, "identifier too long");
		return -1;
	}
	if (crypt_gensalt_rn("$y$", OFFLINE_YESCRYPT_COST, NULL, 0, setting, sizeof setting) ==
		    NULL ||
	    offline_hash_password(password, setting, hash, sizeof hash) != 0) {
		snprintf(msg, msgsize, "yescrypt: %s", strerror(errno));
		return -1;
	}
	mem_put(key, hash, now);
	int rc = state_dir != NULL ? file_put(state_dir, identifier, key, hash, now, msg, msgsize)
				   : 0;
	explicit_bzero(hash, sizeof hash);
	return rc;
}

void success_cache_forget(const char *state_dir, const char *fapi_url, const char *identifier)
{
	char key[65];
	if (entry_key(fapi_url, identifier, key) != 0)
		return;
	mem_forget(key);
	if (state_dir != NULL)
		file_forget(state_dir, identifier);
}
