/* Writing libnss-extrausers' files: each one replaced whole and atomically
 * (a temporary file beside it, fsync, rename, then fsync of the
 * directory), with the modes of /etc/passwd and /etc/shadow, only when it changes,
 * so readers never see half a file and an idle timer writes nothing. */
#include "config.h"

#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 when dirfd/name holds exactly data. */
static int same(int dirfd, const char *name, const char *data, size_t len, mode_t mode, gid_t gid)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	int eq = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len &&
		 (st.st_mode & 07777) == mode && (gid == (gid_t)-1 || st.st_gid == gid);
	char chunk[65536];
	for (size_t off = 0; eq && off < len;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		eq = n > 0 && (size_t)n <= len - off && memcmp(chunk, data + off, (size_t)n) == 0;
		off += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	return eq;
}

int sync_file_put(int dirfd, const char *name, const char *data, size_t len, mode_t mode, gid_t gid,
		  char *err, size_t errsize)
{
	if (same(dirfd, name, data, len, mode, gid))
		return 0;
	char tmp[200];
	snprintf(tmp, sizeof tmp, ".%s.pam-clerk.%ld", name, (long)getpid());
	(void)unlinkat(dirfd, tmp, 0); /* left by a run that died with this pid */
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errsize, "%s: cannot create a temporary file: %s", name,
			 strerror(errno));
		return -1;
	}
	/* group first, then the mode: shadow is never readable by others */
	int ok = (gid == (gid_t)-1 || fchown(fd, (uid_t)-1, gid) == 0) && fchmod(fd, mode) == 0;
	for (size_t off = 0; ok && off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		ok = n > 0;
		off += ok ? (size_t)n : 0;
	}
	ok = ok && fsync(fd) == 0;
	int e = errno;
	ok = close(fd) == 0 && ok;
	ok = ok && renameat(dirfd, tmp, dirfd, name) == 0;
	if (!ok) {
		e = e ? e : errno;
		(void)unlinkat(dirfd, tmp, 0);
		snprintf(err, errsize, "%s: cannot write: %s", name, strerror(e));
		return -1;
	}
	(void)fsync(dirfd);
	return 1;
}
