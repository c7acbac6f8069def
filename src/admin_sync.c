/* pam-clerk sync (issue 17): the instance's active users (with
 * organization, its members, and a group per role) written as accounts
 * for libnss-extrausers, so sshd and login know them without useradd.
 * Never shadows a local account: a name, uid or group another source
 * (/etc/passwd or any NSS source) already has is skipped with a warning. */
#include "config.h"

#include "admin.h"
#include "bapi.h"
#include "buf.h"
#include "login.h"
#include "sanitize.h"
#include "state.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX (256L * 1024 * 1024)

struct sync_conf {
	const char *name, *home, *shell, *role_group, *dir;
	unsigned long uid_min, uid_max;
};

/* One passwd or group line: its name, id and whole text. */
struct entry {
	char name[SYNC_NAME_MAX + 64];
	unsigned long id;
	char *line;
};

struct table {
	struct entry *v;
	size_t n, cap;
	struct sync_index by_name;
};

static const char *name_at(const void *ctx, size_t pos)
{
	return ((const struct table *)ctx)->v[pos].name;
}

/* What the files held before this run: ours to replace, not collisions. */
static struct table old_pw, old_gr;

static int table_add(struct table *t, const char *name, unsigned long id, const char *line)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct entry *v = realloc(t->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	struct entry *e = &t->v[t->n];
	snprintf(e->name, sizeof e->name, "%s", name);
	e->id = id;
	e->line = strdup(line);
	if (e->line == NULL)
		return -1;
	t->by_name.key = name_at;
	t->by_name.ctx = t;
	return sync_index_add(&t->by_name, t->n++);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].line);
	free(t->v);
	sync_index_free(&t->by_name);
	memset(t, 0, sizeof *t);
}

static const struct entry *by_name(const struct table *t, const char *name)
{
	size_t i = sync_index_find(&t->by_name, name);
	return i == (size_t)-1 ? NULL : &t->v[i];
}

/* name is ours from the last run, with this id. */
static bool was_ours(const struct table *t, const char *name, unsigned long id)
{
	const struct entry *e = by_name(t, name);
	return e != NULL && e->id == id;
}

/* The previous file's lines (missing: none). */
static int read_old(int dirfd, const char *name, struct table *t)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c1 == NULL || c2 == NULL || (size_t)(c1 - line) >= SYNC_NAME_MAX + 63)
			continue;
		char nm[SYNC_NAME_MAX + 64];
		memcpy(nm, line, (size_t)(c1 - line));
		nm[c1 - line] = '\0';
		rc = table_add(t, nm, strtoul(c2 + 1, NULL, 10), line);
	}
	free(line);
	fclose(f);
	return rc;
}

/* A uid (or gid: they go together) another account source uses. */
static int id_taken(uid_t id)
{
	struct passwd *pw = getpwuid(id);
	struct group *gr = getgrgid((gid_t)id);
	return (pw && !was_ours(&old_pw, pw->pw_name, id)) ||
	       (gr && !was_ours(&old_gr, gr->gr_name, id));
}

static int parse_opts(struct sync_conf *s, const struct admin_opts *o)
{
	*s = (struct sync_conf){
		"username", "/home/%u", "/bin/bash", "clerk-%r", "/var/lib/extrausers",
		200000,	    299999
	};
	for (int i = 0; i < o->nsync; i++) {
		const char *a = o->sync_args[i], *v = strchr(a, '=');
		size_t klen = v ? (size_t)(v - a) : strlen(a);
		char *end;
		if (v == NULL || v[1] == '\0')
			goto bad;
		v++;
#define KEY(k) (klen == strlen(k) && strncmp(a, k, klen) == 0)
		if (KEY("sync_name"))
			s->name = v;
		else if (KEY("sync_home"))
			s->home = v;
		else if (KEY("sync_shell"))
			s->shell = v;
		else if (KEY("sync_role_group"))
			s->role_group = v;
		else if (KEY("sync_dir"))
			s->dir = v;
		else if (KEY("sync_uid_min") || KEY("sync_uid_max")) {
			errno = 0;
			unsigned long n = strtoul(v, &end, 10);
			if (errno != 0 || *end != '\0' || v[0] == '-')
				goto bad;
			*(KEY("sync_uid_min") ? &s->uid_min : &s->uid_max) = n;
		} else
			goto bad;
#undef KEY
		continue;
	bad:
		fprintf(stderr, "pam-clerk: sync: unknown option or bad value: %.*s\n", (int)klen,
			a);
		return -1;
	}
	const char *why = NULL;
	char probe[300];
	/* 60000-65535 is Debian's reserved range; below 1000, system accounts. */
	if (s->uid_min < 1000 || s->uid_max < s->uid_min || s->uid_max > 2147483646UL ||
	    (s->uid_min <= 65535 && s->uid_max >= 60000) || s->uid_max - s->uid_min > 10000000UL)
		why = "sync_uid_min/sync_uid_max: a range from 1000 up, outside 60000-65535, "
		      "at most 10,000,000 ids";
	else if (s->home[0] != '/' || strpbrk(s->home, ":\n") ||
		 sync_expand(s->home, 'u', "x", probe, sizeof probe) != 0)
		why = "sync_home: an absolute path with at most %u";
	else if (s->shell[0] != '/' || strpbrk(s->shell, ":\n%"))
		why = "sync_shell: an absolute path";
	else if (s->dir[0] != '/')
		why = "sync_dir: an absolute path";
	else if (strstr(s->role_group, "%r") == NULL ||
		 sync_expand(s->role_group, 'r', "x", probe, sizeof probe) != 0)
		why = "sync_role_group: a template with %r (the role)";
	if (why != NULL)
		fprintf(stderr, "pam-clerk: sync: %s\n", why);
	return why ? -1 : 0;
}

