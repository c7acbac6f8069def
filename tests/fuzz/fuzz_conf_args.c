/* conf_load on module arguments (/etc/pam.d lines): the input split at NUL
 * bytes is argv, with no default file. Promises are in conf_check.h. */
#include "config.h"

#include "fuzz.h"

#include "conf_check.h"

#define ARGS_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *text = fuzz_copy(data, size);
	char *copy = malloc(size + 1);
	FUZZ_CHECK(copy != NULL);
	if (size > 0)
		memcpy(copy, text, size);
	copy[size] = '\0';
	const char *argv[ARGS_MAX];
	int argc = 0;
	/* libpam splits on white space: an argument is never empty. */
	for (size_t i = 0; i < size && argc < ARGS_MAX;) {
		if (copy[i] != '\0')
			argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	struct conf c;
	char err[512];
	err[0] = '\0';
	int rc = conf_load(&c, argc, argv, NULL, err, sizeof err);
	check_loaded_conf(rc, &c, err, sizeof err);
	conf_free(&c);
	free(copy);
	free(text);
	return 0;
}
