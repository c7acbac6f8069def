/* The Clerk client tokens that make this host a known device, one file per
 * identifier in state_dir. A stored client serves one login at a time, so
 * the identifier's lock is held while a login uses it (or writes one). */
#ifndef PAM_CLERK_STATE_H
#define PAM_CLERK_STATE_H

#include <stddef.h>
#include <time.h>

struct state {
	int dirfd;     /* -1: no state kept */
	int lockfd;    /* this identifier's lock, or -1 while not held */
	char name[65]; /* hex SHA-256 of the identifier: no user text in paths */
};

/* Open (creating it 0700 if missing) state_dir for the identifier, without
 * locking. Returns 0, or -1 with the reason in err: the login then goes on
 * without stored state. */
int state_open(struct state *st, const char *dir, const char *identifier, char *err,
	       size_t errsize);

/* Whether a client file (of any kind: state_load judges it) is there. */
int state_stored(const struct state *st);

/* Take the identifier's lock, waiting at most wait_ms for a concurrent
 * login; 0 (also when already held), or -1 with the reason in err. */
int state_lock(struct state *st, long wait_ms, char *err, size_t errsize);

/* The stored client token (wipe with secret_free), or NULL. A corrupt or
 * unsafe file is removed and reported in err. Needs the lock. */
char *state_load(struct state *st, char *err, size_t errsize);

/* Replace the stored token atomically. Needs the lock; 0 or -1. */
int state_save(struct state *st, const char *token);

/* Remove the stored token. Needs the lock. */
void state_drop(struct state *st);

/* Unlock and close; safe on a state that failed to open. */
void state_close(struct state *st);

/* The building blocks, for other files kept in state_dir. */
struct buf;
/* Open (creating 0700) a directory only the running user can use; fd or -1. */
int state_dir_open(const char *dir, char *err, size_t errsize);
/* The hex SHA-256 of an identifier: the stem of its files' names, so that
 * no user text reaches a path. 0 or -1. */
int state_name(const char *identifier, char out[65]);
/* Open (creating it 0600) and flock dirfd/name, waiting at most wait_ms for
 * a concurrent login: the descriptor (close it to unlock), or -1 with the
 * reason in err. */
int state_lock_file(int dirfd, const char *name, long wait_ms, char *err, size_t errsize);
/* Read a 0600 file of ours into out (at most out->max bytes); its mtime
 * in *mtime if not NULL. 0, 1 when missing, -1 unsafe (a symbolic link, not
 * a regular file, not ours, group/other bits, other hard links), too large
 * or unreadable. */
int state_file_read(int dirfd, const char *name, struct buf *out, time_t *mtime, char *err,
		    size_t errsize);
/* Replace a file atomically (temp file, fsync, rename). 0 or -1. */
int state_file_write(int dirfd, const char *name, const char *data, size_t len);

#endif
