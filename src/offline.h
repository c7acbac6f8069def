/* The offline credential cache (offline_cache=HOURS): after a successful
 * online sign-in, a yescrypt hash of the password is kept in state_dir, one
 * 0600 file per identifier, so that the user can still sign in while Clerk
 * cannot be reached. Only the PAM glue decides when a check is allowed (never
 * after a 4xx answer); this file only keeps and checks the records. */
#ifndef PAM_CLERK_OFFLINE_H
#define PAM_CLERK_OFFLINE_H

#include "jwt.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The longest offline_cache accepted (hours): a record whose lifetime is
 * longer than this is never trusted, whatever the configuration says. */
#define OFFLINE_MAX_HOURS 8760L
/* How far in the future a record's creation time may lie (clock skew). */
#define OFFLINE_CLOCK_SKEW 300L
/* yescrypt cost: libxcrypt's default, the one Debian's pam_unix and
 * login.defs (YESCRYPT_COST_FACTOR) use for /etc/shadow. Records made with
 * other parameters are not trusted. */
#define OFFLINE_YESCRYPT_COST 5UL

/* Ordered so that a zeroed or forgotten result is never OFFLINE_OK. */
enum offline_result {
	OFFLINE_ERROR,	 /* unsafe state_dir, I/O error, busy, a record from the
			    future (clock wrong): nothing decided, nothing removed */
	OFFLINE_NONE,	 /* no record for this identifier */
	OFFLINE_EXPIRED, /* the record is too old; removed */
	OFFLINE_CORRUPT, /* unreadable, malformed or unsafe record; removed */
	OFFLINE_LOCKED,	 /* max_failures wrong passwords: refused until online */
	OFFLINE_WRONG,	 /* wrong password; counted */
	OFFLINE_OK,	 /* the cached password matches */
};

/* Keep a record of password for identifier in state_dir (created 0700 if
 * missing), valid for hours (1..OFFLINE_MAX_HOURS) from now, with no
 * failures. Call after a successful online sign-in that needed the
 * password alone only. claims (or NULL): the organization claims of that
 * sign-in's verified session token, kept for the rules offline. Returns 0, or -1
 * with the reason in msg. */
int offline_store(const char *state_dir, const char *identifier, const char *password, long hours,
		  time_t now, const struct jwt_claims *claims, char *msg, size_t msgsize);

/* Check password against identifier's record while Clerk is unreachable.
 * hours is the offline_cache now configured: a record older than that
 * counts as expired even if it was stored under a longer setting (0: every
 * record is expired). At max_failures recorded failures the record is
 * OFFLINE_LOCKED without looking at the password; a right password resets
 * the count. On OFFLINE_OK, *has_claims says whether the record keeps the
 * claims of its sign-in (then in claims). An identifier without a record
 * takes as long as one with a record (the same hash is computed). msg says
 * what happened, for the log, for every result. */
enum offline_result offline_check(const char *state_dir, const char *identifier,
				  const char *password, long hours, int max_failures, time_t now,
				  struct jwt_claims *claims, bool *has_claims, char *msg,
				  size_t msgsize);

/* Clerk refused password: remove identifier's record if it holds that very
 * password (changed or revoked in Clerk), and leave it otherwise (a
 * stranger's guess cannot wipe the user's offline access). Never creates a
 * file. 0, or -1 with the reason in msg. */
int offline_forget_matching(const char *state_dir, const char *identifier, const char *password,
			    char *msg, size_t msgsize);

/* Remove identifier's record (wrong online password, account locked or
 * banned, offline_cache turned off). Returns 0 when there is no record any
 * more, or -1 with the reason in msg. */
int offline_forget(const char *state_dir, const char *identifier, char *msg, size_t msgsize);

/* yescrypt of password with setting (a "$y$..." salt or a whole hash) into
 * hash; 0, or -1 with errno (ERANGE: hashsize too small). The success cache
 * hashes with it too. */
int offline_hash_password(const char *password, const char *setting, char *hash, size_t hashsize);

/* "ok", "wrong", "locked", "expired", "none", "corrupt", "error". */
const char *offline_result_name(enum offline_result r);

#endif
