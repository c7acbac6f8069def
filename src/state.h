/* state_dir: the one layer for what pam_clerk keeps on disk (the stored
 * clients, the offline cache, the JWKS cache). A directory only its owner
 * can use, files that are private (regular, not a link, one hard link, mode
 * 0600, owned by root or by the user the login runs as), one lock per
 * identifier, and one wait for it. No user text reaches a path: an
 * identifier's files are named by the hex SHA-256 of the identifier. */
#ifndef PAM_CLERK_STATE_H
#define PAM_CLERK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* The longest a login waits for a concurrent login of the same identifier. */
#define STATE_LOCK_WAIT_MS 5000L

struct buf;

/* One identifier's place in state_dir. */
struct state {
	int dirfd;     /* -1: no state kept */
	int lockfd;    /* this identifier's lock, or -1 while not held */
	char name[65]; /* hex SHA-256 of the identifier: the stem of its files */
};

/* Open state_dir for the identifier, without locking; create the directory
 * (0700) if missing when create is set. 0; -2 when it is missing and create
 * is not set; -1 with the reason in err. */
int state_open(struct state *st, const char *dir, const char *identifier, bool create, char *err,
	       size_t errsize);

/* Take the identifier's lock ("<name>.lock"), waiting at most wait_ms for a
 * concurrent login; 0 (also when already held), or -1 with the reason. */
int state_lock(struct state *st, long wait_ms, char *err, size_t errsize);

/* Open (creating it as a private file) and flock dirfd/name, waiting at
 * most wait_ms: the descriptor (close it to unlock), or -1 with the reason.
 * state_lock uses it for an identifier; host-wide records for their own. */
int state_lock_file(int dirfd, const char *name, long wait_ms, char *err, size_t errsize);

/* The hex SHA-256 of an identifier (or any key): the stem of its files'
 * names, so that no user text reaches a path. 0 or -1. */
int state_name(const char *identifier, char out[65]);

/* Unlock and close; safe on a state that failed to open. */
void state_close(struct state *st);

/* The identifier's file with this suffix ("<name>.token"). */
void state_file_name(const struct state *st, const char *suffix, char *out, size_t outsize);

/* Open (creating 0700) a directory only the running user can use; fd or -1. */
int state_dir_open(const char *dir, char *err, size_t errsize);

/* The one safe open of a private file (dirfd may be AT_FDCWD): never
 * follows a link; the file must be regular, with one hard link, owned by
 * root or the user the login runs as, and no group or other bits. fd; -2
 * when missing (without O_CREAT); -1 with the reason in err. */
int state_private_open(int dirfd, const char *name, int flags, char *err, size_t errsize);

/* Read a private file into out (at most out->max bytes); its mtime in
 * *mtime if not NULL. 0, 1 when missing, -1 unsafe, too large or
 * unreadable (err says which). */
int state_file_read(int dirfd, const char *name, struct buf *out, time_t *mtime, char *err,
		    size_t errsize);

/* Replace a file atomically (temp file 0600, fsync, rename). 0 or -1. */
int state_file_write(int dirfd, const char *name, const char *data, size_t len);

#endif
