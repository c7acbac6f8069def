#include "config.h"

#include "record_file.h"

#include "buf.h"
#include "state.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME_MAX 96

/* A lock file state_lock_file would refuse for good (not a busy lock): a
 * symbolic link, not a regular file, not ours, open to others, linked
 * elsewhere. Removing it is safe: only its name is ours, and a lock file
 * holds nothing. */
static int unsafe_lock(int dirfd, const char *name)
{
	struct stat sb;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	return !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	       (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0 || sb.st_nlink != 1;
}

int record_open(int dirfd, const char *name, long wait_ms, struct buf *out, char *err,
		size_t errsize)
{
	char lock[LOCK_NAME_MAX];
	err[0] = '\0';
	if (snprintf(lock, sizeof lock, "%s.lock", name) >= (int)sizeof lock) {
		snprintf(err, errsize, "%s: name too long", name);
		return -1;
	}
	if (unsafe_lock(dirfd, lock) && unlinkat(dirfd, lock, 0) != 0) {
		snprintf(err, errsize, "%s: unsafe and cannot be removed", lock);
		return -1;
	}
	int fd = state_lock_file(dirfd, lock, wait_ms, err, errsize);
	if (fd < 0)
		return -1;
	int rc = state_file_read(dirfd, name, out, NULL, err, errsize);
	if (rc == 1)
		err[0] = '\0';
	if (rc < 0) {
		buf_wipe(out);
		record_remove(dirfd, name);
		size_t n = strlen(err);
		snprintf(err + n, errsize - n, "; removed, starting afresh");
	}
	return fd;
}

int record_save(int dirfd, const char *name, const char *data, size_t len)
{
	return state_file_write(dirfd, name, data, len);
}

void record_remove(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) != 0)
		unlinkat(dirfd, name, AT_REMOVEDIR); /* an empty directory in its place */
}

void record_close(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd); /* releases the flock */
}

int record_number(const char **p, char sep, long long *out)
{
	const char *s = *p;
	long long v = 0;
	int digits = 0;
	while (*s >= '0' && *s <= '9' && digits < 15) {
		v = v * 10 + (*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || *s != sep)
		return -1;
	*out = v;
	*p = s + 1;
	return 0;
}
