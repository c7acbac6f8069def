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

/* The hex SHA-256 of an identifier. 0 or -1. */
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

/* Only root or the user running us may own anything here, nobody else may
 * read it, and a file must not be a hard link to some other file. */
static const char *unsafe(const struct stat *st, int want_dir)
{
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return want_dir ? "not a directory" : "not a regular file";
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "not owned by root or the user running the login";
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

int state_private_open(int dirfd, const char *name, int flags, char *err, size_t errsize)
{
	struct stat sb;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == ENOENT && (flags & O_CREAT) == 0)
			return -2;
		snprintf(err, errsize, "%s: %s", name,
			 errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	const char *why = fstat(fd, &sb) != 0 ? "cannot stat" : unsafe(&sb, 0);
	if (why != NULL) {
		snprintf(err, errsize, "%s: %s", name, why);
		close(fd);
		return -1;
	}
	return fd;
}

void state_file_name(const struct state *st, const char *suffix, char *out, size_t outsize)
{
	snprintf(out, outsize, "%s%s", st->name, suffix);
}

int state_open(struct state *st, const char *dir, const char *identifier, bool create, char *err,
	       size_t errsize)
{
	struct stat sb;
	st->dirfd = st->lockfd = -1;
	if (dir == NULL || dir[0] == '\0' || identifier == NULL || identifier[0] == '\0') {
		snprintf(err, errsize, "no state_dir or no identifier");
		return -1;
	}
	if (state_name(identifier, st->name) != 0) {
		snprintf(err, errsize, "cannot hash the identifier");
		return -1;
	}
	if (!create && lstat(dir, &sb) != 0 && errno == ENOENT)
		return -2;
	st->dirfd = state_dir_open(dir, err, errsize);
	return st->dirfd >= 0 ? 0 : -1;
}

int state_lock_file(int dirfd, const char *name, long wait_ms, char *err, size_t errsize)
{
	int fd = state_private_open(dirfd, name, O_RDWR | O_CREAT, err, errsize);
	if (fd < 0)
		return -1;
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

int state_lock(struct state *st, long wait_ms, char *err, size_t errsize)
{
	char lock[80];
	if (st->lockfd >= 0)
		return 0;
	if (st->dirfd < 0)
		return -1;
	state_file_name(st, ".lock", lock, sizeof lock);
	int fd = state_lock_file(st->dirfd, lock, wait_ms, err, errsize);
	if (fd < 0)
		return -1;
	st->lockfd = fd;
	return 0;
}

int state_file_read(int dirfd, const char *name, struct buf *out, time_t *mtime, char *err,
		    size_t errsize)
{
	struct stat sb;
	int fd = state_private_open(dirfd, name, O_RDONLY, err, errsize);
	if (fd == -2)
		return 1;
	if (fd < 0)
		return -1;
	memset(&sb, 0, sizeof sb);
	const char *why = fstat(fd, &sb) != 0 ? "cannot stat" : NULL;
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

void state_close(struct state *st)
{
	if (st->lockfd >= 0)
		close(st->lockfd); /* releases the flock */
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = st->lockfd = -1;
}
