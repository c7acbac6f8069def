/* pam-clerk sync (issue 17): Clerk users as host accounts for
 * libnss-extrausers. sync_users.c reads them from the Backend API,
 * sync_ids.c keeps the uids that never move, sync_files.c writes the
 * passwd and group files. */
#ifndef PAM_CLERK_SYNC_H
#define PAM_CLERK_SYNC_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SYNC_NAME_MAX 33 /* useradd: at most 32 characters */

/* sync_index.c: positions 0.. of some array found by their string key,
 * key(ctx, pos) (the array may move: it is asked each time). */
struct sync_index {
	const char *(*key)(const void *ctx, size_t pos);
	const void *ctx;
	size_t *slot, cap, n;
};
/* The position whose key is key, or (size_t)-1. */
size_t sync_index_find(const struct sync_index *x, const char *key);
int sync_index_add(struct sync_index *x, size_t pos);
void sync_index_free(struct sync_index *x);

struct sync_user {
	char id[64];	   /* user_... */
	char username[64]; /* "" when none */
	char email[128];   /* the primary email address, "" when none */
	char gecos[128];   /* first and last name, made safe for passwd */
	char role[40];	   /* organization role without "org:", "" when not a member */
	bool member;
};

struct sync_list {
	struct sync_user *v;
	size_t n, cap;
	unsigned long requests;	 /* Backend API requests made */
	unsigned long waits;	 /* 429 answers waited out */
	struct sync_index by_id; /* for the memberships */
};

/* Every active user (not banned, not locked), and with org the members'
 * roles (only members kept). 0, or -1 with err: the list is then not to be
 * used (a page missing means the files must stay as they are). */
int sync_fetch(const char *base_url, struct http_conn *conn, long timeout_ms,
	       const char *secret_key, const char *org, struct sync_list *out, char *err,
	       size_t errsize);
void sync_list_free(struct sync_list *l);

/* sync_names.c. A name useradd accepts (shadow's rules, lower case only,
 * not all digits, at most 32 characters): 1 or 0. */
int sync_name_ok(const char *name);
/* The account name of u by sync_name ("username", "email" for the local
 * part of the primary address, or a template of %u username, %e local
 * part, %i Clerk id, %%): 0, or -1 with why (no such value, not a name
 * useradd accepts). */
int sync_name_of(const char *how, const struct sync_user *u, char *out, size_t size, char *why,
		 size_t whysize);
/* A template of one %-escape (c, e.g. 'u' or 'r') and %% applied to value
 * into out: 0, or -1 when too long or another escape appears. */
int sync_expand(const char *tmpl, char c, const char *value, char *out, size_t size);

/* The persistent map Clerk user id -> uid, in state_dir's "sync-ids". */
struct sync_ids {
	char (*id)[64];
	uid_t *uid;
	size_t n, cap;
	uid_t min, max;
	unsigned char *used; /* one bit per uid of the range: ever given out */
	struct sync_index by_id;
	bool dirty;
};

int sync_ids_load(struct sync_ids *m, int dirfd, uid_t min, uid_t max, char *err, size_t errsize);
/* The user's uid: the one it had, or the next free one of the range that
 * no other Clerk user ever had and taken(uid) says is not used locally.
 * 0, or -1 when the range is full. */
int sync_ids_get(struct sync_ids *m, const char *clerk_id, int (*taken)(uid_t), uid_t *out);
int sync_ids_save(struct sync_ids *m, int dirfd, char *err, size_t errsize);
void sync_ids_free(struct sync_ids *m);

/* Replace dir/name with data atomically (temporary file, fsync, rename,
 * this mode and group, gid -1: the process's) unless it already holds
 * exactly that: 1 written, 0 unchanged, -1 with err. */
int sync_file_put(int dirfd, const char *name, const char *data, size_t len, mode_t mode, gid_t gid,
		  char *err, size_t errsize);

#endif