struct run {
	const struct sync_conf *s;
	struct sync_ids ids;
	struct table pw, gr;
	size_t skipped;
};

static void warn(struct run *r, const char *what, const char *name, const char *why)
{
	char s_name[200];
	fprintf(stderr, "warning: %s %s skipped: %s\n", what, sanitize(s_name, sizeof s_name, name),
		why);
	r->skipped++;
}

/* A name another source has that is not one of ours from the last run. */
static bool name_taken(const char *name)
{
	struct passwd *pw = getpwnam(name);
	struct group *gr = getgrnam(name);
	const struct entry *op = by_name(&old_pw, name), *og = by_name(&old_gr, name);
	return (pw && !(op && op->id == pw->pw_uid)) || (gr && !(og && og->id == gr->gr_gid));
}

/* A uid kept from before that a local account took since. */
static bool kept_id_taken(uid_t id, const char *name)
{
	struct passwd *pw = getpwuid(id);
	struct group *gr = getgrgid((gid_t)id);
	const struct entry *op = by_name(&old_pw, name), *og = by_name(&old_gr, name);
	return (pw && !(op && op->id == id && strcmp(pw->pw_name, name) == 0)) ||
	       (gr && !(og && og->id == id && strcmp(gr->gr_name, name) == 0));
}

static int add_role_groups(struct run *r, const struct sync_list *l, const char *names[])
{
	for (size_t i = 0; i < l->n; i++) {
		const char *role = l->v[i].role;
		if (names[i] == NULL || role[0] == '\0')
			continue;
		char g[SYNC_NAME_MAX + 64], key[sizeof g + 8];
		if (sync_expand(r->s->role_group, 'r', role, g, sizeof g) != 0 ||
		    !sync_name_ok(g)) {
			warn(r, "role group for", role, "not a group name groupadd accepts");
			continue;
		}
		if (by_name(&r->gr, g) != NULL)
			continue; /* made for an earlier member */
		if (name_taken(g) || by_name(&r->pw, g) != NULL) {
			warn(r, "group", g, "the name is already used on this host");
			continue;
		}
		snprintf(key, sizeof key, "group:%s", g);
		uid_t gid;
		if (sync_ids_get(&r->ids, key, id_taken, &gid) != 0 || kept_id_taken(gid, g)) {
			warn(r, "group", g, "no free id in the range");
			continue;
		}
		struct buf line;
		buf_init(&line, 1 << 24);
		char head[200];
		snprintf(head, sizeof head, "%s:x:%lu:", g, (unsigned long)gid);
		int rc = buf_append_str(&line, head);
		for (size_t j = 0; j < l->n && rc == 0; j++) {
			if (names[j] == NULL || strcmp(l->v[j].role, role) != 0)
				continue;
			if (line.data[line.len - 1] != ':')
				rc = buf_append_str(&line, ",");
			if (rc == 0)
				rc = buf_append_str(&line, names[j]);
		}
		if (rc != 0 || table_add(&r->gr, g, gid, buf_str(&line)) != 0) {
			buf_wipe(&line);
			return -1;
		}
		buf_wipe(&line);
	}
	return 0;
}

