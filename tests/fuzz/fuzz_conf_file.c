/* conf_load on a configuration file: the input is written to a 0600 file
 * (owned by whoever runs the fuzzer, which the loader accepts like root)
 * and loaded through conf=. Promises are in conf_check.h. */
#include "config.h"

#include "fuzz.h"

#include "conf_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[4096];

static void cleanup(void)
{
	if (path[0] != '\0') {
		unlink(path);
		*strrchr(path, '/') = '\0';
		rmdir(path);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 70 * 1024)
		return 0;
	if (path[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(path, sizeof path, "%s/fuzz-conf-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		FUZZ_CHECK(mkdtemp(path) != NULL);
		strncat(path, "/pam_clerk.conf", sizeof path - strlen(path) - 1);
		atexit(cleanup);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(fchmod(fd, 0600) == 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	FUZZ_CHECK(close(fd) == 0);

	char arg[4200];
	snprintf(arg, sizeof arg, "conf=%s", path);
	const char *argv[] = { arg };
	struct conf c;
	char err[512];
	err[0] = '\0';
	int rc = conf_load(&c, 1, argv, NULL, err, sizeof err);
	check_loaded_conf(rc, &c, err, sizeof err);
	if (rc == 0) {
		FUZZ_CHECK(c.conf_path != NULL && strcmp(c.conf_path, path) == 0);
		FUZZ_CHECK(memchr(data, '=', size) != NULL);
	}
	conf_free(&c);
	return 0;
}
