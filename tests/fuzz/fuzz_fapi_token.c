/* The small FAPI answers: the dev-browser handshake's {"id": ...} through
 * fapi_parse_dev_browser (first byte even; it also sets the output size,
 * the module uses 4096) and the tokens endpoints' {"jwt": ...} through
 * fapi_parse_token (first byte odd). Promises: the result fits and is a
 * C string no longer than the body; a failure says why and holds nothing. */
#include "config.h"

#include "fuzz.h"

#include "buf.h"
#include "fapi_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *body = fuzz_copy(data + 1, size - 1);
	char err[160];
	err[0] = '\0';
	if (data[0] & 1) {
		char *jwt = fapi_parse_token(body, size - 1, err, sizeof err);
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		if (jwt != NULL) {
			FUZZ_CHECK(jwt[0] != '\0' && strlen(jwt) < size);
			secret_free(jwt);
		} else {
			FUZZ_CHECK(err[0] != '\0');
		}
		free(body);
		return 0;
	}
	size_t outsize = data[0] == 0 ? 4096 : data[0];
	char *out = malloc(outsize);
	FUZZ_CHECK(out != NULL);
	memset(out, 'x', outsize);
	int rc = fapi_parse_dev_browser(body, size - 1, out, outsize, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
	if (rc == 0) {
		FUZZ_CHECK(memchr(out, '\0', outsize) != NULL);
		FUZZ_CHECK(strlen(out) < size);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	free(body);
	free(out);
	return 0;
}