static int build(struct run *r, const struct sync_list *l, const char *names[])
{
	char name[SYNC_NAME_MAX], why[100], home[300], line[1200];
	for (size_t i = 0; i < l->n; i++) {
		const struct sync_user *u = &l->v[i];
		names[i] = NULL;
		if (sync_name_of(r->s->name, u, name, sizeof name, why, sizeof why) != 0) {
			warn(r, "user", u->id, why);
			continue;
		}
		if (by_name(&r->pw, name) != NULL) {
			warn(r, "user", u->id, "another Clerk user has the same name");
			continue;
		}
		if (name_taken(name)) {
			warn(r, "user", name, "a local account or group has this name");
			continue;
		}
		uid_t uid;
		if (sync_ids_get(&r->ids, u->id, id_taken, &uid) != 0) {
			warn(r, "user", name, "no free uid in sync_uid_min..sync_uid_max");
			continue;
		}
		if (kept_id_taken(uid, name)) {
			warn(r, "user", name, "its uid is now used by a local account or group");
			continue;
		}
		(void)sync_expand(r->s->home, 'u', name, home, sizeof home);
		snprintf(line, sizeof line, "%s:x:%lu:%lu:%s:%s:%s", name, (unsigned long)uid,
			 (unsigned long)uid, u->gecos, home, r->s->shell);
		if (table_add(&r->pw, name, uid, line) != 0)
			return -1;
		snprintf(line, sizeof line, "%s:x:%lu:", name, (unsigned long)uid);
		if (table_add(&r->gr, name, uid, line) != 0)
			return -1;
		names[i] = r->pw.v[r->pw.n - 1].name;
	}
	return add_role_groups(r, l, names);
}

static int text(const struct table *t, struct buf *out)
{
	buf_init(out, (size_t)FILE_MAX);
	for (size_t i = 0; i < t->n; i++)
		if (buf_append_str(out, t->v[i].line) != 0 || buf_append_str(out, "\n") != 0)
			return -1;
	return 0;
}

/* Changes of the accounts (passwd) and groups, printed for --dry-run. */
static void diff(const struct table *old, const struct table *now, const char *what, bool show,
		 size_t count[3])
{
	for (size_t i = 0; i < now->n; i++) {
		const struct entry *o = by_name(old, now->v[i].name);
		int k = o == NULL ? 0 : strcmp(o->line, now->v[i].line) != 0 ? 1 : -1;
		if (k >= 0 && show)
			printf("%s %s %s (%lu)\n", k == 0 ? "add" : "change", what, now->v[i].name,
			       now->v[i].id);
		if (k >= 0 && count != NULL)
			count[k]++;
	}
	for (size_t i = 0; i < old->n; i++)
		if (by_name(now, old->v[i].name) == NULL) {
			if (show)
				printf("remove %s %s (%lu)\n", what, old->v[i].name, old->v[i].id);
			if (count != NULL)
				count[2]++;
		}
}

static int open_sync_dir(const char *dir, char *err, size_t errsize)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errsize, "sync_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errsize, "sync_dir %s: %s", dir, strerror(errno));
	return fd;
}

/* shadow: no password ("*": Clerk's is the one), no aging, so that
 * pam_unix's account stage (unix_chkpwd) finds the user. */
static int shadow_text(const struct table *pw, struct buf *out)
{
	buf_init(out, (size_t)FILE_MAX);
	for (size_t i = 0; i < pw->n; i++)
		if (buf_append_str(out, pw->v[i].name) != 0 ||
		    buf_append_str(out, ":*:::::::\n") != 0)
			return -1;
	return 0;
}

static int put(int dfd, const char *name, const struct buf *b, mode_t mode, gid_t gid, char *err,
	       size_t errsize)
{
	return sync_file_put(dfd, name, b->data ? b->data : "", b->len, mode, gid, err, errsize) < 0
		       ? -1
		       : 0;
}

