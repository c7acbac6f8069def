/* pam-clerk status and forget: what the module keeps in state_dir for an
 * identifier (the stored client, the offline record, the local failure
 * budget) and the instance's cached JWKS. status shows only times and
 * counts, never a token or a hash; forget removes under the locks the
 * module takes (the identifier's lock, the failure record's lock). */
#include "config.h"

#include "admin.h"
#include "buf.h"
#include "fail_budget.h"
#include "jwks.h"
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JWKS_FILE   "jwks.json" /* jwks.c's cache */
#define OFFLINE_MAX 512		/* bytes of an offline record (offline.c) */

static void when(char *out, size_t outsize, long long t, time_t now)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char date[40] = "?";
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
	long long ago = (long long)now - t;
	if (ago >= 0)
		snprintf(out, outsize, "%s, %lld s ago", date, ago);
	else
		snprintf(out, outsize, "%s, in the future", date);
}

/* state_dir open for reading: fd, -2 when it does not exist (nothing kept),
 * -1 after saying why. */
static int open_dir(const struct conf *cfg)
{
	struct stat sb;
	char err[300];
	if (cfg->state_dir == NULL) {
		printf("no state_dir configured: the module keeps nothing on this host\n");
		return -2;
	}
	if (lstat(cfg->state_dir, &sb) != 0 && errno == ENOENT) {
		printf("state_dir %s does not exist: nothing kept\n", cfg->state_dir);
		return -2;
	}
	int fd = state_dir_open(cfg->state_dir, err, sizeof err);
	if (fd < 0)
		fprintf(stderr, "pam-clerk: state_dir %s: %s\n", cfg->state_dir, err);
	return fd;
}

static bool file_time(int dirfd, const char *name, time_t *mtime)
{
	struct stat sb;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return false;
	*mtime = sb.st_mtime;
	return true;
}

/* The numbers of an offline record, read past its hash, which stays in
 * the wiped buffer. */
static void show_offline(int dirfd, const char *file, long max_failures, time_t now)
{
	struct buf b;
	char err[300], at[80];
	buf_init(&b, OFFLINE_MAX);
	int rc = state_file_read(dirfd, file, &b, NULL, err, sizeof err);
	long long created = -1, expires = -1, failures = -1;
	if (rc == 0) {
		const char *p = buf_str(&b);
		const char *c = strstr(p, "\ncreated="), *e = strstr(p, "\nexpires="),
			   *f = strstr(p, "\nfailures=");
		if (c && e && f) {
			created = strtoll(c + 9, NULL, 10);
			expires = strtoll(e + 9, NULL, 10);
			failures = strtoll(f + 10, NULL, 10);
		}
	}
	buf_wipe(&b);
	if (rc == 1) {
		printf("  offline record: none\n");
	} else if (rc < 0 || created < 0) {
		printf("  offline record: unusable (%s); the next login removes it\n",
		       rc < 0 ? err : "malformed");
	} else {
		when(at, sizeof at, created, now);
		printf("  offline record: stored %s; %s; %lld wrong offline password%s%s\n", at,
		       expires > (long long)now ? "valid" : "expired", failures,
		       failures == 1 ? "" : "s",
		       failures >= max_failures ? ", refusing offline logins until an online one"
						: "");
	}
}

static void show_budget(int dirfd, const char *identifier, time_t now)
{
	struct fail_entry_info info;
	int n = 0, refused = 0;
	char msg[300], at[80];
	int rc = fail_budget_describe(dirfd, identifier, now, &info, &n, &refused, msg, sizeof msg);
	if (rc < 0) {
		printf("  local failure budget: unreadable (%s)\n", msg);
	} else if (rc == 0) {
		printf("  local failure budget: no failures counted\n");
	} else {
		when(at, sizeof at, info.last, now);
		printf("  local failure budget: %lld failure%s, last %s; %s\n", info.count,
		       info.count == 1 ? "" : "s", at,
		       info.until > (long long)now ? "refusing logins now" : "not refusing");
		if (info.until > (long long)now)
			printf("  refusing for %lld s more (pam-clerk forget lifts it)\n",
			       info.until - (long long)now);
	}
}

static void show_jwks(int dirfd, time_t now)
{
	time_t t;
	if (!file_time(dirfd, JWKS_FILE, &t))
		printf("JWKS cache: none\n");
	else
		printf("JWKS cache: %lld s old (%s)\n", (long long)(now - t),
		       now - t < JWKS_TTL ? "used as it is" : "refreshed at the next login");
}

