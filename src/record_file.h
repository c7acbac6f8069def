/* A small host-wide record kept in state_dir (the sign-in pacing, the local
 * failure budget): read and rewritten under a lock held by one login at a
 * time. The data file is replaced atomically (state_file_write renames), so
 * the lock is a separate file, "<name>.lock". A record that cannot be
 * trusted (unsafe, too large, unreadable) is removed and starts empty: it
 * only ever holds counters, never a secret. */
#ifndef PAM_CLERK_RECORD_FILE_H
#define PAM_CLERK_RECORD_FILE_H

#include <stddef.h>

struct buf;

/* Lock dirfd/"<name>.lock" (an unsafe lock file, e.g. a symbolic link or
 * one not ours, is removed and made anew), waiting at most wait_ms, then
 * read dirfd/name into out (initialised by the caller; empty when the file
 * is missing). Returns the lock descriptor, or -1 with the reason in err.
 * A record that had to be removed leaves out empty and says so in err
 * (err[0] is '\0' otherwise): the caller logs it and goes on. */
int record_open(int dirfd, const char *name, long wait_ms, struct buf *out, char *err,
		size_t errsize);

/* Replace dirfd/name with data; needs the lock. 0 or -1. */
int record_save(int dirfd, const char *name, const char *data, size_t len);

/* Remove dirfd/name (a corrupt record); needs the lock. */
void record_remove(int dirfd, const char *name);

/* A record's number: a non-negative decimal of at most 15 digits (ms until
 * the year 33658) followed by sep; *p moves past sep. 0, or -1. */
int record_number(const char **p, char sep, long long *out);

/* Release the lock taken by record_open. */
void record_close(int lockfd);

#endif
