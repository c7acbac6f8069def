#include "config.h"

#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_FILE_MAX (64 * 1024)

/* Open the file without following links and insist that only root (or the
 * user running the process) can change it. *missing is set for ENOENT. */
int conf_read_file(const char *path, char **text, int *missing, bool *private, char *err,
		   size_t errsize)
{
	*missing = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = 1;
			snprintf(err, errsize, "%s: file not found", path);
		} else if (errno == ELOOP) {
			snprintf(err, errsize, "%s: is a symbolic link; refusing to read it", path);
		} else {
			snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
		}
		return -1;
	}
	struct stat st;
	const char *why = NULL;
	if (fstat(fd, &st) != 0)
		why = "cannot stat";
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		why = "not owned by root";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		why = "writable by group or others";
	else if (st.st_size > CONF_FILE_MAX)
		why = "larger than 64 KiB";
	if (why != NULL) {
		snprintf(err, errsize, "%s: %s; refusing to read it", path, why);
		close(fd);
		return -1;
	}
	*private = (st.st_mode & (S_IRGRP | S_IROTH)) == 0;
	size_t size = (size_t)st.st_size;
	char *buf = malloc(size + 1);
	size_t got = 0;
	while (buf != NULL && got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (buf == NULL || got != size) {
		free(buf);
		snprintf(err, errsize, "%s: read failed", path);
		return -1;
	}
	buf[size] = '\0';
	if (memchr(buf, '\0', size) != NULL) {
		free(buf);
		snprintf(err, errsize, "%s: contains a NUL byte", path);
		return -1;
	}
	*text = buf;
	return 0;
}
