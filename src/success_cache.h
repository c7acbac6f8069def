/* The success cache (cached_auth_timeout=SECONDS, like SSSD's
 * cached_auth_timeout): a host that runs one PAM login per request (a web
 * or mail server) may accept the identifier and password of a recent online
 * success without asking Clerk again. What is kept is a yescrypt hash, in
 * the process's memory (hosts that keep the module loaded) and in state_dir
 * when it can be used (hosts that start afresh per login). Never kept for a
 * sign-in that needed a second factor or a Device Trust code; forgotten
 * when Clerk refuses the identifier. */
#ifndef PAM_CLERK_SUCCESS_CACHE_H
#define PAM_CLERK_SUCCESS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The longest cached_auth_timeout accepted, in seconds. */
#define SUCCESS_CACHE_MAX_SECONDS 600L
/* Entries the process keeps; past that the oldest goes. */
#define SUCCESS_CACHE_SLOTS 64

/* Whether identifier and password match an online success with this
 * Frontend API less than seconds ago (state_dir may be NULL). *age gets
 * the success's age in seconds on a match. */
bool success_cache_check(const char *state_dir, const char *fapi_url, const char *identifier,
			 const char *password, long seconds, time_t now, long *age);

/* Keep an online success (call only for one that needed no further factor).
 * 0, or -1 with the reason in msg (the memory copy is kept anyway). */
int success_cache_store(const char *state_dir, const char *fapi_url, const char *identifier,
			const char *password, time_t now, char *msg, size_t msgsize);

/* Forget the identifier (Clerk refused it), in memory and in state_dir. */
void success_cache_forget(const char *state_dir, const char *fapi_url, const char *identifier);

#endif