static int write_files(struct run *r, int dfd, int sfd, char *err, size_t errsize)
{
	struct buf pw, gr, sh;
	int rc = text(&r->pw, &pw) == 0 && text(&r->gr, &gr) == 0 && shadow_text(&r->pw, &sh) == 0
			 ? 0
			 : -1;
	/* shadow as Debian has it: root:shadow 0640 (unix_chkpwd is setgid
	 * shadow); 0600 where there is no such group or we are not root. */
	struct group *sg = geteuid() == 0 ? getgrnam("shadow") : NULL;
	gid_t sgid = sg ? sg->gr_gid : (gid_t)-1;
	if (rc != 0)
		snprintf(err, errsize, "the files would be too large");
	/* The ids first: an id in a file is always one the map keeps. */
	if (rc == 0)
		rc = sync_ids_save(&r->ids, sfd, err, errsize);
	if (rc == 0)
		rc = put(dfd, "group", &gr, 0644, (gid_t)-1, err, errsize);
	if (rc == 0)
		rc = put(dfd, "shadow", &sh, sgid != (gid_t)-1 ? 0640 : 0600, sgid, err, errsize);
	if (rc == 0)
		rc = put(dfd, "passwd", &pw, 0644, (gid_t)-1, err, errsize);
	buf_wipe(&pw);
	buf_wipe(&gr);
	buf_wipe(&sh);
	return rc;
}

static int run_sync(struct run *r, const struct conf *cfg, bool dry, int sfd, int dfd, char *err,
		    size_t errsize)
{
	char *secret = bapi_read_secret(cfg->secret_key_file, err, errsize);
	if (secret == NULL)
		return ADMIN_USAGE;
	struct sync_list l;
	memset(&l, 0, sizeof l);
	struct http_conn *conn = login_conn_new(cfg);
	int rc = conn == NULL ? -1
			      : sync_fetch(cfg->backend_api, conn, cfg->timeout * 1000, secret,
					   cfg->organization, &l, err, errsize);
	secret_free(secret);
	http_conn_free(conn);
	if (rc != 0) {
		sync_list_free(&l);
		return ADMIN_FAILED; /* the files stay as they were */
	}
	const char **names = calloc(l.n + 1, sizeof *names);
	int out = ADMIN_FAILED;
	if (names == NULL || read_old(dfd, "passwd", &old_pw) != 0 ||
	    read_old(dfd, "group", &old_gr) != 0 ||
	    sync_ids_load(&r->ids, sfd, (uid_t)r->s->uid_min, (uid_t)r->s->uid_max, err, errsize) !=
		    0 ||
	    build(r, &l, names) != 0) {
		if (err[0] == '\0')
			snprintf(err, errsize, "cannot read the old files or out of memory");
		goto done;
	}
	size_t n[3] = { 0, 0, 0 };
	diff(&old_pw, &r->pw, "user", dry, n);
	diff(&old_gr, &r->gr, "group", dry, NULL);
	if (!dry && write_files(r, dfd, sfd, err, errsize) != 0)
		goto done;
	printf("%s%zu added, %zu changed, %zu removed, %zu skipped (%zu users from Clerk, %lu "
	       "requests, %lu waits for the rate limit)\n",
	       dry ? "dry run, nothing written: " : "sync: ", n[0], n[1], n[2], r->skipped, l.n,
	       l.requests, l.waits);
	out = ADMIN_OK;
done:
	free(names);
	sync_list_free(&l);
	return out;
}

int admin_sync(const struct conf *cfg, const struct admin_opts *o)
{
	struct sync_conf s;
	if (parse_opts(&s, o) != 0)
		return ADMIN_USAGE;
	if (cfg->secret_key_file == NULL || cfg->state_dir == NULL) {
		fprintf(stderr, "pam-clerk: sync needs secret_key_file (to read the users) and "
				"state_dir (to keep their uids)\n");
		return ADMIN_USAGE;
	}
	char err[600] = "", s_err[800];
	struct run r = { .s = &s };
	int sfd = state_dir_open(cfg->state_dir, err, sizeof err), dfd = -1, lock = -1;
	int rc = ADMIN_FAILED;
	if (sfd >= 0)
		lock = state_lock_file(sfd, "sync.lock", 60000L, err, sizeof err);
	if (lock >= 0)
		dfd = open_sync_dir(s.dir, err, sizeof err);
	if (dfd >= 0)
		rc = run_sync(&r, cfg, o->dry_run, sfd, dfd, err, sizeof err);
	if (rc != ADMIN_OK)
		fprintf(stderr, "pam-clerk: sync: %s%s\n", sanitize(s_err, sizeof s_err, err),
			rc == ADMIN_FAILED ? " (the files are as they were)" : "");
	sync_ids_free(&r.ids);
	table_free(&r.pw);
	table_free(&r.gr);
	table_free(&old_pw);
	table_free(&old_gr);
	if (dfd >= 0)
		close(dfd);
	if (lock >= 0)
		close(lock);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