/* Counts of what state_dir holds, for status without a user. */
static void show_summary(int dirfd, time_t now)
{
	int tokens = 0, offline = 0, fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len == 64 + 6 && strcmp(de->d_name + 64, ".token") == 0)
			tokens++;
		else if (len == 64 + 8 && strcmp(de->d_name + 64, ".offline") == 0)
			offline++;
	}
	if (d != NULL)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	struct fail_entry_info info;
	int n = 0, refused = 0;
	char msg[300];
	printf("stored clients: %d\noffline records: %d\n", tokens, offline);
	if (fail_budget_describe(dirfd, NULL, now, &info, &n, &refused, msg, sizeof msg) < 0)
		printf("local failure budget: unreadable (%s)\n", msg);
	else
		printf("local failure budget: %d entr%s, %d refusing now\n", n,
		       n == 1 ? "y" : "ies", refused);
	show_jwks(dirfd, now);
}

int admin_status(const struct conf *cfg, const struct admin_opts *o)
{
	char identifier[2 * CONF_USER_MAX];
	if (o->user != NULL && admin_identifier(cfg, o->user, identifier, sizeof identifier) != 0)
		return ADMIN_USAGE;
	int dirfd = open_dir(cfg);
	if (dirfd == -2)
		return ADMIN_OK;
	if (dirfd < 0)
		return ADMIN_FAILED;
	time_t now = time(NULL);
	printf("state_dir %s\n", cfg->state_dir);
	if (o->user == NULL) {
		show_summary(dirfd, now);
		close(dirfd);
		return ADMIN_OK;
	}
	char name[65], file[80], at[80];
	time_t t;
	if (state_name(identifier, name) != 0) {
		fprintf(stderr, "pam-clerk: cannot hash the identifier\n");
		close(dirfd);
		return ADMIN_FAILED;
	}
	printf("identifier %s\n", identifier);
	snprintf(file, sizeof file, "%s.token", name);
	if (file_time(dirfd, file, &t)) {
		when(at, sizeof at, (long long)t, now);
		printf("  stored client: yes, last used %s\n", at);
	} else {
		printf("  stored client: none\n");
	}
	snprintf(file, sizeof file, "%s.offline", name);
	show_offline(dirfd, file, cfg->offline_max_failures, now);
	show_budget(dirfd, identifier, now);
	show_jwks(dirfd, now);
	close(dirfd);
	return ADMIN_OK;
}

/* Remove stem's stored client and offline record under its lock (the one
 * the module takes for that identifier). Counts what went in *removed. */
static int forget_stem(int dirfd, const char *stem, int *removed)
{
	char err[300], file[80];
	struct state st = { dup(dirfd), -1, "" };
	snprintf(st.name, sizeof st.name, "%s", stem);
	if (st.dirfd < 0 || state_lock(&st, STATE_LOCK_WAIT_MS, err, sizeof err) != 0) {
		fprintf(stderr, "pam-clerk: %s\n", st.dirfd < 0 ? strerror(errno) : err);
		state_close(&st);
		return -1;
	}
	const char *suffix[] = { ".token", ".offline" };
	for (size_t i = 0; i < 2; i++) {
		state_file_name(&st, suffix[i], file, sizeof file);
		if (unlinkat(dirfd, file, 0) == 0)
			removed[i]++;
	}
	state_close(&st);
	return 0;
}

static bool hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int forget_all(int dirfd, int *removed)
{
	int rc = 0, fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	char stem[65];
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 65 || de->d_name[64] != '.' || !hex64(de->d_name) ||
		    (strcmp(de->d_name + 64, ".token") != 0 &&
		     strcmp(de->d_name + 64, ".offline") != 0))
			continue;
		memcpy(stem, de->d_name, 64);
		stem[64] = '\0';
		if (forget_stem(dirfd, stem, removed) != 0)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dirfd, JWKS_FILE, 0) == 0)
		printf("removed the JWKS cache\n");
	return rc;
}

int admin_forget(const struct conf *cfg, const struct admin_opts *o)
{
	char identifier[2 * CONF_USER_MAX], name[65], msg[300];
	int removed[2] = { 0, 0 };
	if (o->user != NULL && admin_identifier(cfg, o->user, identifier, sizeof identifier) != 0)
		return ADMIN_USAGE;
	int dirfd = open_dir(cfg);
	if (dirfd == -2)
		return ADMIN_OK;
	if (dirfd < 0)
		return ADMIN_FAILED;
	int rc;
	if (o->user != NULL)
		rc = state_name(identifier, name) == 0 ? forget_stem(dirfd, name, removed) : -1;
	else
		rc = forget_all(dirfd, removed);
	if (fail_budget_forget(dirfd, o->user != NULL ? identifier : NULL, msg, sizeof msg) != 0) {
		fprintf(stderr, "pam-clerk: %s\n", msg);
		rc = -1;
	}
	close(dirfd);
	printf("%s: removed %d stored client%s, %d offline record%s; failure count reset\n",
	       o->user != NULL ? identifier : "all", removed[0], removed[0] == 1 ? "" : "s",
	       removed[1], removed[1] == 1 ? "" : "s");
	return rc == 0 ? ADMIN_OK : ADMIN_FAILED;
}
