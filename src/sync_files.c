/* Writing libnss-extrausers' files: each one replaced whole and atomically
 * (a temporary file beside it, fsync, rename, then fsync of the
 * directory), world-readable as /etc/passwd is, and only when it changes,
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
static int same(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	int eq = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len &&
		 (st.st_mode & 07777) == 0644;
	char chunk[65536];
	for (size_t off = 0; eq && off < len;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		eq = n > 0 && (size_t)n <= len - off && memcmp(chunk, data + off, (size_t)n) == 0;
		off += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	return eq;
}

int sync_file_put(int dirfd, const char *name, const char *data, size_t len, char *err,
		  size_t errsize)
{
	if (same(dirfd, name, data, len))
		return 0;
	char tmp[200];
	snprintf(tmp, sizeof tmp, ".%s.pam-clerk.%ld", name, (long)getpid());
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errsize, "%s: cannot create a temporary file: %s", name,
			 strerror(errno));
		return -1;
	}
	int ok = fchmod(fd, 0644) == 0; /* whatever the umask */
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
