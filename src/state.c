#include "config.h"

#include "state.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_FILE_MAX (16 * 1024)
#define MAGIC	       "pam_clerk client v1\n"
#define FILE_NAME_MAX  80 /* "<64 hex>.token" and the like */

int state_name(const char *identifier, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_Digest(identifier, strlen(identifier), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Only the user running us may own or read anything here, and a file must
 * not be a hard link to some other file. */
static const char *unsafe(const struct stat *st, int want_dir)
{
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return want_dir ? "not a directory" : "not a regular file";
	if (st->st_uid != geteuid())
		return "not owned by the user running the login";
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return want_dir ? "accessible to group or others (want 0700)"
				: "accessible to group or others (want 0600)";
	if (!want_dir && st->st_nlink != 1)
		return "has other hard links";
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int state_dir_open(const char *dir, char *err, size_t errsize)
{
	struct stat sb;
	int made = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		made = mkdir(dir, 0700) == 0;
		/* EEXIST: a concurrent login made it first; open what is there. */
		if (made || errno == EEXIST)
			fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errsize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (made)
		(void)fchmod(fd, 0700); /* whatever the umask was */
	const char *why = fstat(fd, &sb) != 0 ? "cannot stat" : unsafe(&sb, 1);
	if (why != NULL) {
		snprintf(err, errsize, "%s: %s; not using it", dir, why);
		close(fd);
		return -1;
	}
	return fd;
}

int state_lock_file(int dirfd, const char *name, long wait_ms, char *err, size_t errsize)
{
	struct stat sb;
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errsize, "%s: %s", name, strerror(errno));
		return -1;
	}
	const char *why = fstat(fd, &sb) != 0 ? "cannot stat" : unsafe(&sb, 0);
	if (why != NULL) {
		snprintf(err, errsize, "%s: %s", name, why);
		close(fd);
		return -1;
	}
	long waited = 0;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= wait_ms) {
			snprintf(err, errsize, "%s: busy", name);
			close(fd);
			return -1;
		}
		sleep_ms(20);
		waited += 20;
	}
	return fd;
}

/* The identifier's client file: "<hex name>.token". */
static void token_file(const struct state *st, char file[FILE_NAME_MAX])
{
	snprintf(file, FILE_NAME_MAX, "%s.token", st->name);
}

int state_open(struct state *st, const char *dir, const char *identifier, char *err, size_t errsize)
{
	st->dirfd = st->lockfd = -1;
	if (state_name(identifier, st->name) != 0) {
		snprintf(err, errsize, "cannot hash the identifier");
		return -1;
	}
	st->dirfd = state_dir_open(dir, err, errsize);
	return st->dirfd >= 0 ? 0 : -1;
}

int state_stored(const struct state *st)
{
	char file[FILE_NAME_MAX];
	struct stat sb;
	token_file(st, file);
	return st->dirfd >= 0 && fstatat(st->dirfd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

int state_lock(struct state *st, long wait_ms, char *err, size_t errsize)
{
	char lock[FILE_NAME_MAX];
	if (st->lockfd >= 0)
		return 0;
	if (st->dirfd < 0)
		return -1;
	snprintf(lock, sizeof lock, "%s.lock", st->name);
	st->lockfd = state_lock_file(st->dirfd, lock, wait_ms, err, errsize);
	return st->lockfd >= 0 ? 0 : -1;
}

int state_file_read(int dirfd, const char *name, struct buf *out, time_t *mtime, char *err,
		    size_t errsize)
{
	struct stat sb;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errsize, "%s: %s", name, strerror(errno));
		return -1;
	}
	memset(&sb, 0, sizeof sb);
	const char *why = fstat(fd, &sb) != 0 ? "cannot stat" : unsafe(&sb, 0);
	if (why == NULL) {
		char chunk[1024];
		ssize_t r;
		while ((r = read(fd, chunk, sizeof chunk)) > 0)
			if (buf_append(out, chunk, (size_t)r) != 0) {
				why = "too large";
				break;
			}
		explicit_bzero(chunk, sizeof chunk);
		if (r < 0)
			why = "read failed";
	}
	close(fd);
	if (mtime != NULL)
		*mtime = sb.st_mtime;
	if (why != NULL) {
		snprintf(err, errsize, "%s: %s", name, why);
		return -1;
	}
	return 0;
}

int state_file_write(int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[256];
	int rc = -1;
	if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", name, (long)getpid()) >= (int)sizeof tmp)
		return -1;
	unlinkat(dirfd, tmp, 0);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) == (ssize_t)len && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	/* Rename is atomic: a reader sees the old file or the new, never half. */
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) == 0) {
		fsync(dirfd);
		return 0;
	}
	unlinkat(dirfd, tmp, 0);
	return -1;
}

static int valid_token(const char *t, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

char *state_load(struct state *st, char *err, size_t errsize)
{
	char file[FILE_NAME_MAX];
	struct buf b;

	err[0] = '\0';
	if (st->dirfd < 0 || st->lockfd < 0)
		return NULL;
	token_file(st, file);
	buf_init(&b, TOKEN_FILE_MAX);
	int rc = state_file_read(st->dirfd, file, &b, NULL, err, errsize);
	size_t magic = sizeof MAGIC - 1;
	const char *text = buf_str(&b);
	char *token = NULL;
	if (rc == 0 && b.len > magic + 1 && memcmp(text, MAGIC, magic) == 0 &&
	    text[b.len - 1] == '\n' && valid_token(text + magic, b.len - magic - 1))
		token = strndup(text + magic, b.len - magic - 1);
	else if (rc == 0)
		snprintf(err, errsize, "stored client file corrupt; removed");
	buf_wipe(&b);
	if (rc < 0 || (rc == 0 && token == NULL)) {
		if (rc < 0)
			snprintf(err + strlen(err), errsize - strlen(err), "; removed");
		state_drop(st);
	}
	return token;
}

int state_save(struct state *st, const char *token)
{
	char file[FILE_NAME_MAX];
	struct buf b;
	int rc = -1;

	if (st->dirfd < 0 || st->lockfd < 0 || !valid_token(token, strlen(token)))
		return -1;
	token_file(st, file);
	buf_init(&b, TOKEN_FILE_MAX);
	if (buf_append_str(&b, MAGIC) == 0 && buf_append_str(&b, token) == 0 &&
	    buf_append(&b, "\n", 1) == 0)
		rc = state_file_write(st->dirfd, file, b.data, b.len);
	buf_wipe(&b);
	return rc;
}

void state_drop(struct state *st)
{
	char file[FILE_NAME_MAX];
	if (st->dirfd < 0 || st->lockfd < 0)
		return;
	token_file(st, file);
	unlinkat(st->dirfd, file, 0);
}

void state_close(struct state *st)
{
	if (st->lockfd >= 0)
		close(st->lockfd); /* releases the flock */
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = st->lockfd = -1;
}
